"""Knowledge distillation lab: a large teacher, a small student, and what the teacher's soft targets teach.

Each step is a run of its own (the teacher, the student from scratch, the
distilled student, the T x alpha sweep), with a Run button and this
browser's latest run of it at the page's setting, live. Every comparison
below is computed by `labcore.labs.distillation.views` from this browser's
finished runs of that setting, over their seeds, so a refresh loses
nothing and a changed widget shows its own runs.
"""

import dataclasses

import streamlit as st

from labcore import data, slides, spec
from labcore.errors import DataError
from labcore.labs.distillation import recipe, views
from labcore.labs.distillation.config import PRESET_NOTES, PRESETS, RANGES, STEPS, TEACHER_RUNS, TEACHERS
from ui import lab, runs, state

KIND = "distillation"
text = slides.sections("lab_distillation")


def section(heading):
    """One idea's heading and its explanation from the slides file."""
    st.markdown(f"## {heading}")
    st.markdown(text[heading])


st.title("Knowledge distillation")
st.markdown(slides.lead("lab_distillation"))
section("Why a student can learn from a teacher")

preset, config = lab.preset_picker(PRESETS, key="distillation_preset", notes=PRESET_NOTES)
# Widget keys carry the preset, so choosing another preset resets them to its values.
prefix = f"distillation_{preset}"
# A tiny step takes seconds, so it runs the three seeds a spread needs at once.
DEFAULT_SEEDS = 3 if preset == "tiny" else 1

section("The teacher and the student")
teacher = st.radio("teacher", list(TEACHERS), format_func=TEACHERS.get, key=f"{prefix}_teacher")
stored_teachers = [] if teacher == "convnet" else recipe.teacher_runs(state.get_store(), state.owner(), teacher,
                                                                     config.dataset)
if teacher == "convnet":
    a, b, c = st.columns(3)
    width = RANGES["teacher_width"]
    teacher_width = a.number_input("teacher width (stem filters)", width.lo, width.hi, config.teacher_width,
                                   key=f"{prefix}_teacher_width")
    teacher_blocks = b.number_input("teacher blocks per group", RANGES["teacher_blocks"].lo,
                                    RANGES["teacher_blocks"].hi, config.teacher_blocks, key=f"{prefix}_teacher_blocks")
    config = dataclasses.replace(config, teacher_width=int(teacher_width), teacher_blocks=int(teacher_blocks))
    student_column = c
else:
    a, student_column = st.columns([2, 1])
    page = TEACHER_RUNS[teacher][1]
    if stored_teachers:
        picked = a.selectbox(f"{page} run", stored_teachers, format_func=lambda entry: entry["label"],
                             key=f"{prefix}_{teacher}_run")
        config = dataclasses.replace(config, teacher=teacher, teacher_run=picked["run"])
    else:
        config = dataclasses.replace(config, teacher=teacher)
        a.info(f"No finished {page} run of yours on {data.DATASETS[config.dataset].title} has kept its weights "
               f"yet: train one on the {page} page (its tiny preset takes seconds), then pick it here.")
student_width = student_column.number_input("student width (stem filters)", RANGES["student_width"].lo,
                                            RANGES["student_width"].hi, config.student_width,
                                            key=f"{prefix}_student_width")
config = dataclasses.replace(config, student_width=int(student_width))
found_problems = recipe.problems(config.to_dict())
for message in found_problems:
    st.warning(message)

# Filled at the end, once the widgets below have set T, alpha and the sweep.
side_by_side = st.container()
mine = state.get_store().list_runs(owner=state.owner(), kind=KIND, limit=500)


def show(run, model):
    """A run's curves, its note, and one line per model it measured."""
    result = run.result or {}
    runs.run_curves([run.id])
    if result.get("note"):
        st.info(result["note"])
    if result.get(model):
        st.caption(f"**{STEPS[run.config['step']]}:** {views.reading_text(result[model], result['n_test'])}")


def show_sweep(run):
    """The sweep's heat map, filling in as each student ends."""
    result = run.result or {}
    if result.get("note"):
        st.info(result["note"])
    chart = views.sweep_chart(recipe.sweep_cells([result]))
    if chart is not None:
        st.altair_chart(chart, width="stretch")


def step_block(step, body, base=None, before=(), name=None, label=None):
    """One step: its Run button with a seed count, then this browser's latest run of it at this setting.

    Args:
        step: str, the step run and shown.
        body: callable(run), what the live run shows.
        base: Config the step's config comes from; None = the page's.
        before: steps queued ahead of `step` with the same seeds (the
            transfer's student from scratch).
        name: str, the widgets' key part; None = `step`.
        label: str, the button's; None = "Run: <step>".
    """
    base = base or config
    name = name or step
    step_config = recipe.step_config(base, step)
    found_here = recipe.problems(step_config.to_dict())
    where = "" if base.dataset == config.dataset else f" on {data.DATASETS[base.dataset].title}"
    button, count = st.columns([3, 1], vertical_alignment="bottom")
    with count:
        n_seeds = lab.seeds_input(f"{prefix}_{name}_seeds", default=DEFAULT_SEEDS)
    with button:
        queued = [run for queued_step in (*before, step) for run in lab.seeded(
            recipe.step_config(base, queued_step), f"Distillation · {STEPS[queued_step]}{where} · {preset}", n_seeds)]
        lab.run_button(KIND, queued, key=f"{prefix}_{name}_run", label=label or f"Run: {STEPS[step]}",
                       disabled=bool(found_here))
    for message in found_here:
        if message not in found_problems:
            st.warning(message)
    latest = lab.latest_run(KIND, where=lambda stored: recipe.same_setting(step_config, stored))
    if latest is None:
        st.caption("Not run at this setting yet.")
    else:
        runs.live_run(latest.id, body=body)


@st.cache_data(show_spinner=False, max_entries=4)
def test_images(dataset, subset, val_fraction, seed, test_subset):
    """A run's test images in its order (for the dark-knowledge thumbnail), or None when not on this server."""
    try:
        return data.load(dataset, subset=subset, val_fraction=val_fraction, seed=seed, test_subset=test_subset).x_test
    except DataError:
        return None


section("Train the teacher")
if config.teacher == "convnet":
    step_block("teacher", lambda run: show(run, "teacher"))
elif config.teacher_run is not None:
    st.caption(f"The teacher is {TEACHER_RUNS[config.teacher][1]} run #{config.teacher_run}, already trained: the "
               "distil and sweep steps below load it and measure it on this lab's test images.")

section("Train the student from scratch")
step_block("student", lambda run: show(run, "student"))

section("The loss")
a, b = st.columns(2)
temperature = a.select_slider("temperature T", [1.0, 2.0, 3.0, 4.0, 5.0, 8.0, 10.0, 15.0, 20.0],
                              value=config.temperature, key=f"{prefix}_temperature")
alpha = b.slider("alpha (weight of the labels)", 0.0, 1.0, config.alpha, 0.05, key=f"{prefix}_alpha")
config = dataclasses.replace(config, temperature=float(temperature), alpha=float(alpha))

section("Distil the student")
step_block("distil", lambda run: show(run, "distilled"))
found = {step: recipe.by_seed(mine, recipe.step_config(config, step)) for step in ("teacher", "student", "distil")}
st.markdown(views.distil_text(found) or "Run the student from scratch and the distilled student, with the same "
                                        "seeds, to compare them here.")
st.caption(f"**Published:** {views.PUBLISHED['hinton']} {views.PUBLISHED['keras_io']}")

section("Dark knowledge")
teachers = recipe.finished(mine, recipe.step_config(config, "teacher"))
if not teachers:
    st.info("Run the teacher above: its run keeps its logits for every test image, drawn here."
            if config.teacher == "convnet" else
            "The bars show this lab's ConvNet teacher, whose teacher step keeps its logits for every test image: "
            "choose it as the teacher above and run its teacher step.")
else:
    store = state.get_store()
    logits = store.read_artifact(teachers[0].id, "teacher_test_logits")
    labels = store.read_artifact(teachers[0].id, "test_labels")
    class_names = data.DATASETS[config.dataset].class_names
    index = int(st.number_input("test image", 0, len(labels) - 1, recipe.telling_image(logits, labels),
                                key=f"distillation_image_{teachers[0].id}"))
    teacher_config = teachers[0].config
    images = test_images(teacher_config["dataset"], teacher_config["subset"], teacher_config["val_fraction"],
                         teacher_config["seed"], teacher_config["test_subset"])
    left, right = st.columns([1, 4])
    if images is not None and len(images) == len(labels):
        left.image(images[index].squeeze(), width=96, caption=f"label: {class_names[int(labels[index])]}")
    right.altair_chart(views.dark_knowledge_chart(logits[index], class_names), width="stretch")
    st.markdown(views.dark_knowledge_text(logits[index], int(labels[index]), class_names))

section("The T x alpha sweep")
a, b = st.columns(2)
sweep_temperatures = a.multiselect("temperatures", [1.0, 2.0, 4.0, 5.0, 8.0, 10.0, 20.0],
                                   default=list(config.sweep_temperatures), key=f"{prefix}_sweep_temperatures")
sweep_alphas = b.multiselect("alphas", [0.0, 0.1, 0.3, 0.5, 0.7, 0.9],
                             default=list(config.sweep_alphas), key=f"{prefix}_sweep_alphas")
config = dataclasses.replace(config, sweep_temperatures=tuple(sorted(sweep_temperatures)),
                             sweep_alphas=tuple(sorted(sweep_alphas)))
step_block("sweep", show_sweep)
found["sweep"] = recipe.by_seed(mine, recipe.step_config(config, "sweep"))
if len(found["sweep"]) > 1:
    st.markdown("Over every seed of this setting:")
    st.altair_chart(views.sweep_chart(recipe.sweep_cells(found["sweep"].values())), width="stretch")
st.markdown(views.sweep_text(found))

section("Does the best setting carry over?")
best = recipe.best_cell(recipe.sweep_cells(found["sweep"].values()))
targets = [key for key in data.DATASETS if key != config.dataset and data.availability(key)[0]]
if best is None:
    st.info("Run the sweep above: its best cell, chosen on the validation images, is the setting carried over.")
elif not targets:
    st.info("No other dataset is available on this server to carry the setting to: put the original IDX files "
            "where LABCORE_DATA_DIR points (README, \"Run the app\"), or upload one in the Model Builder.")
else:
    # MNIST and Fashion-MNIST both ways, as the report did; any other dataset on request.
    pair = "mnist" if config.dataset.startswith("fashion") else "fashion_mnist"
    target = st.selectbox("carry it to", targets, index=targets.index(pair) if pair in targets else 0,
                          format_func=lambda key: data.DATASETS[key].title, key=f"{prefix}_transfer_to")
    transfer = recipe.transfer_config(config, best, target)
    title = data.DATASETS[target].title
    st.caption(f"On {title}: a student from scratch and one distilled at T = {best['temperature']:g}, alpha = "
               f"{best['alpha']:g}, on {transfer.subset:,} training and {transfer.test_subset:,} test images. The "
               "distil step trains a ConvNet teacher there first, unless you have one of this setting.")
    step_block("distil", lambda run: show(run, "distilled"), base=transfer, before=("student",), name="transfer",
               label=f"Run on {title}: student from scratch and distilled")
    found_there = {step: recipe.by_seed(mine, recipe.step_config(transfer, step))
                   for step in ("teacher", "student", "distil", "sweep")}
    st.markdown(views.transfer_text(best, title, found_there) or
                f"Run both students on {title} above, with the same seeds, to read the transfer here.")

section("The lab's answers")
lab.answers_panel(views.answers(found), source="Published")

with side_by_side:
    stored = next((entry for entry in stored_teachers if entry["run"] == config.teacher_run), None)
    params = {"teacher": spec.count_params(recipe.teacher_spec(config)) if config.teacher == "convnet"
              else stored and stored["params"], "student": spec.count_params(recipe.student_spec(config))}
    st.dataframe(views.side_by_side(params, found), hide_index=True, width="stretch",
                 column_config={"parameters": st.column_config.NumberColumn(format="localized"),
                                "ms per image": st.column_config.NumberColumn(format="%.3f ms")})
    st.markdown(views.teacher_text(found))

with st.expander("How this lab differs from its sources"):
    st.markdown(text["How this lab differs from its sources"])
