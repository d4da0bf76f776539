"""The processes a benchmark starts and watches: the real app server, /proc figures, waiting.

Linux only (`/proc`), like the benchmarks. Nothing here imports Keras.
"""

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from labcore.processes import stat_fields
from labcore.supervisor import Supervisor

__all__ = ["cpu_seconds", "free_port", "memory_mb", "parent_pid", "start_app", "stop_app", "stop_run", "wait_for",
           "warm_supervisor"]

REPO_ROOT = Path(__file__).resolve().parent.parent


def wait_for(condition, timeout_s, what, poll_s=0.1):
    """Call `condition()` every `poll_s` until it returns something truthy; return that.

    Raises:
        RuntimeError: not within `timeout_s` seconds, naming `what`.
    """
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(poll_s)
    raise RuntimeError(f"timed out after {timeout_s} s waiting for {what}")


def free_port():
    """A TCP port on the loopback interface that nothing listens on now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _healthy(base):
    try:
        with urllib.request.urlopen(base + "/_stcore/health", timeout=2) as response:
            return response.read() == b"ok"
    except OSError:
        return False


def start_app(home, log=None, extra_args=(), timeout_s=120):
    """Start `streamlit run app.py` on a free loopback port, with no spare worker; wait until healthy.

    Args:
        home: Path, the server's LABCORE_HOME.
        log: Path for the server's output, or None to drop it.
        extra_args: more `streamlit run` options.
        timeout_s: seconds the server may take to answer its health check.

    Returns:
        (subprocess.Popen leading its own session, base URL).
    """
    env = {**os.environ, "LABCORE_HOME": str(home), "LABCORE_PREWARM": "0", "PYTHONUNBUFFERED": "1"}
    out = open(log, "wb") if log else subprocess.DEVNULL
    try:
        port = free_port()
        server = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true",
             "--server.port", str(port), "--server.address", "127.0.0.1",
             "--browser.gatherUsageStats", "false", *extra_args],
            cwd=REPO_ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    finally:
        if log:
            out.close()  # the child holds its own copy
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for(lambda: _healthy(base), timeout_s, "the server", poll_s=0.3)
    except RuntimeError:
        stop_app(server)
        raise
    return server, base


def stop_app(server):
    """SIGTERM the server's process group; SIGKILL it if it has not ended within 15 s."""
    os.killpg(server.pid, signal.SIGTERM)
    try:
        server.wait(15)
    except subprocess.TimeoutExpired:
        os.killpg(server.pid, signal.SIGKILL)
        server.wait(5)


def cpu_seconds(pid):
    """User + system CPU seconds a process (all its threads) has used so far; None if it is gone."""
    fields = stat_fields(pid)
    if fields is None:
        return None
    # utime and stime, fields 14 and 15 of stat(5): the 12th and 13th after the name.
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def parent_pid(pid):
    """The parent's process id; None if the process is gone."""
    fields = stat_fields(pid)
    return None if fields is None else int(fields[1])


def memory_mb(pid, field="VmRSS"):
    """A memory figure of /proc/PID/status (VmRSS, VmHWM, ...) in MB; None if absent."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return None


def warm_supervisor(store, slots, timeout_s=120.0, settle_s=8.0):
    """The app's supervisor on `store` (pre-warmed spare, `slots` at a time), started and settled.

    Waits for the spare worker to be ready, then `settle_s` more for its
    import's CPU to calm down: a server's idle time, not part of a click.
    """
    supervisor = Supervisor(store, prewarm=True, slots=slots).start()
    deadline = time.monotonic() + timeout_s
    while supervisor.state().spare_pid is None and time.monotonic() < deadline:
        time.sleep(0.2)
    time.sleep(settle_s)
    return supervisor


def stop_run(store, run_id, timeout_s=30.0):
    """Cancel a run left going (as an instructor would) and make sure its worker is gone.

    Workers lead their own sessions and outlive whatever started them, so
    a benchmark that gives up on a run must stop it before the next one
    measures anything. SIGKILL to its session if it does not stop in time.
    """
    from labcore import jobs

    if jobs.cancel(store, run_id, owner=None, admin=True) not in ("queued", "running"):
        return
    if not jobs.wait_until_settled(store, [run_id], timeout_s=timeout_s):
        run = store.get_run(run_id)
        if run is not None and run.pid:
            try:
                os.killpg(run.pid, signal.SIGKILL)
            except OSError:
                pass
