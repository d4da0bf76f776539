"""Process-wide resources and per-browser identity.

The store, the device probe and the job supervisor of the probed device are
made once per server process (`st.cache_resource`) and shared by every
browser session. Each browser gets an owner token kept in the URL
(`?owner=...`), which survives refreshes and page switches where
`st.session_state` does not. The server signs the tokens it issues
(`labcore.owners`), so a typed one owns nothing; a token is a capability,
not a login: whoever has the URL acts as its owner.

Instructor mode is on when the server was started with a token in
LABCORE_INSTRUCTOR_TOKEN, or in the file LABCORE_INSTRUCTOR_TOKEN_FILE
names; a session that enters it (sidebar) may cancel and delete every run.
"""

import concurrent.futures
import hmac
import os
import secrets

import streamlit as st

from labcore import device, executors, owners, store

__all__ = ["get_store", "get_supervisor", "cluster", "device_probe", "slots", "owner", "is_instructor", "instructor_token",
           "unlock_instructor", "lock_instructor", "keep_owner_in_url", "INSTRUCTOR_KEY", "load_widgets",
           "apply_loaded_widgets"]

INSTRUCTOR_KEY = "instructor"


@st.cache_resource
def get_store():
    """The run store under LABCORE_HOME, one per server process."""
    return store.Store()


@st.cache_resource
def get_supervisor():
    """The job supervisor, a thread that starts one worker process at a time, as a Future.

    Or one that hands runs to a Ray cluster, with LABCORE_EXECUTOR=ray
    (`labcore.executors.supervisor`).

    It serves the queue named after the device the probe finds
    (`device.queue_name`: "gpu" or "cpu", as the CLI names it), so it is made
    and started on the probe's thread once the probe is done; page loads
    never wait for it. It keeps a pre-warmed spare worker (Keras already
    imported) unless LABCORE_PREWARM=0, trading ~0.5 GB of idle memory for a
    start in about a second instead of 5-9 s. It trains `device.slots` runs
    at once (LABCORE_SLOTS).
    """
    store_path, probed = get_store().path, _probe_future()
    prewarm = os.environ.get("LABCORE_PREWARM", "1") != "0"
    return _probe_pool().submit(lambda: executors.supervisor(
        store_path, device=device.queue_name(probed.result()), prewarm=prewarm,
        slots=device.slots(probed.result())[0]).start())


@st.cache_resource
def _probe_pool():
    return concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="device-probe")


@st.cache_resource
def _probe_future():
    # The probe imports the training backend in a subprocess (seconds), so it
    # runs in the background and the sidebar says "probing" until it is done.
    return _probe_pool().submit(device.probe)


@st.cache_data(ttl=2.0, show_spinner=False)
def cluster():
    """The Ray cluster's nodes and free CPUs and GPUs (`RaySupervisor.cluster`), or None when runs stay here.

    Asked of Ray at most every 2 s, however many sessions draw the sidebar.
    """
    future = get_supervisor()
    return future.result().cluster() if future.done() else None


def device_probe():
    """The worker device as a dict (see `labcore.device.probe`), or None while probing."""
    future = _probe_future()
    return future.result() if future.done() else None


def slots():
    """(runs the device trains at once, why LABCORE_SLOTS was ignored or None); 1 while probing."""
    probed = device_probe()
    return (1, None) if probed is None else device.slots(probed)


@st.cache_resource
def _owner_key():
    return owners.secret()


def keep_owner_in_url():
    """Give this browser a signed owner token and keep it in the URL; return the owner it names.

    A token the server did not issue (typed, guessed, or from before tokens
    were signed) is replaced by a fresh one (`labcore.owners`).
    """
    key = _owner_key()
    token = st.query_params.get("owner") or st.session_state.get("owner_token")
    name = owners.owner_of(token, key)
    if name is None:
        token = owners.issue(key)
        name = owners.owner_of(token, key)
    st.session_state["owner_token"], st.session_state["owner"] = token, name
    if st.query_params.get("owner") != token:
        st.query_params["owner"] = token
    return name


def owner():
    """This browser's owner name (the part of its token before the signature)."""
    return st.session_state.get("owner") or keep_owner_in_url()


def is_instructor():
    """True when this session unlocked instructor mode (see the sidebar) and it is still configured."""
    return bool(st.session_state.get(INSTRUCTOR_KEY)) and instructor_token() is not None


def instructor_token():
    """The instructor token, or None when instructor mode is off.

    Read from LABCORE_INSTRUCTOR_TOKEN, else from the file named by
    LABCORE_INSTRUCTOR_TOKEN_FILE (surrounding whitespace dropped), on every
    call, so a changed or removed token takes effect at once. A missing,
    unreadable or empty file leaves instructor mode off.
    """
    token = os.environ.get("LABCORE_INSTRUCTOR_TOKEN", "").strip()
    path = os.environ.get("LABCORE_INSTRUCTOR_TOKEN_FILE", "").strip()
    if not token and path:
        try:
            with open(path, encoding="utf-8") as token_file:
                token = token_file.read(4096).strip()
        except (OSError, UnicodeDecodeError):
            token = ""
    return token or None


def unlock_instructor(candidate):
    """Enter instructor mode for this session if `candidate` is the token.

    Compared in constant time (`hmac.compare_digest`), so the answer's timing
    does not leak how much of a guess was right.

    Returns:
        bool, whether the session is now in instructor mode.
    """
    token = instructor_token()
    granted = token is not None and hmac.compare_digest(
        str(candidate or "").strip().encode("utf-8"), token.encode("utf-8"))
    st.session_state[INSTRUCTOR_KEY] = granted
    return granted


def lock_instructor():
    """Leave instructor mode."""
    st.session_state[INSTRUCTOR_KEY] = False


_LOADED = "widgets_to_load"


def load_widgets(values):
    """Give widgets these values, then rerun: a page that loads a setting (a link) sets fields drawn before it.

    Streamlit refuses to change a widget's value once the widget is drawn in
    a run, and the sidebar (the dataset) is drawn before the page. So the
    values wait in the session for the next run, where `app.py` applies them
    (`apply_loaded_widgets`) before anything is drawn.

    Args:
        values: dict of widget key -> value.
    """
    st.session_state[_LOADED] = dict(values)
    st.rerun()


def apply_loaded_widgets():
    """Apply the values `load_widgets` left for this run; app.py calls it before drawing any widget."""
    for key, value in st.session_state.pop(_LOADED, {}).items():
        st.session_state[key] = value
