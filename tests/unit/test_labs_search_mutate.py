"""Mutation: one searched dimension moves to a neighbouring value, and the child is a trial of the study."""

import dataclasses
import doctest
import types

import pytest

from labcore.labs.search import mutate, recipe
from labcore.labs.search import study as studies
from labcore.labs.search.config import DIMENSIONS, PRESETS, Dimension, Member, Space

PARENT = Member(n_groups=2, n_filters=16, n_blocks=1, block="plain", learning_rate=1e-3)


def moved(parent, child):
    return [name for name in DIMENSIONS if getattr(parent, name) != getattr(child, name)]


@pytest.mark.parametrize("seed", range(12))
def test_a_child_differs_from_its_parent_in_one_searched_dimension_and_stays_in_the_space(seed):
    space = Space()
    child, name = mutate.neighbour(space, PARENT, seed)
    assert moved(PARENT, child) == [name]
    assert getattr(space, name).mode != "fixed" and mutate.fits(space, child)


def test_neighbours_are_next_to_the_parent_along_each_kind_of_dimension():
    space = Space(n_filters=Dimension("list", (8, 16, 32, 64)), n_groups=Dimension("range", (1, 4)),
                  learning_rate=Dimension("range", (1e-4, 1e-2), log=True), block=Dimension("fixed", ("plain",)),
                  n_blocks=Dimension("fixed", (1,)))
    seen = {}
    for seed in range(60):
        child, name = mutate.neighbour(space, PARENT, seed)
        seen.setdefault(name, set()).add(getattr(child, name))
    assert seen["n_filters"] == {8, 32}          # the list's neighbours of 16, never 64
    assert seen["n_groups"] == {1, 3}            # one fewer or one more
    # A quarter of the log range (two decades): x or / 10**0.5, rounded to two digits.
    assert seen["learning_rate"] == {0.00032, 0.0032}


def test_a_member_at_the_end_of_a_range_moves_inwards_and_a_pinned_space_has_no_neighbour():
    space = Space(n_groups=Dimension("range", (2, 3)), n_filters=Dimension("fixed", (16,)),
                  n_blocks=Dimension("fixed", (1,)), block=Dimension("fixed", ("plain",)),
                  learning_rate=Dimension("fixed", (1e-3,)))
    child, name = mutate.neighbour(space, PARENT, seed=0)
    assert (name, child.n_groups) == ("n_groups", 3)
    pinned = dataclasses.replace(space, n_groups=Dimension("fixed", (2,)))
    assert mutate.neighbour(pinned, PARENT, seed=0) is None


def test_a_trial_of_a_wider_earlier_round_does_not_fit_a_narrowed_space():
    narrowed = dataclasses.replace(Space(), block=Dimension("fixed", ("resnet_v2_basic",)))
    assert mutate.fits(Space(), PARENT) and not mutate.fits(narrowed, PARENT)


def test_a_mutated_child_is_a_valid_trial_at_the_parents_fidelity():
    parent = dataclasses.replace(PRESETS["tiny"], member=PARENT, study="s", trial=3)
    child = mutate.mutated(parent, 7, dataclasses.replace(PARENT, n_blocks=2), "n_blocks", inherit=True)
    assert (child.rung, child.parent_run, child.mutation, child.epochs, child.seed) == (0, 7, "n_blocks",
                                                                                        parent.epochs, parent.seed)
    assert recipe.problems(child.to_dict()) == []
    # It trains all its epochs: inheriting layers is not inheriting training time.
    assert recipe.run_config(child).train.epochs == parent.epochs


def test_the_study_records_the_asked_children_as_its_next_round(tmp_path):
    space = Space()
    study = studies.open_study(tmp_path / "s.journal", "s", "tpe", space, seed=0)
    first = studies.round_of(study, space, 2)
    for number, choice in first:
        studies.tell(study, number, accuracy=0.5, params=1000)
    child, name = mutate.neighbour(space, Member(**first[0][1]), seed=1)
    asked = studies.ask_for(study, space, [(child.to_dict(), {"mutation_of": first[0][0], "mutation": name})])
    assert asked == [(2, child.to_dict())]
    row = studies.trial_rows(study)[-1]
    assert (row["round"], row["mutation_of"], row["mutation"], row["state"]) == (2, 0, name, "running")


def fake(run_id, trial, member, status="done", accuracy=None, **config):
    return types.SimpleNamespace(id=run_id, status=status, config={"trial": trial, "member": member.to_dict(), **config},
                                 result={"best_val_accuracy": accuracy, "inherited_layers": 10,
                                         "layers_with_weights": 14})


def test_the_mutation_rows_and_words_compare_each_child_with_its_parent():
    runs = [fake(1, 0, PARENT, accuracy=0.70), fake(2, 1, PARENT, accuracy=0.60),
            fake(3, 2, dataclasses.replace(PARENT, n_blocks=2), accuracy=0.74, parent_run=1, mutation="n_blocks",
                 inherit=True),
            fake(4, 3, dataclasses.replace(PARENT, n_filters=32), accuracy=0.58, parent_run=2, mutation="n_filters",
                 inherit=True),
            fake(5, 4, dataclasses.replace(PARENT, n_groups=3), status="running", parent_run=1, mutation="n_groups")]
    rows = mutate.mutation_rows(runs)
    assert [(row["trial"], row["parent"], row["moved"]) for row in rows] == [
        (2, 0, "n_blocks: 1 -> 2"), (3, 1, "n_filters: 16 -> 32"), (4, 0, "n_groups: 2 -> 3")]
    assert rows[0]["change"] == pytest.approx(0.04) and rows[2]["change"] is None
    assert rows[0]["inherited"] == "10/14 layers"
    assert mutate.mutation_text(rows).startswith(
        "Trained from the parent's weights, 1 of 2 mutated trial(s) beat their parent (mean change +1.0 points).")
    assert mutate.mutation_text([]) == "" and mutate.mutation_text(rows[2:]) == "No mutated trial has finished yet."


def test_the_examples_in_the_docstrings_hold():
    assert doctest.testmod(mutate).failed == 0
