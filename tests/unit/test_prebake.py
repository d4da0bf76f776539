"""`python -m labcore prebake`: an instructor trains a lab's default runs ahead, and the room's first clicks follow them.

Through the real CLI and worker processes, in a store of its own.
"""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from labcore import jobs, prebake
from labcore.store import Store

ROOT = Path(__file__).resolve().parents[2]


def _prebake(home, *args):
    return subprocess.run([sys.executable, "-m", "labcore", "prebake", *args], cwd=ROOT, capture_output=True,
                          text=True, env={**os.environ, "LABCORE_HOME": str(home)}, timeout=300)


def test_prebake_trains_once_a_second_prebake_and_an_attendees_click_follow_it(tmp_path):
    first = _prebake(tmp_path, "--lab", "autoencoder", "--preset", "tiny", "--seeds", "0")
    assert first.returncode == 0, first.stdout[-2000:] + first.stderr[-2000:]
    assert "run #1 done (trained): AutoEncoder for CNN · tiny · seed 0 (prebaked)" in first.stdout
    second = _prebake(tmp_path, "--lab", "autoencoder", "--preset", "tiny", "--seeds", "0")
    assert "run #2 done (follows #1): AutoEncoder for CNN · tiny · seed 0 (prebaked)" in second.stdout

    store = Store(tmp_path / "labcore.db")
    (config, _), = prebake.planned("autoencoder", "tiny", [0])
    click = store.get_run(jobs.submit(store, "autoencoder", config, "attendee", share=True))
    assert (click.follows, click.status) == (1, "done")
    assert click.result == store.get_run(1).result and click.result["reconstruction"]


@pytest.mark.parametrize("args, message", [
    ((), "error: --lab must be one of ['regularization', 'autoencoder', 'ensemble'], or pass --all."),
    (("--all", "--seeds", "0,one"), "error: --seeds must be integers separated by commas, e.g. 0,1,2; got '0,one'."),
    (("--lab", "ensemble", "--preset", "huge"), "error: --preset must be one of ['full', 'quick', 'tiny']; got 'huge'."),
])
def test_a_bad_prebake_request_is_named_and_nothing_is_queued(tmp_path, args, message):
    finished = _prebake(tmp_path, *args)
    assert finished.returncode == 2 and finished.stderr.strip() == message
    assert Store(tmp_path / "labcore.db").list_runs() == []


def test_the_regularization_plan_runs_every_step_seed_by_seed_so_the_lower_rate_finds_its_l2_run():
    plan = prebake.planned("regularization", "quick", [0, 1])
    steps = [config["step"] for config, _ in plan]
    assert steps.index("l2_small") < steps.index("lower_lr") and [c["seed"] for c, _ in plan].count(1) == len(plan) / 2
