"""Performance estimation: cheap trials, the best promoted to a higher fidelity, and what that cost.

A search ranks its trials at a low fidelity (few images, few epochs)
because full training of every trial costs too much. Successive halving
then promotes the best few to the next rung, here `PROMOTION_FACTOR` times
the epochs. Two things make a rung cheaper, each a switch the learner can
try: weight inheritance (a promoted trial starts from its parent's trained
weights and trains only the epochs its parent did not) and learning-curve
extrapolation (predict the promoted accuracy from the parent's first
epochs, before training anything). What they cost shows in how well the
cheap numbers rank the promoted ones. Keras-free and Altair-free.
"""

import dataclasses

from labcore.labs.search.config import PROMOTION_FACTOR

__all__ = ["best_trials", "extrapolate", "promoted", "promotion_rows", "promotion_text", "rank_agreement"]


def best_trials(rows, k):
    """The numbers of the `k` finished trials with the highest validation accuracy, best first.

    Args:
        rows: list of dict from `study.trial_rows`.
        k: int.
    """
    done = sorted((row for row in rows if row["accuracy"] is not None), key=lambda row: -row["accuracy"])
    return [row["trial"] for row in done[:k]]


def promoted(parent, parent_run, inherit, factor=PROMOTION_FACTOR):
    """The config of a trial promoted to the next rung.

    Args:
        parent: Config of a finished rung-0 trial.
        parent_run: int, that trial's run id.
        inherit: bool, start from the parent's trained weights.
        factor: int, the promoted trial's epochs as a multiple of the parent's.

    Returns:
        Config at rung 1, the same member, data and seed.
    """
    return dataclasses.replace(parent, rung=1, epochs=parent.epochs * factor, parent_run=parent_run,
                               inherit=inherit, inherited_epochs=parent.epochs if inherit else 0)


def extrapolate(curve, epoch):
    """Predict the validation accuracy at `epoch` from the first epochs' curve.

    Fits accuracy(t) = a - b / t by least squares to the epochs given (the
    simplest curve that rises and levels off) and reads it at `epoch`.

    Args:
        curve: list of float, validation accuracy after epochs 1, 2, ...
        epoch: int, where to read the fitted curve.

    Returns:
        float in [0, 1], or None with fewer than two epochs.

    Example:
    >>> round(extrapolate([0.60, 0.70], 6), 3)
    0.767
    """
    if len(curve) < 2:
        return None
    xs = [1.0 / t for t in range(1, len(curve) + 1)]
    mean_x, mean_y = sum(xs) / len(xs), sum(curve) / len(curve)
    slope = (sum((x - mean_x) * (y - mean_y) for x, y in zip(xs, curve))
             / sum((x - mean_x) ** 2 for x in xs))
    return min(1.0, max(0.0, mean_y + slope * (1.0 / epoch - mean_x)))


def _ranks(values):
    order = sorted(range(len(values)), key=lambda index: values[index])
    ranks = [0.0] * len(values)
    for rank, index in enumerate(order):
        ranks[index] = float(rank)
    return ranks


def rank_agreement(cheap, promoted_accuracy):
    """How well cheap readings rank the promoted trials: Spearman's rho, from -1 to 1.

    Args:
        cheap: list of float, one cheap reading per promoted trial.
        promoted_accuracy: list of float, the same trials' promoted accuracy.

    Returns:
        float, or None for fewer than three trials or readings all equal.

    Example:
    >>> rank_agreement([0.6, 0.7, 0.8], [0.75, 0.80, 0.85]), rank_agreement([0.6, 0.7, 0.8], [0.9, 0.8, 0.7])
    (1.0, -1.0)
    """
    if len(cheap) < 3:
        return None
    first, second = _ranks(cheap), _ranks(promoted_accuracy)
    mean = (len(cheap) - 1) / 2
    spread = sum((rank - mean) ** 2 for rank in first)
    if spread == 0:
        return None
    return sum((a - mean) * (b - mean) for a, b in zip(first, second)) / spread


def promotion_rows(runs, curves):
    """One row per promoted trial: its cheap reading, the extrapolation, the promoted result and costs.

    Args:
        runs: iterable of `labcore.store.Run` of one study (kind "search").
        curves: dict run id -> list of validation accuracies per epoch, for
            the rung-0 runs.

    Returns:
        list of dict with trial, inherit, cheap (rung-0 accuracy),
        predicted (extrapolated to the promoted epochs), promoted (its
        accuracy, None until done), epochs, cheap_seconds and
        promoted_seconds, ordered by trial.
    """
    by_id = {run.id: run for run in runs}
    rows = []
    for run in by_id.values():
        config = run.config
        if config.get("rung", 0) != 1 or config.get("parent_run") not in by_id:
            continue
        parent = by_id[config["parent_run"]]
        result, parent_result = run.result or {}, parent.result or {}
        rows.append({
            "trial": config["trial"], "inherit": bool(config.get("inherit")),
            "cheap": parent_result.get("best_val_accuracy"),
            "predicted": extrapolate(curves.get(parent.id, []), config["epochs"]),
            "promoted": result.get("best_val_accuracy") if run.status == "done" else None,
            "epochs": config["epochs"],
            "cheap_seconds": parent_result.get("seconds"),
            "promoted_seconds": result.get("seconds") if run.status == "done" else None,
        })
    return sorted(rows, key=lambda row: (row["trial"], row["inherit"]))


def _mean(rows, key):
    return sum(row[key] for row in rows) / len(rows)


def promotion_text(rows):
    """What promotion showed, in words: did the cheap ranking hold, and what did the switches save?

    Args:
        rows: list of dict from `promotion_rows`.

    Returns:
        str, markdown.
    """
    done = [row for row in rows if row["promoted"] is not None and row["cheap"] is not None]
    if not done:
        return "Promote some trials above: nothing promoted has finished yet."
    said = [f"{len(done)} promoted trial(s) finished."]
    best_cheap = max(done, key=lambda row: row["cheap"])
    best_promoted = max(done, key=lambda row: row["promoted"])
    said.append(f"The best at low fidelity (trial {best_cheap['trial']}) "
                + ("is still the best promoted." if best_cheap is best_promoted else
                   f"is not the best promoted: trial {best_promoted['trial']} is "
                   f"({100 * best_promoted['promoted']:.1f}% against {100 * best_cheap['promoted']:.1f}%)."))
    for name, readings in (("the cheap accuracies", [row["cheap"] for row in done]),
                           ("the extrapolations", [row["predicted"] for row in done])):
        if None in readings:
            continue
        rho = rank_agreement(readings, [row["promoted"] for row in done])
        if rho is not None:
            said.append(f"Ranked by {name}, the promoted trials come in an order that agrees with their promoted "
                        f"accuracy at Spearman's rho {rho:+.2f} (1: the same order, 0: no relation).")
    predicted = [row for row in done if row["predicted"] is not None]
    if predicted:
        error = sum(abs(row["predicted"] - row["promoted"]) for row in predicted) / len(predicted)
        as_is = sum(abs(row["cheap"] - row["promoted"]) for row in predicted) / len(predicted)
        said.append(f"Extrapolating the cheap curves missed the promoted accuracy by {100 * error:.1f} points "
                    f"on average, without training anything; taking the cheap accuracy as it is missed by "
                    f"{100 * as_is:.1f}, so the extrapolation " + ("helped." if error < as_is else "did not help."))
    inherited = [row for row in done if row["inherit"] and row["promoted_seconds"] is not None]
    fresh = [row for row in done if not row["inherit"] and row["promoted_seconds"] is not None]
    if inherited and fresh:
        said.append(f"Inheriting weights took {_mean(inherited, 'promoted_seconds'):.0f} s a trial against "
                    f"{_mean(fresh, 'promoted_seconds'):.0f} s from scratch, reaching "
                    f"{100 * _mean(inherited, 'promoted'):.1f}% against {100 * _mean(fresh, 'promoted'):.1f}% "
                    "(one seed per trial: read small differences with care).")
    return " ".join(said)
