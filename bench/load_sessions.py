"""Load: many sessions polling one running job, on one server.

A workshop has 30 attendees with the Runs page open while a run trains.
Each open page polls the store with the live-run fragment
(`st.fragment(run_every=1.0)`) and the sidebar's queue fragment (every
2 s). This starts the real server (`streamlit run app.py`, 127.0.0.1, a
temporary LABCORE_HOME), queues a long `sleep` job (one epoch a second,
progress four times a second: a training run without the CPU cost of one),
and opens the sessions.

Three clients:

browser  one headless Chromium, one context (browser session) per
         attendee, on /runs (the builder shows only `train` runs live, and
         a real training run would measure the trainer, not the server).
         Measured in each page, with the browser's own clock:
         - fragment round trip: from the WebSocket frame in which the
           page's fragment timer asks for a rerun (BackMsg rerun_script with
           a fragment id) to the frame saying that fragment run finished
           (ForwardMsg script_finished) of the first run that started
           after the request (the server merges requests that arrive
           while a run is going into the next run). It holds
           the wait for the session's script thread, the fragment body
           (store reads, progress bar, Altair curves) under the load of all
           sessions, and delivery: what "the page polls once a second"
           costs.
         - staleness: sampled every 0.25 s in each page, how long ago the
           store first held a newer progress text than the one the page
           shows (0 while it shows the newest; the bench polls the store
           every 10 ms). What an attendee sees. The job writes a new text
           every second and the page polls every second, so one idle
           session is the floor (run with --sessions 1).
         - fragment reruns finished per second per page (1.5 expected:
           the live run every 1 s and the sidebar queue every 2 s).
apptest  N AppTest sessions in this process, on the same page, taking
         turns: each round reruns every session's whole page once, then
         waits for the next second (AppTest cannot fire a fragment alone,
         so a full rerun is an upper bound for the fragment's cost; and its
         sessions cannot run at once). No browser, no network. A round
         over 1 s means N sessions ask more than one Python process can
         do, as the server's script threads share one interpreter lock.
websocket N sessions in one Python process (asyncio and `websockets`, apart
         from the server), each speaking Streamlit's own protocol on
         /_stcore/stream as the frontend does, with no browser: Chromium
         pages on the same two cores measured the browsers as much as the
         server. A session asks for the page (BackMsg rerun_script naming it
         by its URL path, with the query string), then keeps what the
         frontend keeps for its next requests (the page's script hash from
         the navigation message, the query string the app sets, the hashes
         of the messages it has cached) and runs the frontend's fragment
         timers: for each fragment the page announces (ForwardMsg
         auto_rerun; a whole-page run announces them afresh, stop_auto_rerun
         ends one) a rerun request with its id every `run_every` seconds,
         answered or not. Measured with this process's clock:
         - page load: from the page request to the end of the first
           whole-page run (script_finished).
         - fragment round trip: from a request to the finish of the first
           run that started after it (its new_session arrived after the
           request was sent) and delivered its fragment (or the whole
           page): each run names its fragments (ForwardMsg metadata.run),
           so a run of the sidebar's fragment does not answer a request for
           the live run's. Under load the server reports a fragment run
           that completed as "early for rerun" when the next run starts
           before its finish went out (it relabels unsent finishes); that
           run still delivered the fragments the next run does not redraw,
           and counts for them (`delivered_runs`). A run the server started
           just before a request arrived can still be credited to it when
           its start arrives after the request was sent (rare while runs
           are shorter than the timers).
         - fragment runs per session per second: fragments delivered (one
           run may hold both), against what the timers ask (1 / run_every
           summed: 1.5 here).
         - staleness: as for the browser, from the texts of the main area's
           progress bar as they arrive (not as drawn).
         - the client's own CPU (its event loop's thread; the bench's store
           poller is another thread), to show it is light.
         What it measures is the server's side of polling: script threads,
         the fragment bodies (store reads, Altair specs built), serialising
         and sending. Not measured: drawing, Vega in a browser, the page's
         HTML and scripts (never fetched), and the widget states a browser
         sends back (it sends none: every widget keeps its default, as for
         an attendee who has not touched one). Each N gets a fresh server
         and job, and, as with the browser, a first session on "/" (which
         starts the job's supervisor) stays open beside the N.

Server memory is VmRSS from /proc/<pid>/status: at start (one session
loaded), once all sessions are open, and at the end, with VmHWM (peak).
CPU is from /proc/<pid>/stat, for the server and (browser client) for the
Chromium processes this bench started, as cores used over the window.
The WebSocket client's MB per session is (all open - 1 open) / N: at small
N it holds the first visit's imports for the page. Several session counts
(`--sessions 1 10 30 50`) run one after the other, each on its own fresh
server.

Bounded: at most 60 sessions, 300 s to open them (one that takes over
60 s is counted as failed) and a 180 s window; loopback only.

Run from the repository root:
    python -m bench.load_sessions                     # 30 browsers, 30 s, then 30 AppTest sessions
    python -m bench.load_sessions --client browser --sessions 10 --seconds 20
    python -m bench.load_sessions --client websocket --sessions 1 10 30 50 --seconds 30
"""

import argparse
import json
import os
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:  # `python bench/load_sessions.py` works too
    sys.path.insert(0, str(REPO_ROOT))

from bench import _processes, _report  # noqa: E402  (after the path above)

__all__ = ["ProtocolSession", "delivered_runs", "fragment_round_trips", "main", "run_apptest", "run_browser",
           "run_websocket"]

MAX_SESSIONS = 60
# How long one arriving session may take to show the live run.
OPEN_TIMEOUT_MS = 60_000
# How long all sessions may take to open; the rest are reported, not tried.
OPEN_BUDGET_S = 300
MAX_SECONDS = 180
OWNER = "load-owner"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"]
IDLE = '[data-testid="stApp"][data-test-script-state="notRunning"]'
# Installed before the app's code in every page: keeps each WebSocket frame
# with its wall-clock time (Date.now(), ms). Frames sent are kept whole (the
# rerun requests are small); frames received whole when under 4 kB (the
# "script finished" messages are a few bytes), else only their time.
WEBSOCKET_JS = """(() => {
  const frames = window.__frames = {sent: [], received: []};
  const b64 = (buffer) => { let text = ''; const bytes = new Uint8Array(buffer);
    for (let i = 0; i < bytes.length; i++) text += String.fromCharCode(bytes[i]); return btoa(text); };
  const Native = window.WebSocket;
  class Recording extends Native {
    constructor(...args) {
      super(...args);
      this.addEventListener('message', (event) => {
        const at = Date.now();
        const data = event.data;
        if (data instanceof ArrayBuffer) frames.received.push([at, data.byteLength < 4096 ? b64(data) : null]);
      });
    }
    send(data) {
      if (data instanceof ArrayBuffer || ArrayBuffer.isView(data)) {
        frames.sent.push([Date.now(), b64(data instanceof ArrayBuffer ? data : data.buffer.slice(
          data.byteOffset, data.byteOffset + data.byteLength))]);
      }
      return super.send(data);
    }
  }
  window.WebSocket = Recording;
})();"""
# Installed once a page has loaded: the live run's progress text, as shown.
TEXT_JS = """() => {
  window.__texts = [];
  let last = null;
  const look = () => {
    const bar = document.querySelector('[data-testid="stMain"] [data-testid="stProgress"]');
    const text = bar ? bar.innerText.trim() : null;
    if (text !== last) { last = text; window.__texts.push([Date.now(), text]); }
  };
  new MutationObserver(look).observe(document.querySelector('[data-testid="stMain"]'),
                                     {subtree: true, childList: true, characterData: true});
}"""


# -- measuring ---------------------------------------------------------------------------


def _memory(pid):
    """(VmRSS, VmHWM) of a process in MB: now and its peak."""
    return _processes.memory_mb(pid), _processes.memory_mb(pid, "VmHWM")


def cpu_seconds(pids):
    """User + system CPU seconds used so far by these processes (the gone ones count 0)."""
    return sum(_processes.cpu_seconds(pid) or 0.0 for pid in pids)


def descendants(pid):
    """Process ids below `pid` (children, grandchildren...), from /proc."""
    parents = {int(entry.name): _processes.parent_pid(entry.name)
               for entry in Path("/proc").iterdir() if entry.name.isdigit()}
    found, frontier = set(), {pid}
    while frontier:
        frontier = {child for child, parent in parents.items() if parent in frontier} - found
        found |= frontier
    return found


def percentiles(values):
    """(p50, p95, max, count) of a list of numbers; Nones when it is empty."""
    if not values:
        return None, None, None, 0
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, int(round(0.95 * (len(ordered) - 1))))]
    return statistics.median(ordered), p95, ordered[-1], len(ordered)


class StoreWatcher(threading.Thread):
    """Polls the run's progress text every 10 ms; remembers when each text first appeared."""

    def __init__(self, store, run_id):
        super().__init__(daemon=True)
        self.store, self.run_id = store, run_id
        self.first_seen = {}
        self.stop = threading.Event()

    def run(self):
        while not self.stop.is_set():
            run = self.store.get_run(self.run_id)
            if run is not None and run.progress_text and run.progress_text not in self.first_seen:
                self.first_seen[run.progress_text] = time.time()
            time.sleep(0.01)


def _queue_job(store, seconds):
    from labcore import jobs

    # One epoch a second for an hour, longer than any bench (sessions may
    # take minutes to open on a loaded machine); cancelled at the end.
    return jobs.submit(store, "sleep", {"epochs": 3600, "seconds_per_epoch": 1.0}, OWNER,
                       title="load bench job")


def _url_path(page):
    return f"/{page}?owner={OWNER}"


def _fresh_server(client, sessions, seconds, page):
    """A fresh LABCORE_HOME with the long job queued, and the app's server on it.

    Returns:
        (store, run_id, figures, server process, base URL); `figures` holds
        what was asked, for the client to fill in.
    """
    from labcore.store import Store

    home = Path(tempfile.mkdtemp(prefix=f"labcore-load-{client}-"))
    store = Store(home / "labcore.db")
    run_id = _queue_job(store, seconds)
    figures = {"client": client, "sessions": sessions, "seconds": seconds, "page": page}
    server, base = _processes.start_app(home, log=home / "server.log", timeout_s=60,
                                        extra_args=["--server.fileWatcherType", "none",
                                                    "--client.toolbarMode", "minimal"])
    return store, run_id, figures, server, base


# -- the browser client ------------------------------------------------------------------


def run_browser(sessions, seconds, page):
    """Open `sessions` Chromium contexts on the real server; return the figures as a dict."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout
    from playwright.sync_api import sync_playwright

    store, run_id, figures, server, base = _fresh_server("browser", sessions, seconds, page)
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            # A first session opens "/" and the job starts (the entry point
            # starts the job supervisor); it stays open, as the instructor's.
            first = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
            first.goto(base + "/?owner=load-watcher")
            first.wait_for_selector(IDLE, timeout=60_000)
            _processes.wait_for(lambda: store.get_run(run_id).progress_text, 60, "the job to report progress")
            figures["rss_start_mb"] = _processes.memory_mb(server.pid)

            # One session after the other, each until it shows the live
            # run: an attendee arriving. One that does not within the
            # timeout is counted and left out, not fatal: that is a result.
            opened, pages, open_s, failed = time.monotonic(), [], [], []
            for _ in range(sessions):
                if time.monotonic() - opened > OPEN_BUDGET_S:
                    failed.append(f"not tried: opening had taken over {OPEN_BUDGET_S} s")
                    continue
                context = browser.new_context(viewport={"width": 1280, "height": 900})
                context.add_init_script(WEBSOCKET_JS)
                tab = context.new_page()
                began = time.monotonic()
                try:
                    tab.goto(base + _url_path(page), timeout=OPEN_TIMEOUT_MS)
                    tab.wait_for_selector(f"{IDLE} [data-testid=\"stMain\"] [data-testid=\"stProgress\"]",
                                          timeout=OPEN_TIMEOUT_MS)
                    tab.evaluate(TEXT_JS)
                except PlaywrightTimeout as error:
                    failed.append(str(error).splitlines()[0])
                    context.close()
                    continue
                open_s.append(time.monotonic() - began)
                pages.append(tab)
            figures["open_all_s"] = time.monotonic() - opened
            figures["sessions_open"] = len(pages)
            figures["open_failures"] = failed
            figures["open_p50_s"], figures["open_p95_s"], figures["open_max_s"], _ = percentiles(open_s)
            figures["rss_open_mb"] = _processes.memory_mb(server.pid)

            watcher = StoreWatcher(store, run_id)
            watcher.start()
            chromium = descendants(os.getpid()) - {server.pid} - descendants(server.pid)
            cpu_server, cpu_browser = cpu_seconds([server.pid]), cpu_seconds(chromium)
            started, rss_samples = time.time(), []
            load_start = _report.load_average()
            while time.time() - started < seconds:
                rss_samples.append(_processes.memory_mb(server.pid))
                time.sleep(1.0)
            window = time.time() - started
            figures["server_cores"] = (cpu_seconds([server.pid]) - cpu_server) / window
            figures["browser_cores"] = (cpu_seconds(chromium) - cpu_browser) / window
            figures["load_average_start_end"] = [load_start[0], _report.load_average()[0]]
            watcher.stop.set()
            records = [tab.evaluate("({frames: window.__frames, texts: window.__texts})") for tab in pages]
            browser.close()
        figures["rss_end_mb"], figures["rss_peak_mb"] = _memory(server.pid)
        figures["rss_max_during_mb"] = max(rss_samples)
        figures.update(_browser_figures(records, watcher.first_seen, started, started + window))
        figures["job_status_after"] = store.get_run(run_id).status
    finally:
        _processes.stop_app(server)
        _processes.stop_run(store, run_id, timeout_s=10)
    return figures


def _browser_figures(records, first_seen, start, end):
    """Fragment round trips, staleness and rerun rate from the pages' records, inside [start, end].

    The server answers rerun requests one script run at a time: a run starts
    (ForwardMsg new_session), sends its deltas and ends (script_finished),
    and requests that arrive while it runs are merged into the next run (a
    run cut short for one ends "early for rerun"). So each automatic
    fragment rerun the page asked for (BackMsg rerun_script with a fragment
    id) is answered by the first run that started after it and finished
    normally; its round trip is from the request to that finish.
    """
    import base64

    from streamlit.proto.BackMsg_pb2 import BackMsg
    from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

    answers = {ForwardMsg.ScriptFinishedStatus.Value(name)
               for name in ("FINISHED_SUCCESSFULLY", "FINISHED_FRAGMENT_RUN_SUCCESSFULLY")}
    fragment_done = ForwardMsg.ScriptFinishedStatus.Value("FINISHED_FRAGMENT_RUN_SUCCESSFULLY")
    round_trip_s, stale_s, reruns_per_page, unanswered = [], [], [], 0
    for record in records:
        events = []
        for at_ms, data in record["frames"]["sent"]:
            message = BackMsg.FromString(base64.b64decode(data))
            if message.WhichOneof("type") == "rerun_script" and message.rerun_script.fragment_id:
                events.append((at_ms / 1000, 1, "asked"))
        for at_ms, data in record["frames"]["received"]:
            if data is not None:
                message = ForwardMsg.FromString(base64.b64decode(data))
                kind = message.WhichOneof("type")
                if kind == "new_session":
                    events.append((at_ms / 1000, 0, "started"))
                elif kind == "script_finished" and message.script_finished in answers:
                    events.append((at_ms / 1000, 2, "fragment" if message.script_finished == fragment_done
                                   else "full"))
        pending, waiting, fragment_runs = [], [], 0
        for at, _, what in sorted(events):
            if what == "asked":
                pending.append(at)
            elif what == "started":
                # This run answers what was asked before it started.
                waiting, pending = waiting + pending, []
            else:
                fragment_runs += what == "fragment" and start <= at <= end
                round_trip_s += [at - asked for asked in waiting if start <= asked <= end]
                waiting = []
        unanswered += sum(1 for asked in waiting + pending if start <= asked <= end - 5)
        reruns_per_page.append(fragment_runs / (end - start))
        stale_s += _staleness(record["texts"], first_seen, start, end)
    p50, p95, worst, count = percentiles(round_trip_s)
    stale50, stale95, stale_worst, stale_count = percentiles(stale_s)
    return {
        "rerun_p50_s": p50, "rerun_p95_s": p95, "rerun_max_s": worst, "reruns": count,
        "reruns_unanswered": unanswered,
        "stale_p50_s": stale50, "stale_p95_s": stale95, "stale_max_s": stale_worst, "stale_samples": stale_count,
        "reruns_per_page_per_s": statistics.median(reruns_per_page) if reruns_per_page else None,
    }


def _staleness(texts, first_seen, start, end, every_s=0.25):
    """How out of date the page's progress text is, sampled every `every_s` seconds.

    At each moment: 0 while the page shows the newest text the store holds,
    else the time since the store first held a newer one. The page shows
    "epoch 12/3600 · about 58 min left"; the part before " · " is the
    stored text.
    """
    order = sorted(first_seen, key=first_seen.get)
    newer = {text: first_seen[following] for text, following in zip(order, order[1:])}
    shown = [(at_ms / 1000, (text or "").split(" · ")[0]) for at_ms, text in texts]
    samples, index, current = [], 0, None
    moment = start
    while moment <= end:
        while index < len(shown) and shown[index][0] <= moment:
            current = shown[index][1]
            index += 1
        if current in first_seen:
            superseded = newer.get(current)
            samples.append(moment - superseded if superseded is not None and superseded <= moment else 0.0)
        moment += every_s
    return samples


# -- the WebSocket client ----------------------------------------------------------------


class ProtocolSession:
    """One page's end of Streamlit's protocol, as the frontend keeps it, without the network.

    `rerun()` makes the BackMsg the page sends to ask for a run; `receive()`
    reads a ForwardMsg frame and keeps what the frontend keeps for its next
    requests (the page's script hash, the query string the app set, the
    messages it has cached) and its fragment timers; and, for the figures,
    the requests, each run's start, finish and fragments, and the texts of
    the main area's progress bar.
    """

    def __init__(self, page, query_string, url):
        self.page_name, self.query_string, self.url = page, query_string, url
        self.page_script_hash = self.main_script_hash = ""
        self.timers = {}  # fragment id -> [interval s, next time due]
        self.requests = []  # (time sent, fragment id; "" for the whole page)
        self.runs = {}  # script run id -> [start arrived, finish arrived, fragment ids, status], by start
        self.loaded_at = None  # when the first whole-page run finished
        self.progress = []  # (time arrived, text)
        self.problems = []  # what the frontend would show as an error
        # The frontend's message cache: hash -> [finished runs when last used, fragment id].
        # Its hashes go with every request, and the server then sends only a
        # reference (ref_hash) to a big element the page already has.
        self.cache = {}
        self.finished_runs = 0
        self.max_cache_age = 2
        self.new_session_since_request = False

    def rerun(self, at, fragment_id=""):
        """The BackMsg (bytes) asking for a run of the page, or of one fragment (an auto rerun), sent at `at`."""
        from streamlit.proto.BackMsg_pb2 import BackMsg

        message = BackMsg()
        state = message.rerun_script
        state.query_string = self.query_string
        state.widget_states.SetInParent()  # none: every widget keeps its default
        # The first request names the page by its URL path, the next ones by
        # the hash the server sent back, as the frontend does.
        state.page_script_hash = self.page_script_hash
        state.page_name = "" if self.page_script_hash else self.page_name
        state.fragment_id = fragment_id
        state.is_auto_rerun = bool(fragment_id)
        state.cached_message_hashes.extend(self.cache)
        context = state.context_info
        context.timezone, context.timezone_offset, context.locale = "UTC", 0, "en-US"
        context.url, context.is_embedded, context.color_scheme = self.url, False, "light"
        self.requests.append((at, fragment_id))
        self.new_session_since_request = False
        return message.SerializeToString()

    def receive(self, at, frame):
        """Read one ForwardMsg frame that arrived at `at`; return its type ("delta", "script_finished"...)."""
        from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

        message = ForwardMsg.FromString(frame)
        kind = message.WhichOneof("type")
        if kind == "ref_hash":
            entry = self.cache.get(message.ref_hash)
            if entry is None:
                self.problems.append(f"cached message {message.ref_hash} missing")
            else:
                entry[0] = self.finished_runs
        elif message.metadata.cacheable and message.hash:
            self.cache.setdefault(message.hash, [0, message.delta.fragment_id])[0] = self.finished_runs
        if kind == "new_session":
            run = message.metadata.run
            self.new_session_since_request = True
            self.max_cache_age = message.new_session.config.max_cached_message_age
            self.runs[run.script_run_id] = [at, None, tuple(run.fragment_ids), None]
            if not run.fragment_ids:
                # A whole-page run announces its fragments' timers afresh.
                self.timers.clear()
                self.main_script_hash = message.new_session.main_script_hash
                self.page_script_hash = message.new_session.page_script_hash
        elif kind == "navigation":  # st.navigation: the page that runs
            self.page_script_hash = message.navigation.page_script_hash
        elif kind == "page_not_found":
            self.problems.append(f"page not found: {message.page_not_found.page_name!r}")
            self.page_script_hash = self.main_script_hash
        elif kind == "page_info_changed":
            self.query_string = message.page_info_changed.query_string
        elif kind == "auto_rerun":
            interval, fragment_id = message.auto_rerun.interval, message.auto_rerun.fragment_id
            # The frontend's setInterval: it fires one interval after the
            # announcement, and one with the same interval is kept going.
            if self.timers.get(fragment_id, [None])[0] != interval:
                self.timers[fragment_id] = [interval, at + interval]
        elif kind == "stop_auto_rerun":
            for fragment_id in message.stop_auto_rerun.fragment_ids:
                self.timers.pop(fragment_id, None)
        elif kind == "script_finished":
            self._finished(at, message)
        elif (kind == "delta" and message.delta.new_element.WhichOneof("type") == "progress"
              and message.metadata.delta_path[:1] == [0]):  # the main area, not the sidebar
            self.progress.append((at, message.delta.new_element.progress.text))
        return kind

    def _finished(self, at, message):
        from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

        status, run = message.script_finished, message.metadata.run
        if run.script_run_id in self.runs:
            self.runs[run.script_run_id][1], self.runs[run.script_run_id][3] = at, status
        if self.loaded_at is None and status == ForwardMsg.FINISHED_SUCCESSFULLY and not run.fragment_ids:
            self.loaded_at = at
        # As the frontend: a run that ended, not cut short for a rerun, and
        # with no request sent since it started, ages the cached messages
        # (only those of its fragments, for a fragment run); one unused for
        # more than the server's max_cached_message_age runs is dropped.
        if (message.metadata.HasField("run") and status != ForwardMsg.FINISHED_EARLY_FOR_RERUN
                and self.new_session_since_request):
            self.finished_runs += 1
            fragments = set(run.fragment_ids)
            for key, (used, fragment_id) in list(self.cache.items()):
                if (not fragments or fragment_id in fragments) and self.finished_runs - used > self.max_cache_age:
                    del self.cache[key]

    def due(self, now):
        """The fragment ids whose timers have fired by `now`; each then waits an interval more (none caught up)."""
        fired = []
        for fragment_id, timer in self.timers.items():
            if timer[1] <= now:
                fired.append(fragment_id)
                timer[1] += timer[0]
                if timer[1] <= now:  # late (a busy loop): no burst of missed ticks, as setInterval
                    timer[1] = now + timer[0]
        return fired

    def next_due(self):
        """When the next timer fires; None when there is none."""
        return min((timer[1] for timer in self.timers.values()), default=None)


def delivered_runs(runs):
    """The finished runs, each with the fragments whose elements it delivered.

    A run that finished normally delivered all it ran. One reported "early
    for rerun" may have finished too: when a run starts, the server drops
    from the session's unsent messages the elements the new run redraws
    (all, for a whole-page run) and relabels the unsent finish of the run
    before as early, so under load a fragment run that completed is
    reported early whenever the next run started before its messages went
    out. Its other fragments' elements still go out, so it delivered the
    fragments the next run does not redraw, none when that is a whole-page
    run. (A fragment run is really cut short only by a whole-page rerun
    here: timers' reruns do not interrupt a run.)

    Args:
        runs: [start arrived, finish arrived or None, fragment ids (empty: the
            whole page), ForwardMsg.ScriptFinishedStatus or None] in order of start.

    Returns:
        list of (start arrived, finish arrived, fragment ids delivered; empty: the whole page).
    """
    from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

    normal = {ForwardMsg.FINISHED_SUCCESSFULLY, ForwardMsg.FINISHED_FRAGMENT_RUN_SUCCESSFULLY}
    delivered = []
    for (started, finished, fragments, status), following in zip(runs, [*runs[1:], None]):
        if finished is None:
            continue
        if status in normal:
            delivered.append((started, finished, fragments))
        elif status == ForwardMsg.FINISHED_EARLY_FOR_RERUN and fragments and following and following[2]:
            kept = tuple(fragment_id for fragment_id in fragments if fragment_id not in following[2])
            if kept:
                delivered.append((started, finished, kept))
    return delivered


def fragment_round_trips(requests, runs):
    """Match fragment rerun requests to the runs that answered them.

    The server merges requests that arrive while a run is going into the
    next run, so a request is answered by the first run whose start arrived
    after it was sent and that delivered its fragment (or the whole page;
    see `delivered_runs`).

    Args:
        requests: (time sent, fragment id) pairs.
        runs: as for `delivered_runs`.

    Returns:
        ([(time sent, round trip s)], [time sent of each request not answered]).
    """
    answered, pending = [], sorted(requests)
    for started, finished, fragments in delivered_runs(runs):
        hit = [asked < started and (not fragments or fragment_id in fragments) for asked, fragment_id in pending]
        answered += [(asked, finished - asked) for (asked, _), yes in zip(pending, hit) if yes]
        pending = [request for request, yes in zip(pending, hit) if not yes]
    return answered, [asked for asked, _ in pending]


class _Attendee:
    """One session's connection: every frame into its ProtocolSession, and its fragment timers fired."""

    def __init__(self, websocket, session):
        import asyncio

        self.websocket, self.session = websocket, session
        self.loaded, self.timers_changed = asyncio.Event(), asyncio.Event()
        self.tasks = [asyncio.create_task(self._read()), asyncio.create_task(self._fire_timers())]

    @classmethod
    async def open(cls, base, page, query_string, timeout_s):
        """Connect, ask for the page and wait (up to `timeout_s`) until its first whole run has finished."""
        import asyncio

        from websockets.asyncio.client import connect

        # Like a browser: no compression (the server does not enable it), no
        # client pings, no proxy, no cap on a message's size.
        websocket = await connect(base.replace("http://", "ws://") + "/_stcore/stream", subprotocols=["streamlit"],
                                  compression=None, ping_interval=None, proxy=None, max_size=None,
                                  open_timeout=timeout_s)
        attendee = cls(websocket, ProtocolSession(page, query_string, f"{base}/{page}"))
        try:
            await websocket.send(attendee.session.rerun(time.time()))
            await asyncio.wait_for(attendee.loaded.wait(), timeout_s)
            if attendee.session.problems:
                raise RuntimeError("; ".join(attendee.session.problems))
        except BaseException:
            await attendee.close()
            raise
        return attendee

    async def _read(self):
        from websockets.exceptions import ConnectionClosed

        try:
            async for frame in self.websocket:
                kind = self.session.receive(time.time(), frame)
                if kind in ("new_session", "auto_rerun", "stop_auto_rerun"):
                    self.timers_changed.set()
                if self.session.loaded_at is not None:
                    self.loaded.set()
        except ConnectionClosed as error:
            self.session.problems.append(f"connection lost: {error}")
        else:
            self.session.problems.append("the server closed the connection")
        self.loaded.set()  # nothing more will come: `open` stops waiting and reports the problem

    async def _fire_timers(self):
        import asyncio

        while True:
            now = time.time()
            for fragment_id in self.session.due(now):
                await self.websocket.send(self.session.rerun(now, fragment_id))
            due = self.session.next_due()
            self.timers_changed.clear()
            try:
                await asyncio.wait_for(self.timers_changed.wait(), None if due is None else max(0.0, due - time.time()))
            except TimeoutError:
                pass

    async def close(self):
        import asyncio

        for task in self.tasks:
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)
        await self.websocket.close()


def run_websocket(sessions, seconds, page):
    """Open `sessions` protocol sessions from this process on a fresh server; return the figures as a dict."""
    import asyncio

    store, run_id, figures, server, base = _fresh_server("websocket", sessions, seconds, page)
    try:
        asyncio.run(_drive_websocket(figures, server.pid, base, store, run_id))
        figures["rss_end_mb"], figures["rss_peak_mb"] = _memory(server.pid)
        figures["job_status_after"] = store.get_run(run_id).status
    finally:
        _processes.stop_app(server)
        _processes.stop_run(store, run_id, timeout_s=10)
    return figures


async def _drive_websocket(figures, server_pid, base, store, run_id):
    """Open the sessions one after the other, keep them polling for the window; fill in `figures`."""
    import asyncio

    sessions, seconds, page = figures["sessions"], figures["seconds"], figures["page"]
    timeout_s = OPEN_TIMEOUT_MS / 1000
    attendees = []
    try:
        # As with the browser: a first session on "/" starts the job (the
        # entry point starts the job supervisor) and stays open.
        attendees.append(await _Attendee.open(base, "", "owner=load-watcher", timeout_s))
        waited = time.monotonic()
        while not store.get_run(run_id).progress_text:
            if time.monotonic() - waited > 60:
                raise RuntimeError("timed out after 60 s waiting for the job to report progress")
            await asyncio.sleep(0.1)
        figures["rss_start_mb"] = _processes.memory_mb(server_pid)

        # One session after the other, each until its page has loaded: an
        # attendee arriving. One that fails is counted, not fatal.
        opened, failed = time.monotonic(), []
        for _ in range(sessions):
            if time.monotonic() - opened > OPEN_BUDGET_S:
                failed.append(f"not tried: opening had taken over {OPEN_BUDGET_S} s")
                continue
            try:
                attendees.append(await _Attendee.open(base, page, f"owner={OWNER}", timeout_s))
            except Exception as error:  # a timeout or a refusal under load is a result
                failed.append(f"{type(error).__name__}: {error}")
        watching = [attendee.session for attendee in attendees[1:]]
        figures["open_all_s"] = time.monotonic() - opened
        figures["sessions_open"] = len(watching)
        figures["open_failures"] = failed
        figures["open_p50_s"], figures["open_p95_s"], figures["open_max_s"], _ = percentiles(
            [session.loaded_at - session.requests[0][0] for session in watching])
        figures["rss_open_mb"] = _processes.memory_mb(server_pid)

        watcher = StoreWatcher(store, run_id)
        watcher.start()
        # The client's work all runs on this thread (the event loop); the
        # store poller is another thread of this process.
        cpu_server, cpu_client = cpu_seconds([server_pid]), time.thread_time()
        started, rss_samples = time.time(), []
        load_start = _report.load_average()
        while time.time() - started < seconds:
            rss_samples.append(_processes.memory_mb(server_pid))
            await asyncio.sleep(1.0)
        window = time.time() - started
        figures["server_cores"] = (cpu_seconds([server_pid]) - cpu_server) / window
        figures["client_cores"] = (time.thread_time() - cpu_client) / window
        figures["load_average_start_end"] = [load_start[0], _report.load_average()[0]]
        watcher.stop.set()
    finally:
        await asyncio.gather(*(attendee.close() for attendee in attendees))
    figures["rss_max_during_mb"] = max(rss_samples)
    if watching:
        figures["server_cores_per_session"] = figures["server_cores"] / len(watching)
        figures["rss_per_session_mb"] = (figures["rss_open_mb"] - figures["rss_start_mb"]) / len(watching)
    figures.update(_websocket_figures(watching, watcher.first_seen, started, started + window))


def _websocket_figures(sessions, first_seen, start, end):
    """Fragment round trips, fragment runs, staleness and problems of the sessions, inside [start, end]."""
    from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

    round_trip_s, stale_s, done, asked, unanswered, early, problems = [], [], [], [], 0, 0, []
    for session in sessions:
        runs = list(session.runs.values())
        answered, left = fragment_round_trips([request for request in session.requests if request[1]], runs)
        round_trip_s += [seconds for at, seconds in answered if start <= at <= end]
        unanswered += sum(1 for at in left if start <= at <= end - 5)
        done.append(sum(len(fragments) for _, finished, fragments in delivered_runs(runs)
                        if fragments and start <= finished <= end) / (end - start))
        early += sum(1 for _, finished, _, status in runs
                     if status == ForwardMsg.FINISHED_EARLY_FOR_RERUN and start <= finished <= end)
        asked.append(sum(1 / interval for interval, _ in session.timers.values()))
        stale_s += _staleness([(1000 * at, text) for at, text in session.progress], first_seen, start, end)
        problems += session.problems
    p50, p95, worst, count = percentiles(round_trip_s)
    stale50, stale95, stale_worst, stale_count = percentiles(stale_s)
    return {
        "rerun_p50_s": p50, "rerun_p95_s": p95, "rerun_max_s": worst, "reruns": count,
        "reruns_unanswered": unanswered, "runs_reported_early": early,
        "stale_p50_s": stale50, "stale_p95_s": stale95, "stale_max_s": stale_worst, "stale_samples": stale_count,
        "fragment_runs_per_session_per_s": statistics.median(done) if done else None,
        "fragment_runs_asked_per_session_per_s": statistics.median(asked) if asked else None,
        "problems": problems[:5], "problem_count": len(problems),
    }


# -- the AppTest client ------------------------------------------------------------------


def run_apptest(sessions, seconds, page):
    """`sessions` AppTest sessions in threads, each rerunning `page` once a second."""
    home = Path(tempfile.mkdtemp(prefix="labcore-load-apptest-"))
    os.environ["LABCORE_HOME"] = str(home)
    os.environ["LABCORE_PREWARM"] = "0"
    from streamlit.testing.v1 import AppTest

    from labcore.store import Store

    store = Store(home / "labcore.db")
    run_id = _queue_job(store, seconds)
    app = str(REPO_ROOT / "app.py")
    page_file = f"app_pages/{page}.py"
    figures = {"client": "apptest", "sessions": sessions, "seconds": seconds, "page": page}

    def open_session():
        at = AppTest.from_file(app, default_timeout=120)
        at.query_params["owner"] = OWNER
        at.run()  # the entry point first: it starts the supervisor, as in the server
        at.switch_page(page_file).run()
        return at

    first = open_session()
    _processes.wait_for(lambda: store.get_run(run_id).progress_text, 60, "the job to report progress")
    figures["rss_start_mb"] = _processes.memory_mb(os.getpid())
    opened = time.monotonic()
    tests = [first] + [open_session() for _ in range(sessions - 1)]
    figures["open_all_s"] = time.monotonic() - opened
    figures["rss_open_mb"] = _processes.memory_mb(os.getpid())

    # AppTest sessions cannot run at once (each run sets up and tears down
    # Streamlit's one Runtime; threads broke each other's runs), so they
    # take turns: a round reruns every session once, and a round that takes
    # over 1 s means the sessions ask for more than one process can do.
    durations, rounds, errors = [], [], []
    started = time.time()
    cpu_start = cpu_seconds([os.getpid()])
    while time.time() - started < seconds:
        round_began = time.perf_counter()
        for at in tests:
            began = time.perf_counter()
            try:
                at.run()
                errors += [e.value for e in at.exception]
            except Exception as error:  # a timeout under load is a result, not a crash
                errors.append(f"{type(error).__name__}: {error}")
            durations.append(time.perf_counter() - began)
        rounds.append(time.perf_counter() - round_began)
        time.sleep(max(0.0, 1.0 - rounds[-1]))
    window = time.time() - started
    figures["server_cores"] = (cpu_seconds([os.getpid()]) - cpu_start) / window
    figures["rss_end_mb"], figures["rss_peak_mb"] = _memory(os.getpid())
    p50, p95, worst, count = percentiles(durations)
    round50, round95, _, _ = percentiles(rounds)
    figures.update({"rerun_p50_s": p50, "rerun_p95_s": p95, "rerun_max_s": worst, "reruns": count,
                    "round_p50_s": round50, "round_p95_s": round95,
                    "reruns_per_page_per_s": count / sessions / window, "errors": errors[:5],
                    "error_count": len(errors)})
    _processes.stop_run(store, run_id, timeout_s=10)
    return figures


# -- report --------------------------------------------------------------------------------


HEADERS = {
    "browser": ("| Chromium sessions open / asked | window s | fragment round trip p50 / p95 ms "
                "| staleness p50 / p95 ms | fragment runs per page per s (1.5 asked) "
                "| server RSS MB start / open / end | server cores | Chromium cores | load average |",
                "|---|---|---|---|---|---|---|---|---|"),
    "apptest": ("| AppTest sessions | window s | full-page rerun p50 / p95 ms | round of all sessions p50 / p95 ms "
                "| reruns per page per s (1 asked) | process RSS MB start / open / end | cores | errors |",
                "|---|---|---|---|---|---|---|---|"),
    "websocket": ("| WebSocket sessions open / asked | window s | page load p50 / p95 ms "
                  "| fragment round trip p50 / p95 ms | staleness p50 / p95 ms "
                  "| fragment runs per session per s, done / asked | server cores | server cores per session "
                  "| server RSS MB 1 open / all open / peak | server MB per session | client cores "
                  "| problems | load average |",
                  "|---|---|---|---|---|---|---|---|---|---|---|---|---|"),
}


def _table(results):
    """A markdown table of one client's figures, a row per run."""
    return "\n".join([*HEADERS[results[0]["client"]], *map(_row, results)])


def _row(figures):
    def ms(key):
        value = figures.get(key)
        return "-" if value is None else f"{1000 * value:.0f}"

    def number(key, form="{:.0f}"):
        value = figures.get(key)
        return "-" if value is None else form.format(value)

    memory = (f"{number('rss_start_mb')} / {number('rss_open_mb')} / {number('rss_end_mb')} "
              f"(peak {number('rss_peak_mb')})")
    load = " to ".join(f"{v:.0f}" for v in figures.get("load_average_start_end", []))
    if figures["client"] == "browser":
        return (f"| {figures.get('sessions_open')} / {figures['sessions']} | {figures['seconds']:g} "
                f"| {ms('rerun_p50_s')} / {ms('rerun_p95_s')} | {ms('stale_p50_s')} / {ms('stale_p95_s')} "
                f"| {number('reruns_per_page_per_s', '{:.2f}')} | {memory} | {number('server_cores', '{:.2f}')} "
                f"| {number('browser_cores', '{:.2f}')} | {load} |")
    if figures["client"] == "websocket":
        return (f"| {figures.get('sessions_open')} / {figures['sessions']} | {figures['seconds']:g} "
                f"| {ms('open_p50_s')} / {ms('open_p95_s')} | {ms('rerun_p50_s')} / {ms('rerun_p95_s')} "
                f"| {ms('stale_p50_s')} / {ms('stale_p95_s')} "
                f"| {number('fragment_runs_per_session_per_s', '{:.2f}')} / "
                f"{number('fragment_runs_asked_per_session_per_s', '{:.2f}')} "
                f"| {number('server_cores', '{:.2f}')} | {number('server_cores_per_session', '{:.3f}')} "
                f"| {number('rss_start_mb')} / {number('rss_open_mb')} / {number('rss_peak_mb')} "
                f"| {number('rss_per_session_mb', '{:.1f}')} | {number('client_cores', '{:.2f}')} "
                f"| {figures.get('problem_count', 0) + len(figures.get('open_failures', []))} | {load} |")
    return (f"| {figures['sessions']} | {figures['seconds']:g} | {ms('rerun_p50_s')} / {ms('rerun_p95_s')} "
            f"| {ms('round_p50_s')} / {ms('round_p95_s')} | {number('reruns_per_page_per_s', '{:.2f}')} "
            f"| {memory} | {number('server_cores', '{:.2f}')} | {figures.get('error_count', 0)} |")


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m bench.load_sessions", description=__doc__.split("\n")[0])
    parser.add_argument("--client", choices=("browser", "apptest", "websocket", "both"), default="both",
                        help="both: browser, then apptest")
    parser.add_argument("--sessions", type=int, nargs="+", default=[30],
                        help=f"concurrent sessions (at most {MAX_SESSIONS}); several run one after the other, "
                             "each on a fresh server")
    parser.add_argument("--seconds", type=float, default=30, help=f"measuring window (at most {MAX_SECONDS})")
    parser.add_argument("--page", default="runs", help="the page the sessions open (its URL path)")
    parser.add_argument("--json", type=Path, default=None, help="also write the figures to this file")
    parser.add_argument("--quiet-wait", type=float, default=0, metavar="S",
                        help="first wait up to S seconds for the 1-minute load to fall below 2")
    args = parser.parse_args(argv)
    if not all(1 <= sessions <= MAX_SESSIONS for sessions in args.sessions):
        parser.error(f"--sessions must be ints in [1, {MAX_SESSIONS}]; got {args.sessions}.")
    if not 5 <= args.seconds <= MAX_SECONDS:
        parser.error(f"--seconds must be a number in [5, {MAX_SECONDS}]; got {args.seconds}.")

    waited = time.monotonic()
    while args.quiet_wait and _report.load_average()[0] >= 2 and time.monotonic() - waited < args.quiet_wait:
        time.sleep(10)
    print(f"load average {_report.load_average()} after waiting {time.monotonic() - waited:.0f} s", flush=True)
    clients = {"both": ("browser", "apptest")}.get(args.client, (args.client,))
    runners = {"browser": run_browser, "apptest": run_apptest, "websocket": run_websocket}
    results = []
    for client in clients:
        for sessions in args.sessions:
            results.append(runners[client](sessions, args.seconds, args.page))
            print(json.dumps(results[-1], indent=1), flush=True)
    print(f"\nload average now {_report.load_average()}, {os.cpu_count()} CPUs; command: python -m bench.load_sessions "
          + " ".join(sys.argv[1:]))
    for client in clients:
        print("\n" + _table([figures for figures in results if figures["client"] == client]))
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
