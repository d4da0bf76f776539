"""Datasets: the registry, validating readers, and the train/val/test splits.

Owns `DATASETS` (what each dataset is), where its files are looked for, the
readers of the original file formats (IDX for MNIST and Fashion-MNIST, the
pickled batches of CIFAR-10), and `load`, which turns raw uint8 arrays into
seeded, stratified float32 splits. Every reader checks what it reads and
names the file it refuses.

NumPy and the standard library only: the Streamlit process imports this
module for metadata and `availability`, so it must never import Keras or
TensorFlow at import time. Keras is imported lazily, and only by `load`, in
the last-resort download fallback (never when `LABCORE_OFFLINE` is set).

Where files are looked for, in order:

- `fashion_mnist_small`: `assets/data/fashion-mnist-small/` in this
  repository (shipped; works offline).
- `fashion_mnist`, `mnist`: `$LABCORE_DATA_DIR/<fashion-mnist|mnist>/` (the
  four original IDX `.gz` files), then the Keras cache
  (`~/.keras/datasets/<fashion-mnist|mnist>/`, and `mnist.npz` for MNIST),
  then a `keras.datasets` download.
- `cifar10`: `$LABCORE_DATA_DIR/cifar-10-python.tar.gz` (or its extracted
  `cifar-10-batches-py/`), then the Keras cache, then a download.
"""

import dataclasses
import functools
import gzip
import io
import math
import numbers
import os
import pickle
import socket
import struct
import tarfile
import zipfile
import zlib
from pathlib import Path

import numpy as np

from labcore.errors import DataError, describe

__all__ = [
    "DATASETS",
    "DATA_DIR_ENV",
    "DEFAULT_DATASET",
    "EMBEDDED_DIR",
    "OFFLINE_ENV",
    "DatasetInfo",
    "Splits",
    "availability",
    "clear_cache",
    "data_dir",
    "dataset_info",
    "load",
    "load_arrays",
    "load_idx_folder",
    "read_idx",
    "read_idx_pair",
    "split_indices",
]

DATA_DIR_ENV = "LABCORE_DATA_DIR"
OFFLINE_ENV = "LABCORE_OFFLINE"
DEFAULT_DATASET = "fashion_mnist_small"

# Resolved from this file, not the working directory, so the app finds its
# embedded data whatever folder Streamlit or a worker was started from.
EMBEDDED_DIR = Path(__file__).resolve().parent.parent / "assets" / "data" / "fashion-mnist-small"


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


# eq=False: comparing arrays with == gives arrays, not a bool.
@dataclasses.dataclass(frozen=True, repr=False, eq=False)
class Splits:
    """A dataset cut into training, validation and test arrays.

    Images are float32 in [0, 1], NHWC; labels are int64 class indices.

    Args:
        x_train, y_train: the images and labels to fit on.
        x_val, y_val: held out from the training images (may be empty when
            `val_fraction` is 0).
        x_test, y_test: the dataset's own test set (or a stratified subset).
        info: DatasetInfo of the dataset they came from.
    """

    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    info: DatasetInfo

    def __repr__(self):
        # The default repr would print every pixel.
        return (
            f"Splits({self.info.key}: train {self.x_train.shape}, "
            f"val {self.x_val.shape}, test {self.x_test.shape})"
        )


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

# The original file names; a raw (not gzipped) copy without ".gz" is read too.
_IDX_NAMES = (
    "train-images-idx3-ubyte",
    "train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte",
    "t10k-labels-idx1-ubyte",
)
_IDX_FOLDERS = {"fashion_mnist": "fashion-mnist", "mnist": "mnist"}
_CIFAR_TAR = "cifar-10-python.tar.gz"
_CIFAR_FOLDER = "cifar-10-batches-py"
_CIFAR_BATCHES = ("data_batch_1", "data_batch_2", "data_batch_3", "data_batch_4", "data_batch_5")
_CIFAR_TEST_BATCH = "test_batch"

_IDX_MAGIC = {"images": 2051, "labels": 2049}
_IDX_WHAT = {"images": "an IDX image file", "labels": "an IDX label file"}
# Far above any dataset here (MNIST's training images are 47 MB); refuses a
# header that would make the reader allocate gigabytes before noticing.
_MAX_IDX_PAYLOAD = 1 << 31
# A stalled server must fail the run, not hold a worker for ever.
_DOWNLOAD_TIMEOUT_S = 60


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


def _offline():
    """Whether `$LABCORE_OFFLINE` forbids downloads ("0"/"false"/"no" do not)."""
    value = os.environ.get(OFFLINE_ENV, "").strip().lower()
    return value not in ("", "0", "false", "no")


def _keras_datasets_dir():
    """Where keras.datasets caches its downloads (`$KERAS_HOME` or ~/.keras)."""
    home = os.environ.get("KERAS_HOME") or os.path.join(os.path.expanduser("~"), ".keras")
    return Path(home) / "datasets"


# ---------------------------------------------------------------------------
# IDX files


def _idx_kind_from_name(path):
    """"images" or "labels" from an original IDX file name, else None."""
    name = Path(path).name
    if "idx3" in name:
        return "images"
    if "idx1" in name:
        return "labels"
    return None


def _open_maybe_gzip(path):
    """A binary reader of `path`, decompressing when it starts as gzip does."""
    with open(path, "rb") as raw:
        signature = raw.read(2)
    return gzip.open(path, "rb") if signature == b"\x1f\x8b" else open(path, "rb")


def read_idx(path, *, expect=None):
    """Read one IDX file of unsigned bytes (gzipped or raw) and validate it.

    The header must say unsigned bytes (type 0x08) with 3 dimensions for
    images (magic 2051) or 1 for labels (magic 2049), and the payload must
    hold exactly as many bytes as the header's dimensions multiply to.

    Args:
        path: str or Path, e.g. ".../train-images-idx3-ubyte.gz".
        expect: "images", "labels" or None. None infers it from an original
            file name ("idx3" = images, "idx1" = labels) and otherwise
            accepts either.

    Returns:
        np.ndarray of uint8, read-only: (count, rows, cols) for images,
        (count,) for labels.

    Raises:
        DataError: the file is missing, not IDX, of another type or
            dimensionality, truncated or padded, or its gzip stream is
            corrupt; the message names the file and what was expected.
    """
    if expect not in (None, "images", "labels"):
        raise DataError(describe("expect", "'images', 'labels' or None", expect))
    expect = expect or _idx_kind_from_name(path)
    name = str(path)
    try:
        with _open_maybe_gzip(path) as stream:
            dims = _read_idx_header(stream, name, expect)
            n_bytes = math.prod(dims)
            if n_bytes > _MAX_IDX_PAYLOAD:
                raise DataError(
                    f"{name}: header dimensions {dims} make {n_bytes} bytes, "
                    f"more than the {_MAX_IDX_PAYLOAD} this reader accepts."
                )
            # One byte more than needed: a padded file shows itself, and a
            # gzip stream is read to its end, where its CRC is checked.
            payload = stream.read(n_bytes + 1)
            if len(payload) > n_bytes:
                extra = len(payload) - n_bytes + _count_rest(stream)
                raise DataError(
                    f"{name}: payload of {n_bytes + extra} bytes, expected {n_bytes} "
                    f"(dimensions {' x '.join(map(str, dims))} from the header); "
                    f"{extra} extra bytes at the end."
                )
    except FileNotFoundError as error:
        raise DataError(f"{name}: no such file.") from error
    except (OSError, EOFError, zlib.error) as error:
        raise DataError(
            f"{name}: corrupt or truncated gzip data ({error}); expected a "
            "complete IDX file."
        ) from error
    if len(payload) < n_bytes:
        raise DataError(
            f"{name}: payload of {len(payload)} bytes, expected {n_bytes} "
            f"(dimensions {' x '.join(map(str, dims))} from the header); the file "
            "is truncated."
        )
    array = np.frombuffer(payload, dtype=np.uint8).reshape(dims)
    array.flags.writeable = False
    return array


def _read_idx_header(stream, name, expect):
    """Validate an IDX header and return its dimensions as a tuple of ints."""
    magic_bytes = stream.read(4)
    if len(magic_bytes) < 4:
        raise DataError(
            f"{name}: {len(magic_bytes)} bytes, too short for an IDX header; "
            "expected an IDX image or label file."
        )
    magic = int.from_bytes(magic_bytes, "big")
    allowed = (
        f"{_IDX_MAGIC[expect]} ({_IDX_WHAT[expect]})"
        if expect
        else "2051 (an IDX image file) or 2049 (an IDX label file)"
    )
    if magic_bytes[:2] != b"\x00\x00":
        raise DataError(f"{name}: magic {magic}, expected {allowed}; not an IDX file.")
    if magic_bytes[2] != 0x08:
        raise DataError(
            f"{name}: IDX data type byte 0x{magic_bytes[2]:02x}, expected 0x08 "
            "(unsigned byte)."
        )
    allowed_magics = (_IDX_MAGIC[expect],) if expect else tuple(_IDX_MAGIC.values())
    if magic not in allowed_magics:
        raise DataError(f"{name}: magic {magic}, expected {allowed}.")
    n_dims = magic_bytes[3]
    dims_bytes = stream.read(4 * n_dims)
    if len(dims_bytes) < 4 * n_dims:
        raise DataError(
            f"{name}: header of {4 + len(dims_bytes)} bytes, expected {4 + 4 * n_dims}; "
            "the file is truncated."
        )
    dims = struct.unpack(f">{n_dims}I", dims_bytes)
    if min(dims) < 1:
        raise DataError(f"{name}: header dimensions {dims}, expected every size >= 1.")
    return dims


def _count_rest(stream):
    """Bytes left in `stream`, read in chunks so padding never fills memory."""
    count = 0
    while chunk := stream.read(1 << 20):
        count += len(chunk)
    return count


def read_idx_pair(images_path, labels_path, *, n_classes=10, image_size=None):
    """Read matching IDX image and label files and check them against each other.

    Args:
        images_path: str or Path, an IDX image file (magic 2051).
        labels_path: str or Path, an IDX label file (magic 2049).
        n_classes: int, labels must lie in [0, n_classes).
        image_size: (rows, cols) the images must have, or None for any.

    Returns:
        (images, labels): uint8 arrays, (count, rows, cols, 1) and (count,),
        read-only.

    Raises:
        DataError: either file fails `read_idx`, the counts differ, a label
            is out of range, or the images are not `image_size`; the message
            names the file.
    """
    images = read_idx(images_path, expect="images")
    labels = read_idx(labels_path, expect="labels")
    if len(images) != len(labels):
        raise DataError(
            f"{labels_path}: {len(labels)} labels, expected {len(images)} "
            f"(one per image in {images_path})."
        )
    _check_labels(labels, n_classes, labels_path)
    if image_size is not None and tuple(images.shape[1:]) != tuple(image_size):
        raise DataError(
            f"{images_path}: images of {images.shape[1]}x{images.shape[2]}, expected "
            f"{image_size[0]}x{image_size[1]}."
        )
    return images[..., np.newaxis], labels


def _check_labels(labels, n_classes, where):
    """Raise DataError naming `where` unless every label is in [0, n_classes)."""
    if labels.size == 0:
        return
    bad = np.flatnonzero((labels < 0) | (labels >= n_classes))
    if bad.size:
        raise DataError(
            f"{where}: label {int(labels[bad[0]])} at index {int(bad[0])}, "
            f"expected labels in [0, {n_classes})."
        )


def _idx_files(folder):
    """The four IDX paths in `folder` (".gz" or raw), and the names missing."""
    found, missing = [], []
    for name in _IDX_NAMES:
        for candidate in (folder / f"{name}.gz", folder / name):
            if candidate.is_file():
                found.append(candidate)
                break
        else:
            missing.append(f"{name}.gz")
    return found, missing


def _read_idx_folder(folder, n_classes, image_size):
    """(x_train, y_train, x_test, y_test) from the four IDX files in `folder`."""
    files, missing = _idx_files(folder)
    if missing:
        raise DataError(f"{folder}: missing {', '.join(missing)}.")
    train_images, train_labels, test_images, test_labels = files
    x_train, y_train = read_idx_pair(
        train_images, train_labels, n_classes=n_classes, image_size=image_size
    )
    # The test images must match the training images, whatever their size.
    x_test, y_test = read_idx_pair(
        test_images, test_labels, n_classes=n_classes, image_size=x_train.shape[1:3]
    )
    return x_train, y_train, x_test, y_test


def load_idx_folder(path, *, n_classes=10):
    """Read the four IDX files of a folder inside the data folder.

    For datasets in the MNIST layout that are not registered. `path` comes
    from people, so it must resolve (symlinks and ".." followed) to a folder
    inside `$LABCORE_DATA_DIR` or the embedded data folder.

    Args:
        path: str or Path, absolute or relative to the data folder
            (`$LABCORE_DATA_DIR` when set, else `assets/data/`).
        n_classes: int, labels must lie in [0, n_classes).

    Returns:
        (x_train, y_train, x_test, y_test): read-only uint8 arrays, images
        (count, rows, cols, 1), labels (count,).

    Raises:
        DataError: `path` is outside the data folder, or a file is missing
            or fails `read_idx_pair`.
    """
    if not _is_int(n_classes) or not 1 <= n_classes <= 256:
        raise DataError(describe("n_classes", "an int in [1, 256]", n_classes))
    roots = [root.resolve() for root in (data_dir(), EMBEDDED_DIR.parent) if root]
    base = roots[0]
    folder = (base / Path(path).expanduser()).resolve()
    if not any(folder.is_relative_to(root) for root in roots):
        allowed = " or ".join(str(root) for root in roots)
        raise DataError(
            describe(
                "path",
                f"a folder inside the data folder ({allowed}; set {DATA_DIR_ENV} "
                "to change it)",
                str(path),
            )
        )
    if not folder.is_dir():
        raise DataError(f"{folder}: no such folder.")
    return _cached_read("idx", str(folder), n_classes, None, _stamp("idx", folder))


# ---------------------------------------------------------------------------
# MNIST .npz (the Keras cache) and CIFAR-10 pickles


def _read_mnist_npz(path, n_classes, image_size):
    """(x_train, y_train, x_test, y_test) from Keras's `mnist.npz`."""
    try:
        with np.load(path, allow_pickle=False) as archive:
            arrays = [archive[name] for name in ("x_train", "y_train", "x_test", "y_test")]
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as error:
        raise DataError(
            f"{path}: unreadable ({error}); expected Keras's mnist.npz with "
            "x_train, y_train, x_test, y_test."
        ) from error
    x_train, y_train, x_test, y_test = arrays
    for x, y, split in ((x_train, y_train, "train"), (x_test, y_test, "test")):
        shape_ok = x.dtype == np.uint8 and x.ndim == 3 and tuple(x.shape[1:]) == tuple(image_size)
        if not shape_ok or y.ndim != 1 or len(y) != len(x):
            raise DataError(
                f"{path}: x_{split} {x.dtype} {x.shape} and y_{split} {y.shape}, "
                f"expected uint8 (n, {image_size[0]}, {image_size[1]}) and (n,)."
            )
        _check_labels(y, n_classes, f"{path} (y_{split})")
    return (
        x_train[..., np.newaxis],
        y_train.astype(np.uint8),
        x_test[..., np.newaxis],
        y_test.astype(np.uint8),
    )


# A CIFAR batch is a dict of bytes, lists and uint8 arrays. Rebuilding those
# needs exactly these globals (the latin-1 one only for batches re-pickled by
# Python 3 with protocol 2); refusing all others keeps a tampered pickle from
# running code, as keras.datasets' own reader does.
try:
    from numpy._core.multiarray import _reconstruct as _np_reconstruct
except ImportError:  # NumPy < 2
    from numpy.core.multiarray import _reconstruct as _np_reconstruct


def _latin1_bytes(text, encoding="latin-1"):
    """What pickle protocol 2 calls to rebuild bytes written by Python 3."""
    if encoding.lower().replace("-", "").replace("_", "") != "latin1":
        raise pickle.UnpicklingError(f"refusing to encode with {encoding!r}")
    return text.encode("latin-1")


_PICKLE_GLOBALS = {
    ("_codecs", "encode"): _latin1_bytes,
    ("numpy", "ndarray"): np.ndarray,
    ("numpy", "dtype"): np.dtype,
    ("numpy.core.multiarray", "_reconstruct"): _np_reconstruct,
    ("numpy._core.multiarray", "_reconstruct"): _np_reconstruct,
}


class _ArraysOnlyUnpickler(pickle.Unpickler):
    """An unpickler that can rebuild NumPy arrays and nothing else."""

    def find_class(self, module, name):
        if (module, name) in _PICKLE_GLOBALS:
            return _PICKLE_GLOBALS[(module, name)]
        raise pickle.UnpicklingError(f"refusing to load {module}.{name}")


def _read_cifar_batch(data, where):
    """(images NHWC uint8, labels uint8) from the bytes of one CIFAR batch."""
    try:
        # CIFAR-10's batches were pickled by Python 2: keys are bytes.
        batch = _ArraysOnlyUnpickler(io.BytesIO(data), encoding="bytes").load()
    except Exception as error:  # a broken pickle can raise almost anything
        raise DataError(
            f"{where}: not a CIFAR-10 batch ({type(error).__name__}: {error})."
        ) from error
    if not isinstance(batch, dict):
        raise DataError(f"{where}: a {type(batch).__name__}, expected a dict (a CIFAR-10 batch).")
    batch = {
        key.decode("latin-1") if isinstance(key, bytes) else key: value
        for key, value in batch.items()
    }
    images, labels = batch.get("data"), batch.get("labels")
    if not isinstance(images, np.ndarray) or images.ndim != 2 or images.shape[1] != 3072:
        shown = getattr(images, "shape", type(images).__name__)
        raise DataError(f"{where}: 'data' is {shown}, expected a uint8 array (n, 3072).")
    if images.dtype != np.uint8:
        raise DataError(f"{where}: 'data' is {images.dtype}, expected uint8.")
    try:
        labels = np.asarray(labels, dtype=np.int64)
    except (TypeError, ValueError) as error:
        raise DataError(f"{where}: 'labels' are not integers ({error}).") from error
    if labels.shape != (len(images),):
        raise DataError(
            f"{where}: 'labels' of shape {labels.shape}, expected ({len(images)},), "
            "one per image."
        )
    _check_labels(labels, 10, where)
    # Stored as 3 colour planes of 32x32 per image; NHWC is what Keras wants.
    nhwc = images.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)
    return np.ascontiguousarray(nhwc), labels.astype(np.uint8)


def _read_cifar_tar(path):
    """(x_train, y_train, x_test, y_test) from `cifar-10-python.tar.gz`."""
    parts = {}
    try:
        with tarfile.open(path, "r:*") as archive:
            for name in (*_CIFAR_BATCHES, _CIFAR_TEST_BATCH):
                member_name = f"{_CIFAR_FOLDER}/{name}"
                try:
                    member = archive.getmember(member_name)
                except KeyError:
                    raise DataError(
                        f"{path}: no member {member_name}; expected the CIFAR-10 "
                        f"python archive ({_CIFAR_TAR})."
                    ) from None
                stream = archive.extractfile(member)
                if stream is None:
                    raise DataError(f"{path}: {member_name} is not a regular file.")
                parts[name] = _read_cifar_batch(stream.read(), f"{path}:{member_name}")
    except (tarfile.TarError, OSError, EOFError, zlib.error) as error:
        raise DataError(
            f"{path}: corrupt or truncated archive ({error}); expected {_CIFAR_TAR}."
        ) from error
    return _join_cifar(parts)


def _read_cifar_folder(folder):
    """(x_train, y_train, x_test, y_test) from an extracted `cifar-10-batches-py/`."""
    parts = {}
    for name in (*_CIFAR_BATCHES, _CIFAR_TEST_BATCH):
        path = folder / name
        try:
            data = path.read_bytes()
        except OSError as error:
            raise DataError(f"{path}: unreadable ({error}).") from error
        parts[name] = _read_cifar_batch(data, str(path))
    return _join_cifar(parts)


def _join_cifar(parts):
    """Concatenate the five training batches; the test batch stays as is."""
    x_train = np.concatenate([parts[name][0] for name in _CIFAR_BATCHES])
    y_train = np.concatenate([parts[name][1] for name in _CIFAR_BATCHES])
    x_test, y_test = parts[_CIFAR_TEST_BATCH]
    return x_train, y_train, x_test, y_test


# ---------------------------------------------------------------------------
# Finding, caching and downloading


def _candidates(key):
    """Where `key`'s files may be, in search order: (kind, path) pairs."""
    if key == "fashion_mnist_small":
        return [("idx", EMBEDDED_DIR)]
    local = data_dir()
    keras_dir = _keras_datasets_dir()
    found = []
    if key in _IDX_FOLDERS:
        folder = _IDX_FOLDERS[key]
        if local:
            found.append(("idx", local / folder))
        found.append(("idx", keras_dir / folder))
        if key == "mnist":
            found.append(("npz", keras_dir / "mnist.npz"))
    elif key == "cifar10":
        if local:
            found += [("cifar_tar", local / _CIFAR_TAR), ("cifar_dir", local / _CIFAR_FOLDER)]
        found += [
            # Keras 3 extracts into "<name>-target/"; older Keras did not.
            ("cifar_dir", keras_dir / "cifar-10-batches-py-target" / _CIFAR_FOLDER),
            ("cifar_dir", keras_dir / _CIFAR_FOLDER),
        ]
    return found


def _present(kind, path):
    """Whether every file a reader of `kind` needs exists at `path` (cheap)."""
    if kind == "idx":
        return not _idx_files(path)[1]
    if kind == "cifar_dir":
        return all((path / name).is_file() for name in (*_CIFAR_BATCHES, _CIFAR_TEST_BATCH))
    return path.is_file()


def _locate(key):
    """The first (kind, path) holding `key`'s files, or None."""
    for kind, path in _candidates(key):
        if _present(kind, path):
            return kind, path
    return None


def _stamp(kind, path):
    """Size and modification time of what a reader reads, for the cache key."""
    if kind == "idx":
        files = _idx_files(path)[0]
    elif kind == "cifar_dir":
        files = [path / name for name in (*_CIFAR_BATCHES, _CIFAR_TEST_BATCH)]
    else:
        files = [path]
    stamps = []
    for file in files:
        try:
            stat = file.stat()
        except OSError:
            stamps.append((str(file), None, None))
        else:
            stamps.append((str(file), stat.st_mtime_ns, stat.st_size))
    return tuple(stamps)


@functools.lru_cache(maxsize=4)
def _cached_read(kind, path, n_classes, image_size, stamp):
    """Decoded uint8 arrays of one source, kept per process.

    `stamp` is only part of the cache key: a replaced file is read again.
    """
    del stamp
    path = Path(path)
    if kind == "idx":
        arrays = _read_idx_folder(path, n_classes, image_size)
    elif kind == "npz":
        arrays = _read_mnist_npz(path, n_classes, image_size)
    elif kind == "cifar_tar":
        arrays = _read_cifar_tar(path)
    else:
        arrays = _read_cifar_folder(path)
    for array in arrays:
        # Shared between callers, so nobody may change them in place.
        array.flags.writeable = False
    return arrays


def clear_cache():
    """Forget the decoded arrays kept by `load_arrays` (frees their memory)."""
    _cached_read.cache_clear()
    _downloaded.cache_clear()


def _where_to_put(key):
    """The sentence that tells people where to put `key`'s files."""
    local = data_dir()
    keras_dir = _keras_datasets_dir()
    if key in _IDX_FOLDERS:
        folder = _IDX_FOLDERS[key]
        names = ", ".join(f"{name}.gz" for name in _IDX_NAMES)
        local_text = (
            f"{local / folder}/ (${DATA_DIR_ENV}/{folder}/)"
            if local
            else f"${DATA_DIR_ENV}/{folder}/ (set {DATA_DIR_ENV} to a folder)"
        )
        return (
            f"put the four original files ({names}) in {local_text}, "
            f"or in the Keras cache {keras_dir / folder}/"
        )
    local_text = (
        f"{local}/ (${DATA_DIR_ENV})"
        if local
        else f"${DATA_DIR_ENV}/ (set {DATA_DIR_ENV} to a folder)"
    )
    return (
        f"put {_CIFAR_TAR} (from https://www.cs.toronto.edu/~kriz/cifar.html) "
        f"in {local_text}, or its extracted {_CIFAR_FOLDER}/ in the Keras cache "
        f"{keras_dir}/"
    )


def _missing_message(key):
    """Why `key` cannot be loaded from disk, with where to put the files."""
    partial = []
    for kind, path in _candidates(key):
        if kind == "idx" and path.is_dir():
            missing = _idx_files(path)[1]
            if len(missing) < len(_IDX_NAMES):
                partial.append(f"{path} lacks {', '.join(missing)}")
    text = f"{key}: not found on this machine; {_where_to_put(key)}."
    if partial:
        text += " (" + "; ".join(partial) + ".)"
    return text


def availability(key):
    """Whether `key` can be loaded, without reading or downloading anything.

    Cheap enough for every Streamlit rerun: it only checks that files exist.

    Args:
        key: str, a key of `DATASETS`.

    Returns:
        (bool, str): True when the files are on disk, or when they are not
        but a download by `keras.datasets` is allowed (`$LABCORE_OFFLINE`
        unset); the message says which, or where to put the files.

    Raises:
        DataError: `key` is not registered.
    """
    info = dataset_info(key)
    found = _locate(key)
    if found:
        return True, f"{info.title}: files in {found[1]}."
    if key == "fashion_mnist_small":
        return False, (
            f"{key}: the embedded files are missing from {EMBEDDED_DIR}; restore "
            "them from the repository (scripts/make_embedded_data.py rebuilds them)."
        )
    if _offline():
        return False, f"{_missing_message(key)} Not downloaded: ${OFFLINE_ENV} is set."
    return True, (
        f"{info.title}: not on disk; the first run downloads it with keras.datasets "
        f"(needs network). To avoid that, {_where_to_put(key)}."
    )


def _download(key):
    """Fetch `key` with keras.datasets (imports Keras); raw uint8 arrays."""
    import keras  # deferred: Keras is only for this last resort

    loaders = {
        "fashion_mnist": keras.datasets.fashion_mnist,
        "mnist": keras.datasets.mnist,
        "cifar10": keras.datasets.cifar10,
    }
    previous = socket.getdefaulttimeout()
    socket.setdefaulttimeout(_DOWNLOAD_TIMEOUT_S)
    try:
        (x_train, y_train), (x_test, y_test) = loaders[key].load_data()
    finally:
        socket.setdefaulttimeout(previous)
    return x_train, y_train, x_test, y_test


def _checked_download(key, info):
    """`_download`'s arrays, validated like files and shaped like the readers'."""
    where = f"{key} (downloaded by keras.datasets)"
    arrays = []
    x_train, y_train, x_test, y_test = _download(key)
    for x, y in ((x_train, y_train), (x_test, y_test)):
        x = np.asarray(x, dtype=np.uint8)
        if x.ndim == 3:
            x = x[..., np.newaxis]
        y = np.asarray(y).reshape(-1)
        if tuple(x.shape[1:]) != tuple(info.image_shape) or len(y) != len(x):
            raise DataError(
                f"{where}: images {x.shape} and labels {y.shape}, expected "
                f"(n, {', '.join(map(str, info.image_shape))}) and (n,)."
            )
        _check_labels(y, info.n_classes, where)
        arrays += [x, y.astype(np.uint8)]
    for array in arrays:
        array.flags.writeable = False
    return tuple(arrays)


@functools.lru_cache(maxsize=2)
def _downloaded(key):
    """Downloaded arrays, kept per process like the files' (see `_cached_read`)."""
    return _checked_download(key, DATASETS[key])


def load_arrays(key):
    """The raw uint8 arrays of one dataset, decoded once per process.

    Looks for the files in the documented order, and downloads with
    `keras.datasets` only when none is found and `$LABCORE_OFFLINE` is unset.
    Call this from a worker, never from the Streamlit process (a download
    may take minutes); the app asks `availability` instead.

    Args:
        key: str, a key of `DATASETS`.

    Returns:
        (x_train, y_train, x_test, y_test): read-only uint8 arrays, images
        (count, height, width, channels), labels (count,).

    Raises:
        DataError: unknown key; a file is corrupt (named); or the dataset is
            not on disk and cannot be downloaded, saying where to put it.
    """
    info = dataset_info(key)
    found = _locate(key)
    if found:
        kind, path = found
        return _cached_read(
            kind, str(path), info.n_classes, info.image_shape[:2], _stamp(kind, path)
        )
    if key == "fashion_mnist_small":
        raise DataError(availability(key)[1])
    if _offline():
        raise DataError(f"{_missing_message(key)} Not downloaded: ${OFFLINE_ENV} is set.")
    try:
        return _downloaded(key)
    except DataError:
        raise
    except Exception as error:  # network, HTTP, hash or extraction errors
        raise DataError(
            f"{key}: download with keras.datasets failed ({type(error).__name__}: "
            f"{error}); {_where_to_put(key)}."
        ) from error


# ---------------------------------------------------------------------------
# Splits


def _is_int(value):
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def _quotas(counts, total):
    """Split `total` over groups in proportion to `counts` (largest remainder)."""
    counts = np.asarray(counts, dtype=np.int64)
    if total == 0 or counts.sum() == 0:
        return np.zeros_like(counts)
    exact = total * counts / counts.sum()
    quotas = np.floor(exact).astype(np.int64)
    # Ties go to the lower class index, so the result never depends on sort
    # stability.
    order = np.lexsort((np.arange(len(counts)), -(exact - quotas)))
    quotas[order[: total - quotas.sum()]] += 1
    return quotas


def _stratified_take(labels, order, n):
    """Per class, the first of `order`'s indices, `n` in all, classes in proportion.

    Returns:
        list of index arrays, one per class present, each in `order`'s order.
    """
    ordered_labels = labels[order]
    classes, counts = np.unique(ordered_labels, return_counts=True)
    quotas = _quotas(counts, n)
    return [order[ordered_labels == c][:k] for c, k in zip(classes, quotas)]


def split_indices(labels, *, subset=None, val_fraction=0.1, seed=0):
    """Choose the training and validation images: seeded and stratified.

    Draws `subset` images with every class in its dataset proportion, then
    holds out the last `val_fraction` of them for validation, again in
    proportion per class. The same arguments always give the same indices.

    Args:
        labels: 1-D array of int, the labels of all training images.
        subset: int in [10, len(labels)], images drawn (training plus
            validation), or None for all.
        val_fraction: float in [0, 1), the share held out; at least one image
            when > 0, and at least one must be left for training.
        seed: int >= 0.

    Returns:
        (train_indices, val_indices): disjoint int64 arrays into `labels`,
        each in a seeded random order.

    Raises:
        DataError: an argument is out of range; the message names it.
    """
    labels = np.asarray(labels)
    n_available = len(labels)
    _check_seed(seed)
    _check_val_fraction(val_fraction)
    n = _check_count("subset", subset, n_available, "training images")
    rng = np.random.default_rng(seed)
    per_class = _stratified_take(labels, rng.permutation(n_available), n)
    n_val = round(val_fraction * n)
    if val_fraction > 0:
        n_val = max(1, n_val)
    if n_val >= n:
        raise DataError(
            describe(
                "val_fraction",
                f"a float in [0, 1) that leaves training images ({n_val} of {n} "
                "would be held out)",
                val_fraction,
            )
        )
    val_quotas = _quotas([len(indices) for indices in per_class], n_val)
    train = [indices[: len(indices) - v] for indices, v in zip(per_class, val_quotas)]
    val = [indices[len(indices) - v :] for indices, v in zip(per_class, val_quotas)]
    train = np.concatenate(train).astype(np.int64)
    val = np.concatenate(val).astype(np.int64)
    return train[rng.permutation(len(train))], val[rng.permutation(len(val))]


def _check_seed(seed):
    if not _is_int(seed) or seed < 0:
        raise DataError(describe("seed", "an int >= 0", seed))


def _check_val_fraction(val_fraction):
    if (
        not isinstance(val_fraction, numbers.Real)
        or isinstance(val_fraction, bool)
        or not 0 <= val_fraction < 1
    ):
        raise DataError(describe("val_fraction", "a float in [0, 1)", val_fraction))


def _check_count(name, value, n_available, what):
    """`value` as an int in [10, n_available] (None = all), else DataError."""
    if value is None:
        return n_available
    low = min(10, n_available)
    if not _is_int(value) or not low <= value <= n_available:
        raise DataError(
            describe(
                name,
                f"an int in [{low}, {n_available}] (the {what} available) or None",
                value,
            )
        )
    return int(value)


def _adapt(images, pad_to, channels):
    """uint8 NHWC images as float32 in [0, 1], zero-padded and with `channels`."""
    if pad_to is not None:
        # Padded while still uint8: a quarter of the memory of float32.
        height, width = images.shape[1:3]
        top, left = (pad_to - height) // 2, (pad_to - width) // 2
        images = np.pad(
            images,
            ((0, 0), (top, pad_to - height - top), (left, pad_to - width - left), (0, 0)),
        )
    x = images.astype(np.float32) / np.float32(255.0)
    if channels == 3 and x.shape[-1] == 1:
        x = np.repeat(x, 3, axis=-1)
    elif channels == 1 and x.shape[-1] == 3:
        # ITU-R BT.601 luma, the weights Pillow's "L" conversion uses.
        luma = np.array([0.299, 0.587, 0.114], dtype=np.float32)
        x = (x @ luma)[..., np.newaxis]
    return x


def load(
    key=DEFAULT_DATASET,
    *,
    subset=None,
    val_fraction=0.1,
    seed=0,
    pad_to=None,
    channels=None,
    test_subset=None,
):
    """Load a dataset as seeded, stratified train / validation / test splits.

    Example:
        >>> splits = load("fashion_mnist_small", subset=1000, seed=1)
        >>> splits.x_train.shape, splits.x_val.shape, splits.x_test.shape
        ((900, 28, 28, 1), (100, 28, 28, 1), (1000, 28, 28, 1))

    Args:
        key: str, a key of `DATASETS`.
        subset: int in [10, training images available], how many training
            images to draw (stratified by class, seeded), validation included;
            None = all.
        val_fraction: float in [0, 1), the share of the drawn images held out
            for validation (the last ones of the seeded order).
        seed: int >= 0; the same seed gives the same images in the same order.
        pad_to: int or None, zero-pad every image, centred, to
            pad_to x pad_to (e.g. 28x28 to 32x32); at least the image size.
        channels: 1, 3 or None. 3 repeats a grey channel; 1 turns colour
            into grey (luma); None keeps the dataset's channels.
        test_subset: int in [10, test images available] or None (all), a
            stratified, seeded draw from the test set.

    Returns:
        Splits: float32 images in [0, 1] (NHWC) and int64 labels.

    Raises:
        DataError: an argument is out of range (named), or the dataset cannot
            be found, read or downloaded (see `load_arrays`).
    """
    info = dataset_info(key)
    _check_seed(seed)
    _check_val_fraction(val_fraction)
    if channels is not None and (not _is_int(channels) or channels not in (1, 3)):
        raise DataError(describe("channels", "1, 3 or None", channels))
    height, width = info.image_shape[:2]
    if pad_to is not None and (not _is_int(pad_to) or not max(height, width) <= pad_to <= 1024):
        raise DataError(
            describe(
                "pad_to",
                f"an int in [{max(height, width)}, 1024] (at least the "
                f"{height}x{width} images) or None",
                pad_to,
            )
        )
    x_train, y_train, x_test, y_test = load_arrays(key)
    train_indices, val_indices = split_indices(
        y_train, subset=subset, val_fraction=val_fraction, seed=seed
    )
    n_test = _check_count("test_subset", test_subset, len(y_test), "test images")
    if n_test == len(y_test):
        test_indices = np.arange(n_test)
    else:
        # Its own stream, so the test draw does not move with `subset`.
        test_rng = np.random.default_rng([seed, 1])
        test_indices = np.concatenate(
            _stratified_take(y_test, test_rng.permutation(len(y_test)), n_test)
        )
        test_indices = test_indices[test_rng.permutation(n_test)]

    def part(x, y, indices):
        return _adapt(x[indices], pad_to, channels), y[indices].astype(np.int64)

    return Splits(
        *part(x_train, y_train, train_indices),
        *part(x_train, y_train, val_indices),
        *part(x_test, y_test, test_indices),
        info=info,
    )
