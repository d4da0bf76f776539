"""The Regularization page: every idea before any run, and a run trained for real by the CLI."""

import dataclasses
import json

import pytest
from apptest import open_page, problems_on

from labcore import seeds
from labcore.labs.regularization.config import PRESETS, STEPS
from labcore.store import Store
from tests.support import finish_run, tiny_cli_run

PAGE = "app_pages/lab_regularization.py"


@pytest.fixture(scope="module")
def tiny_baseline():
    """The tiny baseline, run through the CLI and its worker exactly as an instructor would (once a session)."""
    run = tiny_cli_run("regularization", "--step", "baseline", "--preset", "tiny")
    assert run.status == "done" and run.owner == "cli"
    return run


def charts(at):
    return [json.loads(element.proto.spec) for element in at.get("vega_lite_chart")]


def marks(chart):
    layers = chart.get("layer", [chart])
    return {layer["mark"]["type"] if isinstance(layer["mark"], dict) else layer["mark"] for layer in layers}


def titled(chart, words):
    return words in json.dumps(chart.get("title", ""))


def test_a_new_browser_sees_every_idea_and_the_rate_schedules_before_any_run():
    at = open_page(PAGE, owner="regularization-no-runs")
    assert not problems_on(at) and not at.warning
    assert at.title[0].value.endswith("Regularization")
    text = " ".join(markdown.value for markdown in at.markdown)
    for idea in ("What overfitting looks like", "Why noise helps", "why too much hurts",
                 "Why lowering the rate late helps", "The learning-rate range test", "Compact models"):
        assert idea in text
    # The lower tier's, the warm-up's and the decay's rate per epoch, drawn before anything ran.
    assert len([chart for chart in charts(at) if titled(chart, "learning rate per epoch")]) == 3
    assert len([button for button in at.button if button.label.startswith("Run: ")]) == len(STEPS)
    assert any("Run a step above" in info.value for info in at.info)


def test_the_page_shows_the_cli_run_with_its_gap_and_the_ladder(tiny_baseline):
    at = open_page(PAGE, owner="cli")
    assert not problems_on(at)
    drawn = charts(at)
    # The baseline's accuracy curves carry the shaded gap: an area between train and validation.
    assert any({"area", "line"} <= marks(chart) for chart in drawn)
    assert any(titled(chart, "The ladder") for chart in drawn)
    table = at.dataframe[0].value
    baseline = table[table["step"] == "baseline"].iloc[0]
    newest = Store().list_runs(statuses=("done",), owner="cli", kind="regularization", limit=500)
    newest_baseline = next(run for run in newest if run.config["step"] == "baseline")
    assert f"#{newest_baseline.id}" in baseline["run_ids"]
    if newest_baseline.id == tiny_baseline.id and baseline["seeds"] == 1:
        assert baseline["gap"] == seeds.spread([tiny_baseline.result["gap"]]).text()
    # Beside the run: what the original promised on CIFAR-10, and the dataset this run used.
    captions = " ".join(caption.value for caption in at.caption)
    assert "~73%" in captions and "Fashion-MNIST" in captions


def stored_ladder(owner, readings):
    """Finished runs in the store, as workers would leave them: {step: [(train, validation), ...]}."""
    store = Store()
    for step, pairs in readings.items():
        for seed, (train, val) in enumerate(pairs):
            config = dataclasses.replace(PRESETS["tiny"], step=step, seed=seed).to_dict()
            run_id = store.create_run("regularization", config, owner, f"{step} seed {seed}")
            finish_run(store, run_id, {"train_accuracy": train, "val_accuracy": val, "gap": train - val,
                                       "test_accuracy": val, "epochs_run": 6, "seconds": 5.0,
                                       "dataset": "fashion_mnist_small"})


def ladder_readings(at):
    table = at.dataframe[0].value
    return dict(zip(table["step"], table["reading"]))


def test_the_ladder_says_what_seeds_allow_whichever_way_the_runs_went():
    stored_ladder("ladder-both-ways", {
        "baseline": [(0.98, 0.78), (0.99, 0.77), (0.97, 0.79)],
        "noise": [(0.90, 0.84), (0.91, 0.83), (0.89, 0.85)],
        "dropout": [(0.98, 0.79), (0.96, 0.74), (0.99, 0.80)],
        "label_smoothing": [(0.99, 0.70)],
    })
    at = open_page(PAGE, owner="ladder-both-ways")
    assert not problems_on(at)
    readings = ladder_readings(at)
    assert readings["+ noise"] == "The gap is narrower than baseline's, beyond the seed noise."
    assert readings["dropout"].startswith("The gap is within the seed noise of baseline's")
    assert readings["label smoothing"] == "One seed on a side: run more seeds to tell this from baseline."
    assert readings["baseline"].startswith("Overfits")
    stored_ladder("ladder-other-way", {
        "baseline": [(0.80, 0.79), (0.81, 0.79), (0.80, 0.80)],
        "noise": [(0.99, 0.70), (0.98, 0.71), (0.99, 0.69)],
    })
    readings = ladder_readings(open_page(PAGE, owner="ladder-other-way"))
    assert readings["baseline"].startswith("Barely overfits")
    assert readings["+ noise"] == "The gap is wider than baseline's, beyond the seed noise."


def test_a_step_runs_over_the_seeds_asked_for_and_offers_the_rest_after_one():
    from labcore import jobs

    owner = "regularization-seeds"
    at = open_page(PAGE, owner=owner)
    at.radio(key="reg_preset").set_value("tiny").run()
    assert at.number_input(key="reg_tiny_baseline_seeds").value == 3
    at.button(key="reg_tiny_baseline_run").click().run()
    store = Store()
    queued = store.list_runs(owner=owner, kind="regularization")
    for run in queued:  # only the queueing is under test
        jobs.cancel(store, run.id, owner=owner)
    assert sorted(run.config["seed"] for run in queued) == [0, 1, 2]
    assert {run.config["step"] for run in queued} == {"baseline"}
    # At the quick preset a step starts with one seed, and then offers the two a spread needs.
    at = open_page(PAGE, owner=owner + "-quick")
    assert at.number_input(key="reg_quick_noise_seeds").value == 1
    at.button(key="reg_quick_noise_run").click().run()
    more = [button for button in at.button if button.label == "Run 2 more seed(s)"]
    assert len(more) == 1
    more[0].click().run()
    queued = store.list_runs(owner=owner + "-quick", kind="regularization")
    for run in queued:
        jobs.cancel(store, run.id, owner=owner + "-quick")
    assert sorted(run.config["seed"] for run in queued) == [0, 1, 2]


def test_the_whole_ladder_queues_every_step_seed_by_seed_with_one_progress_bar():
    from labcore import jobs

    owner = "regularization-whole-ladder"
    at = open_page(PAGE, owner=owner)
    at.radio(key="reg_preset").set_value("tiny").run()
    at.number_input(key="reg_tiny_ladder_seeds").set_value(2).run()
    ladder = [step for step in STEPS if STEPS[step].ladder]
    button = at.button(key="reg_tiny_ladder_run")
    assert button.label == f"Run the whole ladder: {len(ladder)} steps x 2 seed(s)"
    button.click().run()
    store = Store()
    queued = sorted(store.list_runs(owner=owner, kind="regularization", limit=100), key=lambda run: run.id)
    for run in queued:  # only the queueing is under test
        jobs.cancel(store, run.id, owner=owner)
    assert [(run.config["seed"], run.config["step"]) for run in queued] == [
        (seed, step) for seed in (0, 1) for step in ladder]
    # The page's widgets reach the runs: the tiny preset's own settings.
    assert {run.config["subset"] for run in queued} == {PRESETS["tiny"].subset}
    # Once nothing of the batch is active any more, its bar still shows how it ended.
    assert jobs.wait_until_settled(store, [run.id for run in queued], timeout_s=30)
    at.run()
    bars = [bar for bar in at.get("progress") if "The ladder of" in bar.text]
    assert not problems_on(at)  # every step's latest run is cancelled now
    assert len(bars) == 1 and f"of {len(queued)} runs finished" in bars[0].proto.text
