"""fit trains, reports every epoch, throttles progress, stops on cancel, restores the best epoch."""

import dataclasses
import threading
import time

import keras
import numpy as np
import pytest

from labcore import data, kinds, schedules, trainconfig, training
from labcore.errors import ConfigError
from labcore.reporting import Cancelled
from labcore.schedules import ScheduleSpec
from labcore.trainconfig import TrainConfig

N_CLASSES = 3
TINY = TrainConfig(epochs=3, batch_size=32, learning_rate=0.05, seed=0)


class FakeReporter:
    """Records what a fit reports; says "cancelled" after `cancel_after` batch checks."""

    def __init__(self, cancel_after=None):
        self.cancel_after = cancel_after
        self.cancel_checks = 0
        self.progress_calls = []
        self.epochs = []
        self.results = []

    def progress(self, fraction, text):
        self.progress_calls.append((fraction, text))

    def epoch(self, series, epoch, metrics):
        self.epochs.append((series, epoch, metrics))

    def artifact(self, name, value):
        return name

    def result(self, values):
        self.results.append(values)

    def cancelled(self):
        self.cancel_checks += 1
        return self.cancel_after is not None and self.cancel_checks > self.cancel_after


def separable_data(n=384, n_val=128, seed=0):
    """4x4 images whose class is the argmax of a fixed linear map: separable."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n + n_val, 4, 4, 1)).astype("float32")
    y = np.argmax(x.reshape(len(x), -1) @ rng.normal(size=(16, N_CLASSES)), axis=1)
    return x[:n], y[:n], x[n:], y[n:]


def tiny_model(seed=0, dropout=0.0):
    training.set_seed(seed)
    inputs = keras.Input((4, 4, 1))
    x = keras.layers.Flatten()(inputs)
    x = keras.layers.Dropout(dropout)(x)
    outputs = keras.layers.Dense(N_CLASSES, activation="softmax")(x)
    return keras.Model(inputs, outputs)


def test_fit_learns_separable_data_and_measures_its_speed():
    reporter = FakeReporter()
    config = dataclasses.replace(TINY, epochs=5)
    fitted = training.fit(tiny_model(), separable_data(), config, reporter)
    history = fitted["history"]
    assert history["val_accuracy"][-1] >= 0.9
    assert history["loss"][-1] < history["loss"][0]
    assert fitted["epochs_run"] == 5
    assert fitted["first_epoch_seconds"] > 0 and fitted["seconds_per_epoch"] > 0
    assert fitted["images_per_second"] > 0
    assert len(history["seconds"]) == len(history["images_per_second"]) == 5


def test_every_epoch_is_reported_from_one_with_the_scheduled_learning_rate():
    schedule = ScheduleSpec(kind="cosine", warmup_epochs=1, warmup_start=1e-3)
    config = dataclasses.replace(TINY, epochs=4, schedule=schedule)
    reporter = FakeReporter()
    training.fit(tiny_model(), separable_data(), config, reporter, series="baseline")
    assert [(series, epoch) for series, epoch, _ in reporter.epochs] == [
        ("baseline", epoch) for epoch in (1, 2, 3, 4)
    ]
    for _, epoch, metrics in reporter.epochs:
        expected = schedules.lr_at(epoch - 1, config.learning_rate, schedule, config.epochs)
        assert metrics["learning_rate"] == pytest.approx(expected, rel=1e-6)
        reported = {"loss", "accuracy", "val_loss", "val_accuracy", "seconds", "images_per_second"}
        assert reported <= set(metrics)


def _fake_fit(logs, **options):
    """2 epochs of 500 batches over 10 seconds of a fake clock, through a ReportingCallback; its reporter."""
    now = [0.0]
    reporter = FakeReporter()
    callback = training.ReportingCallback(reporter, clock=lambda: now[0], **options)
    callback.set_model(keras.Sequential())
    callback.set_params({"epochs": 2, "steps": 500})
    for epoch in range(2):
        callback.on_epoch_begin(epoch)
        for batch in range(500):
            now[0] += 0.01
            callback.on_train_batch_end(batch, logs)
    return reporter


def test_progress_is_throttled_to_four_a_second_with_a_fake_clock():
    reporter = _fake_fit({"loss": 0.5})
    assert 38 <= len(reporter.progress_calls) <= 41
    fractions = [fraction for fraction, _ in reporter.progress_calls]
    assert fractions == sorted(fractions) and fractions[-1] <= 1.0
    assert reporter.progress_calls[0] == (1 / 1000, "epoch 1/2 · batch 1/500 · loss 0.5")


def test_batch_readings_come_from_the_first_batch_once_a_second_at_their_place_in_the_fit():
    reporter = _fake_fit({"loss": 0.5, "accuracy": 0.25, "ignored": 1.0}, batch_series="between")
    readings = [(epoch, metrics) for series, epoch, metrics in reporter.epochs if series == "between"]
    assert readings[0] == (1, {"loss": 0.5, "accuracy": 0.25, "epoch_fraction": 1 / 500})
    assert 9 <= len(readings) <= 11
    steps = [step for step, _ in readings]
    assert steps == sorted(steps) and steps[-1] <= 1000
    assert [metrics["epoch_fraction"] for _, metrics in readings] == pytest.approx([step / 500 for step in steps])


def test_no_batch_readings_unless_asked():
    reporter = FakeReporter()
    training.fit(tiny_model(), separable_data(), dataclasses.replace(TINY, epochs=1), reporter)
    assert {series for series, _, _ in reporter.epochs} == {"train"}


def test_progress_during_a_real_fit_stays_within_the_rate():
    reporter = FakeReporter()
    config = dataclasses.replace(TINY, epochs=2, batch_size=2)
    started = time.monotonic()
    training.fit(tiny_model(), separable_data(), config, reporter)
    elapsed = time.monotonic() - started
    assert reporter.cancel_checks == 2 * 384 // 2  # checked after every batch
    assert 1 <= len(reporter.progress_calls) <= elapsed / 0.25 + 1


def test_cancel_stops_the_fit_within_one_batch_and_raises_cancelled():
    # 384 images at 32 per batch = 12 batches an epoch; cancel during the second.
    reporter = FakeReporter(cancel_after=15)
    config = dataclasses.replace(TINY, epochs=5)
    with pytest.raises(Cancelled):
        training.fit(tiny_model(), separable_data(), config, reporter)
    assert reporter.cancel_checks == 16
    assert [epoch for _, epoch, _ in reporter.epochs] == [1]


def test_early_stopping_ends_with_the_weights_of_the_best_validation_loss():
    # Validation labels contradict the training labels, so the validation
    # loss worsens as the model learns: the best epoch is an early one.
    x_train, y_train, x_val, y_val = separable_data()
    data = (x_train, y_train, x_val, (y_val + 1) % N_CLASSES)
    config = dataclasses.replace(TINY, epochs=20, early_stopping_patience=2)
    model = tiny_model()
    fitted = training.fit(model, data, config, FakeReporter())
    val_losses = fitted["history"]["val_loss"]
    assert fitted["epochs_run"] < 20
    assert val_losses[-1] > min(val_losses)
    restored = training.evaluate(model, data[2], data[3], config)
    assert restored["loss"] == pytest.approx(min(val_losses), rel=1e-5)


def test_same_seed_gives_identical_losses():
    config = dataclasses.replace(TINY, epochs=2)

    def losses(seed):
        reporter = FakeReporter()
        training.fit(tiny_model(seed, dropout=0.3), separable_data(), config, reporter)
        return [metrics["loss"] for _, _, metrics in reporter.epochs]

    first = losses(3)
    assert losses(3) == first
    assert losses(4) != first


def confident_model():
    """Softmax(10 * x): on one-hot inputs, 99.99% on the right class."""
    inputs = keras.Input((N_CLASSES,))
    outputs = keras.layers.Dense(N_CLASSES, activation="softmax")(inputs)
    return keras.Model(inputs, outputs)


@pytest.mark.parametrize("smoothing", [0.0, 0.1])
def test_label_smoothing_makes_a_confident_correct_prediction_cost(smoothing):
    labels = np.arange(30) % N_CLASSES
    x = np.eye(N_CLASSES, dtype="float32")[labels]
    config = dataclasses.replace(TINY, epochs=1, label_smoothing=smoothing)
    model = confident_model()
    training.fit(model, (x, labels, x[:0], labels[:0]), config, FakeReporter())
    model.set_weights([10 * np.eye(N_CLASSES, dtype="float32"), np.zeros(N_CLASSES, "float32")])
    log_right = -np.log1p(2 * np.exp(-10.0))
    log_wrong = log_right - 10.0
    # Smoothed targets: 1 - s + s/3 on the right class, s/3 on each wrong one.
    expected = -((1 - smoothing + smoothing / 3) * log_right + 2 * (smoothing / 3) * log_wrong)
    loss = training.evaluate(model, x, labels, config)["loss"]
    assert loss == pytest.approx(expected, rel=1e-3)
    assert (loss > 0.6) == (smoothing > 0)


def test_label_smoothing_with_an_explicit_loss_is_refused():
    config = dataclasses.replace(TINY, label_smoothing=0.1)
    with pytest.raises(ConfigError, match="train.label_smoothing applies to the default"):
        training.fit(tiny_model(), separable_data(), config, FakeReporter(), loss="mse")


@pytest.mark.parametrize(
    ("name", "expected"),
    [("adam", "Adam"), ("sgd", "SGD"), ("rmsprop", "RMSprop"), ("adamw", "AdamW")],
)
def test_optimizer_for_builds_the_named_optimizer(name, expected):
    config = dataclasses.replace(TINY, optimizer=name, momentum=0.8, weight_decay=0.01)
    optimizer = training.optimizer_for(config)
    assert type(optimizer).__name__ == expected
    assert float(keras.ops.convert_to_numpy(optimizer.learning_rate)) == pytest.approx(0.05)
    if name == "sgd":
        assert optimizer.momentum == 0.8
    if name == "adamw":
        assert optimizer.weight_decay == 0.01


def test_train_run_pads_the_data_to_the_spec_and_reports_its_result():
    available, why = data.availability("fashion_mnist_small")
    if not available:
        pytest.skip(why)
    # A 32x32x3 model on 28x28x1 images: the runner pads and repeats channels.
    spec = {
        "input_shape": [32, 32, 3],
        "stem": {"n_filters": 8},
        "learner": {"block": "plain", "groups": [{"n_filters": 8, "n_blocks": 1}]},
    }
    train = dataclasses.replace(TINY, epochs=2, subset=300, test_subset=100, learning_rate=0.01)
    reporter = FakeReporter()
    config = kinds.parse("train", {"spec": spec, "train": train.to_dict()})
    result = training.train_run(config, reporter)
    assert reporter.results == []  # the worker writes the returned result, once
    assert [epoch for series, epoch, _ in reporter.epochs if series == "train"] == [1, 2]
    # And readings between epochs, from the first batch on (`reporting.BATCH_SERIES`).
    between = [metrics for series, _, metrics in reporter.epochs if series == "train_batches"]
    assert between and between[0]["epoch_fraction"] <= 1.0 and "loss" in between[0]
    assert result["dataset"] == "fashion_mnist_small"
    assert (result["n_train"], result["n_test"], result["epochs_run"]) == (270, 100, 2)
    assert 0.0 <= result["test_accuracy"] <= 1.0 and result["test_loss"] > 0
    assert 0.0 <= result["best_val_accuracy"] <= 1.0
    assert result["params"] > 0 and result["images_per_second"] > 0


def test_a_bad_train_config_is_refused_before_the_runner_is_loaded():
    with pytest.raises(ConfigError, match=r"train.epochs must be an int in \[1, 500\]; got 0."):
        kinds.parse("train", {"spec": {}, "train": {"epochs": 0}})


# A small model on a GPU waits on Python between steps; two settings cut the
# round trips: several steps per compiled call, and a progress hook that Keras
# runs off the training loop's thread.


def test_steps_per_execution_is_validated_and_reaches_compile():
    assert TrainConfig().steps_per_execution == 1
    assert trainconfig.problems(TrainConfig(steps_per_execution=0)) == [
        "train.steps_per_execution must be an int in [1, 1000]; got 0."
    ]
    reporter = FakeReporter()
    model = tiny_model()
    # 384 images at 32 per batch = 12 steps an epoch, in 3 calls of 4.
    fitted = training.fit(model, separable_data(), dataclasses.replace(TINY, steps_per_execution=4), reporter)
    assert model.steps_per_execution == 4
    assert fitted["epochs_run"] == 3 and [e for _, e, _ in reporter.epochs] == [1, 2, 3]
    assert fitted["history"]["val_accuracy"][-1] >= 0.8
    # Keras calls the batch hook once per call: 3 an epoch, not 12.
    assert reporter.cancel_checks == 9


def test_the_progress_hook_runs_off_the_training_thread_where_the_backend_allows():
    # Keras dispatches async-safe batch hooks to a thread on every backend
    # but TensorFlow, whose eager step is synchronous anyway.
    class ThreadRecorder(FakeReporter):
        def __init__(self):
            super().__init__()
            self.threads = set()

        def cancelled(self):
            self.threads.add(threading.current_thread().name)
            return super().cancelled()

    reporter = ThreadRecorder()
    fitted = training.fit(tiny_model(), separable_data(), TINY, reporter)
    if keras.backend.backend() == "tensorflow":
        assert reporter.threads == {threading.current_thread().name}
    else:
        assert threading.current_thread().name not in reporter.threads and reporter.threads
    assert reporter.cancel_checks == 36  # every batch still seen, before its epoch is reported
    assert len(reporter.epochs) == 3 and all(m["images_per_second"] > 0 for _, _, m in reporter.epochs)
    assert fitted["images_per_second"] > 0
