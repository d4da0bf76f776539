"""Faults a workshop server meets, survived: killed workers, killed servers, two servers, model errors, cancels.

Real SQLite files, real worker processes and real server processes (a
supervisor alone in a `python -c` process, as `streamlit run app.py` holds
one), killed with real signals. Queue mechanics use the Keras-free `sleep`
kind so that each repetition takes about a second; two tests train a real
tiny Keras model. Every test checks that what was stored before the fault
is still there after it.
"""

import dataclasses
import os
import signal
import time

import pytest

from labcore import jobs, spec
from labcore.worker import one_line
from reliability_support import finished_run, snapshot, tiny_train_config
from tests.support import OWNER, submit_sleep, wait_for, wait_for_status

# How long a fault may take to show in the store: the supervisor polls its
# worker every 0.05 s here (0.2 s in the app).
REACTION_S = 3.0


def _worker_pid(store, run_id):
    return wait_for(lambda: store.get_run(run_id).pid, what=f"the worker of run {run_id}")


def _log_starts(store, run_id):
    """How many workers started on a run, from the line each writes first in its log."""
    log = store.log_path(run_id)
    return log.read_text().count(f"labcore worker: run {run_id} ") if log.is_file() else 0


# -- workers killed -------------------------------------------------------------


@pytest.mark.tally("kills")
@pytest.mark.parametrize("attempt", range(5))
def test_worker_killed_mid_epoch_fails_its_run_naming_sigkill_and_the_queue_goes_on(
        store, supervisors, attempt):
    earlier = finished_run(store)
    before = snapshot(store, [earlier])
    doomed = submit_sleep(store, epochs=100, seconds_per_epoch=0.1)
    following = submit_sleep(store, epochs=2)
    supervisors().start()
    pid = _worker_pid(store, doomed)
    # Each attempt kills at another point: after 1 to 3 epochs, part-way into the next.
    epochs_done = 1 + attempt % 3
    wait_for(lambda: len(store.metrics(doomed)) >= epochs_done, what=f"{epochs_done} epochs")
    time.sleep(0.02 * attempt)
    kept = len(store.metrics(doomed))

    os.kill(pid, signal.SIGKILL)
    killed = time.monotonic()
    run = wait_for_status(store, doomed, "failed", timeout_s=REACTION_S)

    assert time.monotonic() - killed < REACTION_S
    assert run.error == "The worker process was killed (SIGKILL) -- out of memory?"
    assert f"Last lines of {store.log_path(doomed)}" in run.traceback
    assert len(store.metrics(doomed)) == kept, "the epochs reported before the kill are kept"
    wait_for_status(store, following, "done")
    assert [row.epoch for row in store.metrics(following)] == [1, 2]
    assert snapshot(store, [earlier]) == before


@pytest.mark.slow
@pytest.mark.tally("kills")
def test_real_training_killed_mid_epoch_fails_and_the_queue_goes_on(store, supervisors):
    earlier = finished_run(store)
    before = snapshot(store, [earlier])
    # 90 batches of 2 images per epoch: long enough to be caught inside one.
    doomed = jobs.submit(store, "train", tiny_train_config(batch_size=2), "trainer")
    following = submit_sleep(store, epochs=1)
    supervisors().start()
    running = wait_for(lambda: "· batch" in store.get_run(doomed).progress_text and store.get_run(doomed),
                       timeout_s=120, what="the first batches of epoch 1")
    os.kill(running.pid, signal.SIGKILL)
    killed = time.monotonic()
    run = wait_for_status(store, doomed, "failed", timeout_s=REACTION_S)

    assert time.monotonic() - killed < REACTION_S
    assert "SIGKILL" in run.error
    assert running.progress_text.startswith("epoch 1/2 · batch")
    assert len(store.metrics(doomed)) <= 1, "killed before the fit ended"
    wait_for_status(store, following, "done", timeout_s=20)
    assert snapshot(store, [earlier]) == before


# -- servers killed and restarted ---------------------------------------------------


@pytest.mark.tally("restarts")
@pytest.mark.parametrize("restart_while_worker_runs", [False, True, True], ids=["after", "during-1", "during-2"])
def test_server_killed_mid_run_its_worker_finishes_and_a_restarted_server_runs_the_queue(
        store, servers, restart_while_worker_runs):
    earlier = finished_run(store)
    before = snapshot(store, [earlier])
    survivor = submit_sleep(store, epochs=12, seconds_per_epoch=0.1)
    queued = submit_sleep(store, epochs=2)
    server = servers.start()
    _worker_pid(store, survivor)
    wait_for(lambda: store.metrics(survivor), what="the first epoch")

    servers.kill(server)
    if not restart_while_worker_runs:
        # Workers lead their own session: the server's death does not reach them.
        assert wait_for_status(store, survivor, "done", timeout_s=10).error is None
        assert store.get_run(queued).status == "queued", "no server, so nothing starts"
    servers.start()

    survived = wait_for_status(store, survivor, "done", timeout_s=10)
    assert [row.epoch for row in store.metrics(survivor)] == list(range(1, 13))
    assert survived.result["epochs"] == 12
    ran = wait_for_status(store, queued, "done", timeout_s=10)
    assert ran.started_at >= survived.finished_at, "one run at a time, even across a restart"
    assert _log_starts(store, survivor) == 1 and _log_starts(store, queued) == 1
    assert snapshot(store, [earlier]) == before


@pytest.mark.tally("restarts")
@pytest.mark.parametrize("attempt", range(3))
def test_server_and_worker_killed_the_restarted_server_marks_the_orphan_interrupted_and_runs_the_queue(
        store, servers, attempt):
    earlier = finished_run(store)
    before = snapshot(store, [earlier])
    orphan = submit_sleep(store, epochs=100, seconds_per_epoch=0.1)
    queued = [submit_sleep(store, epochs=2) for _ in range(2)]
    server = servers.start()
    pid = _worker_pid(store, orphan)
    wait_for(lambda: len(store.metrics(orphan)) > attempt, what="some epochs")
    kept = len(store.metrics(orphan))

    servers.kill(server)
    os.killpg(pid, signal.SIGKILL)
    # The machine went down with both: the store still says running.
    time.sleep(0.3)
    assert store.get_run(orphan).status == "running"
    restarted = time.monotonic()
    servers.start()

    run = wait_for_status(store, orphan, "interrupted", timeout_s=REACTION_S + 2)
    assert time.monotonic() - restarted < REACTION_S + 2
    assert f"The worker (pid {pid}) is gone without reporting" in run.error
    assert len(store.metrics(orphan)) >= kept
    for run_id in queued:
        wait_for_status(store, run_id, "done")
        assert [row.epoch for row in store.metrics(run_id)] == [1, 2]
    assert snapshot(store, [earlier]) == before


@pytest.mark.tally("faults")
@pytest.mark.parametrize("attempt", range(2))
def test_two_server_processes_on_one_store_run_each_run_once_and_one_at_a_time(store, servers, attempt):
    first_batch = [submit_sleep(store, epochs=2) for _ in range(4)]
    servers.start()
    servers.start()
    # A third writer: runs submitted while both servers claim and workers report.
    run_ids = first_batch + [submit_sleep(store, epochs=2) for _ in range(4)]

    runs = [wait_for_status(store, run_id, "done", timeout_s=30) for run_id in run_ids]
    for run in runs:
        assert _log_starts(store, run.id) == 1, f"run {run.id} started {_log_starts(store, run.id)} times"
        assert [row.epoch for row in store.metrics(run.id)] == [1, 2]
    runs.sort(key=lambda run: run.started_at)
    for earlier, later in zip(runs, runs[1:]):
        assert later.started_at >= earlier.finished_at, f"runs {earlier.id} and {later.id} overlapped"


# -- errors inside the model ---------------------------------------------------------


@pytest.mark.slow
@pytest.mark.tally("faults")
def test_models_that_cannot_run_fail_with_a_readable_message_and_the_queue_goes_on(store, servers):
    """A spec forced past validation, and one whose first layer needs far more memory than there is."""
    earlier = finished_run(store)
    before = snapshot(store, [earlier])
    # 1. Over the parameter budget, written straight into the store as a
    # buggy or hostile client could: the worker checks again.
    huge = spec.ModelSpec(learner=spec.LearnerSpec(groups=(spec.GroupSpec(1024, 16),)))
    assert spec.count_params(huge) > spec.DEFAULT_MAX_PARAMS
    over_budget = store.create_run("train", {**tiny_train_config(), "spec": huge.to_dict()}, "forcer")
    # 2. Valid, but the stem's output is 64 x 256 x 256 x 1024 floats (17 GB)
    # against the 8 GB address space the server gives its workers.
    greedy = spec.ModelSpec(input_shape=(256, 256, 1), stem=spec.StemSpec(n_filters=1024))
    assert not spec.problems(greedy)
    out_of_memory = jobs.submit(store, "train", {**tiny_train_config(epochs=1, test_subset=10),
                                                 "spec": greedy.to_dict()}, "forcer")
    following = submit_sleep(store, epochs=1)
    servers.start(memory_limit_bytes=8 << 30)

    refused = wait_for_status(store, over_budget, ["failed", "done"], timeout_s=120)
    assert refused.status == "failed"
    assert refused.error.startswith("ConfigError: parameter count must be at most 10,000,000 (the budget); got ")
    assert refused.traceback.startswith("Traceback (most recent call last):")

    crashed = wait_for_status(store, out_of_memory, ["failed", "done"], timeout_s=120)
    assert crashed.status == "failed"
    # oneDNN crashes on the failed allocation (SIGSEGV); without it
    # TensorFlow raises ResourceExhaustedError "OOM when allocating...".
    assert "\n" not in crashed.error and len(crashed.error) <= 500
    assert "out of memory?" in crashed.error or "OOM when allocating" in crashed.error, crashed.error
    assert crashed.traceback
    assert store.metrics(out_of_memory) == []
    wait_for_status(store, following, "done", timeout_s=20)
    assert snapshot(store, [earlier]) == before


def test_tensorflow_graph_errors_keep_their_reason_in_theone_line_message():
    """TensorFlow leads with a stack; the one line shows the reason instead."""

    class ResourceExhaustedError(Exception):
        pass

    message = (
        "Graph execution error:\n\nDetected at node model/stem_conv/convolution defined at (most recent"
        " call last):\n  File \"<frozen runpy>\", line 198, in _run_module_as_main\n\n  File"
        " \"labcore/worker.py\", line 177, in <module>\n\n"
        "OOM when allocating tensor with shape[64,512,512,1024] and type float on"
        " /job:localhost/replica:0/task:0/device:CPU:0 by allocator cpu\n"
        "\t [[{{node model/stem_conv/convolution}}]]\nHint: If you want to see a list of allocated"
        " tensors when OOM happens, add report_tensor_allocations_upon_oom.\n [Op:__inference_3239]"
    )
    assert one_line(ResourceExhaustedError(message)) == (
        "ResourceExhaustedError: OOM when allocating tensor with shape[64,512,512,1024] and type float"
        " on /job:localhost/replica:0/task:0/device:CPU:0 by allocator cpu"
    )
    assert one_line(ValueError("plain\n  message")) == "ValueError: plain message"


# -- cancel ----------------------------------------------------------------------------


@pytest.mark.tally("faults")
@pytest.mark.parametrize("attempt", range(3))
def test_cancel_of_a_queued_run_and_of_a_running_run(store, supervisors, attempt):
    earlier = finished_run(store)
    before = snapshot(store, [earlier])
    running = submit_sleep(store, epochs=200, seconds_per_epoch=0.1)
    queued = submit_sleep(store, epochs=2)
    following = submit_sleep(store, epochs=2)
    supervisors(cancel_grace_s=5.0).start()
    wait_for(lambda: store.get_run(running).progress > 0, what="the worker to report progress")

    assert jobs.cancel(store, queued, OWNER) == "cancelled"
    asked = time.monotonic()
    assert jobs.cancel(store, running, OWNER) == "running"
    stopped = wait_for_status(store, running, "cancelled", timeout_s=REACTION_S)

    assert time.monotonic() - asked < 2.0, "stopped by itself, before any signal"
    assert stopped.error is None and stopped.progress < 1.0
    never = store.get_run(queued)
    assert never.status == "cancelled" and never.started_at is None
    assert store.metrics(queued) == [] and _log_starts(store, queued) == 0
    wait_for_status(store, following, "done")
    assert store.get_run(queued).status == "cancelled", "a cancelled run never starts"
    assert snapshot(store, [earlier]) == before


@pytest.mark.tally("faults")
@pytest.mark.parametrize("attempt", range(3))
def test_cancel_of_a_worker_that_ignores_it_ends_with_sigterm(store, supervisors, attempt):
    run_id = submit_sleep(store, epochs=200, seconds_per_epoch=0.1, ignore_cancel=True)
    following = submit_sleep(store, epochs=1)
    supervisors(cancel_grace_s=0.3).start()
    wait_for(lambda: store.get_run(run_id).progress > 0, what="the worker to report progress")
    asked = time.monotonic()
    jobs.cancel(store, run_id, OWNER)
    run = wait_for_status(store, run_id, "cancelled", timeout_s=REACTION_S)
    assert time.monotonic() - asked >= 0.3, "the grace period came first"
    assert run.error == "Stopped with SIGTERM after the cancel request."
    wait_for_status(store, following, "done")


@pytest.mark.tally("faults")
@pytest.mark.parametrize("attempt", range(2))
def test_cancel_of_a_frozen_worker_ends_with_sigkill(store, supervisors, attempt):
    """A worker stuck where no signal handler runs (stopped here with SIGSTOP) gets SIGKILL."""
    run_id = submit_sleep(store, epochs=200, seconds_per_epoch=0.1, ignore_cancel=True)
    following = submit_sleep(store, epochs=1)
    supervisors(cancel_grace_s=0.3).start()
    pid = _worker_pid(store, run_id)
    wait_for(lambda: store.get_run(run_id).progress > 0, what="the worker to report progress")
    os.kill(pid, signal.SIGSTOP)
    asked = time.monotonic()
    jobs.cancel(store, run_id, OWNER)
    run = wait_for_status(store, run_id, "cancelled", timeout_s=REACTION_S)
    assert time.monotonic() - asked >= 0.6, "grace, then SIGTERM, then grace again"
    assert run.error == "Stopped after the cancel request; the worker ended with SIGKILL."
    wait_for_status(store, following, "done")


# -- a search study across faults ---------------------------------------------------


@pytest.mark.slow
@pytest.mark.tally("kills")
def test_a_search_study_survives_a_killed_trial_worker_and_a_server_restart(store, servers):
    """The study lives in its journal, the trials in the store: a kill fails one trial, a restart loses none."""
    from labcore.labs.search import study as studies
    from labcore.labs.search.config import PRESETS, Dimension, Member, Space

    # Batches of 2 images make the first trial long enough to be killed inside its epoch.
    space = dataclasses.replace(Space(), batch_size=Dimension("fixed", (2,)))
    journal = store.root / "search" / "trainer.journal"
    study = studies.open_study(journal, "faults", "random", space)
    trials = [jobs.submit(store, "search", dataclasses.replace(PRESETS["tiny"], member=Member(**choice),
                                                              study="faults", trial=number).to_dict(), "trainer")
              for number, choice in studies.round_of(study, space, 2)]
    server = servers.start()
    running = wait_for(lambda: "· batch" in store.get_run(trials[0]).progress_text and store.get_run(trials[0]),
                       timeout_s=120, what="the first trial's first batches")
    os.kill(running.pid, signal.SIGKILL)
    wait_for_status(store, trials[0], "failed", timeout_s=REACTION_S)
    # Not between claiming the next trial and starting its worker: a server
    # killed there leaves a run no worker will ever take (interrupted, by design).
    wait_for(lambda: (run := store.get_run(trials[1])).status == "queued" or run.pid, timeout_s=REACTION_S,
             what="the second trial to be queued or have its worker")
    servers.kill(server)

    # A restarted server (and page) opens the study again and finds where it was.
    again = studies.open_study(journal, "faults", "random", space)
    assert studies.sync(again, [store.get_run(run_id) for run_id in trials]) == 1
    servers.start()
    done = wait_for_status(store, trials[1], "done", timeout_s=120)
    assert studies.sync(again, [store.get_run(run_id) for run_id in trials]) == 1
    states = {row["trial"]: (row["state"], row["accuracy"]) for row in studies.trial_rows(again)}
    assert states == {0: ("fail", None), 1: ("complete", done.result["best_val_accuracy"])}
    # The next round carries on: new numbers, round 2.
    assert [number for number, _ in studies.round_of(again, space, 1)] == [2]
    assert studies.trial_rows(again)[-1]["round"] == 2
