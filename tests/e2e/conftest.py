"""Browser tests: the real server (`streamlit run app.py`) driven by Playwright
in Debian's Chromium, as a learner would use the app.

One server per pytest session, on a free loopback port, with its own
LABCORE_HOME (so its runs never mix with other tests') and the pre-warmed
spare worker on, so a click on Train shows progress within seconds. Pages are
reached by URL path (/builder, /runs, ...) or by the sidebar's links, never by
file name: the page files may move.

Each test gets a fresh browser context and names its own owner token
(`?owner=...`), so its "latest run" is its own. Screenshots go to
$E2E_SCREENSHOTS (default: a temporary folder); the folder and the measured
timings are printed at the end of the session.

The folder skips, saying why, where Chromium or Playwright is missing.
`.ci/run` installs Chromium, so CI never skips.
"""

import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support import signed

try:
    from playwright.sync_api import TimeoutError as PlaywrightTimeout
    from playwright.sync_api import expect, sync_playwright
except ImportError:  # the skip below says what is missing; tests import these names from here
    sync_playwright = expect = PlaywrightTimeout = None

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"]
VIEWPORT = {"width": 1280, "height": 900}
IDLE = '[data-testid="stApp"][data-test-script-state="notRunning"]'
RUNNING = '[data-testid="stApp"][data-test-script-state="running"]'
MAIN = '[data-testid="stMain"]'
# Every page the app may show, by URL path ("" is Home). Labs appear in the
# navigation once their page exists; test_pages checks this list covers it.
PAGES = ["", "intro", "builder", "runs", "autoencoder", "regularization", "ensemble", "distillation", "search"]

# On a loaded 2-core machine the first render of a page (imports of pandas
# and altair, the supervisor's start) has taken 5-10 s; 30 s leaves room
# without hiding a hung page for long.
PAGE_TIMEOUT_MS = 30_000

# What the terminal summary prints: measured timings, one line each.
REPORT = []


def _missing():
    if not Path(CHROMIUM).exists():
        return "Debian's chromium is not installed: apt-get install chromium"
    if sync_playwright is None:
        return "the playwright Python package is not installed: pip install -r requirements-dev.txt"
    return None


def pytest_collection_modifyitems(config, items):
    reason = _missing()
    for item in items:
        if HERE in Path(item.path).resolve().parents:
            item.add_marker(pytest.mark.e2e)
            if reason:
                item.add_marker(pytest.mark.skip(reason=reason))


_SHOTS = {}


def _screenshot_dir():
    if "dir" not in _SHOTS:
        folder = os.environ.get("E2E_SCREENSHOTS") or tempfile.mkdtemp(prefix="e2e-screenshots-")
        Path(folder).mkdir(parents=True, exist_ok=True)
        _SHOTS["dir"] = Path(folder)
    return _SHOTS["dir"]


def pytest_terminal_summary(terminalreporter):
    folder = _SHOTS.get("dir")
    shots = sorted(folder.glob("*.png")) if folder else []
    if not shots and not REPORT:
        return
    terminalreporter.section("browser tests")
    for line in REPORT:
        terminalreporter.write_line(line)
    if shots:
        terminalreporter.write_line(f"{len(shots)} screenshots in {folder}")


def report(line):
    """Print a measured figure in the session's summary (and now, with -s)."""
    REPORT.append(line)
    print(line)


# -- the server --------------------------------------------------------------

@dataclass
class Server:
    url: str
    home: Path
    log: Path
    process: subprocess.Popen

    @property
    def store_path(self):
        return self.home / "labcore.db"

    def log_tail(self, lines=30):
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(home, prewarm=True):
    """Start `streamlit run app.py` on a free loopback port; return a `Server` once healthy."""
    port = _free_port()
    home.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ, LABCORE_HOME=str(home), LABCORE_PREWARM="1" if prewarm else "0",
               PYTHONUNBUFFERED="1")
    log = home / "server.log"
    with open(log, "wb") as out:
        # Its own session, so stopping it also stops the children it did not
        # detach (the device probe); workers detach themselves (see stop_server).
        process = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true",
             "--server.port", str(port), "--server.address", "127.0.0.1",
             "--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none"],
            cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    server = Server(f"http://127.0.0.1:{port}", home, log, process)
    # /_stcore/health answers within about a second on an idle machine; 60 s
    # covers a CI machine busy with other test processes.
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the server exited with code {process.returncode}:\n{server.log_tail()}")
        try:
            with urllib.request.urlopen(f"{server.url}/_stcore/health", timeout=2) as response:
                if response.read() == b"ok":
                    return server
        except OSError:
            time.sleep(0.2)
    stop_server(server)
    raise RuntimeError(f"the server did not answer /_stcore/health within 60 s:\n{server.log_tail()}")


def _workers_under(home):
    """Pids of `labcore.worker` processes whose store lies under `home`."""
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if b"labcore.worker" in argv and any(str(home).encode() in arg for arg in argv):
            pids.append(int(entry.name))
    return pids


def stop_server(server):
    """SIGTERM the server's process group, then kill its workers.

    Workers run in sessions of their own (so a server restart does not kill
    a run), so they outlive the server: kill every `labcore.worker` whose
    store is under this server's LABCORE_HOME, and no other.
    """
    try:
        os.killpg(server.process.pid, signal.SIGTERM)
        server.process.wait(timeout=15)
    except ProcessLookupError:
        pass
    except subprocess.TimeoutExpired:
        os.killpg(server.process.pid, signal.SIGKILL)
        server.process.wait(timeout=5)
    for pid in _workers_under(server.home):
        try:
            os.killpg(pid, signal.SIGKILL)  # a worker leads its own session
        except ProcessLookupError:
            pass


@pytest.fixture(scope="session")
def server(tmp_path_factory):
    """The app's real server, shared by the session's browser tests.

    No warm-up visit: whatever page a test opens first must start the app
    (supervisor, spare worker, sidebar) by itself, as it must for a workshop
    attendee whose first click is a bookmarked deep link.
    """
    server = start_server(tmp_path_factory.mktemp("e2e-home"))
    yield server
    stop_server(server)


@pytest.fixture(scope="session")
def store(server):
    """The server's run store, to submit runs and check outcomes from the test."""
    from labcore.store import Store

    return Store(server.store_path)


# -- the browser -------------------------------------------------------------

@pytest.fixture(scope="session")
def browser():
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser):
    """A fresh browser context (no cookies, no session) and its page."""
    context = browser.new_context(viewport=VIEWPORT)
    page = context.new_page()
    page.set_default_timeout(PAGE_TIMEOUT_MS)
    expect.set_options(timeout=PAGE_TIMEOUT_MS)
    yield page
    context.close()


# -- helpers -----------------------------------------------------------------

def page_url(server, path, owner):
    """The URL of a page by its URL path ('' = Home), as this owner (its token signed with the server's secret)."""
    return f"{server.url}/{path}?owner={signed(owner, server.home)}"


def wait_idle(page):
    """Wait until the script run (or fragment run) in progress has finished."""
    page.wait_for_selector(IDLE, timeout=PAGE_TIMEOUT_MS)


def wait_rerun(page):
    """Wait for the rerun a widget change starts, then for its end.

    The rerun may be over before we look; then the first wait times out
    quickly (1.5 s) and the second returns at once. Tests still assert the
    outcome, which Playwright retries.
    """
    try:
        page.wait_for_selector(RUNNING, timeout=1_500)
    except PlaywrightTimeout:
        pass
    wait_idle(page)


def open_page(page, url, known=f"{MAIN} h1"):
    """Go to `url`, wait for the script run to end and for a known element."""
    page.goto(url)
    wait_idle(page)
    page.locator(known).first.wait_for(state="visible")
    return page


def problems(page):
    """Texts of exceptions and error boxes on the page."""
    return (page.locator('[data-testid="stException"]').all_inner_texts()
            + page.locator('[data-testid="stAlertContentError"]').all_inner_texts())


def sidebar_links(page):
    """The sidebar navigation as {url path: title}, '' for Home."""
    links = page.locator('[data-testid="stSidebarNav"] a')
    found = {}
    for i in range(links.count()):
        link = links.nth(i)
        path = re.sub(r"^https?://[^/]+/?", "", link.get_attribute("href") or "").split("?")[0]
        found[path] = link.inner_text().strip().splitlines()[-1].strip()  # icon ligature, then title
    return found


def screenshot(page, name):
    """Save a full-height screenshot as <name>.png in the session's folder; return its path.

    The document itself does not scroll (stMain does), so a full-page
    screenshot alone gives the viewport: grow the viewport to stMain's
    height first, then put it back.
    """
    height = 0
    for _ in range(5):  # charts re-fit to a new viewport and may grow the page: until it settles
        wanted = page.evaluate(f"() => document.querySelector('{MAIN}')?.scrollHeight || 0")
        wanted = max(VIEWPORT["height"], min(int(wanted), 10_000))
        if wanted <= height:
            break
        height = wanted
        page.set_viewport_size({"width": VIEWPORT["width"], "height": height})
        page.wait_for_timeout(400)
    path = _screenshot_dir() / f"{name}.png"
    page.screenshot(path=str(path))
    page.set_viewport_size(VIEWPORT)
    return path


def spin(page, label):
    """A number input by its exact label (get_by_label also finds its help button)."""
    return page.get_by_role("spinbutton", name=label, exact=True)


def set_number(page, label, value):
    """Type a value into a number input and commit it (Enter), then wait for the rerun."""
    box = spin(page, label)
    box.fill(str(value))
    box.press("Enter")
    wait_rerun(page)
    expect(box).to_have_value(str(value))
