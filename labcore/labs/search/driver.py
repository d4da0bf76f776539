"""Drive a guided-against-blind comparison from a script: ask, run each trial in a worker, tell.

The page queues a comparison's trials for the server's supervisor; the CLI
(`python -m labcore search`) and the validity bench have no server, so this
module runs the same trials one after another in worker processes here, as
ordinary runs in the store, and tells each arm's study how they ended.
Keras-free: the workers import Keras, not this process.
"""

from labcore import jobs, supervisor
from labcore.labs.search import compare
from labcore.labs.search import study as studies

__all__ = ["run_comparison"]


def run_comparison(store, config, name, space, n_seeds, budget, strategy, journal, owner, timeout_s=None,
                   on_run=None):
    """Run a comparison's trials in worker processes here, seeds and arms interleaved.

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

    Returns:
        list of `labcore.store.Run`, the comparison's trials as they ended.
    """
    opened = {}

    def ask(study_name, arm_space, seed):
        opened[study_name] = studies.open_study(journal, study_name, strategy, arm_space, seed=seed)
        return studies.round_of(opened[study_name], arm_space, budget)

    ended = []
    for trial, title in compare.comparison_trials(config, name, space, n_seeds, ask):
        run = supervisor.run_to_end(store, jobs.submit(store, "search", trial.to_dict(), owner=owner, title=title),
                                    timeout_s)
        studies.sync(opened[trial.study], [run])
        ended.append(run)
        if on_run is not None:
            on_run(run)
    return ended
