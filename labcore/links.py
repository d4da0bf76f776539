"""A Model Builder setting as a link: the spec and training settings in one compact, versioned URL value.

"Try my model" in a workshop chat is a link. `encode` turns the Builder's
run config (spec and training settings, as the `train` job kind takes it)
into a URL-safe text, `v1.` then compressed JSON in base64url; `decode`
reads one back and refuses anything it cannot load (a cut, tampered,
oversized or future link) with one message saying what is wrong, so the
page can show it and keep its defaults.

Keras-free: the pages import it.
"""

import base64
import binascii
import json
import zlib

from labcore import trainconfig
from labcore.errors import LabError

__all__ = ["MAX_LENGTH", "decode", "encode"]

VERSION = "v1"
# A URL stays well under the 8 KB many servers and browsers accept.
MAX_LENGTH = 6000
# A link inflates to at most this much JSON: a zip bomb in a URL is refused.
_MAX_JSON = 200_000


def encode(config):
    """A run config as a link value.

    Args:
        config: dict {"spec": ..., "train": ...}, as the Builder submits it.

    Returns:
        str, e.g. "v1.eNq...".

    Example:
    >>> from labcore import spec
    >>> config = {"spec": spec.default_spec().to_dict(), "train": trainconfig.TrainConfig(epochs=7).to_dict()}
    >>> back = decode(encode(config))
    >>> spec.ModelSpec.from_dict(back["spec"]) == spec.default_spec(), back["train"]["epochs"]
    (True, 7)
    """
    raw = json.dumps(config, separators=(",", ":"), sort_keys=True).encode()
    return f"{VERSION}." + base64.urlsafe_b64encode(zlib.compress(raw, 9)).decode().rstrip("=")


def decode(text):
    """A link value back to a run config the Builder can load.

    Args:
        text: str, from a URL.

    Returns:
        dict {"spec": ..., "train": ...}, valid (`trainconfig.problems_for_run`).

    Raises:
        LabError: the link is not one this version wrote, is cut or
            altered, too long, or describes a model or settings that cannot
            train here; the message says which.
    """
    if not isinstance(text, str) or len(text) > MAX_LENGTH:
        raise LabError(f"The link's model is longer than {MAX_LENGTH:,} characters: it was not made by this app.")
    version, _, body = text.partition(".")
    if version != VERSION:
        raise LabError(f"The link's model is of version {version[:10]!r}; this app reads {VERSION!r} links.")
    try:
        packed = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
        inflater = zlib.decompressobj()
        raw = inflater.decompress(packed, _MAX_JSON)
        if inflater.unconsumed_tail:
            raise LabError("The link's model unpacks to too much data: it was not made by this app.")
        config = json.loads(raw)
    except (binascii.Error, zlib.error, UnicodeDecodeError, json.JSONDecodeError):
        raise LabError("The link's model is cut or altered: copy the whole link again.") from None
    if not isinstance(config, dict) or set(config) != {"spec", "train"}:
        raise LabError('The link\'s model is not a Model Builder setting ("spec" and "train").')
    found = trainconfig.problems_for_run(config)
    if found:
        raise LabError("The link's model cannot train here: " + " ".join(found))
    return config
