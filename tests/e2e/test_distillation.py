"""The Knowledge distillation lab in a real browser: teacher, student and distilled student, then the comparison.

At the tiny preset, one seed a step: the three Run buttons queue real runs
(the distilled student loads the teacher this owner just trained), and the
page then compares the two students in words, with the test set's noise,
and draws the teacher's softened probabilities (dark knowledge).
"""

import re

from labcore.labs.distillation.config import STEPS
from tests.support import wait_for_status

from .conftest import MAIN, expect, open_page, page_url, screenshot, wait_rerun

OWNER = "e2e-distillation"


def test_teacher_student_and_distilled_student_train_and_compare(page, server, store):
    open_page(page, page_url(server, "distillation", OWNER))
    page.locator(f"{MAIN} [data-testid='stRadio']").get_by_text("tiny", exact=True).click()
    wait_rerun(page)
    for step in ("teacher", "student", "distil"):
        seeds = page.locator(f"{MAIN} .st-key-distillation_tiny_{step}_seeds input")
        seeds.fill("1")
        seeds.press("Enter")
        wait_rerun(page)
        page.get_by_role("button", name=f"Run: {STEPS[step]}").click()
        wait_rerun(page)

    queued = store.list_runs(owner=OWNER, kind="distillation")
    assert sorted(run.config["step"] for run in queued) == ["distil", "student", "teacher"]
    for run in queued:
        # Worker starts (TensorFlow import) and tiny fits, on two slots at most.
        wait_for_status(store, run.id, ("done",), timeout_s=240)

    # A fresh visit (a refresh) at the same preset finds the finished runs.
    open_page(page, page_url(server, "distillation", OWNER))
    page.locator(f"{MAIN} [data-testid='stRadio']").get_by_text("tiny", exact=True).click()
    wait_rerun(page)
    # The comparison, and the same numbers in the lab's answers.
    compared = page.get_by_text(re.compile(r"Distilled at T = \d+ and alpha = [\d.]+, the student scores"))
    expect(compared).to_have_count(2, timeout=30_000)
    expect(compared.first).to_contain_text(re.compile("Distillation helped|Distillation hurt|No difference shown"))
    # Dark knowledge: the teacher's probabilities at each temperature, for a test image it picked.
    expect(page.locator(f"{MAIN} [data-testid='stVegaLiteChart']").first).to_be_visible()
    assert not page.locator('[data-testid="stException"]').count()
    screenshot(page, "distillation-after-three-steps")
