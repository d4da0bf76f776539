"""The original labs' models, as specs.

Owns `REFERENCES`: each model of the three community labs (Encoders for
CNN, Regularization, Ensemble; GoogleCloudPlatform/keras-idiomatic-programmer
@ 760e4a86) written as a `ModelSpec` that reproduces the notebook's layers,
layer for layer, for 32x32x3 CIFAR-10 images and 10 classes, with notes on
how the notebook's conventions map to ours and where the two differ.
Pure Python: it must not import Keras (the Streamlit process lists these).

The one convention to keep in mind: the notebooks' `n_blocks` counts the
identity blocks after a group's projection block; ours counts every block.
So their `{"n_filters": 16, "n_blocks": 4}` is our `GroupSpec(16, 5)`.
"""

import dataclasses

from labcore.errors import SpecError, describe
from labcore.spec import (
    GroupSpec,
    HyperSpec,
    LearnerSpec,
    ModelSpec,
    StemSpec,
    TaskSpec,
    format_summary,
)

__all__ = ["REFERENCES", "Reference", "describe_reference"]


@dataclasses.dataclass(frozen=True)
class Reference:
    """One model of the original labs.

    Args:
        key: str, its key in `REFERENCES`.
        title: str, a one-line title for pages and the CLI.
        lab: str, "autoencoder", "regularization" or "ensemble".
        spec: ModelSpec reproducing the notebook's layers.
        notes: str, where it reproduces or departs from the notebook, and
            how the notebook's conventions map to the spec's.
    """

    key: str
    title: str
    lab: str
    spec: ModelSpec
    notes: str


# The ResNet stem of Labs 1 and 2: ZeroPad(3) -> Conv 7x7/2 'valid' -> BN
# -> ReLU -> ZeroPad(1) -> MaxPool 3x3/2.
_RESNET_STEM = StemSpec(n_filters=64, kernel_size=7, strides=2, padding="explicit", pool=True)

_AUTOENCODER = Reference(
    key="autoencoder_original",
    title="Lab 1 autoencoder: encoder 64/32/32, decoder 32/32/3",
    lab="autoencoder",
    spec=ModelSpec(
        input_shape=(32, 32, 3),
        stem=StemSpec(kind="none"),
        learner=LearnerSpec(
            block="plain",
            groups=(GroupSpec(64, 1, strides=2), GroupSpec(32, 1, strides=2), GroupSpec(32, 1, strides=2)),
        ),
        task=TaskSpec(kind="autoencoder", decoder_filters=(32, 32), output_activation="relu"),
        hyper=HyperSpec(initializer="he_normal", l2=0.0, use_bias=True),
        name="autoencoder_original",
    ),
    notes=(
        "Reproduces AutoEncoder(input_shape=(32, 32, 3), layers=[{64}, {32}, {32}]). "
        "Each encoder layer, Conv2D 3x3 stride 2 'same' with bias -> BN -> ReLU, is here a "
        "group of one plain block with strides=2 (no stem), so the encoder's output is the "
        "'learner_output' layer: the 4x4x32 latent code (512 values). The decoder is the "
        "notebook's: ConvT 3x3/2 32 -> BN -> ReLU twice, then ConvT 3 -> BN -> ReLU "
        "(output_activation='relu'; the notebook has no sigmoid). As in the notebook it is "
        "not a true mirror: it skips the encoder's 64. he_normal, no L2, bias on, BN epsilon "
        "1.001e-5."
    ),
)

_ENCODED_CLASSIFIER = Reference(
    key="encoded_classifier_original",
    title="Lab 1 classifier on the 4x4x32 codes (ResNet v2, groups 64/128/256)",
    lab="autoencoder",
    spec=ModelSpec(
        input_shape=(4, 4, 32),
        stem=_RESNET_STEM,
        learner=LearnerSpec(
            block="resnet_v2_bottleneck",
            groups=(GroupSpec(64, 2), GroupSpec(128, 3), GroupSpec(256, 3)),
        ),
        task=TaskSpec(kind="classifier", n_classes=10, dropout=0.0),
        hyper=HyperSpec(initializer="he_normal", l2=0.001, use_bias=False),
        name="encoded_classifier_original",
    ),
    notes=(
        "Reproduces e_resnet = ResNetV2(groups=[{64, 1}, {128, 2}, {256, 2}], "
        "input_shape=(4, 4, 32)): the notebook's n_blocks counts identity blocks after the "
        "projection block, so its groups are {64, 2}, {128, 3}, {256, 3} blocks here. "
        "The stem is built although the notebook's text says 'no stem': its 7x7/2 conv and "
        "3x3/2 pool reduce the 4x4 code to 1x1x64, so every later 3x3 conv sees one pixel "
        "(reproduced on purpose; this is the lab's bug to show). Pre-activation bottleneck "
        "blocks with a BN -> Conv1x1 projection shortcut, no final BN-ReLU. L2 0.001 on "
        "every conv kernel and the dense kernel, no conv bias, he_normal, BN epsilon "
        "1.001e-5. Head GAP -> Dropout(0.0) -> Dense(10) -> softmax."
    ),
)


def _regularization(n_blocks):
    """Lab 2's makeModel(n_blocks=n_blocks): the notebook's n_blocks + 1 here."""
    suffix = "" if n_blocks is None else f"_blocks{n_blocks}"
    blocks = 4 if n_blocks is None else n_blocks
    return Reference(
        key=f"regularization_resnet_v2{suffix}",
        title=f"Lab 2 compact ResNet v2, groups 16/64/128 x {blocks + 1} blocks",
        lab="regularization",
        spec=ModelSpec(
            input_shape=(32, 32, 3),
            stem=_RESNET_STEM,
            learner=LearnerSpec(
                block="resnet_v2_bottleneck",
                groups=tuple(GroupSpec(n_filters, blocks + 1) for n_filters in (16, 64, 128)),
            ),
            task=TaskSpec(kind="classifier", n_classes=10, dense_initializer="glorot_uniform", dense_l2=0.0),
            hyper=HyperSpec(initializer="he_normal", l2=0.0, use_bias=False),
            name=f"regularization_resnet_v2{suffix}",
        ),
        notes=(
            f"Reproduces makeModel(n_blocks={blocks}) (the baseline, cells 13 and 15 without "
            "noise): groups [{16, n}, {64, n}, {128, n}] with one projection block plus "
            f"n={blocks} identity blocks each, so {blocks + 1} blocks here; strides 1, 2, 2. "
            "ResNet stem 7x7/2 + 3x3/2 pool (32x32 -> 8x8x64). No L2 by default (set hyper.l2 "
            "to 0.1 or 0.001 for cells 17-21: it reaches every conv kernel, shortcuts "
            "included). The head is the notebook's plain Keras Dense: glorot_uniform, no L2 "
            "even when the convs have it (dense_l2=0.0), with a bias; set task.noise=0.1 for "
            "its GaussianNoise -> ReLU. No conv bias, he_normal, BN epsilon 1.001e-5."
        ),
    )


_ENSEMBLE = Reference(
    key="ensemble_base",
    title="Lab 3 base model: 3x3 stem, ResNet v2 groups 16/64/128, all strided",
    lab="ensemble",
    spec=ModelSpec(
        input_shape=(32, 32, 3),
        stem=StemSpec(n_filters=32, kernel_size=3, strides=1, padding="same", use_bias=True),
        learner=LearnerSpec(
            block="resnet_v2_bottleneck",
            groups=tuple(GroupSpec(n_filters, 5, strides=2) for n_filters in (16, 64, 128)),
        ),
        task=TaskSpec(kind="classifier", n_classes=10),
        hyper=HyperSpec(initializer="he_normal", l2=0.0, bn_epsilon=1e-3, use_bias=False),
        name="ensemble_base",
    ),
    notes=(
        "Reproduces makeBaseModel() (resnet2 and resnet3; the notebook's 'just over 1.8 "
        "million parameters'). Stem Conv2D 32 3x3/1 'same' WITH bias (use_bias=True on the "
        "stem only) -> BN -> ReLU, no pooling. ResNetV2.group is called with its default "
        "strides for all three groups, the first included (strides=2 each: 32x32 -> "
        "16x16x64 -> 8x8x256 -> 4x4x512), and n_blocks=4 identity blocks after the "
        "projection, so 5 blocks here. Plain BatchNormalization(): epsilon 1e-3, not the "
        "1.001e-5 of Labs 1-2. Head GAP -> Dense(10, he_normal, L2=reg) -> softmax; reg "
        "is None here. resnet1 adds reg=l2(0.001) on every kernel and noise=0.1: set "
        "hyper.l2=0.001 and task.noise=0.1."
    ),
)

REFERENCES = {
    reference.key: reference
    for reference in (
        _AUTOENCODER,
        _ENCODED_CLASSIFIER,
        _regularization(None),
        *(_regularization(n_blocks) for n_blocks in (1, 2, 3, 4)),
        _ENSEMBLE,
    )
}


def describe_reference(key):
    """A text summary of one reference model, for the CLI.

    Args:
        key: str, a key of `REFERENCES`.

    Returns:
        str: the title, a table of output shape, blocks and parameters per
        part with the total, then the notes.

    Raises:
        SpecError: `key` is not a key of `REFERENCES`.
    """
    if key not in REFERENCES:
        raise SpecError(describe("reference", "one of " + ", ".join(map(repr, REFERENCES)), key))
    reference = REFERENCES[key]
    heading = f"{reference.title} ({reference.lab} lab, {reference.key})"
    return "\n\n".join([heading, format_summary(reference.spec), reference.notes])
