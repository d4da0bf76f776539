"""Every page renders from the real app.py; the Intro deck and the Model Builder behave."""

import pytest

from labcore import device, fit_reading, trainconfig
from apptest import open_page, problems_on, wait_for
from tests.support import signed

PAGES = ["app_pages/home.py", "app_pages/intro.py", "app_pages/builder.py", "app_pages/runs.py"]


@pytest.mark.parametrize("page", PAGES)
def test_page_renders_without_errors(page):
    at = open_page(page)
    assert not problems_on(at)
    assert at.title, f"{page} has no title"


def test_sidebar_shows_device_dataset_and_queue():
    at = open_page()
    captions = " ".join(c.value for c in at.sidebar.caption)
    assert "Training device" in captions
    assert "Queue" in captions
    assert at.sidebar.selectbox(key="dataset").value == "fashion_mnist_small"


def test_owner_token_is_kept_in_the_url():
    at = open_page(owner="abc123")
    assert at.query_params["owner"] in (signed("abc123"), [signed("abc123")])


def test_intro_next_and_previous_move_through_the_deck():
    at = open_page("app_pages/intro.py")
    # The first slide draws the default model's parts, from its spec.
    drawn = at.get("graphviz_chart")[0].proto.spec
    assert all(part in drawn for part in ("stem", "group 1", "task"))
    first = at.title[0].value
    assert "slide 1 of" in at.caption[0].value
    next_button = next(b for b in at.button if "Next" in b.label)
    next_button.click().run()
    assert at.title[0].value != first
    assert "slide 2 of" in at.caption[0].value
    previous = next(b for b in at.button if "Previous" in b.label)
    previous.click().run()
    assert at.title[0].value == first


def test_intro_stem_slide_shows_the_collapse_to_one_pixel():
    at = open_page("app_pages/intro.py")
    next(b for b in at.button if "Next" in b.label).click().run()
    # Default on that slide: the ResNet stem on the autoencoder's 4x4 code.
    assert any("1x1" in e.value for e in at.error)
    at.radio(key="demo_stem_kind").set_value("small stem: 3x3 conv, stride 1").run()
    assert not at.error
    assert any("4x4" in s.value for s in at.success)


def _group_input(at, index, field):
    return next(n for n in at.number_input if n.key.endswith(f"_{index}_{field}"))


# One field of each kind: spec int, group int, spec float, hyperparameter float, training int and
# float, a size checked against the dataset, and a schedule field. Each takes the bad value as shown
# (no widget bounds), says under itself what it allows, in its own words, and switches Train off.
FIELD_CASES = [
    ("_stem_filters", 0, "filters must be an int in [1, 1024]; got 0."),
    ("_0_blocks", 0, "group 1: n_blocks must be an int in [1, 16]; got 0."),
    ("_dropout", 1.5, "dropout must be None or a float in [0, 1); got 1.5."),
    ("_l2", -0.5, "L2 kernel regularizer must be a float in [0, 1]; got -0.5."),
    ("builder_epochs", 0, "epochs must be an int in [1, 500]; got 0."),
    ("builder_lr", 0.0, "learning rate must be a float in (0, 10]; got 0.0."),
    ("builder_subset", 100_000, "images to use (0 = all) must be None or an int in [10, 6000] (the images of "
                                "'fashion_mnist_small'); got 100000."),
    ("builder_warmup", -1, "warm-up epochs must be an int in [0, 100]; got -1."),
]


def test_builder_trains_only_what_its_fields_show():
    # One session for every case (a page open costs more than a case): each case puts its field back.
    at = open_page("app_pages/builder.py")
    assert not problems_on(at)
    for key_end, bad, message in FIELD_CASES:
        field = next(n for n in at.number_input if n.key.endswith(key_end))
        good = field.value
        field.set_value(bad).run()
        assert message in [e.value for e in at.error], (key_end, [e.value for e in at.error])
        assert next(b for b in at.button if b.label == "Train").disabled, key_end
        assert "Train is off until every field above holds a value it allows (each says what it allows)." in [
            c.value for c in at.caption], key_end

        next(n for n in at.number_input if n.key.endswith(key_end)).set_value(good).run()
        assert not problems_on(at), key_end
        assert not next(b for b in at.button if b.label == "Train").disabled, key_end


def test_builder_parameter_count_follows_the_groups():
    at = open_page("app_pages/builder.py")
    before = int(at.metric[0].value.replace(",", ""))
    _group_input(at, 2, "filters").set_value(128).run()
    after = int(at.metric[0].value.replace(",", ""))
    assert after > before
    # Parts without blocks show an empty cell, groups their count.
    table = at.dataframe[0].value
    blocks = dict(zip(table["part"], table["blocks"]))
    assert blocks["input"] == blocks["task"] == "" and blocks["group 1"] == "1"


def test_builder_remove_all_groups_names_the_empty_learner():
    at = open_page("app_pages/builder.py")
    for _ in range(3):
        next(b for b in at.button if "Remove" in b.label).click().run()
    assert any("learner.groups" in e.value for e in at.error)


@pytest.mark.slow
def test_builder_trains_the_default_model_over_seeds_in_workers_and_reads_the_fit(store):
    """Two real tiny training runs: queued -> worker processes -> curves and a reading on the page."""
    at = open_page("app_pages/builder.py", owner="builder-trainer")
    at.number_input(key="builder_epochs").set_value(2).run()
    at.number_input(key="builder_subset").set_value(300).run()
    at.number_input(key="builder_seeds").set_value(2).run()
    next(b for b in at.button if b.label == "Train").click().run()
    runs = store.list_runs(owner="builder-trainer", kind="train")
    assert len(runs) == 2 and {run.status for run in runs} <= {"queued", "running"}
    # The seeds differ, and nothing else.
    assert sorted(run.config["train"]["seed"] for run in runs) == [0, 1]
    settings = [{**run.config, "train": {**run.config["train"], "seed": None}} for run in runs]
    assert settings[0] == settings[1]
    train = runs[0].config["train"]
    # The default batch of the device the workers use, and full precision.
    assert train["batch_size"] == trainconfig.default_batch_size(device.probe())
    assert train["mixed_precision"] is False

    # Worker starts (TensorFlow import) plus two epochs of 270 images, twice.
    wait_for(at, lambda a: all(store.get_run(run.id).status not in ("queued", "running") for run in runs),
             timeout_s=360)
    done = [store.get_run(run.id) for run in runs]
    assert all(run.status == "done" for run in done), [run.error for run in done]
    at.run()
    assert not problems_on(at)
    assert len(at.get("vega_lite_chart")) >= 3  # lr preview + accuracy + loss
    assert any(f"#{done[0].id}" in m.value for m in at.markdown)
    for run in done:
        assert 0.0 <= run.result["test_accuracy"] <= 1.0
        assert [r.epoch for r in store.metrics(run.id) if r.series == "train"] == [1, 2]
        between = [r for r in store.metrics(run.id) if r.series == "train_batches"]
        assert between and between[0].epoch == 1, "a reading from the first batch on"
    # The runs' last epochs are read in words, over both seeds.
    said = fit_reading.reading([run.result["train_accuracy"] for run in done],
                               [run.result["val_accuracy"] for run in done], 10)
    assert any(m.value == f"**Over 2 seed(s):** {said}" for m in at.markdown), [m.value for m in at.markdown]


def test_builder_draws_the_model_and_follows_the_groups():
    at = open_page("app_pages/builder.py")
    drawn = at.get("graphviz_chart")[0].proto.spec
    assert drawn.count(" -> ") == 5 and "group 3: 1 x " in drawn
    _group_input(at, 2, "blocks").set_value(2).run()
    assert "group 3: 2 x " in at.get("graphviz_chart")[0].proto.spec
    _group_input(at, 2, "blocks").set_value(0).run()
    assert not at.get("graphviz_chart"), "no drawing of a model that cannot be built"
