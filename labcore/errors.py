"""Errors raised by labcore, and the one function that words their messages.

Every message names the input, says what is allowed and shows what was
received, in one style: "learner.groups[1].n_blocks must be an int in
[1, 16]; got 0." Pages show these messages as they are, so they are part of
the public API and tests pin their words.
"""

__all__ = [
    "LabError",
    "SpecError",
    "DataError",
    "ConfigError",
    "PermissionDenied",
    "describe",
]


class LabError(ValueError):
    """Base class: an input that labcore refuses, with a message for people."""


class SpecError(LabError):
    """A model spec that cannot be built (see `labcore.spec.problems`)."""


class DataError(LabError):
    """A dataset that is missing, corrupt or asked for in a way it cannot serve."""


class ConfigError(LabError):
    """A training or lab configuration outside its allowed ranges."""


class PermissionDenied(LabError):
    """A session tried to change a run it does not own."""


def describe(path, allowed, got):
    """Word one validation message.

    Args:
        path: str, where the value sits, e.g. "learner.groups[1].n_blocks".
        allowed: str, what is allowed, e.g. "an int in [1, 16]".
        got: the value received; shown with `repr` (strings quoted), long
            values shortened.

    Returns:
        str, e.g. "learner.groups[1].n_blocks must be an int in [1, 16]; got 0."
    """
    try:
        shown = repr(got)
    except (ValueError, RecursionError):
        # An int of more than 4,300 digits, or containers nested too deep
        # to print: the message must still be worded, not raise.
        shown = f"<{type(got).__name__} too large to show>"
    if len(shown) > 60:
        shown = shown[:57] + "..."
    return f"{path} must be {allowed}; got {shown}."
