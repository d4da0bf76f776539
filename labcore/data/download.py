"""The last resort: a dataset fetched by `keras.datasets`.

The only module of `labcore.data` that uses Keras, and only inside
`_download`: the Streamlit process imports the package for metadata and
`availability`, so importing it must never import Keras or TensorFlow.
"""

import functools
import socket

import numpy as np

from labcore.data.checks import check_labels
from labcore.data.registry import DATASETS
from labcore.errors import DataError

__all__ = ["downloaded"]

# A stalled server must fail the run, not hold a worker for ever.
_DOWNLOAD_TIMEOUT_S = 60


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
        check_labels(y, info.n_classes, where)
        arrays += [x, y.astype(np.uint8)]
    for array in arrays:
        array.flags.writeable = False
    return tuple(arrays)


@functools.lru_cache(maxsize=2)
def downloaded(key):
    """Downloaded arrays, kept per process like the files' (`sources.clear_cache` drops them)."""
    return _checked_download(key, DATASETS[key])
