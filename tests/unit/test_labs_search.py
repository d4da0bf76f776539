"""The Guided search lab's space: every bad space names its dimension; size and parameters are right."""

import dataclasses
import doctest
import json
import sys
import subprocess
from pathlib import Path

import pytest

from labcore import spec as spec_lib
from labcore.labs.search import recipe
from labcore.labs.search.config import DIMENSIONS, Dimension, Space

ROOT = Path(__file__).resolve().parents[2]


def space_with(**dimensions):
    return dataclasses.replace(Space(), **{name: Dimension(*value) for name, value in dimensions.items()})


def test_the_default_space_runs_and_round_trips_through_json():
    assert recipe.space_problems(Space().to_dict()) == []
    assert Space.from_dict(json.loads(json.dumps(Space().to_dict()))) == Space()


@pytest.mark.parametrize("name, dimension, words", [
    ("n_groups", {"mode": "range", "values": [3, 2]}, "space.n_groups.values must be a low bound no higher"),
    ("n_blocks", {"mode": "fixed", "values": [1, 2]}, "space.n_blocks.values must be exactly one value"),
    ("block", {"mode": "range", "values": ["plain", "resnet_v2_basic"]}, "space.block.mode must be 'fixed' or"),
    ("block", {"mode": "list", "values": ["plain", "inception"]}, "space.block must be one of"),
    ("n_filters", {"mode": "list", "values": []}, "space.n_filters.values must be one or more values"),
    ("learning_rate", {"mode": "range", "values": [0.0, 0.1], "log": True}, "space.learning_rate must be a float"),
    ("l2", {"mode": "fixed", "values": [0.0], "log": True}, "space.l2.log must be False unless"),
    ("batch_size", {"mode": "sometimes", "values": [64]}, "space.batch_size.mode must be one of"),
])
def test_each_bad_dimension_gets_a_message_that_names_it(name, dimension, words):
    found = recipe.space_problems({**Space().to_dict(), name: dimension})
    assert len(found) == 1 and found[0].startswith(words), found


def test_unbuildable_members_blame_the_dimensions_that_make_them():
    too_wide = space_with(n_filters=("range", (64, 256)), growth=("fixed", (4.0,)))
    (message,) = recipe.space_problems(too_wide.to_dict())
    assert message.startswith("n_groups, n_filters, growth, n_blocks, stem_filters: the largest member "
                              "(n_groups 3, n_filters 256, growth 4")
    assert message.endswith("learner.groups[2].n_filters must be an int in [1, 1024]; got 4096.")
    over_budget = space_with(n_filters=("fixed", (256,)), n_blocks=("fixed", (8,)))
    (message,) = recipe.space_problems(over_budget.to_dict(), max_params=1_000_000)
    assert message.startswith("n_groups, n_filters, growth, n_blocks, stem_filters: even the smallest member "
                              "(n_groups 2, n_filters 256")
    assert message.endswith("parameter count must be at most 1,000,000 (the budget); got 21890266.")
    assert recipe.space_problems({"n_groups": "two"}) == ["space.n_groups must be a dict; got 'two'."]


def test_size_counts_members_and_a_float_range_is_continuous():
    discrete = space_with(learning_rate=("list", (1e-3, 3e-3)))
    # groups 2-3 (2) x filters 8/16/32 (3) x blocks 1-2 (2) x 2 blocks x 2 rates
    assert recipe.size(discrete) == 2 * 3 * 2 * 2 * 2
    assert recipe.size(Space()) is None


def test_param_range_is_bounded_by_the_corners_and_matches_the_spec_count():
    space = space_with(learning_rate=("fixed", (1e-3,)))
    low, high = recipe.param_range(space)
    counts = []
    for n_groups in (2, 3):
        for n_filters in (8, 16, 32):
            for n_blocks in (1, 2):
                for block in ("plain", "resnet_v2_basic"):
                    choice = {"n_groups": n_groups, "n_filters": n_filters, "growth": 2.0, "n_blocks": n_blocks,
                              "stem_filters": 16, "block": block, "l2": 0.0, "noise": 0.0}
                    counts.append(spec_lib.count_params(recipe.member_spec(choice)))
    assert (low, high) == (min(counts), max(counts))


def test_a_member_is_the_composable_model_the_choice_describes():
    choice = {"n_groups": 3, "n_filters": 8, "growth": 1.5, "n_blocks": 2, "stem_filters": 12,
              "block": "resnet_v1_basic", "l2": 1e-4, "noise": 0.1}
    member = recipe.member_spec(choice, input_shape=(32, 32, 3), n_classes=5)
    assert [(group.n_filters, group.n_blocks) for group in member.learner.groups] == [(8, 2), (12, 2), (18, 2)]
    assert (member.stem.n_filters, member.learner.block, member.task.noise, member.hyper.l2) == (
        12, "resnet_v1_basic", 0.1, 1e-4)
    assert member.task.n_classes == 5 and spec_lib.problems(member) == []


def test_every_dimension_has_a_widget_worth_of_words_and_the_space_imports_no_keras():
    assert set(DIMENSIONS) == {field.name for field in dataclasses.fields(Space)}
    assert all(info.title and info.help and info.part in ("macro", "micro", "training") for info in DIMENSIONS.values())
    code = "import sys, labcore.labs.search.recipe; print('keras' in sys.modules or 'tensorflow' in sys.modules)"
    completed = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert completed.stdout.strip() == "False", completed.stderr[-500:]


def test_the_examples_in_the_docstrings_hold():
    assert doctest.testmod(recipe).failed == 0


# ## The study: Optuna asks, the runs' results are told back


def test_a_round_draws_members_inside_the_space_and_records_fixed_choices(tmp_path):
    from labcore.labs.search import study as studies

    space = Space()
    study = studies.open_study(tmp_path / "s.journal", "s", "random", space, seed=1)
    asked = studies.round_of(study, space, 12)
    assert [number for number, _ in asked] == list(range(12))
    for _, choice in asked:
        assert 2 <= choice["n_groups"] <= 3 and choice["n_filters"] in (8, 16, 32)
        assert choice["block"] in ("plain", "resnet_v2_basic") and 1e-4 <= choice["learning_rate"] <= 1e-2
        assert (choice["growth"], choice["batch_size"]) == (2.0, 64)
        assert recipe.member_spec(choice) is not None
    assert study.trials[0].user_attrs["batch_size"] == 64 and "batch_size" not in study.trials[0].params


def test_a_study_survives_being_closed_and_carries_on_numbering(tmp_path):
    from labcore.labs.search import study as studies

    space, path = Space(), tmp_path / "search" / "study.journal"
    first = studies.open_study(path, "mine", "tpe", space)
    asked = studies.round_of(first, space, 3)
    studies.tell(first, asked[0][0], accuracy=0.80, params=20_000)
    studies.tell(first, asked[1][0], failed=True)
    again = studies.open_study(path, "mine", "tpe", space)  # a server restart
    states = [trial.state.name for trial in again.trials]
    assert states == ["COMPLETE", "FAIL", "RUNNING"]
    assert [number for number, _ in studies.round_of(again, space, 2)] == [3, 4]


def test_a_grid_covers_a_countable_space_once_and_refuses_a_float_range(tmp_path):
    from labcore.errors import ConfigError
    from labcore.labs.search import study as studies

    with pytest.raises(ConfigError, match=r"space.learning_rate: a grid needs a list or an int range"):
        studies.open_study(tmp_path / "g.journal", "g", "grid", Space())
    space = space_with(learning_rate=("fixed", (1e-3,)))
    study = studies.open_study(tmp_path / "g.journal", "g2", "grid", space)
    members = [tuple(sorted(choice.items())) for _, choice in studies.round_of(study, space, recipe.size(space))]
    assert len(set(members)) == recipe.size(space) == 24


def test_the_pareto_front_keeps_the_trials_nothing_beats_on_accuracy_and_size(tmp_path):
    from labcore.labs.search import study as studies

    space = Space()
    study = studies.open_study(tmp_path / "p.journal", "p", "random", space)
    told = {0: (0.80, 10_000), 1: (0.85, 50_000), 2: (0.79, 60_000), 3: (0.86, 40_000)}
    for number, _ in studies.round_of(study, space, len(told)):
        studies.tell(study, number, *told[number])
    front = sorted((row["number"], row["accuracy"], row["params"]) for row in studies.pareto_front(study))
    assert front == [(0, 0.80, 10_000), (3, 0.86, 40_000)]


# ## A trial: one member at the study's fidelity, an ordinary run


def test_a_trial_is_checked_as_the_run_it_makes():
    from labcore.labs.search.config import Config, Member

    tiny = Config(member=Member(n_groups=2, n_filters=8), subset=300, test_subset=100, epochs=1)
    assert recipe.problems(tiny.to_dict()) == []
    assert recipe.problems({**tiny.to_dict(), "member": {**tiny.member.to_dict(), "block": "inception"}})[0] \
        .startswith("member.block must be one of")
    (message,) = recipe.problems(dataclasses.replace(tiny, member=Member(batch_size=512)).to_dict())
    assert "batch_size" in message and "240" in message  # 300 images, 20% held out
    run = recipe.run_config(tiny)
    assert (run.train.epochs, run.train.subset, run.spec.learner.groups[1].n_filters) == (1, 300, 16)


@pytest.mark.slow
def test_a_trial_trains_like_the_builders_run_of_the_same_spec(tmp_path):
    from labcore import kinds
    from labcore.labs.search.config import Config, Member
    from labcore.reporting import ConsoleReporter

    tiny = Config(member=Member(n_groups=2, n_filters=8, stem_filters=8), subset=300, test_subset=100, epochs=1,
                  study="s", trial=4)
    trial = kinds.load_runner("search")(kinds.parse("search", tiny.to_dict()), ConsoleReporter(artifact_dir=tmp_path))
    same = kinds.load_runner("train")(kinds.parse("train", recipe.run_config(tiny).to_dict()),
                                      ConsoleReporter(artifact_dir=tmp_path))
    assert (trial["study"], trial["trial"], trial["member"]["n_filters"]) == ("s", 4, 8)
    for key in ("test_accuracy", "best_val_accuracy", "params", "n_train"):
        assert trial[key] == pytest.approx(same[key]), key
