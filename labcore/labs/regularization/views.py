"""The Regularization lab's views: its two charts and the sentences beside each run.

The ladder chart joins each step's train and validation accuracy by the gap
the lab is about, as the mean over seeds with the lowest-to-highest bar;
the ladder table sets each step against its control and says whether the
difference beats the seed noise (`labcore.seeds`); the range-test chart shows the loss per batch as the rate
grows, with the rate it suggests. `measured_text` says in one line what a
finished (or running) step measured, to set beside what the original lab
promised. Only pages import this module: it imports Altair.
"""

import math

import altair as alt
import pandas as pd

from labcore import seeds
from labcore.answers import Answer
from labcore.labs.regularization.config import STEPS
from labcore.labs.regularization.recipe import LADDER_METRICS, smoothed, sweep_points

__all__ = ["UNDERFIT_POINTS", "answers", "control_row", "ladder_chart", "reference_text", "ladder_table", "lr_range_chart", "measured_text", "summary_text"]


# ## What a run measured, in words


def summary_text(result):
    """One line of what a finished step measured, for the caption beside it.

    Args:
        result: dict, a run's result.

    Returns:
        str, e.g. "train 95.1% · validation 81.2% · gap 13.9 points · best
        validation 82.0% · 6 epochs in 41 s"; "" when nothing was measured.
    """
    parts = []
    for key, name in (("train_accuracy", "train"), ("val_accuracy", "validation")):
        if result.get(key) is not None:
            parts.append(f"{name} {100 * result[key]:.1f}%")
    if result.get("gap") is not None:
        parts.append(f"gap {100 * result['gap']:.1f} points")
    if result.get("best_val_accuracy") is not None:
        parts.append(f"best validation {100 * result['best_val_accuracy']:.1f}%")
    epochs = result.get("epochs_total", result.get("epochs_run"))
    if epochs is not None and result.get("seconds") is not None:
        parts.append(f"{epochs} epochs in {result['seconds']:.0f} s")
    return " · ".join(parts)


def measured_text(step, result):
    """What a step's run measured, for the caption beside the original lab's claim.

    Args:
        step: str, a key of `STEPS`.
        result: dict, the run's result so far (empty while it trains).

    Returns:
        str: the range test's suggestion, the sweep's models, or the
        `summary_text` of a fit (with the restored epoch of early stopping
        and the verdict of the small-batch check); "still sweeping…" or
        "still training…" while nothing is measured yet.
    """
    if step == "lr_range":
        if "suggested_rate" not in result:
            return "still sweeping…"
        return (f"suggested rate {result['suggested_rate']:.1e} (lowest loss at "
                f"{result['min_loss_rate']:.1e}, steepest descent at "
                f"{result['steepest_rate']:.1e}) after {result['steps_run']} batches")
    if step == "sweep":
        return " · ".join(f"{p['model']}: {100 * p['validation accuracy']:.1f}% with "
                          f"{p['parameters']:,} parameters, {p['seconds per epoch']:.1f} s/epoch"
                          for p in sweep_points(result)) or "still training…"
    measured = summary_text(result) or "still training…"
    if step == "early_stopping" and "trained_on" in result:
        measured += " · " + _stopping_text(result)
    if step == "overfit_batch" and "passed" in result:
        measured += (f" on {result['n_images']} images: " +
                     ("passed." if result["passed"] else "did NOT reach 99%, look for a bug."))
    return measured


def _stopping_text(result):
    """Where early stopping stopped, and what the same run trained on measured."""
    on = result["trained_on"]
    if result.get("stopped_epoch") is None:
        return (f"validation loss was still falling at epoch {result['epochs_run']}: the rule never fired, "
                "so early stopping kept the final weights")
    return (f"the rule fired at epoch {result['stopped_epoch']} and restored epoch {result['best_epoch']} "
            f"(lowest validation loss); trained on to epoch {result['epochs_run']}, the same run reached "
            f"train {100 * on['train_accuracy']:.1f}% · validation {100 * on['val_accuracy']:.1f}% · "
            f"gap {100 * on['gap']:.1f} points")


# ## Charts only this lab draws


# A step whose train accuracy falls this far below its control's, with its
# validation accuracy down too (both beyond the seed noise), has stopped
# fitting: its narrow gap is underfitting, not success.
UNDERFIT_POINTS = 0.05
# The steps whose one change is an L2 penalty.
_L2_STEPS = ("l2_small",)


def ladder_table(rows):
    """The ladder as the page's table: mean ± sd over seeds, and each step against its control.

    Args:
        rows: list of dict, from `recipe.ladder_rows`.

    Returns:
        list of dict with keys step, seeds, train, validation, gap, test,
        confidence (texts such as "77.3 ± 2.1%"; confidence is the mean
        top-class probability on validation images), against (the
        control's label), validation_change, gap_change and
        confidence_change (texts such as "+2.1 ± 0.6 points: beyond
        noise"), reading (what the numbers allow one to say),
        epochs, seconds, run_ids and expected.
    """
    by_step = {row["step"]: row for row in rows}
    table = []
    for row in rows:
        control = control_row(row, by_step)
        shown = {key: _spread_text(row[key]) for key in ("train_accuracy", "val_accuracy", "gap", "test_accuracy")}
        # A seed draws the same subset, weights and batches for a step and its
        # control, so the two are compared seed by seed where seeds match.
        changes = {key: seeds.difference(_by_seed(control, key), _by_seed(row, key)) if control else None
                   for key in ("train_accuracy", "val_accuracy", "gap", "val_confidence", "kernel_norm")}
        table.append({
            "step": row["label"],
            "seeds": row["seeds"],
            "train": shown["train_accuracy"],
            "validation": shown["val_accuracy"],
            "gap": shown["gap"],
            "test": shown["test_accuracy"],
            "against": control["label"] if control else "",
            "validation_change": changes["val_accuracy"].text() if changes["val_accuracy"] else "",
            "gap_change": changes["gap"].text() if changes["gap"] else "",
            "confidence": _spread_text(row["val_confidence"]),
            "confidence_change": changes["val_confidence"].text() if changes["val_confidence"] else "",
            "reading": _reading(row, control, changes),
            "epochs": row["epochs"],
            "seconds": row["seconds"],
            "run_ids": ", ".join(f"#{run_id}" for run_id in row["run_ids"]),
            "expected": row["expected"],
        })
    return table


def control_row(row, by_step):
    """The row a step is compared with: its control step's, or for early stopping the same runs trained on.

    Args:
        row: dict, a ladder row.
        by_step: dict step -> ladder row.

    Returns:
        dict shaped like a ladder row (label, seed_values, the readings), or
        None when the control has not run.
    """
    trained_on = row.get("trained_on") or []
    if trained_on and all(trained_on):
        return {"step": row["step"], "label": f"the same run, trained on to epoch {row['epochs']}",
                "possessive": f"the same run's, trained on to epoch {row['epochs']}",
                "seed_values": row["seed_values"],
                **{key: [readings.get(key) for readings in trained_on] for key in LADDER_METRICS}}
    return by_step.get(STEPS[row["step"]].control)


def _by_seed(row, key):
    return dict(zip(row["seed_values"], row[key]))


def _spread_text(readings):
    measured = seeds.spread(readings)
    return measured.text() if measured else ""


def _reading(row, control, changes):
    """One sentence: what this step's readings, against its control's, allow one to say."""
    if control is None:
        if row["step"] == "early_stopping":
            # Its control is the same run trained on, which runs stored before that was measured lack.
            return "This run did not measure the same run trained on: run the step again to compare."
        if row["step"] != "baseline":
            return "Run its control step to compare."
        gap = seeds.spread(row["gap"])
        if gap is None:
            return ""
        return (f"Overfits: train is {gap.text(unit=' points')} above validation."
                if gap.mean > 0.05 else "Barely overfits at this setting: little for a regularizer to close.")
    train, val, gap = changes["train_accuracy"], changes["val_accuracy"], changes["gap"]
    if (train and train.beyond_noise and train.delta < -UNDERFIT_POINTS
            and val and val.beyond_noise and val.delta < 0):
        return (f"Underfits: train accuracy fell {100 * -train.delta:.1f} points below {control['label']}; "
                "its small gap is not a success.")
    if gap is None or gap.beyond_noise is None:
        return f"One seed on a side: run more seeds to tell this from {control['label']}."
    theirs = control.get("possessive") or f"{control['label']}'s"
    if not gap.beyond_noise:
        said = f"The gap is within the seed noise of {theirs}: no effect shown at this setting."
        if row["step"] in _L2_STEPS:
            said += _penalty_reading(row, control, changes.get("kernel_norm"))
    else:
        said = f"The gap is {'narrower' if gap.delta < 0 else 'wider'} than {theirs}, beyond the seed noise."
        if gap.delta < 0 and train and train.beyond_noise and train.delta < 0 and val and not val.beyond_noise:
            # What the original promised (validation up) is a different claim from a narrower gap.
            said += (f" It closed from above: train accuracy fell {100 * -train.delta:.1f} points, while "
                     f"validation moved {100 * val.delta:+.1f} points, within the noise.")
    confidence = changes.get("val_confidence")
    if confidence and confidence.beyond_noise and confidence.delta < 0:
        said += (f" It is less sure of itself on validation images: {100 * -confidence.delta:.1f} points "
                 "less confidence in its top class.")
    return said


def _penalty_reading(row, control, norm):
    """Why an L2 penalty left the gap alone, from the weights: too weak to move them, or moved without effect."""
    if norm is None or norm.beyond_noise is None:
        return ""
    ratio = seeds.spread(row["kernel_norm"]).mean / seeds.spread(control["kernel_norm"]).mean - 1
    if not norm.beyond_noise:
        return (f" The penalty barely moved the weights (their norm {100 * ratio:+.0f}%, within the seed noise) "
                f"in {row['epochs']} epochs.")
    return (f" The penalty did move the weights (their norm {100 * ratio:+.0f}%), but batch norm rescales most "
            "convolutions' outputs, so their scale changes little of what the model computes.")


def answers(rows, sweeps):
    """The original lab's closing questions, answered from the ladder and the compact-model sweep.

    Args:
        rows: list of dict, from `recipe.ladder_rows`.
        sweeps: list of dict, the results of finished sweep runs of one
            setting (one per seed), newest first.

    Returns:
        list of `labcore.answers.Answer`.
    """
    by_step = {row["step"]: row for row in rows}
    baseline = by_step.get("baseline")
    questions = []
    closed = [row for row in rows if row["step"] != "baseline" and control_row(row, by_step) is not None]
    if baseline is None or not closed:
        generalise = "Run the baseline and at least one regularization step, over seeds, to answer."
    else:
        best = max(closed, key=lambda row: seeds.spread(row["val_accuracy"]).mean)
        table = {row["step"]: entry for row, entry in zip(rows, ladder_table(rows))}
        entry = table[best["step"]]
        generalise = (
            f"Baseline validation {table['baseline']['validation']}, gap "
            f"{seeds.spread(baseline['gap']).text(unit=' points')}. The best step by validation, "
            f"**{best['label']}**, reached {entry['validation']}; against {entry['against']}: validation "
            f"{entry['validation_change']}, gap {entry['gap_change']}. {entry['reading']}")
    questions.append(Answer("Can a compact model generalise without data augmentation?", generalise,
                            "Validation rose from ~73% (baseline) to ~84% with noise, small L2 and a lower "
                            "late rate, on CIFAR-10 over 40 epochs (cells 12-20)."))
    models = [model for sweep in sweeps for model in sweep.get("models", [])]
    if not models:
        timing = size = "Run the compact-models step above: it trains the same recipe at several depths."
    else:
        by_blocks = {}
        for model in models:
            by_blocks.setdefault(model["n_blocks"], []).append(model)
        summary = [(blocks, group[0]["params"], seeds.spread([m["val_accuracy"] for m in group]),
                    seeds.spread([m["seconds_per_epoch"] for m in group])) for blocks, group in sorted(by_blocks.items())]
        timing = "; ".join(f"{blocks} block(s)/group: {speed.mean:.1f} s per epoch" for blocks, _, _, speed in summary)
        largest = summary[-1]
        keeps = [row for row in summary
                 if seeds.difference([m["val_accuracy"] for m in by_blocks[largest[0]]],
                                     [m["val_accuracy"] for m in by_blocks[row[0]]]).beyond_noise is not True]
        smallest = keeps[0] if keeps else largest
        size = (", ".join(f"{blocks} block(s)/group: {params:,} parameters, validation {accuracy.text()}"
                          for blocks, params, accuracy, _ in summary)
                + f". The smallest within the seed noise of the largest: **{smallest[0]} block(s)/group** "
                  f"({smallest[1]:,} parameters).")
    questions.append(Answer("How is training time affected?", timing,
                            "Not measured by the original lab."))
    questions.append(Answer("How small can the model be and keep its accuracy?", size,
                            "The original suggests n_blocks 1 to 4 but gives no numbers."))
    return questions


def reference_text(reference, rows):
    """The nearest-neighbour reference beside the baseline: does the network beat memorised pixels?

    Args:
        reference: dict from `labcore.baselines.nearest_neighbour_accuracy`.
        rows: list of dict, from `recipe.ladder_rows`.

    Returns:
        str, markdown.
    """
    text = (f"**A reference to beat:** a 1-nearest-neighbour classifier on the raw pixels of the same "
            f"{reference['n_train']:,} training images scores **{100 * reference['val_accuracy']:.1f}%** on the "
            "same validation images (seed 0's split)")
    baseline = next((row for row in rows if row["step"] == "baseline"), None)
    if baseline is None:
        return text + "; run the baseline to compare."
    measured = seeds.spread(baseline["val_accuracy"])
    change = seeds.difference([reference["val_accuracy"]] * measured.n, baseline["val_accuracy"])
    verdict = {True: "beats it" if change.delta > 0 else "falls below it",
               False: "is within the seed noise of it", None: "cannot be told from it with one seed"}
    return text + f". The baseline's {measured.text()} {verdict[change.beyond_noise]}."


def ladder_chart(rows, height=260):
    """Train and validation accuracy per step over seeds: the mean, and a bar from lowest to highest.

    Args:
        rows: list of dict, from `recipe.ladder_rows`.
        height: int, pixels.

    Returns:
        an `alt.Chart`, or None when there are no rows.
    """
    if not rows:
        return None
    order = [row["label"] for row in rows]
    records = []
    for row in rows:
        gap = seeds.spread(row["gap"])
        for split, key in (("train", "train_accuracy"), ("validation", "val_accuracy")):
            measured = seeds.spread(row[key])
            if measured is not None:
                records.append({"step": row["label"], "split": split, "accuracy": measured.mean,
                                "lowest": measured.lo, "highest": measured.hi, "seeds": measured.n,
                                "gap": gap.mean if gap else None, "dataset": row["dataset"]})
    frame = pd.DataFrame.from_records(records)
    # Every step labelled, slanted: level labels would hide every other one.
    x = alt.X("step:N", sort=order, title=None,
              axis=alt.Axis(labelAngle=-30, labelOverlap=False, labelLimit=160))
    tooltip = ["step:N", "split:N", alt.Tooltip("accuracy:Q", format=".1%", title="mean accuracy"),
               alt.Tooltip("lowest:Q", format=".1%"), alt.Tooltip("highest:Q", format=".1%"), "seeds:Q",
               alt.Tooltip("gap:Q", format="+.1%", title="mean gap (train - validation)"), "dataset:N"]
    colour = alt.Color("split:N", title=None, scale=alt.Scale(domain=["train", "validation"],
                                                              range=["#1f77b4", "#ff7f0e"]))
    gap = alt.Chart(frame).mark_line(strokeWidth=6, opacity=0.3, color="#ff7f0e").encode(
        x=x, y="accuracy:Q", detail="step:N", tooltip=tooltip)
    spread = alt.Chart(frame).mark_rule(strokeWidth=2).encode(x=x, y="lowest:Q", y2="highest:Q", color=colour,
                                                               tooltip=tooltip)
    points = alt.Chart(frame).mark_point(filled=True, size=110).encode(
        x=x,
        y=alt.Y("accuracy:Q", title="accuracy after training", scale=alt.Scale(zero=False),
                axis=alt.Axis(format="%")),
        color=colour,
        tooltip=tooltip,
    )
    return (gap + spread + points).properties(
        title="The ladder: mean over seeds (bars: lowest to highest seed), the gap shaded", height=height)


def lr_range_chart(rows, suggestion=None, height=280):
    """Loss against learning rate (log scale), raw and smoothed, with the suggestion.

    Args:
        rows: list of dict with "learning_rate" and "loss", in sweep order
            (the range test's stored steps).
        suggestion: dict from `recipe.lr_range_suggestion`, or None.
        height: int, pixels.

    Returns:
        an `alt.Chart`, or None when there are no rows.
    """
    rows = [row for row in rows if math.isfinite(row.get("loss", float("nan")))]
    if not rows:
        return None
    frame = pd.DataFrame.from_records(
        [{"learning rate": row["learning_rate"], "loss": row["loss"], "smoothed loss": smooth}
         for row, smooth in zip(rows, smoothed([row["loss"] for row in rows]))])
    # Past a divergence the loss dwarfs the curve; cut the view at 4x the start.
    ceiling = 4 * float(frame["smoothed loss"].iloc[0])
    frame = frame[frame["smoothed loss"] <= ceiling]
    x = alt.X("learning rate:Q", scale=alt.Scale(type="log"), axis=alt.Axis(format=".0e"))
    raw = alt.Chart(frame).mark_circle(size=14, opacity=0.35, color="#999999").encode(
        x=x, y=alt.Y("loss:Q", scale=alt.Scale(zero=False)),
        tooltip=[alt.Tooltip("learning rate:Q", format=".2e"), alt.Tooltip("loss:Q", format=".3f")])
    line = alt.Chart(frame).mark_line(color="#1f77b4").encode(x=x, y="smoothed loss:Q")
    chart = raw + line
    if suggestion:
        marks = pd.DataFrame.from_records([
            {"learning rate": suggestion["suggested_rate"], "what": "suggested (min / 10)"},
            {"learning rate": suggestion["min_loss_rate"], "what": "lowest loss"},
        ])
        chart = chart + alt.Chart(marks).mark_rule(strokeDash=[4, 3]).encode(
            x="learning rate:Q",
            color=alt.Color("what:N", title=None,
                            scale=alt.Scale(domain=["suggested (min / 10)", "lowest loss"],
                                            range=["#2ca02c", "#d62728"]),
                            legend=alt.Legend(orient="bottom")),
            tooltip=["what:N", alt.Tooltip("learning rate:Q", format=".2e")])
    return chart.properties(title="Learning-rate range test: loss per batch as the rate grows", height=height)
