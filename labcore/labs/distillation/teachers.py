"""Where a distilled student's teacher comes from: a stored Ensemble lab run, or a stored Model Builder run.

Hinton et al. (2015) introduced distillation to compress an ensemble into
one model, and a learner's own architecture is as good a teacher as this
lab's ConvNet. `load` turns a stored run into the two models a distil step
needs: the whole classifier (to measure it as the student will be) and
the same model up to its logits (what `LogitsDistillation` softens).

An ensemble's teacher is its members' averaged softmax, the Ensemble lab's
soft vote. Its "logits" are the log of that average, computed in log
space (logsumexp of the members' log-softmax, less log N) so that a class
every member rules out gets a very negative number, never log 0. Dividing
them by T and taking the softmax gives the average raised to the power
1/T, renormalised: the ensemble's distribution softened, as for one model.

Imports Keras (`keras` only): workers import it, never the page.
"""

import math

import keras

from labcore import composable, data, featuremaps
from labcore.errors import ConfigError
from labcore.labs.distillation.config import TEACHER_RUNS
from labcore.labs.ensemble import recipe as ensemble_recipe
from labcore.labs.ensemble.config import Config as EnsembleConfig
from labcore.labs.ensemble.config import member_weights

__all__ = ["ensemble_models", "load", "logits_model"]


def logits_model(model, name=None):
    """The same model without its softmax: image -> the "task_dense" layer's logits.

    `LogitsDistillation` divides what it is given by T and takes the softmax
    itself, so it needs logits, and every composable classifier ends in a
    softmax ("task_softmax"). Log-probabilities would give the same soft
    targets (log softmax(z) is z less one constant per image, which the
    softmax cancels), but a float32 softmax rounds a confident teacher's
    smallest probabilities to 0, whose log is -inf; the logits are exact.
    The returned model shares its layers, and so its weights, with `model`:
    training one trains the other.

    Args:
        model: keras.Model from `labcore.composable.build_model`, a classifier.
        name: str or None, the new model's name; None = "<model's name>_logits".

    Returns:
        keras.Model.
    """
    return keras.Model(model.inputs, model.get_layer("task_dense").output, name=name or f"{model.name}_logits")


def ensemble_models(members):
    """The members' soft vote as one classifier, and its log-probabilities as logits.

    Args:
        members: list of keras.Model, composable classifiers on one input.

    Returns:
        (classifier, logits): two keras.Models sharing the members' layers;
        the classifier outputs the averaged softmax, `logits` its log.
    """
    images = keras.Input(members[0].input_shape[1:], name="images")
    log_probabilities = keras.ops.stack(
        [keras.ops.log_softmax(logits_model(member, f"member_{index}_logits")(images), axis=-1)
         for index, member in enumerate(members, start=1)])
    averaged = keras.ops.logsumexp(log_probabilities, axis=0) - math.log(len(members))
    name = f"ensemble_of_{len(members)}"
    return keras.Model(images, keras.ops.exp(averaged), name=name), keras.Model(images, averaged, name=f"{name}_logits")


def _stored_run(store, config):
    """The finished run `config.teacher_run` names, of the kind its teacher source needs."""
    kind, page = TEACHER_RUNS[config.teacher]
    run = store.get_run(config.teacher_run)
    if run is None:
        raise ConfigError(f"teacher_run #{config.teacher_run} is not in the store (deleted?).")
    if run.kind != kind or run.status != "done":
        raise ConfigError(f"teacher_run must be a finished {page} run (kind {kind!r}, status 'done') when teacher "
                          f"is {config.teacher!r}; got #{run.id}, a {run.kind!r} run that is {run.status}.")
    return run


def _check_fits(run, dataset, trained_on, input_shape):
    """The stored teacher must have trained on the lab's dataset and take its images as they are."""
    info = data.DATASETS[dataset]
    if trained_on != dataset:
        raise ConfigError(f"teacher_run #{run.id} trained on {trained_on!r}; this lab's dataset is {dataset!r}: "
                          "pick a run on the same dataset, or set the dataset to its.")
    if tuple(input_shape) != tuple(info.image_shape):
        raise ConfigError(f"teacher_run #{run.id}'s model takes {tuple(input_shape)} images; {dataset!r} has "
                          f"{tuple(info.image_shape)}: distil from a model on the dataset's own image shape.")


def _ensemble(store, run, dataset):
    """The members of an Ensemble lab run, built from its spec and loaded with their stored weights."""
    trained = EnsembleConfig.from_dict(run.config)
    member_spec = ensemble_recipe.member_spec(trained)
    _check_fits(run, dataset, trained.dataset, member_spec.input_shape)
    members = []
    for member in range(1, trained.n_members + 1):
        try:
            path = store.artifact_path(run.id, member_weights(member))
        except KeyError:
            raise ConfigError(f"teacher_run #{run.id} stored no weights for member {member}: only Ensemble runs "
                              "finished since this lab could distil them keep them. Run the Ensemble lab "
                              "again.") from None
        model = composable.build_model(member_spec)
        model.load_weights(path)
        members.append(model)
    return ensemble_models(members)


def _builder_model(store, run, dataset):
    """A Model Builder run's trained model, loaded from its `model.keras`."""
    run, path = featuremaps.trained_model(store, run.id, field="teacher_run")
    # The optimizer's state is not needed to predict.
    model = keras.saving.load_model(path, compile=False)
    _check_fits(run, dataset, run.config["train"]["dataset"], model.input_shape[1:])
    return model, logits_model(model)


def load(store, config):
    """The teacher `config` names, from its stored run.

    Args:
        store: labcore.store.Store, where the run and its artifacts are.
        config: the distillation lab's Config, `teacher` "ensemble" or "run".

    Returns:
        (run, classifier, logits): the stored run, the teacher as a whole
        classifier (softmax outputs), and as a logits model (the same layers).

    Raises:
        ConfigError: the run is missing, unfinished, of another kind, on
            another dataset or image shape, or kept no weights; the message
            names `teacher_run` and says which.
    """
    run = _stored_run(store, config)
    build = _ensemble if config.teacher == "ensemble" else _builder_model
    return (run, *build(store, run, config.dataset))
