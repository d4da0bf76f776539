"""A room at once: N attendees press Run within a minute; how long until each sees a result?

Each simulated attendee (its own owner) arrives at a random moment within
`--window` seconds and submits, as the pages do (`jobs.submit`), two runs:
the same preset everyone starts (the Model Builder's default model and
settings) and a custom run of their own (the same model, their own seed).
The app's supervisor (`Supervisor(slots=device.slots(...), prewarm=True)`)
trains them in worker processes, in a fresh store. Per attendee it records
the seconds from their click to their preset's result (the first result)
and to both runs done. Arms:

  own copies, FIFO:   every run trained, served oldest first (one owner for
                      the queue's order: what the queue did before sharing
                      and fair share);
  shared, fair:       identical runs trained once (`share=True`), owners
                      served in turn (the app's defaults);
  prebaked, shared:   the same, after `labcore.prebake`-style training of
                      the preset before the room arrives.

Arrival times come from `--seed`, the same in every arm.

Run from the repository root:
    python -m bench.room --attendees 10 --window 30
"""

import random
import sys
import tempfile
import time
from pathlib import Path

from bench import _processes, _report
from labcore import device, jobs, spec
from labcore.store import Store
from labcore.supervisor import run_to_end
from labcore.trainconfig import TrainConfig

__all__ = ["main", "simulate"]

MODULE = "bench.room"
ARMS = ("own copies, FIFO", "shared, fair", "prebaked, shared")


def _config(seed):
    return {"spec": spec.default_spec().to_dict(), "train": TrainConfig(seed=seed).to_dict()}


def simulate(arm, n_attendees, window_s, seed, slots, timeout_s=1800):
    """One room: {attendee: (seconds to first result, seconds to all done)}."""
    store = Store(Path(tempfile.mkdtemp(prefix="bench-room-")) / "labcore.db")
    share = arm != ARMS[0]
    if arm == ARMS[2]:
        run_to_end(store, jobs.submit(store, "train", _config(0), owner="prebake", title="preset"))
    rng = random.Random(seed)
    arrivals = sorted(rng.uniform(0, window_s) for _ in range(n_attendees))
    supervisor = _processes.warm_supervisor(store, slots)
    try:
        started = time.monotonic()
        clicks, pending = {}, list(enumerate(arrivals))
        while pending or any(store.get_run(i).status in ("queued", "running")
                             for runs in clicks.values() for i in runs[1:]):
            now = time.monotonic() - started
            while pending and pending[0][1] <= now:
                attendee, _ = pending.pop(0)
                # FIFO: one owner for all, so the fair order is the order of ids.
                owner = "room" if arm == ARMS[0] else f"attendee-{attendee}"
                clicks[attendee] = (time.time(),
                                    jobs.submit(store, "train", _config(0), owner, f"preset {attendee}", share=share),
                                    jobs.submit(store, "train", _config(100 + attendee), owner,
                                                f"custom {attendee}", share=share))
            if now > timeout_s:
                raise RuntimeError(f"{arm}: the room took more than {timeout_s} s")
            time.sleep(0.1)
    finally:
        supervisor.stop()
    results = {}
    for attendee, (clicked, preset, custom) in clicks.items():
        runs = [store.get_run(preset), store.get_run(custom)]
        if any(run.status != "done" for run in runs):
            raise RuntimeError(f"{arm}: attendee {attendee}'s runs ended {[run.status for run in runs]}")
        # A run that follows one done before the click is answered at the click.
        results[attendee] = (max(0.0, runs[0].finished_at - clicked),
                             max(0.0, max(run.finished_at for run in runs) - clicked))
    return results


def _percentile(values, q):
    values = sorted(values)
    return values[min(len(values) - 1, int(round(q * (len(values) - 1))))]


def main(argv=None):
    """Parse arguments, simulate each arm, report."""
    parser = _report.parser(__doc__.split("\n\n")[0])
    parser.add_argument("--attendees", type=int, default=10)
    parser.add_argument("--window", type=float, default=30.0, help="seconds within which everyone clicks")
    parser.add_argument("--seed", type=int, default=0, help="for the arrival times")
    parser.add_argument("--arms", nargs="*", default=list(ARMS), choices=ARMS)
    args = parser.parse_args(argv)
    load_start = _report.begin(args)
    slots = device.slots(device.probe())[0]
    rows = []
    for arm in args.arms:
        results = simulate(arm, args.attendees, args.window, args.seed, slots)
        first = [r[0] for r in results.values()]
        done = [r[1] for r in results.values()]
        print(f"{arm}: first result p50 {_percentile(first, 0.5):.1f} s p95 {_percentile(first, 0.95):.1f} s, "
              f"all done p50 {_percentile(done, 0.5):.1f} s p95 {_percentile(done, 0.95):.1f} s", flush=True)
        rows.append([arm, f"{_percentile(first, 0.5):.1f}", f"{_percentile(first, 0.95):.1f}", f"{max(first):.1f}",
                     f"{_percentile(done, 0.5):.1f}", f"{_percentile(done, 0.95):.1f}", f"{max(done):.1f}"])
    notes = (f"{args.attendees} attendees click within {args.window:.0f} s (arrivals from seed {args.seed}); each "
             "submits the Model Builder's default run (the same for all) and one of its own (another seed). "
             f"Slots: {slots}. Times from each attendee's click.")
    _report.report(f"Room: {args.attendees} attendees within {args.window:.0f} s", [
        "arm", "first result p50 s", "p95 s", "max s", "both done p50 s", "p95 s", "max s"], rows,
        module=MODULE, load_start=load_start, notes=notes, args=args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
