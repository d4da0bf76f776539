"""The Regularization lab's configuration: its steps, the `Config`, ranges and presets.

One `Config` describes one run: which step of the ladder it trains and every
setting of the shared recipe. `STEPS` is the ladder itself, in order, with
what the original lab told its students each step would do. Keras-free and
Altair-free: the page, the validator and the runner all start here.
"""

import dataclasses

from labcore import data, schedules, trainconfig
from labcore import spec as spec_lib
from labcore.records import Record
from labcore.spec import Range

__all__ = [
    "Config",
    "DECAYS",
    "LADDER_DECAYS",
    "MODELS",
    "PRESETS",
    "PRESET_NOTES",
    "RANGES",
    "STEPS",
    "Step",
    "WEIGHTS_ARTIFACT",
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
        control: str or None, the step it differs from (the ladder compares
            the two); None for the baseline, the steps off the ladder and
            early stopping, whose control is the same run trained on.
    """

    label: str
    title: str
    changes: str
    expected: str
    ladder: bool = True
    control: str | None = "baseline"


STEPS = {
    "overfit_batch": Step(
        "small batch", "Overfit a small batch first",
        "Train on 100 images only, no validation: the model must learn them all.",
        "Not in the original lab. The course notes' sanity check: a model that cannot reach "
        "~100% on 100 images has a bug, and regularizing it would hide that.",
        ladder=False, control=None,
    ),
    "baseline": Step(
        "baseline", "Baseline: what overfitting looks like",
        "No regularization at all.",
        "After 10 epochs, validation plateaus at ~73% while train accuracy climbs to 91% (cell 12).",
        control=None,
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
        control="noise",
    ),
    "l2_small": Step(
        "+ L2 small", "Weight decay, small",
        "Noise, plus a small L2 penalty. The original also trained it three times as long; the quick preset "
        "keeps the noise step's epochs, so the two differ in the penalty alone.",
        "L2 0.001 for 30 epochs: validation creeps up to ~80%, train plateaus around 80% too (cell 18).",
        control="noise",
    ),
    "lower_lr": Step(
        "+ rate / 10", "Lower the learning rate late",
        "Continue the L2-small model's weights at a tenth of the rate for more epochs.",
        "10 more epochs at 1e-4: validation climbs and plateaus at ~84% (cell 20). Its rate really "
        "collapsed to ~0 by epoch 8 under a compounding cosine.",
        control="l2_small",
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
        "The baseline trained longer, stopped once validation loss stops improving, best weights restored; "
        "compared with the same run trained on to its last epoch.",
        "Not in the original lab, which always trained a fixed number of epochs.",
        control=None,
    ),
    "warmup": Step(
        "warm-up", "Learning-rate warm-up",
        "The baseline with the rate rising linearly from 1e-6 over the first epochs.",
        "The original's warmup() helper was never called by this lab, and its ramp stopped at 0.8 of "
        "its target.",
    ),
    "schedule": Step(
        "other schedule", "Learning-rate decay",
        "The baseline under another schedule than the ladder's: a constant rate (no decay), or a step, "
        "exponential or cosine decay.",
        "The original trained every run under a decay; its cosine compounded: from 1e-3, below 1e-6 "
        "by epoch 14 of 20, and 7e-14 by the last.",
    ),
    "lr_range": Step(
        "LR range test", "Learning-rate range test",
        "Sweep the rate exponentially over a few hundred batches, record the loss, suggest a rate.",
        "Not in the original lab. Its course notes: \"the learning rate is the most important "
        "hyperparameter\".",
        ladder=False, control=None,
    ),
    "sweep": Step(
        "compact models", "Compact models",
        "The same model with fewer or more blocks per group: accuracy against size and speed.",
        "The original ends by making the model more compact (n_blocks 1 to 4); it gives no numbers.",
        ladder=False, control=None,
    ),
}

MODELS = ("compact", "original")
# The ladder's own schedule: how every step's rate ends.
LADDER_DECAYS = ("cosine", "constant")
# What the "schedule" step may swap it for.
DECAYS = ("constant", "step", "exponential", "cosine")
# The L2-small step stores its weights under this name; the lower-rate step continues them.
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
        ladder_decay: str, every step's schedule: "cosine" (from the base
            rate to 0 over the step's epochs, so each step is read on a
            model that has settled) or "constant" (the rate never drops, and
            validation accuracy jumps 2-6 points from one epoch to the next:
            more than most effects the ladder compares). The lower-rate
            step's second tier and the "schedule" step set their own.
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
        early_stopping_epochs: int, the epochs the early-stopping step trains:
            it notes where the rule would stop and goes on, to compare.
        warmup_epochs: int, epochs of linear warm-up.
        decay: str, the "schedule" step's schedule in place of the ladder's:
            "constant", "step", "exponential" or "cosine".
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
    subset: int | None = 3600
    val_fraction: float = 0.5
    test_subset: int | None = None
    model: str = "compact"
    n_blocks: int = 1
    bn_momentum: float = 0.9
    epochs: int = 6
    batch_size: int = 64
    learning_rate: float = 1e-3
    ladder_decay: str = "cosine"
    noise: float = 0.5
    input_noise: float = 0.0
    l2_strong: float = 0.1
    l2_small: float = 0.001
    l2_small_epochs: int = 6
    lower_lr_factor: float = 0.1
    lower_lr_epochs: int = 4
    label_smoothing: float = 0.1
    dropout: float = 0.5
    patience: int = 2
    early_stopping_epochs: int = 10
    warmup_epochs: int = 2
    decay: str = "constant"
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
    # The live registry, not a copy: datasets uploaded while the server runs are choices too.
    "dataset": Range("choice", choices=data.DATASETS),
    "seed": trainconfig.RANGES["seed"],
    "subset": trainconfig.RANGES["subset"],
    "val_fraction": Range("float", 0.01, 0.5),
    "test_subset": trainconfig.RANGES["test_subset"],
    "model": Range("choice", choices=MODELS),
    "n_blocks": spec_lib.RANGES["learner.groups.n_blocks"],
    "bn_momentum": spec_lib.RANGES["hyper.bn_momentum"],
    "epochs": _EPOCHS,
    "batch_size": Range("int", 1, 1024),
    "learning_rate": _RATE,
    "ladder_decay": Range("choice", choices=LADDER_DECAYS),
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
# validation accuracy jumped by 10 points from one epoch to the next). It
# holds out as many validation images as it trains on, and tests on the
# whole test set, so one reading's sampling error (~1 point) stays below
# the effects; the noise and dropout are stronger than the original's 0.1
# and 0.3, which moved this model's gap by less than the seed noise (see
# docs/VALIDITY.md). The small-L2 step trains as long as its control (the
# noise step): trained twice as long, it memorised more and its gap widened
# by 4 points, which said nothing about L2. Its sweep compares 1 and 2 blocks per group only:
# building and tracing each model costs 5-15 s on a CPU before it trains.
# tiny takes seconds (tests) yet still overfits measurably; full is the
# original's recipe.

PRESETS = {
    "tiny": dataclasses.replace(
        Config(), subset=500, val_fraction=0.2, test_subset=200, noise=0.1, dropout=0.3, epochs=6, batch_size=32,
        l2_small_epochs=9, lower_lr_epochs=2, early_stopping_epochs=8, warmup_epochs=1,
        overfit_epochs=20, lr_range_steps=40, sweep_blocks=(1, 2), sweep_epochs=2,
        sweep_subset=300,
    ),
    "quick": Config(),
    "full": dataclasses.replace(
        Config(), model="original", n_blocks=5, bn_momentum=0.99, subset=None, val_fraction=0.1, noise=0.1,
        dropout=0.3,
        test_subset=None, epochs=10, batch_size=32, l2_small_epochs=30, lower_lr_epochs=10,
        patience=5, early_stopping_epochs=30, warmup_epochs=5, step_every=5, exponential_decay=0.1,
        overfit_epochs=50, lr_range_steps=300, sweep_blocks=(2, 3, 4, 5), sweep_epochs=10,
        sweep_subset=None,
    ),
}

PRESET_NOTES = {
    "tiny": "Seconds: 400 images, 6 epochs. For tests; overfits, but the numbers are noisy.",
    "quick": "About a minute a step on a laptop CPU: the compact model, 1,800 training and 1,800 "
             "validation images, batch 64, the full test set.",
    "full": "The original's recipe: its ResNet v2, all images, 10 / 30 + 10 epochs at 1e-3 "
            "(hours on a CPU; use a GPU).",
}
