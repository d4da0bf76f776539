"""Slots: how many small runs a device finishes per minute when it trains K at once.

A room's runs are small (a guided-search trial: 1,500 images, 2 epochs), so
a worker spends much of its life importing, loading data and compiling
rather than training, and one run at a time may leave the device idle. This
queues the same N small `train` runs (the default spec, seeds 0..N-1) into
a fresh store and lets a `Supervisor(slots=K, prewarm=True)` (the app's)
run them, for each K in `--slots`; the throughput is N over the wall time
from the first submit to the last run done. The baseline is plain Keras:
the same N trainings, one after another, each a fresh
`python -m bench.training_overhead --plain` process (`model.fit`, same
imports and compilation as a worker). Ratios are to that baseline, measured
in the same invocation; arms alternate order on each repeat.

Run from the repository root:
    python -m bench.slots --runs 6 --slots 1 2 --repeats 2
    KERAS_BACKEND=jax python -m bench.slots --runs 16 --slots 1 2 4 8 --subset 6000   # on a GPU machine
"""

import sys
import tempfile
import time
from pathlib import Path

from bench import _processes, _report
from bench.training_overhead import _order, _run_plain, run_config
from labcore import data, jobs
from labcore import spec as spec_lib
from labcore.store import Store
from labcore.supervisor import worker_env
from labcore.trainconfig import TrainConfig

__all__ = ["main", "measure"]

MODULE = "bench.slots"


def _configs(n_runs, dataset, subset, epochs, batch_size):
    return [run_config(spec_lib.default_spec(), dataset,
                       TrainConfig(epochs=epochs, batch_size=batch_size, seed=seed, dataset=dataset, subset=subset))
            for seed in range(n_runs)]


def _through_queue(configs, slots, timeout_s):
    """Submit every config at once to a fresh store; seconds until the last is done."""
    store = Store(Path(tempfile.mkdtemp(prefix="bench-slots-")) / "labcore.db")
    supervisor = _processes.warm_supervisor(store, slots)
    try:
        started = time.monotonic()
        run_ids = [jobs.submit(store, "train", config, owner=f"attendee-{i}") for i, config in enumerate(configs)]
        while True:
            runs = [store.get_run(run_id) for run_id in run_ids]
            if all(run.status not in ("queued", "running") for run in runs):
                break
            if time.monotonic() - started > timeout_s:
                raise RuntimeError(f"{len(run_ids)} runs took more than {timeout_s} s with {slots} slots")
            time.sleep(0.2)
        wall = time.monotonic() - started
    finally:
        supervisor.stop()
    failed = [run for run in runs if run.status != "done"]
    if failed:
        raise RuntimeError(f"run {failed[0].id} {failed[0].status}: {failed[0].error}")
    return wall


def _plain(configs, timeout_s):
    """The same trainings as plain `model.fit` processes, one after another; total seconds."""
    env = worker_env(Store(Path(tempfile.mkdtemp(prefix="bench-slots-plain-")) / "labcore.db"))
    started = time.monotonic()
    for config in configs:
        _run_plain(config, env, timeout_s=timeout_s)
    return time.monotonic() - started


def measure(configs, slot_counts, repeats, timeout_s=3600, progress=print):
    """{arm: [seconds for all runs, per repeat]}, arms "plain" and "K slots"."""
    arms = ["plain"] + [f"{k} slot{'s' if k > 1 else ''}" for k in slot_counts]
    results = {arm: [] for arm in arms}
    for repeat in range(repeats):
        for arm in _order(arms, repeat):
            if arm == "plain":
                seconds = _plain(configs, timeout_s)
            else:
                seconds = _through_queue(configs, int(arm.split()[0]), timeout_s)
            results[arm].append(seconds)
            progress(f"repeat {repeat + 1}/{repeats} {arm:8s}: {len(configs)} runs in {seconds:.1f} s "
                     f"({60 * len(configs) / seconds:.1f} runs/min)")
    return results


def table(results, n_runs):
    """One row per arm: wall seconds, runs per minute, and throughput over plain's, pair by pair."""
    rows = []
    for arm, walls in results.items():
        ratios = [plain / wall for plain, wall in zip(results["plain"], walls)]
        rows.append([arm, _report.stat(walls, "{:.1f}"), _report.stat([60 * n_runs / w for w in walls], "{:.1f}"),
                     "1 (baseline)" if arm == "plain" else _report.stat(ratios, "{:.2f}")])
    return rows


HEADERS = ["arm", "wall s, all runs", "runs / min", "throughput vs plain model.fit, one after another"]


def main(argv=None):
    """Parse arguments, measure, report."""
    parser = _report.parser(__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=6, help="runs queued at once (one per attendee)")
    parser.add_argument("--slots", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--dataset", default=data.DEFAULT_DATASET)
    parser.add_argument("--subset", type=int, default=1500, help="images per run (validation included)")
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=32)
    args = parser.parse_args(argv)
    load_start = _report.begin(args)
    configs = _configs(args.runs, args.dataset, args.subset, args.epochs, args.batch_size)
    results = measure(configs, args.slots, args.repeats)
    notes = (f"{args.runs} `train` runs of the default spec ({args.subset} images of {args.dataset}, "
             f"{args.epochs} epochs, batch {args.batch_size}, seeds 0-{args.runs - 1}), queued at once by "
             f"{args.runs} owners; the queue arms keep a pre-warmed spare as the app does. Median of "
             f"{args.repeats} repeats (min-max).")
    _report.report(f"Slots: {args.runs} runs of {args.subset} images x {args.epochs} epochs, K at once", HEADERS, table(results, args.runs),
                   module=MODULE, load_start=load_start, notes=notes, args=args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
