"""labcore.device: the probe runs in a subprocess, never hangs, and reads well."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from labcore import device

REPO_ROOT = Path(__file__).resolve().parents[2]


def test_probe_reports_the_device_backend_and_cores():
    probed = device.probe()
    assert set(probed) == {"backend", "device", "name", "cores", "note"}
    assert probed["device"] in ("CPU", "GPU")
    assert probed["backend"] == (os.environ.get("KERAS_BACKEND") or "tensorflow")
    assert isinstance(probed["cores"], int) and probed["cores"] >= 1
    assert probed["name"] and "(R)" not in probed["name"]
    assert device.describe(probed).startswith(probed["device"] + " · ")


def test_probe_module_prints_one_json_line():
    completed = subprocess.run(
        [sys.executable, "-m", "labcore.device"],
        capture_output=True, text=True, cwd=REPO_ROOT, timeout=60,
    )
    assert completed.returncode == 0, completed.stderr
    assert json.loads(completed.stdout)["device"] in ("CPU", "GPU")


def test_probe_that_times_out_falls_back_to_the_cpu_with_the_reason():
    probed = device.probe(timeout_s=0.001)
    assert probed["device"] == "CPU" and probed["cores"] >= 1
    assert probed["note"] == (
        "The device probe failed (it took more than 0.001 s); assuming the CPU."
    )


def test_describe_words_cpu_and_gpu_probes():
    cpu = {
        "backend": "tensorflow", "device": "CPU", "name": "Intel Xeon Processor",
        "cores": 2, "note": None,
    }
    assert device.describe(cpu) == "CPU · 2 cores · Intel Xeon Processor"
    assert device.describe({**cpu, "cores": 1}) == "CPU · 1 core · Intel Xeon Processor"
    gpu = {
        "backend": "jax", "device": "GPU", "name": "NVIDIA H100 80GB HBM3",
        "cores": 16, "note": None,
    }
    assert device.describe(gpu) == "GPU · NVIDIA H100 80GB HBM3 (jax)"


def test_queue_is_named_after_the_probed_device_kind():
    # The app's supervisor and the CLI's worker name their queue this way: a
    # GPU probe must give "gpu", anything else (a failed probe too) "cpu".
    gpu = {"backend": "jax", "device": "GPU", "name": "NVIDIA H200", "cores": 16, "note": None}
    cpu = {"backend": "tensorflow", "device": "CPU", "name": "Intel Xeon Processor", "cores": 2,
           "note": "The device probe failed (exit code 1: boom); assuming the CPU."}
    assert device.queue_name(gpu) == "gpu"
    assert device.queue_name(cpu) == "cpu"
    assert device.queue_name(device.probe(timeout_s=0.001)) == "cpu"


@pytest.mark.parametrize("probed, expected", [({"device": "CPU", "cores": 2}, 2), ({"device": "CPU", "cores": 1}, 1),
                                               ({"device": "GPU", "cores": 16}, 1)])
def test_default_slots_follow_the_measurements(probed, expected):
    assert device.slots(probed, {}) == (expected, None)


@pytest.mark.parametrize("value, expected", [("3", 3), (" 1 ", 1), ("64", 64)])
def test_labcore_slots_overrides_the_default(value, expected):
    assert device.slots({"device": "CPU", "cores": 2}, {"LABCORE_SLOTS": value}) == (expected, None)


@pytest.mark.parametrize("value", ["0", "-1", "two", "65", "1.5"])
def test_a_bad_labcore_slots_is_named_with_what_is_allowed_and_the_default_is_used(value):
    slots, note = device.slots({"device": "CPU", "cores": 2}, {"LABCORE_SLOTS": value})
    assert slots == 2
    assert note == f"LABCORE_SLOTS must be an int in [1, 64]; got {value!r}. Training 2 runs at a time."
