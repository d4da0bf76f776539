"""Who trains next in a shared queue, and when each waiting run should start and finish.

A room shares one queue. Served oldest first, one attendee's 13-step ladder
would push everyone who clicked after them back by a quarter of an hour, so
the queue serves owners in turn: the next run is the oldest queued run of
the owner served least recently (an owner never served goes first). Runs an
instructor moved to the front go before all others, oldest first.

`fair_order` is that rule. `Store.claim_next` claims with it, and the pages
say with it where each run stands, so the two never disagree. `forecast`
turns the order into start and finish times from how long similar runs
took (`Timings`) and the device's slots.

Pure Python and Keras-free: the Streamlit process imports it.
"""

import dataclasses
import heapq
import json
import statistics

__all__ = ["Estimate", "Timings", "Waiting", "fair_order", "forecast"]


@dataclasses.dataclass(frozen=True)
class Waiting:
    """A queued run, as the order needs it: its id, owner and whether it was moved to the front."""

    id: int
    owner: str
    urgent: bool = False


@dataclasses.dataclass(frozen=True)
class Estimate:
    """Where a queued run stands.

    Attributes:
        position: int, 1 for the next run to start.
        start_at: float or None, unix time it should start; None when no
            similar run has finished yet, so there is nothing to go by.
        finish_at: float or None, unix time it should finish.
    """

    position: int
    start_at: float | None
    finish_at: float | None


def fair_order(waiting, last_served):
    """The order in which queued runs will be claimed.

    Args:
        waiting: iterable of `Waiting`.
        last_served: dict, owner -> unix time their latest run started
            (owners missing from it were never served).

    Returns:
        list of int, run ids, the next one first.

    Example:
    >>> fair_order([Waiting(1, "ann"), Waiting(2, "ann"), Waiting(3, "bob")], {"ann": 10.0})
    [3, 1, 2]
    """
    waiting = sorted(waiting, key=lambda run: run.id)
    order = [run.id for run in waiting if run.urgent]
    runs_of = {}
    for run in waiting:
        if not run.urgent:
            runs_of.setdefault(run.owner, []).append(run.id)
    # Each pop serves an owner "now", later than anyone has been served, so
    # an owner with more runs waiting goes to the back of the line.
    now = max(last_served.values(), default=0.0)
    line = [(last_served.get(owner, float("-inf")), runs[0], owner) for owner, runs in runs_of.items()]
    heapq.heapify(line)
    while line:
        _, run_id, owner = heapq.heappop(line)
        runs = runs_of[owner]
        order.append(runs.pop(0))
        if runs:
            now += 1.0
            heapq.heappush(line, (now, runs[0], owner))
    return order


def _similar(run):
    """What makes two runs take about as long: their kind and config, whatever their seed."""
    config = {key: value for key, value in run.config.items() if key != "seed"}
    return run.kind, json.dumps(config, sort_keys=True, default=str)


# From the most to the least alike: the same kind and config but the seed;
# the same kind and title (a lab step); the same kind.
_LIKENESS = (_similar, lambda run: (run.kind, run.title), lambda run: run.kind)


class Timings:
    """How long finished runs took, grouped so that each look-up is one dict access.

    Args:
        finished: iterable of done `labcore.store.Run`s with start and finish times.
    """

    def __init__(self, finished):
        self._took = [{} for _ in _LIKENESS]
        for run in finished:
            if run.started_at is None or run.finished_at is None:
                continue
            for took, key in zip(self._took, _LIKENESS):
                took.setdefault(key(run), []).append(run.finished_at - run.started_at)

    def typical(self, run):
        """How long `run` should take: the median of the most similar finished runs, or None."""
        for took, key in zip(self._took, _LIKENESS):
            durations = took.get(key(run))
            if durations:
                return statistics.median(durations)
        return None


def _remaining(run, timings, now):
    """Seconds a running run has left: from its own progress once it has some, else from similar runs."""
    elapsed = max(0.0, now - (run.started_at or now))
    if run.progress >= 0.1:
        return elapsed / run.progress - elapsed
    typical = timings.typical(run)
    return None if typical is None else max(0.0, typical - elapsed)


def forecast(queued, running, finished, last_served, slots=1, now=0.0):
    """Position, start and finish of every queued run.

    Runs start in `fair_order` on whichever of the device's `slots` frees
    first; a running run frees its slot when its progress says it will
    (or, before it has progress, when similar runs took).

    Args:
        queued: list of queued `Run`s (with an `urgent` attribute).
        running: list of running `Run`s on the device.
        finished: list of done `Run`s, to time similar runs by.
        last_served: dict, owner -> unix time their latest run started.
        slots: int, runs the device trains at once.
        now: float, unix time.

    Returns:
        dict, run id -> `Estimate`. Times after a run with no similar
        finished run are None.
    """
    timings = Timings(finished)
    free_at = [now] * max(0, slots - len(running))
    for run in running:
        remaining = _remaining(run, timings, now)
        free_at.append(None if remaining is None else now + remaining)
    free_at = sorted(free_at, key=lambda t: float("inf") if t is None else t)[:max(slots, 1)]
    by_id = {run.id: run for run in queued}
    order = fair_order([Waiting(run.id, run.owner, run.urgent) for run in queued], last_served)
    estimates = {}
    for position, run_id in enumerate(order, start=1):
        start = free_at.pop(0)
        typical = timings.typical(by_id[run_id])
        finish = None if start is None or typical is None else start + typical
        estimates[run_id] = Estimate(position, start, finish)
        free_at.append(finish)
        free_at.sort(key=lambda t: float("inf") if t is None else t)
    return estimates
