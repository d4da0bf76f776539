"""Build the embedded Fashion-MNIST subset shipped in assets/data/.

Description: reads the four original Fashion-MNIST IDX .gz files, checks
their SHA-256 against the published values, draws a stratified, seeded
subset (600 training and 100 test images per class by default) and writes
it in the same IDX .gz format, byte for byte reproducibly, with a
PROVENANCE.md holding the source, the selection rule and the MIT licence.

Usage, from the repository root:

    python scripts/make_embedded_data.py [SOURCE] [--out DIR]

SOURCE is the folder holding fashion-mnist/ (default: ../shared/datasets
beside the repository). tests/unit/test_data.py runs this script and checks
that it reproduces the shipped files exactly.
"""

import argparse
import gzip
import hashlib
import sys
from pathlib import Path

import numpy as np

REPO_ROOT = Path(__file__).resolve().parent.parent
# Run as a script, Python puts scripts/ on the path, not the repository.
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from labcore.data import DATASETS, read_idx_pair  # noqa: E402

__all__ = ["SOURCE_SHA256", "encode_idx", "main", "select_indices"]

DEFAULT_SOURCE = REPO_ROOT.parent / "shared" / "datasets"
DEFAULT_OUT = REPO_ROOT / "assets" / "data" / "fashion-mnist-small"
MAX_BYTES = 5 * 1024 * 1024

# The published SHA-256 of the upstream files (zalandoresearch/fashion-mnist,
# data/fashion/), as listed in shared/datasets/README.md.
SOURCE_SHA256 = {
    "train-images-idx3-ubyte.gz": (
        "3aede38d61863908ad78613f6a32ed271626dd12800ba2636569512369268a84"
    ),
    "train-labels-idx1-ubyte.gz": (
        "a04f17134ac03560a47e3764e11b92fc97de4d1bfaf8ba1a3aa29af54cc90845"
    ),
    "t10k-images-idx3-ubyte.gz": (
        "346e55b948d973a97e58d2351dde16a484bd415d4595297633bb08f03db6a073"
    ),
    "t10k-labels-idx1-ubyte.gz": (
        "67da17c76eaffca5446c3361aaab5c3cd6d1c2608764d35dfb1850b086bf8dd5"
    ),
}
CLASS_NAMES = DATASETS["fashion_mnist"].class_names


def sha256_of(path):
    """Hex SHA-256 of a file."""
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        while chunk := stream.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def select_indices(labels, per_class, seed, split):
    """The chosen indices: per class, the `per_class` with the smallest hash.

    The rank of image i is sha256("fashion-mnist-small:{seed}:{split}:{i}"),
    so the choice is the same on every machine and NumPy version (NumPy's
    random streams may change between releases; SHA-256 does not).

    Args:
        labels: 1-D uint8 array, the labels of the upstream split.
        per_class: int, images taken from each class.
        seed: int, part of every hashed string.
        split: "train" or "test", part of every hashed string.

    Returns:
        Sorted int64 array of indices into the upstream split.

    Raises:
        ValueError: a class has fewer than `per_class` images.
    """
    chosen = []
    for label in range(len(CLASS_NAMES)):
        members = np.flatnonzero(labels == label)
        if len(members) < per_class:
            raise ValueError(
                f"per_class must be at most {len(members)} (class {label} of {split}); "
                f"got {per_class}."
            )
        ranked = sorted(members, key=lambda i: _rank(seed, split, i))
        chosen.extend(ranked[:per_class])
    return np.array(sorted(chosen), dtype=np.int64)


def _rank(seed, split, index):
    """The sort key of one image (see `select_indices`)."""
    return hashlib.sha256(f"fashion-mnist-small:{seed}:{split}:{index}".encode()).digest()


def encode_idx(array):
    """An uint8 array as gzipped IDX bytes, identical on every run.

    Args:
        array: uint8 array, (n, rows, cols) images or (n,) labels.

    Returns:
        bytes: gzip (level 9, mtime 0, no stored name) of the IDX header
        (magic 2051 or 2049, big-endian sizes) and the row-major payload.
    """
    array = np.ascontiguousarray(array, dtype=np.uint8)
    header = bytes([0, 0, 0x08, array.ndim]) + b"".join(
        size.to_bytes(4, "big") for size in array.shape
    )
    return gzip.compress(header + array.tobytes(), compresslevel=9, mtime=0)


def provenance(seed, train_per_class, test_per_class, outputs):
    """The text of PROVENANCE.md; `outputs` maps file name -> bytes written."""
    sources = "\n".join(
        f"| {name} | {digest} |" for name, digest in SOURCE_SHA256.items()
    )
    written = "\n".join(
        f"| {name} | {len(data):,} | {hashlib.sha256(data).hexdigest()} |"
        for name, data in sorted(outputs.items())
    )
    command = (
        "python scripts/make_embedded_data.py ../shared/datasets "
        f"--seed {seed} --train-per-class {train_per_class} "
        f"--test-per-class {test_per_class}"
    )
    n_train, n_test = 10 * train_per_class, 10 * test_per_class
    return f"""# fashion-mnist-small: provenance and licence

A stratified subset of Fashion-MNIST, 28 x 28 uint8 images:

- train: {n_train:,} images, {train_per_class} per class
- test: {n_test:,} images, {test_per_class} per class

It is in the original IDX format (gzipped), so `labcore.data.read_idx` reads
it exactly as it reads the full dataset. It is the default dataset of
Composable Labs (`fashion_mnist_small`) and works offline.

## Source

GitHub `zalandoresearch/fashion-mnist`, `data/fashion/`, commit
`b2617bb6d3ffa2e429640350f613e3291e10b141`, the four original files (as kept
in `shared/datasets/fashion-mnist/`, see its README). The script refuses
files whose SHA-256 differs from these:

| upstream file | sha256 |
|---|---|
{sources}

## How it was made

From the repository root, with the files above in `../shared/datasets/fashion-mnist/`:

    {command}

Selection rule (reproducible on any machine): for each class c in 0..9 and
each upstream split (train, t10k), rank the images of class c by
`sha256("fashion-mnist-small:{seed}:<split>:<index>")` (split = "train" or
"test", index = the image's 0-based position in the upstream file) and keep
the lowest-ranked {train_per_class} (train) or {test_per_class} (test) of each
class. The kept images stay in their upstream order. Files are gzip level 9
with mtime 0 and no stored name, so a rerun writes the same bytes
(`tests/unit/test_data.py` checks that).

| file | bytes | sha256 |
|---|---|---|
{written}

## Licence

Fashion-MNIST is released under the MIT licence:

    The MIT License (MIT)

    Copyright (c) 2017 Zalando SE, https://tech.zalando.com

    Permission is hereby granted, free of charge, to any person obtaining a
    copy of this software and associated documentation files (the
    "Software"), to deal in the Software without restriction, including
    without limitation the rights to use, copy, modify, merge, publish,
    distribute, sublicense, and/or sell copies of the Software, and to permit
    persons to whom the Software is furnished to do so, subject to the
    following conditions:

    The above copyright notice and this permission notice shall be included
    in all copies or substantial portions of the Software.

    THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS
    OR IMPLIED, INCLUDING BUT NOT LIMITED TO THE WARRANTIES OF
    MERCHANTABILITY, FITNESS FOR A PARTICULAR PURPOSE AND NONINFRINGEMENT. IN
    NO EVENT SHALL THE AUTHORS OR COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM,
    DAMAGES OR OTHER LIABILITY, WHETHER IN AN ACTION OF CONTRACT, TORT OR
    OTHERWISE, ARISING FROM, OUT OF OR IN CONNECTION WITH THE SOFTWARE OR THE
    USE OR OTHER DEALINGS IN THE SOFTWARE.

## Citation

Han Xiao, Kashif Rasul, Roland Vollgraf. Fashion-MNIST: a Novel Image
Dataset for Benchmarking Machine Learning Algorithms. arXiv:1708.07747, 2017.

    @online{{xiao2017/online,
      author       = {{Han Xiao and Kashif Rasul and Roland Vollgraf}},
      title        = {{Fashion-MNIST: a Novel Image Dataset for Benchmarking Machine Learning Algorithms}},
      date         = {{2017-08-28}},
      year         = {{2017}},
      eprintclass  = {{cs.LG}},
      eprinttype   = {{arXiv}},
      eprint       = {{cs.LG/1708.07747}},
    }}
"""


def build(source, out, seed=0, train_per_class=600, test_per_class=100):
    """Write the subset and PROVENANCE.md into `out`; return {name: bytes}.

    Raises:
        SystemExit: a source file is missing or not the published file, or
            the output would exceed 5 MiB.
    """
    folder = Path(source) / "fashion-mnist"
    for name, expected in SOURCE_SHA256.items():
        path = folder / name
        if not path.is_file():
            raise SystemExit(f"{path}: no such file (expected the upstream Fashion-MNIST file).")
        actual = sha256_of(path)
        if actual != expected:
            raise SystemExit(f"{path}: sha256 {actual}, expected {expected}.")

    outputs = {}
    for split, prefix, per_class in (
        ("train", "train", train_per_class),
        ("test", "t10k", test_per_class),
    ):
        images, labels = read_idx_pair(
            folder / f"{prefix}-images-idx3-ubyte.gz",
            folder / f"{prefix}-labels-idx1-ubyte.gz",
        )
        chosen = select_indices(labels, per_class, seed, split)
        outputs[f"{prefix}-images-idx3-ubyte.gz"] = encode_idx(images[chosen, :, :, 0])
        outputs[f"{prefix}-labels-idx1-ubyte.gz"] = encode_idx(labels[chosen])

    text = provenance(seed, train_per_class, test_per_class, outputs).encode("utf-8")
    total = sum(len(data) for data in outputs.values()) + len(text)
    if total > MAX_BYTES:
        raise SystemExit(
            f"the subset takes {total:,} bytes, over the {MAX_BYTES:,} allowed; "
            "lower --train-per-class."
        )
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    for name, data in outputs.items():
        (out / name).write_bytes(data)
    (out / "PROVENANCE.md").write_bytes(text)
    outputs["PROVENANCE.md"] = text
    return outputs


def main(argv=None):
    """Parse the command line and build the subset; print what was written."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "source",
        nargs="?",
        default=str(DEFAULT_SOURCE),
        help="folder holding fashion-mnist/ (default: ../shared/datasets)",
    )
    parser.add_argument("--out", default=str(DEFAULT_OUT), help="output folder")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--train-per-class", type=int, default=600)
    parser.add_argument("--test-per-class", type=int, default=100)
    args = parser.parse_args(argv)
    outputs = build(
        args.source, args.out, args.seed, args.train_per_class, args.test_per_class
    )
    for name, data in sorted(outputs.items()):
        print(f"{len(data):>10,}  {Path(args.out) / name}")
    print(f"{sum(len(data) for data in outputs.values()):>10,}  in all")


if __name__ == "__main__":
    main()
