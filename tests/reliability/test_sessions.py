"""Sessions kept apart: everyone sees the shared queue, only owners and instructors change runs.

Through the library (`Store`, `jobs.cancel`: PermissionDenied) and through
the Runs page, with one AppTest per browser session, each with its own
`?owner=` token. Instructor mode is switched on by the environment, as a
server start would, and entered through the sidebar.
"""

import os

import pytest
from streamlit.testing.v1 import AppTest

from labcore import jobs
from labcore.errors import PermissionDenied
from labcore.store import Store
from reliability_support import APP, APPTEST_TIMEOUT_S, finished_run, page, snapshot
from tests.support import signed

pytestmark = pytest.mark.tally("isolation")

ALICE, BOB = "alice-session", "bob-session"
TOKEN = "correct-horse-battery-staple"


# -- the library -----------------------------------------------------------------------


@pytest.fixture
def store(tmp_path):
    return Store(tmp_path / "labcore.db")


def _run_in(store, status):
    run_id = finished_run(store, owner=ALICE) if status == "done" else store.create_run("sleep", {}, owner=ALICE)
    if status == "running":
        store.claim_run(run_id, "cpu")
    return run_id


@pytest.mark.parametrize("status", ["queued", "running", "done"])
def test_another_session_cannot_cancel_or_delete_a_run_through_the_library(store, status):
    run_id = _run_in(store, status)
    before = snapshot(store)
    with pytest.raises(PermissionDenied, match=rf"^Run {run_id} belongs to another session; only its owner can cancel it\.$"):
        jobs.cancel(store, run_id, BOB)
    with pytest.raises(PermissionDenied, match=rf"^Run {run_id} belongs to another session; only its owner can delete it\.$"):
        store.delete_run(run_id, owner=BOB)
    with pytest.raises(PermissionDenied, match=r"pass the owner who submitted it, or admin=True"):
        store.request_cancel(run_id)
    assert snapshot(store) == before
    assert store.get_run(run_id).cancel_requested is False


@pytest.mark.parametrize("status", ["queued", "running", "done"])
def test_the_owner_and_an_admin_can_cancel_and_delete(store, status):
    mine, theirs = _run_in(store, status), _run_in(store, status)
    expected = {"queued": "cancelled", "running": "running", "done": "done"}[status]
    assert jobs.cancel(store, mine, ALICE) == expected
    assert jobs.cancel(store, theirs, None, admin=True) == expected
    if status == "running":
        assert store.get_run(mine).cancel_requested and store.get_run(theirs).cancel_requested
        return
    store.delete_run(mine, owner=ALICE)
    store.delete_run(theirs, admin=True)
    assert store.get_run(mine) is None and store.get_run(theirs) is None


def test_a_token_that_only_looks_like_the_owner_is_another_session(store):
    run_id = _run_in(store, "queued")
    for lookalike in (ALICE.upper(), ALICE + " ", "\u0430lice-session", ALICE[:-1]):
        with pytest.raises(PermissionDenied):
            jobs.cancel(store, run_id, lookalike)
    assert store.get_run(run_id).status == "queued"


# -- the Runs page, one AppTest per browser ------------------------------------------------


@pytest.fixture
def shared(monkeypatch):
    """The pages' store with Alice's runs: one finished (with metrics), one held running.

    The running one is claimed on a device no supervisor serves and given
    this test process's pid, so it stays running, untouched, until the end.
    """
    from ui import state

    monkeypatch.setenv("LABCORE_PREWARM", "0")  # no spare worker if these pages start the supervisor

    store = state.get_store()
    done = finished_run(store, owner=ALICE)
    running = store.create_run("sleep", {}, owner=ALICE, title="Alice's long run")
    store.claim_run(running, "held-by-test")
    store.set_pid(running, os.getpid())
    yield store, done, running
    store.set_status(running, "interrupted")
    for run_id in (done, running):
        if store.get_run(run_id) is not None:
            store.delete_run(run_id, admin=True)


@pytest.fixture
def no_instructor(monkeypatch):
    monkeypatch.delenv("LABCORE_INSTRUCTOR_TOKEN", raising=False)
    monkeypatch.delenv("LABCORE_INSTRUCTOR_TOKEN_FILE", raising=False)


def open_runs(owner):
    at = AppTest.from_file(APP, default_timeout=APPTEST_TIMEOUT_S)
    at.query_params["owner"] = signed(owner)
    at.switch_page(page("runs")).run()
    assert not at.exception
    return at


def select(at, store, *run_ids):
    """Tick the rows of these runs in the Runs table, as a click on their boxes does."""
    order = [run.id for run in store.list_runs(limit=500)]
    at.session_state["runs_table"] = {"selection": {"rows": [order.index(i) for i in run_ids], "columns": []}}
    at.run()
    assert not at.exception
    return at


def button(at, key):
    return next(b for b in at.button if b.key == key)


def captions(at):
    return " ".join(c.value for c in at.caption)


def test_an_attendee_sees_the_shared_queue_but_cannot_cancel_or_delete_anothers_runs(shared, no_instructor):
    store, done, running = shared
    before = snapshot(store, [done, running])
    at = open_runs(BOB)
    table = at.dataframe[0].value
    assert set(table.loc[table["id"].isin([done, running]), "owner"]) == {"someone else"}
    assert ALICE not in table["owner"].to_list(), "attendees never see another session's token"

    select(at, store, running, done)
    assert button(at, "runs_cancel").disabled and button(at, "runs_cancel").label == "Cancel (0)"
    assert button(at, "runs_delete").disabled and button(at, "runs_delete").label == "Delete (0)"
    assert f"#{running}, #{done}: another session's runs, shown to everyone but only its owner or an instructor" in captions(at)
    assert snapshot(store, [done, running]) == before
    assert store.get_run(running).cancel_requested is False


def test_the_owner_cancels_and_deletes_their_own_runs_on_the_page(shared, no_instructor):
    store, done, running = shared
    at = select(open_runs(ALICE), store, running)
    button(at, "runs_cancel").click().run()
    assert not at.exception and not at.error
    assert store.get_run(running).cancel_requested is True

    at = select(open_runs(ALICE), store, done)
    button(at, "runs_delete").click().run()
    assert not at.exception and not at.error
    assert store.get_run(done) is None and store.metrics(done) == []


def test_a_mixed_selection_changes_only_the_sessions_own_runs(shared, no_instructor):
    store, done, running = shared
    bobs = finished_run(store, owner=BOB)
    at = select(open_runs(BOB), store, bobs, done)
    assert button(at, "runs_delete").label == "Delete (1)"
    button(at, "runs_delete").click().run()
    assert not at.exception
    assert store.get_run(bobs) is None
    assert len(store.metrics(done)) == 3, "Alice's run and its metrics are untouched"


def test_a_run_deleted_by_another_session_leaves_no_traceback_on_a_page_that_selected_it(shared, no_instructor):
    store, done, running = shared
    bobs = finished_run(store, owner=BOB)
    oldest = store.list_runs(limit=500)[-1].id
    # The last row is selected: once a run is deleted, that position is past the end.
    at = select(open_runs(BOB), store, bobs, oldest)
    store.delete_run(bobs, owner=BOB)  # from Bob's other tab, say
    at.run()
    assert not at.exception


def test_runs_added_and_deleted_by_others_leave_the_ticks_on_the_same_runs(shared, no_instructor):
    """Rows are positions: another session's new run shifts them, and Delete must still delete the ticked run."""
    store, done, running = shared
    bobs, gone = finished_run(store, owner=BOB), finished_run(store, owner=ALICE)
    at = select(open_runs(BOB), store, bobs)
    assert button(at, "runs_delete").label == "Delete (1)"

    def ticked():
        return [at.dataframe[0].value["id"].iloc[row] for row in at.session_state["runs_table"]["selection"]["rows"]]

    newer = finished_run(store, owner=ALICE)  # on top: Bob's run moves a row down
    at.run()
    assert ticked() == [bobs]
    store.delete_run(gone, owner=ALICE)  # above Bob's: it moves a row up
    at.run()
    assert ticked() == [bobs]
    button(at, "runs_delete").click().run()
    assert store.get_run(bobs) is None and store.get_run(newer) is not None


def open_home(owner):
    """The app on its default page, sidebar drawn by the entry point.

    The sidebar is checked on this first run, and its own behaviour with
    `open_sidebar`.
    """
    at = AppTest.from_file(APP, default_timeout=APPTEST_TIMEOUT_S)
    at.query_params["owner"] = signed(owner)
    at.run()
    assert not at.exception
    return at


def _sidebar_script():
    from ui import sidebar

    sidebar.render()


def open_sidebar():
    """The real sidebar alone, where AppTest keeps it across reruns."""
    at = AppTest.from_function(_sidebar_script, default_timeout=APPTEST_TIMEOUT_S).run()
    assert not at.exception
    return at


def _enter_token(at, token):
    at.sidebar.text_input(key="instructor_token_input").input(token).run()
    assert not at.exception
    return at


def _to_runs(at):
    at.switch_page(page("runs")).run()
    assert not at.exception
    return at


def test_without_a_configured_token_there_is_no_instructor_mode(shared, no_instructor):
    store, done, running = shared
    at = open_home(BOB)
    assert "**Training queue**" in [m.value for m in at.sidebar.markdown], "the sidebar was drawn"
    assert "Instructor" not in [e.label for e in at.sidebar.expander]
    assert not open_sidebar().sidebar.text_input
    at.session_state["instructor"] = True  # a forged session flag is not enough
    select(_to_runs(at), store, running)
    assert button(at, "runs_cancel").disabled
    assert "Instructor mode" not in captions(at)


def test_a_wrong_instructor_token_does_not_unlock(shared, monkeypatch):
    store, done, running = shared
    monkeypatch.setenv("LABCORE_INSTRUCTOR_TOKEN", TOKEN)
    # Near misses, on the sidebar alone (a whole app per guess cost seconds each); one wrong guess then on the
    # whole app, where the Runs page must keep another's run out of reach.
    sidebar = open_sidebar()
    for guess in ("correct-horse", TOKEN.upper(), TOKEN + "x", TOKEN[:-1] + " "):
        _enter_token(sidebar, guess)
        assert sidebar.session_state["instructor"] is False, guess
        assert [e.value for e in sidebar.sidebar.error] == [
            "That is not the instructor token; instructor mode stays off."], guess
        assert sidebar.sidebar.text_input(key="instructor_token_input").value == "", "the guess is not kept"
    at = open_home(BOB)
    assert "Instructor" in [e.label for e in at.sidebar.expander]
    _enter_token(at, "correct-horse")
    assert at.session_state["instructor"] is False
    select(_to_runs(at), store, running)
    assert button(at, "runs_cancel").disabled
    assert store.get_run(running).cancel_requested is False


@pytest.mark.parametrize("source", ["environment", "file"])
def test_the_instructor_manages_every_run(shared, monkeypatch, tmp_path, source):
    store, done, running = shared
    if source == "environment":
        monkeypatch.setenv("LABCORE_INSTRUCTOR_TOKEN", TOKEN)
    else:
        monkeypatch.delenv("LABCORE_INSTRUCTOR_TOKEN", raising=False)
        (tmp_path / "token").write_text(TOKEN + "\n")
        monkeypatch.setenv("LABCORE_INSTRUCTOR_TOKEN_FILE", str(tmp_path / "token"))
    at = _enter_token(open_home("instructor-laptop"), TOKEN)
    assert at.session_state["instructor"] is True
    _to_runs(at)
    assert "Instructor mode: you can cancel and delete every run, and move a queued run to the front." in captions(at)
    table = at.dataframe[0].value
    assert ALICE in table["owner"].to_list(), "instructors see whose run it is"

    select(at, store, running, done)
    assert button(at, "runs_cancel").label == "Cancel (1)" and button(at, "runs_delete").label == "Delete (1)"
    button(at, "runs_cancel").click().run()
    assert store.get_run(running).cancel_requested is True
    select(at, store, done)
    button(at, "runs_delete").click().run()
    assert not at.exception and not at.error
    assert store.get_run(done) is None


def test_the_instructor_moves_an_attendees_queued_run_to_the_front_and_no_one_else_can(shared, monkeypatch):
    store, done, running = shared
    # Hold the app's queue so nothing starts while the page is read.
    held = store.create_run("sleep", {}, owner=ALICE, title="holds the cpu queue")
    store.claim_run(held, "cpu")
    store.set_pid(held, os.getpid())
    first, late = (store.create_run("sleep", {}, owner=owner) for owner in (ALICE, BOB))
    try:
        attendee = select(open_runs(BOB), store, late)
        assert not any(b.key == "runs_front" for b in attendee.button), "attendees cannot reorder the queue"
        monkeypatch.setenv("LABCORE_INSTRUCTOR_TOKEN", TOKEN)
        at = select(_to_runs(_enter_token(open_home("instructor-laptop"), TOKEN)), store, late, done)
        assert button(at, "runs_front").label == "Move to front (1)"
        button(at, "runs_front").click().run()
        assert not at.exception and not at.error
        assert store.get_run(late).urgent and not store.get_run(first).urgent
        table = at.dataframe[0].value
        assert table.loc[table["id"] == late, "in line"].item().startswith("next in line")
        assert table.loc[table["id"] == first, "in line"].item().startswith("1 run before it")
    finally:
        for run_id in (first, late):
            store.request_cancel(run_id, admin=True)
        store.set_status(held, "interrupted")
        for run_id in (held, first, late):
            store.delete_run(run_id, admin=True)


def test_the_instructor_pauses_and_resumes_the_queue_and_every_attendee_sees_it(shared, monkeypatch):
    store, done, running = shared
    attendee = open_runs(BOB)
    assert not any(b.key == "runs_pause" for b in attendee.button), "attendees cannot pause the queue"
    monkeypatch.setenv("LABCORE_INSTRUCTOR_TOKEN", TOKEN)
    at = _to_runs(_enter_token(open_home("instructor-laptop"), TOKEN))
    try:
        button(at, "runs_pause").click().run()
        assert store.paused() and button(at, "runs_pause").label == "Resume the queue"
        attendee.run()
        assert [w.value for w in attendee.sidebar.warning] == [
            "The instructor paused the queue: queued runs start when it resumes."]
        button(at, "runs_pause").click().run()
        assert not store.paused() and button(at, "runs_pause").label == "Pause the queue"
    finally:
        store.set_paused(False)


def _builder_run(store, owner, accuracy, params):
    run_id = store.create_run("train", {"train": {"dataset": "fashion_mnist_small"}}, owner=owner, title="challenger")
    store.claim_run(run_id, "elsewhere")
    store.merge_result(run_id, {"best_val_accuracy": accuracy, "params": params})
    store.set_status(run_id, "done")
    return run_id


def test_the_instructor_sets_a_builder_challenge_and_each_attendee_sees_the_ranking(shared, monkeypatch):
    store, done, running = shared
    mine, theirs, too_big = (_builder_run(store, BOB, 0.81, 20_000), _builder_run(store, ALICE, 0.88, 25_000),
                             _builder_run(store, ALICE, 0.99, 90_000))
    try:
        monkeypatch.setenv("LABCORE_INSTRUCTOR_TOKEN", TOKEN)
        at = _enter_token(open_home("instructor-laptop"), TOKEN)
        at.switch_page(page("builder")).run()
        at.number_input(key="builder_challenge_budget").set_value(30_000).run()
        button(at, "builder_challenge_set").click().run()
        assert store.settings()["challenge_params"] == 30_000
        table = at.dataframe[-1].value
        assert ALICE in table["who"].to_list(), "the instructor sees who is who"

        bob = AppTest.from_file(APP, default_timeout=APPTEST_TIMEOUT_S)
        bob.query_params["owner"] = signed(BOB)
        bob.switch_page(page("builder")).run()
        assert not bob.exception and not any(b.key == "builder_challenge_set" for b in bob.button)
        table = bob.dataframe[-1].value
        # Other tests' Builder runs may compete too: read the rows of these three.
        ours = table[table["run"].isin([f"#{theirs}", f"#{mine}", f"#{too_big}"])]
        assert ours["run"].to_list() == [f"#{theirs}", f"#{mine}"], "the 90,000-parameter model is over the budget"
        assert ours["who"].to_list() == ["another attendee", "you"]
        button(at, "builder_challenge_end").click().run()
        assert "challenge_params" not in store.settings()
    finally:
        store.update_settings(challenge_params=None, challenge_dataset=None)
        for run_id in (mine, theirs, too_big):
            store.delete_run(run_id, admin=True)


def test_the_instructor_sidebar_confirms_the_mode_and_leaves_it(monkeypatch):
    monkeypatch.setenv("LABCORE_INSTRUCTOR_TOKEN", TOKEN)
    at = _enter_token(open_sidebar(), TOKEN)
    assert at.session_state["instructor"] is True and not at.sidebar.error
    assert "Instructor mode: you can cancel and delete every run on the Runs page." in [c.value for c in at.sidebar.caption]
    at.sidebar.button(key="instructor_leave").click().run()
    assert at.session_state["instructor"] is False
    assert at.sidebar.text_input(key="instructor_token_input")


def test_a_removed_token_ends_instructor_mode_at_once(shared, monkeypatch):
    store, done, running = shared
    monkeypatch.setenv("LABCORE_INSTRUCTOR_TOKEN", TOKEN)
    at = _enter_token(open_home("instructor-laptop"), TOKEN)
    monkeypatch.delenv("LABCORE_INSTRUCTOR_TOKEN")
    select(_to_runs(at), store, running)
    assert button(at, "runs_cancel").disabled


def test_each_session_sees_only_its_own_latest_builder_run(shared, no_instructor):
    store, done, running = shared
    alices = store.create_run("train", {}, owner=ALICE, title="alice's model")
    store.request_cancel(alices, admin=True)  # finished at once: no worker starts
    try:
        alice = AppTest.from_file(APP, default_timeout=APPTEST_TIMEOUT_S)
        alice.query_params["owner"] = signed(ALICE)
        alice.switch_page(page("builder")).run()
        bob = AppTest.from_file(APP, default_timeout=APPTEST_TIMEOUT_S)
        bob.query_params["owner"] = signed(BOB)
        bob.switch_page(page("builder")).run()
        assert not alice.exception and not bob.exception
        assert any(f"#{alices} alice's model" in m.value for m in alice.markdown)
        assert not any("alice's model" in m.value for m in bob.markdown)
    finally:
        store.delete_run(alices, admin=True)
