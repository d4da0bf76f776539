"""labcore.composable: the Keras models agree with the pure-Python spec walk
(names, shapes, parameters, on the references and many random specs), blocks
are wired as the original labs', hyperparameters reach every layer, and
encoders and weights move between models by name."""

import dataclasses
import functools
import random

import keras
import numpy as np
import pytest

from labcore.composable import build_model, encoder_of, transfer_weights
from labcore.errors import SpecError
from labcore.references import REFERENCES
from labcore.spec import (
    BLOCKS,
    INITIALIZERS,
    GroupSpec,
    HyperSpec,
    LearnerSpec,
    ModelSpec,
    StemSpec,
    TaskSpec,
    count_params,
    default_spec,
    layer_table,
    output_shapes,
    problems,
    summarize,
)
from labcore.spec.blocks import BLOCK_TYPES


@functools.lru_cache(maxsize=None)
def built(spec):
    """One Keras build per spec for the whole file (specs are hashable)."""
    return build_model(spec)


def parent(model, name):
    """Name of the layer feeding layer `name` (its single input)."""
    return model.get_layer(name).input._keras_history.operation.name


def parents(model, name):
    return {tensor._keras_history.operation.name for tensor in model.get_layer(name).input}


def assert_matches_the_walk(spec):
    model = built(spec)
    predicted = {row.name: row for row in layer_table(spec)}
    assert {layer.name for layer in model.layers} == set(predicted)
    for layer in model.layers:
        row = predicted[layer.name]
        assert layer.count_params() == row.params, layer.name
        assert tuple(layer.output.shape[1:]) == row.output_shape, layer.name
    assert model.count_params() == count_params(spec)
    for part, shape in output_shapes(spec).items():
        if part.startswith("group"):
            last = [layer for layer in model.layers if layer.name.startswith(f"group{part[6:]}_")][-1]
            assert tuple(last.output.shape[1:]) == shape, part
    assert tuple(model.output.shape[1:]) == output_shapes(spec)["task"]


# ## Keras agrees with the spec walk


@pytest.mark.parametrize("key", sorted(REFERENCES))
def test_reference_models_match_the_spec_walk(key):
    assert_matches_the_walk(REFERENCES[key].spec)


def test_default_spec_matches_the_spec_walk():
    assert_matches_the_walk(default_spec())


def random_spec(rng):
    """A small spec drawn from everything a spec can say."""
    stem = rng.choice([
        StemSpec(kind="none"),
        StemSpec(
            n_filters=rng.randint(1, 6), kernel_size=rng.choice([1, 3, 5]), strides=rng.choice([1, 2]),
            padding=rng.choice(["same", "explicit", "valid"]), use_bias=rng.choice([None, True, False]),
            pool=rng.random() < 0.3,
        ),
    ])
    groups = tuple(
        GroupSpec(rng.randint(1, 6), rng.randint(1, 2), rng.choice([None, 1, 2])) for _ in range(rng.randint(1, 3))
    )
    kind = rng.choice(["classifier", "classifier", "encoder", "autoencoder"])
    task = TaskSpec(
        kind=kind, n_classes=rng.randint(2, 5), pooling=rng.choice(["avg", "max"]),
        dropout=rng.choice([None, 0.0, 0.3]), noise=rng.choice([None, 0.1]),
        dense_initializer=rng.choice((None,) + INITIALIZERS), dense_l2=rng.choice([None, 0.0, 0.01]),
        output_activation=rng.choice(["sigmoid", "relu", "linear"]),
        decoder_upsampling=rng.choice(["transpose", "transpose_even", "resize"]),
    )
    hyper = HyperSpec(
        initializer=rng.choice(INITIALIZERS), l2=rng.choice([0.0, 1e-3]), input_noise=rng.choice([0.0, 0.1]),
        bn_epsilon=rng.choice([1e-3, 1.001e-5]), use_bias=rng.random() < 0.5, relu_clip=rng.choice([None, 6.0]),
    )
    size = rng.choice([5, 8, 9, 16])
    spec = ModelSpec((size, size, rng.choice([1, 3])), stem, LearnerSpec(rng.choice(BLOCKS), groups), task, hyper,
                     name=f"random_{rng.randint(0, 10**6)}")
    if kind == "autoencoder":
        # The decoder needs one stage per stride-2 stage; try each length.
        for n_stages in range(5):
            candidate = dataclasses.replace(spec, task=dataclasses.replace(task, decoder_filters=(4,) * n_stages))
            if not problems(candidate):
                return candidate
    return spec


def random_specs(count=48, seed=20240607):
    rng = random.Random(seed)
    found = []
    while len(found) < count:
        spec = random_spec(rng)
        if not problems(spec):
            found.append(spec)
    return found


RANDOM_SPECS = random_specs()


def test_random_specs_cover_every_block_task_and_stem():
    assert {spec.learner.block for spec in RANDOM_SPECS} == set(BLOCKS)
    assert {spec.task.kind for spec in RANDOM_SPECS} == {"classifier", "encoder", "autoencoder"}
    assert {spec.stem.padding for spec in RANDOM_SPECS if spec.stem.kind == "conv"} == {"same", "explicit", "valid"}
    assert {spec.task.decoder_upsampling for spec in RANDOM_SPECS if spec.task.kind == "autoencoder"} == {"transpose", "transpose_even", "resize"}


@pytest.mark.parametrize("spec", RANDOM_SPECS, ids=[spec.name for spec in RANDOM_SPECS])
def test_random_specs_match_the_spec_walk(spec):
    assert_matches_the_walk(spec)


def test_weight_arrays_are_as_many_as_the_notebooks():
    # ORIGINAL_LABS.md Lab 3, bug 2: the Lab 2 model has 247 arrays, the
    # ensemble's (with its stem bias) 248.
    assert len(built(REFERENCES["regularization_resnet_v2"].spec).weights) == 247
    assert len(built(REFERENCES["ensemble_base"].spec).weights) == 248


# ## Blocks and groups

def small(block, **hyper):
    return ModelSpec(
        input_shape=(8, 8, 3),
        stem=StemSpec(n_filters=4),
        learner=LearnerSpec(block, (GroupSpec(4, 2), GroupSpec(8, 2))),
        hyper=HyperSpec(**hyper),
        name=f"small_{block}",
    )


STRIDED = {
    "plain": {"conv1"},
    "resnet_v1_basic": {"conv1", "shortcut_conv"},
    "resnet_v1_bottleneck": {"conv1", "shortcut_conv"},
    "resnet_v2_basic": {"conv1", "shortcut_conv"},
    # The original pre-activation bottleneck strides its 3x3 conv.
    "resnet_v2_bottleneck": {"conv2", "shortcut_conv"},
}


@pytest.mark.parametrize("block", BLOCKS)
def test_each_registered_block_builds_what_its_walker_predicts(block):
    assert callable(BLOCK_TYPES[block].load_builder())
    assert_matches_the_walk(small(block))


@pytest.mark.parametrize("block", BLOCKS)
def test_first_block_of_group_2_downsamples(block):
    model = built(small(block))
    strided = {
        layer.name for layer in model.layers if isinstance(layer, keras.layers.Conv2D) and layer.strides == (2, 2)
    }
    assert strided == {f"group2_block1_{suffix}" for suffix in STRIDED[block]}
    group_outputs = output_shapes(small(block))
    assert group_outputs["group 1"][:2] == (8, 8) and group_outputs["group 2"][:2] == (4, 4)


@pytest.mark.parametrize("block", BLOCKS)
def test_projection_blocks_exist_exactly_at_the_start_of_each_group(block):
    model = built(small(block))
    shortcuts = {layer.name for layer in model.layers if "shortcut_conv" in layer.name}
    expected = set() if block == "plain" else {"group1_block1_shortcut_conv", "group2_block1_shortcut_conv"}
    assert shortcuts == expected


def test_v2_bottleneck_is_wired_as_the_original():
    spec = REFERENCES["regularization_resnet_v2"].spec
    model = built(spec)
    block_input = "group1_block5_add"
    # Projection: shortcut BN -> Conv1x1(4f, s), no ReLU.
    assert parent(model, "group2_block1_shortcut_bn") == block_input
    assert parent(model, "group2_block1_shortcut_conv") == "group2_block1_shortcut_bn"
    # Main path BN-ReLU-1x1(f)-BN-ReLU-3x3(f, s)-BN-ReLU-1x1(4f).
    chain = ["bn1", "relu1", "conv1", "bn2", "relu2", "conv2", "bn3", "relu3", "conv3"]
    assert parent(model, "group2_block1_bn1") == block_input
    for before, after in zip(chain, chain[1:]):
        assert parent(model, f"group2_block1_{after}") == f"group2_block1_{before}"
    assert parents(model, "group2_block1_add") == {"group2_block1_shortcut_conv", "group2_block1_conv3"}
    convs = [model.get_layer(f"group2_block1_conv{i}") for i in (1, 2, 3)]
    assert [(c.kernel_size, c.filters, c.strides) for c in convs] == [
        ((1, 1), 64, (1, 1)), ((3, 3), 64, (2, 2)), ((1, 1), 256, (1, 1)),
    ]
    shortcut = model.get_layer("group2_block1_shortcut_conv")
    assert (shortcut.kernel_size, shortcut.filters, shortcut.strides) == ((1, 1), 256, (2, 2))
    # Identity: Add with the block's input; no final BN-ReLU after the learner.
    assert parents(model, "group2_block2_add") == {"group2_block1_add", "group2_block2_conv3"}
    assert parent(model, "learner_output") == "group3_block5_add"


def test_v1_blocks_end_with_relu_after_the_add():
    model = built(small("resnet_v1_bottleneck"))
    assert parent(model, "group1_block1_out") == "group1_block1_add"
    assert parents(model, "group1_block1_add") == {"group1_block1_shortcut_bn", "group1_block1_bn3"}
    assert parents(model, "group1_block2_add") == {"group1_block1_out", "group1_block2_bn3"}


# ## Hyperparameters


def test_hyperparameters_reach_every_layer():
    spec = dataclasses.replace(
        small("resnet_v2_bottleneck", initializer="glorot_normal", l2=0.01, input_noise=0.1, bn_epsilon=0.002,
              use_bias=True, relu_clip=6.0),
        stem=StemSpec(n_filters=4, use_bias=False),
        task=TaskSpec(dropout=0.3, noise=0.2, dense_initializer="he_uniform", dense_l2=0.0),
    )
    model = built(spec)
    convs = [layer for layer in model.layers if isinstance(layer, keras.layers.Conv2D)]
    assert any("shortcut" in layer.name for layer in convs)
    for layer in convs:
        assert layer.kernel_regularizer.l2 == pytest.approx(0.01), layer.name
        assert type(layer.kernel_initializer).__name__ == "GlorotNormal", layer.name
        assert layer.use_bias is (layer.name != "stem_conv"), layer.name
    for layer in model.layers:
        if isinstance(layer, keras.layers.BatchNormalization):
            assert layer.epsilon == pytest.approx(0.002), layer.name
        if isinstance(layer, keras.layers.ReLU):
            assert layer.max_value == 6.0, layer.name
    assert model.get_layer("input_noise").stddev == 0.1
    assert parent(model, "input_noise") == "image"
    dense = model.get_layer("task_dense")
    assert dense.kernel_regularizer is None and type(dense.kernel_initializer).__name__ == "HeUniform"
    assert model.get_layer("task_dropout").rate == 0.3
    assert model.get_layer("task_noise").stddev == 0.2
    assert parent(model, "task_relu") == "task_noise"


def test_no_l2_and_no_input_noise_add_nothing():
    model = built(small("plain"))
    assert all(getattr(layer, "kernel_regularizer", None) is None for layer in model.layers)
    assert "input_noise" not in {layer.name for layer in model.layers}
    assert parent(model, "stem_conv") == "image"


# ## The autoencoder task


@pytest.mark.parametrize("activation, last", [("sigmoid", "decoder_sigmoid"), ("relu", "decoder_relu3"),
                                              ("linear", "decoder_conv3")])
def test_autoencoder_output_has_the_input_shape_and_its_activation(activation, last):
    reference = REFERENCES["autoencoder_original"].spec
    spec = dataclasses.replace(reference, task=dataclasses.replace(reference.task, output_activation=activation),
                               name=f"autoencoder_{activation}")
    model = built(spec)
    assert tuple(model.output.shape[1:]) == spec.input_shape
    assert model.layers[-1].name == last
    if activation == "sigmoid":
        images = np.random.default_rng(0).normal(size=(2, 32, 32, 3)).astype("float32")
        reconstructed = np.asarray(model(images))
        assert reconstructed.min() >= 0.0 and reconstructed.max() <= 1.0


def test_a_resize_decoder_has_the_transposed_ones_shapes_and_parameters():
    reference = REFERENCES["autoencoder_original"].spec
    spec = dataclasses.replace(reference, task=dataclasses.replace(reference.task, decoder_upsampling="resize"),
                               name="autoencoder_resize")
    model = built(spec)
    assert model.count_params() == count_params(reference) == count_params(spec)
    assert tuple(model.output.shape[1:]) == spec.input_shape
    assert type(model.get_layer("decoder_upsample1")).__name__ == "UpSampling2D"
    assert type(model.get_layer("decoder_conv1")).__name__ == "Conv2D"


def test_encoder_of_gives_the_latent_code_and_shares_weights():
    model = built(REFERENCES["autoencoder_original"].spec)
    encoder = encoder_of(model)
    assert tuple(encoder.output.shape[1:]) == (4, 4, 32)
    assert encoder.get_layer("group1_block1_conv1") is model.get_layer("group1_block1_conv1")
    encoder_rows = [row for row in summarize(REFERENCES["autoencoder_original"].spec) if row.name != "task"]
    assert encoder.count_params() == sum(row.params for row in encoder_rows)
    with pytest.raises(SpecError, match=r"model must be a model from build_model \(with a 'learner_output' layer\)"):
        encoder_of(keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)], name="plain_keras"))


# ## Moving weights by name


def classifier_on_the_autoencoders_encoder(n_filters=64, name="encoded_head"):
    reference = REFERENCES["autoencoder_original"].spec
    groups = (GroupSpec(n_filters, 1, strides=2),) + reference.learner.groups[1:]
    return dataclasses.replace(reference, learner=dataclasses.replace(reference.learner, groups=groups),
                               task=TaskSpec(kind="classifier"), name=name)


def test_transfer_weights_copies_the_shared_layers_and_leaves_the_rest():
    source = build_model(REFERENCES["autoencoder_original"].spec)
    target = build_model(classifier_on_the_autoencoders_encoder())
    dense_before = [w.copy() for w in target.get_layer("task_dense").get_weights()]
    copied = transfer_weights(source, target)
    assert copied == [f"group{i}_block1_{kind}" for i in (1, 2, 3) for kind in ("conv1", "bn1")]
    for name in copied:
        for theirs, ours in zip(source.get_layer(name).get_weights(), target.get_layer(name).get_weights()):
            np.testing.assert_array_equal(theirs, ours)
    for before, after in zip(dense_before, target.get_layer("task_dense").get_weights()):
        np.testing.assert_array_equal(before, after)


def test_transfer_weights_by_explicit_names():
    source = build_model(REFERENCES["autoencoder_original"].spec)
    target = build_model(classifier_on_the_autoencoders_encoder())
    assert transfer_weights(source, target, ["group1_block1_conv1"]) == ["group1_block1_conv1"]
    np.testing.assert_array_equal(source.get_layer("group1_block1_conv1").get_weights()[0],
                                  target.get_layer("group1_block1_conv1").get_weights()[0])
    assert not np.array_equal(source.get_layer("group2_block1_conv1").get_weights()[0],
                              target.get_layer("group2_block1_conv1").get_weights()[0])
    with pytest.raises(SpecError, match=r"names must be layers of both models \('encoded_head' has none so named\); "
                                         r"got 'decoder_conv1'\."):
        transfer_weights(source, target, ["decoder_conv1"])


def test_transfer_weights_refuses_shape_mismatches_and_copies_nothing():
    source = build_model(REFERENCES["autoencoder_original"].spec)
    target = build_model(classifier_on_the_autoencoders_encoder(n_filters=16, name="narrow"))
    before = [w.copy() for w in target.get_weights()]
    with pytest.raises(SpecError, match=r"weights of layer 'group1_block1_conv1' must be shaped "
                                         r"\[\(3, 3, 3, 16\), \(16,\)\] as in 'narrow' to be copied; "
                                         r"got \[\(3, 3, 3, 64\), \(64,\)\]\."):
        transfer_weights(source, target)
    for was, now in zip(before, target.get_weights()):
        np.testing.assert_array_equal(was, now)


def test_default_spec_model_learns_a_step():
    model = build_model(default_spec())
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    rng = np.random.default_rng(0)
    images = rng.random((32, 28, 28, 1), dtype=np.float32)
    labels = rng.integers(0, 10, 32)
    losses = [float(model.train_on_batch(images, labels)) for _ in range(3)]
    assert all(np.isfinite(losses)) and losses[-1] < losses[0]


def test_batch_norm_momentum_comes_from_the_spec_and_the_first_model_uses_a_fast_one():
    model = built(default_spec())
    momenta = {layer.momentum for layer in model.layers if isinstance(layer, keras.layers.BatchNormalization)}
    assert momenta == {0.9}
    reference = built(REFERENCES["regularization_resnet_v2"].spec)
    assert {layer.momentum for layer in reference.layers
            if isinstance(layer, keras.layers.BatchNormalization)} == {0.99}  # Keras's and the original's
