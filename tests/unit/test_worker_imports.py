"""A worker needs no chart library: only pages import the labs' views (and Altair)."""

import subprocess
import sys
from pathlib import Path

from labcore.labs import LABS

ROOT = Path(__file__).resolve().parents[2]


def test_worker_side_modules_do_not_import_altair():
    runners = "".join(f"import {lab.package}.recipe, {lab.package}.runner\n" for lab in LABS.values())
    code = (
        "import sys\n"
        "import labcore.worker, labcore.kinds, labcore.images\n"
        f"{runners}"
        "print('altair' in sys.modules)\n"
    )
    completed = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                               timeout=120)
    assert completed.returncode == 0, completed.stderr[-2000:]
    assert completed.stdout.strip().splitlines()[-1] == "False"
