"""The Guided search lab's runner: one trial, trained like any `train` run.

A trial is a member of the learner's space at the study's fidelity; it
trains through `labcore.training.train_run`, the Model Builder's own
runner, so a trial and a hand-built model of the same spec and settings
give the same numbers. The result adds what the study is told: the
validation accuracy it searches on, and the parameters it trades against.
The only module of the lab that imports Keras (through `training`).
"""

from labcore import training
from labcore.labs.search import recipe

__all__ = ["run"]


def run(config, reporter):
    """Runner of the "search" kind: train one trial.

    Args:
        config: Config, already parsed and validated by the worker.
        reporter: a `labcore.reporting.Reporter`.

    Returns:
        dict: `training.train_run`'s result, plus "study", "trial" and the
        member that was trained.
    """
    result = training.train_run(recipe.run_config(config), reporter)
    return {**result, "study": config.study, "trial": config.trial, "member": config.member.to_dict()}
