"""The AutoEncoder lab's settings: one frozen `Config`, its ranges and presets.

One frozen dataclass, every field a plain value, so a run's config is JSON
and the CLI's `--set field=value` reaches any of them. Keras-free and
Altair-free: the page, the validator and the worker all read it.
"""

import dataclasses

from labcore import data, schedules
from labcore import spec as spec_lib
from labcore.records import Record
from labcore.spec import Range

__all__ = [
    "CLASSIFIERS",
    "Config",
    "INPUT_SIZE",
    "PRESETS",
    "PRESET_NOTES",
    "RANGES",
    "SERIES",
]

# Every image is zero-padded to CIFAR-10's 32x32, the original's input, so
# three stride-2 stages give its 4x4 code whatever the dataset.
INPUT_SIZE = 32

CLASSIFIERS = {
    "compact": "ours: no stem, plain groups 64 (stride 1) and 128 (stride 2): 4x4 -> 4x4 -> 2x2",
    "original": "the original's ResNet v2: 7x7/2 stem + 3x3/2 pool collapse 4x4 to 1x1",
}

# The stored per-epoch series, in the order the recipe trains them.
SERIES = {
    "autoencoder": "autoencoder",
    "raw": "on pixels",
    "encoded": "on codes",
    "fine_tune": "fine-tuned encoder",
}


@dataclasses.dataclass(frozen=True)
class Config(Record):
    """Settings of one run of the recipe; the defaults are the quick preset.

    Args:
        dataset: str, a key of `labcore.data.DATASETS`; images are padded
            to 32x32.
        seed: int in [0, 999999], for the data draw, weights and shuffling.
        subset: int or None, training images drawn (validation included,
            stratified); None = all.
        test_subset: int or None, held-out test images; None = all.
        val_fraction: float in (0, 0.5], share of the drawn images held out
            for validation (the curves need it).
        stages: int in [1, 5], stride-2 stages of the encoder: the code is
            32 / 2**stages pixels wide.
        latent_channels: int in [1, 256], channels of the code.
        decoder_upsampling: str, "transpose" (the original's 3x3/2
            transposed convolution, whose uneven overlap draws a
            checkerboard), "transpose_even" (4x4/2: no checkerboard) or
            "resize" (nearest x2 then a 3x3 conv: no checkerboard, 4x the
            decoder's compute); see `labcore.spec.TaskSpec`.
        learning_rate: float in (0, 1], Adam's rate after warm-up, for the
            classifiers.
        ae_learning_rate: float in (0, 1], Adam's rate after warm-up, for
            the autoencoder (the original used 1e-3 for every model).
        ae_bn_momentum: float in [0.5, 1), the moving-average momentum of
            the autoencoder's batch norms (and so of the encoder layers of
            the classifier on pixels). Keras's 0.99 needs hundreds of steps
            to forget the untrained statistics, and reconstructions are
            measured in inference mode.
        ae_warmup_epochs: int in [0, 50], autoencoder epochs of linear
            warm-up from 1e-6 (the original's s_lr).
        ae_epochs: int in [1, 500], autoencoder epochs after the warm-up.
        ae_batch_size: int in [1, 4096].
        classifier: str, "compact" or "original" (see `CLASSIFIERS`).
        classifier_epochs: int in [2, 500], epochs of each classifier; at
            least 2 because time per epoch is measured after the first,
            which also compiles.
        classifier_batch_size: int in [1, 4096].
        fine_tune: bool, also train the classifier on pixels starting from
            the trained encoder (step 4).
    """

    dataset: str = data.DEFAULT_DATASET
    seed: int = 0
    subset: int | None = 5000
    test_subset: int | None = 1000
    val_fraction: float = 0.1
    stages: int = 3
    latent_channels: int = 32
    decoder_upsampling: str = "resize"
    learning_rate: float = 1e-3
    ae_learning_rate: float = 3e-3
    ae_bn_momentum: float = 0.9
    ae_warmup_epochs: int = 0
    ae_epochs: int = 8
    ae_batch_size: int = 16
    classifier: str = "compact"
    classifier_epochs: int = 3
    classifier_batch_size: int = 32
    fine_tune: bool = False

    def ae_schedule(self):
        """The autoencoder's learning rate: linear warm-up, then constant."""
        return schedules.ScheduleSpec(kind="constant", warmup_epochs=self.ae_warmup_epochs,
                                      warmup_start=1e-6)


RANGES = {
    # The live registry, not a copy: datasets uploaded while the server runs are choices too.
    "dataset": Range("choice", choices=data.DATASETS),
    "seed": Range("int", 0, 999_999),
    "subset": Range("int", 10, 100_000, optional=True),
    "test_subset": Range("int", 10, 100_000, optional=True),
    "val_fraction": Range("float", 0.0, 0.5, lo_open=True),
    "stages": Range("int", 1, 5),
    "latent_channels": Range("int", 1, 256),
    "decoder_upsampling": spec_lib.RANGES["task.decoder_upsampling"],
    "learning_rate": Range("float", 0.0, 1.0, lo_open=True),
    "ae_learning_rate": Range("float", 0.0, 1.0, lo_open=True),
    "ae_bn_momentum": spec_lib.RANGES["hyper.bn_momentum"],
    "ae_warmup_epochs": Range("int", 0, 50),
    "ae_epochs": Range("int", 1, 500),
    "ae_batch_size": Range("int", 1, 4096),
    "classifier": Range("choice", choices=tuple(CLASSIFIERS)),
    "classifier_epochs": Range("int", 2, 500),
    "classifier_batch_size": Range("int", 1, 4096),
    "fine_tune": Range("bool"),
}

_QUICK = Config()
PRESETS = {
    # Batches of 8 give the autoencoder's batch norms enough steps to settle
    # their moving statistics: with fewer, its inference-mode MSE can end
    # worse than the untrained one's.
    "tiny": dataclasses.replace(
        _QUICK, subset=600, test_subset=100, ae_warmup_epochs=1, ae_epochs=2, ae_batch_size=8,
        classifier_epochs=2, fine_tune=True,
    ),
    # No warm-up at the quick preset: rates change once an epoch, so one
    # warm-up epoch is an epoch at 1e-6, which cost 1.8 dB of PSNR at 8
    # epochs (docs/VALIDITY.md).
    "quick": _QUICK,
    "full": dataclasses.replace(
        _QUICK, subset=None, test_subset=None, ae_learning_rate=1e-3, ae_bn_momentum=0.99,
        ae_warmup_epochs=5, ae_epochs=20, ae_batch_size=32, classifier_epochs=20, fine_tune=True,
    ),
}
PRESET_NOTES = {
    "tiny": "seconds, for tests: 600 images, 1 warm-up + 2 epochs, classifiers 2 epochs",
    "quick": "1-2 minutes on a 2-core CPU: 5,000 images, autoencoder 8 epochs at batch 16 and "
             "rate 3e-3 without warm-up, classifiers 3 epochs",
    "full": "the original's settings: all images, 5 warm-up + 20 epochs, batch 32, lr 1e-3; "
            "classifiers 20 epochs, fine-tune on (tens of minutes on a CPU)",
}
