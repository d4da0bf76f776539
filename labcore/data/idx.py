"""IDX files, the format of MNIST and Fashion-MNIST, read and validated.

Each reader checks the header, the payload's size, the gzip stream and the
labels, and names the file it refuses, so people know which file to replace.
"""

import gzip
import math
import struct
import zlib
from pathlib import Path

import numpy as np

from labcore.data.checks import check_labels
from labcore.errors import DataError, describe

__all__ = ["IDX_NAMES", "idx_files", "read_idx", "read_idx_folder", "read_idx_pair"]

# The original file names; a raw (not gzipped) copy without ".gz" is read too.
IDX_NAMES = (
    "train-images-idx3-ubyte",
    "train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte",
    "t10k-labels-idx1-ubyte",
)

_IDX_MAGIC = {"images": 2051, "labels": 2049}
_IDX_WHAT = {"images": "an IDX image file", "labels": "an IDX label file"}
# Far above any dataset here (MNIST's training images are 47 MB); refuses a
# header that would make the reader allocate gigabytes before noticing.
_MAX_IDX_PAYLOAD = 1 << 31


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
    check_labels(labels, n_classes, labels_path)
    if image_size is not None and tuple(images.shape[1:]) != tuple(image_size):
        raise DataError(
            f"{images_path}: images of {images.shape[1]}x{images.shape[2]}, expected "
            f"{image_size[0]}x{image_size[1]}."
        )
    return images[..., np.newaxis], labels


def idx_files(folder):
    """The four IDX paths in `folder` (".gz" or raw), and the names missing."""
    found, missing = [], []
    for name in IDX_NAMES:
        for candidate in (folder / f"{name}.gz", folder / name):
            if candidate.is_file():
                found.append(candidate)
                break
        else:
            missing.append(f"{name}.gz")
    return found, missing


def read_idx_folder(folder, n_classes, image_size):
    """(x_train, y_train, x_test, y_test) from the four IDX files in `folder`."""
    files, missing = idx_files(folder)
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
