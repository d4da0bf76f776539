"""Mutation: a good trial, changed in one decision, trained from its parent's weights.

An evolutionary search breeds its next members from the best so far; here
the learner picks the parents. `neighbour` moves one searched dimension of
a member to a neighbouring value (the next value of a list, one more or one
fewer of an int, a step along a float range), so the child differs from its
parent in one thing. With weight inheritance on, the child starts from the
parent's trained weights in every layer that still matches by name and
shape (all of them when only a training setting moved, the untouched
groups when a group grew a block), and `mutation_rows` shows what that
bought against the parent. Keras-free and Altair-free.
"""

import dataclasses
import math
import random

from labcore.labs.search.config import DIMENSIONS

__all__ = ["fits", "mutated", "mutation_rows", "mutation_text", "neighbour"]

# A float range is walked in this many steps (on a log scale when the range is).
_FLOAT_STEPS = 4


def _moves(name, dimension, value):
    """The values next to `value` along one searched dimension, within the space."""
    values = dimension.values
    if dimension.mode == "list":
        if value not in values:
            return list(values)
        index = values.index(value)
        return [values[i] for i in (index - 1, index + 1) if 0 <= i < len(values)]
    low, high = values
    if DIMENSIONS[name].value.kind == "int":
        return [v for v in (value - 1, value + 1) if low <= v <= high]
    if dimension.log:
        factor = (high / low) ** (1 / _FLOAT_STEPS)
        candidates = (value / factor, value * factor)
    else:
        step = (high - low) / _FLOAT_STEPS
        candidates = (value - step, value + step)
    # Rounded so that a mutated rate reads as one (0.0032, not 0.0031622776601683794), then kept inside.
    moved = [min(high, max(low, float(f"{v:.2g}"))) for v in candidates]
    return [v for v in moved if not math.isclose(v, value)]


def fits(space, member):
    """Whether `member` lies in `space` (a trial of an earlier, wider round may not)."""
    for name in DIMENSIONS:
        dimension, value = getattr(space, name), getattr(member, name)
        if dimension.mode == "range":
            if not dimension.values[0] <= value <= dimension.values[1]:
                return False
        elif value not in dimension.values:
            return False
    return True


def neighbour(space, member, seed):
    """`member` with one searched dimension moved to a neighbouring value.

    Args:
        space: Space, the study's space (fixed dimensions never move).
        member: Member.
        seed: int, which dimension and which direction.

    Returns:
        (Member, dimension name), or None when no searched dimension can move.

    Example:
    >>> from labcore.labs.search.config import Member, Space
    >>> child, moved = neighbour(Space(), Member(n_groups=2, n_filters=16, n_blocks=1), seed=0)
    >>> moved in ("n_groups", "n_filters", "n_blocks", "block", "learning_rate")
    True
    """
    rng = random.Random(seed)
    options = []
    for name in DIMENSIONS:
        dimension = getattr(space, name)
        if dimension.mode != "fixed":
            moves = [value for value in _moves(name, dimension, getattr(member, name)) if value != getattr(member, name)]
            if moves:
                options.append((name, moves))
    if not options:
        return None
    name, moves = rng.choice(options)
    return dataclasses.replace(member, **{name: rng.choice(moves)}), name


def mutated(parent, parent_run, member, dimension, inherit):
    """The config of a mutated child: the parent's data, seed and fidelity, one dimension moved.

    Args:
        parent: Config of a finished rung-0 trial.
        parent_run: int, its run id.
        member: Member, from `neighbour`.
        dimension: str, the dimension that moved.
        inherit: bool, start from the parent's weights where layers match.

    Returns:
        Config at rung 0; its `trial` is set when the study asks for it.
    """
    return dataclasses.replace(parent, member=member, rung=0, parent_run=parent_run, inherit=inherit,
                               inherited_epochs=0, mutation=dimension)


def _accuracy(run):
    return (run.result or {}).get("best_val_accuracy") if run.status == "done" else None


def mutation_rows(runs):
    """One row per mutated trial: what moved, from which parent, and how the child did against it.

    Args:
        runs: iterable of `labcore.store.Run` of one study (kind "search").

    Returns:
        list of dict with trial, parent (trial number), moved ("n_blocks: 1
        -> 2"), inherit, inherited ("12/14 layers" or ""), parent_accuracy,
        child_accuracy (None until finished), change (points or None), in
        trial order.
    """
    runs = list(runs)
    by_id = {run.id: run for run in runs}
    rows = []
    for run in runs:
        config = run.config
        parent = by_id.get(config.get("parent_run"))
        if not config.get("mutation") or parent is None:
            continue
        moved = config["mutation"]
        child, mother = _accuracy(run), _accuracy(parent)
        result = run.result or {}
        rows.append({
            "trial": config["trial"], "parent": parent.config["trial"],
            "moved": f"{moved}: {parent.config['member'][moved]} -> {config['member'][moved]}",
            "inherit": bool(config.get("inherit")),
            "inherited": (f"{result['inherited_layers']}/{result['layers_with_weights']} layers"
                          if "inherited_layers" in result else ""),
            "parent_accuracy": mother, "child_accuracy": child,
            "change": None if child is None or mother is None else child - mother,
        })
    return sorted(rows, key=lambda row: row["trial"])


def mutation_text(rows):
    """What the finished mutations did, in words: how many beat their parent, with and without inheritance."""
    done = [row for row in rows if row["change"] is not None]
    if not done:
        return "No mutated trial has finished yet." if rows else ""
    said = []
    for inherit, how in ((True, "from the parent's weights"), (False, "from scratch")):
        group = [row for row in done if row["inherit"] == inherit]
        if group:
            better = sum(1 for row in group if row["change"] > 0)
            mean = sum(row["change"] for row in group) / len(group)
            said.append(f"Trained {how}, {better} of {len(group)} mutated trial(s) beat their parent "
                        f"(mean change {100 * mean:+.1f} points).")
    return " ".join(said) + " Each child is one run against one parent run: a change of a point or two is seed noise."
