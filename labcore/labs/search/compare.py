"""Guided against blind: the learner's space and a space without a guide, at the same budget.

A blind search is what AutoML does without a human: every block type, a wide
range of depths and widths, learning rates across four decades. The guided
search is the learner's own space. Both use the same strategy and the same
budget (trials at the same fidelity), each arm over several seeds, and every
trial is an ordinary run. What the learner sees is the best validation
accuracy each arm has found after 1, 2, ... trials, with its spread over
seeds, and whether guiding won beyond that spread. Keras-free and
Altair-free: the page, the CLI and the validity bench all compute with it.
"""

import dataclasses

from labcore import seeds
from labcore.labs.search.config import Dimension, Member, Space

__all__ = ["ARMS", "BLIND", "arm_study", "best_so_far", "comparison_trials", "final_best", "trials_of", "verdict"]

# The blind space: no prior knowledge, only what any member can be built from.
BLIND = Space(
    n_groups=Dimension("range", (1, 4)),
    n_filters=Dimension("list", (8, 16, 32)),
    growth=Dimension("range", (1.0, 2.0)),
    n_blocks=Dimension("range", (1, 3)),
    stem_filters=Dimension("list", (8, 16, 32)),
    block=Dimension("list", ("plain", "resnet_v1_basic", "resnet_v1_bottleneck", "resnet_v2_basic",
                             "resnet_v2_bottleneck")),
    learning_rate=Dimension("range", (1e-5, 1e-1), log=True),
    l2=Dimension("list", (0.0, 1e-4, 1e-3, 1e-2)),
    noise=Dimension("range", (0.0, 0.5)),
    batch_size=Dimension("list", (32, 64, 128)),
)

ARMS = ("guided", "blind")


def arm_study(name, arm, seed):
    """The study name of one arm of a comparison at one seed, e.g. "my-search-guided-s0"."""
    if arm not in ARMS:
        raise ValueError(f"arm must be one of {ARMS}; got {arm!r}.")
    return f"{name}-{arm}-s{seed}"


def _arm_of(study_name, name):
    """(arm, seed) of a study named by `arm_study` for `name`, or None."""
    for arm in ARMS:
        prefix = f"{name}-{arm}-s"
        if study_name.startswith(prefix) and study_name[len(prefix):].isdigit():
            return arm, int(study_name[len(prefix):])
    return None


def trials_of(runs):
    """The trials a comparison's runs stand for, as `best_so_far` reads them.

    Args:
        runs: iterable of `labcore.store.Run` of kind "search".

    Returns:
        list of dict with study, trial, accuracy (the run's best validation
        accuracy, None unless it is done) and pending (queued or running).
    """
    return [{"study": run.config.get("study", ""), "trial": run.config.get("trial", -1),
             "accuracy": (run.result or {}).get("best_val_accuracy") if run.status == "done" else None,
             "pending": run.status in ("queued", "running")} for run in runs]


def best_so_far(trials, name):
    """The best validation accuracy each arm and seed had found after each trial.

    Args:
        trials: iterable of dict with "study", "trial", "accuracy" (None
            for a trial that failed or has not finished) and "pending"
            (True while it is queued or running), from `trials_of`.
        name: str, the comparison's name (`arm_study`'s).

    Returns:
        list of dict with arm, seed, budget (trials spent, from 1), best
        (None until a trial of that arm and seed has succeeded) and mean
        (the mean accuracy of its trials so far, a failed one counted as
        0: it learned nothing; None until one has ended); budget
        counts every trial asked in order, failed ones included, since they
        cost their share of the budget too. Only budgets up to the last
        finished trial of each arm and seed are given.
    """
    by_arm = {}
    for trial in trials:
        found = _arm_of(trial["study"], name)
        if found is not None:
            by_arm.setdefault(found, []).append(trial)
    rows = []
    for (arm, seed), own in sorted(by_arm.items()):
        best, total = None, 0.0
        for budget, trial in enumerate(sorted(own, key=lambda t: t["trial"]), start=1):
            if trial.get("pending"):
                break
            if trial["accuracy"] is not None:
                best = trial["accuracy"] if best is None else max(best, trial["accuracy"])
            total += trial["accuracy"] or 0.0
            rows.append({"arm": arm, "seed": seed, "budget": budget, "best": best, "mean": total / budget})
    return rows


def final_best(rows, budget=None, reading="best"):
    """Each arm's best (or mean) accuracy per seed at `budget` trials (default: the largest every seed reached).

    Args:
        rows: list of dict from `best_so_far`.
        budget: int or None.
        reading: str, "best" or "mean" (a row's field).

    Returns:
        (budget, {arm: {seed: reading}}); the budget is None when some arm
        has no finished trial yet.
    """
    reached = {}
    for row in rows:
        key = (row["arm"], row["seed"])
        reached[key] = max(reached.get(key, 0), row["budget"])
    if not reached or {arm for arm, _ in reached} != set(ARMS):
        return None, {}
    common = min(reached.values()) if budget is None else budget
    found = {}
    for row in rows:
        if row["budget"] == common and row.get(reading) is not None:
            found.setdefault(row["arm"], {})[row["seed"]] = row[reading]
    return common, found


def verdict(rows, budget=None):
    """Whether guiding beat blind search at the same budget, in words from the runs.

    Two readings: the best trial of each search (what a search keeps), and,
    where the rows have it, the mean trial (what guiding changes: fewer
    trials spent on models that do not learn). A blind search's best of a
    few draws is the noisier reading, since one lucky draw decides it.

    Args:
        rows: list of dict from `best_so_far`.
        budget: int or None (see `final_best`).

    Returns:
        str, markdown; which runs to start when there is nothing to compare yet.

    Example:
    >>> rows = [{"arm": arm, "seed": seed, "budget": 3, "best": best}
    ...         for arm, seed, best in (("guided", 0, 0.80), ("guided", 1, 0.82), ("guided", 2, 0.81),
    ...                                 ("blind", 0, 0.62), ("blind", 1, 0.70), ("blind", 2, 0.66))]
    >>> verdict(rows)
    'After 3 trials per arm, guided search found 81.0 ± 1.0% and blind search 66.0 ± 4.0%: guided is +15.0 ± 1.7 points: beyond noise (3 seeds, compared seed by seed).'
    """
    common, found = final_best(rows, budget)
    if common is None or set(found) != set(ARMS):
        return "Run the guided-against-blind comparison above: both arms need a finished trial."
    said = _compared(f"After {common} trial{'s' if common > 1 else ''} per arm, guided search found {{guided}} "
                     "and blind search {blind}", found)
    _, means = final_best(rows, common, reading="mean")
    if set(means) == set(ARMS):
        said += " " + _compared("A typical trial (the mean of a search's trials): guided {guided}, blind {blind}",
                                means)
    return said


def _compared(template, found):
    """`template` with both arms' spreads, then the paired difference and whether it beats the noise."""
    guided, blind = found["guided"], found["blind"]
    change = seeds.difference(blind, guided)
    return (template.format(guided=seeds.spread(guided.values()).text(), blind=seeds.spread(blind.values()).text())
            + f": guided is {change.text()}" + (f" ({min(change.n)} seeds, compared seed by seed)." if change.paired
                                                else "."))


def comparison_trials(config, name, space, n_seeds, asked):
    """The runs of a comparison: one (Config, title) per asked trial, seeds and arms interleaved.

    Args:
        config: Config, the preset's trial fidelity (its seed is the first).
        name: str, the comparison's name.
        space: Space, the guided arm's.
        n_seeds: int.
        asked: callable(study name, Space, seed) -> list of (trial number,
            choice dict): asks that arm's study for its trials.

    Returns:
        list of (Config, title), trial by trial so both arms fill in together.
    """
    per_arm = []
    for offset in range(n_seeds):
        seed = config.seed + offset
        for arm, arm_space in (("guided", space), ("blind", BLIND)):
            study = arm_study(name, arm, seed)
            per_arm.append([(dataclasses.replace(config, member=Member(**choice), study=study, trial=number,
                                                 seed=seed), f"Search · {study} · trial {number}")
                            for number, choice in asked(study, arm_space, seed)])
    return [run for index in range(max(map(len, per_arm), default=0)) for runs in per_arm
            if index < len(runs) for run in [runs[index]]]
