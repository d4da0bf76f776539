"""Datasets: the registry, validating readers, and the train/val/test splits.

Owns `DATASETS` (what each dataset is), where its files are looked for, the
readers of the original file formats (IDX for MNIST and Fashion-MNIST, the
pickled batches of CIFAR-10), and `load`, which turns raw uint8 arrays into
seeded, stratified float32 splits. Every reader checks what it reads and
names the file it refuses.

The layers, each importing only those above it:

- `registry`: `DATASETS` (the built-in datasets and the uploaded ones),
  the data folder and the offline switch (`checks` holds the integer and
  label checks everyone shares).
- `idx`, `mnist_npz`, `cifar`: the readers of each file format;
  `download`: the `keras.datasets` fallback; `own`: checks and stores an
  uploaded dataset, and reads it back.
- `sources`: where the files are found, the per-process cache,
  `availability` and `load_arrays`.
- `splits`: `split_indices` and `load`.

NumPy and the standard library only: the Streamlit process imports this
package for metadata and `availability`, so it must never import Keras or
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
- `own_<name>_<hash>` (uploaded): `$LABCORE_HOME/own/<key>/data.npz` only;
  never downloaded.
"""

from labcore.data.idx import read_idx, read_idx_pair
from labcore.data.registry import (
    DATA_DIR_ENV,
    DATASETS,
    DEFAULT_DATASET,
    EMBEDDED_DIR,
    OFFLINE_ENV,
    DatasetInfo,
    data_dir,
    dataset_info,
)
from labcore.data.sources import availability, clear_cache, idx_folder, load_arrays, load_idx_folder, on_disk
from labcore.data.splits import Splits, load, split_indices

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
    "idx_folder",
    "load",
    "load_arrays",
    "load_idx_folder",
    "on_disk",
    "read_idx",
    "read_idx_pair",
    "split_indices",
]
