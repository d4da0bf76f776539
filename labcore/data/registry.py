"""The dataset registry: what each dataset is, and the settings that say where.

`DATASETS` maps a key to its `DatasetInfo`; two environment variables name
the local data folder and forbid downloads. Every other module of
`labcore.data` asks this one, and nothing here reads a dataset's files, so
the app can list datasets at no cost.
"""

import dataclasses
import os
from pathlib import Path

from labcore.errors import DataError, describe

__all__ = [
    "DATASETS",
    "DATA_DIR_ENV",
    "DEFAULT_DATASET",
    "EMBEDDED_DIR",
    "OFFLINE_ENV",
    "DatasetInfo",
    "data_dir",
    "dataset_info",
    "keras_datasets_dir",
    "offline",
]

DATA_DIR_ENV = "LABCORE_DATA_DIR"
OFFLINE_ENV = "LABCORE_OFFLINE"
DEFAULT_DATASET = "fashion_mnist_small"

# Resolved from this file, not the working directory, so the app finds its
# embedded data whatever folder Streamlit or a worker was started from.
EMBEDDED_DIR = Path(__file__).resolve().parents[2] / "assets" / "data" / "fashion-mnist-small"


@dataclasses.dataclass(frozen=True)
class DatasetInfo:
    """What a dataset is: its classes, image shape and origin.

    Args:
        key: str, the registry key, e.g. "fashion_mnist".
        title: str, the name shown in the app.
        class_names: tuple of str, one per label, in label order.
        image_shape: (height, width, channels) of one image.
        n_train: int, training images in the canonical dataset.
        n_test: int, test images in the canonical dataset.
        source_note: str, origin, licence and where the files are looked for.
    """

    key: str
    title: str
    class_names: tuple
    image_shape: tuple
    n_train: int
    n_test: int
    source_note: str

    @property
    def n_classes(self):
        """int, the number of classes (labels are in [0, n_classes))."""
        return len(self.class_names)


_FASHION_CLASSES = (
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
)
_CIFAR10_CLASSES = (
    "airplane",
    "automobile",
    "bird",
    "cat",
    "deer",
    "dog",
    "frog",
    "horse",
    "ship",
    "truck",
)

DATASETS = {
    "fashion_mnist_small": DatasetInfo(
        key="fashion_mnist_small",
        title="Fashion-MNIST (small, built in)",
        class_names=_FASHION_CLASSES,
        image_shape=(28, 28, 1),
        n_train=6000,
        n_test=1000,
        source_note=(
            "A stratified subset of Fashion-MNIST (600 training and 100 test "
            "images per class), shipped in assets/data/fashion-mnist-small/ so "
            "it works offline. Fashion-MNIST: Xiao, Rasul and Vollgraf (2017), "
            "Copyright (c) 2017 Zalando SE, MIT licence; see PROVENANCE.md there."
        ),
    ),
    "fashion_mnist": DatasetInfo(
        key="fashion_mnist",
        title="Fashion-MNIST",
        class_names=_FASHION_CLASSES,
        image_shape=(28, 28, 1),
        n_train=60000,
        n_test=10000,
        source_note=(
            "Fashion-MNIST: Xiao, Rasul and Vollgraf (2017), Copyright (c) 2017 "
            "Zalando SE, MIT licence. The four IDX .gz files from "
            "$LABCORE_DATA_DIR/fashion-mnist/, else the Keras cache, else "
            "downloaded by keras.datasets (about 30 MB)."
        ),
    ),
    "mnist": DatasetInfo(
        key="mnist",
        title="MNIST",
        class_names=tuple(str(digit) for digit in range(10)),
        image_shape=(28, 28, 1),
        n_train=60000,
        n_test=10000,
        source_note=(
            "MNIST: LeCun, Cortes and Burges, CC BY-SA 3.0. The four IDX .gz "
            "files from $LABCORE_DATA_DIR/mnist/, else the Keras cache, else "
            "downloaded by keras.datasets (about 11 MB)."
        ),
    ),
    "cifar10": DatasetInfo(
        key="cifar10",
        title="CIFAR-10",
        class_names=_CIFAR10_CLASSES,
        image_shape=(32, 32, 3),
        n_train=50000,
        n_test=10000,
        source_note=(
            "CIFAR-10: Krizhevsky (2009), the dataset of the original labs. "
            "cifar-10-python.tar.gz from $LABCORE_DATA_DIR, else the Keras "
            "cache, else downloaded by keras.datasets (about 170 MB)."
        ),
    ),
}


def dataset_info(key):
    """The registry entry of one dataset.

    Args:
        key: str, a key of `DATASETS`.

    Returns:
        DatasetInfo.

    Raises:
        DataError: `key` is not registered; the message lists the known keys.
    """
    if not isinstance(key, str) or key not in DATASETS:
        known = ", ".join(repr(name) for name in DATASETS)
        raise DataError(describe("dataset", f"one of {known}", key))
    return DATASETS[key]


def data_dir():
    """The local data folder named by `$LABCORE_DATA_DIR`, if set.

    Returns:
        Path (absolute; relative values are taken from the working directory),
        or None when the variable is unset or empty.
    """
    value = os.environ.get(DATA_DIR_ENV, "").strip()
    return Path(value).expanduser().absolute() if value else None


def offline():
    """Whether `$LABCORE_OFFLINE` forbids downloads ("0"/"false"/"no" do not)."""
    value = os.environ.get(OFFLINE_ENV, "").strip().lower()
    return value not in ("", "0", "false", "no")


def keras_datasets_dir():
    """Where keras.datasets caches its downloads (`$KERAS_HOME` or ~/.keras)."""
    home = os.environ.get("KERAS_HOME") or os.path.join(os.path.expanduser("~"), ".keras")
    return Path(home) / "datasets"
