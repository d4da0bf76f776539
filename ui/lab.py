"""What every lab page shares: the preset picker, seeds and Run buttons, the
latest run of this browser and its seeds, the answers panel, and the
"original lab said / we measured" caption.

A lab (an entry of `labcore.labs.LABS`) provides, in its `config` part, a
frozen `Config` with `to_dict()` and a `PRESETS` dict of named configs;
these helpers need nothing else from it.
"""

import dataclasses

import streamlit as st

from labcore import data, errors, jobs, seeds
from ui import queue, sidebar, state

__all__ = ["MAX_SEEDS", "preset_picker", "seeds_input", "seeded", "run_button", "submit",
           "latest_run", "same_setting", "answers_panel", "compare_caption", "dataset_title"]

MAX_SEEDS = 5


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


def seeds_input(key, default=3, help=None):
    """How many seeds to repeat a step over: a small number input beside its Run button.

    One seed on a few hundred validation images varies by 1-2 points, as
    much as most effects the labs teach; repeated seeds give the spread the
    pages compare against.

    Returns:
        int in [1, MAX_SEEDS].
    """
    return int(st.number_input("seeds", 1, MAX_SEEDS, default, key=key,
                               help=help or "Repeat this run with seeds seed, seed + 1, ...: the page shows "
                                            "the mean and spread, and says whether a difference beats it."))


def seeded(config, title, seeds):
    """(config, title) for seeds seed, seed + 1, ...: what a Run button with `seeds` submits.

    `config` is a lab's Config, or the Builder's {"spec": ..., "train": ...}
    dict, whose seed is the training's.
    """
    if seeds == 1:
        return [(config, title)]
    first = config["train"]["seed"] if isinstance(config, dict) else config.seed
    return [(_with_seed(config, first + offset), f"{title} · seed {first + offset}") for offset in range(seeds)]


def _with_seed(config, seed):
    if isinstance(config, dict):
        return {**config, "train": {**config["train"], "seed": seed}}
    return dataclasses.replace(config, seed=seed)


def run_button(kind, runs, key, label="Run", disabled=False):
    """Submit `runs` of `kind` when pressed, and say when they would start and end; errors are shown, never raised.

    Args:
        kind: str.
        runs: list of (config, title), in the order they should queue
            (`seeded` makes one per seed).
        key: str, the button's key.

    Returns:
        list of int: the new runs' ids when they were queued on this rerun, else [].
    """
    if st.button(label, type="primary", key=key, disabled=disabled):
        return [run_id for run_id in submit(kind, runs) if run_id is not None]
    if not disabled:
        st.caption(queue.plan_text(kind, runs))
    return []


def submit(kind, runs):
    """Queue `runs` of `kind` for this browser; each refused one is shown with its reason.

    Args:
        kind: str.
        runs: list of (config, title); a config is a Record or a dict.

    Returns:
        list with, for each run, its id, or None when it was refused.
    """
    run_ids = []
    for config, title in runs:
        values = config if isinstance(config, dict) else config.to_dict()
        try:
            run_ids.append(jobs.submit(state.get_store(), kind, values, owner=state.owner(), title=title,
                                       share=sidebar.share_results()))
        except errors.LabError as exc:
            st.error(f"{title}: {exc}")
            run_ids.append(None)
    queued = [run_id for run_id in run_ids if run_id is not None]
    if queued:
        store = state.get_store()
        shared = sum(store.get_run(run_id).follows is not None for run_id in queued)
        st.toast((f"{len(queued)} runs queued" if len(queued) > 1 else f"Run #{queued[0]} queued: {runs[0][1]}")
                 + (f"; {shared} follow{'s' if shared == 1 else ''} an identical run, trained once for everyone"
                    if shared else ""))
    return run_ids


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


def answers_panel(answers, source="Original lab"):
    """The lab's answers: each question, what the learner's runs say, and the original's answer.

    Args:
        answers: list of `labcore.answers.Answer`.
        source: str, what the reference answers come from (a lab with no
            original names its published sources).
    """
    for answer in answers:
        with st.container(border=True):
            st.markdown(f"**{answer.question}**")
            st.markdown(f"**Your runs:** {answer.measured}")
            st.caption(f"**{source}:** {answer.original}")


def same_setting(run, statuses=("done",), seed_key="seed"):
    """This browser's runs of `run`'s kind whose config differs from `run`'s in the seed only.

    Args:
        run: `labcore.store.Run`.
        statuses: tuple of str, the statuses to keep.
        seed_key: str, where the config keeps its seed ("train.seed" for
            the Builder's runs).

    Returns:
        list of `labcore.store.Run`, newest first, `run` itself included when its status is kept.
    """
    wanted = seeds.setting(run.config, seed_key)
    return [other for other in state.get_store().list_runs(owner=state.owner(), kind=run.kind, limit=500)
            if other.status in statuses and seeds.setting(other.config, seed_key) == wanted]


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
