"""Helpers the reliability tests share: store snapshots, tiny configs, page paths, killing workers.

Kept out of conftest.py so that test modules can import them by a name no
other test folder uses. Queueing and waiting for runs are in `tests.support`.
"""

import dataclasses
import os
import pathlib
import signal

from labcore import spec, trainconfig
from tests.support import OWNER

ROOT = pathlib.Path(__file__).resolve().parents[2]
APP = str(ROOT / "app.py")
PAGE_DIR = "app_pages"
# Page scripts are fast, but the first run imports pandas and Altair; a
# loaded 2-core machine needs far more than AppTest's default 3 s.
APPTEST_TIMEOUT_S = 60


def page(name):
    """The path of a page script relative to app.py, e.g. page("builder")."""
    return f"{PAGE_DIR}/{name}.py"


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
