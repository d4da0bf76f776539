"""The Intro deck in a real browser: Next/Previous move through it; a live slide works."""

import re


from .conftest import MAIN, expect, open_page, page_url, screenshot, wait_rerun

OWNER = "e2e-intro"


def _place(page):
    """(slide number, slide count, title) as the page shows them."""
    caption = page.locator(f"{MAIN} [data-testid='stCaptionContainer']", has_text="slide").first.inner_text()
    number, count = map(int, re.search(r"slide (\d+) of (\d+)", caption).groups())
    return number, count, page.locator(f"{MAIN} h1").first.inner_text().strip()


def _click(page, name):
    page.get_by_role("button", name=name).click()
    wait_rerun(page)


def test_next_and_previous_change_the_slide(page, server):
    """Next shows slide 2 with another title; Previous goes back; no Previous on slide 1."""
    open_page(page, page_url(server, "intro", OWNER))
    number, count, first_title = _place(page)
    assert number == 1 and count > 2, (number, count)
    expect(page.get_by_role("button", name="← Previous")).to_be_disabled()

    _click(page, "Next →")
    expect(page.locator(f"{MAIN} [data-testid='stCaptionContainer']", has_text="slide")).to_contain_text(
        f"slide 2 of {count}")
    number, _, second_title = _place(page)
    assert number == 2 and second_title and second_title != first_title

    _click(page, "← Previous")
    expect(page.locator(f"{MAIN} h1").first).to_have_text(first_title)
    assert _place(page)[0] == 1


def test_stem_slide_shows_the_collapse_then_a_fix(page, server):
    """The stem slide: the ResNet stem on the 4x4 code collapses to 1x1 (error); a small stem does not."""
    open_page(page, page_url(server, "intro", OWNER))
    _click(page, "Next →")
    expect(page.locator(f"{MAIN} h1").first).to_contain_text("stem")
    error = page.locator('[data-testid="stAlertContentError"]')
    expect(error).to_contain_text("1x1")
    expect(error).to_contain_text("single pixel")
    screenshot(page, "intro-stem-collapse")

    page.get_by_text("small stem: 3x3 conv, stride 1").click()
    wait_rerun(page)
    expect(page.locator('[data-testid="stAlertContentSuccess"]')).to_contain_text("4x4x32 into 4x4x32")
    expect(error).to_have_count(0)


_SCROLLED = ("() => Math.max(window.scrollY, ...Array.from(document.querySelectorAll("
             "'[data-testid=\"stMain\"], [data-testid=\"stAppViewContainer\"]'), part => part.scrollTop))")


def test_a_new_slide_opens_at_its_top(page, server):
    """Next sits below a slide: after it, the next slide is shown from its title, not from the old bottom."""
    open_page(page, page_url(server, "intro", OWNER))
    page.set_viewport_size({"width": 1280, "height": 400})  # every slide is taller than this
    page.get_by_role("button", name="Next →").scroll_into_view_if_needed()
    assert page.evaluate(_SCROLLED) > 100
    _click(page, "Next →")
    page.wait_for_function(f"({_SCROLLED})() === 0", timeout=10_000)
    expect(page.locator(f"{MAIN} h1").first).to_be_in_viewport()
