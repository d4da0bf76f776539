"""TrainConfig round-trips, and every bad value is refused with a message that names it."""

import dataclasses
import doctest
import json
import math
import subprocess
import sys

import pytest

from labcore import data, trainconfig
from labcore import spec as spec_lib
from labcore.errors import ConfigError
from labcore.schedules import ScheduleSpec
from labcore.trainconfig import TrainConfig, load_options, problems


def test_default_config_has_no_problems():
    assert problems(TrainConfig()) == []


def test_config_round_trips_through_json():
    config = TrainConfig(
        epochs=7,
        optimizer="adamw",
        schedule=ScheduleSpec(kind="cosine", warmup_epochs=2, min_lr=1e-5),
        label_smoothing=0.1,
        subset=500,
        test_subset=100,
    )
    assert TrainConfig.from_dict(json.loads(json.dumps(config.to_dict()))) == config


def test_from_dict_fills_missing_keys_with_defaults():
    config = TrainConfig.from_dict({"epochs": 9, "schedule": {"kind": "step"}})
    assert config == TrainConfig(epochs=9, schedule=ScheduleSpec(kind="step"))


def test_from_dict_names_an_unknown_key_and_lists_the_allowed_ones():
    message = r"train has an unknown key 'lr'; allowed keys: epochs, batch_size, learning_rate"
    with pytest.raises(ConfigError, match=message):
        TrainConfig.from_dict({"lr": 0.1})


def test_from_dict_names_an_unknown_schedule_key_by_its_path():
    with pytest.raises(ConfigError, match=r"train.schedule has an unknown key 'steps'"):
        TrainConfig.from_dict({"schedule": {"steps": 3}})


def test_from_dict_keeps_bad_values_for_problems_to_report():
    config = TrainConfig.from_dict({"epochs": 0})
    assert problems(config) == ["train.epochs must be an int in [1, 500]; got 0."]


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"epochs": 0}, "train.epochs must be an int in [1, 500]; got 0."),
        ({"epochs": 501}, "train.epochs must be an int in [1, 500]; got 501."),
        ({"epochs": True}, "train.epochs must be an int in [1, 500]; got True."),
        ({"epochs": 3.0}, "train.epochs must be an int in [1, 500]; got 3.0."),
        ({"batch_size": 0}, "train.batch_size must be an int in [1, 4096]; got 0."),
        ({"batch_size": 5000}, "train.batch_size must be an int in [1, 4096]; got 5000."),
        ({"learning_rate": 0.0}, "train.learning_rate must be a float in (0, 10]; got 0.0."),
        ({"learning_rate": -0.1}, "train.learning_rate must be a float in (0, 10]; got -0.1."),
        ({"learning_rate": math.nan}, "train.learning_rate must be a float in (0, 10]; got nan."),
        ({"learning_rate": math.inf}, "train.learning_rate must be a float in (0, 10]; got inf."),
        ({"learning_rate": "0.01"}, "train.learning_rate must be a float in (0, 10]; got '0.01'."),
        (
            {"optimizer": "adagrad"},
            "train.optimizer must be one of 'adam', 'sgd', 'rmsprop', 'adamw'; got 'adagrad'.",
        ),
        ({"momentum": 1.0}, "train.momentum must be a float in [0, 1); got 1.0."),
        ({"weight_decay": -1e-4}, "train.weight_decay must be a float in [0, 1]; got -0.0001."),
        ({"label_smoothing": 0.6}, "train.label_smoothing must be a float in [0, 0.5]; got 0.6."),
        (
            {"early_stopping_patience": -1},
            "train.early_stopping_patience must be an int in [0, 500]; got -1.",
        ),
        ({"restore_best": 1}, "train.restore_best must be True or False; got 1."),
        ({"seed": -1}, "train.seed must be an int in [0, 999999]; got -1."),
        (
            {"dataset": ""},
            "train.dataset must be 1 to 64 letters, digits, '_', '-' or '.'; got ''.",
        ),
        ({"subset": 5}, "train.subset must be None or an int in [10, 100000]; got 5."),
        ({"subset": False}, "train.subset must be None or an int in [10, 100000]; got False."),
        ({"val_fraction": 0.75}, "train.val_fraction must be a float in [0, 0.5]; got 0.75."),
        ({"test_subset": 0}, "train.test_subset must be None or an int in [10, 100000]; got 0."),
        (
            {"schedule": ScheduleSpec(kind="linear")},
            "train.schedule.kind must be one of 'constant', 'step', 'exponential', 'time', "
            "'cosine'; got 'linear'.",
        ),
        (
            {"epochs": 5, "schedule": ScheduleSpec(warmup_epochs=5)},
            "train.schedule.warmup_epochs must be an int in [0, 4] (below train.epochs, "
            "or the rate never reaches learning_rate); got 5.",
        ),
        (
            {"learning_rate": 1e-3, "schedule": ScheduleSpec(kind="cosine", min_lr=1e-2)},
            "train.schedule.min_lr must be a float in [0, 0.001] (train.learning_rate); got 0.01.",
        ),
        (
            {"early_stopping_patience": 2, "val_fraction": 0.0},
            "train.val_fraction must be a float in (0, 0.5] when early stopping is on "
            "(it watches the validation loss); got 0.0.",
        ),
    ],
)
def test_problems_name_the_field_the_range_and_the_value(changes, message):
    assert problems(dataclasses.replace(TrainConfig(), **changes)) == [message]


def test_problems_lists_every_bad_field_at_once():
    config = TrainConfig(epochs=0, batch_size=0, learning_rate=0.0)
    assert [message.split(" must")[0] for message in problems(config)] == [
        "train.epochs",
        "train.batch_size",
        "train.learning_rate",
    ]


def test_batch_larger_than_the_training_set_is_refused_only_when_its_size_is_known():
    config = TrainConfig(batch_size=128)
    assert problems(config) == []
    assert problems(config, n_train=128) == []
    assert problems(config, n_train=100) == [
        "train.batch_size must be an int in [1, 100] (the training set has 100 images); got 128."
    ]


def test_widget_bounds_come_from_the_declared_ranges():
    epochs = trainconfig.RANGES["epochs"]
    assert (epochs.lo, epochs.hi) == (1, 500)
    assert trainconfig.RANGES["optimizer"].choices == trainconfig.OPTIMIZERS


@pytest.mark.parametrize(
    ("input_shape", "image_shape", "options"),
    [
        ((28, 28, 1), (28, 28, 1), {"pad_to": None, "channels": None}),
        ((32, 32, 3), (28, 28, 1), {"pad_to": 32, "channels": 3}),
        ((32, 32, 1), (32, 32, 3), {"pad_to": None, "channels": 1}),
        ([32, 32, 1], [28, 28, 1], {"pad_to": 32, "channels": None}),
    ],
)
def test_load_options_pad_and_convert_channels_to_the_model_input(
    input_shape, image_shape, options
):
    assert load_options(input_shape, image_shape) == options


@pytest.mark.parametrize(
    "input_shape",
    [(16, 16, 1), (32, 30, 1), (28, 28, 2)],
)
def test_load_options_refuse_inputs_the_images_cannot_reach(input_shape):
    message = r"spec.input_shape must be the dataset's image shape \(28, 28, 1\)"
    with pytest.raises(ConfigError, match=message):
        load_options(input_shape, (28, 28, 1))


class TestProblemsForRun:
    """The `train` kind's validator."""

    @pytest.fixture(autouse=True)
    def _datasets_on_disk(self, monkeypatch):
        self.spec_lib = spec_lib
        # Availability is data's concern (and tested there); here every
        # dataset is present unless a test says otherwise.
        monkeypatch.setattr(data, "availability", lambda key: (True, "on disk"))

    def run_config(self, spec=None, **train):
        spec = spec or self.spec_lib.ModelSpec()
        train_config = dataclasses.replace(TrainConfig(), **train)
        return {"spec": spec.to_dict(), "train": train_config.to_dict()}

    def test_default_spec_and_config_can_run(self):
        assert trainconfig.problems_for_run(self.run_config()) == []

    def test_unknown_dataset_lists_the_known_ones(self):
        (message,) = trainconfig.problems_for_run(self.run_config(dataset="imagenet"))
        assert message.startswith("train.dataset must be one of 'fashion_mnist_small', ")
        assert message.endswith("got 'imagenet'.")

    def test_unavailable_dataset_says_why(self, monkeypatch):
        monkeypatch.setattr(data, "availability", lambda key: (False, "put the files in X"))
        assert trainconfig.problems_for_run(self.run_config(dataset="mnist")) == [
            "train.dataset 'mnist' is not available: put the files in X"
        ]

    def test_batch_larger_than_the_subset_left_for_training_is_refused(self):
        # 100 drawn, 10 held out for validation: 90 left to train on.
        found = trainconfig.problems_for_run(self.run_config(subset=100, batch_size=91))
        assert found == [
            "train.batch_size must be an int in [1, 90] (the training set has 90 images); got 91."
        ]
        assert trainconfig.problems_for_run(self.run_config(subset=100, batch_size=90)) == []

    def test_subset_larger_than_the_dataset_is_refused(self):
        found = trainconfig.problems_for_run(self.run_config(subset=6001))
        assert found == [
            "train.subset must be None or an int in [10, 6000] (the images of "
            "'fashion_mnist_small'); got 6001."
        ]

    def test_spec_problems_and_config_problems_are_listed_together(self):
        bad_spec = self.run_config()["spec"]
        bad_spec["learner"]["groups"][0]["n_blocks"] = 0
        found = trainconfig.problems_for_run({"spec": bad_spec, "train": {"epochs": 0}})
        assert any(message.startswith("learner.groups[0].n_blocks") for message in found)
        assert "train.epochs must be an int in [1, 500]; got 0." in found

    def test_input_shape_the_images_cannot_reach_is_refused(self):
        spec = dataclasses.replace(self.spec_lib.ModelSpec(), input_shape=(16, 16, 1))
        (message,) = trainconfig.problems_for_run(self.run_config(spec=spec))
        assert message.startswith("spec.input_shape must be the dataset's image shape (28, 28, 1)")

    def test_larger_square_input_is_accepted_because_the_runner_pads(self):
        spec = dataclasses.replace(self.spec_lib.ModelSpec(), input_shape=(32, 32, 3))
        assert trainconfig.problems_for_run(self.run_config(spec=spec)) == []

    def test_spec_must_be_a_classifier_with_the_datasets_classes(self):
        model = self.spec_lib.ModelSpec()
        encoder = dataclasses.replace(model, task=dataclasses.replace(model.task, kind="encoder"))
        five_classes = dataclasses.replace(model, task=dataclasses.replace(model.task, n_classes=5))
        assert trainconfig.problems_for_run(self.run_config(spec=encoder)) == [
            "spec.task.kind must be 'classifier' for a train run; got 'encoder'."
        ]
        assert trainconfig.problems_for_run(self.run_config(spec=five_classes)) == [
            "spec.task.n_classes must be 10 (the classes of 'fashion_mnist_small'); got 5."
        ]

    def test_unknown_top_level_key_and_non_dict_are_refused(self):
        config = self.run_config()
        config["model"] = {}
        assert trainconfig.problems_for_run(config) == [
            "config has an unknown key 'model'; allowed keys: spec, train."
        ]
        assert trainconfig.problems_for_run([]) == [
            'config must be a dict with keys "spec" and "train"; got [].'
        ]

    def test_structural_train_error_is_reported_not_raised(self):
        config = {"spec": self.run_config()["spec"], "train": {"lr": 1}}
        found = trainconfig.problems_for_run(config)
        assert found == [
            "train has an unknown key 'lr'; allowed keys: "
            + ", ".join(field.name for field in dataclasses.fields(TrainConfig))
            + "."
        ]


def test_validation_modules_import_no_keras():
    # The Streamlit process validates with these; importing Keras there
    # costs seconds and memory on every page (DESIGN.md rule 1).
    code = (
        "import sys, labcore.trainconfig, labcore.schedules;"
        "assert 'keras' not in sys.modules and 'tensorflow' not in sys.modules"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_docstring_examples_run():
    assert doctest.testmod(trainconfig).failed == 0
