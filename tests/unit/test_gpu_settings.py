"""GPU settings: the mixed-precision switch keeps a float32 softmax, and the GPU's default batch."""

import keras
import numpy as np
import pytest

from labcore import composable, spec, training, trainconfig
from labcore.trainconfig import TrainConfig


def test_mixed_precision_is_a_validated_config_field_off_by_default():
    assert TrainConfig().mixed_precision is False
    config = TrainConfig.from_dict({"mixed_precision": True})
    assert config.mixed_precision is True and trainconfig.problems(config) == []
    assert trainconfig.problems(TrainConfig(mixed_precision="yes")) == [
        "train.mixed_precision must be True or False; got 'yes'."
    ]


def test_mixed_policy_computes_in_float16_keeps_a_float32_softmax_and_is_restored():
    with training.precision_policy(True):
        model = composable.build_model(spec.default_spec())
    assert keras.mixed_precision.global_policy().name == "float32"
    assert model.get_layer("task_dense").compute_dtype == "float16"
    assert model.get_layer("task_dense").kernel.dtype == "float32"
    assert model.get_layer("task_softmax").compute_dtype == "float32"
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    assert isinstance(model.optimizer, keras.optimizers.LossScaleOptimizer)
    outputs = model.predict(np.zeros((2, 28, 28, 1), "float32"), verbose=0)
    assert outputs.dtype == np.float32
    assert np.allclose(outputs.sum(axis=1), 1.0, atol=1e-5)


def test_without_mixed_precision_the_policy_is_left_alone():
    with training.precision_policy(False):
        model = composable.build_model(spec.default_spec())
    assert model.get_layer("task_dense").compute_dtype == "float32"


@pytest.mark.parametrize(
    ("probed", "expected"),
    [(None, 64), ({"device": "CPU"}, 64), ({"device": "GPU", "name": "NVIDIA H100"}, 256)],
)
def test_default_batch_size_is_larger_on_a_gpu(probed, expected):
    assert trainconfig.default_batch_size(probed) == expected
