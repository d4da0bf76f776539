"""Every lab's Config survives the trip through the JSON a run stores, and refuses unknown keys."""

import json

import pytest

from labcore.errors import ConfigError
from labcore.labs import autoencoder, ensemble, regularization

LABS = [autoencoder, ensemble, regularization]


@pytest.mark.parametrize("lab", LABS, ids=lambda lab: lab.__name__.rsplit(".", 1)[-1])
def test_every_preset_round_trips_through_json(lab):
    for preset in lab.PRESETS.values():
        stored = json.loads(json.dumps(preset.to_dict()))
        assert lab.Config.from_dict(stored) == preset  # JSON lists come back as tuples


@pytest.mark.parametrize("lab", LABS, ids=lambda lab: lab.__name__.rsplit(".", 1)[-1])
def test_missing_keys_take_defaults_and_unknown_keys_are_named(lab):
    assert lab.Config.from_dict({}) == lab.Config()
    with pytest.raises(ConfigError, match=r"lab has an unknown key 'colour'; allowed keys: "):
        lab.Config.from_dict({"colour": "red"}, path="lab")
    with pytest.raises(ConfigError, match=r"config must be a dict"):
        lab.Config.from_dict([1, 2])
