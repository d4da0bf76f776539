"""Exports of a Model Builder run: the trained model, its spec, and a script that trains it with Keras alone.

One tiny `train` run through the CLI and its worker, then `python -m
labcore export` for each format, and the exported script run for real in
a fresh interpreter, on the embedded dataset's IDX files.
"""

import json
import os
import re
import subprocess
import sys

import pytest

from labcore import export
from labcore.errors import LabError
from labcore.store import Store
from tests.support import ROOT, tiny_cli_run

TINY_TRAIN = ("train", "--set", "epochs=1", "--set", "subset=300", "--set", "test_subset=100",
              "--set", "learning_rate=0.01", "--set", "label_smoothing=0.1")


def _labcore(*args, cwd=ROOT):
    # PYTHONPATH: labcore is not installed, and a test may run the CLI from another folder.
    return subprocess.run([sys.executable, "-m", "labcore", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=120, env={**os.environ, "PYTHONPATH": str(ROOT)})


@pytest.fixture(scope="module")
def run():
    finished = tiny_cli_run(*TINY_TRAIN)
    assert finished.status == "done"
    return finished


def test_the_keras_export_is_the_trained_model(run, tmp_path):
    import keras

    out = tmp_path / "model.keras"
    done = _labcore("export", str(run.id), "--format", "keras", "--out", str(out))
    assert done.returncode == 0, done.stderr
    model = keras.saving.load_model(out)
    assert model.count_params() == run.result["params"]
    assert model.name == run.config["spec"]["name"]


def test_the_spec_export_is_the_runs_spec(run, tmp_path):
    done = _labcore("export", str(run.id), "--format", "spec", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert json.loads((tmp_path / f"run{run.id}_spec.json").read_text()) == run.config["spec"]


def test_the_script_trains_the_same_model_with_keras_alone(run, tmp_path):
    out = tmp_path / "train_script.py"
    assert _labcore("export", str(run.id), "--format", "script", "--out", str(out)).returncode == 0
    source = out.read_text()
    assert "labcore" not in source.replace("Composable Labs", "")
    # Smoothed labels and the run's rates, as the run trained.
    assert "'label_smoothing': 0.1" in source and "'rates': [0.01]" in source
    # A fresh interpreter in another folder: nothing of this repository is importable there. (The browser
    # test downloads a script from the Runs page and runs it the same way.)
    trained = subprocess.run([sys.executable, str(out), "--epochs", "1", "--subset", "100"], cwd=tmp_path,
                             capture_output=True, text=True, timeout=300, env={"PATH": "/usr/bin:/bin",
                                                                             "KERAS_BACKEND": "tensorflow"})
    assert trained.returncode == 0, trained.stderr[-2000:]
    assert f"parameters: {run.result['params']}" in trained.stdout
    accuracy = float(re.search(r"test accuracy: ([0-9.]+)", trained.stdout).group(1))
    assert 0.0 <= accuracy <= 1.0


def test_what_cannot_be_exported_says_why(tmp_path):
    store = Store(tmp_path / "labcore.db")
    sleep = store.get_run(store.create_run("sleep", {}, owner="ann"))
    with pytest.raises(LabError, match=rf"^Run {sleep.id} is a 'sleep' run; only Model Builder runs"):
        export.exported(store, sleep, "keras")
    queued = store.get_run(store.create_run("train", {"spec": {}, "train": {}}, owner="ann"))
    with pytest.raises(LabError, match=rf"^Run {queued.id} stored no model.keras \(status queued\)"):
        export.exported(store, queued, "keras")
    with pytest.raises(LabError, match=r"^format must be one of keras, spec, script; got 'onnx'.$"):
        export.exported(store, queued, "onnx")


def test_the_cli_names_a_missing_run():
    done = _labcore("export", "999999", "--format", "spec")
    assert done.returncode == 2
    assert re.match(r"error: Run 999999 is not in the store \(.*labcore.db\)\.", done.stderr)
