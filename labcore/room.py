"""What an instructor shares with the room: a model every attendee can load in the Builder.

In a workshop the instructor builds a model live and says "now you try
from here". `push` puts the model (its spec and training settings) into
the room's settings beside the store, where every server and page sees it;
each attendee's Model Builder then offers "Load the instructor's model".
The settings file is only ever written by the server, but it is read back
as data: `pushed` checks the spec and the training settings as the Builder
would and answers None for anything it cannot load.

Keras-free: the pages import it.
"""

import dataclasses
import time

from labcore import spec, trainconfig

__all__ = ["Pushed", "push", "pushed", "withdraw"]

_KEY = "pushed_model"


@dataclasses.dataclass(frozen=True)
class Pushed:
    """A model the instructor pushed to the room.

    Attributes:
        spec: spec.ModelSpec.
        train: trainconfig.TrainConfig, its training settings (dataset
            included).
        title: str, what the attendees' pages call it.
        at: float, when it was pushed (seconds since the epoch); a new push
            is a new `at`, so pages can tell two pushes apart.
    """

    spec: spec.ModelSpec
    train: trainconfig.TrainConfig
    title: str
    at: float


def push(store, model_spec, train, title, now=None):
    """Share a model with the room, replacing any earlier push.

    Args:
        store: labcore.store.Store.
        model_spec: spec.ModelSpec, valid (the Builder disables the button
            otherwise).
        train: trainconfig.TrainConfig.
        title: str.
        now: float or None, the time to record (default: now).

    Returns:
        Pushed, as the attendees will read it.
    """
    at = time.time() if now is None else float(now)
    store.update_settings(**{_KEY: {"spec": model_spec.to_dict(), "train": train.to_dict(),
                                    "title": str(title), "at": at}})
    return pushed(store.settings())


def withdraw(store):
    """Take the pushed model back: the attendees' pages stop offering it."""
    store.update_settings(**{_KEY: None})


def pushed(settings):
    """The model the instructor pushed, or None when there is none it can load.

    Args:
        settings: dict, the room's settings (`Store.settings()`), read once
            by the page for everything the room sets.

    Returns:
        Pushed or None.
    """
    entry = settings.get(_KEY)
    if not isinstance(entry, dict):
        return None
    run = {"spec": entry.get("spec"), "train": entry.get("train")}
    try:
        if trainconfig.problems_for_run(run):
            return None
        return Pushed(spec.ModelSpec.from_dict(run["spec"]), trainconfig.TrainConfig.from_dict(run["train"]),
                      str(entry["title"]), float(entry["at"]))
    except (KeyError, TypeError, ValueError):  # labcore's errors are ValueErrors
        return None
