"""Past one machine: the supervisor hands each claimed run to a Ray task instead of a local worker process.

`RaySupervisor` claims runs from the store exactly as `Supervisor` does
(owners in turn, `slots` at once) and runs each as one Ray task that
executes the same runner code as `labcore.worker`, on whichever node has
the resources (`num_cpus`, or a fraction of a GPU). Nothing assumes a
shared filesystem: the task has no store. Everything a runner reports
(progress, per-epoch metrics, artifacts such as images and weights, result
parts) goes into the run's `RunChannel`, a small Ray actor, and the
supervisor's thread drains every channel each poll and writes it to the
SQLite store, the store's one writer path. The channel also carries the
cancel flag the other way: the task's reporter reads it every few tenths
of a second, as a local worker reads the store's; a task that does not
stop within `cancel_grace_s` is force-cancelled (`ray.cancel(force=True)`).
And a task that continues an earlier run reads it through the channel too
(`ChannelStore`): the server answers from its store, weights included.

A task whose worker or node dies fails its run with Ray's reason. The run's
pid is the server's own: the channels live in the server's Ray driver, so
when the server dies its Ray runs cannot report any more, and the next
supervisor's orphan sweep marks them interrupted.

Switched on by `LABCORE_EXECUTOR=ray` (`labcore.executors.supervisor`),
with `LABCORE_RAY_ADDRESS` naming the cluster ("auto", "ray://head:10001";
unset: a local Ray started on demand). Keras-free; imports Ray, so only a
server that asked for it imports this module.
"""

import os
import pathlib
import tempfile
import time
import traceback
from dataclasses import dataclass

import ray
from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

from labcore import supervisor as local
from labcore.reporting import Cancelled, StoreReporter

__all__ = ["ChannelReporter", "ChannelStore", "RaySupervisor", "RunChannel", "answer", "connect", "execute"]

# Each run in a fresh worker process, as locally: Keras's memory goes back
# with it, and one run's global state (seeds, the mixed-precision policy)
# never leaks into the next.
_MAX_CALLS = 1


@ray.remote(num_cpus=0)
class RunChannel:
    """One run's messages from its task to the server; its cancel flag and the answers to its questions back."""

    def __init__(self):
        self._messages = []
        self._cancel = False
        self._answers = {}

    def put(self, message):
        self._messages.append(message)

    def drain(self):
        """Every message since the last drain, oldest first."""
        messages, self._messages = self._messages, []
        return messages

    def cancel(self):
        self._cancel = True

    def cancelled(self):
        return self._cancel

    def answer(self, question, value):
        self._answers[question] = value

    def answered(self, question):
        """(True, the answer) once the server has answered `question`, else (False, None)."""
        if question in self._answers:
            return True, self._answers.pop(question)
        return False, None


class ChannelStore:
    """The server's run store, as a Ray task sees it: through the run's channel.

    Writes are the run's own reports (`set_progress`, `add_metrics`,
    `add_artifact`, `merge_result`): each becomes a message that the
    server's supervisor applies to its store, under the same method name.
    Reads are of earlier runs, which a step that continues one needs (the
    regularization lab's lower rate, a search trial that inherits, a stored
    distillation teacher): the task asks, the supervisor answers at its
    next poll, and an artifact's bytes are written to a folder of the
    task's own. The task has no store and no shared filesystem.

    Args:
        channel: the run's `RunChannel`.
        folder: str, where fetched artifacts are written.
    """

    # The store's methods a task's reports call, and those a task may ask.
    WRITES = ("set_progress", "add_metrics", "add_artifact", "merge_result")
    QUESTIONS = ("get_run", "list_runs", "metrics", "artifact_bytes")

    def __init__(self, channel, folder):
        self.channel, self.folder, self._asked = channel, pathlib.Path(folder), 0

    # Writes name no run: the server knows which run the channel is for.
    def set_progress(self, run_id, fraction, text=""):
        self.channel.put.remote(("set_progress", fraction, text))

    def add_metrics(self, run_id, series, epoch, metrics):
        self.channel.put.remote(("add_metrics", series, epoch, metrics))

    def add_artifact(self, run_id, name, value):
        self.channel.put.remote(("add_artifact", name, value))
        return name

    def merge_result(self, run_id, values):
        self.channel.put.remote(("merge_result", values))

    def _ask(self, method, *args):
        self._asked += 1
        question = f"{method}-{self._asked}"
        self.channel.put.remote(("ask", question, method, args))
        while True:
            done, reply = ray.get(self.channel.answered.remote(question))
            if done:
                value, missing = reply
                if missing is not None:
                    raise KeyError(missing)
                return value
            time.sleep(0.05)

    def get_run(self, run_id):
        return self._ask("get_run", run_id)

    def list_runs(self, statuses=None, *, owner=None, kind=None, limit=200):
        return self._ask("list_runs", statuses, owner, kind, limit)

    def metrics(self, run_id):
        return self._ask("metrics", run_id)

    def artifact_path(self, run_id, name):
        """The artifact, fetched from the server into this task's folder.

        Raises:
            KeyError: the run has no artifact of this name.
        """
        path = self.folder / str(run_id) / name
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(self._ask("artifact_bytes", run_id, name))
        return path


def answer(store, method, args):
    """The server's answer to a task's question: (value, None), or (None, the KeyError's message)."""
    run_id = args[0]
    try:
        if method == "get_run":
            return store.get_run(run_id), None
        if method == "list_runs":
            statuses, owner, kind, limit = args
            return store.list_runs(statuses, owner=owner, kind=kind, limit=limit), None
        if method == "metrics":
            return store.metrics(run_id), None
        if method == "artifact_bytes":
            return store.artifact_path(run_id, args[1]).read_bytes(), None
    except KeyError as error:
        return None, str(error)
    raise ValueError(f"a Ray task may ask {ChannelStore.QUESTIONS}; it asked {method!r}")


class ChannelReporter(StoreReporter):
    """A Ray task's reporter: a `StoreReporter` on a `ChannelStore`.

    Its reports are throttled and written as a local worker's are, into the
    channel; only the cancel flag is read otherwise: from the channel, where
    the server sets it, not by asking for the run.

    Args:
        channel: a `RunChannel` actor handle.
        run_id: int, the run's id in the server's store.
        folder: str, where artifacts of earlier runs are fetched to.
        cancel_check_s: float, least time between two reads of the flag.
    """

    def __init__(self, channel, run_id, folder, cancel_check_s=0.3):
        super().__init__(ChannelStore(channel, folder), run_id, cancel_check_s=cancel_check_s)
        self.channel = channel

    def cancelled(self):
        now = time.monotonic()
        if not self._cancelled and now - self._last_check >= self.cancel_check_s:
            self._last_check = now
            self._cancelled = ray.get(self.channel.cancelled.remote())
        return self._cancelled


def execute(run_id, kind, config, channel):
    """The Ray task's body: run one run's runner and say how it ended.

    What `labcore.worker` does for a local run, minus the store: the
    config is parsed again, the kind's runner (the only Keras import) runs
    with a `ChannelReporter`, and the outcome is returned, never raised.

    Args:
        run_id: int, the run.
        kind: str, its kind.
        config: dict, its stored config.
        channel: its `RunChannel`.

    Returns:
        dict: "status" ("done", "cancelled" or "failed") and, per status,
        "result" or "error" and "traceback". The run's result gets
        "ray_node", the id of the node it runs on, as it starts.
    """
    from labcore import kinds, worker

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    with tempfile.TemporaryDirectory(prefix="labcore-ray-") as folder:
        reporter = ChannelReporter(channel, run_id, folder)
        # First, so the run says where it runs while it does.
        reporter.result({"ray_node": ray.get_runtime_context().get_node_id()})
        try:
            if reporter.cancelled():
                raise Cancelled("cancelled before it started")
            result = kinds.load_runner(kind)(kinds.parse(kind, config), reporter)
            reporter.flush()
            return {"status": "done", "result": result or {}}
        except Cancelled:
            return {"status": "cancelled"}
        except BaseException as error:
            return {"status": "failed", "error": worker.one_line(error), "traceback": traceback.format_exc()}


def connect(address=None):
    """Join the Ray cluster at `address` ("auto", "ray://host:port"), or start a local one (None).

    The tasks import labcore from this checkout (nodes need it at the same
    path, or installed) and see this process's dataset settings.
    """
    env = {"PYTHONPATH": str(local.REPO_ROOT), "TF_CPP_MIN_LOG_LEVEL": "2"}
    env.update({key: os.environ[key] for key in ("LABCORE_DATA_DIR", "LABCORE_OFFLINE", "KERAS_BACKEND")
                if key in os.environ})
    if not ray.is_initialized():
        ray.init(address=address, runtime_env={"env_vars": env}, include_dashboard=False, log_to_driver=False,
                 configure_logging=False)


@dataclass
class _Task:
    run_id: int
    ref: "ray.ObjectRef"
    channel: "ray.actor.ActorHandle"
    cancel_sent_at: float | None = None
    forced: bool = False


class RaySupervisor(local.Supervisor):
    """Runs a device's queue as Ray tasks, up to `slots` at a time, in a daemon thread.

    Args:
        store: labcore.store.Store, or the path of its database file.
        device: str, the queue it serves ("cpu" or "gpu").
        address: str or None, the cluster (`connect`).
        gpus_per_run: float, the GPUs each run asks for on the "gpu" queue
            (a fraction lets several small runs share a card).
        poll_s: float, seconds between two drains of the channels.
        cancel_grace_s: float, how long a cancelled run may take to stop by
            itself before it is force-cancelled.
        slots: int or None, runs handed to Ray at once; None = as many as
            the cluster has room for (its CPUs, or its GPUs over
            `gpus_per_run`), counted again as nodes join and leave.
    """

    def __init__(self, store=None, device="cpu", address=None, gpus_per_run=1.0, poll_s=0.2, cancel_grace_s=3.0,
                 slots=None):
        super().__init__(store, device=device, poll_s=poll_s, cancel_grace_s=cancel_grace_s, slots=slots or 1)
        connect(address)
        self._fixed_slots = slots is not None
        self.gpus_per_run = gpus_per_run
        resources = {"num_gpus": gpus_per_run} if device == "gpu" else {"num_cpus": 1}
        self._remote = ray.remote(max_calls=_MAX_CALLS, max_retries=0, **resources)(execute)
        # Channels stay on this process's node: a worker node that dies takes its runs, not their reports.
        self._here = NodeAffinitySchedulingStrategy(ray.get_runtime_context().get_node_id(), soft=False)

    def cluster(self):
        """The cluster as the sidebar shows it.

        Returns:
            dict: "nodes" (alive), "cpus" and "free_cpus", "gpus" and
            "free_gpus" (Ray's counts; GPUs may be fractions in use).
        """
        total, free = ray.cluster_resources(), ray.available_resources()
        return {"nodes": sum(1 for node in ray.nodes() if node["Alive"]), "cpus": total.get("CPU", 0.0),
                "free_cpus": free.get("CPU", 0.0), "gpus": total.get("GPU", 0.0), "free_gpus": free.get("GPU", 0.0)}

    def _step(self):
        if not self._fixed_slots:
            room = self.cluster()
            capacity = room["cpus"] if self.device != "gpu" else room["gpus"] / self.gpus_per_run
            self.slots = max(1, int(capacity))
        super()._step()

    def run_to_end(self, run_id, timeout_s=None):
        """Run one queued run on Ray here and now, and return it once it has ended.

        The path of scripts without a server (the CLI, prebake, the benches),
        as `labcore.supervisor.run_to_end` is for a local worker: only this
        run is claimed, never another in the queue, and this thread drains
        its channel. Not for a started supervisor.

        Raises:
            TimeoutError: the run did not end within `timeout_s`; it is
                force-cancelled first.
        """
        run = self.store.claim_run(run_id, self.device)
        if run is None:  # another supervisor claimed it, or it ended
            return self.store.get_run(run_id)
        self._spawn(run)
        deadline = None if timeout_s is None else time.monotonic() + timeout_s
        while run_id in self._children:
            if deadline is not None and time.monotonic() > deadline:
                ray.cancel(self._children[run_id].ref, force=True)
                raise TimeoutError(f"run {run_id} did not end on Ray within {timeout_s} s")
            self._watch(self._children[run_id])
            time.sleep(self.poll_s)
        return self.store.get_run(run_id)

    def state(self):
        with self._lock:
            tasks = sorted(self._children.values(), key=lambda task: task.run_id)
            last_error = self._last_error
        return local.SupervisorState(
            running=self._thread is not None and self._thread.is_alive(), device=self.device, slots=self.slots,
            run_ids=tuple(task.run_id for task in tasks), pids=(), workers_alive=len(tasks),
            last_error=last_error)

    def _spawn(self, run):
        channel = RunChannel.options(scheduling_strategy=self._here).remote()
        ref = self._remote.remote(run.id, run.kind, run.config, channel)
        with self._lock:
            self._children[run.id] = _Task(run.id, ref, channel)
        # The server's pid: the channel lives in its Ray driver (see the module's docstring).
        self.store.set_pid(run.id, os.getpid())
        self.store.set_progress(run.id, 0.0, "handed to Ray: waiting for a node with room")

    def _watch(self, task):
        self._deliver(task)
        finished, _ = ray.wait([task.ref], timeout=0)
        if not finished:
            run = self.store.get_run(task.run_id)
            if run is None or run.cancel_requested or run.status in local.TERMINAL_STATUSES:
                self._escalate(task)
            return
        self._deliver(task)
        self._record(task)
        ray.kill(task.channel)
        with self._lock:
            del self._children[task.run_id]

    def _deliver(self, task):
        """Write what the task reported since the last poll to the store, and answer what it asked."""
        for kind, *values in ray.get(task.channel.drain.remote()):
            if kind == "ask":
                question, method, args = values
                task.channel.answer.remote(question, answer(self.store, method, args))
            elif kind in ChannelStore.WRITES:
                getattr(self.store, kind)(task.run_id, *values)

    def _escalate(self, task):
        now = time.monotonic()
        if task.cancel_sent_at is None:
            task.channel.cancel.remote()
            task.cancel_sent_at = now
        elif not task.forced and now - task.cancel_sent_at >= self.cancel_grace_s:
            ray.cancel(task.ref, force=True)
            task.forced = True

    def _record(self, task):
        """Record the run's one outcome: the task's own, or why Ray could not finish it."""
        run = self.store.get_run(task.run_id)
        if run is None or run.status != "running":
            return
        try:
            outcome = ray.get(task.ref)
        except ray.exceptions.TaskCancelledError:
            outcome = {"status": "cancelled", "error": "Force-cancelled on Ray after the cancel request."}
        except ray.exceptions.RayError as error:
            reason = " ".join(str(error).split())[:400]
            outcome = {"status": "cancelled" if run.cancel_requested else "failed",
                       "error": f"The Ray task ended without finishing the run ({type(error).__name__}): {reason}"}
        if outcome["status"] == "done":
            self.store.merge_result(task.run_id, outcome["result"])
        self.store.set_status(task.run_id, outcome["status"], error=outcome.get("error"),
                              traceback=outcome.get("traceback"))
