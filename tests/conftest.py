"""Test-wide settings: a private data home, the shared datasets, no downloads.

Every pytest process gets its own LABCORE_HOME (a temporary folder), so tests
never touch a developer's runs. LABCORE_DATA_DIR points at `../shared/datasets`
(beside the checkout, as in CI) when it exists, and LABCORE_OFFLINE forbids
downloads: tests must pass with the network off. Streamlit's scan for
installed components runs once per process, not once per AppTest.
"""

import functools
import os
import pathlib
import tempfile

from streamlit.components.v2 import manifest_scanner

ROOT = pathlib.Path(__file__).resolve().parent.parent
SHARED_DATASETS = ROOT.parent / "shared" / "datasets"

os.environ["LABCORE_HOME"] = tempfile.mkdtemp(prefix="labcore-test-home-")
os.environ["LABCORE_OFFLINE"] = "1"
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
# One run at a time on the app's supervisor, whatever the machine: page tests
# hold the device with one run, and timings stay those of one worker.
os.environ["LABCORE_SLOTS"] = "1"
if SHARED_DATASETS.is_dir():
    os.environ.setdefault("LABCORE_DATA_DIR", str(SHARED_DATASETS))

# Every new AppTest scans the metadata of every installed package for
# Streamlit components (0.4 s here, about 2 min over the app tests). The
# packages do not change during a test session: scan once per process.
manifest_scanner.scan_component_manifests = functools.cache(manifest_scanner.scan_component_manifests)

