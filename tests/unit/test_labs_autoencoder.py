"""The AutoEncoder lab: its config and specs (`config`, `recipe`, Keras-free), the
page's rows and sentences (`recipe`, `views`), and the tiny recipe run for real (`runner`)."""

import dataclasses
import doctest
import io
import json
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from labcore import kinds, spec
from labcore.__main__ import build_config
from labcore.errors import ConfigError
from labcore.labs.autoencoder import config as lab_config
from labcore.labs.autoencoder import recipe, runner, views
from labcore.reporting import Cancelled
from tests.support import RecordingReporter, tiny_lab_run

TINY = lab_config.PRESETS["tiny"]


# -- config, presets and validation -------------------------------------------


@pytest.mark.parametrize("name", list(lab_config.PRESETS))
def test_preset_round_trips_through_json(name):
    config = lab_config.PRESETS[name]
    assert lab_config.Config.from_dict(json.loads(json.dumps(config.to_dict()))) == config


@pytest.mark.parametrize("name", list(lab_config.PRESETS))
def test_presets_are_valid_and_described(name):
    assert recipe.problems(lab_config.PRESETS[name].to_dict()) == []
    assert lab_config.PRESET_NOTES[name]


def test_full_preset_has_the_original_settings():
    full = lab_config.PRESETS["full"]
    assert (full.ae_warmup_epochs, full.ae_epochs, full.ae_batch_size) == (5, 20, 32)
    assert (full.learning_rate, full.subset, full.classifier_epochs) == (1e-3, None, 20)


def test_unknown_key_is_refused_with_the_allowed_keys():
    with pytest.raises(ConfigError, match=r"config has an unknown key 'latent'; allowed keys: dataset, seed"):
        lab_config.Config.from_dict({"latent": 8})
    assert recipe.problems({"latent": 8})[0].startswith("config has an unknown key 'latent'")


@pytest.mark.parametrize(
    "values, message",
    [
        ({"latent_channels": 0}, "latent_channels must be an int in [1, 256]; got 0."),
        ({"stages": 6}, "stages must be an int in [1, 5]; got 6."),
        ({"classifier_epochs": 1}, "classifier_epochs must be an int in [2, 500]; got 1."),
        ({"classifier": "resnet"}, "classifier must be one of 'compact', 'original'; got 'resnet'."),
        ({"fine_tune": 1}, "fine_tune must be True or False; got 1."),
        ({"subset": 7000},
         "subset must be None or an int in [10, 6000] (the images of 'fashion_mnist_small'); got 7000."),
        ({"subset": 100, "ae_batch_size": 128},
         "ae_batch_size must be an int in [1, 90] (the training set has 90 images); got 128."),
    ],
)
def test_problems_name_the_field_and_the_allowed_values(values, message):
    assert recipe.problems({**TINY.to_dict(), **values}) == [message]


def test_unknown_dataset_is_refused_before_its_files_are_looked_for():
    [message] = recipe.problems({"dataset": "imagenet"})
    assert message.startswith("dataset must be one of 'fashion_mnist_small', ")
    assert message.endswith("; got 'imagenet'.")


def test_every_problem_is_listed_at_once():
    assert len(recipe.problems({"stages": 0, "latent_channels": -1, "learning_rate": 0.0})) == 3


def test_kind_is_registered_and_the_cli_builds_its_config():
    assert kinds.problems_for("autoencoder", TINY.to_dict()) == []
    config = build_config("autoencoder", "quick", overrides=["dataset=\"mnist\"", "latent_channels=8"])
    assert config == {**lab_config.PRESETS["quick"].to_dict(), "dataset": "mnist", "latent_channels": 8}


def test_the_worker_refuses_a_bad_config_with_every_problem_and_parses_a_good_one():
    # The runner trusts its Config: the kind's one validation path is the worker's.
    with pytest.raises(ConfigError) as refused:
        kinds.parse("autoencoder", {**TINY.to_dict(), "stages": 0, "latent_channels": 0})
    assert str(refused.value).splitlines() == [
        "stages must be an int in [1, 5]; got 0.",
        "latent_channels must be an int in [1, 256]; got 0.",
    ]
    assert kinds.parse("autoencoder", TINY.to_dict()) == TINY


def test_package_config_and_recipe_import_neither_keras_nor_altair():
    code = ("import sys, labcore.labs.autoencoder.config, labcore.labs.autoencoder.recipe; "
            "print(*(name in sys.modules for name in ('keras', 'tensorflow', 'altair')))")
    shown = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert shown.stdout.split() == ["False", "False", "False"]


@pytest.mark.parametrize("module", [recipe, views], ids=lambda module: module.__name__)
def test_docstring_examples_hold(module):
    assert doctest.testmod(module).failed == 0


# -- the specs -----------------------------------------------------------------


@pytest.mark.parametrize("stages, latent_channels", [(3, 32), (3, 8), (2, 16), (4, 64), (1, 4)])
def test_compression_ratio_follows_stages_and_channels(stages, latent_channels):
    config = dataclasses.replace(TINY, stages=stages, latent_channels=latent_channels)
    sizes = recipe.bottleneck(config)
    side = 32 // 2**stages
    assert sizes["code_shape"] == (side, side, latent_channels)
    assert sizes["compression_ratio"] == pytest.approx(32 * 32 * 1 / (side * side * latent_channels))
    assert sizes["raw_classifier_params"] == sizes["encoder_params"] + sizes["classifier_params"]


@pytest.mark.parametrize("stages", [1, 3, 5])
def test_decoder_is_a_true_mirror_ending_in_a_sigmoid(stages):
    config = dataclasses.replace(TINY, stages=stages, latent_channels=8)
    autoencoder = recipe.autoencoder_spec(config, channels=3)
    widths = [group.n_filters for group in autoencoder.learner.groups]
    assert list(autoencoder.task.decoder_filters) == widths[-2::-1]
    assert autoencoder.task.output_activation == "sigmoid"
    assert spec.output_shapes(autoencoder)["task"] == (32, 32, 3)


def test_original_head_collapses_a_4x4_code_and_ours_keeps_it():
    code_shape = recipe.bottleneck(TINY)["code_shape"]
    shapes = {
        name: spec.output_shapes(
            recipe.classifier_spec(dataclasses.replace(TINY, classifier=name), code_shape))
        for name in lab_config.CLASSIFIERS
    }
    assert shapes["original"]["stem"][:2] == (1, 1)
    assert shapes["compact"]["group 1"][:2] == (4, 4)
    assert shapes["compact"]["group 2"][:2] == (2, 2)


# -- shaping results for the page ------------------------------------------------


def test_histogram_counts_every_value_once():
    values = np.random.default_rng(0).normal(20, 3, size=257)
    rows = recipe.histogram_rows(values, n_bins=9)
    assert len(rows) == 9 and sum(row["images"] for row in rows) == 257


# -- the tiny recipe, run in-process -----------------------------------------------


@pytest.fixture(scope="module")
def tiny_run():
    """The tiny preset, run for real once this session (a few seconds; the page tests read the same run)."""
    _, reporter, returned = tiny_lab_run("autoencoder", TINY)
    return reporter, returned


def test_every_step_is_reported_and_returned(tiny_run):
    reporter, returned = tiny_run
    assert returned == reporter.results
    for key in ("autoencoder", "reconstruction", "compression_ratio", "encoding", "raw", "encoded",
                "speed_up", "speed_up_including_encoding", "accuracy_cost_points", "fine_tune"):
        assert key in returned, key
    names = {name for name, _ in reporter.artifacts}
    assert {"reconstructions_before.png", "reconstructions.png", "psnr_per_image.npy",
            "mse_per_image.npy", "showcase_images.npy", "latent_codes.npy"} <= names
    json.dumps(returned)  # what the store and the CLI print


def test_training_lowers_the_reconstruction_error(tiny_run):
    result = tiny_run[0].results
    assert result["reconstruction"]["mse_mean"] < result["autoencoder"]["mse_before_training"]


def test_psnr_is_measured_per_held_out_image_from_its_mse(tiny_run):
    reporter, result = tiny_run
    psnr, mse = reporter.last_artifact("psnr_per_image.npy"), reporter.last_artifact("mse_per_image.npy")
    assert len(psnr) == len(mse) == result["n_test"] == TINY.test_subset
    np.testing.assert_allclose(psnr, 10 * np.log10(1 / mse), rtol=1e-5)
    assert result["reconstruction"]["psnr_db_mean"] == pytest.approx(float(psnr.mean()), abs=0.01)


def test_codes_are_smaller_than_the_input_by_the_configured_ratio(tiny_run):
    reporter, result = tiny_run
    side = 32 // 2**TINY.stages
    expected = 32 * 32 * 1 / (side * side * TINY.latent_channels)
    assert result["compression_ratio"] == pytest.approx(expected)
    assert result["code_shape"] == [side, side, TINY.latent_channels]
    codes, images = reporter.last_artifact("latent_codes.npy"), reporter.last_artifact("showcase_images.npy")
    assert codes.shape == (len(images), side, side, TINY.latent_channels)
    assert images.shape[1:] == (28, 28, 1)  # the padding cropped away


def test_the_grid_is_redrawn_after_every_autoencoder_epoch(tiny_run):
    reporter, _ = tiny_run
    epochs = TINY.ae_warmup_epochs + TINY.ae_epochs
    grids = [value for name, value in reporter.artifacts if name == "reconstructions.png"]
    assert len(grids) == len(reporter.series("autoencoder")) == epochs
    image = Image.open(io.BytesIO(grids[-1]))
    assert image.format == "PNG" and image.width > image.height  # 10 columns, 3 rows


def test_autoencoder_warms_up_then_stays_constant(tiny_run):
    rates = [metrics["learning_rate"] for metrics in tiny_run[0].series("autoencoder")]
    assert rates[0] < rates[1] == pytest.approx(TINY.ae_learning_rate)
    assert rates[-1] == pytest.approx(TINY.ae_learning_rate)


def test_both_classifiers_have_curves_and_timings(tiny_run):
    reporter, result = tiny_run
    for name in ("raw", "encoded", "fine_tune"):
        curve = reporter.series(name)
        assert len(curve) == TINY.classifier_epochs, name
        assert all({"accuracy", "val_accuracy", "seconds"} <= metrics.keys() for metrics in curve)
        measured = result[name]
        assert measured["seconds_per_epoch"] > 0 and measured["images_per_second"] > 0
        assert 0 <= measured["test_accuracy"] <= 1
    assert result["encoding"]["seconds"] > 0
    assert result["encoding"]["images"] == result["n_train"] + result["n_val"] + result["n_test"]
    speed_up = result["raw"]["seconds_per_epoch"] / result["encoded"]["seconds_per_epoch"]
    assert result["speed_up"] == pytest.approx(speed_up, abs=0.01)
    cost = 100 * (result["raw"]["test_accuracy"] - result["encoded"]["test_accuracy"])
    assert result["accuracy_cost_points"] == pytest.approx(cost, abs=0.05)


def test_codes_train_fewer_parameters_than_pixels(tiny_run):
    result = tiny_run[0].results
    sizes = recipe.bottleneck(TINY)
    assert result["encoded"]["params"] == sizes["classifier_params"]
    assert result["raw"]["params"] == result["fine_tune"]["params"] == sizes["raw_classifier_params"]


def test_progress_moves_forward_to_the_end(tiny_run):
    fractions = [fraction for fraction, _ in tiny_run[0].progress_calls]
    assert all(0.0 <= fraction <= 1.0 for fraction in fractions)
    assert fractions == sorted(fractions) and fractions[-1] == 1.0


def test_page_texts_state_the_measured_numbers(tiny_run):
    result = tiny_run[0].results
    sentence = views.speed_up_sentence(result, "Fashion-MNIST")
    assert f"{result['raw']['seconds_per_epoch']:.2f} s" in sentence
    assert ("faster" if result["speed_up"] >= 1 else "slower") in sentence.split("per epoch")[0]
    rows = views.comparison_rows(result)
    assert [row["measure"] for row in rows][:2] == ["input per image", "parameters"]
    assert rows[0][lab_config.SERIES["encoded"]] == "4 x 4 x 32"
    encoded = result["encoded"]
    gap = 100 * (encoded["train_accuracy"] - encoded["val_accuracy"])
    assert views.overfitting_text(result).startswith(f"{lab_config.SERIES['encoded']}: training ")
    assert f"(gap {gap:.1f} points)" in views.overfitting_text(result)
    rows = recipe.curve_rows([{"series": series, "epoch": 1} for series in lab_config.SERIES])
    labels = {row["run"] for row in rows}
    assert labels == {lab_config.SERIES[name] for name in ("raw", "encoded", "fine_tune")}
    assert [row["classifier"] for row in recipe.timing_rows(result)] == [
        lab_config.SERIES[name] for name in ("raw", "encoded", "fine_tune")]


def test_page_captions_and_charts_come_from_the_result(tiny_run):
    reporter, result = tiny_run
    tuned, raw = result["fine_tune"], result["raw"]
    assert views.fine_tune_sentence(result).startswith(
        f"Starting from the trained encoder, the classifier on pixels reached "
        f"**{100 * tuned['test_accuracy']:.1f}%** test accuracy, against "
        f"{100 * raw['test_accuracy']:.1f}% from random weights, in the same {tuned['epochs']} epochs")
    assert views.reconstruction_text(result).startswith(
        f"MSE {result['reconstruction']['mse_mean']:.4f} (untrained: ")
    trained = result["autoencoder"]
    assert 0.0 < trained["final_train_loss"] < trained["mse_before_training"]
    assert views.speed_text(result).startswith(views.times_faster(result["speed_up"]))
    assert views.compression_text(recipe.bottleneck(TINY)) == (
        "32 x 32 x 1 = 1,024 values reduced to a 4 x 4 x 32 code of 512 (2.0x), with these settings.")
    metric_rows = [{"series": series, "epoch": epoch, **metrics}
                   for series, epoch, metrics in reporter.epochs]
    assert views.loss_chart(recipe.curve_rows(metric_rows, series=("autoencoder",))) is not None
    assert views.accuracy_chart(metric_rows) is not None and views.accuracy_chart([]) is None
    assert views.timing_chart(result) is not None
    assert views.psnr_chart(reporter.last_artifact("psnr_per_image.npy"), result["n_test"]) is not None

@pytest.mark.parametrize("psnr, train_loss, says, not_said", [
    (23.0, 0.004, "fine details survive", "blur"),
    (18.5, 0.0126, "it has not finished learning", "survive"),
    (18.5, 0.005, "fine details (prints, laces) blur.", "not finished"),
])
def test_the_reconstruction_text_branches_on_what_was_measured(psnr, train_loss, says, not_said):
    result = {"reconstruction": {"mse_mean": 10 ** (-psnr / 10), "psnr_db_mean": psnr, "images": 1000},
              "autoencoder": {"mse_before_training": 0.1, "epochs": 5, "seconds": 60.0,
                              "final_train_loss": train_loss, "final_val_loss": 0.0113}}
    text = views.reconstruction_text(result)
    assert says in text and not_said not in text


def test_a_cancelled_run_stops_before_training():
    reporter = RecordingReporter(cancel_after=0)
    with pytest.raises(Cancelled):
        runner.run(TINY, reporter)
    assert reporter.epochs == []

