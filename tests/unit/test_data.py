"""Tests of labcore.data: IDX and CIFAR readers, where files are found, splits.

Most tests write tiny IDX files or a fake cifar-10-python.tar.gz in tmp_path;
the ones that read the real datasets in ../shared/datasets skip with a reason
where that folder is absent. Every test runs with LABCORE_OFFLINE set and
HOME in tmp_path (so no download and an empty Keras cache) unless it says
otherwise.
"""

import gzip
import hashlib
import importlib.util
import io
import os
import pickle
import struct
import subprocess
import sys
import tarfile
from pathlib import Path

import numpy as np
import pytest

from labcore import data
from labcore.data import download
from labcore.errors import DataError

REPO_ROOT = Path(__file__).resolve().parents[2]
# In CI the repository is <clone>/ with shared/ beside it.
SHARED_DATASETS = REPO_ROOT.parent / "shared" / "datasets"
needs_shared = pytest.mark.skipif(
    not (SHARED_DATASETS / "fashion-mnist").is_dir(),
    reason=f"the original datasets are not at {SHARED_DATASETS}",
)

IDX_NAMES = (
    "train-images-idx3-ubyte.gz",
    "train-labels-idx1-ubyte.gz",
    "t10k-images-idx3-ubyte.gz",
    "t10k-labels-idx1-ubyte.gz",
)


# --------------------------------------------------------------------------
# helpers


def idx_bytes(array, *, type_byte=0x08, n_dims=None):
    """IDX bytes of a uint8 array, written independently of the reader."""
    array = np.asarray(array, dtype=np.uint8)
    n_dims = array.ndim if n_dims is None else n_dims
    header = bytes([0, 0, type_byte, n_dims]) + b"".join(
        struct.pack(">I", size) for size in array.shape
    )
    return header + array.tobytes()


def write(path, payload, *, compress=True):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(gzip.compress(payload, mtime=0) if compress else payload)
    return path


def tiny_images(n, size=28, seed=0):
    return np.random.default_rng(seed).integers(0, 256, (n, size, size), dtype=np.uint8)


def tiny_labels(n, n_classes=10):
    return (np.arange(n) % n_classes).astype(np.uint8)


def write_idx_folder(folder, n_train=40, n_test=20, size=28):
    """Four valid IDX .gz files; returns the arrays written."""
    x_train, y_train = tiny_images(n_train, size, seed=1), tiny_labels(n_train)
    x_test, y_test = tiny_images(n_test, size, seed=2), tiny_labels(n_test)
    for name, array in zip(IDX_NAMES, (x_train, y_train, x_test, y_test)):
        write(folder / name, idx_bytes(array))
    return x_train, y_train, x_test, y_test


def cifar_batch_bytes(images_nhwc, labels, protocol=2):
    """A batch pickled like CIFAR-10's: bytes keys, (n, 3072) colour planes."""
    planes = images_nhwc.transpose(0, 3, 1, 2).reshape(len(images_nhwc), 3072)
    batch = {
        b"batch_label": b"fake batch",
        b"labels": [int(label) for label in labels],
        b"data": np.ascontiguousarray(planes, dtype=np.uint8),
        b"filenames": [b"image.png"] * len(labels),
    }
    return pickle.dumps(batch, protocol=protocol)


def write_cifar_tar(path, batches):
    """A cifar-10-python.tar.gz holding {member name: bytes}."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with tarfile.open(path, "w:gz") as archive:
        for name, payload in batches.items():
            member = tarfile.TarInfo(f"cifar-10-batches-py/{name}")
            member.size = len(payload)
            archive.addfile(member, io.BytesIO(payload))
    return path


def fake_cifar(n_per_batch=4, n_test=12):
    rng = np.random.default_rng(3)
    parts = {}
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        n = n_test if name == "test_batch" else n_per_batch
        parts[name] = (rng.integers(0, 256, (n, 32, 32, 3), dtype=np.uint8), np.arange(n) % 10)
    return parts


@pytest.fixture(autouse=True)
def isolated(monkeypatch, tmp_path):
    """No data folder, no download, an empty Keras cache, a cold cache."""
    monkeypatch.delenv("LABCORE_DATA_DIR", raising=False)
    monkeypatch.delenv("KERAS_HOME", raising=False)
    monkeypatch.setenv("LABCORE_OFFLINE", "1")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    data.clear_cache()
    yield
    data.clear_cache()


@pytest.fixture
def data_folder(monkeypatch, tmp_path):
    folder = tmp_path / "datasets"
    folder.mkdir()
    monkeypatch.setenv("LABCORE_DATA_DIR", str(folder))
    return folder


# --------------------------------------------------------------------------
# read_idx


@pytest.mark.parametrize("compress", [True, False], ids=["gzip", "raw"])
def test_read_idx_reads_images_and_labels(tmp_path, compress):
    images, labels = tiny_images(5), tiny_labels(5)
    suffix = ".gz" if compress else ""
    read_images = data.read_idx(
        write(tmp_path / f"train-images-idx3-ubyte{suffix}", idx_bytes(images), compress=compress)
    )
    read_labels = data.read_idx(
        write(tmp_path / f"train-labels-idx1-ubyte{suffix}", idx_bytes(labels), compress=compress)
    )
    assert read_images.dtype == np.uint8 and read_images.shape == (5, 28, 28)
    np.testing.assert_array_equal(read_images, images)
    np.testing.assert_array_equal(read_labels, labels)
    assert not read_images.flags.writeable


def test_read_idx_names_the_file_when_the_magic_is_of_the_other_kind(tmp_path):
    path = write(tmp_path / "train-labels-idx1-ubyte.gz", idx_bytes(tiny_images(2)))
    with pytest.raises(
        DataError,
        match=r"train-labels-idx1-ubyte\.gz: magic 2051, expected 2049 \(an IDX label file\)",
    ):
        data.read_idx(path)


def test_read_idx_rejects_a_file_that_is_not_idx(tmp_path):
    path = write(tmp_path / "t10k-images-idx3-ubyte.gz", b"<html>Not Found</html>")
    expected = r"t10k-images-idx3-ubyte\.gz: magic \d+, expected 2051.*not an IDX"
    with pytest.raises(DataError, match=expected):
        data.read_idx(path)


def test_read_idx_rejects_a_type_byte_other_than_unsigned_byte(tmp_path):
    path = write(tmp_path / "images.gz", idx_bytes(tiny_images(2), type_byte=0x0D))
    with pytest.raises(DataError, match=r"images\.gz: IDX data type byte 0x0d, expected 0x08"):
        data.read_idx(path)


def test_read_idx_rejects_a_truncated_payload_with_both_byte_counts(tmp_path):
    payload = idx_bytes(tiny_images(3))[:-100]
    path = write(tmp_path / "train-images-idx3-ubyte.gz", payload)
    with pytest.raises(
        DataError,
        match=r"train-images-idx3-ubyte\.gz: payload of 2252 bytes, expected 2352 .*truncated",
    ):
        data.read_idx(path)


def test_read_idx_rejects_a_truncated_header(tmp_path):
    path = write(tmp_path / "train-images-idx3-ubyte.gz", idx_bytes(tiny_images(3))[:10])
    with pytest.raises(DataError, match=r"header of 10 bytes, expected 16"):
        data.read_idx(path)


def test_read_idx_rejects_extra_bytes_after_the_payload(tmp_path):
    path = write(tmp_path / "t10k-labels-idx1-ubyte", idx_bytes(tiny_labels(4)) + b"\0" * 7,
                 compress=False)
    with pytest.raises(
        DataError, match=r"t10k-labels-idx1-ubyte: payload of 11 bytes, expected 4 .*7 extra bytes"
    ):
        data.read_idx(path)


def test_read_idx_reports_a_corrupt_gzip_stream_by_file_name(tmp_path):
    good = gzip.compress(idx_bytes(tiny_images(20)), mtime=0)
    corrupt = bytearray(good)
    corrupt[-6] ^= 0xFF  # inside the CRC-32 trailer
    path = tmp_path / "train-images-idx3-ubyte.gz"
    path.write_bytes(bytes(corrupt))
    with pytest.raises(DataError, match=r"train-images-idx3-ubyte\.gz: corrupt or truncated gzip"):
        data.read_idx(path)


def test_read_idx_reports_a_cut_gzip_stream_by_file_name(tmp_path):
    good = gzip.compress(idx_bytes(tiny_images(20)), mtime=0)
    path = tmp_path / "train-images-idx3-ubyte.gz"
    path.write_bytes(good[: len(good) // 2])
    with pytest.raises(DataError, match=r"train-images-idx3-ubyte\.gz: corrupt or truncated gzip"):
        data.read_idx(path)


def test_read_idx_reports_a_missing_file(tmp_path):
    with pytest.raises(DataError, match=r"nothing-here\.gz: no such file"):
        data.read_idx(tmp_path / "nothing-here.gz")


def test_read_idx_pair_rejects_a_label_out_of_range(tmp_path):
    labels = tiny_labels(6)
    labels[4] = 10
    images = write(tmp_path / "train-images-idx3-ubyte.gz", idx_bytes(tiny_images(6)))
    labels_path = write(tmp_path / "train-labels-idx1-ubyte.gz", idx_bytes(labels))
    with pytest.raises(
        DataError,
        match=r"train-labels-idx1-ubyte\.gz: label 10 at index 4, expected labels in \[0, 10\)",
    ):
        data.read_idx_pair(images, labels_path)


def test_read_idx_pair_rejects_counts_that_differ(tmp_path):
    images = write(tmp_path / "train-images-idx3-ubyte.gz", idx_bytes(tiny_images(6)))
    labels = write(tmp_path / "train-labels-idx1-ubyte.gz", idx_bytes(tiny_labels(5)))
    with pytest.raises(DataError, match=r"train-labels-idx1-ubyte\.gz: 5 labels, expected 6"):
        data.read_idx_pair(images, labels)


def test_registered_idx_dataset_rejects_images_of_another_size(data_folder):
    write_idx_folder(data_folder / "mnist", size=20)
    expected = r"train-images-idx3-ubyte\.gz: images of 20x20, expected 28x28"
    with pytest.raises(DataError, match=expected):
        data.load_arrays("mnist")


# --------------------------------------------------------------------------
# the registry and the embedded subset


def test_registry_holds_the_four_datasets_with_ten_classes():
    assert list(data.DATASETS) == ["fashion_mnist_small", "fashion_mnist", "mnist", "cifar10"]
    assert data.DATASETS["fashion_mnist"].class_names[9] == "Ankle boot"
    assert data.DATASETS["cifar10"].image_shape == (32, 32, 3)
    assert all(info.n_classes == 10 for info in data.DATASETS.values())
    assert data.DEFAULT_DATASET == "fashion_mnist_small"


def test_unknown_dataset_key_lists_the_known_keys():
    expected = r"dataset must be one of 'fashion_mnist_small', .*'cifar10'; got 'imagenet'\."
    with pytest.raises(DataError, match=expected):
        data.load("imagenet")
    with pytest.raises(DataError, match="fashion_mnist_small"):
        data.availability("imagenet")


def test_embedded_subset_loads_offline_balanced_as_shipped():
    assert data.availability("fashion_mnist_small")[0]
    x_train, y_train, x_test, y_test = data.load_arrays("fashion_mnist_small")
    assert x_train.shape == (6000, 28, 28, 1) and x_test.shape == (1000, 28, 28, 1)
    assert np.bincount(y_train).tolist() == [600] * 10
    assert np.bincount(y_test).tolist() == [100] * 10
    splits = data.load()
    assert splits.info.key == "fashion_mnist_small"
    assert splits.x_train.dtype == np.float32 and splits.y_train.dtype == np.int64
    assert splits.x_train.shape == (5400, 28, 28, 1) and splits.x_val.shape == (600, 28, 28, 1)
    assert 0.0 <= splits.x_train.min() and splits.x_train.max() <= 1.0
    assert splits.x_train.max() == 1.0  # scaled by 255, not by the batch maximum


def test_embedded_folder_stays_within_five_megabytes():
    files = list(data.EMBEDDED_DIR.iterdir())
    assert (data.EMBEDDED_DIR / "PROVENANCE.md") in files
    assert sum(path.stat().st_size for path in files) <= 5 * 1024 * 1024


def test_decoded_arrays_are_cached_and_read_only():
    first = data.load_arrays("fashion_mnist_small")
    second = data.load_arrays("fashion_mnist_small")
    assert all(a is b for a, b in zip(first, second))
    with pytest.raises(ValueError):
        first[0][0, 0, 0, 0] = 1


def test_a_replaced_file_is_read_again(data_folder):
    write_idx_folder(data_folder / "mnist", n_train=40)
    assert len(data.load_arrays("mnist")[0]) == 40
    images = data_folder / "mnist" / IDX_NAMES[0]
    labels = data_folder / "mnist" / IDX_NAMES[1]
    write(images, idx_bytes(tiny_images(50)))
    write(labels, idx_bytes(tiny_labels(50)))
    os.utime(images, ns=(1, 1))  # a new stamp even on coarse-clock filesystems
    assert len(data.load_arrays("mnist")[0]) == 50


# --------------------------------------------------------------------------
# splits


def test_subset_and_validation_sizes_are_stratified():
    splits = data.load(subset=200, val_fraction=0.25, test_subset=50, seed=3)
    assert len(splits.y_train) == 150 and len(splits.y_val) == 50 and len(splits.y_test) == 50
    assert np.bincount(splits.y_train).tolist() == [15] * 10
    assert np.bincount(splits.y_val).tolist() == [5] * 10
    assert np.bincount(splits.y_test).tolist() == [5] * 10


def test_same_seed_gives_the_same_splits_and_another_seed_does_not():
    first = data.load(subset=300, seed=7)
    again = data.load(subset=300, seed=7)
    other = data.load(subset=300, seed=8)
    np.testing.assert_array_equal(first.x_train, again.x_train)
    np.testing.assert_array_equal(first.y_val, again.y_val)
    assert not np.array_equal(first.x_train, other.x_train)


def test_split_indices_are_disjoint_and_cover_the_subset():
    labels = np.repeat(np.arange(10), 50)
    train, val = data.split_indices(labels, subset=120, val_fraction=0.2, seed=1)
    assert len(train) == 96 and len(val) == 24
    assert not set(train.tolist()) & set(val.tolist())
    assert len(set(train.tolist()) | set(val.tolist())) == 120
    assert train.min() >= 0 and max(train.max(), val.max()) < 500


def test_val_fraction_zero_leaves_validation_empty():
    splits = data.load(subset=100, val_fraction=0.0)
    assert splits.x_val.shape == (0, 28, 28, 1) and len(splits.y_train) == 100


def test_pad_to_centres_the_original_pixels_in_zeros():
    plain = data.load(subset=20, test_subset=10)
    padded = data.load(subset=20, test_subset=10, pad_to=32)
    assert padded.x_train.shape == (18, 32, 32, 1)
    np.testing.assert_array_equal(padded.x_train[:, 2:30, 2:30], plain.x_train)
    border = padded.x_train.copy()
    border[:, 2:30, 2:30] = 0
    assert not border.any()


def test_channels_three_repeats_the_grey_channel():
    grey = data.load(subset=20, test_subset=10)
    colour = data.load(subset=20, test_subset=10, channels=3)
    assert colour.x_test.shape == (10, 28, 28, 3)
    for channel in range(3):
        np.testing.assert_array_equal(colour.x_test[..., channel], grey.x_test[..., 0])


@pytest.mark.parametrize(
    "arguments, name",
    [
        ({"subset": 5}, "subset"),
        ({"subset": 6001}, "subset"),
        ({"subset": 100.0}, "subset"),
        ({"subset": True}, "subset"),
        ({"test_subset": 1001}, "test_subset"),
        ({"val_fraction": 1.0}, "val_fraction"),
        ({"val_fraction": -0.1}, "val_fraction"),
        ({"val_fraction": float("nan")}, "val_fraction"),
        ({"subset": 10, "val_fraction": 0.95}, "val_fraction"),
        ({"seed": -1}, "seed"),
        ({"pad_to": 20}, "pad_to"),
        ({"pad_to": 32.0}, "pad_to"),
        ({"channels": 2}, "channels"),
        ({"channels": 3.0}, "channels"),
    ],
)
def test_bad_arguments_are_refused_by_name(arguments, name):
    with pytest.raises(DataError, match=rf"^{name} must be "):
        data.load("fashion_mnist_small", **arguments)


def test_subset_message_gives_the_range_available():
    with pytest.raises(DataError, match=r"subset must be an int in \[10, 6000\] .*; got 6001\."):
        data.load(subset=6001)


# --------------------------------------------------------------------------
# where files are found


def test_data_dir_is_searched_before_the_keras_cache(data_folder, tmp_path):
    local = write_idx_folder(data_folder / "fashion-mnist", n_train=30)
    write_idx_folder(tmp_path / "home" / ".keras" / "datasets" / "fashion-mnist", n_train=50)
    x_train = data.load_arrays("fashion_mnist")[0]
    np.testing.assert_array_equal(x_train[..., 0], local[0])


def test_the_cli_tells_files_on_disk_from_a_download_to_come(data_folder, monkeypatch, capsys):
    from labcore.__main__ import main

    write_idx_folder(data_folder / "mnist", n_train=30)
    monkeypatch.delenv("LABCORE_OFFLINE")
    assert data.on_disk("mnist") and not data.on_disk("cifar10") and data.availability("cifar10")[0]
    assert main(["datasets"]) == 0
    status = {line.split()[0]: line.split()[1] for line in capsys.readouterr().out.splitlines()
              if line and not line.startswith(" ")}
    assert status == {"fashion_mnist_small": "on", "fashion_mnist": "download", "mnist": "on", "cifar10": "download"}
    monkeypatch.setenv("LABCORE_OFFLINE", "1")
    main(["datasets"])
    assert "cifar10                MISSING" in capsys.readouterr().out


def test_keras_cache_is_used_when_the_data_dir_lacks_the_files(tmp_path):
    cached = write_idx_folder(tmp_path / "home" / ".keras" / "datasets" / "mnist", n_train=30)
    assert data.availability("mnist")[0]
    np.testing.assert_array_equal(data.load_arrays("mnist")[1], cached[1])


def test_mnist_npz_left_by_a_keras_download_is_read_without_keras(tmp_path):
    cache = tmp_path / "home" / ".keras" / "datasets"
    cache.mkdir(parents=True)
    np.savez(
        cache / "mnist.npz",
        x_train=tiny_images(30), y_train=tiny_labels(30),
        x_test=tiny_images(10), y_test=tiny_labels(10),
    )
    x_train, y_train, x_test, _ = data.load_arrays("mnist")
    assert x_train.shape == (30, 28, 28, 1) and x_test.shape == (10, 28, 28, 1)
    np.testing.assert_array_equal(y_train, tiny_labels(30))


def test_missing_dataset_offline_says_where_to_put_the_files(data_folder):
    available, message = data.availability("fashion_mnist")
    assert not available
    expected = rf"put the four original files .* in {data_folder}/fashion-mnist/ .*LABCORE_OFFLINE"
    assert pytest.raises(DataError, data.load, "fashion_mnist").match(expected)
    assert message == str(pytest.raises(DataError, data.load_arrays, "fashion_mnist").value)
    with pytest.raises(DataError, match=r"put cifar-10-python\.tar\.gz .* in " + str(data_folder)):
        data.load("cifar10")


def test_a_partly_filled_folder_is_named_with_the_missing_files(data_folder):
    write(data_folder / "mnist" / IDX_NAMES[0], idx_bytes(tiny_images(2)))
    with pytest.raises(DataError, match=r"mnist lacks train-labels-idx1-ubyte\.gz, t10k"):
        data.load("mnist")


def test_download_is_the_last_resort_and_never_called_by_availability(monkeypatch):
    monkeypatch.delenv("LABCORE_OFFLINE")
    calls = []

    def fake_download(key):
        calls.append(key)
        return tiny_images(30), tiny_labels(30), tiny_images(20), tiny_labels(20)

    monkeypatch.setattr(download, "_download", fake_download)
    available, message = data.availability("fashion_mnist")
    assert available and "downloads it with keras.datasets" in message and calls == []
    x_train, y_train, x_test, _ = data.load_arrays("fashion_mnist")
    assert calls == ["fashion_mnist"] and x_train.shape == (30, 28, 28, 1)
    data.load_arrays("fashion_mnist")
    assert calls == ["fashion_mnist"]  # kept for the process


def test_a_failed_download_says_where_to_put_the_files(monkeypatch):
    monkeypatch.delenv("LABCORE_OFFLINE")

    def failing_download(key):
        raise OSError("network is unreachable")

    monkeypatch.setattr(download, "_download", failing_download)
    expected = r"mnist: download with keras.datasets failed \(OSError: network.*put the four"
    with pytest.raises(DataError, match=expected):
        data.load_arrays("mnist")


@needs_shared
def test_full_fashion_mnist_and_mnist_load_from_the_shared_folder(monkeypatch):
    monkeypatch.setenv("LABCORE_DATA_DIR", str(SHARED_DATASETS))
    splits = data.load("fashion_mnist")
    assert splits.x_train.shape == (54000, 28, 28, 1) and splits.x_val.shape == (6000, 28, 28, 1)
    assert splits.x_test.shape == (10000, 28, 28, 1)
    assert np.bincount(splits.y_test).tolist() == [1000] * 10
    data.clear_cache()  # frees Fashion-MNIST before MNIST is decoded
    x_train, y_train, x_test, y_test = data.load_arrays("mnist")
    assert x_train.shape == (60000, 28, 28, 1) and x_test.shape == (10000, 28, 28, 1)
    # The class counts published in shared/datasets/README.md.
    assert np.bincount(y_test).tolist() == [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]


# --------------------------------------------------------------------------
# CIFAR-10


@pytest.mark.parametrize("protocol", [2, 4])
def test_cifar10_loads_from_a_local_tar_in_nhwc(data_folder, protocol):
    parts = fake_cifar()
    write_cifar_tar(
        data_folder / "cifar-10-python.tar.gz",
        {name: cifar_batch_bytes(*arrays, protocol=protocol) for name, arrays in parts.items()},
    )
    assert data.availability("cifar10")[0]
    x_train, y_train, x_test, y_test = data.load_arrays("cifar10")
    assert x_train.shape == (20, 32, 32, 3) and x_test.shape == (12, 32, 32, 3)
    np.testing.assert_array_equal(x_train[:4], parts["data_batch_1"][0])
    np.testing.assert_array_equal(x_train[16:], parts["data_batch_5"][0])
    np.testing.assert_array_equal(y_test, parts["test_batch"][1])
    splits = data.load("cifar10", val_fraction=0.5)
    assert splits.x_train.shape == (10, 32, 32, 3) and splits.x_val.shape == (10, 32, 32, 3)


def test_cifar10_is_read_from_the_keras_3_cache_folder(tmp_path):
    parts = fake_cifar()
    folder = tmp_path / "home/.keras/datasets/cifar-10-batches-py-target/cifar-10-batches-py"
    folder.mkdir(parents=True)
    for name, arrays in parts.items():
        (folder / name).write_bytes(cifar_batch_bytes(*arrays))
    x_train, y_train, _, _ = data.load_arrays("cifar10")
    np.testing.assert_array_equal(x_train[4:8], parts["data_batch_2"][0])
    np.testing.assert_array_equal(y_train[4:8], parts["data_batch_2"][1])


def test_channels_one_turns_colour_into_luma(data_folder):
    parts = fake_cifar()
    write_cifar_tar(
        data_folder / "cifar-10-python.tar.gz",
        {name: cifar_batch_bytes(*arrays) for name, arrays in parts.items()},
    )
    splits = data.load("cifar10", channels=1)
    rgb = parts["test_batch"][0].astype(np.float32) / 255
    expected = rgb @ np.array([0.299, 0.587, 0.114], dtype=np.float32)
    assert splits.x_test.shape == (12, 32, 32, 1)
    np.testing.assert_allclose(splits.x_test[..., 0], expected, atol=1e-6)


def test_cifar10_batch_of_the_wrong_shape_is_named(data_folder):
    parts = {name: cifar_batch_bytes(*arrays) for name, arrays in fake_cifar().items()}
    parts["data_batch_3"] = pickle.dumps(
        {b"data": np.zeros((4, 100), np.uint8), b"labels": [0, 1, 2, 3]}, protocol=2
    )
    write_cifar_tar(data_folder / "cifar-10-python.tar.gz", parts)
    expected = r"cifar-10-batches-py/data_batch_3: 'data' is \(4, 100\), expected"
    with pytest.raises(DataError, match=expected):
        data.load_arrays("cifar10")


def test_cifar10_archive_without_the_test_batch_is_named(data_folder):
    parts = {name: cifar_batch_bytes(*arrays) for name, arrays in fake_cifar().items()}
    del parts["test_batch"]
    write_cifar_tar(data_folder / "cifar-10-python.tar.gz", parts)
    expected = r"cifar-10-python\.tar\.gz: no member cifar-10-batches-py/test_batch"
    with pytest.raises(DataError, match=expected):
        data.load_arrays("cifar10")


class _RunsCode:
    def __reduce__(self):
        return (os.system, ("echo pwned",))


def test_cifar10_pickle_that_would_run_code_is_refused(data_folder, tmp_path):
    parts = {name: cifar_batch_bytes(*arrays) for name, arrays in fake_cifar().items()}
    parts["test_batch"] = pickle.dumps({b"data": _RunsCode()}, protocol=2)
    write_cifar_tar(data_folder / "cifar-10-python.tar.gz", parts)
    with pytest.raises(DataError, match=r"test_batch: not a CIFAR-10 batch .*refusing to load"):
        data.load_arrays("cifar10")


def test_cifar10_truncated_archive_is_named(data_folder):
    parts = {name: cifar_batch_bytes(*arrays) for name, arrays in fake_cifar().items()}
    path = write_cifar_tar(data_folder / "cifar-10-python.tar.gz", parts)
    path.write_bytes(path.read_bytes()[:200])
    with pytest.raises(DataError, match=r"cifar-10-python\.tar\.gz: corrupt or truncated archive"):
        data.load_arrays("cifar10")


# --------------------------------------------------------------------------
# user-given folders


def test_load_idx_folder_reads_a_folder_inside_the_data_folder(data_folder):
    written = write_idx_folder(data_folder / "my-digits", n_train=30)
    arrays = data.load_idx_folder("my-digits")
    np.testing.assert_array_equal(arrays[0][..., 0], written[0])
    assert data.load_idx_folder(data_folder / "my-digits")[1] is arrays[1]


@pytest.mark.parametrize("path", ["../outside", "/etc", "my-digits/../../outside"])
def test_load_idx_folder_refuses_paths_outside_the_data_folder(data_folder, tmp_path, path):
    write_idx_folder(tmp_path / "outside")
    with pytest.raises(DataError, match=r"^path must be a folder inside the data folder"):
        data.load_idx_folder(path)


def test_load_idx_folder_refuses_a_symlink_that_leaves_the_data_folder(data_folder, tmp_path):
    write_idx_folder(tmp_path / "outside")
    (data_folder / "link").symlink_to(tmp_path / "outside", target_is_directory=True)
    with pytest.raises(DataError, match=r"^path must be a folder inside the data folder"):
        data.load_idx_folder("link")


# --------------------------------------------------------------------------
# import rule and the embedded data's script


def test_importing_labcore_data_imports_neither_keras_nor_tensorflow():
    code = (
        "import sys, labcore.data as d; d.availability('fashion_mnist'); "
        "heavy = [m for m in ('keras', 'tensorflow', 'jax', 'torch') if m in sys.modules]; "
        "print(heavy); sys.exit(1 if heavy else 0)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stdout + result.stderr


@needs_shared
def test_make_embedded_data_reproduces_the_shipped_files_byte_for_byte(tmp_path, capsys):
    spec = importlib.util.spec_from_file_location(
        "make_embedded_data", REPO_ROOT / "scripts" / "make_embedded_data.py"
    )
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    script.main([str(SHARED_DATASETS), "--out", str(tmp_path / "out")])
    shipped = sorted(path.name for path in data.EMBEDDED_DIR.iterdir())
    assert sorted(path.name for path in (tmp_path / "out").iterdir()) == shipped
    for name in shipped:
        rebuilt = hashlib.sha256((tmp_path / "out" / name).read_bytes()).hexdigest()
        assert rebuilt == hashlib.sha256((data.EMBEDDED_DIR / name).read_bytes()).hexdigest(), name
