"""The Regularization lab's runner: train one step of the ladder and measure it.

The kind's runner `run`, which a worker imports through the kind registry;
the only module of the lab that imports Keras (`keras` only, never `tf.*`).
Every step builds its model from the recipe's pure `model_spec`, trains it
through `labcore.training.fit` (live epochs, cancellation, the
no-compounding schedules) and measures the gap the lab is about with the
final weights in inference mode.

Four steps are more than one fit: the small-batch check, the lower-rate step
(which continues the L2-small step's stored weights), the learning-rate
range test and the compact-model sweep.
"""

import dataclasses
import math

import keras
import numpy as np

from labcore import composable, data, trainconfig, training
from labcore.labs.regularization import recipe
from labcore.labs.regularization.config import WEIGHTS_ARTIFACT
from labcore.reporting import Cancelled, StageReporter

__all__ = ["run"]

# Evaluation needs no gradients, so it can take bigger batches than training.
_EVALUATION_BATCH = 256
# The range test stops once the smoothed loss passes this multiple of its best.
_DIVERGED = 4.0


def _load(config, spec, train):
    """The step's data, adapted to the model's input (padded, channels)."""
    info = data.DATASETS[config.dataset]
    return data.load(
        config.dataset, subset=train.subset, val_fraction=train.val_fraction, seed=config.seed,
        test_subset=config.test_subset, **trainconfig.load_options(spec.input_shape, info.image_shape),
    )


def _build(config, spec):
    """The spec's model, seeded."""
    training.set_seed(config.seed)
    return composable.build_model(spec)


def _accuracy(model, x, y, train):
    evaluation = dataclasses.replace(train, batch_size=_EVALUATION_BATCH)
    return training.evaluate(model, x, y, evaluation)["accuracy"]


def _readings(model, x, y):
    """Accuracy, mean top-class probability and plain cross-entropy on some images, in inference mode.

    One pass over the images gives all three. Label smoothing and L2 change
    the training loss itself, so the loss `fit` reports cannot compare
    steps; these readings can.
    """
    probabilities = model.predict(x, batch_size=_EVALUATION_BATCH, verbose=0).astype(np.float64)
    labels = y.astype(int)
    true_class = probabilities[np.arange(len(labels)), labels]
    return (float((probabilities.argmax(axis=1) == labels).mean()), float(probabilities.max(axis=1).mean()),
            float(-np.log(np.maximum(true_class, 1e-12)).mean()))


def _fit_and_measure(model, splits, train, reporter, series="train", callbacks=()):
    """Fit, then `_measure` the final weights, with the fit's timings."""
    fitted = _fit(model, splits, train, reporter, series, callbacks)
    reporter.progress(1.0, "measuring accuracy with the final weights")
    return {**fitted, **_measure(model, splits, train)}


def _fit(model, splits, train, reporter, series="train", callbacks=()):
    """Fit on the training split, validating on the validation split: the fit's timings and curve readings."""
    fitted = training.fit(
        model, (splits.x_train, splits.y_train, splits.x_val, splits.y_val), train, reporter, series=series,
        callbacks=callbacks,
    )
    history = fitted["history"]
    val_losses = history.get("val_loss", [])
    return {
        # Every ladder step validates (val_fraction is at least 0.01); None marks a fit that did not.
        "best_val_accuracy": max(history["val_accuracy"]) if "val_accuracy" in history else None,
        "best_epoch": 1 + int(np.argmin(val_losses)) if val_losses else None,
        "fit_train_accuracy": history["accuracy"][-1],
        "epochs_run": fitted["epochs_run"],
        "seconds": fitted["seconds"],
        "seconds_per_epoch": fitted["seconds_per_epoch"],
        "images_per_second": fitted["images_per_second"],
        "params": int(model.count_params()),
        "n_train": int(len(splits.x_train)),
        "n_val": int(len(splits.x_val)),
        "learning_rate": train.learning_rate,
    }


def _measure(model, splits, train):
    """Train, validation and test readings of the model's current weights, in inference mode.

    Returns:
        dict: train_accuracy, val_accuracy, `gap` (train minus validation),
        `val_confidence` (the mean top-class probability on validation
        images), `val_cross_entropy` (their plain cross-entropy),
        test_accuracy and `kernel_norm` (see `_kernel_norm`).
    """
    train_accuracy = _accuracy(model, splits.x_train, splits.y_train, train)
    val_accuracy, confidence, cross_entropy = _readings(model, splits.x_val, splits.y_val)
    return {
        "train_accuracy": train_accuracy,
        "val_accuracy": val_accuracy,
        "gap": train_accuracy - val_accuracy,
        "val_confidence": confidence,
        "val_cross_entropy": cross_entropy,
        "test_accuracy": _accuracy(model, splits.x_test, splits.y_test, train),
        "kernel_norm": _kernel_norm(model),
    }


def _kernel_norm(model):
    """The Euclidean norm of all convolution and dense kernels together: what an L2 penalty pulls down.

    Read beside the gap, it tells "the penalty was too weak to move the
    weights" from "it moved them, but their scale did not change what the
    model computes" (batch norm divides most kernels' scale out).
    """
    squares = sum(float(np.square(keras.ops.convert_to_numpy(weight)).sum())
                  for weight in model.trainable_weights if weight.path.endswith("kernel"))
    return math.sqrt(squares)


class _StoppingRule(keras.callbacks.Callback):
    """Early stopping's rule, watched but not obeyed: when it would stop, and the weights it would restore.

    Keras's `EarlyStopping` ends the fit, which leaves nothing to compare
    with. This callback lets the fit go on and remembers the epoch where
    the rule fired (`patience` epochs without a lower validation loss) and
    the best epoch's weights at that moment, so one run gives both the
    early-stopped model and the same model trained on.
    """

    def __init__(self, patience):
        super().__init__()
        self.patience = patience
        self.best_loss, self.best_epoch, self.best_weights, self.stopped_epoch = math.inf, None, None, None

    def on_epoch_end(self, epoch, logs=None):
        if self.stopped_epoch is not None:
            return
        loss = (logs or {}).get("val_loss", math.inf)
        if loss < self.best_loss:
            # At epoch end, on the training thread: safe on JAX too.
            self.best_loss, self.best_epoch, self.best_weights = loss, epoch + 1, self.model.get_weights()
        elif epoch + 1 - self.best_epoch >= self.patience:
            self.stopped_epoch = epoch + 1


# ## The ladder's steps


def train_step(config, reporter):
    """A ladder step that is one fit: baseline, noise, L2, smoothing, dropout, ...

    The L2-small step also stores its weights for the lower-rate step.
    """
    spec, train = recipe.model_spec(config), recipe.train_config(config)
    reporter.progress(0.0, f"loading {config.dataset}")
    splits = _load(config, spec, train)
    reporter.progress(0.0, "building the model")
    model = _build(config, spec)
    if config.step == "early_stopping":
        return _early_stopping(model, splits, train, config.patience, reporter)
    result = _fit_and_measure(model, splits, train, reporter)
    if config.step == "l2_small":
        training.save_weights_artifact(model, reporter, WEIGHTS_ARTIFACT)
    return result


def _early_stopping(model, splits, train, patience, reporter):
    """Early stopping against the same run trained on to its last epoch.

    The fit runs all its epochs while `_StoppingRule` notes where early
    stopping would have stopped. The final weights are measured as
    `trained_on` (the control: the same run, the same batches, only not
    stopped); then the best epoch's weights are restored and measured as the
    step's own readings. `stopped_epoch` is None when the rule never fired
    (validation loss was still falling): then both models are the same.
    """
    rule = _StoppingRule(patience)
    fitted = _fit(model, splits, train, reporter, callbacks=[rule])
    reporter.progress(1.0, "measuring accuracy with the final weights")
    trained_on = kept = _measure(model, splits, train)
    if rule.stopped_epoch is not None:
        reporter.progress(1.0, f"measuring the weights of epoch {rule.best_epoch}, which early stopping keeps")
        model.set_weights(rule.best_weights)
        kept = _measure(model, splits, train)
    return {**fitted, **kept, "best_epoch": rule.best_epoch, "stopped_epoch": rule.stopped_epoch,
            "trained_on": trained_on}


def lower_rate(config, reporter):
    """The two-tier step: the L2-small model's weights, trained on at a tenth of the rate.

    The first tier comes from this owner's stored L2-small run when one
    matches (its curves are replayed into this run, so the chart shows both
    tiers); otherwise this run trains the first tier itself and says so.
    """
    first_tier = dataclasses.replace(config, step="l2_small")
    spec, train = recipe.model_spec(config), recipe.train_config(config)
    reporter.progress(0.0, f"loading {config.dataset}")
    splits = _load(config, spec, train)
    model = _build(config, spec)
    stored = training.stored_weights(reporter, "regularization", lambda earlier: recipe.continues(config, earlier),
                                     WEIGHTS_ARTIFACT)
    if stored is not None:
        earlier, weights = stored
        model.load_weights(weights)
        replayed = [row for row in reporter.store.metrics(earlier.id) if row.series == "train"]
        for row in replayed:
            reporter.epoch("train", row.epoch, row.values)
        first_epochs, first_seconds = len(replayed), earlier.result.get("seconds", 0.0)
        note = (f"Continued from your L2-small run #{earlier.id}: its weights after "
                f"{first_epochs} epochs at {config.learning_rate:g}.")
        source = earlier.id
    else:
        fitted = training.fit(
            model, (splits.x_train, splits.y_train, splits.x_val, splits.y_val),
            recipe.train_config(first_tier), StageReporter.share(reporter, "first tier (L2 small)", 0, 2),
        )
        first_epochs, first_seconds = fitted["epochs_run"], fitted["seconds"]
        note = (f"No finished L2-small run of yours matched these settings, so this run trained "
                f"that step first ({first_epochs} epochs at {config.learning_rate:g}).")
        source = None
    second_tier = StageReporter.share(reporter, f"second tier (rate {train.learning_rate:g})",
                                      0 if stored else 1, 1 if stored else 2, epoch_offset=first_epochs)
    result = _fit_and_measure(model, splits, train, second_tier)
    # Epochs count from the first tier's first, as the curves and `epochs_total` do.
    best_epoch = None if result["best_epoch"] is None else first_epochs + result["best_epoch"]
    return {**result, "best_epoch": best_epoch, "continued_from_run": source, "first_tier_epochs": first_epochs,
            "epochs_total": first_epochs + result["epochs_run"],
            "seconds": first_seconds + result["seconds"], "note": note}


def overfit_small_batch(config, reporter):
    """The sanity check: can the model memorise `overfit_images` images?

    A few hundred steps are too few for batch-norm statistics at momentum
    0.99 (the full preset's) to forget their start, so this check uses 0.9
    at most: otherwise a model at 100% in training would score ~85% in
    inference mode on the very same images.
    """
    spec = recipe.model_spec(dataclasses.replace(config, bn_momentum=min(config.bn_momentum, 0.9)))
    train = recipe.train_config(config)
    splits = _load(config, spec, train)
    model = _build(config, spec)
    fitted = training.fit(model, (splits.x_train, splits.y_train, None, None), train, reporter)
    train_accuracy = _accuracy(model, splits.x_train, splits.y_train, train)
    return {
        "train_accuracy": train_accuracy,
        "fit_train_accuracy": fitted["history"]["accuracy"][-1],
        "final_loss": fitted["history"]["loss"][-1],
        "passed": train_accuracy >= 0.99,
        "n_images": int(len(splits.x_train)),
        "epochs_run": fitted["epochs_run"],
        "seconds": fitted["seconds"],
        "params": int(model.count_params()),
    }


def lr_range_test(config, reporter):
    """Train one batch per rate, rates growing exponentially; suggest a rate.

    Each batch's loss is reported in the "lr_range" series (epoch = batch
    number) with its rate. The test stops early once the smoothed loss
    passes `_DIVERGED` times its lowest value.
    """
    spec, train = recipe.model_spec(config), recipe.train_config(config)
    splits = _load(config, spec, train)
    model = _build(config, spec)
    model.compile(optimizer=training.optimizer_for(train), loss=keras.losses.SparseCategoricalCrossentropy())
    steps = config.lr_range_steps
    rates = np.geomspace(config.lr_range_start, config.lr_range_end, steps).tolist()
    rng = np.random.default_rng(config.seed)
    order, cursor = rng.permutation(len(splits.x_train)), 0
    losses, diverged = [], False
    for index, rate in enumerate(rates):
        if reporter.cancelled():
            raise Cancelled(f"lr_range: cancelled after {index} of {steps} batches")
        if cursor + train.batch_size > len(order):
            order, cursor = rng.permutation(len(splits.x_train)), 0
        batch = order[cursor:cursor + train.batch_size]
        cursor += train.batch_size
        model.optimizer.learning_rate = rate
        logs = model.train_on_batch(splits.x_train[batch], splits.y_train[batch], return_dict=True)
        loss = float(logs["loss"])
        losses.append(loss)
        reporter.epoch("lr_range", index + 1, {"learning_rate": rate, "loss": loss})
        reporter.progress((index + 1) / steps,
                          f"batch {index + 1}/{steps} · rate {rate:.1e} · loss {loss:.3g}")
        curve = recipe.smoothed(losses)
        if not math.isfinite(loss) or curve[-1] > _DIVERGED * min(curve):
            diverged = True
            break
    suggestion = recipe.lr_range_suggestion(rates[:len(losses)], losses)
    # The curve itself is in the "lr_range" series, not repeated here.
    return {**suggestion, "steps_run": len(losses), "diverged": diverged, "params": int(model.count_params())}


def compact_sweep(config, reporter):
    """The same recipe on models with `sweep_blocks` blocks per group."""
    train = recipe.train_config(config)
    specs = [recipe.model_spec(config, n_blocks) for n_blocks in config.sweep_blocks]
    splits = _load(config, specs[0], train)
    models = []
    for index, (n_blocks, spec) in enumerate(zip(config.sweep_blocks, specs)):
        label = f"{n_blocks} blocks/group"
        model = _build(config, spec)
        stage = StageReporter.share(reporter, f"model {index + 1}/{len(specs)} ({label})", index, len(specs))
        measured = _fit_and_measure(model, splits, train, stage, series=label)
        models.append({"n_blocks": n_blocks, "original_n_blocks": n_blocks - 1, **measured})
    return {"models": models, "seconds": sum(model["seconds"] for model in models)}


_RUNNERS = {
    "overfit_batch": overfit_small_batch,
    "lower_lr": lower_rate,
    "lr_range": lr_range_test,
    "sweep": compact_sweep,
}


def run(config, reporter):
    """Runner of the "regularization" kind: train one step and return its result.

    The worker validates the stored config and writes the returned result;
    this function does neither.

    Args:
        config: Config, already validated.
        reporter: a `labcore.reporting.Reporter`; per-epoch metrics go to
            the "train" series (the sweep: one series per model, the range
            test: "lr_range", one row per batch).

    Returns:
        dict, with "step", "dataset" and "model" always; the ladder's steps
        add train_accuracy, val_accuracy, gap, best_val_accuracy,
        test_accuracy, epochs_run, seconds, seconds_per_epoch, params; see
        each step's function for the rest.

    Raises:
        labcore.reporting.Cancelled: the run was cancelled.
    """
    result = _RUNNERS.get(config.step, train_step)(config, reporter)
    model_name = recipe.model_spec(config).name
    return {"step": config.step, "dataset": config.dataset, "model": model_name, **result}
