"""DESIGN rule 1: the Streamlit process never imports TensorFlow or Keras.

Checked in a fresh interpreter, since other tests in this pytest process do
import Keras: every page of the navigation is rendered with AppTest, with
runs of every kind present in the store, then sys.modules is inspected.
"""

import json
import os
import pathlib
import subprocess
import sys
import textwrap

ROOT = pathlib.Path(__file__).resolve().parents[2]

SCRIPT = textwrap.dedent("""
    import json, sys
    from streamlit.testing.v1 import AppTest
    from labcore import jobs, store
    s = store.Store()
    run_id = jobs.submit(s, "sleep", {"epochs": 2, "seconds_per_epoch": 0.0}, owner="t", title="sleep")
    at = AppTest.from_file(sys.argv[1], default_timeout=60)
    at.query_params["owner"] = "t"
    at.run()
    pages = ["app_pages/" + p.name for p in __import__("pathlib").Path(sys.argv[1]).parent.joinpath("app_pages").glob("*.py")]
    errors = []
    for page in sorted(pages):
        at.switch_page(page).run()
        errors += [f"{page}: {e.value}" for e in at.exception]
    heavy = sorted(m for m in sys.modules if m.split(".")[0] in ("keras", "tensorflow", "jax"))
    print(json.dumps({"pages": pages, "errors": errors, "heavy": heavy}))
""")


def test_no_page_imports_keras_or_tensorflow(tmp_path):
    env = dict(os.environ, LABCORE_HOME=str(tmp_path), PYTHONPATH=str(ROOT))
    out = subprocess.run([sys.executable, "-c", SCRIPT, str(ROOT / "app.py")], env=env, cwd=ROOT,
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    report = json.loads(out.stdout.strip().splitlines()[-1])
    assert len(report["pages"]) >= 4
    assert report["errors"] == []
    assert report["heavy"] == []
