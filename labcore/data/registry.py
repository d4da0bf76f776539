"""The dataset registry: what each dataset is, and the settings that say where.

`DATASETS` maps a key to its `DatasetInfo`: the built-in datasets, then the
ones people uploaded (`labcore.data.own`), found by their small manifests in
`own_dir()`. Two environment variables name the local data folder and
forbid downloads. Every other module of `labcore.data` asks this one, and
nothing here reads a dataset's images, so the app can list datasets at no
cost.
"""

import collections.abc
import dataclasses
import functools
import json
import os
from pathlib import Path

from labcore.errors import DataError, describe
from labcore.home import home

__all__ = [
    "DATASETS",
    "DATA_DIR_ENV",
    "DEFAULT_DATASET",
    "EMBEDDED_DIR",
    "OFFLINE_ENV",
    "OWN_MANIFEST",
    "OWN_PREFIX",
    "DatasetInfo",
    "data_dir",
    "dataset_info",
    "keras_datasets_dir",
    "offline",
    "own_dir",
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

_BUILT_IN = {
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


OWN_PREFIX = "own_"
OWN_MANIFEST = "manifest.json"


def own_dir():
    """The folder of uploaded datasets: `<LABCORE_HOME>/own/`, one `<key>/` folder each.

    In labcore's home rather than `$LABCORE_DATA_DIR`, which may be unset or
    a read-only shared copy of the original files.
    """
    return home() / "own"


@functools.lru_cache(maxsize=4)
def _read_manifests(folder, stamp):
    """The DatasetInfo of every uploaded dataset in `folder`; `stamp` is only the cache key."""
    del stamp
    found = {}
    for path in sorted(Path(folder).glob(f"{OWN_PREFIX}*/{OWN_MANIFEST}")):
        try:
            manifest = json.loads(path.read_text())
            info = DatasetInfo(**{field.name: manifest[field.name] for field in dataclasses.fields(DatasetInfo)})
            info = dataclasses.replace(info, class_names=tuple(info.class_names),
                                       image_shape=tuple(info.image_shape))
        except (OSError, ValueError, KeyError, TypeError):
            # A manifest edited by hand lists nothing rather than breaking every page.
            continue
        # The folder names the key, so a copied folder cannot pose as another dataset.
        if info.key == path.parent.name:
            found[info.key] = info
    return found


def _uploaded():
    """The uploaded datasets, read again only when `own_dir()` gains or loses a folder."""
    folder = own_dir()
    try:
        stat = folder.stat()
    except OSError:
        return {}
    return _read_manifests(str(folder), (stat.st_mtime_ns, stat.st_nlink))


class _Registry(collections.abc.Mapping):
    """The built-in datasets, then the uploaded ones as they are now (a read-only mapping)."""

    # One instance, hashed by identity, so a frozen `Range` may hold it as its choices.
    __hash__ = object.__hash__

    def __getitem__(self, key):
        if key in _BUILT_IN:
            return _BUILT_IN[key]
        return _uploaded()[key]

    def __iter__(self):
        return iter({**_BUILT_IN, **_uploaded()})

    def __len__(self):
        return len(_BUILT_IN) + len(_uploaded())


DATASETS = _Registry()


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
