"""The Knowledge distillation lab: config and validation, which runs are which, the loss
against a hand computation, the page's sentences whichever way the runs went, and
tiny real runs (the teacher stored and reloaded, the JAX backend)."""

import dataclasses
import doctest
import json
import os
import subprocess
import sys
import types

import keras
import numpy as np
import pytest

from labcore import kinds
from labcore import spec as spec_lib
from labcore.errors import ConfigError
from labcore.labs.distillation import recipe, runner, teachers, views
from labcore.labs.distillation.config import PRESETS, STEPS, TEACHER_WEIGHTS, Config
from labcore.reporting import Cancelled, StoreReporter
from labcore.store import Store
from tests.support import ROOT, RecordingReporter

TINY = PRESETS["tiny"]
CLASSES = tuple(f"class {index}" for index in range(10))


# ## Config and validation


def test_the_recipes_examples_hold():
    assert doctest.testmod(recipe).failed == 0


@pytest.mark.parametrize("name", ["tiny", "quick"])
def test_presets_are_valid_on_the_embedded_dataset(name):
    assert recipe.problems(PRESETS[name].to_dict()) == []


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"step": "teach"}, "step must be one of 'teacher', 'student', 'distil', 'sweep'; got 'teach'."),
        ({"alpha": 1.5}, "alpha must be a float in [0, 1]; got 1.5."),
        ({"temperature": 0.0}, "temperature must be a float in (0, 100]; got 0.0."),
        ({"teacher_width": 300}, "teacher_width must be an int in [1, 256]; got 300."),
        ({"student_blocks": 0}, "student_blocks must be an int in [1, 16]; got 0."),
        ({"sweep_temperatures": []}, "sweep_temperatures must be a tuple of 1 to 6 floats (temperatures); got ()."),
        ({"sweep_alphas": [0.5, 1.2]}, "sweep_alphas[1] must be a float in [0, 1]; got 1.2."),
        ({"subset": 7000}, "subset must be at most 6000 (the training images of 'fashion_mnist_small'); got 7000."),
        ({"batch_size": 4000}, "batch_size must be an int in [1, 540] (the training images); got 4000."),
    ],
)
def test_problems_name_the_field_and_the_allowed_values(change, message):
    assert message in recipe.problems({**TINY.to_dict(), **change})


def test_the_worker_refuses_a_bad_config_with_every_problem():
    with pytest.raises(ConfigError) as refused:
        kinds.parse("distillation", {**TINY.to_dict(), "alpha": -0.1, "temperature": 200.0})
    assert str(refused.value).splitlines() == ["temperature must be a float in (0, 100]; got 200.0.",
                                               "alpha must be a float in [0, 1]; got -0.1."]


def test_the_quick_and_full_students_are_10_to_50_times_smaller_than_their_teachers():
    for name in ("quick", "full"):
        config = PRESETS[name]
        ratio = spec_lib.count_params(recipe.teacher_spec(config)) / spec_lib.count_params(recipe.student_spec(config))
        assert 10 <= ratio <= 50, (name, ratio)


def test_students_from_scratch_and_distilled_train_alike():
    config = dataclasses.replace(TINY, epochs=3, teacher_epochs=5)
    assert recipe.train_config(config, "student").epochs == 3
    assert recipe.train_config(config, "teacher").epochs == 5
    assert recipe.train_config(config, "student").schedule.kind == "cosine"


# ## Which runs are which


def test_a_step_config_keeps_only_the_fields_the_step_reads():
    config = dataclasses.replace(TINY, temperature=20.0, alpha=0.9, seed=3)
    student = recipe.step_config(config, "student")
    assert (student.step, student.seed, student.student_width) == ("student", 3, TINY.student_width)
    assert (student.temperature, student.alpha, student.teacher_width) == (Config().temperature, Config().alpha,
                                                                          Config().teacher_width)
    # Moving T leaves the student from scratch the same run (shared, found again).
    assert recipe.step_config(dataclasses.replace(config, temperature=2.0), "student") == student
    assert recipe.step_config(config, "distil").temperature == 20.0


def test_a_distil_step_reuses_only_a_teacher_of_the_same_data_seed_and_settings():
    config = dataclasses.replace(TINY, step="distil", temperature=8.0)
    teacher = recipe.step_config(config, "teacher").to_dict()
    assert recipe.reuses_teacher(config, teacher)
    assert recipe.reuses_teacher(config, {**TINY.to_dict(), "step": "teacher", "student_width": 7})
    assert not recipe.reuses_teacher(config, {**teacher, "seed": 1})
    assert not recipe.reuses_teacher(config, {**teacher, "teacher_epochs": 2})
    assert not recipe.reuses_teacher(config, {**teacher, "step": "student"})
    assert not recipe.reuses_teacher(config, {"colour": "red"})


def fake_run(run_id, step, seed=0, status="done", **result):
    config = recipe.step_config(dataclasses.replace(TINY, seed=seed), step).to_dict()
    return types.SimpleNamespace(id=run_id, status=status, config=config, result=result)


def test_by_seed_keeps_the_newest_finished_run_of_each_seed_of_the_setting():
    runs = [fake_run(1, "student", seed=0, mark="old"), fake_run(2, "student", seed=0, mark="new"),
            fake_run(3, "student", seed=1, mark="one"), fake_run(4, "student", seed=2, status="running", mark="x"),
            fake_run(5, "teacher", seed=0, mark="teacher")]
    runs.append(types.SimpleNamespace(id=6, status="done", result={"mark": "wider"},
                                      config={**runs[0].config, "student_width": 6}))
    found = recipe.by_seed(runs, recipe.step_config(TINY, "student"))
    assert {seed: result["mark"] for seed, result in found.items()} == {0: "new", 1: "one"}


# ## The loss, against a hand computation


def _logits_model(weights, name):
    inputs = keras.Input(shape=(4,), name="image")
    dense = keras.layers.Dense(3, name="task_dense")
    model = keras.Model(inputs, dense(inputs), name=name)
    dense.set_weights(weights)
    return model


def _by_hand(teacher_logits, student_logits, labels, temperature, alpha):
    """(hard, soft, total) of Hinton's loss in NumPy, batch means."""
    soft_teacher = recipe.soften(teacher_logits, temperature)
    soft_student = recipe.soften(student_logits, temperature)
    kl = np.sum(soft_teacher * np.log(soft_teacher / soft_student), axis=1).mean()
    hard = -np.log(recipe.soften(student_logits, 1.0)[np.arange(len(labels)), labels]).mean()
    soft = temperature ** 2 * kl
    return hard, soft, alpha * hard + (1 - alpha) * soft


@pytest.mark.parametrize(("temperature", "alpha"), [(1.0, 0.5), (4.0, 0.1), (20.0, 0.9), (2.0, 0.0), (3.0, 1.0)])
def test_the_distillers_loss_is_alpha_hard_plus_one_minus_alpha_t_squared_kl(temperature, alpha):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(6, 4)).astype("float32")
    labels = np.array([0, 1, 2, 0, 1, 2])
    teacher = _logits_model([rng.normal(size=(4, 3)).astype("float32"), np.zeros(3, "float32")], "teacher")
    student = _logits_model([rng.normal(size=(4, 3)).astype("float32"), np.zeros(3, "float32")], "student")
    distiller = runner.build_distiller(teacher, student, temperature, alpha)
    distiller.compile(optimizer="adam", loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    total = distiller.compute_loss(x, labels, student(x), training=False)
    hard, soft, expected = _by_hand(keras.ops.convert_to_numpy(teacher(x)), keras.ops.convert_to_numpy(student(x)),
                                    labels, temperature, alpha)
    # float32 against float64: the soft term at T = 20 is T² times a small KL.
    assert float(keras.ops.convert_to_numpy(total)) == pytest.approx(expected, rel=1e-3)
    # Keras's own trackers hold the two terms apart (a term alpha switches off is not computed).
    assert float(distiller.student_loss_tracker.result()) == pytest.approx(hard if alpha > 0 else 0.0, rel=1e-3)
    assert float(distiller.distillation_loss_tracker.result()) == pytest.approx(soft if alpha < 1 else 0.0,
                                                                                rel=1e-3)


def test_the_libraries_default_kl_string_would_skip_the_softmax_and_the_t_squared():
    # Why `build_distiller` passes a KLDivergence instance: pinned so a Keras
    # upgrade that fixes the default tells us the instance is no longer needed.
    teacher_logits = np.array([[4.0, 1.0, -2.0]], dtype="float32")
    student_logits = np.array([[1.0, 2.0, 0.0]], dtype="float32")
    hand = _by_hand(teacher_logits, student_logits, np.array([0]), 2.0, 0.0)[1]
    ours = keras.distillation.LogitsDistillation(temperature=2.0, loss=keras.losses.KLDivergence())
    default = keras.distillation.LogitsDistillation(temperature=2.0)
    assert float(ours.compute_loss(teacher_logits, student_logits)) == pytest.approx(hand, rel=1e-5)
    assert float(default.compute_loss(teacher_logits, student_logits)) != pytest.approx(hand, rel=1e-2)


def test_soft_targets_from_log_probabilities_equal_those_from_logits():
    logits = np.array([[12.0, 3.0, -4.0, 0.5], [0.0, 0.0, 0.0, 0.0], [-30.0, 40.0, 5.0, 39.0]])
    log_probabilities = np.log(recipe.soften(logits, 1.0))
    for temperature in (1.0, 2.0, 5.0, 20.0):
        assert recipe.soften(log_probabilities, temperature) == pytest.approx(recipe.soften(logits, temperature))
        assert recipe.soften(logits, temperature).sum(axis=1) == pytest.approx(np.ones(3))
    # A higher temperature flattens: the top class loses probability.
    assert recipe.soften(logits, 20.0)[0, 0] < recipe.soften(logits, 2.0)[0, 0]


def test_the_logits_model_shares_the_classifiers_weights_and_its_softmax_is_the_models_output():
    from labcore import composable

    model = composable.build_model(recipe.student_spec(TINY))
    logits = teachers.logits_model(model)
    images = np.random.default_rng(1).random((5, 28, 28, 1), dtype="float32")
    assert recipe.soften(logits.predict(images, verbose=0), 1.0) == pytest.approx(
        model.predict(images, verbose=0), abs=1e-5)
    assert [w.path for w in logits.weights] == [w.path for w in model.weights]


# ## What the page says, from fake results


def reading(accuracy, params=1000, ms=0.1, **extra):
    return {"params": params, "size_kb": 4 * params / 1024, "test_accuracy": accuracy,
            "test_errors": round((1 - accuracy) * 1000), "val_accuracy": accuracy, "inference_ms_per_image": ms,
            "seconds": 5.0, "epochs_run": 6, **extra}


def found_runs(teacher=(), student=(), distilled=(), sweeps=()):
    """step -> {seed: result}, as `recipe.by_seed` returns them, from accuracies per seed."""
    distil = {"temperature": 4.0, "alpha": 0.1}
    return {
        "teacher": {seed: {"n_test": 1000, "teacher": reading(a, 20000, 0.5)} for seed, a in enumerate(teacher)},
        "student": {seed: {"n_test": 1000, "student": reading(a)} for seed, a in enumerate(student)},
        "distil": {seed: {"n_test": 1000, "distilled": reading(a, **distil)} for seed, a in enumerate(distilled)},
        "sweep": {seed: {"n_test": 1000, "cells": cells} for seed, cells in enumerate(sweeps)},
    }


def test_distillation_that_helps_beyond_the_seed_noise_says_so():
    text = views.distil_text(found_runs(student=(0.80, 0.81, 0.79), distilled=(0.83, 0.84, 0.82)))
    assert "Distilled at T = 4 and alpha = 0.1, the student scores 83.0 ± 1.0% against 80.0 ± 1.0%" in text
    assert "+3.0 ± 0.0 points: beyond noise (3 seeds)" in text and "**Distillation helped**" in text


def test_distillation_that_hurts_beyond_the_noise_says_so():
    text = views.distil_text(found_runs(student=(0.80, 0.81, 0.79), distilled=(0.76, 0.775, 0.75)))
    assert "beyond noise" in text and "**Distillation hurt**" in text


def test_a_difference_within_the_seed_noise_shows_no_effect():
    text = views.distil_text(found_runs(student=(0.80, 0.82, 0.78), distilled=(0.81, 0.80, 0.82)))
    assert "within noise" in text and "**No difference shown**" in text


def test_one_seed_is_judged_against_the_test_sets_sampling_error():
    within = views.distil_text(found_runs(student=(0.80,), distilled=(0.81,)))
    assert "(one seed; the 1,000 test images alone give ±3.5): within that noise" in within
    assert "**No difference shown**" in within
    beyond = views.distil_text(found_runs(student=(0.70,), distilled=(0.80,)))
    assert "beyond that noise" in beyond and "**Distillation helped**" in beyond
    assert views.distil_text(found_runs(student=(0.80,))) == ""


def test_the_teacher_sentence_says_whether_there_is_anything_to_distil():
    better = views.teacher_text(found_runs(teacher=(0.90, 0.91, 0.89), student=(0.80, 0.81, 0.79)))
    assert better.startswith("The teacher has **20x** the student's parameters (20,000 against 1,000) and takes "
                             "**5.0x** as long")
    assert better.endswith("there is something to distil.")
    same = views.teacher_text(found_runs(teacher=(0.80, 0.82, 0.78), student=(0.81, 0.79, 0.80)))
    assert same.endswith("before reading the distilled student.")
    worse = views.teacher_text(found_runs(teacher=(0.70, 0.71, 0.69), student=(0.80, 0.81, 0.79)))
    assert "The teacher is worse than the student here" in worse
    assert views.teacher_text(found_runs(teacher=(0.9,))) == ""
    close = found_runs(teacher=(0.9,), student=(0.8,))
    close["teacher"][0]["teacher"]["inference_ms_per_image"] = 0.12
    assert "and is about as fast per test image on this machine (0.12 against 0.10 ms)" in views.teacher_text(close)


def cell(temperature, alpha, test, val):
    return {"temperature": temperature, "alpha": alpha, "test_accuracy": test, "val_accuracy": val}


def test_the_sweep_picks_its_best_cell_on_validation_images_not_on_the_test_set():
    sweep = [cell(2.0, 0.1, 0.90, 0.80), cell(8.0, 0.1, 0.84, 0.86)]
    text = views.sweep_text(found_runs(student=(0.80,), sweeps=(sweep,)))
    assert "Across 2 settings the distilled students score 84.0% to 90.0%" in text
    assert "**T = 8, alpha = 0.1**, scores 84.0% (one seed) on the test images" in text
    assert "Distillation beats the student alone at its best setting." in text
    alone = views.sweep_text(found_runs(sweeps=(sweep,)))
    assert alone.endswith("run the student from scratch to compare.")
    assert views.sweep_text(found_runs()) == ""


def test_the_sweeps_cells_gather_every_seeds_reading():
    cells = recipe.sweep_cells([{"cells": [cell(8.0, 0.5, 0.8, 0.7), cell(2.0, 0.5, 0.6, 0.5)]},
                                {"cells": [cell(2.0, 0.5, 0.7, 0.6)]}])
    assert [(c["temperature"], c["test_accuracy"]) for c in cells] == [(2.0, [0.6, 0.7]), (8.0, [0.8])]
    assert recipe.best_cell(cells)["temperature"] == 8.0
    assert views.sweep_chart(cells) is not None and views.sweep_chart([]) is None


def test_the_transfer_reads_the_carried_cell_there_and_whether_the_targets_own_sweep_agrees():
    best = cell(4.0, 0.1, 0.85, 0.86)
    there = found_runs(student=(0.80, 0.81, 0.79), distilled=(0.76, 0.775, 0.75))
    text = views.transfer_text(best, "MNIST", there)
    assert text.startswith("**On MNIST**, with the best cell carried over: Distilled at T = 4 and alpha = 0.1")
    assert "**Distillation hurt**" in text and "own sweep" not in text
    same = views.transfer_text(best, "MNIST", {**there, "sweep": {0: {"cells": [cell(4.0, 0.1, 0.8, 0.9),
                                                                                cell(2.0, 0.5, 0.8, 0.7)]}}})
    assert same.endswith("MNIST's own sweep picks the same cell: the setting carried over as the best.")
    other = views.transfer_text(best, "MNIST", {**there, "sweep": {0: {"cells": [cell(2.0, 0.5, 0.8, 0.9)]}}})
    assert "MNIST's own sweep picks T = 2, alpha = 0.5 instead" in other
    assert views.transfer_text(best, "MNIST", found_runs(student=(0.8,))) == ""


def test_the_dark_knowledge_sentence_follows_the_teachers_probabilities():
    sure = np.array([9.0, 5.0, 0.0] + [-2.0] * 7)
    text = views.dark_knowledge_text(sure, 0, CLASSES)
    assert text.startswith("At T = 1 it gives **class 0** 98.2%")
    assert "Its runner-up, **class 1**, rises from 1.8% to 18.8% at T = 5, then falls back to 12.6% at T = 20" in text
    assert views.dark_knowledge_text(sure, 1, CLASSES).startswith(
        "The teacher gets this image wrong: it says **class 0**, the label is **class 1**.")
    hesitant = np.array([1.0, 0.9, 0.8] + [0.0] * 7)
    hesitant_text = views.dark_knowledge_text(hesitant, 0, CLASSES)
    assert hesitant_text.startswith("Even at T = 1 the teacher hesitates")
    assert "every class is near 10%" in hesitant_text
    assert "every class is near" not in text
    tie = np.array([5.0, 4.9] + [0.0] * 8)
    assert "Its runner-up, **class 1**, has 46.2% at T = 1 already, and only loses as T rises" in \
        views.dark_knowledge_text(tie, 0, CLASSES)
    rising = np.array([60.0, 50.0] + [0.0] * 8)
    assert "Its runner-up, **class 1**, rises from 0.005% to 30.3%: " in views.dark_knowledge_text(rising, 0, CLASSES)


def test_the_telling_image_is_one_the_teacher_gets_right_and_sure_with_the_strongest_runner_up():
    logits = np.array([[9.0, 0.0, 0.0], [6.0, 3.0, 0.0], [0.0, 5.0, 4.9], [4.0, 3.9, 0.0]])
    # Image 3 is wrong and image 2 a near tie; of the sure ones, image 1's runner-up is the strongest.
    assert recipe.telling_image(logits, [0, 0, 1, 2]) == 1
    # When the teacher is sure of none it gets right, the strongest runner-up of those.
    assert recipe.telling_image(logits, [1, 1, 1, 2]) == 2
    assert recipe.telling_image(logits, [1, 2, 0, 2]) == 0


def test_the_answers_say_which_run_to_start_until_the_runs_exist():
    questions = views.answers(found_runs())
    assert [answer.question for answer in questions] == [
        "Does distillation beat training the student alone here, and by how much?",
        "At which temperature and alpha?", "What does the student save?"]
    assert all(answer.measured.startswith("Run ") for answer in questions)
    assert "146" in questions[0].original and "98.1%" in questions[0].original
    done = views.answers(found_runs(teacher=(0.9,), student=(0.8,), distilled=(0.85,)))
    assert done[0].measured == views.distil_text(found_runs(student=(0.8,), distilled=(0.85,)))
    assert done[2].measured.startswith("20x fewer parameters (3.9 kB against 78.1 kB) and 0.10 ms per image")


def test_the_side_by_side_table_knows_sizes_before_any_run():
    rows = views.side_by_side({"teacher": 20000, "student": 1000}, found_runs(student=(0.8, 0.82)))
    assert [row["model"] for row in rows] == [STEPS["teacher"], STEPS["student"], STEPS["distil"]]
    assert [row["parameters"] for row in rows] == [20000, 1000, 1000]
    assert rows[0]["test accuracy"] == "not run yet" and rows[0]["ms per image"] is None
    assert rows[1]["test accuracy"] == "81.0 ± 1.4%" and rows[1]["seeds"] == 2


# ## Tiny real runs


@pytest.mark.slow
def test_the_distil_step_loads_its_owners_stored_teacher_and_otherwise_trains_one(tmp_path):
    store = Store(tmp_path / "labcore.db")

    def run_as(owner, step, **changes):
        config = dataclasses.replace(TINY, step=step, **changes)
        run_id = store.create_run("distillation", config.to_dict(), owner=owner)
        store.claim_run(run_id, "cpu")
        result = runner.run(config, StoreReporter(store, run_id))
        store.merge_result(run_id, result)
        store.set_status(run_id, "done")
        return run_id, result

    teacher_id, teacher = run_as("alice", "teacher")
    assert store.artifact_path(teacher_id, TEACHER_WEIGHTS).stat().st_size > 0
    logits = store.read_artifact(teacher_id, "teacher_test_logits")
    assert logits.shape == (teacher["n_test"], 10) and logits.dtype == np.float32
    assert len(store.read_artifact(teacher_id, "test_labels")) == teacher["n_test"] == 200
    assert teacher["teacher"]["test_errors"] == round((1 - teacher["teacher"]["test_accuracy"]) * 200)

    distil_id, distilled = run_as("alice", "distil")
    assert distilled["teacher"]["from_run"] == teacher_id and f"#{teacher_id}" in distilled["note"]
    # The loaded teacher is the stored one: the same test accuracy.
    assert distilled["teacher"]["test_accuracy"] == teacher["teacher"]["test_accuracy"]
    assert distilled["distilled"]["params"] < teacher["teacher"]["params"]
    rows = [row for row in store.metrics(distil_id) if row.series == "distilled"]
    assert {"student_loss", "distillation_loss", "accuracy", "val_accuracy"} <= set(rows[0].values)

    _, alone = run_as("bob", "distil")
    assert alone["teacher"]["from_run"] is None and "trained the teacher first" in alone["note"]


@pytest.mark.slow
def test_at_alpha_one_the_distilled_student_is_the_student_from_scratch():
    # Same seed, same initial weights, same batches: with the teacher's term
    # weighed 0, the two fits are the same computation.
    config = dataclasses.replace(TINY, alpha=1.0)
    scratch = runner.run(dataclasses.replace(config, step="student"), RecordingReporter())["student"]
    distilled = runner.run(dataclasses.replace(config, step="distil"), RecordingReporter())["distilled"]
    for key in ("test_accuracy", "val_accuracy", "params"):
        assert distilled[key] == scratch[key]


@pytest.mark.slow
def test_the_sweep_reports_a_cell_per_temperature_and_alpha_and_stops_when_cancelled():
    reporter = RecordingReporter()
    result = runner.run(dataclasses.replace(TINY, step="sweep"), reporter)
    assert [(c["temperature"], c["alpha"]) for c in result["cells"]] == [(2.0, 0.5), (8.0, 0.5)]
    assert {series for series, _, _ in reporter.epochs} == {"teacher", "T=2, alpha=0.5", "T=8, alpha=0.5"}
    with pytest.raises(Cancelled):
        runner.run(dataclasses.replace(TINY, step="sweep"), RecordingReporter(cancel_after=0))


_JAX_DISTILLATION = """
import dataclasses, json, keras, numpy as np
from labcore import composable
from labcore.labs.distillation import recipe, runner, teachers
from labcore.labs.distillation.config import PRESETS
from tests.support import RecordingReporter
tiny = PRESETS["tiny"]
result = runner.run(dataclasses.replace(tiny, step="distil"), RecordingReporter())
members = [composable.build_model(recipe.student_spec(tiny)) for _ in range(2)]
classifier, logits = teachers.ensemble_models(members)
images = np.random.default_rng(0).random((4, 28, 28, 1), dtype="float32")
averaged = np.mean([keras.ops.convert_to_numpy(m(images)) for m in members], axis=0)
softened = recipe.soften(keras.ops.convert_to_numpy(logits(images)), 1.0)
print(json.dumps({"backend": keras.backend.backend(), "accuracy": result["distilled"]["test_accuracy"],
                  "ensemble_error": float(np.abs(softened - averaged).max())}))
"""


@pytest.mark.slow
def test_the_distiller_and_the_ensemble_teacher_run_on_the_jax_backend():
    # requirements-dev.txt installs jax; the app itself needs only TensorFlow.
    finished = subprocess.run([sys.executable, "-c", _JAX_DISTILLATION], cwd=ROOT, capture_output=True, text=True,
                              env={**os.environ, "KERAS_BACKEND": "jax"}, timeout=280)
    assert finished.returncode == 0, finished.stderr[-2000:]
    measured = json.loads(finished.stdout.strip().splitlines()[-1])
    assert measured["backend"] == "jax" and 0.0 <= measured["accuracy"] <= 1.0
    assert measured["ensemble_error"] < 1e-5
