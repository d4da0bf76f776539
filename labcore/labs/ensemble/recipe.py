"""The Ensemble lab's recipe: validation, the member spec, voting and its summaries.

Everything the runner and the page compute that needs no Keras: the
validator `problems`, the spec every member is built from and how each
member trains, the voting rules, the pairwise agreement matrix, accuracy
as the ensemble grows, the vote strip, the bootstrap draws and the variant
table. Predictions are softmax outputs stacked as (members, images,
classes), so the page recomputes any rule from a run's stored predictions
without training again. Keras-free and Altair-free: the Streamlit process
imports it.
"""

import dataclasses

import numpy as np

from labcore import data, records, references, schedules, trainconfig
from labcore import spec as spec_lib
from labcore.errors import ConfigError, describe
from labcore.labs.ensemble.config import FILTERS, RANGES, RULES, Config

__all__ = [
    "accuracy",
    "accuracy_by_n",
    "agreement",
    "bootstrap_indices",
    "combiner_params",
    "hard_vote",
    "heads_params",
    "member_spec",
    "member_train_config",
    "n_train_images",
    "paired_change",
    "problems",
    "soft_vote",
    "summarize_votes",
    "variant_rows",
    "vote",
    "vote_flags",
    "vote_strip",
    "weights_from",
]


# ## The member spec and how each member trains


def member_spec(config):
    """The spec every member, the K-head trunk and the stack are built from.

    Args:
        config: Config with a valid `model`, `width` and `dataset`.

    Returns:
        ModelSpec: for "small", a 3x3 stem (with bias, as the original's)
        and three plain groups of width, 2x and 4x filters, each halving
        the map, on the dataset's own image shape; for "ensemble_base",
        the original's model (`labcore.references`) with the dataset's
        class count.
    """
    info = data.DATASETS[config.dataset]
    if config.model == "ensemble_base":
        base = references.REFERENCES["ensemble_base"].spec
        return dataclasses.replace(
            base, task=dataclasses.replace(base.task, n_classes=info.n_classes)
        )
    width = config.width
    return spec_lib.ModelSpec(
        input_shape=tuple(info.image_shape),
        stem=spec_lib.StemSpec(n_filters=width, kernel_size=3, use_bias=True),
        learner=spec_lib.LearnerSpec(
            block="plain",
            groups=tuple(spec_lib.GroupSpec(n, 1, strides=2) for n in (width, 2 * width, 4 * width)),
        ),
        task=spec_lib.TaskSpec(n_classes=info.n_classes),
        name="ensemble_small",
    )


def member_train_config(config, member=1):
    """How member `member` (from 1) trains, as a `TrainConfig`.

    The K-head model trains with member 1's settings; the stacked combiner
    with its own epochs and rate and no schedule, as in the original.
    """
    schedule = schedules.ScheduleSpec()
    if config.lr_drop_every is not None:
        schedule = schedules.ScheduleSpec(kind="step", step_every=config.lr_drop_every, factor=0.1)
    return trainconfig.TrainConfig(
        epochs=config.epochs,
        batch_size=config.batch_size,
        learning_rate=config.learning_rate,
        schedule=schedule,
        seed=config.seed + member - 1,
        dataset=config.dataset,
        subset=config.subset,
        val_fraction=config.val_fraction,
    )


def n_train_images(config):
    """(images drawn, of which for training): `subset` capped by the dataset.

    Mirrors `labcore.data.split_indices`: round(val_fraction * n) held out,
    at least one.
    """
    available = data.DATASETS[config.dataset].n_train
    drawn = available if config.subset is None else min(config.subset, available)
    return drawn, drawn - max(1, round(config.val_fraction * drawn))


def problems(config):
    """Validator of the `ensemble` kind: every problem, as messages.

    Never raises. Fields are checked against `RANGES` first; the checks
    between fields and against the dataset follow once those are in range.

    Args:
        config: dict, as `Config.to_dict` writes it.

    Returns:
        list of str, each "<field> must be <allowed>; got <value>.", empty
        when the run can start.

    Example:
    >>> problems({"n_members": 1})
    ['n_members must be an int in [2, 8]; got 1.']
    """
    parsed, found, _ = records.check(Config, config, RANGES)
    if found:
        return found
    if parsed.stacking and parsed.n_heads == 0:
        found.append(
            describe("stacking", "False when n_heads is 0 (the combiner stacks the heads)", True)
        )
    available, message = data.availability(parsed.dataset)
    if not available:
        return found + [f"dataset {parsed.dataset!r} is not available: {message}"]
    _, n_train = n_train_images(parsed)
    if parsed.batch_size > n_train:
        found.append(
            describe("batch_size", f"an int in [1, {n_train}] (the training images)", parsed.batch_size)
        )
    model_spec = member_spec(parsed)
    found += spec_lib.problems(model_spec)
    try:
        trainconfig.load_options(model_spec.input_shape, data.DATASETS[parsed.dataset].image_shape)
    except ConfigError as error:
        found.append(str(error))
    return found


# ## Voting
#
# Predictions are softmax outputs stacked as (members, images, classes).
# Each rule returns one class per image.


def _probabilities(probabilities):
    array = np.asarray(probabilities, dtype=np.float32)
    if array.ndim != 3 or array.shape[0] < 1:
        raise ValueError(describe("probabilities", "an array (members, images, classes)", array.shape))
    return array


def weights_from(val_accuracies):
    """Member weights proportional to validation accuracy, summing to 1.

    Equal weights when every accuracy is 0. Members of one spec score
    alike, so these weights are close to equal: the weighted vote rarely
    differs from the soft vote, which is itself a finding.
    """
    scores = np.asarray(val_accuracies, dtype=np.float64)
    if scores.sum() <= 0:
        return np.full(len(scores), 1.0 / len(scores))
    return scores / scores.sum()


def soft_vote(probabilities, weights=None):
    """The (weighted) mean of the members' softmax outputs.

    Args:
        probabilities: array (members, images, classes).
        weights: None (equal) or one non-negative weight per member.

    Returns:
        float32 array (images, classes), rows summing to 1.
    """
    p = _probabilities(probabilities)
    w = np.full(len(p), 1.0 / len(p)) if weights is None else np.asarray(weights, dtype=np.float64)
    return np.tensordot(w / w.sum(), p, axes=1).astype(np.float32)


def hard_vote(probabilities):
    """Majority vote of the members' predicted classes.

    Ties between classes with the most votes go to the tied class with the
    largest summed probability over all members (the members' confidence
    settles it); an exact tie of that too goes to the lowest class index.

    Args:
        probabilities: array (members, images, classes).

    Returns:
        int64 array (images,).

    Example:
    >>> p = [[[0.6, 0.4, 0.0]], [[0.0, 0.1, 0.9]]]   # 1 vote each for 0 and 2
    >>> hard_vote(p).tolist()                          # 0.6 < 0.9: class 2
    [2]
    """
    p = _probabilities(probabilities)
    n_classes = p.shape[2]
    votes = np.eye(n_classes, dtype=np.int64)[p.argmax(axis=2)].sum(axis=0)
    most = votes == votes.max(axis=1, keepdims=True)
    return np.where(most, p.sum(axis=0), -np.inf).argmax(axis=1)


def vote(probabilities, rule="soft", weights=None):
    """The ensemble's class per image under one rule of `RULES`.

    Args:
        probabilities: array (members, images, classes).
        rule: str, "soft", "hard" or "weighted".
        weights: the members' weights for "weighted" (see `weights_from`);
            equal when None.

    Returns:
        int64 array (images,).
    """
    if rule == "hard":
        return hard_vote(probabilities)
    if rule not in RULES:
        raise ValueError(describe("rule", f"one of {', '.join(map(repr, RULES))}", rule))
    return soft_vote(probabilities, weights if rule == "weighted" else None).argmax(axis=1)


def _confidence(probabilities, classes, rule, weights):
    """How sure the ensemble is of `classes`: its mean probability, or its vote share."""
    p = _probabilities(probabilities)
    if rule == "hard":
        return (p.argmax(axis=2) == classes).mean(axis=0)
    combined = soft_vote(p, weights if rule == "weighted" else None)
    return np.take_along_axis(combined, classes[:, None], axis=1)[:, 0]


def accuracy(classes, labels):
    """float, the share of `classes` equal to `labels`."""
    return float(np.mean(np.asarray(classes) == np.asarray(labels)))


def accuracy_by_n(probabilities, labels, rule="soft", weights=None):
    """The ensemble's accuracy with its first 1, 2, ..., N members.

    Members join in training order, so the curve shows what one more
    member buys; with one member every rule is that member's accuracy.

    Returns:
        list of float, N values.
    """
    p = _probabilities(probabilities)
    w = None if weights is None else np.asarray(weights, dtype=np.float64)
    return [
        accuracy(vote(p[:n], rule, None if w is None else w[:n]), labels)
        for n in range(1, len(p) + 1)
    ]


def agreement(probabilities, labels):
    """How alike the members' predictions are, pair by pair.

    Args:
        probabilities: array (members, images, classes).
        labels: int array (images,).

    Returns:
        dict of (members, members) float arrays: "agree", the share of
        test images on which both predict the same class; "same_error",
        among the images both get wrong, the share where they predict the
        same wrong class (NaN when they never both err); "both_wrong", the
        share of images both get wrong; and "mean_agree", "mean_same_error"
        (floats), their means over distinct pairs. Averaging helps where
        members err on different images: low "both_wrong" and "same_error".
    """
    classes = _probabilities(probabilities).argmax(axis=2)
    wrong = classes != np.asarray(labels)
    same = classes[:, None, :] == classes[None, :, :]
    both_wrong = wrong[:, None, :] & wrong[None, :, :]
    n_both = both_wrong.sum(axis=2)
    with np.errstate(invalid="ignore", divide="ignore"):
        same_error = np.where(n_both > 0, (same & both_wrong).sum(axis=2) / n_both, np.nan)
    pairs = np.triu_indices(len(classes), k=1)
    agree = same.mean(axis=2)
    shared_errors = same_error[pairs][~np.isnan(same_error[pairs])]
    return {
        "agree": agree,
        "same_error": same_error,
        "both_wrong": both_wrong.mean(axis=2),
        "mean_agree": float(agree[pairs].mean()) if len(pairs[0]) else 1.0,
        "mean_same_error": float(shared_errors.mean()) if len(shared_errors) else float("nan"),
    }


def summarize_votes(probabilities, labels, val_accuracies):
    """Every rule's accuracy and gain, the members' spread, accuracy by N.

    Args:
        probabilities: array (members, images, classes).
        labels: int array (images,).
        val_accuracies: one validation accuracy per member (for "weighted").

    Returns:
        dict: "members" (test accuracy of each), "best_member",
        "mean_member", "spread" (best - worst), "weights", "rules" (rule ->
        {"accuracy", "gain_over_best", "gain_over_mean", and `paired_change`
        against the best member: "fixed", "broken", "z", "beyond_noise"};
        a gain is an accuracy difference, negative when the ensemble is
        worse) and
        "accuracy_by_n" (rule -> list, see `accuracy_by_n`).
    """
    p = _probabilities(probabilities)
    labels = np.asarray(labels)
    members = [accuracy(member.argmax(axis=1), labels) for member in p]
    best, mean = max(members), float(np.mean(members))
    best_right = p[int(np.argmax(members))].argmax(axis=1) == labels
    weights = weights_from(val_accuracies)
    rules = {}
    for rule in RULES:
        classes = vote(p, rule, weights)
        value = accuracy(classes, labels)
        rules[rule] = {"accuracy": value, "gain_over_best": value - best, "gain_over_mean": value - mean,
                       **paired_change(best_right, classes == labels)}
    return {
        "members": members,
        "best_member": best,
        "mean_member": mean,
        "spread": best - min(members),
        "weights": weights.tolist(),
        "rules": rules,
        "accuracy_by_n": {rule: accuracy_by_n(p, labels, rule, weights) for rule in RULES},
    }


def paired_change(right_before, right_after):
    """Whether a change of predictions on one test set beats chance: McNemar's test.

    Two models tested on the same images differ only on the images one gets
    right and the other wrong; if neither were better, those would split
    evenly. With `fixed` and `broken` such images, z = (|fixed - broken| -
    1) / sqrt(fixed + broken) (with continuity correction); |z| > 1.96 is
    beyond chance at 95%. This judges the test set's noise, not the seeds'.

    Args:
        right_before: bool array (images,), the reference's correct answers.
        right_after: bool array (images,), the compared model's.

    Returns:
        dict: "fixed" (right after, wrong before), "broken" (the reverse),
        "z" (signed like fixed - broken), "beyond_noise" (bool).

    Example:
    >>> paired_change(np.array([1, 0, 0, 1], bool), np.array([1, 1, 1, 1], bool))
    {'fixed': 2, 'broken': 0, 'z': 0.707, 'beyond_noise': False}
    """
    right_before, right_after = np.asarray(right_before, bool), np.asarray(right_after, bool)
    fixed = int(np.sum(right_after & ~right_before))
    broken = int(np.sum(right_before & ~right_after))
    if fixed + broken == 0:
        return {"fixed": 0, "broken": 0, "z": 0.0, "beyond_noise": False}
    z = np.sign(fixed - broken) * max(abs(fixed - broken) - 1, 0) / np.sqrt(fixed + broken)
    return {"fixed": fixed, "broken": broken, "z": round(float(z), 3), "beyond_noise": bool(abs(z) > 1.96)}


def vote_flags(probabilities, labels, rule="soft", weights=None):
    """Which test images each filter of `FILTERS` keeps.

    Returns:
        dict filter -> bool array (images,): "all"; "disagree" (not every
        member predicts the same class); "fixed" (the ensemble is right
        where at least one member is wrong); "wrong" (the ensemble is
        wrong).
    """
    p = _probabilities(probabilities)
    labels = np.asarray(labels)
    classes = p.argmax(axis=2)
    right = vote(p, rule, weights) == labels
    return {
        "all": np.ones(len(labels), dtype=bool),
        "disagree": (classes != classes[:1]).any(axis=0),
        "fixed": right & (classes != labels).any(axis=0),
        "wrong": ~right,
    }


def vote_strip(probabilities, labels, rule="soft", weights=None, show="all", start=0, limit=8):
    """Each member's vote and the ensemble's choice, for a strip of test images.

    Args:
        probabilities: array (members, images, classes).
        labels: int array (images,).
        rule: str, a key of `RULES`.
        weights: member weights for "weighted", or None.
        show: str, a key of `FILTERS`: which images qualify.
        start: int, how many qualifying images to skip.
        limit: int, the most images returned.

    Returns:
        list of dicts, one per image, in test-set order: "index" (into the
        test set), "label", "votes" (one dict per member, then one for the
        ensemble: "voter", "class", "confidence", "correct"; the ensemble's
        confidence is its combined probability of its class, or its share
        of the votes for "hard"), and the flags "disagree", "fixed",
        "wrong".
    """
    if show not in FILTERS:
        raise ValueError(describe("show", f"one of {', '.join(map(repr, FILTERS))}", show))
    p = _probabilities(probabilities)
    labels = np.asarray(labels)
    flags = vote_flags(p, labels, rule, weights)
    chosen = np.flatnonzero(flags[show])[start : start + limit]
    ensemble = vote(p[:, chosen], rule, weights)
    confidence = _confidence(p[:, chosen], ensemble, rule, weights)
    strip = []
    for position, index in enumerate(chosen):
        label = int(labels[index])
        votes = [
            {
                "voter": f"member {member + 1}",
                "class": int(p[member, index].argmax()),
                "confidence": float(p[member, index].max()),
                "correct": int(p[member, index].argmax()) == label,
            }
            for member in range(len(p))
        ]
        choice = int(ensemble[position])
        votes.append(
            {
                "voter": "ensemble",
                "class": choice,
                "confidence": float(confidence[position]),
                "correct": choice == label,
            }
        )
        strip.append(
            {
                "index": int(index),
                "label": label,
                "votes": votes,
                **{name: bool(flags[name][index]) for name in ("disagree", "fixed", "wrong")},
            }
        )
    return strip


def bootstrap_indices(n, seed):
    """A bootstrap resample: n indices into n images, drawn with replacement.

    About 63% of the images appear at least once, some several times: each
    member sees a different training set (bagging, Breiman 1996).
    """
    return np.random.default_rng([seed, 2]).integers(0, n, size=n)


# ## Variants: what each costs and gains


def heads_params(model_spec, n_heads):
    """Parameters of the shared trunk with `n_heads` classifier heads.

    The trunk is everything of `model_spec` but its dense classifier; each
    head is one more such classifier, so K heads add K - 1 to one model.
    """
    rows = spec_lib.layer_table(model_spec)
    head = sum(row.params for row in rows if row.name == "task_dense")
    return sum(row.params for row in rows) + (n_heads - 1) * head


def combiner_params(model_spec, n_heads):
    """Parameters of the stacked combiner: one dense layer on the K heads' outputs."""
    n_classes = model_spec.task.n_classes
    return n_heads * n_classes * n_classes + n_classes


def variant_rows(result, rule="soft"):
    """One row per variant of a run's result, for the chart and the note.

    Args:
        result: dict, a run's result (see `runner.run`); parts not yet trained are
            left out.
        rule: str, the rule the inter-model ensemble votes with.

    Returns:
        list of dicts: "variant", "accuracy", "params", "train_seconds"
        (everything trained to get it: all members; the K-head model; the
        K-head model plus the combiner), "inference_ms_per_image" (the
        members one after another for the inter-model ensemble).
    """
    rows = []
    members = result.get("members") or []
    if members:
        rows.append(
            {
                "variant": "single model (mean member)",
                "accuracy": float(np.mean([m["test_accuracy"] for m in members])),
                "params": members[0]["params"],
                "train_seconds": float(np.mean([m["train_seconds"] for m in members])),
                "inference_ms_per_image": float(np.mean([m["inference_ms_per_image"] for m in members])),
            }
        )
    votes = result.get("votes")
    if votes:
        rows.append(
            {
                "variant": f"inter: {len(members)} members, {rule} vote",
                "accuracy": votes["rules"][rule]["accuracy"],
                "params": sum(m["params"] for m in members),
                "train_seconds": sum(m["train_seconds"] for m in members),
                "inference_ms_per_image": sum(m["inference_ms_per_image"] for m in members),
            }
        )
    heads = result.get("heads")
    if heads:
        rows.append(
            {
                "variant": f"intra: {heads['n_heads']} heads, averaged",
                "accuracy": heads["votes"]["rules"]["soft"]["accuracy"],
                "params": heads["params"],
                "train_seconds": heads["train_seconds"],
                "inference_ms_per_image": heads["inference_ms_per_image"],
            }
        )
    stacking = result.get("stacking")
    if stacking:
        rows.append(
            {
                "variant": f"stacking on {heads['n_heads']} heads",
                "accuracy": stacking["test_accuracy"],
                "params": stacking["params"],
                "train_seconds": heads["train_seconds"] + stacking["train_seconds"],
                "inference_ms_per_image": stacking["inference_ms_per_image"],
            }
        )
    return rows
