"""Labs' presets: wall time of each lab's preset through the CLI, and its accuracy.

For every lab in `labcore.labs.LABS` (so labs that land later are
measured too), runs
`python -m labcore run LAB --preset quick` in a fresh temporary
`LABCORE_HOME`, timing the whole command: CLI start, the worker process and
its Keras import, data, every fit, evaluation. Then reads the run's result
from that store and shows its held-out accuracies (every numeric result value
whose key names an accuracy, except training and validation ones; nested
results are flattened with dots).

Also reads the run's per-epoch rows: how many epochs ran and the median
seconds per epoch, so that a preset run with fewer epochs (`--set`) tells
what the whole preset would take.

Run from the repository root:
    python -m bench.lab_presets                 # quick preset, every lab once
    python -m bench.lab_presets --preset full --labs ensemble
    python -m bench.lab_presets --preset full --set ensemble.epochs=3 --set dataset=fashion_mnist
"""

import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench import _processes, _report
from labcore.labs import LABS
from labcore.store import Store

__all__ = ["accuracies", "main"]

MODULE = "bench.lab_presets"
REPO_ROOT = Path(__file__).resolve().parent.parent
TARGET_S = 60.0


def accuracies(result, prefix="", limit=8):
    """The held-out accuracies of a run's result, flattened: {"members.0.test_accuracy": 0.81, ...}."""
    found = {}

    def walk(value, path):
        if len(found) >= limit:
            return
        if isinstance(value, dict):
            for key, item in value.items():
                walk(item, f"{path}.{key}" if path else str(key))
        elif isinstance(value, list) and len(value) <= 20:
            for index, item in enumerate(value):
                walk(item, f"{path}.{index}")
        elif isinstance(value, (int, float)) and not isinstance(value, bool):
            last = path.rsplit(".", 1)[-1]
            # Held-out accuracies only: training and validation ones are in the run's curves.
            if last.endswith("accuracy") and not last.startswith(("train", "val", "best_val", "fit_")):
                found[path] = float(value)

    walk(result, prefix)
    return found


def overrides_for(lab, settings):
    """The CLI's `--set KEY=VALUE` arguments for one lab, from `[LAB.]KEY=VALUE` settings."""
    arguments = []
    for setting in settings:
        key, _, value = setting.partition("=")
        target, _, field = key.rpartition(".")
        if target in ("", lab):
            arguments += ["--set", f"{field}={value}"]
    return arguments


def epoch_figures(store, run_id):
    """(epochs run, median seconds per epoch) over every series of a run's stored epochs."""
    seconds = [row.values["seconds"] for row in store.metrics(run_id) if "seconds" in row.values]
    return len(seconds), _report.median(seconds) if seconds else None


def run_preset(lab, preset, timeout_s, settings=()):
    """Run one lab's preset through the CLI.

    Returns:
        (wall seconds, run or None, (epochs run, median s/epoch), output tail).
    """
    home = Path(tempfile.mkdtemp(prefix=f"bench-lab-{lab}-"))
    env = {**os.environ, "LABCORE_HOME": str(home),
           "PYTHONPATH": os.pathsep.join(filter(None, (str(REPO_ROOT), os.environ.get("PYTHONPATH"))))}
    command = [sys.executable, "-m", "labcore", "run", lab, "--preset", preset] + overrides_for(lab, settings)
    started = time.monotonic()
    try:
        completed = subprocess.run(command, cwd=REPO_ROOT, env=env, capture_output=True, text=True,
                                   timeout=timeout_s)
        output = completed.stdout + completed.stderr
    except subprocess.TimeoutExpired as expired:
        output = _text(expired.stdout) + _text(expired.stderr) + f"\n(timed out after {timeout_s:g} s)"
    wall = time.monotonic() - started
    match = re.search(r"run #(\d+) queued", output)
    store = Store(home / "labcore.db")
    run = store.get_run(int(match.group(1))) if match else None
    if run is not None and run.status in ("queued", "running"):
        # Timed out: the worker outlives the CLI, so stop it before the next lab.
        _processes.stop_run(store, run.id)
        run = store.get_run(run.id)
    epochs = epoch_figures(store, run.id) if run else (0, None)
    return wall, run, epochs, output[-1500:]


def _text(output):
    return output.decode(errors="replace") if isinstance(output, bytes) else (output or "")


def main(argv=None):
    """Parse arguments, run every lab's preset, report."""
    parser = _report.parser(__doc__.split("\n\n")[0])
    parser.add_argument("--preset", default="quick")
    parser.add_argument("--labs", nargs="*", help="default: every lab in labcore.labs.LABS")
    parser.add_argument("--repeats", type=int, default=1, help="runs of each lab (interleaved)")
    parser.add_argument("--timeout", type=float, default=1800, help="seconds per lab run")
    parser.add_argument("--set", action="append", default=[], metavar="[LAB.]KEY=VALUE",
                        help="override a config field of every lab, or of LAB only (repeatable)")
    args = parser.parse_args(argv)

    labs = args.labs or list(LABS)
    load_start = _report.begin(args)
    walls = {lab: [] for lab in labs}
    last = {}
    for repeat in range(args.repeats):
        for lab in labs if repeat % 2 == 0 else reversed(labs):
            wall, run, epochs, tail = run_preset(lab, args.preset, args.timeout, args.set)
            walls[lab].append(wall)
            last[lab] = (run, epochs, tail)
            status = run.status if run else "no run"
            print(f"{lab}: {wall:.1f} s, {status}", flush=True)
            if run is None or run.status != "done":
                print(tail, flush=True)

    rows = []
    for lab in labs:
        run, (n_epochs, epoch_s), tail = last[lab]
        found = accuracies(run.result) if run and run.status == "done" else {}
        shown = ", ".join(f"{key} {value:.3f}" for key, value in found.items()) or "–"
        status = run.status if run else "no run"
        if run and run.status != "done":
            status += f": {(run.error or '')[:100]}"
        if max(walls[lab]) >= args.timeout:
            status = f"timed out after {args.timeout:g} s, run {status}"
        median = _report.median(walls[lab])
        target = "yes" if median <= TARGET_S else "no"
        dataset = (run.config.get("dataset") or run.config.get("train", {}).get("dataset")) if run else None
        rows.append([lab, _report.stat(walls[lab], "{:.1f}"), target, n_epochs,
                     f"{epoch_s:.2f}" if epoch_s is not None else "–", status, dataset or "–", shown])
    notes = (f"`python -m labcore run LAB --preset {args.preset}` timed end to end (CLI, worker start with its "
             "Keras import, data, fits, evaluation), each in a fresh LABCORE_HOME; accuracies read from the "
             "run's result; epochs = every epoch row the run stored (all its fits), s/epoch their median. "
             + (f"Overrides: {', '.join(args.set)}. " if args.set else "")
             + f"Target for the quick preset: <= {TARGET_S:.0f} s each on this 2-core CPU. "
             "Presets: " + "; ".join(f"{lab}: {json.dumps(_preset_summary(lab, args.preset))}" for lab in labs))
    _report.report(f"Labs' {args.preset} presets through the CLI",
                   ["lab", "wall s", f"<= {TARGET_S:.0f} s", "epochs", "s/epoch", "status", "dataset",
                    "accuracy (from run.result)"],
                   rows, module=MODULE, load_start=load_start, notes=notes, args=args)
    return 0


def _preset_summary(lab, preset):
    """The preset's note, if the lab gives one."""
    return getattr(LABS[lab].part("config"), "PRESET_NOTES", {}).get(preset, preset)


if __name__ == "__main__":
    sys.exit(main())
