"""The Ensemble page draws a stored run: members, vote strip, agreement matrix, variants.

The run is real: the tiny preset with bagging, trained once this test
session (`tests.support.tiny_lab_run`, shared with the unit tests) and
stored in this pytest process's store (LABCORE_HOME, set by
tests/conftest.py) as a finished run of `LAB_OWNER`, so the page is opened
as that owner.
"""

import dataclasses
import json

import pytest

from apptest import open_page, problems_on
from labcore.labs.ensemble.config import PRESETS
from tests.support import LAB_OWNER, tiny_lab_run

PAGE = "app_pages/lab_ensemble.py"


@pytest.fixture(scope="module")
def tiny_run():
    """The tiny preset with bagging, trained once this session (`tests.support.tiny_lab_run`): its result."""
    _, _, returned = tiny_lab_run("ensemble", dataclasses.replace(PRESETS["tiny"], bagging=True))
    return returned


def _strip_captions(at):
    return [c.value for c in at.caption if c.value.startswith("test image")]


def _chart_titles(at):
    specs = [json.loads(chart.proto.spec) for chart in at.get("vega_lite_chart")]
    return json.dumps(specs)


def test_page_shows_the_stored_members_votes_and_agreement(tiny_run):
    at = open_page(PAGE, owner=LAB_OWNER)
    assert not problems_on(at)
    metrics = {m.label: m.value for m in at.metric}
    for member in tiny_run["members"]:
        assert metrics[f"member {member['member']}"] == f"{member['test_accuracy']:.2%}"
    soft = tiny_run["votes"]["rules"]["soft"]
    assert metrics["ensemble of 2 members"] == f"{soft['accuracy']:.2%}"
    assert metrics["vs the best member"] == f"{100 * soft['gain_over_best']:+.2f} points"
    assert len(_strip_captions(at)) == 8
    assert len(at.get("image")) == 8  # a thumbnail per image of the strip
    charts = _chart_titles(at)
    assert "agree on all test images" in charts and "accuracy as the ensemble grows" in charts
    assert any("Original lab (CIFAR-10)" in c.value for c in at.caption)
    assert any("What this run found" in m.value for m in at.markdown)


def test_filter_keeps_only_images_the_ensemble_got_wrong(tiny_run):
    at = open_page(PAGE, owner=LAB_OWNER)
    at.radio(key="ensemble_filter").set_value("wrong").run()
    assert not problems_on(at)
    captions = _strip_captions(at)
    assert captions and all("ensemble wrong" in c for c in captions)


def test_heads_variant_and_hard_rule_redraw_from_the_stored_predictions(tiny_run):
    at = open_page(PAGE, owner=LAB_OWNER)
    at.radio(key="ensemble_variant").set_value("heads").run()
    at.radio(key="ensemble_rule").set_value("hard").run()
    assert not problems_on(at)
    hard = tiny_run["heads"]["votes"]["rules"]["hard"]
    assert {m.label: m.value for m in at.metric}["ensemble of 2 heads"] == f"{hard['accuracy']:.2%}"
    assert len(_strip_captions(at)) == 8


def test_the_gain_is_judged_against_the_test_sets_noise_and_answers_the_labs_questions(tiny_run):
    from labcore.labs.ensemble import views

    at = open_page(PAGE, owner=LAB_OWNER)
    markdown = [m.value for m in at.markdown]
    soft = tiny_run["votes"]["rules"]["soft"]
    assert views.gain_verdict(soft) in markdown
    answers = [m for m in markdown if m.startswith("**Your runs:**")]
    assert len(answers) == 3
    assert f"{100 * soft['gain_over_best']:+.2f} points over the best member" in answers[0]
    assert "of their parameters" in answers[1] and "of their parameters" in answers[2]
