"""labcore.jobs, labcore.supervisor, labcore.worker, labcore.kinds and labcore.reporting with real worker processes.

Every run here is of the Keras-free `sleep` kind, with epochs of 0.05-0.1 s,
so that a whole queue takes about a second. Tests run from a temporary
working directory, which also shows that workers start from any directory.
"""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from labcore import device, jobs, kinds
from labcore.errors import ConfigError, PermissionDenied
from labcore.reporting import Cancelled, ConsoleReporter, StoreReporter
from labcore.store import Store
from labcore.supervisor import Supervisor
from tests.support import OWNER, submit_sleep, wait_for, wait_for_status

REPO_ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def store(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    return Store(tmp_path / "home" / "labcore.db")


@pytest.fixture
def supervisors(store):
    """Make supervisors on the store; stop them, and kill any worker left, afterwards."""
    made = []

    def make(store_or_path=store, **options):
        options = {"poll_s": 0.05, "cancel_grace_s": 0.5, **options}
        supervisor = Supervisor(store_or_path, **options)
        made.append(supervisor)
        return supervisor

    yield make
    for supervisor in made:
        supervisor.stop()
        for pid in supervisor.state().pids:
            try:
                os.killpg(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass


def test_submitted_run_goes_from_queued_to_running_to_done_with_metrics(store, supervisors):
    run_id = submit_sleep(store, epochs=3, seconds_per_epoch=0.1)
    assert store.get_run(run_id).status == "queued"
    supervisor = supervisors().start()
    running = wait_for_status(store, run_id, "running")
    assert running.device == "cpu"
    state = wait_for(lambda: (s := supervisor.state()).pids and s, what="the worker's pid")
    assert state.running and state.run_ids == (run_id,) and state.workers_alive == 1
    done = wait_for_status(store, run_id, "done")
    assert done.result == {"epochs": 3, "final_loss": pytest.approx(1 / 3)}
    assert done.progress == 1.0 and done.error is None and done.pid == state.pids[0]
    epochs = [(row.series, row.epoch) for row in store.metrics(run_id)]
    assert epochs == [("train", 1), ("train", 2), ("train", 3)]
    assert store.metrics(run_id)[-1].values == {"loss": pytest.approx(1 / 3), "accuracy": 0.75}
    assert f"run {run_id} (sleep) on cpu" in store.log_path(run_id).read_text()


def test_supervisor_of_a_gpu_queue_records_its_runs_on_gpu(store, supervisors):
    run_id = submit_sleep(store, epochs=1)
    supervisors(device=device.queue_name({"device": "GPU"})).start()
    run = wait_for_status(store, run_id, "done")
    assert run.device == "gpu"
    assert f"run {run_id} (sleep) on gpu" in store.log_path(run_id).read_text()


def test_runs_start_in_submission_order_one_at_a_time(store, supervisors):
    run_ids = [submit_sleep(store, epochs=2) for _ in range(3)]
    supervisors().start()
    runs = [wait_for_status(store, run_id, "done") for run_id in run_ids]
    for earlier, later in zip(runs, runs[1:]):
        assert later.started_at >= earlier.finished_at


def test_a_supervisor_with_two_slots_trains_two_runs_at_once_and_no_third(store, supervisors):
    run_ids = [submit_sleep(store, epochs=6, seconds_per_epoch=0.2) for _ in range(3)]
    supervisors(slots=2).start()
    runs = [wait_for_status(store, run_id, "done", timeout_s=60) for run_id in run_ids]
    first, second, third = sorted(runs, key=lambda run: run.started_at)
    assert second.started_at < first.finished_at, "the second slot waited for the first run"
    assert third.started_at >= min(first.finished_at, second.finished_at), "a third run started in two slots"


def test_two_supervisors_on_one_store_still_run_one_at_a_time(store, supervisors):
    run_ids = [submit_sleep(store, epochs=2) for _ in range(4)]
    supervisors().start()
    supervisors(store.path).start()
    runs = [wait_for_status(store, run_id, "done") for run_id in run_ids]
    runs.sort(key=lambda run: run.started_at)
    for earlier, later in zip(runs, runs[1:]):
        assert later.started_at >= earlier.finished_at


def test_cancelled_queued_run_never_starts(store, supervisors):
    first = submit_sleep(store, epochs=4)
    second = submit_sleep(store, epochs=1)
    supervisors().start()
    wait_for_status(store, first, "running")
    assert jobs.cancel(store, second, OWNER) == "cancelled"
    wait_for_status(store, first, "done")
    time.sleep(0.2)
    run = store.get_run(second)
    assert run.status == "cancelled" and run.started_at is None and store.metrics(second) == []


def test_cancelled_running_run_stops_within_seconds(store, supervisors):
    run_id = submit_sleep(store, epochs=200, seconds_per_epoch=0.1)
    supervisor = supervisors(cancel_grace_s=5.0).start()
    wait_for(lambda: store.get_run(run_id).progress > 0, what="the worker to report progress")
    asked = time.monotonic()
    assert jobs.cancel(store, run_id, OWNER) == "running"
    run = wait_for_status(store, run_id, "cancelled", timeout_s=3.0)
    assert time.monotonic() - asked < 2.0, "the worker stopped by itself, before any signal"
    assert run.error is None and run.progress < 1.0
    wait_for(lambda: supervisor.state().run_id is None, what="the worker to exit")


def test_wait_until_settled_returns_once_every_run_has_ended_or_says_it_has_not(store, supervisors):
    running = submit_sleep(store, epochs=200, seconds_per_epoch=0.1)
    queued = submit_sleep(store, epochs=1)
    supervisors(cancel_grace_s=5.0).start()
    wait_for(lambda: store.get_run(running).progress > 0, what="the worker to report progress")
    started = time.monotonic()
    assert jobs.wait_until_settled(store, [running, queued], timeout_s=0.3) is False
    assert time.monotonic() - started >= 0.3
    jobs.cancel(store, queued, OWNER)
    jobs.cancel(store, running, OWNER)
    assert jobs.wait_until_settled(store, [running, queued, 10_000], timeout_s=5.0) is True
    assert {store.get_run(running).status, store.get_run(queued).status} == {"cancelled"}


def test_running_run_that_ignores_cancel_is_stopped_with_sigterm(store, supervisors):
    run_id = submit_sleep(store, epochs=200, seconds_per_epoch=0.1, ignore_cancel=True)
    supervisors(cancel_grace_s=0.3).start()
    wait_for(lambda: store.get_run(run_id).progress > 0, what="the worker to report progress")
    jobs.cancel(store, run_id, OWNER)
    run = wait_for_status(store, run_id, "cancelled", timeout_s=5.0)
    assert "SIGTERM" in run.error


def test_killed_worker_fails_its_run_naming_sigkill_and_the_queue_goes_on(store, supervisors):
    doomed = submit_sleep(store, epochs=200, seconds_per_epoch=0.1)
    following = submit_sleep(store, epochs=2)
    supervisors().start()
    pid = wait_for(lambda: store.get_run(doomed).pid, what="the worker's pid")
    wait_for(lambda: store.get_run(doomed).progress > 0, what="the worker to report progress")
    killed = time.monotonic()
    os.kill(pid, signal.SIGKILL)
    run = wait_for_status(store, doomed, "failed", timeout_s=5.0)
    assert time.monotonic() - killed < 3.0
    assert "killed (SIGKILL)" in run.error and "out of memory?" in run.error
    assert "Last lines of" in run.traceback
    wait_for_status(store, following, "done")


def test_worker_that_exits_abruptly_fails_its_run_naming_the_exit_code(store, supervisors):
    run_id = submit_sleep(store, epochs=3, crash_at_epoch=2)
    supervisors().start()
    run = wait_for_status(store, run_id, ["failed", "done"])
    assert run.status == "failed" and run.error == "The worker exited with code 3."
    assert f"run {run_id} (sleep) on cpu" in run.traceback, "the log's last lines"
    assert len(store.metrics(run_id)) == 1


def test_runner_exception_fails_the_run_with_its_message_and_traceback(store, supervisors):
    run_id = submit_sleep(store, epochs=3, fail_at_epoch=2)
    supervisors().start()
    run = wait_for_status(store, run_id, ["failed", "done"])
    assert run.error == "RuntimeError: the sleep job failed on purpose at epoch 2"
    assert run.traceback.startswith("Traceback (most recent call last):")
    assert "in run_sleep" in run.traceback


def test_new_supervisor_interrupts_runs_of_dead_workers_and_runs_the_queue(store, supervisors):
    orphan = store.create_run("sleep", {}, owner=OWNER)
    store.claim_next("cpu")
    finished = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True
    )
    store.set_pid(orphan, int(finished.stdout))
    queued = submit_sleep(store, epochs=1)
    supervisors().start()
    run = wait_for_status(store, orphan, "interrupted", timeout_s=2.0)
    assert "is gone without reporting" in run.error
    wait_for_status(store, queued, "done")


def test_submit_with_bad_config_lists_every_problem_and_queues_nothing(store):
    with pytest.raises(ConfigError) as raised:
        jobs.submit(store, "sleep", {"epochs": 0, "seconds_per_epoch": -1, "speed": 2}, OWNER)
    assert str(raised.value).splitlines() == [
        "sleep config key must be one of ['crash_at_epoch', 'epochs', 'fail_at_epoch',"
        " 'ignore_cancel', 'seconds_per_epoch']; got 'speed'.",
        "epochs must be an int in [1, 100000]; got 0.",
        "seconds_per_epoch must be a number in [0, 3600]; got -1.",
    ]
    with pytest.raises(ConfigError, match="kind must be one of .*; got 'juggle'"):
        jobs.submit(store, "juggle", {}, OWNER)
    assert store.list_runs() == []


def test_submit_titles_the_run_with_its_kind_unless_given(store):
    assert store.get_run(jobs.submit(store, "sleep", {}, OWNER)).title == "Sleep (test job)"
    assert store.get_run(jobs.submit(store, "sleep", {}, OWNER, title="mine")).title == "mine"


def test_cancel_by_another_session_is_refused(store):
    run_id = submit_sleep(store)
    with pytest.raises(PermissionDenied):
        jobs.cancel(store, run_id, "session-b")
    assert jobs.cancel(store, run_id, None, admin=True) == "cancelled"


def run_worker(*arguments):
    """Run `python -m labcore.worker` by hand, as the CLI does, from the test's directory."""
    return subprocess.run(
        [sys.executable, "-m", "labcore.worker", *arguments],
        capture_output=True, text=True, timeout=30,
        env={**os.environ, "PYTHONPATH": str(REPO_ROOT)},
    )


def test_worker_runs_a_queued_run_when_started_by_hand(store):
    run_id = submit_sleep(store, epochs=2)
    completed = run_worker(str(run_id), "--store", str(store.path), "--device", "gpu:1")
    assert completed.returncode == 0, completed.stderr
    run = store.get_run(run_id)
    assert (run.status, run.device, run.result["epochs"]) == ("done", "gpu:1", 2)
    again = run_worker(str(run_id), "--store", str(store.path))
    assert again.returncode == 2 and f"run {run_id} is done; nothing to run" in again.stderr
    missing = run_worker("999", "--store", str(store.path))
    assert missing.returncode == 2 and "no run with id 999" in missing.stderr


def test_worker_started_by_hand_leaves_a_running_run_to_its_own_worker(store):
    run_id = submit_sleep(store)
    store.claim_next("cpu")
    completed = run_worker(str(run_id), "--store", str(store.path))
    assert completed.returncode == 2
    assert f"run {run_id} is running; nothing to run" in completed.stderr
    assert store.metrics(run_id) == []


def test_store_reporter_throttles_progress_but_keeps_the_last_value(store):
    run_id = store.create_run("sleep", {}, owner=OWNER)
    store.claim_next("cpu")
    reporter = StoreReporter(store, run_id, min_interval_s=60)
    for step in range(1, 101):
        reporter.progress(step / 100, f"batch {step}/100")
    assert store.get_run(run_id).progress_text == "batch 1/100"
    reporter.flush()
    assert store.get_run(run_id).progress_text == "batch 100/100"
    reporter.epoch("val", 1, {"loss": 0.5})
    assert reporter.artifact("curve.json", {"x": [1]}).endswith("curve.json")
    reporter.result({"val_accuracy": 0.9})
    assert store.metrics(run_id)[0].values == {"loss": 0.5}
    assert store.get_run(run_id).result == {"val_accuracy": 0.9}


def test_store_reporter_sees_a_cancel_request(store):
    run_id = store.create_run("sleep", {}, owner=OWNER)
    store.claim_next("cpu")
    reporter = StoreReporter(store, run_id)
    assert reporter.cancelled() is False
    store.request_cancel(run_id, owner=OWNER)
    wait_for(reporter.cancelled, timeout_s=1.0, what="the reporter to see the cancel flag")


def test_sleep_kind_runs_in_process_with_the_console_reporter(tmp_path, capsys):
    reporter = ConsoleReporter(artifact_dir=tmp_path, min_interval_s=0)
    config = kinds.parse("sleep", {"epochs": 2, "seconds_per_epoch": 0})
    result = kinds.load_runner("sleep")(config, reporter)
    assert result == {"epochs": 2, "final_loss": 0.5}
    printed = capsys.readouterr().out
    assert "train epoch 2: loss=0.5000 accuracy=0.6667" in printed
    assert "[100.0%] epoch 2/2" in printed
    assert reporter.cancelled() is False
    assert Path(reporter.artifact("notes.json", {"a": 1})) == tmp_path / "notes.json"


def test_sleep_kind_raises_cancelled_when_asked(store):
    run_id = store.create_run("sleep", {}, owner=OWNER)
    store.claim_next("cpu")
    store.request_cancel(run_id, owner=OWNER)
    with pytest.raises(Cancelled, match="cancelled during epoch 1"):
        kinds.run_sleep(kinds.SleepConfig(epochs=5), StoreReporter(store, run_id))


def test_parse_refuses_what_submit_refuses_and_reads_the_rest():
    with pytest.raises(ConfigError, match="epochs must be an int in \\[1, 100000\\]; got 0"):
        kinds.parse("sleep", {"epochs": 0})
    assert kinds.parse("sleep", {"epochs": 2}) == kinds.SleepConfig(epochs=2)


def test_queue_modules_import_neither_keras_nor_tensorflow():
    script = (
        "import sys\n"
        "import labcore.device, labcore.home, labcore.jobs, labcore.kinds, labcore.processes\n"
        "import labcore.reporting, labcore.store, labcore.supervisor, labcore.worker\n"
        "print(sorted(set(sys.modules) & {'keras', 'tensorflow', 'jax', 'torch'}))\n"
    )
    completed = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, cwd=REPO_ROOT
    )
    assert completed.stdout.strip() == "[]", completed.stderr
