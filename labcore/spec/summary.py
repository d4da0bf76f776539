"""Summaries of the walk: the layer table, parts, shapes and parameter counts.

What the builder page, the slides and the CLI show about a model, in pure
Python: the layers of `labcore.spec.walk` in build order, and totals per
part ("input", "stem", "group 1", ..., "task"). A model over the parameter
budget is still described, so a page can show its count.
"""

import dataclasses

from labcore.errors import SpecError
from labcore.spec.checks import walk_problems
from labcore.spec.walk import walk_layers

__all__ = ["LayerGroupRow", "count_params", "format_summary", "layer_table", "output_shapes", "summarize"]


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
    found = walk_problems(spec)
    if found:
        raise SpecError("\n".join(found))
    return walk_layers(spec)


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
