"""A search study: a sampler asks for a round of members, and the runs' accuracies are told back.

Optuna does the searching (ask-and-tell): its samplers are the strategies
the course names (grid, random, TPE for Bayesian optimisation, NSGA-II for
an evolutionary search), and with two objectives, accuracy up and
parameters down, it keeps the Pareto front. The study lives in Optuna's own
journal file beside the run store, never in the store's tables, so a
server restart finds it again. Nothing here trains: the page (or the CLI)
submits each asked member as an ordinary run, so trials share the queue
with everyone and no driver holds a device while it waits. Keras-free.
"""

import warnings
from pathlib import Path

import optuna

from labcore.errors import ConfigError
from labcore.labs.search.config import DIMENSIONS

__all__ = ["OBJECTIVES", "STRATEGIES", "ask_for", "grid_problems", "importances", "open_study", "pareto_front",
           "round_of", "suggest", "sync", "tell", "trial_rows"]

STRATEGIES = ("grid", "random", "tpe", "evolution")
# (name, direction): what a finished trial tells the study.
OBJECTIVES = (("accuracy", "maximize"), ("params", "minimize"))

optuna.logging.set_verbosity(optuna.logging.WARNING)


def grid_problems(space):
    """Why a grid search cannot cover `space`: it needs every open dimension countable.

    Args:
        space: Space.

    Returns:
        list of str, one per float range.
    """
    return [f"space.{name}: a grid needs a list or an int range, not a float range; list the values to try."
            for name, info in DIMENSIONS.items()
            if getattr(space, name).mode == "range" and info.value.kind == "float"]


def _grid(space):
    values = {}
    for name in DIMENSIONS:
        dimension = getattr(space, name)
        if dimension.mode == "list":
            values[name] = list(dimension.values)
        elif dimension.mode == "range":
            values[name] = list(range(dimension.values[0], dimension.values[1] + 1))
    return values


def _sampler(strategy, space, seed):
    if strategy == "grid":
        found = grid_problems(space)
        if found:
            raise ConfigError("\n".join(found))
        return optuna.samplers.GridSampler(_grid(space), seed=seed)
    if strategy == "random":
        return optuna.samplers.RandomSampler(seed=seed)
    if strategy == "tpe":
        return optuna.samplers.TPESampler(seed=seed, multivariate=True)
    if strategy == "evolution":
        return optuna.samplers.NSGAIISampler(seed=seed, population_size=4)
    raise ConfigError(f"strategy must be one of {STRATEGIES}; got {strategy!r}.")


def open_study(path, name, strategy, space, seed=0):
    """Create a study in its journal file, or open it again where it was left.

    Args:
        path: str or Path, the study's journal file (its folder is made).
        name: str, the study's name within the file.
        strategy: str, one of `STRATEGIES`.
        space: Space.
        seed: int, the sampler's seed.

    Returns:
        optuna.Study with the two `OBJECTIVES`.

    Raises:
        ConfigError: an unknown strategy, or a grid over a float range.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    storage = optuna.storages.JournalStorage(optuna.storages.journal.JournalFileBackend(str(path)))
    return optuna.create_study(study_name=name, storage=storage, sampler=_sampler(strategy, space, seed),
                               directions=[direction for _, direction in OBJECTIVES], load_if_exists=True)


def suggest(trial, space):
    """One member of `space`, drawn by the study's sampler for `trial`.

    Fixed dimensions are not searched: they are the learner's own choices,
    recorded on the trial as attributes so every trial still says them.

    Args:
        trial: optuna.Trial.
        space: Space.

    Returns:
        dict, a value for every dimension.
    """
    choice = {}
    for name, info in DIMENSIONS.items():
        dimension = getattr(space, name)
        if dimension.mode == "fixed":
            choice[name] = dimension.values[0]
            trial.set_user_attr(name, choice[name])
        elif dimension.mode == "list":
            choice[name] = trial.suggest_categorical(name, list(dimension.values))
        elif info.value.kind == "int":
            choice[name] = trial.suggest_int(name, *dimension.values, log=dimension.log)
        else:
            choice[name] = trial.suggest_float(name, *dimension.values, log=dimension.log)
    return choice


def round_of(study, space, n_trials):
    """Ask the study for the next round's members, each marked with the round's number.

    Args:
        study: optuna.Study, from `open_study`.
        space: Space, as the learner has narrowed it for this round.
        n_trials: int.

    Returns:
        list of (trial number, choice dict).
    """
    number = _next_round(study)
    asked = []
    for _ in range(n_trials):
        trial = study.ask()
        trial.set_user_attr("round", number)
        asked.append((trial.number, suggest(trial, space)))
    return asked


def _next_round(study):
    return max((trial.user_attrs.get("round", 0) for trial in study.get_trials(deepcopy=False)), default=0) + 1


def ask_for(study, space, children):
    """Ask the study for members the learner chose (mutated children), as the next round.

    Each is enqueued, so the study records it as one of its trials and its
    sampler learns from it like any other.

    Args:
        study: optuna.Study.
        space: Space; every child must lie in it (`mutate.fits`).
        children: list of (choice dict, attributes dict) such as
            {"mutation_of": 3, "mutation": "n_blocks"}.

    Returns:
        list of (trial number, choice dict).
    """
    number = _next_round(study)
    asked = []
    for choice, attributes in children:
        study.enqueue_trial({name: choice[name] for name in DIMENSIONS if getattr(space, name).mode != "fixed"},
                            user_attrs={**attributes, "round": number})
        trial = study.ask()
        asked.append((trial.number, suggest(trial, space)))
    return asked


def tell(study, trial_number, accuracy=None, params=None, failed=False):
    """Tell the study how a trial's run ended.

    Args:
        study: optuna.Study.
        trial_number: int.
        accuracy: float, the run's validation accuracy (the search's objective).
        params: int, the member's parameter count.
        failed: bool, the run failed or was cancelled: the study skips it.

    Returns:
        None.
    """
    if failed:
        study.tell(trial_number, state=optuna.trial.TrialState.FAIL)
    else:
        study.tell(trial_number, [accuracy, params])


def pareto_front(study):
    """The finished trials no other trial beats on both accuracy and size.

    Returns:
        list of dict with "number", "accuracy", "params" and the trial's choice.
    """
    return [{"number": trial.number, "accuracy": trial.values[0], "params": int(trial.values[1]),
             **trial.user_attrs, **trial.params} for trial in study.best_trials]



def sync(study, runs):
    """Tell the study about every trial whose run has ended since it last looked.

    Idempotent, so any page view (or the CLI) may call it: a trial is told
    once, when its run is found finished and the trial still waits. Runs
    that failed or were cancelled are told as failed, and the study skips
    them.

    Args:
        study: optuna.Study.
        runs: iterable of the study's runs (`labcore.store.Run`, kind "search").

    Returns:
        int, how many trials were told.
    """
    waiting = {trial.number for trial in study.get_trials(deepcopy=False)
               if trial.state == optuna.trial.TrialState.RUNNING}
    told = 0
    for run in runs:
        number = run.config.get("trial")
        if number not in waiting or run.status in ("queued", "running"):
            continue
        result = run.result or {}
        if run.status == "done" and result.get("best_val_accuracy") is not None:
            tell(study, number, accuracy=result["best_val_accuracy"], params=result["params"])
        else:
            tell(study, number, failed=True)
        waiting.discard(number)
        told += 1
    return told


def importances(study):
    """How much each searched dimension mattered to validation accuracy, as shares summing to 1.

    Optuna's default importance evaluator (PED-ANOVA in Optuna 5) on the
    finished trials; it ranks what a higher accuracy depended on, so the
    learner knows which dimensions to narrow first and which to fix.

    Returns:
        dict dimension -> share, largest first; {} until three trials have
        finished with at least one dimension still open.
    """
    finished = [trial for trial in study.get_trials(deepcopy=False)
                if trial.state == optuna.trial.TrialState.COMPLETE and trial.params]
    if len(finished) < 3:
        return {}
    # The evaluator ranks low targets, and warns so whatever the target; ours is negated accuracy.
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="PedAnovaImportanceEvaluator computes")
        found = optuna.importance.get_param_importances(study, target=lambda trial: -trial.values[0])
    return dict(sorted(found.items(), key=lambda item: -item[1]))


def trial_rows(study):
    """Every trial as a row for the page: number, state, accuracy, parameters and its member.

    Returns:
        list of dict, oldest first; "on_front" marks the Pareto front.
    """
    front = {trial.number for trial in study.best_trials}
    return [{"trial": trial.number, "state": trial.state.name.lower(),
             "accuracy": trial.values[0] if trial.values else None,
             "params": int(trial.values[1]) if trial.values else None,
             "on_front": trial.number in front, **trial.user_attrs, **trial.params}
            for trial in study.get_trials(deepcopy=False)]
