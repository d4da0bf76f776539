"""The Ensemble lab's runner: train the members, the K-head model and the stack.

`run` trains N members of one spec, then a shared trunk with K heads and a
combiner stacked on those heads, and reports every variant's accuracy,
parameters, training time and inference time per image.

Imports Keras (backend-agnostic: `keras` only), so only a worker process
imports it, through the job-kind registry. Everything that needs no Keras
(the config, voting, agreement, the variant table) lives in `config` and
`recipe`, and this module calls them.

The original lab built its intra-model ensembles by hand and copied weights
by position in `get_weights()` (`weights_b[:247]`), an index that was off by
a few arrays: its stacked model froze two random heads. Here every variant
is built from the one spec, with named layers, and weights move by name
(`labcore.composable.transfer_weights`).
"""

import dataclasses

import keras
import numpy as np

from labcore import composable, data, schedules, training, trainconfig
from labcore import spec as spec_lib
from labcore.labs.ensemble import recipe
from labcore.labs.ensemble.config import Config, member_weights
from labcore.reporting import Cancelled, StageReporter

__all__ = [
    "COMBINER_LAYERS",
    "build_heads_model",
    "build_stacking_model",
    "head_names",
    "run",
    "stack_on_heads",
]

# The layers the stacked model adds on top of the K heads; the only ones it trains.
COMBINER_LAYERS = ("stack_concat", "stack_dense", "stack_softmax")


# ## Building the intra-model ensembles


def head_names(n_heads):
    """The output layers of the K-head model: "head1_softmax", ..."""
    return [f"head{k}_softmax" for k in range(1, n_heads + 1)]


def build_heads_model(model_spec, n_heads):
    """A shared trunk with `n_heads` classifier heads, from one spec.

    The trunk is the spec's model up to the input of its dense classifier
    (stem, learner, pooling and any dropout or noise); each head is that
    classifier again ("head{k}_dense" -> "head{k}_softmax"), with the
    spec's initializer and L2. Trained with the heads' losses summed, as
    the original's bagging model was.

    Args:
        model_spec: ModelSpec with a classifier task.
        n_heads: int >= 1.

    Returns:
        keras.Model with one output per head, named as `head_names`.
    """
    member = composable.build_model(model_spec)
    features = member.get_layer("task_dense").input
    l2 = spec_lib.dense_l2(model_spec)
    outputs = []
    for k in range(1, n_heads + 1):
        logits = keras.layers.Dense(
            model_spec.task.n_classes,
            kernel_initializer=spec_lib.dense_initializer(model_spec),
            kernel_regularizer=keras.regularizers.L2(l2) if l2 else None,
            name=f"head{k}_dense",
        )(features)
        outputs.append(keras.layers.Activation("softmax", name=f"head{k}_softmax")(logits))
    return keras.Model(member.inputs, outputs, name=f"{model_spec.name}_{n_heads}_heads")


def build_stacking_model(model_spec, n_heads):
    """The K-head model with a learned combiner on its heads' outputs.

    The K softmax outputs are concatenated ("stack_concat") and a dense
    softmax layer ("stack_dense" -> "stack_softmax") learns how to weigh
    them: the original's makeStacking, without its index-based weights.

    Returns:
        keras.Model with one output, "stack_softmax".
    """
    heads = build_heads_model(model_spec, n_heads)
    joined = keras.layers.Concatenate(name="stack_concat")(heads.outputs)
    l2 = spec_lib.dense_l2(model_spec)
    logits = keras.layers.Dense(
        model_spec.task.n_classes,
        kernel_initializer=spec_lib.dense_initializer(model_spec),
        kernel_regularizer=keras.regularizers.L2(l2) if l2 else None,
        name="stack_dense",
    )(joined)
    output = keras.layers.Activation("softmax", name="stack_softmax")(logits)
    return keras.Model(heads.inputs, output, name=f"{model_spec.name}_stacking")


def stack_on_heads(heads_model, model_spec, n_heads):
    """A stacking model holding a trained K-head model's weights, all frozen but the combiner.

    Every layer both models have by name (stem, groups, heads) is copied
    from `heads_model`; then every layer but `COMBINER_LAYERS` is frozen,
    its batch norms included (they then run in inference mode).

    Returns:
        (keras.Model, list of str): the stacking model and the names of
        the layers copied.
    """
    stack = build_stacking_model(model_spec, n_heads)
    copied = composable.transfer_weights(heads_model, stack)
    for layer in stack.layers:
        layer.trainable = layer.name in COMBINER_LAYERS
    return stack, copied


# ## Running the recipe


def _stored(probabilities):
    """Probabilities as stored (float16), so results and page compute from the same values."""
    return np.asarray(probabilities, dtype=np.float16)


def _check_cancelled(reporter, where):
    if reporter.cancelled():
        raise Cancelled(f"cancelled {where}")


def _train_members(config, model_spec, splits, reporter, n_stages):
    """Train the N members; store their test predictions and results as each finishes."""
    members, predictions = [], []
    for member in range(1, config.n_members + 1):
        _check_cancelled(reporter, f"before member {member}")
        stage = StageReporter.share(reporter, f"member {member}/{config.n_members}", member - 1, n_stages)
        train = recipe.member_train_config(config, member)
        x_train, y_train = splits.x_train, splits.y_train
        if config.bagging:
            drawn = recipe.bootstrap_indices(len(x_train), train.seed)
            x_train, y_train = x_train[drawn], y_train[drawn]
        training.set_seed(train.seed)
        model = composable.build_model(model_spec)
        fitted = training.fit(
            model, (x_train, y_train, splits.x_val, splits.y_val), train, stage,
            series=f"member {member}",
        )
        stage.progress(1.0, f"predicting {len(splits.x_test):,} test images")
        outputs, ms_per_image = training.timed_predict(model, splits.x_test)
        training.save_weights_artifact(model, reporter, member_weights(member))
        predictions.append(_stored(outputs))
        members.append(
            {
                "member": member,
                "seed": train.seed,
                "bootstrap_unique_images": int(len(np.unique(drawn))) if config.bagging else None,
                "test_accuracy": recipe.accuracy(predictions[-1].argmax(axis=1), splits.y_test),
                "val_accuracy": fitted["history"]["val_accuracy"][-1],
                "params": int(model.count_params()),
                "train_seconds": fitted["seconds"],
                "inference_ms_per_image": ms_per_image,
            }
        )
        # Stored as each member ends, so the page shows votes while the rest train.
        reporter.artifact("member_probabilities", np.stack(predictions))
        reporter.result({"members": members})
    return members, np.stack(predictions)


def _train_heads(config, model_spec, splits, reporter, stage):
    """Train the shared trunk with K heads jointly; return the model and its result."""
    train = recipe.member_train_config(config)
    names = head_names(config.n_heads)
    training.set_seed(train.seed)
    model = build_heads_model(model_spec, config.n_heads)
    fitted = training.fit(
        model,
        (splits.x_train, {n: splits.y_train for n in names},
         splits.x_val, {n: splits.y_val for n in names}),
        train, stage, series="heads",
        loss={n: keras.losses.SparseCategoricalCrossentropy() for n in names},
        metrics={n: ["accuracy"] for n in names},
    )
    stage.progress(1.0, f"predicting {len(splits.x_test):,} test images")
    outputs, ms_per_image = training.timed_predict(model, splits.x_test)
    predictions = _stored(np.stack(outputs))
    reporter.artifact("head_probabilities", predictions)
    history = fitted["history"]
    val_accuracies = [history[f"val_{n}_accuracy"][-1] for n in names]
    heads = {
        "n_heads": config.n_heads,
        "params": int(model.count_params()),
        "train_seconds": fitted["seconds"],
        "inference_ms_per_image": ms_per_image,
        "val_accuracies": val_accuracies,
        "votes": recipe.summarize_votes(predictions, splits.y_test, val_accuracies),
    }
    return model, heads


def _train_stacking(config, model_spec, heads_model, splits, stage):
    """Train only the combiner on the frozen trunk and heads; return its result."""
    train = dataclasses.replace(
        recipe.member_train_config(config),
        epochs=config.stacking_epochs,
        learning_rate=config.stacking_learning_rate,
        schedule=schedules.ScheduleSpec(),
    )
    stack, copied = stack_on_heads(heads_model, model_spec, config.n_heads)
    fitted = training.fit(
        stack, (splits.x_train, splits.y_train, splits.x_val, splits.y_val), train, stage,
        series="stacking",
    )
    stage.progress(1.0, f"predicting {len(splits.x_test):,} test images")
    outputs, ms_per_image = training.timed_predict(stack, splits.x_test)
    return {
        "params": int(stack.count_params()),
        "trainable_params": int(sum(np.prod(w.shape) for w in stack.trainable_weights)),
        "layers_copied": len(copied),
        "train_seconds": fitted["seconds"],
        "inference_ms_per_image": ms_per_image,
        "test_accuracy": recipe.accuracy(_stored(outputs).argmax(axis=1), splits.y_test),
    }


def run(config: Config, reporter) -> dict:
    """Runner of the `ensemble` kind: members, votes, K heads, stacking.

    Stores as it goes: per-epoch curves under series "member 1", ...,
    "heads", "stacking"; artifacts "test_labels" (int64, the dataset's
    whole test set in order, so row i is test image i),
    "member_probabilities" (float16, members x images x classes, rewritten
    as each member ends), each member's weights (`member_weights`, for the
    Knowledge distillation lab) and "head_probabilities" (heads x images x
    classes); and result parts as each stage ends, so the page shows
    them live. The whole result is returned, not reported: the worker
    stores it.

    Args:
        config: Config, already validated by the worker
            (`recipe.problems` found nothing).
        reporter: a `labcore.reporting.Reporter`.

    Returns:
        dict, the result: "dataset", "dataset_title", "n_train", "n_val",
        "n_test", "model", "members" (per member: test and validation
        accuracy, params, train_seconds, inference_ms_per_image), "votes"
        (`recipe.summarize_votes` of the members), "heads" (the K-head
        model: params, times, its heads' `summarize_votes`), "stacking"
        (params, trainable_params, layers_copied, times, test_accuracy) and
        "variants" (`recipe.variant_rows`, soft vote).

    Raises:
        Cancelled: the run was cancelled.
    """
    model_spec = recipe.member_spec(config)
    info = data.DATASETS[config.dataset]
    n_stages = config.n_members + (config.n_heads > 0) + config.stacking

    reporter.progress(0.0, f"loading {info.title}")
    drawn, _ = recipe.n_train_images(config)
    splits = data.load(
        config.dataset,
        subset=drawn if drawn < info.n_train else None,
        val_fraction=config.val_fraction,
        seed=config.seed,
        **trainconfig.load_options(model_spec.input_shape, info.image_shape),
    )
    result = {
        "dataset": config.dataset,
        "dataset_title": info.title,
        "n_train": int(len(splits.x_train)),
        "n_val": int(len(splits.x_val)),
        "n_test": int(len(splits.x_test)),
        "model": model_spec.name,
    }
    reporter.artifact("test_labels", splits.y_test)
    reporter.result(result)

    members, predictions = _train_members(config, model_spec, splits, reporter, n_stages)
    result["members"] = members
    result["votes"] = recipe.summarize_votes(
        predictions, splits.y_test, [m["val_accuracy"] for m in members]
    )
    reporter.result({"votes": result["votes"]})

    stage_index = config.n_members
    if config.n_heads:
        _check_cancelled(reporter, "before the K-head model")
        stage = StageReporter.share(reporter, f"{config.n_heads} heads", stage_index, n_stages)
        heads_model, result["heads"] = _train_heads(config, model_spec, splits, reporter, stage)
        reporter.result({"heads": result["heads"]})
        stage_index += 1
        if config.stacking:
            _check_cancelled(reporter, "before stacking")
            stage = StageReporter.share(reporter, "stacking", stage_index, n_stages)
            result["stacking"] = _train_stacking(config, model_spec, heads_model, splits, stage)

    result["variants"] = recipe.variant_rows(result)
    reporter.progress(1.0, "done")
    return result
