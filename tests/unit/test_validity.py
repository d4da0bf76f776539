"""bench.validity's verdicts: a claim holds only in its direction and beyond the seed noise."""

import pytest

from bench import validity


def reg_result(train, val):
    return {"train_accuracy": train, "val_accuracy": val, "gap": train - val}


def by_seed(*results):
    return dict(enumerate(results))


def rows_by_claim(lab, results):
    return {row[0]: row for row in validity.rows_for(lab, results)}


def test_a_ladder_claim_is_shown_only_beyond_noise_and_in_its_direction():
    results = {
        "baseline": by_seed(reg_result(0.98, 0.78), reg_result(0.99, 0.77), reg_result(0.97, 0.79)),
        "noise": by_seed(reg_result(0.90, 0.84), reg_result(0.91, 0.83), reg_result(0.89, 0.85)),
        "dropout": by_seed(reg_result(0.99, 0.76), reg_result(0.99, 0.78), reg_result(0.98, 0.77)),
    }
    rows = rows_by_claim("regularization", results)
    assert rows["Noise narrows the gap"][4:] == ["yes", "yes", "yes"]
    assert rows["Noise narrows the gap"][1] == "6.0 ± 2.0 points"
    assert rows["Noise raises validation accuracy"][1] == "84.0 ± 1.0%"
    assert rows["The baseline overfits: train accuracy ends above validation"][-1] == "yes"
    # Dropout's gap (21.7) is wider than the baseline's (20.0): the claim's direction fails.
    assert rows["Dropout narrows the gap"][4] == "NO" and rows["Dropout narrows the gap"][-1] == "no"
    assert rows["Early stopping narrows the gap against the same run trained on"][1:] == ["no finished runs", "", "", "", "", "no"]


def test_one_seed_cannot_show_a_claim_and_a_claim_of_no_difference_holds_within_noise():
    one = {"baseline": by_seed(reg_result(0.98, 0.78)), "noise": by_seed(reg_result(0.90, 0.84))}
    assert rows_by_claim("regularization", one)["Noise narrows the gap"][5:] == ["one seed: cannot tell", "no"]
    runs = [{"votes": {"rules": {"soft": {"accuracy": a, "gain_over_mean": g, "gain_over_best": b}}},
             "heads": {"votes": {"rules": {"soft": {"accuracy": h}}}}}
            for a, g, b, h in ((0.88, 0.012, 0.006, 0.879), (0.87, 0.010, 0.004, 0.874), (0.89, 0.013, 0.002, 0.882))]
    rows = rows_by_claim("ensemble", {"run": by_seed(*runs)})
    assert rows["The vote beats the mean member"][-1] == "yes"
    assert rows["K heads on one trunk, averaged, match the members' vote"][4:] == ["yes", "no", "yes"]


def test_thresholds_read_in_their_own_units():
    runs = [{"reconstruction": {"psnr_db_mean": value}, "speed_up": 3.0 + value / 100,
             "encoded": {"test_accuracy": 0.81}, "raw": {"test_accuracy": 0.84}} for value in (23.8, 24.0, 24.2)]
    rows = rows_by_claim("autoencoder", {"run": by_seed(*runs)})
    psnr = rows["Reconstructions are recognisable: PSNR at least 22 dB"]
    assert psnr[1:4] == ["24.0 ± 0.2 dB", "22 dB", "+2.0 ± 0.1 dB: beyond noise"] and psnr[-1] == "yes"
    assert rows["The classifier trains faster per epoch on codes than on pixels"][1].endswith("x")


def test_a_step_is_compared_with_its_control_seed_by_seed():
    # Seeds 0-2 differ by 4 points from each other; on each, dropout narrows the gap by ~1 point.
    baseline = by_seed(reg_result(0.98, 0.74), reg_result(0.98, 0.78), reg_result(0.98, 0.82))
    dropout = {2: reg_result(0.97, 0.821), 0: reg_result(0.97, 0.742), 1: reg_result(0.97, 0.780)}
    row = rows_by_claim("regularization", {"baseline": baseline, "dropout": dropout})["Dropout narrows the gap"]
    assert row[3].startswith("-1.1 ± 0.1 points") and row[4:] == ["yes", "yes", "yes"]
    # A seed missing on one side is left out of the comparison, not misaligned;
    # two pairs leave one degree of freedom (t = 12.7), too few to call it.
    del dropout[2]
    row = rows_by_claim("regularization", {"baseline": baseline, "dropout": dropout})["Dropout narrows the gap"]
    assert row[3] == "-1.1 ± 0.1 points: within noise" and row[4:] == ["yes", "no", "no"]


def test_a_claim_whose_control_was_not_run_is_left_out_not_judged():
    only_noise = {"noise": by_seed(reg_result(0.90, 0.84), reg_result(0.91, 0.83))}
    row = rows_by_claim("regularization", only_noise)["Noise narrows the gap"]
    assert row[1:] == ["no finished runs", "", "", "", "", "no"]


def test_an_earlier_measurements_store_is_judged_again_without_running(tmp_path):
    from labcore.store import Store
    from tests.support import finish_run

    store = Store(tmp_path / "labcore.db")
    for step, gaps in (("baseline", (0.20, 0.18, 0.22)), ("dropout", (0.15, 0.14, 0.18))):
        for seed, gap in enumerate(gaps):
            run_id = store.create_run("regularization", {"step": step, "seed": seed}, owner="validity")
            finish_run(store, run_id, reg_result(0.98, 0.98 - gap))
    results, seconds, left_out = validity.stored("regularization", [tmp_path / "labcore.db"])
    assert sorted(results) == ["baseline", "dropout"] and sorted(results["dropout"]) == [0, 1, 2]
    assert len(seconds) == 6 and left_out == 0
    assert rows_by_claim("regularization", results)["Dropout narrows the gap"][3].startswith("-4.3 ± 0.3 points")


def test_stores_add_seeds_and_runs_of_another_setting_are_left_out(tmp_path):
    from labcore.labs.regularization.config import PRESETS
    from labcore.store import Store
    from tests.support import finish_run

    def record(path, step, seed, gap, **changes):
        store = Store(path)
        config = {**PRESETS["quick"].to_dict(), "step": step, "seed": seed, **changes}
        finish_run(store, store.create_run("regularization", config, owner="validity"), reg_result(0.98, 0.98 - gap))

    first, second = tmp_path / "a" / "labcore.db", tmp_path / "b" / "labcore.db"
    for seed in (0, 1):
        record(first, "baseline", seed, 0.20)
        record(first, "dropout", seed, 0.15)
    # The dropout rate changed after seed 0 ran: that run is of another setting.
    record(first, "dropout", 2, 0.10, dropout=0.2)
    for seed in (2, 3):
        record(second, "baseline", seed, 0.21)
        record(second, "dropout", seed, 0.17)
    results, _, left_out = validity.stored("regularization", [first, second], preset="quick")
    assert left_out == 1
    assert sorted(results["dropout"]) == [0, 1, 2, 3] and results["dropout"][2]["gap"] == 0.98 - (0.98 - 0.17)


def test_a_speed_up_is_judged_as_a_factor_on_a_log_scale():
    # 2.3x, 3.8x and 4.1x: far apart as numbers, closer as factors.
    runs = [{"speed_up": value, "reconstruction": {"psnr_db_mean": 20.0},
             "encoded": {"test_accuracy": 0.8}, "raw": {"test_accuracy": 0.8}} for value in (2.3, 3.8, 4.1)]
    row = rows_by_claim("autoencoder", {"run": by_seed(*runs)})["The classifier trains faster per epoch on codes than on pixels"]
    assert row[3] == "×3.30 ×/÷ 1.20: beyond noise" and row[-1] == "yes"
    slower = [{**run, "speed_up": value} for run, value in zip(runs, (0.5, 2.0, 1.1))]
    row = rows_by_claim("autoencoder", {"run": by_seed(*slower)})["The classifier trains faster per epoch on codes than on pixels"]
    assert row[3].endswith("within noise") and row[-1] == "no"


def test_promotion_is_read_against_the_trials_promoted_from_scratch():
    def row(trial, inherit, cheap, predicted, promoted, seconds):
        return {"trial": trial, "inherit": inherit, "cheap": cheap, "predicted": predicted, "promoted": promoted,
                "promoted_seconds": seconds}

    rows = [row(0, False, 0.60, 0.70, 0.72, 30.0), row(0, True, 0.60, 0.70, 0.71, 20.0),
            row(1, False, 0.70, 0.78, 0.80, 30.0), row(1, True, 0.70, 0.78, 0.79, 20.0),
            row(2, False, 0.65, None, 0.75, 30.0), row(2, True, 0.65, None, 0.75, 20.0),
            row(3, False, 0.50, 0.55, None, None)]  # not finished: left out
    readings = validity.promotion_readings(rows)
    assert readings["rho_cheap"] == 1.0  # 0.60 < 0.65 < 0.70 and 0.72 < 0.75 < 0.80
    # Trial 2 has no extrapolation (a one-epoch curve): both errors skip it.
    assert readings["extrapolation_error"] == pytest.approx(0.02)
    assert readings["cheap_error"] == pytest.approx((0.12 + 0.10) / 2)
    assert readings["inheritance_speed_up"] == pytest.approx(1.5)
    assert readings["inherited_accuracy"] == pytest.approx(0.75) and readings["fresh_accuracy"] == pytest.approx((0.72 + 0.80 + 0.75) / 3)


def test_the_distillation_measurements_carry_the_cell_and_teach_with_the_seeds_ensemble():
    carried = validity.variants("distillation_transfer", "quick", carry=(8.0, 0.9))
    assert list(carried) == ["teacher", "student", "distil"]
    assert {(c.dataset, c.subset, c.test_subset) for c in carried.values()} == {("mnist", 6000, 1000)}
    assert (carried["distil"].temperature, carried["distil"].alpha) == (8.0, 0.9)
    taught = validity.variants("distillation_ensemble", "quick")
    assert list(taught) == ["ensemble", "student", "distil"]
    assert (taught["ensemble"].n_heads, taught["distil"].teacher) == (0, "ensemble")
    # The ensemble's claims read the distil run's teacher, the student run's student.
    reading = {"test_accuracy": 0.8, "inference_ms_per_image": 0.1}
    distil = {"teacher": {**reading, "test_accuracy": 0.86, "inference_ms_per_image": 0.3}, "distilled": reading}
    rows = validity.rows_for("distillation_ensemble", {
        "distil": {seed: distil for seed in range(3)},
        "student": {seed: {"student": {**reading, "test_accuracy": 0.8 + seed / 100}} for seed in range(3)}})
    assert [row[0] for row in rows if row[-1] == "yes"] == [
        "The ensemble is more accurate than the student from scratch",
        "The distilled student takes less time per test image than the ensemble"]
