"""The Regularization lab: watch a model overfit, then close the gap step by step.

Description: a compact ResNet v2 memorises its training images (train
accuracy far above validation); Gaussian noise, L2 weight decay, a lower
learning rate late in training, label smoothing, dropout, early stopping,
warm-up and decay schedules narrow that gap, and a learning-rate range test
and a compact-model sweep pick the rate and the size.

This module is the recipe's pure-Python half, which the Streamlit process
imports: the `Config` with its `PRESETS`, the ladder of `STEPS` (each with
what the original lab told its students to expect on CIFAR-10), the spec and
training configuration each step trains (`model_spec`, `train_config`), the
kind's validator `problems`, and the pure functions the page draws with
(`lr_curves`, `ladder_rows`, `sweep_points`, `lr_range_suggestion`,
`summary_text` and two Altair charts). `run`, the kind's runner, imports
Keras only when called (`labcore.labs._regularization_keras`).

Where we depart from the original lab (GoogleCloudPlatform/
keras-idiomatic-programmer, community-labs/regularization):
- No double decay. Its runs applied both Adam's legacy `decay=1e-5` and a
  scheduler subtracting 1e-5 * 0.9^k every epoch; ours train at a constant
  rate unless a step says otherwise.
- No compounding cosine. Its "two-tier" step restarted at 1e-4 under a
  cosine that multiplied the previous epoch's rate, so the rate was ~0 by
  epoch 8 of 10; our lower-rate step trains at a constant base/10, and our
  cosine (the "schedule" step) is computed from the epoch number alone.
- L2 reaches the dense classifier too, as the lab's text promised (its
  plain Keras `Dense` head never got it).
- The ladder's gap is measured after training, with the final weights in
  inference mode on the training and validation images. Keras's running
  train accuracy is measured with noise and dropout switched on and while
  the weights still move, so it would make every regularizer look as if it
  closed the gap.
"""

import dataclasses
import math

from labcore import data, references, schedules, trainconfig
from labcore import spec as spec_lib
from labcore.errors import ConfigError, LabError, describe
from labcore.records import Record
from labcore.schedules import ScheduleSpec
from labcore.spec import GroupSpec, HyperSpec, LearnerSpec, ModelSpec, Range, StemSpec, TaskSpec
from labcore.trainconfig import TrainConfig

__all__ = [
    "CONTINUE_FIELDS",
    "Config",
    "DECAYS",
    "MODELS",
    "PRESETS",
    "PRESET_NOTES",
    "RANGES",
    "STEPS",
    "Step",
    "WEIGHTS_ARTIFACT",
    "continues",
    "ladder_chart",
    "ladder_rows",
    "lr_curves",
    "lr_range_chart",
    "lr_range_suggestion",
    "model_spec",
    "problems",
    "run",
    "smoothed",
    "summary_text",
    "sweep_points",
    "train_config",
]


# ## The ladder
#
# The original lab's five runs in order, then the lessons its course notes
# add. Steps 2-5 are cumulative as in the original (noise stays on under
# L2); every later lesson changes the baseline by one thing, so the ladder
# shows each change's own effect.


@dataclasses.dataclass(frozen=True)
class Step:
    """One step of the lab.

    Args:
        label: str, a short name for charts ("+ noise").
        title: str, the section's title.
        changes: str, what this step changes, in one sentence.
        expected: str, what the original lab told its students (CIFAR-10).
        ladder: bool, True when the step trains with validation and belongs
            in the ladder's comparison.
    """

    label: str
    title: str
    changes: str
    expected: str
    ladder: bool = True


STEPS = {
    "overfit_batch": Step(
        "small batch", "Overfit a small batch first",
        "Train on 100 images only, no validation: the model must learn them all.",
        "Not in the original lab. The course notes' sanity check: a model that cannot reach "
        "~100% on 100 images has a bug, and regularizing it would hide that.",
        ladder=False,
    ),
    "baseline": Step(
        "baseline", "Baseline: what overfitting looks like",
        "No regularization at all.",
        "After 10 epochs, validation plateaus at ~73% while train accuracy climbs to 91% (cell 12).",
    ),
    "noise": Step(
        "+ noise", "Gaussian noise",
        "Gaussian noise on the pooled features before the classifier (then a ReLU).",
        "Train accuracy unchanged; validation creeps up a little, to ~75% (cell 14).",
    ),
    "l2_strong": Step(
        "+ L2 too strong", "Weight decay too strong",
        "Noise, plus a large L2 penalty on every kernel.",
        "L2 0.1: train accuracy plateaus around ~60%, \"it just won't learn at this level\" (cell 16).",
    ),
    "l2_small": Step(
        "+ L2 small, longer", "Weight decay, small, with more epochs",
        "Noise, plus a small L2 penalty, trained three times as long.",
        "L2 0.001 for 30 epochs: validation creeps up to ~80%, train plateaus around 80% too (cell 18).",
    ),
    "lower_lr": Step(
        "+ rate / 10", "Lower the learning rate late",
        "Continue the L2-small model's weights at a tenth of the rate for more epochs.",
        "10 more epochs at 1e-4: validation climbs and plateaus at ~84% (cell 20). Its rate really "
        "collapsed to ~0 by epoch 8 under a compounding cosine.",
    ),
    "label_smoothing": Step(
        "label smoothing", "Label smoothing",
        "The baseline, trained towards softened targets (1 - e for the true class).",
        "Mentioned in the original's slides, never run there: no number to compare.",
    ),
    "dropout": Step(
        "dropout", "Dropout before the classifier",
        "The baseline with a Dropout layer between pooling and the dense classifier.",
        "Mentioned in the original's slides, never run there (its head has no Dropout).",
    ),
    "early_stopping": Step(
        "early stopping", "Early stopping",
        "The baseline trained longer, stopped once validation loss stops improving, best weights restored.",
        "Not in the original lab, which always trained a fixed number of epochs.",
    ),
    "warmup": Step(
        "warm-up", "Learning-rate warm-up",
        "The baseline with the rate rising linearly from 1e-6 over the first epochs.",
        "The original's warmup() helper was never called by this lab, and its ramp stopped at 0.8 of "
        "its target.",
    ),
    "schedule": Step(
        "decay", "Learning-rate decay",
        "The baseline with a step, exponential or cosine decay of the rate.",
        "The original trained every run under a decay; its cosine compounded: from 1e-3, below 1e-6 "
        "by epoch 14 of 20, and 7e-14 by the last.",
    ),
    "lr_range": Step(
        "LR range test", "Learning-rate range test",
        "Sweep the rate exponentially over a few hundred batches, record the loss, suggest a rate.",
        "Not in the original lab. Its course notes: \"the learning rate is the most important "
        "hyperparameter\".",
        ladder=False,
    ),
    "sweep": Step(
        "compact models", "Compact models",
        "The same model with fewer or more blocks per group: accuracy against size and speed.",
        "The original ends by making the model more compact (n_blocks 1 to 4); it gives no numbers.",
        ladder=False,
    ),
}

# Steps whose model carries the noise, and the L2 factor field each uses.
_NOISY_STEPS = ("noise", "l2_strong", "l2_small", "lower_lr")
_L2_FIELD = {"l2_strong": "l2_strong", "l2_small": "l2_small", "lower_lr": "l2_small"}

MODELS = ("compact", "original")
DECAYS = ("step", "exponential", "cosine")
WEIGHTS_ARTIFACT = "l2_small.weights.h5"


# ## The configuration


@dataclasses.dataclass(frozen=True)
class Config(Record):
    """Everything one step of the lab needs; the defaults are the quick preset.

    Args:
        step: str, a key of `STEPS`.
        dataset: str, a key of `labcore.data.DATASETS`.
        seed: int in [0, 999999], for the subset, the weights and shuffling.
        subset: int or None, training images drawn (validation included);
            None = all.
        val_fraction: float in (0.01, 0.5], the share held out for validation.
        test_subset: int or None, test images evaluated; None = all.
        model: str, "compact" (a 3x3/2 stem suited to 28x28 images, then
            the lab's groups 16/64/128) or "original" (the lab's ResNet v2
            for 32x32x3: 7x7/2 stem and pool; smaller images are padded).
        n_blocks: int in [1, 16], blocks per group, counting the projection
            block (the original's n_blocks + 1).
        bn_momentum: float in [0.5, 1), the momentum of every batch norm's
            moving averages. Keras's (and the original's) 0.99 needs
            hundreds of steps to forget its starting statistics, longer
            than a quick run trains, and until then the model scores near
            chance in inference mode; the small presets use 0.9.
        epochs: int, the baseline's epochs (and every lesson's).
        batch_size: int.
        learning_rate: float, Adam's base rate.
        noise: float in [0, 1], the stddev of the head's Gaussian noise.
        input_noise: float in [0, 1], the stddev of noise on the input
            images in the noise and L2 steps; 0 = none (as the original).
        l2_strong: float, the "too strong" L2 factor.
        l2_small: float, the small L2 factor.
        l2_small_epochs: int, epochs of the L2-small step.
        lower_lr_factor: float in (0, 1], the later tier's rate multiplier.
        lower_lr_epochs: int, epochs at the lower rate.
        label_smoothing: float in (0, 0.5].
        dropout: float in (0, 1), the rate of the Dropout before the classifier.
        patience: int, early stopping's epochs without a better validation loss.
        early_stopping_epochs: int, the most epochs early stopping may run.
        warmup_epochs: int, epochs of linear warm-up.
        decay: str, the "schedule" step's decay: "step", "exponential" or "cosine".
        step_every: int, "step" decay: epochs between drops.
        step_factor: float in (0, 1], "step" decay: each drop's multiplier.
        exponential_decay: float, "exponential": the rate is base * exp(-k t).
        overfit_images: int, training images of the small-batch check.
        overfit_epochs: int, its epochs.
        lr_range_start: float, the range test's first rate.
        lr_range_end: float, its last rate (it stops early if the loss explodes).
        lr_range_steps: int, batches in the range test.
        sweep_blocks: tuple of ints, blocks per group of each swept model.
        sweep_epochs: int, epochs of each swept model.
        sweep_subset: int or None, training images of the sweep; None = all.
    """

    step: str = "baseline"
    dataset: str = data.DEFAULT_DATASET
    seed: int = 0
    subset: int | None = 2400
    val_fraction: float = 0.25
    test_subset: int | None = 1000
    model: str = "compact"
    n_blocks: int = 1
    bn_momentum: float = 0.9
    epochs: int = 6
    batch_size: int = 64
    learning_rate: float = 1e-3
    noise: float = 0.1
    input_noise: float = 0.0
    l2_strong: float = 0.1
    l2_small: float = 0.001
    l2_small_epochs: int = 12
    lower_lr_factor: float = 0.1
    lower_lr_epochs: int = 4
    label_smoothing: float = 0.1
    dropout: float = 0.3
    patience: int = 2
    early_stopping_epochs: int = 12
    warmup_epochs: int = 2
    decay: str = "cosine"
    step_every: int = 2
    step_factor: float = 0.5
    exponential_decay: float = 0.3
    overfit_images: int = 100
    overfit_epochs: int = 30
    lr_range_start: float = 1e-6
    lr_range_end: float = 1.0
    lr_range_steps: int = 200
    sweep_blocks: tuple = (1, 2)
    sweep_epochs: int = 3
    sweep_subset: int | None = 1200


_EPOCHS = Range("int", 1, 500)
_RATE = Range("float", 0.0, 10.0, lo_open=True)
_L2 = spec_lib.RANGES["hyper.l2"]

RANGES = {
    "step": Range("choice", choices=tuple(STEPS)),
    "dataset": Range("choice", choices=tuple(data.DATASETS)),
    "seed": trainconfig.RANGES["seed"],
    "subset": trainconfig.RANGES["subset"],
    "val_fraction": Range("float", 0.01, 0.5),
    "test_subset": trainconfig.RANGES["test_subset"],
    "model": Range("choice", choices=MODELS),
    "n_blocks": spec_lib.RANGES["learner.groups.n_blocks"],
    "bn_momentum": Range("float", 0.5, 1.0, hi_open=True),
    "epochs": _EPOCHS,
    "batch_size": Range("int", 1, 1024),
    "learning_rate": _RATE,
    "noise": Range("float", 0.0, 1.0),
    "input_noise": spec_lib.RANGES["hyper.input_noise"],
    "l2_strong": _L2,
    "l2_small": _L2,
    "l2_small_epochs": _EPOCHS,
    "lower_lr_factor": Range("float", 0.0, 1.0, lo_open=True),
    "lower_lr_epochs": _EPOCHS,
    "label_smoothing": Range("float", 0.0, 0.5, lo_open=True),
    "dropout": Range("float", 0.0, 1.0, lo_open=True, hi_open=True),
    "patience": Range("int", 1, 100),
    "early_stopping_epochs": _EPOCHS,
    "warmup_epochs": Range("int", 1, 100),
    "decay": Range("choice", choices=DECAYS),
    "step_every": schedules.RANGES["step_every"],
    "step_factor": schedules.RANGES["factor"],
    "exponential_decay": schedules.RANGES["decay"],
    "overfit_images": Range("int", 10, 1000),
    "overfit_epochs": _EPOCHS,
    "lr_range_start": _RATE,
    "lr_range_end": _RATE,
    "lr_range_steps": Range("int", 10, 2000),
    "sweep_blocks": Range("tuple", 1, 6, item=spec_lib.RANGES["learner.groups.n_blocks"],
                          what="ints (blocks per group)"),
    "sweep_epochs": _EPOCHS,
    "sweep_subset": trainconfig.RANGES["subset"],
}


# ## Presets
#
# quick fits each step in about a minute on a 2-core CPU, worker start
# included, by training the compact model on a subset (batch 64: at 32 its
# validation accuracy jumped by 10 points from one epoch to the next). Its
# sweep compares 1 and 2 blocks per group only: building and tracing each
# model costs 5-15 s on a CPU before it trains. tiny takes seconds (tests)
# yet still overfits measurably; full is the original's recipe.

PRESETS = {
    "tiny": dataclasses.replace(
        Config(), subset=500, val_fraction=0.2, test_subset=200, epochs=6, batch_size=32,
        l2_small_epochs=9, lower_lr_epochs=2, early_stopping_epochs=8, warmup_epochs=1,
        overfit_epochs=20, lr_range_steps=40, sweep_blocks=(1, 2), sweep_epochs=2,
        sweep_subset=300,
    ),
    "quick": Config(),
    "full": dataclasses.replace(
        Config(), model="original", n_blocks=5, bn_momentum=0.99, subset=None, val_fraction=0.1,
        test_subset=None, epochs=10, batch_size=32, l2_small_epochs=30, lower_lr_epochs=10,
        patience=5, early_stopping_epochs=30, warmup_epochs=5, step_every=5, exponential_decay=0.1,
        overfit_epochs=50, lr_range_steps=300, sweep_blocks=(2, 3, 4, 5), sweep_epochs=10,
        sweep_subset=None,
    ),
}

PRESET_NOTES = {
    "tiny": "Seconds: 400 images, 6 epochs. For tests; overfits, but the numbers are noisy.",
    "quick": "About a minute a step on a laptop CPU: the compact model, 1,800 images, batch 64.",
    "full": "The original's recipe: its ResNet v2, all images, 10 / 30 + 10 epochs at 1e-3 "
            "(hours on a CPU; use a GPU).",
}


# ## What each step trains


def model_spec(config, n_blocks=None):
    """The model a step trains, as a spec.

    Args:
        config: Config (its dataset must be registered).
        n_blocks: int or None, blocks per group instead of `config.n_blocks`
            (the sweep's models).

    Returns:
        ModelSpec: the compact or original ResNet v2 with this step's noise,
        L2 or dropout.
    """
    blocks = config.n_blocks if n_blocks is None else n_blocks
    info = data.DATASETS[config.dataset]
    if config.model == "original":
        base = references.REFERENCES["regularization_resnet_v2"].spec
        input_shape, stem = base.input_shape, base.stem
    else:
        # 28x28 is already small: one stride-2 3x3 convolution (28 -> 14)
        # replaces the 7x7/2 convolution and pool that take CIFAR's 32 to 8.
        input_shape = info.image_shape
        stem = StemSpec(n_filters=32, kernel_size=3, strides=2)
    spec = ModelSpec(
        input_shape=tuple(input_shape),
        stem=stem,
        learner=LearnerSpec(
            block="resnet_v2_bottleneck",
            groups=tuple(GroupSpec(n_filters, blocks) for n_filters in (16, 64, 128)),
        ),
        # The original's head: a glorot-initialised Dense without L2.
        task=TaskSpec(n_classes=info.n_classes, dense_initializer="glorot_uniform", dense_l2=0.0),
        hyper=HyperSpec(initializer="he_normal", use_bias=False),
        name=f"regularization_{config.model}_{blocks}x3",
    )
    step = config.step
    if step in _NOISY_STEPS:
        spec = dataclasses.replace(
            spec,
            task=dataclasses.replace(spec.task, noise=config.noise),
            hyper=dataclasses.replace(spec.hyper, input_noise=config.input_noise),
        )
    if step in _L2_FIELD:
        # dense_l2=None: the classifier inherits the L2, as the lab's text said.
        spec = dataclasses.replace(
            spec,
            task=dataclasses.replace(spec.task, dense_l2=None),
            hyper=dataclasses.replace(spec.hyper, l2=getattr(config, _L2_FIELD[step])),
        )
    if step == "dropout":
        spec = dataclasses.replace(spec, task=dataclasses.replace(spec.task, dropout=config.dropout))
    return spec


def train_config(config):
    """How a step trains, as a `TrainConfig` (Adam, no double decay).

    The lower-rate step's config is its second tier only: `lower_lr_epochs`
    at `learning_rate * lower_lr_factor`, constant. Like the original, it
    starts a fresh Adam on the L2-small model's weights.

    Args:
        config: Config.

    Returns:
        TrainConfig.
    """
    train = TrainConfig(
        epochs=config.epochs, batch_size=config.batch_size, learning_rate=config.learning_rate,
        seed=config.seed, dataset=config.dataset, subset=config.subset,
        val_fraction=config.val_fraction, test_subset=config.test_subset,
    )
    step = config.step
    if step == "overfit_batch":
        return dataclasses.replace(train, epochs=config.overfit_epochs, subset=config.overfit_images,
                                   val_fraction=0.0)
    if step == "l2_small":
        return dataclasses.replace(train, epochs=config.l2_small_epochs)
    if step == "lower_lr":
        return dataclasses.replace(train, epochs=config.lower_lr_epochs,
                                   learning_rate=config.learning_rate * config.lower_lr_factor)
    if step == "label_smoothing":
        return dataclasses.replace(train, label_smoothing=config.label_smoothing)
    if step == "early_stopping":
        return dataclasses.replace(train, epochs=config.early_stopping_epochs,
                                   early_stopping_patience=config.patience, restore_best=True)
    if step == "warmup":
        return dataclasses.replace(train, schedule=ScheduleSpec(warmup_epochs=config.warmup_epochs))
    if step == "schedule":
        return dataclasses.replace(train, schedule=ScheduleSpec(
            kind=config.decay, step_every=config.step_every, factor=config.step_factor,
            decay=config.exponential_decay))
    if step == "sweep":
        return dataclasses.replace(train, epochs=config.sweep_epochs, subset=config.sweep_subset)
    return train


# The fields that make an L2-small run's weights the right start for a
# lower-rate run: the same data, model and first tier.
CONTINUE_FIELDS = ("dataset", "seed", "subset", "val_fraction", "model", "n_blocks", "bn_momentum", "noise",
                   "input_noise", "l2_small", "batch_size", "learning_rate")


def continues(config, previous):
    """Whether a lower-rate run may continue from a stored L2-small run.

    Args:
        config: Config of the lower-rate run.
        previous: dict, the stored run's config.

    Returns:
        bool, True when `previous` is an L2-small run with the same data,
        model and first-tier settings.
    """
    try:
        earlier = Config.from_dict(previous)
    except LabError:
        return False
    return earlier.step == "l2_small" and all(
        getattr(earlier, name) == getattr(config, name) for name in CONTINUE_FIELDS
    )


# ## Validation (the kind's validator, Keras-free)


def _n_train(n, val_fraction):
    """Training images left from `n` drawn, as `labcore.data.split_indices` splits."""
    n_val = max(1, round(val_fraction * n)) if val_fraction > 0 else 0
    return n - n_val


def problems(config):
    """Every problem with a lab config, as messages; empty when it can run.

    Checks each field against `RANGES`, that the dataset can be loaded, that
    subsets and batches fit it, and that the step's spec and training
    configuration are valid.

    Args:
        config: dict, a `Config.to_dict()`.

    Returns:
        list of str.

    Example:
    >>> problems({**Config().to_dict(), "noise": 2.0})
    ['noise must be a float in [0, 1]; got 2.0.']
    """
    try:
        parsed = Config.from_dict(config)
    except LabError as error:
        return [str(error)]
    found = [
        message
        for name, declared in RANGES.items()
        for message in declared.problems(name, getattr(parsed, name))
    ]
    if found:
        return found
    info = data.DATASETS[parsed.dataset]
    available, message = data.availability(parsed.dataset)
    if not available:
        return [f"dataset {parsed.dataset!r} is not available: {message}"]

    for name, limit, what in (("subset", info.n_train, "training"),
                              ("sweep_subset", info.n_train, "training"),
                              ("overfit_images", info.n_train, "training"),
                              ("test_subset", info.n_test, "test")):
        value = getattr(parsed, name)
        if value is not None and value > limit:
            found.append(describe(name, f"at most {limit} (the {what} images of {info.key!r})", value))
    if parsed.lr_range_start >= parsed.lr_range_end:
        found.append(describe("lr_range_end", f"a rate above lr_range_start ({parsed.lr_range_start:g})",
                              parsed.lr_range_end))
    if parsed.warmup_epochs >= parsed.epochs:
        found.append(describe("warmup_epochs", f"an int in [1, {parsed.epochs - 1}] (below epochs)",
                              parsed.warmup_epochs))
    if found:
        return found

    train = train_config(parsed)
    n_train = _n_train(train.subset or info.n_train, train.val_fraction)
    if parsed.batch_size > n_train:
        found.append(describe("batch_size", f"an int in [1, {n_train}] (the training images of this step)",
                              parsed.batch_size))
    blocks = parsed.sweep_blocks if parsed.step == "sweep" else (parsed.n_blocks,)
    specs = [model_spec(parsed, n_blocks) for n_blocks in blocks]
    for spec in specs:
        found += spec_lib.problems(spec)
        try:
            trainconfig.load_options(spec.input_shape, info.image_shape)
        except ConfigError as error:
            found.append(str(error))
    return list(dict.fromkeys(found))


# ## What the page draws (pure functions of configs and stored results)


def lr_curves(config):
    """The learning rate per epoch a step will train with, drawn before it runs.

    Where the original lab trained the same step differently, its curve is
    included for comparison, as "original lab": its compounding cosine for
    the lower-rate tier and the cosine decay, its warm-up ramp (which never
    reached the base rate) for the warm-up.

    Args:
        config: Config.

    Returns:
        dict label -> list of floats, one per epoch.
    """
    train = train_config(config)
    ours = schedules.lr_curve(train.learning_rate, train.schedule, train.epochs)
    curves = {"this run": ours}
    if config.step == "lower_lr" or (config.step == "schedule" and config.decay == "cosine"):
        curves["original lab"] = schedules.original_cosine_curve(train.learning_rate, train.epochs)
    elif config.step == "warmup":
        ramp = schedules.original_warmup_curve(config.warmup_epochs, 1e-6, train.learning_rate)
        curves["original lab"] = (ramp + [train.learning_rate] * train.epochs)[: train.epochs]
    return curves


def _attr(run, name):
    return run.get(name) if isinstance(run, dict) else getattr(run, name)


def ladder_rows(runs):
    """One row per ladder step: its newest finished run, in the ladder's order.

    Args:
        runs: iterable of runs of the "regularization" kind (a
            `labcore.store.Run`, or any object or dict with `id`, `status`,
            `config` and `result`).

    Returns:
        list of dict with keys step, label, run_id, dataset, train_accuracy,
        val_accuracy, best_val_accuracy, gap (train - validation, after
        training, inference mode), test_accuracy, epochs, seconds and
        expected (the original lab's words); steps never finished are left
        out.
    """
    newest = {}
    for run in sorted(runs, key=lambda r: _attr(r, "id"), reverse=True):
        result = _attr(run, "result") or {}
        step = (_attr(run, "config") or {}).get("step")
        if (_attr(run, "status") == "done" and step in STEPS and STEPS[step].ladder
                and step not in newest and "val_accuracy" in result):
            newest[step] = (run, result)
    return [
        {
            "step": step,
            "label": STEPS[step].label,
            "run_id": _attr(run, "id"),
            "dataset": result.get("dataset"),
            "train_accuracy": result.get("train_accuracy"),
            "val_accuracy": result.get("val_accuracy"),
            "best_val_accuracy": result.get("best_val_accuracy"),
            "gap": result.get("gap"),
            "test_accuracy": result.get("test_accuracy"),
            "epochs": result.get("epochs_total", result.get("epochs_run")),
            "seconds": result.get("seconds"),
            "expected": STEPS[step].expected,
        }
        for step in STEPS
        if step in newest
        for run, result in [newest[step]]
    ]


def summary_text(result):
    """One line of what a finished step measured, for the caption beside it.

    Args:
        result: dict, a run's result.

    Returns:
        str, e.g. "train 95.1% · validation 81.2% · gap 13.9 points · best
        validation 82.0% · 6 epochs in 41 s"; "" when nothing was measured.
    """
    parts = []
    for key, name in (("train_accuracy", "train"), ("val_accuracy", "validation")):
        if result.get(key) is not None:
            parts.append(f"{name} {100 * result[key]:.1f}%")
    if result.get("gap") is not None:
        parts.append(f"gap {100 * result['gap']:.1f} points")
    if result.get("best_val_accuracy") is not None:
        parts.append(f"best validation {100 * result['best_val_accuracy']:.1f}%")
    epochs = result.get("epochs_total", result.get("epochs_run"))
    if epochs is not None and result.get("seconds") is not None:
        parts.append(f"{epochs} epochs in {result['seconds']:.0f} s")
    return " · ".join(parts)


def sweep_points(result):
    """The sweep's models as points: validation accuracy, parameters, seconds per epoch.

    Args:
        result: dict, a sweep run's result.

    Returns:
        list of dict with keys "model", "parameters", "validation accuracy",
        "seconds per epoch" (the names the chart's axes show).
    """
    return [
        {
            "model": f"{model['n_blocks']} block{'s' if model['n_blocks'] > 1 else ''}/group",
            "parameters": model["params"],
            "validation accuracy": model["val_accuracy"],
            "seconds per epoch": model["seconds_per_epoch"],
        }
        for model in result.get("models", [])
    ]


def smoothed(values, beta=0.9):
    """An exponential moving average with bias correction (as fastai's LR finder).

    Args:
        values: list of floats.
        beta: float in [0, 1), the weight of the past.

    Returns:
        list of floats, as long as `values`.
    """
    average, out = 0.0, []
    for index, value in enumerate(values, start=1):
        average = beta * average + (1 - beta) * value
        out.append(average / (1 - beta ** index))
    return out


def lr_range_suggestion(rates, losses):
    """The learning rate a range test suggests.

    We suggest a tenth of the rate where the smoothed loss is lowest: there
    the loss is about to blow up, while a decade lower it still falls
    quickly and training stays stable (Smith 2017; fastai's classic rule).
    The rate of steepest descent (the most negative slope of the smoothed
    loss against log rate, before the minimum) is returned too; on a few
    hundred noisy batches it wanders, so it is shown, not suggested.

    Args:
        rates: list of floats, increasing, one per batch.
        losses: list of floats, the loss of each batch (NaN or inf past a
            divergence is allowed).

    Returns:
        dict: suggested_rate (always inside [rates[0], rates[-1]]),
        min_loss_rate, steepest_rate.
    """
    finite = [(rate, loss) for rate, loss in zip(rates, losses) if math.isfinite(loss)]
    if not finite:
        return {"suggested_rate": rates[0], "min_loss_rate": rates[0], "steepest_rate": rates[0]}
    kept_rates, curve = [rate for rate, _ in finite], smoothed([loss for _, loss in finite])
    lowest = min(range(len(curve)), key=curve.__getitem__)
    # Slopes over a window of 5% of the batches, skipping the first 10%
    # where the moving average is still settling.
    window = max(1, len(curve) // 20)
    slopes = {
        i - window // 2: (curve[i] - curve[i - window])
        / (math.log(kept_rates[i]) - math.log(kept_rates[i - window]))
        for i in range(max(window, len(curve) // 10), lowest + 1)
        if kept_rates[i] > kept_rates[i - window]
    }
    steepest = kept_rates[min(slopes, key=slopes.get)] if slopes else kept_rates[lowest]
    suggested = min(max(kept_rates[lowest] / 10, rates[0]), rates[-1])
    return {"suggested_rate": suggested, "min_loss_rate": kept_rates[lowest], "steepest_rate": steepest}


# ## Charts only this lab draws (Altair, imported when drawn)


def ladder_chart(rows, height=260):
    """Train and validation accuracy per step, joined by the gap between them.

    Args:
        rows: list of dict, from `ladder_rows`.
        height: int, pixels.

    Returns:
        an `alt.Chart`, or None when there are no rows.
    """
    if not rows:
        return None
    import altair as alt
    import pandas as pd

    order = [row["label"] for row in rows]
    frame = pd.DataFrame.from_records(
        [{"step": row["label"], "split": split, "accuracy": row[key], "gap": row["gap"],
          "dataset": row["dataset"], "run": row["run_id"]}
         for row in rows for split, key in (("train", "train_accuracy"), ("validation", "val_accuracy"))])
    # Every step labelled, slanted: level labels would hide every other one.
    x = alt.X("step:N", sort=order, title=None,
              axis=alt.Axis(labelAngle=-30, labelOverlap=False, labelLimit=160))
    tooltip = ["step:N", "split:N", alt.Tooltip("accuracy:Q", format=".1%"),
               alt.Tooltip("gap:Q", format="+.1%", title="gap (train - validation)"), "dataset:N", "run:Q"]
    gap = alt.Chart(frame).mark_line(strokeWidth=6, opacity=0.3, color="#ff7f0e").encode(
        x=x, y="accuracy:Q", detail="step:N", tooltip=tooltip)
    points = alt.Chart(frame).mark_point(filled=True, size=110).encode(
        x=x,
        y=alt.Y("accuracy:Q", title="accuracy after training", scale=alt.Scale(zero=False),
                axis=alt.Axis(format="%")),
        color=alt.Color("split:N", title=None, scale=alt.Scale(domain=["train", "validation"],
                                                                range=["#1f77b4", "#ff7f0e"])),
        tooltip=tooltip,
    )
    return (gap + points).properties(title="The ladder: the gap between train and validation, step by step",
                                     height=height)


def lr_range_chart(rows, suggestion=None, height=280):
    """Loss against learning rate (log scale), raw and smoothed, with the suggestion.

    Args:
        rows: list of dict with "learning_rate" and "loss", in sweep order
            (the range test's stored steps).
        suggestion: dict from `lr_range_suggestion`, or None.
        height: int, pixels.

    Returns:
        an `alt.Chart`, or None when there are no rows.
    """
    rows = [row for row in rows if math.isfinite(row.get("loss", float("nan")))]
    if not rows:
        return None
    import altair as alt
    import pandas as pd

    frame = pd.DataFrame.from_records(
        [{"learning rate": row["learning_rate"], "loss": row["loss"], "smoothed loss": smooth}
         for row, smooth in zip(rows, smoothed([row["loss"] for row in rows]))])
    # Past a divergence the loss dwarfs the curve; cut the view at 4x the start.
    ceiling = 4 * float(frame["smoothed loss"].iloc[0])
    frame = frame[frame["smoothed loss"] <= ceiling]
    x = alt.X("learning rate:Q", scale=alt.Scale(type="log"), axis=alt.Axis(format=".0e"))
    raw = alt.Chart(frame).mark_circle(size=14, opacity=0.35, color="#999999").encode(
        x=x, y=alt.Y("loss:Q", scale=alt.Scale(zero=False)),
        tooltip=[alt.Tooltip("learning rate:Q", format=".2e"), alt.Tooltip("loss:Q", format=".3f")])
    line = alt.Chart(frame).mark_line(color="#1f77b4").encode(x=x, y="smoothed loss:Q")
    chart = raw + line
    if suggestion:
        marks = pd.DataFrame.from_records([
            {"learning rate": suggestion["suggested_rate"], "what": "suggested (min / 10)"},
            {"learning rate": suggestion["min_loss_rate"], "what": "lowest loss"},
        ])
        chart = chart + alt.Chart(marks).mark_rule(strokeDash=[4, 3]).encode(
            x="learning rate:Q",
            color=alt.Color("what:N", title=None,
                            scale=alt.Scale(domain=["suggested (min / 10)", "lowest loss"],
                                            range=["#2ca02c", "#d62728"]),
                            legend=alt.Legend(orient="bottom")),
            tooltip=["what:N", alt.Tooltip("learning rate:Q", format=".2e")])
    return chart.properties(title="Learning-rate range test: loss per batch as the rate grows", height=height)


# ## The runner


def run(config, reporter):
    """Runner of the "regularization" kind: train one step, report, return its result.

    Args:
        config: dict, a `Config.to_dict()`.
        reporter: a `labcore.reporting.Reporter`; per-epoch metrics go to
            the "train" series (the sweep: one series per model, the range
            test: "lr_range", one row per batch).

    Returns:
        dict, the result (also sent to `reporter.result`); see
        `labcore.labs._regularization_keras.run`.

    Raises:
        ConfigError: `problems` found any (all listed, one per line).
        labcore.reporting.Cancelled: the run was cancelled.
    """
    found = problems(config)
    if found:
        raise ConfigError("\n".join(found))
    from labcore.labs import _regularization_keras

    return _regularization_keras.run(Config.from_dict(config), reporter)
