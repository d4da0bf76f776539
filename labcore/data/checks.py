"""Checks the readers and the splits share: integers, and labels in range."""

import numbers

import numpy as np

from labcore.errors import DataError

__all__ = ["check_labels", "is_int"]


def is_int(value):
    """Whether `value` is an integer (a bool is not)."""
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def check_labels(labels, n_classes, where):
    """Raise DataError naming `where` unless every label is in [0, n_classes)."""
    if labels.size == 0:
        return
    bad = np.flatnonzero((labels < 0) | (labels >= n_classes))
    if bad.size:
        raise DataError(
            f"{where}: label {int(labels[bad[0]])} at index {int(bad[0])}, "
            f"expected labels in [0, {n_classes})."
        )
