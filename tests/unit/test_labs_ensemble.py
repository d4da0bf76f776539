"""The Ensemble lab: config and validation (`config`, `recipe`), voting
rules, agreement and the vote strip (`recipe`), the closing note (`views`),
the intra-model builders and their weight transfer, and the tiny recipe end
to end (`runner`)."""

import dataclasses
import json

import numpy as np
import pytest

from labcore import kinds, schedules
from labcore import spec as spec_lib
from labcore.errors import ConfigError
from labcore.labs.ensemble import config as lab_config
from labcore.labs.ensemble import recipe, views
from labcore.reporting import Cancelled
from tests.support import RecordingReporter, tiny_lab_run

TINY = lab_config.PRESETS["tiny"]


def probabilities(*members):
    """Hand-made softmax outputs: one list of rows per member -> (members, images, classes)."""
    return np.array(members, dtype=np.float32)


# ## Config


@pytest.mark.parametrize("name", sorted(lab_config.PRESETS))
def test_config_round_trips_through_json(name):
    config = lab_config.PRESETS[name]
    assert lab_config.Config.from_dict(json.loads(json.dumps(config.to_dict()))) == config


def test_unknown_config_key_is_named_with_the_allowed_ones():
    with pytest.raises(ConfigError, match=r"unknown key 'members'; allowed keys: dataset, seed, .*n_members"):
        lab_config.Config.from_dict({"members": 3})


@pytest.mark.parametrize("name", ["tiny", "quick"])
def test_presets_are_valid_on_the_embedded_dataset(name):
    assert recipe.problems(lab_config.PRESETS[name].to_dict()) == []


def test_full_preset_is_the_originals_training():
    full = lab_config.PRESETS["full"]
    assert (full.model, full.epochs, full.batch_size, full.learning_rate) == ("ensemble_base", 30, 32, 1e-3)
    train = recipe.member_train_config(full)
    rates = [schedules.lr_at(epoch, train.learning_rate, train.schedule, 30) for epoch in range(30)]
    assert rates == pytest.approx([1e-3] * 20 + [1e-4] * 10)
    assert full.subset is None


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"n_members": 1}, "n_members must be an int in [2, 8]; got 1."),
        ({"n_heads": 1}, "n_heads must be one of 0, 2, 3, 4, 5, 6, 7, 8; got 1."),
        ({"learning_rate": 0.0}, "learning_rate must be a float in (0, 10]; got 0.0."),
        ({"bagging": "yes"}, "bagging must be True or False; got 'yes'."),
        ({"dataset": "imagenet"}, "dataset must be one of 'fashion_mnist_small'"),
        ({"n_heads": 0, "stacking": True}, "stacking must be False when n_heads is 0"),
        ({"batch_size": 4000}, "batch_size must be an int in [1, 540] (the training images); got 4000."),
    ],
)
def test_problems_name_the_field_and_the_allowed_values(change, message):
    found = recipe.problems({**TINY.to_dict(), **change})
    assert any(message in problem for problem in found), found


def test_the_worker_refuses_a_bad_config_with_every_problem_and_parses_a_good_one():
    # The runner trusts its Config: the kind's one validation path is the worker's.
    with pytest.raises(ConfigError) as refused:
        kinds.parse("ensemble", {**TINY.to_dict(), "n_members": 9, "learning_rate": 0.0})
    assert str(refused.value).splitlines() == [
        "n_members must be an int in [2, 8]; got 9.",
        "learning_rate must be a float in (0, 10]; got 0.0.",
    ]
    assert kinds.parse("ensemble", TINY.to_dict()) == TINY

def test_subset_is_capped_by_the_dataset():
    small = dataclasses.replace(lab_config.PRESETS["quick"], dataset="fashion_mnist_small")
    assert recipe.n_train_images(small) == (6000, 5400)
    assert recipe.n_train_images(dataclasses.replace(small, subset=600)) == (600, 540)


def test_member_spec_follows_the_dataset_and_the_model_choice():
    small = recipe.member_spec(TINY)
    assert small.input_shape == (28, 28, 1) and small.stem.n_filters == TINY.width
    base = recipe.member_spec(dataclasses.replace(TINY, model="ensemble_base"))
    assert base.input_shape == (32, 32, 3) and base.learner.block == "resnet_v2_bottleneck"


def test_members_train_with_consecutive_seeds():
    seeds = [recipe.member_train_config(TINY, member).seed for member in (1, 2, 3)]
    assert seeds == [TINY.seed, TINY.seed + 1, TINY.seed + 2]


# ## Voting rules


def test_soft_vote_averages_the_softmax_outputs():
    p = probabilities([[0.6, 0.4], [0.2, 0.8]], [[0.2, 0.8], [0.4, 0.6]])
    np.testing.assert_allclose(recipe.soft_vote(p), [[0.4, 0.6], [0.3, 0.7]], atol=1e-6)
    np.testing.assert_array_equal(recipe.vote(p, "soft"), [1, 1])


def test_weighted_vote_follows_the_heavier_member():
    p = probabilities([[0.8, 0.2]], [[0.3, 0.7]], [[0.3, 0.7]])
    assert recipe.vote(p, "soft").tolist() == [1]
    assert recipe.vote(p, "weighted", weights=[0.8, 0.1, 0.1]).tolist() == [0]


def test_weights_are_proportional_to_validation_accuracy():
    np.testing.assert_allclose(recipe.weights_from([0.8, 0.2]), [0.8, 0.2])
    np.testing.assert_allclose(recipe.weights_from([0.0, 0.0]), [0.5, 0.5])


def test_hard_vote_takes_the_majority_even_against_confidence():
    # Two hesitant votes for class 1 outvote one confident vote for class 0;
    # soft voting sides with the confident member.
    p = probabilities([[0.99, 0.01]], [[0.45, 0.55]], [[0.45, 0.55]])
    assert recipe.hard_vote(p).tolist() == [1]
    assert recipe.vote(p, "soft").tolist() == [0]


def test_hard_vote_tie_goes_to_the_larger_summed_probability():
    p = probabilities([[0.5, 0.0, 0.5, 0.0]], [[0.0, 0.0, 0.1, 0.9]],
                      [[0.7, 0.3, 0.0, 0.0]], [[0.1, 0.0, 0.0, 0.9]])
    # Votes: class 0 twice, class 3 twice; summed 1.3 for class 0, 1.8 for class 3.
    assert recipe.hard_vote(p).tolist() == [3]


def test_hard_vote_exact_tie_goes_to_the_lowest_class():
    p = probabilities([[0.0, 0.0, 1.0]], [[0.0, 1.0, 0.0]])
    assert recipe.hard_vote(p).tolist() == [1]


def test_an_unknown_rule_is_refused_by_name():
    with pytest.raises(ValueError, match="rule must be one of 'soft', 'hard', 'weighted'; got 'mean'."):
        recipe.vote(probabilities([[1.0, 0.0]]), "mean")


def test_accuracy_by_n_starts_at_the_first_member_and_ends_at_the_whole_ensemble():
    rng = np.random.default_rng(0)
    p = rng.dirichlet(np.ones(4), size=(5, 50)).astype(np.float32)
    labels = rng.integers(0, 4, 50)
    for rule in lab_config.RULES:
        curve = recipe.accuracy_by_n(p, labels, rule)
        assert len(curve) == 5
        assert curve[0] == recipe.accuracy(p[0].argmax(axis=1), labels)
        assert curve[-1] == recipe.accuracy(recipe.vote(p, rule), labels)


def test_summary_reports_gains_with_their_sign():
    labels = np.array([0, 1, 2])
    # Each member is wrong on a different image: the majority is always right.
    fixes = probabilities(
        [[0.1, 0.9, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]],
        [[1.0, 0.0, 0.0], [0.0, 0.1, 0.9], [0.0, 0.0, 1.0]],
        [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.9, 0.1, 0.0]],
    )
    better = recipe.summarize_votes(fixes, labels, [0.5, 0.5, 0.5])
    assert better["members"] == pytest.approx([2 / 3] * 3)
    assert better["spread"] == 0
    assert better["rules"]["hard"]["gain_over_best"] == pytest.approx(1 / 3)
    # One strong member and two confident, wrong ones: averaging hurts.
    hurts = probabilities(
        [[0.6, 0.4, 0.0], [0.0, 0.6, 0.4], [0.4, 0.0, 0.6]],
        [[0.0, 1.0, 0.0], [0.0, 0.0, 1.0], [1.0, 0.0, 0.0]],
        [[0.0, 1.0, 0.0], [0.0, 0.0, 1.0], [1.0, 0.0, 0.0]],
    )
    worse = recipe.summarize_votes(hurts, labels, [1.0, 0.0, 0.0])
    assert worse["best_member"] == 1.0
    assert worse["rules"]["soft"]["gain_over_best"] == -1.0
    # Weighted by validation accuracy, the strong member alone decides.
    assert worse["rules"]["weighted"]["accuracy"] == 1.0


# ## Agreement and the vote strip


def test_agreement_counts_shared_predictions_and_shared_errors():
    labels = np.array([0, 0, 0, 0])
    one_hot = np.eye(3, dtype=np.float32)
    p = np.stack([one_hot[[0, 1, 1, 2]], one_hot[[0, 1, 2, 2]], one_hot[[0, 0, 0, 0]]])
    matrices = recipe.agreement(p, labels)
    np.testing.assert_allclose(matrices["agree"], [[1, 0.75, 0.25], [0.75, 1, 0.25], [0.25, 0.25, 1]])
    # Members 1 and 2 are both wrong on images 1-3 and give the same class on 2 of them.
    assert matrices["same_error"][0, 1] == pytest.approx(2 / 3)
    assert matrices["both_wrong"][0, 1] == 0.75
    # Member 3 is never wrong, so it never shares an error.
    assert np.isnan(matrices["same_error"][0, 2])
    assert matrices["mean_agree"] == pytest.approx((0.75 + 0.25 + 0.25) / 3)
    assert matrices["mean_same_error"] == pytest.approx(2 / 3)


def test_vote_flags_and_strip_pick_the_images_each_filter_names():
    labels = np.array([0, 1, 2, 0])
    one_hot = np.eye(3, dtype=np.float32)
    # image 0: all right; 1: one member wrong, fixed; 2: two members wrong, ensemble wrong;
    # 3: all wrong the same way (agreeing, wrong).
    p = np.stack([one_hot[[0, 1, 2, 1]], one_hot[[0, 0, 0, 1]], one_hot[[0, 1, 0, 1]]])
    flags = recipe.vote_flags(p, labels, "hard")
    assert np.flatnonzero(flags["disagree"]).tolist() == [1, 2]
    assert np.flatnonzero(flags["fixed"]).tolist() == [1]
    assert np.flatnonzero(flags["wrong"]).tolist() == [2, 3]

    strip = recipe.vote_strip(p, labels, "hard", show="wrong")
    assert [image["index"] for image in strip] == [2, 3]
    image = strip[0]
    assert [v["voter"] for v in image["votes"]] == ["member 1", "member 2", "member 3", "ensemble"]
    assert [v["class"] for v in image["votes"]] == [2, 0, 0, 0]
    assert image["votes"][-1]["confidence"] == pytest.approx(2 / 3)  # a hard vote's share
    assert image["wrong"] and image["disagree"] and not image["fixed"]
    assert [i["index"] for i in recipe.vote_strip(p, labels, show="all", start=1, limit=2)] == [1, 2]


def test_strip_confidence_of_a_soft_vote_is_the_mean_probability():
    p = probabilities([[0.6, 0.4]], [[0.2, 0.8]])
    [image] = recipe.vote_strip(p, np.array([1]), "soft")
    assert image["votes"][-1] == {"voter": "ensemble", "class": 1, "confidence": pytest.approx(0.6),
                                  "correct": True}


def test_bootstrap_resample_is_seeded_and_draws_with_replacement():
    drawn = recipe.bootstrap_indices(1000, seed=3)
    assert len(drawn) == 1000 and drawn.min() >= 0 and drawn.max() < 1000
    assert 550 < len(np.unique(drawn)) < 710  # about 63% of the images
    np.testing.assert_array_equal(drawn, recipe.bootstrap_indices(1000, seed=3))
    assert not np.array_equal(drawn, recipe.bootstrap_indices(1000, seed=4))


def test_closing_note_lists_every_variant_and_states_a_loss_as_a_loss():
    member = {"test_accuracy": 0.9, "val_accuracy": 0.9, "params": 100, "train_seconds": 10.0,
              "inference_ms_per_image": 0.1}
    votes = {"members": [0.9, 0.9], "spread": 0.0, "rules": {
        rule: {"accuracy": 0.88, "gain_over_best": -0.02, "gain_over_mean": -0.02} for rule in lab_config.RULES}}
    result = {"dataset_title": "Fashion-MNIST", "n_train": 900, "n_test": 100,
              "members": [member, member], "votes": votes,
              "heads": {"n_heads": 3, "params": 120, "train_seconds": 12.0, "inference_ms_per_image": 0.1,
                        "votes": votes},
              "stacking": {"params": 150, "train_seconds": 2.0, "inference_ms_per_image": 0.1,
                           "test_accuracy": 0.89}}
    rows = recipe.variant_rows(result)
    assert [r["params"] for r in rows] == [100, 200, 120, 150]
    assert rows[-1]["train_seconds"] == 14.0  # the stack needs its trained heads
    note = views.closing_note(result)
    assert "-2.00 points over the best member (worse than it)" in note
    assert note.count("\n- ") == 4


# ## The Keras half: builders, weight transfer, the tiny recipe

keras = pytest.importorskip("keras")
from labcore.labs.ensemble import runner  # noqa: E402  (needs Keras)


@pytest.mark.parametrize("model", ["small", "ensemble_base"])
@pytest.mark.parametrize("n_heads", [2, 3])
def test_intra_model_parameter_counts_equal_keras(model, n_heads):
    model_spec = recipe.member_spec(dataclasses.replace(TINY, model=model))
    heads = runner.build_heads_model(model_spec, n_heads)
    assert recipe.heads_params(model_spec, n_heads) == heads.count_params()
    assert recipe.heads_params(model_spec, 1) == spec_lib.count_params(model_spec)
    stack = runner.build_stacking_model(model_spec, n_heads)
    expected = recipe.heads_params(model_spec, n_heads) + recipe.combiner_params(model_spec, n_heads)
    assert expected == stack.count_params()
    assert len(heads.outputs) == n_heads


def test_stacking_copies_the_trunk_and_every_head_by_name_and_trains_only_the_combiner():
    model_spec = recipe.member_spec(TINY)
    keras.utils.set_random_seed(1)
    heads = runner.build_heads_model(model_spec, 3)
    keras.utils.set_random_seed(2)
    fresh = runner.build_stacking_model(model_spec, 3)
    combiner_before = [w.copy() for w in fresh.get_layer("stack_dense").get_weights()]

    keras.utils.set_random_seed(2)
    stack, copied = runner.stack_on_heads(heads, model_spec, 3)
    with_weights = {layer.name for layer in stack.layers if layer.weights}
    assert set(copied) == with_weights - {"stack_dense"}
    assert {"head1_dense", "head2_dense", "head3_dense", "stem_conv"} <= set(copied)
    for name in copied:
        for ours, theirs in zip(stack.get_layer(name).get_weights(), heads.get_layer(name).get_weights()):
            np.testing.assert_array_equal(ours, theirs)
    # The combiner keeps its own initial weights: nothing was copied into it.
    for ours, before in zip(stack.get_layer("stack_dense").get_weights(), combiner_before):
        np.testing.assert_array_equal(ours, before)
    assert {w.path.split("/")[0] for w in stack.trainable_weights} == {"stack_dense"}
    # The heads differ from each other, so copying head 1 everywhere would show.
    assert not np.array_equal(heads.get_layer("head1_dense").get_weights()[0],
                              heads.get_layer("head2_dense").get_weights()[0])


@pytest.fixture(scope="module")
def tiny_run():
    """The tiny preset with bagging, run for real once this session (the page tests read the same run)."""
    config = dataclasses.replace(TINY, bagging=True)
    _, reporter, returned = tiny_lab_run("ensemble", config)
    return config, reporter, returned


def test_tiny_recipe_stores_every_members_test_predictions(tiny_run):
    config, reporter, result = tiny_run
    labels = reporter.last_artifact("test_labels")
    members = reporter.last_artifact("member_probabilities")
    assert members.shape == (config.n_members, len(labels), 10) and members.dtype == np.float16
    np.testing.assert_allclose(members.astype(np.float32).sum(axis=2), 1.0, atol=1e-2)
    assert reporter.last_artifact("head_probabilities").shape == (config.n_heads, len(labels), 10)
    assert {series for series, _, _ in reporter.epochs} == {"member 1", "member 2", "heads", "stacking"}


def test_tiny_recipe_reports_an_ensemble_result_computed_from_the_stored_predictions(tiny_run):
    config, reporter, result = tiny_run
    labels = reporter.last_artifact("test_labels")
    members = reporter.last_artifact("member_probabilities")
    assert result["votes"]["rules"]["soft"]["accuracy"] == recipe.accuracy(
        recipe.vote(members, "soft"), labels)
    assert [m["test_accuracy"] for m in result["members"]] == result["votes"]["members"]
    assert [row["variant"].split(":")[0].split(" ")[0] for row in result["variants"]] == [
        "single", "inter", "intra", "stacking"]
    for row in result["variants"]:
        assert 0.0 <= row["accuracy"] <= 1.0 and row["params"] > 0
        assert row["train_seconds"] > 0 and row["inference_ms_per_image"] > 0
    assert result["stacking"]["trainable_params"] == recipe.combiner_params(recipe.member_spec(config), 2)
    # Bagging: each member saw a bootstrap resample, about 63% of the images.
    assert all(m["bootstrap_unique_images"] < result["n_train"] for m in result["members"])
    # Parts are reported as their stage ends; the whole result is returned, for the worker to store once.
    assert reporter.results["members"] == result["members"] and reporter.results["heads"] == result["heads"]
    assert "variants" not in reporter.results


def test_a_cancelled_run_stops_before_training():
    with pytest.raises(Cancelled):
        runner.run(TINY, RecordingReporter(cancel_after=0))


def test_mcnemar_calls_a_gain_real_only_when_fixes_outnumber_breaks_beyond_chance():
    before = np.zeros(1000, bool)
    after = before.copy()
    after[:60] = True  # 60 fixed, none broken
    clear = recipe.paired_change(before, after)
    assert (clear["fixed"], clear["broken"], clear["beyond_noise"]) == (60, 0, True)
    before[100:150] = True  # the reference also gets 50 right that the vote now gets wrong
    close = recipe.paired_change(before, after)
    assert (close["fixed"], close["broken"], close["beyond_noise"]) == (60, 50, False)
    assert close["z"] == pytest.approx((10 - 1) / 110 ** 0.5, abs=1e-3)
    worse = recipe.paired_change(after, before)
    assert worse["z"] < 0 and worse["fixed"] == 50
