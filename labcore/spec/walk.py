"""The walk: every layer's name, output shape and parameters, without Keras.

It follows a spec whose fields are in range layer by layer, mirroring
`labcore.composable` with the same layer names; tests compare the two on
every block type and many random specs. The Streamlit process counts and
checks models with it in microseconds.

Shape arithmetic follows Keras: a 'same' convolution with stride s turns n
into ceil(n / s); a 'valid' one with kernel k into floor((n - k) / s) + 1.
Parameters count every weight Keras counts, including batch norm's moving
mean and variance (4 per channel), and biases only where `use_bias` is on.
"""

import dataclasses

from labcore.spec.blocks import BLOCK_TYPES
from labcore.spec.model import group_strides, stem_use_bias

__all__ = ["LayerRow", "Walk", "walk_layers"]


@dataclasses.dataclass(frozen=True)
class LayerRow:
    """One layer of a built model, as the spec predicts it.

    Args:
        name: str, the Keras layer's name, e.g. "group2_block1_conv1".
        part: str, "input", "stem", "group 1", ..., or "task".
        output_shape: tuple of ints, without the batch axis.
        params: int, every weight, trainable or not.
    """

    name: str
    part: str
    output_shape: tuple
    params: int


def _length(size, kernel_size, strides, padding):
    """Keras's output length of a convolution or pooling along one axis."""
    if padding == "same":
        return -(-size // strides)
    return (size - kernel_size) // strides + 1


class Walk:
    """Follows a valid spec layer by layer, recording a LayerRow for each.

    The block types' walkers (`labcore.spec.blocks`) record their layers
    with `layer`, `conv` and `bn`, each returning the layer's output shape.
    """

    def __init__(self, spec):
        self.hyper = spec.hyper
        self.rows = []
        self.part = "input"

    def layer(self, name, shape, params=0):
        self.rows.append(LayerRow(name, self.part, shape, params))
        return shape

    def conv(self, name, shape, n_filters, kernel_size, strides, use_bias=None, padding="same"):
        height, width, channels = shape
        use_bias = self.hyper.use_bias if use_bias is None else use_bias
        output = (
            _length(height, kernel_size, strides, padding),
            _length(width, kernel_size, strides, padding),
            n_filters,
        )
        params = kernel_size * kernel_size * channels * n_filters + (n_filters if use_bias else 0)
        return self.layer(name, output, params)

    def conv_transpose(self, name, shape, n_filters, kernel_size=3):
        height, width, channels = shape
        params = kernel_size * kernel_size * channels * n_filters + (n_filters if self.hyper.use_bias else 0)
        return self.layer(name, (2 * height, 2 * width, n_filters), params)

    def upsample(self, stage, shape, n_filters, how):
        """One decoder stage's doubling: a transposed convolution, or a resize and a convolution."""
        if how != "resize":
            return self.conv_transpose(f"decoder_conv{stage}", shape, n_filters, 4 if how == "transpose_even" else 3)
        height, width, channels = shape
        shape = self.layer(f"decoder_upsample{stage}", (2 * height, 2 * width, channels))
        return self.conv(f"decoder_conv{stage}", shape, n_filters, 3, 1)

    def bn(self, name, shape):
        # gamma, beta, moving mean and moving variance per channel
        return self.layer(name, shape, 4 * shape[2])

    def pad(self, name, shape, padding):
        height, width, channels = shape
        return self.layer(name, (height + 2 * padding, width + 2 * padding, channels))


def _walk_stem(walk, spec, shape):
    stem = spec.stem
    if stem.kind == "none":
        return shape
    if stem.padding == "explicit":
        shape = walk.pad("stem_pad", shape, stem.kernel_size // 2)
    padding = "same" if stem.padding == "same" else "valid"
    shape = walk.conv(
        "stem_conv", shape, stem.n_filters, stem.kernel_size, stem.strides,
        stem_use_bias(spec), padding,
    )
    shape = walk.bn("stem_bn", shape)
    shape = walk.layer("stem_relu", shape)
    if stem.pool:
        height, width, channels = walk.pad("stem_pool_pad", shape, 1)
        shape = walk.layer(
            "stem_pool", (_length(height, 3, 2, "valid"), _length(width, 3, 2, "valid"), channels)
        )
    return shape


def _walk_task(walk, spec, shape):
    task = spec.task
    if task.kind == "autoencoder":
        stages = task.decoder_filters + (spec.input_shape[2],)
        for stage, n_filters in enumerate(stages, start=1):
            shape = walk.upsample(stage, shape, n_filters, task.decoder_upsampling)
            if stage < len(stages) or task.output_activation == "relu":
                shape = walk.bn(f"decoder_bn{stage}", shape)
                shape = walk.layer(f"decoder_relu{stage}", shape)
            elif task.output_activation == "sigmoid":
                shape = walk.layer("decoder_sigmoid", shape)
    elif task.kind == "classifier":
        shape = walk.layer("task_pool", (shape[2],))
        if task.dropout is not None:
            walk.layer("task_dropout", shape)
        if task.noise is not None:
            walk.layer("task_noise", shape)
            walk.layer("task_relu", shape)
        params = shape[0] * task.n_classes + task.n_classes
        shape = walk.layer("task_dense", (task.n_classes,), params)
        walk.layer("task_softmax", shape)


def walk_layers(spec):
    """The LayerRows of a spec whose fields and stem are valid."""
    walk = Walk(spec)
    shape = walk.layer("image", tuple(spec.input_shape))
    if spec.hyper.input_noise > 0:
        walk.layer("input_noise", shape)
    walk.part = "stem"
    shape = _walk_stem(walk, spec, shape)
    block = BLOCK_TYPES[spec.learner.block].walker
    for index, group in enumerate(spec.learner.groups, start=1):
        walk.part = f"group {index}"
        for number in range(1, group.n_blocks + 1):
            first = number == 1
            shape = block(
                walk, shape, f"group{index}_block{number}", group.n_filters,
                group_strides(group, index) if first else 1, first,
            )
    walk.layer("learner_output", shape)
    walk.part = "task"
    _walk_task(walk, spec, shape)
    return walk.rows

