"""How the Runs page words a run's status: a cancel shows at once, before the worker has stopped."""

import doctest

import ui.runs


def test_docstring_examples_hold():
    result = doctest.testmod(ui.runs)
    assert result.attempted > 0 and result.failed == 0
