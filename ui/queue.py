"""The shared queue as each attendee sees it: their place in line, and when their runs should start and end.

Owners are served in turn (`labcore.queueing.fair_order`, the rule the
supervisor claims by), so a run's place depends on who else waits, not
only on its id. Times come from how long similar runs took on this server
(`labcore.queueing.forecast`); where none has finished yet, only the place
is shown.
"""

import time

from labcore import device, queueing
from labcore.store import Run
from ui import state

__all__ = ["estimates", "plan_text", "wait_text"]


def _snapshot():
    store = state.get_store()
    return (store.list_runs(statuses=("queued",), limit=1000), store.list_runs(statuses=("running",), limit=100),
            store.list_runs(statuses=("done",), limit=300), store.last_served())


def estimates(extra=()):
    """Every queued run's `queueing.Estimate`, by run id, with `extra` planned runs queued last.

    A run that follows an identical one (`labcore.sharing`) gets its source's.
    """
    queued, running, finished, last_served = _snapshot()
    probed = state.device_probe()
    # Only this device's runs hold its slots (a CLI may train elsewhere).
    running = [run for run in running if probed is None or run.device == device.queue_name(probed)]
    trained = [run for run in queued if run.follows is None]
    ahead = queueing.forecast([*trained, *extra], running, finished, last_served, slots=state.slots()[0],
                              now=time.time())
    if state.get_store().paused():
        # Nothing starts until the instructor resumes: places, but no times.
        ahead = {run_id: queueing.Estimate(e.position, None, None) for run_id, e in ahead.items()}
    ahead.update({run.id: ahead[run.follows] for run in queued if run.follows in ahead})
    return ahead


def _about(seconds):
    seconds = max(0.0, seconds)
    if seconds < 50:
        return f"about {max(5, 5 * round(seconds / 5))} s"
    return f"about {max(1, round(seconds / 60))} min"


def wait_text(estimate, now=None):
    """Where a queued run stands, e.g. "2 runs before it · starts in about 3 min, done in about 4 min"."""
    now = time.time() if now is None else now
    before = estimate.position - 1
    place = "next in line" if not before else f"{before} run{'s' if before > 1 else ''} before it"
    if estimate.start_at is None:
        return place
    when = f"starts in {_about(estimate.start_at - now)}"
    if estimate.finish_at is not None:
        when += f", done in {_about(estimate.finish_at - now)}"
    return f"{place} · {when}"


def plan_text(kind, runs):
    """What pressing Run now would mean for `runs` of `kind` (a list of (config, title)), in one sentence."""
    if not runs:
        return ""
    # A planned run has no id yet: an id above any SQLite gives keeps it last in its owner's line.
    first_id = 2**63
    now = time.time()
    planned = [Run(id=first_id + i, kind=kind, title=title, owner=state.owner(),
                   config=config if isinstance(config, dict) else config.to_dict(), status="queued",
                   created_at=now, started_at=None, finished_at=None, device=None, pid=None, progress=0.0,
                   progress_text="", error=None, traceback=None, result={}, cancel_requested=False)
               for i, (config, title) in enumerate(runs)]
    ahead = estimates(planned)
    mine = [ahead[run.id] for run in planned]
    first = min(mine, key=lambda e: e.position)
    before = first.position - 1
    text = (f"{before} run{'s' if before != 1 else ''} would wait before yours" if before
            else "Yours would be next in line")
    if first.start_at is None:
        return text + "; no similar run has finished here yet, so no time estimate."
    wait = first.start_at - now
    starts = "at once" if wait < 5 else f"in {_about(wait)}"
    text += f": {'it' if len(mine) == 1 else 'the first'} would start {starts}"
    last = max(mine, key=lambda e: e.position)
    if last.finish_at is None:
        return text + ". No similar run has finished here yet, so how long it takes is not known."
    done = "done" if len(mine) == 1 else f"all {len(mine)} done"
    return text + f", {done} in {_about(last.finish_at - now)} (from how long similar runs took here)."
