"""Model Builder: edit a composable spec, see it live, train it in the background.

The page keeps its last run in the store, not in the session: after a
browser refresh it finds this browser's latest builder run by owner token
and shows it again, still live.
"""

import dataclasses
import json
import time

import streamlit as st

from labcore import (data, errors, fit_reading, leaderboard, links, references, room, schedules, slides,
                     spec, trainconfig, viz)
from labcore.data import own
from ui import fields, lab, runs, sidebar, spec_widgets, state

text = slides.sections("builder")
st.title("Model Builder")
st.markdown(slides.lead("builder"))

store = state.get_store()
# The room's settings, read once a rerun: the instructor's pushed model and the challenge.
settings = store.settings()
shared = room.pushed(settings)
# The training fields, each with what it shows of a TrainConfig, so loading
# the instructor's model can set them all.
TRAIN_FIELDS = {
    "builder_epochs": lambda train: train.epochs,
    "builder_batch": lambda train: train.batch_size,
    "builder_lr": lambda train: train.learning_rate,
    "builder_subset": lambda train: train.subset or 0,
    "builder_schedule": lambda train: train.schedule.kind,
    "builder_warmup": lambda train: train.schedule.warmup_epochs,
    "builder_smooth": lambda train: train.label_smoothing,
    "builder_mixed": lambda train: train.mixed_precision,
}


LINK_PARAM = "model"


def widget_values(start, train):
    """The widget values that show a starting point and its training settings (dataset included)."""
    return {"builder_start": start, sidebar.DATASET_KEY: train.dataset,
            **{key: shown(train) for key, shown in TRAIN_FIELDS.items()}}


# A link to a model (`labcore.links`) loads it once; a link that cannot be read says why while it is in the URL.
linked = st.query_params.get(LINK_PARAM)
if linked and linked != st.session_state.get("builder_link_read"):
    try:
        from_link = links.decode(linked)
    except errors.LabError as exc:
        st.error(f"{exc} The page shows its defaults instead.", icon=":material/link_off:")
    else:
        st.session_state["builder_link_read"] = linked
        st.session_state["builder_linked"] = from_link
        state.load_widgets(widget_values("link", trainconfig.TrainConfig.from_dict(from_link["train"])))
from_link = st.session_state.get("builder_linked")


if shared is not None and not state.is_instructor():
    a, b = st.columns([3, 1], vertical_alignment="center")
    a.info(f"The instructor shared a model at {time.strftime('%H:%M', time.localtime(shared.at))}: "
           f"**{shared.title}**, to train on {data.DATASETS[shared.train.dataset].title}.",
           icon=":material/school:")
    if b.button("Load the instructor's model", key="builder_load_shared",
                help="Its spec, dataset and training settings replace what this page shows."):
        # As a link loads a model: the sidebar's dataset is drawn already in this run.
        state.load_widgets(widget_values("instructor", shared.train))


def add_own_data(upload, name, size, channels):
    """Store an uploaded dataset (`labcore.data.own`) and select it, or list every problem found.

    Returns:
        list of str, the problems; empty when the dataset was stored (the page then reruns with it selected).
    """
    try:
        added = own.add(upload.getvalue(), upload.name, name, size=size, channels=channels)
    except own.UploadError as exc:
        return exc.problems
    info = added.info
    colour = "grey" if info.image_shape[2] == 1 else "RGB"
    per_class = ", ".join(f"{class_name} {count:,}" for class_name, count in added.images_per_class.items())
    st.session_state["builder_own_added"] = (
        f"{'Stored' if added.new else 'Already stored'} **{info.title}**, {info.image_shape[0]}x"
        f"{info.image_shape[1]} {colour}{' (inferred)' if channels is None else ''}: images per class {per_class} "
        f"({info.n_train:,} to train, {info.n_test:,} to test). It is now the sidebar's dataset.")
    # The sidebar's picker is drawn already in this run: the new key waits for the next one.
    state.load_widgets({sidebar.DATASET_KEY: info.key})
    return []


with st.expander("Your own data", icon=":material/upload_file:"):
    st.caption(own.limits_text())
    if "builder_own_added" in st.session_state:
        st.success(st.session_state.pop("builder_own_added"), icon=":material/check_circle:")
    own_file = st.file_uploader("A .zip of class folders or an .npz", type=["zip", "npz"], key="builder_own_file",
                                max_upload_size=own.MAX_UPLOAD_MB)
    a, b, c = st.columns([2, 1, 1])
    own_name = a.text_input("name", key="builder_own_name", max_chars=own.MAX_NAME_LENGTH,
                            placeholder="the file's name", help="Shown in the dataset pickers.")
    own_size = b.selectbox("image size", own.IMAGE_SIZES, key="builder_own_size",
                           format_func=lambda side: f"{side}x{side}")
    # Named options, not `own.CHANNELS`: a selectbox holding None offers to clear itself.
    colours = {"inferred": None, "grey": 1, "RGB": 3}
    own_channels = colours[c.selectbox("colour", list(colours), key="builder_own_channels",
                                       help="Inferred: grey when every image is grey, else RGB.")]
    if st.button("Add dataset", key="builder_own_add", disabled=own_file is None):
        with st.spinner("Checking and resizing every image..."):
            for problem in add_own_data(own_file, own_name, own_size, own_channels):
                st.error(problem, icon=":material/block:")

dataset = data.DATASETS[sidebar.dataset_key()]
n_classes = len(dataset.class_names)

# -- where the spec starts from: the default, the instructor's, a reference model or a file --
STARTS = ({"default": "a small default model"}
          | ({"instructor": f"the instructor's model: {shared.title}"} if shared is not None else {})
          | ({"link": f"the model of the link: {from_link['spec'].get('name', 'model')}"} if from_link else {})
          | {k: r.title for k, r in references.REFERENCES.items() if r.spec.task.kind == "classifier"})
if st.session_state.get("builder_start", "default") not in STARTS:
    st.session_state["builder_start"] = "default"  # the instructor withdrew the model this page started from
a, b = st.columns([2, 3])
start = a.selectbox("Start from", list(STARTS), format_func=STARTS.get, key="builder_start",
                    help="The original labs' models are for 32x32x3 images: smaller images are zero-padded "
                         "and grey images repeated to 3 channels to fit them.")
# Its own limit: the server's (.streamlit/config.toml) is the size of an uploaded dataset.
uploaded = b.file_uploader("…or load a spec (JSON)", type=["json"], key="builder_upload", max_upload_size=1)

if start == "instructor":
    base = shared.spec
elif start == "link":
    base = spec.ModelSpec.from_dict(from_link["spec"])
else:
    base = spec.default_spec() if start == "default" else references.REFERENCES[start].spec
loaded = None
if uploaded is not None:
    # Any file may arrive here: parse_json answers every hostile one with a
    # message, and a spec with values out of range is refused whole (the
    # widgets below could not show them).
    try:
        loaded = spec.parse_json(uploaded.getvalue(), source=uploaded.name)
        found = spec.problems(loaded, max_params=None)
        if found:
            raise errors.SpecError("\n".join(f"- {p}" for p in found))
        base = loaded
    except errors.SpecError as exc:
        loaded = None
        st.error(f"This file was not loaded; the editor keeps the model above.\n\n{exc}",
                 icon=":material/block:")
if start == "default" and loaded is None:
    base = dataclasses.replace(base, input_shape=dataset.image_shape)
base = dataclasses.replace(base, task=dataclasses.replace(base.task, n_classes=n_classes))
# A new starting point (a new push included) must reset the widgets, so their keys carry it.
origin = start
if start == "instructor":
    origin += str(int(shared.at))
elif start == "link":
    origin += st.session_state["builder_link_read"][-12:]
prefix = f"builder_{origin}_{uploaded.file_id if uploaded is not None else ''}_{dataset.key}"

model_spec, spec_fields = spec_widgets.spec_editor(base, prefix)
st.markdown("#### Shapes and parameters")
problems = spec_widgets.summary(model_spec, f"{prefix}_summary", fields=spec_fields)
st.download_button("Download this spec (JSON)", json.dumps(model_spec.to_dict(), indent=2),
                   file_name=f"{model_spec.name}.json", mime="application/json",
                   disabled=bool(problems))

# -- training settings and the Train button --
st.markdown("## Train")
st.markdown(text["Train"])
# A GPU gets a larger default batch (see `trainconfig.default_batch_size`).
defaults = dataclasses.replace(trainconfig.TrainConfig(),
                               batch_size=trainconfig.default_batch_size(state.device_probe()))
train_fields = fields.Fields()
a, b, c, d = st.columns(4)
epochs = train_fields.number(a, "epochs", "train.epochs", defaults.epochs, "builder_epochs", step=1)
batch_size = train_fields.number(b, "batch size", "train.batch_size", defaults.batch_size, "builder_batch", step=1)
learning_rate = train_fields.number(c, "learning rate", "train.learning_rate", defaults.learning_rate, "builder_lr",
                                    format="%.5f")
subset = train_fields.number(d, "images to use (0 = all)", "train.subset", 0, "builder_subset", step=500,
                             help=f"{dataset.title} has {dataset.n_train:,} images to learn from; "
                                  "fewer take less time.")
a, b, c, d = st.columns([2, 1, 1, 1], vertical_alignment="top")
kinds = list(schedules.KINDS)
schedule_kind = a.selectbox("learning-rate schedule", kinds, index=kinds.index(defaults.schedule.kind),
                            key="builder_schedule")
warmup = train_fields.number(b, "warm-up epochs", "train.schedule.warmup_epochs", defaults.schedule.warmup_epochs,
                             "builder_warmup", step=1)
smoothing = train_fields.number(c, "label smoothing", "train.label_smoothing", defaults.label_smoothing,
                                "builder_smooth", step=0.05)
mixed = d.checkbox("mixed precision", defaults.mixed_precision, key="builder_mixed",
                   help="Compute in float16, keep the weights in float32: up to 2-3x faster on a GPU "
                        "with tensor cores, slower on a CPU.")
train_config = dataclasses.replace(
    defaults, epochs=int(epochs), batch_size=int(batch_size), learning_rate=float(learning_rate),
    subset=int(subset) or None, dataset=dataset.key, label_smoothing=float(smoothing), mixed_precision=mixed,
    schedule=dataclasses.replace(defaults.schedule, kind=schedule_kind, warmup_epochs=int(warmup)))
config = {"spec": model_spec.to_dict(), "train": train_config.to_dict()}
# The worker's own validator (the dataset's size included); the spec's problems are shown above.
train_problems = [p for p in trainconfig.problems_for_run(config) if p.startswith("train.")]
elsewhere = train_fields.show(train_problems)
if elsewhere:
    st.error("\n\n".join(elsewhere), icon=":material/block:")
if not train_problems:
    st.altair_chart(viz.lr_chart({schedule_kind: schedules.lr_curve(train_config.learning_rate,
                                                                     train_config.schedule, train_config.epochs)}),
                    width="stretch")

# An invalid spec has no parameter count (and its button is disabled).
title = model_spec.name if problems else f"{model_spec.name} · {spec.count_params(model_spec):,} params"
button, count = st.columns([3, 1], vertical_alignment="bottom")
with count:
    n_seeds = lab.seeds_input("builder_seeds", default=1,
                              help="Each seed draws other initial weights and batches: one seed varies by "
                                   "1-2 points, so a spread needs several.")
with button:
    lab.run_button("train", lab.seeded(config, title, n_seeds), key="builder_train", label="Train",
                   disabled=bool(problems or train_problems))
if problems or train_problems:
    st.caption("Train is off until every field above holds a value it allows (each says what it allows).")
else:
    with st.expander("Share this model and its settings as a link", icon=":material/link:"):
        st.caption("Whoever opens it gets this spec, dataset and training settings in their own Model Builder "
                   "(copy it with the icon at its right).")
        st.code(f"{(st.context.url or '').split('?')[0]}?{LINK_PARAM}={links.encode(config)}", language=None,
                wrap_lines=True)

latest = state.get_store().list_runs(owner=state.owner(), kind="train", limit=1)
if latest:
    st.markdown(f"#### Your latest run: #{latest[0].id} {latest[0].title}")
    runs.live_run(latest[0].id)
    # What the run says, over every seed of its setting that has finished.
    done = [run.result for run in lab.same_setting(latest[0], seed_key="train.seed")
            if (run.result or {}).get("val_accuracy") is not None]
    if done:
        st.markdown(f"**Over {len(done)} seed(s):** " + fit_reading.reading(
            [result["train_accuracy"] for result in done], [result["val_accuracy"] for result in done],
            n_classes))

# -- the room: an instructor shares this model, or sets a parameter budget everyone competes under --
budget, challenge_dataset = settings.get("challenge_params"), settings.get("challenge_dataset")
if state.is_instructor():
    with st.expander("Instructor: the room", icon=":material/school:"):
        st.caption("Share the model above, with its training settings and dataset: every attendee's Model Builder "
                   "offers to load it. Attendees who train it with the same seed share one run.")
        a, b = st.columns([2, 1])
        if a.button("Push this model to the room", key="builder_push", disabled=bool(problems)):
            room.push(store, model_spec, train_config, title)
            st.rerun()
        if b.button("Withdraw it", key="builder_withdraw", disabled=shared is None):
            room.withdraw(store)
            st.rerun()
        if shared is not None:
            st.caption(f"In the room now: **{shared.title}**, pushed at "
                       f"{time.strftime('%H:%M', time.localtime(shared.at))}.")
        st.markdown("**The challenge**")
        st.caption("Everyone's best validation accuracy on the sidebar's dataset, with a model of at most this "
                   "many parameters, ranked on this page for the whole room.")
        a, b, c = st.columns([2, 1, 1], vertical_alignment="bottom")
        chosen = int(a.number_input("parameter budget", 1_000, 50_000_000, budget or 30_000, 1_000,
                                    key="builder_challenge_budget"))
        if b.button("Set the challenge", key="builder_challenge_set"):
            store.update_settings(challenge_params=chosen, challenge_dataset=dataset.key)
            st.rerun()
        if c.button("End it", key="builder_challenge_end", disabled=budget is None):
            store.update_settings(challenge_params=None, challenge_dataset=None)
            st.rerun()
if budget:
    st.markdown("## The room's challenge")
    board = leaderboard.standings(store.list_runs(statuses=("done",), kind="train", limit=5000), budget,
                                  challenge_dataset)
    st.markdown(f"The best validation accuracy of each attendee, with a model of at most **{budget:,}** parameters, "
                f"trained on {data.DATASETS[challenge_dataset].title}. One seed varies by 1-2 points: a lead of "
                "less is luck.")
    me, admin = state.owner(), state.is_instructor()
    if board:
        st.dataframe([{"rank": rank, "who": "you" if s.owner == me else (s.owner if admin else "another attendee"),
                       "best validation accuracy": 100 * s.val_accuracy, "parameters": s.params,
                       "run": f"#{s.run_id}"}
                      for rank, s in enumerate(board, start=1)], hide_index=True, width="stretch",
                     column_config={"best validation accuracy": st.column_config.NumberColumn(format="%.1f%%"),
                                    "parameters": st.column_config.NumberColumn(format="localized")})
    else:
        st.info("No finished run fits the challenge yet: train a model within the budget.")
