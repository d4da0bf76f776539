"""Helpers the reliability tests share: waiting, store snapshots, tiny configs, page paths.

Kept out of conftest.py so that test modules can import them by a name no
other test folder uses.
"""

import dataclasses
import os
import pathlib
import signal
import time

from labcore import jobs, spec, trainconfig

ROOT = pathlib.Path(__file__).resolve().parents[2]
APP = str(ROOT / "app.py")
PAGE_DIR = "app_pages"
OWNER = "reliability-owner"
# Page scripts are fast, but the first run imports pandas and Altair; a
# loaded 2-core machine needs far more than AppTest's default 3 s.
APPTEST_TIMEOUT_S = 60


def page(name):
    """The path of a page script relative to app.py, e.g. page("builder")."""
    return f"{PAGE_DIR}/{name}.py"


def wait_for(condition, timeout_s=10.0, what="the condition", interval_s=0.02):
    """Poll `condition()` until it returns something truthy; return that."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(interval_s)
    raise AssertionError(f"timed out after {timeout_s} s waiting for {what}")


def wait_for_status(store, run_id, statuses, timeout_s=10.0):
    """Wait until a run has one of `statuses`; return the Run."""
    statuses = {statuses} if isinstance(statuses, str) else set(statuses)

    def reached():
        run = store.get_run(run_id)
        return run if run is not None and run.status in statuses else None

    return wait_for(
        reached, timeout_s,
        f"run {run_id} to be {sorted(statuses)} (is {getattr(store.get_run(run_id), 'status', None)})",
    )


def submit_sleep(store, owner=OWNER, **config):
    """Queue a `sleep` run (0.05 s epochs unless told otherwise) through jobs.submit."""
    return jobs.submit(store, "sleep", {"seconds_per_epoch": 0.05, **config}, owner)


def finished_run(store, owner=OWNER, epochs=3):
    """A done run with per-epoch metrics and a result, written straight to the store."""
    run_id = store.create_run("sleep", {"epochs": epochs}, owner=owner, title="finished before the fault")
    store.claim_run(run_id, "elsewhere")
    for epoch in range(1, epochs + 1):
        store.add_metrics(run_id, "train", epoch, {"loss": 1.0 / epoch, "accuracy": 0.5 + epoch / 10})
    store.merge_result(run_id, {"final_loss": 1.0 / epochs})
    store.set_status(run_id, "done")
    return run_id


def snapshot(store, run_ids=None):
    """Everything stored about some runs (all when None), for before/after comparisons."""
    runs = store.list_runs(limit=100_000) if run_ids is None else map(store.get_run, run_ids)
    return {
        run.id: (run.status, run.owner, run.config, run.result, run.error,
                 [(row.series, row.epoch, row.values) for row in store.metrics(run.id)])
        for run in runs if run is not None
    }


def tiny_train_config(**train):
    """A `train` config that trains in seconds: the default spec on the embedded subset."""
    settings = {"epochs": 2, "subset": 200, "test_subset": 100, **train}
    return {"spec": spec.default_spec().to_dict(),
            "train": dataclasses.asdict(trainconfig.TrainConfig(**settings))}


def kill_workers_of(store):
    """SIGKILL the process group of every live worker recorded in `store` (only ours)."""
    for run in store.list_runs(limit=100_000):
        if run.pid and _is_worker_of(run.pid, store):
            try:
                os.killpg(run.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass


def _is_worker_of(pid, store):
    try:
        command = pathlib.Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return False
    return b"labcore.worker" in command and str(store.path).encode() in command
