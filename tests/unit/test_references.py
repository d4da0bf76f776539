"""labcore.references: the original labs' models as specs, their totals
computed here independently from the per-block numbers in ORIGINAL_LABS.md,
and the Keras-free import rule for the Streamlit process."""

import dataclasses
import json
import subprocess
import sys
from pathlib import Path

import pytest

from labcore.errors import SpecError
from labcore.references import REFERENCES, describe_reference
from labcore.spec import (
    ModelSpec,
    count_params,
    dense_l2,
    output_shapes,
    problems,
    stem_use_bias,
    summarize,
)


def conv(kernel_size, channels_in, channels_out, bias=False):
    return kernel_size * kernel_size * channels_in * channels_out + (channels_out if bias else 0)


def bn(channels):
    return 4 * channels  # gamma, beta, moving mean, moving variance


def v2_projection(channels_in, n_filters):
    """The original pre-activation bottleneck projection block (Lab 1)."""
    shortcut = bn(channels_in) + conv(1, channels_in, 4 * n_filters)
    main = (bn(channels_in) + conv(1, channels_in, n_filters) + bn(n_filters) + conv(3, n_filters, n_filters)
            + bn(n_filters) + conv(1, n_filters, 4 * n_filters))
    return shortcut + main


def v2_identity(n_filters):
    channels = 4 * n_filters
    return (bn(channels) + conv(1, channels, n_filters) + bn(n_filters) + conv(3, n_filters, n_filters)
            + bn(n_filters) + conv(1, n_filters, channels))


def v2_group(channels_in, n_filters, n_blocks):
    return v2_projection(channels_in, n_filters) + (n_blocks - 1) * v2_identity(n_filters)


def test_block_formulas_reproduce_the_lab_1_per_block_numbers():
    # ORIGINAL_LABS.md Lab 1: "G1 74,752+71,168 ... G2 379,904+2·281,600 ...
    # G3 1,513,472+2·1,120,256"; these anchor the formulas used below.
    assert (v2_projection(64, 64), v2_identity(64)) == (74_752, 71_168)
    assert (v2_projection(256, 128), v2_identity(128)) == (379_904, 281_600)
    assert (v2_projection(512, 256), v2_identity(256)) == (1_513_472, 1_120_256)


def test_reference_keys_are_the_contracts():
    assert set(REFERENCES) == {
        "autoencoder_original", "encoded_classifier_original", "regularization_resnet_v2",
        "regularization_resnet_v2_blocks1", "regularization_resnet_v2_blocks2",
        "regularization_resnet_v2_blocks3", "regularization_resnet_v2_blocks4", "ensemble_base",
    }
    for key, reference in REFERENCES.items():
        assert reference.key == key and reference.spec.name == key
        assert reference.title and reference.notes
        assert reference.lab in ("autoencoder", "regularization", "ensemble")


@pytest.mark.parametrize("key", sorted(REFERENCES))
def test_every_reference_is_valid_and_round_trips(key):
    spec = REFERENCES[key].spec
    assert problems(spec) == []
    assert ModelSpec.from_dict(json.loads(json.dumps(spec.to_dict()))) == spec
    if key != "encoded_classifier_original":
        assert spec.input_shape == (32, 32, 3)
    if spec.task.kind == "classifier":
        assert spec.task.n_classes == 10


def test_encoded_classifier_total_is_lab_1s_group_sums():
    spec = REFERENCES["encoded_classifier_original"].spec
    stem = conv(7, 32, 64) + bn(64)
    groups = [145_920, 943_104, 3_753_984]  # ORIGINAL_LABS.md, Lab 1
    dense = 1024 * 10 + 10
    assert [row.params for row in summarize(spec) if row.name.startswith("group")] == groups
    assert count_params(spec) == stem + sum(groups) + dense == 4_953_866


def test_encoded_classifier_collapses_the_code_to_1x1_as_the_original():
    shapes = output_shapes(REFERENCES["encoded_classifier_original"].spec)
    assert REFERENCES["encoded_classifier_original"].spec.input_shape == output_shapes(
        REFERENCES["autoencoder_original"].spec)["group 3"]
    assert shapes["stem"] == (1, 1, 64)
    assert [shapes[f"group {i}"] for i in (1, 2, 3)] == [(1, 1, 256), (1, 1, 512), (1, 1, 1024)]


def test_autoencoder_has_a_512_value_code_and_restores_the_image():
    spec = REFERENCES["autoencoder_original"].spec
    shapes = output_shapes(spec)
    assert [shapes[f"group {i}"] for i in (1, 2, 3)] == [(16, 16, 64), (8, 8, 32), (4, 4, 32)]
    assert shapes["task"] == (32, 32, 3)
    encoder = [conv(3, 3, 64, True) + bn(64), conv(3, 64, 32, True) + bn(32), conv(3, 32, 32, True) + bn(32)]
    # ConvT 3x3 32 -> BN -> ReLU twice, then ConvT 3 -> BN -> ReLU.
    decoder = 2 * (conv(3, 32, 32, True) + bn(32)) + conv(3, 32, 3, True) + bn(3)
    assert count_params(spec) == sum(encoder) + decoder


def test_regularization_model_total_and_shapes():
    spec = REFERENCES["regularization_resnet_v2"].spec
    stem = conv(7, 3, 64) + bn(64)
    groups = [v2_group(64, 16, 5), v2_group(64, 64, 5), v2_group(256, 128, 5)]
    dense = 512 * 10 + 10
    assert count_params(spec) == stem + sum(groups) + dense
    shapes = output_shapes(spec)
    # ORIGINAL_LABS.md Lab 2: 8x8x64 after the stem, then 8x8x64 -> 4x4x256 -> 2x2x512.
    assert [shapes[name] for name in ("stem", "group 1", "group 2", "group 3")] == [
        (8, 8, 64), (8, 8, 64), (4, 4, 256), (2, 2, 512),
    ]


def test_regularization_head_never_gets_l2_even_when_the_convs_do():
    spec = REFERENCES["regularization_resnet_v2"].spec
    with_l2 = dataclasses.replace(spec, hyper=dataclasses.replace(spec.hyper, l2=0.001))
    assert dense_l2(with_l2) == 0.0
    assert spec.task.dense_initializer == "glorot_uniform"


def test_regularization_sweep_maps_original_n_blocks_to_one_more_here():
    base = REFERENCES["regularization_resnet_v2"].spec
    totals = []
    for original in (1, 2, 3, 4):
        spec = REFERENCES[f"regularization_resnet_v2_blocks{original}"].spec
        assert [group.n_blocks for group in spec.learner.groups] == [original + 1] * 3
        totals.append(count_params(spec))
    assert totals == sorted(totals) and len(set(totals)) == 4
    assert dataclasses.replace(REFERENCES["regularization_resnet_v2_blocks4"].spec, name=base.name) == base


def test_ensemble_base_is_just_over_1_8_million_parameters():
    spec = REFERENCES["ensemble_base"].spec
    stem = conv(3, 3, 32, bias=True) + bn(32)
    groups = [v2_group(32, 16, 5), v2_group(64, 64, 5), v2_group(256, 128, 5)]
    dense = 512 * 10 + 10
    total = count_params(spec)
    assert total == stem + sum(groups) + dense
    assert 1_800_000 < total < 1_900_000  # "just over 1.8 million parameters"
    shapes = output_shapes(spec)
    # Every group strided, the first included: 16x16x64 -> 8x8x256 -> 4x4x512.
    assert [shapes[f"group {i}"] for i in (1, 2, 3)] == [(16, 16, 64), (8, 8, 256), (4, 4, 512)]


def test_ensemble_stem_alone_has_a_bias_and_bn_uses_keras_default_epsilon():
    spec = REFERENCES["ensemble_base"].spec
    assert stem_use_bias(spec) is True and spec.hyper.use_bias is False
    assert spec.hyper.bn_epsilon == 1e-3
    assert REFERENCES["regularization_resnet_v2"].spec.hyper.bn_epsilon == 1.001e-5


def test_describe_reference_shows_the_table_and_total():
    text = describe_reference("ensemble_base")
    assert text.startswith(REFERENCES["ensemble_base"].title)
    for part in ("input", "stem", "group 1", "group 2", "group 3", "task"):
        assert f"\n{part} " in text
    assert f"total {count_params(REFERENCES['ensemble_base'].spec):,}" in " ".join(text.split())
    assert REFERENCES["ensemble_base"].notes in text
    with pytest.raises(SpecError, match=r"^reference must be one of 'autoencoder_original', .*; got 'resnet50'\.$"):
        describe_reference("resnet50")


def test_spec_and_references_import_without_keras():
    code = (
        "import sys, labcore.spec, labcore.references; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('keras', 'tensorflow', 'jax', 'torch')))"
    )
    root = Path(__file__).resolve().parents[2]
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=root)
    assert result.stdout.strip() == "[]"
