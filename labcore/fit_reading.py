"""What a finished fit's train and validation accuracy say, in one sentence.

A run that ends at train 73% and validation 43% should not pass without a
word. `reading` names what the numbers show (not learned yet, overfits,
underfits, or generalises), over the seeds run, and says when one seed
cannot tell. Pure Python: the Builder page calls it on stored results.
"""

from labcore import seeds

__all__ = ["reading"]

# A gap smaller than this is not called overfitting, however many seeds agree.
OVERFIT_POINTS = 0.05
# A gap this wide under a low train accuracy is not memorisation.
LAGGING_POINTS = 0.15
# Train accuracy below this is called underfitting (the labs' datasets reach it easily).
UNDERFIT_BELOW = 0.90


def reading(train, validation, n_classes):
    """One sentence on a fit: has it learned, does it overfit or underfit?

    Args:
        train: list of float, the last epoch's train accuracy per seed.
        validation: list of float, the last epoch's validation accuracy per seed.
        n_classes: int, for the chance level.

    Returns:
        str, or "" when there is no reading.

    Example:
    >>> reading([0.99, 0.98, 0.99], [0.80, 0.81, 0.79], 10)
    'Overfits: train 98.7 ± 0.6% is 18.7 ± 0.9 points above validation 80.0 ± 1.0%. The Regularization lab closes such a gap step by step.'
    >>> reading([0.12], [0.11], 10)
    'Validation 11.0% (one seed) is near chance (10%): the model has not learned yet. Train more epochs or try another learning rate.'
    """
    fitted, held_out = seeds.spread(train), seeds.spread(validation)
    if fitted is None or held_out is None:
        return ""
    chance = 1.0 / n_classes
    if held_out.mean < chance + 0.1:
        return (f"Validation {held_out.text()} is near chance ({100 * chance:.0f}%): the model has not "
                "learned yet. Train more epochs or try another learning rate.")
    gap = seeds.difference(dict(enumerate(validation)), dict(enumerate(train)))
    one_seed = "" if len(train) > 1 else " One seed varies by 1-2 points: run more seeds to be sure."
    gap_text = (f"{100 * gap.delta:.1f} ± {100 * gap.se:.1f} points" if gap.beyond_noise is not None
                else f"{100 * gap.delta:.1f} points")
    if gap.delta > LAGGING_POINTS and fitted.mean < UNDERFIT_BELOW:
        return (f"Validation {held_out.text()} is {gap_text} below train {fitted.text()}, which is itself "
                "low: more than memorising explains. Batch-norm statistics that lag behind the weights "
                "on a short run can do this; train more epochs or lower the batch-norm momentum."
                f"{one_seed}")
    if gap.delta > OVERFIT_POINTS and gap.beyond_noise is not False:
        return (f"Overfits: train {fitted.text()} is {gap_text} above validation {held_out.text()}. "
                f"The Regularization lab closes such a gap step by step.{one_seed}")
    if fitted.mean < UNDERFIT_BELOW:
        return (f"Underfits: train {fitted.text()} is itself low and validation {held_out.text()} follows "
                f"it. More epochs, a wider model or another learning rate may help.{one_seed}")
    return (f"Generalises: train {fitted.text()} and validation {held_out.text()} are within "
            f"{max(100 * gap.delta, 0.0):.1f} points of each other.{one_seed}")
