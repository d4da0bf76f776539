"""AutoEncoder for CNN: learn a compact code, then measure what a classifier
gains and loses by training on it.

The page reads top to bottom like the lab: why an autoencoder, the
bottleneck (sliders with the compression ratio and parameter count counted
live in pure Python), the classifier head, one Run button, then each step's
stored results as the worker produces them. Results come from the store
(this browser's latest `autoencoder` run), so a refresh loses nothing; the
recipe and the rows live in `labcore.labs.autoencoder.recipe`, the charts and
sentences in its `views`.
"""

import dataclasses

import streamlit as st

from labcore import data, slides
from labcore.images import channels_grid, image_grid
from labcore.labs.autoencoder import recipe, views
from labcore.labs.autoencoder.config import CLASSIFIERS, PRESET_NOTES, PRESETS, Config
from ui import lab as lab_ui
from ui import runs, spec_widgets, state

text = slides.sections("lab_autoencoder")
st.title("AutoEncoder for CNN")
st.markdown(slides.lead("lab_autoencoder"))

st.markdown("## Why an autoencoder")
st.markdown(text["Why an autoencoder"])
preset, config = lab_ui.preset_picker(PRESETS, key="ae_preset", notes=PRESET_NOTES)
info = data.DATASETS[config.dataset]
# The fields below start from the chosen preset: their keys carry its name,
# so picking another preset resets them to its values.
keyed = f"ae_{preset}"

# -- the bottleneck: sliders, and what they do to sizes and parameters --
st.markdown("## What the bottleneck forces")
st.markdown(text["What the bottleneck forces"])
left, right = st.columns(2)
stages = left.slider(
    "stride-2 stages of the encoder", 1, 5, config.stages, key=f"{keyed}_stages",
    help="Each stage halves the image: 3 stages turn 32x32 into a 4x4 code.")
channels = right.select_slider(
    "channels of the code", options=[1, 2, 4, 8, 16, 32, 64, 128], value=config.latent_channels,
    key=f"{keyed}_channels", help="The last stage's filters: how many features each code pixel holds.")
UPSAMPLING = {"resize": "resize x2, then a 3x3 conv (ours)",
              "transpose": "3x3 transposed conv, stride 2 (the original's)",
              "transpose_even": "4x4 transposed conv, stride 2"}
upsampling = st.radio(
    "How the decoder doubles the map", list(UPSAMPLING), format_func=UPSAMPLING.get, horizontal=True,
    index=list(UPSAMPLING).index(config.decoder_upsampling), key=f"{keyed}_upsampling",
    help="A 3x3 kernel at stride 2 overlaps even and odd output pixels unevenly and paints a checkerboard "
         "into the reconstructions; resizing first covers every pixel alike, with the same parameters.")
config = dataclasses.replace(config, stages=stages, latent_channels=channels, decoder_upsampling=upsampling)
sizes = recipe.bottleneck(config)
a, b, c, d = st.columns(4)
a.metric("input (padded)", views.shape_text(sizes["input_shape"]),
         f"{sizes['input_size']:,} values", delta_color="off", delta_arrow="off")
b.metric("code", views.shape_text(sizes["code_shape"]), f"{sizes['code_size']:,} values",
         delta_color="off", delta_arrow="off")
c.metric("compression ratio", f"{sizes['compression_ratio']:.1f}x")
d.metric("autoencoder parameters", f"{sizes['autoencoder_params']:,}")
lab_ui.compare_caption(views.ORIGINAL["compression"], views.compression_text(sizes),
                       config.dataset)

# -- the classifier head that reads the codes --
st.markdown("## A classifier that suits a 4x4 code")
st.markdown(text["A classifier that suits a 4x4 code"])
heads = list(CLASSIFIERS)
for column, name in zip(st.columns(len(heads)), heads):
    with column:
        st.markdown(f"**{name}**: {CLASSIFIERS[name]}")
        head = recipe.classifier_spec(dataclasses.replace(config, classifier=name),
                                      sizes["code_shape"], info.n_classes)
        spec_widgets.summary(head, key=f"ae_head_{name}", chart=False)
left, right = st.columns(2)
classifier = left.radio("Classifier head to train", heads, index=heads.index(config.classifier),
                        key=f"{keyed}_classifier", horizontal=True)
fine_tune = right.checkbox("Also fine-tune the trained encoder as the stem (step 4)",
                           value=config.fine_tune, key=f"{keyed}_fine_tune",
                           help="Trains the classifier on pixels a second time: as long again.")
config = dataclasses.replace(config, classifier=classifier, fine_tune=fine_tune)

# -- one action --
st.markdown("## Train")
st.markdown(text["Train"])
problems = recipe.problems(config.to_dict())
if problems:
    st.error("These settings cannot run:\n\n" + "\n".join(f"- {p}" for p in problems))
button, count = st.columns([3, 1], vertical_alignment="bottom")
with count:
    # A quick run takes about a minute: one seed first, more for a spread.
    n_seeds = lab_ui.seeds_input(f"{keyed}_seeds", default=3 if preset == "tiny" else 1)
with button:
    title = f"AutoEncoder · {preset} · code {views.shape_text(sizes['code_shape'])} · {config.classifier}"
    lab_ui.run_button("autoencoder", lab_ui.seeded(config, title, n_seeds), key="ae_run", disabled=bool(problems),
                      label="Train the autoencoder, then both classifiers")


# -- results, step by step, from the store --
def _artifact(run, name):
    """A stored artifact of the run, or None until the worker has written it."""
    try:
        return state.get_store().read_artifact(run.id, name)
    except (KeyError, OSError):
        return None


def _pending(what):
    st.info(f"{what} appear here once the run gets there.", icon=":material/hourglass_top:")


def _reconstructions(run, metric_rows):
    st.markdown("## Reconstructions")
    st.markdown(text["Reconstructions"])
    latest = _artifact(run, "reconstructions.png")
    before = _artifact(run, "reconstructions_before.png")
    if latest is None and before is None:
        _pending("Reconstructions")
        return
    epochs = recipe.curve_rows(metric_rows, series=("autoencoder",))
    settings = Config.from_dict(run.config)
    total = settings.ae_warmup_epochs + settings.ae_epochs
    if before is not None:
        st.image(before, caption="before training (random weights)")
    if latest is not None:
        st.image(latest, caption=f"after epoch {len(epochs)} of {total}")
    chart = views.loss_chart(epochs)
    if chart is not None:
        st.vega_lite_chart(spec=chart, width="stretch")
    result = run.result
    if "reconstruction" not in result:
        return
    quality, trained = result["reconstruction"], result["autoencoder"]
    a, b, c = st.columns(3)
    a.metric("MSE on held-out images", f"{quality['mse_mean']:.4f}",
             f"{quality['mse_mean'] - trained['mse_before_training']:+.4f} vs untrained",
             delta_color="inverse")
    b.metric("PSNR, mean", f"{quality['psnr_db_mean']:.1f} dB",
             f"10% of images below {quality['psnr_db_p10']:.1f} dB", delta_color="off",
             delta_arrow="off")
    c.metric("compression ratio", f"{result['compression_ratio']:.1f}x",
             f"{views.shape_text(result['input_shape'])} -> "
             f"{views.shape_text(result['code_shape'])}", delta_color="off", delta_arrow="off")
    psnr = _artifact(run, "psnr_per_image.npy")
    if psnr is not None:
        st.altair_chart(views.psnr_chart(psnr, quality["images"]), width="stretch")
    lab_ui.compare_caption(views.ORIGINAL["autoencoder"], views.reconstruction_text(result),
                           run.config["dataset"])


def _codes(run):
    st.markdown("## The code")
    st.markdown(text["The code"])
    images, codes = _artifact(run, "showcase_images.npy"), _artifact(run, "latent_codes.npy")
    if images is None or codes is None:
        _pending("Codes")
        return
    names = run.result.get("reconstruction", {}).get("showcase_classes", [""] * len(images))
    for column, image, code, name in zip(st.columns(3), images, codes, names):
        with column:
            st.image(image_grid([[image]], scale=3), caption=name)
            st.image(channels_grid(code), caption=f"its {views.shape_text(code.shape)} code, "
                                                  f"one tile per channel")


def _speed(run):
    st.markdown("## Why a compact input speeds up the classifier")
    st.markdown(text["Why a compact input speeds up the classifier"])
    result = run.result
    if "speed_up" not in result:
        _pending("The raw-vs-encoded comparison")
        return
    dataset = run.config["dataset"]
    st.markdown(views.speed_up_sentence(result, lab_ui.dataset_title(dataset)))
    left, right = st.columns([3, 2])
    left.dataframe(views.comparison_rows(result), hide_index=True, width="stretch")
    right.altair_chart(views.timing_chart(result), width="stretch")
    st.caption(f"Timing: {result['timing']}. Encoding: {result['encoding']['what']}.")
    lab_ui.compare_caption(views.ORIGINAL["speed"], views.speed_text(result), dataset)


def _overfitting(run, metric_rows):
    st.markdown("## Does the classifier on codes overfit?")
    st.markdown(text["Does the classifier on codes overfit?"])
    result = run.result
    chart = views.accuracy_chart(metric_rows)
    if chart is not None:
        st.vega_lite_chart(spec=chart, width="stretch")
    if "encoded" not in result:
        if chart is None:
            _pending("Accuracy curves")
        return
    st.markdown(views.overfitting_verdict(result))
    lab_ui.compare_caption(views.ORIGINAL["accuracy"], views.overfitting_text(result),
                           run.config["dataset"])


def _fine_tuned(run):
    if not run.config.get("fine_tune"):
        return
    st.markdown("## Fine-tune the encoder as a stem")
    st.markdown(text["Fine-tune the encoder as a stem"])
    result = run.result
    if "fine_tune" not in result:
        _pending("The fine-tuned classifier")
        return
    st.markdown(views.fine_tune_sentence(result))


def show_results(run):
    """Every step's stored results of one run (a `ui.runs.live_run` body)."""
    metric_rows = state.get_store().metrics_rows([run.id])
    _reconstructions(run, metric_rows)
    _codes(run)
    _speed(run)
    _overfitting(run, metric_rows)
    _fine_tuned(run)


latest_run = lab_ui.latest_run("autoencoder")
if latest_run is None:
    st.info("No run yet: press the button above. Reconstructions, codes and the raw-vs-encoded "
            "comparison will appear here, step by step.", icon=":material/arrow_upward:")
else:
    st.markdown(f"#### Your latest run: #{latest_run.id} {latest_run.title}")
    runs.live_run(latest_run.id, body=show_results)

st.markdown("## The lab's answers")
st.markdown(text["The lab's answers"])
setting = [] if latest_run is None else lab_ui.same_setting(latest_run)
lab_ui.answers_panel(views.answers([run.result for run in setting]))
