"""The Runs page offers a finished Model Builder run's exports: the model, its spec and a Keras-only script."""

from apptest import open_page, problems_on
from labcore import spec
from tests.support import finish_run, tiny_cli_run
from tests.unit.test_export import TINY_TRAIN


def _runs_page_with(store, run_id):
    at = open_page("app_pages/runs.py", owner="attendee-one")
    order = [r.id for r in store.list_runs(limit=500)]
    at.session_state["runs_table"] = {"selection": {"rows": [order.index(run_id)], "columns": []}}
    at.run()
    assert not problems_on(at)
    return at, [b.proto.label for b in at.get("download_button")]


def test_a_finished_builder_run_offers_its_three_exports(store):
    at, labels = _runs_page_with(store, tiny_cli_run(*TINY_TRAIN).id)
    assert labels == ["The trained model (.keras)", "Its spec (JSON)", "A script that trains it with Keras alone (.py)"]
    assert not any("Not stored for this run" in c.value for c in at.caption)


def test_a_run_that_stored_no_model_offers_its_spec_and_says_what_is_missing(store):
    run_id = store.create_run("train", {"spec": spec.default_spec().to_dict(), "train": {}}, owner="attendee-one")
    finish_run(store, run_id, {"test_accuracy": 0.5})
    try:
        at, labels = _runs_page_with(store, run_id)
        assert labels == ["Its spec (JSON)"]
        assert any(c.value.startswith("Not stored for this run: the trained model, a script that trains it with "
                                      "Keras alone") for c in at.caption)
    finally:
        store.delete_run(run_id, admin=True)
