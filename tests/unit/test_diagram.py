"""The model diagram: one box per part of the spec, in order, with its shape and parameters."""

import doctest

import labcore.diagram
from labcore import diagram, references, spec


def test_every_part_is_a_box_in_order_with_what_it_is():
    model = references.REFERENCES["regularization_resnet_v2_blocks2"].spec
    text = diagram.dot(model)
    rows = spec.summarize(model)
    assert text.count(" -> ") == len(rows) - 1
    assert "stem: 7x7 conv /2 + max-pool" in text
    for row in rows[2:-1]:
        assert f"{row.name}: {row.blocks} x ResNet v2 (pre-activation), bottleneck" in text
    for row in rows:
        assert f"{row.params:,} params" in text or row.params == 0
    assert '"task: classifier\\n10 classes\\n' in text


def test_docstring_examples_hold():
    result = doctest.testmod(labcore.diagram)
    assert result.attempted > 0 and result.failed == 0
