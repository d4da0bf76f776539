"""The Knowledge distillation lab's runner: train one step (teacher, student, distilled student, sweep).

The kind's runner `run`, which a worker imports through the kind registry;
the only module of the lab that imports Keras (`keras` only, never `tf.*`,
so it runs on JAX too). Distillation is Keras's own
`keras.distillation.Distiller` with one `LogitsDistillation` loss
(`build_distiller` says how the lab's T and alpha map to it), fitted
through `labcore.training.fit` like every other model here: live epochs,
cancellation, the cosine decay.

The teacher step stores its weights (`TEACHER_WEIGHTS`); a distil or sweep
step loads the newest matching teacher run of the same owner, or trains
the teacher itself first and says so in its `note`. With `teacher`
"ensemble" or "run" it loads the stored run `teacher_run` names instead
(`teachers.load`): an Ensemble lab run's members, or a Model Builder run's
model.
"""

import itertools

import keras
import numpy as np

from labcore import composable, data, training
from labcore.errors import ConfigError
from labcore.labs.distillation import recipe, teachers
from labcore.labs.distillation.config import TEACHER_RUNS, TEACHER_WEIGHTS
from labcore.labs.distillation.teachers import logits_model
from labcore.reporting import Cancelled, StageReporter

__all__ = ["build_distiller", "run"]

KIND = "distillation"
# Passes over the test images when timing a model (the fastest counts): the
# page compares teacher and student by it, on a machine other runs share.
_TIMING_PASSES = 3
# Predicting needs no gradients, so it takes bigger batches than training.
_PREDICT_BATCH = 256


# ## Keras's distiller


def build_distiller(teacher_logits, student_logits, temperature, alpha):
    """Keras's `Distiller` with the classic loss of Hinton et al. (2015).

    Per batch, with z_t and z_s the teacher's and the student's logits:

        alpha * CE(y, softmax(z_s)) + (1 - alpha) * T² * KL(softmax(z_t / T) || softmax(z_s / T))

    both terms averaged over the batch. The T² keeps the soft term's
    gradients as large as the hard term's whatever T (they shrink as 1/T²).
    In Keras's words alpha is `student_loss_weight` (the total is
    `student_loss_weight * student_loss + (1 - student_loss_weight) *
    distillation_loss`) and the one distillation loss has weight 1.

    The KL is passed as a `keras.losses.KLDivergence` instance on purpose:
    `LogitsDistillation` applies the softmax and the T² only for an instance
    of that class, and its default, the string "kl_divergence", resolves to
    a plain function that it would apply to the scaled logits themselves.
    Keras's KL clips both distributions to [1e-7, 1] first.

    Args:
        teacher_logits: keras.Model, the trained teacher up to its logits
            (frozen by the distiller).
        student_logits: keras.Model, the student up to its logits.
        temperature: float > 0, T.
        alpha: float in [0, 1], the weight of the labels' loss.

    Returns:
        keras.distillation.Distiller, to compile with the labels' loss
        `SparseCategoricalCrossentropy(from_logits=True)`.
    """
    soft = keras.distillation.LogitsDistillation(temperature=temperature, loss=keras.losses.KLDivergence())
    return keras.distillation.Distiller(teacher=teacher_logits, student=student_logits, distillation_losses=soft,
                                        student_loss_weight=alpha)


# ## Training and measuring one model


def _build(spec, seed):
    """The spec's model, seeded: the same seed gives the same initial weights."""
    training.set_seed(seed)
    return composable.build_model(spec)


def _fit(trained, splits, train, reporter, series):
    """Fit a logits model or a distiller on the labels (and the teacher), validating as it goes."""
    # Seeded again just before the fit, so the batch order is the seed's
    # whatever was built before (a distil step also builds its teacher).
    training.set_seed(train.seed)
    return training.fit(trained, (splits.x_train, splits.y_train, splits.x_val, splits.y_val), train, reporter,
                        series=series, loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                        metrics=["accuracy"])


def _accuracy(model, images, labels):
    """float, the share of `images` the model classifies as `labels`, in inference mode."""
    return float(np.mean(model.predict(images, batch_size=_PREDICT_BATCH, verbose=0).argmax(axis=1) == labels))


def _reading(model, splits, fitted):
    """What the page compares of one trained model, in inference mode.

    Args:
        model: keras.Model, the whole classifier (softmax included).
        splits: `labcore.data.Splits`, the run's data.
        fitted: dict with the "seconds" and "epochs_run" of its fit.

    Returns:
        dict: params, size_kb (float32 weights), test_accuracy, test_errors
        (as Hinton et al. count them), val_accuracy, inference_ms_per_image
        (the whole model, softmax included, on this machine: the fastest of
        `_TIMING_PASSES` passes), seconds and epochs_run (of its fit).
    """
    probabilities, ms_per_image = training.timed_predict(model, splits.x_test, batch_size=_PREDICT_BATCH,
                                                         repeats=_TIMING_PASSES)
    right = probabilities.argmax(axis=1) == splits.y_test
    params = int(model.count_params())
    return {"params": params, "size_kb": recipe.size_kb(params), "test_accuracy": float(right.mean()),
            "test_errors": int((~right).sum()), "val_accuracy": _accuracy(model, splits.x_val, splits.y_val),
            "inference_ms_per_image": ms_per_image, "seconds": fitted["seconds"],
            "epochs_run": fitted["epochs_run"]}


def _train_teacher(config, splits, reporter):
    """The teacher trained on the labels: (model, reading)."""
    teacher = _build(recipe.teacher_spec(config), config.seed)
    fitted = _fit(logits_model(teacher), splits, recipe.train_config(config, "teacher"), reporter, "teacher")
    return teacher, _reading(teacher, splits, fitted)


def _distil(config, teacher_logits, temperature, alpha, splits, reporter, series):
    """A student distilled from the teacher's logits, from the same initial weights as the student from scratch."""
    student = _build(recipe.student_spec(config), config.seed)
    distiller = build_distiller(teacher_logits, logits_model(student), temperature, alpha)
    fitted = _fit(distiller, splits, recipe.train_config(config, "student"), reporter, series)
    return {**_reading(student, splits, fitted), "temperature": temperature, "alpha": alpha}


# ## The teacher a distil or sweep step learns from


def _stored_teacher(config, reporter):
    """Whether a ConvNet teacher must be trained first, and this owner's stored one if not.

    Returns:
        (stored, trains): `stored` is the newest finished teacher run of
        this owner with the same settings and its weights' path, or None;
        `trains` is True when the teacher is a ConvNet that none matched.
    """
    if config.teacher != "convnet":
        return None, False
    stored = training.stored_weights(reporter, KIND, lambda earlier: recipe.reuses_teacher(config, earlier),
                                     TEACHER_WEIGHTS)
    return stored, stored is None


def _convnet_teacher(config, splits, stored, reporter):
    """This lab's ConvNet teacher: loaded from `stored` (a run and its weights' path), or trained here when None."""
    if stored is None:
        teacher, reading = _train_teacher(config, splits, reporter)
        note = (f"No finished teacher run of yours matched these settings, so this run trained the teacher "
                f"first ({reading['epochs_run']} epochs).")
        return teacher, {**reading, "from_run": None}, note
    earlier, weights = stored
    reporter.progress(0.0, f"loading the teacher of run #{earlier.id}")
    teacher = composable.build_model(recipe.teacher_spec(config))
    teacher.load_weights(weights)
    trained = earlier.result["teacher"]
    reading = _reading(teacher, splits, {"seconds": trained["seconds"], "epochs_run": trained["epochs_run"]})
    return teacher, {**reading, "from_run": earlier.id}, f"The teacher is your teacher run #{earlier.id}, loaded."


def _stored_run_teacher(config, splits, reporter):
    """The Ensemble lab or Model Builder run `config.teacher_run` as the teacher: (logits model, reading, note)."""
    store = getattr(reporter, "store", None)
    page = TEACHER_RUNS[config.teacher][1]
    if store is None:
        raise ConfigError(f"teacher {config.teacher!r} loads a {page} run from the run store: queue this step "
                          "from the page or with `python -m labcore run`.")
    reporter.progress(0.0, f"loading the teacher: {page} run #{config.teacher_run}")
    earlier, classifier, teacher_logits = teachers.load(store, config)
    members = earlier.result.get("members")
    if members:
        # Each member trained in turn: the ensemble's cost is their sum.
        trained = {"seconds": sum(member["train_seconds"] for member in members),
                   "epochs_run": earlier.config["epochs"]}
    else:
        trained = {"seconds": earlier.result["seconds"], "epochs_run": earlier.result["epochs_run"]}
    reading = {**_reading(classifier, splits, trained), "from_run": earlier.id, "source": config.teacher,
               "members": len(members) if members else None}
    what = f"the soft vote of its {len(members)} members" if members else f"its model, {classifier.name}"
    return teacher_logits, reading, f"The teacher is {page} run #{earlier.id}: {what}, loaded."


def _teacher(config, splits, stored, reporter):
    """The teacher as a logits model, its reading (with "from_run") and a note saying where it came from.

    `stored` is what `_stored_teacher` found for a ConvNet teacher.
    """
    if config.teacher != "convnet":
        return _stored_run_teacher(config, splits, reporter)
    teacher, reading, note = _convnet_teacher(config, splits, stored, reporter)
    return logits_model(teacher), reading, note


# ## The steps


def teacher_step(config, splits, reporter):
    """Train the teacher; store its weights, its test logits and the test labels.

    The logits ("teacher_test_logits", float32, images x classes) are what
    the page softens at each temperature for the dark-knowledge bars.
    """
    teacher, reading = _train_teacher(config, splits, reporter)
    reporter.progress(1.0, "storing the teacher's weights and test logits")
    training.save_weights_artifact(teacher, reporter, TEACHER_WEIGHTS)
    logits = logits_model(teacher).predict(splits.x_test, batch_size=_PREDICT_BATCH, verbose=0)
    reporter.artifact("teacher_test_logits", np.asarray(logits, dtype=np.float32))
    reporter.artifact("test_labels", splits.y_test)
    return {"teacher": reading}


def student_step(config, splits, reporter):
    """Train the student from scratch on the labels alone: the control."""
    student = _build(recipe.student_spec(config), config.seed)
    fitted = _fit(logits_model(student), splits, recipe.train_config(config, "student"), reporter, "student")
    return {"student": _reading(student, splits, fitted)}


def distil_step(config, splits, reporter):
    """Distil the student from the teacher at the config's T and alpha."""
    stored, trains = _stored_teacher(config, reporter)
    n_stages = 1 + trains
    teacher_logits, teacher_reading, note = _teacher(config, splits, stored,
                                                     StageReporter.share(reporter, "teacher", 0, n_stages))
    stage = StageReporter.share(reporter, "distilling the student", n_stages - 1, n_stages)
    distilled = _distil(config, teacher_logits, config.temperature, config.alpha, splits, stage, "distilled")
    return {"teacher": teacher_reading, "distilled": distilled, "note": note}


def sweep_step(config, splits, reporter):
    """Distil one student per (T, alpha) of the sweep; report the cells as each ends."""
    grid = list(itertools.product(config.sweep_temperatures, config.sweep_alphas))
    stored, first = _stored_teacher(config, reporter)
    n_stages = len(grid) + first
    teacher_logits, teacher_reading, note = _teacher(config, splits, stored,
                                                     StageReporter.share(reporter, "teacher", 0, n_stages))
    reporter.result({"teacher": teacher_reading, "note": note})
    cells = []
    for index, (temperature, alpha) in enumerate(grid):
        if reporter.cancelled():
            raise Cancelled(f"sweep: cancelled after {index} of {len(grid)} students")
        label = f"T={temperature:g}, alpha={alpha:g}"
        stage = StageReporter.share(reporter, f"student {index + 1}/{len(grid)} ({label})", first + index, n_stages)
        cells.append(_distil(config, teacher_logits, temperature, alpha, splits, stage, label))
        # Stored as each student ends, so the heat map fills in while the rest train.
        reporter.result({"cells": cells})
    return {"teacher": teacher_reading, "cells": cells, "note": note}


_STEPS = {"teacher": teacher_step, "student": student_step, "distil": distil_step, "sweep": sweep_step}


def run(config, reporter):
    """Runner of the "distillation" kind: train one step and return its result.

    Args:
        config: Config, already validated by the worker.
        reporter: a `labcore.reporting.Reporter`; epochs go to the series
            "teacher", "student", "distilled" or "T=…, alpha=…".

    Returns:
        dict with "step", "dataset", "n_train", "n_val", "n_test", and per
        step: "teacher" (a reading: params, size_kb, test_accuracy,
        test_errors, val_accuracy, inference_ms_per_image, seconds,
        epochs_run; in distil and sweep runs also "from_run", and for a
        stored run's teacher "source" and "members", None for a single
        model), "student",
        "distilled" (a reading with its temperature and alpha), "cells"
        (the sweep's readings, one per T and alpha) and "note" (where the
        teacher came from).

    Raises:
        labcore.reporting.Cancelled: the run was cancelled.
    """
    reporter.progress(0.0, f"loading {config.dataset}")
    splits = data.load(config.dataset, subset=config.subset, val_fraction=config.val_fraction, seed=config.seed,
                       test_subset=config.test_subset)
    result = {"step": config.step, "dataset": config.dataset, "n_train": int(len(splits.x_train)),
              "n_val": int(len(splits.x_val)), "n_test": int(len(splits.x_test))}
    reporter.result(result)
    return {**result, **_STEPS[config.step](config, splits, reporter)}
