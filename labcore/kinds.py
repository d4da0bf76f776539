"""The job kinds registry: what a run's `kind` means, and its one validation path.

Each kind names, as "module:name" strings, its config class (a
`labcore.records.Record`), a Keras-free validator (the Streamlit process
calls it before queueing) and a runner (the worker calls it). Strings, not
imports, so that importing this module imports neither Keras nor the
runners' modules: a module is imported only when its part is first needed.

A run is validated when it is submitted (`problems_for`) and once more by
the worker before it starts (`parse`: a stored row could have been edited);
runners receive the parsed config and never validate again.

The labs' kinds come from `labcore.labs.LABS`; `train` is the Model
Builder's, and `feature_maps` draws what a finished `train` run's stem and
groups make of one test image (`labcore.featuremaps`). This module also
holds the `sleep` kind, a Keras-free fake job for queue tests and load
benchmarks.
"""

import dataclasses
import importlib
import os
import time

from labcore.errors import ConfigError, describe
from labcore.labs import LABS
from labcore.records import Record
from labcore.reporting import Cancelled

__all__ = ["KINDS", "Kind", "SleepConfig", "load_runner", "parse", "problems_for", "problems_for_sleep", "run_sleep"]


@dataclasses.dataclass(frozen=True)
class Kind:
    """One job kind.

    Args:
        name: str, the key in `KINDS` and the runs table's `kind`.
        title: str, the default title of its runs.
        config: str, "module:Class" of its config, a `Record`.
        validate: str, "module:function"; the function takes the config dict
            and returns a list of problem messages (empty when fine). Must
            not import Keras.
        run: str, "module:function"; the function takes (parsed config,
            reporter) and returns the result dict, which the worker stores.
            May import Keras.
    """

    name: str
    title: str
    config: str
    validate: str
    run: str


KINDS = {
    kind.name: kind
    for kind in (
        Kind("sleep", "Sleep (test job)", config="labcore.kinds:SleepConfig",
             validate="labcore.kinds:problems_for_sleep", run="labcore.kinds:run_sleep"),
        Kind("train", "Train a model", config="labcore.trainconfig:RunConfig",
             validate="labcore.trainconfig:problems_for_run", run="labcore.training:train_run"),
        Kind("feature_maps", "Feature maps", config="labcore.featuremaps:FeatureMapsConfig",
             validate="labcore.featuremaps:problems", run="labcore.featuremaps_runner:run"),
        *(
            Kind(lab.kind, lab.title, config=lab.reference("config", "Config"),
                 validate=lab.reference("recipe", "problems"), run=lab.reference("runner", "run"))
            for lab in LABS.values()
        ),
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


def parse(kind, config):
    """A stored config, validated and parsed for the kind's runner.

    Args:
        kind: str.
        config: dict, as stored.

    Returns:
        the kind's config Record.

    Raises:
        ConfigError: `problems_for` found any (all listed, one per line).
    """
    found = problems_for(kind, config)
    if found:
        raise ConfigError("\n".join(found))
    return _resolve(KINDS[kind].config).from_dict(config)


def load_runner(kind):
    """Import and return the runner of a kind (may import Keras).

    Args:
        kind: str.

    Returns:
        callable(parsed config, reporter) -> dict.

    Raises:
        ConfigError: an unknown kind.
        ImportError: the runner's module cannot be imported.
    """
    if kind not in KINDS:
        raise ConfigError(describe("kind", f"one of {sorted(KINDS)}", kind))
    return _resolve(KINDS[kind].run)


def _resolve(reference):
    module_name, _, name = reference.partition(":")
    return getattr(importlib.import_module(module_name), name)


# -- the sleep kind ------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class SleepConfig(Record):
    """A `sleep` run: fake epochs of sleep, with ways to fail on purpose.

    Args:
        epochs: int in [1, 100000].
        seconds_per_epoch: float in [0, 3600].
        fail_at_epoch: int >= 1 or None: raise RuntimeError when that epoch
            starts.
        crash_at_epoch: int >= 1 or None: end the process with exit code 3,
            as a segfaulting library would.
        ignore_cancel: bool: never look at the cancel flag, like a runner
            stuck in one long operation, so only SIGTERM stops it.
    """

    epochs: int = 3
    seconds_per_epoch: float = 0.1
    fail_at_epoch: int | None = None
    crash_at_epoch: int | None = None
    ignore_cancel: bool = False


_SLEEP_KEYS = sorted(field.name for field in dataclasses.fields(SleepConfig))
# How often the sleep job looks at the cancel flag; the reporter itself reads
# the store at most every 0.2 s.
_CANCEL_POLL_S = 0.05
_CRASH_EXIT_CODE = 3


def problems_for_sleep(config):
    """Validate a `sleep` config.

    Args:
        config: dict of `SleepConfig` fields, all optional.

    Returns:
        list of str, the problems.
    """
    found = [
        describe("sleep config key", f"one of {_SLEEP_KEYS}", key)
        for key in config
        if key not in _SLEEP_KEYS
    ]
    epochs = config.get("epochs", SleepConfig.epochs)
    if not _is_int(epochs) or not 1 <= epochs <= 100_000:
        found.append(describe("epochs", "an int in [1, 100000]", epochs))
    seconds = config.get("seconds_per_epoch", SleepConfig.seconds_per_epoch)
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
        config: SleepConfig.
        reporter: labcore.reporting.Reporter.

    Returns:
        dict `{"epochs": int, "final_loss": float}`.

    Raises:
        Cancelled: the run was cancelled.
        RuntimeError: on purpose, when the epoch `fail_at_epoch` starts.
    """
    epochs = config.epochs
    seconds_per_epoch = config.seconds_per_epoch
    for epoch in range(1, epochs + 1):
        if config.crash_at_epoch == epoch:
            os._exit(_CRASH_EXIT_CODE)
        if config.fail_at_epoch == epoch:
            raise RuntimeError(f"the sleep job failed on purpose at epoch {epoch}")
        started = time.monotonic()
        while True:
            if not config.ignore_cancel and reporter.cancelled():
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
