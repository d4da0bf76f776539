"""Every claim of every lab, measured over seeds: does its lesson show beyond the noise?

A lab page says that noise narrows the gap, that an ensemble beats its
members, that codes train faster than pixels. This script runs each lab's
preset over several seeds through the real worker (one process per run, as
the app does, in a temporary store), then checks every claim: its direction
(does the mean move the way the page says?) and whether the move beats the
seed noise (a t-test at 95% on the per-seed differences, `labcore.seeds`:
a step and its control share their seed's data, weights and batches).
Results go to `docs/VALIDITY.md`, one dated section per lab and preset.

    python -m bench.validity --labs regularization --preset quick --seeds 3
    python -m bench.validity --labs autoencoder ensemble --preset quick --seeds 3
    python -m bench.validity --labs search --preset quick --seeds 3 --budget 4
    python -m bench.validity --labs search_fidelity --preset quick --seeds 3 --budget 6
    python -m bench.validity --labs distillation --preset quick --seeds 3
    python -m bench.validity --labs distillation_transfer --carry 2 0.5 --preset quick --seeds 3
    python -m bench.validity --labs distillation_ensemble --preset quick --seeds 3

On this 2-core CPU the quick presets take about 6 min (autoencoder), 20 min
(ensemble) and 35 min (the regularization ladder) at 3 seeds.
"""

import dataclasses
import math
import sys
import tempfile
import time
from pathlib import Path

from bench import _report
from labcore import executors, jobs, seeds
from labcore.labs import LABS
from labcore.labs.search import compare, driver, fidelity
from labcore.labs.search.config import Space
from labcore.store import Store

__all__ = ["CLAIMS", "Claim", "judge", "main"]

MODULE = "bench.validity"
REPO_ROOT = Path(__file__).resolve().parent.parent
OUT = REPO_ROOT / "docs" / "VALIDITY.md"
OWNER = "validity"


# Measurements that are not a lab of their own.
TITLES = {"search_fidelity": "Guided search: lower fidelity, extrapolation and inheritance",
          "distillation_transfer": "Knowledge distillation: the best T and alpha carried to the other dataset",
          "distillation_ensemble": "Knowledge distillation: the Ensemble lab's ensemble as the teacher"}
# The best cell `distillation_transfer` carries, unless --carry says another.
CARRY = (2.0, 0.5)


@dataclasses.dataclass(frozen=True)
class Claim:
    """One sentence a lab page states, as something to measure.

    Args:
        text: str, the claim as the page makes it.
        variant: str, the run variant that shows it (a regularization step,
            or "run" for labs with one kind of run).
        metric: callable(result) -> float, the reading.
        direction: +1 when the claim says the reading is higher than the
            control's (or than `threshold`), -1 when lower, 0 when it says
            the two are the same (it holds when the difference is within
            the noise).
        control: str or None, the variant to compare with; None compares the
            reading with `threshold` (or, with `control_metric`, another
            reading of the same runs).
        control_metric: callable(result) -> float or None, a second reading
            of the same runs to compare with (e.g. pixels vs codes).
        threshold: float, the reference when there is no control.
        reading_unit: str, how a reading is shown ("%" for accuracies).
        unit: str, how a change is shown; `scale` multiplies both.
        ratio: bool, True for a reading that is a ratio (a speed-up): it is
            judged on a log scale, where 2x and 0.5x lie as far from 1x,
            and its change is shown as a factor.
    """

    text: str
    variant: str
    metric: object
    direction: int
    control: str | None = None
    control_metric: object = None
    threshold: float = 0.0
    reading_unit: str = "%"
    unit: str = " points"
    scale: float = 100.0
    ratio: bool = False


def _key(name):
    return lambda result: result[name]


def _nested(*path):
    def read(result):
        for key in path:
            result = result[key]
        return result
    return read


def _model(*names):
    """A model reading of a distillation step's result: the first of `names` the result holds."""
    def read(result):
        return next(result[name] for name in names if name in result)
    return read


def _distilled(key):
    """A distil step's reading of its distilled student: its `key`."""
    return lambda result: result["distilled"][key]


def _student_accuracy(result):
    """A student's test accuracy: from scratch, distilled, or the sweep's best cell (chosen on validation)."""
    if "cells" in result:
        return max(result["cells"], key=lambda cell: cell["val_accuracy"])["test_accuracy"]
    return _model("distilled", "student")(result)["test_accuracy"]


CLAIMS = {
    "regularization": [
        Claim("The baseline overfits: train accuracy ends above validation", "baseline", _key("gap"), +1,
              reading_unit=" points"),
        Claim("Noise narrows the gap", "noise", _key("gap"), -1, control="baseline", reading_unit=" points"),
        Claim("Noise raises validation accuracy", "noise", _key("val_accuracy"), +1, control="baseline"),
        Claim("L2 too strong underfits: train accuracy falls", "l2_strong", _key("train_accuracy"), -1,
              control="noise"),
        Claim("Small L2 narrows the gap", "l2_small", _key("gap"), -1, control="noise", reading_unit=" points"),
        Claim("Small L2 raises validation accuracy", "l2_small", _key("val_accuracy"), +1,
              control="noise"),
        Claim("Small L2 shrinks the weights: the kernels' norm is lower", "l2_small", _key("kernel_norm"), -1,
              control="noise", reading_unit="", unit="", scale=1.0),
        Claim("A lower late rate raises validation accuracy", "lower_lr", _key("val_accuracy"), +1,
              control="l2_small"),
        Claim("Label smoothing makes the model less sure: lower confidence on validation images",
              "label_smoothing", _key("val_confidence"), -1, control="baseline"),
        Claim("Dropout narrows the gap", "dropout", _key("gap"), -1, control="baseline", reading_unit=" points"),
        Claim("Early stopping narrows the gap against the same run trained on", "early_stopping", _key("gap"), -1,
              control_metric=_nested("trained_on", "gap"), reading_unit=" points"),
        Claim("At Adam's 1e-3, warm-up is not free on a short run: validation accuracy is lower", "warmup",
              _key("val_accuracy"), -1, control="baseline"),
        Claim("Without the decay (a constant rate), validation accuracy is lower", "schedule",
              _key("val_accuracy"), -1, control="baseline"),
    ],
    "ensemble": [
        Claim("The vote beats the mean member", "run", _nested("votes", "rules", "soft", "gain_over_mean"), +1,
              reading_unit=" points"),
        Claim("The vote beats the best member", "run", _nested("votes", "rules", "soft", "gain_over_best"), +1,
              reading_unit=" points"),
        Claim("K heads on one trunk, averaged, match the members' vote", "run",
              _nested("heads", "votes", "rules", "soft", "accuracy"), 0,
              control_metric=_nested("votes", "rules", "soft", "accuracy")),
    ],
    "search": [
        Claim("Guided search finds a better model than blind search at the same budget", "guided",
              _key("best_val_accuracy"), +1, control="blind"),
        Claim("A typical guided trial (the mean of a search's trials) beats a typical blind one", "guided",
              _key("mean_val_accuracy"), +1, control="blind"),
    ],
    # What lower fidelity, extrapolation and inheritance each save and cost: one round, its best promoted
    # twice (inheriting weights, from scratch), per seed. "From scratch" is the truth the others are read against.
    "search_fidelity": [
        Claim("Low fidelity ranks the promoted trials: Spearman's rho above 0", "run", _key("rho_cheap"), +1,
              threshold=0.0, reading_unit="", unit="", scale=1.0),
        Claim("Learning-curve extrapolation misses the promoted accuracy by less than the cheap reading does",
              "run", _key("extrapolation_error"), -1, control_metric=_key("cheap_error"), reading_unit=" points"),
        Claim("Weight inheritance makes a promoted trial faster", "run", _key("inheritance_speed_up"), +1,
              threshold=1.0, reading_unit="x", unit="x", scale=1.0, ratio=True),
        Claim("Weight inheritance costs no accuracy at the promoted rung", "run", _key("inherited_accuracy"), 0,
              control_metric=_key("fresh_accuracy")),
    ],
    # Each step is a run; "distil" and "sweep" load the teacher step's weights of the same seed.
    "distillation": [
        Claim("The teacher is more accurate than the student from scratch", "teacher",
              lambda result: _model("teacher", "student")(result)["test_accuracy"], +1, control="student"),
        Claim("The student takes less time per test image than the teacher", "student",
              lambda result: _model("student", "teacher")(result)["inference_ms_per_image"], -1, control="teacher",
              reading_unit=" ms", unit="x", scale=1.0, ratio=True),
        Claim("The distilled student beats the student from scratch", "distil", _student_accuracy, +1,
              control="student"),
        Claim("The sweep's best T and alpha (chosen on validation) beat the student from scratch", "sweep",
              _student_accuracy, +1, control="student"),
    ],
    # The same steps on the other dataset, distilled at the carried T and alpha.
    "distillation_transfer": [
        Claim("There, the teacher is more accurate than the student from scratch", "teacher",
              lambda result: _model("teacher", "student")(result)["test_accuracy"], +1, control="student"),
        Claim("There, the carried T and alpha beat the student from scratch", "distil", _student_accuracy, +1,
              control="student"),
    ],
    # "ensemble" is an Ensemble lab run; "distil" loads the same seed's as its teacher.
    "distillation_ensemble": [
        Claim("The ensemble is more accurate than the student from scratch", "distil",
              lambda result: _model("teacher", "student")(result)["test_accuracy"], +1, control="student"),
        Claim("Distilling the ensemble beats the student from scratch", "distil", _student_accuracy, +1,
              control="student"),
        Claim("The distilled student takes less time per test image than the ensemble", "distil",
              _distilled("inference_ms_per_image"), -1, control_metric=lambda result: result["teacher"][
                  "inference_ms_per_image"], reading_unit=" ms", unit="x", scale=1.0, ratio=True),
    ],
    "autoencoder": [
        Claim("Reconstructions are recognisable: PSNR at least 22 dB", "run",
              _nested("reconstruction", "psnr_db_mean"), +1, threshold=22.0, reading_unit=" dB", unit=" dB",
              scale=1.0),
        Claim("The classifier trains faster per epoch on codes than on pixels", "run", _key("speed_up"), +1,
              threshold=1.0, reading_unit="x", unit="x", scale=1.0, ratio=True),
        Claim("Codes keep the accuracy: on codes within noise of on pixels", "run",
              _nested("encoded", "test_accuracy"), 0, control_metric=_nested("raw", "test_accuracy")),
    ],
}


def variants(lab, preset, only=None, carry=CARRY):
    """The runs a lab's claims need, per seed: name -> Config (seed 0), in the order they run.

    Args:
        lab: str.
        preset: str.
        only: list of variant names to keep (e.g. some ladder steps), or None for all.
        carry: (T, alpha), the cell `distillation_transfer` carries.
    """
    config = LABS[_kind(lab)].part("config")
    base = config.PRESETS[preset]
    if lab.startswith("distillation_"):
        recipe = LABS["distillation"].part("recipe")
        if lab == "distillation_transfer":
            target = "mnist" if base.dataset.startswith("fashion") else "fashion_mnist"
            base = recipe.transfer_config(base, {"temperature": carry[0], "alpha": carry[1]}, target)
            found = {step: recipe.step_config(base, step) for step in ("teacher", "student", "distil")}
        else:
            # Only the members teach: the K-head model and the stack are left out.
            ensemble = dataclasses.replace(LABS["ensemble"].part("config").PRESETS[preset], dataset=base.dataset,
                                           n_heads=0, stacking=False)
            found = {"ensemble": ensemble, "student": recipe.step_config(base, "student"),
                     "distil": recipe.step_config(dataclasses.replace(base, teacher="ensemble"), "distil")}
    elif lab == "regularization":
        # In ladder order: the lower-rate step continues the L2-small run's weights.
        found = {step: dataclasses.replace(base, step=step) for step, info in config.STEPS.items() if info.ladder}
    elif lab == "distillation":
        # The teacher first: the later steps of the same seed load its weights. Each step as its page submits it.
        found = {step: LABS[lab].part("recipe").step_config(base, step) for step in config.STEPS}
    else:
        found = {"run": base}
    return {name: value for name, value in found.items() if only is None or name in only}


def judge(claim, readings, control_readings):
    """One claim's row: the readings, the change, whether its direction holds and beats the noise.

    Args:
        claim: Claim.
        readings: dict seed -> float.
        control_readings: dict seed -> float, or None to compare with the
            claim's threshold. Seeds both hold are compared seed by seed
            (`labcore.seeds.difference`).

    Returns:
        dict with "measured", "control", "change" (texts), "direction"
        (bool: the mean moved as claimed, or stayed within the noise for a
        claim of no difference), "beyond_noise" (bool, or None with one
        seed) and "shown" (bool: the claim holds on this evidence).
    """
    measured = seeds.spread(readings.values())
    reference = control_readings if control_readings is not None else dict.fromkeys(readings, claim.threshold)
    if claim.ratio:
        change = seeds.difference(*({seed: math.log(value) for seed, value in side.items()}
                                    for side in (reference, readings)))
        change_text = f"×{math.exp(change.delta):.2f} ×/÷ {math.exp(change.se):.2f}: {change.verdict}"
    else:
        change = seeds.difference(reference, readings)
        change_text = change.text(claim.scale, claim.unit)
    if claim.direction:
        holds = change.delta * claim.direction > 0
        beyond = None if change.beyond_noise is None else bool(holds and change.beyond_noise)
    else:
        holds = change.beyond_noise is not True
        beyond = change.beyond_noise
    against = (seeds.spread(control_readings.values()).text(claim.scale, claim.reading_unit) if control_readings
               else f"{claim.scale * claim.threshold:g}{claim.reading_unit}")
    return {"measured": measured.text(claim.scale, claim.reading_unit), "control": against,
            "change": change_text, "direction": holds, "beyond_noise": beyond,
            "shown": holds and (beyond is not None) and (beyond if claim.direction else not beyond)}


def _kind(lab):
    """The job kind a lab's measurement runs: a distillation measurement's is "distillation"."""
    return "distillation" if lab.startswith("distillation") else lab


def _run(store, config, title, timeout_s):
    """Queue one run and execute it in a worker process, as the app's supervisor would.

    Its kind is its config's lab (`labcore.labs.<kind>.config`).
    """
    kind = type(config).__module__.split(".")[2]
    return executors.run_to_end(store, jobs.submit(store, kind, config.to_dict(), owner=OWNER, title=title),
                                 timeout_s)


def _measure_search(store, preset, n_seeds, dataset, timeout_s, budget):
    """Guided (the lab's default space and strategy) against blind search, per arm and seed: the best and the
    mean trial; and seconds per trial."""
    config = LABS["search"].part("config").PRESETS[preset]
    config = dataclasses.replace(config, **({"dataset": dataset} if dataset else {}))

    def report(run):
        print(f"search {run.config['study']} trial {run.config['trial']}: {run.status} "
              f"{(run.result or {}).get('best_val_accuracy')}", flush=True)

    ended = driver.run_comparison(store, config, OWNER, Space(), n_seeds, budget, "tpe",
                                  store.root / "search" / "validity.journal", OWNER, timeout_s, on_run=report)
    rows = compare.best_so_far(compare.trials_of(ended), OWNER)
    readings = {key: compare.final_best(rows, budget, reading)[1]
                for key, reading in (("best_val_accuracy", "best"), ("mean_val_accuracy", "mean"))}
    results = {arm: {seed: {key: readings[key][arm][seed] for key in readings} for seed in by_seed}
               for arm, by_seed in readings["best_val_accuracy"].items()}
    return results, [run.finished_at - run.started_at for run in ended if run.started_at and run.finished_at]


def _measure_fidelity(store, preset, n_seeds, dataset, timeout_s, budget, first_seed):
    """Per seed: a round of `budget` trials, its best half promoted inheriting and from scratch, read as claims."""
    config = LABS["search"].part("config").PRESETS[preset]
    results, seconds = {}, []
    for seed in range(first_seed, first_seed + n_seeds):
        seeded = dataclasses.replace(config, seed=seed, **({"dataset": dataset} if dataset else {}))
        ended = driver.run_promotion(store, seeded, f"fidelity-s{seed}", Space(), budget, max(3, budget // 2),
                                     "random", store.root / "search" / "validity.journal", OWNER, timeout_s,
                                     on_run=lambda run: print(f"search trial {run.config['trial']} rung "
                                                              f"{run.config['rung']}: {run.status}", flush=True))
        seconds += [run.finished_at - run.started_at for run in ended if run.started_at and run.finished_at]
        curves = {run.id: [row.values["val_accuracy"] for row in store.metrics(run.id)
                           if row.series == "train" and "val_accuracy" in row.values] for run in ended}
        results[seed] = promotion_readings(fidelity.promotion_rows(ended, curves))
    return {"run": results}, seconds


def promotion_readings(rows):
    """One seed's promotion rows as the fidelity claims' readings (from scratch is the truth)."""
    fresh = {row["trial"]: row for row in rows if not row["inherit"] and row["promoted"] is not None}
    inherited = {row["trial"]: row for row in rows if row["inherit"] and row["promoted"] is not None}
    both = sorted(set(fresh) & set(inherited))
    truth = [fresh[trial]["promoted"] for trial in both]

    def mean(values):
        return sum(values) / len(values) if values else None

    # A curve of one epoch cannot be extrapolated (tiny preset): those trials have no prediction.
    predicted = [trial for trial in both if fresh[trial]["predicted"] is not None]
    return {
        "rho_cheap": fidelity.rank_agreement([fresh[trial]["cheap"] for trial in both], truth),
        "extrapolation_error": mean([abs(fresh[trial]["predicted"] - fresh[trial]["promoted"]) for trial in predicted]),
        "cheap_error": mean([abs(fresh[trial]["cheap"] - fresh[trial]["promoted"]) for trial in predicted]),
        "inheritance_speed_up": (mean([fresh[trial]["promoted_seconds"] for trial in both])
                                 / mean([inherited[trial]["promoted_seconds"] for trial in both])),
        "inherited_accuracy": mean([inherited[trial]["promoted"] for trial in both]),
        "fresh_accuracy": mean(truth),
    }


def measure(lab, preset, n_seeds, dataset, timeout_s, only=None, budget=4, first_seed=0, carry=CARRY):
    """Run every variant over seeds; return {variant: {seed: result}} and the seconds per run.

    The search lab's variants are its two searches, "guided" and "blind",
    each `budget` trials per seed; a seed's result is the best either found.
    Seeds run from `first_seed`, so more seeds can be added to an earlier
    measurement (judge them together with `--store`).
    """
    store = Store(Path(tempfile.mkdtemp(prefix="labcore-validity-")) / "labcore.db")
    if lab == "search":
        return _measure_search(store, preset, n_seeds, dataset, timeout_s, budget)
    if lab == "search_fidelity":
        return _measure_fidelity(store, preset, n_seeds, dataset, timeout_s, budget, first_seed)
    results, seconds = {}, []
    for seed in range(first_seed, first_seed + n_seeds):
        ran = {}
        for name, config in variants(lab, preset, only, carry).items():
            config = dataclasses.replace(config, seed=seed, **({"dataset": dataset} if dataset else {}))
            if getattr(config, "teacher", None) == "ensemble":
                config = dataclasses.replace(config, teacher_run=ran["ensemble"])
            started = time.monotonic()
            run = _run(store, config, f"{lab} {name} seed {seed}", timeout_s)
            ran[name] = run.id
            seconds.append(time.monotonic() - started)
            print(f"{lab} {name} seed {seed}: {run.status} in {seconds[-1]:.0f} s"
                  + (f" ({run.error})" if run.error else ""), flush=True)
            if run.status == "done":
                results.setdefault(name, {})[seed] = run.result
    return results, seconds


def stored(lab, paths, preset=None, dataset=None):
    """The finished runs of earlier measurements, as `measure` returns them (not for search).

    Args:
        lab: str.
        paths: list of store files (labcore.db); of two runs of the same
            variant and seed, the one that finished last counts.
        preset: str or None; when given, only runs whose config is that
            preset's variant (seed and dataset aside) are kept, so a run made
            before a preset change is never judged as if it were current.
        dataset: str or None, the dataset the runs must have used.

    Returns:
        ({variant: {seed: result}}, [seconds per run], number of runs left out).
    """
    wanted = None if preset is None else {
        name: _what_trains(lab, dataclasses.replace(config, **({"dataset": dataset} if dataset else {})))
        for name, config in variants(lab, preset).items()}
    config_class = LABS[_kind(lab)].part("config").Config
    kept, left_out = {}, 0
    runs = [run for path in paths for run in Store(Path(path)).list_runs(statuses=("done",), kind=_kind(lab),
                                                                               limit=10_000)]
    for run in sorted(runs, key=lambda run: run.finished_at):
        name = run.config.get("step", "run")
        if wanted is not None:
            config = config_class.from_dict(run.config)
            if not dataset:
                config = dataclasses.replace(config, dataset=wanted[name][0]) if name in wanted else config
            if name not in wanted or _what_trains(lab, config) != wanted[name]:
                left_out += 1
                continue
        kept[name, run.config["seed"]] = run
    results = {}
    for (name, seed), run in kept.items():
        results.setdefault(name, {})[seed] = run.result
    return results, [run.finished_at - run.started_at for run in kept.values()], left_out


def _what_trains(lab, config):
    """What a run of `config` trains, whatever its seed: (dataset, what its recipe builds from the config).

    Two regularization configs that differ in a field their step never uses
    (the L2-small epochs, for the dropout step) train the same thing; the
    lower-rate step also depends on the L2-small run it continues.
    """
    config = dataclasses.replace(config, seed=0)
    if lab != "regularization":
        return config.dataset, config
    recipe = LABS[lab].part("recipe")
    continued = tuple(getattr(config, name) for name in recipe.CONTINUE_FIELDS) if config.step == "lower_lr" else ()
    return config.dataset, recipe.model_spec(config), recipe.train_config(config), continued


def rows_for(lab, results):
    """The report's rows: one per claim of the lab."""
    rows = []
    for claim in CLAIMS[lab]:
        done = results.get(claim.variant, {})
        # A reading a seed could not give (a rank order of tied trials) is left out, not counted as 0.
        readings = {seed: value for seed, result in done.items() if (value := claim.metric(result)) is not None}
        if not readings or (claim.control and not results.get(claim.control)):
            rows.append([claim.text, "no finished runs", "", "", "", "", "no"])
            continue
        if claim.control:
            control = {seed: claim.metric(result) for seed, result in results.get(claim.control, {}).items()}
        elif claim.control_metric:
            control = {seed: claim.control_metric(result) for seed, result in done.items()}
        else:
            control = None
        verdict = judge(claim, readings, control)
        noise = {True: "yes", False: "no", None: "one seed: cannot tell"}[verdict["beyond_noise"]]
        rows.append([claim.text, verdict["measured"], verdict["control"], verdict["change"],
                     "yes" if verdict["direction"] else "NO", noise, "yes" if verdict["shown"] else "no"])
    return rows


def main(argv=None):
    parser = _report.parser(__doc__.split("\n\n")[0])
    parser.set_defaults(out=OUT)
    parser.add_argument("--labs", nargs="*", default=list(CLAIMS), choices=list(CLAIMS))
    parser.add_argument("--preset", default="quick")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--dataset", help="override the preset's dataset (e.g. fashion_mnist, mnist)")
    parser.add_argument("--timeout", type=float, default=1800.0, help="seconds allowed per run")
    parser.add_argument("--variants", nargs="*", help="only these variants (regularization: ladder steps)")
    parser.add_argument("--budget", type=int, default=4, help="search: trials per search and seed")
    parser.add_argument("--carry", nargs=2, type=float, default=CARRY, metavar=("T", "ALPHA"),
                        help="distillation_transfer: the cell carried to the other dataset (the sweep's best)")
    parser.add_argument("--first-seed", type=int, default=0, help="the first seed to run (to add seeds)")
    parser.add_argument("--store", nargs="*", help="judge the finished runs of earlier measurements' stores "
                                                   "(their labcore.db) that match the preset, instead of "
                                                   "running anything")
    args = parser.parse_args(argv)
    for lab in args.labs:
        load_start = _report.begin(args)
        left_out = 0
        if args.store:
            results, seconds, left_out = stored(lab, args.store, args.preset, args.dataset)
        else:
            results, seconds = measure(lab, args.preset, args.seeds, args.dataset, args.timeout, args.variants,
                                       args.budget, args.first_seed, tuple(args.carry))
        n_seeds = len(set().union(*(by_seed.keys() for by_seed in results.values()))) if results else 0
        rows = [row for row in rows_for(lab, results) if row[1] != "no finished runs" or not args.variants]
        holding = sum(1 for row in rows if row[-1] == "yes")
        _report.report(
            f"{TITLES.get(lab) or LABS[lab].title}, {args.preset} preset, {n_seeds} seeds"
            + (f", {args.dataset}" if args.dataset else ""),
            ["claim", "measured (mean ± sd)", "against", "change", "direction holds", "beyond noise", "shown"],
            rows, module=MODULE, load_start=load_start, args=args,
            notes=(f"{holding} of {len(rows)} claims shown: in the claimed direction and beyond the seed noise "
                   "(a t-test at 95% on the per-seed differences), or, for a claim of no difference, within it. "
                   f"{len(seconds)} runs, median {_report.median(seconds):.0f} s each, worker start included."
                   + (f" {left_out} stored runs of another setting were left out." if left_out else "")))
    return 0


if __name__ == "__main__":
    sys.exit(main())
