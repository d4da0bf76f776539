"""Training overhead: plain `model.fit` vs the app's job queue and worker.

The same model (the default spec, or `--spec FILE|REFERENCE`) on the same
data (`labcore.data.load`, same seed, subset and validation split) with the
same settings (Adam, sparse cross-entropy, accuracy, batch size, epochs,
validation data, shuffling) is trained:

  (a) plain: by a fresh `python -m bench.training_overhead --plain ...`
      process that builds the model with `labcore.composable.build_model`
      and calls `model.fit` with one tiny timing callback (no batch hooks);
  (h) plain + hook (with `--hook`): the same, plus a no-op
      `on_train_batch_end` callback -- on JAX/torch that alone makes Keras
      convert every batch's logs on the main thread (a device sync per
      batch), which the app's reporting callback also does;
  (b) app: `jobs.submit("train", ...)` into a temporary store, run by a
      `Supervisor(prewarm=False)` held by this process, in a worker process,
      reading `run.result`.

Images per second are measured the way `labcore.training` does: training
images over training time (epoch start to the end of its last batch; the
plain script ends it when validation starts, after a device sync), averaged
over the epochs after the first (which traces and compiles). Seconds per
epoch (validation included) are measured identically in both arms. Arms run
interleaved in ABBA order and repeated; ratios are per pair, then the median.

Run from the repository root:
    python -m bench.training_overhead --repeats 3 --epochs 4
    KERAS_BACKEND=jax python -m bench.training_overhead --hook   # on a GPU machine
"""

import dataclasses
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench import _processes, _report
from labcore import data, jobs, references, trainconfig
from labcore import spec as spec_lib
from labcore.store import Store
from labcore.supervisor import Supervisor, worker_env

__all__ = ["main", "plain_fit"]

MODULE = "bench.training_overhead"
REPO_ROOT = Path(__file__).resolve().parent.parent
_RESULT_PREFIX = "BENCH_RESULT "


def _spec_for(target, width=1):
    """The model spec: the default, a reference key or a spec JSON file, widths times `width`."""
    if target is None:
        model_spec = spec_lib.default_spec()
    elif target in references.REFERENCES:
        model_spec = references.REFERENCES[target].spec
    else:
        model_spec = spec_lib.ModelSpec.from_dict(json.loads(Path(target).read_text()))
    return widen(model_spec, width) if width != 1 else model_spec


def widen(model_spec, factor):
    """The spec with the stem's and every group's filters multiplied by `factor`."""
    stem = dataclasses.replace(model_spec.stem, n_filters=int(model_spec.stem.n_filters * factor))
    groups = tuple(dataclasses.replace(g, n_filters=int(g.n_filters * factor)) for g in model_spec.learner.groups)
    return dataclasses.replace(model_spec, stem=stem, learner=dataclasses.replace(model_spec.learner, groups=groups))


def run_config(model_spec, dataset, train):
    """The `train` kind's config dict for a spec, with the dataset's classes."""
    info = data.DATASETS[dataset]
    model_spec = dataclasses.replace(model_spec, task=dataclasses.replace(model_spec.task, n_classes=info.n_classes))
    return {"spec": model_spec.to_dict(), "train": train.to_dict()}


# -- (a) the plain script ---------------------------------------------------------------


def plain_fit(config, hook=False):
    """Train a run config's model with plain Keras; what the app's worker does, minus the app.

    Runs in its own process (`--plain`), so it pays the same imports and
    first-epoch compilation as a worker.

    Args:
        config: dict {"spec": ..., "train": ...}, as the `train` kind takes.
        hook: bool, add a no-op `on_train_batch_end` callback.

    Returns:
        dict: images_per_second and seconds_per_epoch (epochs after the
        first), first_epoch_seconds, per-epoch lists, fit_seconds.
    """
    import keras

    from labcore import composable, training

    model_spec = spec_lib.ModelSpec.from_dict(config["spec"])
    train = trainconfig.TrainConfig.from_dict(config["train"])
    keras.utils.set_random_seed(train.seed)
    info = data.DATASETS[train.dataset]
    splits = data.load(train.dataset, subset=train.subset, val_fraction=train.val_fraction, seed=train.seed,
                       **trainconfig.load_options(model_spec.input_shape, info.image_shape))
    with training.precision_policy(train.mixed_precision):
        model = composable.build_model(model_spec)
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=train.learning_rate),
                  loss=keras.losses.SparseCategoricalCrossentropy(), metrics=["accuracy"],
                  steps_per_execution=train.steps_per_execution)

    class EpochTimer(keras.callbacks.Callback):
        """Epoch start -> validation start (after a device sync) -> epoch end."""

        def __init__(self):
            super().__init__()
            self.train_seconds, self.seconds, self.cpu_seconds = [], [], []
            self._started = self._train_ended = self._cpu_started = None

        def on_epoch_begin(self, epoch, logs=None):
            self._started, self._train_ended = time.monotonic(), None
            self._cpu_started = time.process_time()

        def on_test_begin(self, logs=None):
            if self._started is not None and self._train_ended is None:
                # Wait for the last training step (async backends run ahead).
                keras.ops.convert_to_numpy(self.model.optimizer.iterations)
                self._train_ended = time.monotonic()

        def on_epoch_end(self, epoch, logs=None):
            ended = time.monotonic()
            self.train_seconds.append((self._train_ended or ended) - self._started)
            self.seconds.append(ended - self._started)
            self.cpu_seconds.append(time.process_time() - self._cpu_started)
            self._started = None

    class NoOpBatchHook(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            pass

    timer = EpochTimer()
    callbacks = [timer] + ([NoOpBatchHook()] if hook else [])
    has_validation = len(splits.x_val) > 0
    started = time.monotonic()
    model.fit(splits.x_train, splits.y_train, batch_size=train.batch_size, epochs=train.epochs,
              validation_data=(splits.x_val, splits.y_val) if has_validation else None,
              shuffle=True, callbacks=callbacks, verbose=0)
    fit_seconds = time.monotonic() - started
    steady_train = timer.train_seconds[1:] or timer.train_seconds
    steady = timer.seconds[1:] or timer.seconds
    steady_cpu = timer.cpu_seconds[1:] or timer.cpu_seconds
    n_train = len(splits.x_train)
    return {
        "images_per_second": n_train * len(steady_train) / sum(steady_train),
        "seconds_per_epoch": sum(steady) / len(steady),
        "first_epoch_seconds": timer.seconds[0],
        "cpu_seconds_per_epoch": sum(steady_cpu) / len(steady_cpu),
        "epoch_seconds": timer.seconds,
        "epoch_train_seconds": timer.train_seconds,
        "fit_seconds": fit_seconds,
        "n_train": n_train,
        "params": int(model.count_params()),
    }


def _run_plain(config, env, hook=False, timeout_s=3600):
    """Run `plain_fit` in a fresh process; its result plus the process's wall time."""
    command = [sys.executable, "-m", MODULE, "--plain", json.dumps(config)] + (["--hook"] if hook else [])
    started = time.monotonic()
    completed = subprocess.run(command, cwd=REPO_ROOT, env=env, capture_output=True, text=True,
                               timeout=timeout_s)
    wall = time.monotonic() - started
    lines = [line for line in completed.stdout.splitlines() if line.startswith(_RESULT_PREFIX)]
    if completed.returncode != 0 or not lines:
        raise RuntimeError(f"plain fit failed (exit {completed.returncode}):\n{completed.stderr[-3000:]}")
    return {**json.loads(lines[-1][len(_RESULT_PREFIX):]), "wall_seconds": wall}


# -- (b) through the app's queue and worker ---------------------------------------------


def _run_worker(supervisor, config, timeout_s=3600, poll_s=0.1):
    """Submit a `train` run and wait for it; its result plus submit-to-done wall time.

    Also samples the worker's CPU time whenever a new epoch row appears (the
    store is polled every `poll_s`), for CPU seconds per steady epoch. Each
    poll takes CPU time from the worker on a 2-core machine: with 20 ms polls
    the app arm measured 0.944 of plain's speed, with 100 ms 1.031 (one run
    each, 2026-11-30).
    """
    store = supervisor.store
    started = time.monotonic()
    run_id = jobs.submit(store, "train", config, owner="bench", title="training overhead")
    deadline = started + timeout_s
    cpu_at_epoch = []
    while True:
        run = store.get_run(run_id)
        if run.pid and run.status == "running":
            n_rows = sum(row.series == "train" for row in store.metrics(run_id))
            if n_rows > len(cpu_at_epoch):
                cpu = _processes.cpu_seconds(run.pid)
                cpu_at_epoch += [cpu] * (n_rows - len(cpu_at_epoch))
        if run.status not in ("queued", "running"):
            break
        if time.monotonic() > deadline:
            jobs.cancel(store, run_id, owner=None, admin=True)
            raise RuntimeError(f"run {run_id} took more than {timeout_s} s")
        time.sleep(poll_s)
    wall = time.monotonic() - started
    if run.status != "done":
        raise RuntimeError(f"run {run_id} {run.status}: {run.error}\n{run.traceback or ''}")
    epochs = [row.values for row in store.metrics(run_id) if row.series == "train"]
    steady_cpu = None
    if len(cpu_at_epoch) >= 2 and None not in cpu_at_epoch:
        steady_cpu = (cpu_at_epoch[-1] - cpu_at_epoch[0]) / (len(cpu_at_epoch) - 1)
    return {**run.result, "wall_seconds": wall, "cpu_seconds_per_epoch": steady_cpu,
            "epoch_seconds": [e.get("seconds") for e in epochs],
            "epoch_images_per_second": [e.get("images_per_second") for e in epochs]}


# -- the benchmark ----------------------------------------------------------------------


def _order(arms, repeat):
    """ABBA: even repeats in the given order, odd ones reversed (drift cancels out)."""
    return list(arms) if repeat % 2 == 0 else list(reversed(arms))


def measure(config, repeats, hook=False, progress=print):
    """Run the arms interleaved; return {arm: [result, ...]} in run order per arm."""
    home = Path(tempfile.mkdtemp(prefix="bench-overhead-"))
    store = Store(home / "labcore.db")
    env = worker_env(store)
    supervisor = Supervisor(store, prewarm=False).start()
    arms = ["plain"] + (["plain+hook"] if hook else []) + ["app"]
    results = {arm: [] for arm in arms}
    try:
        for repeat in range(repeats):
            for arm in _order(arms, repeat):
                if arm == "app":
                    result = _run_worker(supervisor, config)
                else:
                    result = _run_plain(config, env, hook=arm == "plain+hook")
                results[arm].append(result)
                progress(f"repeat {repeat + 1}/{repeats} {arm:10s}: {result['images_per_second']:8.0f} images/s, "
                         f"{result['seconds_per_epoch']:.2f} s/epoch, "
                         f"CPU {result.get('cpu_seconds_per_epoch') or float('nan'):.2f} s/epoch, first epoch {result['first_epoch_seconds']:.2f} s, "
                         f"wall {result['wall_seconds']:.1f} s")
    finally:
        supervisor.stop()
    return results


def table(results):
    """Rows for the report: one per arm, then the ratios to plain, pair by pair."""
    rows = []
    for arm, runs in results.items():
        rows.append([arm, _report.stat([r["images_per_second"] for r in runs]),
                     _report.stat([r["seconds_per_epoch"] for r in runs], "{:.2f}"),
                     _report.stat([r.get("cpu_seconds_per_epoch") for r in runs], "{:.2f}"),
                     _report.stat([r["first_epoch_seconds"] for r in runs], "{:.2f}"),
                     _report.stat([r["wall_seconds"] for r in runs], "{:.1f}")])
    plain = results["plain"]
    for arm, runs in results.items():
        if arm == "plain":
            continue
        speed = [b["images_per_second"] / a["images_per_second"] for a, b in zip(plain, runs)]
        epoch = [a["seconds_per_epoch"] / b["seconds_per_epoch"] for a, b in zip(plain, runs)]
        cpu = [a["cpu_seconds_per_epoch"] / b["cpu_seconds_per_epoch"] for a, b in zip(plain, runs)
               if a.get("cpu_seconds_per_epoch") and b.get("cpu_seconds_per_epoch")]
        rows.append([f"**{arm} vs plain** (speed ratio)", _report.stat(speed, "{:.3f}"),
                     _report.stat(epoch, "{:.3f}"), _report.stat(cpu, "{:.3f}"), "", ""])
    return rows


HEADERS = ["arm", "images/s", "s/epoch", "CPU s/epoch", "first epoch s", "wall s (process)"]


def main(argv=None):
    """Parse arguments, measure, report."""
    parser = _report.parser(__doc__.split("\n\n")[0])
    parser.add_argument("--plain", metavar="CONFIG_JSON", help=argparse_hidden())
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=4, help="epochs per fit (the first is not counted)")
    parser.add_argument("--batch-size", type=int, default=trainconfig.TrainConfig().batch_size)
    parser.add_argument("--dataset", default=data.DEFAULT_DATASET)
    parser.add_argument("--subset", type=int, default=None, help="training images drawn (validation included)")
    parser.add_argument("--spec", default=None, help="a reference key or spec JSON file (default: the default spec)")
    parser.add_argument("--width", type=float, default=1, help="multiply every filter count")
    parser.add_argument("--mixed-precision", action="store_true", help="mixed_float16 in both arms (GPU)")
    parser.add_argument("--steps-per-execution", type=int, default=1,
                        help="training steps per compiled call, in both arms (GPU: fewer host round trips)")
    parser.add_argument("--hook", action="store_true",
                        help="add the arm plain+hook (a no-op on_train_batch_end: per-batch log sync)")
    args = parser.parse_args(argv)

    if args.plain:
        result = plain_fit(json.loads(args.plain), hook=args.hook)
        print(_RESULT_PREFIX + json.dumps(result), flush=True)
        # Skip TensorFlow's / JAX's slow interpreter teardown, as the worker does.
        sys.stdout.flush()
        os._exit(0)

    train = trainconfig.TrainConfig(
        epochs=args.epochs, batch_size=args.batch_size, dataset=args.dataset, subset=args.subset,
        test_subset=100, mixed_precision=args.mixed_precision, steps_per_execution=args.steps_per_execution)
    config = run_config(_spec_for(args.spec, args.width), args.dataset, train)
    problems = trainconfig.problems_for_run(config)
    if problems:
        parser.error("\n".join(problems))
    load_start = _report.begin(args)
    results = measure(config, args.repeats, hook=args.hook)
    model_spec = spec_lib.ModelSpec.from_dict(config["spec"])
    n_train = results["app"][0].get("n_train")
    title = (f"Training overhead: plain model.fit vs the app's worker "
             f"({model_spec.name}, {spec_lib.count_params(model_spec):,} params, {n_train} images, "
             f"batch {args.batch_size}, {args.epochs} epochs{', mixed precision' if args.mixed_precision else ''}"
             f"{f', {args.steps_per_execution} steps per execution' if args.steps_per_execution > 1 else ''})")
    notes = (
        "Cells: median (range, n) over the repeats. images/s = training images / training time of an epoch, "
        "averaged over the epochs after the first; s/epoch includes validation; CPU s/epoch = CPU time (user + "
        "system, all threads) the training process used per steady epoch, validation included (plain: "
        "`time.process_time()` in the process; app: the worker's /proc/PID/stat sampled as each epoch row "
        "lands) -- far less sensitive to other people's load than wall time. Speed ratios (app time or CPU "
        "of plain over app's; >1 = the app is faster) are computed pair by pair, arms interleaved ABBA, then "
        "the median. Target: app vs plain >= 0.95 on CPU (0.9 on GPU). wall s: the whole process (plain) or "
        "submit-to-done (app): imports, data, test evaluation included."
    )
    _report.report(title, HEADERS, table(results), module=MODULE, load_start=load_start, notes=notes, args=args)
    return 0


def argparse_hidden():
    import argparse

    return argparse.SUPPRESS


if __name__ == "__main__":
    sys.exit(main())
