"""Widgets that show runs: status, progress with ETA, live curves, errors.

Live parts are `st.fragment`s that poll the store about once a second while
a run is queued or running, and stop polling once it has finished (a full
rerun on the transition draws the final state everywhere on the page).
"""

import time

import streamlit as st

from labcore import reporting, viz
from ui import queue, state

__all__ = ["STATUS_ICONS", "keep_ticks_on_their_runs",
           "status_label", "eta_text", "run_progress", "run_curves", "batch_progress", "live_run",
           "ACTIVE", "shared_text"]

ACTIVE = ("queued", "running")
STATUS_ICONS = {"queued": ":material/schedule:", "running": ":material/directions_run:",
                "done": ":material/check_circle:", "failed": ":material/error:",
                "cancelled": ":material/block:", "interrupted": ":material/warning:"}


def keep_ticks_on_their_runs(key, run_ids):
    """Before a table of runs is drawn again, move its ticked rows to where their runs are now.

    A table's selection is row positions in the table as last drawn. A run
    added or deleted by anyone since then shifts the rows, and a position
    would name another run, which Cancel or Delete would then act on. The
    ticks are read through the ids as drawn and set again (Streamlit takes
    a selection through session state) at their runs' new rows.

    Args:
        key: str, the table's widget key.
        run_ids: list of int, the runs in the order the table is about to show them.
    """
    drawn, ticked = st.session_state.get(f"{key}_ids"), st.session_state.get(key)
    st.session_state[f"{key}_ids"] = run_ids
    if not drawn or not ticked or drawn == run_ids:
        return
    row_of = {run_id: row for row, run_id in enumerate(run_ids)}
    kept = [drawn[row] for row in ticked["selection"]["rows"] if row < len(drawn)]
    st.session_state[key] = {"selection": {"rows": [row_of[run_id] for run_id in kept if run_id in row_of],
                                           "columns": []}}


def status_label(run):
    """The status with a progress figure while running, e.g. 'running 40%'; 'cancelling' once asked to stop.

    Example:
    >>> from types import SimpleNamespace as Run
    >>> status_label(Run(status="running", progress=0.4, cancel_requested=False))
    'running 40%'
    >>> status_label(Run(status="queued", progress=0.0, cancel_requested=True))
    'cancelling'
    """
    if run.status in ACTIVE and run.cancel_requested:
        # A worker honours a cancel within a batch, a poll or two later: say at once that it was heard.
        return "cancelling"
    return f"running {100 * (run.progress or 0):.0f}%" if run.status == "running" else run.status


def duration_text(run, now=None):
    """How long the run has taken (or is taking), e.g. '1 min 05 s'."""
    if not run.started_at:
        return ""
    seconds = (run.finished_at or now or time.time()) - run.started_at
    minutes, seconds = divmod(int(round(seconds)), 60)
    return f"{minutes} min {seconds:02d} s" if minutes else f"{seconds} s"


def eta_text(run, now=None):
    """Estimated time left from progress so far, or '' when unknown."""
    if run.status != "running" or not run.started_at or not run.progress or run.progress <= 0.02:
        return ""
    elapsed = (now or time.time()) - run.started_at
    left = elapsed * (1.0 - run.progress) / run.progress
    minutes, seconds = divmod(int(round(left)), 60)
    return f"about {minutes} min {seconds:02d} s left" if minutes else f"about {seconds} s left"


def shared_text(run):
    """For a run that follows an identical one: whose training it shows, and when that trained; else ''."""
    if run.follows is None:
        return ""
    if run.status == "done" and run.started_at:
        return (f" A shared result: run #{run.follows}, identical settings, trained at "
                f"{time.strftime('%H:%M', time.localtime(run.started_at))} for everyone who asked.")
    return f" · following run #{run.follows} (identical settings), trained once for everyone who asks"


def run_progress(run):
    """Status, progress bar, ETA and (for failed runs) the error of one run."""
    if run.status == "queued":
        estimate = queue.estimates().get(run.id)
        st.info(f"Run #{run.id} is queued" + (f": {queue.wait_text(estimate)}." if estimate else "."),
                icon=STATUS_ICONS["queued"])
    elif run.status == "running":
        text = run.progress_text or "starting the worker (loading the training backend)…"
        eta = eta_text(run)
        st.progress(min(max(run.progress or 0.0, 0.0), 1.0), text=f"{text}" + (f" · {eta}" if eta else "")
                    + shared_text(run))
    elif run.status == "done":
        st.success(f"Run #{run.id} finished in {duration_text(run)}." + shared_text(run), icon=STATUS_ICONS["done"])
    elif run.status == "cancelled":
        st.warning(f"Run #{run.id} was cancelled after {duration_text(run) or 'no time'}.", icon=STATUS_ICONS["cancelled"])
    else:
        st.error(f"Run #{run.id} {run.status}: {run.error or 'no reason recorded'}", icon=STATUS_ICONS["failed"])
        if run.traceback:
            with st.expander("Details for developers"):
                st.code(run.traceback, language="text")


def run_curves(run_ids, metrics=("accuracy", "loss"), labels=None, series=None):
    """Draw the stored per-epoch curves of one or more runs, one chart per metric.

    Args:
        run_ids: list of run ids.
        metrics: metric names to draw (each with its val_ counterpart).
        labels: dict run_id -> label for the legend; default "#<id> <title>".
        series: only rows of this series (e.g. "train"), or None for all.

    Returns:
        int, how many charts were drawn.
    """
    store = state.get_store()
    rows = store.metrics_rows(run_ids)
    # Readings between epochs: drawn for one run alone, as its training curve before and between epochs.
    batches = tuple(r for r in rows if r.get("series") == reporting.BATCH_SERIES) if len(run_ids) == 1 else ()
    rows = [r for r in rows if r.get("series") != reporting.BATCH_SERIES]
    if series is not None:
        rows = [r for r in rows if r.get("series") == series]
    if not rows and not batches:
        return 0
    if labels is None:
        labels = {run.id: f"#{run.id} {run.title}" for run in map(store.get_run, run_ids) if run is not None}
    for row in rows:
        row["run"] = labels.get(row["run_id"], f"#{row['run_id']}")
        if row.get("series") not in (None, "train"):
            row["run"] += f" · {row['series']}"
    drawn = 0
    columns = st.columns(len(metrics))
    for column, metric in zip(columns, metrics):
        # Built afresh each redraw: a cache would cost more to hash the rows (st.cache_data) than the
        # spec costs to build (`viz.curves_spec`, a fraction of a millisecond).
        spec = viz.curves_spec(rows, metric=metric, batches=batches)
        if spec is not None:
            column.vega_lite_chart(spec=spec, width="stretch")
            drawn += 1
    return drawn


def batch_progress(run_ids, title, interval_s=1.0):
    """One bar for a batch of runs (a whole ladder, a seed sweep): finished, running, queued, time left.

    Live while any run of the batch is active; when one ends, the whole page
    reruns, so the results it draws from the batch take the new run in.

    Args:
        run_ids: list of int.
        title: str, what the batch is, e.g. "The ladder of 10:42:05".
        interval_s: float, polling period while any run is active.
    """
    def render():
        store = state.get_store()
        batch = [run for run in map(store.get_run, run_ids) if run is not None]
        if not batch:
            return batch
        finished = [run for run in batch if run.status not in ACTIVE]
        running = [run for run in batch if run.status == "running"]
        fraction = (len(finished) + sum(run.progress or 0.0 for run in running)) / len(batch)
        took = sorted(run.finished_at - run.started_at for run in finished if run.started_at and run.finished_at)
        left = ""
        if took and len(finished) < len(batch):
            minutes = round(took[len(took) // 2] * (len(batch) - len(finished) - 0.5 * len(running)) / 60)
            left = f" · about {minutes} min left" if minutes else " · about a minute left"
        failed = sum(run.status in ("failed", "cancelled", "interrupted") for run in finished)
        st.progress(fraction, text=f"{title}: {len(finished)} of {len(batch)} runs finished"
                    + (f" ({failed} failed or cancelled)" if failed else "")
                    + f", {len(running)} running, {len(batch) - len(finished) - len(running)} queued{left}")
        return batch

    at_render = [run for run in map(state.get_store().get_run, run_ids) if run is not None]
    active = any(run.status in ACTIVE for run in at_render)
    ended_at_render = sum(run.status not in ACTIVE for run in at_render)

    def render_and_follow():
        # A run of the batch ended: rerun the page, so what it shows of the
        # batch (a ladder, a search's trials) takes the new result in.
        batch = render()
        if active and sum(run.status not in ACTIVE for run in batch) > ended_at_render:
            st.rerun()

    st.fragment(render_and_follow, run_every=interval_s if active else None)()


def live_run(run_id, body=None, interval_s=1.0):
    """Show a run's progress and curves, polling while it is active.

    Args:
        run_id: int.
        body: optional callable(run) drawing extra results under the progress;
            defaults to the curves.
        interval_s: float, polling period while the run is active.
    """
    run = state.get_store().get_run(run_id)
    if run is None:
        st.warning(f"Run #{run_id} no longer exists (it was deleted).")
        return
    draw = body or (lambda r: run_curves([r.id]))
    active = run.status in ACTIVE

    def render():
        current = state.get_store().get_run(run_id)
        if current is None:
            st.warning(f"Run #{run_id} was deleted.")
            return
        run_progress(current)
        draw(current)
        if active and current.status not in ACTIVE:
            st.rerun()

    st.fragment(render, run_every=interval_s if active else None)()
