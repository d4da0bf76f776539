"""Own data in a real browser: a zip of class folders is uploaded, checked, picked and trained on.

The zip is made here as a learner would make one: a folder per class of
PNG files (drawn shapes, so the classes can be learnt), plus a Mac's
`__MACOSX/` litter that the upload skips. A malformed zip is refused with
its problems named, and nothing is stored.
"""

import io
import json
import zipfile

import numpy as np
from PIL import Image, ImageDraw

from labcore.data import registry

from .conftest import MAIN, expect, open_page, page_url, screenshot, set_number, wait_rerun
from .test_builder import HEADING, _run_id, _train_button

OWNER = "e2e-owndata"
SHAPES = ("ring", "bar", "dot")


def _shape(kind, rng):
    """One 40x40 picture of a class: a ring, a bar or a dot, somewhere near the middle."""
    image = Image.new("L", (40, 40), 0)
    draw = ImageDraw.Draw(image)
    x, y = rng.integers(12, 28, size=2)
    if kind == "ring":
        draw.ellipse((x - 9, y - 9, x + 9, y + 9), outline=255, width=3)
    elif kind == "bar":
        draw.rectangle((x - 2, 4, x + 2, 36), fill=255)
    else:
        draw.ellipse((x - 4, y - 4, x + 4, y + 4), fill=255)
    return image


def _zip(per_class=40, broken=False):
    rng = np.random.default_rng(0)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for kind in SHAPES:
            for index in range(per_class):
                png = io.BytesIO()
                _shape(kind, rng).save(png, format="PNG")
                archive.writestr(f"shapes/{kind}/{index}.png", png.getvalue())
        archive.writestr("__MACOSX/shapes/._ring", b"\x00\x05\x16\x07")
        if broken:
            archive.writestr("shapes/dot/torn.png", b"\x89PNG\r\n\x1a\n not the rest")
            archive.writestr("../escape.png", b"")
    return buffer.getvalue()


def _upload(page, name, content):
    page.locator(f"{MAIN} [data-testid='stFileUploader']").filter(has_text="A .zip of class folders").locator(
        "input[type='file']").set_input_files({"name": f"{name}.zip", "mimeType": "application/zip",
                                                "buffer": content})
    wait_rerun(page)
    page.get_by_label("name", exact=True).fill(name)
    page.get_by_label("name", exact=True).press("Enter")
    wait_rerun(page)
    page.get_by_role("button", name="Add dataset").click()
    wait_rerun(page)


def test_an_uploaded_image_folder_trains_in_the_builder(page, server, store):
    open_page(page, page_url(server, "builder", OWNER))
    page.get_by_text("Your own data").click()

    _upload(page, "torn shapes", _zip(per_class=12, broken=True))
    errors = page.locator(f"{MAIN} [data-testid='stAlertContentError']")
    expect(errors.filter(has_text="escape.png")).to_have_count(1)
    assert not list((server.home / "own").glob(f"{registry.OWN_PREFIX}*")), "a refused upload was stored"

    _upload(page, "shapes", _zip())
    expect(page.locator(f"{MAIN} [data-testid='stAlertContentSuccess']")).to_contain_text("Stored shapes")
    expect(page.get_by_role("combobox", name="Dataset")).to_have_value("shapes (your data)")
    expect(errors).to_have_count(0)
    screenshot(page, "builder-own-data")

    set_number(page, "epochs", 2)
    set_number(page, "batch size", 16)
    train = _train_button(page)
    expect(train).to_be_enabled()
    train.click()
    expect(page.locator(HEADING)).to_be_visible(timeout=60_000)
    run_id = _run_id(page)
    # A worker imports Keras first (5-9 s idle, far more on a busy CI machine), then 2 short epochs.
    expect(page.locator('[data-testid="stAlertContentSuccess"]').filter(has_text=f"Run #{run_id} finished in")
           ).to_have_count(1, timeout=180_000)
    trained = store.get_run(run_id)
    key = trained.config["train"]["dataset"]
    assert key.startswith(f"{registry.OWN_PREFIX}shapes_")
    stored = json.loads((server.home / "own" / key / registry.OWN_MANIFEST).read_text())
    assert stored["n_train"] + stored["n_test"] == len(SHAPES) * 40
    # It trained on the uploaded images (validation is drawn from the training part) and tested on its own test part.
    assert trained.result["n_test"] == stored["n_test"] and trained.result["n_train"] < stored["n_train"]
    assert not page.locator('[data-testid="stException"]').count()
