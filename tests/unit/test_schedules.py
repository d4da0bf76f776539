"""Learning-rate schedules hit known values at known epochs, without compounding."""

import doctest
import json
import math
import random

import pytest

from labcore import schedules
from labcore.errors import ConfigError
from labcore.schedules import ScheduleSpec, lr_at, lr_curve

BASE = 1e-3


def test_constant_schedule_keeps_the_base_rate():
    assert lr_curve(BASE, ScheduleSpec(), 4) == [BASE] * 4


def test_warmup_starts_at_warmup_start_and_reaches_the_base_rate():
    schedule = ScheduleSpec(warmup_epochs=5, warmup_start=1e-6)
    curve = lr_curve(BASE, schedule, 8)
    assert curve[0] == 1e-6
    assert curve[5] == pytest.approx(BASE, rel=1e-12)
    # Linear: equal steps of (base - start) / warmup_epochs.
    steps = [later - earlier for earlier, later in zip(curve[:5], curve[1:6])]
    assert steps == pytest.approx([(BASE - 1e-6) / 5] * 5, rel=1e-9)
    assert curve[6:] == [BASE, BASE]


def test_warmup_ends_higher_than_the_original_which_stops_at_four_fifths():
    ours = lr_curve(BASE, ScheduleSpec(warmup_epochs=5), 6)
    original = schedules.original_warmup_curve(5, 1e-6, BASE)
    assert original[-1] == pytest.approx(0.8 * BASE, rel=1e-2)
    assert ours[4] > original[-1]
    assert ours[5] == pytest.approx(BASE)


def test_original_warmup_curve_matches_the_lab_values():
    expected = [1e-6, 1.998e-4, 3.996e-4, 5.994e-4, 7.992e-4]
    assert schedules.original_warmup_curve() == pytest.approx(expected, rel=1e-9)


def test_step_schedule_drops_by_factor_at_each_boundary():
    schedule = ScheduleSpec(kind="step", step_every=3, factor=0.5)
    curve = lr_curve(BASE, schedule, 7)
    assert curve == pytest.approx([BASE] * 3 + [BASE / 2] * 3 + [BASE / 4])


def test_step_schedule_counts_boundaries_from_the_end_of_warmup():
    schedule = ScheduleSpec(kind="step", warmup_epochs=2, step_every=3, factor=0.1)
    curve = lr_curve(BASE, schedule, 8)
    assert curve[2:5] == pytest.approx([BASE] * 3)
    assert curve[5] == pytest.approx(BASE * 0.1)


def test_exponential_and_time_decay_values():
    exponential = ScheduleSpec(kind="exponential", decay=0.2)
    time_based = ScheduleSpec(kind="time", decay=0.5)
    assert lr_at(0, BASE, exponential, 10) == BASE
    assert lr_at(5, BASE, exponential, 10) == pytest.approx(BASE * math.exp(-1.0))
    assert lr_at(0, BASE, time_based, 10) == BASE
    assert lr_at(4, BASE, time_based, 10) == pytest.approx(BASE / 3)


def test_cosine_starts_at_base_halves_at_midpoint_and_ends_above_the_floor():
    schedule = ScheduleSpec(kind="cosine", min_lr=1e-5)
    curve = lr_curve(BASE, schedule, 10)
    assert curve[0] == BASE
    assert curve[5] == pytest.approx((BASE + 1e-5) / 2)
    # T = epochs: the last trained epoch still learns, the floor is one past.
    expected_last = 1e-5 + (BASE - 1e-5) * 0.5 * (1 + math.cos(math.pi * 9 / 10))
    assert curve[9] == pytest.approx(expected_last)
    assert curve[9] > 1e-5
    assert lr_at(10, BASE, schedule, 10) == 1e-5
    assert lr_at(50, BASE, schedule, 10) == 1e-5
    assert all(later < earlier for earlier, later in zip(curve, curve[1:]))


def test_cosine_after_warmup_spans_the_remaining_epochs():
    schedule = ScheduleSpec(kind="cosine", warmup_epochs=4, warmup_start=0.0)
    curve = lr_curve(BASE, schedule, 12)
    assert curve[0] == 0.0
    assert curve[4] == pytest.approx(BASE)
    assert curve[8] == pytest.approx(BASE / 2)
    assert min(curve[4:]) > 0.0


def test_cosine_never_goes_below_min_lr():
    schedule = ScheduleSpec(kind="cosine", min_lr=2e-4)
    assert min(lr_curve(BASE, schedule, 30)) >= 2e-4


def test_lr_at_does_not_depend_on_earlier_calls_or_their_order():
    schedule = ScheduleSpec(kind="cosine", warmup_epochs=3)
    in_order = lr_curve(BASE, schedule, 20)
    epochs = list(range(20))
    random.Random(0).shuffle(epochs)
    shuffled = {epoch: lr_at(epoch, BASE, schedule, 20) for epoch in epochs}
    assert [shuffled[epoch] for epoch in range(20)] == in_order
    assert lr_curve(BASE, schedule, 20) == in_order


def test_our_cosine_does_not_compound_like_the_original():
    ours = lr_curve(BASE, ScheduleSpec(kind="cosine"), 20)
    original = schedules.original_cosine_curve(BASE, 20)
    assert ours[10] == pytest.approx(BASE / 2)
    # The original multiplies every earlier epoch's cosine factor in.
    running_product = BASE
    for epoch in range(1, 20):
        running_product *= ours[epoch] / BASE
        assert original[epoch] == pytest.approx(running_product, rel=1e-9)
    assert original[10] < 0.2 * ours[10]


@pytest.mark.parametrize(
    ("epoch", "expected"),
    [(5, 7.1e-4), (10, 7.7e-5), (12, 1.1e-5), (14, 6.3e-7), (19, 7e-14)],
)
def test_original_cosine_curve_reproduces_the_labs_compounding(epoch, expected):
    curve = schedules.original_cosine_curve(BASE, 20)
    assert curve[0] == BASE
    assert curve[epoch] == pytest.approx(expected, rel=0.05)


def test_schedule_round_trips_through_json():
    schedule = ScheduleSpec(kind="step", warmup_epochs=2, step_every=4, factor=0.3)
    assert ScheduleSpec.from_dict(json.loads(json.dumps(schedule.to_dict()))) == schedule


def test_schedule_from_dict_names_an_unknown_key_and_the_allowed_ones():
    message = r"train.schedule has an unknown key 'warmup'.*warmup_epochs"
    with pytest.raises(ConfigError, match=message):
        ScheduleSpec.from_dict({"warmup": 3})


def test_schedule_from_dict_refuses_a_non_dict():
    with pytest.raises(ConfigError, match=r"train.schedule must be a dict; got 'cosine'."):
        ScheduleSpec.from_dict("cosine")


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("kind", "linear", "train.schedule.kind must be one of 'constant', 'step', "),
        ("warmup_epochs", -1, "train.schedule.warmup_epochs must be an int in [0, 100]; got -1."),
        ("warmup_epochs", 2.0, "train.schedule.warmup_epochs must be an int in [0, 100]; got 2.0."),
        ("step_every", 0, "train.schedule.step_every must be an int in [1, 500]; got 0."),
        ("factor", 0.0, "train.schedule.factor must be a float in (0, 1]; got 0.0."),
        ("decay", math.nan, "train.schedule.decay must be a float in [0, 10]; got nan."),
        ("min_lr", -1e-4, "train.schedule.min_lr must be a float in [0, 10]; got -0.0001."),
        ("warmup_start", True, "train.schedule.warmup_start must be a float in [0, 10]; got True."),
    ],
)
def test_schedule_problems_name_field_range_and_value(field, value, message):
    found = schedules.problems(ScheduleSpec(**{field: value}))
    assert len(found) == 1
    assert found[0].startswith(message)


def test_default_schedule_has_no_problems():
    assert schedules.problems(ScheduleSpec()) == []


def test_docstring_examples_run():
    assert doctest.testmod(schedules).failed == 0
