"""The feature_maps runner: a tiny Builder run's model, one test image, a picture per stage, through a real worker."""

import io
import os
import subprocess
import sys

import pytest
from PIL import Image

from labcore import featuremaps, jobs, kinds, spec
from labcore.errors import ConfigError
from labcore.featuremaps import FeatureMapsConfig
from labcore.store import TERMINAL_STATUSES, Store
from tests.support import OWNER, ROOT, RecordingReporter, tiny_cli_run, wait_for_status
from tests.unit.test_export import TINY_TRAIN


@pytest.mark.slow
def test_a_worker_draws_the_stem_and_each_group_of_the_trained_model():
    import keras

    trained = tiny_cli_run(*TINY_TRAIN)
    store = Store()
    config = FeatureMapsConfig(source_run=trained.id, dataset=trained.config["train"]["dataset"], image_index=7)
    run_id = jobs.submit(store, "feature_maps", config.to_dict(), OWNER)
    # The worker the supervisor would start; if this process's app supervisor claims the run first, the
    # worker leaves it to that one, and the wait below follows the run either way.
    subprocess.run([sys.executable, "-m", "labcore.worker", str(run_id)], cwd=ROOT, env=dict(os.environ),
                   capture_output=True, timeout=300)
    run = wait_for_status(store, run_id, TERMINAL_STATUSES, timeout_s=300)
    assert run.status == "done", run.error

    model_spec = spec.ModelSpec.from_dict(trained.config["spec"])
    model = keras.saving.load_model(store.artifact_path(trained.id, "model.keras"), compile=False)
    stages = run.result["stages"]
    assert [stage["name"] for stage in stages] == ["stem"] + [
        f"group {index}" for index in range(1, len(model_spec.learner.groups) + 1)]
    for stage, predicted in zip(stages, featuremaps.stages(model_spec)):
        assert stage["layer"] == predicted.layer
        assert tuple(stage["shape"]) == tuple(model.get_layer(stage["layer"]).output.shape[1:]) \
            == predicted.output_shape
        assert stage["channels"] == list(range(min(16, stage["shape"][-1])))
        picture = Image.open(io.BytesIO(store.read_artifact(run_id, stage["artifact"])))
        picture.load()
        assert picture.format == "PNG" and picture.mode == "RGB"
    assert run.result["class_name"] == run.result["class_name"].strip() != ""
    assert 0.0 <= run.result["probability"] <= 1.0

    # Asked again by anyone: the same pictures, computed once.
    again = store.get_run(jobs.submit(store, "feature_maps", config.to_dict(), "someone-else", share=True))
    assert (again.follows, again.status) == (run_id, "done")


@pytest.mark.slow
def test_the_runner_needs_the_run_store():
    config = FeatureMapsConfig(source_run=1)
    with pytest.raises(ConfigError, match=r"^feature maps read the source run's model from the run store"):
        kinds.load_runner("feature_maps")(config, RecordingReporter())
