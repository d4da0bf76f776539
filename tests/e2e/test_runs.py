"""The Runs page in a real browser: select two finished runs to compare; cancel a running one.

The runs are `sleep` jobs queued through `labcore.jobs.submit` on the
server's store, the same call the pages make: they report per-epoch loss and
accuracy like training does, in a fraction of a second, so these tests pay
for no Keras training (the Model Builder tests do that). They go through the
server's own supervisor and workers.
"""

import time

import pytest

from tests.support import submit_sleep, wait_for_status

from .conftest import MAIN, expect, open_page, page_url, report, screenshot, wait_rerun

GRID = f"{MAIN} [data-testid='stDataFrame']"
# Glide data grid geometry (Streamlit 1.67 defaults): a 35 px header and
# 35 px rows; the row-selection checkboxes fill a narrow first column.
ROW_HEIGHT = 35
CHECKBOX_X = 18

COMPARER = "e2e-compare"


def _select_rows(page, run_ids):
    """Tick the selection boxes of the rows showing these run ids; check they are selected.

    The grid is drawn on a canvas; its accessible twin (a table kept in the
    DOM) gives each row's id and its selected state, and the boxes are
    clicked at their place on the canvas.
    """
    grid = page.locator(GRID)
    for run_id in run_ids:
        ids = grid.locator("tbody tr td[aria-colindex='1']").all_inner_texts()
        row = ids.index(str(run_id))
        grid.click(position={"x": CHECKBOX_X, "y": ROW_HEIGHT * (row + 1) + ROW_HEIGHT // 2})
        wait_rerun(page)
        expect(grid.locator(f"tbody tr[aria-rowindex='{row + 2}']")).to_have_attribute("aria-selected", "true")


def _status_cell(page, run_id):
    """The status column (4th) of the row with this run id, in the grid's accessible table."""
    return page.locator(GRID).locator("tbody tr", has=page.locator(
        f"td[aria-colindex='1']:text-is('{run_id}')")).locator("td[aria-colindex='4']")


@pytest.fixture(scope="module")
def runs(browser, server, store):
    """Two short runs of one browser's owner and a long one of another, to cancel.

    The server's supervisor starts with the first session a browser opens,
    so when no other test has opened a page yet, the Runs page is opened
    first. Queued at once, the short runs go back to back in fresh workers
    that need not import Keras, instead of each waiting for the next
    pre-warmed spare.
    """
    context = browser.new_context()
    try:
        open_page(context.new_page(), page_url(server, "runs", COMPARER))
    finally:
        context.close()
    short = [submit_sleep(store, COMPARER, epochs=3), submit_sleep(store, COMPARER, epochs=4)]
    # Owners take turns: queued now, the long run would go between the two
    # short ones. Each takes well under a second once a worker has it, but
    # the worker may first have to import Keras (a pre-warmed spare still
    # starting), or wait for a run of another test: 90 s.
    for run_id in short:
        wait_for_status(store, run_id, ("done",), timeout_s=90)
    return {"short": short,
            "long": submit_sleep(store, "e2e-cancel", epochs=600, seconds_per_epoch=0.5)}  # 5 min unless cancelled


def test_two_finished_runs_compare_on_one_chart(page, server, store, runs):
    """Select two finished runs of one's own: one chart per metric shows both."""
    first, second = runs["short"]
    open_page(page, page_url(server, "runs", COMPARER), known=GRID)
    owners = page.locator(GRID).locator("tbody tr", has=page.locator(
        f"td[aria-colindex='1']:text-is('{first}')")).locator("td[aria-colindex='8']")
    expect(owners).to_have_text("you")
    _select_rows(page, [first, second])

    expect(page.get_by_role("heading", name="Curves")).to_be_visible()
    charts = page.locator(f"{MAIN} [data-testid='stVegaLiteChart']")
    expect(charts).to_have_count(2)
    for chart, metric in zip(charts.all(), ("accuracy", "loss")):
        text = chart.inner_text()
        assert metric in text and f"#{first} " in text and f"#{second} " in text, text
    expect(page.get_by_role("button", name="Delete (2)")).to_be_enabled()
    expect(page.get_by_role("button", name="Cancel (0)")).to_be_disabled()
    screenshot(page, "runs-compare")


def test_cancel_a_running_run(page, server, store, runs):
    """Select a running run and press Cancel: it is cancelled within seconds, on the page too."""
    owner, run_id = "e2e-cancel", runs["long"]
    # It starts after the two short runs; 90 s as above.
    wait_for_status(store, run_id, ("running",), timeout_s=90)

    open_page(page, page_url(server, "runs", owner), known=GRID)
    expect(_status_cell(page, run_id)).to_contain_text("running")
    _select_rows(page, [run_id])
    cancel = page.get_by_role("button", name="Cancel (1)")
    expect(cancel).to_be_enabled()
    clicked = time.monotonic()
    cancel.click()
    # The sleep job looks at the cancel flag every 0.05 s (the reporter reads
    # the store at most every 0.2 s); 15 s covers a loaded machine, and the
    # supervisor's SIGTERM after its grace period.
    run = wait_for_status(store, run_id, ("cancelled",), timeout_s=15)
    report(f"Runs page: Cancel -> run cancelled in the store after {time.monotonic() - clicked:.1f} s")
    expect(page.locator('[data-testid="stAlertContentWarning"]')).to_contain_text(
        f"Run #{run_id} was cancelled", timeout=15_000)
    expect(_status_cell(page, run_id)).to_have_text("cancelled")
    assert run.finished_at is not None
    screenshot(page, "runs-cancelled")
