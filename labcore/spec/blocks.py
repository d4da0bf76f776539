"""The block types of the learner: one registry entry each.

`BLOCK_TYPES` is the one place a block type is declared: its name (the
value of `LearnerSpec.block`), the title the builder page shows, the
pure-Python walker that predicts its layers, and where its Keras builder
lives. The builder is a "module:function" string, not an import, so that
this package never imports Keras; `labcore.composable` loads it when it
builds a model.

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

To add a block type: one `BlockType` in `BLOCK_TYPES`, its builder in
`labcore.composable`, and a walker here unless an existing one predicts
its layers.
"""

import dataclasses
import functools
import importlib
from collections.abc import Callable

__all__ = ["BLOCKS", "BLOCK_TYPES", "BlockType"]


@dataclasses.dataclass(frozen=True)
class BlockType:
    """One block type: its name, title, walker and Keras builder.

    Args:
        name: str, the key in `BLOCK_TYPES` and the value of
            `LearnerSpec.block`.
        title: str, what the builder page's select box shows.
        walker: callable(walk, shape, name, n_filters, strides, projection)
            -> shape: records the block's layers on a
            `labcore.spec.walk.Walk` and returns its output shape.
        builder: str, "module:function"; the function takes (x, n_filters,
            strides, projection, name, hyper) and returns the block's
            output KerasTensor. May import Keras.
    """

    name: str
    title: str
    walker: Callable
    builder: str

    def load_builder(self):
        """Import and return the Keras builder (imports Keras).

        Returns:
            callable(x, n_filters, strides, projection, name, hyper) ->
            KerasTensor.
        """
        module_name, _, function_name = self.builder.partition(":")
        return getattr(importlib.import_module(module_name), function_name)


# ## Walkers
#
# Each mirrors its Keras builder layer for layer, with the same names.
# `projection` is True for the first block of a group: a ResNet block then
# has a strided 1x1 convolution on its shortcut.


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


# ## The registry

BLOCK_TYPES = {
    block.name: block
    for block in (
        BlockType("plain", "plain (conv-BN-ReLU)", _walk_plain, "labcore.composable:plain_block"),
        BlockType(
            "resnet_v1_basic", "ResNet v1, basic",
            functools.partial(_walk_resnet_v1, bottleneck=False),
            "labcore.composable:resnet_v1_basic_block",
        ),
        BlockType(
            "resnet_v1_bottleneck", "ResNet v1, bottleneck",
            functools.partial(_walk_resnet_v1, bottleneck=True),
            "labcore.composable:resnet_v1_bottleneck_block",
        ),
        BlockType(
            "resnet_v2_basic", "ResNet v2 (pre-activation), basic",
            functools.partial(_walk_resnet_v2, bottleneck=False),
            "labcore.composable:resnet_v2_basic_block",
        ),
        BlockType(
            "resnet_v2_bottleneck", "ResNet v2 (pre-activation), bottleneck",
            functools.partial(_walk_resnet_v2, bottleneck=True),
            "labcore.composable:resnet_v2_bottleneck_block",
        ),
    )
}
BLOCKS = tuple(BLOCK_TYPES)
