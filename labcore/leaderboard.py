"""The room's Builder challenge: the best validation accuracy of each attendee under a parameter budget.

An instructor sets a budget and a dataset (`Store.update_settings(
challenge_params=N, challenge_dataset=KEY)`); every attendee's finished
Model Builder runs on that dataset whose model has at most N parameters
compete, each attendee with their best one. Ties go to the
smaller model, then to the earlier run. A run that follows an identical
one (`labcore.sharing`) counts for its own owner too: copying a model
is allowed, and it ties.

Pure Python and Keras-free: the pages and the tests call it.
"""

import dataclasses

__all__ = ["Standing", "standings"]


@dataclasses.dataclass(frozen=True)
class Standing:
    """One attendee's best run in the challenge."""

    owner: str
    val_accuracy: float
    params: int
    run_id: int


def standings(runs, budget, dataset):
    """Each owner's best run within the budget on the dataset, best first.

    Args:
        runs: iterable of `labcore.store.Run` (only done "train" runs count).
        budget: int, the most parameters a model may have.
        dataset: str, the dataset every run must have trained on.

    Returns:
        list of `Standing`.

    Example:
    >>> from types import SimpleNamespace as Run
    >>> runs = [Run(id=1, owner="ann", kind="train", status="done", config={"train": {"dataset": "mnist"}},
    ...             result={"best_val_accuracy": 0.8, "params": 900})]
    >>> [s.owner for s in standings(runs, 1000, "mnist")], standings(runs, 800, "mnist")
    (['ann'], [])
    """
    best = {}
    for run in runs:
        result = run.result or {}
        accuracy, params = result.get("best_val_accuracy"), result.get("params")
        if (run.kind != "train" or run.status != "done" or accuracy is None or params is None or params > budget
                or run.config.get("train", {}).get("dataset") != dataset):
            continue
        standing = Standing(run.owner, float(accuracy), int(params), run.id)
        held = best.get(run.owner)
        if held is None or _rank(standing) < _rank(held):
            best[run.owner] = standing
    return sorted(best.values(), key=_rank)


def _rank(standing):
    return -standing.val_accuracy, standing.params, standing.run_id
