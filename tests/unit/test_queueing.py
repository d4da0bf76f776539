"""labcore.queueing: the fair order of a shared queue, and when each waiting run should start and finish."""

import dataclasses

import pytest

from labcore.queueing import Estimate, Timings, Waiting, fair_order, forecast


@dataclasses.dataclass
class FakeRun:
    """The fields of `labcore.store.Run` the forecast reads."""

    id: int
    owner: str = "ann"
    kind: str = "regularization"
    title: str = "baseline"
    config: dict = dataclasses.field(default_factory=lambda: {"step": "baseline", "seed": 0})
    started_at: float | None = None
    finished_at: float | None = None
    progress: float = 0.0
    urgent: bool = False


def test_owners_take_turns_never_served_first_then_least_recently_served():
    waiting = [Waiting(1, "ann"), Waiting(2, "ann"), Waiting(3, "ann"), Waiting(4, "bob"), Waiting(5, "cat")]
    assert fair_order(waiting, {}) == [1, 4, 5, 2, 3]
    assert fair_order(waiting, {"ann": 50.0, "bob": 10.0}) == [5, 4, 1, 2, 3]


def test_urgent_runs_go_first_oldest_first_and_the_rest_keep_their_turns():
    waiting = [Waiting(1, "ann"), Waiting(2, "bob"), Waiting(3, "cat", urgent=True), Waiting(4, "ann", urgent=True)]
    assert fair_order(waiting, {}) == [3, 4, 1, 2]


def test_timings_prefer_the_same_config_then_the_same_step_then_the_kind():
    done = [FakeRun(1, config={"step": "baseline", "seed": 1}, started_at=0.0, finished_at=60.0),
            FakeRun(2, config={"step": "baseline", "seed": 2, "epochs": 9}, started_at=0.0, finished_at=200.0),
            FakeRun(3, title="dropout", config={"step": "dropout"}, started_at=0.0, finished_at=90.0)]
    timings = Timings(done)
    assert timings.typical(FakeRun(10, config={"step": "baseline", "seed": 7})) == 60.0
    assert timings.typical(FakeRun(11, config={"step": "baseline", "epochs": 3})) == 130.0
    assert timings.typical(FakeRun(12, title="noise", config={"step": "noise"})) == 90.0
    assert timings.typical(FakeRun(13, kind="train")) is None


def test_forecast_fills_the_slots_in_fair_order_from_measured_times():
    done = [FakeRun(1, started_at=0.0, finished_at=60.0)]
    # Running for 30 s and half way: 30 s left, whatever similar runs took.
    running = [FakeRun(2, started_at=970.0, progress=0.5)]
    queued = [FakeRun(3, owner="ann"), FakeRun(4, owner="ann"), FakeRun(5, owner="bob")]
    one = forecast(queued, running, done, {"ann": 970.0}, slots=1, now=1000.0)
    assert one == {5: Estimate(1, 1030.0, 1090.0), 3: Estimate(2, 1090.0, 1150.0), 4: Estimate(3, 1150.0, 1210.0)}
    two = forecast(queued, running, done, {"ann": 970.0}, slots=2, now=1000.0)
    assert [two[run_id].start_at for run_id in (5, 3, 4)] == [1000.0, 1030.0, 1060.0]


def test_forecast_gives_positions_but_no_times_when_nothing_similar_has_finished():
    estimates = forecast([FakeRun(1), FakeRun(2, owner="bob")], [], [], {}, slots=1, now=5.0)
    assert estimates[1] == Estimate(1, 5.0, None)
    assert estimates[2] == Estimate(2, None, None)


@pytest.mark.parametrize("progress, typical, left", [(0.0, 100.0, 70.0), (0.6, 100.0, 20.0), (0.0, None, None)])
def test_a_running_run_frees_its_slot_by_its_progress_or_else_by_similar_runs(progress, typical, left):
    done = [] if typical is None else [FakeRun(1, started_at=0.0, finished_at=typical)]
    running = [FakeRun(2, started_at=970.0, progress=progress)]
    (estimate,) = forecast([FakeRun(3)], running, done, {}, slots=1, now=1000.0).values()
    assert estimate.start_at == (None if left is None else 1000.0 + left)
