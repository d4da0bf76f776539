"""Every lab's Config survives the trip through the JSON a run stores, and refuses unknown keys."""

import json

import pytest

from labcore.errors import ConfigError
from labcore.labs import LABS


@pytest.fixture(params=list(LABS))
def config(request):
    return LABS[request.param].part("config")


def test_every_preset_round_trips_through_json(config):
    for preset in config.PRESETS.values():
        stored = json.loads(json.dumps(preset.to_dict()))
        assert config.Config.from_dict(stored) == preset  # JSON lists come back as tuples


def test_missing_keys_take_defaults_and_unknown_keys_are_named(config):
    assert config.Config.from_dict({}) == config.Config()
    with pytest.raises(ConfigError, match=r"lab has an unknown key 'colour'; allowed keys: "):
        config.Config.from_dict({"colour": "red"}, path="lab")
    with pytest.raises(ConfigError, match=r"config must be a dict"):
        config.Config.from_dict([1, 2])
