"""AppTest helpers shared by the app tests: open a page of the real app.py, read its problems, wait.

A module of its own (not conftest.py) so that `from apptest import ...` never
resolves to another folder's conftest.
"""

import pathlib
import time

from streamlit.testing.v1 import AppTest

from tests.support import signed

APP = str(pathlib.Path(__file__).resolve().parents[2] / "app.py")

# Page scripts are fast, but the first run imports pandas/altair and starts
# the supervisor; 3 s (AppTest's default) is too tight on a loaded 2-core CI.
TIMEOUT_S = 60


def open_page(page=None, owner="test-owner"):
    """Run app.py (the default page) and, if given, switch to `page`."""
    at = AppTest.from_file(APP, default_timeout=TIMEOUT_S)
    at.query_params["owner"] = signed(owner)
    at.run()
    if page:
        at.switch_page(page).run()
    return at


def problems_on(at):
    """Exceptions and error boxes on the page, as text."""
    return [e.value for e in at.exception] + [e.value for e in at.error]


def wait_for(at, condition, timeout_s=180, interval_s=1.0):
    """Rerun the page until `condition(at)` holds (AppTest never fires run_every)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        at.run()
        if condition(at):
            return at
        time.sleep(interval_s)
    raise AssertionError(f"condition not met within {timeout_s} s; page problems: {problems_on(at)}")
