"""Validation: every reason a spec cannot be built, as messages for people.

Fields are judged by their declared `RANGES`; then the stem, the
autoencoder's decoder and the parameter budget, which mean something only
once every field is in range. Each message reads "<path> must be
<allowed>; got <value>.", so the builder page can show them all at once.
"""

import dataclasses

from labcore.errors import SpecError, describe
from labcore.spec.model import GroupSpec, HyperSpec, LearnerSpec, ModelSpec, StemSpec, TaskSpec, group_strides
from labcore.spec.ranges import RANGES
from labcore.spec.walk import walk_layers

__all__ = ["DEFAULT_MAX_PARAMS", "problems", "validate", "walk_problems"]

DEFAULT_MAX_PARAMS = 10_000_000

_PARTS = {"stem": StemSpec, "learner": LearnerSpec, "task": TaskSpec, "hyper": HyperSpec}


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


def walk_problems(spec):
    """The faults that leave no model to walk, so no layers to describe.

    Args:
        spec: ModelSpec (anything else is reported, not raised).

    Returns:
        list of str: what is not a ModelSpec, every field out of range, or
        else a stem that shrinks the feature map below 1x1; empty when
        `labcore.spec.walk.walk_layers` can follow the spec.
    """
    if not isinstance(spec, ModelSpec):
        return [describe("spec", "a ModelSpec", spec)]
    return _field_problems(spec) or _stem_problems(spec)


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
    found = walk_problems(spec)
    if found:
        return found
    rows = walk_layers(spec)
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
