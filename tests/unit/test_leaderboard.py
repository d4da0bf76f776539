"""labcore.leaderboard: each attendee's best run under the budget, on the challenge's dataset, best first."""

from types import SimpleNamespace

from labcore.leaderboard import Standing, standings


def run(run_id, owner, accuracy, params, dataset="fashion_mnist_small", kind="train", status="done"):
    return SimpleNamespace(id=run_id, owner=owner, kind=kind, status=status, config={"train": {"dataset": dataset}},
                           result={"best_val_accuracy": accuracy, "params": params})


def test_each_owner_is_ranked_by_their_best_run_within_the_budget():
    runs = [run(1, "ann", 0.80, 20_000), run(2, "ann", 0.86, 29_000), run(3, "ann", 0.95, 31_000),
            run(4, "bob", 0.84, 10_000), run(5, "cat", 0.84, 9_000)]
    assert standings(runs, 30_000, "fashion_mnist_small") == [
        Standing("ann", 0.86, 29_000, 2), Standing("cat", 0.84, 9_000, 5), Standing("bob", 0.84, 10_000, 4)]


def test_only_done_builder_runs_on_the_challenge_dataset_with_a_validation_reading_count():
    runs = [run(1, "ann", 0.99, 100, dataset="mnist"), run(2, "bob", 0.9, 100, kind="regularization"),
            run(3, "cat", 0.9, 100, status="failed"), run(4, "dan", None, 100)]
    assert standings(runs, 30_000, "fashion_mnist_small") == []
