"""The feature_maps kind's Keras-free parts: its config and messages, the stages, the pictures, the source run."""

import dataclasses
import doctest
import io
import json

import numpy as np
import pytest
from PIL import Image

from labcore import featuremaps, kinds, spec
from labcore.errors import ConfigError
from labcore.featuremaps import FeatureMapsConfig
from labcore.store import Store
from tests.support import finish_run


def _decoded(png):
    picture = Image.open(io.BytesIO(png))
    picture.load()
    return picture


def test_docstring_examples_hold():
    result = doctest.testmod(featuremaps)
    assert result.attempted > 0 and result.failed == 0


def test_config_round_trips():
    config = FeatureMapsConfig(source_run=12, dataset="mnist", image_index=345, n_channels=8)
    assert FeatureMapsConfig.from_dict(json.loads(json.dumps(config.to_dict()))) == config
    assert kinds.parse("feature_maps", config.to_dict()) == config


def test_problems_name_the_field_and_the_allowed_values():
    assert featuremaps.problems(FeatureMapsConfig(source_run=3).to_dict()) == []
    assert featuremaps.problems({"source_run": 0, "dataset": "imagenet", "image_index": -1, "n_channels": 65}) == [
        "image_index must be an int in [0, 99999]; got -1.",
        "n_channels must be an int in [1, 64]; got 65.",
        "source_run must be the id of a finished Model Builder run (an int >= 1); got 0.",
        "dataset must be one of 'fashion_mnist_small', 'fashion_mnist', 'mnist', 'cifar10'; got 'imagenet'.",
    ]
    assert featuremaps.problems({"source_run": True}) == [
        "source_run must be the id of a finished Model Builder run (an int >= 1); got True."]
    assert featuremaps.problems({"source_run": 3, "dataset": "cifar10", "image_index": 10_000}) == [
        "image_index must be an int in [0, 9999] (the test images of 'cifar10'); got 10000."]
    assert featuremaps.problems({"image_index": 2}) == [
        "config is missing the key 'source_run'; required keys: source_run."]
    with pytest.raises(ConfigError, match=r"^n_channels must be an int in \[1, 64\]; got 0\.$"):
        kinds.parse("feature_maps", {"source_run": 3, "n_channels": 0})


def test_a_stage_ends_at_the_last_layer_of_the_stem_and_of_each_group():
    base = spec.default_spec()
    resnet = dataclasses.replace(base, stem=dataclasses.replace(base.stem, pool=True),
                                 learner=dataclasses.replace(base.learner, block="resnet_v2_basic"))
    assert [(stage.name, stage.layer) for stage in featuremaps.stages(resnet)] == [
        ("stem", "stem_pool"), ("group 1", "group1_block1_add"), ("group 2", "group2_block1_add"),
        ("group 3", "learner_output")]
    # The shapes are the parts' outputs that the builder page shows.
    shapes = spec.output_shapes(resnet)
    assert all(stage.output_shape == shapes[stage.name] for stage in featuremaps.stages(resnet))


def test_a_model_without_a_stem_has_a_stage_per_group_only():
    base = spec.default_spec()
    stemless = dataclasses.replace(base, stem=dataclasses.replace(base.stem, kind="none"))
    assert [stage.name for stage in featuremaps.stages(stemless)] == ["group 1", "group 2", "group 3"]


def test_the_picture_tiles_the_first_channels_in_a_near_square_grid():
    maps = np.random.default_rng(0).normal(size=(7, 7, 20))
    picture = _decoded(featuremaps.grid_png(maps, n_channels=16))
    # 16 of the 20 channels, 4 x 4; 7 px scaled up 7 times to 49-px tiles, 2 px apart and around.
    assert picture.mode == "RGB"
    assert picture.size == (4 * (49 + 2) + 2, 4 * (49 + 2) + 2)


def test_each_channel_is_min_max_scaled_on_its_own_and_a_constant_or_broken_one_is_black():
    ramp = np.linspace(0.0, 1.0, 48 * 48).reshape(48, 48)
    maps = np.stack([100 * ramp, -1 - ramp / 2, np.full((48, 48), 3.0), np.full((48, 48), np.nan)], axis=-1)
    pixels = np.asarray(_decoded(featuremaps.grid_png(maps, n_channels=4)).convert("L"))
    tiles = [pixels[2 + row * 50: 50 + row * 50, 2 + column * 50: 50 + column * 50]
             for row in range(2) for column in range(2)]
    for tile in tiles[:2]:
        assert (tile.min(), tile.max()) == (0, 255)
    assert tiles[2].max() == 0 and tiles[3].max() == 0


def test_a_stage_with_fewer_channels_than_asked_shows_them_all():
    picture = _decoded(featuremaps.grid_png(np.ones((48, 48, 3)), n_channels=16))
    assert picture.size == (2 * (48 + 2) + 2, 2 * (48 + 2) + 2)


def test_the_picture_wants_one_images_maps():
    with pytest.raises(ValueError, match=r"^maps must be an array \(height, width, channels\); got \(1, 7, 7, 4\)\.$"):
        featuremaps.grid_png(np.zeros((1, 7, 7, 4)), n_channels=4)


def test_the_source_run_must_be_a_finished_builder_run_with_its_model(tmp_path):
    store = Store(tmp_path / "labcore.db")
    builder_config = {"spec": spec.default_spec().to_dict(), "train": {}}
    with pytest.raises(ConfigError, match=r"^source_run #99 is not in the store \(deleted\?\)\.$"):
        featuremaps.trained_model(store, 99)
    sleep = store.create_run("sleep", {}, owner="ann")
    with pytest.raises(ConfigError, match=r"^source_run must be a finished Model Builder run \(kind 'train', "
                                          rf"status 'done'\); got #{sleep}, a 'sleep' run that is queued\.$"):
        featuremaps.trained_model(store, sleep)
    trained = store.create_run("train", builder_config, owner="ann")
    finish_run(store, trained, {"test_accuracy": 0.5})
    with pytest.raises(ConfigError, match=rf"^source_run #{trained} stored no model.keras: only runs that finished"):
        featuremaps.trained_model(store, trained)
    store.add_artifact(trained, "model.keras", b"a model")
    run, path = featuremaps.trained_model(store, trained)
    assert run.id == trained and path.read_bytes() == b"a model"


def test_artifact_names_are_store_safe():
    assert featuremaps.artifact_name("group 12") == "feature_maps_group12.png"


def test_a_drawn_stage_says_what_its_picture_shows():
    (stage, *_) = featuremaps.stages(spec.default_spec())
    png, entry = featuremaps.draw(stage, np.zeros((28, 28, 16)), n_channels=4)
    assert entry == {"name": "stem", "layer": "stem_relu", "shape": [28, 28, 16], "channels": [0, 1, 2, 3],
                     "artifact": "feature_maps_stem.png"}
    assert _decoded(png).size == (2 * (56 + 2) + 2, 2 * (56 + 2) + 2)
