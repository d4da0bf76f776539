"""The lab's answers: each question the original lab ends with, answered from the learner's runs.

The original labs close with questions for the student (AutoEncoder: can
codes match pixels, and how much faster do they train? Regularization: how
small can a model be and still generalise? Ensemble: can one model's heads
match an ensemble of models?). Each lab's `views.answers` answers them from
the runs beside it, numbers with their spread, and sets the original's
answer beside ours. Until the runs that answer a question exist, the answer
says which run to start.

`accuracy_verdict` judges a difference of two accuracies, and
`accuracy_difference` words it: over seeds when there are several runs
(`labcore.seeds`), else against the sampling error of the test set alone,
and says which.
"""

import dataclasses
import math

from labcore import seeds

__all__ = ["Answer", "Verdict", "accuracy_difference", "accuracy_verdict", "sampling_error"]


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


@dataclasses.dataclass(frozen=True)
class Verdict:
    """A difference of two accuracies, judged: what a sentence branches on, and its words.

    Args:
        delta: float, mean(second) - mean(first).
        beyond_noise: bool, whether it beats the seeds' noise, or with one
            seed on a side the test set's sampling error alone.
        text: str, as `accuracy_difference` words it.
    """

    delta: float
    beyond_noise: bool
    text: str


def _values(readings):
    return list(readings.values()) if isinstance(readings, dict) else readings


def accuracy_verdict(first, second, n_test):
    """How far `second` is from `first`, judged against the noise, with its words.

    Args:
        first: the reference's accuracies: a list of float, one per seed,
            or a dict seed -> float (compared seed by seed where at least
            two seeds match, `labcore.seeds.difference`).
        second: the compared model's, the same way.
        n_test: int, the test images each accuracy was measured on.

    Returns:
        Verdict; its text e.g. "+2.1 ± 0.6 points: beyond noise (3
        seeds)", or, with one run on a side, "-2.4 points (one seed; the
        1,000 test images alone give ±1.8): beyond that noise, seed noise
        not measured".
    """
    measured = seeds.difference(first, second)
    if measured.beyond_noise is not None:
        return Verdict(measured.delta, measured.beyond_noise, f"{measured.text()} ({min(measured.n)} seeds)")
    # One seed: only the test set's own sampling error is known, and the
    # two models were tested on the same images, so this is generous.
    mean_first, mean_second = seeds.spread(_values(first)).mean, seeds.spread(_values(second)).mean
    error = math.sqrt(sampling_error(mean_first, n_test) ** 2 + sampling_error(mean_second, n_test) ** 2)
    beyond = abs(measured.delta) > 1.96 * error
    return Verdict(measured.delta, beyond,
                   f"{100 * measured.delta:+.1f} points (one seed; the {n_test:,} test images alone give "
                   f"±{100 * 1.96 * error:.1f}): {'beyond' if beyond else 'within'} that noise, seed noise "
                   "not measured")


def accuracy_difference(first, second, n_test):
    """How far `second` is from `first` (accuracies, one per seed), in words: `accuracy_verdict`'s text.

    Args:
        first: list of float, or dict seed -> float: the reference's accuracies.
        second: the compared model's, the same way.
        n_test: int, the test images each accuracy was measured on.

    Returns:
        str, e.g. "+2.1 ± 0.6 points: beyond noise (3 seeds)", or, with
        one run on a side, "-2.4 points (one seed; the 1,000 test images
        alone give ±1.8): beyond that noise, seed noise not measured".
    """
    return accuracy_verdict(first, second, n_test).text
