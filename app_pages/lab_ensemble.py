"""Ensemble lab: N instances of one model, their votes, and what combining them costs.

The page reads like the slides: why members disagree (then the preset, N,
bagging and Run), why averaging helps (the vote strip and the agreement
matrix), when it stops helping (accuracy as N grows), and the cost (the
variants' accuracy against parameters and training time). Every number is
computed by `labcore.labs.ensemble.recipe` from the run's stored
predictions, and drawn by its `views`, so the voting rule and the variant
can change without training again; this browser's latest run is found in
the store, so a refresh loses nothing.
"""

import dataclasses

import pandas as pd
import streamlit as st

from labcore import data, slides, viz
from labcore.errors import DataError
from labcore.labs.ensemble import config as lab_config
from labcore.labs.ensemble import recipe, views
from ui import lab, runs, state

STRIP_LENGTH = 8
STRIP_COLUMNS = 4

text = slides.sections("lab_ensemble")
st.title("Ensemble")
st.markdown(slides.lead("lab_ensemble"))

st.markdown("## Why instances of the same model disagree")
st.markdown(text["Why instances of the same model disagree"])

# -- the run: a preset, then the two fields this lab teaches --
preset, config = lab.preset_picker(lab_config.PRESETS, key="ensemble_preset", notes=lab_config.PRESET_NOTES)
members_range = lab_config.RANGES["n_members"]
left, right = st.columns(2)
n_members = left.slider("members N", int(members_range.lo), int(members_range.hi), config.n_members,
                        key=f"ensemble_members_{preset}",
                        help="Instances of the same spec, each with its own seed.")
bagging = right.toggle("bagging: each member trains on its own bootstrap resample", config.bagging,
                       key=f"ensemble_bagging_{preset}")
config = dataclasses.replace(config, n_members=n_members, bagging=bagging)
found = recipe.problems(config.to_dict())
for message in found:
    st.warning(message)
extra = f", {config.n_heads} heads" + (" + stacking" if config.stacking else "") if config.n_heads else ""
submitted = lab.run_button("ensemble", [(config, f"Ensemble · {preset} · {n_members} members{extra}")],
                           key="ensemble_run", disabled=bool(found))


def _members(run, member_votes, n_test):
    """Each member's test accuracy, and the spread beside the original's."""
    accuracies = member_votes["members"]
    for number, (column, value) in enumerate(zip(st.columns(len(accuracies)), accuracies), start=1):
        column.metric(f"member {number}", f"{value:.2%}",
                      f"{100 * (value - member_votes['mean_member']):+.2f} points vs the mean", delta_color="off")
    lab.compare_caption(f"{views.ORIGINAL['member']}; {views.ORIGINAL['spread']}.",
                        f"{len(accuracies)} members, {', '.join(f'{a:.2%}' for a in accuracies)}: "
                        f"a spread of {100 * member_votes['spread']:.2f} points on {n_test:,} test images.",
                        run.config["dataset"])


def _thumbnails(dataset, labels):
    """The run's test images (stored in test-set order), or None if they cannot be matched."""
    try:
        _, _, x_test, y_test = data.load_arrays(dataset)
    except DataError:
        return None
    if len(y_test) != len(labels) or (y_test != labels).any():
        return None
    return x_test


def _vote_strip(probabilities, labels, rule, weights, class_names, images):
    """The filter, then a strip of test images with each voter's bar."""
    flags = recipe.vote_flags(probabilities, labels, rule, weights)
    left, right = st.columns([3, 1])
    show = left.radio("Show", list(lab_config.FILTERS), horizontal=True, key="ensemble_filter",
                      format_func=lambda f: f"{lab_config.FILTERS[f]} ({int(flags[f].sum()):,})")
    n_shown = int(flags[show].sum())
    start = right.number_input("from image", 0, max(n_shown - 1, 0), 0, STRIP_LENGTH,
                               key=f"ensemble_start_{show}")
    strip = recipe.vote_strip(probabilities, labels, rule, weights, show=show, start=int(start),
                                limit=STRIP_LENGTH)
    if not strip:
        st.info(f"No test image fits \"{lab_config.FILTERS[show]}\" with this rule.")
        return
    for first in range(0, len(strip), STRIP_COLUMNS):
        for column, image in zip(st.columns(STRIP_COLUMNS), strip[first:first + STRIP_COLUMNS]):
            with column.container(border=True):
                if images is not None:
                    st.image(images[image["index"]].squeeze(), width=84)
                marks = [name for name, flag in (("members disagree", image["disagree"]),
                                                 ("fixed a mistake", image["fixed"]),
                                                 ("ensemble wrong", image["wrong"])) if flag]
                st.caption(f"test image {image['index']} · true: **{class_names[image['label']]}**"
                           + (f"  \n{' · '.join(marks)}" if marks else ""))
                st.altair_chart(views.vote_chart(image, class_names), width="stretch")
    if images is None:
        st.caption("Thumbnails are not shown: this run's test set is not on this server's disk.")


def _results(run):
    """Everything the run has stored so far, drawn section by section."""
    result = run.result or {}
    store = state.get_store()
    if not result.get("members"):
        if run.status == "done":
            st.warning("This run stored no members.")
        return
    labels = store.read_artifact(run.id, "test_labels")
    info = data.DATASETS[run.config["dataset"]]
    # The artifact is written just before the result, so it may hold one member more.
    member_probabilities = store.read_artifact(run.id, "member_probabilities")[:len(result["members"])]
    member_val_accuracies = [m["val_accuracy"] for m in result["members"]]
    _members(run, recipe.summarize_votes(member_probabilities, labels, member_val_accuracies), len(labels))

    variants = {"members": f"inter-model: the {len(result['members'])} members"}
    if result.get("heads"):
        variants["heads"] = f"intra-model: one trunk, {result['heads']['n_heads']} heads"
    left, right = st.columns(2)
    rule = left.radio("Voting rule", list(lab_config.RULES), format_func=lab_config.RULES.get,
                      key="ensemble_rule")
    variant = right.radio("Variant", list(variants), format_func=variants.get, key="ensemble_variant")
    if variant == "heads":
        probabilities = store.read_artifact(run.id, "head_probabilities")
        val_accuracies = result["heads"]["val_accuracies"]
        voter = "head"
    else:
        probabilities, val_accuracies, voter = member_probabilities, member_val_accuracies, "member"
    if len(probabilities) < 2:
        st.caption("Votes appear once a second member has trained.")
        return
    votes = recipe.summarize_votes(probabilities, labels, val_accuracies)
    weights = votes["weights"]
    gain = votes["rules"][rule]
    a, b, c = st.columns(3)
    a.metric(f"ensemble of {len(probabilities)} {voter}s", f"{gain['accuracy']:.2%}")
    b.metric(f"vs the best {voter}", f"{100 * gain['gain_over_best']:+.2f} points",
             f"best {voter}: {votes['best_member']:.2%}", delta_color="off", delta_arrow="off")
    c.metric(f"vs the mean {voter}", f"{100 * gain['gain_over_mean']:+.2f} points",
             f"mean {voter}: {votes['mean_member']:.2%}", delta_color="off", delta_arrow="off")
    lab.compare_caption(views.ORIGINAL["gain"] if variant == "members" else views.ORIGINAL["heads"],
                        f"{lab_config.RULES[rule]}: {gain['accuracy']:.2%}, "
                        f"{100 * gain['gain_over_best']:+.2f} points over the best {voter} and "
                        f"{100 * gain['gain_over_mean']:+.2f} over the mean {voter}.",
                        run.config["dataset"])
    st.markdown(views.gain_verdict(gain, voter))

    st.markdown("## Why averaging helps")
    st.markdown(text["Why averaging helps"])
    _vote_strip(probabilities, labels, rule, weights, info.class_names,
                _thumbnails(run.config["dataset"], labels))
    matrices = recipe.agreement(probabilities, labels)
    st.altair_chart(views.agreement_chart(matrices), width="content")
    lab.compare_caption(views.ORIGINAL["agreement"],
                        f"two {voter}s agree on {matrices['mean_agree']:.1%} of the test images on average, "
                        f"and give the same wrong class on {matrices['mean_same_error']:.1%} of the images "
                        "both get wrong.",
                        run.config["dataset"])

    st.markdown("## When it stops helping")
    st.markdown(text["When it stops helping"])
    st.altair_chart(views.accuracy_by_n_chart(votes["accuracy_by_n"], votes["best_member"]),
                    width="stretch")
    by_n = votes["accuracy_by_n"][rule]
    lab.compare_caption(views.ORIGINAL["by_n"],
                        f"{lab_config.RULES[rule]}: {' → '.join(f'{a:.2%}' for a in by_n)} "
                        f"for 1 to {len(by_n)} {voter}s.",
                        run.config["dataset"])

    st.markdown("## One trunk, K heads, and a stack")
    st.markdown(text["One trunk, K heads, and a stack"])
    st.markdown("## The cost in size and time")
    st.markdown(text["The cost in size and time"])
    rows = recipe.variant_rows(result, rule)
    st.altair_chart(viz.scatter_chart(rows, x="params", y="accuracy", label="variant", size="train_seconds",
                                      title="test accuracy vs parameters (size: training seconds)",
                                      x_log=True).configure_legend(orient="bottom"),
                    width="stretch", height=400)
    st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch",
                 column_config={"accuracy": st.column_config.NumberColumn(format="percent"),
                                "params": st.column_config.NumberColumn(format="localized"),
                                "train_seconds": st.column_config.NumberColumn(format="%.1f s"),
                                "inference_ms_per_image": st.column_config.NumberColumn(format="%.3f ms")})
    lab.compare_caption(f"{views.ORIGINAL['params']}; {views.ORIGINAL['stacking']}; no timings.",
                        "the table above (measured on this server).", run.config["dataset"])
    if run.status == "done" and result.get("votes"):
        st.markdown("#### What this run found")
        st.markdown(views.closing_note(result, rule))
    with st.expander("Training curves"):
        runs.run_curves([run.id], metrics=("accuracy", "loss"))


latest = state.get_store().get_run(submitted[0]) if submitted else lab.latest_run("ensemble")
if latest is None:
    st.info("Press **Run** to train the members; the votes appear here as each one finishes.")
else:
    st.markdown(f"#### Your latest run: #{latest.id} {latest.title}")
    runs.live_run(latest.id, body=_results)

st.markdown("## The lab's answers")
st.markdown(text["The lab's answers"])
setting = [] if latest is None else lab.same_setting(latest)
lab.answers_panel(views.answers([run.result for run in setting], st.session_state.get("ensemble_rule", "soft")))
