"""Declared ranges: the values each spec field accepts, declared once.

`problems` words its messages from them and the builder's widgets take
their bounds and choices from them, so a widget never offers a value that
validation would refuse. `Range` is shared beyond specs: schedules,
training configs and the labs' configs declare their fields with it too.
"""

import dataclasses
import math
import re

from labcore.errors import describe
from labcore.spec.blocks import BLOCKS

__all__ = ["INITIALIZERS", "RANGES", "Range", "field_range"]

INITIALIZERS = (
    "he_normal",
    "he_uniform",
    "glorot_normal",
    "glorot_uniform",
    "lecun_normal",
    "lecun_uniform",
)

@dataclasses.dataclass(frozen=True)
class Range:
    """The values one field accepts, declared once for messages and widgets.

    Spec fields declare theirs in `RANGES`; `labcore.schedules` and
    `labcore.trainconfig` declare their fields with this class too, so every
    message in labcore words a range the same way.

    Args:
        kind: str, "int", "float", "bool", "choice", "name" (a model name:
            `lo` to `hi` letters, digits, '_', '-' or '.') or "tuple"
            (a tuple, or list, of `lo` to `hi` items).
        lo: number or None, the lower bound of an "int" or "float", or the
            fewest items / characters of a "tuple" / "name".
        hi: number or None, the upper bound, likewise.
        choices: tuple, the values a "choice" accepts (str or int; a bool
            never matches an int choice).
        optional: bool, True when None is also accepted (None then means
            "inherit" or "leave this layer out"; each field says which).
        lo_open: bool, True when `lo` itself is excluded.
        hi_open: bool, True when `hi` itself is excluded.
        item: Range or None, for a "tuple" of plain values, the range of
            each item.
        what: str, for a "tuple", what its items are called in messages.
    """

    kind: str
    lo: float | None = None
    hi: float | None = None
    choices: tuple = ()
    optional: bool = False
    lo_open: bool = False
    hi_open: bool = False
    item: "Range | None" = None
    what: str = ""

    @property
    def allowed(self):
        """str, the accepted values in words, e.g. "an int in [1, 16]"."""
        if self.kind == "bool":
            return "None, True or False" if self.optional else "True or False"
        if self.kind == "choice":
            text = "one of " + ", ".join(repr(choice) for choice in self.choices)
        elif self.kind == "name":
            text = f"{self.lo} to {self.hi} letters, digits, '_', '-' or '.'"
        elif self.kind == "tuple":
            count = f"{self.lo}" if self.lo == self.hi else f"{self.lo} to {self.hi}"
            text = f"a tuple of {count} {self.what}"
        else:
            article = "an" if self.kind == "int" else "a"
            opening = "(" if self.lo_open else "["
            closing = ")" if self.hi_open else "]"
            shown = str if self.kind == "int" else (lambda bound: f"{bound:g}")
            text = f"{article} {self.kind} in {opening}{shown(self.lo)}, {shown(self.hi)}{closing}"
        return f"None or {text}" if self.optional else text

    def problems(self, path, value):
        """Every message for one value (a tuple's items are checked too).

        Args:
            path: str, where the value sits, e.g. "learner.groups[1].n_blocks".
            value: anything; never raises, whatever it is.

        Returns:
            list of str, empty when the value is accepted.
        """
        if value is None and self.optional:
            return []
        if not self._accepts(value):
            return [describe(path, self.allowed, value)]
        if self.kind == "tuple" and self.item is not None:
            return [
                message
                for index, entry in enumerate(value)
                for message in self.item.problems(f"{path}[{index}]", entry)
            ]
        return []

    def _accepts(self, value):
        # bool is a subclass of int, but `True` filters is a slip, not 1;
        # and 3.0 filters is refused rather than silently truncated.
        if self.kind == "bool":
            return isinstance(value, bool)
        if self.kind == "choice":
            # Compare only same-typed builtins: a hostile object's __eq__
            # never runs, and True never passes for the int choice 1.
            return any(type(value) is type(choice) and value == choice for choice in self.choices)
        if self.kind == "name":
            return isinstance(value, str) and bool(
                re.fullmatch(rf"[A-Za-z0-9_.\-]{{{self.lo},{self.hi}}}", value)
            )
        if self.kind == "tuple":
            return isinstance(value, (tuple, list)) and self.lo <= len(value) <= self.hi
        if isinstance(value, bool):
            return False
        if self.kind == "int" and not isinstance(value, int):
            return False
        if not isinstance(value, (int, float)):
            return False
        # Only floats can be NaN or infinite; math.isfinite would overflow
        # on an int like 10**400, which the comparisons below handle exactly.
        if isinstance(value, float) and not math.isfinite(value):
            return False
        above_lo = value > self.lo if self.lo_open else value >= self.lo
        below_hi = value < self.hi if self.hi_open else value <= self.hi
        return above_lo and below_hi


_FILTERS = Range("int", 1, 1024)

RANGES = {
    "name": Range("name", 1, 64),
    "input_shape": Range("tuple", 3, 3, item=Range("int", 1, 512),
                         what="ints (height, width, channels)"),
    "stem.kind": Range("choice", choices=("conv", "none")),
    "stem.n_filters": _FILTERS,
    "stem.kernel_size": Range("choice", choices=(1, 3, 5, 7, 9, 11)),
    "stem.strides": Range("choice", choices=(1, 2)),
    "stem.padding": Range("choice", choices=("same", "explicit", "valid")),
    "stem.use_bias": Range("bool", optional=True),
    "stem.pool": Range("bool"),
    "learner.block": Range("choice", choices=BLOCKS),
    "learner.groups": Range("tuple", 1, 8, what="GroupSpecs"),
    "learner.groups.n_filters": _FILTERS,
    "learner.groups.n_blocks": Range("int", 1, 16),
    "learner.groups.strides": Range("choice", choices=(1, 2), optional=True),
    "task.kind": Range("choice", choices=("classifier", "encoder", "autoencoder")),
    "task.n_classes": Range("int", 2, 1000),
    "task.pooling": Range("choice", choices=("avg", "max")),
    "task.dropout": Range("float", 0.0, 1.0, optional=True, hi_open=True),
    # Keras's GaussianNoise refuses a standard deviation above 1.
    "task.noise": Range("float", 0.0, 1.0, optional=True),
    "task.dense_initializer": Range("choice", choices=INITIALIZERS, optional=True),
    "task.dense_l2": Range("float", 0.0, 1.0, optional=True),
    "task.decoder_filters": Range("tuple", 0, 8, item=_FILTERS, what="ints"),
    "task.output_activation": Range("choice", choices=("sigmoid", "relu", "linear")),
    "task.decoder_upsampling": Range("choice", choices=("transpose", "transpose_even", "resize")),
    "hyper.initializer": Range("choice", choices=INITIALIZERS),
    "hyper.l2": Range("float", 0.0, 1.0),
    "hyper.input_noise": Range("float", 0.0, 1.0),
    "hyper.bn_epsilon": Range("float", 0.0, 0.1, lo_open=True),
    "hyper.bn_momentum": Range("float", 0.5, 1.0, hi_open=True),
    "hyper.use_bias": Range("bool"),
    "hyper.relu_clip": Range("float", 0.0, 1000.0, optional=True, lo_open=True),
}


def field_range(path):
    """The declared range of one field, for a widget's bounds or choices.

    Args:
        path: str, a key of `RANGES`, or a concrete path into a spec whose
            indices are dropped: "learner.groups[2].n_filters" reads
            "learner.groups.n_filters".

    Returns:
        Range.

    Raises:
        KeyError: no field has that path; the message lists the known ones.

    Example:
    >>> field_range("learner.groups[1].n_blocks").allowed
    'an int in [1, 16]'
    """
    key = re.sub(r"\[\d+\]", "", path)
    if key not in RANGES:
        raise KeyError(f"no spec field {path!r}; known fields: {', '.join(RANGES)}.")
    return RANGES[key]
