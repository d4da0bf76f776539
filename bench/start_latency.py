"""Start latency: Train clicked (the job submitted) -> first progress in the store.

"First progress shown" is the first `set_progress` the worker writes: the
run's `progress_text` stops being empty (the Runs page and the builder show
it at their next poll; until then they say "starting the worker"). For
`train` runs that is "loading <dataset>", written by `training.train_run`
right after the worker has the run and its config is checked. The bench
also records what follows, to show where the rest of the time goes:

  claimed        the supervisor moved the run to running (`started_at`)
  first progress the worker's first progress text
  model          "building the model" (data loaded)
  compiling      "compiling the model (the first batch)" (model built)
  first batch    the first batch progress ("epoch 1/1 · batch k", progress > 0)
  first epoch    the first per-epoch metrics row

Cold: `Supervisor(prewarm=False)`: a fresh worker process imports Keras
after the run is claimed. Warm: `Supervisor(prewarm=True)`, the run is
submitted once the spare worker's log says "spare ready". Each trial gets
a fresh supervisor (stopped after it), so no spare imports in the
background of another trial; trials alternate cold/warm and are repeated.
The store is polled every 5 ms from this process.

Run from the repository root:
    python -m bench.start_latency --repeats 5
"""

import dataclasses
import sys
import tempfile
import time
from pathlib import Path

from bench import _processes, _report
from labcore import data, jobs, spec, trainconfig
from labcore.store import Store
from labcore.supervisor import Supervisor

__all__ = ["main", "measure_once"]

MODULE = "bench.start_latency"
_POLL_S = 0.005
EVENTS = ("claimed", "first progress", "model", "compiling", "first batch", "first epoch", "done")


def _config(subset, dataset):
    info = data.DATASETS[dataset]
    model_spec = spec.default_spec()
    model_spec = dataclasses.replace(model_spec, input_shape=info.image_shape,
                                     task=dataclasses.replace(model_spec.task, n_classes=info.n_classes))
    train = trainconfig.TrainConfig(epochs=1, subset=subset, test_subset=100, dataset=dataset)
    return {"spec": model_spec.to_dict(), "train": train.to_dict()}


def _spare_ready_count(store):
    log = store.root / "logs" / "spare.log"
    return log.read_text(errors="replace").count("spare ready") if log.is_file() else 0


def measure_once(warm, config, timeout_s=300):
    """One trial in a fresh store and supervisor; seconds from submit to each event.

    Args:
        warm: bool, pre-warmed spare worker (waited for) or a cold start.
        config: dict, the `train` run's config.
        timeout_s: float.

    Returns:
        dict event -> seconds after the submit (None if never seen), plus
        "spare_ready_s" (warm: how long the spare took to import).
    """
    store = Store(Path(tempfile.mkdtemp(prefix="bench-latency-")) / "labcore.db")
    supervisor = Supervisor(store, prewarm=warm).start()
    found = {}
    try:
        if warm:
            spare_started = time.monotonic()
            _processes.wait_for(lambda: _spare_ready_count(store) >= 1, timeout_s, "the spare worker", poll_s=0.02)
            found["spare_ready_s"] = time.monotonic() - spare_started
        submitted = time.monotonic()
        submitted_wall = time.time()
        run_id = jobs.submit(store, "train", config, owner="bench", title="start latency")
        deadline = submitted + timeout_s
        while time.monotonic() < deadline:
            run = store.get_run(run_id)
            now = time.monotonic() - submitted
            if run.started_at and "claimed" not in found:
                # The store's own timestamp: exact, not bounded by our polling.
                found["claimed"] = max(0.0, run.started_at - submitted_wall)
            text = run.progress_text or ""
            if text and "first progress" not in found:
                found["first progress"] = now
            if text.startswith("building") and "model" not in found:
                found["model"] = now
            if text.startswith("compiling") and "compiling" not in found:
                found["compiling"] = now
            if run.progress > 0 and text.startswith("epoch") and "first batch" not in found:
                found["first batch"] = now
            if "first epoch" not in found and any(row.series == "train" for row in store.metrics(run_id)):
                found["first epoch"] = now
            if run.status not in ("queued", "running"):
                found["done"] = now
                if run.status != "done":
                    raise RuntimeError(f"run {run_id} {run.status}: {run.error}")
                break
            time.sleep(_POLL_S)
        else:
            raise RuntimeError(f"run {run_id} not done after {timeout_s} s")
    finally:
        supervisor.stop()
    # An event never seen stays missing: its message was never in the store
    # (or lasted less than the 5 ms between two looks).
    return found


def main(argv=None):
    """Parse arguments, measure cold and warm starts interleaved, report."""
    parser = _report.parser(__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=5, help="trials of each kind")
    parser.add_argument("--subset", type=int, default=300, help="training images of the tiny run")
    parser.add_argument("--dataset", default=data.DEFAULT_DATASET)
    args = parser.parse_args(argv)

    config = _config(args.subset, args.dataset)
    load_start = _report.begin(args)
    trials = {"cold": [], "warm": []}
    for repeat in range(args.repeats):
        kinds = ("cold", "warm") if repeat % 2 == 0 else ("warm", "cold")
        for kind in kinds:
            found = measure_once(kind == "warm", config)
            trials[kind].append(found)
            shown = ", ".join(f"{event} {found[event]:.2f}" for event in EVENTS if found.get(event) is not None)
            print(f"repeat {repeat + 1}/{args.repeats} {kind}: {shown}", flush=True)

    headers = ["start"] + [f"{event} s" for event in EVENTS]
    rows = [[kind] + [_report.stat([t.get(event) for t in found], "{:.2f}") for event in EVENTS]
            for kind, found in trials.items()]
    spare = [t.get("spare_ready_s") for t in trials["warm"]]
    notes = (
        "Seconds after `jobs.submit` (median, range). *first progress* = the first `set_progress` the worker "
        "writes (the run's progress text is no longer empty): what the Runs page and the builder show at "
        "their next poll (1 s fragments). *claimed* comes from the run's `started_at`; the rest from polling "
        "the store every 5 ms; a phase whose message never showed is left out (n counts the trials that "
        "saw it). The run: the default spec, 1 epoch on "
        f"{args.subset} images of {args.dataset}. Target: first progress <= 1 s warm. The spare needed "
        f"{_report.stat(spare, '{:.1f}')} s to import Keras before it was ready."
    )
    _report.report("Start latency: job submitted -> first progress, cold vs pre-warmed worker",
                   headers, rows, module=MODULE, load_start=load_start, notes=notes, args=args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
