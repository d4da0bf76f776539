"""How a running job reports: progress, per-epoch metrics, artifacts, result.

Runners (`training.train_run`, the labs' `run` functions, the `sleep` kind)
talk to a `Reporter` and never to the store, so the same runner works in a
worker process (`StoreReporter`, which writes to the run store) and in the
CLI (`ConsoleReporter`, which prints). A runner checks `cancelled()` often
(every batch) and raises `Cancelled` when it returns True.

Keras-free and Streamlit-free.
"""

import numbers
import sys
import tempfile
import time
from pathlib import Path
from typing import Protocol, runtime_checkable

from labcore.store import write_artifact

__all__ = ["BATCH_SERIES", "Cancelled", "ConsoleReporter", "Reporter", "StageReporter", "StoreReporter"]

# The series a Model Builder run's readings between epochs go under
# (`training.ReportingCallback`): a curve from the first batch, not the first epoch.
BATCH_SERIES = "train_batches"


class Cancelled(Exception):
    """Raised by a runner that stopped because its run was cancelled."""


@runtime_checkable
class Reporter(Protocol):
    """What a runner may tell the outside world while it works."""

    def progress(self, fraction: float, text: str) -> None:
        """Report how far the run is: fraction in [0, 1] and a short text."""

    def epoch(self, series: str, epoch: int, metrics: dict) -> None:
        """Report one epoch's metrics of one series ("train", "val", ...)."""

    def artifact(self, name: str, value) -> str:
        """Save bytes, a NumPy array or a dict under `name`; return its path."""

    def result(self, values: dict) -> None:
        """Merge values into the run's result."""

    def cancelled(self) -> bool:
        """Whether the run should stop (then raise `Cancelled`)."""


class StageReporter:
    """The reporter of one stage of a multi-stage run (a lab's step, an ensemble member).

    Its progress fills the stage's slice [start, end] of the run's bar and
    its texts name the stage; its epochs can continue those of an earlier
    stage (`epoch_offset`); `after_epoch(epoch)` runs after each reported
    epoch (e.g. to redraw reconstructions while an autoencoder trains).
    Everything else goes to the run's reporter unchanged.

    Args:
        reporter: the run's reporter.
        label: str, put before every progress text.
        start: float, where the stage's slice of the progress bar begins.
        end: float, where it ends.
        epoch_offset: int, added to every reported epoch.
        after_epoch: callable(epoch) or None.
    """

    def __init__(self, reporter, label, start=0.0, end=1.0, epoch_offset=0, after_epoch=None):
        self.reporter, self.label, self.start, self.end = reporter, label, start, end
        self.epoch_offset, self.after_epoch = epoch_offset, after_epoch

    @classmethod
    def share(cls, reporter, label, index, count, **kwargs):
        """The stage `index` of `count` equal shares of the run."""
        return cls(reporter, label, index / count, (index + 1) / count, **kwargs)

    def progress(self, fraction, text=""):
        self.reporter.progress(self.start + fraction * (self.end - self.start), f"{self.label} · {text}")

    def epoch(self, series, epoch, metrics):
        self.reporter.epoch(series, epoch + self.epoch_offset, metrics)
        if self.after_epoch is not None:
            self.after_epoch(epoch)

    def artifact(self, name, value):
        return self.reporter.artifact(name, value)

    def result(self, values):
        self.reporter.result(values)

    def cancelled(self):
        return self.reporter.cancelled()

    @property
    def store(self):
        """The run's store, where a stage looks up earlier runs (None outside a worker)."""
        return getattr(self.reporter, "store", None)

    @property
    def run_id(self):
        return getattr(self.reporter, "run_id", None)


class StoreReporter:
    """Reports of a worker process, written to the run store.

    Progress is throttled, since runners call it every batch: at most one
    write per `min_interval_s`, and `flush()` writes the last value held back
    (the worker calls it when the runner returns). Epoch metrics, artifacts
    and results are written at once. `cancelled()` reads the store at most
    every `cancel_check_s`, so runners may call it every batch.

    Args:
        store: labcore.store.Store.
        run_id: int, a running run.
        min_interval_s: float, least time between two progress writes.
        cancel_check_s: float, least time between two cancel-flag reads.
    """

    def __init__(self, store, run_id, min_interval_s=0.25, cancel_check_s=0.2):
        self.store = store
        self.run_id = run_id
        self.min_interval_s = min_interval_s
        self.cancel_check_s = cancel_check_s
        self._last_write = float("-inf")
        self._held = None
        self._last_check = float("-inf")
        self._cancelled = False

    def progress(self, fraction, text=""):
        """Record progress, or hold it back if the last write was too recent.

        Args:
            fraction: float in [0, 1].
            text: str.

        Returns:
            None.
        """
        now = time.monotonic()
        if now - self._last_write >= self.min_interval_s:
            self.store.set_progress(self.run_id, fraction, text)
            self._last_write = now
            self._held = None
        else:
            self._held = (fraction, text)

    def flush(self):
        """Write the progress held back by throttling, if any.

        Returns:
            None.
        """
        if self._held is not None:
            self.store.set_progress(self.run_id, *self._held)
            self._last_write = time.monotonic()
            self._held = None

    def epoch(self, series, epoch, metrics):
        """Store one epoch's metrics (and any progress held back).

        Args:
            series: str.
            epoch: int.
            metrics: dict of str -> float.

        Returns:
            None.
        """
        self.flush()
        self.store.add_metrics(self.run_id, series, epoch, metrics)

    def artifact(self, name, value):
        """Save an artifact of the run (see `Store.add_artifact`).

        Args:
            name: str.
            value: bytes, numpy.ndarray or dict.

        Returns:
            str, the file's path.
        """
        return str(self.store.add_artifact(self.run_id, name, value))

    def result(self, values):
        """Merge values into the run's result JSON.

        Args:
            values: dict.

        Returns:
            None.
        """
        self.store.merge_result(self.run_id, values)

    def cancelled(self):
        """Whether the run was cancelled, or is no longer running.

        Returns:
            bool; once True, stays True.
        """
        now = time.monotonic()
        if not self._cancelled and now - self._last_check >= self.cancel_check_s:
            self._last_check = now
            run = self.store.get_run(self.run_id)
            self._cancelled = run is None or run.cancel_requested or run.status != "running"
        return self._cancelled


class ConsoleReporter:
    """Reports of a run started from the command line, printed as lines.

    Progress lines are throttled to one per `min_interval_s`; epochs are
    printed as `train epoch 3: loss=0.4123 accuracy=0.8510`. Artifacts are
    saved under `artifact_dir`; result values are collected in `results`.

    Args:
        stream: text file to print to; None for sys.stdout.
        artifact_dir: str or Path, or None for a new temporary folder
            (created on the first artifact).
        min_interval_s: float, least time between two progress lines.
    """

    def __init__(self, stream=None, artifact_dir=None, min_interval_s=1.0):
        self.stream = stream
        self.artifact_dir = Path(artifact_dir) if artifact_dir is not None else None
        self.min_interval_s = min_interval_s
        self.results = {}
        self._last_line = float("-inf")

    def _print(self, line):
        print(line, file=self.stream or sys.stdout, flush=True)

    def progress(self, fraction, text=""):
        """Print a progress line, unless one was printed very recently.

        Args:
            fraction: float in [0, 1].
            text: str.

        Returns:
            None.
        """
        now = time.monotonic()
        if now - self._last_line >= self.min_interval_s:
            self._last_line = now
            self._print(f"[{100 * min(max(fraction, 0.0), 1.0):5.1f}%] {text}")

    def epoch(self, series, epoch, metrics):
        """Print one epoch's metrics.

        Args:
            series: str.
            epoch: int.
            metrics: dict of str -> float.

        Returns:
            None.
        """
        shown = " ".join(f"{key}={_format_number(value)}" for key, value in metrics.items())
        self._print(f"{series} epoch {epoch}: {shown}")

    def artifact(self, name, value):
        """Save an artifact file and print where it went.

        Args:
            name: str, see `labcore.store.Store.add_artifact`.
            value: bytes, numpy.ndarray or dict.

        Returns:
            str, the file's path.
        """
        if self.artifact_dir is None:
            self.artifact_dir = Path(tempfile.mkdtemp(prefix="labcore-artifacts-"))
        path, _ = write_artifact(self.artifact_dir, name, value)
        self._print(f"artifact {name}: {path}")
        return str(path)

    def result(self, values):
        """Collect result values in `results`.

        Args:
            values: dict.

        Returns:
            None.
        """
        self.results.update(values)

    def cancelled(self):
        """Never cancelled: Ctrl+C stops a console run.

        Returns:
            False.
        """
        return False


def _format_number(value):
    if isinstance(value, numbers.Real) and not isinstance(value, numbers.Integral):
        return f"{float(value):.4f}"
    return str(value)
