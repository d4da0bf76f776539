"""The Knowledge distillation page: the specs before any run, the default Run, and every
result sentence drawn from stored runs, whichever way they went.

The stored runs are fake (finished as a worker would leave them, with made-up
readings), so the page's branches can be driven both ways without training.
"""

import dataclasses
import json

import numpy as np
from apptest import open_page, problems_on

from labcore import jobs
from labcore import spec as spec_lib
from labcore.labs.distillation import recipe, views
from labcore.labs.distillation.config import PRESETS, STEPS, Config
from labcore.labs.ensemble.config import PRESETS as ENSEMBLE_PRESETS
from labcore.labs.ensemble.config import member_weights
from labcore.reporting import StoreReporter
from labcore.store import Store
from tests.support import finish_run

PAGE = "app_pages/lab_distillation.py"
# The page's config at its defaults: the quick preset on the sidebar's dataset (the preset's own).
QUICK = PRESETS["quick"]


def markdown(at):
    return [element.value for element in at.markdown]


def chart_titles(at):
    return json.dumps([json.loads(chart.proto.spec).get("title") for chart in at.get("vega_lite_chart")])


def reading(accuracy, params, ms=0.1, **extra):
    return {"params": params, "size_kb": recipe.size_kb(params), "test_accuracy": accuracy,
            "test_errors": round((1 - accuracy) * 1000), "val_accuracy": accuracy, "inference_ms_per_image": ms,
            "seconds": 30.0, "epochs_run": 6, **extra}


def store_runs(owner, student, distilled, teacher=(0.88, 0.89, 0.87), cells=None):
    """Finished runs of the page's default setting, one per seed, as a worker would leave them."""
    store = Store()
    teacher_params = spec_lib.count_params(recipe.teacher_spec(QUICK))
    student_params = spec_lib.count_params(recipe.student_spec(QUICK))
    steps = {"teacher": [{"teacher": reading(a, teacher_params, 0.4)} for a in teacher],
             "student": [{"student": reading(a, student_params)} for a in student],
             "distil": [{"distilled": reading(a, student_params, temperature=QUICK.temperature, alpha=QUICK.alpha)}
                        for a in distilled],
             "sweep": [{"cells": cells}] if cells else []}
    for step, results in steps.items():
        for seed, result in enumerate(results):
            config = recipe.step_config(dataclasses.replace(QUICK, seed=seed), step)
            run_id = store.create_run("distillation", config.to_dict(), owner, f"{step} seed {seed}")
            if step == "teacher":
                logits = np.tile([6.0, 4.0] + [0.0] * 8, (1000, 1)).astype(np.float32)
                StoreReporter(store, run_id).artifact("teacher_test_logits", logits)
                StoreReporter(store, run_id).artifact("test_labels", np.zeros(1000, dtype=np.int64))
            finish_run(store, run_id, {"step": step, "dataset": QUICK.dataset, "n_test": 1000, **result})


def test_a_new_browser_sees_every_idea_and_both_specs_sizes_before_any_run():
    at = open_page(PAGE, owner="distillation-no-runs")
    assert not problems_on(at) and not at.warning
    assert at.title[0].value == "Knowledge distillation"
    text = " ".join(markdown(at))
    for idea in ("Why a student can learn from a teacher", "The loss", "Dark knowledge", "The T x alpha sweep",
                 "T^2", "student_loss_weight=alpha"):
        assert idea in text, idea
    table = at.dataframe[0].value
    assert list(table["parameters"]) == [spec_lib.count_params(recipe.teacher_spec(QUICK)),
                                         spec_lib.count_params(recipe.student_spec(QUICK)),
                                         spec_lib.count_params(recipe.student_spec(QUICK))]
    assert set(table["test accuracy"]) == {"not run yet"}
    assert [button.label for button in at.button if button.label.startswith("Run: ")] == [
        f"Run: {label}" for label in STEPS.values()]
    assert any("Run the teacher above" in info.value for info in at.info)
    assert all(answer.startswith("**Your runs:** Run ") for answer in markdown(at) if answer.startswith("**Your"))


def test_the_default_run_queues_the_teacher_with_the_quick_presets_config():
    owner = "distillation-default-run"
    at = open_page(PAGE, owner=owner)
    at.button(key="distillation_quick_teacher_run").click().run()
    store = Store()
    queued = store.list_runs(owner=owner, kind="distillation")
    for run in queued:  # only the queueing is under test
        jobs.cancel(store, run.id, owner=owner)
    assert [Config.from_dict(run.config) for run in queued] == [recipe.step_config(QUICK, "teacher")]
    assert queued[0].title == "Distillation · teacher · quick"


def test_the_page_says_distillation_helped_when_it_did_beyond_the_noise():
    store_runs("distillation-helped", student=(0.80, 0.81, 0.79), distilled=(0.83, 0.84, 0.82))
    at = open_page(PAGE, owner="distillation-helped")
    assert not problems_on(at)
    texts = markdown(at)
    helped = [text for text in texts if text.startswith("Distilled at T = 4 and alpha = 0.1")]
    assert len(helped) == 1 and "beyond noise (3 seeds)" in helped[0] and "**Distillation helped**" in helped[0]
    assert any(text.startswith("**Your runs:** Distilled at T = 4") for text in texts)
    assert any(text.endswith("there is something to distil.") for text in texts)
    table = at.dataframe[0].value
    assert list(table["test accuracy"]) == ["88.0 ± 1.0%", "80.0 ± 1.0%", "83.0 ± 1.0%"]
    # The stored teacher's logits draw the dark-knowledge bars, with their sentence.
    assert "The teacher's probabilities at T = 1, 2, 5, 10, 20" in chart_titles(at)
    assert any(text.startswith("At T = 1 it gives **T-shirt/top** 86.6%") for text in texts)


def test_the_page_says_distillation_hurt_or_showed_nothing_when_so():
    store_runs("distillation-hurt", student=(0.80, 0.81, 0.79), distilled=(0.76, 0.775, 0.75))
    texts = markdown(open_page(PAGE, owner="distillation-hurt"))
    assert any("**Distillation hurt**" in text for text in texts)
    store_runs("distillation-nothing", student=(0.80, 0.82, 0.78), distilled=(0.81, 0.80, 0.82),
               teacher=(0.80, 0.81, 0.79))
    texts = markdown(open_page(PAGE, owner="distillation-nothing"))
    assert any("within noise (3 seeds)" in text and "**No difference shown**" in text for text in texts)
    assert any(text.endswith("before reading the distilled student.") for text in texts)


def test_a_stored_sweep_draws_its_heat_map_and_names_its_best_cell():
    cells = [{**reading(0.78, 7000, temperature=t, alpha=a), "val_accuracy": v}
             for t, a, v in ((2.0, 0.1, 0.81), (4.0, 0.1, 0.77), (8.0, 0.5, 0.70))]
    store_runs("distillation-sweep", student=(0.80,), distilled=(0.80,), teacher=(0.88,), cells=cells)
    at = open_page(PAGE, owner="distillation-sweep")
    assert not problems_on(at)
    assert "The distilled student's test accuracy by T and alpha" in chart_titles(at)
    sweep = views.sweep_text(
        {"student": {0: {"n_test": 1000, "student": reading(0.80, 7000)}},
         "sweep": {0: {"n_test": 1000, "cells": cells}}})
    assert "**T = 2, alpha = 0.1**" in sweep and sweep in markdown(at)


def test_an_ensemble_run_that_kept_its_members_can_be_chosen_as_the_teacher():
    owner = "distillation-ensemble-teacher"
    at = open_page(PAGE, owner=owner)
    at.radio(key="distillation_quick_teacher").set_value("ensemble").run()
    # None yet: the page says where to train one, and distilling waits for it.
    assert any("No finished Ensemble lab run of yours" in info.value for info in at.info)
    assert at.button(key="distillation_quick_distil_run").disabled
    assert not at.button(key="distillation_quick_student_run").disabled

    store = Store()
    ensemble = dataclasses.replace(ENSEMBLE_PRESETS["quick"], dataset=QUICK.dataset).to_dict()
    kept, older = (store.create_run("ensemble", ensemble, owner, title) for title in ("kept", "older"))
    StoreReporter(store, kept).artifact(member_weights(1), b"weights")
    members = [{"params": 50_000, "train_seconds": 10.0}] * 3
    for run_id in (kept, older):  # only the first kept its members' weights
        finish_run(store, run_id, {"members": members, "votes": {"rules": {"soft": {"accuracy": 0.861}}}})
    at.run()
    assert at.selectbox(key="distillation_quick_ensemble_run").options == [f"#{kept} · 3 members · soft vote 86.1%"]
    assert at.dataframe[0].value["parameters"][0] == 150_000
    at.button(key="distillation_quick_distil_run").click().run()
    queued = store.list_runs(owner=owner, kind="distillation")
    for run in queued:  # only the queueing is under test
        jobs.cancel(store, run.id, owner=owner)
    assert [(run.config["teacher"], run.config["teacher_run"]) for run in queued] == [("ensemble", kept)]


def test_the_sweeps_best_cell_is_carried_to_mnist_on_as_many_images():
    owner = "distillation-transfer"
    cells = [{**reading(0.78, 7000, temperature=t, alpha=a), "val_accuracy": v}
             for t, a, v in ((2.0, 0.5, 0.81), (4.0, 0.1, 0.77))]
    store_runs(owner, student=(0.80,), distilled=(0.80,), teacher=(0.88,), cells=cells)
    at = open_page(PAGE, owner=owner)
    assert at.selectbox(key="distillation_quick_transfer_to").value == "mnist"
    assert any(text.startswith("Run both students on MNIST above") for text in markdown(at))
    at.button(key="distillation_quick_transfer_run").click().run()
    store = Store()
    queued = store.list_runs(owner=owner, kind="distillation", statuses=("queued", "running"))
    for run in queued:  # only the queueing is under test
        jobs.cancel(store, run.id, owner=owner)
    carried = recipe.transfer_config(QUICK, {"temperature": 2.0, "alpha": 0.5}, "mnist")
    assert [Config.from_dict(run.config) for run in reversed(queued)] == [
        recipe.step_config(carried, "student"), recipe.step_config(carried, "distil")]
    assert (carried.subset, carried.test_subset) == (6000, 1000)
    assert queued[0].title == "Distillation · distilled student on MNIST · quick"
