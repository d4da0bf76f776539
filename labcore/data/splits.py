"""Seeded, stratified train / validation / test splits as float32 images.

`load` is what a training run calls. The images drawn depend only on the
arguments, so a run can be repeated, and every class keeps its share of the
training, validation and test images.
"""

import dataclasses
import numbers

import numpy as np

from labcore.data.checks import is_int
from labcore.data.registry import DEFAULT_DATASET, DatasetInfo, dataset_info
from labcore.data.sources import load_arrays
from labcore.errors import DataError, describe

__all__ = ["Splits", "load", "split_indices"]


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
    if not is_int(seed) or seed < 0:
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
    if not is_int(value) or not low <= value <= n_available:
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
    if channels is not None and (not is_int(channels) or channels not in (1, 3)):
        raise DataError(describe("channels", "1, 3 or None", channels))
    height, width = info.image_shape[:2]
    if pad_to is not None and (not is_int(pad_to) or not max(height, width) <= pad_to <= 1024):
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
