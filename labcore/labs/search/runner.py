"""The Guided search lab's runner: one trial, trained like any `train` run.

A trial is a member of the learner's space at the study's fidelity; it
trains through `labcore.training.train_run`, the Model Builder's own
runner, so a trial and a hand-built model of the same spec and settings
give the same numbers. The result adds what the study is told: the
validation accuracy it searches on, and the parameters it trades against.
A trial at the study's fidelity stores its weights, so that a promoted
trial can inherit them and train only the epochs its parent did not, and a
mutated one can start from them wherever its layers still match.
The only module of the lab that imports Keras (through `training`).
"""

from labcore import training
from labcore.errors import ConfigError
from labcore.labs.search import recipe
from labcore.labs.search.config import WEIGHTS_ARTIFACT, Config

__all__ = ["run"]


def _parent(config, reporter):
    """The spec and trained weights of the run a trial inherits from (only a worker's reporter has a store)."""
    store = getattr(reporter, "store", None)
    if store is None:
        raise ConfigError("inherit needs the run store, where the parent run's weights are: run it as a queued run.")
    try:
        weights = store.artifact_path(config.parent_run, WEIGHTS_ARTIFACT)
    except KeyError:
        raise ConfigError(f"parent_run #{config.parent_run} stored no weights to inherit "
                          f"({WEIGHTS_ARTIFACT}): promote or mutate a finished rung-0 trial.") from None
    parent = Config.from_dict(store.get_run(config.parent_run).config)
    return recipe.run_config(parent).spec, weights


def run(config, reporter):
    """Runner of the "search" kind: train one trial.

    Args:
        config: Config, already parsed and validated by the worker.
        reporter: a `labcore.reporting.Reporter`.

    Returns:
        dict: `training.train_run`'s result, plus "study", "trial", "rung"
        and the member that was trained.
    """
    result = training.train_run(recipe.run_config(config), reporter,
                                inherit_from=_parent(config, reporter) if config.inherit else None,
                                keep_weights=WEIGHTS_ARTIFACT if config.rung == 0 else None, exports=False)
    return {**result, "study": config.study, "trial": config.trial, "rung": config.rung,
            "member": config.member.to_dict()}
