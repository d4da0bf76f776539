"""The Ray executor on a cluster simulated on this host (`ray.cluster_utils.Cluster`, two worker
nodes of one CPU each): runs report live through their channel into a real SQLite store, two run
at once on two nodes, cancel (cooperative, then forced), a crashed worker and a removed node fail
their run with the reason while the queue goes on, and a real tiny training run gives the local
executor's result.

Fast runs are the Keras-free `sleep` kind; one Builder run trains for real."""

import os
import signal
import subprocess
import sys

import pytest

ray = pytest.importorskip("ray", reason="requirements-ray.txt (in the dev requirements) installs Ray")

from ray.cluster_utils import Cluster  # noqa: E402

from labcore import executors, jobs, ray_executor  # noqa: E402
from labcore.store import Store  # noqa: E402
from tests.support import OWNER, ROOT, submit_sleep, wait_for, wait_for_status  # noqa: E402
from tests.unit.test_export import TINY_TRAIN  # noqa: E402
from tests.support import tiny_cli_run  # noqa: E402

# Starting a Ray worker process is slower than a local one: allow for a loaded 2-core machine.
RUN_S = 90


@pytest.fixture(scope="module")
def cluster():
    # The head takes no runs (0 CPUs): it holds the channels; two one-CPU nodes take the runs.
    simulated = Cluster(initialize_head=True, head_node_args={"num_cpus": 0})
    for _ in range(2):
        simulated.add_node(num_cpus=1)
    simulated.wait_for_nodes()
    ray_executor.connect(simulated.address)
    yield simulated
    ray.shutdown()
    simulated.shutdown()


@pytest.fixture
def store(tmp_path):
    return Store(tmp_path / "labcore.db")


@pytest.fixture
def supervisor(cluster, store):
    # No slots given: as many runs at once as the cluster has CPUs for.
    running = ray_executor.RaySupervisor(store, poll_s=0.1, cancel_grace_s=1.0).start()
    yield running
    running.stop()


def worker_nodes(cluster):
    return {node.node_id: node for node in cluster.worker_nodes}


def test_two_runs_go_to_two_nodes_at_once_and_report_live_into_the_store(cluster, store, supervisor):
    first, second = (submit_sleep(store, epochs=4, seconds_per_epoch=0.5) for _ in range(2))
    # Both running together: each node has one CPU and each run asks for one.
    wait_for(lambda: all("ray_node" in (store.get_run(i).result or {}) for i in (first, second)), RUN_S,
             "both runs to start on a node")
    nodes = {store.get_run(i).result["ray_node"] for i in (first, second)}
    assert nodes == set(worker_nodes(cluster)) and supervisor.slots == 2
    # What the sidebar shows: the head and two nodes, both CPUs taken.
    assert supervisor.cluster() == {"nodes": 3, "cpus": 2.0, "free_cpus": 0.0, "gpus": 0.0, "free_gpus": 0.0}
    assert store.get_run(first).progress < 1.0
    for run_id in (first, second):
        run = wait_for_status(store, run_id, "done", RUN_S)
        assert run.result["final_loss"] == 0.25 and run.progress == 1.0
        assert [row.epoch for row in store.metrics(run_id)] == [1, 2, 3, 4]


def test_a_cancelled_run_stops_itself_or_is_forced_within_seconds(store, supervisor):
    polite = submit_sleep(store, epochs=1000, seconds_per_epoch=0.2)
    stuck = submit_sleep(store, epochs=1000, seconds_per_epoch=0.2, ignore_cancel=True)
    for run_id in (polite, stuck):
        wait_for(lambda: store.metrics(run_id), RUN_S, f"run {run_id}'s first epoch")
        jobs.cancel(store, run_id, owner=OWNER)
    assert wait_for_status(store, polite, "cancelled", 10).error is None
    # It never reads the flag: forced after the grace period.
    assert "Force-cancelled on Ray" in wait_for_status(store, stuck, "cancelled", 15).error


def test_a_crashed_worker_fails_its_run_with_the_reason_and_the_queue_goes_on(store, supervisor):
    crashed = submit_sleep(store, crash_at_epoch=2)
    failed = wait_for_status(store, crashed, "failed", RUN_S)
    assert "The Ray task ended without finishing the run" in failed.error
    broken = submit_sleep(store, fail_at_epoch=1)
    assert wait_for_status(store, broken, "failed", RUN_S).error == (
        "RuntimeError: the sleep job failed on purpose at epoch 1")
    assert wait_for_status(store, submit_sleep(store), "done", RUN_S).result["epochs"] == 3


def test_a_node_that_dies_mid_run_fails_the_run_and_the_other_node_takes_the_next(cluster, store, supervisor):
    doomed = submit_sleep(store, epochs=1000, seconds_per_epoch=0.2)
    node_id = wait_for(lambda: (store.get_run(doomed).result or {}).get("ray_node"), RUN_S, "the run's node")
    wait_for(lambda: store.metrics(doomed), RUN_S, "its first epoch")
    cluster.remove_node(worker_nodes(cluster)[node_id])
    try:
        failed = wait_for_status(store, doomed, "failed", 60)
        assert "The Ray task ended without finishing the run" in failed.error
        after = wait_for_status(store, submit_sleep(store), "done", RUN_S)
        assert after.result["ray_node"] != node_id
    finally:
        cluster.add_node(num_cpus=1)
        cluster.wait_for_nodes()


_SERVER = """
import sys, time
from labcore import ray_executor
from labcore.store import Store
ray_executor.RaySupervisor(Store(sys.argv[2]), address=sys.argv[1], poll_s=0.1).start()
time.sleep(600)
"""


def test_a_server_killed_mid_run_leaves_it_interrupted_and_its_task_stopped(cluster, store, supervisor):
    # Another server process on the same store and cluster takes the run, then dies.
    supervisor.stop()
    server = subprocess.Popen([sys.executable, "-c", _SERVER, cluster.address, str(store.path)], cwd=ROOT,
                              env={**os.environ, "PYTHONPATH": str(ROOT)})
    try:
        run_id = submit_sleep(store, epochs=1000, seconds_per_epoch=0.2)
        wait_for(lambda: store.metrics(run_id), RUN_S, "the run's first epoch on the other server")
        assert store.get_run(run_id).pid == server.pid
    finally:
        server.send_signal(signal.SIGKILL)
        server.wait(30)
    # This server's supervisor finds the run with no one to report it.
    supervisor.start()
    interrupted = wait_for_status(store, run_id, "interrupted", 30)
    assert f"(pid {server.pid}) is gone" in interrupted.error
    # Ray ended the dead server's task with it: both CPUs are free again.
    wait_for(lambda: supervisor.cluster()["free_cpus"] == 2.0, 30, "the task's CPU to come back")


def test_a_script_runs_one_run_on_ray_to_its_end_and_leaves_the_queue_alone(cluster, store, monkeypatch):
    # What the CLI, prebake and the search driver call (`executors.run_to_end`), with LABCORE_EXECUTOR=ray.
    monkeypatch.setenv("LABCORE_EXECUTOR", "ray")
    waiting = submit_sleep(store)
    mine = submit_sleep(store, epochs=2)
    run = executors.run_to_end(store, mine, timeout_s=RUN_S)
    assert run.status == "done" and run.result["ray_node"] in worker_nodes(cluster)
    assert [row.epoch for row in store.metrics(mine)] == [1, 2]
    assert store.get_run(waiting).status == "queued"


def test_a_task_reads_an_earlier_runs_weights_from_the_servers_store(store, supervisor):
    # A distillation step taught by a stored Ensemble run: the task has no store and no shared disk.
    import dataclasses

    from labcore.labs.distillation.config import PRESETS
    from tests.unit.test_distillation_teachers import ensemble_run

    ensemble_id, members = ensemble_run(store)
    config = dataclasses.replace(PRESETS["tiny"], step="distil", teacher="ensemble", teacher_run=ensemble_id)
    run = wait_for_status(store, jobs.submit(store, "distillation", config.to_dict(), owner=OWNER), "done", 240)
    teacher = run.result["teacher"]
    assert (teacher["from_run"], teacher["members"]) == (ensemble_id, 2)
    assert teacher["params"] == sum(member.count_params() for member in members)


def test_a_real_training_run_gives_the_local_executors_result_with_its_curves_and_model(store, supervisor):
    local = tiny_cli_run(*TINY_TRAIN)
    run_id = store.create_run("train", local.config, owner=OWNER)
    run = wait_for_status(store, run_id, "done", 240)
    for key in ("test_accuracy", "test_loss", "params", "epochs_run"):
        assert run.result[key] == pytest.approx(local.result[key], abs=1e-6), key
    assert {row.series for row in store.metrics(run_id)} == {row.series for row in Store().metrics(local.id)}
    assert store.artifact_path(run_id, "model.keras").stat().st_size > 0
