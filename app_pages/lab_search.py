"""Guided search lab: your own architecture with some decisions left open, searched in rounds.

The page edits the space (each dimension fixed, ranged or listed), shows
its size and the parameters it spans, asks the study (Optuna, in its own
journal file beside the store) for a round of trials and queues each as an
ordinary run, tells the study about the runs that have finished, and draws
the trials against size with the Pareto front. The study and its runs live
on the server, so a refresh or a restart loses nothing.
"""

import dataclasses

import pandas as pd
import streamlit as st

from labcore import data, slides
from labcore.answers import Answer
from labcore.errors import LabError
from labcore.labs.search import compare, fidelity, mutate, recipe, views
from labcore.labs.search import study as studies
from labcore.labs.search.config import (DIMENSIONS, PRESET_NOTES, PRESETS, PROMOTION_FACTOR, Config, Dimension,
                                        Member, Space)
from ui import lab, runs, state
from ui import queue as queue_ui

KIND = "search"
text = slides.sections("lab_search")

st.title("Guided search")
st.markdown(slides.lead("lab_search"))
st.markdown("## A search space from your own architecture")
st.markdown(text["A search space from your own architecture"])

preset, config = lab.preset_picker(PRESETS, key="search_preset", notes=PRESET_NOTES)
info = data.DATASETS[config.dataset]


def _parse(raw, kind):
    """The values typed for one dimension: comma-separated, as the dimension's type."""
    words = [word.strip() for word in raw.split(",") if word.strip()]
    convert = {"int": int, "float": float}.get(kind, str)
    return tuple(convert(word) for word in words)


def dimension_editor(name, current):
    """One row: the dimension's title, how it is searched, its values; returns (Dimension, problem or None)."""
    about = DIMENSIONS[name]
    a, b, c, d = st.columns([3, 2, 4, 1], vertical_alignment="center")
    a.markdown(f"**{about.title}**", help=about.help)
    modes = ["fixed", "list"] + (["range"] if about.ordered else [])
    mode = b.selectbox(f"how to search {about.title}", modes, index=modes.index(current.mode),
                       key=f"search_{name}_mode", label_visibility="collapsed")
    raw = c.text_input(f"values of {about.title}", ", ".join(map(str, current.values)), key=f"search_{name}_values",
                       label_visibility="collapsed",
                       help="fixed: one value; range: low, high; list: every value to try, comma-separated.")
    log = d.checkbox("log", current.log, key=f"search_{name}_log", disabled=about.value.kind != "float",
                     help="Sample a range on a log scale (for rates).")
    try:
        return Dimension(mode, _parse(raw, about.value.kind), log and mode == "range"), None
    except ValueError:
        return current, f"space.{name}: {raw!r} must be {about.value.kind}s separated by commas."


edited, typing = {}, []
for part in ("macro", "micro", "training"):
    st.markdown(f"#### The {part} {'architecture' if part != 'training' else 'settings'}")
    for name, about in DIMENSIONS.items():
        if about.part == part:
            edited[name], problem = dimension_editor(name, getattr(Space(), name))
            typing += [problem] if problem else []
space = Space(**edited)
found = typing or recipe.space_problems(space.to_dict(), info.image_shape, info.n_classes)
for message in found:
    st.warning(message)
if not found:
    size, (fewest, most) = recipe.size(space), recipe.param_range(space, info.image_shape, info.n_classes)
    a, b = st.columns(2)
    a.metric("members in the space", "continuous" if size is None else f"{size:,}",
             "a float range is open-ended" if size is None else None, delta_color="off", delta_arrow="off")
    b.metric("parameters spanned", f"{fewest:,} to {most:,}")

st.markdown("## Search strategies")
st.markdown(text["Search strategies"])
a, b, c = st.columns([3, 2, 2], vertical_alignment="bottom")
strategy = a.radio("strategy", studies.STRATEGIES, index=studies.STRATEGIES.index("tpe"), horizontal=True,
                   key="search_strategy")
n_trials = b.number_input("trials per round", 1, 16, 4, key="search_trials")
study_name = c.text_input("study", "my-search", key="search_study", max_chars=40,
                          help="A new name starts a new study; the same name carries on where it stopped.")
name = f"{study_name}-{strategy}-{preset}"
path = state.get_store().path.parent / "search" / f"{state.owner()}.journal"
study, study_problem = None, None
try:
    study = studies.open_study(path, name, strategy, space, seed=config.seed)
except LabError as error:
    study_problem = str(error)
    st.warning(study_problem)


def study_runs(wanted):
    """This browser's trials whose study name satisfies `wanted`."""
    return [run for run in state.get_store().list_runs(owner=state.owner(), kind=KIND, limit=1000)
            if wanted(run.config.get("study", ""))]


mine = study_runs(lambda study: study == name)
if study is not None:
    studies.sync(study, mine)


def queue(asked, trials):
    """Queue the asked trials as runs; a trial whose run was refused is told failed, so the study moves on."""
    for (number, _), run_id in zip(asked, lab.submit(KIND, trials)):
        if run_id is None:
            studies.tell(study, number, failed=True)
    return study_runs(lambda study: study == name)


st.markdown("## Rounds: look, narrow, search again")
st.markdown(text["Rounds: look, narrow, search again"])
if st.button(f"Run a round of {n_trials} trial(s)", type="primary", key="search_round",
             disabled=bool(found) or study is None):
    asked = studies.round_of(study, space, int(n_trials))
    mine = queue(asked, [(dataclasses.replace(config, member=Member(**choice), study=name, trial=number),
                          f"Search · {name} · trial {number}") for number, choice in asked])

if study is not None:
    rows = studies.trial_rows(study)
    latest_round = max((row.get("round", 0) for row in rows), default=0)
    by_trial = {run.config.get("trial"): run.id for run in mine if run.config.get("rung", 0) == 0}
    current = [by_trial[row["trial"]] for row in rows if row.get("round") == latest_round and row["trial"] in by_trial]
    if current:
        runs.batch_progress(current, f"Round {latest_round}")
    chart = views.trials_chart(rows)
    if chart is not None:
        st.altair_chart(chart, width="stretch")
    st.markdown(views.front_text(rows))
    searched = [name for name in DIMENSIONS if getattr(space, name).mode != "fixed"]
    a, b = st.columns([3, 2])
    for column, chart in ((a, views.parallel_chart(rows, searched)),
                          (b, views.importance_chart(studies.importances(study)))):
        if chart is not None:
            column.altair_chart(chart, width="stretch")
    if rows:
        st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch",
                     column_config={"accuracy": st.column_config.NumberColumn(format="percent"),
                                    "params": st.column_config.NumberColumn(format="localized")})

st.markdown("## Promote the best: a higher fidelity")
st.markdown(text["Promote the best: a higher fidelity"])
if study is not None:
    finished = {run.config.get("trial"): run for run in mine
                if run.config.get("rung", 0) == 0 and run.status == "done"}
    a, b, c = st.columns([1, 2, 2], vertical_alignment="bottom")
    k = int(a.number_input("promote the best", 1, 16, 3, key="search_promote_k"))
    inherit = b.toggle("start from their weights (inheritance)", True, key="search_inherit",
                       help=f"Train only the {config.epochs * (PROMOTION_FACTOR - 1)} epochs the trial has not, "
                            "from its trained weights; off: train all of them from scratch.")
    top = [number for number in fidelity.best_trials(rows, k) if number in finished]
    with c:
        promote = st.button(f"Promote {len(top)} trial(s) to {config.epochs * PROMOTION_FACTOR} epochs",
                            key="search_promote", disabled=not top)
    if promote:
        lab.submit(KIND, [(fidelity.promoted(Config.from_dict(finished[number].config), finished[number].id, inherit),
                           f"Search · {name} · trial {number} promoted" + (", inheriting" if inherit else ""))
                          for number in top])
        mine = study_runs(lambda study: study == name)
    parents = {run.config.get("parent_run") for run in mine if run.config.get("rung", 0) == 1}
    curves = {run_id: [row.values["val_accuracy"] for row in state.get_store().metrics(run_id)
                       if row.series == "train" and "val_accuracy" in row.values] for run_id in parents}
    promotions = fidelity.promotion_rows(mine, curves)
    if promotions:
        st.dataframe(pd.DataFrame(promotions), hide_index=True, width="stretch",
                     column_config={column: st.column_config.NumberColumn(format="percent")
                                    for column in ("cheap", "predicted", "promoted")})
        st.markdown(fidelity.promotion_text(promotions))

st.markdown("## Mutate: change one thing, start from the parent")
st.markdown(text["Mutate: change one thing, start from the parent"])
if study is not None:
    # Only members of the space as it is now can be asked for (an earlier round may have been wider).
    mutable = {number: run for number, run in finished.items() if mutate.fits(space, Member(**run.config["member"]))}
    best_first = [number for number in fidelity.best_trials(rows, len(rows)) if number in mutable]
    # Drawn once a trial can be chosen, so that its default is the best one.
    chosen, keep, go = [], True, False
    if best_first:
        a, b, c = st.columns([3, 3, 2], vertical_alignment="bottom")
        chosen = a.multiselect("trials to mutate (best first)", best_first, default=best_first[:1],
                               format_func=lambda number: f"trial {number}", key="search_mutate_parents")
        keep = b.toggle("start from the parent's weights", True, key="search_mutate_inherit",
                        help="Copy every trained layer that still matches by name and shape; off: train the child "
                             "from scratch.")
        with c:
            go = st.button(f"Mutate {len(chosen)} trial(s)", key="search_mutate", disabled=not chosen)
    else:
        st.caption("Finish a round first: a trial of the space as it is now can then be mutated.")
    if go:
        children = [(mutable[number], *moved) for number in chosen
                    for moved in [mutate.neighbour(space, Member(**mutable[number].config["member"]),
                                                   seed=mutable[number].id + len(mine))] if moved]
        asked = studies.ask_for(study, space, [(child.to_dict(), {"mutation_of": parent.config["trial"],
                                                                  "mutation": moved})
                                               for parent, child, moved in children])
        mine = queue(asked, [(dataclasses.replace(mutate.mutated(Config.from_dict(parent.config), parent.id, child,
                                                                 moved, keep), study=name, trial=number),
                              f"Search · {name} · trial {number}: trial {parent.config['trial']} mutated ({moved})")
                             for (number, _), (parent, child, moved) in zip(asked, children)])
        if len(children) < len(chosen):
            st.info("A trial whose every searched dimension is pinned by the space has no neighbour to move to.")
    mutations = mutate.mutation_rows(mine)
    if mutations:
        st.dataframe(pd.DataFrame(mutations).assign(change=lambda frame: 100 * frame["change"]), hide_index=True,
                     width="stretch",
                     column_config={"parent_accuracy": st.column_config.NumberColumn(format="percent"),
                                    "child_accuracy": st.column_config.NumberColumn(format="percent"),
                                    "change": st.column_config.NumberColumn("change (points)", format="%+.1f")})
        st.markdown(mutate.mutation_text(mutations))

st.markdown("## Guided against blind, at the same budget")
st.markdown(text["Guided against blind, at the same budget"])
# Grid search cannot cover the blind space's float ranges; both arms then draw at random.
vs_strategy = "random" if strategy == "grid" else strategy
comparison = f"{study_name}-vs-{vs_strategy}-{preset}"
a, b, c = st.columns([3, 1, 1], vertical_alignment="bottom")
budget = int(b.number_input("trials per arm", 1, 16, 4, key="search_vs_budget"))
with c:
    vs_seeds = lab.seeds_input("search_vs_seeds", default=3)


def ask(arm_name, arm_space, seed):
    """The next `budget` trials of one arm's study, told first about its finished runs."""
    arm = studies.open_study(path, arm_name, vs_strategy, arm_space, seed=seed)
    studies.sync(arm, study_runs(lambda study: study == arm_name))
    return studies.round_of(arm, arm_space, budget)


with a:
    pressed = st.button(f"Run guided vs blind: {budget} trial(s) x 2 searches x {vs_seeds} seed(s)",
                        type="primary", key="search_vs_run", disabled=bool(found))
n_trials = 2 * budget * vs_seeds
st.caption(f"{n_trials} trials, each an ordinary run in the shared queue. "
           + queue_ui.plan_text(KIND, [(config, "trial")] * n_trials)
           + (" Grid search cannot cover the blind space's ranges, so both searches draw at random."
              if strategy == "grid" else f" Both searches use {vs_strategy}."))
if pressed:
    planned = compare.comparison_trials(config, comparison, space, vs_seeds, ask)
    for (trial, _), run_id in zip(planned, lab.submit(KIND, planned)):
        if run_id is None:
            studies.tell(studies.open_study(path, trial.study, vs_strategy, Space(), seed=trial.seed),
                         trial.trial, failed=True)
vs_runs = study_runs(lambda study: study.startswith(f"{comparison}-"))
if vs_runs:
    runs.batch_progress([run.id for run in vs_runs], "Guided vs blind")
progress = compare.best_so_far(compare.trials_of(vs_runs), comparison)
chart = views.budget_chart(progress)
if chart is not None:
    st.altair_chart(chart, width="stretch")
said = compare.verdict(progress)
st.markdown(said)

st.markdown("## The lab's answers")
st.markdown(text["The lab's answers"])
lab.answers_panel([Answer(
    "Does a guided search beat a blind one at the same budget?", said,
    "The course report behind the labs found blind AutoML (AutoKeras) needed extensive training to reach "
    "reasonable accuracy; guiding the space is meant to cut that.")])
