"""labcore.spec: declared ranges, every refusal, JSON round trips, and the
pure-Python walk (shapes, parameters). Keras-free and fast; the walk is
compared with real Keras models in test_composable.py."""

import dataclasses
import doctest
import importlib
import json
import pkgutil
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from labcore import spec as spec_module
from labcore.errors import SpecError
from labcore.spec import (
    BLOCKS,
    RANGES,
    GroupSpec,
    HyperSpec,
    LearnerSpec,
    ModelSpec,
    StemSpec,
    TaskSpec,
    count_params,
    default_spec,
    dense_initializer,
    dense_l2,
    field_range,
    format_summary,
    group_strides,
    layer_table,
    output_shapes,
    problems,
    stem_use_bias,
    summarize,
    validate,
)
from labcore.spec.blocks import BLOCK_TYPES


def edit(spec, path, value):
    """`spec` with the field at `path` ("learner.groups[1].n_blocks") set to `value`."""
    head, _, rest = path.partition(".")
    indexed = re.fullmatch(r"(\w+)\[(\d+)\]", head)
    if indexed:
        name, index = indexed.group(1), int(indexed.group(2))
        items = list(getattr(spec, name))
        items[index] = edit(items[index], rest, value) if rest else value
        return dataclasses.replace(spec, **{name: tuple(items)})
    if not rest:
        return dataclasses.replace(spec, **{head: value})
    return dataclasses.replace(spec, **{head: edit(getattr(spec, head), rest, value)})


def autoencoder(**task):
    """A small valid autoencoder: 16x16x1, three stride-2 plain groups."""
    return ModelSpec(
        input_shape=(16, 16, 1),
        stem=StemSpec(kind="none"),
        learner=LearnerSpec(groups=tuple(GroupSpec(8, 1, strides=2) for _ in range(3))),
        task=TaskSpec(kind="autoencoder", decoder_filters=(8, 8), **task),
    )


# ## Refusals: one per field fault, words pinned

FIELD_FAULTS = [
    ("name", "", r"^name must be 1 to 64 letters, digits, '_', '-' or '\.'; got ''\.$"),
    ("name", "a/b", r"^name must be .*; got 'a/b'\.$"),
    ("input_shape", (28, 28),
     r"^input_shape must be a tuple of 3 ints \(height, width, channels\); got \(28, 28\)\.$"),
    ("input_shape", "28x28x1", r"^input_shape must be a tuple of 3 ints .*; got '28x28x1'\.$"),
    ("input_shape[0]", 0, r"^input_shape\[0\] must be an int in \[1, 512\]; got 0\.$"),
    ("input_shape[2]", 3.0, r"^input_shape\[2\] must be an int in \[1, 512\]; got 3\.0\.$"),
    ("input_shape[1]", True, r"^input_shape\[1\] must be an int in \[1, 512\]; got True\.$"),
    ("stem", None, r"^stem must be a StemSpec; got None\.$"),
    ("stem.kind", "dense", r"^stem\.kind must be one of 'conv', 'none'; got 'dense'\.$"),
    ("stem.n_filters", 0, r"^stem\.n_filters must be an int in \[1, 1024\]; got 0\.$"),
    ("stem.n_filters", -3, r"^stem\.n_filters must be an int in \[1, 1024\]; got -3\.$"),
    ("stem.n_filters", 10**100, r"^stem\.n_filters must be an int in \[1, 1024\]; got 10000+\.\.\.\.$"),
    ("stem.n_filters", "16", r"^stem\.n_filters must be an int in \[1, 1024\]; got '16'\.$"),
    ("stem.kernel_size", 4, r"^stem\.kernel_size must be one of 1, 3, 5, 7, 9, 11; got 4\.$"),
    ("stem.strides", 3, r"^stem\.strides must be one of 1, 2; got 3\.$"),
    ("stem.strides", True, r"^stem\.strides must be one of 1, 2; got True\.$"),
    ("stem.padding", "reflect", r"^stem\.padding must be one of 'same', 'explicit', 'valid'; got 'reflect'\.$"),
    ("stem.use_bias", "yes", r"^stem\.use_bias must be None, True or False; got 'yes'\.$"),
    ("stem.pool", 1, r"^stem\.pool must be True or False; got 1\.$"),
    ("learner", {"block": "plain"}, r"^learner must be a LearnerSpec; got \{'block': 'plain'\}\.$"),
    ("learner.block", "resnet50", r"^learner\.block must be one of 'plain', 'resnet_v1_basic', .*; got 'resnet50'\.$"),
    ("learner.groups", (), r"^learner\.groups must be a tuple of 1 to 8 GroupSpecs; got \(\)\.$"),
    ("learner.groups", (GroupSpec(8, 1),) * 9, r"^learner\.groups must be a tuple of 1 to 8 GroupSpecs; got \("),
    ("learner.groups", None, r"^learner\.groups must be a tuple of 1 to 8 GroupSpecs; got None\.$"),
    ("learner.groups[1].n_blocks", 0, r"^learner\.groups\[1\]\.n_blocks must be an int in \[1, 16\]; got 0\.$"),
    ("learner.groups[0].n_filters", 16.0, r"^learner\.groups\[0\]\.n_filters must be an int in \[1, 1024\]; got 16\.0\.$"),
    ("learner.groups[0].n_filters", True, r"^learner\.groups\[0\]\.n_filters must be an int .*; got True\.$"),
    ("learner.groups[2].strides", 3, r"^learner\.groups\[2\]\.strides must be None or one of 1, 2; got 3\.$"),
    ("learner.groups[0]", {"n_filters": 16, "n_blocks": 1}, r"^learner\.groups\[0\] must be a GroupSpec; got \{"),
    ("task", "classifier", r"^task must be a TaskSpec; got 'classifier'\.$"),
    ("task.kind", "segmenter", r"^task\.kind must be one of 'classifier', 'encoder', 'autoencoder'; got 'segmenter'\.$"),
    ("task.n_classes", 1, r"^task\.n_classes must be an int in \[2, 1000\]; got 1\.$"),
    ("task.pooling", "min", r"^task\.pooling must be one of 'avg', 'max'; got 'min'\.$"),
    ("task.dropout", 1.0, r"^task\.dropout must be None or a float in \[0, 1\); got 1\.0\.$"),
    ("task.dropout", -0.1, r"^task\.dropout must be None or a float in \[0, 1\); got -0\.1\.$"),
    ("task.dropout", float("nan"), r"^task\.dropout must be None or a float in \[0, 1\); got nan\.$"),
    ("task.noise", float("inf"), r"^task\.noise must be None or a float in \[0, 1\]; got inf\.$"),
    ("task.noise", 1.5, r"^task\.noise must be None or a float in \[0, 1\]; got 1\.5\.$"),
    ("task.dense_initializer", "zeros", r"^task\.dense_initializer must be None or one of 'he_normal', .*; got 'zeros'\.$"),
    ("task.dense_l2", -1.0, r"^task\.dense_l2 must be None or a float in \[0, 1\]; got -1\.0\.$"),
    ("task.decoder_filters", (32, 0), r"^task\.decoder_filters\[1\] must be an int in \[1, 1024\]; got 0\.$"),
    ("task.decoder_filters", "32", r"^task\.decoder_filters must be a tuple of 0 to 8 ints; got '32'\.$"),
    ("task.output_activation", "tanh", r"^task\.output_activation must be one of 'sigmoid', 'relu', 'linear'; got 'tanh'\.$"),
    ("hyper", None, r"^hyper must be a HyperSpec; got None\.$"),
    ("hyper.initializer", "ones", r"^hyper\.initializer must be one of 'he_normal', .*; got 'ones'\.$"),
    ("hyper.l2", float("nan"), r"^hyper\.l2 must be a float in \[0, 1\]; got nan\.$"),
    ("hyper.l2", -0.1, r"^hyper\.l2 must be a float in \[0, 1\]; got -0\.1\.$"),
    ("hyper.l2", 10**400, r"^hyper\.l2 must be a float in \[0, 1\]; got 10000+\.\.\.\.$"),
    ("hyper.input_noise", 2.0, r"^hyper\.input_noise must be a float in \[0, 1\]; got 2\.0\.$"),
    ("hyper.bn_epsilon", 0.0, r"^hyper\.bn_epsilon must be a float in \(0, 0\.1\]; got 0\.0\.$"),
    ("hyper.use_bias", None, r"^hyper\.use_bias must be True or False; got None\.$"),
    ("hyper.relu_clip", 0.0, r"^hyper\.relu_clip must be None or a float in \(0, 1000\]; got 0\.0\.$"),
]


@pytest.mark.parametrize("path, value, match", FIELD_FAULTS, ids=[f[0] + "=" + repr(f[1])[:20] for f in FIELD_FAULTS])
def test_each_field_fault_is_refused_with_its_own_message(path, value, match):
    faulty = edit(default_spec(), path, value)
    found = problems(faulty)
    assert len(found) == 1, found
    assert re.search(match, found[0]), found[0]
    with pytest.raises(SpecError, match=match):
        validate(faulty)


DERIVED_FAULTS = [
    (
        ModelSpec(input_shape=(4, 4, 32), stem=StemSpec(kernel_size=7, padding="valid")),
        r"^stem\.kernel_size must be at most 4 for a 'valid' convolution on the 4x4 input "
        r"\(a larger kernel shrinks the feature map below 1x1\); got 7\.$",
    ),
    (
        dataclasses.replace(autoencoder(), task=TaskSpec(kind="autoencoder", decoder_filters=(8,))),
        r"^task\.decoder_filters must be 2 filter counts, one per stride-2 stage of the encoder "
        r"\(group 1, group 2, group 3\) but the last, whose ConvT restores the 1 input channels; got \(8,\)\.$",
    ),
    (
        dataclasses.replace(
            autoencoder(),
            stem=StemSpec(n_filters=8, strides=2, pool=True),
            learner=LearnerSpec(groups=(GroupSpec(8, 1),)),
        ),
        r"^task\.decoder_filters must be 1 filter counts, one per stride-2 stage of the encoder "
        r"\(the stem convolution, the stem pool\) but the last",
    ),
    (
        dataclasses.replace(autoencoder(), learner=LearnerSpec(groups=(GroupSpec(8, 1, strides=1),))),
        r"^task\.kind must be 'classifier' or 'encoder' when no stage has stride 2 .*; got 'autoencoder'\.$",
    ),
    (
        dataclasses.replace(autoencoder(), input_shape=(28, 28, 1)),
        r"^input_shape must be a height and width the decoder restores \(its 3 stride-2 ConvTs "
        r"turn the 4x4 code into 32x32\); got \(28, 28, 1\)\.$",
    ),
]


@pytest.mark.parametrize("faulty, match", DERIVED_FAULTS)
def test_shape_and_decoder_faults_name_the_field_and_the_stage(faulty, match):
    found = problems(faulty)
    assert len(found) == 1, found
    assert re.search(match, found[0]), found[0]
    with pytest.raises(SpecError, match=match):
        validate(faulty)


def test_parameter_budget_says_the_count_and_the_budget():
    spec = default_spec()
    total = count_params(spec)
    assert problems(spec, max_params=total) == []
    assert problems(spec, max_params=None) == []
    assert problems(spec, max_params=total - 1) == [
        f"parameter count must be at most {total - 1:,} (the budget); got {total}."
    ]
    with pytest.raises(SpecError, match=r"parameter count must be at most 1,000 \(the budget\)"):
        validate(spec, max_params=1000)


def test_problems_lists_every_fault_at_once_in_field_order():
    faulty = edit(default_spec(), "stem.n_filters", 0)
    faulty = edit(faulty, "learner.groups[1].n_blocks", 0)
    faulty = edit(faulty, "task.dropout", 2.0)
    faulty = edit(faulty, "hyper.l2", -1.0)
    found = problems(faulty)
    assert [message.split(" must ")[0] for message in found] == [
        "stem.n_filters", "learner.groups[1].n_blocks", "task.dropout", "hyper.l2",
    ]
    with pytest.raises(SpecError) as raised:
        validate(faulty)
    assert str(raised.value).split("\n") == found


def test_shape_and_budget_checks_wait_until_every_field_is_valid():
    # Over budget and a bad field: only the field is reported, since the
    # count of a spec with a bad field means nothing.
    faulty = edit(default_spec(), "task.pooling", "min")
    assert problems(faulty, max_params=1) == [
        "task.pooling must be one of 'avg', 'max'; got 'min'."
    ]


def test_problems_of_something_that_is_not_a_spec():
    assert problems(None) == ["spec must be a ModelSpec; got None."]
    assert problems({"stem": {}}) == ["spec must be a ModelSpec; got {'stem': {}}."]


junk = st.recursive(
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(min_value=-(10**120), max_value=10**120),
        st.floats(allow_nan=True, allow_infinity=True),
        st.text(max_size=6),
        st.sampled_from(["conv", "plain", "avg", "he_normal", "autoencoder", "sigmoid"]),
    ),
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.lists(children, max_size=4).map(tuple),
        st.dictionaries(st.text(max_size=3), children, max_size=3),
    ),
    max_leaves=8,
)
SCALAR_PATHS = [
    path.replace("learner.groups.", "learner.groups[0].") for path in RANGES
] + ["stem", "learner", "task", "hyper", "learner.groups[1]", "input_shape[1]"]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(SCALAR_PATHS), junk), min_size=1, max_size=4))
def test_problems_never_raises_on_hostile_values(edits):
    spec = default_spec()
    for path, value in edits:
        try:
            spec = edit(spec, path, value)
        except (AttributeError, TypeError, IndexError):
            continue  # an earlier edit replaced the part this path goes into
    found = problems(spec)
    assert isinstance(found, list) and all(isinstance(message, str) for message in found)
    if found:
        with pytest.raises(SpecError):
            validate(spec)


# ## Declared ranges


def test_field_range_reads_a_concrete_path_without_its_indices():
    assert field_range("learner.groups[3].n_filters") is RANGES["learner.groups.n_filters"]
    assert field_range("stem.kernel_size").choices == (1, 3, 5, 7, 9, 11)
    assert (field_range("learner.groups.n_blocks").lo, field_range("learner.groups.n_blocks").hi) == (1, 16)
    with pytest.raises(KeyError, match="no spec field 'stem.filters'; known fields: name, input_shape"):
        field_range("stem.filters")


def _refused(declared):
    """Values outside a declared range, generated from the declaration."""
    if declared.kind == "int":
        return [declared.lo - 1, declared.hi + 1, float(declared.lo), True, str(declared.lo)]
    if declared.kind == "float":
        below = declared.lo if declared.lo_open else declared.lo - 1
        above = declared.hi if declared.hi_open else declared.hi + 1
        return [below, above, float("nan"), float("inf"), "0.5", False]
    if declared.kind == "choice":
        return ["not one of them", 10**6, True] + ([] if declared.optional else [None])
    if declared.kind == "bool":
        return [1, "True"] + ([] if declared.optional else [None])
    return []


def _accepted(declared):
    """Values inside a declared range, at its bounds."""
    values = [None] if declared.optional else []
    if declared.kind == "int":
        return values + [declared.lo, declared.hi]
    if declared.kind == "float":
        inside = [(declared.lo + declared.hi) / 2]
        inside += [] if declared.lo_open else [declared.lo]
        inside += [] if declared.hi_open else [declared.hi]
        return values + inside
    if declared.kind == "choice":
        return values + list(declared.choices)
    if declared.kind == "bool":
        return values + [True, False]
    return values


SCALAR_RANGES = [
    (path, declared) for path, declared in RANGES.items() if declared.kind in ("int", "float", "choice", "bool")
]


@pytest.mark.parametrize("path, declared", SCALAR_RANGES, ids=[path for path, _ in SCALAR_RANGES])
def test_declared_ranges_decide_what_is_refused(path, declared):
    concrete = path.replace("learner.groups.", "learner.groups[0].")
    refusal = f"{concrete} must be {declared.allowed}; got "
    for value in _refused(declared):
        found = problems(edit(default_spec(), concrete, value))
        assert any(message.startswith(refusal) for message in found), (value, found)
    for value in _accepted(declared):
        found = problems(edit(default_spec(), concrete, value))
        assert not any(message.startswith(refusal) for message in found), (value, found)


def test_range_problems_checks_tuple_items():
    declared = RANGES["task.decoder_filters"]
    assert declared.problems("task.decoder_filters", [8, 16]) == []
    assert declared.problems("task.decoder_filters", [8, -1, 16.0]) == [
        "task.decoder_filters[1] must be an int in [1, 1024]; got -1.",
        "task.decoder_filters[2] must be an int in [1, 1024]; got 16.0.",
    ]


# ## JSON round trips and structure


def specs():
    """Specs with any in-range plain values (valid or not as a whole)."""
    def drawn(declared):
        if declared.kind == "int":
            values = st.integers(declared.lo, declared.hi)
        elif declared.kind == "float":
            values = st.floats(declared.lo, declared.hi, allow_nan=False, exclude_min=declared.lo_open,
                               exclude_max=declared.hi_open)
        elif declared.kind == "choice":
            values = st.sampled_from(declared.choices)
        else:
            values = st.booleans()
        return st.one_of(st.none(), values) if declared.optional else values

    def part(cls, prefix):
        return st.builds(cls, **{
            field.name: drawn(RANGES[f"{prefix}.{field.name}"])
            for field in dataclasses.fields(cls)
            if RANGES[f"{prefix}.{field.name}"].kind != "tuple"
        })

    groups = st.lists(part(GroupSpec, "learner.groups"), min_size=1, max_size=8).map(tuple)
    return st.builds(
        ModelSpec,
        input_shape=st.tuples(*[st.integers(1, 512)] * 3),
        stem=part(StemSpec, "stem"),
        learner=st.builds(LearnerSpec, block=drawn(RANGES["learner.block"]), groups=groups),
        task=st.builds(TaskSpec, **{
            name: drawn(RANGES[f"task.{name}"]) for name in
            ("kind", "n_classes", "pooling", "dropout", "noise", "dense_initializer", "dense_l2", "output_activation")
        }, decoder_filters=st.lists(st.integers(1, 1024), max_size=8).map(tuple)),
        hyper=part(HyperSpec, "hyper"),
        name=st.from_regex(r"[A-Za-z0-9_.\-]{1,64}", fullmatch=True),
    )


@settings(max_examples=150, deadline=None)
@given(specs())
def test_any_spec_round_trips_through_json(spec):
    assert ModelSpec.from_dict(json.loads(json.dumps(spec.to_dict()))) == spec


def test_to_dict_holds_exactly_the_constructor_fields():
    as_dict = default_spec().to_dict()
    assert list(as_dict) == [field.name for field in dataclasses.fields(ModelSpec)]
    assert list(as_dict["learner"]["groups"][0]) == ["n_filters", "n_blocks", "strides"]


def test_from_dict_accepts_lists_and_fills_defaults():
    spec = ModelSpec.from_dict({
        "input_shape": [32, 32, 3],
        "learner": {"groups": [{"n_filters": 8, "n_blocks": 2}]},
        "task": {"kind": "autoencoder", "decoder_filters": [8]},
    })
    assert spec.input_shape == (32, 32, 3)
    assert spec.learner.groups == (GroupSpec(8, 2),)
    assert spec.task.decoder_filters == (8,)
    assert spec.stem == StemSpec() and spec.hyper == HyperSpec()
    assert hash(spec) == hash(dataclasses.replace(spec))  # tuples, so hashable


def test_from_dict_keeps_bad_values_for_problems_to_name():
    spec = ModelSpec.from_dict({"stem": {"n_filters": -1}})
    assert problems(spec) == ["stem.n_filters must be an int in [1, 1024]; got -1."]


STRUCTURE_FAULTS = [
    ("not a dict", r"^spec must be a dict; got 'not a dict'\.$"),
    ({"stems": {}}, r"^spec has an unknown key 'stems'; allowed keys: input_shape, stem, learner, task, hyper, name\.$"),
    ({"stem": "conv"}, r"^stem must be a dict; got 'conv'\.$"),
    ({"hyper": {"l1": 0.1}}, r"^hyper has an unknown key 'l1'; allowed keys: initializer, l2, input_noise, "),
    ({"input_shape": 28}, r"^input_shape must be a list; got 28\.$"),
    ({"learner": {"groups": {"n_filters": 8}}}, r"^learner\.groups must be a list; got \{'n_filters': 8\}\.$"),
    ({"learner": {"groups": [3]}}, r"^learner\.groups\[0\] must be a dict; got 3\.$"),
    ({"learner": {"groups": [{"n_filters": 8, "n_blocks": 1}, {"n_filters": 8, "n_blocks": 1, "stride": 2}]}},
     r"^learner\.groups\[1\] has an unknown key 'stride'; allowed keys: n_filters, n_blocks, strides\.$"),
    ({"learner": {"groups": [{"n_filters": 8}]}},
     r"^learner\.groups\[0\] is missing the key 'n_blocks'; required keys: n_filters, n_blocks\.$"),
    ({"task": {"decoder_filters": 32}}, r"^task\.decoder_filters must be a list; got 32\.$"),
]


@pytest.mark.parametrize("values, match", STRUCTURE_FAULTS)
def test_from_dict_refuses_structure_it_cannot_hold(values, match):
    with pytest.raises(SpecError, match=match):
        ModelSpec.from_dict(values)


# ## The walk: shapes and parameters


def test_default_spec_is_a_small_valid_fashion_mnist_model():
    spec = default_spec()
    assert problems(spec) == []
    assert spec.input_shape == (28, 28, 1) and spec.task.n_classes == 10
    assert count_params(spec) < 50_000


def test_summarize_rows_are_input_stem_groups_task_and_add_up():
    spec = edit(default_spec(), "learner.groups", (GroupSpec(8, 2), GroupSpec(16, 3)))
    rows = summarize(spec)
    assert [row.name for row in rows] == ["input", "stem", "group 1", "group 2", "task"]
    assert [row.blocks for row in rows] == [0, 1, 2, 3, 0]
    assert sum(row.params for row in rows) == count_params(spec)
    assert sum(row.params for row in layer_table(spec)) == count_params(spec)
    assert output_shapes(spec) == {row.name: row.output_shape for row in rows}


def test_same_padding_rounds_up_and_valid_padding_rounds_down():
    odd = edit(default_spec(), "input_shape", (29, 29, 1))
    shapes = output_shapes(odd)
    # 'same' with stride 2: ceil(29 / 2) = 15, then ceil(15 / 2) = 8.
    assert shapes["group 2"][:2] == (15, 15) and shapes["group 3"][:2] == (8, 8)
    valid = edit(edit(odd, "stem.padding", "valid"), "stem.strides", 2)
    # 'valid' 3x3 with stride 2: floor((29 - 3) / 2) + 1 = 14.
    assert output_shapes(valid)["stem"] == (14, 14, 16)


def test_explicit_stem_and_pool_quarter_the_image_as_the_original():
    spec = ModelSpec(input_shape=(32, 32, 3), stem=StemSpec(n_filters=64, kernel_size=7, strides=2,
                                                            padding="explicit", pool=True))
    table = {row.name: row.output_shape for row in layer_table(spec)}
    # ORIGINAL_LABS.md Lab 2: 32 -> 38 -> 16x16x64 -> 18 -> 8x8x64.
    assert [table[name] for name in ("stem_pad", "stem_conv", "stem_pool_pad", "stem_pool")] == [
        (38, 38, 3), (16, 16, 64), (18, 18, 64), (8, 8, 64),
    ]


def test_bottleneck_groups_output_four_times_their_filters():
    spec = edit(default_spec(), "learner.block", "resnet_v2_bottleneck")
    assert [shape[2] for name, shape in output_shapes(spec).items() if name.startswith("group")] == [64, 128, 256]


def test_parts_without_layers_pass_the_shape_on_with_no_parameters():
    spec = edit(edit(default_spec(), "stem.kind", "none"), "task.kind", "encoder")
    rows = {row.name: row for row in summarize(spec)}
    assert rows["stem"].output_shape == (28, 28, 1) and rows["stem"].params == 0
    assert rows["task"].output_shape == rows["group 3"].output_shape and rows["task"].params == 0


def test_autoencoder_task_restores_the_input_shape():
    rows = {row.name: row for row in summarize(autoencoder())}
    assert rows["group 3"].output_shape == (2, 2, 8)
    assert rows["task"].output_shape == (16, 16, 1) and rows["task"].blocks == 3


def test_counting_an_unbuildable_spec_raises_but_over_budget_counts():
    with pytest.raises(SpecError, match=r"stem\.n_filters must be an int"):
        count_params(edit(default_spec(), "stem.n_filters", 0))
    with pytest.raises(SpecError, match="below 1x1"):
        summarize(ModelSpec(input_shape=(4, 4, 32), stem=StemSpec(kernel_size=7, padding="valid")))
    with pytest.raises(SpecError, match="spec must be a ModelSpec"):
        layer_table("spec")
    large = edit(default_spec(), "learner.groups", (GroupSpec(1024, 16),))
    assert count_params(large) > 10_000_000 and problems(large)[0].startswith("parameter count")


def test_format_summary_shows_every_part_and_the_total():
    text = format_summary(default_spec())
    for row in summarize(default_spec()):
        assert re.search(rf"^{row.name} .*{row.params:,}$", text, re.M)
    assert text.splitlines()[-1].split() == ["total", f"{count_params(default_spec()):,}"]


def test_inherited_values_resolve_from_hyper_unless_set():
    spec = default_spec()
    assert group_strides(GroupSpec(8, 1), 1) == 1 and group_strides(GroupSpec(8, 1), 2) == 2
    assert group_strides(GroupSpec(8, 1, strides=2), 1) == 2
    assert group_strides(GroupSpec(8, 1, strides=1), 3) == 1
    assert stem_use_bias(edit(spec, "hyper.use_bias", True)) is True
    assert stem_use_bias(edit(edit(spec, "hyper.use_bias", True), "stem.use_bias", False)) is False
    assert dense_initializer(edit(spec, "hyper.initializer", "lecun_normal")) == "lecun_normal"
    assert dense_initializer(edit(spec, "task.dense_initializer", "glorot_uniform")) == "glorot_uniform"
    assert dense_l2(edit(spec, "hyper.l2", 0.01)) == 0.01
    assert dense_l2(edit(edit(spec, "hyper.l2", 0.01), "task.dense_l2", 0.0)) == 0.0


# ## The block registry


def test_every_block_type_has_a_title_a_walker_and_a_builder_reference():
    assert BLOCKS == tuple(BLOCK_TYPES) and RANGES["learner.block"].choices == BLOCKS
    for name, block in BLOCK_TYPES.items():
        assert block.name == name
        assert isinstance(block.title, str) and block.title.strip(), name
        assert callable(block.walker), name
        # Resolved (with Keras) in test_composable.py; here only its form.
        assert re.fullmatch(r"[\w.]+:\w+", block.builder), name


SPEC_MODULES = [spec_module] + [
    importlib.import_module(f"labcore.spec.{module.name}") for module in pkgutil.iter_modules(spec_module.__path__)
]


@pytest.mark.parametrize("module", SPEC_MODULES, ids=[module.__name__ for module in SPEC_MODULES])
def test_docstring_examples_run(module):
    assert doctest.testmod(module).failed == 0
