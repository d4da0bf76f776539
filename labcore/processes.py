"""Operating-system processes, as the job supervisor sees them.

Whether a worker is still alive (a zombie adopted by init is not), how to
stop it with everything it started, how to say why it ended, and the last
lines of its log for a failed run. Kept apart from the supervisor so that
the queue's logic reads without /proc and signal details. Linux /proc where
available; elsewhere the answers fall back to what `os.kill` can tell.

Keras-free: the Streamlit process imports this module.
"""

import os
import signal

__all__ = ["ending", "exit_reason", "log_tail", "pid_alive", "signal_group", "stat_fields"]

_LOG_TAIL_LINES = 12
_LOG_TAIL_BYTES = 8192


def pid_alive(pid):
    """Whether a process id belongs to a live process on this machine.

    A zombie (exited, not yet reaped by its parent) counts as alive while
    its parent, a supervisor, may still be watching it and will record why
    it ended. A zombie adopted by init (pid 1) does not: its supervisor is
    gone, and an init that never reaps (as in many containers) would keep
    it, and its run "running", for ever.

    Args:
        pid: int or None.

    Returns:
        bool.
    """
    if pid is None or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    fields = stat_fields(pid)
    return not (fields is not None and fields[:2] == ["Z", "1"])


def stat_fields(pid):
    """The fields of /proc/PID/stat after the command name: state, ppid, ...

    Args:
        pid: int or str.

    Returns:
        list of str, or None when the process is gone (or there is no /proc).
    """
    try:
        with open(f"/proc/{pid}/stat", "rb") as stat_file:
            stat = stat_file.read()
    except OSError:
        return None
    # "pid (command) state ppid ...": the command may hold spaces and ")".
    return stat[stat.rfind(b")") + 2:].decode("ascii", errors="replace").split()


def signal_group(pid, signum):
    """Send `signum` to the process group that `pid` leads; a group already gone is fine.

    A worker leads its own session, so its group also holds any process it
    started (data loaders).
    """
    try:
        os.killpg(pid, signum)
    except ProcessLookupError:
        pass


def ending(exit_code):
    """How a process ended, for messages: "SIGKILL" when killed by a signal, else "exit code 3".

    Args:
        exit_code: int, `Popen.returncode` (negative: the signal's number).
    """
    if exit_code < 0:
        try:
            return signal.Signals(-exit_code).name
        except ValueError:
            return f"signal {-exit_code}"
    return f"exit code {exit_code}"


def exit_reason(exit_code):
    """Why a worker that recorded no outcome failed its run, as one sentence for the learner.

    Args:
        exit_code: int, `Popen.returncode`.
    """
    how = ending(exit_code)
    if how == "SIGKILL":
        # The kernel's OOM killer is by far the most common sender.
        return "The worker process was killed (SIGKILL) -- out of memory?"
    if how in ("SIGSEGV", "SIGBUS", "SIGABRT"):
        # Native code (oneDNN, XLA) that fails to allocate a tensor often
        # crashes this way instead of raising an error.
        return (
            f"The worker process crashed ({how}) in native code -- out of memory?"
            " A smaller model, input or batch needs less."
        )
    if exit_code < 0:
        return f"The worker process was killed by {how}."
    if exit_code == 0:
        return "The worker exited without recording how the run ended."
    return f"The worker exited with code {exit_code}."


def log_tail(log_path):
    """The last lines of a worker's log, headed by its path; None when it cannot be read."""
    try:
        with open(log_path, "rb") as log:
            log.seek(0, os.SEEK_END)
            log.seek(max(0, log.tell() - _LOG_TAIL_BYTES))
            text = log.read().decode("utf-8", errors="replace")
    except OSError:
        return None
    lines = text.splitlines()[-_LOG_TAIL_LINES:]
    return f"Last lines of {log_path}:\n" + "\n".join(lines)
