"""Where labcore keeps its data: the run store, artifacts and worker logs.

One folder, `$LABCORE_HOME` or `~/.labcore`, holds `labcore.db`, `artifacts/`
and `logs/`. Tests point `LABCORE_HOME` at a temporary folder. Keras-free.
"""

import os
from pathlib import Path

__all__ = ["home"]


def home():
    """Return labcore's data folder, creating it if missing.

    Returns:
        Path, absolute: `$LABCORE_HOME` when set and non-empty, else
        `~/.labcore`. Absolute so that worker processes started from another
        working directory find the same folder.

    Raises:
        OSError: the folder cannot be created.
    """
    configured = os.environ.get("LABCORE_HOME")
    path = Path(configured).expanduser() if configured else Path.home() / ".labcore"
    path = path.absolute()
    path.mkdir(parents=True, exist_ok=True)
    return path
