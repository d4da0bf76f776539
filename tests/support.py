"""Helpers the unit, reliability and browser tests share: queue a test run, wait for it.

Imported as `tests.support` (pytest runs from the repository root, which is
on sys.path as it is for `labcore`), so that no folder's conftest or helper
module of the same name can shadow it. The polling loop itself is the
benchmarks' (`bench._processes.wait_for`): one loop for both, with defaults
that suit tests.
"""

from bench import _processes
from labcore import jobs

__all__ = ["OWNER", "finish_run", "submit_sleep", "wait_for", "wait_for_status"]

# The owner of runs that a test queues, unless it names another.
OWNER = "test-owner"


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
