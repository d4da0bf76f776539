"""The shared queue on the pages: owners take turns, and each attendee sees their place and when their run starts.

The device is held busy by a run claimed on the "cpu" queue with this test
process's pid, so the app's supervisor starts nothing while the pages are
read; a finished run of the same config, 3 min long, is what the
estimates go by.
"""

import os
import sqlite3
import time

import pytest

from apptest import open_page
from labcore import prebake, sharing

CONFIG = {"epochs": 7, "seconds_per_epoch": 0.05}


@pytest.fixture
def held_device(store):
    """Ann's run holds the device (one slot) half way through, so the app's supervisor starts nothing."""
    held = store.create_run("sleep", CONFIG, owner="ann", title="held sleep")
    store.claim_run(held, "cpu")
    store.set_pid(held, os.getpid())
    store.set_progress(held, 0.5)
    yield held
    store.set_status(held, "interrupted")
    store.delete_run(held, admin=True)


@pytest.fixture
def busy_queue(store, held_device):
    """Ann's run holds the device; Ann and Bob each have one run waiting."""
    held = held_device
    timed = store.create_run("sleep", CONFIG, owner="ann", title="timed sleep")
    store.claim_run(timed, "elsewhere")
    store.set_status(timed, "done")
    now = time.time()
    with sqlite3.connect(store.path) as connection:
        connection.execute("UPDATE runs SET started_at = ?, finished_at = ? WHERE id = ?", (now - 400, now - 220, timed))
        connection.execute("UPDATE runs SET started_at = ? WHERE id = ?", (now - 60, held))
    ann = store.create_run("sleep", CONFIG, owner="ann", title="ann's second")
    bob = store.create_run("sleep", CONFIG, owner="bob", title="bob's first")
    yield store, ann, bob
    for run_id in (ann, bob):
        store.request_cancel(run_id, admin=True)
    for run_id in (timed, ann, bob):
        store.delete_run(run_id, admin=True)


def test_the_sidebar_serves_owners_in_turn_and_says_when_each_run_starts(busy_queue):
    store, ann, bob = busy_queue
    at = open_page(owner="bob")
    captions = [c.value for c in at.sidebar.caption]
    # Ann's run is half way after a minute; runs like these took 3 min.
    waiting = ":material/hourglass_top:"
    assert f"{waiting} #{bob} bob's first (yours): next in line · starts in about 1 min, done in about 4 min" in captions
    assert f"{waiting} #{ann} ann's second: 1 run before it · starts in about 4 min, done in about 7 min" in captions


def test_a_run_button_says_where_a_new_run_would_stand(busy_queue):
    at = open_page("app_pages/builder.py", owner="cat")
    # Cat was never served: her run would go before Ann's second, after Bob's.
    assert any(c.value.startswith("1 run would wait before yours") for c in at.caption), [c.value for c in at.caption]


def test_a_run_that_follows_an_identical_one_says_whose_training_it_shows(store):
    source = store.create_run("sleep", CONFIG, owner="ann", title="ann's run", run_key="same")
    store.claim_run(source, "elsewhere")
    store.add_metrics(source, "train", 1, {"loss": 0.5, "accuracy": 0.5})
    store.set_status(source, "done")
    follower = store.create_run("sleep", CONFIG, owner="bob", title="bob's run", run_key="same", follow=True)
    try:
        at = open_page("app_pages/runs.py", owner="bob")
        table = at.dataframe[0].value
        assert table.loc[table["id"] == follower, "shares"].item() == f"#{source}"
        order = [run.id for run in store.list_runs(limit=500)]
        at.session_state["runs_table"] = {"selection": {"rows": [order.index(follower)], "columns": []}}
        at.run()
        (success,) = [s.value for s in at.success]
        assert success.startswith(f"Run #{follower} finished in ")
        assert f"A shared result: run #{source}, identical settings, trained at " in success
    finally:
        store.delete_run(follower, admin=True)
        store.delete_run(source, admin=True)


@pytest.mark.parametrize("kind, page, button", [
    ("regularization", "app_pages/lab_regularization.py", "reg_quick_baseline_run"),
    ("autoencoder", "app_pages/lab_autoencoder.py", "ae_run"),
    ("ensemble", "app_pages/lab_ensemble.py", "ensemble_run"),
])
def test_a_lab_page_at_its_defaults_submits_a_run_prebake_trains(store, held_device, kind, page, button):
    owner = f"first-click-{kind}"
    at = open_page(page, owner=owner)
    next(b for b in at.button if b.key == button).click().run()
    (run,) = store.list_runs(owner=owner)
    try:
        first_click = [config for config, _ in prebake.planned(kind, "quick", [0])
                       if config.get("step", "baseline") == "baseline"][0]
        assert sharing.run_key(kind, run.config) == sharing.run_key(kind, first_click), (
            "prebake would train something else than this button submits")
    finally:
        store.request_cancel(run.id, admin=True)
        store.delete_run(run.id, admin=True)


def test_the_sidebar_names_the_ray_cluster_runs_go_to(monkeypatch):
    from ui import state

    # What a RaySupervisor reports (tests/unit/test_ray_executor.py checks it on a real cluster).
    monkeypatch.setattr(state, "cluster", lambda: {"nodes": 3, "cpus": 8.0, "free_cpus": 5.0, "gpus": 2.0,
                                                   "free_gpus": 1.5})
    at = open_page()
    assert "Runs go to a Ray cluster: 3 nodes · 8 CPUs (5 free) · 2 GPUs (1.5 free)." in [
        caption.value for caption in at.sidebar.caption]
    monkeypatch.setattr(state, "cluster", lambda: None)
    assert not any("Ray" in caption.value for caption in open_page().sidebar.caption)
