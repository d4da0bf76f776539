"""What every lab's `Config` shares: to and from the JSON-ready dict a run stores.

The labs' configs are frozen dataclasses of plain values. A run stores
`to_dict()`; the worker and the pages read it back with `from_dict()`,
which checks only the structure (a dict of known keys) and turns JSON's
lists back into tuples where a field's default is a tuple. Values are
checked by each lab's `problems`.
"""

import dataclasses

from labcore import schedules

__all__ = ["LabConfig"]


class LabConfig:
    """Mixin for a lab's frozen `Config` dataclass: `to_dict` and `from_dict`."""

    def to_dict(self):
        """dict of plain values, exactly the constructor's fields."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, values, path="config"):
        """Inverse of `to_dict`; missing keys take their defaults.

        Args:
            values: dict; its values are not checked (see the lab's `problems`).
            path: str, where the dict sits, for messages.

        Returns:
            the lab's Config.

        Raises:
            ConfigError: `values` is not a dict or has an unknown key; the
                message lists the allowed keys.
        """
        fields = schedules.known_fields(cls, values, path)
        for field in dataclasses.fields(cls):
            if isinstance(field.default, tuple) and isinstance(fields.get(field.name), list):
                fields[field.name] = tuple(fields[field.name])
        return cls(**fields)
