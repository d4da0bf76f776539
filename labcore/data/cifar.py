"""CIFAR-10's python archive and batches, unpickled safely.

The batches are pickles; the unpickler here rebuilds NumPy arrays and
nothing else, so a tampered file cannot run code.
"""

import io
import pickle
import tarfile
import zlib

import numpy as np

from labcore.data.checks import check_labels
from labcore.errors import DataError

__all__ = ["CIFAR_FILES", "CIFAR_FOLDER", "CIFAR_TAR", "read_cifar_folder", "read_cifar_tar"]

CIFAR_TAR = "cifar-10-python.tar.gz"
CIFAR_FOLDER = "cifar-10-batches-py"
_CIFAR_BATCHES = ("data_batch_1", "data_batch_2", "data_batch_3", "data_batch_4", "data_batch_5")
_CIFAR_TEST_BATCH = "test_batch"
CIFAR_FILES = (*_CIFAR_BATCHES, _CIFAR_TEST_BATCH)


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
    check_labels(labels, 10, where)
    # Stored as 3 colour planes of 32x32 per image; NHWC is what Keras wants.
    nhwc = images.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)
    return np.ascontiguousarray(nhwc), labels.astype(np.uint8)


def read_cifar_tar(path):
    """(x_train, y_train, x_test, y_test) from `cifar-10-python.tar.gz`."""
    parts = {}
    try:
        with tarfile.open(path, "r:*") as archive:
            for name in CIFAR_FILES:
                member_name = f"{CIFAR_FOLDER}/{name}"
                try:
                    member = archive.getmember(member_name)
                except KeyError:
                    raise DataError(
                        f"{path}: no member {member_name}; expected the CIFAR-10 "
                        f"python archive ({CIFAR_TAR})."
                    ) from None
                stream = archive.extractfile(member)
                if stream is None:
                    raise DataError(f"{path}: {member_name} is not a regular file.")
                parts[name] = _read_cifar_batch(stream.read(), f"{path}:{member_name}")
    except (tarfile.TarError, OSError, EOFError, zlib.error) as error:
        raise DataError(
            f"{path}: corrupt or truncated archive ({error}); expected {CIFAR_TAR}."
        ) from error
    return _join_cifar(parts)


def read_cifar_folder(folder):
    """(x_train, y_train, x_test, y_test) from an extracted `cifar-10-batches-py/`."""
    parts = {}
    for name in CIFAR_FILES:
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
