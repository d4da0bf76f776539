"""The sidebar on every page: the worker device, the dataset, the shared queue and instructor mode."""

import streamlit as st

from labcore import data, device
from ui import queue, runs, state

__all__ = ["render", "dataset_key", "share_results"]

DATASET_KEY = "dataset"
TOKEN_INPUT_KEY = "instructor_token_input"
_REFUSED_KEY = "instructor_refused"
SHARE_KEY = "share_results"


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


def _cluster():
    room = state.cluster()
    if room is None:
        return
    gpus = f" · {room['gpus']:g} GPUs ({room['free_gpus']:g} free)" if room["gpus"] else ""
    st.caption(f"Runs go to a Ray cluster: {room['nodes']} node{'s' if room['nodes'] != 1 else ''} · "
               f"{room['cpus']:g} CPUs ({room['free_cpus']:g} free){gpus}.")


def _queue():
    _cluster()
    store = state.get_store()
    if store.paused():
        st.warning("The instructor paused the queue: queued runs start when it resumes.",
                   icon=":material/pause_circle:")
    active = store.list_runs(statuses=runs.ACTIVE)
    if not active:
        st.caption("Queue: empty. Press Train or Run on any page to start one.")
        return
    me = state.owner()
    ahead = queue.estimates()
    for run in sorted(active, key=lambda run: ahead[run.id].position if run.id in ahead else 0):
        mine = ", ".join(filter(None, ["yours" if run.owner == me else "",
                                       f"follows #{run.follows}" if run.follows else ""]))
        mine = f" ({mine})" if mine else ""
        if run.status == "running":
            st.progress(min(max(run.progress or 0.0, 0.0), 1.0),
                        text=f"#{run.id} {run.title}{mine}")
        elif run.id in ahead:
            # A Material icon, not an emoji: headless Chromium without emoji fonts drew "⏳" as an empty box.
            st.caption(f":material/hourglass_top: #{run.id} {run.title}{mine}: {queue.wait_text(ahead[run.id])}")
    slots, note = state.slots()
    if slots > 1:
        st.caption(f"{slots} runs train at once; owners take turns.")
    if note:
        st.warning(note)


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


def _sharing():
    st.toggle("Reuse identical runs", value=True, key=SHARE_KEY,
              help="When someone has already trained (or is training) a run with exactly your settings and the "
                   "same code, yours follows theirs: its result at once, or live. Off: train your own copy.")


def share_results():
    """Whether this browser's runs follow identical ones (the sidebar's toggle; on by default)."""
    return st.session_state.get(SHARE_KEY, True)


def render():
    """Draw the sidebar; call once per script run from app.py."""
    with st.sidebar:
        probe = state.device_probe()
        st.caption("Training device: " + (device.describe(probe) if probe else "probing…"))
        _dataset_picker()
        st.markdown("**Training queue**")
        st.fragment(_queue, run_every=2.0)()
        _sharing()
        _instructor()
