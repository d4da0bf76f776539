"""A Builder setting as a link: it reads back exactly, and every link it cannot load is refused with its reason."""

import base64
import doctest
import json
import zlib

import pytest

import labcore.links
from labcore import links, references, spec, trainconfig
from labcore.errors import LabError


def _config(model=None, **train):
    return {"spec": (model or spec.default_spec()).to_dict(), "train": trainconfig.TrainConfig(**train).to_dict()}


def _packed(value):
    raw = value if isinstance(value, bytes) else json.dumps(value).encode()
    return "v1." + base64.urlsafe_b64encode(zlib.compress(raw)).decode().rstrip("=")


def test_the_largest_reference_model_fits_a_url_and_reads_back_exactly():
    config = _config(references.REFERENCES["encoded_classifier_original"].spec, epochs=7, learning_rate=3e-3)
    config["spec"]["input_shape"] = [32, 32, 3]
    text = links.encode(config)
    assert len(text) < 2000 and text.startswith("v1.")
    assert set(text[3:]) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
    assert links.decode(text) == json.loads(json.dumps(config))  # tuples come back as lists, as JSON has them


@pytest.mark.parametrize("text, message", [
    ("", "of version ''"),
    ("v2." + links.encode(_config())[3:], "of version 'v2'"),
    (links.encode(_config())[:-20], "cut or altered"),
    ("v1.%%%%", "cut or altered"),
    (_packed(b"\xff\xfe not json"), "cut or altered"),
    (_packed(b"0" * 1_000_000), "unpacks to too much data"),
    ("v1." + "A" * 7000, "longer than 6,000 characters"),
    (_packed([1, 2]), 'not a Model Builder setting ("spec" and "train")'),
    (_packed({"spec": {}, "train": {}, "owner": "x"}), "not a Model Builder setting"),
    (_packed(_config(epochs=0)), "cannot train here: train.epochs must be an int in [1, 500]; got 0."),
    (_packed({**_config(), "spec": {**_config()["spec"], "stem": {"n_filters": -1}}}),
     "cannot train here: stem.n_filters must be an int in [1, 1024]; got -1."),
])
def test_a_link_that_cannot_load_says_why(text, message):
    with pytest.raises(LabError) as refused:
        links.decode(text)
    assert message in str(refused.value)


def test_docstring_examples_hold():
    result = doctest.testmod(labcore.links)
    assert result.attempted > 0 and result.failed == 0
