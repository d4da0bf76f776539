"""The Guided search lab's space: the composable spec's choices, each fixed, ranged or listed.

A search space is the learner's own architecture with some decisions left
open. The macro architecture is how many groups, how wide the first one and
how fast the width grows, how many blocks each group holds and how wide the
stem is; the micro architecture is the block inside a group; training adds
the learning rate, L2, noise and batch size. Each dimension is "fixed" (the
learner brings that decision), a "range" (any value between two bounds;
optionally on a log scale) or a "list" (exactly these values). Keras-free
and Altair-free: the page edits it, the validator checks it, a worker
samples it.
"""

import dataclasses

from labcore import data
from labcore import spec as spec_lib
from labcore import trainconfig
from labcore.records import Record
from labcore.spec import Range

__all__ = ["DIMENSIONS", "MODES", "PRESETS", "PRESET_NOTES", "PROMOTION_FACTOR", "WEIGHTS_ARTIFACT", "Config",
           "DimensionInfo", "Dimension", "Member", "Space"]

MODES = ("fixed", "range", "list")


@dataclasses.dataclass(frozen=True)
class DimensionInfo:
    """What one dimension is and which values it accepts.

    Args:
        title: str, its name on the page.
        part: str, "macro", "micro" or "training".
        value: Range, the range of one value (a "choice" for categorical ones).
        help: str, one sentence for the widget.
    """

    title: str
    part: str
    value: Range
    help: str

    @property
    def ordered(self):
        """Whether values have an order, so that a "range" means something."""
        return self.value.kind in ("int", "float")


DIMENSIONS = {
    "n_groups": DimensionInfo("groups", "macro", Range("int", 1, 6),
                              "How many groups of blocks; each after the first halves the feature map."),
    "n_filters": DimensionInfo("filters of the first group", "macro", spec_lib.RANGES["learner.groups.n_filters"],
                               "The first group's width; later groups multiply it by the growth."),
    "growth": DimensionInfo("filter growth per group", "macro", Range("float", 1.0, 4.0),
                            "Each group's filters are the previous group's times this (2 doubles them)."),
    "n_blocks": DimensionInfo("blocks per group", "macro", Range("int", 1, 8),
                              "Blocks in every group, the first one carrying the group's stride."),
    "stem_filters": DimensionInfo("stem filters", "macro", spec_lib.RANGES["stem.n_filters"],
                                  "The 3x3 stem convolution's filters."),
    "block": DimensionInfo("block type", "micro", spec_lib.RANGES["learner.block"],
                           "What each block is: a plain convolution or a ResNet v1/v2 block."),
    "learning_rate": DimensionInfo("learning rate", "training", trainconfig.RANGES["learning_rate"],
                                   "Adam's rate; search it on a log scale."),
    "l2": DimensionInfo("L2", "training", spec_lib.RANGES["hyper.l2"],
                        "The L2 penalty on every kernel; 0 = none."),
    "noise": DimensionInfo("noise before the classifier", "training", Range("float", 0.0, 1.0),
                           "The stddev of Gaussian noise on the pooled features; 0 = none."),
    "batch_size": DimensionInfo("batch size", "training", trainconfig.RANGES["batch_size"],
                                "Images per step."),
}


@dataclasses.dataclass(frozen=True)
class Dimension(Record):
    """How the search treats one dimension.

    Args:
        mode: str, "fixed" (values holds the one value), "range" (values
            holds the low and high bound, both included) or "list" (values
            holds every value to try).
        values: tuple, see `mode`.
        log: bool, a "range" of positive numbers sampled on a log scale.
    """

    mode: str = "fixed"
    values: tuple = ()
    log: bool = False


def _fixed(value):
    return Dimension("fixed", (value,))


@dataclasses.dataclass(frozen=True)
class Space(Record):
    """A search space: one `Dimension` per entry of `DIMENSIONS`.

    The defaults are a small space a 2-core CPU explores in minutes: 2 or 3
    groups of plain or ResNet v2 blocks, 8 to 32 filters, the learning rate
    on a log scale; the rest fixed.
    """

    n_groups: Dimension = Dimension("range", (2, 3))
    n_filters: Dimension = Dimension("list", (8, 16, 32))
    growth: Dimension = _fixed(2.0)
    n_blocks: Dimension = Dimension("range", (1, 2))
    stem_filters: Dimension = _fixed(16)
    block: Dimension = Dimension("list", ("plain", "resnet_v2_basic"))
    learning_rate: Dimension = Dimension("range", (1e-4, 1e-2), log=True)
    l2: Dimension = _fixed(0.0)
    noise: Dimension = _fixed(0.0)
    batch_size: Dimension = _fixed(64)

    record_path = "space"


@dataclasses.dataclass(frozen=True)
class Member(Record):
    """One point of a space: a value for every dimension (see `DIMENSIONS`)."""

    n_groups: int = 2
    n_filters: int = 16
    growth: float = 2.0
    n_blocks: int = 1
    stem_filters: int = 16
    block: str = "plain"
    learning_rate: float = 1e-3
    l2: float = 0.0
    noise: float = 0.0
    batch_size: int = 64


@dataclasses.dataclass(frozen=True)
class Config(Record):
    """One trial of a search: a member, trained at the study's fidelity. An ordinary run.

    Args:
        member: Member.
        dataset: str, a key of `labcore.data.DATASETS`.
        seed: int, for the data draw, the weights and shuffling.
        subset: int or None, training images drawn (validation included).
        val_fraction: float, the share held out for validation: the search's objective.
        test_subset: int or None, test images evaluated.
        epochs: int, the trial's fidelity: its epochs in all.
        study: str, the study the trial belongs to ("" outside a study).
        trial: int, its trial number in that study (-1 outside a study).
        rung: int, 0 for a trial at the study's fidelity, 1 for one promoted
            to a higher fidelity (successive halving's next rung).
        parent_run: int or None, the rung-0 run a promoted or mutated trial
            comes from.
        inherit: bool, a promoted trial starts from its parent's trained
            weights (weight inheritance) and trains only the epochs the
            parent did not; a mutated trial starts from them in every layer
            that still matches by name and shape.
        inherited_epochs: int, the parent's epochs, when a promoted trial inherits.
        mutation: str, for a mutated trial (rung 0 with a parent_run) the
            dimension that moved; "" otherwise.
    """

    member: Member = Member()
    dataset: str = data.DEFAULT_DATASET
    seed: int = 0
    subset: int | None = 1500
    val_fraction: float = 0.2
    test_subset: int | None = 500
    epochs: int = 4
    study: str = ""
    trial: int = -1
    rung: int = 0
    parent_run: int | None = None
    inherit: bool = False
    inherited_epochs: int = 0
    mutation: str = ""


# A promoted trial trains this many times the study's epochs.
PROMOTION_FACTOR = 3
# Rung 0 trials store their weights under this name, for promoted trials to inherit.
WEIGHTS_ARTIFACT = "trial.weights.h5"

# The fidelity every trial of a study trains at. quick keeps a round of four
# trials to a few minutes on a 2-core CPU; full is for a GPU.
PRESETS = {
    "tiny": Config(subset=300, test_subset=100, epochs=1),
    "quick": Config(),
    "full": Config(dataset="fashion_mnist", subset=None, val_fraction=0.1, test_subset=None, epochs=10),
}
PRESET_NOTES = {
    "tiny": "Seconds a trial: 300 images, 1 epoch. For tests; the ranking is noise.",
    "quick": "1,500 images, 4 epochs a trial: about 20 s each on a 2-core CPU.",
    "full": "All of Fashion-MNIST, 10 epochs a trial: for a GPU.",
}
