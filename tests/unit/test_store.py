"""labcore.store on real SQLite files: runs, transitions, claims, owners, artifacts."""

import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from labcore.errors import LabError, PermissionDenied
from labcore.processes import pid_alive
from labcore.store import SCHEMA_VERSION, Store, StoreVersionError

REPO_ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def store(tmp_path):
    return Store(tmp_path / "labcore.db")


def dead_pid():
    """A process id that belonged to a process which has exited and been reaped."""
    process = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True
    )
    return int(process.stdout)


def test_created_run_is_queued_and_json_fields_round_trip(store):
    config = {"spec": {"groups": [{"n_filters": 16, "n_blocks": 2}]}, "lr": 1e-3, "tag": None}
    run_id = store.create_run("sleep", config, owner="alice", title="first")
    run = store.get_run(run_id)
    assert (run.kind, run.title, run.owner, run.status) == ("sleep", "first", "alice", "queued")
    assert run.config == config
    assert run.result == {} and run.progress == 0.0 and run.cancel_requested is False
    assert run.started_at is None and run.finished_at is None and run.pid is None
    assert run.created_at == pytest.approx(time.time(), abs=5)


def test_numpy_values_are_stored_as_plain_json(store):
    run_id = store.create_run("sleep", {"epochs": np.int64(3), "shape": np.zeros(2)}, owner="a")
    assert store.get_run(run_id).config == {"epochs": 3, "shape": [0.0, 0.0]}
    assert store.merge_result(run_id, {"accuracy": np.float32(0.5)}) == {"accuracy": 0.5}
    assert store.merge_result(run_id, {"loss": 1.0}) == {"accuracy": 0.5, "loss": 1.0}
    with pytest.raises(TypeError, match="object values cannot be stored as JSON"):
        store.create_run("sleep", {"bad": object()}, owner="a")


def test_missing_run_reads_as_none_and_cannot_be_changed(store):
    assert store.get_run(42) is None
    with pytest.raises(KeyError, match="no run with id 42"):
        store.request_cancel(42, admin=True)
    with pytest.raises(KeyError, match="no run with id 42"):
        store.add_artifact(42, "a.bin", b"")


def test_list_runs_is_newest_first_and_filters(store):
    first = store.create_run("sleep", {}, owner="alice")
    second = store.create_run("train", {}, owner="bob")
    third = store.create_run("sleep", {}, owner="alice")
    store.request_cancel(third, admin=True)
    assert [run.id for run in store.list_runs()] == [third, second, first]
    assert [run.id for run in store.list_runs(["queued"])] == [second, first]
    assert [run.id for run in store.list_runs(owner="alice", kind="sleep")] == [third, first]
    assert [run.id for run in store.list_runs(limit=1)] == [third]


def test_database_uses_wal_and_records_schema_version(store):
    connection = sqlite3.connect(store.path)
    assert connection.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    versions = connection.execute("SELECT version FROM schema_version").fetchall()
    assert versions == [(SCHEMA_VERSION,)]
    connection.close()
    Store(store.path)  # reopening keeps one version row
    connection = sqlite3.connect(store.path)
    assert connection.execute("SELECT COUNT(*) FROM schema_version").fetchone()[0] == 1


def test_database_from_newer_labcore_is_refused_with_clear_error(store):
    with sqlite3.connect(store.path) as connection:
        connection.execute("UPDATE schema_version SET version = ?", (SCHEMA_VERSION + 1,))
    with pytest.raises(StoreVersionError, match=f"schema version {SCHEMA_VERSION + 1}, newer than this labcore's {SCHEMA_VERSION}"):
        Store(store.path)


def test_claim_next_takes_oldest_queued_run_and_one_per_device_by_default(store):
    first = store.create_run("sleep", {}, owner="a")
    second = store.create_run("sleep", {}, owner="a")
    claimed = store.claim_next("cpu")
    assert (claimed.id, claimed.status, claimed.device) == (first, "running", "cpu")
    assert claimed.started_at is not None
    assert store.claim_next("cpu") is None, "the device is busy"
    assert store.claim_next("gpu:0").id == second, "another device has its own queue"
    assert store.claim_next("cpu") is None, "nothing left"


def test_a_store_of_the_first_schema_is_brought_up_to_date_and_keeps_its_runs(tmp_path):
    path = tmp_path / "labcore.db"
    with sqlite3.connect(path) as connection:
        connection.execute("CREATE TABLE schema_version (version INTEGER NOT NULL)")
        connection.execute("INSERT INTO schema_version VALUES (1)")
        connection.execute("CREATE TABLE runs (id INTEGER PRIMARY KEY AUTOINCREMENT, kind TEXT NOT NULL,"
                           " title TEXT NOT NULL, owner TEXT NOT NULL, config TEXT NOT NULL, status TEXT NOT NULL,"
                           " created_at REAL NOT NULL, started_at REAL, finished_at REAL, device TEXT, pid INTEGER,"
                           " progress REAL NOT NULL DEFAULT 0, progress_text TEXT NOT NULL DEFAULT '', error TEXT,"
                           " traceback TEXT, result TEXT NOT NULL DEFAULT '{}',"
                           " cancel_requested INTEGER NOT NULL DEFAULT 0)")
        connection.execute("INSERT INTO runs (kind, title, owner, config, status, created_at)"
                           " VALUES ('sleep', 'old run', 'ann', '{}', 'queued', 1.0)")
    store = Store(path)
    (old,) = store.list_runs()
    assert (old.title, old.owner, old.urgent, old.follows) == ("old run", "ann", False, None)
    assert store.set_urgent(old.id) and store.get_run(old.id).urgent
    with sqlite3.connect(path) as connection:
        assert connection.execute("SELECT version FROM schema_version").fetchall() == [(SCHEMA_VERSION,)]


def test_claim_next_serves_owners_in_turn_and_urgent_runs_first(store):
    ladder = [store.create_run("sleep", {}, owner="ann") for _ in range(3)]
    bob = store.create_run("sleep", {}, owner="bob")
    cat = store.create_run("sleep", {}, owner="cat")
    claimed = []
    for _ in range(3):
        run = store.claim_next("cpu")
        claimed.append(run.id)
        store.set_status(run.id, "done")
    assert claimed == [ladder[0], bob, cat], "one attendee's ladder does not push the others back"
    late = store.create_run("sleep", {}, owner="dan")
    assert store.set_urgent(late)
    assert store.claim_next("cpu").id == late, "the instructor moved it to the front"
    assert not store.set_urgent(late), "only a queued run can be moved"


def test_claim_next_fills_every_slot_of_a_device_and_no_more(store):
    run_ids = [store.create_run("sleep", {}, owner="a") for _ in range(3)]
    assert [store.claim_next("cpu", slots=2).id for _ in range(2)] == run_ids[:2]
    assert store.claim_next("cpu", slots=2) is None, "both slots are busy"
    store.set_status(run_ids[0], "done")
    assert store.claim_next("cpu", slots=2).id == run_ids[2]


def test_a_paused_queue_starts_nothing_for_any_store_on_the_file_until_resumed(store):
    run_id = store.create_run("sleep", {}, owner="a")
    other = Store(store.path)  # another server process on the same file
    store.set_paused(True)
    assert other.paused() and other.claim_next("cpu") is None
    store.set_paused(False)
    assert not other.paused() and other.claim_next("cpu").id == run_id


def test_claim_run_claims_only_a_queued_run(store):
    run_id = store.create_run("sleep", {}, owner="a")
    assert store.claim_run(run_id, "cpu").status == "running"
    assert store.claim_run(run_id, "cpu") is None


def test_claims_from_two_stores_and_many_threads_never_overlap(tmp_path):
    stores = [Store(tmp_path / "labcore.db"), Store(tmp_path / "labcore.db")]
    run_ids = [stores[0].create_run("sleep", {}, owner="a") for _ in range(120)]
    claimed = []
    lock = threading.Lock()

    def claim_all(store, device):
        while True:
            run = store.claim_next(device)
            if run is None:
                if not store.list_runs(["queued"], limit=1):
                    return
                continue
            with lock:
                claimed.append(run.id)
            store.set_status(run.id, "done")

    # Distinct devices, so that several claims are in flight at once.
    threads = [
        threading.Thread(target=claim_all, args=(stores[index % 2], f"device{index}"))
        for index in range(6)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert sorted(claimed) == run_ids


def test_claims_from_two_processes_never_overlap(store):
    run_ids = [store.create_run("sleep", {}, owner="a") for _ in range(60)]
    script = (
        "import sys\n"
        "from labcore.store import Store\n"
        "store = Store(sys.argv[1])\n"
        "while store.list_runs(['queued'], limit=1):\n"
        "    run = store.claim_next(sys.argv[2])\n"
        "    if run is not None:\n"
        "        print(run.id, flush=True)\n"
        "        store.set_status(run.id, 'done')\n"
    )
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", script, str(store.path), device],
            stdout=subprocess.PIPE, text=True, cwd=REPO_ROOT,
        )
        for device in ("cpu", "gpu")
    ]
    outputs = [process.communicate(timeout=30)[0] for process in processes]
    claimed = [int(line) for output in outputs for line in output.split()]
    assert sorted(claimed) == run_ids


def test_terminal_status_sets_finished_at_and_is_final(store):
    run_id = store.create_run("sleep", {}, owner="a")
    assert store.set_status(run_id, "done") is False, "done only follows running"
    store.claim_next("cpu")
    assert store.set_status(run_id, "done") is True
    run = store.get_run(run_id)
    assert run.status == "done" and run.finished_at >= run.started_at and run.progress == 1.0
    for status in ("failed", "cancelled", "interrupted", "done"):
        assert store.set_status(run_id, status, error="late") is False
    assert store.get_run(run_id).status == "done"
    assert store.claim_run(run_id, "cpu") is None


def test_set_status_refuses_non_terminal_status(store):
    run_id = store.create_run("sleep", {}, owner="a")
    with pytest.raises(ValueError, match="status must be one of .*; got 'running'. Runs start"):
        store.set_status(run_id, "running")


def test_failed_status_keeps_error_and_traceback(store):
    run_id = store.create_run("sleep", {}, owner="a")
    store.claim_next("cpu")
    store.set_status(run_id, "failed", error="RuntimeError: boom", traceback="Traceback ...")
    run = store.get_run(run_id)
    assert (run.status, run.error) == ("failed", "RuntimeError: boom")
    assert run.traceback == "Traceback ..."


def test_progress_and_pid_are_recorded_only_while_running(store):
    run_id = store.create_run("sleep", {}, owner="a")
    store.set_progress(run_id, 0.5, "ignored")
    store.claim_next("cpu")
    store.set_pid(run_id, 1234)
    store.set_progress(run_id, 1.7, "epoch 2/2")
    run = store.get_run(run_id)
    assert (run.pid, run.progress, run.progress_text) == (1234, 1.0, "epoch 2/2")


def test_cancelling_a_queued_run_cancels_it_at_once(store):
    run_id = store.create_run("sleep", {}, owner="alice")
    assert store.request_cancel(run_id, owner="alice") == "cancelled"
    run = store.get_run(run_id)
    assert run.status == "cancelled" and run.finished_at is not None and run.started_at is None
    assert store.claim_next("cpu") is None


def test_cancelling_a_running_run_sets_the_flag(store):
    run_id = store.create_run("sleep", {}, owner="alice")
    store.claim_next("cpu")
    assert store.request_cancel(run_id, owner="alice") == "running"
    assert store.get_run(run_id).cancel_requested is True


def test_cancelling_a_finished_run_changes_nothing(store):
    run_id = store.create_run("sleep", {}, owner="alice")
    store.claim_next("cpu")
    store.set_status(run_id, "done")
    assert store.request_cancel(run_id, owner="alice") == "done"
    assert store.get_run(run_id).cancel_requested is False


@pytest.mark.parametrize("action", ["request_cancel", "delete_run"])
def test_only_the_owner_or_an_admin_may_cancel_or_delete(store, action):
    run_id = store.create_run("sleep", {}, owner="alice")
    with pytest.raises(PermissionDenied, match=f"Run {run_id} belongs to another session"):
        getattr(store, action)(run_id, owner="bob")
    with pytest.raises(PermissionDenied, match="pass the owner who submitted it, or admin=True"):
        getattr(store, action)(run_id)
    assert store.get_run(run_id).status == "queued"
    getattr(store, action)(run_id, owner="bob", admin=True)


def test_deleting_a_running_run_is_refused(store):
    run_id = store.create_run("sleep", {}, owner="alice")
    store.claim_next("cpu")
    with pytest.raises(LabError, match=f"Run {run_id} is running; cancel it first"):
        store.delete_run(run_id, owner="alice")
    assert store.get_run(run_id).status == "running"


def test_delete_removes_run_metrics_artifact_files_and_log(store):
    run_id = store.create_run("sleep", {}, owner="alice")
    store.add_metrics(run_id, "train", 1, {"loss": 1.0})
    path = store.add_artifact(run_id, "image.png", b"png")
    store.log_path(run_id).parent.mkdir(parents=True, exist_ok=True)
    store.log_path(run_id).write_text("log")
    store.delete_run(run_id, owner="alice")
    assert store.get_run(run_id) is None
    assert store.metrics(run_id) == [] and store.artifacts(run_id) == []
    assert not path.exists() and not path.parent.exists() and not store.log_path(run_id).exists()


def test_artifacts_round_trip_bytes_arrays_and_dicts(store):
    run_id = store.create_run("sleep", {}, owner="a")
    array = np.arange(12, dtype=np.float32).reshape(3, 4)
    saved = {
        "raw.bin": b"\x00\x01binary",
        "reconstructions.npy": array,
        "summary.json": {"accuracy": np.float64(0.9), "labels": [1, 2]},
    }
    for name, data in saved.items():
        path = store.add_artifact(run_id, name, data)
        assert path == store.artifact_root / str(run_id) / name and path.is_file()
    assert store.read_artifact(run_id, "raw.bin") == b"\x00\x01binary"
    loaded = store.read_artifact(run_id, "reconstructions.npy")
    assert loaded.dtype == np.float32 and np.array_equal(loaded, array)
    assert store.read_artifact(run_id, "summary.json") == {"accuracy": 0.9, "labels": [1, 2]}
    assert {(a.name, a.kind) for a in store.artifacts(run_id)} == {
        ("raw.bin", "bytes"), ("reconstructions.npy", "npy"), ("summary.json", "json")
    }
    assert store.artifact_path(run_id, "raw.bin") == store.artifact_root / str(run_id) / "raw.bin"
    store.add_artifact(run_id, "raw.bin", b"replaced")
    assert store.read_artifact(run_id, "raw.bin") == b"replaced"
    assert len(store.artifacts(run_id)) == 3
    assert not list((store.artifact_root / str(run_id)).glob(".tmp-*")), "no temporary files left"


@pytest.mark.parametrize(
    "name", ["../escape", "a/b", "a\\b", "..", ".", "", ".hidden", "x..y", "a" * 129, "/abs"]
)
def test_artifact_names_that_could_escape_or_hide_are_rejected(store, name):
    run_id = store.create_run("sleep", {}, owner="a")
    with pytest.raises(LabError, match="artifact name must be 1-128 letters, digits"):
        store.add_artifact(run_id, name, b"x")
    assert store.artifacts(run_id) == []


def test_artifact_of_unsupported_type_is_rejected(store):
    run_id = store.create_run("sleep", {}, owner="a")
    message = "artifact data must be bytes, a numpy array or a dict; got 'list'"
    with pytest.raises(TypeError, match=message):
        store.add_artifact(run_id, "values", [1, 2])
    with pytest.raises(KeyError, match="no artifact named 'values'"):
        store.artifact_path(run_id, "values")


def test_metrics_come_back_in_order_and_as_flat_chart_rows(store):
    first = store.create_run("sleep", {}, owner="a")
    second = store.create_run("sleep", {}, owner="a")
    store.add_metrics(first, "train", 1, {"loss": 2.0, "accuracy": np.float32(0.25)})
    store.add_metrics(first, "val", 1, {"loss": 2.5})
    store.add_metrics(first, "train", 2, {"loss": 1.0, "accuracy": 0.5})
    store.add_metrics(second, "train", 1, {"loss": float("nan")})
    rows = store.metrics(first)
    assert [(row.series, row.epoch) for row in rows] == [("train", 1), ("val", 1), ("train", 2)]
    assert rows[0].values == {"loss": 2.0, "accuracy": 0.25}
    flat = store.metrics_rows([first, second])
    assert flat[:3] == [
        {"run_id": first, "series": "train", "epoch": 1, "loss": 2.0, "accuracy": 0.25},
        {"run_id": first, "series": "train", "epoch": 2, "loss": 1.0, "accuracy": 0.5},
        {"run_id": first, "series": "val", "epoch": 1, "loss": 2.5},
    ]
    assert np.isnan(flat[3]["loss"])
    assert store.metrics_rows([]) == []


def test_orphans_are_running_runs_whose_worker_is_gone(store):
    alive, dead, unspawned, fresh, queued = (
        store.create_run("sleep", {}, owner="a") for _ in range(5)
    )
    for run_id, device in ((alive, "d1"), (dead, "d2"), (unspawned, "d3"), (fresh, "d4")):
        assert store.claim_next(device).id == run_id
    store.set_pid(alive, 1111)
    store.set_pid(dead, 2222)
    with sqlite3.connect(store.path) as connection:
        connection.execute(
            "UPDATE runs SET started_at = started_at - 60 WHERE id = ?", (unspawned,)
        )
    marked = store.mark_orphans_interrupted(lambda pid: pid == 1111)
    assert sorted(marked) == [dead, unspawned]
    assert store.get_run(dead).status == "interrupted"
    assert "pid 2222" in store.get_run(dead).error
    assert "No worker was started" in store.get_run(unspawned).error
    statuses = [store.get_run(run_id).status for run_id in (alive, fresh, queued)]
    assert statuses == ["running", "running", "queued"]


def test_orphan_check_with_real_process_ids(store):
    run_id = store.create_run("sleep", {}, owner="a")
    store.claim_next("cpu")
    store.set_pid(run_id, dead_pid())
    assert store.mark_orphans_interrupted(pid_alive) == [run_id]
