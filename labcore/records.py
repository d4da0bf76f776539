"""Frozen dataclasses of plain values <-> the JSON-ready dicts a run stores.

Model specs, training configs, schedules and every lab's Config are frozen
dataclasses whose fields hold plain values, tuples, or other such
dataclasses. `Record` gives them all one `to_dict` and one `from_dict`.

`from_dict` checks structure only: a dict of known keys, the required keys
present, lists where tuples are stored, nested records read recursively.
It never judges values; that is each module's `problems`, which names every
fault at once. Construction never validates either, because the pages hold
half-edited specs and configs.
"""

import dataclasses

from labcore.errors import ConfigError, LabError, describe

__all__ = ["Record", "check"]


class Record:
    """Mixin for a frozen dataclass: `to_dict` and `from_dict`.

    Class attributes a subclass may set:
        record_error: the LabError subclass raised on a structural fault
            (ConfigError by default; model specs use SpecError).
        record_path: str, what the dict is called in messages when
            `from_dict` is given no path.

    Example:
    >>> @dataclasses.dataclass(frozen=True)
    ... class Point(Record):
    ...     xy: tuple = (0, 0)
    >>> Point.from_dict({"xy": [1, 2]})
    Point(xy=(1, 2))
    """

    record_error = ConfigError
    record_path = "config"

    def to_dict(self):
        """dict of plain values (nested dicts for nested records), JSON-ready."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, values, path=None):
        """Inverse of `to_dict`; missing keys take their defaults.

        Lists are accepted where tuples are stored, so
        `cls.from_dict(json.loads(json.dumps(record.to_dict())))` equals
        `record`.

        Args:
            values: dict, as written by `to_dict`; its values are not checked.
            path: str, where the dict sits, for messages; default
                `record_path`.

        Returns:
            an instance of `cls`.

        Raises:
            record_error: `values` (or a nested dict) is not a dict, has an
                unknown key (the message lists the allowed ones), lacks a
                required key, or has something else where a list is stored.
        """
        path = cls.record_path if path is None else path
        error = cls.record_error
        if not isinstance(values, dict):
            raise error(describe(path, "a dict", values))
        fields = {field.name: field for field in dataclasses.fields(cls)}
        for key in values:
            if key not in fields:
                raise error(f"{path} has an unknown key {key!r}; allowed keys: {', '.join(fields)}.")
        required = [name for name, field in fields.items() if _default(field) is dataclasses.MISSING]
        for key in required:
            if key not in values:
                raise error(f"{path} is missing the key {key!r}; required keys: {', '.join(required)}.")
        return cls(**{
            key: _read(_default(fields[key]), value, cls._child_path(path, key), error)
            for key, value in values.items()
        })

    @classmethod
    def _child_path(cls, path, key):
        """Where field `key` sits in messages; a root record may name it alone."""
        return f"{path}.{key}"


def _default(field):
    if field.default_factory is not dataclasses.MISSING:
        return field.default_factory()
    return field.default


def _read(default, value, path, error):
    """One field's stored value, read by the shape of its default."""
    if isinstance(default, Record):
        return type(default).from_dict(value, path)
    if not isinstance(default, tuple):
        return value
    if not isinstance(value, (list, tuple)):
        raise error(describe(path, "a list", value))
    item = default[0] if default else None
    return tuple(_read(item, part, f"{path}[{index}]", error) for index, part in enumerate(value))


def check(cls, values, ranges):
    """Read a stored dict as `cls` and find every field outside its declared range.

    What every validator starts with: the structure (`from_dict`), then
    each declared field's range, all messages at once.

    Args:
        cls: a Record class.
        values: the dict to read.
        ranges: dict field name -> a declared range with
            `problems(path, value) -> list[str]` (`labcore.spec.Range`).

    Returns:
        (record, found, refused): the record (None when the structure is
        wrong), the list of problem messages, and the set of refused field
        names.
    """
    try:
        record = cls.from_dict(values)
    except LabError as error:
        return None, [str(error)], set()
    found, refused = [], set()
    for name, declared in ranges.items():
        messages = declared.problems(name, getattr(record, name))
        found += messages
        if messages:
            refused.add(name)
    return record, found, refused
