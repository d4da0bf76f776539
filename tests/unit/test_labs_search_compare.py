"""Guided against blind: same budget, trials counted in order, the verdict paired by seed."""

import dataclasses
import doctest
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from labcore.labs.search import compare, recipe
from labcore.labs.search import study as studies
from labcore.labs.search.config import DIMENSIONS, PRESETS, Dimension, Space
from labcore.store import Store

ROOT = Path(__file__).resolve().parents[2]


def trial(arm, seed, number, accuracy, pending=False, name="cmp"):
    return {"study": compare.arm_study(name, arm, seed), "trial": number, "accuracy": accuracy, "pending": pending}


def test_the_blind_space_is_buildable_wide_and_leaves_nothing_fixed():
    assert recipe.space_problems(compare.BLIND.to_dict()) == []
    assert all(getattr(compare.BLIND, name).mode != "fixed" for name in DIMENSIONS)
    # It holds the default guided space's members and much more.
    low, high = recipe.param_range(compare.BLIND)
    guided_low, guided_high = recipe.param_range(Space())
    assert low <= guided_low and high > 5 * guided_high


def test_best_so_far_counts_every_trial_spent_in_order_and_stops_at_a_pending_one():
    trials = [
        trial("guided", 0, 1, 0.70), trial("guided", 0, 0, 0.60), trial("guided", 0, 2, None),  # failed
        trial("blind", 0, 0, None), trial("blind", 0, 1, 0.50), trial("blind", 0, 2, 0.40, pending=True),
        trial("guided", 0, 0, 0.99, name="other"),  # another comparison
        {"study": "cmp-guided-s0-extra", "trial": 0, "accuracy": 0.99, "pending": False},
    ]
    rows = compare.best_so_far(trials, "cmp")
    assert [(r["arm"], r["budget"], r["best"]) for r in rows] == [
        ("blind", 1, None), ("blind", 2, 0.50),
        ("guided", 1, 0.60), ("guided", 2, 0.70), ("guided", 3, 0.70),
    ]
    # A failed trial learned nothing: it counts as 0 in the mean trial.
    assert [r["mean"] for r in rows] == pytest.approx([0.0, 0.25, 0.60, 0.65, 1.30 / 3])


def test_the_verdict_compares_at_the_budget_every_seed_reached():
    trials = [trial("guided", seed, n, acc) for seed, accs in ((0, (0.80, 0.85, 0.86)), (1, (0.79, 0.83)))
              for n, acc in enumerate(accs)]
    trials += [trial("blind", seed, n, acc) for seed, accs in ((0, (0.40, 0.75)), (1, (0.30, 0.74, 0.90)))
               for n, acc in enumerate(accs)]
    rows = compare.best_so_far(trials, "cmp")
    budget, found = compare.final_best(rows)
    assert budget == 2 and found == {"guided": {0: 0.85, 1: 0.83}, "blind": {0: 0.75, 1: 0.74}}
    said = compare.verdict(rows)
    assert said.startswith("After 2 trials per arm, guided search found 84.0 ± 1.4% and blind search 74.5 ± 0.7%")
    # Seed by seed the gains are 10 and 9 points: even at one degree of freedom (t = 12.7) beyond noise.
    assert "guided is +9.5 ± 0.5 points: beyond noise (2 seeds, compared seed by seed). " in said
    # The mean trial: 82.5 and 81.0 against 57.5 and 52.0.
    assert said.endswith("A typical trial (the mean of a search's trials): guided 81.8 ± 1.1%, blind 54.8 ± 3.9%: "
                         "guided is +27.0 ± 2.0 points: beyond noise (2 seeds, compared seed by seed).")
    assert compare.verdict(compare.best_so_far(trials[:5], "cmp")).startswith("Run the guided-against-blind")


def test_the_examples_in_the_docstrings_hold():
    assert doctest.testmod(compare).failed == 0


def test_a_comparison_asks_each_arm_its_own_study_and_interleaves_the_runs(tmp_path):
    path, config = tmp_path / "cmp.journal", PRESETS["tiny"]
    space = dataclasses.replace(Space(), block=Dimension("fixed", ("plain",)))

    def ask(name, arm_space, seed):
        return studies.round_of(studies.open_study(path, name, "random", arm_space, seed=seed), arm_space, 3)

    planned = compare.comparison_trials(config, "cmp", space, 2, ask)
    assert len(planned) == 2 * 2 * 3
    assert [(c.study, c.trial) for c, _ in planned[:4]] == [
        ("cmp-guided-s0", 0), ("cmp-blind-s0", 0), ("cmp-guided-s1", 0), ("cmp-blind-s1", 0)]
    for trial_config, title in planned:
        assert trial_config.seed == int(trial_config.study[-1]) and title.endswith(f"trial {trial_config.trial}")
        # The same fidelity for both arms: only the member, study, trial and seed differ.
        assert dataclasses.replace(trial_config, member=config.member, study="", trial=-1, seed=0) == config
        assert recipe.problems(trial_config.to_dict()) == []
    guided = [c.member for c, _ in planned if "guided" in c.study]
    blind = [c.member for c, _ in planned if "blind" in c.study]
    assert {member.block for member in guided} == {"plain"}
    assert all(1e-4 <= member.learning_rate <= 1e-2 for member in guided)
    # Twelve random draws from the blind space leave the guided space somewhere.
    assert any(member.learning_rate < 1e-4 or member.learning_rate > 1e-2 or member.block != "plain"
               for member in blind)


def test_an_unknown_arm_is_refused():
    with pytest.raises(ValueError, match="arm must be one of"):
        compare.arm_study("cmp", "lucky", 0)


def cli(*args, home):
    return subprocess.run([sys.executable, "-m", "labcore", "search", *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=300, env={**os.environ, "LABCORE_HOME": str(home)})


@pytest.mark.slow
def test_the_cli_runs_both_searches_in_workers_and_prints_the_verdict(tmp_path):
    done = cli("--preset", "tiny", "--budget", "1", "--seeds", "1", "--name", "cli-test", home=tmp_path)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    runs = Store(tmp_path / "labcore.db").list_runs(kind="search")
    assert sorted(run.config["study"] for run in runs) == ["cli-test-blind-s0", "cli-test-guided-s0"]
    assert all(run.status == "done" and run.owner == "cli" for run in runs)
    said = compare.verdict(compare.best_so_far(compare.trials_of(runs), "cli-test"))
    assert done.stdout.strip().endswith(said)
    # The studies were told: they live on in the journal beside the store.
    study = studies.open_study(tmp_path / "search" / "cli.journal", "cli-test-guided-s0", "random", Space())
    assert [trial.state.name for trial in study.get_trials()] == ["COMPLETE"]


def test_the_cli_names_a_bad_space_or_strategy_before_running_anything(tmp_path):
    bad = tmp_path / "space.json"
    bad.write_text(json.dumps({**Space().to_dict(), "n_groups": {"mode": "range", "values": [3, 2]}}))
    refused = cli("--space", str(bad), home=tmp_path)
    assert refused.returncode == 2
    assert refused.stderr.startswith("error: space.n_groups.values must be a low bound no higher than the high one")
    grid = cli("--strategy", "grid", home=tmp_path)
    assert grid.returncode == 2 and "a grid cannot cover the blind space" in grid.stderr
    assert Store(tmp_path / "labcore.db").list_runs() == []


# ## Looking at a round: parallel coordinates and importance


def test_importance_ranks_the_dimension_accuracy_depended_on(tmp_path):
    space = dataclasses.replace(Space(), n_filters=Dimension("fixed", (8,)))
    study = studies.open_study(tmp_path / "i.journal", "i", "random", space, seed=3)
    assert studies.importances(study) == {}
    for number, choice in studies.round_of(study, space, 12):
        # Accuracy follows the learning rate only.
        studies.tell(study, number, accuracy=0.5 + 20 * choice["learning_rate"], params=1000)
    shares = studies.importances(study)
    assert list(shares)[0] == "learning_rate" and shares["learning_rate"] > 0.5
    assert "n_filters" not in shares and sum(shares.values()) == pytest.approx(1.0)


def test_the_parallel_chart_places_each_trial_between_its_dimensions_ends():
    from labcore.labs.search import views

    rows = [{"trial": 0, "accuracy": 0.7, "learning_rate": 1e-4, "block": "plain"},
            {"trial": 1, "accuracy": 0.8, "learning_rate": 1e-2, "block": "resnet_v2_basic"},
            {"trial": 2, "accuracy": 0.75, "learning_rate": 1e-3, "block": "plain"},
            {"trial": 3, "accuracy": None, "learning_rate": 1e-3, "block": "plain"}]
    spec = views.parallel_chart(rows, ["learning_rate", "block"]).to_dict()
    values = next(iter(spec["datasets"].values()))
    rate = {row["trial"]: row["position"] for row in values if row["dimension"] == "learning_rate"}
    assert rate == pytest.approx({0: 0.0, 1: 1.0, 2: 0.5})  # a log scale: 1e-3 halfway
    assert {row["value"] for row in values if row["dimension"] == "block"} == {"plain", "resnet_v2_basic"}
    assert views.parallel_chart(rows[:1], ["learning_rate"]) is None
    assert views.importance_chart({}) is None
