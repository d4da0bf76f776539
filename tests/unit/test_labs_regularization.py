"""The Regularization lab: its steps' configs, validation, page shaping, and tiny real runs."""

import dataclasses
import json
import math
import subprocess
import sys
import types

import keras
import numpy as np
import pytest

from labcore import references, schedules, spec
from labcore.errors import ConfigError
from labcore.labs.regularization import recipe, runner, views
from labcore.labs.regularization.config import LADDER_DECAYS, PRESETS, STEPS, WEIGHTS_ARTIFACT, Config
from labcore.reporting import StoreReporter
from labcore.store import Store
from tests.support import RecordingReporter, tiny_cli_run

TINY = PRESETS["tiny"]


def step(name, preset=TINY, **changes):
    return dataclasses.replace(preset, step=name, **changes)


# ## Config and validation


@pytest.mark.parametrize("preset", sorted(PRESETS))
def test_config_round_trips_through_json(preset):
    config = PRESETS[preset]
    assert Config.from_dict(json.loads(json.dumps(config.to_dict()))) == config


def test_from_dict_names_the_unknown_key_and_lists_the_allowed_ones():
    with pytest.raises(ConfigError, match=r"unknown key 'noize'; allowed keys: step, dataset, seed"):
        Config.from_dict({"noize": 0.1})


@pytest.mark.parametrize("preset", sorted(PRESETS))
def test_every_step_of_every_preset_is_valid(preset):
    for name in STEPS:
        assert recipe.problems(step(name, PRESETS[preset]).to_dict()) == [], name


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"noise": 2.0}, "noise must be a float in [0, 1]; got 2.0."),
        ({"dropout": 1.0}, "dropout must be a float in (0, 1); got 1.0."),
        ({"step": "magic"}, "step must be one of 'overfit_batch', "),
        ({"dataset": "imagenet"}, "dataset must be one of 'fashion_mnist_small'"),
        ({"sweep_blocks": [1, 0]}, "sweep_blocks[1] must be an int in [1, 16]; got 0."),
        ({"subset": 7000}, "subset must be at most 6000 (the training images of 'fashion_mnist_small'); got 7000."),
        ({"batch_size": 450}, "batch_size must be an int in [1, 400] (the training images of this step); got 450."),
        ({"lr_range_start": 1.0}, "lr_range_end must be a rate above lr_range_start (1); got 1.0."),
        ({"warmup_epochs": 6}, "warmup_epochs must be an int in [1, 5] (below epochs); got 6."),
    ],
)
def test_problems_name_the_field_the_allowed_values_and_what_came(changes, message):
    found = recipe.problems({**TINY.to_dict(), **changes})
    assert any(problem.startswith(message) for problem in found), found


def test_the_worker_refuses_a_bad_config_before_importing_the_runner():
    code = (
        "import sys\n"
        "from labcore import kinds\n"
        "from labcore.errors import ConfigError\n"
        "from labcore.labs.regularization.config import PRESETS\n"
        "config = {**PRESETS['tiny'].to_dict(), 'dropout': 1.0}\n"
        "try:\n"
        "    kinds.parse('regularization', config)\n"
        "except ConfigError as error:\n"
        "    print(error)\n"
        "assert 'keras' not in sys.modules and 'labcore.labs.regularization.runner' not in sys.modules\n"
    )
    completed = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert completed.returncode == 0, completed.stderr[-2000:]
    assert completed.stdout.startswith("dropout must be a float in (0, 1); got 1.0.")


def test_the_config_and_recipe_import_neither_keras_nor_altair():
    code = ("import sys\n"
            "from labcore.labs.regularization import config, recipe\n"
            "recipe.problems(config.Config().to_dict()); recipe.lr_curves(config.Config(step='schedule'))\n"
            "assert 'keras' not in sys.modules and 'altair' not in sys.modules")
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


# ## What each step changes


def test_the_original_steps_add_noise_then_l2_as_the_original_did():
    baseline = recipe.model_spec(step("baseline"))
    assert baseline.task.noise is None and baseline.hyper.l2 == 0.0 and baseline.task.dropout is None
    assert recipe.model_spec(step("noise")).task.noise == TINY.noise
    for name, field in (("l2_strong", "l2_strong"), ("l2_small", "l2_small"), ("lower_lr", "l2_small")):
        model = recipe.model_spec(step(name))
        assert model.hyper.l2 == getattr(TINY, field)
        assert model.task.noise == TINY.noise
        # The classifier gets the L2 too, as the original's text promised.
        assert spec.dense_l2(model) == getattr(TINY, field)


def test_each_later_lesson_changes_the_baseline_by_one_thing():
    baseline_spec, baseline_train = recipe.model_spec(step("baseline")), recipe.train_config(step("baseline"))
    assert recipe.model_spec(step("dropout")) == dataclasses.replace(
        baseline_spec, task=dataclasses.replace(baseline_spec.task, dropout=TINY.dropout))
    for name in ("label_smoothing", "early_stopping", "warmup", "schedule"):
        assert recipe.model_spec(step(name)) == baseline_spec, name
    assert recipe.train_config(step("label_smoothing")) == dataclasses.replace(
        baseline_train, label_smoothing=TINY.label_smoothing)
    # Early stopping trains to its last epoch (the runner watches the rule), so
    # that it can be compared with the same run trained on.
    assert recipe.train_config(step("early_stopping")) == dataclasses.replace(
        baseline_train, epochs=TINY.early_stopping_epochs)
    assert recipe.train_config(step("warmup")).schedule.warmup_epochs == TINY.warmup_epochs
    assert recipe.train_config(step("schedule", decay="step")).schedule.kind == "step"


def test_small_l2_trains_longer_and_the_second_tier_at_a_tenth_of_the_rate():
    config = step("lower_lr", learning_rate=1e-3, lower_lr_factor=0.1, lower_lr_epochs=3)
    assert recipe.train_config(step("l2_small")).epochs == TINY.l2_small_epochs > TINY.epochs
    second_tier = recipe.train_config(config)
    assert second_tier.learning_rate == pytest.approx(1e-4)
    assert second_tier.epochs == 3
    assert recipe.lr_curves(config)["this run"] == pytest.approx([1e-4] * 3)
    # Same model as the first tier, so its weights load.
    assert recipe.model_spec(config) == recipe.model_spec(dataclasses.replace(config, step="l2_small"))


def test_the_small_batch_check_trains_on_its_images_without_validation():
    train = recipe.train_config(step("overfit_batch"))
    assert (train.subset, train.val_fraction, train.epochs) == (100, 0.0, TINY.overfit_epochs)


def test_the_full_preset_trains_the_original_resnet_v2_with_its_settings():
    full = PRESETS["full"]
    original = references.REFERENCES["regularization_resnet_v2"].spec
    ours = recipe.model_spec(step("baseline", full))
    assert (ours.input_shape, ours.stem, ours.learner) == (original.input_shape, original.stem, original.learner)
    assert spec.count_params(ours) == spec.count_params(original)
    assert (full.epochs, full.batch_size, full.learning_rate, full.l2_small_epochs, full.lower_lr_epochs) == (
        10, 32, 1e-3, 30, 10)
    assert full.subset is None
    # The original trained every step under a cosine (its compounding one; ours is not).
    assert recipe.train_config(step("baseline", full)).schedule == schedules.ScheduleSpec(kind="cosine")


def test_every_ladder_step_ends_on_the_ladders_decay_but_the_schedule_step_and_the_lower_tier():
    for name, info in STEPS.items():
        if info.ladder and name not in ("schedule", "lower_lr"):
            for decay in LADDER_DECAYS:
                assert recipe.train_config(step(name, ladder_decay=decay)).schedule.kind == decay, (name, decay)
    # The schedule step swaps the ladder's for its own: a constant rate unless told otherwise.
    assert recipe.train_config(step("schedule")).schedule.kind == "constant"
    assert recipe.train_config(step("lower_lr")).schedule.kind == "constant"
    # A lower-rate run continues only an L2-small run trained under the same schedule.
    assert not recipe.continues(step("lower_lr"), step("l2_small", ladder_decay="constant").to_dict())


def test_the_sweep_grows_the_model_with_its_blocks():
    counts = [spec.count_params(recipe.model_spec(step("sweep"), n)) for n in (1, 2, 3)]
    assert counts == sorted(counts) and len(set(counts)) == 3


def test_the_schedule_curves_show_the_original_compounding_beside_ours():
    config = step("schedule", decay="cosine", epochs=10, learning_rate=1e-3)
    curves = recipe.lr_curves(config)
    ours, original = curves["this run"], curves["original lab"]
    assert ours[0] == original[0] == pytest.approx(1e-3)
    assert ours[-1] > 0.02 * 1e-3  # ours still learns in its last epoch
    assert original[-1] < 1e-3 * 1e-4  # theirs has compounded to nothing
    warmup = recipe.lr_curves(step("warmup", epochs=6, warmup_epochs=3, learning_rate=1e-3))
    assert warmup["this run"][3] == pytest.approx(1e-3)
    assert warmup["original lab"][2] < 1e-3


def test_a_lower_rate_run_continues_only_a_matching_l2_small_run():
    config = step("lower_lr")
    assert recipe.continues(config, step("l2_small").to_dict())
    assert not recipe.continues(config, step("l2_small", l2_small=0.01).to_dict())
    assert not recipe.continues(config, step("baseline").to_dict())
    assert not recipe.continues(config, {"no": "such field"})


# ## What the page draws


def fake_run(run_id, name, status="done", seed=0, **result):
    return types.SimpleNamespace(id=run_id, status=status, config={"step": name, "seed": seed, "epochs": 6},
                                 result=result)


def test_ladder_rows_keep_the_newest_setting_of_each_step_with_all_its_seeds_in_ladder_order():
    measured = {"dataset": "fashion_mnist", "epochs_run": 6, "seconds": 30.0, "test_accuracy": 0.7}
    runs = [
        fake_run(1, "baseline", train_accuracy=0.9, val_accuracy=0.7, gap=0.2, **measured),
        fake_run(2, "noise", train_accuracy=0.9, val_accuracy=0.75, gap=0.15, **measured),
        fake_run(3, "baseline", seed=1, train_accuracy=0.95, val_accuracy=0.72, gap=0.23, **measured),
        fake_run(4, "baseline", status="failed", seed=2),
        fake_run(5, "lr_range", suggested_rate=1e-3),
        fake_run(6, "lower_lr", train_accuracy=0.9, val_accuracy=0.8, gap=0.1, epochs_total=16, **measured),
        fake_run(7, "dropout", status="running"),
    ]
    # A newer setting of a step (other epochs) replaces the older one, seeds and all.
    newer = fake_run(8, "noise", train_accuracy=0.8, val_accuracy=0.7, gap=0.1, **measured)
    newer.config["epochs"] = 9
    rows = recipe.ladder_rows(runs + [newer])
    assert [(row["step"], row["run_ids"]) for row in rows] == [("baseline", [3, 1]), ("noise", [8]),
                                                               ("lower_lr", [6])]
    assert rows[0]["gap"] == [0.23, 0.2] and rows[0]["seeds"] == 2 and rows[0]["label"] == "baseline"
    assert rows[2]["epochs"] == 16  # both tiers
    assert rows[1]["expected"] == STEPS["noise"].expected
    chart = views.ladder_chart(rows).to_dict()
    assert {value["step"] for value in next(iter(chart["datasets"].values()))} == {"baseline", "+ noise", "+ rate / 10"}
    assert recipe.ladder_rows([]) == [] and views.ladder_chart([]) is None


def ladder_of(readings):
    """Ladder rows from {step: [(train, validation), ...]}, one run per seed."""
    runs = [
        fake_run(10 * index + seed, step, seed=seed, train_accuracy=train, val_accuracy=val, gap=train - val,
                 test_accuracy=val, seconds=1.0)
        for index, (step, pairs) in enumerate(readings.items())
        for seed, (train, val) in enumerate(pairs)
    ]
    return {row["step"]: row for row in views.ladder_table(recipe.ladder_rows(runs))}


def test_the_ladder_says_a_gap_closed_only_when_it_beats_the_seed_noise():
    table = ladder_of({
        "baseline": [(0.98, 0.78), (0.99, 0.77), (0.97, 0.79)],
        "noise": [(0.90, 0.84), (0.91, 0.83), (0.89, 0.85)],          # gap 6 vs 20: closed
        "dropout": [(0.98, 0.79), (0.96, 0.74), (0.99, 0.80)],        # gap 20 ± 4: noise
        "l2_strong": [(0.62, 0.60), (0.61, 0.60), (0.63, 0.61)],      # train fell: underfits
    })
    assert table["+ noise"]["reading"] == "The gap is narrower than baseline's, beyond the seed noise."
    assert table["+ noise"]["gap_change"].endswith("points: beyond noise")
    assert table["dropout"]["reading"].startswith("The gap is within the seed noise of baseline's")
    assert table["+ L2 too strong"]["against"] == "+ noise"
    assert table["+ L2 too strong"]["reading"].startswith("Underfits: train accuracy fell 28.0 points below + noise")
    assert table["baseline"]["reading"].startswith("Overfits: train is 20.0 ± ")
    assert table["baseline"]["validation"] == "78.0 ± 1.0%"


def test_early_stopping_is_compared_with_the_same_runs_trained_on_not_with_the_baseline():
    runs = [fake_run(seed, "early_stopping", seed=seed, train_accuracy=train, val_accuracy=0.79, gap=train - 0.79,
                     test_accuracy=0.79, epochs_run=12,
                     trained_on={"train_accuracy": 0.99, "val_accuracy": 0.79, "gap": 0.20, "test_accuracy": 0.79,
                                 "val_confidence": 0.9})
            for seed, train in enumerate((0.90, 0.91, 0.89))]
    runs.append(fake_run(9, "baseline", train_accuracy=0.5, val_accuracy=0.5, gap=0.0, test_accuracy=0.5))
    table = {row["step"]: row for row in views.ladder_table(recipe.ladder_rows(runs))}
    older = {row["step"]: row for row in views.ladder_table(recipe.ladder_rows(
        [fake_run(1, "early_stopping", train_accuracy=0.9, val_accuracy=0.8, gap=0.1, test_accuracy=0.8)]))}
    assert older["early stopping"]["reading"].startswith("This run did not measure the same run trained on")
    stopping = table["early stopping"]
    assert stopping["against"] == "the same run, trained on to epoch 12"
    assert stopping["gap_change"].startswith("-9.0 ± 0.6 points") and stopping["gap_change"].endswith("beyond noise")
    assert stopping["reading"].startswith("The gap is narrower than the same run's, trained on to epoch 12, "
                                          "beyond the seed noise. It closed from above: train accuracy fell")


def test_a_gap_closed_by_train_accuracy_alone_is_called_so():
    table = ladder_of({
        "baseline": [(0.98, 0.78), (0.99, 0.77), (0.97, 0.80)],
        "noise": [(0.95, 0.785), (0.96, 0.765), (0.94, 0.80)],     # train -3 points, validation within noise
    })
    assert table["+ noise"]["reading"] == (
        "The gap is narrower than baseline's, beyond the seed noise. It closed from above: train accuracy fell "
        "3.0 points, while validation moved +0.0 points, within the noise.")


def test_an_l2_step_that_left_the_gap_alone_says_whether_it_moved_the_weights():
    def ladder(norms):
        pairs = {"noise": [(0.95, 0.80), (0.96, 0.79), (0.94, 0.81)],
                 "l2_small": [(0.95, 0.80), (0.955, 0.785), (0.945, 0.815)]}
        runs = [fake_run(10 * index + seed, step, seed=seed, train_accuracy=train, val_accuracy=val,
                         gap=train - val, test_accuracy=val, epochs_run=6, kernel_norm=norms[step][seed])
                for index, (step, readings) in enumerate(pairs.items())
                for seed, (train, val) in enumerate(readings)]
        return {row["step"]: row for row in views.ladder_table(recipe.ladder_rows(runs))}["+ L2 small"]["reading"]

    moved = ladder({"noise": [40.0, 41.0, 39.0], "l2_small": [24.0, 25.0, 23.5]})
    assert moved.startswith("The gap is within the seed noise of + noise's")
    assert moved.endswith("The penalty did move the weights (their norm -40%), but batch norm rescales most "
                          "convolutions' outputs, so their scale changes little of what the model computes.")
    weak = ladder({"noise": [40.0, 41.0, 39.0], "l2_small": [39.0, 41.5, 38.6]})
    assert weak.endswith("The penalty barely moved the weights (their norm -1%, within the seed noise) in 6 epochs.")
    older = ladder({"noise": [None] * 3, "l2_small": [None] * 3})
    assert older == "The gap is within the seed noise of + noise's: no effect shown at this setting."


def test_one_seed_is_not_called_an_effect():
    table = ladder_of({"baseline": [(0.98, 0.78)], "noise": [(0.90, 0.84)]})
    assert table["+ noise"]["reading"] == "One seed on a side: run more seeds to tell this from baseline."
    assert table["+ noise"]["gap_change"] == "-14.0 points: one seed: cannot tell"
    assert table["baseline"]["train"] == "98.0% (one seed)"


def test_summary_text_and_sweep_points_read_a_result():
    text = views.summary_text({"train_accuracy": 0.951, "val_accuracy": 0.812, "gap": 0.139, "epochs_run": 6,
                             "seconds": 41.2})
    assert text == "train 95.1% · validation 81.2% · gap 13.9 points · 6 epochs in 41 s"
    assert views.summary_text({}) == ""
    points = recipe.sweep_points({"models": [{"n_blocks": 1, "params": 10, "val_accuracy": 0.5,
                                           "seconds_per_epoch": 1.5}]})
    assert points == [{"model": "1 block/group", "parameters": 10, "validation accuracy": 0.5,
                       "seconds per epoch": 1.5}]


def test_measured_text_says_what_each_kind_of_step_measured():
    assert views.measured_text("baseline", {}) == "still training…"
    assert views.measured_text("lr_range", {}) == "still sweeping…"
    assert views.measured_text("lr_range", {"suggested_rate": 1e-3, "min_loss_rate": 1e-2,
                                            "steepest_rate": 2e-3, "steps_run": 40}) == (
        "suggested rate 1.0e-03 (lowest loss at 1.0e-02, steepest descent at 2.0e-03) after 40 batches")
    assert views.measured_text("sweep", {"models": [
        {"n_blocks": 2, "params": 12345, "val_accuracy": 0.5, "seconds_per_epoch": 1.5}]}) == (
        "2 blocks/group: 50.0% with 12,345 parameters, 1.5 s/epoch")
    fit = {"train_accuracy": 0.9, "val_accuracy": 0.8, "gap": 0.1, "best_epoch": 3, "stopped_epoch": 5,
           "epochs_run": 8, "trained_on": {"train_accuracy": 0.99, "val_accuracy": 0.81, "gap": 0.18}}
    assert views.measured_text("early_stopping", fit).endswith(
        " · gap 10.0 points · the rule fired at epoch 5 and restored epoch 3 (lowest validation loss); trained on "
        "to epoch 8, the same run reached train 99.0% · validation 81.0% · gap 18.0 points")
    never = {**fit, "stopped_epoch": None}
    assert views.measured_text("early_stopping", never).endswith(
        "validation loss was still falling at epoch 8: the rule never fired, so early stopping kept the final "
        "weights")
    assert views.measured_text("overfit_batch", {"train_accuracy": 0.95, "passed": False, "n_images": 100}) == (
        "train 95.0% on 100 images: did NOT reach 99%, look for a bug.")


def test_the_range_test_suggests_a_tenth_of_the_rate_of_lowest_smoothed_loss():
    rates = [10 ** (-6 + 6 * i / 99) for i in range(100)]
    # Flat, then falling fastest near 1e-3, lowest near 3e-2, then exploding.
    losses = [2.3 - 1.5 / (1 + math.exp(-3 * (math.log10(r) + 3))) + (5 * (r - 0.03) if r > 0.03 else 0.0)
              for r in rates]
    found = recipe.lr_range_suggestion(rates, losses)
    assert found["suggested_rate"] == pytest.approx(found["min_loss_rate"] / 10)
    assert 1e-2 < found["min_loss_rate"] < 1e-1
    assert 1e-4 < found["steepest_rate"] < 1e-2
    assert recipe.lr_range_suggestion(rates, sorted(losses))["suggested_rate"] == rates[0]
    assert recipe.lr_range_suggestion(rates, [float("nan")] * 100)["suggested_rate"] == rates[0]
    assert views.lr_range_chart([{"learning_rate": r, "loss": l} for r, l in zip(rates, losses)], found) is not None


# ## Tiny real runs (Keras, in this process)


def test_the_tiny_baseline_overfits_measurably_and_reports_every_epoch():
    # The CLI's run (its worker stores what the runner reports and returns), shared with the page tests.
    run = tiny_cli_run("regularization", "--step", "baseline", "--preset", "tiny")
    result = run.result
    assert result["train_accuracy"] - result["val_accuracy"] > 0.1
    assert result["gap"] == pytest.approx(result["train_accuracy"] - result["val_accuracy"])
    rows = [row for row in Store().metrics(run.id) if row.series == "train"]
    assert [row.epoch for row in rows] == list(range(1, TINY.epochs + 1))
    for row in rows:
        assert {"accuracy", "loss", "val_accuracy", "val_loss", "learning_rate"} <= set(row.values)
    assert result["step"] == "baseline" and result["dataset"] == TINY.dataset
    assert result["params"] == spec.count_params(recipe.model_spec(step("baseline")))


def test_the_small_batch_check_memorises_its_100_images():
    result = runner.run(step("overfit_batch"), RecordingReporter())
    assert result["n_images"] == 100
    assert result["train_accuracy"] >= 0.99 and result["passed"]


def test_the_range_test_reports_a_loss_per_rate_and_suggests_a_rate_inside_the_sweep():
    reporter = RecordingReporter()
    result = runner.run(step("lr_range"), reporter)
    rows = [metrics for series, _, metrics in reporter.epochs if series == "lr_range"]
    assert len(rows) == result["steps_run"] >= 10
    rates = [row["learning_rate"] for row in rows]
    assert rates == sorted(rates) and rates[0] == pytest.approx(TINY.lr_range_start)
    assert TINY.lr_range_start <= result["suggested_rate"] <= TINY.lr_range_end


def test_early_stopping_keeps_its_best_epoch_and_measures_the_same_run_trained_on():
    # A high rate and patience 1 make the validation loss turn up within 8 epochs.
    reporter = RecordingReporter()
    config = step("early_stopping", learning_rate=1e-2, patience=1, early_stopping_epochs=8)
    result = runner.run(config, reporter)
    val_losses = [metrics["val_loss"] for series, _, metrics in reporter.epochs if series == "train"]
    assert len(val_losses) == result["epochs_run"] == 8  # trained on past the stop, to compare
    stopped, best = result["stopped_epoch"], result["best_epoch"]
    assert stopped is not None and best < stopped <= 8
    assert val_losses[best - 1] == min(val_losses[:stopped]) and val_losses[stopped - 1] >= val_losses[best - 1]
    # The step's readings are the restored epoch's: its validation loss is the one Keras logged then.
    assert result["val_cross_entropy"] == pytest.approx(val_losses[best - 1], rel=1e-3)
    assert result["trained_on"]["val_cross_entropy"] == pytest.approx(val_losses[-1], rel=1e-3)
    row = recipe.ladder_rows([fake_run(1, "early_stopping", **result)])
    control = views.control_row(row[0], {})
    assert control["label"] == "the same run, trained on to epoch 8"
    assert control["gap"] == [result["trained_on"]["gap"]]


def test_the_kernel_norm_counts_every_convolution_and_dense_kernel_and_nothing_else():
    model = runner._build(TINY, recipe.model_spec(TINY))
    kernels = [layer.kernel for layer in model.layers if isinstance(layer, (keras.layers.Conv2D, keras.layers.Dense))]
    assert len(kernels) > 3
    expected = math.sqrt(sum(float(np.square(keras.ops.convert_to_numpy(kernel)).sum()) for kernel in kernels))
    assert runner._kernel_norm(model) == pytest.approx(expected)
    everything = math.sqrt(sum(float(np.square(keras.ops.convert_to_numpy(w)).sum()) for w in model.trainable_weights))
    assert everything > runner._kernel_norm(model)  # batch norm's scales and the biases are left out


def test_the_stopping_rule_fires_after_patience_epochs_without_a_lower_validation_loss():
    rule = runner._StoppingRule(patience=2)
    rule.set_model(types.SimpleNamespace(get_weights=lambda: [len(calls)]))
    calls = []
    for loss in (1.0, 0.8, 0.9, 0.7, 0.75, 0.74, 0.5):
        calls.append(loss)
        rule.on_epoch_end(len(calls) - 1, {"val_loss": loss})
    # Epoch 4 is the best; epochs 5 and 6 do not beat it, so the rule fires at 6 and ignores epoch 7.
    assert (rule.best_epoch, rule.stopped_epoch, rule.best_weights) == (4, 6, [4])


def test_the_lower_rate_step_continues_the_stored_l2_small_weights(tmp_path):
    store = Store(tmp_path / "labcore.db")
    config = step("l2_small", l2_small_epochs=2, lower_lr_epochs=2, subset=200, test_subset=50)

    def run_as(owner, name):
        values = dataclasses.replace(config, step=name)
        run_id = store.create_run("regularization", values.to_dict(), owner=owner)
        store.claim_run(run_id, "cpu")
        result = runner.run(values, StoreReporter(store, run_id))
        store.set_status(run_id, "done")
        store.merge_result(run_id, result)
        return run_id, result

    first_id, _ = run_as("alice", "l2_small")
    assert store.artifact_path(first_id, WEIGHTS_ARTIFACT).stat().st_size > 0
    second_id, second = run_as("alice", "lower_lr")
    assert second["continued_from_run"] == first_id
    assert second["epochs_total"] == 4
    rows = [row for row in store.metrics(second_id) if row.series == "train"]
    assert [row.epoch for row in rows] == [1, 2, 3, 4]  # the first tier replayed, then the second
    # The first tier's cosine, then the second tier's constant tenth.
    first_tier = schedules.lr_curve(1e-3, schedules.ScheduleSpec(kind="cosine"), 2)
    assert first_tier[1] < first_tier[0] == pytest.approx(1e-3)
    assert [row.values["learning_rate"] for row in rows] == pytest.approx(list(first_tier) + [1e-4, 1e-4])

    # Another owner has no L2-small run: the step trains the first tier itself and says so.
    _, alone = run_as("bob", "lower_lr")
    assert alone["continued_from_run"] is None and "trained that step first" in alone["note"]
    assert alone["epochs_total"] == 4


def test_the_reference_sentence_says_whether_the_baseline_beats_memorised_pixels():
    reference = {"val_accuracy": 0.767, "test_accuracy": 0.77, "n_train": 1800}
    below = recipe.ladder_rows([fake_run(i, "baseline", seed=i, train_accuracy=0.99, val_accuracy=v, gap=0.99 - v)
                                for i, v in enumerate((0.745, 0.75, 0.74))])
    assert views.reference_text(reference, below).endswith("The baseline's 74.5 ± 0.5% falls below it.")
    above = recipe.ladder_rows([fake_run(i, "baseline", seed=i, train_accuracy=0.99, val_accuracy=v, gap=0.99 - v)
                                for i, v in enumerate((0.80, 0.81, 0.805))])
    assert views.reference_text(reference, above).endswith("beats it.")
    assert "1-nearest-neighbour classifier on the raw pixels of the same 1,800 training images scores **76.7%**" \
        in views.reference_text(reference, [])
    assert views.reference_text(reference, []).endswith("run the baseline to compare.")
