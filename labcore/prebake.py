"""Pre-bake a workshop: train the labs' preset runs ahead, so every attendee's first click on them is instant.

A lab page at its defaults submits exactly the configs `planned` lists
(the preset, the sidebar's dataset, one run per step and seed), and the
app's runs follow identical runs (`labcore.sharing`). So an instructor who
runs

    python -m labcore prebake --lab regularization --preset quick --seeds 0,1,2
    python -m labcore prebake --all

before the room arrives leaves a done run behind every default Run button:
an attendee's click is answered from it at once ("shared result"), and the
queue stays free for what the room changes. Runs already done (with the
same code) are followed, not trained again, so a second prebake is quick.
The Guided search lab is left out: its trials depend on each study's rounds.

Keras-free: runs train in worker processes.
"""

import dataclasses

from labcore import executors, jobs
from labcore.labs import LABS

__all__ = ["LABS_PREBAKED", "OWNER", "planned", "prebake"]

OWNER = "prebake"
LABS_PREBAKED = ("regularization", "autoencoder", "ensemble")


def planned(kind, preset="quick", seeds=(0,), dataset=None):
    """The runs a lab page submits at its defaults, as (config dict, title) pairs, in queue order.

    Args:
        kind: str, one of `LABS_PREBAKED`.
        preset: str, a key of the lab's PRESETS.
        seeds: iterable of int.
        dataset: str or None, the sidebar's dataset (None: the preset's).

    Returns:
        list of (dict, str). For the Regularization lab: every step, seed
        by seed, so each seed's lower-rate step finds its L2-small run done.
    """
    lab = LABS[kind]
    config = lab.part("config").PRESETS[preset]
    if dataset is not None:
        config = dataclasses.replace(config, dataset=dataset)
    if kind != "regularization":
        return [(dataclasses.replace(config, seed=seed).to_dict(), f"{lab.title} · {preset} · seed {seed} (prebaked)")
                for seed in seeds]
    steps = lab.part("config").STEPS
    return [(dataclasses.replace(config, step=step, seed=seed).to_dict(),
             f"{lab.title} · {steps[step].label} · {preset} · seed {seed} (prebaked)")
            for seed in seeds for step in steps]


def prebake(store, kind, preset="quick", seeds=(0,), dataset=None, device="cpu", timeout_s=None, on_run=None):
    """Queue a lab's default runs, following any identical run, and train the rest here, one by one.

    Args:
        store: labcore.store.Store, the app's store.
        kind, preset, seeds, dataset: as in `planned`.
        device: str, the queue name the workers record (`labcore.device.queue_name`).
        timeout_s: float or None, the most seconds one run may take.
        on_run: callable(Run, bool) or None, told about each run once it has
            ended, with whether it was trained here (False: it followed one).

    Returns:
        list of `labcore.store.Run`, as they ended.
    """
    ended = []
    for config, title in planned(kind, preset, seeds, dataset):
        run_id = jobs.submit(store, kind, config, owner=OWNER, title=title, share=True)
        run = store.get_run(run_id)
        trained = run.follows is None
        if run.status == "queued":
            # Trained here, unless a server's supervisor claims it first; then
            # this worker exits at once and the run is waited for.
            executors.run_to_end(store, run.follows or run_id, timeout_s, device)
        jobs.wait_until_settled(store, [run_id], timeout_s=float("inf") if timeout_s is None else timeout_s,
                                poll_s=1.0)
        run = store.get_run(run_id)
        ended.append(run)
        if on_run is not None:
            on_run(run, trained)
    return ended
