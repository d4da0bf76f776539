"""The `feature_maps` job's runner: one test image through a trained model, one picture per stage.

Loads the source run's `model.keras`, cuts a model from its input to the
output of the stem and of each group (found by name: `featuremaps.stages`),
runs the one image and stores each stage's first channels as a PNG
artifact. Imports Keras (`keras` and `keras.ops` only, so any Keras 3
backend runs it): only worker processes import this module; the Streamlit
process validates with the Keras-free `labcore.featuremaps`.
"""

import keras
import numpy as np

from labcore import data, featuremaps, trainconfig
from labcore.errors import ConfigError
from labcore.reporting import Cancelled

__all__ = ["run"]

# `data.load` draws at least 10 training images; this job needs none of them.
_FEWEST_TRAIN_IMAGES = 10


def _test_image(config, spec):
    """The config's test image as the model takes it (a batch of one), and its label."""
    info = data.DATASETS[config.dataset]
    # The whole test set, in its own order, so `image_index` is the image the page showed; adapted
    # (padded, channels) by the same code that fed the run's training.
    splits = data.load(config.dataset, subset=_FEWEST_TRAIN_IMAGES, val_fraction=0.0,
                       **trainconfig.load_options(spec.input_shape, info.image_shape))
    index = config.image_index
    return splits.x_test[index:index + 1], int(splits.y_test[index])


def run(config, reporter):
    """Runner of the `feature_maps` kind.

    Args:
        config: featuremaps.FeatureMapsConfig, already validated.
        reporter: a `labcore.reporting.Reporter` with the run store
            (`StoreReporter.store`), where the source run's model is.

    Returns:
        dict: "source_run", "dataset", "image_index", "label" and
        "class_name" (the image's true class), "predicted" and
        "predicted_class" (the model's most probable class, named as in
        the dataset it trained on) with its "probability",
        "normalisation" (what the grey levels mean) and "stages": per
        stage its "name", "layer", "shape" (height, width, channels of
        its output), "channels" (the indices shown) and "artifact" (the
        PNG's artifact name), as `featuremaps.draw` words them.

    Raises:
        ConfigError: the reporter has no store, the source run has no
            model, or the dataset's images do not fit the model's input.
        Cancelled: the run was cancelled.
    """
    store = getattr(reporter, "store", None)
    if store is None:
        raise ConfigError("feature maps read the source run's model from the run store: run them as a queued run.")
    source, model_path = featuremaps.trained_model(store, config.source_run)
    trained = trainconfig.RunConfig.from_dict(source.config)
    stages = featuremaps.stages(trained.spec)

    reporter.progress(0.1, f"loading test image {config.image_index} of {config.dataset}")
    image, label = _test_image(config, trained.spec)
    reporter.progress(0.4, f"loading the model of run #{config.source_run}")
    # The optimizer's state is not needed to run the model forward.
    model = keras.saving.load_model(model_path, compile=False)
    probe = keras.Model(model.input, [model.get_layer(stage.layer).output for stage in stages] + model.outputs)
    if reporter.cancelled():
        raise Cancelled("cancelled before the image went through the model")

    reporter.progress(0.7, "computing the feature maps")
    *maps, probabilities = (keras.ops.convert_to_numpy(output) for output in probe(image, training=False))
    drawn = []
    for stage, stage_maps in zip(stages, maps):
        png, entry = featuremaps.draw(stage, stage_maps[0], config.n_channels)
        reporter.artifact(entry["artifact"], png)
        drawn.append(entry)
    predicted = int(np.argmax(probabilities[0]))
    # The model answers in the classes it was trained on, which may be another dataset's.
    trained_on = data.DATASETS[trained.train.dataset].class_names
    return {
        "source_run": config.source_run, "dataset": config.dataset, "image_index": config.image_index,
        "label": label, "class_name": data.DATASETS[config.dataset].class_names[label],
        "predicted": predicted, "predicted_class": trained_on[predicted],
        "probability": float(probabilities[0][predicted]),
        "normalisation": featuremaps.NORMALISATION, "stages": drawn,
    }
