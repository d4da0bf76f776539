"""The Guided search lab's views: the trials on accuracy against size, the front marked.

Each finished trial is a point: validation accuracy (the search's
objective) against parameters (what it trades against), coloured by round
of the search so the learner sees where each narrowing sent it, with the
Pareto front (the trials nothing beats on both) joined by a line; and the
guided-against-blind comparison as best-found accuracy against trials
spent. Only pages import this module: it imports Altair.
"""

import math

import altair as alt
import pandas as pd

__all__ = ["budget_chart", "front_text", "importance_chart", "parallel_chart", "trials_chart"]


def trials_chart(rows, height=320):
    """Accuracy against parameters, one point per finished trial, the Pareto front joined.

    Args:
        rows: list of dict from `study.trial_rows`, with a "round" key added.
        height: int, pixels.

    Returns:
        an `alt.Chart`, or None before any trial has finished.
    """
    done = [row for row in rows if row["accuracy"] is not None]
    if not done:
        return None
    frame = pd.DataFrame.from_records(done)
    x = alt.X("params:Q", title="parameters", scale=alt.Scale(type="log"))
    y = alt.Y("accuracy:Q", title="validation accuracy", axis=alt.Axis(format="%"), scale=alt.Scale(zero=False))
    points = alt.Chart(frame).mark_point(filled=True, size=90).encode(
        x=x, y=y, color=alt.Color("round:O", title="round"),
        tooltip=[c for c in frame.columns if c not in ("on_front", "state")])
    front = alt.Chart(frame[frame["on_front"]]).mark_line(color="gray", strokeDash=[4, 3]).encode(
        x=x, y=y, order="params:Q")
    return (front + points).properties(
        title="Trials: accuracy against size (dashes: the Pareto front, beaten by no trial on both)", height=height)


def front_text(rows):
    """The best trial and the front in one sentence, from the finished trials.

    Args:
        rows: list of dict from `study.trial_rows`.

    Returns:
        str, markdown.
    """
    done = [row for row in rows if row["accuracy"] is not None]
    if not done:
        return "No trial has finished yet."
    best = max(done, key=lambda row: row["accuracy"])
    front = [row for row in done if row["on_front"]]
    smallest = min(front, key=lambda row: row["params"])
    return (f"{len(done)} trial(s) finished. The best, trial {best['trial']}, reached "
            f"**{100 * best['accuracy']:.1f}%** validation accuracy with {best['params']:,} parameters; "
            f"the front runs down to trial {smallest['trial']}: {100 * smallest['accuracy']:.1f}% with "
            f"{smallest['params']:,}. One seed per trial: trials within 1-2 points of each other are not "
            "told apart by this search.")


def budget_chart(rows, height=300):
    """Best accuracy found against trials spent, guided and blind: the mean over seeds, the band min to max.

    Args:
        rows: list of dict from `compare.best_so_far`.
        height: int, pixels.

    Returns:
        an `alt.Chart`, or None before any trial has succeeded.
    """
    found = pd.DataFrame.from_records([row for row in rows if row["best"] is not None])
    if found.empty:
        return None
    summary = found.groupby(["arm", "budget"])["best"].agg(["mean", "min", "max", "count"]).reset_index()
    x = alt.X("budget:Q", title="trials spent (each at the preset's fidelity)",
              axis=alt.Axis(tickMinStep=1, format="d"))
    colour = alt.Color("arm:N", title="search",
                       scale=alt.Scale(domain=["guided", "blind"], range=["#1f77b4", "#ff7f0e"]))
    band = alt.Chart(summary).mark_area(opacity=0.2).encode(
        x=x, y=alt.Y("min:Q", axis=alt.Axis(format="%"), title="best validation accuracy so far"),
        y2="max:Q", color=colour)
    line = alt.Chart(summary).mark_line(point=True).encode(
        x=x, y=alt.Y("mean:Q", scale=alt.Scale(zero=False)), color=colour,
        tooltip=["arm", "budget", alt.Tooltip("mean:Q", format=".1%"), alt.Tooltip("min:Q", format=".1%"),
                 alt.Tooltip("max:Q", format=".1%"), alt.Tooltip("count:Q", title="seeds")])
    return (band + line).properties(
        title="Guided against blind: the best found so far (line: mean over seeds; band: lowest to highest)",
        height=height)


def _position(value, values, log):
    """Where a value sits among a dimension's values, from 0 (lowest) to 1 (highest)."""
    if isinstance(value, str):
        order = sorted(set(values))
        return order.index(value) / max(1, len(order) - 1)
    low, high = min(values), max(values)
    if high == low:
        return 0.5
    if log and low > 0:
        return (math.log(value) - math.log(low)) / (math.log(high) - math.log(low))
    return (value - low) / (high - low)


def parallel_chart(rows, dimensions, height=300):
    """Parallel coordinates: one line per finished trial across the searched dimensions, coloured by accuracy.

    Args:
        rows: list of dict from `study.trial_rows`.
        dimensions: list of str, the dimensions the trials searched (in
            order); a learning rate is placed on a log scale.
        height: int, pixels.

    Returns:
        an `alt.Chart`, or None before two trials have finished or with no
        dimension searched.
    """
    done = [row for row in rows if row["accuracy"] is not None]
    shown = [name for name in dimensions if all(name in row for row in done)]
    if len(done) < 2 or not shown:
        return None
    long = []
    for name in shown:
        values = [row[name] for row in done]
        for row in done:
            long.append({"trial": row["trial"], "dimension": name, "accuracy": row["accuracy"],
                         "position": _position(row[name], values, log=name == "learning_rate"),
                         "value": f"{row[name]:.3g}" if isinstance(row[name], float) else str(row[name])})
    frame = pd.DataFrame.from_records(long)
    x = alt.X("dimension:N", sort=shown, title=None, axis=alt.Axis(labelAngle=0))
    y = alt.Y("position:Q", axis=None, title=None)
    colour = alt.Color("accuracy:Q", title="validation accuracy", scale=alt.Scale(scheme="viridis"),
                       legend=alt.Legend(format="%"))
    lines = alt.Chart(frame).mark_line(opacity=0.8).encode(x=x, y=y, color=colour, detail="trial:N")
    points = alt.Chart(frame).mark_circle(size=40).encode(
        x=x, y=y, color=colour, tooltip=["trial", "dimension", "value", alt.Tooltip("accuracy:Q", format=".1%")])
    return (lines + points).properties(
        title=alt.Title("Trials across the searched dimensions",
                        subtitle="bottom: lowest (or first) value, top: highest (or last)"),
        height=height)


def importance_chart(shares, height=None):
    """What validation accuracy depended on: one bar per searched dimension.

    Args:
        shares: dict from `study.importances`.
        height: int or None, pixels (default: 32 per bar, at least 120).

    Returns:
        an `alt.Chart`, or None when there are no shares yet.
    """
    if not shares:
        return None
    frame = pd.DataFrame({"dimension": list(shares), "share": list(shares.values())})
    return alt.Chart(frame).mark_bar().encode(
        x=alt.X("share:Q", title="share of the importance", axis=alt.Axis(format="%")),
        y=alt.Y("dimension:N", sort="-x", title=None),
        tooltip=["dimension", alt.Tooltip("share:Q", format=".0%")],
    ).properties(title=alt.Title("What accuracy depended on", subtitle="Optuna's importance: narrow the top first"),
                 height=height or max(120, 32 * len(shares)))
