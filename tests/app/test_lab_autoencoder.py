"""The AutoEncoder lab page: its live bottleneck widgets, and a real tiny run's results drawn from the store."""

import pytest
from streamlit.testing.v1 import AppTest

from labcore import jobs
from labcore.labs.autoencoder import views
from labcore.labs.autoencoder.config import PRESETS
from labcore.store import Store
from tests.support import LAB_OWNER, finish_run, signed, tiny_lab_run

PAGE = "app_pages/lab_autoencoder.py"
OWNER = LAB_OWNER


@pytest.fixture(scope="module")
def tiny_run():
    """The tiny preset's run, trained once this session (`tests.support.tiny_lab_run`) and read from the store."""
    run_id, _, _ = tiny_lab_run("autoencoder", PRESETS["tiny"])
    return Store().get_run(run_id)


def open_page(owner):
    # Raised timeout: the first script run imports pandas and altair.
    at = AppTest.from_file("../../app.py", default_timeout=30)
    at.query_params["owner"] = signed(owner)
    at.run()
    return at.switch_page(PAGE).run()


def test_page_without_runs_explains_and_waits():
    at = open_page("autoencoder-no-runs")
    assert not at.exception and not at.error
    assert at.title[0].value.endswith("AutoEncoder for CNN")
    assert any("No run yet" in info.value for info in at.info)


def test_bottleneck_sliders_update_ratio_and_parameters_live():
    at = open_page("autoencoder-sliders")
    metrics = {metric.label: metric.value for metric in at.metric}
    assert metrics["compression ratio"] == "2.0x" and metrics["code"] == "4 x 4 x 32"
    params_before = metrics["autoencoder parameters"]
    at.select_slider(key="ae_quick_channels").set_value(8).run()
    at.slider(key="ae_quick_stages").set_value(4).run()
    metrics = {metric.label: metric.value for metric in at.metric}
    assert metrics["code"] == "2 x 2 x 8"
    assert metrics["compression ratio"] == f"{32 * 32 / (2 * 2 * 8):.1f}x"
    assert metrics["autoencoder parameters"] != params_before
    assert not at.exception and not at.error


def test_page_shows_the_stored_results_of_a_run(tiny_run):
    at = open_page(OWNER)
    assert not at.exception and not at.error
    assert any(f"#{tiny_run.id}" in markdown.value for markdown in at.markdown)
    # Grids before training and after the last epoch, then 3 images with their codes.
    captions = [caption for image in at.get("image") for caption in image.captions]
    epochs = PRESETS["tiny"].ae_warmup_epochs + PRESETS["tiny"].ae_epochs
    assert f"after epoch {epochs} of {epochs}" in captions
    assert sum("code" in caption for caption in captions) == 3
    result = tiny_run.result
    sentence = views.speed_up_sentence(result, "Fashion-MNIST (small, built in)")
    assert sentence and any(sentence == markdown.value for markdown in at.markdown)
    metrics = {metric.label: metric.value for metric in at.metric}
    assert metrics["MSE on held-out images"] == f"{result['reconstruction']['mse_mean']:.4f}"
    # Every measured figure stands beside the original lab's claim and the dataset used.
    comparisons = [caption.value for caption in at.caption if "Original lab (CIFAR-10)" in caption.value]
    assert len(comparisons) >= 4
    assert all("Fashion-MNIST (small, built in)" in text for text in comparisons)
    assert len(at.dataframe) >= 3  # the two heads' summaries and raw vs encoded


def test_picking_a_preset_resets_the_fields_to_its_values():
    at = open_page("autoencoder-presets")
    assert at.checkbox(key="ae_quick_fine_tune").value is False
    at.radio(key="ae_preset").set_value("full").run()
    assert at.checkbox(key="ae_full_fine_tune").value is True
    assert not at.exception and not at.error


def test_run_button_queues_the_settings_on_the_page():
    owner = "autoencoder-button"
    at = open_page(owner)
    at.radio(key="ae_preset").set_value("tiny").run()
    at.select_slider(key="ae_tiny_channels").set_value(8).run()
    at.button(key="ae_run").click().run()
    assert not at.exception and not at.error
    store = Store()
    queued = store.list_runs(owner=owner, kind="autoencoder")
    # Only the queueing is under test: stop the runs before they train.
    for run in queued:
        jobs.cancel(store, run.id, owner=owner)
    # The tiny preset repeats a run over three seeds by default; nothing else differs.
    assert sorted(run.config["seed"] for run in queued) == [0, 1, 2]
    assert {run.config["latent_channels"] for run in queued} == {8}
    assert run.config == {**PRESETS["tiny"].to_dict(), "latent_channels": 8}


def stored_copy(run, owner, **changes):
    """A finished run with `run`'s config and result, its classifiers' readings changed."""
    store = Store()
    result = {**run.result, **{name: {**run.result[name], **values} for name, values in changes.items()}}
    run_id = store.create_run("autoencoder", run.config, owner, "stored copy")
    finish_run(store, run_id, result)
    return run_id


def test_the_overfitting_verdict_and_the_answers_follow_the_run_whichever_way_it_went(tiny_run):
    stored_copy(tiny_run, "ae-codes-overfit", encoded={"train_accuracy": 0.95, "val_accuracy": 0.70},
                raw={"train_accuracy": 0.80, "val_accuracy": 0.80})
    page = " ".join(markdown.value for markdown in open_page("ae-codes-overfit").markdown)
    assert "the classifier on codes **overfit**" in page and "the classifier on pixels **did not overfit**" in page
    stored_copy(tiny_run, "ae-pixels-overfit", encoded={"train_accuracy": 0.80, "val_accuracy": 0.80},
                raw={"train_accuracy": 0.99, "val_accuracy": 0.70})
    at = open_page("ae-pixels-overfit")
    page = " ".join(markdown.value for markdown in at.markdown)
    assert "the classifier on codes **did not overfit**" in page and "the classifier on pixels **overfit**" in page
    # The answers panel states this run's speed-up and says it is one seed.
    answers = " ".join(markdown.value for markdown in at.markdown if markdown.value.startswith("**Your runs:**"))
    assert views.times_faster(tiny_run.result["speed_up"]) in answers and "one seed" in answers
