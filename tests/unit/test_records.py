"""`Record`: one to_dict/from_dict for every spec and config, checking structure only."""

import dataclasses
import json

import pytest

from labcore.errors import ConfigError, SpecError
from labcore.records import Record


@dataclasses.dataclass(frozen=True)
class Part(Record):
    size: int
    colour: str = "red"


@dataclasses.dataclass(frozen=True)
class Whole(Record):
    parts: tuple = (Part(1),)
    main: Part = Part(2)
    shape: tuple = (28, 28, 1)
    note: str | None = None

    record_path = "whole"


class Strict(Part):
    record_error = SpecError


def test_nested_records_and_tuples_round_trip_through_json():
    whole = Whole(parts=(Part(3, "blue"), Part(4)), main=Part(5), shape=(32, 32, 3), note="n")
    stored = json.loads(json.dumps(whole.to_dict()))
    assert isinstance(stored["parts"], list) and isinstance(stored["shape"], list)
    assert Whole.from_dict(stored) == whole


def test_faults_name_where_they_are():
    with pytest.raises(ConfigError, match=r"^whole must be a dict; got \[\]\.$"):
        Whole.from_dict([])
    with pytest.raises(ConfigError, match=r"^whole has an unknown key 'size'; allowed keys: parts, main, shape, note\.$"):
        Whole.from_dict({"size": 1})
    with pytest.raises(ConfigError, match=r"^whole\.parts\[1\] is missing the key 'size'; required keys: size\.$"):
        Whole.from_dict({"parts": [{"size": 1}, {"colour": "blue"}]})
    with pytest.raises(ConfigError, match=r"^whole\.shape must be a list; got 28\.$"):
        Whole.from_dict({"shape": 28})
    with pytest.raises(ConfigError, match=r"^outer\.main must be a dict; got 'x'\.$"):
        Whole.from_dict({"main": "x"}, path="outer")


def test_values_are_not_judged_and_the_error_class_is_the_records_own():
    assert Part.from_dict({"size": -5, "colour": 7}) == Part(-5, 7)  # `problems` judges values
    with pytest.raises(SpecError):
        Strict.from_dict({"size": 1, "weight": 2})
