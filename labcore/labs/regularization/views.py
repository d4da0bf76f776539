"""The Regularization lab's views: its two charts and the sentences beside each run.

The ladder chart joins each step's train and validation accuracy by the gap
the lab is about; the range-test chart shows the loss per batch as the rate
grows, with the rate it suggests. `measured_text` says in one line what a
finished (or running) step measured, to set beside what the original lab
promised. Only pages import this module: it imports Altair.
"""

import math

import altair as alt
import pandas as pd

from labcore.labs.regularization.recipe import smoothed, sweep_points

__all__ = ["ladder_chart", "lr_range_chart", "measured_text", "summary_text"]


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
    if step == "early_stopping" and result.get("best_epoch"):
        measured += f" · the weights of epoch {result['best_epoch']} (lowest validation loss) restored"
    if step == "overfit_batch" and "passed" in result:
        measured += (f" on {result['n_images']} images: " +
                     ("passed." if result["passed"] else "did NOT reach 99%, look for a bug."))
    return measured


# ## Charts only this lab draws


def ladder_chart(rows, height=260):
    """Train and validation accuracy per step, joined by the gap between them.

    Args:
        rows: list of dict, from `recipe.ladder_rows`.
        height: int, pixels.

    Returns:
        an `alt.Chart`, or None when there are no rows.
    """
    if not rows:
        return None
    order = [row["label"] for row in rows]
    frame = pd.DataFrame.from_records(
        [{"step": row["label"], "split": split, "accuracy": row[key], "gap": row["gap"],
          "dataset": row["dataset"], "run": row["run_id"]}
         for row in rows for split, key in (("train", "train_accuracy"), ("validation", "val_accuracy"))])
    # Every step labelled, slanted: level labels would hide every other one.
    x = alt.X("step:N", sort=order, title=None,
              axis=alt.Axis(labelAngle=-30, labelOverlap=False, labelLimit=160))
    tooltip = ["step:N", "split:N", alt.Tooltip("accuracy:Q", format=".1%"),
               alt.Tooltip("gap:Q", format="+.1%", title="gap (train - validation)"), "dataset:N", "run:Q"]
    gap = alt.Chart(frame).mark_line(strokeWidth=6, opacity=0.3, color="#ff7f0e").encode(
        x=x, y="accuracy:Q", detail="step:N", tooltip=tooltip)
    points = alt.Chart(frame).mark_point(filled=True, size=110).encode(
        x=x,
        y=alt.Y("accuracy:Q", title="accuracy after training", scale=alt.Scale(zero=False),
                axis=alt.Axis(format="%")),
        color=alt.Color("split:N", title=None, scale=alt.Scale(domain=["train", "validation"],
                                                                range=["#1f77b4", "#ff7f0e"])),
        tooltip=tooltip,
    )
    return (gap + points).properties(title="The ladder: the gap between train and validation, step by step",
                                     height=height)


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
