"""Every page in the navigation loads in a real browser, with a title and no error."""

import re

import pytest

from tests.support import signed

from .conftest import (MAIN, PAGES, expect, open_page, page_url, problems, screenshot, sidebar_links,
                       start_server, stop_server, wait_idle)

OWNER = "e2e-pages"


@pytest.fixture(scope="module")
def nav(browser, server):
    """The sidebar navigation as Home shows it: {url path: title}."""
    context = browser.new_context()
    try:
        return sidebar_links(open_page(context.new_page(), page_url(server, "", OWNER)))
    finally:
        context.close()


def test_navigation_lists_only_known_pages(nav):
    """A new page must get a browser test: the sidebar lists nothing outside PAGES."""
    links = nav
    assert {"", "intro", "builder", "runs"} <= set(links), links
    assert set(links) <= set(PAGES), f"pages without a browser test: {set(links) - set(PAGES)}"


@pytest.mark.parametrize("path", PAGES, ids=lambda p: p or "home")
def test_page_loads_without_errors(page, server, nav, path):
    """Open the page by its URL: a title, no exception or error box; screenshot it."""
    if path not in nav:
        pytest.skip(f"/{path} is not in the navigation yet (its lab has not landed)")
    open_page(page, page_url(server, path, OWNER))
    title = page.locator(f"{MAIN} h1").first.inner_text().strip()
    assert title, f"/{path} has an empty title"
    # The deep link went to that page, not to the default one.
    expect(page.locator('[data-testid="stSidebarNav"] a[aria-current="page"]')).to_have_attribute(
        "href", re.compile(rf"/{path}$"))
    assert page.url.split("?")[1] == f"owner={signed(OWNER, server.home)}", page.url
    screenshot(page, f"page-{path or 'home'}")
    assert not problems(page), problems(page)


def test_sidebar_links_switch_pages_and_keep_the_owner(page, server, nav):
    """Clicking each sidebar link shows its page and keeps ?owner= in the URL."""
    open_page(page, page_url(server, "", OWNER))
    for path, title in nav.items():
        page.locator('[data-testid="stSidebarNav"] a', has_text=title).click()
        expect(page).to_have_url(re.compile(rf"/{path}\?owner={signed(OWNER, server.home)}$"))
        expect(page.locator('[data-testid="stSidebarNav"] a[aria-current="page"]')).to_have_text(
            re.compile(re.escape(title)))
        wait_idle(page)
        expect(page.locator(f"{MAIN} h1").first).to_be_visible()
        assert not page.locator('[data-testid="stException"]').count(), f"/{path}"


# With a folder named pages/ beside app.py, Streamlit (1.67) treats it as
# the old multipage layout until app.py has run once: a server whose very
# first request was a deep link ran pages/builder.py bare, without app.py's
# navigation, sidebar and job supervisor. Hence the folder is app_pages/.
def test_deep_link_as_first_request_shows_the_app(page, tmp_path):
    """The first request to a fresh server is /builder: the app's sidebar is there."""
    # No spare worker: this server never trains, and importing Keras would
    # only slow the rest of the suite.
    fresh = start_server(tmp_path / "home", prewarm=False)
    try:
        open_page(page, page_url(fresh, "builder", OWNER))
        expect(page.locator(f"{MAIN} h1").first).to_have_text("Model Builder")
        sidebar = page.locator('[data-testid="stSidebar"]').inner_text()
        assert "Training device" in sidebar, sidebar
        assert "Training queue" in sidebar, sidebar
    finally:
        stop_server(fresh)
