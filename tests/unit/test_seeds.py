"""Readings over seeds: spreads, and differences judged against the noise."""

import pytest

from labcore import seeds


def test_spread_is_the_sample_sd_and_says_when_there_is_one_seed():
    three = seeds.spread([0.70, 0.80, 0.90])
    assert (three.mean, three.sd, three.n, three.lo, three.hi) == pytest.approx((0.8, 0.1, 3, 0.7, 0.9))
    assert three.text() == "80.0 ± 10.0%"
    assert seeds.spread([0.5]).text() == "50.0% (one seed)"
    assert seeds.spread([None, 0.5]).n == 1
    assert seeds.spread([]) is None


def test_a_gap_larger_than_its_noise_is_called_so_and_a_small_one_is_not():
    clear = seeds.difference([0.75, 0.76, 0.77], [0.80, 0.81, 0.82])
    assert clear.beyond_noise is True and clear.text() == "+5.0 ± 0.8 points: beyond noise"
    noisy = seeds.difference([0.75, 0.79, 0.77], [0.76, 0.80, 0.78])
    assert noisy.beyond_noise is False and noisy.verdict == "within noise"
    worse = seeds.difference([0.80, 0.81, 0.82], [0.75, 0.76, 0.77])
    assert worse.beyond_noise is True and worse.text().startswith("-5.0 ± 0.8 points")


def test_three_seeds_use_students_t_not_two_standard_errors():
    # delta = 2.5 se: beyond 2 se, but not beyond t(4 df) = 2.776 se.
    a = [0.0, 1.0, 2.0]
    se_one_side = 1.0 / 3 ** 0.5
    shift = 2.5 * se_one_side * 2 ** 0.5
    result = seeds.difference(a, [value + shift for value in a])
    assert result.delta == pytest.approx(shift) and result.beyond_noise is False
    assert seeds.t_critical(4) == 2.776 and seeds.t_critical(1000) == 1.96


def test_readings_keyed_by_seed_are_compared_seed_by_seed():
    # Seeds differ a lot from each other; the step adds 1 point to each of them.
    control = {0: 0.74, 1: 0.78, 2: 0.82}
    step = {0: 0.75, 1: 0.792, 2: 0.828}
    paired = seeds.difference(control, step)
    assert paired.paired and paired.n == (3, 3) and paired.beyond_noise is True
    assert paired.delta == pytest.approx(0.01)
    assert paired.se == pytest.approx(seeds.spread([0.01, 0.012, 0.008]).sd / 3 ** 0.5)
    # The same readings as independent samples: the seeds' spread drowns it.
    welch = seeds.difference(list(control.values()), list(step.values()))
    assert not welch.paired and welch.beyond_noise is False


def test_pairing_uses_shared_seeds_and_falls_back_to_welch_below_two():
    shared = seeds.difference({0: 0.70, 1: 0.72, 2: None, 5: 0.9}, {0: 0.71, 1: 0.735, 3: 0.6})
    assert shared.paired and shared.n == (2, 2) and shared.delta == pytest.approx(0.0125)
    one_shared = seeds.difference({0: 0.70, 1: 0.72}, {1: 0.74, 3: 0.76})
    assert not one_shared.paired and one_shared.n == (2, 2)
    assert one_shared.delta == pytest.approx(0.04)


def test_one_reading_on_a_side_cannot_be_judged():
    result = seeds.difference([0.7], [0.9, 0.91])
    assert result.beyond_noise is None and result.text() == "+20.5 points: one seed: cannot tell"
    assert seeds.difference([], [0.9]) is None


def test_configs_group_by_everything_but_the_seed():
    runs = [
        ("a0", {"step": "noise", "seed": 0, "epochs": 6}),
        ("b0", {"step": "baseline", "seed": 0, "epochs": 6}),
        ("a1", {"seed": 1, "epochs": 6, "step": "noise"}),
        ("c1", {"step": "noise", "seed": 1, "epochs": 7}),
    ]
    assert seeds.group_by_seed(runs) == [["a0", "a1"], ["b0"], ["c1"]]
    nested = [("x", {"train": {"seed": 0, "epochs": 2}}), ("y", {"train": {"seed": 5, "epochs": 2}})]
    assert seeds.group_by_seed(nested, seed_key="train.seed") == [["x", "y"]]
