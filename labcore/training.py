"""Training with live reports: fit, evaluate, and the `train` job's runner.

Owns how a `TrainConfig` becomes a Keras optimizer, loss and callbacks, the
`ReportingCallback` that sends per-epoch metrics and throttled batch progress
to a reporter (and stops the fit when the run is cancelled), and
`train_run`, the runner of the `train` job kind. Imports Keras (backend
agnostic: `keras` only, never `tf.*`), so only worker processes import it;
the Streamlit process validates with the Keras-free `labcore.trainconfig`.
"""

import contextlib
import pathlib
import tempfile
import threading
import time

import keras

from labcore import composable, data, export, reporting, schedules, trainconfig
from labcore.errors import ConfigError, LabError
from labcore.reporting import Cancelled

__all__ = [
    "ReportingCallback",
    "evaluate",
    "fit",
    "optimizer_for",
    "precision_policy",
    "set_seed",
    "stored_weights",
    "timed_predict",
    "train_run",
]


def set_seed(seed):
    """Seed Python, NumPy and the Keras backend, for reproducible runs.

    Call it before building the model: the seed fixes the initial weights,
    then the shuffling and dropout of the fits that follow.

    Args:
        seed: int.
    """
    keras.utils.set_random_seed(seed)


@contextlib.contextmanager
def precision_policy(mixed_precision):
    """Build the layers made inside under Keras's "mixed_float16" policy, if asked.

    Layers keep the policy they were made with (float16 compute, float32
    weights), and `compile` wraps the optimizer of such a model in a
    `LossScaleOptimizer`; the global policy goes back to what it was on
    exit, so a later model in the same process is float32 again.

    Args:
        mixed_precision: bool; False leaves the policy alone.
    """
    if not mixed_precision:
        yield
        return
    previous = keras.mixed_precision.global_policy()
    keras.mixed_precision.set_global_policy("mixed_float16")
    try:
        yield
    finally:
        keras.mixed_precision.set_global_policy(previous)


class ReportingCallback(keras.callbacks.Callback):
    """Sends a fit's progress to a reporter and stops it when cancelled.

    Per epoch: `reporter.epoch(series, epoch, metrics)` with `epoch` counted
    from 1 (as Keras prints it) and metrics = Keras's logs (loss, accuracy,
    val_loss, ...) plus `learning_rate` (the rate that epoch trained with),
    `seconds` (wall time of the epoch, validation included) and
    `images_per_second` (training images over training time). Per batch:
    `reporter.progress(fraction of the whole fit, text)`, at most once per
    `min_interval_s`; with a `batch_series`, at most once per
    `batch_interval_s`, `reporter.epoch(batch_series, step, {"loss", ...,
    "epoch_fraction"})`: Keras's running means of the epoch so far, at the
    global step (from 1) and at the fraction of epochs done, so a curve
    shows from the first batch instead of after a whole epoch; and
    `reporter.cancelled()`; when it says yes the model
    stops after that batch, the cut epoch is not reported, and
    `was_cancelled` becomes True (`fit` then raises `Cancelled`). What was
    reported stays in `epoch_metrics`, one dict per epoch.

    Args:
        reporter: a `labcore.reporting.Reporter`.
        series: str, the name the epochs are stored under.
        n_train: int or None, training images per epoch, for images/s.
        min_interval_s: float, least seconds between two progress reports.
        batch_series: str or None, the series batch readings are stored
            under; None stores none.
        batch_interval_s: float, least seconds between two batch readings.
        clock: callable returning seconds, monotonic (tests pass a fake).

    The batch hook is `async_safe`: Keras runs it on a thread of its own,
    so the training loop does not wait for each batch's loss to reach the
    host (on JAX a device sync per batch, which leaves a GPU idle between
    small steps). A lock keeps two of them from interleaving; Keras waits
    for all of them before `on_epoch_end`.
    """

    async_safe = True

    def __init__(
        self, reporter, series="train", n_train=None, min_interval_s=0.25, batch_series=None,
        batch_interval_s=1.0, clock=time.monotonic,
    ):
        super().__init__()
        self.reporter = reporter
        self.series = series
        self.n_train = n_train
        self.min_interval_s = min_interval_s
        self.batch_series = batch_series
        self.batch_interval_s = batch_interval_s
        self.clock = clock
        self.was_cancelled = False
        self.epoch_metrics = []
        self.train_seconds = []
        self._epoch = 0
        self._epoch_started = 0.0
        self._last_batch_ended = 0.0
        self._last_report = {}
        self._batch_lock = threading.Lock()

    def set_model(self, model):
        super().set_model(model)
        # On JAX, `self.model` copies the training state into the model's
        # variables: from this hook's thread, mid-step, that would race the
        # training loop (and hand it buffers the next step already donated).
        # Stopping needs only the flag.
        self._stoppable = model

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch
        self._epoch_started = self._last_batch_ended = self.clock()

    def on_train_batch_end(self, batch, logs=None):
        with self._batch_lock:
            self._on_batch(batch, logs)

    def _on_batch(self, batch, logs):
        # The logs arrived on the host just now: the batch has ended. Hooks
        # may run out of order on Keras's threads, hence max.
        self._last_batch_ended = max(self._last_batch_ended, self.clock())
        if self.was_cancelled:
            return
        if self.reporter.cancelled():
            self.was_cancelled = True
            self._stoppable.stop_training = True
            return
        epochs, steps = self.params.get("epochs", 1), self.params.get("steps")
        if self.batch_series and steps and logs and self._due("batch reading", self.batch_interval_s):
            readings = {name: float(logs[name]) for name in ("loss", "accuracy") if name in logs}
            readings["epoch_fraction"] = self._epoch + (batch + 1) / steps
            self.reporter.epoch(self.batch_series, self._epoch * steps + batch + 1, readings)
        if not self._due("progress", self.min_interval_s):
            return
        if steps:
            fraction = (self._epoch * steps + batch + 1) / (epochs * steps)
            text = f"epoch {self._epoch + 1}/{epochs} · batch {batch + 1}/{steps}"
        else:
            fraction = self._epoch / epochs
            text = f"epoch {self._epoch + 1}/{epochs} · batch {batch + 1}"
        if logs and "loss" in logs:
            text += f" · loss {float(logs['loss']):.3g}"
        self.reporter.progress(min(fraction, 1.0), text)

    def on_epoch_end(self, epoch, logs=None):
        if self.was_cancelled:
            return
        ended = self.clock()
        seconds = ended - self._epoch_started
        train_seconds = self._last_batch_ended - self._epoch_started
        self.train_seconds.append(train_seconds)
        metrics = {name: float(value) for name, value in (logs or {}).items()}
        metrics["learning_rate"] = float(
            keras.ops.convert_to_numpy(self.model.optimizer.learning_rate)
        )
        metrics["seconds"] = seconds
        if self.n_train and train_seconds > 0:
            metrics["images_per_second"] = self.n_train / train_seconds
        self.epoch_metrics.append(metrics)
        self.reporter.epoch(self.series, epoch + 1, metrics)

    def _due(self, kind, interval_s):
        """Whether `interval_s` has passed since the last report of this kind; if so, it is now."""
        now = self.clock()
        if kind in self._last_report and now - self._last_report[kind] < interval_s:
            return False
        self._last_report[kind] = now
        return True


def optimizer_for(config):
    """The Keras optimizer a config names, at its base learning rate.

    Args:
        config: TrainConfig; `momentum` applies to "sgd", `weight_decay` to
            "adamw" only.

    Returns:
        keras.optimizers.Optimizer.
    """
    rate = config.learning_rate
    if config.optimizer == "sgd":
        return keras.optimizers.SGD(learning_rate=rate, momentum=config.momentum)
    if config.optimizer == "rmsprop":
        return keras.optimizers.RMSprop(learning_rate=rate)
    if config.optimizer == "adamw":
        return keras.optimizers.AdamW(learning_rate=rate, weight_decay=config.weight_decay)
    return keras.optimizers.Adam(learning_rate=rate)


def _targets(model, labels, config, loss):
    """Labels in the form the compiled loss expects.

    Keras's sparse cross-entropy has no label smoothing, so a smoothed run
    trains on one-hot labels with `CategoricalCrossentropy`, which smooths
    exactly as the original labs' one-hot labels did.
    """
    if loss is None and config.label_smoothing > 0:
        return keras.utils.to_categorical(labels, model.output_shape[-1])
    return labels


def _compile(model, config, loss, metrics):
    """Compile `model` with the config's optimizer and the right loss."""
    if loss is not None and config.label_smoothing > 0:
        raise ConfigError(
            "train.label_smoothing applies to the default classification loss; "
            f"got {config.label_smoothing!r} with an explicit loss {loss!r}."
        )
    if loss is None:
        if config.label_smoothing > 0:
            loss = keras.losses.CategoricalCrossentropy(label_smoothing=config.label_smoothing)
        else:
            loss = keras.losses.SparseCategoricalCrossentropy()
        metrics = ["accuracy"] if metrics is None else metrics
    model.compile(optimizer=optimizer_for(config), loss=loss, metrics=metrics or [],
                  steps_per_execution=config.steps_per_execution)


def fit(model, data, config, reporter, series="train", loss=None, metrics=None, callbacks=(), batch_series=None):
    """Train `model` as `config` says, reporting as it goes.

    Compiles (optimizer, loss, metrics), applies `schedules.lr_at` every
    epoch, stops early on the validation loss when
    `early_stopping_patience` > 0 (ending with the best epoch's weights when
    `restore_best`), and reports through a `ReportingCallback`.

    Args:
        model: keras.Model, built; call `set_seed` before building it.
        data: (x_train, y_train, x_val, y_val) NumPy arrays; empty or None
            validation arrays train without validation.
        config: TrainConfig.
        reporter: a `labcore.reporting.Reporter`.
        series: str, the name the epochs are reported under.
        loss: None for classification (integer labels, softmax output;
            sparse cross-entropy, or one-hot cross-entropy with label
            smoothing), else any Keras loss used as given (e.g. "mse" for an
            autoencoder, whose y is its x).
        metrics: list or None; None = ["accuracy"] with the default loss,
            none otherwise.
        callbacks: more Keras callbacks, run after the schedule and early
            stopping, before the reporting.
        batch_series: str or None, also store running readings every second
            or so under this series (`ReportingCallback`).

    Returns:
        dict: "history" (Keras's per-epoch lists, with "learning_rate",
        "seconds" and "images_per_second" per epoch), "epochs_run",
        "seconds" (the whole fit), "first_epoch_seconds" (includes tracing
        and compilation), "seconds_per_epoch" and "images_per_second" (the
        steady state: epochs after the first, or the first when it is the
        only one).

    Raises:
        Cancelled: the reporter asked to stop; the fit stopped within one
            batch.
        ConfigError: label smoothing together with an explicit loss.
    """
    x_train, y_train, x_val, y_val = data
    _compile(model, config, loss, metrics)
    has_validation = x_val is not None and len(x_val) > 0
    validation = (x_val, _targets(model, y_val, config, loss)) if has_validation else None

    def learning_rate(epoch, _current_rate):
        # The rate Keras passes in is ignored on purpose: reading it is how
        # the original labs' cosine compounded.
        return schedules.lr_at(epoch, config.learning_rate, config.schedule, config.epochs)

    reporting = ReportingCallback(reporter, series=series, n_train=len(x_train), batch_series=batch_series)
    stopping = []
    if config.early_stopping_patience > 0 and has_validation:
        stopping.append(
            keras.callbacks.EarlyStopping(
                monitor="val_loss",
                patience=config.early_stopping_patience,
                restore_best_weights=config.restore_best,
            )
        )
    callbacks = [keras.callbacks.LearningRateScheduler(learning_rate), *stopping, *callbacks, reporting]

    started = time.monotonic()
    keras_history = model.fit(
        x_train,
        _targets(model, y_train, config, loss),
        batch_size=config.batch_size,
        epochs=config.epochs,
        validation_data=validation,
        shuffle=True,
        callbacks=callbacks,
        verbose=0,
    )
    seconds = time.monotonic() - started
    if reporting.was_cancelled:
        raise Cancelled(f"{series}: cancelled after {len(reporting.epoch_metrics)} full epochs")

    history = {
        name: [float(value) for value in values]
        for name, values in keras_history.history.items()
    }
    for name in ("learning_rate", "seconds", "images_per_second"):
        history[name] = [metrics.get(name) for metrics in reporting.epoch_metrics]
    epoch_seconds = history["seconds"]
    # The first epoch also traces and compiles the model, so the steady
    # state is measured over the epochs after it.
    steady_seconds = epoch_seconds[1:] or epoch_seconds
    steady_train_seconds = reporting.train_seconds[1:] or reporting.train_seconds
    return {
        "history": history,
        "epochs_run": len(epoch_seconds),
        "seconds": seconds,
        "first_epoch_seconds": epoch_seconds[0],
        "seconds_per_epoch": sum(steady_seconds) / len(steady_seconds),
        "images_per_second": len(x_train) * len(steady_train_seconds) / sum(steady_train_seconds),
    }


def evaluate(model, x, y, config, loss=None):
    """Loss and metrics of a model fitted by `fit`, on held-out data.

    Args:
        model: keras.Model, compiled by `fit`.
        x: NumPy array, images.
        y: NumPy array, integer labels (or targets, with an explicit loss).
        config: TrainConfig the model was fitted with.
        loss: the `loss` given to `fit`.

    Returns:
        dict of floats, e.g. {"loss": 0.41, "accuracy": 0.86}.
    """
    values = model.evaluate(
        x,
        _targets(model, y, config, loss),
        batch_size=config.batch_size,
        return_dict=True,
        verbose=0,
    )
    return {name: float(value) for name, value in values.items()}


def _announce(reporter, text):
    """Report a phase of the run at once, past the reporter's throttle.

    Data loading, model building and the first batch follow each other
    within a fraction of a second to seconds; a throttled reporter would
    hold the later messages back and leave the first one showing.
    """
    reporter.progress(0.0, text)
    flush = getattr(reporter, "flush", None)
    if flush is not None:
        flush()


def save_weights_artifact(model, reporter, name):
    """Store a model's weights as the run's artifact `name` (Keras writes files, so via a temporary one)."""
    with tempfile.TemporaryDirectory(prefix="labcore-weights-") as folder:
        path = pathlib.Path(folder) / name
        model.save_weights(path)
        reporter.artifact(name, path.read_bytes())


def stored_weights(reporter, kind, matches, name):
    """This run owner's newest finished run of `kind` that `matches`, with the path of its weights `name`.

    How a step continues from another step's stored weights (saved by
    `save_weights_artifact`) instead of training them again. Only a
    worker's reporter has a store (`StoreReporter.store`); a console run
    has none to look in.

    Args:
        reporter: the run's reporter.
        kind: str, the kind of the runs to look in.
        matches: callable(config dict) -> bool, whether a run's weights fit.
        name: str, the weights' artifact name.

    Returns:
        (Run, Path) or None when no finished run of this owner matches and
        has the artifact.
    """
    store, run_id = getattr(reporter, "store", None), getattr(reporter, "run_id", None)
    if store is None or run_id is None:
        return None
    owner = store.get_run(run_id).owner
    for earlier in store.list_runs(statuses=("done",), owner=owner, kind=kind):
        if earlier.id != run_id and matches(earlier.config):
            try:
                return earlier, store.artifact_path(earlier.id, name)
            except KeyError:
                continue
    return None


def timed_predict(model, images, batch_size=256, repeats=1):
    """A model's outputs on some images, and the milliseconds per image it took.

    One batch first traces the predict function, so the time is the steady
    state per image, not the tracing. With `repeats` > 1 the fastest pass
    counts: on a shared machine the other work only ever adds time.

    Args:
        model: keras.Model.
        images: NumPy array (images, ...).
        batch_size: int, images per predict batch.
        repeats: int >= 1, passes over the images.

    Returns:
        (NumPy array of outputs, float milliseconds per image).
    """
    model.predict(images[:batch_size], batch_size=batch_size, verbose=0)
    fastest = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        outputs = model.predict(images, batch_size=batch_size, verbose=0)
        fastest = min(fastest, time.perf_counter() - started)
    return outputs, 1000.0 * fastest / len(images)


def inherit_weights(model, parent_spec, weights):
    """Start `model` from a parent's trained weights wherever a layer matches by name and shape.

    Args:
        model: keras.Model, freshly built.
        parent_spec: ModelSpec the weights were trained on (the same spec
            as `model`'s copies every layer).
        weights: path of the parent's weights file.

    Returns:
        list of str, the layers copied.
    """
    parent = composable.build_model(parent_spec)
    parent.load_weights(weights)
    names = composable.matching_layers(parent, model)
    composable.transfer_weights(parent, model, names)
    return names


def save_exports(model, config, reporter):
    """Store what a Model Builder run exports (`labcore.export`): the model as `.keras`, and its script.

    The script needs the dataset's IDX files on disk; without them (CIFAR-10)
    the run stores the model alone.
    """
    with tempfile.TemporaryDirectory(prefix="labcore-export-") as folder:
        path = pathlib.Path(folder) / export.ARTIFACTS["keras"]
        model.save(path)
        reporter.artifact(path.name, path.read_bytes())
    try:
        source = export.script(model.to_json(), config, getattr(reporter, "run_id", None), config.spec.name)
    except LabError:
        return
    reporter.artifact(export.ARTIFACTS["script"], source.encode())


def train_run(config, reporter, inherit_from=None, keep_weights=None, exports=True):
    """Runner of the `train` job kind: build, fit, test, return the result.

    Loads the dataset (padded and channel-repeated to the spec's input, see
    `trainconfig.load_options`), builds the spec's model (under Keras's
    "mixed_float16" policy when `mixed_precision`), fits it with
    per-epoch reports under series "train" and evaluates it on the test set
    (a stratified, seeded draw of `test_subset` images when set).

    Args:
        config: trainconfig.RunConfig, already validated
            (`trainconfig.problems_for_run`).
        reporter: a `labcore.reporting.Reporter`.
        inherit_from: (parent ModelSpec, path of its weights file) to start
            from wherever layers match (`inherit_weights`), or None for
            fresh weights.
        keep_weights: str or None, an artifact name to store the trained
            weights under.
        exports: bool, store the trained model and a standalone script
            (`save_exports`); a search's trials, which keep weights only
            for promotion, pass False.

    Returns:
        dict, the result: test_accuracy, test_loss, params,
        best_val_accuracy (None without validation), epochs_run, seconds,
        first_epoch_seconds, seconds_per_epoch, images_per_second, dataset,
        n_train, n_test; inheriting, also inherited_layers and
        layers_with_weights.

    Raises:
        Cancelled: the reporter asked to stop.
    """
    spec, train = config.spec, config.train
    set_seed(train.seed)

    _announce(reporter, f"loading {train.dataset}")
    info = data.DATASETS[train.dataset]
    splits = data.load(
        train.dataset,
        subset=train.subset,
        val_fraction=train.val_fraction,
        seed=train.seed,
        test_subset=train.test_subset,
        **trainconfig.load_options(spec.input_shape, info.image_shape),
    )
    x_test, y_test = splits.x_test, splits.y_test

    _announce(reporter, "building the model")
    with precision_policy(train.mixed_precision):
        model = composable.build_model(spec)
    inherited = None if inherit_from is None else inherit_weights(model, *inherit_from)
    # The first batch traces and compiles the model: seconds on a CPU,
    # during which no batch progress can come.
    _announce(reporter, "compiling the model (the first batch)")
    fitted = fit(
        model, (splits.x_train, splits.y_train, splits.x_val, splits.y_val), train, reporter,
        batch_series=reporting.BATCH_SERIES,
    )
    reporter.progress(1.0, f"testing on {len(x_test)} images")
    tested = evaluate(model, x_test, y_test, train)

    if keep_weights is not None:
        save_weights_artifact(model, reporter, keep_weights)
    if exports:
        save_exports(model, config, reporter)
    val_accuracy = fitted["history"].get("val_accuracy")
    result = {
        "test_accuracy": tested["accuracy"],
        "test_loss": tested["loss"],
        "params": int(model.count_params()),
        "best_val_accuracy": max(val_accuracy) if val_accuracy else None,
        # The last epoch's, for a reading of the fit (labcore.fit_reading).
        "train_accuracy": fitted["history"]["accuracy"][-1],
        "val_accuracy": val_accuracy[-1] if val_accuracy else None,
        "epochs_run": fitted["epochs_run"],
        "seconds": fitted["seconds"],
        "first_epoch_seconds": fitted["first_epoch_seconds"],
        "seconds_per_epoch": fitted["seconds_per_epoch"],
        "images_per_second": fitted["images_per_second"],
        "dataset": train.dataset,
        "n_train": int(len(splits.x_train)),
        "n_test": int(len(x_test)),
    }
    if inherited is not None:
        result["inherited_layers"] = len(inherited)
        result["layers_with_weights"] = sum(1 for layer in model.layers if layer.weights)
    return result
