"""Number fields whose shown value is the value used, with each problem under its own field.

Streamlit's `number_input(min_value=..., max_value=...)` turns an entry out
of range red in the browser and keeps sending the last valid value: the
page would train with a value it does not show. So these fields take any
number, and validation (the spec's or the training config's own, the same
code the worker runs) says what is wrong right under the field, in the
field's words: "group 1: filters must be an int in [1, 1024]; got 0."
The page disables its Train button while any problem stands.
"""

import re

import streamlit as st

__all__ = ["Fields", "readable"]

_GROUP = re.compile(r"learner\.groups\[(\d+)\]\.")


def readable(problem):
    """A validation message with groups counted from 1, as the fields count them.

    Example:
    >>> readable("learner.groups[0].n_filters must be an int in [1, 1024]; got 0.")
    'group 1: n_filters must be an int in [1, 1024]; got 0.'
    """
    return _GROUP.sub(lambda found: f"group {int(found.group(1)) + 1}: ", problem)


class Fields:
    """The number fields of one form, each with a place under it for its problems."""

    def __init__(self):
        self._slots = {}

    def number(self, container, label, path, value, key, **options):
        """A `number_input` without bounds, registered under `path` (e.g. "stem.n_filters").

        Args:
            container: where to draw it (a column, or `st`).
            label: str, the field's label; its problems start with it.
            path: str, the field's path in validation messages.
            value: int or float, the starting value (its type sets the field's).
            key: str, the widget's key.
            **options: more `number_input` options (step, format, help).

        Returns:
            the number shown, whatever it is.
        """
        number = container.number_input(label, value=value, key=key, **options)
        self._slots[path] = (container.empty(), label)
        return number

    def show(self, problems):
        """Show each problem under its field; return the ones that belong to no field.

        Args:
            problems: list of str, messages that start with a field's path.

        Returns:
            list of str, the problems of no registered field (shown by the
            caller, e.g. a model too large), groups counted from 1.
        """
        mine, rest = {}, []
        for problem in problems:
            path = next((path for path in self._slots if problem.startswith(f"{path} ")), None)
            if path is None:
                rest.append(readable(problem))
            else:
                mine.setdefault(path, []).append(problem[len(path):])
        for path, found in mine.items():
            slot, label = self._slots[path]
            slot.error("\n\n".join(label + text for text in found), icon=":material/block:")
        return rest
