"""The Regularization page: every idea before any run, and a run trained for real by the CLI."""

import json
import os
import pathlib
import re
import subprocess
import sys

import pytest
from apptest import open_page, problems_on

from labcore.labs.regularization.config import STEPS
from labcore.store import Store

PAGE = "app_pages/lab_regularization.py"
ROOT = pathlib.Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def tiny_baseline():
    """The tiny baseline, run through the CLI and its worker exactly as an instructor would."""
    finished = subprocess.run(
        [sys.executable, "-m", "labcore", "run", "regularization", "--step", "baseline", "--preset", "tiny"],
        cwd=ROOT, env=dict(os.environ), capture_output=True, text=True,
        # A tiny run takes seconds; on a busy CPU the worker's TensorFlow import alone can take 10.
        timeout=300,
    )
    assert finished.returncode == 0, finished.stdout[-2000:] + finished.stderr[-2000:]
    run_id = int(re.search(r"run #(\d+) queued", finished.stdout).group(1))
    run = Store().get_run(run_id)  # under the LABCORE_HOME conftest.py set for this pytest process
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
    baseline = table[table["label"] == "baseline"].iloc[0]
    newest = Store().list_runs(statuses=("done",), owner="cli", kind="regularization", limit=500)
    newest_baseline = next(run for run in newest if run.config["step"] == "baseline")
    assert baseline["run_id"] == newest_baseline.id
    if newest_baseline.id == tiny_baseline.id:
        assert baseline["gap"] == pytest.approx(tiny_baseline.result["gap"])
    # Beside the run: what the original promised on CIFAR-10, and the dataset this run used.
    captions = " ".join(caption.value for caption in at.caption)
    assert "~73%" in captions and "Fashion-MNIST" in captions
