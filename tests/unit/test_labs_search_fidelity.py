"""Promotion to a higher fidelity: the best trials, weight inheritance, extrapolation and the ranking check."""

import dataclasses
import doctest
import types

import pytest

from labcore.errors import ConfigError
from labcore.labs.search import fidelity, mutate, recipe
from labcore.labs.search.config import PRESETS, PROMOTION_FACTOR, WEIGHTS_ARTIFACT, Config, Member
from labcore.reporting import StoreReporter
from labcore.store import Store

TINY = dataclasses.replace(PRESETS["tiny"], member=Member(n_groups=2, n_filters=8, stem_filters=8), study="s",
                           trial=0)


def run(run_id, config, status="done", **result):
    return types.SimpleNamespace(id=run_id, config=config.to_dict(), status=status, result=result)


def test_the_best_finished_trials_are_promoted_with_their_member_data_and_seed():
    rows = [{"trial": 0, "accuracy": 0.6}, {"trial": 1, "accuracy": None}, {"trial": 2, "accuracy": 0.8},
            {"trial": 3, "accuracy": 0.7}]
    assert fidelity.best_trials(rows, 2) == [2, 3] and fidelity.best_trials(rows, 9) == [2, 3, 0]
    up = fidelity.promoted(TINY, parent_run=7, inherit=True)
    assert (up.rung, up.epochs, up.parent_run, up.inherited_epochs) == (1, TINY.epochs * PROMOTION_FACTOR, 7,
                                                                         TINY.epochs)
    assert dataclasses.replace(up, rung=0, epochs=TINY.epochs, parent_run=None, inherit=False,
                               inherited_epochs=0) == TINY
    assert recipe.problems(up.to_dict()) == []
    # Inheriting, it trains only the epochs its parent did not.
    assert recipe.run_config(up).train.epochs == TINY.epochs * (PROMOTION_FACTOR - 1)
    assert recipe.run_config(fidelity.promoted(TINY, 7, inherit=False)).train.epochs == TINY.epochs * PROMOTION_FACTOR


@pytest.mark.parametrize("changes, words", [
    ({"rung": 2}, "rung must be 0 (the study's fidelity) or 1 (promoted); got 2."),
    ({"inherit": True}, "parent_run must be the id of the trial's parent run (promoted or mutated trials, "
                        "and inherit, need one); got None."),
    ({"rung": 1}, "parent_run must be the id of the trial's parent run (promoted or mutated trials, "
                  "and inherit, need one); got None."),
    ({"parent_run": 3}, "parent_run at rung 0 is for a mutated trial: name the dimension that moved (mutation)."),
    ({"parent_run": 3, "mutation": "depth"}, "mutation must be one of n_groups, n_filters, growth, n_blocks, "
                                             "stem_filters, block, learning_rate, l2, noise, batch_size (the "
                                             "dimension that moved), or ''; got 'depth'."),
    ({"rung": 1, "parent_run": 3, "mutation": "n_blocks", "epochs": 3},
     "mutation is for trials at the study's fidelity (rung 0); a promoted trial keeps its member."),
    ({"rung": 1, "parent_run": 3, "inherit": True, "epochs": 3, "inherited_epochs": 3},
     "inherited_epochs must be at least 1 and below epochs (3) when inheriting; got 3."),
])
def test_a_bad_promotion_is_named(changes, words):
    assert recipe.problems(dataclasses.replace(TINY, **changes).to_dict()) == [words]


def test_the_promotion_rows_and_words_come_from_the_runs():
    parents = [run(10 + t, dataclasses.replace(TINY, trial=t), best_val_accuracy=acc, seconds=5.0)
               for t, acc in enumerate((0.70, 0.60, 0.65))]
    promoted = [run(20 + t, fidelity.promoted(dataclasses.replace(TINY, trial=t), 10 + t, inherit=t != 1),
                    best_val_accuracy=acc, seconds=secs)
                for t, acc, secs in ((0, 0.78, 6.0), (1, 0.80, 15.0), (2, 0.74, 6.0))]
    curves = {10: [0.6, 0.7], 11: [0.5, 0.6], 12: [0.55, 0.65]}
    rows = fidelity.promotion_rows(parents + promoted + [run(30, TINY, status="running")], curves)
    assert [(row["trial"], row["cheap"], row["promoted"], row["inherit"]) for row in rows] == [
        (0, 0.70, 0.78, True), (1, 0.60, 0.80, False), (2, 0.65, 0.74, True)]
    assert rows[0]["predicted"] == pytest.approx(fidelity.extrapolate([0.6, 0.7], TINY.epochs * PROMOTION_FACTOR))
    said = fidelity.promotion_text(rows)
    assert "The best at low fidelity (trial 0) is not the best promoted: trial 1 is (80.0% against 78.0%)." in said
    assert "Ranked by the cheap accuracies, the promoted trials come in an order that agrees with their promoted " \
           "accuracy at Spearman's rho -0.50" in said
    assert "Inheriting weights took 6 s a trial against 15 s from scratch, reaching 76.0% against 80.0%" in said
    # a - b/t through each parent's two epochs, read at 3: 73.3, 63.3 and 68.3% against 78, 80 and 74.
    assert ("missed the promoted accuracy by 9.0 points on average, without training anything; taking the cheap "
            "accuracy as it is missed by 12.3, so the extrapolation helped.") in said
    assert fidelity.promotion_text([]).startswith("Promote some trials above")


def test_the_examples_in_the_docstrings_hold():
    assert doctest.testmod(fidelity).failed == 0


@pytest.mark.slow
def test_a_promoted_trial_inherits_its_parents_weights_and_trains_only_the_rest(tmp_path):
    from labcore.labs.search import runner

    store = Store(tmp_path / "labcore.db")

    def run_trial(config):
        run_id = store.create_run("search", config.to_dict(), owner="o")
        store.claim_run(run_id, "cpu")
        result = runner.run(config, StoreReporter(store, run_id))
        store.merge_result(run_id, result)
        store.set_status(run_id, "done")
        return run_id, result

    parent_id, parent = run_trial(TINY)
    assert store.artifact_path(parent_id, WEIGHTS_ARTIFACT).stat().st_size > 0
    child_id, child = run_trial(fidelity.promoted(Config.from_dict(store.get_run(parent_id).config), parent_id, True))
    assert child["epochs_run"] == TINY.epochs * (PROMOTION_FACTOR - 1) and child["rung"] == 1
    losses = {run_id: [row.values["loss"] for row in store.metrics(run_id) if row.series == "train"]
              for run_id in (parent_id, child_id)}
    # It starts where its parent ended, not from fresh weights: every layer inherited.
    assert losses[child_id][0] < losses[parent_id][0]
    assert child["inherited_layers"] == child["layers_with_weights"] > 0
    # A mutated child with one more block per group keeps every layer that still matches, and only those.
    grown = dataclasses.replace(TINY.member, n_blocks=2)
    _, mutated = run_trial(dataclasses.replace(
        mutate.mutated(Config.from_dict(store.get_run(parent_id).config), parent_id, grown, "n_blocks", True), trial=1))
    assert 0 < mutated["inherited_layers"] < mutated["layers_with_weights"]
    assert mutated["epochs_run"] == TINY.epochs and mutated["member"]["n_blocks"] == 2
    # A promoted trial stores no weights of its own; a parent without weights cannot be inherited from.
    with pytest.raises(KeyError):
        store.artifact_path(child_id, WEIGHTS_ARTIFACT)
    orphan = fidelity.promoted(TINY, child_id, inherit=True)
    with pytest.raises(ConfigError, match=f"parent_run #{child_id} stored no weights to inherit"):
        run_trial(orphan)
