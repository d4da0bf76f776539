"""Reading a spec from JSON text that may be hostile: an uploaded or exported file.

Whatever arrives, the answer is a ModelSpec or a `SpecError` in the usual
words, never another exception, so the builder page can show it as is.
"""

import json

from labcore.errors import SpecError, describe
from labcore.spec.model import ModelSpec

__all__ = ["MAX_JSON_BYTES", "parse_json"]

# A spec is a few kilobytes of JSON; anything far larger is not one.
MAX_JSON_BYTES = 1_000_000


def parse_json(text, source="spec file"):
    """Read a spec from JSON text (an uploaded or exported file), refusing hostile input.

    Whatever `text` holds (not UTF-8, not JSON, nested thousands deep,
    numbers of thousands of digits, megabytes), the answer is a `SpecError`
    in the usual "<input> must be <allowed>; got <what>." words, never
    another exception. Like `ModelSpec.from_dict`, only the structure is
    checked; `problems` judges the values.

    Args:
        text: str, or bytes of UTF-8 (a byte-order mark is allowed).
        source: str, what to call the input in messages (e.g. a file name).

    Returns:
        ModelSpec.

    Raises:
        SpecError: the input is too large, not UTF-8, not JSON, nested or
            numbered beyond what Python's JSON reader takes, or not the
            structure of a spec (see `ModelSpec.from_dict`).

    Example:
    >>> parse_json('{"learner": {"block": "plain"}}').learner.block
    'plain'
    """
    if not isinstance(text, (str, bytes, bytearray)):
        raise SpecError(describe(source, "JSON text (str or bytes)", text))
    if len(text) > MAX_JSON_BYTES:
        raise SpecError(
            f"{source} must be at most {MAX_JSON_BYTES:,} bytes of JSON; got {len(text):,}."
        )
    if not isinstance(text, str):
        try:
            text = bytes(text).decode("utf-8-sig")
        except UnicodeDecodeError as error:
            raise SpecError(
                f"{source} must be UTF-8 JSON text; got a byte that is not UTF-8 "
                f"(0x{error.object[error.start]:02x} at position {error.start})."
            ) from None
    if not text.strip():
        raise SpecError(f"{source} must be a JSON object; got an empty file.")
    try:
        values = json.loads(text)
    except json.JSONDecodeError as error:
        raise SpecError(
            f"{source} must be valid JSON; got text that is not (line {error.lineno}, "
            f"column {error.colno}: {error.msg})."
        ) from None
    except RecursionError:
        raise SpecError(
            f"{source} must be JSON nested a few levels deep, as a spec is; got nesting "
            "too deep to read."
        ) from None
    except ValueError:
        # Python refuses to convert an integer of more than 4,300 digits.
        raise SpecError(
            f"{source} must hold numbers of at most 4,300 digits; got a longer one."
        ) from None
    return ModelSpec.from_dict(values)
