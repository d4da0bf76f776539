"""Identical runs, computed once: what makes two requests the same run.

In a workshop thirty people press Run on the same preset within a minute.
Training it thirty times would put the thirtieth attendee half an hour
back, and every copy would teach the same thing. So a run is identified by
its key: its kind, its whole config (model spec, training settings,
dataset and subset, seed, preset: every field, nothing normalised away) and
the version of the code that computes it. A request whose key matches a
done, queued or running run follows that run instead of training again
(`Store.create_run(follow=True)`); anyone may still train their own copy.

The code version is a hash of labcore's own source files, so any change
to the code that trains (or to anything beside it) starts fresh results:
sharing may miss, but never mixes two different computations.

Keras-free: the Streamlit process imports it.
"""

import functools
import hashlib
import json
from pathlib import Path

__all__ = ["code_version", "run_key"]

_PACKAGE = Path(__file__).resolve().parent


@functools.cache
def code_version():
    """A short hash of every labcore source file, read once per process.

    Returns:
        str, 16 hex digits.
    """
    digest = hashlib.sha256()
    for path in sorted(_PACKAGE.rglob("*.py")):
        digest.update(path.relative_to(_PACKAGE).as_posix().encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def run_key(kind, config):
    """What identifies a run: the same key means the same computation.

    Args:
        kind: str.
        config: dict, JSON-serialisable, the run's config as submitted.

    Returns:
        str, a hex digest.

    Example:
    >>> run_key("train", {"seed": 0}) == run_key("train", {"seed": 0})
    True
    >>> run_key("train", {"seed": 0}) == run_key("train", {"seed": 1})
    False
    """
    text = json.dumps({"kind": kind, "config": config, "code": code_version()}, sort_keys=True,
                      separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()
