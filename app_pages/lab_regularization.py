"""Regularization lab: watch a model overfit, then close the gap one step at a time.

Each section explains one idea, offers the widget for its regularizer and a
Run button, and shows this browser's latest run of that step, live. The
runs live in the store, found by owner token, so a refresh loses nothing.
The ladder at the bottom compares every step run so far.
"""

import dataclasses
import time

import streamlit as st

from labcore import baselines, slides, spec, viz
from labcore.labs.regularization import recipe, views
from labcore.labs.regularization.config import DECAYS, LADDER_DECAYS, PRESET_NOTES, PRESETS, STEPS, Config
from ui import lab, runs, state

KIND = "regularization"
text = slides.sections("lab_regularization")

st.title("Regularization")
st.markdown(slides.lead("lab_regularization"))

preset, config = lab.preset_picker(PRESETS, key="reg_preset", notes=PRESET_NOTES)
# Widget keys carry the preset, so choosing another preset resets them to its values.
prefix = f"reg_{preset}"
# Seeds a spread needs; a quick step takes about a minute, so it starts at
# one seed and offers the rest, where a tiny step runs three at once.
SEEDS_FOR_A_SPREAD = 3
DEFAULT_SEEDS = SEEDS_FOR_A_SPREAD if preset == "tiny" else 1

st.markdown("## The recipe every step shares")
st.markdown(text["The recipe every step shares"])
a, b, c = st.columns(3)
epochs = a.number_input("epochs", 1, 100, config.epochs, key=f"{prefix}_epochs",
                        help="The baseline's epochs, and every lesson's.")
learning_rate = b.select_slider("learning rate (Adam)", [1e-4, 3e-4, 1e-3, 3e-3, 1e-2],
                                value=config.learning_rate, key=f"{prefix}_lr")
subset = c.number_input("images drawn (train + validation, 0 = all)", 0, 100_000, config.subset or 0,
                        100, key=f"{prefix}_subset",
                        help=f"{int(config.val_fraction * 100)}% of them are held out for validation.")
ladder_decay = st.radio(
    "rate over each step", LADDER_DECAYS, index=LADDER_DECAYS.index(config.ladder_decay), horizontal=True,
    key=f"{prefix}_ladder_decay", format_func={"cosine": "cosine decay to 0", "constant": "constant"}.get,
    help="With a constant rate, validation accuracy jumps 2-6 points from one epoch to the next, more than "
         "most effects below; a decay lets every step end on a settled model.")
config = dataclasses.replace(config, epochs=int(epochs), learning_rate=float(learning_rate),
                             subset=int(subset) or None, ladder_decay=ladder_decay)
# Problems of the shared recipe (an unavailable dataset, say) are shown once, here.
shared_problems = recipe.problems(config.to_dict())
for message in shared_problems:
    st.warning(message)
baseline_spec = recipe.model_spec(config)
st.caption(f"Model: {config.model} ResNet v2, groups 16/64/128 × {config.n_blocks} block(s), "
           f"{spec.count_params(baseline_spec):,} parameters, input {baseline_spec.input_shape} · "
           f"dataset: {lab.dataset_title(config.dataset)}")


def show_run(step, run):
    """A step's run: its curves (gap shaded), then what we measured beside what the original said."""
    result = run.result or {}
    points = recipe.sweep_points(result) if step == "sweep" else []
    if step == "lr_range":
        rows = [row for row in state.get_store().metrics_rows([run.id]) if row["series"] == "lr_range"]
        chart = views.lr_range_chart(rows, result if "suggested_rate" in result else None)
        if chart is not None:
            st.altair_chart(chart, width="stretch")
    elif points:
        st.altair_chart(viz.scatter_chart(points, x="parameters", y="validation accuracy", label="model",
                                          size="seconds per epoch", title="Compact models: accuracy "
                                          "against size (point size: seconds per epoch)"),
                        width="stretch")
    else:
        runs.run_curves([run.id])
    if result.get("note"):
        st.info(result["note"])
    lab.compare_caption(STEPS[step].expected, views.measured_text(step, result),
                        run.config.get("dataset", config.dataset))


# Each step's config as its widgets left it, for the whole-ladder action at the bottom.
step_configs = {}


def step_block(step_config, lr_log=False, lr_curve=False):
    """One step: what it changes, its learning rate per epoch, a Run button and its latest run."""
    step = step_config.step
    step_configs[step] = step_config
    st.markdown(f"**This step, {STEPS[step].label}:** {STEPS[step].changes}")
    if lr_curve:
        st.altair_chart(viz.lr_chart(recipe.lr_curves(step_config), log=lr_log,
                                     title="learning rate per epoch (before you run it)"), width="stretch")
    found = recipe.problems(step_config.to_dict())
    title = f"Regularization · {STEPS[step].label} · {preset}"
    button, count = st.columns([3, 1], vertical_alignment="bottom")
    with count:
        n_seeds = lab.seeds_input(f"{prefix}_{step}_seeds", default=DEFAULT_SEEDS)
    with button:
        lab.run_button(KIND, lab.seeded(step_config, title, n_seeds), key=f"{prefix}_{step}_run",
                       label=f"Run: {STEPS[step].label}", disabled=bool(found))
    for message in found:
        if message not in shared_problems:
            st.warning(message)
    latest = lab.latest_run(KIND, where=lambda c: c.get("step") == step)
    if latest is None:
        return
    runs.live_run(latest.id, body=lambda run: show_run(step, run))
    so_far = lab.same_setting(latest, statuses=("queued", "running", "done"))
    # A cancelled or failed latest run has no setting in flight to add seeds to.
    if so_far and len(so_far) < SEEDS_FOR_A_SPREAD and STEPS[step].ladder:
        more = SEEDS_FOR_A_SPREAD - len(so_far)
        st.caption(f"{len(so_far)} seed(s) of this setting so far: one seed varies by 1-2 points, as much as "
                   f"most effects here. The ladder below compares steps over their seeds.")
        following = dataclasses.replace(Config.from_dict(latest.config),
                                        seed=max(run.config["seed"] for run in so_far) + 1)
        lab.run_button(KIND, lab.seeded(following, title, more), key=f"{prefix}_{step}_more",
                       label=f"Run {more} more seed(s)")


def section(heading):
    """One idea's heading and its explanation from the slides file."""
    st.markdown(f"## {heading}")
    st.markdown(text[heading])


def step_of(step, **changes):
    """A step of the shared recipe as the widgets above have set it so far."""
    return dataclasses.replace(config, step=step, **changes)


section("Overfit a small batch first")
a, b = st.columns(2)
step_block(step_of(
    "overfit_batch",
    overfit_images=int(a.number_input("images", 10, 1000, config.overfit_images, 10, key=f"{prefix}_ov_n")),
    overfit_epochs=int(b.number_input("epochs", 1, 200, config.overfit_epochs, key=f"{prefix}_ov_epochs"))))

section("What overfitting looks like")
step_block(step_of("baseline"))

section("Why noise helps")
a, b = st.columns(2)
noise = a.slider("noise before the classifier (stddev)", 0.0, 1.0, config.noise, 0.05, key=f"{prefix}_noise")
input_noise = b.slider("noise on the input images (stddev)", 0.0, 0.5, config.input_noise, 0.05,
                       key=f"{prefix}_input_noise", help="0 = none, as in the original lab.")
config = dataclasses.replace(config, noise=float(noise), input_noise=float(input_noise))
step_block(step_of("noise"))

section("Weight decay, and why too much hurts")
L2_CHOICES = [1e-4, 3e-4, 1e-3, 3e-3, 1e-2, 3e-2, 0.1, 0.3]
l2_strong = st.select_slider("L2, too strong", L2_CHOICES, value=config.l2_strong,
                             key=f"{prefix}_l2_strong")
step_block(step_of("l2_strong", l2_strong=float(l2_strong)))
a, b = st.columns(2)
l2_small = a.select_slider("L2, small", L2_CHOICES, value=config.l2_small, key=f"{prefix}_l2_small")
l2_small_epochs = b.number_input("epochs with small L2", 1, 300, config.l2_small_epochs,
                                 key=f"{prefix}_l2_epochs")
config = dataclasses.replace(config, l2_small=float(l2_small), l2_small_epochs=int(l2_small_epochs))
step_block(step_of("l2_small"))

section("Why lowering the rate late helps")
a, b = st.columns(2)
factor = a.select_slider("rate multiplier for the second tier", [0.5, 0.3, 0.1, 0.03, 0.01],
                         value=config.lower_lr_factor, key=f"{prefix}_lower_factor")
lower_epochs = b.number_input("epochs at the lower rate", 1, 100, config.lower_lr_epochs,
                              key=f"{prefix}_lower_epochs")
step_block(step_of("lower_lr", lower_lr_factor=float(factor), lower_lr_epochs=int(lower_epochs)),
           lr_curve=True, lr_log=True)

section("Label smoothing")
smoothing = st.slider("label smoothing e", 0.05, 0.5, config.label_smoothing, 0.05,
                      key=f"{prefix}_smoothing")
step_block(step_of("label_smoothing", label_smoothing=float(smoothing)))

section("Dropout")
dropout = st.slider("dropout rate before the classifier", 0.05, 0.9, config.dropout, 0.05,
                    key=f"{prefix}_dropout")
step_block(step_of("dropout", dropout=float(dropout)))

section("Early stopping")
a, b = st.columns(2)
patience = a.number_input("patience (epochs)", 1, 50, config.patience, key=f"{prefix}_patience")
stopping_epochs = b.number_input("epochs (all trained, to compare)", 1, 300, config.early_stopping_epochs,
                             key=f"{prefix}_es_epochs")
step_block(step_of("early_stopping", patience=int(patience), early_stopping_epochs=int(stopping_epochs)))

section("Warm-up and decay schedules")
most_warmup = max(1, config.epochs - 1)
warmup = st.number_input("warm-up epochs", 1, most_warmup, min(config.warmup_epochs, most_warmup),
                         key=f"{prefix}_warmup")
step_block(step_of("warmup", warmup_epochs=int(warmup)), lr_curve=True)
a, b, c = st.columns(3)
decay = a.radio("this step's schedule, in place of the ladder's", DECAYS, index=DECAYS.index(config.decay), horizontal=True,
                key=f"{prefix}_decay")
step_every = b.number_input("step: epochs between drops", 1, 100, config.step_every,
                            key=f"{prefix}_step_every", disabled=decay != "step")
step_factor = b.select_slider("step: multiplier per drop", [0.1, 0.2, 0.3, 0.5, 0.7],
                              value=config.step_factor, key=f"{prefix}_step_factor",
                              disabled=decay != "step")
exponential = c.slider("exponential: k in exp(-k · epoch)", 0.05, 1.0, config.exponential_decay, 0.05,
                       key=f"{prefix}_exp_decay", disabled=decay != "exponential")
step_block(step_of("schedule", decay=decay, step_every=int(step_every), step_factor=float(step_factor),
                   exponential_decay=float(exponential)),
           lr_curve=True, lr_log=decay == "cosine")

section("The learning-rate range test")
a, b = st.columns(2)
lr_range_end = a.select_slider("highest rate", [1e-2, 0.1, 1.0, 10.0], value=config.lr_range_end,
                               key=f"{prefix}_lr_end")
lr_range_steps = b.number_input("batches", 10, 2000, config.lr_range_steps, 10, key=f"{prefix}_lr_steps")
step_block(step_of("lr_range", lr_range_end=float(lr_range_end), lr_range_steps=int(lr_range_steps)))

section("Compact models")
a, b = st.columns(2)
sweep_blocks = a.multiselect("blocks per group (ours; the original's n_blocks + 1)", list(range(1, 7)),
                             default=list(config.sweep_blocks), key=f"{prefix}_sweep_blocks")
sweep_epochs = b.number_input("epochs per model", 1, 100, config.sweep_epochs, key=f"{prefix}_sweep_epochs")
step_block(step_of("sweep", sweep_blocks=tuple(sorted(sweep_blocks)), sweep_epochs=int(sweep_epochs)))

@st.cache_data(show_spinner="Scoring the nearest-neighbour reference...", max_entries=16)
def nearest_neighbour(dataset, subset, val_fraction, test_subset):
    """The 1-NN reference on seed 0's split of these settings (pure NumPy, cached per setting)."""
    return baselines.nearest_neighbour_accuracy(dataset, subset=subset, val_fraction=val_fraction, seed=0,
                                                test_subset=test_subset)


section("The ladder")
ladder_steps = [step for step in STEPS if STEPS[step].ladder]
a, b = st.columns([3, 1], vertical_alignment="bottom")
with b:
    ladder_seeds = lab.seeds_input(f"{prefix}_ladder_seeds", default=SEEDS_FOR_A_SPREAD)
with a:
    # Seed by seed, so each seed's lower-rate step finds its own L2-small run done before it.
    batch = time.strftime("%H:%M:%S")
    lab.run_button(KIND, [(dataclasses.replace(step_configs[step], seed=step_configs[step].seed + offset),
                           f"Regularization · ladder of {batch} · {STEPS[step].label} · {preset} · seed "
                           f"{step_configs[step].seed + offset}")
                          for offset in range(ladder_seeds) for step in ladder_steps],
                   key=f"{prefix}_ladder_run", disabled=bool(shared_problems),
                   label=f"Run the whole ladder: {len(ladder_steps)} steps x {ladder_seeds} seed(s)")
mine = state.get_store().list_runs(owner=state.owner(), kind=KIND, limit=500)
batches = [run for run in mine if " · ladder of " in run.title]
if batches:
    tag = batches[0].title.split(" · ")[1]  # newest first: "ladder of HH:MM:SS"
    runs.batch_progress([run.id for run in batches if run.title.split(" · ")[1] == tag], f"The {tag}")
ladder = recipe.ladder_rows(mine)
if not shared_problems:
    st.markdown(views.reference_text(nearest_neighbour(config.dataset, config.subset, config.val_fraction,
                                                       config.test_subset), ladder))
if not ladder:
    st.info("Run a step above (the baseline first) and it appears here.")
else:
    st.altair_chart(views.ladder_chart(ladder), width="stretch")
    st.dataframe(
        views.ladder_table(ladder), hide_index=True, width="stretch",
        column_order=["step", "seeds", "train", "validation", "gap", "against", "validation_change", "gap_change",
                      "confidence", "confidence_change", "reading", "test", "epochs", "seconds", "run_ids", "expected"],
        column_config={
            "against": "compared with",
            "validation_change": st.column_config.TextColumn("validation vs that", width="medium"),
            "gap_change": st.column_config.TextColumn("gap vs that", width="medium"),
            "confidence": st.column_config.TextColumn(
                "confidence", help="Mean probability of its top class on validation images."),
            "confidence_change": st.column_config.TextColumn("confidence vs that", width="medium"),
            "reading": st.column_config.TextColumn("what the seeds allow us to say", width="large"),
            "seconds": st.column_config.NumberColumn("seconds (mean)", format="%.0f"),
            "run_ids": "runs",
            "expected": st.column_config.TextColumn("original lab (CIFAR-10)", width="large"),
        })
    st.caption("Each step is compared with the step it changes one thing of. A difference is "
               "\"beyond noise\" when Welch's t-test over the seeds says so at 95%; with one seed on a "
               "side nothing can be said.")

section("The lab's answers")
latest_sweep = lab.latest_run(KIND, where=lambda c: c.get("step") == "sweep")
sweeps = [] if latest_sweep is None else [run.result for run in lab.same_setting(latest_sweep)]
lab.answers_panel(views.answers(ladder, sweeps))

with st.expander("How this lab differs from the original"):
    st.markdown(text["How this lab differs from the original"])
