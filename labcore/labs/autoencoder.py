"""
Title: AutoEncoder for CNN
Description: learn a compact code of each image with a convolutional
autoencoder, then measure what a classifier gains (time) and loses
(accuracy) by training on the frozen codes instead of the pixels.

## Introduction

The original community lab ("Encoders for CNN") trained a convolutional
autoencoder on CIFAR-10, kept its encoder, and trained a ResNet on the
encoder's 4x4x32 output instead of the 32x32x3 images. It promised faster
training, lower accuracy and overfitting, but never measured any of it and
never trained the baseline on pixels. This lab does every step and measures
each one:

1. train the autoencoder (strided 3x3 convolutions with BN + ReLU, a true
   mirror of transposed convolutions with a sigmoid output, MSE, learning
   rate warm-up then constant) and store a grid of reconstructions every
   epoch;
2. measure reconstruction quality on held-out images (MSE and PSNR per
   image) and the compression ratio (input size / code size);
3. train the same classifier head twice, on pixels and on the frozen codes,
   with the same epochs, seed and optimizer, timing both;
4. optionally fine-tune: the trained encoder, unfrozen, as the stem of the
   classifier on pixels.

"The same classifier" needs one decision. A head that suits a 4x4 code
(no downsampling stem, a group at stride 1 then one at stride 2) would run
at full 32x32 resolution on pixels, an unfair and slow baseline. So on
pixels the head gets the encoder's layers in front, untrained: the same
architecture as the fine-tune model, from scratch. Raw and encoded then
differ only in what the encoder layers do: learn with the task every
epoch, or run once, frozen, before training.

## This module

Keras-free, so the Streamlit page can import it: the config (`Config`,
`PRESETS`, `PRESET_NOTES`), its validator (`problems`, the `autoencoder`
job kind's), the specs the recipe builds (`autoencoder_spec`,
`encoder_spec`, `classifier_spec`) with their sizes (`bottleneck`), and
pure functions that shape a stored run for the page (`comparison_rows`,
`timing_rows`, `curve_rows`, `histogram_rows`, `speed_up_sentence`).
`run`, the job kind's runner, imports Keras from
`labcore.labs._autoencoder_keras` only when called.
"""

import dataclasses
import math

from labcore import data, schedules
from labcore import spec as spec_lib
from labcore.errors import ConfigError, LabError, describe
from labcore.records import Record
from labcore.references import REFERENCES
from labcore.spec import (
    GroupSpec,
    HyperSpec,
    LearnerSpec,
    ModelSpec,
    Range,
    StemSpec,
    TaskSpec,
)

__all__ = [
    "CLASSIFIERS",
    "Config",
    "INPUT_SIZE",
    "ORIGINAL",
    "PRESETS",
    "PRESET_NOTES",
    "RANGES",
    "SERIES",
    "autoencoder_spec",
    "bottleneck",
    "classifier_spec",
    "comparison_rows",
    "curve_rows",
    "encoder_filters",
    "encoder_spec",
    "histogram_rows",
    "overfitting_text",
    "problems",
    "run",
    "speed_up_sentence",
    "times_faster",
    "timing_rows",
]

# Every image is zero-padded to CIFAR-10's 32x32, the original's input, so
# three stride-2 stages give its 4x4 code whatever the dataset.
INPUT_SIZE = 32

CLASSIFIERS = {
    "compact": "ours: no stem, plain groups 64 (stride 1) and 128 (stride 2): 4x4 -> 4x4 -> 2x2",
    "original": "the original's ResNet v2: 7x7/2 stem + 3x3/2 pool collapse 4x4 to 1x1",
}

# The stored per-epoch series, in the order the recipe trains them.
SERIES = {
    "autoencoder": "autoencoder",
    "raw": "on pixels",
    "encoded": "on codes",
    "fine_tune": "fine-tuned encoder",
}

# What the original lab told its students (on CIFAR-10, Colab GPU), shown
# beside each measured figure.
ORIGINAL = {
    "autoencoder": (
        "25 epochs (5 warm-up + 20) \"take about 4 minutes\" on a Colab GPU, and \"you should "
        "see a validation accuracy ~80%\" — an accuracy of an MSE reconstruction, which "
        "measures nothing; MSE and PSNR below are what matter."
    ),
    "compression": "32x32x3 = 3,072 pixels reduced to a 4x4x32 code of 512 values (6x).",
    "speed": (
        "training on encodings should be faster; the notebook never trained on pixels and "
        "never timed either (20 epochs \"about 4 minutes\" on a Colab GPU)."
    ),
    "accuracy": (
        "the encoded model \"overfits the encoded training data, and plateaus on accuracy on "
        "the encoded test data at ~61% (50% with V2)\"."
    ),
}


# ## The config
#
# One frozen dataclass, every field a plain value, so a run's config is
# JSON and the CLI's `--set field=value` reaches any of them.


@dataclasses.dataclass(frozen=True)
class Config(Record):
    """Settings of one run of the recipe; the defaults are the quick preset.

    Args:
        dataset: str, a key of `labcore.data.DATASETS`; images are padded
            to 32x32.
        seed: int in [0, 999999], for the data draw, weights and shuffling.
        subset: int or None, training images drawn (validation included,
            stratified); None = all.
        test_subset: int or None, held-out test images; None = all.
        val_fraction: float in (0, 0.5], share of the drawn images held out
            for validation (the curves need it).
        stages: int in [1, 5], stride-2 stages of the encoder: the code is
            32 / 2**stages pixels wide.
        latent_channels: int in [1, 256], channels of the code.
        learning_rate: float in (0, 1], Adam's rate after warm-up, for every
            model of the run.
        ae_warmup_epochs: int in [0, 50], autoencoder epochs of linear
            warm-up from 1e-6 (the original's s_lr).
        ae_epochs: int in [1, 500], autoencoder epochs after the warm-up.
        ae_batch_size: int in [1, 4096].
        classifier: str, "compact" or "original" (see `CLASSIFIERS`).
        classifier_epochs: int in [2, 500], epochs of each classifier; at
            least 2 because time per epoch is measured after the first,
            which also compiles.
        classifier_batch_size: int in [1, 4096].
        fine_tune: bool, also train the classifier on pixels starting from
            the trained encoder (step 4).
    """

    dataset: str = data.DEFAULT_DATASET
    seed: int = 0
    subset: int | None = 5000
    test_subset: int | None = 1000
    val_fraction: float = 0.1
    stages: int = 3
    latent_channels: int = 32
    learning_rate: float = 1e-3
    ae_warmup_epochs: int = 1
    ae_epochs: int = 4
    ae_batch_size: int = 32
    classifier: str = "compact"
    classifier_epochs: int = 3
    classifier_batch_size: int = 32
    fine_tune: bool = False

    def ae_schedule(self):
        """The autoencoder's learning rate: linear warm-up, then constant."""
        return schedules.ScheduleSpec(kind="constant", warmup_epochs=self.ae_warmup_epochs,
                                      warmup_start=1e-6)


RANGES = {
    "dataset": Range("choice", choices=tuple(data.DATASETS)),
    "seed": Range("int", 0, 999_999),
    "subset": Range("int", 10, 100_000, optional=True),
    "test_subset": Range("int", 10, 100_000, optional=True),
    "val_fraction": Range("float", 0.0, 0.5, lo_open=True),
    "stages": Range("int", 1, 5),
    "latent_channels": Range("int", 1, 256),
    "learning_rate": Range("float", 0.0, 1.0, lo_open=True),
    "ae_warmup_epochs": Range("int", 0, 50),
    "ae_epochs": Range("int", 1, 500),
    "ae_batch_size": Range("int", 1, 4096),
    "classifier": Range("choice", choices=tuple(CLASSIFIERS)),
    "classifier_epochs": Range("int", 2, 500),
    "classifier_batch_size": Range("int", 1, 4096),
    "fine_tune": Range("bool"),
}

_QUICK = Config()
PRESETS = {
    # Batches of 8 give the autoencoder's batch norms enough steps to settle
    # their moving statistics: with fewer, its inference-mode MSE can end
    # worse than the untrained one's.
    "tiny": dataclasses.replace(
        _QUICK, subset=600, test_subset=100, ae_epochs=2, ae_batch_size=8, classifier_epochs=2,
        fine_tune=True,
    ),
    "quick": _QUICK,
    "full": dataclasses.replace(
        _QUICK, subset=None, test_subset=None, ae_warmup_epochs=5, ae_epochs=20,
        classifier_epochs=20, fine_tune=True,
    ),
}
PRESET_NOTES = {
    "tiny": "seconds, for tests: 600 images, 1 warm-up + 2 epochs, classifiers 2 epochs",
    "quick": "under a minute on a 2-core CPU: 5,000 images, 1 warm-up + 4 epochs, classifiers 3",
    "full": "the original's settings: all images, 5 warm-up + 20 epochs, batch 32, lr 1e-3; "
            "classifiers 20 epochs, fine-tune on (tens of minutes on a CPU)",
}


# ## The specs
#
# Pure Python, so the page can show shapes and parameter counts as a slider
# moves, before anything is trained.


def encoder_filters(stages, latent_channels):
    """The encoder's widths: the original's 64, then 32s, ending at the code.

    Example:
    >>> encoder_filters(3, 32)
    (64, 32, 32)
    >>> encoder_filters(2, 8)
    (64, 8)
    """
    widths = (64,) + (32,) * (stages - 1)
    return widths[: stages - 1] + (latent_channels,)


def autoencoder_spec(config, channels=1):
    """The autoencoder: strided plain groups, then their mirror.

    The encoder is the original's: each stage a group of one plain block
    (Conv 3x3 stride 2 with bias -> BN -> ReLU), no stem. The decoder
    mirrors it stage by stage (the original skipped the first width and
    ended with BN -> ReLU); a sigmoid ends it, since pixels are in [0, 1].

    Args:
        config: Config.
        channels: int, the images' channels (1 or 3).

    Returns:
        ModelSpec, input (32, 32, channels), the code at "learner_output".
    """
    widths = encoder_filters(config.stages, config.latent_channels)
    return ModelSpec(
        input_shape=(INPUT_SIZE, INPUT_SIZE, channels),
        stem=StemSpec(kind="none"),
        learner=LearnerSpec(
            block="plain", groups=tuple(GroupSpec(width, 1, strides=2) for width in widths)
        ),
        task=TaskSpec(
            kind="autoencoder",
            decoder_filters=tuple(reversed(widths[:-1])),
            output_activation="sigmoid",
        ),
        hyper=HyperSpec(initializer="he_normal", use_bias=True),
        name="autoencoder",
    )


def encoder_spec(config, channels=1):
    """The autoencoder's encoder alone: same layers and names, no decoder.

    The classifier on pixels uses it as its stem, fresh (step 3) or with
    the trained weights copied in by name (step 4).
    """
    full = autoencoder_spec(config, channels)
    return dataclasses.replace(full, task=TaskSpec(kind="encoder"), name="encoder")


def classifier_spec(config, code_shape, n_classes=10):
    """The classifier head that reads a code.

    "compact" (ours) keeps the small map: no stem, a plain group of 64 at
    stride 1, then 128 at stride 2 (4x4 -> 4x4 -> 2x2), global pooling,
    softmax. "original" is the notebook's ResNet v2 (references
    "encoded_classifier_original"), whose 7x7/2 stem and 3x3/2 pool shrink a
    4x4 code to 1x1 before its first group.

    Args:
        config: Config.
        code_shape: (h, w, c), the encoder's output.
        n_classes: int.

    Returns:
        ModelSpec named "classifier".
    """
    if config.classifier == "original":
        original = REFERENCES["encoded_classifier_original"].spec
        return dataclasses.replace(
            original,
            input_shape=tuple(code_shape),
            task=dataclasses.replace(original.task, n_classes=n_classes),
            name="classifier",
        )
    return ModelSpec(
        input_shape=tuple(code_shape),
        stem=StemSpec(kind="none"),
        learner=LearnerSpec(
            block="plain", groups=(GroupSpec(64, 1, strides=1), GroupSpec(128, 1, strides=2))
        ),
        task=TaskSpec(kind="classifier", n_classes=n_classes),
        name="classifier",
    )


def _channels(config):
    return data.DATASETS[config.dataset].image_shape[2]


def bottleneck(config):
    """Sizes and parameter counts of a config's models, without Keras.

    Args:
        config: Config with a valid `dataset`, `stages` and
            `latent_channels`.

    Returns:
        dict: input_shape, code_shape (tuples), input_size, code_size
        (values per image), compression_ratio (input_size / code_size),
        autoencoder_params, encoder_params, classifier_params (the head on
        codes) and raw_classifier_params (encoder layers + head, on pixels).

    Example:
    >>> sizes = bottleneck(Config())
    >>> sizes["code_shape"], sizes["compression_ratio"]
    ((4, 4, 32), 2.0)
    """
    channels = _channels(config)
    encoder = encoder_spec(config, channels)
    code_shape = spec_lib.summarize(encoder)[-1].output_shape
    head = classifier_spec(config, code_shape, data.DATASETS[config.dataset].n_classes)
    input_size = INPUT_SIZE * INPUT_SIZE * channels
    code_size = math.prod(code_shape)
    encoder_params = spec_lib.count_params(encoder)
    head_params = spec_lib.count_params(head)
    return {
        "input_shape": (INPUT_SIZE, INPUT_SIZE, channels),
        "code_shape": tuple(code_shape),
        "input_size": input_size,
        "code_size": code_size,
        "compression_ratio": input_size / code_size,
        "autoencoder_params": spec_lib.count_params(autoencoder_spec(config, channels)),
        "encoder_params": encoder_params,
        "classifier_params": head_params,
        "raw_classifier_params": encoder_params + head_params,
    }


# ## Validation
#
# The job kind's validator: every problem at once, each naming its field,
# before a job is queued.


def problems(config):
    """Every problem of a run's config, without running it.

    Args:
        config: dict, as `Config.to_dict` writes it (missing keys take
            their defaults).

    Returns:
        list of str, one "<field> must be <allowed>; got <value>." per
        problem; empty when the run can start.

    Example:
    >>> problems({"latent_channels": 0})
    ['latent_channels must be an int in [1, 256]; got 0.']
    """
    try:
        parsed = Config.from_dict(config)
    except LabError as error:
        return [str(error)]
    found, refused = [], set()
    for name, declared in RANGES.items():
        messages = declared.problems(name, getattr(parsed, name))
        found += messages
        if messages:
            refused.add(name)
    if "dataset" in refused:
        return found
    available, message = data.availability(parsed.dataset)
    if not available:
        return found + [f"dataset {parsed.dataset!r} is not available: {message}"]
    found += _size_problems(parsed, refused)
    if not refused & {"stages", "latent_channels", "classifier"}:
        found += _spec_problems(parsed)
    return found


def _size_problems(config, refused):
    """Subsets larger than the dataset, batches larger than the training set."""
    info = data.DATASETS[config.dataset]
    found = []
    for name, available in (("subset", info.n_train), ("test_subset", info.n_test)):
        value = getattr(config, name)
        if name not in refused and value is not None and value > available:
            found.append(describe(name, f"None or an int in [10, {available}] "
                                        f"(the images of {info.key!r})", value))
    if refused & {"subset", "val_fraction"} or found:
        return found
    drawn = info.n_train if config.subset is None else config.subset
    n_train = drawn - max(1, round(config.val_fraction * drawn))
    for name in ("ae_batch_size", "classifier_batch_size"):
        value = getattr(config, name)
        if name not in refused and value > n_train:
            found.append(describe(name, f"an int in [1, {n_train}] (the training set has "
                                        f"{n_train} images)", value))
    return found


def _spec_problems(config):
    """What `labcore.spec` refuses in the models the config builds."""
    sizes = bottleneck(config)
    channels = sizes["input_shape"][2]
    specs = {
        "autoencoder": autoencoder_spec(config, channels),
        "classifier": classifier_spec(config, sizes["code_shape"],
                                      data.DATASETS[config.dataset].n_classes),
    }
    return [
        f"{name} spec: {message}"
        for name, model_spec in specs.items()
        for message in spec_lib.problems(model_spec)
    ]


# ## Results for the page
#
# A stored run is plain JSON (`run`'s result) and per-epoch rows; these
# turn them into the rows that tables and `labcore.viz` charts take.


def _percent(value):
    return "" if value is None else f"{100 * value:.1f}%"


def comparison_rows(result):
    """The raw-vs-encoded table: one row per measure, one column per classifier.

    Args:
        result: dict, a run's result (steps may be missing while it runs).

    Returns:
        list of dicts with keys "measure" and one per classifier trained
        ("on pixels", "on codes", "fine-tuned encoder"); empty before step 3.
    """
    trained = [name for name in ("raw", "encoded", "fine_tune") if name in result]
    if not trained:
        return []
    measures = (
        ("input per image", lambda r, name: _input_text(result, name)),
        ("parameters", lambda r, name: f"{r['params']:,}"),
        ("trained parameters", lambda r, name: f"{r['trainable_params']:,}"),
        ("train accuracy (last epoch)", lambda r, name: _percent(r["train_accuracy"])),
        ("validation accuracy (last epoch)", lambda r, name: _percent(r["val_accuracy"])),
        ("test accuracy", lambda r, name: _percent(r["test_accuracy"])),
        ("seconds per epoch (steady)", lambda r, name: f"{r['seconds_per_epoch']:.2f}"),
        ("first epoch seconds (compiles)", lambda r, name: f"{r['first_epoch_seconds']:.2f}"),
        ("images per second (steady)", lambda r, name: f"{r['images_per_second']:,.0f}"),
    )
    return [
        {"measure": measure, **{SERIES[name]: shown(result[name], name) for name in trained}}
        for measure, shown in measures
    ]


def _input_text(result, name):
    shape = result.get("code_shape") if name == "encoded" else result.get("input_shape")
    return " x ".join(map(str, shape)) if shape else ""


def timing_rows(result):
    """Steady-state seconds per epoch of each classifier trained, for a bar chart.

    Returns:
        list of {"classifier": label, "seconds per epoch": float}.
    """
    return [
        {"classifier": SERIES[name], "seconds per epoch": result[name]["seconds_per_epoch"]}
        for name in ("raw", "encoded", "fine_tune")
        if name in result
    ]


def curve_rows(metric_rows, series=("raw", "encoded", "fine_tune")):
    """Per-epoch rows of some series, labelled for `labcore.viz.curves_chart`.

    Args:
        metric_rows: list of dicts from `Store.metrics_rows` (keys
            "series", "epoch" and the metrics).
        series: the series to keep, in this order.

    Returns:
        list of dicts, each with "run" set to the series' label.
    """
    return [
        {**row, "run": SERIES[row["series"]]}
        for name in series
        for row in metric_rows
        if row["series"] == name
    ]


def histogram_rows(values, n_bins=12, label="PSNR (dB)"):
    """Counts of values in equal-width bins, for a bar chart.

    Args:
        values: sequence of floats.
        n_bins: int >= 1.
        label: str, the key of the bin's label in each row.

    Returns:
        list of {label: "lo-hi", "images": count}, low bins first; empty
        for no values.

    Example:
    >>> histogram_rows([1.0, 1.5, 3.0], n_bins=2, label="x")
    [{'x': '1.0-2.0', 'images': 2}, {'x': '2.0-3.0', 'images': 1}]
    """
    values = [float(value) for value in values]
    if not values:
        return []
    lo, hi = min(values), max(values)
    width = (hi - lo) / n_bins or 1.0
    counts = [0] * n_bins
    for value in values:
        counts[min(int((value - lo) / width), n_bins - 1)] += 1
    return [
        {label: f"{lo + index * width:.1f}-{lo + (index + 1) * width:.1f}", "images": count}
        for index, count in enumerate(counts)
    ]


def speed_up_sentence(result, dataset_title):
    """The measured speed-up and accuracy cost of training on codes, in words.

    Args:
        result: dict, a run's result after step 3.
        dataset_title: str, the dataset's display name.

    Returns:
        str, or "" before step 3.
    """
    if "speed_up" not in result:
        return ""
    raw, encoded, encoding = result["raw"], result["encoded"], result["encoding"]
    cost = result["accuracy_cost_points"]
    direction = (f"{abs(cost):.1f} points lower" if cost > 0
                 else f"{abs(cost):.1f} points higher" if cost < 0 else "the same")
    code = " x ".join(map(str, result["code_shape"]))
    return (
        f"On {dataset_title}, the classifier on the {code} codes trained "
        f"**{times_faster(result['speed_up'])}** per epoch than the same head on pixels "
        f"({encoded['seconds_per_epoch']:.2f} s vs {raw['seconds_per_epoch']:.2f} s, steady "
        f"state: the first epoch, which also compiles, is left out), and its test accuracy was "
        f"**{direction}** ({_percent(encoded['test_accuracy'])} vs "
        f"{_percent(raw['test_accuracy'])}). Encoding the {encoding['images']:,} images once "
        f"took {encoding['seconds']:.1f} s; counting it, the {raw['epochs']} epochs on codes were "
        f"{times_faster(result['speed_up_including_encoding'])}."
    )


def overfitting_text(result):
    """Training, validation and test accuracy of each classifier, with its gap.

    Args:
        result: dict, a run's result after step 3.

    Returns:
        str, e.g. "on codes: training 83.9%, validation 81.4% (gap 2.5
        points), test 81.2%; on pixels: ...".
    """
    parts = []
    for name in ("encoded", "raw", "fine_tune"):
        if name not in result:
            continue
        measured = result[name]
        gap = 100 * (measured["train_accuracy"] - measured["val_accuracy"])
        parts.append(
            f"{SERIES[name]}: training {_percent(measured['train_accuracy'])}, validation "
            f"{_percent(measured['val_accuracy'])} (gap {gap:.1f} points), test "
            f"{_percent(measured['test_accuracy'])}"
        )
    return "; ".join(parts) + "."


def times_faster(ratio):
    """A ratio of times in words: '2.5x faster' above 1, '1.5x slower' below.

    Example:
    >>> times_faster(2.5), times_faster(0.5)
    ('2.5x faster', '2.0x slower')
    """
    return f"{ratio:.1f}x faster" if ratio >= 1 else f"{1 / ratio:.1f}x slower"


# ## The runner


def run(config, reporter):
    """Runner of the `autoencoder` job kind: the four steps of the lab.

    Imports Keras (through `labcore.labs._autoencoder_keras`), so only a
    worker process calls it.

    Args:
        config: dict, see `Config`.
        reporter: a `labcore.reporting.Reporter`.

    Returns:
        dict, the run's result (also reported step by step).

    Raises:
        ConfigError: `problems` found any (all listed, one per line).
        Cancelled: the reporter asked to stop.
    """
    found = problems(config)
    if found:
        raise ConfigError("\n".join(found))
    from labcore.labs import _autoencoder_keras

    return _autoencoder_keras.run(Config.from_dict(config), reporter)
