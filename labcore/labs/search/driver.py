"""Drive a guided-against-blind comparison from a script: ask, run each trial in a worker, tell.

The page queues a comparison's trials for the server's supervisor; the CLI
(`python -m labcore search`) and the validity bench have no server, so this
module runs the same trials in worker processes here, as ordinary runs in
the store (a comparison's, `slots` at a time, as the app would), and tells
each arm's study how they ended. Keras-free: the workers import Keras, not
this process.
"""

import dataclasses
import time

from labcore import executors, jobs
from labcore.labs.search import compare, fidelity
from labcore.labs.search import study as studies
from labcore.labs.search.config import Config, Member

__all__ = ["run_comparison", "run_promotion"]


def _run(store, trial, title, owner, timeout_s, on_run):
    run = executors.run_to_end(store, jobs.submit(store, "search", trial.to_dict(), owner=owner, title=title),
                                timeout_s)
    if on_run is not None:
        on_run(run)
    return run


def _run_all(store, trials, owner, timeout_s, on_run, device, slots):
    """Queue every trial at once and run them `slots` at a time here; returns them as they ended.

    A trial still queued or running after `timeout_s` per trial (counted
    from the start, `slots` at a time) is cancelled.
    """
    run_ids = [jobs.submit(store, "search", trial.to_dict(), owner=owner, title=title) for trial, title in trials]
    deadline = None if timeout_s is None else time.monotonic() + timeout_s * -(-len(run_ids) // slots)
    runner = executors.supervisor(store, device=device, slots=slots).start()
    ended, waiting = [], list(run_ids)
    try:
        while waiting:
            if deadline is not None and time.monotonic() > deadline:
                for run_id in waiting:
                    jobs.cancel(store, run_id, owner=None, admin=True)
                jobs.wait_until_settled(store, waiting, timeout_s=30.0)
            for run_id in list(waiting):
                run = store.get_run(run_id)
                if run.status not in ("queued", "running"):
                    waiting.remove(run_id)
                    ended.append(run)
                    if on_run is not None:
                        on_run(run)
            time.sleep(0.2)
    finally:
        runner.stop()
    return ended


def run_comparison(store, config, name, space, n_seeds, budget, strategy, journal, owner, timeout_s=None,
                   on_run=None, device="cpu", slots=1):
    """Run a comparison's trials in worker processes here, seeds and arms interleaved, `slots` at a time.

    Args:
        store: labcore.store.Store.
        config: Config, the trials' fidelity (its seed is the first seed).
        name: str, the comparison's name (`compare.arm_study`).
        space: Space, the guided arm's.
        n_seeds: int.
        budget: int, trials per arm and seed.
        strategy: str, one of `study.STRATEGIES` but "grid" (the blind space
            has float ranges).
        journal: str or Path, the studies' journal file.
        owner: str, the runs' owner.
        timeout_s: float or None, the most seconds one trial may take.
        on_run: callable(Run) or None, called as each trial ends (progress).
        device: str, the queue name the workers record.
        slots: int, trials trained at once (every trial is asked before
            any trains, so running them together changes nothing they ask).

    Returns:
        list of `labcore.store.Run`, the comparison's trials as they ended.
    """
    opened = {}

    def ask(study_name, arm_space, seed):
        opened[study_name] = studies.open_study(journal, study_name, strategy, arm_space, seed=seed)
        return studies.round_of(opened[study_name], arm_space, budget)

    trials = compare.comparison_trials(config, name, space, n_seeds, ask)
    ended = _run_all(store, trials, owner, timeout_s, on_run, device, slots)
    for study_name, study in opened.items():
        studies.sync(study, [run for run in ended if run.config["study"] == study_name])
    return ended


def run_promotion(store, config, name, space, n_trials, k, strategy, journal, owner, timeout_s=None, on_run=None):
    """One round of a study, then its best `k` trials promoted twice: inheriting weights, and from scratch.

    What the page's promotion does, run here in worker processes so that a
    bench can measure what lower fidelity, extrapolation and inheritance
    each save and cost (`fidelity.promotion_rows`).

    Args:
        store: labcore.store.Store.
        config: Config, the trials' fidelity and seed.
        name: str, the study's name.
        space: Space.
        n_trials: int, trials in the round.
        k: int, how many of the best are promoted.
        strategy: str, one of `study.STRATEGIES`.
        journal: str or Path, the study's journal file.
        owner: str, the runs' owner.
        timeout_s: float or None, the most seconds one trial may take.
        on_run: callable(Run) or None, called as each trial ends.

    Returns:
        list of `labcore.store.Run`: the round's trials, then the promoted ones.
    """
    study = studies.open_study(journal, name, strategy, space, seed=config.seed)
    ended = []
    for number, choice in studies.round_of(study, space, n_trials):
        trial = dataclasses.replace(config, member=Member(**choice), study=name, trial=number)
        ended.append(_run(store, trial, f"Search · {name} · trial {number}", owner, timeout_s, on_run))
        studies.sync(study, ended[-1:])
    by_trial = {run.config["trial"]: run for run in ended if run.status == "done"}
    for number in fidelity.best_trials(studies.trial_rows(study), k):
        parent = by_trial[number]
        for inherit in (True, False):
            trial = fidelity.promoted(Config.from_dict(parent.config), parent.id, inherit)
            ended.append(_run(store, trial, f"Search · {name} · trial {number} promoted", owner, timeout_s, on_run))
    return ended
