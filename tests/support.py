"""Helpers the unit, reliability and browser tests share: queue a test run, wait for it.

Imported as `tests.support` (pytest runs from the repository root, which is
on sys.path as it is for `labcore`), so that no folder's conftest or helper
module of the same name can shadow it. The polling loop itself is the
benchmarks' (`bench._processes.wait_for`): one loop for both, with defaults
that suit tests.
"""

import os
import pathlib

from bench import _processes
from labcore import jobs

__all__ = ["LAB_OWNER", "OWNER", "RecordingReporter", "finish_run", "submit_sleep", "tiny_cli_run", "tiny_lab_run",
           "wait_for", "wait_for_status"]

ROOT = pathlib.Path(__file__).resolve().parent.parent
# The owner of runs that a test queues, unless it names another.
OWNER = "test-owner"
# The owner of the tiny lab runs `tiny_lab_run` stores.
LAB_OWNER = "lab-tests"


def wait_for(condition, timeout_s=10.0, what="the condition", poll_s=0.02):
    """Poll `condition()` until it returns something truthy; return that.

    Raises:
        RuntimeError: not within `timeout_s` seconds, naming `what`.
    """
    return _processes.wait_for(condition, timeout_s, what, poll_s)


def wait_for_status(store, run_id, statuses, timeout_s=10.0, poll_s=0.02):
    """Wait until a run has one of `statuses` (a str, or several); return the Run.

    Raises:
        RuntimeError: not within `timeout_s` seconds, naming the status the run has then.
    """
    statuses = {statuses} if isinstance(statuses, str) else set(statuses)

    def reached():
        run = store.get_run(run_id)
        return run if run is not None and run.status in statuses else None

    try:
        return wait_for(reached, timeout_s, f"run {run_id} to be {sorted(statuses)}", poll_s)
    except RuntimeError as error:
        run = store.get_run(run_id)
        raise RuntimeError(f"{error} (it is {run.status if run else 'gone'})") from None


def signed(name, folder=None):
    """The URL token a browser of owner `name` holds: the name signed with the data folder's secret.

    Args:
        name: str.
        folder: the server's LABCORE_HOME, or None for this pytest process's.
    """
    from labcore import owners

    return owners.sign(name, owners.secret(folder))


def submit_sleep(store, owner=OWNER, **config):
    """Queue a `sleep` run (0.05 s epochs unless told otherwise) as the pages do, through `jobs.submit`."""
    return jobs.submit(store, "sleep", {"seconds_per_epoch": 0.05, **config}, owner)


def finish_run(store, run_id, result):
    """Leave a queued run done with `result`, as a worker would, without training.

    The run is claimed for a queue no supervisor serves, so no worker starts on it.
    """
    if store.get_run(run_id).status == "queued":
        store.claim_run(run_id, "nowhere")
    store.merge_result(run_id, result)
    store.set_status(run_id, "done")


class RecordingReporter:
    """Records every call a runner makes, and passes each on to `then` if given; optionally cancels.

    Args:
        cancel_after: int or None, answer "cancelled" after this many checks.
        then: a reporter to pass every call on to (a `StoreReporter`), or None.
    """

    def __init__(self, cancel_after=None, then=None):
        self.cancel_after, self.then, self.checks = cancel_after, then, 0
        self.progress_calls, self.epochs, self.artifacts, self.results = [], [], [], {}
        # A StoreReporter's store and run: runners that look for earlier runs find them here too.
        self.store, self.run_id = getattr(then, "store", None), getattr(then, "run_id", None)

    def progress(self, fraction, text=""):
        assert 0.0 <= fraction <= 1.0
        self.progress_calls.append((fraction, text))
        if self.then:
            self.then.progress(fraction, text)

    def epoch(self, series, epoch, metrics):
        self.epochs.append((series, epoch, metrics))
        if self.then:
            self.then.epoch(series, epoch, metrics)

    def artifact(self, name, value):
        self.artifacts.append((name, value))
        return self.then.artifact(name, value) if self.then else name

    def result(self, values):
        self.results.update(values)
        if self.then:
            self.then.result(values)

    def cancelled(self):
        self.checks += 1
        return self.cancel_after is not None and self.checks > self.cancel_after

    def last_artifact(self, name):
        """The value of the artifact `name` last reported."""
        return [value for stored, value in self.artifacts if stored == name][-1]

    def series(self, name):
        """The metrics of every epoch reported under `name`, in order."""
        return [metrics for series, _, metrics in self.epochs if series == name]


_LAB_RUNS = {}


def tiny_lab_run(kind, config):
    """A lab's tiny run, trained once per test session in this process and stored as a finished run.

    Unit tests read what the runner reported and returned; page tests read
    the stored run (owner `LAB_OWNER`), as a page reads a worker's run. One
    real run serves both, so a session trains each lab's tiny preset once.
    The worker's own path (a spawned process, its outcome recorded once) is
    tested with the CLI and in tests/reliability.

    Args:
        kind: str, a lab's kind.
        config: the kind's Config; every call must ask for the same one.

    Returns:
        (run_id, RecordingReporter, the runner's returned result).
    """
    if kind not in _LAB_RUNS:
        from labcore import kinds
        from labcore.reporting import StoreReporter
        from labcore.store import Store

        store = Store()  # under the LABCORE_HOME tests/conftest.py set for this pytest process
        run_id = store.create_run(kind, config.to_dict(), owner=LAB_OWNER, title=f"{kind} · tiny (tests)")
        store.claim_run(run_id, "nowhere")
        # This process trains it: alive, so no supervisor takes the run for an orphan.
        store.set_pid(run_id, os.getpid())
        reporter = RecordingReporter(then=StoreReporter(store, run_id))
        returned = kinds.load_runner(kind)(config, reporter)
        store.merge_result(run_id, returned)
        store.set_status(run_id, "done")
        _LAB_RUNS[kind] = (run_id, reporter, returned, config)
    run_id, reporter, returned, first = _LAB_RUNS[kind]
    assert config == first, f"one tiny {kind} run serves every test: ask for the same config"
    return run_id, reporter, returned


_CLI_RUNS = {}


def tiny_cli_run(*args):
    """`python -m labcore run ARGS...`, run once per test session, as an instructor would: the finished Run.

    The CLI queues the run in this pytest process's store (owner "cli") and
    its worker process trains it. Page and unit tests that need the same
    run share it.
    """
    from labcore.store import Store

    if args not in _CLI_RUNS:
        import re
        import subprocess
        import sys

        finished = subprocess.run(
            [sys.executable, "-m", "labcore", "run", *args], cwd=ROOT, env=dict(os.environ), capture_output=True,
            text=True,
            # A tiny run takes seconds; on a busy CPU the worker's TensorFlow import alone can take 10.
            timeout=300,
        )
        assert finished.returncode == 0, finished.stdout[-2000:] + finished.stderr[-2000:]
        _CLI_RUNS[args] = int(re.search(r"run #(\d+) queued", finished.stdout).group(1))
    return Store().get_run(_CLI_RUNS[args])
