"""Where a dataset's files are found, read once per process, or downloaded.

`availability` answers from the files' existence alone, cheap enough for
every Streamlit rerun; `load_arrays` reads the first place in the search
order (see `labcore.data`) that holds the files, keeps the decoded arrays
for the process, and downloads only when no place does.
"""

import functools
from pathlib import Path

from labcore.data.checks import is_int
from labcore.data.cifar import (
    CIFAR_FILES,
    CIFAR_FOLDER,
    CIFAR_TAR,
    read_cifar_folder,
    read_cifar_tar,
)
from labcore.data.download import downloaded
from labcore.data.idx import IDX_NAMES, idx_files, read_idx_folder
from labcore.data.mnist_npz import read_mnist_npz
from labcore.data.own import STORED_FILE, read_stored
from labcore.data.registry import (
    DATA_DIR_ENV,
    EMBEDDED_DIR,
    OFFLINE_ENV,
    OWN_PREFIX,
    data_dir,
    dataset_info,
    keras_datasets_dir,
    offline,
    own_dir,
)
from labcore.errors import DataError, describe

__all__ = ["availability", "clear_cache", "load_arrays", "load_idx_folder", "on_disk"]

_IDX_FOLDERS = {"fashion_mnist": "fashion-mnist", "mnist": "mnist"}


def _candidates(key):
    """Where `key`'s files may be, in search order: (kind, path) pairs."""
    if key == "fashion_mnist_small":
        return [("idx", EMBEDDED_DIR)]
    if key.startswith(OWN_PREFIX):
        return [("own", own_dir() / key / STORED_FILE)]
    local = data_dir()
    keras_dir = keras_datasets_dir()
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
            found += [("cifar_tar", local / CIFAR_TAR), ("cifar_dir", local / CIFAR_FOLDER)]
        found += [
            # Keras 3 extracts into "<name>-target/"; older Keras did not.
            ("cifar_dir", keras_dir / "cifar-10-batches-py-target" / CIFAR_FOLDER),
            ("cifar_dir", keras_dir / CIFAR_FOLDER),
        ]
    return found


def _present(kind, path):
    """Whether every file a reader of `kind` needs exists at `path` (cheap)."""
    if kind == "idx":
        return not idx_files(path)[1]
    if kind == "cifar_dir":
        return all((path / name).is_file() for name in CIFAR_FILES)
    return path.is_file()


def _locate(key):
    """The first (kind, path) holding `key`'s files, or None."""
    for kind, path in _candidates(key):
        if _present(kind, path):
            return kind, path
    return None


def idx_folder(key):
    """The folder `key`'s IDX files were found in, or None (not on disk, or not in the IDX layout).

    Args:
        key: str, a key of `DATASETS`.

    Returns:
        pathlib.Path or None.
    """
    found = _locate(key)
    return found[1] if found and found[0] == "idx" else None


def on_disk(key):
    """Whether `key`'s files are on this machine (`availability` may also allow a download).

    Args:
        key: str, a key of `DATASETS`.

    Returns:
        bool.
    """
    return _locate(key) is not None


def _stamp(kind, path):
    """Size and modification time of what a reader reads, for the cache key."""
    if kind == "idx":
        files = idx_files(path)[0]
    elif kind == "cifar_dir":
        files = [path / name for name in CIFAR_FILES]
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
        arrays = read_idx_folder(path, n_classes, image_size)
    elif kind == "npz":
        arrays = read_mnist_npz(path, n_classes, image_size)
    elif kind == "own":
        arrays = read_stored(path, n_classes, image_size)
    elif kind == "cifar_tar":
        arrays = read_cifar_tar(path)
    else:
        arrays = read_cifar_folder(path)
    for array in arrays:
        # Shared between callers, so nobody may change them in place.
        array.flags.writeable = False
    return arrays


def clear_cache():
    """Forget the decoded arrays kept by `load_arrays` (frees their memory)."""
    _cached_read.cache_clear()
    downloaded.cache_clear()


def _where_to_put(key):
    """The sentence that tells people where to put `key`'s files."""
    local = data_dir()
    keras_dir = keras_datasets_dir()
    if key in _IDX_FOLDERS:
        folder = _IDX_FOLDERS[key]
        names = ", ".join(f"{name}.gz" for name in IDX_NAMES)
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
        f"put {CIFAR_TAR} (from https://www.cs.toronto.edu/~kriz/cifar.html) "
        f"in {local_text}, or its extracted {CIFAR_FOLDER}/ in the Keras cache "
        f"{keras_dir}/"
    )


def _missing_message(key):
    """Why `key` cannot be loaded from disk, with where to put the files."""
    partial = []
    for kind, path in _candidates(key):
        if kind == "idx" and path.is_dir():
            missing = idx_files(path)[1]
            if len(missing) < len(IDX_NAMES):
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
    if key.startswith(OWN_PREFIX):
        # Uploaded data exists nowhere else: there is nothing to download.
        return False, f"{key}: {_candidates(key)[0][1]} is missing; upload the dataset again."
    if offline():
        return False, f"{_missing_message(key)} Not downloaded: ${OFFLINE_ENV} is set."
    return True, (
        f"{info.title}: not on disk; the first run downloads it with keras.datasets "
        f"(needs network). To avoid that, {_where_to_put(key)}."
    )


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
    if key == "fashion_mnist_small" or key.startswith(OWN_PREFIX):
        raise DataError(availability(key)[1])
    if offline():
        raise DataError(f"{_missing_message(key)} Not downloaded: ${OFFLINE_ENV} is set.")
    try:
        return downloaded(key)
    except DataError:
        raise
    except Exception as error:  # network, HTTP, hash or extraction errors
        raise DataError(
            f"{key}: download with keras.datasets failed ({type(error).__name__}: "
            f"{error}); {_where_to_put(key)}."
        ) from error


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
    if not is_int(n_classes) or not 1 <= n_classes <= 256:
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
