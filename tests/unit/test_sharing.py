"""Identical runs computed once: the key tells every field apart, and a follower shows its source's training.

On real SQLite files (`labcore.store`) and through `jobs.submit`, as the
pages call it.
"""

import dataclasses

import numpy as np
import pytest

from labcore import jobs, sharing
from labcore.labs import LABS
from labcore.store import Store
from labcore.trainconfig import TrainConfig


@pytest.fixture
def store(tmp_path):
    return Store(tmp_path / "labcore.db")


def _other(value):
    """A different value of the same JSON shape."""
    if isinstance(value, bool):
        return not value
    if isinstance(value, (int, float)):
        return value + 1
    if isinstance(value, str):
        return value + "x"
    if isinstance(value, list):
        return value + [value[0] if value else 1]
    if isinstance(value, dict):
        return {**value, "added": 1}
    return 1  # None


def _configs():
    yield "train", {"spec": {"name": "m"}, "train": TrainConfig().to_dict()}
    for kind, lab in LABS.items():
        yield kind, lab.part("config").Config().to_dict()


@pytest.mark.parametrize("kind, config", list(_configs()), ids=[kind for kind, _ in _configs()])
def test_the_key_changes_with_every_field_and_only_with_the_config(kind, config):
    key = sharing.run_key(kind, config)
    assert sharing.run_key(kind, dict(reversed(list(config.items())))) == key, "field order is not a difference"
    changed = [name for name in config if sharing.run_key(kind, {**config, name: _other(config[name])}) != key]
    assert changed == list(config), "two runs that differ in one field would share a result"
    if "train" in config:
        for name, value in config["train"].items():
            assert sharing.run_key(kind, {**config, "train": {**config["train"], name: _other(value)}}) != key, name
    assert sharing.run_key("sleep", config) != key, "another kind is another computation"


def _finished(store, owner, key, result):
    run_id = store.create_run("sleep", {"epochs": 2}, owner, run_key=key)
    store.claim_run(run_id, "cpu")
    store.add_metrics(run_id, "train", 1, {"loss": 0.5})
    store.add_artifact(run_id, "weights", np.arange(3))
    store.merge_result(run_id, result)
    store.set_status(run_id, "done")
    return run_id


def test_a_run_that_follows_a_done_one_is_done_at_once_with_its_result_metrics_and_artifacts(store):
    source = _finished(store, "ann", "k1", {"accuracy": 0.9})
    follower = store.create_run("sleep", {"epochs": 2}, "bob", title="bob's", run_key="k1", follow=True)
    run = store.get_run(follower)
    assert (run.owner, run.title, run.follows, run.status, run.result) == ("bob", "bob's", source, "done",
                                                                             {"accuracy": 0.9})
    assert run.started_at == store.get_run(source).started_at
    assert [(row.run_id, row.values) for row in store.metrics(follower)] == [(follower, {"loss": 0.5})]
    assert store.read_artifact(follower, "weights").tolist() == [0, 1, 2]
    assert [row["run_id"] for row in store.metrics_rows([source, follower])] == [source, follower]
    assert {r.id for r in store.list_runs(statuses=("done",), owner="bob")} == {follower}


def test_only_a_run_with_the_same_key_is_followed_and_a_failed_one_never(store):
    _finished(store, "ann", "k1", {})
    failed = store.create_run("sleep", {}, "ann", run_key="k2")
    store.set_status(failed, "failed", error="boom")
    assert store.get_run(store.create_run("sleep", {}, "bob", run_key="k2", follow=True)).follows is None
    assert store.get_run(store.create_run("sleep", {}, "bob", run_key="k3", follow=True)).follows is None


def test_a_follower_of_a_queued_run_is_never_trained_itself_and_ends_with_its_source(store):
    source = store.create_run("sleep", {}, "ann", run_key="k")
    follower = store.create_run("sleep", {}, "bob", run_key="k", follow=True)
    assert store.get_run(follower).status == "queued"
    assert store.claim_next("cpu", slots=2).id == source
    assert store.claim_next("cpu", slots=2) is None, "the follower is not a second computation"
    store.set_progress(source, 0.5, "half way")
    assert (store.get_run(follower).status, store.get_run(follower).progress) == ("running", 0.5)
    store.set_status(source, "done")
    assert store.get_run(follower).status == "done"


def test_own_copy_trains_again_and_later_requests_follow_the_newest_done(store):
    first = _finished(store, "ann", "k", {"accuracy": 0.8})
    copy = store.create_run("sleep", {}, "bob", run_key="k")
    assert store.get_run(copy).follows is None and store.claim_next("cpu").id == copy
    store.merge_result(copy, {"accuracy": 0.82})
    store.set_status(copy, "done")
    assert store.get_run(store.create_run("sleep", {}, "cat", run_key="k", follow=True)).follows == copy
    assert first < copy


def test_cancelling_a_follower_leaves_the_source_training(store):
    source = store.create_run("sleep", {}, "ann", run_key="k")
    follower = store.create_run("sleep", {}, "bob", run_key="k", follow=True)
    assert jobs.cancel(store, follower, "bob") == "cancelled"
    assert store.get_run(follower).status == "cancelled"
    assert store.get_run(source).status == "queued" and not store.get_run(source).cancel_requested


def test_the_source_owner_cancels_theirs_but_the_training_goes_on_until_no_one_follows(store):
    source = store.create_run("sleep", {}, "ann", run_key="k")
    follower = store.create_run("sleep", {}, "bob", run_key="k", follow=True)
    assert jobs.cancel(store, source, "ann") == "cancelled"
    assert store.get_run(source).status == "cancelled", "ann sees her run cancelled"
    assert store.claim_next("cpu").id == source, "bob still gets his result"
    assert store.get_run(follower).status == "running"
    jobs.cancel(store, follower, "bob")
    assert store.get_run(source).cancel_requested, "no one follows it any more: it stops"


def test_deleting_a_followed_run_keeps_its_result_for_the_followers(store):
    source = _finished(store, "ann", "k", {"accuracy": 0.9})
    follower = store.create_run("sleep", {}, "bob", run_key="k", follow=True)
    store.delete_run(source, owner="ann")
    assert source not in {run.id for run in store.list_runs()}
    assert store.get_run(follower).result == {"accuracy": 0.9}
    assert store.read_artifact(follower, "weights").tolist() == [0, 1, 2]
    store.delete_run(follower, owner="bob")
    assert store.get_run(follower) is None
    assert store.get_run(source) is None, "no one follows the deleted run any more: it goes too"
    assert not (store.artifact_root / str(source)).exists()


def test_submit_shares_only_when_asked_and_always_records_the_key(store):
    config = {"epochs": 1, "seconds_per_epoch": 0.01}
    first = jobs.submit(store, "sleep", config, "ann")
    assert store.get_run(jobs.submit(store, "sleep", config, "bob", share=True)).follows == first
    assert store.get_run(jobs.submit(store, "sleep", config, "cat")).follows is None
    assert store.get_run(jobs.submit(store, "sleep", {**config, "epochs": 2}, "dan", share=True)).follows is None
