"""The Guided search page: a space edited with widgets, a round queued as runs, results told to the study."""

import json

from apptest import open_page, problems_on, wait_for

from labcore import jobs
from labcore.labs.search import compare
from labcore.store import Store
from tests.support import finish_run

PAGE = "app_pages/lab_search.py"


def warnings_on(at):
    return [warning.value for warning in at.warning]


def test_the_default_space_shows_its_size_and_parameters_and_a_bad_value_is_named():
    at = open_page(PAGE, owner="search-space")
    assert not problems_on(at) and not warnings_on(at)
    metrics = {metric.label: metric.value for metric in at.metric}
    assert metrics["members in the space"] == "continuous"  # the learning rate is a float range
    at.selectbox(key="search_learning_rate_mode").set_value("fixed").run()
    at.text_input(key="search_learning_rate_values").set_value("0.001").run()
    metrics = {metric.label: metric.value for metric in at.metric}
    assert metrics["members in the space"] == "24" and " to " in metrics["parameters spanned"]
    at.text_input(key="search_n_filters_values").set_value("8, wide").run()
    assert warnings_on(at) == ["space.n_filters: '8, wide' must be ints separated by commas."]
    at.text_input(key="search_n_filters_values").set_value("8").run()
    at.selectbox(key="search_n_groups_mode").set_value("range").run()
    at.text_input(key="search_n_groups_values").set_value("3, 2").run()
    assert warnings_on(at)[0].startswith("space.n_groups.values must be a low bound no higher than the high one")
    assert at.button(key="search_round").disabled


def test_a_round_queues_one_run_per_trial_and_finished_runs_reach_the_study():
    owner = "search-round"
    at = open_page(PAGE, owner=owner)
    at.radio(key="search_preset").set_value("tiny").run()
    at.number_input(key="search_trials").set_value(3).run()
    at.button(key="search_round").click().run()
    store = Store()
    queued = sorted(store.list_runs(owner=owner, kind="search"), key=lambda run: run.id)
    assert [run.config["trial"] for run in queued] == [0, 1, 2]
    assert {run.config["study"] for run in queued} == {"my-search-tpe-tiny"}
    assert all(run.config["subset"] == 300 for run in queued)
    # The first trial finishes (as a worker would leave it); the others are cancelled.
    for run in queued[1:]:
        jobs.cancel(store, run.id, owner=owner)
    finish_run(store, queued[0].id, {"best_val_accuracy": 0.71, "params": 12_345})
    at.run()
    assert not problems_on(at)
    text = " ".join(markdown.value for markdown in at.markdown)
    assert "The best, trial 0, reached **71.0%** validation accuracy with 12,345 parameters" in text
    table = at.dataframe[0].value
    assert list(table["state"]) == ["complete", "fail", "fail"]


def test_guided_against_blind_queues_both_searches_over_seeds_and_reads_their_runs():
    owner, name = "search-vs", "my-search-vs-tpe-tiny"
    at = open_page(PAGE, owner=owner)
    at.radio(key="search_preset").set_value("tiny").run()
    at.number_input(key="search_vs_budget").set_value(2).run()
    at.number_input(key="search_vs_seeds").set_value(2).run()
    assert "Guided vs blind" not in " ".join(markdown.value for markdown in at.markdown)
    at.button(key="search_vs_run").click().run()
    store = Store()
    queued = sorted(store.list_runs(owner=owner, kind="search"), key=lambda run: run.id)
    assert len(queued) == 8
    assert {run.config["study"] for run in queued} == {
        f"{name}-{arm}-s{seed}" for arm in ("guided", "blind") for seed in (0, 1)}
    assert sorted((run.config["study"], run.config["trial"]) for run in queued)[:2] == [
        (f"{name}-blind-s0", 0), (f"{name}-blind-s0", 1)]
    # Each trial finishes as a worker would leave it (a worker may really train one first).
    for index, run in enumerate(queued):
        if store.get_run(run.id).status == "queued":
            guided = "guided" in run.config["study"]
            finish_run(store, run.id, {"best_val_accuracy": (0.80 if guided else 0.50) + index / 100,
                                       "params": 10_000})
    wait_for(at, lambda a: all(store.get_run(run.id).status not in ("queued", "running") for run in queued))
    at.run()
    assert not problems_on(at)
    done = [store.get_run(run.id) for run in queued]
    said = compare.verdict(compare.best_so_far(compare.trials_of(done), name))
    assert said.startswith("After 2 trials per arm, guided search found")
    texts = [markdown.value for markdown in at.markdown]
    assert said in texts and any(said in text for text in texts if text.startswith("**Your runs:**"))
    assert any("Guided against blind" in json.dumps(chart.proto.spec) for chart in at.get("vega_lite_chart"))


def test_the_best_trials_are_promoted_and_the_page_reads_what_promotion_showed():
    owner, name = "search-promote", "my-search-tpe-tiny"
    at = open_page(PAGE, owner=owner)
    at.radio(key="search_preset").set_value("tiny").run()
    at.number_input(key="search_trials").set_value(3).run()
    assert at.button(key="search_promote").disabled  # nothing finished yet
    at.button(key="search_round").click().run()
    store = Store()
    trials = sorted(store.list_runs(owner=owner, kind="search"), key=lambda run: run.id)
    for run, accuracy in zip(trials, (0.60, 0.75, 0.70)):
        if store.get_run(run.id).status == "queued":
            finish_run(store, run.id, {"best_val_accuracy": accuracy, "params": 10_000, "seconds": 4.0})
    wait_for(at, lambda a: all(store.get_run(run.id).status not in ("queued", "running") for run in trials))
    at.run()
    at.number_input(key="search_promote_k").set_value(2).run()
    at.toggle(key="search_inherit").set_value(False).run()
    at.button(key="search_promote").click().run()
    ended = {run.id: store.get_run(run.id) for run in trials}
    best = sorted(ended.values(), key=lambda run: -run.result["best_val_accuracy"])[:2]
    promoted = [run for run in store.list_runs(owner=owner, kind="search") if run.config["rung"] == 1]
    assert sorted(run.config["parent_run"] for run in promoted) == sorted(run.id for run in best)
    assert all(run.config["epochs"] == 3 and run.config["study"] == name and not run.config["inherit"]
               for run in promoted)
    for run, accuracy in zip(promoted, (0.80, 0.72)):
        if store.get_run(run.id).status == "queued":
            finish_run(store, run.id, {"best_val_accuracy": accuracy, "params": 10_000, "seconds": 9.0})
    wait_for(at, lambda a: all(store.get_run(run.id).status not in ("queued", "running") for run in promoted))
    at.run()
    assert not problems_on(at)
    texts = [markdown.value for markdown in at.markdown]
    assert any(text.startswith("2 promoted trial(s) finished. The best at low fidelity") for text in texts), texts

    # Mutate the best trial (the default choice), from scratch: one dimension moves, and the child
    # joins the study as its next round.
    assert at.multiselect(key="search_mutate_parents").value == [best[0].config["trial"]]
    at.toggle(key="search_mutate_inherit").set_value(False).run()
    at.button(key="search_mutate").click().run()
    child = next(run for run in store.list_runs(owner=owner, kind="search") if run.config["mutation"])
    moved = child.config["mutation"]
    assert (child.config["parent_run"], child.config["rung"], child.config["inherit"]) == (best[0].id, 0, False)
    assert [key for key, value in child.config["member"].items() if best[0].config["member"][key] != value] == [moved]
    if store.get_run(child.id).status == "queued":
        finish_run(store, child.id, {"best_val_accuracy": 0.81, "params": 10_000, "seconds": 4.0})
    wait_for(at, lambda a: store.get_run(child.id).status not in ("queued", "running"))
    at.run()
    assert not problems_on(at)
    texts = [markdown.value for markdown in at.markdown]
    assert any(text.startswith("Trained from scratch, ") and "mutated trial(s) beat their parent" in text
               for text in texts), texts
