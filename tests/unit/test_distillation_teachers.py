"""A stored run as the distillation lab's teacher: an Ensemble lab run's soft vote, a Model Builder
run's model, and a message naming `teacher_run` for every run that cannot teach.

The stored runs are real: a real store, real weight and `.keras` files of real (untrained, so
fast) composable models; one slow test distils from a real Ensemble lab run end to end."""

import dataclasses

import keras
import numpy as np
import pytest

from labcore import composable, trainconfig
from labcore.errors import ConfigError
from labcore.labs.distillation import recipe, runner, teachers
from labcore.labs.distillation.config import PRESETS, Config
from labcore.labs.ensemble import recipe as ensemble_recipe
from labcore.labs.ensemble.config import PRESETS as ENSEMBLE_PRESETS
from labcore.labs.ensemble.config import member_weights
from labcore.reporting import StoreReporter
from labcore.store import Store
from labcore.training import save_weights_artifact
from tests.support import RecordingReporter, tiny_lab_run

TINY = PRESETS["tiny"]
ENSEMBLE = dataclasses.replace(ENSEMBLE_PRESETS["tiny"], n_heads=0, stacking=False)
IMAGES = np.random.default_rng(0).random((6, 28, 28, 1), dtype="float32")


@pytest.fixture
def store(tmp_path):
    return Store(tmp_path / "labcore.db")


def finished_run(store, kind, config, store_artifacts, result=None):
    """A done run of `kind` whose artifacts `store_artifacts(reporter)` writes."""
    run_id = store.create_run(kind, config, owner="alice")
    store.claim_run(run_id, "cpu")
    store_artifacts(StoreReporter(store, run_id))
    store.merge_result(run_id, result or {})
    store.set_status(run_id, "done")
    return run_id


def ensemble_run(store, config=ENSEMBLE, n_stored=None):
    """An Ensemble lab run with its members' weights stored (the first `n_stored` of them); returns (id, members)."""
    members = [composable.build_model(ensemble_recipe.member_spec(config)) for _ in range(config.n_members)]

    def store_members(reporter):
        for member, model in enumerate(members[:n_stored], start=1):
            save_weights_artifact(model, reporter, member_weights(member))

    run_id = finished_run(store, "ensemble", config.to_dict(), store_members,
                          {"members": [{"train_seconds": 1.0, "params": m.count_params()} for m in members]})
    return run_id, members


def builder_run(store, spec, dataset):
    """A Model Builder run on `dataset` with its model stored as `model.keras`; returns (id, model)."""
    model = composable.build_model(spec)
    config = trainconfig.RunConfig(spec=spec, train=trainconfig.TrainConfig(dataset=dataset))

    def store_model(reporter):
        path = store.root / "model.keras"
        model.save(path)
        reporter.artifact("model.keras", path.read_bytes())

    return finished_run(store, "train", config.to_dict(), store_model), model


def teacher_of(source, run_id, **changes):
    return dataclasses.replace(TINY, step="distil", teacher=source, teacher_run=run_id, **changes)


def predicted(model):
    return keras.ops.convert_to_numpy(model(IMAGES, training=False))


# ## An ensemble as one teacher


def test_the_ensemble_teacher_is_its_members_averaged_softmax_and_its_logits_soften_to_it(store):
    run_id, members = ensemble_run(store)
    run, classifier, logits = teachers.load(store, teacher_of("ensemble", run_id))
    averaged = np.mean([predicted(member) for member in members], axis=0)
    assert run.id == run_id and classifier.name == "ensemble_of_2"
    assert predicted(classifier) == pytest.approx(averaged, abs=1e-5)
    # The logits are the log of the average: softened at T = 1 they give it back.
    assert recipe.soften(predicted(logits), 1.0) == pytest.approx(averaged, abs=1e-5)
    assert classifier.count_params() == sum(member.count_params() for member in members)


def test_the_ensembles_logits_stay_finite_where_its_softmax_rounds_to_zero():
    # Two "members" sure of class 0 by 200 logits: exp(-200) is 0 in float32.
    inputs = keras.Input((2,))
    members = []
    for bias in (200.0, 150.0):
        dense = keras.layers.Dense(3, name="task_dense", kernel_initializer="zeros",
                                   bias_initializer=keras.initializers.Constant([bias, 0.0, 0.0]))
        members.append(keras.Model(inputs, keras.layers.Softmax(name="task_softmax")(dense(inputs))))
    classifier, logits = teachers.ensemble_models(members)
    out = keras.ops.convert_to_numpy(logits(np.zeros((1, 2), "float32")))
    assert np.isfinite(out).all() and out[0, 1] < -100
    # Softened, the faint classes come back; the softmax itself had rounded them away.
    assert recipe.soften(out, 100.0)[0, 1] > 0.05
    assert keras.ops.convert_to_numpy(classifier(np.zeros((1, 2), "float32")))[0, 1] == 0.0


# ## A Model Builder run as the teacher


def test_a_builder_runs_model_is_the_teacher_as_it_was_saved(store):
    run_id, model = builder_run(store, recipe.teacher_spec(TINY), TINY.dataset)
    _, classifier, logits = teachers.load(store, teacher_of("run", run_id))
    assert predicted(classifier) == pytest.approx(predicted(model), abs=1e-6)
    assert recipe.soften(predicted(logits), 1.0) == pytest.approx(predicted(model), abs=1e-5)


# ## Runs that cannot teach, by message


def test_every_run_that_cannot_teach_is_refused_naming_teacher_run(store):
    ensemble_id, _ = ensemble_run(store)
    partial_id, _ = ensemble_run(store, n_stored=1)
    mnist_id, _ = ensemble_run(store, dataclasses.replace(ENSEMBLE, dataset="mnist"))
    padded = dataclasses.replace(recipe.student_spec(TINY), input_shape=(32, 32, 1))
    padded_id, _ = builder_run(store, padded, TINY.dataset)
    queued = store.create_run("train", {}, owner="alice")
    cases = [
        (teacher_of("ensemble", 999), "teacher_run #999 is not in the store"),
        (teacher_of("run", ensemble_id), "teacher_run must be a finished Model Builder run (kind 'train'"),
        (teacher_of("ensemble", queued), "got #%d, a 'train' run that is queued" % queued),
        (teacher_of("ensemble", partial_id), "stored no weights for member 2"),
        (teacher_of("ensemble", mnist_id), "trained on 'mnist'; this lab's dataset is 'fashion_mnist_small'"),
        (teacher_of("run", padded_id), "takes (32, 32, 1) images; 'fashion_mnist_small' has (28, 28, 1)"),
    ]
    for config, message in cases:
        with pytest.raises(ConfigError, match="teacher_run") as raised:
            teachers.load(store, config)
        assert message in str(raised.value)


def test_a_stored_teacher_is_named_before_the_run_is_queued():
    assert recipe.problems(teacher_of("ensemble", None).to_dict()) == [
        "teacher_run must be the number of a finished Ensemble lab run when teacher is 'ensemble'; got None."]
    assert recipe.problems(teacher_of("run", 3).to_dict()) == []
    # The ConvNet teacher's shape is not read then, nor a run by the ConvNet teacher.
    distil = recipe.step_config(teacher_of("run", 3, teacher_width=99), "distil")
    assert (distil.teacher_run, distil.teacher_width) == (3, Config().teacher_width)
    assert recipe.step_config(dataclasses.replace(TINY, teacher_run=3), "distil").teacher_run is None


# ## End to end


@pytest.mark.slow
def test_a_real_ensemble_run_is_distilled_into_one_student():
    # The session's tiny Ensemble run (the Ensemble lab's tests read it too), in this process's store.
    ensemble_id, _, trained = tiny_lab_run("ensemble", dataclasses.replace(ENSEMBLE_PRESETS["tiny"], bagging=True))
    store = Store()
    config = teacher_of("ensemble", ensemble_id)
    distil_id = store.create_run("distillation", config.to_dict(), owner="alice")
    store.claim_run(distil_id, "nowhere")
    reporter = RecordingReporter(then=StoreReporter(store, distil_id))
    result = runner.run(config, reporter)
    teacher = result["teacher"]
    assert (teacher["from_run"], teacher["source"], teacher["members"]) == (ensemble_id, "ensemble", 2)
    assert teacher["params"] == sum(member["params"] for member in trained["members"])
    assert teacher["seconds"] == pytest.approx(sum(member["train_seconds"] for member in trained["members"]))
    assert f"Ensemble lab run #{ensemble_id}: the soft vote of its 2 members" in result["note"]
    # No ConvNet teacher was trained: the only epochs are the student's.
    assert {series for series, _, _ in reporter.epochs} == {"distilled"}
    assert 0.0 <= result["distilled"]["test_accuracy"] <= 1.0
    store.set_status(distil_id, "done")
