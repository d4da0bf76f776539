"""A model drawn from its spec: stem, then each group with its blocks, then the task, left to right.

A learner looks at a picture before a table. `dot` writes a Graphviz DOT
graph from `spec.summarize` (pure Python, no Keras), which Streamlit's
`st.graphviz_chart` draws in the browser: one box per part, with what it
is, its output shape and its parameters, so the three parts of composable
design (stem, learner, task) are what the learner sees first.
"""

from labcore import spec as spec_lib
from labcore.spec.blocks import BLOCK_TYPES

__all__ = ["dot"]

# One colour per part of composable design, as the Intro deck names them.
_COLOURS = {"input": "#eeeeee", "stem": "#fde2c8", "group": "#cfe3fb", "task": "#d5efd5"}


def _what(row, model_spec):
    """The first line of a part's box: what the part is."""
    if row.name == "input":
        return "input"
    if row.name == "stem":
        stem = model_spec.stem
        if stem.kind == "none":
            return "stem: none"
        pool = " + max-pool" if stem.pool else ""
        return f"stem: {stem.kernel_size}x{stem.kernel_size} conv /{stem.strides}{pool}"
    if row.name == "task":
        return f"task: {model_spec.task.kind}"
    block = BLOCK_TYPES[model_spec.learner.block].title
    return f"{row.name}: {row.blocks} x {block}"


def _colour(name):
    return _COLOURS["group" if name.startswith("group") else name]


def dot(model_spec):
    """The model as a DOT graph, one box per part.

    Args:
        model_spec: spec.ModelSpec, valid (see `spec.problems`).

    Returns:
        str, a DOT `digraph`.

    Example:
    >>> text = dot(spec_lib.default_spec())
    >>> text.count("->"), "28 x 28 x 16" in text
    (5, True)
    """
    rows = spec_lib.summarize(model_spec)
    lines = ["digraph model {", '  rankdir="LR";', '  node [shape=box, style="rounded,filled", fontname="sans-serif"];']
    for index, row in enumerate(rows):
        shape = " x ".join(map(str, row.output_shape))
        if row.name == "task" and model_spec.task.kind == "classifier":
            shape += " classes"
        label = f"{_what(row, model_spec)}\\n{shape}" + (f"\\n{row.params:,} params" if row.params else "")
        lines.append(f'  part{index} [label="{label}", fillcolor="{_colour(row.name)}"];')
    lines += [f"  part{index} -> part{index + 1};" for index in range(len(rows) - 1)]
    lines.append("}")
    return "\n".join(lines)
