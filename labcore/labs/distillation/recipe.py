"""The Knowledge distillation lab's recipe: the two specs, what each step trains, its validator, the page's numbers.

Teacher and student are one plain ConvNet at two sizes (`teacher_spec`,
`student_spec`); every step trains with Adam under a cosine decay
(`train_config`). `step_config` keeps only the fields a step reads, and
`reuses_teacher` says which stored teacher run a distil or sweep step may
load instead of training its own. `problems` is the kind's validator. The
rest are pure functions the page computes with: the teacher's softened
probabilities (`soften`, `dark_knowledge`), finished runs grouped by seed,
the sweep's cells. Keras-free and Altair-free: the Streamlit process
imports it.
"""

import dataclasses

import numpy as np

from labcore import data, export, records
from labcore import spec as spec_lib
from labcore.errors import LabError, describe
from labcore.labs.distillation.config import (CONVNET_FIELDS, DARK_TEMPERATURES, RANGES, STEP_FIELDS, TEACHER_RUNS,
                                              Config)
from labcore.labs.ensemble.config import member_weights
from labcore.schedules import ScheduleSpec
from labcore.trainconfig import TrainConfig

__all__ = [
    "best_cell",
    "by_seed",
    "dark_knowledge",
    "finished",
    "problems",
    "reads",
    "reuses_teacher",
    "same_setting",
    "size_kb",
    "soften",
    "step_config",
    "student_spec",
    "sweep_cells",
    "teacher_runs",
    "transfer_config",
    "teacher_spec",
    "telling_image",
    "train_config",
]


# ## The two specs and how they train


def _convnet(config, width, n_blocks, name):
    """The lab's plain ConvNet: a 3x3 stem, then groups of width, 2x and 4x filters, each halving the map."""
    info = data.DATASETS[config.dataset]
    return spec_lib.ModelSpec(
        input_shape=tuple(info.image_shape),
        stem=spec_lib.StemSpec(n_filters=width, kernel_size=3, use_bias=True),
        learner=spec_lib.LearnerSpec(
            block="plain",
            groups=tuple(spec_lib.GroupSpec(n, n_blocks, strides=2) for n in (width, 2 * width, 4 * width)),
        ),
        task=spec_lib.TaskSpec(n_classes=info.n_classes),
        hyper=spec_lib.HyperSpec(bn_momentum=config.bn_momentum),
        name=name,
    )


def teacher_spec(config):
    """The teacher, as a spec: the wide, deep one.

    Args:
        config: Config (its dataset must be registered).

    Returns:
        ModelSpec on the dataset's own image shape and classes.
    """
    return _convnet(config, config.teacher_width, config.teacher_blocks,
                    f"teacher_{config.teacher_width}x{config.teacher_blocks}")


def student_spec(config):
    """The student, as a spec: the same ConvNet, narrow and shallow.

    Args:
        config: Config (its dataset must be registered).

    Returns:
        ModelSpec on the dataset's own image shape and classes.
    """
    return _convnet(config, config.student_width, config.student_blocks,
                    f"student_{config.student_width}x{config.student_blocks}")


def train_config(config, role):
    """How the teacher or a student trains, as a `TrainConfig`.

    Every fit ends on a settled model: the rate decays along a cosine to 0
    over its epochs (at a constant rate, accuracy jumps a few points from
    one epoch to the next, more than the effect this lab measures).

    Args:
        config: Config.
        role: str, "teacher" (its epochs) or "student" (from scratch and
            distilled alike).

    Returns:
        TrainConfig.
    """
    return TrainConfig(
        epochs=config.teacher_epochs if role == "teacher" else config.epochs,
        batch_size=config.batch_size, learning_rate=config.learning_rate,
        schedule=ScheduleSpec(kind="cosine"), seed=config.seed, dataset=config.dataset,
        subset=config.subset, val_fraction=config.val_fraction, test_subset=config.test_subset,
    )


def transfer_config(config, best, target):
    """`config` carried to the dataset `target` at the sweep's best T and alpha, on as many images.

    The teacher there is this lab's ConvNet (a stored teacher belongs to
    its own dataset). The training and test images drawn stay as many as
    `config`'s (capped by the target's), so the runs cost what the source's
    did: the quick preset on the built-in Fashion-MNIST subset carries to
    6,000 of MNIST's 60,000 images, not all of them.

    Args:
        config: Config, the source's setting.
        best: dict with "temperature" and "alpha", the cell carried over
            (`best_cell`).
        target: str, a key of `labcore.data.DATASETS`.

    Returns:
        Config of the distil step on `target`.

    Example:
    >>> carried = transfer_config(Config(), {"temperature": 2.0, "alpha": 0.5}, "mnist")
    >>> carried.dataset, carried.subset, carried.test_subset, carried.temperature, carried.alpha
    ('mnist', 6000, 1000, 2.0, 0.5)
    """
    source, info = data.DATASETS[config.dataset], data.DATASETS[target]
    return dataclasses.replace(
        config, step="distil", dataset=target, teacher="convnet", teacher_run=None,
        subset=min(config.subset or source.n_train, info.n_train),
        test_subset=min(config.test_subset or source.n_test, info.n_test),
        temperature=best["temperature"], alpha=best["alpha"])


def size_kb(params):
    """A model's size in kB: every weight a 4-byte float32 (batch norms' moving statistics included)."""
    return 4 * params / 1024


# ## Which runs are which


def reads(config, step):
    """The fields `step` reads, given where `config`'s teacher comes from.

    A distil or sweep step reads the ConvNet teacher's shape, or the stored
    run its teacher is loaded from: never both.

    Example:
    >>> "teacher_width" in reads(Config(teacher="ensemble", teacher_run=3), "distil")
    False
    """
    unread = ("teacher_run",) if config.teacher == "convnet" else CONVNET_FIELDS
    return tuple(name for name in STEP_FIELDS[step] if name not in unread)


def step_config(config, step):
    """One step's config: the fields it reads from `config`, every other field at its default.

    Two steps that read the same settings are then the same run whatever
    the page's other widgets say: the student from scratch does not change
    when T does, so it is shared and found again rather than trained anew.

    Args:
        config: Config.
        step: str, a key of `STEP_FIELDS`.

    Returns:
        Config with `step` set.

    Example:
    >>> step_config(Config(temperature=20.0, student_width=6), "student").temperature
    4.0
    """
    return dataclasses.replace(Config(), step=step, **{name: getattr(config, name) for name in reads(config, step)})


def _parsed(stored):
    """A stored config as a Config, or None when it no longer parses (an older labcore's)."""
    try:
        return Config.from_dict(stored)
    except LabError:
        return None


def reuses_teacher(config, stored):
    """Whether a distil or sweep step may load the teacher of a stored run.

    Args:
        config: Config of the distil or sweep step.
        stored: dict, the stored run's config.

    Returns:
        bool, True when `stored` is a teacher step with the same data, seed,
        teacher and training settings.
    """
    earlier = _parsed(stored)
    return earlier is not None and earlier.step == "teacher" and all(
        getattr(earlier, name) == getattr(config, name) for name in STEP_FIELDS["teacher"])


def same_setting(config, stored):
    """Whether a stored run is `config`'s step at `config`'s setting, whatever its seed.

    Only the fields the step reads count (`reads`).

    Args:
        config: Config.
        stored: dict, a stored run's config.

    Returns:
        bool.
    """
    earlier = _parsed(stored)
    return earlier is not None and earlier.step == config.step and all(
        getattr(earlier, name) == getattr(config, name) for name in reads(config, config.step) if name != "seed")


def finished(runs, config):
    """The finished runs of `config`'s step and setting, any seed, newest first.

    Args:
        runs: iterable of runs (`labcore.store.Run`, or anything with `id`,
            `status`, `config` and `result`).
        config: Config, the step and setting wanted.

    Returns:
        list of runs.
    """
    return [run for run in sorted(runs, key=lambda run: run.id, reverse=True)
            if run.status == "done" and run.result and same_setting(config, run.config)]


def by_seed(runs, config):
    """The results of `config`'s step and setting, one per seed: the newest finished run's.

    Args:
        runs: iterable of runs, as `finished` takes them.
        config: Config, the step and setting wanted.

    Returns:
        dict seed -> result dict, in seed order.
    """
    found = {}
    for run in finished(runs, config):
        found.setdefault(run.config["seed"], run.result)
    return dict(sorted(found.items()))


def _trained_on(run):
    """The dataset a stored Ensemble lab or Model Builder run trained on."""
    return run.config["dataset"] if run.kind == "ensemble" else run.config.get("train", {}).get("dataset")


def teacher_runs(store, owner, teacher, dataset, limit=50):
    """This owner's finished runs that can be the teacher: the page's choices for `teacher_run`.

    Only runs on `dataset` that kept what the teacher is loaded from (each
    member's weights; the `model.keras`) are offered. Whether a model takes
    the dataset's own image shape the runner checks when it loads it.

    Args:
        store: labcore.store.Store.
        owner: str, whose runs.
        teacher: str, "ensemble" or "run".
        dataset: str, the lab's dataset.
        limit: int, at most this many of the newest runs looked at.

    Returns:
        list of dict, newest first: "run" (its id), "label" (what the run is
        and how well it scored on its own test images) and "params" (the
        teacher's parameters, all members' for an ensemble).
    """
    kind = TEACHER_RUNS[teacher][0]
    wanted = member_weights(1) if teacher == "ensemble" else export.ARTIFACTS["keras"]
    found = []
    for run in store.list_runs(statuses=("done",), owner=owner, kind=kind, limit=limit):
        if _trained_on(run) != dataset or wanted not in {a.name for a in store.artifacts(run.id)}:
            continue
        result = run.result or {}
        if teacher == "ensemble":
            members = result.get("members", [])
            scored = result.get("votes", {}).get("rules", {}).get("soft", {}).get("accuracy")
            label = f"#{run.id} · {len(members)} members · soft vote"
            params = sum(member["params"] for member in members)
        else:
            scored, params = result.get("test_accuracy"), result.get("params")
            label = f"#{run.id} · {run.title or run.config['spec'].get('name', 'model')} ·"
        found.append({"run": run.id, "label": label + (f" {scored:.1%}" if scored is not None else ""),
                      "params": params})
    return found


# ## Validation (the kind's validator, Keras-free)


def problems(config):
    """Every problem with a run's config, as messages; empty when it can run.

    Checks each field against `RANGES`, that the dataset can be loaded,
    that the subsets and the batch fit it, that a stored teacher is named,
    and that the specs are valid. Whether the named run exists, finished
    and fits the data only the store can say: the runner checks that
    (`labcore.labs.distillation.teachers`).

    Args:
        config: dict, a `Config.to_dict()`.

    Returns:
        list of str.

    Example:
    >>> problems({**Config().to_dict(), "alpha": 1.5})
    ['alpha must be a float in [0, 1]; got 1.5.']
    """
    parsed, found, _ = records.check(Config, config, RANGES)
    if found:
        return found
    available, message = data.availability(parsed.dataset)
    if not available:
        return [f"dataset {parsed.dataset!r} is not available: {message}"]
    info = data.DATASETS[parsed.dataset]
    for name, limit, what in (("subset", info.n_train, "training"), ("test_subset", info.n_test, "test")):
        value = getattr(parsed, name)
        if value is not None and value > limit:
            found.append(describe(name, f"at most {limit} (the {what} images of {info.key!r})", value))
    drawn = min(parsed.subset or info.n_train, info.n_train)
    n_train = drawn - max(1, round(parsed.val_fraction * drawn))
    if parsed.batch_size > n_train:
        found.append(describe("batch_size", f"an int in [1, {n_train}] (the training images)", parsed.batch_size))
    if parsed.teacher != "convnet" and parsed.teacher_run is None:
        found.append(describe("teacher_run", f"the number of a finished {TEACHER_RUNS[parsed.teacher][1]} run "
                                             f"when teacher is {parsed.teacher!r}", None))
    specs = (teacher_spec(parsed), student_spec(parsed)) if parsed.teacher == "convnet" else (student_spec(parsed),)
    for model_spec in specs:
        found += spec_lib.problems(model_spec)
    return found


# ## What the page computes (pure functions of stored results)


def soften(logits, temperature):
    """The softmax of logits divided by T: the teacher's soft targets.

    Log-probabilities give the same result as the logits they came from:
    log softmax(z) differs from z by one constant per image, which the
    softmax cancels.

    Args:
        logits: array (..., classes).
        temperature: float > 0.

    Returns:
        float64 array like `logits`, each row summing to 1.

    Example:
    >>> soften([[2.0, 0.0]], 1.0).round(3).tolist()
    [[0.881, 0.119]]
    """
    scaled = np.asarray(logits, dtype=np.float64) / temperature
    # Less the row's largest value, so exp never overflows.
    exponentials = np.exp(scaled - scaled.max(axis=-1, keepdims=True))
    return exponentials / exponentials.sum(axis=-1, keepdims=True)


def dark_knowledge(logits, temperatures=DARK_TEMPERATURES):
    """One image's class probabilities at each temperature, for the bars.

    Args:
        logits: array (classes,), the teacher's logits for the image.
        temperatures: iterable of float.

    Returns:
        list of dict with "temperature", "class" (index) and "probability".
    """
    return [{"temperature": temperature, "class": index, "probability": float(probability)}
            for temperature in temperatures
            for index, probability in enumerate(soften(logits, temperature))]


def telling_image(logits, labels, sure=0.9):
    """A test image whose dark knowledge shows: the teacher is right and sure, and its runner-up the strongest.

    A near tie between two classes shows little: the lesson is the faint
    probabilities a confident teacher still gives the wrong classes.

    Args:
        logits: array (images, classes), the teacher's.
        labels: int array (images,).
        sure: float, the top-class probability (at T = 1) an image needs,
            among those the teacher gets right; when none has it, any
            image it gets right will do.

    Returns:
        int, an index into the test images (0 when the teacher gets none right).
    """
    probabilities = soften(logits, 1.0)
    right = probabilities.argmax(axis=1) == np.asarray(labels)
    confident = right & (probabilities.max(axis=1) >= sure)
    candidates = confident if confident.any() else right
    if not candidates.any():
        return 0
    runner_up = np.sort(probabilities, axis=1)[:, -2]
    return int(np.argmax(np.where(candidates, runner_up, -1.0)))


def sweep_cells(results):
    """The sweep's cells over seeds: one per (T, alpha), with every seed's readings.

    Args:
        results: iterable of sweep results (one per seed; partial results,
            with the cells trained so far, are fine).

    Returns:
        list of dict with "temperature", "alpha", "test_accuracy" and
        "val_accuracy" (lists, one per seed that trained the cell), sorted
        by T, then alpha.
    """
    cells = {}
    for result in results:
        for cell in result.get("cells", []):
            key = (cell["temperature"], cell["alpha"])
            entry = cells.setdefault(key, {"temperature": key[0], "alpha": key[1], "test_accuracy": [],
                                           "val_accuracy": []})
            entry["test_accuracy"].append(cell["test_accuracy"])
            entry["val_accuracy"].append(cell["val_accuracy"])
    return [cells[key] for key in sorted(cells)]


def best_cell(cells):
    """The cell with the best mean validation accuracy, or None when there is none.

    Chosen on validation images, so its test accuracy is not flattered by
    having been picked on the test set.
    """
    return max(cells, key=lambda cell: float(np.mean(cell["val_accuracy"])), default=None)
