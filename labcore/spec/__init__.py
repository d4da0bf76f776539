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

The modules, each importing only those above it:

- `blocks`: the block-type registry `BLOCK_TYPES` (name, title, walker,
  Keras builder) and `BLOCKS`, its names.
- `ranges`: `Range`, the declared `RANGES` and `field_range`.
- `model`: the frozen dataclasses, `default_spec`, and what a field left
  at None inherits; `json_text`: `parse_json`.
- `walk`: the pure-Python walk, one `LayerRow` per layer.
- `checks`: `problems` and `validate`.
- `summary`: `layer_table`, `summarize`, `output_shapes`, `count_params`
  and `format_summary`.

Example:
>>> spec = default_spec()
>>> problems(spec)
[]
>>> [(row.name, row.output_shape) for row in summarize(spec)][-2:]
[('group 3', (7, 7, 64)), ('task', (10,))]
"""

from labcore.spec.blocks import BLOCKS
from labcore.spec.checks import DEFAULT_MAX_PARAMS, problems, validate
from labcore.spec.json_text import MAX_JSON_BYTES, parse_json
from labcore.spec.model import (
    GroupSpec,
    HyperSpec,
    LearnerSpec,
    ModelSpec,
    StemSpec,
    TaskSpec,
    default_spec,
    dense_initializer,
    dense_l2,
    group_strides,
    stem_use_bias,
)
from labcore.spec.ranges import INITIALIZERS, RANGES, Range, field_range
from labcore.spec.summary import (
    LayerGroupRow,
    count_params,
    format_summary,
    layer_table,
    output_shapes,
    summarize,
)
from labcore.spec.walk import LayerRow

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
