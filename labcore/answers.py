"""The lab's answers: each question the original lab ends with, answered from the learner's runs.

The original labs close with questions for the student (AutoEncoder: can
codes match pixels, and how much faster do they train? Regularization: how
small can a model be and still generalise? Ensemble: can one model's heads
match an ensemble of models?). Each lab's `views.answers` answers them from
the runs beside it, numbers with their spread, and sets the original's
answer beside ours. Until the runs that answer a question exist, the answer
says which run to start.

`accuracy_difference` words a difference of two accuracies: over seeds
when there are several runs (`labcore.seeds`), else against the sampling
error of the test set alone, and says which.
"""

import dataclasses
import math

from labcore import seeds

__all__ = ["Answer", "accuracy_difference", "sampling_error"]


@dataclasses.dataclass(frozen=True)
class Answer:
    """One question of the lab, answered.

    Args:
        question: str, the original lab's question.
        measured: str, markdown: what the learner's runs say, or which run to start.
        original: str, what the original lab found or claimed.
    """

    question: str
    measured: str
    original: str


def sampling_error(accuracy, n):
    """The standard error of an accuracy measured on `n` images: sqrt(p (1 - p) / n).

    Example:
    >>> round(100 * sampling_error(0.8, 1000), 2)
    1.26
    """
    return math.sqrt(accuracy * (1.0 - accuracy) / n)


def accuracy_difference(first, second, n_test):
    """How far `second` is from `first` (lists of accuracies, one per seed), in words.

    Args:
        first: list of float, the reference's accuracies.
        second: list of float, the compared model's.
        n_test: int, the test images each accuracy was measured on.

    Returns:
        str, e.g. "+2.1 ± 0.6 points over 3 seeds: beyond noise", or, with
        one run on a side, "-2.4 points (one seed; the 1,000 test images
        alone give ±1.8): beyond noise".
    """
    measured = seeds.difference(first, second)
    if measured.beyond_noise is not None:
        return f"{measured.text()} ({min(measured.n)} seeds)"
    # One seed: only the test set's own sampling error is known, and the
    # two models were tested on the same images, so this is generous.
    mean_first, mean_second = seeds.spread(first).mean, seeds.spread(second).mean
    error = math.sqrt(sampling_error(mean_first, n_test) ** 2 + sampling_error(mean_second, n_test) ** 2)
    verdict = "beyond that noise" if abs(measured.delta) > 1.96 * error else "within that noise"
    return (f"{100 * measured.delta:+.1f} points (one seed; the {n_test:,} test images alone give "
            f"±{100 * 1.96 * error:.1f}): {verdict}, seed noise not measured")
