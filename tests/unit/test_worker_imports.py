"""A worker needs no chart library: the lab runners import Altair only when a page draws a chart."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_worker_side_modules_do_not_import_altair():
    code = (
        "import sys\n"
        "import labcore.worker, labcore.kinds, labcore.images\n"
        "from labcore.labs import autoencoder, ensemble, regularization, _autoencoder_keras\n"
        "print('altair' in sys.modules)\n"
    )
    completed = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                               timeout=120)
    assert completed.returncode == 0, completed.stderr[-2000:]
    assert completed.stdout.strip().splitlines()[-1] == "False"
