"""UI cost: page rerun times, the live-run fragment, and the server's memory.

Part 1, reruns (AppTest, in this process). Every page of `app_pages/` is opened
from the real `app.py` with `streamlit.testing.v1.AppTest`, run twice to
warm up, then rerun `--reruns` times; the table gives the median and the
90th percentile of one full script run (AppTest's own overhead included:
it runs the script in a thread and parses the elements). The store holds
20 finished runs of 20 epochs each, so the Runs page has a table to draw.

The live-run fragment: AppTest has no fragment reruns (it reruns the whole
script), so its cost is measured as the difference of full reruns of the
Model Builder for three owners: one with no run, one whose latest run is
done (20 epochs of curves drawn once), and one whose latest run is running
with 20 epochs of metrics (the `st.fragment(run_every=1)` body: progress,
ETA and two Altair charts). In the browser only that fragment's body reruns
every second, so its share is what a watching tab costs the server.

Part 2, memory (`--rss`, default on). `streamlit run app.py` on a free
127.0.0.1 port, `LABCORE_PREWARM=0`, a temporary `LABCORE_HOME`; a headless
Chromium page (Playwright, /usr/bin/chromium) stays open. For each of
`--runs` runs: a `sleep` run is submitted through the library into the
server's store, the page opens /runs and waits for the run to finish, then
opens /builder; the server's VmRSS (from /proc/PID/status) is sampled after
each run.

Run from the repository root:
    python -m bench.ui_cost --reruns 20 --runs 20
"""

import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

from bench import _processes, _report

__all__ = ["main"]

MODULE = "bench.ui_cost"
REPO_ROOT = Path(__file__).resolve().parent.parent
APP = str(REPO_ROOT / "app.py")
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
EPOCH_METRICS = 20


def _fake_metrics(epoch):
    return {"loss": 1.0 / epoch, "accuracy": 1 - 1 / (epoch + 1), "val_loss": 1.1 / epoch,
            "val_accuracy": 1 - 1.2 / (epoch + 1), "learning_rate": 1e-3, "seconds": 2.0,
            "images_per_second": 2500.0}


def _add_run(store, owner, kind, status, epochs=EPOCH_METRICS):
    """A run with `epochs` epochs of metrics, left in `status` ("done" or "running")."""
    from labcore import spec, trainconfig

    config = ({"spec": spec.default_spec().to_dict(), "train": trainconfig.TrainConfig(epochs=epochs).to_dict()}
              if kind == "train" else {"epochs": epochs, "seconds_per_epoch": 0.1})
    run_id = store.create_run(kind, config, owner, f"bench {kind} run")
    store.claim_run(run_id, "bench")
    # Our own pid: alive, so no supervisor marks this run interrupted.
    store.set_pid(run_id, os.getpid())
    for epoch in range(1, epochs + 1):
        store.add_metrics(run_id, "train", epoch, _fake_metrics(epoch))
    if status == "done":
        store.merge_result(run_id, {"test_accuracy": 0.85})
        store.set_status(run_id, "done")
    else:
        store.set_progress(run_id, 0.5, f"epoch {epochs // 2}/{epochs} · batch 10/85")
    return run_id


def _time_reruns(page, owner, reruns):
    """Seconds of `reruns` full reruns of `page` after two warm-up runs; plus page problems."""
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(APP, default_timeout=120)
    at.query_params["owner"] = owner
    at.run()
    if page:
        at.switch_page(page).run()
    at.run()
    times = []
    for _ in range(reruns):
        started = time.perf_counter()
        at.run()
        times.append(time.perf_counter() - started)
    problems = [e.value for e in at.exception] + [e.value for e in at.error]
    return times, problems


def _p90(values):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(0.9 * (len(ordered) - 1))))]


def rerun_table(reruns, pages):
    """Part 1: rerun times of every page and of the builder with and without a live run."""
    from labcore.store import Store

    store = Store()  # $LABCORE_HOME/labcore.db: the file the app's pages read
    for _ in range(20):
        _add_run(store, "someone-else", "sleep", "done")
    _add_run(store, "bench-done", "train", "done")
    scenarios = [(page, "bench-empty", "") for page in pages]
    scenarios += [("app_pages/builder.py", "bench-done", "latest run done, 20 epochs of curves"),
                  ("live", "bench-live", "latest run running, 20 epochs: the live fragment"),
                  ("app_pages/runs.py", "bench-live", "a run training: 'Now training' live fragment")]
    rows, medians = [], {}
    live_id = None
    try:
        for page, owner, what in scenarios:
            if page == "live":
                live_id = _add_run(store, "bench-live", "train", "running")
                page = "app_pages/builder.py"
            times, problems = _time_reruns(page, owner, reruns)
            medians[(page, what)] = statistics.median(times)
            rows.append([page, what or "20 finished runs in the store, none of this owner's",
                         f"{1000 * statistics.median(times):.0f}", f"{1000 * _p90(times):.0f}",
                         f"{1000 * min(times):.0f}", "; ".join(problems)[:120] or "none"])
            print(" | ".join(rows[-1]), flush=True)
    finally:
        if live_id is not None:
            store.set_status(live_id, "done")
    base = medians.get(("app_pages/builder.py", ""))
    live = medians.get(("app_pages/builder.py", "latest run running, 20 epochs: the live fragment"))
    done = medians.get(("app_pages/builder.py", "latest run done, 20 epochs of curves"))
    return rows, base, done, live


# -- part 2: the real server's memory ---------------------------------------------------


def _open(page, url, heading, timeout_s=120):
    page.goto(url)
    page.locator("h1", has_text=heading).first.wait_for(timeout=timeout_s * 1000)


def rss_table(n_runs, sleep_s):
    """Part 2: server VmRSS after each of `n_runs` finished runs, a browser page open."""
    from playwright.sync_api import sync_playwright

    from labcore import jobs
    from labcore.store import Store

    home = Path(tempfile.mkdtemp(prefix="bench-ui-server-"))
    server, base = _processes.start_app(home)
    samples = []
    try:
        store = Store(home / "labcore.db")
        samples.append(("server started", _processes.memory_mb(server.pid)))
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            page = browser.new_page()
            # The root first, as a learner would.
            _open(page, f"{base}/?owner=bench", "")
            _open(page, f"{base}/runs?owner=bench", "Runs")
            _open(page, f"{base}/builder?owner=bench", "Model Builder")
            samples.append(("builder and runs pages opened", _processes.memory_mb(server.pid)))
            for index in range(1, n_runs + 1):
                run_id = jobs.submit(store, "sleep", {"epochs": 3, "seconds_per_epoch": sleep_s},
                                     owner="bench", title=f"rss run {index}")
                _open(page, f"{base}/runs?owner=bench", "Runs")
                deadline = time.monotonic() + 120
                while store.get_run(run_id).status in ("queued", "running"):
                    if time.monotonic() > deadline:
                        raise RuntimeError(f"sleep run {run_id} did not finish")
                    time.sleep(0.2)
                _open(page, f"{base}/builder?owner=bench", "Model Builder")
                time.sleep(1.0)  # let the page's last rerun finish on the server
                samples.append((f"after run {index}", _processes.memory_mb(server.pid)))
                print(f"run {index}: server VmRSS {samples[-1][1]:.1f} MB", flush=True)
            browser.close()
    finally:
        _processes.stop_app(server)
    return samples


def _slope(values):
    """Least-squares slope of values against their index (MB per run)."""
    n = len(values)
    if n < 2:
        return 0.0
    mean_x, mean_y = (n - 1) / 2, sum(values) / n
    num = sum((i - mean_x) * (v - mean_y) for i, v in enumerate(values))
    den = sum((i - mean_x) ** 2 for i in range(n))
    return num / den


def main(argv=None):
    """Parse arguments, measure, report."""
    parser = _report.parser(__doc__.split("\n\n")[0])
    parser.add_argument("--reruns", type=int, default=20, help="timed reruns per page")
    parser.add_argument("--runs", type=int, default=20, help="finished runs for the memory part")
    parser.add_argument("--sleep", type=float, default=0.2, help="seconds per epoch of each sleep run (3 epochs)")
    parser.add_argument("--no-rss", action="store_true", help="skip the real server's memory part")
    parser.add_argument("--no-reruns", action="store_true", help="skip the AppTest part")
    args = parser.parse_args(argv)

    os.environ["LABCORE_HOME"] = tempfile.mkdtemp(prefix="bench-ui-apptest-")
    os.environ["LABCORE_PREWARM"] = "0"
    sys.path.insert(0, str(REPO_ROOT))
    pages = sorted(str(p.relative_to(REPO_ROOT)) for p in (REPO_ROOT / "app_pages").glob("*.py"))

    if not args.no_reruns:
        load_start = _report.begin(args)
        rows, base, done, live = rerun_table(args.reruns, pages)
        notes = (
            f"One full script run per rerun (AppTest: `app.py` + the page + the sidebar), {args.reruns} timed "
            "reruns after two warm-up runs, in milliseconds. Target: median <= 100 ms. "
            "The live fragment's body = builder with a running run minus builder with no run: "
            f"{1000 * (live - base):.0f} ms; a finished run's curves drawn once: {1000 * (done - base):.0f} ms. "
            "In a browser only the fragment reruns (every second while the run is active)."
            if None not in (base, done, live) else ""
        )
        _report.report("UI cost: page reruns (AppTest)", ["page", "state", "median ms", "p90 ms", "min ms",
                                                          "page errors"],
                       rows, module=MODULE, load_start=load_start, notes=notes, args=args)
    if not args.no_rss:
        load_start = _report.begin(args)
        samples = rss_table(args.runs, args.sleep)
        after = [mb for label, mb in samples if label.startswith("after run")]
        shown = [s for s in samples if not s[0].startswith("after run")]
        shown += [s for i, s in enumerate(samples) if s[0].startswith("after run")
                  and (int(s[0].split()[-1]) in (1, 2, 5, 10, 15) or s is samples[-1])]
        rows = [[label, f"{mb:.1f}"] for label, mb in shown]
        rows.append(["growth run 1 -> last", f"{after[-1] - after[0]:+.1f}"])
        rows.append(["least-squares slope, per run", f"{_slope(after):+.2f}"])
        rows.append(["slope over the second half, per run", f"{_slope(after[len(after) // 2:]):+.2f}"])
        notes = (f"`streamlit run app.py` (LABCORE_PREWARM=0, temporary LABCORE_HOME), one headless Chromium page; "
                 f"{args.runs} sleep runs (3 epochs of {args.sleep} s) submitted via `jobs.submit` into the server's "
                 "store and run by its supervisor; /runs open while each runs, /builder after it. VmRSS of the "
                 "server process in MB. Targets: <= 300 MB, no growth across runs. All samples: "
                 + ", ".join(f"{mb:.0f}" for mb in after) + ".")
        _report.report("UI cost: server memory across finished runs", ["when", "VmRSS MB"], rows,
                       module=MODULE, load_start=load_start, notes=notes, args=args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
