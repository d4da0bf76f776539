"""The sidebar on every page: the worker device, the dataset, the shared queue and instructor mode."""

import streamlit as st

from labcore import data, device
from ui import runs, state

__all__ = ["render", "dataset_key"]

DATASET_KEY = "dataset"
TOKEN_INPUT_KEY = "instructor_token_input"
_REFUSED_KEY = "instructor_refused"


def dataset_key():
    """The dataset chosen in the sidebar (the embedded Fashion-MNIST subset by default)."""
    return st.session_state.get(DATASET_KEY, data.DEFAULT_DATASET)


def _dataset_picker():
    available = {key: data.availability(key) for key in data.DATASETS}
    options = list(data.DATASETS)
    st.selectbox(
        "Dataset", options, key=DATASET_KEY,
        index=options.index(data.DEFAULT_DATASET),
        format_func=lambda k: data.DATASETS[k].title + ("" if available[k][0] else " (not found)"),
        help="Used by the Model Builder and the labs. The embedded subset works offline.")
    ok, message = available[dataset_key()]
    if not ok:
        st.warning(message)


def _queue():
    store = state.get_store()
    active = store.list_runs(statuses=runs.ACTIVE)
    if not active:
        st.caption("Queue: empty. Press Train or Run on any page to start one.")
        return
    me = state.owner()
    for run in active:
        mine = " (yours)" if run.owner == me else ""
        if run.status == "running":
            st.progress(min(max(run.progress or 0.0, 0.0), 1.0),
                        text=f"#{run.id} {run.title}{mine}")
        else:
            st.caption(f"⏳ #{run.id} {run.title}{mine}: queued")


def _check_token():
    entered = st.session_state.get(TOKEN_INPUT_KEY, "")
    # The token is checked once and never kept in the session.
    st.session_state[TOKEN_INPUT_KEY] = ""
    if entered:
        st.session_state[_REFUSED_KEY] = not state.unlock_instructor(entered)


def _instructor():
    """Only where the server was started with an instructor token (see `state.instructor_token`)."""
    if state.instructor_token() is None:
        return
    with st.expander("Instructor", icon=":material/school:"):
        if state.is_instructor():
            st.caption("Instructor mode: you can cancel and delete every run on the Runs page.")
            st.button("Leave instructor mode", key="instructor_leave", on_click=state.lock_instructor)
            return
        st.text_input("Instructor token", type="password", key=TOKEN_INPUT_KEY, on_change=_check_token,
                      help="Given to whoever started the server; it lets you manage every attendee's runs.")
        if st.session_state.get(_REFUSED_KEY):
            st.error("That is not the instructor token; instructor mode stays off.")


def render():
    """Draw the sidebar; call once per script run from app.py."""
    with st.sidebar:
        probe = state.device_probe()
        st.caption("Training device: " + (device.describe(probe) if probe else "probing…"))
        _dataset_picker()
        st.markdown("**Training queue**")
        st.fragment(_queue, run_every=2.0)()
        _instructor()
