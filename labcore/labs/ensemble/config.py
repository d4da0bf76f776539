"""The Ensemble lab's settings: one run's `Config`, its ranges and presets.

One declaration per field in `RANGES`: `recipe.problems` words its
messages from them and the page takes its sliders' bounds from them.
Keras-free and Altair-free: the Streamlit process, the worker and the CLI
all import it.
"""

import dataclasses

from labcore import data
from labcore.records import Record
from labcore.spec import Range

__all__ = ["FILTERS", "MODELS", "PRESETS", "PRESET_NOTES", "RANGES", "RULES", "Config", "member_weights"]


def member_weights(member):
    """The artifact member `member` (from 1) stores its trained weights under.

    The Knowledge distillation lab loads them to distil the ensemble.
    """
    return f"member_{member}.weights.h5"


MODELS = ("small", "ensemble_base")
RULES = {
    "soft": "soft vote (mean of the softmax outputs)",
    "hard": "hard vote (majority of the predicted classes)",
    "weighted": "soft vote weighted by validation accuracy",
}
FILTERS = {
    "all": "all test images",
    "disagree": "members disagree",
    "fixed": "ensemble fixed a member's mistake",
    "wrong": "ensemble got it wrong",
}

RANGES = {
    # The live registry, not a copy: datasets uploaded while the server runs are choices too.
    "dataset": Range("choice", choices=data.DATASETS),
    "seed": Range("int", 0, 999_999),
    "model": Range("choice", choices=MODELS),
    "width": Range("int", 4, 128),
    "n_members": Range("int", 2, 8),
    "bagging": Range("bool"),
    "epochs": Range("int", 1, 500),
    "batch_size": Range("int", 1, 4096),
    "learning_rate": Range("float", 0.0, 10.0, lo_open=True),
    "lr_drop_every": Range("int", 1, 500, optional=True),
    "subset": Range("int", 10, 100_000, optional=True),
    "val_fraction": Range("float", 0.0, 0.5, lo_open=True),
    "n_heads": Range("choice", choices=(0, 2, 3, 4, 5, 6, 7, 8)),
    "stacking": Range("bool"),
    "stacking_epochs": Range("int", 1, 500),
    "stacking_learning_rate": Range("float", 0.0, 10.0, lo_open=True),
}



@dataclasses.dataclass(frozen=True)
class Config(Record):
    """One run of the Ensemble lab; the defaults are the `quick` preset.

    Args:
        dataset: str, a key of `labcore.data.DATASETS`.
        seed: int in [0, 999999]; member i trains with seed + i - 1, and
            the data split and the bootstrap draws are seeded from it too.
        model: str, "small" (a plain ConvNet built from `width`, for this
            CPU) or "ensemble_base" (the original's ResNet v2, 1.8M
            parameters, 32x32x3: smaller images are zero-padded).
        width: int in [4, 128], the small model's stem filters; its groups
            have width, 2x and 4x as many (unused by "ensemble_base").
        n_members: int in [2, 8], the instances trained (N).
        bagging: bool, train each member on its own bootstrap resample of
            the training images (same size, drawn with replacement) instead
            of all of them.
        epochs: int in [1, 500], per member and for the K-head model.
        batch_size: int in [1, 4096].
        learning_rate: float in (0, 10], Adam's rate.
        lr_drop_every: int or None, multiply the rate by 0.1 every that
            many epochs (the original: 20, of 30 epochs); None = constant.
        subset: int or None, at most this many training images (validation
            included), stratified; a dataset with fewer uses all of its own.
        val_fraction: float in (0, 0.5], held out for validation (it weighs
            the members in the "weighted" rule).
        n_heads: int, 0 or 2 to 8, the heads K of the intra-model ensemble;
            0 leaves that variant (and stacking) out.
        stacking: bool, train a combiner on the K heads' outputs, with the
            trunk and heads frozen (needs n_heads >= 2).
        stacking_epochs: int in [1, 500].
        stacking_learning_rate: float in (0, 10].
    """

    dataset: str = data.DEFAULT_DATASET
    seed: int = 0
    model: str = "small"
    width: int = 16
    n_members: int = 3
    bagging: bool = False
    epochs: int = 5
    batch_size: int = 32
    learning_rate: float = 1e-3
    lr_drop_every: int | None = None
    subset: int | None = 20_000
    val_fraction: float = 0.1
    n_heads: int = 3
    stacking: bool = True
    stacking_epochs: int = 2
    stacking_learning_rate: float = 1e-3


PRESETS = {
    "tiny": dataclasses.replace(
        Config(), width=8, n_members=2, epochs=1, subset=600, n_heads=2, stacking_epochs=1
    ),
    "quick": Config(),
    "full": dataclasses.replace(
        Config(),
        dataset="cifar10",
        model="ensemble_base",
        epochs=30,
        lr_drop_every=20,
        subset=None,
        stacking_epochs=10,
        stacking_learning_rate=1e-4,
    ),
}
PRESET_NOTES = {
    "tiny": "seconds: 2 narrow members, 1 epoch on 600 images (a smoke test)",
    "quick": "a few minutes: 3 small members, 5 epochs on up to 20,000 images",
    "full": "the original: its 1.8M-parameter ResNet, 30 epochs, rate /10 after 20, all images (hours)",
}
