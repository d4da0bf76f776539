"""Local worker processes against Ray tasks: what the engine costs per run, and how soon a run starts.

The same N tiny Model Builder runs (the default spec, one epoch on a few
hundred images, as `bench.start_latency` trains) go through each executor
in a fresh store, one at a time, as the app's supervisor hands them over:

  local  `Supervisor(prewarm=False)`: a fresh worker process per run, here
  ray    `RaySupervisor` on a local Ray started in this process: a Ray task
         per run, in a fresh Ray worker process (`max_calls=1`)

Per executor: seconds per run (the batch's wall time / N), and per run the
start latency, job submitted -> the runner's first progress in the store
(what a learner waits for after clicking Train; Ray's "handed to Ray"
line does not count). Plain Keras, in the same invocation: the same
model's `model.fit` on the same images, in this process with Keras already
imported, is the floor a run costs without any engine.

With `--parity`, instead: the Model Builder's tiny run and every lab's
tiny preset (its default step) go through both executors with the same
seed, and every number of their results that is not a timing is compared.

Run from the repository root:
    python -m bench.executors --runs 6
    python -m bench.executors --parity
"""

import sys
import tempfile
import time
from pathlib import Path

from bench import _report
from bench.start_latency import _config
from labcore import data, jobs, supervisor
from labcore.labs import LABS
from labcore.store import Store

__all__ = ["main"]

MODULE = "bench.executors"
_POLL_S = 0.01
# The Ray supervisor's own line, before the runner reports anything.
_HANDED = "handed to Ray"


def _supervised(executor):
    """A fresh store and a started supervisor of `executor` ("local" or "ray") on it, one run at a time."""
    store = Store(Path(tempfile.mkdtemp(prefix=f"bench-{executor}-")) / "labcore.db")
    if executor == "ray":
        from labcore.ray_executor import RaySupervisor

        return store, RaySupervisor(store, poll_s=0.05, slots=1).start()
    return store, supervisor.Supervisor(store, prewarm=False, poll_s=0.05).start()


def _through(executor, config, n_runs, timeout_s=600):
    """N runs through one executor, one at a time: (wall seconds, [start latency per run])."""
    store, runner = _supervised(executor)
    latencies = []
    started = time.monotonic()
    try:
        for index in range(n_runs):
            submitted = time.monotonic()
            run_id = jobs.submit(store, "train", {**config, "train": {**config["train"], "seed": index}},
                                 owner="bench", title=f"{executor} {index}")
            first = None
            while time.monotonic() - submitted < timeout_s:
                run = store.get_run(run_id)
                text = run.progress_text or ""
                if first is None and text and not text.startswith(_HANDED):
                    first = time.monotonic() - submitted
                if run.status not in ("queued", "running"):
                    if run.status != "done":
                        raise RuntimeError(f"{executor} run {run_id} {run.status}: {run.error}")
                    break
                time.sleep(_POLL_S)
            latencies.append(first)
            print(f"{executor} run {index + 1}/{n_runs}: first progress {first:.2f} s, done "
                  f"{time.monotonic() - submitted:.1f} s", flush=True)
        return time.monotonic() - started, latencies
    finally:
        runner.stop()


def _numbers(value, path=""):
    """path -> number for every number in a result that is not a timing (those differ run to run)."""
    timing = ("seconds", "_ms", "per_second", "speed_up", "timings")
    if isinstance(value, dict):
        return {key: number for name, item in value.items() if not any(word in name for word in timing)
                for key, number in _numbers(item, f"{path}.{name}" if path else name).items()}
    if isinstance(value, (list, tuple)):
        return {key: number for index, item in enumerate(value) for key, number in
                _numbers(item, f"{path}[{index}]").items()}
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return {path: float(value)}
    return {}


def parity(timeout_s=900):
    """Each tiny run through both executors: rows of (run, numbers compared, largest difference)."""
    runs = {"Model Builder default, tiny": ("train", _config(300, data.DEFAULT_DATASET))}
    runs.update({f"{lab.title}, tiny": (kind, lab.part("config").PRESETS["tiny"].to_dict())
                 for kind, lab in LABS.items()})
    results = {}
    for executor in ("local", "ray"):
        store, runner = _supervised(executor)
        try:
            for name, (kind, config) in runs.items():
                run_id = jobs.submit(store, kind, config, owner="bench", title=name)
                started = time.monotonic()
                while store.get_run(run_id).status in ("queued", "running"):
                    if time.monotonic() - started > timeout_s:
                        raise RuntimeError(f"{executor}: {name} not done after {timeout_s} s")
                    time.sleep(0.2)
                run = store.get_run(run_id)
                if run.status != "done":
                    raise RuntimeError(f"{executor}: {name} {run.status}: {run.error}")
                results[executor, name] = _numbers(run.result)
                print(f"{executor}: {name} done in {time.monotonic() - started:.0f} s", flush=True)
        finally:
            runner.stop()
    rows = []
    for name in runs:
        local, remote = results["local", name], results["ray", name]
        shared = sorted(set(local) & set(remote))
        largest = max((abs(local[key] - remote[key]) for key in shared), default=0.0)
        unmatched = len(set(local) ^ set(remote))
        rows.append([name, len(shared), f"{largest:.3g}", unmatched])
    return rows


def _plain_keras(config, n_runs):
    """The same fits with plain Keras in this process: seconds per run (Keras imported once, before)."""
    import keras  # noqa: F401  (imported before the clock starts, as a warm process would have it)

    from labcore import composable, spec, trainconfig

    model_spec = spec.ModelSpec.from_dict(config["spec"])
    train = trainconfig.TrainConfig.from_dict(config["train"])
    seconds = []
    for index in range(n_runs):
        started = time.monotonic()
        splits = data.load(train.dataset, subset=train.subset, val_fraction=train.val_fraction, seed=index,
                           test_subset=train.test_subset)
        model = composable.build_model(model_spec)
        model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
        model.fit(splits.x_train, splits.y_train, batch_size=train.batch_size, epochs=train.epochs,
                  validation_data=(splits.x_val, splits.y_val), verbose=0)
        model.evaluate(splits.x_test, splits.y_test, verbose=0)
        seconds.append(time.monotonic() - started)
    return seconds


def main(argv=None):
    """Parse arguments, run N tiny runs through each executor and plain Keras, report."""
    parser = _report.parser(__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=6, help="tiny runs per executor")
    parser.add_argument("--subset", type=int, default=300, help="training images of each run")
    parser.add_argument("--dataset", default=data.DEFAULT_DATASET)
    parser.add_argument("--parity", action="store_true", help="compare each lab's tiny result on both executors")
    args = parser.parse_args(argv)

    load_start = _report.begin(args)
    if args.parity:
        rows = parity()
        _report.report("Executors: the same tiny runs on local workers and on Ray, same seeds",
                       ["run", "numbers compared", "largest difference", "numbers in one result only"], rows,
                       module=MODULE, load_start=load_start, args=args,
                       notes="Every number of each run's result that is not a timing (accuracies, losses, "
                             "parameters, votes, reconstruction scores...), local against Ray. 0 means the "
                             "same numbers to the last bit. Ray's results add only `ray_node`, a string.")
        return 0
    config = _config(args.subset, args.dataset)
    measured = {executor: _through(executor, config, args.runs) for executor in ("local", "ray")}
    plain = _plain_keras(config, args.runs)
    plain_per_run = sum(plain) / len(plain)
    rows = []
    for executor, (wall, latencies) in measured.items():
        per_run = wall / args.runs
        rows.append([executor, f"{per_run:.2f}", _report.stat(latencies, "{:.2f}"), f"{per_run / plain_per_run:.2f}"])
    rows.append(["plain Keras `model.fit` (in process)", f"{plain_per_run:.2f}", "", "1.00"])
    local_run, ray_run = (measured[name][0] / args.runs for name in ("local", "ray"))
    local_start = _report.median(measured["local"][1])
    ray_start = _report.median(measured["ray"][1])
    notes = (f"{args.runs} runs per executor, one at a time: the default spec, 1 epoch on {args.subset} images of "
             f"{args.dataset}, tested on 100. Seconds per run = the batch's wall time / {args.runs}, data "
             "loading, the model's build and the test included; start = job submitted -> the runner's first "
             f"progress in the store (median, range). Ray costs {ray_run - local_run:+.2f} s per run against "
             f"local worker processes, and starts a run {ray_start - local_start:+.2f} s later; both pay a "
             "fresh process with Keras imported per run, which plain Keras in one process does not.")
    _report.report("Executors: local worker processes against Ray tasks, tiny runs",
                   ["executor", "s per run", "start s (submit -> first progress)", "ratio to plain Keras"],
                   rows, module=MODULE, load_start=load_start, notes=notes, args=args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
