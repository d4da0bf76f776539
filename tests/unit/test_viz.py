"""Curves as Vega-Lite specs: what is drawn is named in the legend, and only that; the data go in as datasets."""

from labcore import viz

ROWS = [{"epoch": e, "accuracy": 0.5 + 0.1 * e, "val_accuracy": 0.5 + 0.05 * e, "run": "#1 a"} for e in (1, 2, 3)]
BATCHES = [{"epoch_fraction": f, "accuracy": 0.4 + f / 10} for f in (0.25, 0.5, 1.0, 1.5)]


def _legend(spec):
    """The colour domain of a single run's chart: the splits it names."""
    return next(layer["encoding"]["color"]["scale"]["domain"] for layer in spec["layer"])


def _data_names(spec):
    """The named datasets the layers draw (Altair lifts a dataset all layers share to the top)."""
    return {layer.get("data", spec.get("data"))["name"] for layer in spec["layer"]}


def test_one_run_names_train_validation_the_running_mean_and_the_gap():
    spec = viz.curves_spec(ROWS, "accuracy", batches=BATCHES)
    assert _legend(spec) == ["train", "validation", "train, running mean", "gap"]
    assert len(spec["datasets"]["lines"]) == 6 and len(spec["datasets"]["running"]) == 4
    assert [round(g["gap"], 2) for g in spec["datasets"]["gap"]] == [0.05, 0.1, 0.15]


def test_the_legend_names_only_what_is_drawn():
    assert _legend(viz.curves_spec(ROWS, "accuracy")) == ["train", "validation", "gap"]
    assert _legend(viz.curves_spec(ROWS, "accuracy", gap=False)) == ["train", "validation"]
    before_the_first_epoch = viz.curves_spec([], "accuracy", batches=BATCHES[:2])
    assert _legend(before_the_first_epoch) == ["train", "validation", "train, running mean"]
    assert _data_names(before_the_first_epoch) == {"running"}
    assert viz.curves_spec([], "accuracy") is None


def test_several_runs_are_told_apart_by_colour_without_a_gap_band():
    rows = ROWS + [dict(row, run="#2 b", accuracy=row["accuracy"] - 0.1) for row in ROWS]
    spec = viz.curves_spec(rows, "accuracy", batches=BATCHES)
    assert spec["layer"][0]["encoding"]["color"]["field"] == "run"
    assert spec["datasets"]["gap"] == [] and _data_names(spec) == {"lines"}


def test_new_data_reuse_the_chart_and_never_leak_into_it():
    first = viz.curves_spec(ROWS, "accuracy")
    second = viz.curves_spec(ROWS[:2], "accuracy")
    assert {k: v for k, v in first.items() if k != "datasets"} == {k: v for k, v in second.items() if k != "datasets"}
    assert len(first["datasets"]["lines"]) == 6 and len(second["datasets"]["lines"]) == 4
