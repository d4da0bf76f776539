"""The Runs page's "What the groups see": a finished Builder run's test image, then its feature maps per stage.

No Keras here: the Builder run is a finished row, and ann's feature maps of
its test image 3 are pictures of random maps stored as a worker would, so
asking for the same image follows them (`labcore.sharing`) and shows at once.
"""

import numpy as np
import pytest
from test_exports import _runs_page_with
from test_queue import held_device  # noqa: F401 (a fixture: the device is busy, so the app's supervisor starts nothing)

from labcore import data, featuremaps, sharing, spec
from labcore.featuremaps import FeatureMapsConfig
from tests.support import finish_run

KIND = "feature_maps"


@pytest.fixture
def finished(store, held_device):  # noqa: F811 (the imported fixture, asked for by name)
    """A finished Builder run, and ann's finished feature maps of its test image 3."""
    model_spec = spec.default_spec()
    trained = store.create_run("train", {"spec": model_spec.to_dict(), "train": {}}, owner="attendee-one")
    finish_run(store, trained, {"test_accuracy": 0.5})
    config = FeatureMapsConfig(trained, image_index=3).to_dict()
    ann = store.create_run(KIND, config, owner="ann", run_key=sharing.run_key(KIND, config))
    stages = []
    for stage in featuremaps.stages(model_spec):
        png, entry = featuremaps.draw(stage, np.random.default_rng(0).normal(size=stage.output_shape), 16)
        store.add_artifact(ann, entry["artifact"], png)
        stages.append(entry)
    finish_run(store, ann, {"stages": stages, "normalisation": featuremaps.NORMALISATION, "class_name": "Dress",
                            "predicted_class": "Coat", "probability": 0.61})
    yield trained
    for run in store.list_runs(kind=KIND):
        store.delete_run(run.id, admin=True)
    store.delete_run(trained, admin=True)


def test_a_finished_builder_run_shows_the_chosen_test_image_and_its_class(store, finished):
    at, _ = _runs_page_with(store, finished)
    assert at.slider(key=f"feature_maps_image_{finished}").max == 999
    _, _, _, y_test = data.load_arrays("fashion_mnist_small")
    true_class = data.DATASETS["fashion_mnist_small"].class_names[int(y_test[0])]
    assert f"test image 0 · true: **{true_class}**" in [caption.value for caption in at.caption]
    assert at.button(key=f"feature_maps_show_{finished}").label == "Show feature maps"
    # Nothing asked for yet: no pictures but the test image.
    assert len(at.get("image")) == 1


def test_asking_for_an_image_someone_already_looked_at_shows_its_stages_at_once(store, finished):
    at, _ = _runs_page_with(store, finished)
    at.slider(key=f"feature_maps_image_{finished}").set_value(3).run()
    at.button(key=f"feature_maps_show_{finished}").click().run()
    (mine,) = store.list_runs(kind=KIND, owner="attendee-one")
    assert mine.status == "done" and mine.follows is not None
    captions = [caption for image in at.get("image")[1:] for caption in image.captions]
    assert captions == ["stem · 28×28×16 · first 16 of 16 channels", "group 1 · 28×28×16 · first 16 of 16 channels",
                        "group 2 · 14×14×32 · first 16 of 32 channels", "group 3 · 7×7×64 · first 16 of 64 channels"]
    assert any(caption.value.startswith(featuremaps.NORMALISATION + " The model says **Coat** (61%)")
               for caption in at.caption)


def test_choosing_a_feature_maps_run_shows_its_source_run_at_its_image(store, finished):
    (ann,) = store.list_runs(kind=KIND, owner="ann")
    at, _ = _runs_page_with(store, ann.id)
    assert "What the groups see" in [markdown.value.lstrip("# ") for markdown in at.markdown]
    assert at.slider(key=f"feature_maps_image_{finished}").value == 3
