"""Curves as Vega-Lite specs: what is drawn is named in the legend, and only that; each layer carries its data."""

from labcore import viz

ROWS = [{"epoch": e, "accuracy": 0.5 + 0.1 * e, "val_accuracy": 0.5 + 0.05 * e, "run": "#1 a"} for e in (1, 2, 3)]
BATCHES = [{"epoch_fraction": f, "accuracy": 0.4 + f / 10} for f in (0.25, 0.5, 1.0, 1.5)]


def _legend(spec):
    """The colour domain of a single run's chart: the splits it names."""
    return next(layer["encoding"]["color"]["scale"]["domain"] for layer in spec["layer"])


def _values(spec):
    """Each layer's data values, by its mark ("line" for the running mean, "area" for the gap)."""
    def mark(layer):
        return layer["mark"]["type"] if isinstance(layer["mark"], dict) else layer["mark"]
    return [(mark(layer), layer["data"]["values"]) for layer in spec["layer"]]


def test_one_run_names_train_validation_the_running_mean_and_the_gap():
    spec = viz.curves_spec(ROWS, "accuracy", batches=BATCHES)
    assert _legend(spec) == ["train", "validation", "train, running mean", "gap"]
    (running_mark, running), (gap_mark, gap), (lines_mark, lines) = _values(spec)
    assert (running_mark, gap_mark, lines_mark) == ("line", "area", "line")
    assert [r["epoch"] for r in running] == [0.25, 0.5, 1.0, 1.5]
    assert [round(g["gap"], 2) for g in gap] == [0.05, 0.1, 0.15]
    assert len(lines) == 6 and {r["split"] for r in lines} == {"train", "validation"}
    assert "datasets" not in spec and "data" not in spec, "no named data for Streamlit to convert"


def test_the_legend_names_only_what_is_drawn():
    assert _legend(viz.curves_spec(ROWS, "accuracy")) == ["train", "validation", "gap"]
    assert _legend(viz.curves_spec(ROWS, "accuracy", gap=False)) == ["train", "validation"]
    before_the_first_epoch = viz.curves_spec([], "accuracy", batches=BATCHES[:2])
    assert _legend(before_the_first_epoch) == ["train, running mean"]
    assert [len(values) for _, values in _values(before_the_first_epoch)] == [2]
    # Half an epoch in, the axis still spans the first whole epoch.
    assert before_the_first_epoch["layer"][0]["encoding"]["x"]["scale"]["domain"] == [0, 1]
    assert viz.curves_spec([], "accuracy") is None


def test_several_runs_are_told_apart_by_colour_without_a_gap_band():
    rows = ROWS + [dict(row, run="#2 b", accuracy=row["accuracy"] - 0.1) for row in ROWS]
    spec = viz.curves_spec(rows, "accuracy", batches=BATCHES)
    assert spec["layer"][0]["encoding"]["color"]["field"] == "run"
    assert [(mark, len(values)) for mark, values in _values(spec)] == [("line", 12), ("point", 12)]


def test_new_data_reuse_the_chart_and_never_leak_into_it():
    first = viz.curves_spec(ROWS, "accuracy")
    second = viz.curves_spec(ROWS[:2], "accuracy")
    assert [len(values) for _, values in _values(first)] == [3, 6]
    assert [len(values) for _, values in _values(second)] == [2, 4]
    for spec in (first, second):
        for layer in spec["layer"]:
            layer.pop("data")
            layer["encoding"]["x"].pop("scale")
    assert first == second
