"""The AutoEncoder lab's recipe without Keras: validator, specs, result rows.

The specs are pure Python, so the page can show shapes and parameter
counts as a slider moves, before anything is trained; the runner builds
the very same specs. `problems` is the `autoencoder` job kind's validator.
The row helpers turn a stored run (`runner.run`'s result and per-epoch
rows) into what tables and `labcore.viz` charts take. Keras-free and
Altair-free: the Streamlit process and the worker both import it.
"""

import dataclasses
import math

from labcore import data, records
from labcore import spec as spec_lib
from labcore.errors import describe
from labcore.labs.autoencoder.config import INPUT_SIZE, RANGES, SERIES, Config
from labcore.references import REFERENCES
from labcore.spec import GroupSpec, HyperSpec, LearnerSpec, ModelSpec, StemSpec, TaskSpec

__all__ = [
    "autoencoder_spec",
    "bottleneck",
    "classifier_spec",
    "curve_rows",
    "encoder_filters",
    "encoder_spec",
    "histogram_rows",
    "problems",
    "timing_rows",
]


# ## The specs


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
            decoder_upsampling=config.decoder_upsampling,
        ),
        hyper=HyperSpec(initializer="he_normal", use_bias=True, bn_momentum=config.ae_bn_momentum),
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
    parsed, found, refused = records.check(Config, config, RANGES)
    if parsed is None or "dataset" in refused:
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


# ## Rows from a stored run


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
    """Per-epoch rows of some series, labelled for `labcore.viz.curves_spec`.

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
