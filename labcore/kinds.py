"""The job kinds registry: what a run's `kind` means.

Each kind names, as "module:function" strings, a Keras-free validator (the
Streamlit process calls it before queueing) and a runner (the worker calls
it). Strings, not imports, so that importing this module imports neither
Keras nor the runners' modules: a module is imported only when its function
is first needed.

To add a kind, add one `Kind` to `KINDS`. Only kinds whose modules exist are
registered. This module also holds the `sleep` kind, a Keras-free fake job
for queue tests and load benchmarks.
"""

import importlib
import os
import time
from dataclasses import dataclass

from labcore.errors import ConfigError, describe
from labcore.reporting import Cancelled

__all__ = ["KINDS", "Kind", "load_runner", "problems_for", "problems_for_sleep", "run_sleep"]


@dataclass(frozen=True)
class Kind:
    """One job kind.

    Args:
        name: str, the key in `KINDS` and the runs table's `kind`.
        title: str, the default title of its runs.
        validate: str, "module:function"; the function takes the config dict
            and returns a list of problem messages (empty when fine). Must
            not import Keras.
        run: str, "module:function"; the function takes (config dict,
            reporter) and returns the result dict. May import Keras.
    """

    name: str
    title: str
    validate: str
    run: str


KINDS = {
    kind.name: kind
    for kind in (
        Kind(
            "sleep", "Sleep (test job)",
            validate="labcore.kinds:problems_for_sleep", run="labcore.kinds:run_sleep",
        ),
        Kind(
            "train", "Train a model",
            validate="labcore.trainconfig:problems_for_run", run="labcore.training:train_run",
        ),
        Kind("ensemble", "Ensemble", "labcore.labs.ensemble:problems", "labcore.labs.ensemble:run"),
        Kind("autoencoder", "AutoEncoder for CNN", "labcore.labs.autoencoder:problems", "labcore.labs.autoencoder:run"),
        Kind("regularization", "Regularization", "labcore.labs.regularization:problems", "labcore.labs.regularization:run"),
    )
}


def problems_for(kind, config):
    """List what is wrong with a run's kind and config, without running it.

    Args:
        kind: str.
        config: dict.

    Returns:
        list of str, one message per problem; empty when the run may be queued.
    """
    if kind not in KINDS:
        return [describe("kind", f"one of {sorted(KINDS)}", kind)]
    if not isinstance(config, dict):
        return [describe("config", "a dict", config)]
    try:
        validate = _resolve(KINDS[kind].validate)
    except ImportError as error:
        return [f"The {kind!r} kind is not available here: {error}."]
    return list(validate(config))


def load_runner(kind):
    """Import and return the runner of a kind (may import Keras).

    Args:
        kind: str.

    Returns:
        callable(config: dict, reporter) -> dict.

    Raises:
        ConfigError: an unknown kind.
        ImportError: the runner's module cannot be imported.
    """
    if kind not in KINDS:
        raise ConfigError(describe("kind", f"one of {sorted(KINDS)}", kind))
    return _resolve(KINDS[kind].run)


def _resolve(reference):
    module_name, _, function_name = reference.partition(":")
    return getattr(importlib.import_module(module_name), function_name)


# -- the sleep kind ------------------------------------------------------------

_SLEEP_DEFAULTS = {
    "epochs": 3,
    "seconds_per_epoch": 0.1,
    "fail_at_epoch": None,
    "crash_at_epoch": None,
    "ignore_cancel": False,
}
# How often the sleep job looks at the cancel flag; the reporter itself reads
# the store at most every 0.2 s.
_CANCEL_POLL_S = 0.05
_CRASH_EXIT_CODE = 3


def problems_for_sleep(config):
    """Validate a `sleep` config.

    Keys (all optional): `epochs` (int in [1, 100000], default 3),
    `seconds_per_epoch` (float in [0, 3600], default 0.1), `fail_at_epoch`
    (int >= 1 or None: raise RuntimeError when that epoch starts),
    `crash_at_epoch` (int >= 1 or None: end the process with exit code 3,
    as a segfaulting library would), `ignore_cancel` (bool: never look at the
    cancel flag, like a runner stuck in one long operation, so only SIGTERM
    stops it).

    Args:
        config: dict.

    Returns:
        list of str, the problems.
    """
    found = [
        describe("sleep config key", f"one of {sorted(_SLEEP_DEFAULTS)}", key)
        for key in config
        if key not in _SLEEP_DEFAULTS
    ]
    epochs = config.get("epochs", 3)
    if not _is_int(epochs) or not 1 <= epochs <= 100_000:
        found.append(describe("epochs", "an int in [1, 100000]", epochs))
    seconds = config.get("seconds_per_epoch", 0.1)
    if not _is_number(seconds) or not 0 <= seconds <= 3600:
        found.append(describe("seconds_per_epoch", "a number in [0, 3600]", seconds))
    for key in ("fail_at_epoch", "crash_at_epoch"):
        value = config.get(key)
        if value is not None and (not _is_int(value) or value < 1):
            found.append(describe(key, "an int >= 1 or None", value))
    if not isinstance(config.get("ignore_cancel", False), bool):
        found.append(describe("ignore_cancel", "a bool", config["ignore_cancel"]))
    return found


def run_sleep(config, reporter):
    """Run the `sleep` kind: fake epochs of sleep with fake metrics.

    Each epoch (numbered from 1) sleeps `seconds_per_epoch`, reporting
    progress and checking cancellation every 0.05 s, then reports
    `loss = 1/epoch` and `accuracy = 1 - 1/(epoch+1)` in the "train" series.

    Args:
        config: dict, see `problems_for_sleep`.
        reporter: labcore.reporting.Reporter.

    Returns:
        dict `{"epochs": int, "final_loss": float}`.

    Raises:
        Cancelled: the run was cancelled.
        RuntimeError: on purpose, when the epoch `fail_at_epoch` starts.
    """
    settings = {**_SLEEP_DEFAULTS, **config}
    epochs = settings["epochs"]
    seconds_per_epoch = settings["seconds_per_epoch"]
    for epoch in range(1, epochs + 1):
        if settings["crash_at_epoch"] == epoch:
            os._exit(_CRASH_EXIT_CODE)
        if settings["fail_at_epoch"] == epoch:
            raise RuntimeError(f"the sleep job failed on purpose at epoch {epoch}")
        started = time.monotonic()
        while True:
            if not settings["ignore_cancel"] and reporter.cancelled():
                raise Cancelled(f"cancelled during epoch {epoch}")
            elapsed = time.monotonic() - started
            share_of_epoch = min(elapsed / seconds_per_epoch, 1.0) if seconds_per_epoch else 1.0
            reporter.progress((epoch - 1 + share_of_epoch) / epochs, f"epoch {epoch}/{epochs}")
            if elapsed >= seconds_per_epoch:
                break
            time.sleep(min(_CANCEL_POLL_S, seconds_per_epoch - elapsed))
        reporter.epoch("train", epoch, {"loss": 1.0 / epoch, "accuracy": 1.0 - 1.0 / (epoch + 1)})
    return {"epochs": epochs, "final_loss": 1.0 / epochs}


def _is_int(value):
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value):
    return isinstance(value, (int, float)) and not isinstance(value, bool) and value == value
