"""The Guided search lab in a real browser: a round, a narrowing, a second round, then guided against blind.

Every trial is a real run trained by the server's workers, at the tiny
preset (300 images, one epoch), one trial a round, so the whole story
takes about a minute.
"""

import time

from .conftest import (MAIN, PlaywrightTimeout, expect, open_page, page_url, problems, report, screenshot, set_number,
                       wait_idle, wait_rerun)

# Rounds of two tiny trials; each waits in the queue for a worker (the
# spare is warm) and trains in seconds, far longer on a loaded CI machine.
ROUND_TIMEOUT_MS = 180_000


def _radio(page, label, option):
    page.locator('[data-testid="stRadio"]').filter(has_text=label).get_by_text(option, exact=True).click()
    wait_rerun(page)


def _text(page, label, value):
    box = page.get_by_role("textbox", name=label, exact=True)
    box.fill(value)
    box.press("Enter")
    wait_rerun(page)


def _select(page, label, option):
    """Choose a selectbox option; the page reruns as trials end, which can close an open list, so retry."""
    box = page.get_by_role("combobox", name=label)
    for _ in range(5):
        wait_idle(page)
        box.click()
        choice = page.get_by_role("option", name=option, exact=True)
        try:
            choice.click(timeout=5_000)
            break
        except PlaywrightTimeout:
            page.keyboard.press("Escape")
    wait_rerun(page)


def test_two_rounds_with_a_narrowing_then_guided_against_blind(page, server, store):
    owner = "e2e-search"
    open_page(page, page_url(server, "search", owner))
    _radio(page, "Preset", "tiny")
    set_number(page, "trials per round", 1)
    started = time.monotonic()

    page.get_by_role("button", name="Run a round of 1 trial(s)").click()
    # The page reruns as each trial ends: the front's sentence counts them.
    expect(page.locator(MAIN)).to_contain_text("1 trial(s) finished.", timeout=ROUND_TIMEOUT_MS)
    first_round = time.monotonic() - started

    # Narrow: bring your own block type, then search again.
    _select(page, "how to search block type", "fixed")
    _text(page, "values of block type", "plain")
    page.get_by_role("button", name="Run a round of 1 trial(s)").click()
    expect(page.locator(MAIN)).to_contain_text("2 trial(s) finished.", timeout=ROUND_TIMEOUT_MS)
    second = [run for run in store.list_runs(owner=owner, kind="search") if run.config["trial"] == 1]
    assert len(second) == 1 and second[0].config["member"]["block"] == "plain"
    rows = page.locator(f"{MAIN} [data-testid='stDataFrame']").first
    expect(rows).to_be_visible()
    screenshot(page, "search-two-rounds")

    # Guided against blind: one trial per search, one seed.
    set_number(page, "trials per arm", 1)
    set_number(page, "seeds", 1)
    page.get_by_role("button", name="Run guided vs blind: 1 trial(s) x 2 searches x 1 seed(s)").click()
    expect(page.locator(MAIN)).to_contain_text("After 1 trial per arm, guided search found",
                                               timeout=ROUND_TIMEOUT_MS)
    charts = page.locator(f"{MAIN} [data-testid='stVegaLiteChart']")
    expect(charts.filter(has_text="Guided against blind")).to_have_count(1)
    total = time.monotonic() - started
    report(f"Guided search, tiny: first round of 1 trial {first_round:.0f} s, two rounds and guided vs blind "
           f"{total:.0f} s")
    assert not problems(page)
    screenshot(page, "search-guided-vs-blind")
