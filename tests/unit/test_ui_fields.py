"""Validation messages in the fields' words: groups counted from 1, as the Builder's fields count them."""

import doctest

import ui.fields
from ui.fields import readable


def test_groups_are_counted_from_one_and_other_paths_are_left_alone():
    assert readable("learner.groups[2].n_blocks must be an int in [1, 16]; got 0.") == (
        "group 3: n_blocks must be an int in [1, 16]; got 0.")
    assert readable("stem.n_filters must be an int in [1, 1024]; got 0.") == (
        "stem.n_filters must be an int in [1, 1024]; got 0.")


def test_docstring_examples_hold():
    result = doctest.testmod(ui.fields)
    assert result.attempted > 0 and result.failed == 0
