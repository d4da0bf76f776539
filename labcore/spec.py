"""Model specs: a composable model (stem -> learner -> task) as plain data.

Owns the spec dataclasses (`ModelSpec` with its `StemSpec`, `LearnerSpec`
of `GroupSpec`s, `TaskSpec` and `HyperSpec`), the declared `RANGES` that both
validation and the builder's widgets read, `problems` / `validate`, and a
pure-Python walk through the model that gives every layer's name, output
shape and parameter count (`layer_table`, `summarize`, `output_shapes`,
`count_params`). It must not import Keras or TensorFlow, even indirectly:
the Streamlit process imports it to check and count a model in
microseconds. `labcore.composable` builds the Keras model from the same
spec, and the tests pin that both agree layer by layer.

Shape arithmetic follows Keras: a 'same' convolution with stride s turns n
into ceil(n / s); a 'valid' one with kernel k into floor((n - k) / s) + 1.
Parameters count every weight Keras counts, including batch norm's moving
mean and variance (4 per channel), and biases only where `use_bias` is on.

Example:
>>> spec = default_spec()
>>> problems(spec)
[]
>>> [(row.name, row.output_shape) for row in summarize(spec)][-2:]
[('group 3', (7, 7, 64)), ('task', (10,))]
"""

import dataclasses
import functools
import json
import math
import re

from labcore.errors import SpecError, describe
from labcore.records import Record

__all__ = [
    "BLOCKS",
    "DEFAULT_MAX_PARAMS",
    "INITIALIZERS",
    "MAX_JSON_BYTES",
    "RANGES",
    "GroupSpec",
    "HyperSpec",
    "LayerGroupRow",
    "LayerRow",
    "LearnerSpec",
    "ModelSpec",
    "Range",
    "StemSpec",
    "TaskSpec",
    "count_params",
    "default_spec",
    "dense_initializer",
    "dense_l2",
    "field_range",
    "format_summary",
    "group_strides",
    "layer_table",
    "output_shapes",
    "parse_json",
    "problems",
    "stem_use_bias",
    "summarize",
    "validate",
]

BLOCKS = (
    "plain",
    "resnet_v1_basic",
    "resnet_v1_bottleneck",
    "resnet_v2_basic",
    "resnet_v2_bottleneck",
)
INITIALIZERS = (
    "he_normal",
    "he_uniform",
    "glorot_normal",
    "glorot_uniform",
    "lecun_normal",
    "lecun_uniform",
)
DEFAULT_MAX_PARAMS = 10_000_000
# A spec is a few kilobytes of JSON; anything far larger is not one.
MAX_JSON_BYTES = 1_000_000


# ## Declared ranges
#
# One declaration per field. `problems` words its messages from them and
# the builder's widgets take their bounds and choices from them, so a widget
# never offers a value that validation would refuse.


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
    "hyper.initializer": Range("choice", choices=INITIALIZERS),
    "hyper.l2": Range("float", 0.0, 1.0),
    "hyper.input_noise": Range("float", 0.0, 1.0),
    "hyper.bn_epsilon": Range("float", 0.0, 0.1, lo_open=True),
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


# ## The spec
#
# Frozen dataclasses of plain values. Construction never validates: the
# builder page holds half-edited specs, and `problems` names every fault.


class _SpecRecord(Record):
    """A part of a model spec: structural faults are SpecErrors."""

    record_error = SpecError


@dataclasses.dataclass(frozen=True)
class StemSpec(_SpecRecord):
    """How the image is first reduced: one convolution, optionally pooled.

    A "conv" stem is `[ZeroPadding2D(k // 2)] -> Conv2D -> BN -> ReLU ->
    [ZeroPadding2D(1) -> MaxPool 3x3/2]`; "none" feeds the image straight to
    the first group.

    Args:
        kind: str, "conv" or "none".
        n_filters: int in [1, 1024], the convolution's filters.
        kernel_size: int, one of 1, 3, 5, 7, 9, 11.
        strides: int, 1 or 2.
        padding: str, "same"; "explicit" (zero-pad k // 2, then a 'valid'
            convolution: the original ResNet stem); or "valid" (no padding,
            so a kernel larger than the input is refused).
        use_bias: bool or None, None inherits `HyperSpec.use_bias`.
        pool: bool, True adds the original ResNet's ZeroPadding2D(1) and
            3x3 max-pool with stride 2.
    """

    kind: str = "conv"
    n_filters: int = 32
    kernel_size: int = 3
    strides: int = 1
    padding: str = "same"
    use_bias: bool | None = None
    pool: bool = False


@dataclasses.dataclass(frozen=True)
class GroupSpec(_SpecRecord):
    """A group of blocks of one type, the learner's unit.

    The first block carries the group's stride and, for ResNet blocks, is a
    projection block (a 1x1 convolution on the shortcut); the others are
    identity blocks. `n_blocks` counts all of them, so the original labs'
    "n_blocks=4" (1 projection + 4 identity) is `n_blocks=5` here.

    Args:
        n_filters: int in [1, 1024]; bottleneck blocks output 4x as many
            channels.
        n_blocks: int in [1, 16].
        strides: 1, 2 or None; None is 1 for the first group, 2 for the
            others.
    """

    n_filters: int
    n_blocks: int
    strides: int | None = None


def _default_groups():
    return (GroupSpec(16, 1), GroupSpec(32, 1), GroupSpec(64, 1))


@dataclasses.dataclass(frozen=True)
class LearnerSpec(_SpecRecord):
    """The learner: groups of blocks, all of one block type.

    Blocks (f = the group's n_filters, s = its stride):
    "plain" Conv3x3(s)-BN-ReLU, no shortcut.
    "resnet_v1_basic" Conv3x3(s)-BN-ReLU-Conv3x3-BN, add, ReLU.
    "resnet_v1_bottleneck" Conv1x1(s)-BN-ReLU-Conv3x3-BN-ReLU-Conv1x1(4f)-BN,
    add, ReLU. Their projection shortcut is Conv1x1(s)-BN.
    "resnet_v2_basic" BN-ReLU-Conv3x3(s)-BN-ReLU-Conv3x3, add.
    "resnet_v2_bottleneck" BN-ReLU-Conv1x1-BN-ReLU-Conv3x3(s)-BN-ReLU-
    Conv1x1(4f), add: the original labs' pre-activation block. Their
    projection shortcut is BN-Conv1x1(s), without ReLU, and no final BN-ReLU
    follows the last group (as in the original).

    Args:
        block: str, one of `BLOCKS`.
        groups: tuple of 1 to 8 GroupSpec.
    """

    block: str = "plain"
    groups: tuple = dataclasses.field(default_factory=_default_groups)


@dataclasses.dataclass(frozen=True)
class TaskSpec(_SpecRecord):
    """What the model does with the learner's output.

    "classifier": GlobalAverage/MaxPooling -> [Dropout] -> [GaussianNoise ->
    ReLU] -> Dense(n_classes) -> softmax. "encoder": no head; the output is
    the learner's (the latent code). "autoencoder": a decoder of
    Conv2DTranspose 3x3/2 'same' stages, `decoder_filters` then one that
    restores the input's channels, so the output has the input's shape.

    Args:
        kind: str, "classifier", "encoder" or "autoencoder".
        n_classes: int in [2, 1000], classifier only.
        pooling: str, "avg" or "max", classifier only.
        dropout: float in [0, 1) or None (no Dropout layer). 0.0 keeps a
            Dropout(0.0) layer, as the original Lab 1 classifier had.
        noise: float in [0, 1] or None (none): GaussianNoise then ReLU after
            pooling, the Labs 2/3 head.
        dense_initializer: str or None, None inherits `HyperSpec.initializer`.
        dense_l2: float in [0, 1] or None, None inherits `HyperSpec.l2`.
        decoder_filters: tuple of ints in [1, 1024], autoencoder only: one
            ConvT 3x3/2 -> BN -> ReLU stage each; with the last stage there
            must be one stage per stride-2 stage of the encoder.
        output_activation: str, the autoencoder's last stage: "sigmoid"
            (ours: images are in [0, 1]), "relu" (BN -> ReLU, the original)
            or "linear".
    """

    kind: str = "classifier"
    n_classes: int = 10
    pooling: str = "avg"
    dropout: float | None = None
    noise: float | None = None
    dense_initializer: str | None = None
    dense_l2: float | None = None
    decoder_filters: tuple = ()
    output_activation: str = "sigmoid"


@dataclasses.dataclass(frozen=True)
class HyperSpec(_SpecRecord):
    """Hyperparameters of every layer, as in the labs' `Composable` base.

    Args:
        initializer: str, one of `INITIALIZERS`, for every kernel.
        l2: float in [0, 1], the L2 factor on every convolution kernel
            (shortcuts and decoder included) and, unless
            `TaskSpec.dense_l2` says otherwise, the dense kernel; 0 = none.
        input_noise: float in [0, 1], stddev of a GaussianNoise layer on the
            input; 0 = no layer.
        bn_epsilon: float in (0, 0.1], of every BatchNormalization.
        use_bias: bool, for every convolution (the stem may override).
        relu_clip: float in (0, 1000] or None: every ReLU's max_value.
    """

    initializer: str = "he_normal"
    l2: float = 0.0
    input_noise: float = 0.0
    bn_epsilon: float = 1.001e-5
    use_bias: bool = False
    relu_clip: float | None = None


@dataclasses.dataclass(frozen=True)
class ModelSpec(_SpecRecord):
    """A whole model: input -> stem -> learner -> task, with hyperparameters.

    What the builder page edits, what a run stores and what is exported:
    `to_dict` gives plain JSON-ready values and `from_dict` reads them back.

    Args:
        input_shape: tuple of 3 ints in [1, 512], (height, width, channels).
        stem: StemSpec.
        learner: LearnerSpec.
        task: TaskSpec.
        hyper: HyperSpec.
        name: str, 1 to 64 letters, digits, '_', '-' or '.'; the Keras
            model's name.
    """

    input_shape: tuple = (28, 28, 1)
    stem: StemSpec = StemSpec()
    learner: LearnerSpec = LearnerSpec()
    task: TaskSpec = TaskSpec()
    hyper: HyperSpec = HyperSpec()
    name: str = "model"

    record_path = "spec"

    @classmethod
    def _child_path(cls, path, key):
        # Spec fields are addressed from the root ("learner.groups[1]"),
        # as in RANGES and in every problem message.
        return key


_PARTS = {"stem": StemSpec, "learner": LearnerSpec, "task": TaskSpec, "hyper": HyperSpec}


def parse_json(text, source="spec file"):
    """Read a spec from JSON text (an uploaded or exported file), refusing hostile input.

    Whatever `text` holds (not UTF-8, not JSON, nested thousands deep,
    numbers of thousands of digits, megabytes), the answer is a `SpecError`
    in the usual "<input> must be <allowed>; got <what>." words, never
    another exception. Like `ModelSpec.from_dict`, only the structure is
    checked; `problems` judges the values.

    Args:
        text: str, or bytes of UTF-8 (a byte-order mark is allowed).
        source: str, what to call the input in messages (e.g. a file name).

    Returns:
        ModelSpec.

    Raises:
        SpecError: the input is too large, not UTF-8, not JSON, nested or
            numbered beyond what Python's JSON reader takes, or not the
            structure of a spec (see `ModelSpec.from_dict`).

    Example:
    >>> parse_json('{"learner": {"block": "plain"}}').learner.block
    'plain'
    """
    if not isinstance(text, (str, bytes, bytearray)):
        raise SpecError(describe(source, "JSON text (str or bytes)", text))
    if len(text) > MAX_JSON_BYTES:
        raise SpecError(
            f"{source} must be at most {MAX_JSON_BYTES:,} bytes of JSON; got {len(text):,}."
        )
    if not isinstance(text, str):
        try:
            text = bytes(text).decode("utf-8-sig")
        except UnicodeDecodeError as error:
            raise SpecError(
                f"{source} must be UTF-8 JSON text; got a byte that is not UTF-8 "
                f"(0x{error.object[error.start]:02x} at position {error.start})."
            ) from None
    if not text.strip():
        raise SpecError(f"{source} must be a JSON object; got an empty file.")
    try:
        values = json.loads(text)
    except json.JSONDecodeError as error:
        raise SpecError(
            f"{source} must be valid JSON; got text that is not (line {error.lineno}, "
            f"column {error.colno}: {error.msg})."
        ) from None
    except RecursionError:
        raise SpecError(
            f"{source} must be JSON nested a few levels deep, as a spec is; got nesting "
            "too deep to read."
        ) from None
    except ValueError:
        # Python refuses to convert an integer of more than 4,300 digits.
        raise SpecError(
            f"{source} must hold numbers of at most 4,300 digits; got a longer one."
        ) from None
    return ModelSpec.from_dict(values)


def default_spec():
    """A small first-click model for 28x28x1 Fashion-MNIST.

    A 3x3 stem of 16 filters and three plain groups of 16, 32 and 64
    filters (28x28 -> 28x28 -> 14x14 -> 7x7), about 27 thousand parameters:
    it trains an epoch on 6,000 images in seconds on a 2-core CPU.

    Returns:
        ModelSpec.
    """
    return ModelSpec(stem=StemSpec(n_filters=16), name="first_model")


# ## What `None` inherits
#
# Shared with `labcore.composable`, so the count and the build can never
# resolve a default differently.


def group_strides(group, index):
    """The stride of a group's first block.

    Args:
        group: GroupSpec.
        index: int, the group's position, 1 for the first.

    Returns:
        int: `group.strides`, else 1 for the first group and 2 after it.
    """
    if group.strides is not None:
        return group.strides
    return 1 if index == 1 else 2


def stem_use_bias(spec):
    """bool, whether the stem convolution has a bias (its own, else hyper's)."""
    return spec.hyper.use_bias if spec.stem.use_bias is None else spec.stem.use_bias


def dense_initializer(spec):
    """str, the classifier's kernel initializer (its own, else hyper's)."""
    if spec.task.dense_initializer is None:
        return spec.hyper.initializer
    return spec.task.dense_initializer


def dense_l2(spec):
    """float, the classifier's L2 factor (its own, else hyper's)."""
    return spec.hyper.l2 if spec.task.dense_l2 is None else spec.task.dense_l2


# ## Validation


def _field_problems(spec):
    """Every field out of its declared range, in field order."""
    found = RANGES["name"].problems("name", spec.name)
    found += RANGES["input_shape"].problems("input_shape", spec.input_shape)
    for part, cls in _PARTS.items():
        value = getattr(spec, part)
        if not isinstance(value, cls):
            found.append(describe(part, f"a {cls.__name__}", value))
            continue
        for field in dataclasses.fields(cls):
            path = f"{part}.{field.name}"
            refused = RANGES[path].problems(path, getattr(value, field.name))
            found += refused
            if path == "learner.groups" and not refused:
                found += _group_problems(value.groups)
    return found


def _group_problems(groups):
    """Every group that is not a GroupSpec, and every field out of range."""
    found = []
    for index, group in enumerate(groups):
        path = f"learner.groups[{index}]"
        if not isinstance(group, GroupSpec):
            found.append(describe(path, "a GroupSpec", group))
            continue
        for field in dataclasses.fields(GroupSpec):
            found += RANGES[f"learner.groups.{field.name}"].problems(
                f"{path}.{field.name}", getattr(group, field.name)
            )
    return found


def _stem_problems(spec):
    """The one way a map can shrink below 1x1: a 'valid' stem kernel too big."""
    stem = spec.stem
    height, width = spec.input_shape[:2]
    if stem.kind == "conv" and stem.padding == "valid" and min(height, width) < stem.kernel_size:
        return [
            describe(
                "stem.kernel_size",
                f"at most {min(height, width)} for a 'valid' convolution on the "
                f"{height}x{width} input (a larger kernel shrinks the feature map below 1x1)",
                stem.kernel_size,
            )
        ]
    return []


def _stride2_stages(spec):
    """Names of the encoder's stages that halve the feature map."""
    stages = []
    if spec.stem.kind == "conv":
        if spec.stem.strides == 2:
            stages.append("the stem convolution")
        if spec.stem.pool:
            stages.append("the stem pool")
    for index, group in enumerate(spec.learner.groups, start=1):
        if group_strides(group, index) == 2:
            stages.append(f"group {index}")
    return stages


def _decoder_problems(spec, rows):
    """An autoencoder's decoder must undo exactly the encoder's halvings."""
    if spec.task.kind != "autoencoder":
        return []
    stages = _stride2_stages(spec)
    if not stages:
        return [
            describe(
                "task.kind",
                "'classifier' or 'encoder' when no stage has stride 2 (each stage of an "
                "autoencoder's decoder doubles the feature map)",
                spec.task.kind,
            )
        ]
    filters = spec.task.decoder_filters
    if len(filters) != len(stages) - 1:
        return [
            describe(
                "task.decoder_filters",
                f"{len(stages) - 1} filter counts, one per stride-2 stage of the encoder "
                f"({', '.join(stages)}) but the last, whose ConvT restores the "
                f"{spec.input_shape[2]} input channels",
                filters,
            )
        ]
    code_height, code_width = next(r for r in rows if r.name == "learner_output").output_shape[:2]
    factor = 2 ** len(stages)
    if (code_height * factor, code_width * factor) != tuple(spec.input_shape[:2]):
        return [
            describe(
                "input_shape",
                f"a height and width the decoder restores (its {len(stages)} stride-2 "
                f"ConvTs turn the {code_height}x{code_width} code into "
                f"{code_height * factor}x{code_width * factor})",
                spec.input_shape,
            )
        ]
    return []


def problems(spec, max_params=DEFAULT_MAX_PARAMS):
    """Every reason a spec cannot be built, as messages for people.

    Never raises, whatever `spec` holds. Fields are checked first, all of
    them; shapes, the decoder and the parameter budget are checked once
    every field is in range, since they mean nothing before.

    Args:
        spec: ModelSpec (anything else is reported, not raised).
        max_params: int or None, the parameter budget; None = no budget.

    Returns:
        list of str, each "<path> must be <allowed>; got <value>.", empty
        when the spec can be built.

    Example:
    >>> bad = ModelSpec(learner=LearnerSpec(groups=(GroupSpec(16, 1), GroupSpec(32, 0))))
    >>> problems(bad)
    ['learner.groups[1].n_blocks must be an int in [1, 16]; got 0.']
    """
    if not isinstance(spec, ModelSpec):
        return [describe("spec", "a ModelSpec", spec)]
    found = _field_problems(spec) or _stem_problems(spec)
    if found:
        return found
    rows = _walk(spec)
    found = _decoder_problems(spec, rows)
    total = sum(row.params for row in rows)
    if max_params is not None and total > max_params:
        found.append(describe("parameter count", f"at most {max_params:,} (the budget)", total))
    return found


def validate(spec, max_params=DEFAULT_MAX_PARAMS):
    """Refuse a spec that cannot be built, before any job starts.

    Args:
        spec: ModelSpec.
        max_params: int or None, the parameter budget; None = no budget.

    Raises:
        SpecError: with every message of `problems`, one per line.
    """
    found = problems(spec, max_params=max_params)
    if found:
        raise SpecError("\n".join(found))


# ## The walk: layers, shapes and parameters without Keras
#
# It mirrors `labcore.composable` layer for layer, with the same names;
# tests compare the two on every block type and many random specs.


@dataclasses.dataclass(frozen=True)
class LayerRow:
    """One layer of a built model, as the spec predicts it.

    Args:
        name: str, the Keras layer's name, e.g. "group2_block1_conv1".
        part: str, "input", "stem", "group 1", ..., or "task".
        output_shape: tuple of ints, without the batch axis.
        params: int, every weight, trainable or not.
    """

    name: str
    part: str
    output_shape: tuple
    params: int


@dataclasses.dataclass(frozen=True)
class LayerGroupRow:
    """One part of a model: the input, the stem, a group, or the task.

    Args:
        name: str, "input", "stem", "group 1", ..., "task".
        output_shape: tuple of ints, the part's output without the batch axis.
        params: int, every weight of the part, trainable or not.
        blocks: int, the group's blocks; 1 for a conv stem; the decoder's
            ConvT stages for an autoencoder's task; else 0.
    """

    name: str
    output_shape: tuple
    params: int
    blocks: int


def _length(size, kernel_size, strides, padding):
    """Keras's output length of a convolution or pooling along one axis."""
    if padding == "same":
        return -(-size // strides)
    return (size - kernel_size) // strides + 1


class _Walk:
    """Follows a valid spec layer by layer, recording a LayerRow for each."""

    def __init__(self, spec):
        self.hyper = spec.hyper
        self.rows = []
        self.part = "input"

    def layer(self, name, shape, params=0):
        self.rows.append(LayerRow(name, self.part, shape, params))
        return shape

    def conv(self, name, shape, n_filters, kernel_size, strides, use_bias=None, padding="same"):
        height, width, channels = shape
        use_bias = self.hyper.use_bias if use_bias is None else use_bias
        output = (
            _length(height, kernel_size, strides, padding),
            _length(width, kernel_size, strides, padding),
            n_filters,
        )
        params = kernel_size * kernel_size * channels * n_filters + (n_filters if use_bias else 0)
        return self.layer(name, output, params)

    def conv_transpose(self, name, shape, n_filters):
        height, width, channels = shape
        params = 9 * channels * n_filters + (n_filters if self.hyper.use_bias else 0)
        return self.layer(name, (2 * height, 2 * width, n_filters), params)

    def bn(self, name, shape):
        # gamma, beta, moving mean and moving variance per channel
        return self.layer(name, shape, 4 * shape[2])

    def pad(self, name, shape, padding):
        height, width, channels = shape
        return self.layer(name, (height + 2 * padding, width + 2 * padding, channels))


def _walk_stem(walk, spec, shape):
    stem = spec.stem
    if stem.kind == "none":
        return shape
    if stem.padding == "explicit":
        shape = walk.pad("stem_pad", shape, stem.kernel_size // 2)
    padding = "same" if stem.padding == "same" else "valid"
    shape = walk.conv(
        "stem_conv", shape, stem.n_filters, stem.kernel_size, stem.strides,
        stem_use_bias(spec), padding,
    )
    shape = walk.bn("stem_bn", shape)
    shape = walk.layer("stem_relu", shape)
    if stem.pool:
        height, width, channels = walk.pad("stem_pool_pad", shape, 1)
        shape = walk.layer(
            "stem_pool", (_length(height, 3, 2, "valid"), _length(width, 3, 2, "valid"), channels)
        )
    return shape


def _walk_plain(walk, x, name, n_filters, strides, projection):
    x = walk.conv(f"{name}_conv1", x, n_filters, 3, strides)
    x = walk.bn(f"{name}_bn1", x)
    return walk.layer(f"{name}_relu1", x)


def _walk_resnet_v1(walk, x, name, n_filters, strides, projection, bottleneck):
    out_filters = 4 * n_filters if bottleneck else n_filters
    if projection:
        shortcut = walk.conv(f"{name}_shortcut_conv", x, out_filters, 1, strides)
        walk.bn(f"{name}_shortcut_bn", shortcut)
    if bottleneck:
        y = walk.conv(f"{name}_conv1", x, n_filters, 1, strides)
        y = walk.layer(f"{name}_relu1", walk.bn(f"{name}_bn1", y))
        y = walk.conv(f"{name}_conv2", y, n_filters, 3, 1)
        y = walk.layer(f"{name}_relu2", walk.bn(f"{name}_bn2", y))
        y = walk.bn(f"{name}_bn3", walk.conv(f"{name}_conv3", y, out_filters, 1, 1))
    else:
        y = walk.conv(f"{name}_conv1", x, n_filters, 3, strides)
        y = walk.layer(f"{name}_relu1", walk.bn(f"{name}_bn1", y))
        y = walk.bn(f"{name}_bn2", walk.conv(f"{name}_conv2", y, n_filters, 3, 1))
    y = walk.layer(f"{name}_add", y)
    return walk.layer(f"{name}_out", y)


def _walk_resnet_v2(walk, x, name, n_filters, strides, projection, bottleneck):
    out_filters = 4 * n_filters if bottleneck else n_filters
    if projection:
        shortcut = walk.bn(f"{name}_shortcut_bn", x)
        walk.conv(f"{name}_shortcut_conv", shortcut, out_filters, 1, strides)
    y = walk.layer(f"{name}_relu1", walk.bn(f"{name}_bn1", x))
    if bottleneck:
        y = walk.conv(f"{name}_conv1", y, n_filters, 1, 1)
        y = walk.layer(f"{name}_relu2", walk.bn(f"{name}_bn2", y))
        y = walk.conv(f"{name}_conv2", y, n_filters, 3, strides)
        y = walk.layer(f"{name}_relu3", walk.bn(f"{name}_bn3", y))
        y = walk.conv(f"{name}_conv3", y, out_filters, 1, 1)
    else:
        y = walk.conv(f"{name}_conv1", y, n_filters, 3, strides)
        y = walk.layer(f"{name}_relu2", walk.bn(f"{name}_bn2", y))
        y = walk.conv(f"{name}_conv2", y, n_filters, 3, 1)
    return walk.layer(f"{name}_add", y)


_WALK_BLOCKS = {
    "plain": _walk_plain,
    "resnet_v1_basic": functools.partial(_walk_resnet_v1, bottleneck=False),
    "resnet_v1_bottleneck": functools.partial(_walk_resnet_v1, bottleneck=True),
    "resnet_v2_basic": functools.partial(_walk_resnet_v2, bottleneck=False),
    "resnet_v2_bottleneck": functools.partial(_walk_resnet_v2, bottleneck=True),
}


def _walk_task(walk, spec, shape):
    task = spec.task
    if task.kind == "autoencoder":
        stages = task.decoder_filters + (spec.input_shape[2],)
        for stage, n_filters in enumerate(stages, start=1):
            shape = walk.conv_transpose(f"decoder_conv{stage}", shape, n_filters)
            if stage < len(stages) or task.output_activation == "relu":
                shape = walk.bn(f"decoder_bn{stage}", shape)
                shape = walk.layer(f"decoder_relu{stage}", shape)
            elif task.output_activation == "sigmoid":
                shape = walk.layer("decoder_sigmoid", shape)
    elif task.kind == "classifier":
        shape = walk.layer("task_pool", (shape[2],))
        if task.dropout is not None:
            walk.layer("task_dropout", shape)
        if task.noise is not None:
            walk.layer("task_noise", shape)
            walk.layer("task_relu", shape)
        params = shape[0] * task.n_classes + task.n_classes
        shape = walk.layer("task_dense", (task.n_classes,), params)
        walk.layer("task_softmax", shape)


def _walk(spec):
    """The LayerRows of a spec whose fields and stem are valid."""
    walk = _Walk(spec)
    shape = walk.layer("image", tuple(spec.input_shape))
    if spec.hyper.input_noise > 0:
        walk.layer("input_noise", shape)
    walk.part = "stem"
    shape = _walk_stem(walk, spec, shape)
    block = _WALK_BLOCKS[spec.learner.block]
    for index, group in enumerate(spec.learner.groups, start=1):
        walk.part = f"group {index}"
        for number in range(1, group.n_blocks + 1):
            first = number == 1
            shape = block(
                walk, shape, f"group{index}_block{number}", group.n_filters,
                group_strides(group, index) if first else 1, first,
            )
    walk.layer("learner_output", shape)
    walk.part = "task"
    _walk_task(walk, spec, shape)
    return walk.rows


def layer_table(spec):
    """Every layer the built model will have, in pure Python.

    Args:
        spec: ModelSpec.

    Returns:
        list of LayerRow in build order; names, output shapes and parameter
        counts equal those of `labcore.composable.build_model(spec)`.

    Raises:
        SpecError: a field is out of range or the stem shrinks the feature
            map below 1x1, so there is no model to describe. (The decoder
            and the budget are not required: a page can show the count of
            a model over budget.)
    """
    if not isinstance(spec, ModelSpec):
        raise SpecError(describe("spec", "a ModelSpec", spec))
    found = _field_problems(spec) or _stem_problems(spec)
    if found:
        raise SpecError("\n".join(found))
    return _walk(spec)


def summarize(spec):
    """Output shape, parameters and blocks per part of a model.

    Args:
        spec: ModelSpec.

    Returns:
        list of LayerGroupRow named "input", "stem", "group 1", ...,
        "group n", "task"; a part without layers (a "none" stem, an
        encoder's task) passes the previous shape on with 0 parameters.

    Raises:
        SpecError: as `layer_table`.
    """
    rows = layer_table(spec)
    groups = spec.learner.groups
    blocks = {"input": 0, "stem": int(spec.stem.kind == "conv")}
    blocks.update({f"group {index}": group.n_blocks for index, group in enumerate(groups, start=1)})
    blocks["task"] = len(spec.task.decoder_filters) + 1 if spec.task.kind == "autoencoder" else 0
    summary = []
    shape = rows[0].output_shape
    for part, count in blocks.items():
        layers = [row for row in rows if row.part == part]
        if layers:
            shape = layers[-1].output_shape
        summary.append(LayerGroupRow(part, shape, sum(row.params for row in layers), count))
    return summary


def output_shapes(spec):
    """The output shape of each part of a model.

    Args:
        spec: ModelSpec.

    Returns:
        dict of part name ("input", "stem", "group 1", ..., "task") to a
        tuple of ints without the batch axis.

    Raises:
        SpecError: as `layer_table`.
    """
    return {row.name: row.output_shape for row in summarize(spec)}


def count_params(spec):
    """The parameters of the built model, without building it.

    Args:
        spec: ModelSpec.

    Returns:
        int, equal to `keras.Model.count_params()` of the built model
        (batch norm's moving statistics included).

    Raises:
        SpecError: as `layer_table`.
    """
    return sum(row.params for row in layer_table(spec))


def format_summary(spec):
    """A plain-text table of `summarize`, with the total, for the CLI.

    Args:
        spec: ModelSpec.

    Returns:
        str, one line per part and a total line.

    Raises:
        SpecError: as `layer_table`.
    """
    rows = summarize(spec)
    lines = [f"{'part':<10}{'output shape':>14}{'blocks':>8}{'parameters':>13}"]
    for row in rows:
        shape = "x".join(str(size) for size in row.output_shape)
        lines.append(f"{row.name:<10}{shape:>14}{row.blocks:>8}{row.params:>13,}")
    lines.append(f"{'total':<32}{sum(row.params for row in rows):>13,}")
    return "\n".join(lines)
