"""The Model Builder's "Your own data": upload a dataset, see it stored and selected, or see every problem."""

import io
import shutil
import zipfile

import numpy as np
import pytest
from PIL import Image

from apptest import open_page, problems_on
from labcore import data
from labcore.data import registry

BUILDER = "app_pages/builder.py"


@pytest.fixture(autouse=True)
def no_uploads_left():
    """The app tests share one data home: uploads made here must not reach other tests' dataset lists."""
    yield
    shutil.rmtree(registry.own_dir(), ignore_errors=True)


def pets_zip(extra=None):
    """A real zip of two class folders (red cats, blue dogs), 48 PNGs each, plus `extra` members."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, colour in (("cats", (200, 40, 40)), ("dogs", (40, 40, 200))):
            for i in range(48):
                image = io.BytesIO()
                Image.fromarray(np.full((20, 24, 3), colour, np.uint8)).save(image, "PNG")
                archive.writestr(f"{name}/{i}.png", image.getvalue())
        for name, content in (extra or {}).items():
            archive.writestr(name, content)
    return buffer.getvalue()


def upload(at, content, filename="pets.zip", name="", size=28):
    """Choose a file and the options in the expander, then press Add dataset."""
    at.file_uploader(key="builder_own_file").upload(filename, content, "application/zip").run()
    at.text_input(key="builder_own_name").input(name).run()
    at.selectbox(key="builder_own_size").set_value(size).run()
    at.button(key="builder_own_add").click().run()
    return at


def test_an_uploaded_zip_is_stored_selected_and_shapes_the_builders_model():
    at = upload(open_page(BUILDER), pets_zip(), name="My pets", size=32)
    assert not problems_on(at)
    key = at.session_state["dataset"]
    assert key.startswith("own_my_pets_") and data.dataset_info(key).class_names == ("cats", "dogs")
    (message,) = [success.value for success in at.success]
    assert "Stored **My pets (your data)**, 32x32 RGB (inferred): images per class cats 48, dogs 48" in message
    assert "(80 to train, 16 to test)" in message
    # The default model takes the new images and ends in two classes: the worker's own validator lets it train.
    assert not at.button(key="builder_train").disabled


def test_a_malformed_zip_lists_every_problem_and_keeps_the_dataset():
    at = open_page(BUILDER)
    before = at.session_state["dataset"]
    upload(at, pets_zip({"../evil.png": b"", "cats/notes.txt": b"hello"}))
    errors = [error.value for error in at.error]
    assert any("'../evil.png' points outside the archive" in error for error in errors), errors
    assert any("cats/notes.txt is not an image" in error for error in errors), errors
    assert at.session_state["dataset"] == before and not at.success


def test_the_upload_box_states_the_limits_and_takes_only_zip_and_npz():
    at = open_page(BUILDER)
    uploader = at.file_uploader(key="builder_own_file")
    assert sorted(uploader.allowed_type) == [".npz", ".zip"]
    assert any("At most 50 MB" in caption.value and "20,000 images" in caption.value for caption in at.caption)
    assert at.button(key="builder_own_add").disabled
