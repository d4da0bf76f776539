"""What the workers will train on: GPU or CPU, which one, with which backend.

`probe()` asks a subprocess (`python -m labcore.device`, which prints one JSON
line) so that the Streamlit process never imports Keras or JAX; the
subprocess has a timeout, and any failure gives a CPU description with the
reason, so the sidebar never hangs. A GPU is reported only when `nvidia-smi`
names one *and* the Keras backend sees it (for TensorFlow, when Keras cannot
list devices, `nvidia-smi` alone decides). `describe()` turns a probe into
the sidebar's one line, and `queue_name()` into the name of the run queue
that the workers on that device serve.

Keras-free in the calling process.
"""

import json
import math
import os
import platform
import re
import shutil
import subprocess
import sys
from pathlib import Path

__all__ = ["default_slots", "describe", "probe", "queue_name", "slots"]

_REPO_ROOT = Path(__file__).resolve().parent.parent
_NVIDIA_SMI_TIMEOUT_S = 10.0


def probe(timeout_s=30.0):
    """Find the device in a subprocess.

    Args:
        timeout_s: float, how long the subprocess may take (importing the
            backend to confirm a GPU takes a few seconds).

    Returns:
        dict with "backend" (str: $KERAS_BACKEND or "tensorflow"), "device"
        ("GPU" or "CPU"), "name" (str: the GPU's or the CPU's model), "cores"
        (int: CPU cores this process may use) and "note" (str or None: why a
        GPU is not used, or why the probe failed).
    """
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, (str(_REPO_ROOT), env.get("PYTHONPATH"))))
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    try:
        completed = subprocess.run(
            [sys.executable, "-m", "labcore.device"],
            capture_output=True, text=True, timeout=timeout_s, env=env,
        )
        lines = completed.stdout.strip().splitlines()
        if completed.returncode != 0 or not lines:
            last_error = (completed.stderr.strip().splitlines() or ["no output"])[-1]
            raise RuntimeError(f"exit code {completed.returncode}: {last_error}")
        return json.loads(lines[-1])
    except subprocess.TimeoutExpired:
        reason = f"it took more than {timeout_s:g} s"
    except (OSError, ValueError, RuntimeError) as error:
        reason = str(error)
    return {**_cpu(_backend()), "note": f"The device probe failed ({reason}); assuming the CPU."}


def describe(probed):
    """The sidebar's one line for a probe.

    Args:
        probed: dict, as returned by `probe()`.

    Returns:
        str, e.g. "GPU · NVIDIA H100 80GB HBM3 (jax)" or
        "CPU · 2 cores · Intel Xeon Processor".
    """
    if probed.get("device") == "GPU":
        return f"GPU · {probed.get('name', 'unknown GPU')} ({probed.get('backend', '?')})"
    cores = probed.get("cores") or 1
    return f"CPU · {cores} core{'s' if cores != 1 else ''} · {probed.get('name', 'unknown CPU')}"


def queue_name(probed):
    """The name of the queue whose runs train on the probed device: "gpu" or "cpu".

    The app's supervisor and the CLI's worker both record their runs under
    this name, so the supervisor sees a run the CLI started on the same
    device and starts none beside it (`Store.claim_next`: one running run
    per name).

    Args:
        probed: dict, as returned by `probe()`.

    Returns:
        str, "gpu" when the workers train on a GPU, else "cpu".
    """
    return "gpu" if probed.get("device") == "GPU" else "cpu"


_MAX_SLOTS = 64


def default_slots(probed):
    """Runs the probed device trains at once unless LABCORE_SLOTS says otherwise.

    Two on a CPU with two cores or more: on this 2-core CPU (bench.slots,
    docs/PERFORMANCE.md) two workers finished small runs (a search trial)
    1.7x faster than one and larger ones (a lab step) about as fast, since
    a worker spends much of a short run importing, loading and compiling
    on one core. One on a GPU until a GPU has been measured.
    """
    return 2 if probed.get("device") != "GPU" and (probed.get("cores") or 1) >= 2 else 1


def slots(probed, environ=None):
    """How many runs the probed device trains at once: LABCORE_SLOTS, else `default_slots`.

    Args:
        probed: dict, as returned by `probe()`.
        environ: mapping or None (`os.environ`), read for LABCORE_SLOTS.

    Returns:
        (int, str or None): the slots, and why LABCORE_SLOTS was ignored
        (a value that is not an int in [1, 64]).
    """
    default = default_slots(probed)
    text = (os.environ if environ is None else environ).get("LABCORE_SLOTS", "").strip()
    if not text:
        return default, None
    try:
        count = int(text)
    except ValueError:
        count = 0
    if 1 <= count <= _MAX_SLOTS:
        return count, None
    return default, (f"LABCORE_SLOTS must be an int in [1, {_MAX_SLOTS}]; got {text!r}. "
                     f"Training {default} run{'s' if default > 1 else ''} at a time.")


def _detect():
    backend = _backend()
    gpu_name = _nvidia_gpu_name()
    note = None
    if gpu_name:
        seen, note = _backend_sees_gpu(backend, gpu_name)
        if seen:
            return {
                "backend": backend, "device": "GPU", "name": gpu_name,
                "cores": _cores(), "note": note,
            }
    return {**_cpu(backend), "note": note}


def _backend():
    return os.environ.get("KERAS_BACKEND") or "tensorflow"


def _nvidia_gpu_name():
    executable = shutil.which("nvidia-smi")
    if executable is None:
        return None
    try:
        completed = subprocess.run(
            [executable, "--query-gpu=name", "--format=csv,noheader"],
            capture_output=True, text=True, timeout=_NVIDIA_SMI_TIMEOUT_S,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    names = [line.strip() for line in completed.stdout.splitlines() if line.strip()]
    return names[0] if completed.returncode == 0 and names else None


def _backend_sees_gpu(backend, gpu_name):
    """(seen, note): whether `backend` can use the GPU that nvidia-smi names."""
    try:
        if backend == "jax":
            import jax

            seen = any(device.platform == "gpu" for device in jax.devices())
        elif backend == "torch":
            import torch

            seen = torch.cuda.is_available()
        else:
            import keras

            devices = keras.distribution.list_devices()
            seen = any(device.lower().startswith("gpu") for device in devices)
    except Exception as error:
        if backend == "tensorflow":
            return True, (
                f"Keras could not list devices ({type(error).__name__}); trusting nvidia-smi."
            )
        return False, f"nvidia-smi sees {gpu_name}, but the {backend} backend failed: {error}"
    if seen:
        return True, None
    return False, (
        f"nvidia-smi sees {gpu_name}, but the {backend} backend does not (a CPU-only build?)."
    )


def _cpu(backend):
    return {"backend": backend, "device": "CPU", "name": _cpu_name(), "cores": _cores()}


def _cpu_name():
    try:
        text = Path("/proc/cpuinfo").read_text(errors="replace")
    except OSError:
        text = ""
    for key in ("model name", "Model", "Hardware"):
        match = re.search(rf"^{key}\s*:\s*(.+)$", text, re.MULTILINE)
        if match:
            name = match.group(1)
            break
    else:
        name = platform.processor() or platform.machine() or "unknown CPU"
    # "Intel(R) Xeon(R) Processor" reads better as "Intel Xeon Processor".
    return " ".join(re.sub(r"\((R|TM|tm)\)", "", name).split())


def _cores():
    """CPU cores this process may use: affinity, capped by a cgroup v2 quota."""
    if hasattr(os, "sched_getaffinity"):
        cores = len(os.sched_getaffinity(0))
    else:
        cores = os.cpu_count() or 1
    try:
        quota, period = Path("/sys/fs/cgroup/cpu.max").read_text().split()
        if quota != "max":
            cores = min(cores, max(1, math.ceil(int(quota) / int(period))))
    except (OSError, ValueError):
        pass
    return cores


if __name__ == "__main__":
    print(json.dumps(_detect()), flush=True)
