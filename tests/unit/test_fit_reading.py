"""A fit's one-sentence reading follows its numbers: not learned, lagging, overfits, underfits, generalises."""

import pytest

from labcore.fit_reading import reading


@pytest.mark.parametrize("train, validation, starts", [
    ([0.12, 0.11], [0.10, 0.12], "Validation 11.0 ± 1.4% is near chance (10%)"),
    ([0.73], [0.43], "Validation 43.0% (one seed) is 30.0 points below train 73.0% (one seed), which is itself low"),
    ([0.99, 0.98, 0.99], [0.80, 0.81, 0.79], "Overfits: train 98.7 ± 0.6% is 18.7 ± 0.9 points above"),
    ([0.80, 0.82], [0.79, 0.80], "Underfits: train 81.0 ± 1.4%"),
    ([0.95, 0.96, 0.94], [0.93, 0.945, 0.925], "Generalises: train 95.0 ± 1.0% and validation 93.3 ± 1.0%"),
])
def test_the_reading_names_what_the_numbers_show(train, validation, starts):
    assert reading(train, validation, 10).startswith(starts)


def test_a_gap_within_the_seed_noise_is_not_called_overfitting():
    # +6 points on average, but the seeds disagree on its sign.
    said = reading([0.99, 0.90, 0.99], [0.91, 0.95, 0.84], 10)
    assert said.startswith("Generalises") and "run more seeds" not in said


def test_one_seed_says_so_and_nothing_is_read_from_nothing():
    assert reading([0.99], [0.80], 10).endswith("run more seeds to be sure.")
    assert reading([], [], 10) == ""
