"""Your own data: read, check and store an uploaded image dataset.

A learner brings a `.zip` of class folders or an `.npz` of arrays; `add`
checks every file in it (an upload is untrusted: paths, links, zip bombs,
pickles, undecodable images), resizes every image with Pillow to one of
`IMAGE_SIZES`, splits it into train and test, and stores it in
`registry.own_dir()` as `<key>/data.npz` beside a `manifest.json`. From then
on the dataset is a key of `DATASETS` like any other, loaded by
`sources.load_arrays` in the worker, and it never needs the network.

Keys are `own_<name>_<8 hex digits of the stored arrays' hash>`: other
content makes another key, so identical-run sharing (`labcore.sharing`,
which keys runs by their config) can never mix two datasets. A name stands
for one content: uploading other content under a name already used is
refused, and uploading the same content again returns the stored dataset.

NumPy, Pillow and the standard library only: the Streamlit process imports it.
"""

import dataclasses
import hashlib
import io
import json
import os
import re
import shutil
import tempfile
import time
import zipfile
from pathlib import PurePosixPath

import numpy as np
from PIL import Image

from labcore.data.checks import is_int
from labcore.data.registry import OWN_MANIFEST, OWN_PREFIX, DATASETS, DatasetInfo, own_dir
from labcore.errors import DataError, describe

__all__ = [
    "CHANNELS",
    "IMAGE_SIZES",
    "MAX_CLASSES",
    "MAX_IMAGES",
    "MAX_IMAGE_SIDE",
    "MAX_NAME_LENGTH",
    "MAX_RATIO",
    "MAX_UNPACKED_MB",
    "MAX_UPLOAD_MB",
    "MIN_CLASSES",
    "MIN_IMAGES_PER_CLASS",
    "STORED_FILE",
    "Added",
    "UploadError",
    "add",
    "limits_text",
    "read_stored",
]

# The limits, stated in the app (`limits_text`) and enforced by `add`. The
# upload limit is also `server.maxUploadSize` in .streamlit/config.toml.
MAX_UPLOAD_MB = 50
MAX_UNPACKED_MB = 250
# Images are compressed already: a member that inflates 100-fold is a bomb.
MAX_RATIO = 100
MAX_IMAGES = 20_000
MIN_CLASSES, MAX_CLASSES = 2, 100
MIN_IMAGES_PER_CLASS = 10
# A PNG of 30,000 x 30,000 black pixels is a few kB: refuse it before decoding.
MAX_IMAGE_SIDE = 4096
IMAGE_SIZES = (28, 32)
# 1 grey, 3 RGB, None: grey when every image is grey, else RGB.
CHANNELS = (None, 1, 3)
MAX_NAME_LENGTH = 40
# A stratified sixth of each class is held out for testing (MNIST's 60k/10k).
TEST_FRACTION = 1 / 6
STORED_FILE = "data.npz"
MAX_PROBLEMS = 20

_MB = 1024 * 1024
_IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg")
# What archivers add beside the data: skipped, not refused.
_SKIPPED_FILES = {"__MACOSX", "Thumbs.db", "desktop.ini"}
_NPZ_KEYS = ("x", "y", "class_names")
# Every session may show a dataset's title and class names, in Markdown too:
# no characters that format, link or colour (`[`, `*`, `:`, `$`, ...).
_LABEL = re.compile(rf"[\w .,'&+()-]{{1,{MAX_NAME_LENGTH}}}")
_LABEL_ALLOWED = f"1 to {MAX_NAME_LENGTH} letters, digits, spaces or _ . , ' & + ( ) -"
# ITU-R BT.601 luma, the weights of Pillow's "L" and of `splits.load`.
_LUMA = np.array([0.299, 0.587, 0.114], dtype=np.float32)


class UploadError(DataError):
    """An upload `add` refuses; `problems` lists every reason, each naming the file or field.

    Args:
        problems: list of str, shown one per line.
    """

    def __init__(self, problems):
        if len(problems) > MAX_PROBLEMS:
            problems = problems[:MAX_PROBLEMS] + [f"... and {len(problems) - MAX_PROBLEMS} more problems."]
        super().__init__("\n".join(problems))
        self.problems = problems


@dataclasses.dataclass(frozen=True)
class Added:
    """What `add` stored.

    Args:
        info: DatasetInfo, the dataset's registry entry.
        images_per_class: dict, class name -> images stored (train and test).
        new: bool, False when the same content was stored already.
    """

    info: DatasetInfo
    images_per_class: dict
    new: bool


def limits_text():
    """The limits in one sentence, for the upload box's caption."""
    return (
        f"A .zip of PNG/JPEG images in one folder per class (the folder's name is the class; one top folder "
        f"around them is fine), or an .npz with `x` (N, H, W) or (N, H, W, C) with C 1 or 3, uint8 in [0, 255] "
        f"or float in [0, 1], `y` (N,) integer labels and optional `class_names`. At most {MAX_UPLOAD_MB} MB "
        f"({MAX_UNPACKED_MB} MB unpacked), {MAX_IMAGES:,} images, images up to {MAX_IMAGE_SIDE} px a side; "
        f"{MIN_CLASSES}-{MAX_CLASSES} classes, at least {MIN_IMAGES_PER_CLASS} images each. Every image is "
        f"stretched to the size chosen; a sixth of each class is kept for testing. Datasets added here are "
        f"stored on this server and listed for everyone who uses it."
    )


def add(content, filename, name="", *, size=28, channels=None):
    """Check an uploaded dataset, resize its images and store it as a registered dataset.

    Args:
        content: bytes, the uploaded file.
        filename: str, its name; ".zip" or ".npz" says which format it is.
        name: str, the title in the dataset pickers, 1 to `MAX_NAME_LENGTH`
            characters with a letter or digit; empty = `filename` without
            its extension.
        size: int, one of `IMAGE_SIZES`: images become size x size.
        channels: 1 (grey), 3 (RGB) or None (grey when every image is grey,
            else RGB).

    Returns:
        Added: the stored dataset's entry and its images per class.

    Raises:
        UploadError: anything refused; `problems` lists every reason found,
            each naming the file, member or field and what is allowed.
    """
    name = (name or "").strip() or PurePosixPath(filename).stem
    problems = []
    slug = re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_")
    if not slug or not _LABEL.fullmatch(name):
        problems.append(describe("name", f"{_LABEL_ALLOWED}, one of them at least a-z or 0-9", name))
    if not is_int(size) or size not in IMAGE_SIZES:
        problems.append(describe("size", f"one of {', '.join(map(str, IMAGE_SIZES))}", size))
    if channels is not None and (not is_int(channels) or channels not in CHANNELS):
        problems.append(describe("channels", "1 (grey), 3 (RGB) or None (inferred)", channels))
    suffix = PurePosixPath(filename).suffix.lower()
    if suffix not in (".zip", ".npz"):
        problems.append(describe(f"{filename}: the file type", "'.zip' (class folders) or '.npz' (x and y)", suffix))
    if len(content) > MAX_UPLOAD_MB * _MB:
        problems.append(f"{filename}: {len(content) / _MB:.1f} MB; at most {MAX_UPLOAD_MB} MB is allowed.")
    if problems:
        raise UploadError(problems)
    read = _read_zip if suffix == ".zip" else _read_npz
    rgb, labels, class_names = read(content, filename, size)
    images = _with_channels(rgb, channels)
    return _store(images, labels, class_names, name=name, slug=slug, filename=filename)


def read_stored(path, n_classes, image_size):
    """(x_train, y_train, x_test, y_test) of a dataset `add` stored, checked against its manifest.

    Args:
        path: str or Path, the dataset's `data.npz`.
        n_classes: int, labels must lie in [0, n_classes).
        image_size: (height, width) the manifest says.

    Returns:
        uint8 arrays: images (count, height, width, channels), labels (count,).

    Raises:
        DataError: the file is unreadable or does not match its manifest.
    """
    names = ("x_train", "y_train", "x_test", "y_test")
    try:
        with np.load(path, allow_pickle=False) as archive:
            arrays = [archive[name] for name in names]
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as error:
        raise DataError(f"{path}: unreadable ({error}); upload the dataset again.") from error
    for x, y in (arrays[:2], arrays[2:]):
        if (x.dtype != np.uint8 or x.ndim != 4 or tuple(x.shape[1:3]) != tuple(image_size)
                or y.dtype != np.uint8 or y.shape != (len(x),) or (y.size and y.max() >= n_classes)):
            raise DataError(
                f"{path}: x {x.dtype} {x.shape} and y {y.dtype} {y.shape}, expected uint8 "
                f"(n, {image_size[0]}, {image_size[1]}, channels) and uint8 labels in [0, {n_classes}) (n,); "
                "upload the dataset again."
            )
    return tuple(arrays)


def _unpacked_problems(archive, filename):
    """The total size unpacked, from the central directory: zipfile never inflates a member beyond it."""
    total = sum(member.file_size for member in archive.infolist())
    if total > MAX_UNPACKED_MB * _MB:
        return [f"{filename}: {total / _MB:.0f} MB unpacked; at most {MAX_UNPACKED_MB} MB is allowed."]
    return []


def _unsafe(member_name):
    """Whether a member's path could land outside the folder it is unpacked in."""
    path = member_name.replace("\\", "/")
    return path.startswith("/") or re.match(r"[A-Za-z]:", path) is not None or ".." in path.split("/")


def _is_symlink(member):
    # Unix archivers keep the file mode in the high 16 bits.
    return (member.external_attr >> 16) & 0o170000 == 0o120000


def _skipped(parts):
    """macOS resource forks, hidden files and desktop files: not data, so not refused."""
    return any(part.startswith(".") or part in _SKIPPED_FILES for part in parts)


def _image_members(archive, filename):
    """The (class name, member) of every image, or UploadError with every layout problem."""
    problems = _unpacked_problems(archive, filename)
    files = []
    for member in archive.infolist():
        if _unsafe(member.filename):
            problems.append(f"{filename}: {member.filename!r} points outside the archive; "
                            "allowed: relative paths without '..'.")
        elif _is_symlink(member):
            problems.append(f"{filename}: {member.filename} is a symbolic link; allowed: plain files.")
        elif member.file_size > MAX_RATIO * max(member.compress_size, 1):
            problems.append(f"{filename}: {member.filename} inflates "
                            f"{member.file_size / max(member.compress_size, 1):.0f}-fold; "
                            f"at most {MAX_RATIO}-fold is allowed (a zip bomb?).")
        elif not member.is_dir() and not _skipped(PurePosixPath(member.filename).parts):
            files.append(member)
    files.sort(key=lambda member: member.filename)
    paths = [PurePosixPath(member.filename).parts for member in files]
    # One top folder around the class folders is stripped.
    if len({parts[0] for parts in paths}) == 1 and any(len(parts) > 2 for parts in paths):
        paths = [parts[1:] for parts in paths]
    layout = "allowed: <class>/<image> or <top folder>/<class>/<image>"
    images = []
    for member, parts in zip(files, paths):
        if len(parts) != 2:
            where = "is not in a class folder" if len(parts) < 2 else f"is {len(parts) - 1} folders deep"
            problems.append(f"{filename}: {member.filename} {where}; {layout}.")
        elif PurePosixPath(parts[1]).suffix.lower() not in _IMAGE_SUFFIXES:
            problems.append(f"{filename}: {member.filename} is not an image; allowed: "
                            f"{', '.join(_IMAGE_SUFFIXES)} (hidden files and __MACOSX/ are skipped).")
        else:
            images.append((parts[0], member))
    counts = {}
    for class_name, _ in images:
        counts[class_name] = counts.get(class_name, 0) + 1
    problems += _count_problems(filename, counts)
    problems += [describe(f"{filename}: class folder", _LABEL_ALLOWED, class_name)
                 for class_name in counts if not _LABEL.fullmatch(class_name)]
    if problems:
        raise UploadError(problems)
    return images


def _count_problems(where, counts):
    """Too many images, too few or too many classes, too few images in a class."""
    problems = []
    total = sum(counts.values())
    if total > MAX_IMAGES:
        problems.append(describe(f"{where}: the number of images", f"at most {MAX_IMAGES:,}", total))
    if not MIN_CLASSES <= len(counts) <= MAX_CLASSES:
        found = ", ".join(map(str, counts)) or "none"
        problems.append(f"{where}: classes found: {found} ({len(counts)}); "
                        f"allowed: {MIN_CLASSES}-{MAX_CLASSES} classes.")
    for class_name, count in counts.items():
        if count < MIN_IMAGES_PER_CLASS:
            problems.append(f"{where}: class {class_name!r} has {count} images; "
                            f"each class needs at least {MIN_IMAGES_PER_CLASS}.")
    return problems


def _read_zip(content, filename, size):
    """RGB images (n, size, size, 3), labels and class names from a zip of class folders."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(content))
    except (zipfile.BadZipFile, OSError, ValueError) as error:
        raise UploadError([f"{filename}: not a readable zip ({error})."]) from error
    with archive:
        images = _image_members(archive, filename)
        class_names = sorted({class_name for class_name, _ in images})
        problems, decoded = [], []
        for _, member in images:
            try:
                data = archive.read(member)
            except (zipfile.BadZipFile, RuntimeError, NotImplementedError, EOFError, OSError) as error:
                # RuntimeError: encrypted; NotImplementedError: an unknown compression method.
                problems.append(f"{filename}: {member.filename} cannot be read from the zip ({error}).")
                continue
            decoded.append(_decode(data, f"{filename}: {member.filename}", size, problems))
    if problems:
        raise UploadError(problems)
    labels = np.array([class_names.index(class_name) for class_name, _ in images])
    return np.stack(decoded), labels, class_names


def _decode(data, where, size, problems):
    """One PNG or JPEG as RGB uint8 (size, size, 3), or None with its problem added."""
    try:
        # Only the PNG and JPEG parsers ever see the untrusted bytes.
        with Image.open(io.BytesIO(data), formats=["PNG", "JPEG"]) as image:
            if max(image.size) > MAX_IMAGE_SIDE:
                problems.append(f"{where} is {image.size[0]}x{image.size[1]}; "
                                f"allowed: at most {MAX_IMAGE_SIDE} px a side.")
                return None
            # A JPEG decodes straight to about the size needed: a large photo decodes 8x faster.
            image.draft("RGB", (size, size))
            return _resized(image.convert("RGB"), size)
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as error:
        problems.append(f"{where} cannot be decoded as a PNG or JPEG image ({type(error).__name__}: {error}).")
        return None


def _resized(image, size):
    """A Pillow image stretched to size x size, as a uint8 array."""
    return np.asarray(image.resize((size, size), Image.Resampling.LANCZOS), dtype=np.uint8)


def _read_npz(content, filename, size):
    """RGB images (n, size, size, 3), labels and class names from an .npz of x, y and class_names."""
    try:
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            too_big = _unpacked_problems(archive, filename)
        npz = None if too_big else np.load(io.BytesIO(content), allow_pickle=False)
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as error:
        raise UploadError([f"{filename}: not a readable .npz ({error})."]) from error
    if too_big:
        raise UploadError(too_big)
    with npz:
        problems = [f"{filename}: unknown key {key!r}; allowed keys: x, y, class_names (optional)."
                    for key in npz.files if key not in _NPZ_KEYS]
        problems += [f"{filename}: no {key!r} array; an .npz needs x (images) and y (labels)."
                     for key in ("x", "y") if key not in npz.files]
        arrays = {}
        for key in _NPZ_KEYS:
            if key not in npz.files:
                continue
            try:
                arrays[key] = npz[key]
            except (ValueError, MemoryError, OSError, EOFError, zipfile.BadZipFile) as error:
                # allow_pickle=False refuses object arrays: unpickling an upload would run its code.
                if "allow_pickle" in str(error):
                    problems.append(f"{filename}: {key} is an object array (pickled Python objects, never "
                                    f"loaded); save {key} as a numeric array.")
                else:
                    # MemoryError: a header that declares more data than the file holds.
                    problems.append(f"{filename}: {key} cannot be read ({type(error).__name__}: {error}).")
    if problems:
        raise UploadError(problems)
    x, y, class_names = _checked_arrays(filename, arrays)
    return np.stack([_resized(Image.fromarray(image).convert("RGB"), size) for image in x]), y, class_names


def _checked_arrays(filename, arrays):
    """x as uint8 (n, h, w[, 3]), y as int labels, and the class names, or UploadError listing every problem."""
    x, y = arrays["x"], arrays["y"]
    problems = []
    shape_ok = x.ndim in (3, 4) and (x.ndim == 3 or x.shape[3] in (1, 3)) and x.size > 0
    if not shape_ok:
        problems.append(describe(f"{filename}: x's shape", "(N, H, W) or (N, H, W, C) with C 1 or 3 and N > 0",
                                 x.shape))
    elif max(x.shape[1:3]) > MAX_IMAGE_SIDE:
        problems.append(describe(f"{filename}: x's image size", f"at most {MAX_IMAGE_SIDE} px a side", x.shape[1:3]))
    if x.dtype.kind == "f":
        if not np.isfinite(x).all():
            problems.append(f"{filename}: x holds {int((~np.isfinite(x)).sum())} NaN or infinite values; "
                            "allowed: finite values, float in [0, 1].")
        elif x.size and (x.min() < 0 or x.max() > 1):
            problems.append(describe(f"{filename}: float x's values", "in [0, 1]", (float(x.min()), float(x.max()))))
    elif x.dtype.kind in "iu":
        if x.size and (x.min() < 0 or x.max() > 255):
            problems.append(describe(f"{filename}: integer x's values", "in [0, 255]", (int(x.min()), int(x.max()))))
    else:
        problems.append(describe(f"{filename}: x's dtype", "uint8 (or integers) in [0, 255] or float in [0, 1]",
                                 str(x.dtype)))
    if y.ndim != 1 or y.dtype.kind not in "iu":
        problems.append(describe(f"{filename}: y", "a 1-D array of integer labels (N,)", f"{y.dtype} {y.shape}"))
    elif shape_ok and len(y) != len(x):
        problems.append(f"{filename}: x has {len(x)} images but y has {len(y)} labels; they must match.")
    names = arrays.get("class_names")
    if names is not None and (names.dtype.kind != "U" or names.ndim != 1 or len(set(names)) != len(names)):
        problems.append(describe(f"{filename}: class_names", "a 1-D array of distinct str",
                                 f"{names.dtype} {names.shape}"))
        names = None
    if problems:
        raise UploadError(problems)
    n_classes = len(names) if names is not None else min(int(y.max(initial=0)) + 1, MAX_CLASSES)
    bad = np.flatnonzero((y < 0) | (y >= n_classes))
    if bad.size:
        source = "len(class_names)" if names is not None else f"{MAX_CLASSES} classes at most"
        raise UploadError([f"{filename}: y holds {bad.size} labels outside [0, {n_classes}) ({source}), e.g. "
                           f"{int(y[bad[0]])} at index {int(bad[0])}."])
    class_names = [str(name) for name in names] if names is not None else [str(label) for label in range(n_classes)]
    counts = dict(zip(class_names, np.bincount(y, minlength=n_classes).tolist()))
    problems = _count_problems(filename, counts)
    problems += [describe(f"{filename}: class_names[{index}]", _LABEL_ALLOWED, class_name)
                 for index, class_name in enumerate(class_names) if not _LABEL.fullmatch(class_name)]
    if problems:
        raise UploadError(problems)
    if x.dtype.kind == "f":
        x = np.round(x * 255)
    x = x.astype(np.uint8)
    if x.ndim == 4 and x.shape[3] == 1:
        x = x[..., 0]
    return x, y.astype(np.int64), class_names


def _with_channels(rgb, channels):
    """RGB images as (n, h, w, channels): grey by luma, or kept RGB; None = grey when every pixel is grey."""
    if channels is None:
        channels = 1 if (rgb == rgb[..., :1]).all() else 3
    if channels == 3:
        return rgb
    return np.round(rgb @ _LUMA).astype(np.uint8)[..., np.newaxis]


def _test_indices(labels):
    """A seeded sixth of each class (at least one image), the same for the same labels."""
    rng = np.random.default_rng(0)
    picked = []
    for label in np.unique(labels):
        members = np.flatnonzero(labels == label)
        picked.append(rng.permutation(members)[: max(1, round(len(members) * TEST_FRACTION))])
    return np.sort(np.concatenate(picked))


def _store(images, labels, class_names, *, name, slug, filename):
    """Write data.npz and manifest.json under `own_dir()/<key>/`; the folder appears whole or not at all."""
    test = np.zeros(len(labels), dtype=bool)
    test[_test_indices(labels)] = True
    arrays = {"x_train": images[~test], "y_train": labels[~test].astype(np.uint8),
              "x_test": images[test], "y_test": labels[test].astype(np.uint8)}
    digest = hashlib.sha256(json.dumps(class_names).encode())
    for array in arrays.values():
        digest.update(array.tobytes())
    key = f"{OWN_PREFIX}{slug}_{digest.hexdigest()[:8]}"
    images_per_class = dict(zip(class_names, np.bincount(labels, minlength=len(class_names)).tolist()))
    if key in DATASETS:
        return Added(DATASETS[key], images_per_class, new=False)
    taken = [other for other in DATASETS if other.rpartition("_")[0] == f"{OWN_PREFIX}{slug}"]
    if taken:
        raise UploadError([f"name {name!r} is used by {taken[0]}, which holds other images; "
                           "choose another name."])
    height, width, channels = images.shape[1:]
    info = DatasetInfo(
        key=key,
        title=f"{name} (your data)",
        class_names=tuple(class_names),
        image_shape=(height, width, channels),
        n_train=len(arrays["y_train"]),
        n_test=len(arrays["y_test"]),
        source_note=(
            f"Uploaded from {filename} on {time.strftime('%Y-%m-%d %H:%M')}: {len(labels):,} images in "
            f"{len(class_names)} classes, resized to {height}x{width} {'grey' if channels == 1 else 'RGB'}."
        ),
    )
    manifest = dataclasses.asdict(info) | {"sha256": digest.hexdigest(), "images_per_class": images_per_class,
                                           "created": time.time()}
    root = own_dir()
    staging = None
    try:
        root.mkdir(exist_ok=True)
        # Written aside, then renamed: the registry never sees a half-written folder.
        staging = tempfile.mkdtemp(dir=root, prefix=".upload-")
        np.savez_compressed(os.path.join(staging, STORED_FILE), **arrays)
        with open(os.path.join(staging, OWN_MANIFEST), "w") as file:
            json.dump(manifest, file, indent=2)
        os.rename(staging, root / key)
    except OSError as error:
        if staging:
            shutil.rmtree(staging, ignore_errors=True)
        # Another session stored the same content first: that is the same dataset.
        if key not in DATASETS:
            raise UploadError([f"{root}: the dataset could not be stored ({error})."]) from error
    return Added(DATASETS[key], images_per_class, new=True)
