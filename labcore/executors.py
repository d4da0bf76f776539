"""Where runs execute: worker processes on this machine (the default) or a Ray cluster.

`LABCORE_EXECUTOR` chooses: "local" or "ray". `supervisor` is what a server
runs its queue with (the app's `st.cache_resource`, the search driver);
`run_to_end` is how a script without a server runs one run (the CLI,
prebake, the benches). The app, the CLI, the labs and the store call these
and never know which executor runs. Keras-free; Ray is imported only when
it is asked for (`labcore.ray_executor`).
"""

import os

from labcore import supervisor as local
from labcore.errors import ConfigError, describe

__all__ = ["run_to_end", "supervisor"]


def _executor():
    """LABCORE_EXECUTOR, checked."""
    executor = os.environ.get("LABCORE_EXECUTOR", "local")
    if executor not in ("local", "ray"):
        raise ConfigError(describe("LABCORE_EXECUTOR", "'local' or 'ray'", executor))
    return executor


def supervisor(store=None, device="cpu", prewarm=False, slots=1):
    """The supervisor `LABCORE_EXECUTOR` asks for, not yet started.

    "local" (the default): `Supervisor`, runs in worker processes on this
    machine. "ray": `labcore.ray_executor.RaySupervisor`, runs as Ray tasks
    on the cluster `LABCORE_RAY_ADDRESS` names ("auto", "ray://head:10001";
    unset: a local Ray started here), each asking for 1 CPU, or on the
    "gpu" queue for `LABCORE_RAY_GPUS` GPUs (default 1; 0.25 lets four
    runs share a card), as many at once as the cluster has room for
    (`slots` only when LABCORE_SLOTS is set). The app, the CLI's drivers
    and the labs call this and never know which one runs.

    Raises:
        ConfigError: LABCORE_EXECUTOR or LABCORE_RAY_GPUS is not one of the
            values allowed; the message names the variable.
    """
    executor = _executor()
    if executor == "local":
        return local.Supervisor(store, device=device, prewarm=prewarm, slots=slots)
    gpus = os.environ.get("LABCORE_RAY_GPUS", "1")
    try:
        gpus_per_run = float(gpus)
    except ValueError:
        gpus_per_run = 0.0
    if not 0.0 < gpus_per_run <= 8.0:
        raise ConfigError(describe("LABCORE_RAY_GPUS", "a number of GPUs in (0, 8] per run, e.g. 0.25", gpus))
    from labcore.ray_executor import RaySupervisor  # imports Ray, which only this executor needs

    # The cluster's room sets how many run at once, unless LABCORE_SLOTS does.
    return RaySupervisor(store, device=device, address=os.environ.get("LABCORE_RAY_ADDRESS") or None,
                         gpus_per_run=gpus_per_run, slots=slots if "LABCORE_SLOTS" in os.environ else None)


def run_to_end(store, run_id, timeout_s=None, device="cpu"):
    """Run one queued run here and now, on the executor LABCORE_EXECUTOR names, and return it once ended.

    Locally a worker process claims it (`labcore.supervisor.run_to_end`); on
    Ray only this run is claimed and this process writes its reports to the
    store (`RaySupervisor.run_to_end`).

    Args:
        store: labcore.store.Store.
        run_id: int, a queued run.
        timeout_s: float or None, the most seconds to wait.
        device: str, the queue name recorded when the run is claimed.

    Returns:
        `labcore.store.Run`, as it ended.
    """
    if _executor() == "local":
        return local.run_to_end(store, run_id, timeout_s, device)
    return supervisor(store, device=device).run_to_end(run_id, timeout_s)
