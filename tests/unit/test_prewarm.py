"""The pre-warmed spare worker: it takes the next run, then a new spare replaces it."""

import functools
import os
import time

import pytest

from labcore import jobs
from labcore.processes import pid_alive
from labcore.store import Store
from labcore.supervisor import Supervisor
from tests.support import wait_for

# A spare imports Keras before it is ready: seconds, far more on a loaded machine.
_wait = functools.partial(wait_for, timeout_s=60.0)


@pytest.fixture
def supervisor(tmp_path):
    sup = Supervisor(Store(tmp_path / "runs.db"), poll_s=0.05, prewarm=True).start()
    yield sup
    sup.stop()


def _spare_ready(sup):
    # The spare prints this once its imports are done.
    log = sup.store.root / "logs" / "spare.log"
    return log.is_file() and log.read_text().count("spare ready")


def test_spare_worker_runs_the_next_run_and_is_replaced(supervisor):
    first_spare = _wait(lambda: supervisor.state().spare_pid)
    _wait(lambda: _spare_ready(supervisor) >= 1)
    run_id = jobs.submit(supervisor.store, "sleep", {"epochs": 2, "seconds_per_epoch": 0.05}, owner="me")

    _wait(lambda: supervisor.store.get_run(run_id).status == "done")
    run = supervisor.store.get_run(run_id)
    assert run.pid == first_spare
    assert [m.epoch for m in supervisor.store.metrics(run_id)] == [1, 2]
    # The run's own log holds the worker's output after the hand-off.
    assert f"run {run_id}" in supervisor.store.log_path(run_id).read_text()

    second_spare = _wait(lambda: supervisor.state().spare_pid)
    assert second_spare != first_spare


def test_no_spare_is_started_while_a_run_trains(supervisor):
    _wait(lambda: supervisor.state().spare_pid)
    run_id = jobs.submit(supervisor.store, "sleep", {"epochs": 20, "seconds_per_epoch": 0.05}, owner="me")
    _wait(lambda: supervisor.store.get_run(run_id).status == "running")
    time.sleep(0.3)
    assert supervisor.state().spare_pid is None
    _wait(lambda: supervisor.store.get_run(run_id).status == "done")


def test_stopping_the_supervisor_ends_the_spare(supervisor):
    spare = _wait(lambda: supervisor.state().spare_pid)
    supervisor.stop()
    _wait(lambda: not pid_alive(spare), timeout_s=10)
    with pytest.raises(ProcessLookupError):
        os.kill(spare, 0)
