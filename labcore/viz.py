"""Charts (Altair) drawn from stored results.

Every page draws through these functions so that a curve looks the same on
the Model Builder, the Runs page and in the labs: train solid, validation
dashed, the generalisation gap shaded, tooltips on every point. Inputs are
plain rows (dicts) as `labcore.store` returns them; nothing here reads the
store or imports Keras. Image grids are in `labcore.images`.
"""

import copy
import functools
import math

import altair as alt
import pandas as pd

__all__ = [
    "curves_spec",
    "lr_chart",
    "bar_chart",
    "scatter_chart",
    "METRIC_TITLES",
]

METRIC_TITLES = {"accuracy": "accuracy", "loss": "loss", "lr": "learning rate"}

_SPLIT_DASH = alt.Scale(domain=["train", "validation"], range=[[1, 0], [5, 3]])


def _long_records(rows, metric):
    """Rows {run, epoch, <metric>, val_<metric>} -> long records with a `split` field."""
    records = []
    for row in rows:
        for split, key in (("train", metric), ("validation", f"val_{metric}")):
            value = row.get(key)
            if value is None or (isinstance(value, float) and not math.isfinite(value)):
                continue
            records.append({"run": row.get("run", ""), "epoch": row["epoch"], "split": split, metric: value})
    return records


def curves_spec(rows, metric="accuracy", title=None, height=280, batches=(), gap=True):
    """Train and validation curves of one metric, for one run or several, as a Vega-Lite spec.

    With one run the area between train and validation is shaded, and named
    in the legend: that band is the generalisation gap the Regularization
    lab works to close. With several runs colour tells runs apart and the
    dash tells splits. A run's readings between epochs, when given, draw a
    thin "train, running mean" line from the first batch on.

    The chart's structure depends only on the metric and on which parts are
    drawn, so it is built once (`_curves_template`) and the data go into
    its layers as plain values: a live page redraws these every second, and
    building the Altair chart each time cost about 50 ms a chart (named
    datasets would cost Streamlit another 15 ms a chart, through pandas to
    Arrow).

    Args:
        rows: iterable of dicts with keys `epoch`, `metric`, optionally
            `val_<metric>` and `run` (a label).
        metric: str, e.g. "accuracy" or "loss".
        title: str or None, the chart title.
        height: int, pixels.
        batches: iterable of dicts with `epoch_fraction` and `metric`
            (`reporting.BATCH_SERIES` rows of one run).
        gap: bool, shade the gap for one run (off where train below
            validation means nothing, e.g. a reconstruction error).

    Returns:
        dict, a Vega-Lite spec, or None when there is nothing to draw.
    """
    rows = list(rows)
    lines = _long_records(rows, metric)
    running = [{"epoch": b["epoch_fraction"], "split": "train, running mean", metric: b[metric]}
               for b in batches if b.get(metric) is not None and b.get("epoch_fraction") is not None]
    if not lines and not running:
        return None
    several = len({record["run"] for record in lines}) > 1
    band = [] if several or not gap else [
        {"epoch": r["epoch"], "train": r[metric], "validation": r[f"val_{metric}"], "split": "gap",
         "gap": r[metric] - r[f"val_{metric}"]}
        for r in rows if r.get(metric) is not None and r.get(f"val_{metric}") is not None]
    spec = copy.deepcopy(_curves_template(metric, title, height, several, bool(lines), bool(band), bool(running)))
    values = {"lines": lines, "gap": band, "running": running}
    # From the start of training to at least one whole epoch: within the first epoch the
    # running mean alone would stretch a fraction of an epoch across the axis.
    last = max([record["epoch"] for record in lines + running] + [1])
    shared = spec.pop("data", None)  # Altair lifts a dataset every layer draws to the top
    for layer in spec["layer"]:
        layer["data"] = {"values": values[layer.get("data", shared)["name"]]}
        layer["encoding"]["x"]["scale"] = {"domain": [0, math.ceil(last)], "nice": False}
    return spec


@functools.lru_cache(maxsize=64)
def _curves_template(metric, title, height, several, has_lines, has_gap, has_running):
    """The chart of `curves_spec` without its data: its layers name theirs "lines", "gap" or "running"."""
    y_title = METRIC_TITLES.get(metric, metric)
    x = alt.X("epoch:Q", title="epoch", axis=alt.Axis(tickMinStep=1, format="d"))  # whole epochs
    y = alt.Y(f"{metric}:Q", title=y_title, scale=alt.Scale(zero=False))
    tooltip = ["run:N", "split:N", "epoch:Q", alt.Tooltip(f"{metric}:Q", format=".4f")]
    layers = []
    if several:
        # Colour tells the runs apart. The points go in a layer of their own:
        # on the line they would turn the dash legend into invisible symbols.
        dash_legend = alt.Legend(symbolType="stroke", symbolStrokeColor="#555")
        lines = alt.Chart(alt.NamedData("lines")).mark_line().encode(
            x=x, y=y, color=alt.Color("run:N", title="run"),
            strokeDash=alt.StrokeDash("split:N", scale=_SPLIT_DASH, title="split", legend=dash_legend),
            tooltip=tooltip)
        layers += [lines, lines.mark_point(filled=True).encode(strokeDash=alt.value([1, 0]))]
    else:
        # The legend names what is drawn, and only that.
        shown = {"train": "#1f77b4", "validation": "#ff7f0e"} if has_lines else {}
        if has_running:
            shown["train, running mean"] = "#9ecae9"
        if has_gap:
            shown["gap"] = "#ffd8b1"
        colour = alt.Color("split:N", title="split", scale=alt.Scale(domain=list(shown), range=list(shown.values())))
        if has_running:
            layers.append(alt.Chart(alt.NamedData("running")).mark_line(strokeWidth=1.5).encode(
                x=x, y=y, color=colour,
                tooltip=["split:N", alt.Tooltip("epoch:Q", format=".2f"), alt.Tooltip(f"{metric}:Q", format=".4f")]))
        if has_gap:
            layers.append(alt.Chart(alt.NamedData("gap")).mark_area(opacity=0.5).encode(
                x="epoch:Q", y="train:Q", y2="validation:Q", color=colour,
                tooltip=[alt.Tooltip("epoch:Q"), alt.Tooltip("gap:Q", format="+.4f", title="gap (train - val)")]))
        if has_lines:
            # Line symbols in the legend, so it shows the dash that tells the
            # splits apart (the points would make it a row of identical dots).
            layers.append(alt.Chart(alt.NamedData("lines")).mark_line(point=True).encode(
                x=x, y=y, color=colour,
                strokeDash=alt.StrokeDash("split:N", scale=_SPLIT_DASH, title="split",
                                          legend=alt.Legend(symbolType="stroke")),
                tooltip=tooltip))
    return alt.layer(*layers).properties(title=title or y_title, height=height).to_dict()


def lr_chart(curves, title="learning rate per epoch", height=200, log=False):
    """Learning rate per epoch, one line per named curve.

    Args:
        curves: dict name -> list of floats (one per epoch, epoch 0 first).
        title: str.
        height: int, pixels.
        log: bool, a log scale (for rates spanning decades, e.g. the
            original's compounding cosine).

    Returns:
        an `alt.Chart`.
    """
    frame = pd.DataFrame.from_records(
        [{"schedule": name, "epoch": i + 1, "lr": lr}
         for name, values in curves.items() for i, lr in enumerate(values) if lr > 0 or not log])
    scale = alt.Scale(type="log") if log else alt.Scale(zero=True)
    return alt.Chart(frame).mark_line(point=True).encode(
        x=alt.X("epoch:Q", axis=alt.Axis(tickMinStep=1)),
        y=alt.Y("lr:Q", title="learning rate", scale=scale),
        # A legend only when there is something to tell apart. Not at the
        # bottom: under Streamlit's width="stretch" it squeezes the plot flat.
        color=alt.Color("schedule:N", title=None, legend=alt.Legend() if len(curves) > 1 else None),
        tooltip=["schedule:N", "epoch:Q", alt.Tooltip("lr:Q", format=".3e")],
    ).properties(title=title, height=height)


def bar_chart(rows, x, y, title, color=None, height=220, y_format=",.0f"):
    """A horizontal-label bar chart of plain rows (e.g. parameters per group)."""
    frame = pd.DataFrame.from_records(list(rows))
    encoding = dict(
        x=alt.X(f"{x}:N", sort=None, title=None, axis=alt.Axis(labelAngle=0)),
        y=alt.Y(f"{y}:Q", title=y),
        tooltip=[f"{x}:N", alt.Tooltip(f"{y}:Q", format=y_format)],
    )
    if color:
        encoding["color"] = alt.Color(f"{color}:N", title=None)
    return alt.Chart(frame).mark_bar().encode(**encoding).properties(title=title, height=height)


def scatter_chart(rows, x, y, label, title, size=None, x_log=False, height=280, tooltip_extra=()):
    """Labelled points, e.g. accuracy against parameters for several models."""
    frame = pd.DataFrame.from_records(list(rows))
    base = alt.Chart(frame).encode(
        x=alt.X(f"{x}:Q", title=x, scale=alt.Scale(type="log" if x_log else "linear", zero=False)),
        y=alt.Y(f"{y}:Q", title=y, scale=alt.Scale(zero=False)),
        tooltip=[f"{label}:N", alt.Tooltip(f"{x}:Q", format=",.4g"), alt.Tooltip(f"{y}:Q", format=".4f"),
                 *tooltip_extra],
    )
    points = base.mark_circle(size=120).encode(color=alt.Color(f"{label}:N", legend=None))
    if size:
        points = points.encode(size=alt.Size(f"{size}:Q", title=size))
    text = base.mark_text(align="left", dx=9, dy=-6).encode(text=f"{label}:N")
    return (points + text).properties(title=title, height=height)
