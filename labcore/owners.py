"""Owner tokens: a browser owns the runs of the name its token was issued for, and no other.

Each browser keeps a token in its URL (`?owner=NAME.SIGNATURE`). The server
issues it: a random name, signed with a secret kept beside the store
(`$LABCORE_HOME/owner_secret`, made on first use). Only a token whose
signature matches names an owner, so one typed or guessed owns nothing:
`?owner=cli` no longer hands anyone the command line's runs, and the
names `cli` and `prebake` (runs started from the command line, and a
workshop's pre-baked runs) are never issued, so only an instructor can
cancel or delete those.

Keras-free and Streamlit-free: the pages call it through `ui.state`, tests
sign names with it.
"""

import hashlib
import hmac
import os
import re
import secrets
from pathlib import Path

from labcore.home import home

__all__ = ["issue", "owner_of", "secret", "sign"]

_NAME = re.compile(r"[A-Za-z0-9_-]{3,48}")
_SIGNATURE_HEX = 16
_SECRET_FILE = "owner_secret"


def secret(folder=None):
    """The server's signing secret, made once per data folder (atomically, readable by its user only).

    Args:
        folder: str or Path, or None for `labcore.home.home()`.

    Returns:
        bytes.
    """
    path = Path(folder or home()) / _SECRET_FILE
    if not path.exists():
        draft = path.with_name(f".{_SECRET_FILE}-{secrets.token_hex(4)}")
        fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_hex(32))
        try:
            # link() fails if another process made the file first; theirs wins.
            os.link(draft, path)
        except FileExistsError:
            pass
        finally:
            draft.unlink()
    return path.read_text().strip().encode()


def sign(name, key):
    """The token for an owner name.

    Args:
        name: str, 3-48 letters, digits, "-" or "_".
        key: bytes, `secret()`.

    Returns:
        str, "NAME.SIGNATURE".
    """
    signature = hmac.new(key, name.encode(), hashlib.sha256).hexdigest()[:_SIGNATURE_HEX]
    return f"{name}.{signature}"


def issue(key):
    """A fresh token for a new browser: a random name (never `cli` or `prebake`), signed."""
    return sign(secrets.token_hex(8), key)


def owner_of(token, key):
    """The owner a token names, or None when it was not issued with this key.

    Compared in constant time (`hmac.compare_digest`). ASCII only, so that
    a look-alike ("\\u0430lice", with a Cyrillic "a") never passes.

    Args:
        token: str or None.
        key: bytes.

    Returns:
        str or None.
    """
    name, _, _ = str(token or "").partition(".")
    if not (name.isascii() and _NAME.fullmatch(name)):
        return None
    return name if hmac.compare_digest(sign(name, key).encode(), str(token).encode()) else None
