"""The workbench in a real browser: a shared link opens the same model elsewhere; an exported script trains.

The link is read off the page as a learner would copy it and opened in a
fresh browser context (another person). The export is downloaded from the
Runs page and the script run in a fresh interpreter, outside this
repository, as a learner would run it at home.
"""

import re
import subprocess
import sys

from labcore import jobs, spec, trainconfig
from tests.support import wait_for_status

from .conftest import MAIN, VIEWPORT, expect, open_page, page_url, screenshot, set_number, spin, wait_rerun
from .test_runs import GRID, _select_rows

OWNER = "e2e-workbench"


def test_a_shared_link_opens_the_same_model_and_settings(page, browser, server):
    open_page(page, page_url(server, "builder", OWNER))
    set_number(page, "epochs", 4)
    set_number(page, "filters", 20)
    page.get_by_text("Share this model and its settings as a link").click()
    link = page.locator(f"{MAIN} code").filter(has_text="?model=v1.").inner_text().strip()
    assert link.startswith(f"{server.url}/builder?model=v1.") and "owner" not in link

    other = browser.new_context(viewport=VIEWPORT).new_page()
    try:
        open_page(other, link)
        expect(spin(other, "epochs")).to_have_value("4")
        expect(spin(other, "filters")).to_have_value("20")
        expect(other.get_by_role("combobox", name="Start from")).to_have_value("the model of the link: first_model")
        expect(other.locator('[data-testid="stAlertContentError"]')).to_have_count(0)
        screenshot(other, "builder-from-link")
    finally:
        other.context.close()


def test_an_exported_script_trains_the_same_model_with_keras_alone(page, server, store, tmp_path):
    config = {"spec": spec.default_spec().to_dict(),
              "train": trainconfig.TrainConfig(epochs=1, subset=300, test_subset=100).to_dict()}
    open_page(page, page_url(server, "runs", OWNER))  # starts the server's supervisor if no test has yet
    run_id = jobs.submit(store, "train", config, owner=OWNER, title="to export")
    # A worker may first import Keras (5-9 s idle, far more on a busy CI machine).
    wait_for_status(store, run_id, ("done",), timeout_s=180)
    open_page(page, page_url(server, "runs", OWNER), known=GRID)
    # The grid's accessible rows may lag its first drawing by a moment.
    expect(page.locator(GRID).locator(f"tbody td[aria-colindex='1']:text-is('{run_id}')")).to_have_count(1)
    _select_rows(page, [run_id])

    with page.expect_download() as download:
        page.get_by_role("button", name="A script that trains it with Keras alone (.py)").click()
    script = tmp_path / download.value.suggested_filename
    download.value.save_as(script)
    assert script.name == f"run{run_id}_train_script.py"
    trained = subprocess.run([sys.executable, str(script), "--epochs", "1", "--subset", "200"], cwd=tmp_path,
                             capture_output=True, text=True, timeout=300,
                             env={"PATH": "/usr/bin:/bin", "KERAS_BACKEND": "tensorflow"})
    assert trained.returncode == 0, trained.stderr[-2000:]
    assert f"parameters: {store.get_run(run_id).result['params']}" in trained.stdout
    assert re.search(r"test accuracy: 0\.\d+", trained.stdout)
    wait_rerun(page)
