"""The command line: `python -m labcore COMMAND`.

Headless and scriptable, for instructors and benchmarks. `run` goes through
exactly the app's path: it queues a run in the same store, starts the same
worker process (`python -m labcore.worker`), and prints the run's progress
and per-epoch metrics as the worker stores them. So a run started here shows
up on the app's Runs page, and a run the app's supervisor picks up first is
simply followed. With LABCORE_EXECUTOR=ray, `run` (and the search and
prebake drivers) hand the run to the Ray cluster instead, and this process
writes its reports to the store (README "On a cluster").

Commands:
  summary TARGET        a reference key or a spec JSON file: shapes and parameters per part
  references            the original labs' models as specs
  datasets              the dataset registry and where each dataset is found
  run KIND [...]        run `train` (a spec file) or a lab (a preset), print progress
  search [...]          guided against blind search at the same budget, over seeds
  list                  runs in the store
  show RUN              one run: config, status, result, metrics
  export RUN [...]      a Model Builder run as a .keras model, its spec, or a Keras-only script
  cancel RUN / delete RUN
"""

import argparse
import dataclasses
import json
import os
import pathlib
import signal
import subprocess
import sys
import threading
import time

from labcore import (data, device, errors, executors, export, jobs, prebake, references, reporting, spec, supervisor,
                     trainconfig)
from labcore.labs import LABS
from labcore.store import Store

__all__ = ["main"]

CLI_OWNER = "cli"


def _load_spec(target):
    if target in references.REFERENCES:
        return references.REFERENCES[target].spec
    with open(target, encoding="utf-8") as handle:
        return spec.ModelSpec.from_dict(json.load(handle))


def _cmd_summary(args):
    model_spec = _load_spec(args.target)
    print(spec.format_summary(model_spec))
    problems = spec.problems(model_spec)
    if problems:
        print("\nThis spec cannot be built:\n" + "\n".join(f"  - {p}" for p in problems))
        return 1
    if args.target in references.REFERENCES:
        print("\n" + references.REFERENCES[args.target].notes)
    return 0


def _cmd_references(args):
    for key, ref in references.REFERENCES.items():
        print(f"{key:42s} {spec.count_params(ref.spec):>12,d}  {ref.title}")
    return 0


def _cmd_datasets(args):
    for key, info in data.DATASETS.items():
        ok, message = data.availability(key)
        status = "on disk" if data.on_disk(key) else "download" if ok else "MISSING"
        print(f"{key:22s} {status:8s}  {info.title}\n{'':22s}          {message}")
    return 0


def _parse_overrides(pairs):
    overrides = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep:
            raise errors.ConfigError(f"--set must be KEY=VALUE; got {pair!r}.")
        try:
            overrides[key] = json.loads(value)
        except json.JSONDecodeError:
            overrides[key] = value
    return overrides


def build_config(kind, preset=None, spec_file=None, overrides=()):
    """The config dict of a run, as the app would submit it.

    Args:
        kind: str, a registered kind ("train" or a lab).
        preset: str or None, a lab's preset name (labs only; default "quick").
        spec_file: str or None, a spec JSON file or reference key ("train" only).
        overrides: iterable of "KEY=VALUE" strings; VALUE is parsed as JSON
            when it can be (numbers, booleans, lists) and kept as a string otherwise.

    Returns:
        dict, the run's config.

    Raises:
        labcore.errors.LabError: unknown kind, preset or field.
    """
    values = _parse_overrides(overrides)
    if kind == "train":
        model_spec = _load_spec(spec_file) if spec_file else spec.default_spec()
        train = trainconfig.TrainConfig.from_dict({**trainconfig.TrainConfig().to_dict(), **values})
        return {"spec": model_spec.to_dict(), "train": train.to_dict()}
    if kind not in LABS:
        raise errors.ConfigError(f"kind must be one of {sorted(['train', *LABS])}; got {kind!r}.")
    presets = LABS[kind].part("config").PRESETS
    name = preset or "quick"
    if name not in presets:
        raise errors.ConfigError(f"--preset must be one of {sorted(presets)}; got {name!r}.")
    config = presets[name]
    return type(config).from_dict({**config.to_dict(), **values}).to_dict()


def _print_new_metrics(store, run_id, seen):
    for row in store.metrics(run_id)[seen:]:
        seen += 1
        if row.series == reporting.BATCH_SERIES:  # the epochs' lines say it; the page draws these
            continue
        shown = "  ".join(f"{k} {v:.4g}" if isinstance(v, float) else f"{k} {v}" for k, v in row.values.items())
        print(f"  [{row.series}] epoch {row.epoch}: {shown}", flush=True)
    return seen


def follow(store, run_id, worker):
    """Print a run's progress until it ends; Ctrl-C cancels it.

    Returns:
        `labcore.store.Run`, the finished run.
    """
    seen, last_text = 0, None
    try:
        while True:
            run = store.get_run(run_id)
            seen = _print_new_metrics(store, run_id, seen)
            text = f"{run.status} {100 * (run.progress or 0):5.1f}% {run.progress_text or ''}".rstrip()
            if text != last_text and run.status == "running":
                print(f"  {text}", flush=True)
                last_text = text
            if run.status not in ("queued", "running") and worker.poll() is not None:
                return run
            time.sleep(0.5)
    except KeyboardInterrupt:
        print("\nCancelling…", flush=True)
        jobs.cancel(store, run_id, owner=CLI_OWNER, admin=True)
        worker.send_signal(signal.SIGTERM)
        worker.wait(30)
        return store.get_run(run_id)


class _OnTheCluster:
    """A run handed to the executor's cluster (`executors.run_to_end` in a thread), followed as a worker is."""

    def __init__(self, store, run_id, queue):
        self._thread = threading.Thread(target=executors.run_to_end, args=(store, run_id), kwargs={"device": queue},
                                        daemon=True)
        self._thread.start()

    def poll(self):
        return None if self._thread.is_alive() else 0

    def send_signal(self, signum):
        """Nothing to signal here: the cancel request reaches the task through its channel."""

    def wait(self, timeout):
        self._thread.join(timeout)


def _cmd_run(args):
    overrides = list(args.set)
    if args.step:
        overrides.append(f"step={json.dumps(args.step)}")
    config = build_config(args.kind, args.preset, args.spec, overrides)
    store = Store()
    title = args.title or f"{args.kind} · {args.preset or args.spec or 'default'} (CLI)"
    run_id = jobs.submit(store, args.kind, config, owner=CLI_OWNER, title=title)
    print(f"run #{run_id} queued in {store.path}", flush=True)
    # The same worker the app's supervisor starts, recording the run under
    # the same queue name, so a server's supervisor starts nothing beside it;
    # if that supervisor claims the run first, this worker exits and we
    # follow the run anyway.
    queue = device.queue_name(device.probe())
    if os.environ.get("LABCORE_EXECUTOR", "local") == "local":
        worker = subprocess.Popen(supervisor.worker_command(store, run_id, queue), env=supervisor.worker_env(store))
    else:
        worker = _OnTheCluster(store, run_id, queue)
    run = follow(store, run_id, worker)
    print(f"run #{run.id} {run.status}" + (f": {run.error}" if run.error else ""))
    if run.result:
        print(json.dumps(run.result, indent=2, default=str))
    return 0 if run.status == "done" else 1


def _cmd_search(args):
    # Imported here: the other commands need neither Optuna nor the lab.
    from labcore.labs.search import compare, driver, recipe
    from labcore.labs.search.config import Config, Space

    config = Config.from_dict(build_config("search", args.preset, None, args.set))
    raw = json.loads(pathlib.Path(args.space).read_text()) if args.space else Space().to_dict()
    info = data.DATASETS[config.dataset]
    found = recipe.space_problems(raw, info.image_shape, info.n_classes)
    if found:
        raise errors.ConfigError("\n".join(found))
    space = Space.from_dict(raw)
    if args.strategy == "grid":
        raise errors.ConfigError("--strategy must be random, tpe or evolution: a grid cannot cover the blind "
                                 "space's float ranges.")
    store = Store()
    name = args.name or f"cli-vs-{args.strategy}-{args.preset or 'quick'}-{time.strftime('%Y%m%d-%H%M%S')}"
    print(f"{name}: {args.budget} trial(s) x 2 searches x {args.seeds} seed(s), in {store.path}", flush=True)

    def report(run):
        accuracy = (run.result or {}).get("best_val_accuracy")
        shown = f"{100 * accuracy:.1f}%" if accuracy is not None else run.status
        print(f"  run #{run.id} {run.config['study']} trial {run.config['trial']}: {shown}", flush=True)

    probed = device.probe()
    ended = driver.run_comparison(store, config, name, space, args.seeds, args.budget, args.strategy,
                                  store.root / "search" / f"{CLI_OWNER}.journal", CLI_OWNER, on_run=report,
                                  device=device.queue_name(probed), slots=device.slots(probed)[0])
    print(compare.verdict(compare.best_so_far(compare.trials_of(ended), name)).replace("**", ""))
    return 0 if all(run.status == "done" for run in ended) else 1


def _cmd_prebake(args):
    kinds = list(prebake.LABS_PREBAKED) if args.all else [args.lab]
    if not args.all and args.lab is None:
        raise errors.ConfigError(f"--lab must be one of {list(prebake.LABS_PREBAKED)}, or pass --all.")
    try:
        seeds = [int(seed) for seed in args.seeds.split(",")]
    except ValueError:
        raise errors.ConfigError(f"--seeds must be integers separated by commas, e.g. 0,1,2; got {args.seeds!r}.") from None
    for kind in kinds:
        if args.preset not in LABS[kind].part("config").PRESETS:
            raise errors.ConfigError(f"--preset must be one of {sorted(LABS[kind].part('config').PRESETS)}; "
                                     f"got {args.preset!r}.")
    store = Store()
    queue = device.queue_name(device.probe())
    failed = 0

    def report(run, trained):
        nonlocal failed
        failed += run.status != "done"
        how = "trained" if trained else f"follows #{run.follows}"
        print(f"run #{run.id} {run.status} ({how}): {run.title}" + (f": {run.error}" if run.error else ""),
              flush=True)

    for kind in kinds:
        print(f"{LABS[kind].title}, {args.preset} preset, seeds {seeds}:", flush=True)
        prebake.prebake(store, kind, args.preset, seeds, args.dataset, device=queue, on_run=report)
    print(f"prebaked into {store.path}" + (f"; {failed} run(s) did not finish" if failed else ""))
    return 1 if failed else 0


def _cmd_list(args):
    store = Store()
    for run in store.list_runs(statuses=args.status or None, limit=args.limit):
        print(f"#{run.id:<5d} {run.status:12s} {100 * (run.progress or 0):5.1f}%  {run.kind:15s} {run.title}")
    return 0


def _cmd_show(args):
    store = Store()
    run = store.get_run(args.run)
    print(json.dumps({k: v for k, v in dataclasses.asdict(run).items() if k != "traceback"}, indent=2,
                     default=str))
    for row in store.metrics(run.id):
        print(f"[{row.series}] epoch {row.epoch}: {json.dumps(row.values)}")
    if run.traceback and args.traceback:
        print(run.traceback)
    return 0


def _cmd_export(args):
    store = Store()
    run = store.get_run(args.run)
    if run is None:
        raise errors.LabError(f"Run {args.run} is not in the store ({store.path}).")
    name, content = export.exported(store, run, args.format)
    out = pathlib.Path(args.out or name)
    out.write_bytes(content)
    print(f"run #{run.id}: {args.format} written to {out}")
    return 0


def _cmd_cancel(args):
    jobs.cancel(Store(), args.run, owner=CLI_OWNER, admin=True)
    print(f"run #{args.run}: cancel requested")
    return 0


def _cmd_delete(args):
    Store().delete_run(args.run, owner=CLI_OWNER, admin=True)
    print(f"run #{args.run} deleted")
    return 0


def _parser():
    parser = argparse.ArgumentParser(prog="python -m labcore", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("summary", help="shapes and parameters of a reference or a spec file")
    p.add_argument("target", help="a reference key (see `references`) or a spec JSON file")
    p.set_defaults(func=_cmd_summary)
    sub.add_parser("references", help="the original labs' models").set_defaults(func=_cmd_references)
    sub.add_parser("datasets", help="datasets and where they are found").set_defaults(func=_cmd_datasets)
    p = sub.add_parser("run", help="run a spec or a lab in a worker, printing progress")
    p.add_argument("kind", help=f"one of: {', '.join(['train', *LABS])}")
    p.add_argument("--preset", help="a lab's preset: tiny, quick or full (default quick)")
    p.add_argument("--step", help="for a lab of several steps (regularization, distillation), the step to run "
                                   "(e.g. baseline, teacher)")
    p.add_argument("--spec", help="train: a spec JSON file or reference key (default: the default spec)")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="override a config field")
    p.add_argument("--title")
    p.set_defaults(func=_cmd_run)
    p = sub.add_parser("search", help="guided against blind search at the same budget, over seeds")
    p.add_argument("--preset", help="the trials' fidelity: tiny, quick or full (default quick)")
    p.add_argument("--space", help="the guided space as a JSON file (default: the lab's default space)")
    p.add_argument("--budget", type=int, default=4, help="trials per search and seed (default 4)")
    p.add_argument("--seeds", type=int, default=3, help="seeds (default 3)")
    p.add_argument("--strategy", default="random", choices=("random", "tpe", "evolution", "grid"))
    p.add_argument("--name", help="the comparison's name (default: from the time)")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="override a trial field")
    p.set_defaults(func=_cmd_search)
    p = sub.add_parser("prebake", help="train the labs' default runs ahead of a workshop (first clicks instant)")
    p.add_argument("--lab", choices=prebake.LABS_PREBAKED)
    p.add_argument("--all", action="store_true", help="every lab with fixed runs: " + ", ".join(prebake.LABS_PREBAKED))
    p.add_argument("--preset", default="quick", help="tiny, quick or full (default quick)")
    p.add_argument("--seeds", default="0", help="comma-separated seeds, e.g. 0,1,2 (default 0)")
    p.add_argument("--dataset", help="the dataset the room will pick in the sidebar (default: the preset's)")
    p.set_defaults(func=_cmd_prebake)
    p = sub.add_parser("list", help="runs in the store")
    p.add_argument("--status", action="append")
    p.add_argument("--limit", type=int, default=50)
    p.set_defaults(func=_cmd_list)
    p = sub.add_parser("show", help="one run")
    p.add_argument("run", type=int)
    p.add_argument("--traceback", action="store_true")
    p.set_defaults(func=_cmd_show)
    p = sub.add_parser("export", help="a Model Builder run's trained model, spec, or standalone Keras script")
    p.add_argument("run", type=int)
    p.add_argument("--format", choices=export.FORMATS, default="keras",
                   help="keras: the trained model (.keras); spec: its spec (JSON); script: a Python script "
                        "that trains the same model with Keras alone (default keras)")
    p.add_argument("--out", help="the file to write (default: run<N>_<name> here)")
    p.set_defaults(func=_cmd_export)
    for name, func in (("cancel", _cmd_cancel), ("delete", _cmd_delete)):
        p = sub.add_parser(name, help=f"{name} a run (as an instructor: any run)")
        p.add_argument("run", type=int)
        p.set_defaults(func=func)
    return parser


def main(argv=None):
    """Entry point; returns the exit code (messages, not tracebacks, for bad input)."""
    args = _parser().parse_args(argv)
    try:
        return args.func(args)
    except (errors.LabError, KeyError, FileNotFoundError, json.JSONDecodeError) as exc:
        print(f"error: {exc.args[0] if isinstance(exc, KeyError) else exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
