"""Runs: every run on this server, live; compare curves; cancel and delete your own."""

import pandas as pd
import streamlit as st

from labcore import errors, jobs, slides
from ui import runs, state

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
    return "you" if run.owner == me else "someone else"


table = pd.DataFrame([{
    "id": r.id, "title": r.title, "kind": r.kind, "status": runs.status_label(r),
    "progress": r.progress or 0.0, "duration": runs.duration_text(r), "owner": _owner_text(r),
    "error": r.error or "",
} for r in all_runs])
selection = st.dataframe(
    table, hide_index=True, width="stretch", on_select="rerun", selection_mode="multi-row", key="runs_table",
    column_config={"progress": st.column_config.ProgressColumn("progress", min_value=0.0, max_value=1.0),
                   "error": st.column_config.TextColumn("error", width="large")})
chosen = [all_runs[i] for i in selection.selection.rows]
st.caption("Select runs (tick the boxes at the left) to compare, cancel or delete them.")

if chosen:
    mine = [r for r in chosen if admin or r.owner == me]
    a, b, _ = st.columns([1, 1, 4])
    if a.button(f"Cancel ({len([r for r in mine if r.status in runs.ACTIVE])})", key="runs_cancel",
                disabled=not any(r.status in runs.ACTIVE for r in mine)):
        for run in mine:
            if run.status in runs.ACTIVE:
                jobs.cancel(store, run.id, owner=me, admin=admin)
        st.rerun()
    if b.button(f"Delete ({len([r for r in mine if r.status not in runs.ACTIVE])})", key="runs_delete",
                disabled=not any(r.status not in runs.ACTIVE for r in mine)):
        for run in mine:
            if run.status not in runs.ACTIVE:
                try:
                    store.delete_run(run.id, owner=me, admin=admin)
                except errors.LabError as exc:
                    st.error(str(exc))
        st.rerun()
    if len(mine) < len(chosen):
        st.caption("Runs of other people are shown but can only be changed by their owner or an instructor.")

    st.markdown("### Curves")
    ids = [r.id for r in chosen]
    if len(chosen) == 1:
        runs.live_run(chosen[0].id)
    elif not runs.run_curves(ids):
        st.info("The selected runs have no per-epoch metrics yet.")
elif any(r.status in runs.ACTIVE for r in all_runs):
    active = next(r for r in all_runs if r.status == "running") if any(
        r.status == "running" for r in all_runs) else None
    if active:
        st.markdown(f"### Now training: #{active.id} {active.title}")
        runs.live_run(active.id)
