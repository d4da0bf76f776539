"""The spec: a composable model (stem -> learner -> task) as frozen dataclasses.

Plain values only, so a spec is hashable, compares by value and goes to
and from JSON through `labcore.records.Record`. Construction never
validates: the builder page holds half-edited specs, and `problems` names
every fault. Also here: what a field left at None inherits, shared with
`labcore.composable` so the count and the build can never resolve a
default differently.
"""

import dataclasses

from labcore.errors import SpecError
from labcore.records import Record

__all__ = [
    "GroupSpec",
    "HyperSpec",
    "LearnerSpec",
    "ModelSpec",
    "StemSpec",
    "TaskSpec",
    "default_spec",
    "dense_initializer",
    "dense_l2",
    "group_strides",
    "stem_use_bias",
]


class _SpecRecord(Record):
    """A part of a model spec: structural faults are SpecErrors."""

    record_error = SpecError


@dataclasses.dataclass(frozen=True)
class StemSpec(_SpecRecord):
    """How the image is first reduced: one convolution, optionally pooled.

    A "conv" stem is `[ZeroPadding2D(k // 2)] -> Conv2D -> BN -> ReLU ->
    [ZeroPadding2D(1) -> MaxPool 3x3/2]`; "none" feeds the image straight to
    the first group.

    Args:
        kind: str, "conv" or "none".
        n_filters: int in [1, 1024], the convolution's filters.
        kernel_size: int, one of 1, 3, 5, 7, 9, 11.
        strides: int, 1 or 2.
        padding: str, "same"; "explicit" (zero-pad k // 2, then a 'valid'
            convolution: the original ResNet stem); or "valid" (no padding,
            so a kernel larger than the input is refused).
        use_bias: bool or None, None inherits `HyperSpec.use_bias`.
        pool: bool, True adds the original ResNet's ZeroPadding2D(1) and
            3x3 max-pool with stride 2.
    """

    kind: str = "conv"
    n_filters: int = 32
    kernel_size: int = 3
    strides: int = 1
    padding: str = "same"
    use_bias: bool | None = None
    pool: bool = False


@dataclasses.dataclass(frozen=True)
class GroupSpec(_SpecRecord):
    """A group of blocks of one type, the learner's unit.

    The first block carries the group's stride and, for ResNet blocks, is a
    projection block (a 1x1 convolution on the shortcut); the others are
    identity blocks. `n_blocks` counts all of them, so the original labs'
    "n_blocks=4" (1 projection + 4 identity) is `n_blocks=5` here.

    Args:
        n_filters: int in [1, 1024]; bottleneck blocks output 4x as many
            channels.
        n_blocks: int in [1, 16].
        strides: 1, 2 or None; None is 1 for the first group, 2 for the
            others.
    """

    n_filters: int
    n_blocks: int
    strides: int | None = None


def _default_groups():
    return (GroupSpec(16, 1), GroupSpec(32, 1), GroupSpec(64, 1))


@dataclasses.dataclass(frozen=True)
class LearnerSpec(_SpecRecord):
    """The learner: groups of blocks, all of one block type.

    `labcore.spec.blocks` says how each block type is wired.

    Args:
        block: str, one of `BLOCKS`.
        groups: tuple of 1 to 8 GroupSpec.
    """

    block: str = "plain"
    groups: tuple = dataclasses.field(default_factory=_default_groups)


@dataclasses.dataclass(frozen=True)
class TaskSpec(_SpecRecord):
    """What the model does with the learner's output.

    "classifier": GlobalAverage/MaxPooling -> [Dropout] -> [GaussianNoise ->
    ReLU] -> Dense(n_classes) -> softmax. "encoder": no head; the output is
    the learner's (the latent code). "autoencoder": a decoder of stages
    that each double the feature map, `decoder_filters` then one that
    restores the input's channels, so the output has the input's shape.

    Args:
        kind: str, "classifier", "encoder" or "autoencoder".
        n_classes: int in [2, 1000], classifier only.
        pooling: str, "avg" or "max", classifier only.
        dropout: float in [0, 1) or None (no Dropout layer). 0.0 keeps a
            Dropout(0.0) layer, as the original Lab 1 classifier had.
        noise: float in [0, 1] or None (none): GaussianNoise then ReLU after
            pooling, the Labs 2/3 head.
        dense_initializer: str or None, None inherits `HyperSpec.initializer`.
        dense_l2: float in [0, 1] or None, None inherits `HyperSpec.l2`.
        decoder_filters: tuple of ints in [1, 1024], autoencoder only: one
            ConvT 3x3/2 -> BN -> ReLU stage each; with the last stage there
            must be one stage per stride-2 stage of the encoder.
        output_activation: str, the autoencoder's last stage: "sigmoid"
            (ours: images are in [0, 1]), "relu" (BN -> ReLU, the original)
            or "linear".
        decoder_upsampling: str, how each decoder stage doubles the map:
            "transpose" (Conv2DTranspose 3x3/2, the original's: a 3x3
            kernel at stride 2 covers even and odd output pixels unevenly,
            which draws a checkerboard), "transpose_even" (Conv2DTranspose
            4x4/2: a kernel the stride divides covers every pixel alike) or
            "resize" (nearest-neighbour UpSampling2D x2, then Conv2D 3x3;
            the same parameters as "transpose", 4x its multiply-adds).
            Odena et al. 2016, "Deconvolution and checkerboard artifacts".
    """

    kind: str = "classifier"
    n_classes: int = 10
    pooling: str = "avg"
    dropout: float | None = None
    noise: float | None = None
    dense_initializer: str | None = None
    dense_l2: float | None = None
    decoder_filters: tuple = ()
    output_activation: str = "sigmoid"
    decoder_upsampling: str = "transpose"


@dataclasses.dataclass(frozen=True)
class HyperSpec(_SpecRecord):
    """Hyperparameters of every layer, as in the labs' `Composable` base.

    Args:
        initializer: str, one of `INITIALIZERS`, for every kernel.
        l2: float in [0, 1], the L2 factor on every convolution kernel
            (shortcuts and decoder included) and, unless
            `TaskSpec.dense_l2` says otherwise, the dense kernel; 0 = none.
        input_noise: float in [0, 1], stddev of a GaussianNoise layer on the
            input; 0 = no layer.
        bn_epsilon: float in (0, 0.1], of every BatchNormalization.
        bn_momentum: float in [0.5, 1), of every BatchNormalization's moving
            mean and variance. Keras's and the original's 0.99 forgets its
            starting statistics only after hundreds of steps: on a run of a
            few hundred, validation (inference mode) lags far behind training.
        use_bias: bool, for every convolution (the stem may override).
        relu_clip: float in (0, 1000] or None: every ReLU's max_value.
    """

    initializer: str = "he_normal"
    l2: float = 0.0
    input_noise: float = 0.0
    bn_epsilon: float = 1.001e-5
    bn_momentum: float = 0.99
    use_bias: bool = False
    relu_clip: float | None = None


@dataclasses.dataclass(frozen=True)
class ModelSpec(_SpecRecord):
    """A whole model: input -> stem -> learner -> task, with hyperparameters.

    What the builder page edits, what a run stores and what is exported:
    `to_dict` gives plain JSON-ready values and `from_dict` reads them back.

    Args:
        input_shape: tuple of 3 ints in [1, 512], (height, width, channels).
        stem: StemSpec.
        learner: LearnerSpec.
        task: TaskSpec.
        hyper: HyperSpec.
        name: str, 1 to 64 letters, digits, '_', '-' or '.'; the Keras
            model's name.
    """

    input_shape: tuple = (28, 28, 1)
    stem: StemSpec = StemSpec()
    learner: LearnerSpec = LearnerSpec()
    task: TaskSpec = TaskSpec()
    hyper: HyperSpec = HyperSpec()
    name: str = "model"

    record_path = "spec"

    @classmethod
    def _child_path(cls, path, key):
        # Spec fields are addressed from the root ("learner.groups[1]"),
        # as in RANGES and in every problem message.
        return key


def default_spec():
    """A small first-click model for 28x28x1 Fashion-MNIST.

    A 3x3 stem of 16 filters and three plain groups of 16, 32 and 64
    filters (28x28 -> 28x28 -> 14x14 -> 7x7), about 27 thousand parameters:
    it trains an epoch on 6,000 images in seconds on a 2-core CPU. Its
    batch norms use momentum 0.9: at Keras's 0.99 the first run's few
    hundred steps leave validation accuracy far below training.

    Returns:
        ModelSpec.
    """
    return ModelSpec(stem=StemSpec(n_filters=16), hyper=HyperSpec(bn_momentum=0.9), name="first_model")


# ## What `None` inherits
#
# Shared with `labcore.composable`, so the count and the build can never
# resolve a default differently.


def group_strides(group, index):
    """The stride of a group's first block.

    Args:
        group: GroupSpec.
        index: int, the group's position, 1 for the first.

    Returns:
        int: `group.strides`, else 1 for the first group and 2 after it.
    """
    if group.strides is not None:
        return group.strides
    return 1 if index == 1 else 2


def stem_use_bias(spec):
    """bool, whether the stem convolution has a bias (its own, else hyper's)."""
    return spec.hyper.use_bias if spec.stem.use_bias is None else spec.stem.use_bias


def dense_initializer(spec):
    """str, the classifier's kernel initializer (its own, else hyper's)."""
    if spec.task.dense_initializer is None:
        return spec.hyper.initializer
    return spec.task.dense_initializer


def dense_l2(spec):
    """float, the classifier's L2 factor (its own, else hyper's)."""
    return spec.hyper.l2 if spec.task.dense_l2 is None else spec.task.dense_l2
