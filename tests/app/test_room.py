"""The instructor pushes a model to the room; every attendee's Model Builder offers to load it.

One AppTest per browser session, each with its own signed `?owner=`
token; instructor mode is switched on by the environment and entered
through the sidebar, as on a real server.
"""

import dataclasses

import pytest

from apptest import open_page, problems_on
from labcore import room, spec, trainconfig

TOKEN = "correct-horse-battery-staple"
BUILDER = "app_pages/builder.py"


@pytest.fixture
def quiet_room(store, monkeypatch):
    monkeypatch.setenv("LABCORE_PREWARM", "0")
    monkeypatch.setenv("LABCORE_INSTRUCTOR_TOKEN", TOKEN)
    room.withdraw(store)
    yield store
    room.withdraw(store)


def _widget(at, kind, key):
    return next(w for w in getattr(at, kind) if w.key == key)


def _instructors_builder():
    at = open_page(owner="instructor-laptop")
    at.sidebar.text_input(key="instructor_token_input").input(TOKEN).run()
    at.switch_page(BUILDER).run()
    assert at.session_state["instructor"] is True and not problems_on(at)
    return at


def _shared_model():
    """A model no page starts from: 24 stem filters, trained 3 epochs at 3e-3 on the embedded subset."""
    model = spec.default_spec()
    model = dataclasses.replace(model, stem=dataclasses.replace(model.stem, n_filters=24), name="room_model")
    return model, trainconfig.TrainConfig(epochs=3, learning_rate=3e-3)


def test_the_instructor_pushes_the_model_and_training_settings_the_page_shows(quiet_room):
    at = _instructors_builder()
    assert not any(b.key == "builder_load_shared" for b in at.button), "no banner for the instructor"
    _widget(at, "number_input", "builder_epochs").set_value(7).run()
    _widget(at, "button", "builder_push").click().run()
    assert not problems_on(at)
    shared = room.pushed(quiet_room.settings())
    assert shared is not None and shared.train.epochs == 7
    assert shared.spec == spec.default_spec()
    assert shared.title.startswith("first_model · ")
    assert any(c.value.startswith(f"In the room now: **{shared.title}**") for c in at.caption)

    _widget(at, "button", "builder_withdraw").click().run()
    assert room.pushed(quiet_room.settings()) is None and not problems_on(at)


def test_an_attendee_loads_the_instructors_model_and_settings(quiet_room):
    model, train = _shared_model()
    at = open_page(BUILDER, owner="attendee-one")
    assert not any(b.key == "builder_load_shared" for b in at.button), "nothing to load before a push"

    room.push(quiet_room, model, train, "the room's model")
    at.run()
    assert any("**the room's model**" in box.value for box in at.info)
    _widget(at, "button", "builder_load_shared").click().run()
    assert not problems_on(at)
    assert at.selectbox(key="builder_start").value == "instructor"
    assert _widget(at, "number_input", "builder_epochs").value == 3
    assert _widget(at, "number_input", "builder_lr").value == pytest.approx(3e-3)
    stem_filters = [w for w in at.number_input if w.key.endswith("_stem_filters")]
    assert [w.value for w in stem_filters] == [24], "the spec editor shows the pushed spec"

    # Withdrawn while loaded: the page falls back to the default model, no error.
    room.withdraw(quiet_room)
    at.run()
    assert not problems_on(at)
    assert at.selectbox(key="builder_start").value == "default"
    assert not any(b.key == "builder_load_shared" for b in at.button)


@pytest.mark.parametrize("entry", [
    "not a dict",
    {"spec": {"stem": {"n_filters": -3}}, "train": {}, "title": "bad spec", "at": 1.0},
    {"spec": spec.default_spec().to_dict(), "train": {"epochs": 0}, "title": "bad epochs", "at": 1.0},
    {"spec": spec.default_spec().to_dict(), "train": {}, "title": "no time"},
])
def test_a_pushed_entry_the_builder_cannot_load_is_not_offered(quiet_room, entry):
    quiet_room.update_settings(pushed_model=entry)
    assert room.pushed(quiet_room.settings()) is None
    at = open_page(BUILDER, owner="attendee-two")
    assert not problems_on(at)
    assert not any(b.key == "builder_load_shared" for b in at.button)


# -- links: a setting in the URL ------------------------------------------------------------------


def _link_of(at):
    code = next(c.value for c in at.code if "?model=" in c.value)
    return code.split("?model=", 1)[1]


def test_a_link_opens_the_same_model_and_settings_in_another_session(quiet_room):
    at = open_page(BUILDER, owner="attendee-one")
    _widget(at, "number_input", "builder_epochs").set_value(4).run()
    next(w for w in at.number_input if w.key.endswith("_stem_filters")).set_value(20).run()
    link = _link_of(at)
    assert "owner" not in link and len(link) < 2000

    other = open_page(owner="attendee-two")
    other.query_params["model"] = link
    other.switch_page(BUILDER).run()
    assert not problems_on(other)
    assert other.selectbox(key="builder_start").value == "link"
    assert _widget(other, "number_input", "builder_epochs").value == 4
    assert [w.value for w in other.number_input if w.key.endswith("_stem_filters")] == [20]
    assert _link_of(other) == link, "the same model and settings give the same link"


@pytest.mark.parametrize("link, message", [
    ("v9.abc", "The link's model is of version 'v9'; this app reads 'v1' links."),
    ("v1.eNqrVkrOz", "The link's model is cut or altered: copy the whole link again."),
    ("v1." + "A" * 7000, "The link's model is longer than 6,000 characters: it was not made by this app."),
])
def test_a_bad_link_says_why_and_the_page_keeps_its_defaults(quiet_room, link, message):
    at = open_page(owner="attendee-three")
    at.query_params["model"] = link
    at.switch_page(BUILDER).run()
    assert [e.value for e in at.exception] == []
    assert f"{message} The page shows its defaults instead." in [e.value for e in at.error]
    assert at.selectbox(key="builder_start").value == "default"
