"""
Title: AutoEncoder for CNN, the runner
Description: train a conv autoencoder, measure its reconstructions, then
time the same classifier head on pixels and on the frozen codes.

The only module of the lab that imports Keras, so only a worker process
imports it (the job kind names it by string); the package's docstring
says why the lab is built this way. `run` takes a Config the worker has
already validated with `recipe.problems`. Keras 3, backend-agnostic:
`keras` only, never `tf.*`. Every model comes from a `recipe` spec through
`labcore.composable`; every fit goes through `labcore.training.fit`, which
reports each epoch and stops within a batch when the run is cancelled.
"""

import functools
import io
import math
import time

import keras
import numpy as np

from labcore import composable, data, training
from labcore.images import image_grid
from labcore.labs.autoencoder import recipe
from labcore.labs.autoencoder.config import INPUT_SIZE
from labcore.reporting import Cancelled, StageReporter
from labcore.trainconfig import TrainConfig

__all__ = ["run"]

# The per-pixel error of a good reconstruction is a few hundredths: shown
# as it is, its row of the grid would be black.
ERROR_GAIN = 4
# Inference only: a large batch is faster and needs no gradients.
PREDICT_BATCH = 256
# Each step's label and share of the run's progress bar (about its share
# of the time).
_STEPS = {
    "autoencoder": ("autoencoder", 0.4),
    "quality": ("reconstruction quality", 0.05),
    "raw": ("classifier on pixels", 0.3),
    "encoded": ("classifier on codes", 0.1),
    "fine_tune": ("fine-tuning the encoder", 0.3),
}


def _steps(reporter, config):
    """A `StageReporter` factory for the steps, their slices of the bar laid end to end."""
    names = [name for name in _STEPS if name != "fine_tune" or config.fine_tune]
    total = sum(_STEPS[name][1] for name in names)
    bounds, start = {}, 0.0
    for name in names:
        end = start + _STEPS[name][1] / total
        bounds[name] = (start, end)
        start = end

    def step(name, after_epoch=None):
        label = _STEPS[name][0]
        if reporter.cancelled():
            raise Cancelled(f"cancelled before the step: {label}")
        return StageReporter(reporter, label, *bounds[name], after_epoch=after_epoch)

    return step


# ## Measurements
#
# Reconstructions are judged on the dataset's own pixels: the zero border
# added to reach 32x32 is cropped away first, since it is trivially easy to
# reconstruct and would flatter the MSE.


def _crop(images, image_shape):
    """The centred image_shape region of 32x32 images (what `data.load` padded)."""
    height, width = image_shape[:2]
    top, left = (INPUT_SIZE - height) // 2, (INPUT_SIZE - width) // 2
    return images[:, top:top + height, left:left + width, :]


def _reconstruct(model, images):
    return model.predict(images, batch_size=PREDICT_BATCH, verbose=0)


def _mse_per_image(originals, reconstructions):
    return np.mean((originals - reconstructions) ** 2, axis=(1, 2, 3))


def _psnr(mse):
    """Peak signal-to-noise ratio in dB for pixels in [0, 1]: 10 log10(1 / MSE)."""
    return 10.0 * np.log10(1.0 / np.maximum(mse, 1e-10))


def _one_per_class(labels, n_classes):
    """Indices of the first image of each class present, in class order."""
    return [int(np.flatnonzero(labels == label)[0]) for label in range(n_classes)
            if np.any(labels == label)]


def _grid_png(originals, reconstructions):
    """Originals, reconstructions and per-pixel error, one row each, as PNG bytes."""
    error = np.abs(originals - reconstructions).mean(axis=-1, keepdims=True)
    grid = image_grid(
        [list(originals), list(reconstructions), list(np.clip(ERROR_GAIN * error, 0.0, 1.0))],
        row_labels=("original", "reconstruction", f"|error| x{ERROR_GAIN}"),
    )
    buffer = io.BytesIO()
    grid.save(buffer, format="PNG")
    return buffer.getvalue()


def _seconds(value):
    return round(float(value), 3)


# ## Step 1: train the autoencoder


def _train_autoencoder(config, splits, showcase, step):
    """Fit the autoencoder on x -> x, storing the reconstruction grid every epoch."""
    image_shape = splits.info.image_shape
    crop = functools.partial(_crop, image_shape=image_shape)
    training.set_seed(config.seed)
    autoencoder = composable.build_model(recipe.autoencoder_spec(config, image_shape[2]))
    x_test = splits.x_test

    def grid():
        # A direct call, not predict(): it runs inside fit's epoch-end callback.
        reconstructed = keras.ops.convert_to_numpy(autoencoder(showcase, training=False))
        return _grid_png(crop(showcase), crop(reconstructed))

    # Measured before training too, so the run shows what training bought.
    mse_before = float(np.mean(_mse_per_image(crop(x_test), crop(_reconstruct(autoencoder, x_test)))))
    reporter = step("autoencoder",
                    after_epoch=lambda epoch: reporter.artifact("reconstructions.png", grid()))
    reporter.artifact("reconstructions_before.png", grid())

    train = TrainConfig(
        epochs=config.ae_warmup_epochs + config.ae_epochs,
        batch_size=config.ae_batch_size,
        learning_rate=config.ae_learning_rate,
        schedule=config.ae_schedule(),
        seed=config.seed,
        dataset=config.dataset,
    )
    fitted = training.fit(
        autoencoder, (splits.x_train, splits.x_train, splits.x_val, splits.x_val), train,
        reporter, series="autoencoder", loss="mse",
    )
    result = {
        "dataset": config.dataset,
        "n_train": int(len(splits.x_train)),
        "n_val": int(len(splits.x_val)),
        "n_test": int(len(x_test)),
        "autoencoder": {
            "params": int(autoencoder.count_params()),
            "epochs": fitted["epochs_run"],
            "warmup_epochs": config.ae_warmup_epochs,
            "mse_before_training": round(mse_before, 6),
            "final_val_loss": round(fitted["history"]["val_loss"][-1], 6),
            "final_train_loss": round(fitted["history"]["loss"][-1], 6),
            "seconds": _seconds(fitted["seconds"]),
            "seconds_per_epoch": _seconds(fitted["seconds_per_epoch"]),
            "first_epoch_seconds": _seconds(fitted["first_epoch_seconds"]),
        },
    }
    reporter.result(result)
    return autoencoder, result


# ## Step 2: reconstruction quality and the code


def _measure_reconstructions(config, autoencoder, splits, showcase, showcase_labels, step):
    """MSE and PSNR per held-out image, the compression ratio, a few codes."""
    reporter = step("quality")
    image_shape = splits.info.image_shape
    originals = _crop(splits.x_test, image_shape)
    mse = _mse_per_image(originals, _crop(_reconstruct(autoencoder, splits.x_test), image_shape))
    psnr = _psnr(mse)
    encoder = composable.encoder_of(autoencoder)
    codes = keras.ops.convert_to_numpy(encoder(showcase, training=False))
    sizes = recipe.bottleneck(config)
    reporter.artifact("psnr_per_image.npy", psnr.astype(np.float32))
    reporter.artifact("mse_per_image.npy", mse.astype(np.float32))
    reporter.artifact("showcase_images.npy", _crop(showcase, image_shape))
    reporter.artifact("latent_codes.npy", codes.astype(np.float32))
    reporter.progress(1.0, f"{len(mse)} images measured")
    result = {
        "input_shape": list(sizes["input_shape"]),
        "code_shape": list(codes.shape[1:]),
        "compression_ratio": round(sizes["input_size"] / math.prod(codes.shape[1:]), 3),
        "reconstruction": {
            "images": int(len(mse)),
            "mse_mean": round(float(mse.mean()), 6),
            "mse_median": round(float(np.median(mse)), 6),
            "psnr_db_mean": round(float(psnr.mean()), 2),
            "psnr_db_median": round(float(np.median(psnr)), 2),
            "psnr_db_p10": round(float(np.percentile(psnr, 10)), 2),
            "psnr_db_p90": round(float(np.percentile(psnr, 90)), 2),
            "measured_on": f"the {image_shape[0]}x{image_shape[1]} images (padding cropped)",
            "showcase_classes": [splits.info.class_names[label] for label in showcase_labels],
        },
    }
    reporter.result(result)
    return encoder, result


# ## Step 3: the same classifier head on pixels and on codes
#
# The head is built first after seeding, so both start from the same
# weights; on pixels the encoder's layers, fresh, come in front of it.


def _classifier(config, splits, pretrained=None, on_codes=False):
    """The head alone (on codes), or encoder layers + head (on pixels).

    `pretrained` (the trained autoencoder) gives the encoder layers its
    weights, copied by layer name: step 4's fine-tune.
    """
    channels = splits.info.image_shape[2]
    sizes = recipe.bottleneck(config)
    training.set_seed(config.seed)
    head = composable.build_model(
        recipe.classifier_spec(config, sizes["code_shape"], splits.info.n_classes)
    )
    if on_codes:
        return head
    stem = composable.build_model(recipe.encoder_spec(config, channels))
    if pretrained is not None:
        composable.transfer_weights(pretrained, stem)
    pixels = keras.Input(sizes["input_shape"], name="pixels")
    return keras.Model(pixels, head(stem(pixels)), name="classifier_on_pixels")


def _fit_classifier(config, model, inputs, splits, reporter, series):
    """Fit and test one classifier; its figures for the result."""
    x_train, x_val, x_test = inputs
    train = TrainConfig(
        epochs=config.classifier_epochs,
        batch_size=config.classifier_batch_size,
        learning_rate=config.learning_rate,
        seed=config.seed,
        dataset=config.dataset,
    )
    fitted = training.fit(model, (x_train, splits.y_train, x_val, splits.y_val), train,
                          reporter, series=series)
    reporter.progress(1.0, f"testing on {len(x_test)} images")
    tested = training.evaluate(model, x_test, splits.y_test, train)
    history = fitted["history"]
    return {
        "params": int(model.count_params()),
        "trainable_params": int(sum(math.prod(weight.shape) for weight in model.trainable_weights)),
        "epochs": fitted["epochs_run"],
        "train_accuracy": round(history["accuracy"][-1], 4),
        "val_accuracy": round(history["val_accuracy"][-1], 4),
        "best_val_accuracy": round(max(history["val_accuracy"]), 4),
        "test_accuracy": round(tested["accuracy"], 4),
        "seconds_per_epoch": _seconds(fitted["seconds_per_epoch"]),
        "first_epoch_seconds": _seconds(fitted["first_epoch_seconds"]),
        "images_per_second": round(fitted["images_per_second"], 1),
    }


def _compare_classifiers(config, encoder, splits, step):
    """Encode once (timed), then the head on pixels and on codes."""
    pixels = (splits.x_train, splits.x_val, splits.x_test)
    raw = _fit_classifier(config, _classifier(config, splits), pixels, splits,
                          step("raw"), "raw")
    reporter = step("encoded")
    reporter.progress(0.0, "encoding every image once")
    # One pass over all the images: one trace of the predict function.
    started = time.monotonic()
    codes = encoder.predict(np.concatenate(pixels), batch_size=PREDICT_BATCH, verbose=0)
    encode_seconds = time.monotonic() - started
    n_images = len(codes)
    codes = np.split(codes, np.cumsum([len(x) for x in pixels[:-1]]))
    encoded = _fit_classifier(config, _classifier(config, splits, on_codes=True), codes, splits,
                              reporter, "encoded")
    epochs = raw["epochs"]
    comparison = {
        "encoding": {
            "images": n_images,
            "seconds": _seconds(encode_seconds),
            "images_per_second": round(n_images / encode_seconds, 1),
            "what": "one predict pass of the frozen encoder over train, validation and test "
                    "images, compilation included",
        },
        "raw": raw,
        "encoded": encoded,
        "speed_up": round(raw["seconds_per_epoch"] / encoded["seconds_per_epoch"], 2),
        "speed_up_including_encoding": round(
            epochs * raw["seconds_per_epoch"]
            / (epochs * encoded["seconds_per_epoch"] + encode_seconds), 2),
        "accuracy_cost_points": round(100 * (raw["test_accuracy"] - encoded["test_accuracy"]), 1),
        "timing": "seconds per epoch and images per second are the steady state: the mean over "
                  "epochs after the first, which also compiles; seconds per epoch include "
                  "validation, images per second count training only",
    }
    reporter.result(comparison)
    return comparison


# ## Step 4: fine-tune the trained encoder as the stem


def _fine_tune(config, autoencoder, splits, step):
    """The classifier on pixels again, its encoder layers starting trained."""
    reporter = step("fine_tune")
    model = _classifier(config, splits, pretrained=autoencoder)
    pixels = (splits.x_train, splits.x_val, splits.x_test)
    result = {"fine_tune": _fit_classifier(config, model, pixels, splits, reporter, "fine_tune")}
    reporter.result(result)
    return result


# ## The run


def run(config, reporter):
    """Runner of the `autoencoder` job kind: the four steps of the lab.

    Each step reports its own part of the result as soon as it is done, so
    the page shows it while the next one trains; the merged whole is
    returned for the worker to store, not reported again.

    Args:
        config: Config, already parsed and validated by the worker.
        reporter: a `labcore.reporting.Reporter`.

    Returns:
        dict, every step's result merged.

    Raises:
        Cancelled: the reporter asked to stop.
    """
    step = _steps(reporter, config)
    reporter.progress(0.0, f"loading {config.dataset}")
    splits = data.load(
        config.dataset,
        subset=config.subset,
        val_fraction=config.val_fraction,
        seed=config.seed,
        pad_to=INPUT_SIZE,
        test_subset=config.test_subset,
    )
    # The same held-out images, one per class, in every grid of the run.
    shown = _one_per_class(splits.y_test, splits.info.n_classes)
    showcase, showcase_labels = splits.x_test[shown], splits.y_test[shown]

    autoencoder, result = _train_autoencoder(config, splits, showcase, step)
    encoder, measured = _measure_reconstructions(
        config, autoencoder, splits, showcase, showcase_labels, step
    )
    result.update(measured)
    result.update(_compare_classifiers(config, encoder, splits, step))
    if config.fine_tune:
        result.update(_fine_tune(config, autoencoder, splits, step))
    reporter.progress(1.0, "done")
    return result
