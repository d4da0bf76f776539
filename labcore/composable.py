"""Keras models from specs: stem -> learner (groups of blocks) -> task.

Owns `build_model` and its parts (`build_stem`, `build_group`,
`build_block`, `build_task`), `encoder_of` and `transfer_weights`. Imports
Keras (`keras.layers` and friends only, never `tf.*`, so any Keras 3 backend
runs it): only the worker, the lab runners and the CLI may import this
module, never the Streamlit process, which counts and checks models with
`labcore.spec` instead.

Layer names are deterministic and equal those `labcore.spec.layer_table`
predicts: "image" (the input), "input_noise", "stem_conv", "stem_bn", ...,
"group{i}_block{j}_conv1", "group{i}_block{j}_shortcut_conv", ...,
"learner_output" (the last learner tensor), then "task_pool",
"task_dense", "task_softmax" for a classifier or "decoder_conv1", ... for
an autoencoder. Weight transfer and encoder extraction find layers by
these names, never by index.

Every hyperparameter of `HyperSpec` reaches every layer it concerns: the
initializer and L2 factor every convolution kernel (shortcuts and the
decoder's transposed convolutions included), the epsilon every batch norm,
the clip every ReLU.
"""

import functools

import keras

from labcore.errors import SpecError, describe
from labcore.spec import (
    dense_initializer,
    dense_l2,
    group_strides,
    stem_use_bias,
)
from labcore.spec.blocks import BLOCK_TYPES

__all__ = [
    "build_block",
    "build_group",
    "build_model",
    "build_stem",
    "build_task",
    "encoder_of",
    "plain_block",
    "resnet_v1_basic_block",
    "resnet_v1_bottleneck_block",
    "resnet_v2_basic_block",
    "resnet_v2_bottleneck_block",
    "matching_layers",
    "transfer_weights",
]


# ## Layers with the spec's hyperparameters


def _l2(factor):
    # No regularizer at all for 0, rather than a term that adds 0 to the loss.
    return keras.regularizers.L2(factor) if factor else None


def _conv(x, n_filters, kernel_size, strides, name, hyper, use_bias=None, padding="same"):
    return keras.layers.Conv2D(
        n_filters,
        kernel_size,
        strides=strides,
        padding=padding,
        use_bias=hyper.use_bias if use_bias is None else use_bias,
        kernel_initializer=hyper.initializer,
        kernel_regularizer=_l2(hyper.l2),
        name=name,
    )(x)


def _bn(x, name, hyper):
    return keras.layers.BatchNormalization(epsilon=hyper.bn_epsilon, momentum=hyper.bn_momentum, name=name)(x)


def _relu(x, name, hyper):
    return keras.layers.ReLU(max_value=hyper.relu_clip, name=name)(x)


# ## Stem


def build_stem(x, spec):
    """The stem: how the image is first reduced.

    `[ZeroPadding2D(k // 2)] -> Conv2D -> BN -> ReLU -> [ZeroPadding2D(1) ->
    MaxPooling2D 3x3/2]`, or nothing for a "none" stem.

    Args:
        x: KerasTensor, the image (after any input noise).
        spec: ModelSpec.

    Returns:
        KerasTensor, the stem's output.
    """
    stem, hyper = spec.stem, spec.hyper
    if stem.kind == "none":
        return x
    if stem.padding == "explicit":
        # The original ResNet stem: pad k // 2, then a 'valid' convolution.
        x = keras.layers.ZeroPadding2D(stem.kernel_size // 2, name="stem_pad")(x)
    x = _conv(
        x, stem.n_filters, stem.kernel_size, stem.strides, "stem_conv", hyper,
        use_bias=stem_use_bias(spec),
        padding="same" if stem.padding == "same" else "valid",
    )
    x = _bn(x, "stem_bn", hyper)
    x = _relu(x, "stem_relu", hyper)
    if stem.pool:
        x = keras.layers.ZeroPadding2D(1, name="stem_pool_pad")(x)
        x = keras.layers.MaxPooling2D(3, strides=2, name="stem_pool")(x)
    return x


# ## Blocks
#
# One builder per block type of `labcore.spec.blocks.BLOCK_TYPES`, which
# names it. Each takes the block's input and returns its output.
# `projection` is True for the first block of a group: its shortcut is a
# strided 1x1 convolution, so the Add sees the same shape on both sides.


def plain_block(x, n_filters, strides, projection, name, hyper):
    """Conv3x3(s)-BN-ReLU, no shortcut (`projection` is ignored)."""
    x = _conv(x, n_filters, 3, strides, f"{name}_conv1", hyper)
    x = _bn(x, f"{name}_bn1", hyper)
    return _relu(x, f"{name}_relu1", hyper)


def _resnet_v1_block(x, n_filters, strides, projection, name, hyper, bottleneck):
    out_filters = 4 * n_filters if bottleneck else n_filters
    shortcut = x
    if projection:
        shortcut = _conv(x, out_filters, 1, strides, f"{name}_shortcut_conv", hyper)
        shortcut = _bn(shortcut, f"{name}_shortcut_bn", hyper)
    # Post-activation: convolution, then BN, then ReLU.
    if bottleneck:
        y = _conv(x, n_filters, 1, strides, f"{name}_conv1", hyper)
        y = _relu(_bn(y, f"{name}_bn1", hyper), f"{name}_relu1", hyper)
        y = _conv(y, n_filters, 3, 1, f"{name}_conv2", hyper)
        y = _relu(_bn(y, f"{name}_bn2", hyper), f"{name}_relu2", hyper)
        y = _bn(_conv(y, out_filters, 1, 1, f"{name}_conv3", hyper), f"{name}_bn3", hyper)
    else:
        y = _conv(x, n_filters, 3, strides, f"{name}_conv1", hyper)
        y = _relu(_bn(y, f"{name}_bn1", hyper), f"{name}_relu1", hyper)
        y = _bn(_conv(y, n_filters, 3, 1, f"{name}_conv2", hyper), f"{name}_bn2", hyper)
    y = keras.layers.Add(name=f"{name}_add")([shortcut, y])
    return _relu(y, f"{name}_out", hyper)


def _resnet_v2_block(x, n_filters, strides, projection, name, hyper, bottleneck):
    out_filters = 4 * n_filters if bottleneck else n_filters
    shortcut = x
    if projection:
        # As the original: the shortcut has its own BN and no ReLU.
        shortcut = _bn(x, f"{name}_shortcut_bn", hyper)
        shortcut = _conv(shortcut, out_filters, 1, strides, f"{name}_shortcut_conv", hyper)
    # Pre-activation: BN, then ReLU, then convolution.
    y = _relu(_bn(x, f"{name}_bn1", hyper), f"{name}_relu1", hyper)
    if bottleneck:
        y = _conv(y, n_filters, 1, 1, f"{name}_conv1", hyper)
        y = _relu(_bn(y, f"{name}_bn2", hyper), f"{name}_relu2", hyper)
        y = _conv(y, n_filters, 3, strides, f"{name}_conv2", hyper)
        y = _relu(_bn(y, f"{name}_bn3", hyper), f"{name}_relu3", hyper)
        y = _conv(y, out_filters, 1, 1, f"{name}_conv3", hyper)
    else:
        y = _conv(y, n_filters, 3, strides, f"{name}_conv1", hyper)
        y = _relu(_bn(y, f"{name}_bn2", hyper), f"{name}_relu2", hyper)
        y = _conv(y, n_filters, 3, 1, f"{name}_conv2", hyper)
    return keras.layers.Add(name=f"{name}_add")([shortcut, y])


resnet_v1_basic_block = functools.partial(_resnet_v1_block, bottleneck=False)
resnet_v1_bottleneck_block = functools.partial(_resnet_v1_block, bottleneck=True)
resnet_v2_basic_block = functools.partial(_resnet_v2_block, bottleneck=False)
resnet_v2_bottleneck_block = functools.partial(_resnet_v2_block, bottleneck=True)


def build_block(x, block, n_filters, strides, projection, name, hyper):
    """One block of a group.

    Args:
        x: KerasTensor, the block's input.
        block: str, one of `labcore.spec.BLOCKS` (see `labcore.spec.blocks`).
        n_filters: int, the block's filters (bottlenecks output 4x).
        strides: int, the stride of the block's strided convolution.
        projection: bool, True for a group's first block: a ResNet block
            then gets a strided 1x1 convolution on its shortcut. A plain
            block has no shortcut and ignores it.
        name: str, the prefix of the block's layer names, e.g.
            "group2_block1".
        hyper: HyperSpec.

    Returns:
        KerasTensor, the block's output.
    """
    return BLOCK_TYPES[block].load_builder()(x, n_filters, strides, projection, name, hyper)


# ## Learner


def build_group(x, group, index, spec):
    """One group: a projection block that carries the stride, then identity blocks.

    Args:
        x: KerasTensor, the group's input.
        group: GroupSpec.
        index: int, the group's position, 1 for the first (its stride
            defaults to 1, the others' to 2).
        spec: ModelSpec, for the block type and hyperparameters.

    Returns:
        KerasTensor, the group's output.
    """
    for number in range(1, group.n_blocks + 1):
        first = number == 1
        x = build_block(
            x,
            spec.learner.block,
            group.n_filters,
            group_strides(group, index) if first else 1,
            first,
            f"group{index}_block{number}",
            spec.hyper,
        )
    return x


# ## Task


def _decoder(x, spec):
    """Stages that each double the feature map (see `TaskSpec.decoder_upsampling`)."""
    task, hyper = spec.task, spec.hyper
    stages = task.decoder_filters + (spec.input_shape[2],)
    for stage, n_filters in enumerate(stages, start=1):
        settings = dict(use_bias=hyper.use_bias, kernel_initializer=hyper.initializer,
                        kernel_regularizer=_l2(hyper.l2), name=f"decoder_conv{stage}")
        if task.decoder_upsampling != "resize":
            kernel_size = 4 if task.decoder_upsampling == "transpose_even" else 3
            x = keras.layers.Conv2DTranspose(n_filters, kernel_size, strides=2, padding="same", **settings)(x)
        else:
            x = keras.layers.UpSampling2D(2, interpolation="nearest", name=f"decoder_upsample{stage}")(x)
            x = keras.layers.Conv2D(n_filters, 3, padding="same", **settings)(x)
        if stage < len(stages) or task.output_activation == "relu":
            # "relu" ends with BN -> ReLU as the original's last stage did.
            x = _bn(x, f"decoder_bn{stage}", hyper)
            x = _relu(x, f"decoder_relu{stage}", hyper)
        elif task.output_activation == "sigmoid":
            x = keras.layers.Activation("sigmoid", name="decoder_sigmoid")(x)
    return x


def build_task(x, spec):
    """The task on top of the learner's output.

    classifier: GlobalAverage/MaxPooling -> [Dropout] -> [GaussianNoise ->
    ReLU] -> Dense(n_classes) -> softmax. encoder: `x` itself.
    autoencoder: the decoder (see `TaskSpec`).

    Args:
        x: KerasTensor, the learner's output.
        spec: ModelSpec.

    Returns:
        KerasTensor, the model's output.
    """
    task, hyper = spec.task, spec.hyper
    if task.kind == "encoder":
        return x
    if task.kind == "autoencoder":
        return _decoder(x, spec)
    if task.pooling == "avg":
        x = keras.layers.GlobalAveragePooling2D(name="task_pool")(x)
    else:
        x = keras.layers.GlobalMaxPooling2D(name="task_pool")(x)
    if task.dropout is not None:
        x = keras.layers.Dropout(task.dropout, name="task_dropout")(x)
    if task.noise is not None:
        # Labs 2/3: noise on the pooled features; the ReLU also stands in
        # for the final BN-ReLU that ResNet v2 leaves out.
        x = keras.layers.GaussianNoise(task.noise, name="task_noise")(x)
        x = _relu(x, "task_relu", hyper)
    x = keras.layers.Dense(
        task.n_classes,
        kernel_initializer=dense_initializer(spec),
        kernel_regularizer=_l2(dense_l2(spec)),
        name="task_dense",
    )(x)
    # float32 even under a mixed-precision policy: a float16 softmax
    # underflows and the cross-entropy of its output loses precision.
    return keras.layers.Activation("softmax", dtype="float32", name="task_softmax")(x)


# ## Model


def build_model(spec):
    """The Keras model of a spec: image -> stem -> learner -> task.

    Args:
        spec: ModelSpec, valid (`labcore.spec.problems(spec)` is empty). A
            run's specs were checked when it was submitted and again by its
            worker, so the builder does not check them a third time.

    Returns:
        keras.Model named `spec.name`, with input "image" and a
        "learner_output" layer (see `encoder_of`).
    """
    image = keras.Input(shape=tuple(spec.input_shape), name="image")
    x = image
    if spec.hyper.input_noise > 0:
        x = keras.layers.GaussianNoise(spec.hyper.input_noise, name="input_noise")(x)
    x = build_stem(x, spec)
    for index, group in enumerate(spec.learner.groups, start=1):
        x = build_group(x, group, index, spec)
    # A named, weightless layer marks where the learner ends, so the encoder
    # can be cut out by name whatever the block type.
    x = keras.layers.Identity(name="learner_output")(x)
    return keras.Model(image, build_task(x, spec), name=spec.name)


def encoder_of(model):
    """The encoder of a built model: its input to its learner's output.

    Args:
        model: keras.Model from `build_model`.

    Returns:
        keras.Model "<name>_encoder" sharing the layers, and so the weights,
        of `model`; its output is the latent code (for the original
        autoencoder on 32x32x3, 4x4x32).

    Raises:
        SpecError: `model` has no "learner_output" layer.
    """
    names = {layer.name for layer in model.layers}
    if "learner_output" not in names:
        raise SpecError(
            describe("model", "a model from build_model (with a 'learner_output' layer)", model.name)
        )
    latent = model.get_layer("learner_output").output
    return keras.Model(model.inputs, latent, name=f"{model.name}_encoder")


def matching_layers(src, dst):
    """The layers of `dst` with weights that `src` has too, by name, with the same weight shapes.

    What a changed architecture can still take from a trained one: every
    layer when only a training setting changed, the untouched ones when a
    group grew a block or widened.

    Returns:
        list of str, in `dst`'s order; pass it to `transfer_weights`.
    """
    src_layers = {layer.name: layer for layer in src.layers}
    return [layer.name for layer in dst.layers if layer.weights and layer.name in src_layers
            and [tuple(w.shape) for w in src_layers[layer.name].weights] == [tuple(w.shape) for w in layer.weights]]


def transfer_weights(src, dst, names=None):
    """Copy weights from one model to another, layer by layer, by name.

    Nothing is copied unless every layer matches, so a refused transfer
    leaves `dst` as it was.

    Args:
        src: keras.Model to copy from.
        dst: keras.Model to copy into.
        names: iterable of str or None; None = every layer with weights that
            both models have by name (e.g. a trained autoencoder's encoder
            into a classifier built on the same stem and groups).

    Returns:
        list of str, the names of the layers copied, in `dst`'s order.

    Raises:
        SpecError: a named layer is missing from either model, or its
            weights differ in number or shape between the two.
    """
    src_layers = {layer.name: layer for layer in src.layers}
    dst_layers = {layer.name: layer for layer in dst.layers}
    if names is None:
        names = [name for name, layer in dst_layers.items() if layer.weights and name in src_layers]
    else:
        names = list(names)
    refused = []
    for name in names:
        for model, layers in ((src, src_layers), (dst, dst_layers)):
            if name not in layers:
                refused.append(
                    describe("names", f"layers of both models ({model.name!r} has none so named)", name)
                )
        if name in src_layers and name in dst_layers:
            src_shapes = [tuple(weight.shape) for weight in src_layers[name].weights]
            dst_shapes = [tuple(weight.shape) for weight in dst_layers[name].weights]
            if src_shapes != dst_shapes:
                refused.append(
                    describe(
                        f"weights of layer {name!r}",
                        f"shaped {dst_shapes} as in {dst.name!r} to be copied",
                        src_shapes,
                    )
                )
    if refused:
        raise SpecError("\n".join(refused))
    for name in names:
        dst_layers[name].set_weights(src_layers[name].get_weights())
    return names
