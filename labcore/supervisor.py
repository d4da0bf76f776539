"""The supervisor: runs a device's queue in worker processes, `slots` at a time.

A `Supervisor` (one per device and server process, typically held by
`st.cache_resource`) is a daemon thread that claims queued runs, owners in
turn (`labcore.queueing`), up to `slots` at once, and runs each in a fresh
worker process
(`python -m labcore.worker`, in its own session so a server restart does not
kill it). It watches the workers: a worker that dies without recording an
outcome fails its run with the reason (signal or exit code, and the log's
last lines); a cancelled run that does not stop by itself within
`cancel_grace_s` gets SIGTERM, then SIGKILL.

With `prewarm=True` the supervisor keeps one spare worker that has already
imported Keras (5-9 s on a small CPU) and waits for a run id on its stdin,
so a click on Train shows progress within about a second. The spare is
started only while a slot is free and nothing waits (with one slot: while
no run trains, since its import would steal the run's CPU);
each worker still runs exactly one run and exits, so memory goes back to the
system after every run.

Keras-free: the Streamlit process imports this module.
"""

import logging
import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from labcore.processes import ending, exit_reason, log_tail, pid_alive, signal_group
from labcore.store import TERMINAL_STATUSES, Store

__all__ = ["REPO_ROOT", "Supervisor", "SupervisorState", "run_to_end", "worker_command", "worker_env"]

_log = logging.getLogger(__name__)

# Workers (and Ray tasks) import labcore from here, whatever the server's working directory.
REPO_ROOT = Path(__file__).resolve().parent.parent
# How often an idle supervisor looks for runs whose worker died with no one
# watching it (its server process was killed).
_ORPHAN_SWEEP_S = 5.0


def worker_command(store, run_id, device="cpu", claimed=False):
    """The command line that runs one run in a worker process.

    Args:
        store: labcore.store.Store.
        run_id: int, or None for a spare worker that reads the (claimed)
            run id from its stdin once it has imported Keras.
        device: str, recorded when the worker claims a queued run itself.
        claimed: bool, True when the caller already claimed the run (the
            supervisor); False lets the worker claim a queued run (the CLI).

    Returns:
        list of str.
    """
    target = ["--spare"] if run_id is None else [str(run_id)]
    command = [sys.executable, "-m", "labcore.worker", *target, "--store", str(store.path), "--device", device]
    return command + ["--claimed"] if claimed or run_id is None else command


def worker_env(store):
    """The environment of a worker process: the repo importable, the store's home, unbuffered logs."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, (str(REPO_ROOT), env.get("PYTHONPATH"))))
    env["LABCORE_HOME"] = str(store.root)
    # The log is read while the run is going; block buffering would hide it.
    env["PYTHONUNBUFFERED"] = "1"
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    # A running worker, the pre-warmed spare and the device probe share one
    # GPU: each takes memory as it needs it, instead of JAX's default of 75%
    # of the card (TensorFlow's: all of it) for whichever process starts first.
    env.setdefault("XLA_PYTHON_CLIENT_PREALLOCATE", "false")
    env.setdefault("TF_FORCE_GPU_ALLOW_GROWTH", "true")
    return env


def run_to_end(store, run_id, timeout_s=None, device="cpu"):
    """Run one queued run in a worker process here and now, and return it when it has ended.

    What a script does without a server (the benches, the CLI's drivers):
    the worker claims the run itself, so a server's supervisor that claims
    it first just leaves this worker nothing to do. `labcore.executors`
    sends it to a Ray cluster instead when LABCORE_EXECUTOR=ray.

    Args:
        store: labcore.store.Store.
        run_id: int, a queued run.
        timeout_s: float or None, the most seconds to wait for the worker.
        device: str, the queue name recorded when the worker claims the run.

    Returns:
        `labcore.store.Run`, as the worker left it.

    Raises:
        subprocess.TimeoutExpired: the worker ran past `timeout_s`.
    """
    subprocess.run(worker_command(store, run_id, device), env=worker_env(store), timeout=timeout_s,
                   check=False, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return store.get_run(run_id)


@dataclass(frozen=True)
class SupervisorState:
    """What a supervisor is doing, for the sidebar.

    Attributes:
        running: bool, its thread is alive.
        device: str, the queue it serves.
        slots: int, runs it trains at once.
        run_ids: tuple of int, the runs its workers are running, oldest first.
        pids: tuple of int, those workers' process ids.
        workers_alive: int, how many of them have not exited yet.
        last_error: str or None, the last error its loop survived.
        spare_pid: int or None, the pre-warmed spare worker waiting for a run.
    """

    running: bool
    device: str
    slots: int
    run_ids: tuple
    pids: tuple
    workers_alive: int
    last_error: str | None
    spare_pid: int | None = None

    @property
    def run_id(self):
        """The oldest run its workers are running, or None."""
        return self.run_ids[0] if self.run_ids else None


@dataclass
class _Child:
    run_id: int
    process: subprocess.Popen
    log_path: Path
    stop_wanted_at: float | None = None
    term_sent_at: float | None = None
    kill_sent: bool = False


class Supervisor:
    """Runs a device's queue, up to `slots` worker processes at a time, in a daemon thread.

    Several supervisors (threads or server processes) may share one store:
    `Store.claim_next` hands each run to one of them and keeps at most
    `slots` runs at a time per device. When started, and every few seconds
    while idle, the supervisor marks running runs whose worker process is
    gone as interrupted (assumes all workers run on this machine).

    `stop()` stops the supervisor, not its worker: a running worker finishes
    its run and records it, and no supervisor starts another run on the
    device until it has.

    Args:
        store: labcore.store.Store, or the path of its database file (None
            for the default store).
        device: str, the name of the queue this serves, "cpu" or "gpu"
            (`labcore.device.queue_name`, as the app and the CLI name it).
        poll_s: float, seconds between two looks at the store and the worker.
        cancel_grace_s: float, how long a cancelled run may take to stop by
            itself before SIGTERM, and after SIGTERM before SIGKILL.
        prewarm: bool, keep a spare worker with Keras already imported.
        slots: int, runs to train at once (the app: `labcore.device.slots`).
    """

    def __init__(self, store=None, device="cpu", poll_s=0.2, cancel_grace_s=3.0, prewarm=False, slots=1):
        self.store = store if isinstance(store, Store) else Store(store)
        self.device = device
        self.poll_s = poll_s
        self.cancel_grace_s = cancel_grace_s
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = None
        self.slots = max(1, int(slots))
        self._children = {}
        self._last_error = None
        self._next_sweep = 0.0
        self.prewarm = prewarm
        self._spare = None

    def start(self):
        """Start the supervisor's thread (no-op if it is running).

        Returns:
            Supervisor, self.
        """
        if self._thread is None or not self._thread.is_alive():
            self._stop.clear()
            self._thread = threading.Thread(
                target=self._loop, name=f"labcore-supervisor-{self.device}", daemon=True
            )
            self._thread.start()
        return self

    def stop(self, timeout_s=5.0):
        """Stop the supervisor's thread; a running worker carries on.

        Args:
            timeout_s: float, how long to wait for the thread.

        Returns:
            None.
        """
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout_s)
        spare, self._spare = self._spare, None
        if spare is not None:
            # End of stdin tells a waiting spare to exit; a group kill covers
            # one still importing.
            spare.stdin.close()
            signal_group(spare.pid, signal.SIGTERM)
            spare.wait(timeout_s)

    def state(self):
        """What the supervisor is doing now.

        Returns:
            SupervisorState.
        """
        with self._lock:
            children, last_error = sorted(self._children.values(), key=lambda c: c.run_id), self._last_error
        spare = self._spare
        return SupervisorState(
            running=self._thread is not None and self._thread.is_alive(),
            device=self.device,
            slots=self.slots,
            run_ids=tuple(child.run_id for child in children),
            pids=tuple(child.process.pid for child in children),
            workers_alive=sum(child.process.returncode is None for child in children),
            last_error=last_error,
            spare_pid=spare.pid if spare is not None and spare.poll() is None else None,
        )

    def cluster(self):
        """The cluster the runs go to, for the sidebar; None: this machine's worker processes."""
        return None

    def _loop(self):
        while not self._stop.is_set():
            try:
                self._step()
            except Exception as error:
                # A locked database or a full disk must not end the queue for
                # good: log it, show it in state(), try again next poll.
                _log.exception("labcore job supervisor: step failed")
                with self._lock:
                    self._last_error = f"{type(error).__name__}: {error}"
            self._stop.wait(self.poll_s)

    def _step(self):
        for child in list(self._children.values()):
            self._watch(child)
        if not self._children:
            now = time.monotonic()
            if now >= self._next_sweep:
                self.store.mark_orphans_interrupted(pid_alive)
                self._next_sweep = now + _ORPHAN_SWEEP_S
        while len(self._children) < self.slots:
            run = self.store.claim_next(self.device, self.slots)
            if run is None:
                if self.prewarm:
                    self._keep_spare()
                return
            self._spawn(run)

    def _keep_spare(self):
        if self._spare is not None and self._spare.poll() is None:
            return
        log_path = self.store.root / "logs" / "spare.log"
        log_path.parent.mkdir(parents=True, exist_ok=True)
        with open(log_path, "ab") as log:
            self._spare = subprocess.Popen(
                worker_command(self.store, None, self.device), stdin=subprocess.PIPE, stdout=log,
                stderr=subprocess.STDOUT, env=worker_env(self.store), start_new_session=True,
            )

    def _hand_to_spare(self, run):
        """Give the claimed run to the spare worker; returns its process, or None."""
        spare, self._spare = self._spare, None
        if spare is None or spare.poll() is not None:
            return None
        try:
            spare.stdin.write(f"{run.id}\n".encode())
            spare.stdin.close()
        except OSError:
            signal_group(spare.pid, signal.SIGKILL)
            return None
        return spare

    def _spawn(self, run):
        log_path = self.store.log_path(run.id)
        command = worker_command(self.store, run.id, self.device, claimed=True)
        try:
            process = self._hand_to_spare(run)
            if process is None:
                log_path.parent.mkdir(parents=True, exist_ok=True)
                with open(log_path, "ab") as log:
                    process = subprocess.Popen(
                        command,
                        stdin=subprocess.DEVNULL,
                        stdout=log,
                        stderr=subprocess.STDOUT,
                        env=worker_env(self.store),
                        start_new_session=True,
                    )
        except OSError as error:
            self.store.set_status(
                run.id, "failed", error=f"The worker could not be started: {error}"
            )
            return
        with self._lock:
            self._children[run.id] = _Child(run.id, process, log_path)
        self.store.set_pid(run.id, process.pid)

    def _watch(self, child):
        exit_code = child.process.poll()
        if exit_code is None:
            run = self.store.get_run(child.run_id)
            if run is None or run.cancel_requested or run.status in TERMINAL_STATUSES:
                self._escalate(child)
            return
        self._finish(child, exit_code)
        with self._lock:
            del self._children[child.run_id]

    def _escalate(self, child):
        # Also reached by a worker that recorded its outcome but hangs on
        # exit (a library's threads): it is stopped the same way.
        now = time.monotonic()
        if child.stop_wanted_at is None:
            child.stop_wanted_at = now
        elif child.term_sent_at is None:
            if now - child.stop_wanted_at >= self.cancel_grace_s:
                signal_group(child.process.pid, signal.SIGTERM)
                child.term_sent_at = now
        elif not child.kill_sent and now - child.term_sent_at >= self.cancel_grace_s:
            signal_group(child.process.pid, signal.SIGKILL)
            child.kill_sent = True

    def _finish(self, child, exit_code):
        run = self.store.get_run(child.run_id)
        if run is None or run.status != "running":
            return
        if run.cancel_requested:
            self.store.set_status(
                run.id, "cancelled",
                error=f"Stopped after the cancel request; the worker ended with {ending(exit_code)}.",
            )
        else:
            self.store.set_status(
                run.id, "failed", error=exit_reason(exit_code), traceback=log_tail(child.log_path)
            )
