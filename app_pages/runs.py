"""Runs: every run on this server, live; compare curves; cancel and delete your own; look into a finished model."""

import pandas as pd
import streamlit as st

from labcore import errors, export, jobs, slides
from ui import featuremaps, queue, runs, state

st.title("Runs")
st.markdown(slides.lead("runs"))

store = state.get_store()
me = state.owner()
admin = state.is_instructor()
all_runs = store.list_runs(limit=500)
if not all_runs:
    st.info("No runs yet. Press **Train** on the Model Builder or in a lab.")
    st.stop()


def _owner_text(run):
    if run.owner == me:
        return "you"
    # Instructors see whose run it is; attendees do not see others' tokens.
    return run.owner if admin else "someone else"


def _act(action, targets, settle=False):
    """Apply `action(run_id)` to each run; show what was refused, else rerun to show the new state.

    With `settle`, first wait (a few seconds at most) for the runs to stop:
    a running run's worker takes a fraction of a second to honour a cancel,
    and the rerun then shows the outcome at once instead of leaving it to
    the next poll of the live fragment.
    """
    refused = []
    for run in targets:
        try:
            action(run.id)
        except (errors.LabError, KeyError) as exc:  # deleted or started meanwhile, or no longer ours
            refused.append(str(exc).strip("'\""))
    for message in refused:
        st.error(message)
    if not refused:
        if settle:
            with st.spinner("Cancelling…"):
                jobs.wait_until_settled(store, [run.id for run in targets])
        st.rerun()


def _exports(run):
    """Download buttons for a finished Model Builder run (`labcore.export`), or why there are none."""
    labels = {"keras": "The trained model (.keras)", "spec": "Its spec (JSON)",
              "script": "A script that trains it with Keras alone (.py)"}
    columns = st.columns(len(labels))
    missing = []
    for column, (fmt, label) in zip(columns, labels.items()):
        try:
            name, content = export.exported(store, run, fmt)
        except errors.LabError:
            what = label.split(" (")[0]
            missing.append(what[0].lower() + what[1:])
            continue
        column.download_button(label, content, file_name=name, key=f"runs_export_{fmt}", icon=":material/download:")
    if missing:
        st.caption(f"Not stored for this run: {', '.join(missing)} (runs that finished before exports existed, "
                   "or the script for a dataset without IDX files).")


def _move_to_front(run_id):
    if not store.set_urgent(run_id):
        raise errors.LabError(f"Run {run_id} has left the queue meanwhile (started, cancelled or deleted).")


if admin:
    st.caption("Instructor mode: you can cancel and delete every run, and move a queued run to the front.")
    paused = store.paused()
    if st.button("Resume the queue" if paused else "Pause the queue", key="runs_pause",
                 icon=":material/play_arrow:" if paused else ":material/pause:",
                 help="While paused, running runs finish and queued ones wait; every attendee sees it."):
        store.set_paused(not paused)
        st.rerun()

ahead = queue.estimates()
table = pd.DataFrame([{
    "id": r.id, "title": r.title, "kind": r.kind, "status": runs.status_label(r),
    "in line": queue.wait_text(ahead[r.id]) if r.id in ahead else "",
    "progress": r.progress or 0.0, "duration": runs.duration_text(r), "owner": _owner_text(r),
    "shares": f"#{r.follows}" if r.follows else "",
    "error": r.error or "",
} for r in all_runs])
runs.keep_ticks_on_their_runs("runs_table", [r.id for r in all_runs])
selection = st.dataframe(
    table, hide_index=True, width="stretch", on_select="rerun", selection_mode="multi-row", key="runs_table",
    column_config={"progress": st.column_config.ProgressColumn("progress", min_value=0.0, max_value=1.0),
                   "error": st.column_config.TextColumn("error", width="large")})
chosen = [all_runs[i] for i in selection.selection.rows if i < len(all_runs)]
st.caption("Select runs (tick the boxes at the left) to compare, cancel or delete them.")

if chosen:
    mine = [r for r in chosen if admin or r.owner == me]
    cancellable = [r for r in mine if r.status in runs.ACTIVE]
    deletable = [r for r in mine if r.status not in runs.ACTIVE]
    a, b, c, _ = st.columns([1, 1, 1.4, 2.6])
    if a.button(f"Cancel ({len(cancellable)})", key="runs_cancel", disabled=not cancellable):
        _act(lambda run_id: jobs.cancel(store, run_id, owner=me, admin=admin), cancellable, settle=True)
    if b.button(f"Delete ({len(deletable)})", key="runs_delete", disabled=not deletable):
        _act(lambda run_id: store.delete_run(run_id, owner=me, admin=admin), deletable)
    waiting = [r for r in chosen if r.status == "queued"]
    if admin and c.button(f"Move to front ({len(waiting)})", key="runs_front", disabled=not waiting,
                          help="Runs moved to the front start before every other queued run, oldest first."):
        _act(_move_to_front, waiting)
    others = [f"#{r.id}" for r in chosen if r not in mine]
    if others:
        st.caption(f"{', '.join(others)}: another session's run{'s' if len(others) > 1 else ''}, shown to "
                   "everyone but only its owner or an instructor can cancel or delete it.")

    if len(chosen) == 1 and chosen[0].kind == "train" and chosen[0].status == "done":
        _exports(chosen[0])
    st.markdown("### Curves")
    ids = [r.id for r in chosen]
    if len(chosen) == 1:
        runs.live_run(chosen[0].id)
    elif not runs.run_curves(ids):
        st.info("The selected runs have no per-epoch metrics yet.")
    if len(chosen) == 1:
        featuremaps.section(chosen[0])
elif any(r.status in runs.ACTIVE for r in all_runs):
    active = next(r for r in all_runs if r.status == "running") if any(
        r.status == "running" for r in all_runs) else None
    if active:
        st.markdown(f"### Now training: #{active.id} {active.title}")
        runs.live_run(active.id)
