"""What every lab page shares: the preset picker, the Run button, the latest
run of this browser, and the "original lab said / we measured" caption.

A lab (an entry of `labcore.labs.LABS`) provides, in its `config` part, a
frozen `Config` with `to_dict()` and a `PRESETS` dict of named configs;
these helpers need nothing else from it.
"""

import dataclasses

import streamlit as st

from labcore import data, errors, jobs
from ui import sidebar, state

__all__ = ["preset_picker", "run_button", "latest_run", "compare_caption", "dataset_title"]


def preset_picker(presets, key, notes=None, default="quick", help=None):
    """Radio buttons over a lab's presets, the sidebar's dataset applied.

    Args:
        presets: dict name -> Config (frozen dataclass with a `dataset` field).
        key: str, the widget key.
        notes: dict name -> one-line description shown under each preset.
        default: str, the preset chosen on first load.

    Returns:
        (name, config): the chosen preset's name and its config with
        `dataset` set to the sidebar's choice.
    """
    names = list(presets)
    name = st.radio("Preset", names, index=names.index(default) if default in names else 0, key=key,
                    horizontal=True, help=help,
                    captions=[(notes or {}).get(n, "") for n in names])
    config = presets[name]
    if "dataset" in {f.name for f in dataclasses.fields(config)}:
        config = dataclasses.replace(config, dataset=sidebar.dataset_key())
    return name, config


def run_button(kind, config, title, key, label="Run", disabled=False):
    """Submit a run of `kind` when pressed; errors are shown, never raised.

    Returns:
        int or None: the new run's id when one was queued on this rerun.
    """
    if not st.button(label, type="primary", key=key, disabled=disabled):
        return None
    try:
        run_id = jobs.submit(state.get_store(), kind, config.to_dict(), owner=state.owner(), title=title)
    except errors.LabError as exc:
        st.error(str(exc))
        return None
    st.toast(f"Run #{run_id} queued: {title}")
    return run_id


def latest_run(kind, where=None):
    """This browser's most recent run of `kind` whose config satisfies `where`.

    Kept in the store rather than the session, so a refresh finds it again.

    Args:
        kind: str.
        where: optional callable(config dict) -> bool.

    Returns:
        `labcore.store.Run` or None.
    """
    for run in state.get_store().list_runs(owner=state.owner(), kind=kind, limit=100):
        if where is None or where(run.config):
            return run
    return None


def dataset_title(key):
    """A dataset's display title, e.g. 'Fashion-MNIST (embedded 6,000-image subset)'."""
    info = data.DATASETS.get(key)
    return info.title if info else key


def compare_caption(original, measured, dataset_key):
    """One line putting our measurement beside what the original lab promised.

    Args:
        original: str, what the original lab told its students (on CIFAR-10).
        measured: str, what this run measured.
        dataset_key: str, the dataset this run used.
    """
    st.caption(f"**Original lab (CIFAR-10):** {original}  \n"
               f"**This run ({dataset_title(dataset_key)}):** {measured}")
