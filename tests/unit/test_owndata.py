"""Uploaded datasets (`labcore.data.own`): real zips and .npz files, checked, stored and loaded like any dataset."""

import dataclasses
import io
import json
import re
import tomllib
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from labcore import data, kinds, sharing, spec, trainconfig
from labcore.data import own
from labcore.errors import DataError
from labcore.labs import LABS

ROOT = Path(__file__).resolve().parents[2]
MB = 1024 * 1024


@pytest.fixture(autouse=True)
def home(tmp_path, monkeypatch):
    """Each test its own data home: uploads never reach another test's dataset list."""
    monkeypatch.setenv("LABCORE_HOME", str(tmp_path / "home"))
    return tmp_path / "home"


def image_bytes(colour, fmt="PNG", size=(24, 20), seed=0):
    """A real PNG or JPEG of `colour` (RGB tuple, or an int for grey) with a little noise."""
    rng = np.random.default_rng(seed)
    channels = 3 if isinstance(colour, tuple) else 1
    pixels = np.clip(np.array(colour) + rng.integers(0, 30, (size[1], size[0], channels)), 0, 255).astype(np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(pixels.squeeze()).save(buffer, fmt)
    return buffer.getvalue()


def zip_bytes(files, compression=zipfile.ZIP_DEFLATED):
    """A zip of {member name: bytes}."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression) as archive:
        for name, content in files.items():
            archive.writestr(name, content)
    return buffer.getvalue()


def class_folders(classes=None, per_class=12, top=""):
    """{member name: image bytes} of class folders, PNGs and JPEGs mixed."""
    classes = classes or {"cats": (200, 40, 40), "dogs": (40, 40, 200)}
    return {f"{top}{name}/{i}.{'png' if i % 2 else 'jpg'}": image_bytes(colour, "PNG" if i % 2 else "JPEG", seed=i)
            for name, colour in classes.items() for i in range(per_class)}


def npz_bytes(**arrays):
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **arrays)
    return buffer.getvalue()


def good_npz_arrays(n=36, side=28):
    rng = np.random.default_rng(0)
    return {"x": rng.integers(0, 256, (n, side, side), dtype=np.uint8), "y": np.arange(n) % 3,
            "class_names": np.array(["zero", "one", "two"])}


def refused(content, filename, **options):
    """The problems `own.add` lists for an upload it must refuse."""
    with pytest.raises(own.UploadError) as caught:
        own.add(content, filename, **options)
    return caught.value.problems


# -- uploads that are stored --

def test_a_zip_of_class_folders_loads_through_splits_load_with_its_class_names():
    added = own.add(zip_bytes(class_folders()), "pets.zip", "My pets", size=32)
    info = added.info
    assert added.new and info.key.startswith("own_my_pets_") and info.title == "My pets (your data)"
    assert info.class_names == ("cats", "dogs") and info.image_shape == (32, 32, 3)
    assert added.images_per_class == {"cats": 12, "dogs": 12}
    # Two of each class's 12 (a sixth) are kept for testing.
    assert (info.n_train, info.n_test) == (20, 4)
    assert data.dataset_info(info.key) == info and info.key in data.DATASETS
    assert data.availability(info.key)[0]
    splits = data.load(info.key, val_fraction=0.1, seed=0)
    assert splits.x_train.shape == (18, 32, 32, 3) and splits.x_val.shape == (2, 32, 32, 3)
    assert splits.x_test.shape == (4, 32, 32, 3) and splits.info.class_names == ("cats", "dogs")
    # Cats are red, dogs blue: the labels follow the folders.
    red, blue = splits.x_test[..., 0].mean(axis=(1, 2)), splits.x_test[..., 2].mean(axis=(1, 2))
    assert ((red > blue) == (splits.y_test == 0)).all()


def test_the_stored_files_are_an_npz_of_splits_and_a_manifest(home):
    info = own.add(zip_bytes(class_folders()), "pets.zip", size=28).info
    folder = home / "own" / info.key
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["class_names"] == ["cats", "dogs"] and manifest["image_shape"] == [28, 28, 3]
    assert manifest["images_per_class"] == {"cats": 12, "dogs": 12} and manifest["created"] > 0
    assert info.key.endswith(manifest["sha256"][:8]) and info.title == "pets (your data)"
    x_train, y_train, x_test, y_test = data.load_arrays(info.key)
    assert x_train.dtype == np.uint8 and x_train.shape == (20, 28, 28, 3) and y_test.shape == (4,)


def test_one_top_folder_is_stripped_and_hidden_files_are_skipped():
    files = class_folders(top="pets/") | {"pets/.DS_Store": b"\0", "__MACOSX/pets/cats/._0.jpg": b"\0",
                                          "pets/cats/Thumbs.db": b"\0"}
    info = own.add(zip_bytes(files), "pets.zip").info
    assert info.class_names == ("cats", "dogs")


def test_an_npz_keeps_its_class_names_and_grey_images():
    arrays = good_npz_arrays()
    info = own.add(npz_bytes(**arrays), "digits.npz", size=28).info
    assert info.class_names == ("zero", "one", "two") and info.image_shape == (28, 28, 1)
    x_train, y_train, x_test, y_test = data.load_arrays(info.key)
    assert len(y_train) + len(y_test) == 36 and set(y_test) == {0, 1, 2}
    # 28x28 grey images are stored as they came.
    stored = np.concatenate([x_train, x_test])[..., 0]
    assert sorted(map(bytes, stored)) == sorted(map(bytes, arrays["x"]))


def test_an_npz_of_float_colour_images_is_resized_and_named_by_label():
    rng = np.random.default_rng(1)
    info = own.add(npz_bytes(x=rng.random((20, 40, 40, 3)), y=np.arange(20) % 2), "colour.npz", size=32).info
    assert info.class_names == ("0", "1") and info.image_shape == (32, 32, 3)


def test_colour_is_inferred_from_the_images_or_chosen():
    grey = class_folders({"dark": 40, "light": 200})
    assert own.add(zip_bytes(grey), "grey.zip").info.image_shape == (28, 28, 1)
    assert own.add(zip_bytes(grey), "grey.zip", "grey as rgb", channels=3).info.image_shape == (28, 28, 3)
    assert own.add(zip_bytes(class_folders()), "pets.zip", channels=1).info.image_shape == (28, 28, 1)


def test_the_same_upload_is_stored_once_and_a_used_name_refuses_other_images():
    content = zip_bytes(class_folders())
    first = own.add(content, "pets.zip")
    again = own.add(content, "pets.zip")
    assert not again.new and again.info == first.info
    assert refused(content, "pets.zip", size=32) == [
        f"name 'pets' is used by {first.info.key}, which holds other images; choose another name."]
    other = own.add(content, "pets.zip", "pets big", size=32).info
    # Other content is another key, so identical-run sharing never mixes the two.
    assert other.key != first.info.key
    assert sharing.run_key("train", {"dataset": other.key}) != sharing.run_key("train", {"dataset": first.info.key})


def test_a_stored_dataset_passes_the_train_validator_and_needs_no_network(home, monkeypatch):
    info = own.add(zip_bytes(class_folders()), "pets.zip").info
    model = spec.default_spec()
    model = dataclasses.replace(model, input_shape=info.image_shape,
                                task=dataclasses.replace(model.task, n_classes=2))
    config = {"spec": model.to_dict(), "train": trainconfig.TrainConfig(dataset=info.key, batch_size=8).to_dict()}
    assert [p for p in trainconfig.problems_for_run(config) if "dataset" in p] == []
    monkeypatch.delenv("LABCORE_OFFLINE", raising=False)
    (home / "own" / info.key / "data.npz").unlink()
    available, message = data.availability(info.key)
    assert not available and "upload the dataset again" in message
    with pytest.raises(DataError, match="upload the dataset again"):
        data.load_arrays(info.key)


# -- uploads that are refused, each problem named --

def symlink_zip():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, content in class_folders().items():
            archive.writestr(name, content)
        link = zipfile.ZipInfo("cats/link.png")
        link.external_attr = 0o120777 << 16
        archive.writestr(link, "/etc/passwd")
    return buffer.getvalue()


def undecodable_zip():
    return zip_bytes(class_folders() | {"cats/broken.png": b"\x89PNG not really"})


def lying_npz():
    """An .npz whose x header declares 7.8e15 bytes of images: numpy's allocation fails, it must be named."""
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(header, {"descr": "|u1", "fortran_order": False,
                                                  "shape": (10**13, 28, 28)})
    labels = io.BytesIO()
    np.save(labels, np.arange(20) % 2)
    return zip_bytes({"x.npy": header.getvalue() + bytes(100), "y.npy": labels.getvalue()})


MALFORMED = {
    "traversal": (lambda: zip_bytes(class_folders() | {"../evil.png": image_bytes(0)}), "pets.zip",
                  r"'\.\./evil\.png' points outside the archive; allowed: relative paths without '\.\.'"),
    "absolute path": (lambda: zip_bytes(class_folders() | {"/etc/evil.png": image_bytes(0)}), "pets.zip",
                      r"'/etc/evil\.png' points outside the archive"),
    "drive letter": (lambda: zip_bytes(class_folders() | {"C:/evil.png": image_bytes(0)}), "pets.zip",
                     r"'C:/evil\.png' points outside the archive"),
    "symlink": (symlink_zip, "pets.zip", r"cats/link\.png is a symbolic link; allowed: plain files"),
    "zip bomb": (lambda: zip_bytes(class_folders() | {"cats/bomb.png": bytes(4 * MB)}), "pets.zip",
                 r"cats/bomb\.png inflates \d+-fold; at most 100-fold is allowed"),
    "oversize upload": (lambda: bytes(own.MAX_UPLOAD_MB * MB + 1), "big.zip",
                        r"big\.zip: 50\.0 MB; at most 50 MB is allowed"),
    "undecodable image": (undecodable_zip, "pets.zip",
                          r"pets\.zip: cats/broken\.png cannot be decoded as a PNG or JPEG image"),
    "gif image": (lambda: zip_bytes(class_folders() | {"cats/anim.png": image_bytes(0, "GIF")}), "pets.zip",
                  r"cats/anim\.png cannot be decoded as a PNG or JPEG image"),
    "non-image file": (lambda: zip_bytes(class_folders() | {"cats/notes.txt": b"hello"}), "pets.zip",
                       r"cats/notes\.txt is not an image; allowed: \.png, \.jpg, \.jpeg"),
    "image outside a class folder": (lambda: zip_bytes(class_folders() | {"loose.png": image_bytes(0)}),
                                     "pets.zip", r"loose\.png is not in a class folder"),
    "nested too deep": (lambda: zip_bytes(class_folders() | {"cats/kittens/0.png": image_bytes(0)}), "pets.zip",
                        r"cats/kittens/0\.png is 2 folders deep; allowed: <class>/<image>"),
    "one class": (lambda: zip_bytes(class_folders({"cats": (1, 2, 3)})), "pets.zip",
                  r"classes found: cats \(1\); allowed: 2-100 classes"),
    "too few per class": (lambda: zip_bytes(class_folders() | class_folders({"owls": 9}, per_class=3)), "pets.zip",
                          r"class 'owls' has 3 images; each class needs at least 10"),
    "too many images": (lambda: zip_bytes({f"{c}/{i}.png": b"" for c in "ab" for i in range(10_001)}), "many.zip",
                        r"many\.zip: the number of images must be at most 20,000; got 20002"),
    "not a zip": (lambda: b"hello", "pets.zip", r"pets\.zip: not a readable zip"),
    "wrong file type": (lambda: b"hello", "pets.tar", r"pets\.tar: the file type must be '\.zip'"),
    "npz object array": (lambda: npz_bytes(x=np.array([{"a": 1}] * 20, dtype=object), y=np.arange(20) % 2),
                         "data.npz", r"data\.npz: x is an object array \(pickled Python objects, never loaded"),
    "npz missing key": (lambda: npz_bytes(x=good_npz_arrays()["x"], labels=np.arange(36) % 3), "data.npz",
                        r"no 'y' array"),
    "npz unknown key": (lambda: npz_bytes(**good_npz_arrays(), labels=np.arange(36)), "data.npz",
                        r"unknown key 'labels'; allowed keys: x, y, class_names"),
    "labels out of range": (lambda: npz_bytes(**good_npz_arrays() | {"y": np.arange(36) % 4}), "data.npz",
                            r"y holds 9 labels outside \[0, 3\) \(len\(class_names\)\), e\.g\. 3 at index 3"),
    "negative labels": (lambda: npz_bytes(**good_npz_arrays() | {"y": np.arange(36) % 3 - 1}), "data.npz",
                        r"labels outside \[0, 3\)"),
    "float labels": (lambda: npz_bytes(**good_npz_arrays() | {"y": np.arange(36) % 3 + 0.5}), "data.npz",
                     r"y must be a 1-D array of integer labels \(N,\); got 'float64 \(36,\)'"),
    "length mismatch": (lambda: npz_bytes(**good_npz_arrays() | {"y": np.arange(35) % 3}), "data.npz",
                        r"x has 36 images but y has 35 labels"),
    "wrong shape": (lambda: npz_bytes(**good_npz_arrays() | {"x": np.zeros((36, 28, 28, 2), np.uint8)}),
                    "data.npz", r"x's shape must be \(N, H, W\) or \(N, H, W, C\) with C 1 or 3"),
    "wrong dtype": (lambda: npz_bytes(**good_npz_arrays() | {"x": np.zeros((36, 28, 28), bool)}), "data.npz",
                    r"x's dtype must be uint8 \(or integers\) in \[0, 255\] or float in \[0, 1\]; got 'bool'"),
    "nan": (lambda: npz_bytes(**good_npz_arrays() | {"x": np.full((36, 28, 28), np.nan)}), "data.npz",
            r"x holds 28224 NaN or infinite values"),
    "float out of [0, 1]": (lambda: npz_bytes(**good_npz_arrays() | {"x": np.full((36, 28, 28), 2.0)}), "data.npz",
                            r"float x's values must be in \[0, 1\]"),
    "npz header declares too much": (lying_npz, "liar.npz", r"liar\.npz: x cannot be read \(MemoryError"),
    "not an npz": (lambda: b"hello", "data.npz", r"data\.npz: not a readable \.npz"),
    "markdown in a class folder": (lambda: zip_bytes(class_folders({"[cats](x.y)": 9, "dogs": 200})),
                                   "pets.zip", r"pets\.zip: class folder must be 1 to 40 letters, digits, spaces"),
    "markdown in class_names": (lambda: npz_bytes(**good_npz_arrays() | {"class_names": np.array(["a", "b", "*c*"])}),
                                "data.npz", r"data\.npz: class_names\[2\] must be 1 to 40 letters"),
    "npz too few per class": (lambda: npz_bytes(**good_npz_arrays(n=24)), "data.npz",
                              r"class 'zero' has 8 images; each class needs at least 10"),
}


@pytest.mark.parametrize("build, filename, message", MALFORMED.values(), ids=list(MALFORMED))
def test_a_malformed_upload_is_refused_with_the_problem_named(build, filename, message):
    problems = refused(build(), filename)
    assert any(re.search(message, problem) for problem in problems), problems


def test_every_problem_is_listed_at_once():
    files = class_folders() | {"../evil.png": b"", "cats/notes.txt": b"", "cats/kittens/0.png": b""}
    problems = refused(zip_bytes(files), "pets.zip")
    assert len(problems) == 3, problems
    problems = refused(npz_bytes(x=np.full((3, 8, 8, 2), np.nan), y=np.zeros(3)), "data.npz")
    assert [problem.split()[1] for problem in problems] == ["x's", "x", "y"]


@pytest.mark.parametrize("name", ["[click](http://example.com)", "**bold**", "x" * 41, "日本"])
def test_a_name_that_could_format_or_link_is_refused(name):
    assert refused(zip_bytes(class_folders()), "pets.zip", name=name)[0].startswith("name must be 1 to 40 letters")


def test_a_bad_name_size_or_channels_is_refused_before_reading():
    problems = refused(b"", "pets.zip", name="!!!", size=64, channels=2)
    assert refused(b"", "pets.zip", size=28.0, channels=True)[0:2] == [
        "size must be one of 28, 32; got 28.0.", "channels must be 1 (grey), 3 (RGB) or None (inferred); got True."]
    assert problems == [
        "name must be 1 to 40 letters, digits, spaces or _ . , ' & + ( ) -, one of them at least a-z or 0-9; "
        "got '!!!'.",
        "size must be one of 28, 32; got 64.",
        "channels must be 1 (grey), 3 (RGB) or None (inferred); got 2.",
    ]


def test_the_unpacked_size_is_limited(monkeypatch):
    monkeypatch.setattr(own, "MAX_UNPACKED_MB", 1)
    noise = np.random.default_rng(0).integers(0, 256, 2 * MB, dtype=np.uint8).tobytes()
    problems = refused(zip_bytes(class_folders() | {"cats/big.png": noise}, zipfile.ZIP_STORED), "pets.zip")
    assert problems[0] == "pets.zip: 2 MB unpacked; at most 1 MB is allowed."
    problems = refused(npz_bytes(x=np.zeros((30, 256, 256), np.uint8), y=np.arange(30) % 2), "data.npz")
    assert problems == ["data.npz: 2 MB unpacked; at most 1 MB is allowed."]


def test_the_limits_are_stated_and_the_server_accepts_exactly_the_upload_limit():
    text = own.limits_text()
    for shown in ("50 MB", "250 MB unpacked", "20,000 images", "2-100 classes", "at least 10 images",
                  "4096 px"):
        assert shown in text
    config = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())
    assert config["server"]["maxUploadSize"] == own.MAX_UPLOAD_MB
    assert config["server"]["fileWatcherType"] == "none"


@pytest.mark.parametrize("lab", LABS.values(), ids=list(LABS))
def test_a_dataset_uploaded_after_the_labs_were_imported_is_one_of_their_choices(lab):
    # The Streamlit process imports every lab's config at start; uploads come later.
    preset = next(iter(lab.part("config").PRESETS.values()))
    key = own.add(zip_bytes(class_folders()), "pets.zip").info.key
    found = kinds.problems_for(lab.kind, dataclasses.replace(preset, dataset=key).to_dict())
    assert not [problem for problem in found if problem.startswith("dataset must")], found
