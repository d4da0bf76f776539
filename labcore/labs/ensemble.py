"""The Ensemble lab: instances of one model disagree, and their votes combine.

Description: train N instances of one spec with different seeds (optionally
each on a bootstrap resample), combine their test-set predictions by soft,
hard and validation-weighted voting, and compare with the intra-model
ensembles built from the same spec (a shared trunk with K heads, and a
stacked combiner on those heads): accuracy, parameters, training time and
inference time per image for every variant.

This module owns the recipe's `Config`, its `PRESETS`, the validator
`problems`, and every pure-NumPy piece the page and the tests use directly:
the voting rules, the pairwise agreement matrix, accuracy as the ensemble
grows, the vote strip and the variant table, with the Altair charts drawn
from them. It must stay free of Keras: the Streamlit process imports it.
`run` imports the Keras half (`labcore.labs._ensemble_keras`) only when a
worker calls it.

What the original lab (CIFAR-10, 30 epochs) told its students, kept in
`ORIGINAL` so every figure can show it beside the measured value: about 84%
per model, members 0.5-2% apart, the averaged ensemble "a modest boost of
~2%" over the best member, bagging heads within 1/10-1/4 of 1%, stacking
about the same as bagging, just over 1.8 million parameters per model.
"""

import dataclasses

import numpy as np

from labcore import data, references, schedules, trainconfig
from labcore import spec as spec_lib
from labcore.errors import ConfigError, describe
from labcore.records import Record
from labcore.spec import Range

__all__ = [
    "FILTERS",
    "MODELS",
    "ORIGINAL",
    "PRESETS",
    "PRESET_NOTES",
    "RANGES",
    "RULES",
    "Config",
    "accuracy",
    "accuracy_by_n",
    "accuracy_by_n_chart",
    "agreement",
    "agreement_chart",
    "bootstrap_indices",
    "closing_note",
    "combiner_params",
    "hard_vote",
    "heads_params",
    "member_spec",
    "member_train_config",
    "n_train_images",
    "problems",
    "run",
    "soft_vote",
    "summarize_votes",
    "variant_rows",
    "vote",
    "vote_chart",
    "vote_flags",
    "vote_strip",
    "weights_from",
]

MODELS = ("small", "ensemble_base")
RULES = {
    "soft": "soft vote (mean of the softmax outputs)",
    "hard": "hard vote (majority of the predicted classes)",
    "weighted": "soft vote weighted by validation accuracy",
}
FILTERS = {
    "all": "all test images",
    "disagree": "members disagree",
    "fixed": "ensemble fixed a member's mistake",
    "wrong": "ensemble got it wrong",
}

# What the original lab told its students to expect on CIFAR-10 after 30
# epochs (ORIGINAL_LABS.md, Lab 3). It published no timings.
ORIGINAL = {
    "member": "about 84% test accuracy per model after 30 epochs, e.g. [84%, 82.5%, 83%]",
    "spread": "members differ by as little as 0.5% or as much as 2%",
    "gain": "a modest boost of ~2% over the best single model",
    "agreement": "no figure; the members are \"the same model\" trained three times",
    "by_n": "three members only; no curve as N grows",
    "heads": "bagging heads within 1/10 to 1/4 of 1% of each other",
    "stacking": "stacking plateaus about where intra-model bagging does (still overfitting)",
    "params": "just over 1.8 million parameters per model; 1.9 million with the stacked head",
    "votes": "no per-image view; only the ensemble's accuracy",
}


# ## Configuration
#
# One declaration per field: `problems` words its messages from them and
# the page takes its sliders' bounds from them.

RANGES = {
    "dataset": Range("choice", choices=tuple(data.DATASETS)),
    "seed": Range("int", 0, 999_999),
    "model": Range("choice", choices=MODELS),
    "width": Range("int", 4, 128),
    "n_members": Range("int", 2, 8),
    "bagging": Range("bool"),
    "epochs": Range("int", 1, 500),
    "batch_size": Range("int", 1, 4096),
    "learning_rate": Range("float", 0.0, 10.0, lo_open=True),
    "lr_drop_every": Range("int", 1, 500, optional=True),
    "subset": Range("int", 10, 100_000, optional=True),
    "val_fraction": Range("float", 0.0, 0.5, lo_open=True),
    "n_heads": Range("choice", choices=(0, 2, 3, 4, 5, 6, 7, 8)),
    "stacking": Range("bool"),
    "stacking_epochs": Range("int", 1, 500),
    "stacking_learning_rate": Range("float", 0.0, 10.0, lo_open=True),
}


@dataclasses.dataclass(frozen=True)
class Config(Record):
    """One run of the Ensemble lab; the defaults are the `quick` preset.

    Args:
        dataset: str, a key of `labcore.data.DATASETS`.
        seed: int in [0, 999999]; member i trains with seed + i - 1, and
            the data split and the bootstrap draws are seeded from it too.
        model: str, "small" (a plain ConvNet built from `width`, for this
            CPU) or "ensemble_base" (the original's ResNet v2, 1.8M
            parameters, 32x32x3: smaller images are zero-padded).
        width: int in [4, 128], the small model's stem filters; its groups
            have width, 2x and 4x as many (unused by "ensemble_base").
        n_members: int in [2, 8], the instances trained (N).
        bagging: bool, train each member on its own bootstrap resample of
            the training images (same size, drawn with replacement) instead
            of all of them.
        epochs: int in [1, 500], per member and for the K-head model.
        batch_size: int in [1, 4096].
        learning_rate: float in (0, 10], Adam's rate.
        lr_drop_every: int or None, multiply the rate by 0.1 every that
            many epochs (the original: 20, of 30 epochs); None = constant.
        subset: int or None, at most this many training images (validation
            included), stratified; a dataset with fewer uses all of its own.
        val_fraction: float in (0, 0.5], held out for validation (it weighs
            the members in the "weighted" rule).
        n_heads: int, 0 or 2 to 8, the heads K of the intra-model ensemble;
            0 leaves that variant (and stacking) out.
        stacking: bool, train a combiner on the K heads' outputs, with the
            trunk and heads frozen (needs n_heads >= 2).
        stacking_epochs: int in [1, 500].
        stacking_learning_rate: float in (0, 10].
    """

    dataset: str = data.DEFAULT_DATASET
    seed: int = 0
    model: str = "small"
    width: int = 16
    n_members: int = 3
    bagging: bool = False
    epochs: int = 5
    batch_size: int = 32
    learning_rate: float = 1e-3
    lr_drop_every: int | None = None
    subset: int | None = 20_000
    val_fraction: float = 0.1
    n_heads: int = 3
    stacking: bool = True
    stacking_epochs: int = 2
    stacking_learning_rate: float = 1e-3


PRESETS = {
    "tiny": dataclasses.replace(
        Config(), width=8, n_members=2, epochs=1, subset=600, n_heads=2, stacking_epochs=1
    ),
    "quick": Config(),
    "full": dataclasses.replace(
        Config(),
        dataset="cifar10",
        model="ensemble_base",
        epochs=30,
        lr_drop_every=20,
        subset=None,
        stacking_epochs=10,
        stacking_learning_rate=1e-4,
    ),
}
PRESET_NOTES = {
    "tiny": "seconds: 2 narrow members, 1 epoch on 600 images (a smoke test)",
    "quick": "a few minutes: 3 small members, 5 epochs on up to 20,000 images",
    "full": "the original: its 1.8M-parameter ResNet, 30 epochs, rate /10 after 20, all images (hours)",
}


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
    try:
        parsed = Config.from_dict(config)
    except ConfigError as error:
        return [str(error)]
    found = []
    for name, declared in RANGES.items():
        found += declared.problems(name, getattr(parsed, name))
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
        {"accuracy", "gain_over_best", "gain_over_mean"}; a gain is an
        accuracy difference, negative when the ensemble is worse) and
        "accuracy_by_n" (rule -> list, see `accuracy_by_n`).
    """
    p = _probabilities(probabilities)
    members = [accuracy(member.argmax(axis=1), labels) for member in p]
    best, mean = max(members), float(np.mean(members))
    weights = weights_from(val_accuracies)
    rules = {}
    for rule in RULES:
        value = accuracy(vote(p, rule, weights), labels)
        rules[rule] = {"accuracy": value, "gain_over_best": value - best, "gain_over_mean": value - mean}
    return {
        "members": members,
        "best_member": best,
        "mean_member": mean,
        "spread": best - min(members),
        "weights": weights.tolist(),
        "rules": rules,
        "accuracy_by_n": {rule: accuracy_by_n(p, labels, rule, weights) for rule in RULES},
    }


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
        result: dict, a run's result (see `run`); parts not yet trained are
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


def _signed(value):
    return f"{100 * value:+.2f} points"


def closing_note(result, rule="soft"):
    """The run's findings in a few markdown lines: spread, gain, every variant.

    Args:
        result: dict, a finished run's result.
        rule: str, the inter-model ensemble's rule.

    Returns:
        str, markdown; the gain is stated with its sign, whatever it is.
    """
    votes = result["votes"]
    gain = votes["rules"][rule]
    verdict = "better than" if gain["gain_over_best"] > 0 else (
        "no better than" if gain["gain_over_best"] == 0 else "worse than")
    lines = [
        f"On {result['dataset_title']}, with {result['n_train']:,} training images and "
        f"{result['n_test']:,} test images, {len(votes['members'])} members scored "
        f"{', '.join(f'{100 * a:.2f}%' for a in votes['members'])}: a spread of "
        f"{100 * votes['spread']:.2f} points. The {RULES[rule]} reached "
        f"{100 * gain['accuracy']:.2f}%, {_signed(gain['gain_over_best'])} over the best member "
        f"({verdict} it) and {_signed(gain['gain_over_mean'])} over the mean member.",
        "",
    ]
    for row in variant_rows(result, rule):
        lines.append(
            f"- **{row['variant']}**: {100 * row['accuracy']:.2f}% test accuracy, "
            f"{row['params']:,} parameters, {row['train_seconds']:.0f} s training, "
            f"{row['inference_ms_per_image']:.3f} ms per test image"
        )
    return "\n".join(lines)


# ## Charts
#
# Altair and pandas are imported when a chart is drawn (by a page), so a
# worker running this lab imports neither.


def vote_chart(image_votes, class_names):
    """One image's votes: a bar per member and one for the ensemble.

    Bar length is the voter's confidence (the full width is 100%), colour
    whether its class is right, and the class and confidence are written
    on the bar, so the chart needs no axis and stays legible in a narrow
    column.

    Args:
        image_votes: one row of `vote_strip`.
        class_names: the dataset's class names.

    Returns:
        alt.LayerChart.
    """
    import altair as alt
    import pandas as pd

    frame = pd.DataFrame.from_records(
        [
            {**v, "verdict": "right" if v["correct"] else "wrong",
             "text": f"{class_names[v['class']]} {v['confidence']:.0%}"}
            for v in image_votes["votes"]
        ]
    )
    base = alt.Chart(frame).encode(
        y=alt.Y("voter:N", sort=None, title=None, axis=alt.Axis(labelFontSize=11, ticks=False, domain=False)),
        tooltip=["voter:N", "text:N", "verdict:N"],
    )
    scale = alt.Scale(domain=[0, 1])
    track = base.mark_bar(color="#e8e8e8").encode(x=alt.X("full:Q", scale=scale, axis=None)).transform_calculate(
        full="1")
    bars = base.mark_bar().encode(
        x=alt.X("confidence:Q", scale=scale, axis=None),
        color=alt.Color("verdict:N", scale=alt.Scale(domain=["right", "wrong"], range=["#74c476", "#fb6a4a"]),
                        legend=None),
        # The ensemble's bar in full colour, the members' lighter.
        opacity=alt.condition(alt.datum.voter == "ensemble", alt.value(1.0), alt.value(0.55)),
    )
    names = base.mark_text(align="left", dx=3, fontSize=11).encode(x=alt.value(0), text="text:N")
    # Streamlit fits the whole chart, axes included, into this height.
    return (track + bars + names).properties(height=24 * len(frame) + 8)


def agreement_chart(matrices):
    """Pairwise agreement heatmaps: on all test images, and on shared errors.

    The diagonal (a member with itself) is left blank, and each colour
    scale spans the pairs' own range: members of one spec agree on most
    images, and the differences between pairs are what matter.

    Args:
        matrices: dict from `agreement`.

    Returns:
        alt.HConcatChart of two heatmaps.
    """
    import altair as alt
    import pandas as pd

    n = len(matrices["agree"])
    charts = []
    for key, title in (("agree", "agree on all test images"),
                       ("same_error", "same wrong class, where both are wrong")):
        frame = pd.DataFrame.from_records(
            [
                {"member": f"member {i + 1}", "other": f"member {j + 1}", "share": float(matrices[key][i, j])}
                for i in range(n) for j in range(n) if i != j and not np.isnan(matrices[key][i, j])
            ],
            columns=["member", "other", "share"],
        )
        order = [f"member {i + 1}" for i in range(n)]
        base = alt.Chart(frame, title=title).encode(
            x=alt.X("other:N", title=None, sort=order, scale=alt.Scale(domain=order), axis=alt.Axis(labelAngle=0, labelAlign="center")),
            y=alt.Y("member:N", title=None, sort=order, scale=alt.Scale(domain=order)),
        )
        cells = base.mark_rect().encode(
            color=alt.Color("share:Q", scale=alt.Scale(scheme="blues", zero=False), title=None,
                            legend=alt.Legend(format=".1%")),
            tooltip=["member:N", "other:N", alt.Tooltip("share:Q", format=".1%")],
        )
        text = base.mark_text(fontSize=12).encode(text=alt.Text("share:Q", format=".1%"))
        charts.append((cells + text).properties(width=80 * n, height=36 * n))
    return alt.hconcat(*charts).resolve_scale(color="independent")


def accuracy_by_n_chart(by_n, best_member, height=260):
    """Accuracy as members join, one line per rule, the best member dashed.

    Args:
        by_n: dict rule -> list of accuracies (see `accuracy_by_n`).
        best_member: float, the best single member's accuracy.
        height: int, pixels.

    Returns:
        alt.LayerChart.
    """
    import altair as alt
    import pandas as pd

    frame = pd.DataFrame.from_records(
        [{"members": n, "accuracy": value, "rule": rule}
         for rule, values in by_n.items() for n, value in enumerate(values, start=1)]
    )
    lines = alt.Chart(frame).mark_line(point=True).encode(
        x=alt.X("members:Q", title="members N", axis=alt.Axis(tickMinStep=1)),
        y=alt.Y("accuracy:Q", title="test accuracy", scale=alt.Scale(zero=False),
                axis=alt.Axis(format="%")),
        color=alt.Color("rule:N", title="rule", legend=alt.Legend(symbolType="stroke")),
        # Dashes let a line show through another it coincides with (soft and weighted often do).
        strokeDash=alt.StrokeDash("rule:N", scale=alt.Scale(domain=list(RULES), range=[[1, 0], [6, 3], [2, 3]]),
                                  title="rule"),
        tooltip=["rule:N", "members:Q", alt.Tooltip("accuracy:Q", format=".2%")],
    )
    best = alt.Chart(pd.DataFrame({"accuracy": [best_member], "what": ["best single member"]})).mark_rule(
        strokeDash=[5, 3], color="gray").encode(y="accuracy:Q", tooltip=["what:N", alt.Tooltip("accuracy:Q", format=".2%")])
    return (lines + best).properties(title="accuracy as the ensemble grows (grey dashes: the best single member)",
                                     height=height)


def run(config, reporter):
    """Runner of the `ensemble` kind (imports Keras; worker processes only).

    See `labcore.labs._ensemble_keras.run` for what it trains, stores and
    reports.
    """
    from labcore.labs import _ensemble_keras  # deferred: Keras stays out of the Streamlit process

    return _ensemble_keras.run(config, reporter)
