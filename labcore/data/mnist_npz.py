"""Keras's `mnist.npz`, the MNIST file a `keras.datasets` download leaves.

Read with NumPy alone, so a machine that once downloaded MNIST through Keras
finds it again offline without importing Keras.
"""

import zipfile

import numpy as np

from labcore.data.checks import check_labels
from labcore.errors import DataError

__all__ = ["read_mnist_npz"]


def read_mnist_npz(path, n_classes, image_size):
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
        check_labels(y, n_classes, f"{path} (y_{split})")
    return (
        x_train[..., np.newaxis],
        y_train.astype(np.uint8),
        x_test[..., np.newaxis],
        y_test.astype(np.uint8),
    )
