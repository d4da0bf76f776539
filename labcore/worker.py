"""The worker process: `python -m labcore.worker RUN_ID [--store PATH]`.

Runs one run of the store in its own process, so that Keras and its memory
live and die with the run (DESIGN.md rules 1 and 2). The supervisor
(`labcore.supervisor`) claims the run and starts this module with `--claimed`;
called by hand (the CLI) on a queued run, the worker claims the run itself,
and it refuses a run that is already running, so one run never gets two
workers.

The worker checks the stored config once more and parses it
(`kinds.parse`), loads the kind's runner (the only place Keras gets
imported, by the runner's module), runs it with a `StoreReporter`, then
records exactly one outcome: done (with the result the runner returned,
written here and nowhere else), cancelled, or failed (a one-line error and
the full traceback). SIGTERM, which the supervisor sends when a
cancelled run does not stop by itself, ends the run as cancelled.
"""

import argparse
import os
import signal
import sys
import traceback

from labcore import kinds
from labcore.reporting import Cancelled, StoreReporter
from labcore.store import Store

__all__ = ["main", "one_line"]

_ERROR_CHARS = 500


class _Terminated(BaseException):
    """SIGTERM arrived; a BaseException so that runners' `except Exception` let it through."""


def _on_sigterm(signum, frame):
    # A second SIGTERM must not interrupt the final status write; SIGKILL
    # still ends a worker that hangs.
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    raise _Terminated()


def main(argv=None):
    """Run one run of the store and record its outcome.

    Args:
        argv: list of str, the command-line arguments (None: sys.argv[1:]):
            RUN_ID or `--spare` (import Keras, then read a claimed run id
            from stdin), `--store PATH` (default `$LABCORE_HOME/labcore.db`),
            `--device NAME` (recorded when this worker claims a queued run
            itself; default "cpu") and `--claimed` (the supervisor's flag:
            the run is already running, claimed for this worker).

    Returns:
        int, the exit code: 0 when the run is done, 1 when it ended another
        way, 2 when there was nothing to run.
    """
    parser = argparse.ArgumentParser(
        prog="python -m labcore.worker", description="Run one queued or claimed run of the store."
    )
    parser.add_argument("run_id", type=int, nargs="?", help="the run; omitted with --spare")
    parser.add_argument("--spare", action="store_true",
                        help="import Keras first, then read the (claimed) run id from stdin")
    parser.add_argument(
        "--store", default=None, help="the database file (default: $LABCORE_HOME/labcore.db)"
    )
    parser.add_argument(
        "--device", default="cpu", help="device to record when claiming a queued run"
    )
    parser.add_argument(
        "--claimed", action="store_true", help="the run was claimed for this worker (supervisor)"
    )
    args = parser.parse_args(argv)
    if args.spare == (args.run_id is not None):
        parser.error("give either RUN_ID or --spare")

    # Before any runner imports TensorFlow: its C++ info lines would bury the
    # useful part of the log.
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    signal.signal(signal.SIGTERM, _on_sigterm)

    store = Store(args.store)
    if args.spare:
        args.run_id = _wait_as_spare(store)
        if args.run_id is None:
            return 0
        args.claimed = True
    run = store.get_run(args.run_id)
    if run is None:
        print(f"labcore worker: no run with id {args.run_id} in {store.path}.", file=sys.stderr)
        return 2
    if not args.claimed and run.status == "queued":
        run = store.claim_run(args.run_id, args.device)
        if run is None:
            print(f"labcore worker: run {args.run_id} was claimed by another worker.",
                  file=sys.stderr)
            return 2
    elif not (args.claimed and run.status == "running"):
        print(f"labcore worker: run {args.run_id} is {run.status}; nothing to run.",
              file=sys.stderr)
        return 2
    store.set_pid(run.id, os.getpid())
    print(f"labcore worker: run {run.id} ({run.kind}) on {run.device}, pid {os.getpid()}",
          flush=True)
    return 0 if _execute(store, run) == "done" else 1


def _wait_as_spare(store):
    """Import the training stack, then wait for a run id; None when told to quit.

    The import is the slow part of a worker's start (5-9 s for TensorFlow on
    a small CPU), so a spare pays it before anyone is waiting.
    """
    import importlib

    for module in ("keras", "labcore.composable", "labcore.training"):
        importlib.import_module(module)
    print(f"labcore worker: spare ready, pid {os.getpid()}", flush=True)
    line = sys.stdin.readline().strip()
    if not line:
        return None
    run_id = int(line)
    # From here on this process is the run's worker: its output belongs in
    # the run's log, where the supervisor looks when it dies.
    log_path = store.log_path(run_id)
    log_path.parent.mkdir(parents=True, exist_ok=True)
    log_fd = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    os.dup2(log_fd, 1)
    os.dup2(log_fd, 2)
    os.close(log_fd)
    return run_id


def _execute(store, run):
    reporter = StoreReporter(store, run.id)
    try:
        try:
            if reporter.cancelled():
                raise Cancelled("cancelled before it started")
            # Checked again although submit checked it: the stored row may
            # have been edited since. Runners trust what they are given.
            config = kinds.parse(run.kind, run.config)
            result = kinds.load_runner(run.kind)(config, reporter)
        finally:
            signal.signal(signal.SIGTERM, signal.SIG_IGN)
        reporter.flush()
        store.merge_result(run.id, result or {})
        store.set_status(run.id, "done")
        return "done"
    except Cancelled:
        store.set_status(run.id, "cancelled")
        return "cancelled"
    except _Terminated:
        # A running run cannot be deleted, so the row is still there.
        if store.get_run(run.id).cancel_requested:
            store.set_status(
                run.id, "cancelled", error="Stopped with SIGTERM after the cancel request."
            )
            return "cancelled"
        store.set_status(
            run.id, "interrupted",
            error="The worker received SIGTERM (the machine or server is shutting down?).",
        )
        return "interrupted"
    except BaseException as error:
        details = traceback.format_exc()
        print(details, file=sys.stderr, flush=True)
        store.set_status(run.id, "failed", error=one_line(error), traceback=details)
        return "failed"


def one_line(error):
    """"ResourceExhaustedError: OOM when allocating tensor ..." on one line."""
    message = " ".join(_reason(str(error)).split())
    text = f"{type(error).__name__}: {message}" if message else type(error).__name__
    return text if len(text) <= _ERROR_CHARS else text[: _ERROR_CHARS - 3] + "..."


def _reason(message):
    """The reason in a TensorFlow graph error, without the stack it leads with.

    TensorFlow words them "Graph execution error: Detected at node ...
    defined at (most recent call last): File ... <reason> [[{{node ...}}]]",
    so the reason would fall past the one-line limit; the stack is already
    in the traceback. Other messages are returned as they are.
    """
    if "Detected at node" not in message:
        return message
    for line in message.splitlines():
        text = line.strip()
        stack_or_header = line[:1].isspace() or text.startswith(
            ("Graph execution error", "Detected at node", "[[")
        )
        if text and not stack_or_header:
            return text
    return message


if __name__ == "__main__":
    exit_code = main()
    sys.stdout.flush()
    sys.stderr.flush()
    # Skip interpreter teardown: TensorFlow and JAX can take seconds, or hang,
    # joining their threads, and every outcome is already committed.
    os._exit(exit_code)
