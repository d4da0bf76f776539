"""Fixtures of the app tests (helpers are in apptest.py)."""

import pytest


@pytest.fixture
def store():
    from ui import state

    return state.get_store()
