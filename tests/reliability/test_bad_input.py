"""Bad input, rejected cleanly: in the library, through jobs.submit as pages call it, and on the pages.

Each case is one row of a table: an input and the words its message must
hold, naming the input and what is allowed (pinned with `match=`). Every
test also checks that nothing already stored changed: a finished run with
metrics sits in each store the bad input could reach.
"""

import dataclasses
import gzip
import json
import math
import re
import struct

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from labcore import data, jobs, owners, spec
from labcore.errors import LabError, describe
from labcore.store import Store
from reliability_support import APP, APPTEST_TIMEOUT_S, finished_run, page, snapshot, tiny_train_config
from tests.support import signed

# Counted in the "bad inputs rejected cleanly" tallies (the good-path checks are not).
bad_input = pytest.mark.tally("bad_input")
bad_input_ui = pytest.mark.tally("bad_input_ui")

OWNER = "bad-input-owner"
DEFAULT = spec.default_spec().to_dict()


@pytest.fixture(scope="module")
def library_store(tmp_path_factory):
    """One store for the library cases, holding a finished run that must survive them all."""
    store = Store(tmp_path_factory.mktemp("bad-input") / "labcore.db")
    finished_run(store, owner=OWNER)
    return store


@pytest.fixture
def unchanged(library_store):
    """The library store; fails the test if a bad input changed anything in it."""
    before = snapshot(library_store)
    yield library_store
    assert snapshot(library_store) == before


def _with(path, value, base=DEFAULT):
    """A deep copy of a spec dict with one field set (path like "learner.groups.0.n_blocks")."""
    values = json.loads(json.dumps(base))
    *parents, last = path.split(".")
    node = values
    for key in parents:
        node = node[int(key)] if isinstance(node, list) else node[key]
    node[int(last) if isinstance(node, list) else last] = value
    return values


def _without(path):
    values = json.loads(json.dumps(DEFAULT))
    *parents, last = path.split(".")
    node = values
    for key in parents:
        node = node[int(key)] if isinstance(node, list) else node[key]
    del node[last]
    return values


# -- model specs: every field out of range, of the wrong type, empty, huge ---------------

ELEVEN = spec.StemSpec(kind="conv", kernel_size=11, padding="valid")
SPEC_CASES = {
    # id: (spec dict, words the message must hold)
    "input_shape-zero": (_with("input_shape", [28, 28, 0]), r"input_shape\[2\] must be an int in \[1, 512\]; got 0\."),
    "input_shape-two": (_with("input_shape", [28, 28]),
                        r"input_shape must be a tuple of 3 ints \(height, width, channels\); got \(28, 28\)\."),
    "input_shape-text": (_with("input_shape", "28x28"), r"input_shape must be a list; got '28x28'\."),
    "input_shape-huge": (_with("input_shape", [100_000, 28, 1]), r"input_shape\[0\] must be an int in \[1, 512\]; got 100000\."),
    "stem.kind": (_with("stem.kind", "pool"), r"stem\.kind must be one of 'conv', 'none'; got 'pool'\."),
    "stem.n_filters-zero": (_with("stem.n_filters", 0), r"stem\.n_filters must be an int in \[1, 1024\]; got 0\."),
    "stem.n_filters-huge": (_with("stem.n_filters", 10**400), r"stem\.n_filters must be an int in \[1, 1024\]; got 1000000"),
    "stem.n_filters-text": (_with("stem.n_filters", "32"), r"stem\.n_filters must be an int in \[1, 1024\]; got '32'\."),
    "stem.n_filters-float": (_with("stem.n_filters", 32.0), r"stem\.n_filters must be an int in \[1, 1024\]; got 32\.0\."),
    "stem.kernel_size": (_with("stem.kernel_size", 4), r"stem\.kernel_size must be one of 1, 3, 5, 7, 9, 11; got 4\."),
    "stem.strides": (_with("stem.strides", 3), r"stem\.strides must be one of 1, 2; got 3\."),
    "stem.padding": (_with("stem.padding", "full"), r"stem\.padding must be one of 'same', 'explicit', 'valid'; got 'full'\."),
    "stem.use_bias": (_with("stem.use_bias", "yes"), r"stem\.use_bias must be None, True or False; got 'yes'\."),
    "stem.pool-int": (_with("stem.pool", 1), r"stem\.pool must be True or False; got 1\."),
    "stem.kernel-too-big": (_with("stem", dataclasses.asdict(ELEVEN), _with("input_shape", [8, 8, 1])),
                            r"stem\.kernel_size must be at most 8 for a 'valid' convolution on the 8x8 input"),
    "learner.block": (_with("learner.block", "transformer"), r"learner\.block must be one of 'plain', .*; got 'transformer'\."),
    "learner.groups-empty": (_with("learner.groups", []), r"learner\.groups must be a tuple of 1 to 8 GroupSpecs; got \(\)\."),
    "learner.groups-nine": (_with("learner.groups", [{"n_filters": 8, "n_blocks": 1}] * 9),
                            r"learner\.groups must be a tuple of 1 to 8 GroupSpecs; got \(GroupSpec"),
    "learner.groups-dict": (_with("learner.groups", {"n_filters": 8}), r"learner\.groups must be a list; got \{'n_filters': 8\}\."),
    "group.n_blocks-zero": (_with("learner.groups.0.n_blocks", 0), r"learner\.groups\[0\]\.n_blocks must be an int in \[1, 16\]; got 0\."),
    "group.n_blocks-huge": (_with("learner.groups.2.n_blocks", 17), r"learner\.groups\[2\]\.n_blocks must be an int in \[1, 16\]; got 17\."),
    "group.n_filters-negative": (_with("learner.groups.1.n_filters", -16),
                                 r"learner\.groups\[1\]\.n_filters must be an int in \[1, 1024\]; got -16\."),
    "group.strides": (_with("learner.groups.0.strides", 3), r"learner\.groups\[0\]\.strides must be None or one of 1, 2; got 3\."),
    "group.missing-key": (_without("learner.groups.0.n_blocks"),
                          r"learner\.groups\[0\] is missing the key 'n_blocks'; required keys: n_filters, n_blocks\."),
    "group.not-a-dict": (_with("learner.groups.0", 16), r"learner\.groups\[0\] must be a dict; got 16\."),
    "task.kind": (_with("task.kind", "regressor"), r"task\.kind must be one of 'classifier', 'encoder', 'autoencoder'; got 'regressor'\."),
    "task.n_classes": (_with("task.n_classes", 1), r"task\.n_classes must be an int in \[2, 1000\]; got 1\."),
    "task.pooling": (_with("task.pooling", "min"), r"task\.pooling must be one of 'avg', 'max'; got 'min'\."),
    "task.dropout-one": (_with("task.dropout", 1.0), r"task\.dropout must be None or a float in \[0, 1\); got 1\.0\."),
    "task.noise-negative": (_with("task.noise", -0.1), r"task\.noise must be None or a float in \[0, 1\]; got -0\.1\."),
    "task.dense_initializer": (_with("task.dense_initializer", "zeros"), r"task\.dense_initializer must be None or one of 'he_normal'"),
    "task.decoder_filters": (_with("task.decoder_filters", [0]), r"task\.decoder_filters\[0\] must be an int in \[1, 1024\]; got 0\."),
    "task.output_activation": (_with("task.output_activation", "tanh"), r"task\.output_activation must be one of 'sigmoid', 'relu', 'linear'; got 'tanh'\."),
    "hyper.initializer-empty": (_with("hyper.initializer", ""), r"hyper\.initializer must be one of 'he_normal', .*; got ''\."),
    "hyper.l2-1e308": (_with("hyper.l2", 1e308), r"hyper\.l2 must be a float in \[0, 1\]; got 1e\+308\."),
    "hyper.input_noise-nan": (_with("hyper.input_noise", math.nan), r"hyper\.input_noise must be a float in \[0, 1\]; got nan\."),
    "hyper.bn_epsilon-zero": (_with("hyper.bn_epsilon", 0.0), r"hyper\.bn_epsilon must be a float in \(0, 0\.1\]; got 0\.0\."),
    "hyper.use_bias-none": (_with("hyper.use_bias", None), r"hyper\.use_bias must be True or False; got None\."),
    "hyper.relu_clip-zero": (_with("hyper.relu_clip", 0.0), r"hyper\.relu_clip must be None or a float in \(0, 1000\]; got 0\.0\."),
    "name-empty": (_with("name", ""), r"name must be 1 to 64 letters, digits, '_', '-' or '\.'; got ''\."),
    "name-huge": (_with("name", "x" * 10_000), r"name must be 1 to 64 letters, digits, '_', '-' or '\.'; got 'xxxx.*\.\.\.\."),
    "name-hostile": (_with("name", "../../etc/passwd"), r"name must be 1 to 64 letters, digits.*; got '\.\./\.\./etc/passwd'\."),
    "over-budget": (_with("learner.groups", [{"n_filters": 1024, "n_blocks": 16}]),
                    r"parameter count must be at most 10,000,000 \(the budget\); got 14[0-9]{7}\."),
    "part-wrong-container": (_with("stem", []), r"stem must be a dict; got \[\]\."),
    "unknown-key": (_with("colour", "red"), r"spec has an unknown key 'colour'; allowed keys: input_shape, stem, learner, task, hyper, name\."),
    "unknown-nested-key": (_with("hyper.momentum", 0.9), r"hyper has an unknown key 'momentum'; allowed keys: initializer, l2,"),
    "not-a-dict": ([DEFAULT], r"spec must be a dict; got \[\{"),
}


def _spec_problems(values):
    """The library's answer to a spec dict: from_dict's SpecError, or validate's."""
    spec.validate(spec.ModelSpec.from_dict(values))


@bad_input
@pytest.mark.parametrize("values, words", SPEC_CASES.values(), ids=SPEC_CASES.keys())
def test_bad_spec_is_refused_by_the_library_and_by_submit(values, words, unchanged):
    with pytest.raises(LabError, match=words):
        _spec_problems(values)
    runs_before = len(unchanged.list_runs())
    # The path a page takes: jobs.submit validates before a row is written.
    with pytest.raises(LabError, match=words):
        jobs.submit(unchanged, "train", {**tiny_train_config(), "spec": values}, OWNER)
    assert len(unchanged.list_runs()) == runs_before


# -- spec JSON: malformed or hostile ---------------------------------------------------------

JSON_CASES = {
    "deep-array": (b"[" * 100_000 + b"]" * 100_000, r"^upload\.json must be JSON nested a few levels deep, as a spec is"),
    "deep-object": (b'{"a":' * 50_000 + b"1" + b"}" * 50_000, r"^upload\.json must be JSON nested a few levels deep"),
    "deep-inside-a-field": (json.dumps(_with("stem.kind", json.loads("[" * 500 + "]" * 500))),
                            r"^stem\.kind must be one of 'conv', 'none'; got \[\[\[\["),
    "5000-digit-int": (b'{"stem": {"n_filters": ' + b"9" * 5000 + b"}}", r"^upload\.json must hold numbers of at most 4,300 digits"),
    "1e400": ('{"hyper": {"l2": 1e400}}', r"^hyper\.l2 must be a float in \[0, 1\]; got inf\."),
    "NaN-literal": ('{"hyper": {"l2": NaN}}', r"^hyper\.l2 must be a float in \[0, 1\]; got nan\."),
    "not-utf8": (b"\xff\xfe\x00{garbage", r"^upload\.json must be UTF-8 JSON text; got a byte that is not UTF-8 \(0xff at position 0\)"),
    "nul-bytes": (b"\x00\x00\x00", r"^upload\.json must be valid JSON; got text that is not \(line 1, column 1: Expecting value\)"),
    "empty": (b"", r"^upload\.json must be a JSON object; got an empty file\."),
    "truncated": (json.dumps(DEFAULT)[:40], r"^upload\.json must be valid JSON; got text that is not \(line 1, column"),
    "too-large": (b" " * 2_000_000 + b"{}", r"^upload\.json must be at most 1,000,000 bytes of JSON; got 2,000,002\."),
    "top-level-string": ('"hello"', r"^spec must be a dict; got 'hello'\."),
    "not-text": (12345, r"^upload\.json must be JSON text \(str or bytes\); got 12345\."),
}


@bad_input
@pytest.mark.parametrize("text, words", JSON_CASES.values(), ids=JSON_CASES.keys())
def test_hostile_spec_json_gets_a_message_never_a_traceback(text, words, unchanged):
    with pytest.raises(LabError, match=words):
        spec.validate(spec.parse_json(text, source="upload.json"))


def test_a_spec_exported_as_json_reads_back_equal():
    """The good path of the same reader: export, upload, same spec."""
    exported = json.dumps(spec.default_spec().to_dict(), indent=2)
    assert spec.parse_json(exported) == spec.default_spec()
    assert spec.parse_json(b"\xef\xbb\xbf" + exported.encode()) == spec.default_spec()


# -- training settings and job kinds, through jobs.submit -------------------------------------


def _train(**settings):
    return {**tiny_train_config(), "train": {**tiny_train_config()["train"], **settings}}


SUBMIT_CASES = {
    "learning_rate-zero": ("train", _train(learning_rate=0.0), r"train\.learning_rate must be a float in \(0, 10\]; got 0\.0\."),
    "learning_rate-negative": ("train", _train(learning_rate=-0.1), r"train\.learning_rate must be a float in \(0, 10\]; got -0\.1\."),
    "learning_rate-nan": ("train", _train(learning_rate=math.nan), r"train\.learning_rate must be a float in \(0, 10\]; got nan\."),
    "learning_rate-text": ("train", _train(learning_rate="0.001"), r"train\.learning_rate must be a float in \(0, 10\]; got '0\.001'\."),
    "epochs-zero": ("train", _train(epochs=0), r"train\.epochs must be an int in \[1, 500\]; got 0\."),
    "epochs-huge": ("train", _train(epochs=10**400), r"train\.epochs must be an int in \[1, 500\]; got 1000000"),
    "batch-larger-than-dataset": ("train", _train(batch_size=500),
                                  r"train\.batch_size must be an int in \[1, 180\] \(the training set has 180 images\); got 500\."),
    "batch-zero": ("train", _train(batch_size=0), r"train\.batch_size must be an int in \[1, 4096\]; got 0\."),
    "subset-tiny": ("train", _train(subset=5), r"train\.subset must be None or an int in \[10, 100000\]; got 5\."),
    "subset-above-dataset": ("train", _train(subset=50_000),
                             r"train\.subset must be None or an int in \[10, 6000\] \(the images of 'fashion_mnist_small'\); got 50000\."),
    "val_fraction": ("train", _train(val_fraction=0.9), r"train\.val_fraction must be a float in \[0, 0\.5\]; got 0\.9\."),
    "optimizer": ("train", _train(optimizer="adagrad"), r"train\.optimizer must be one of 'adam', 'sgd', 'rmsprop', 'adamw'; got 'adagrad'\."),
    "schedule-kind": ("train", _train(schedule={"kind": "zigzag"}), r"train\.schedule\.kind must be one of"),
    "warmup-past-epochs": ("train", _train(epochs=2, schedule={"warmup_epochs": 5}),
                           r"train\.schedule\.warmup_epochs must be an int in \[0, 1\] \(below train\.epochs"),
    "dataset-path": ("train", _train(dataset="../../etc/passwd"), r"train\.dataset must be 1 to 64 letters, digits.*; got '\.\./\.\./etc/passwd'\."),
    "dataset-unknown": ("train", _train(dataset="imagenet"), r"train\.dataset must be one of 'fashion_mnist_small', .*; got 'imagenet'\."),
    "train-unknown-key": ("train", _train(momentun=0.9), r"train has an unknown key 'momentun'; allowed keys: epochs, batch_size,"),
    "train-not-a-dict": ("train", {**tiny_train_config(), "train": [1]}, r"train must be a dict; got \[1\]\."),
    "config-unknown-key": ("train", {**tiny_train_config(), "extra": 1}, r"config has an unknown key 'extra'; allowed keys: spec, train\."),
    "task-not-classifier": ("train", {**tiny_train_config(), "spec": _with("task.kind", "encoder")},
                            r"spec\.task\.kind must be 'classifier' for a train run; got 'encoder'\."),
    "n_classes-mismatch": ("train", {**tiny_train_config(), "spec": _with("task.n_classes", 100)},
                           r"spec\.task\.n_classes must be 10 \(the classes of 'fashion_mnist_small'\); got 100\."),
    "input-smaller-than-images": ("train", {**tiny_train_config(), "spec": _with("input_shape", [16, 16, 1])},
                                  r"spec\.input_shape must be the dataset's image shape \(28, 28, 1\), or square and at least as large"),
    "unknown-kind": ("juggle", {}, r"kind must be one of \[.*'sleep'.*'train'.*\]; got 'juggle'\."),
    "config-not-a-dict": ("sleep", [1, 2], r"config must be a dict; got \[1, 2\]\."),
    "sleep-epochs-5000-digits": ("sleep", {"epochs": 10**5000}, r"epochs must be an int in \[1, 100000\]; got <int too large to show>\."),
}


@bad_input
@pytest.mark.parametrize("kind, config, words", SUBMIT_CASES.values(), ids=SUBMIT_CASES.keys())
def test_bad_run_config_is_refused_before_anything_is_queued(kind, config, words, unchanged):
    runs_before = len(unchanged.list_runs())
    with pytest.raises(LabError, match=words):
        jobs.submit(unchanged, kind, config, OWNER)
    assert len(unchanged.list_runs()) == runs_before


@bad_input
def test_every_problem_of_a_config_is_listed_at_once(unchanged):
    config = _train(learning_rate=0.0, epochs=0)
    config["spec"] = _with("learner.groups.0.n_blocks", 0)
    with pytest.raises(LabError) as raised:
        jobs.submit(unchanged, "train", config, OWNER)
    lines = str(raised.value).splitlines()
    assert "learner.groups[0].n_blocks must be an int in [1, 16]; got 0." in lines
    assert "train.epochs must be an int in [1, 500]; got 0." in lines
    assert "train.learning_rate must be a float in (0, 10]; got 0.0." in lines


# -- dataset files: corrupt, truncated, wrong magic, missing, outside the data folder -----------


def _idx(array, type_byte=0x08, magic_dims=None):
    array = np.asarray(array, dtype=np.uint8)
    dims = array.ndim if magic_dims is None else magic_dims
    return bytes([0, 0, type_byte, dims]) + b"".join(struct.pack(">I", n) for n in array.shape) + array.tobytes()


IMAGES = np.arange(2 * 4 * 4).reshape(2, 4, 4)
IDX_CASES = {
    # id: (file name, bytes, words)
    "corrupt-gzip": ("train-images-idx3-ubyte.gz", gzip.compress(_idx(IMAGES))[:-12] + b"\x00" * 12,
                     r"train-images-idx3-ubyte\.gz: corrupt or truncated gzip data .*; expected a complete IDX file\."),
    "truncated-payload": ("train-images-idx3-ubyte", _idx(IMAGES)[:-5],
                          r"train-images-idx3-ubyte: payload of 27 bytes, expected 32 \(dimensions 2 x 4 x 4 from the header\); the file is truncated\."),
    "truncated-header": ("train-images-idx3-ubyte", _idx(IMAGES)[:9],
                         r"train-images-idx3-ubyte: header of 9 bytes, expected 16; the file is truncated\."),
    "too-short": ("train-images-idx3-ubyte", b"\x00\x00", r"2 bytes, too short for an IDX header; expected an IDX image or label file\."),
    "wrong-magic-png": ("train-images-idx3-ubyte", b"\x89PNG\r\n\x1a\n" + bytes(64),
                        r"magic 2303741511, expected 2051 \(an IDX image file\); not an IDX file\."),
    "labels-for-images": ("train-images-idx3-ubyte", _idx(np.arange(3)),
                          r"magic 2049, expected 2051 \(an IDX image file\)\."),
    "wrong-type-byte": ("train-images-idx3-ubyte", _idx(IMAGES, type_byte=0x0D),
                        r"IDX data type byte 0x0d, expected 0x08 \(unsigned byte\)\."),
    "zero-dimension": ("train-images-idx3-ubyte", bytes([0, 0, 8, 3]) + struct.pack(">III", 0, 4, 4),
                       r"header dimensions \(0, 4, 4\), expected every size >= 1\."),
    "padded": ("train-images-idx3-ubyte", _idx(IMAGES) + b"\x00" * 7, r"payload of 39 bytes, expected 32 .*; 7 extra bytes at the end\."),
    "gigantic-header": ("train-images-idx3-ubyte", bytes([0, 0, 8, 3]) + struct.pack(">III", 60000, 60000, 60000),
                        r"header dimensions \(60000, 60000, 60000\) make 216000000000000 bytes, more than the 2147483648 this reader accepts\."),
}


@bad_input
@pytest.mark.parametrize("name, content, words", IDX_CASES.values(), ids=IDX_CASES.keys())
def test_bad_idx_file_is_named_with_what_was_expected(name, content, words, tmp_path, unchanged):
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(LabError, match=re.escape(str(tmp_path)) + ".*" + words):
        data.read_idx(path)


@bad_input
def test_missing_idx_file_is_named(tmp_path, unchanged):
    with pytest.raises(LabError, match=re.escape(str(tmp_path / "nope-idx3-ubyte.gz")) + r": no such file\."):
        data.read_idx(tmp_path / "nope-idx3-ubyte.gz")


@bad_input
def test_labels_out_of_range_are_named(tmp_path, unchanged):
    (tmp_path / "i-idx3-ubyte").write_bytes(_idx(IMAGES))
    (tmp_path / "l-idx1-ubyte").write_bytes(_idx([3, 12]))
    with pytest.raises(LabError, match=r"l-idx1-ubyte: label 12 at index 1, expected labels in \[0, 10\)\."):
        data.read_idx_pair(tmp_path / "i-idx3-ubyte", tmp_path / "l-idx1-ubyte")


@pytest.fixture
def empty_data_dir(tmp_path, monkeypatch):
    """An empty $LABCORE_DATA_DIR and Keras cache, offline: no dataset but the embedded one."""
    folder = tmp_path / "data"
    folder.mkdir()
    monkeypatch.setenv("LABCORE_DATA_DIR", str(folder))
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))
    monkeypatch.setenv("LABCORE_OFFLINE", "1")
    return folder


@bad_input
def test_missing_dataset_offline_says_where_to_put_the_files(empty_data_dir, unchanged):
    where = re.escape(str(empty_data_dir / "mnist"))
    with pytest.raises(LabError, match=r"mnist: not found on this machine; put the four original files "
                                       rf"\(train-images-idx3-ubyte\.gz, .*\) in {where}/ .*Not downloaded: \$LABCORE_OFFLINE is set\."):
        data.load_arrays("mnist")
    with pytest.raises(LabError, match=r"train\.dataset 'mnist' is not available: mnist: not found on this machine"):
        jobs.submit(unchanged, "train", _train(dataset="mnist"), OWNER)


@bad_input
@pytest.mark.parametrize("path", ["../../etc", "/etc", "link-out"], ids=["dotdot", "absolute", "symlink"])
def test_a_folder_outside_the_data_folder_is_refused(path, empty_data_dir, unchanged):
    (empty_data_dir / "link-out").symlink_to("/etc")
    with pytest.raises(LabError, match=rf"path must be a folder inside the data folder \({re.escape(str(empty_data_dir))} "
                                       rf"or .*; set LABCORE_DATA_DIR to change it\); got '{re.escape(path)}'\."):
        data.load_idx_folder(path)


@bad_input
def test_describe_words_values_that_cannot_be_printed():
    """A 5,000-digit int and a list nested 100,000 deep still give a message."""
    deep = []
    for _ in range(100_000):
        deep = [deep]
    assert describe("epochs", "an int", 10**5000) == "epochs must be an int; got <int too large to show>."
    assert describe("stem.kind", "'conv'", deep) == "stem.kind must be 'conv'; got <list too large to show>."


# -- through the UI: the Model Builder --------------------------------------------------------


@pytest.fixture
def ui_store(monkeypatch):
    """The store the pages use, holding a finished run; fails the test if a bad input changed it."""
    from ui import state

    # If these pages start the process's supervisor, no spare worker: its
    # TensorFlow import would slow the timed fault tests that follow.
    monkeypatch.setenv("LABCORE_PREWARM", "0")

    shared = state.get_store()
    finished_run(shared, owner="someone-else")
    # Only finished runs: queued and running ones belong to other tests and move.
    before = {run_id: rows for run_id, rows in snapshot(shared).items() if rows[0] not in ("queued", "running")}
    count = len(shared.list_runs(limit=100_000))
    yield shared
    after = snapshot(shared)
    assert {run_id: after.get(run_id) for run_id in before} == before
    assert len(shared.list_runs(limit=100_000)) == count


def open_builder(owner=OWNER, token=None):
    """The Model Builder as `owner` (its signed token), or with a raw `token` in the URL."""
    at = AppTest.from_file(APP, default_timeout=APPTEST_TIMEOUT_S)
    at.query_params["owner"] = signed(owner) if token is None else token
    at.switch_page(page("builder")).run()
    assert not at.exception
    return at


@pytest.fixture(scope="module")
def builder():
    """One Model Builder session for the field and upload cases (a page open costs seconds, a case a rerun).

    Each case puts back what it changed; an upload needs nothing put back,
    since the next one replaces it.
    """
    return open_builder()


def _group_input(at, index, field):
    return next(n for n in at.number_input if n.key.endswith(f"_groups_{index}_{field}"))


def _train_button(at):
    return next(b for b in at.button if b.key == "builder_train")


def _total_params(at):
    return int(at.metric[0].value.replace(",", ""))


def _shown(at):
    """Every message on the page: errors in full, and any exception (a test failure here)."""
    return [e.value for e in at.error]


GROUP_CASES = {
    "n_blocks-zero": (0, "blocks", 0, r"^group 1: n_blocks must be an int in \[1, 16\]; got 0\.$"),
    "n_blocks-17": (1, "blocks", 17, r"^group 2: n_blocks must be an int in \[1, 16\]; got 17\.$"),
    "n_blocks-negative": (2, "blocks", -3, r"^group 3: n_blocks must be an int in \[1, 16\]; got -3\.$"),
    "n_filters-zero": (0, "filters", 0, r"^group 1: n_filters must be an int in \[1, 1024\]; got 0\.$"),
    "n_filters-huge": (1, "filters", 10**12, r"^group 2: n_filters must be an int in \[1, 1024\]; got 1000000000000\.$"),
}


@bad_input_ui
@pytest.mark.parametrize("index, field, value, words", GROUP_CASES.values(), ids=GROUP_CASES.keys())
def test_builder_names_a_group_field_out_of_range_and_will_not_train(index, field, value, words, ui_store, builder):
    at = builder
    good = _group_input(at, index, field).value
    _group_input(at, index, field).set_value(value).run()
    try:
        assert not at.exception
        assert any(re.search(words, message) for message in _shown(at)), _shown(at)
        # Disabled, so no click reaches the page (AppTest refuses one, as a
        # browser does); jobs.submit would refuse the spec anyway (see above).
        assert _train_button(at).disabled
        assert ui_store.list_runs(owner=OWNER) == []
    finally:
        _group_input(at, index, field).set_value(good).run()
    assert not _shown(at) and not _train_button(at).disabled


@bad_input_ui
def test_builder_names_an_empty_learner_and_too_many_groups(ui_store):
    at = open_builder()
    for _ in range(3):
        next(b for b in at.button if "Remove" in b.label).click().run()
    assert any("learner.groups must be a tuple of 1 to 8 GroupSpecs; got ()." in m for m in _shown(at))
    for _ in range(9):
        next(b for b in at.button if b.label == "Add group").click().run()
    assert not at.exception
    assert any(re.search(r"learner\.groups must be a tuple of 1 to 8 GroupSpecs; got \(GroupSpec", m) for m in _shown(at))
    assert _train_button(at).disabled


# The training fields have no widget bounds either (a browser would keep showing a refused value while
# the page trained with the last valid one): each bad value is shown, named under its field, and Train is off.
TRAIN_CASES = {
    "epochs-zero": ({"builder_epochs": 0}, r"^epochs must be an int in \[1, 500\]; got 0\.$"),
    "epochs-1000": ({"builder_epochs": 1000}, r"^epochs must be an int in \[1, 500\]; got 1000\.$"),
    "learning_rate-zero": ({"builder_lr": 0.0}, r"^learning rate must be a float in \(0, 10\]; got 0\.0\.$"),
    "learning_rate-negative": ({"builder_lr": -1.0}, r"^learning rate must be a float in \(0, 10\]; got -1\.0\.$"),
    "batch-5000": ({"builder_batch": 5000}, r"^batch size must be an int in \[1, 4096\]; got 5000\.$"),
    "subset-million": ({"builder_subset": 10**6},
                       r"^images to use \(0 = all\) must be None or an int in \[10, 100000\]; got 1000000\."),
    "warmup-negative": ({"builder_warmup": -1}, r"^warm-up epochs must be an int in \[0, 100\]; got -1\.$"),
    "batch-larger-than-training-set": ({"builder_batch": 1024, "builder_subset": 500},
                                       r"^batch size must be an int in \[1, 450\] \(the training set has 450 images\); got 1024\.$"),
    "warmup-past-epochs": ({"builder_epochs": 2, "builder_warmup": 5},
                           r"^warm-up epochs must be an int in \[0, 1\] \(below train\.epochs"),
}


@bad_input_ui
@pytest.mark.parametrize("values, words", TRAIN_CASES.values(), ids=TRAIN_CASES.keys())
def test_builder_names_a_bad_training_setting_under_its_field_and_will_not_train(values, words, ui_store, builder):
    at = builder
    good = {key: at.number_input(key=key).value for key in values}
    for key, value in values.items():
        at.number_input(key=key).set_value(value).run()
    try:
        assert not at.exception
        for key, value in values.items():  # what is shown is what was typed
            assert at.number_input(key=key).value == value
        assert any(re.search(words, message) for message in _shown(at)), _shown(at)
        assert _train_button(at).disabled
        assert ui_store.list_runs(owner=OWNER) == []
    finally:
        for key, value in good.items():
            at.number_input(key=key).set_value(value).run()
    assert not _shown(at) and not _train_button(at).disabled


UPLOAD_CASES = {
    "deep-nesting": (b"[" * 100_000 + b"]" * 100_000, r"hostile\.json must be JSON nested a few levels deep"),
    "5000-digit-int": (b'{"stem": {"n_filters": ' + b"9" * 5000 + b"}}", r"hostile\.json must hold numbers of at most 4,300 digits"),
    "not-utf8": (b"\xff\xfe\x00garbage", r"hostile\.json must be UTF-8 JSON text"),
    "empty": (b"", r"hostile\.json must be a JSON object; got an empty file\."),
    "not-json": (b"stem: conv\nlearner: plain\n", r"hostile\.json must be valid JSON"),
    "list": (b"[1, 2]", r"spec must be a dict; got \[1, 2\]\."),
    "unknown-key": (json.dumps(_with("stem.colour", "red")).encode(), r"stem has an unknown key 'colour'"),
    "n_filters-negative": (json.dumps(_with("stem.n_filters", -5)).encode(), r"stem\.n_filters must be an int in \[1, 1024\]; got -5\."),
    "n_filters-10e400": (json.dumps(_with("stem.n_filters", 10**400)).encode(), r"stem\.n_filters must be an int in \[1, 1024\]"),
    "kernel-size-4": (json.dumps(_with("stem.kernel_size", 4)).encode(), r"stem\.kernel_size must be one of 1, 3, 5, 7, 9, 11; got 4\."),
    "dropout-text": (json.dumps(_with("task.dropout", "abc")).encode(), r"task\.dropout must be None or a float in \[0, 1\); got 'abc'\."),
    "initializer-number": (json.dumps(_with("hyper.initializer", 5)).encode(), r"hyper\.initializer must be one of 'he_normal'"),
    "l2-1e308": (json.dumps(_with("hyper.l2", 1e308)).encode(), r"hyper\.l2 must be a float in \[0, 1\]; got 1e\+308\."),
    "block-unknown": (json.dumps(_with("learner.block", "transformer")).encode(), r"learner\.block must be one of"),
    "groups-text": (json.dumps(_with("learner.groups", "abc")).encode(), r"learner\.groups must be a list; got 'abc'\."),
    "too-large": (b" " * 2_000_000 + b"{}", r"hostile\.json must be at most 1,000,000 bytes of JSON"),
}


@bad_input_ui
@pytest.mark.parametrize("content, words", UPLOAD_CASES.values(), ids=UPLOAD_CASES.keys())
def test_builder_refuses_a_hostile_spec_upload_with_a_message_and_keeps_its_model(content, words, ui_store, builder):
    at = builder
    params_before = _total_params(at)
    at.file_uploader(key="builder_upload").set_value(("hostile.json", content, "application/json")).run()
    assert not at.exception, at.exception[0].value if at.exception else None
    assert any(re.search(words, message) and "This file was not loaded" in message for message in _shown(at)), _shown(at)
    assert _total_params(at) == params_before, "the editor keeps the model it had"
    assert not _train_button(at).disabled


@pytest.mark.parametrize("field, value", [("task.dropout", 0.95), ("hyper.relu_clip", 500.0), ("hyper.bn_epsilon", 1e-9)])
def test_builder_loads_a_valid_spec_whose_values_lie_beyond_the_old_widget_bounds(field, value, ui_store, builder):
    """These valid specs used to raise StreamlitValueAboveMaxError / BelowMinError on the page."""
    at = builder
    upload = json.dumps(_with(field, value)).encode()
    at.file_uploader(key="builder_upload").set_value(("edge.json", upload, "application/json")).run()
    assert not at.exception and not _shown(at)
    key_suffix = {"task.dropout": "_dropout", "hyper.relu_clip": "_clip", "hyper.bn_epsilon": "_eps"}[field]
    assert next(n for n in at.number_input if n.key.endswith(key_suffix)).value == value


@bad_input_ui
@pytest.mark.parametrize("token", [
    "<script>alert(1)</script>", "../../etc", "x" * 500, "a b", "\u0430lice", "ab", "",
    # Names the server never issued, or signed with another secret: a typed token owns nothing.
    "cli", "prebake", "alice-session", "alice-session.0123456789abcdef", owners.sign("cli", b"a guessed secret"),
], ids=["script", "dotdot", "huge", "space", "cyrillic-lookalike", "too-short", "empty", "cli", "prebake",
        "unsigned", "forged", "other-secret"])
def test_hostile_or_forged_owner_token_in_the_url_is_replaced_by_a_fresh_one(token, ui_store):
    at = open_builder(token=token)
    assert not at.exception
    kept = at.query_params["owner"]
    kept = kept[0] if isinstance(kept, list) else kept
    assert kept != token and re.fullmatch(r"[0-9a-f]{16}\.[0-9a-f]{16}", kept)
    assert at.session_state["owner"] == kept.split(".")[0] not in ("cli", "prebake")
