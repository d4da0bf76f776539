"""What the groups see: the feature maps of one test image, after the stem and after each group.

Owns the `feature_maps` job kind's Keras-free parts: its `FeatureMapsConfig`
and `RANGES`, the validator `problems`, `trained_model` (the source run's
`model.keras`, or why there is none), `stages` (which layer ends the stem
and each group, found by name in the spec's layer table), and `draw` with
`grid_png`, which tile a stage's channels into one picture. The runner
that loads the model and computes the maps is `labcore.featuremaps_runner`,
the only part that imports Keras; the Streamlit process imports this
module.
"""

import dataclasses
import io
import math

import numpy as np

from labcore import data, export
from labcore import spec as spec_lib
from labcore.errors import ConfigError, describe
from labcore.images import channels_grid
from labcore.records import Record, check
from labcore.spec import Range

__all__ = ["NORMALISATION", "RANGES", "FeatureMapsConfig", "Stage", "artifact_name", "draw", "grid_png",
           "problems", "stages", "trained_model"]

RANGES = {
    # Any dataset name here; `problems` checks it against `data.DATASETS` as it is now (uploads come and go).
    "dataset": Range("name", 1, 64),
    "image_index": Range("int", 0, 99_999),
    "n_channels": Range("int", 1, 64),
}

# What a caption says about the pictures, so the learner reads grey levels right.
NORMALISATION = ("Each square is one channel, min-max scaled on its own: black is that channel's lowest value "
                 "for this image, white its highest (a channel that is constant stays black).")

# A stage's tiles are scaled up to at least this many pixels, so a 7x7 map is as visible as a 28x28 one.
_TILE_PX = 48


@dataclasses.dataclass(frozen=True)
class FeatureMapsConfig(Record):
    """A `feature_maps` run: one test image through a finished Model Builder run's model.

    Args:
        source_run: int >= 1, the finished `train` run whose `model.keras`
            is read.
        dataset: str, a key of `labcore.data.DATASETS`; its images are
            adapted to the model's input as the run's were.
        image_index: int, the image's position in the dataset's whole test
            set, in [0, test images - 1].
        n_channels: int in [1, 64], how many channels of each stage to show
            (the first ones; fewer when a stage has fewer).
    """

    source_run: int
    dataset: str = data.DEFAULT_DATASET
    image_index: int = 0
    n_channels: int = 16


@dataclasses.dataclass(frozen=True)
class Stage:
    """A place in the model whose output is drawn.

    Args:
        name: str, "stem" or "group 1", "group 2", ... (the parts of
            `labcore.spec.summarize`).
        layer: str, the Keras layer whose output ends the stage.
        output_shape: tuple of ints (height, width, channels), as the spec
            predicts it.
    """

    name: str
    layer: str
    output_shape: tuple


def problems(config):
    """Validator of the `feature_maps` job kind.

    Whether `source_run` names a finished run with a model can only be
    checked against the store; the runner does it (`trained_model`).

    Args:
        config: dict of `FeatureMapsConfig` fields.

    Returns:
        list of str, every problem; empty when the run may be queued.

    Example:
    >>> problems({"source_run": 3, "image_index": 1000})
    ["image_index must be an int in [0, 999] (the test images of 'fashion_mnist_small'); got 1000."]
    """
    record, found, refused = check(FeatureMapsConfig, config, RANGES)
    if record is None:
        return found
    source = record.source_run
    if not isinstance(source, int) or isinstance(source, bool) or source < 1:
        found.append(describe("source_run", "the id of a finished Model Builder run (an int >= 1)", source))
    if "dataset" not in refused and record.dataset not in data.DATASETS:
        found.append(describe("dataset", f"one of {', '.join(repr(key) for key in data.DATASETS)}",
                              record.dataset))
        refused.add("dataset")
    if not refused & {"dataset", "image_index"}:
        n_test = data.DATASETS[record.dataset].n_test
        if record.image_index >= n_test:
            found.append(describe("image_index", f"an int in [0, {n_test - 1}] (the test images of "
                                                 f"{record.dataset!r})", record.image_index))
    return found


def trained_model(store, run_id, field="source_run"):
    """A finished Model Builder run and the path of its trained model, or why it has none.

    Args:
        store: labcore.store.Store.
        run_id: int, the run asked for.
        field: str, the config field that named it, for the messages
            (the Knowledge distillation lab's `teacher_run` asks too).

    Returns:
        (labcore.store.Run, Path): the run and its `model.keras` file.

    Raises:
        ConfigError: no such run, not a finished Model Builder run, or no
            model stored; the message says which.
    """
    run = store.get_run(run_id)
    if run is None:
        raise ConfigError(f"{field} #{run_id} is not in the store (deleted?).")
    if run.kind != "train" or run.status != "done":
        raise ConfigError(f"{field} must be a finished Model Builder run (kind 'train', status 'done'); "
                          f"got #{run_id}, a {run.kind!r} run that is {run.status}.")
    name = export.ARTIFACTS["keras"]
    try:
        return run, store.artifact_path(run_id, name)
    except KeyError:
        raise ConfigError(f"{field} #{run_id} stored no {name}: only runs that finished since exports were "
                          "added have one.") from None


def stages(spec):
    """The stem and each group, with the layer whose output ends it.

    The layer is the last one of its part in the spec's layer table
    (`labcore.spec.layer_table`, whose names and order are those of
    `labcore.composable.build_model`): "stem_relu" or "stem_pool" for the
    stem, the last block's output for a group ("learner_output" for the
    last group, the same tensor). A "none" stem has no layers, and no stage.

    Args:
        spec: ModelSpec, valid.

    Returns:
        list of Stage, in the model's order.

    Example:
    >>> [(stage.name, stage.layer) for stage in stages(spec_lib.default_spec())][:2]
    [('stem', 'stem_relu'), ('group 1', 'group1_block1_relu1')]
    """
    last = {}
    for row in spec_lib.layer_table(spec):
        last[row.part] = row
    return [Stage(part, row.name, tuple(row.output_shape)) for part, row in last.items()
            if part == "stem" or part.startswith("group ")]


def artifact_name(stage_name):
    """The artifact a stage's picture is stored under, e.g. "feature_maps_group1.png"."""
    return f"feature_maps_{stage_name.replace(' ', '')}.png"


def draw(stage, maps, n_channels):
    """One stage's picture, and what the run's result says about it.

    Args:
        stage: Stage.
        maps: array (height, width, channels), one image's output of the stage.
        n_channels: int >= 1, how many channels to show, from the first.

    Returns:
        (bytes, dict): the PNG (`grid_png`), and the stage's entry of the
        result: "name", "layer", "shape" (the maps' [height, width,
        channels]), "channels" (the indices shown) and "artifact" (the
        name to store the PNG under).
    """
    maps = np.asarray(maps)
    return grid_png(maps, n_channels), {
        "name": stage.name, "layer": stage.layer, "shape": list(maps.shape),
        "channels": list(range(min(n_channels, maps.shape[-1]))), "artifact": artifact_name(stage.name)}


def grid_png(maps, n_channels):
    """The first channels of one image's feature maps, tiled into a PNG.

    Channels are laid out in a near-square grid, each min-max scaled on its
    own (`labcore.images.channels_grid`; see `NORMALISATION`), and scaled
    up by a whole factor to tiles of at least 48 pixels.

    Args:
        maps: array (height, width, channels), one image's output of a stage.
        n_channels: int >= 1, how many channels to show, from the first.

    Returns:
        bytes, a PNG in RGB.

    Raises:
        ValueError: `maps` is not 3-dimensional.
    """
    maps = np.asarray(maps, dtype=np.float32)
    if maps.ndim != 3:
        raise ValueError(describe("maps", "an array (height, width, channels)", maps.shape))
    # A diverged model's NaN would turn into arbitrary grey levels; shown black instead.
    shown = np.nan_to_num(maps[..., :n_channels], nan=0.0, posinf=0.0, neginf=0.0)
    picture = channels_grid(shown, n_cols=math.ceil(math.sqrt(shown.shape[-1])),
                            scale=math.ceil(_TILE_PX / max(shown.shape[:2])))
    buffer = io.BytesIO()
    picture.save(buffer, format="PNG")
    return buffer.getvalue()
