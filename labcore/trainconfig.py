"""Training configuration and the validator of the `train` job kind.

Owns `TrainConfig` (optimizer, schedule, regularisation switches, data
subset), its declared `RANGES` (the same declarations give the widgets their
min and max), `problems` and `problems_for_run`. Keras-free, so the
Streamlit process can refuse a bad configuration before a job is queued;
`labcore.training` applies it in the worker.
"""

import dataclasses

from labcore import data, schedules
from labcore import spec as spec_lib
from labcore.errors import ConfigError, LabError, describe
from labcore.records import Record
from labcore.schedules import ScheduleSpec
from labcore.spec import Range

__all__ = [
    "GPU_BATCH_SIZE",
    "OPTIMIZERS",
    "RANGES",
    "RunConfig",
    "TrainConfig",
    "default_batch_size",
    "load_options",
    "problems",
    "problems_for_run",
]

OPTIMIZERS = ("adam", "sgd", "rmsprop", "adamw")

RANGES = {
    "epochs": Range("int", 1, 500),
    "batch_size": Range("int", 1, 4096),
    "learning_rate": Range("float", 0.0, 10.0, lo_open=True),
    "optimizer": Range("choice", choices=OPTIMIZERS),
    "momentum": Range("float", 0.0, 1.0, hi_open=True),
    "weight_decay": Range("float", 0.0, 1.0),
    "label_smoothing": Range("float", 0.0, 0.5),
    "early_stopping_patience": Range("int", 0, 500),
    "restore_best": Range("bool"),
    "seed": Range("int", 0, 999_999),
    "dataset": Range("name", 1, 64),
    "subset": Range("int", 10, 100_000, optional=True),
    "val_fraction": Range("float", 0.0, 0.5),
    "test_subset": Range("int", 10, 100_000, optional=True),
    "mixed_precision": Range("bool"),
    "steps_per_execution": Range("int", 1, 1000),
}


@dataclasses.dataclass(frozen=True)
class TrainConfig(Record):
    """How to train one model: optimizer, schedule, regularisation, data.

    Construction never validates (the builder page holds half-edited
    configs); `problems` lists what is out of range.

    Args:
        epochs: int in [1, 500].
        batch_size: int in [1, 4096], at most the training set's size.
        learning_rate: float in (0, 10], the rate after warm-up.
        optimizer: str, "adam", "sgd", "rmsprop" or "adamw".
        momentum: float in [0, 1), used by "sgd" only.
        weight_decay: float in [0, 1], used by "adamw" only (decoupled; not
            the same as an L2 term in the loss).
        schedule: ScheduleSpec, warm-up and decay of the learning rate.
        label_smoothing: float in [0, 0.5], for the default classification
            loss.
        early_stopping_patience: int in [0, 500], epochs without a better
            validation loss before stopping; 0 = off.
        restore_best: bool, with early stopping, end with the weights of the
            best validation loss instead of the last epoch's.
        seed: int in [0, 999999], for weights, shuffling and the split.
        dataset: str, a key of `labcore.data.DATASETS`.
        subset: int or None, how many training images to draw (at least 10,
            validation included; stratified and seeded); None = all.
        val_fraction: float in [0, 0.5], share of the drawn training images
            held out for validation; must be > 0 with early stopping.
        test_subset: int or None, how many test images to evaluate on (at
            least 10; stratified and seeded); None = all.
        mixed_precision: bool, compute in float16 with float32 weights
            (Keras's "mixed_float16" policy; the softmax stays float32). Up
            to 2-3x faster on a GPU with tensor cores, slower on a CPU.
        steps_per_execution: int, training steps compiled into one call
            (Keras's `compile(steps_per_execution=...)`): fewer round trips
            between Python and the device, which is what a small model on
            a GPU waits on; batch-level progress then comes every that many
            steps.
    """

    epochs: int = 3
    batch_size: int = 64
    learning_rate: float = 1e-3
    optimizer: str = "adam"
    momentum: float = 0.9
    weight_decay: float = 1e-4
    schedule: ScheduleSpec = ScheduleSpec()
    label_smoothing: float = 0.0
    early_stopping_patience: int = 0
    restore_best: bool = True
    seed: int = 0
    dataset: str = "fashion_mnist_small"
    subset: int | None = None
    val_fraction: float = 0.1
    test_subset: int | None = None
    mixed_precision: bool = False
    steps_per_execution: int = 1

    record_path = "train"


@dataclasses.dataclass(frozen=True)
class RunConfig(Record):
    """What a `train` run stores: the model and how to train it.

    Args:
        spec: labcore.spec.ModelSpec.
        train: TrainConfig.
    """

    spec: spec_lib.ModelSpec = spec_lib.ModelSpec()
    train: TrainConfig = TrainConfig()


GPU_BATCH_SIZE = 256


def default_batch_size(probed=None):
    """The batch size a new run starts with on the device the workers use.

    64 (`TrainConfig`'s default) on a CPU. On a GPU, a small model's batch
    of 64 takes less time than Python needs to slice and hand over the next
    one (`keras.fit` feeds NumPy arrays batch by batch), so the GPU waits
    between steps; 256 gives it four times the work per hand-over. The
    learner sees the value and may change it; labs keep their presets'.

    Args:
        probed: dict from `labcore.device.probe()`, or None (unknown, as
            while the probe runs: the CPU's).

    Returns:
        int.
    """
    if probed and probed.get("device") == "GPU":
        return GPU_BATCH_SIZE
    return TrainConfig.batch_size


def problems(config, n_train=None, path="train"):
    """Every out-of-range or inconsistent field of a config, as messages.

    Args:
        config: TrainConfig.
        n_train: int or None, the training set's size when known; a batch
            larger than it is refused.
        path: str, where the config sits, for messages.

    Returns:
        list of str, empty when the config is valid.

    Example:
    >>> problems(TrainConfig(learning_rate=0.0))
    ['train.learning_rate must be a float in (0, 10]; got 0.0.']
    """
    found = []
    refused = set()
    for name, declared in RANGES.items():
        messages = declared.problems(f"{path}.{name}", getattr(config, name))
        found += messages
        if messages:
            refused.add(name)
    schedule = config.schedule
    if not isinstance(schedule, ScheduleSpec):
        found.append(describe(f"{path}.schedule", "a ScheduleSpec", schedule))
        return found
    schedule_problems = schedules.problems(schedule, f"{path}.schedule")
    found += schedule_problems
    if schedule_problems:
        refused.add("schedule")

    # Each check below compares fields, which only means something once
    # those fields are themselves in range.
    warmup = schedule.warmup_epochs
    if not refused & {"epochs", "schedule"} and warmup > 0 and warmup >= config.epochs:
        found.append(
            describe(
                f"{path}.schedule.warmup_epochs",
                f"an int in [0, {config.epochs - 1}] (below {path}.epochs, "
                "or the rate never reaches learning_rate)",
                warmup,
            )
        )
    if (
        not refused & {"learning_rate", "schedule"}
        and schedule.kind == "cosine"
        and schedule.min_lr > config.learning_rate
    ):
        found.append(
            describe(
                f"{path}.schedule.min_lr",
                f"a float in [0, {config.learning_rate:g}] ({path}.learning_rate)",
                schedule.min_lr,
            )
        )
    if (
        not refused & {"early_stopping_patience", "val_fraction"}
        and config.early_stopping_patience > 0
        and config.val_fraction == 0
    ):
        found.append(
            describe(
                f"{path}.val_fraction",
                "a float in (0, 0.5] when early stopping is on "
                "(it watches the validation loss)",
                config.val_fraction,
            )
        )
    if n_train is not None and "batch_size" not in refused and config.batch_size > n_train:
        found.append(
            describe(
                f"{path}.batch_size",
                f"an int in [1, {n_train}] (the training set has {n_train} images)",
                config.batch_size,
            )
        )
    return found


def load_options(input_shape, image_shape):
    """How `labcore.data.load` must adapt a dataset's images to a model.

    The runner pads images with zeros, centred, up to a square model input
    at least as large (28x28 Fashion-MNIST into a 32x32 CIFAR-shaped model),
    repeats a grey channel into three or turns colour into grey; it never
    crops or resizes.

    Args:
        input_shape: (H, W, C), the model spec's input.
        image_shape: (h, w, c), the dataset's images.

    Returns:
        dict of `pad_to` and `channels` keyword arguments for
        `labcore.data.load` (None where nothing changes).

    Raises:
        ConfigError: the model's input cannot be reached from the images;
            the message names both shapes.
    """
    height, width, n_channels = tuple(input_shape)
    image_height, image_width, image_channels = tuple(image_shape)
    pads_square = height == width and height >= image_height and width >= image_width
    same_size = (height, width) == (image_height, image_width)
    channels_fit = n_channels in (1, 3) and image_channels in (1, 3)
    if not (same_size or pads_square) or not channels_fit:
        raise ConfigError(
            describe(
                "spec.input_shape",
                f"the dataset's image shape {tuple(image_shape)}, or square and at "
                "least as large (images are zero-padded), with 1 or 3 channels",
                tuple(input_shape),
            )
        )
    return {
        "pad_to": None if same_size else height,
        "channels": None if n_channels == image_channels else n_channels,
    }


def problems_for_run(config):
    """Validator of the `train` job kind: spec, training config and data.

    Args:
        config: dict {"spec": ModelSpec dict, "train": TrainConfig dict}.

    Returns:
        list of str, every problem found; empty when the run can start.
    """
    if not isinstance(config, dict):
        return [describe("config", 'a dict with keys "spec" and "train"', config)]
    found = [
        f"config has an unknown key {key!r}; allowed keys: spec, train."
        for key in config
        if key not in ("spec", "train")
    ]
    spec = _parsed_spec(config.get("spec"), found)
    try:
        train = TrainConfig.from_dict(config.get("train", {}))
    except LabError as error:
        found.append(str(error))
        return found
    info = _dataset_info(train.dataset, found)
    found += problems(train, n_train=_n_train(train, info))
    if info is not None:
        found += _subset_problems(train, info)
    if spec is None or info is None:
        return found

    task = spec.task
    if task.kind != "classifier":
        found.append(describe("spec.task.kind", "'classifier' for a train run", task.kind))
    elif task.n_classes != info.n_classes:
        found.append(
            describe(
                "spec.task.n_classes",
                f"{info.n_classes} (the classes of {train.dataset!r})",
                task.n_classes,
            )
        )
    try:
        load_options(spec.input_shape, info.image_shape)
    except ConfigError as error:
        found.append(str(error))
    return found


def _parsed_spec(values, found):
    """The ModelSpec in `values`, or None with its problems added to `found`."""
    try:
        spec = spec_lib.ModelSpec.from_dict(values)
    except LabError as error:
        found.append(str(error))
        return None
    spec_problems = spec_lib.problems(spec)
    found += spec_problems
    return None if spec_problems else spec


def _dataset_info(key, found):
    """The DatasetInfo of `key` if it can be loaded, else None with a problem."""
    if RANGES["dataset"].problems("train.dataset", key):
        # `problems` already words this one.
        return None
    if key not in data.DATASETS:
        choices = ", ".join(repr(known) for known in data.DATASETS)
        found.append(describe("train.dataset", f"one of {choices}", key))
        return None
    available, message = data.availability(key)
    if not available:
        found.append(f"train.dataset {key!r} is not available: {message}")
        return None
    return data.DATASETS[key]


def _is_count(value):
    return isinstance(value, int) and not isinstance(value, bool)


def _n_train(config, info):
    """Training images `labcore.data.load` will give, or None if unknowable.

    Mirrors its split: round(val_fraction * n) held out, at least one when
    val_fraction > 0.
    """
    if info is None or RANGES["val_fraction"].problems("train.val_fraction", config.val_fraction):
        return None
    n = info.n_train if config.subset is None else config.subset
    if not _is_count(n) or not 10 <= n <= info.n_train:
        return None
    n_val = round(config.val_fraction * n)
    if config.val_fraction > 0:
        n_val = max(1, n_val)
    return n - n_val


def _subset_problems(config, info):
    """Subsets larger than the dataset holds."""
    found = []
    for name, available in (("subset", info.n_train), ("test_subset", info.n_test)):
        value = getattr(config, name)
        if _is_count(value) and value > available:
            found.append(
                describe(
                    f"train.{name}",
                    f"None or an int in [10, {available}] (the images of {info.key!r})",
                    value,
                )
            )
    return found
