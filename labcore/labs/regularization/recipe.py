"""The Regularization lab's recipe: what each step trains, its validator, and the page's numbers.

Each step of the ladder is the same compact ResNet v2 and the same Adam
recipe, changed by one thing; `model_spec` and `train_config` say which,
as a spec and a `TrainConfig` the runner builds and fits. `problems` is the
kind's validator. The rest are pure functions of configs and stored results
that the page computes with: the rate per epoch before a run, the ladder's
rows, the sweep's points and the range test's suggestion. Keras-free and
Altair-free: the Streamlit process imports it.
"""

import dataclasses
import math

from labcore import data, records, references, schedules, seeds, trainconfig
from labcore import spec as spec_lib
from labcore.errors import ConfigError, LabError, describe
from labcore.labs.regularization.config import RANGES, STEPS, Config
from labcore.schedules import ScheduleSpec
from labcore.spec import GroupSpec, HyperSpec, LearnerSpec, ModelSpec, StemSpec, TaskSpec
from labcore.trainconfig import TrainConfig

__all__ = [
    "CONTINUE_FIELDS",
    "continues",
    "LADDER_METRICS",
    "ladder_rows",
    "lr_curves",
    "lr_range_suggestion",
    "model_spec",
    "problems",
    "smoothed",
    "sweep_points",
    "train_config",
]

# Steps whose model carries the noise, and the L2 factor field each uses.
_NOISY_STEPS = ("noise", "l2_strong", "l2_small", "lower_lr")
_L2_FIELD = {"l2_strong": "l2_strong", "l2_small": "l2_small", "lower_lr": "l2_small"}


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
        hyper=HyperSpec(initializer="he_normal", use_bias=False, bn_momentum=config.bn_momentum),
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
    starts a fresh Adam on the L2-small model's weights. The early-stopping
    step trains all `early_stopping_epochs`; its runner applies the rule.

    Args:
        config: Config.

    Returns:
        TrainConfig.
    """
    train = TrainConfig(
        epochs=config.epochs, batch_size=config.batch_size, learning_rate=config.learning_rate,
        schedule=ScheduleSpec(kind=config.ladder_decay),
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
        return dataclasses.replace(train, epochs=config.lower_lr_epochs, schedule=ScheduleSpec(),
                                   learning_rate=config.learning_rate * config.lower_lr_factor)
    if step == "label_smoothing":
        return dataclasses.replace(train, label_smoothing=config.label_smoothing)
    if step == "early_stopping":
        # Trained to the end: the runner watches where the rule (`patience`)
        # would stop, so the step compares the stopped model with the same
        # run trained on.
        return dataclasses.replace(train, epochs=config.early_stopping_epochs)
    if step == "warmup":
        return dataclasses.replace(train, schedule=dataclasses.replace(
            train.schedule, warmup_epochs=config.warmup_epochs))
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
                   "input_noise", "l2_small", "l2_small_epochs", "batch_size", "learning_rate", "ladder_decay")


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
    parsed, found, _ = records.check(Config, config, RANGES)
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


# ## What the page computes (pure functions of configs and stored results)


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


LADDER_METRICS = ("train_accuracy", "val_accuracy", "gap", "best_val_accuracy", "test_accuracy", "val_confidence",
                  "kernel_norm")


def ladder_rows(runs):
    """One row per ladder step: its newest setting's finished runs over seeds, in ladder order.

    A step's runs that differ only in their seed are one setting; the
    step's row is the setting of its newest finished run, with every seed of
    that setting, so a learner who changed a slider sees the new setting and
    its seeds, not a mix.

    Args:
        runs: iterable of runs of the "regularization" kind (a
            `labcore.store.Run`, or any object or dict with `id`, `status`,
            `config` and `result`).

    Returns:
        list of dict with keys step, label, run_ids (newest first), seeds,
        seed_values (each run's seed, in the same order), dataset, epochs, seconds (the mean), expected (the original lab's
        words), for each of `LADDER_METRICS` (gap = train - validation
        after training, in inference mode) the list of readings, one per
        seed, and trained_on (per seed, early stopping's readings of the
        same run trained on, else None); steps never finished are left out.
    """
    finished = [
        (run, result)
        for run in sorted(runs, key=lambda r: _attr(r, "id"), reverse=True)
        for result in [_attr(run, "result") or {}]
        if _attr(run, "status") == "done" and "val_accuracy" in result
        and (_attr(run, "config") or {}).get("step") in STEPS
    ]
    newest = {}
    for group in seeds.group_by_seed((item, _attr(item[0], "config")) for item in finished):
        step = _attr(group[0][0], "config")["step"]
        if STEPS[step].ladder and step not in newest:
            newest[step] = group
    rows = []
    for step in STEPS:
        if step not in newest:
            continue
        group = newest[step]
        results = [result for _, result in group]
        seconds = [result["seconds"] for result in results if result.get("seconds") is not None]
        rows.append({
            "step": step,
            "label": STEPS[step].label,
            "run_ids": [_attr(run, "id") for run, _ in group],
            "seeds": len(group),
            "seed_values": [_attr(run, "config")["seed"] for run, _ in group],
            "dataset": results[0].get("dataset"),
            "epochs": results[0].get("epochs_total", results[0].get("epochs_run")),
            "seconds": sum(seconds) / len(seconds) if seconds else None,
            "expected": STEPS[step].expected,
            **{key: [result.get(key) for result in results] for key in LADDER_METRICS},
            "trained_on": [result.get("trained_on") for result in results],
        })
    return rows


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
