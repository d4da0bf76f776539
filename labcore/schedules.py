"""Learning-rate schedules as pure functions of the epoch.

Owns `ScheduleSpec` (what the Regularization lab's widgets edit, with its
declared `RANGES`), and `lr_at` and `lr_curve` (what training applies and
what the pages draw). Keras-free, so the Streamlit process can draw a curve
before any job starts.

The original labs' scheduler took the previous epoch's learning rate and
multiplied it by the cosine factor, so the decay compounded and the last
third of a 20-epoch run trained at about 1e-7 of the base rate; their
warm-up ramp also stopped at 0.8 of its target. `lr_at` computes every
epoch's rate from the epoch number alone, so neither can happen here.
`original_cosine_curve` and `original_warmup_curve` reproduce the originals
so that a page can draw "original vs ours".
"""

import dataclasses
import math

from labcore.records import Record
from labcore.spec import Range

__all__ = [
    "KINDS",
    "RANGES",
    "ScheduleSpec",
    "lr_at",
    "lr_curve",
    "original_cosine_curve",
    "original_warmup_curve",
    "problems",
]

KINDS = ("constant", "step", "exponential", "time", "cosine")


RANGES = {
    "kind": Range("choice", choices=KINDS),
    "warmup_epochs": Range("int", 0, 100),
    "warmup_start": Range("float", 0.0, 10.0),
    "step_every": Range("int", 1, 500),
    "factor": Range("float", 0.0, 1.0, lo_open=True),
    "decay": Range("float", 0.0, 10.0),
    "min_lr": Range("float", 0.0, 10.0),
}


@dataclasses.dataclass(frozen=True)
class ScheduleSpec(Record):
    """How the learning rate moves over a run: optional warm-up, then decay.

    Every value is a function of the epoch alone (see `lr_at`). Construction
    never validates; `problems` lists what is out of range.

    Args:
        kind: str, the decay after warm-up: "constant", "step",
            "exponential", "time" or "cosine".
        warmup_epochs: int in [0, 100], epochs of linear warm-up; 0 = none.
        warmup_start: float in [0, 10], the absolute rate of epoch 0 when
            warming up.
        step_every: int in [1, 500], "step": epochs between drops.
        factor: float in (0, 1], "step": the multiplier of each drop.
        decay: float in [0, 10], the rate of "exponential"
            (`exp(-decay * t)`) and "time" (`1 / (1 + decay * t)`), with t
            in epochs after warm-up.
        min_lr: float in [0, 10], "cosine": the floor the curve decays to.
    """

    kind: str = "constant"
    warmup_epochs: int = 0
    warmup_start: float = 1e-6
    step_every: int = 10
    factor: float = 0.1
    decay: float = 0.1
    min_lr: float = 0.0

    record_path = "train.schedule"


def problems(schedule, path="train.schedule"):
    """Every out-of-range field of a schedule, as messages.

    Args:
        schedule: ScheduleSpec.
        path: str, where the schedule sits, for messages.

    Returns:
        list of str, empty when the schedule is valid.
    """
    return [
        message
        for name, declared in RANGES.items()
        for message in declared.problems(f"{path}.{name}", getattr(schedule, name))
    ]


def lr_at(epoch, base_lr, schedule, epochs):
    """The learning rate of one epoch, from the epoch number alone.

    Warm-up rises linearly from `warmup_start` (epoch 0) and arrives at
    `base_lr` at epoch `warmup_epochs`, the first epoch of the decay. The
    original lab's ramp, `epoch * (e_lr - s_lr) / epochs`, ran as its own
    phase and stopped at 0.8 of its target after 5 epochs.

    The decay then runs over t = epoch - warmup_epochs. Cosine spans
    T = epochs - warmup_epochs, so it would touch `min_lr` at epoch `epochs`,
    one past the last: every epoch trained still learns (the last at
    `min_lr + (base_lr - min_lr) * 0.5 * (1 + cos(pi * (T-1) / T))`), as
    with Keras's `CosineDecay` over the whole run. Past the end it stays at
    `min_lr`.

    Args:
        epoch: int >= 0, zero-based as Keras counts epochs.
        base_lr: float, the rate after warm-up.
        schedule: ScheduleSpec.
        epochs: int, the run's total epochs (cosine's span).

    Returns:
        float, the learning rate to train that epoch with.

    Example:
    >>> cosine = ScheduleSpec(kind="cosine", warmup_epochs=2, warmup_start=0.0)
    >>> [round(lr_at(epoch, 1.0, cosine, 6), 3) for epoch in range(6)]
    [0.0, 0.5, 1.0, 0.854, 0.5, 0.146]
    """
    warmup = schedule.warmup_epochs
    if epoch < warmup:
        start = schedule.warmup_start
        return start + (base_lr - start) * epoch / warmup
    t = epoch - warmup
    if schedule.kind == "step":
        return base_lr * schedule.factor ** (t // schedule.step_every)
    if schedule.kind == "exponential":
        return base_lr * math.exp(-schedule.decay * t)
    if schedule.kind == "time":
        return base_lr / (1.0 + schedule.decay * t)
    if schedule.kind == "cosine":
        span = epochs - warmup
        if t >= span:
            return schedule.min_lr
        cosine = 0.5 * (1.0 + math.cos(math.pi * t / span))
        return schedule.min_lr + (base_lr - schedule.min_lr) * cosine
    return base_lr


def lr_curve(base_lr, schedule, epochs):
    """`lr_at` for every epoch of a run.

    Args:
        base_lr: float, the rate after warm-up.
        schedule: ScheduleSpec.
        epochs: int, the run's total epochs.

    Returns:
        list of `epochs` floats, index = zero-based epoch.
    """
    return [lr_at(epoch, base_lr, schedule, epochs) for epoch in range(epochs)]


def original_cosine_curve(base_lr, epochs):
    """The original labs' cosine schedule, compounding bug included.

    Their `training_scheduler(epoch, lr)` received the rate Keras had just
    used and returned `lr * 0.5 * (1 + cos(pi * epoch / epochs))`, so each
    epoch multiplied the previous one's factor in: 20 epochs from 1e-3 reach
    7.7e-5 by epoch 10 and 7e-14 by epoch 19. Kept only to be drawn beside
    `lr_curve`; never used for training.

    Args:
        base_lr: float, the rate of epoch 0.
        epochs: int, the run's total epochs.

    Returns:
        list of `epochs` floats.
    """
    curve = [base_lr]
    for epoch in range(1, epochs):
        curve.append(curve[-1] * 0.5 * (1.0 + math.cos(math.pi * epoch / epochs)))
    return curve


def original_warmup_curve(epochs=5, s_lr=1e-6, e_lr=1e-3):
    """The original labs' warm-up ramp, which never reaches `e_lr`.

    Epoch 0 kept the compile-time `s_lr`; epoch e > 0 set
    `e * (e_lr - s_lr) / epochs`, so the last warm-up epoch trained at
    (epochs - 1) / epochs of the target (7.992e-4 for the defaults).

    Args:
        epochs: int, the warm-up's epochs.
        s_lr: float, the starting rate.
        e_lr: float, the rate the ramp was meant to reach.

    Returns:
        list of `epochs` floats.
    """
    return [s_lr] + [epoch * (e_lr - s_lr) / epochs for epoch in range(1, epochs)]
