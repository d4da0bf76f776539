"""The Knowledge distillation lab's settings: its steps, one run's `Config`, ranges and presets.

One `Config` is one run: which step it trains and every setting of the
lab. A step reads only some fields (`STEP_FIELDS`): the student from
scratch never reads the temperature, so `recipe.step_config` resets what a
step does not read, and changing T on the page leaves the teacher's and
the student's runs the same runs (shared, found again, never trained
twice). Keras-free and Altair-free: the page, the validator and the runner
all start here.
"""

import dataclasses

from labcore import data, trainconfig
from labcore import spec as spec_lib
from labcore.records import Record
from labcore.spec import Range

__all__ = [
    "DARK_TEMPERATURES",
    "PRESETS",
    "PRESET_NOTES",
    "RANGES",
    "STEPS",
    "CONVNET_FIELDS",
    "STEP_FIELDS",
    "TEACHERS",
    "TEACHER_RUNS",
    "TEACHER_WEIGHTS",
    "Config",
]

# Each step: the label charts and tables use.
STEPS = {
    "teacher": "teacher",
    "student": "student from scratch",
    "distil": "distilled student",
    "sweep": "T x alpha sweep",
}

# Where the teacher comes from: its label on the page.
TEACHERS = {
    "convnet": "this lab's ConvNet (the teacher step)",
    "ensemble": "an Ensemble lab run (its members' averaged softmax)",
    "run": "a Model Builder run (any composable spec)",
}
# A stored teacher's run: its job kind, and where the learner trains one.
TEACHER_RUNS = {"ensemble": ("ensemble", "Ensemble lab"), "run": ("train", "Model Builder")}

# The data and the training recipe every step shares.
_SHARED = ("dataset", "seed", "subset", "val_fraction", "test_subset", "bn_momentum", "batch_size",
           "learning_rate")
_TEACHER = ("teacher_width", "teacher_blocks", "teacher_epochs")
_STUDENT = ("student_width", "student_blocks", "epochs")
# What each step reads; `recipe.step_config` resets every other field to its
# default, and of the teacher's fields keeps only those of its source: the
# ConvNet's shape, or the stored run a teacher is loaded from.
STEP_FIELDS = {
    "teacher": _SHARED + _TEACHER,
    "student": _SHARED + _STUDENT,
    "distil": _SHARED + ("teacher", "teacher_run") + _TEACHER + _STUDENT + ("temperature", "alpha"),
    "sweep": _SHARED + ("teacher", "teacher_run") + _TEACHER + _STUDENT + ("sweep_temperatures", "sweep_alphas"),
}
# The fields only the ConvNet teacher reads.
CONVNET_FIELDS = _TEACHER

# The teacher step stores its trained weights under this name; the distil
# and sweep steps load them.
TEACHER_WEIGHTS = "teacher.weights.h5"
# The temperatures the dark-knowledge bars show the teacher's probabilities at.
DARK_TEMPERATURES = (1, 2, 5, 10, 20)


@dataclasses.dataclass(frozen=True)
class Config(Record):
    """One step of the lab; the defaults are the quick preset.

    Teacher and student are the same plain ConvNet (a 3x3 stem, then three
    groups of width, 2x and 4x filters, each halving the map), at two
    sizes: the teacher wider and deeper.

    Args:
        step: str, a key of `STEPS`.
        dataset: str, a key of `labcore.data.DATASETS`.
        seed: int in [0, 999999]: the data subset, the initial weights and
            the batch order. The student from scratch and the distilled
            student with the same seed start from the same weights.
        subset: int or None, training images drawn (validation included);
            None = all.
        val_fraction: float in (0, 0.5], the share held out for validation
            (the sweep picks its best cell there, not on the test set).
        test_subset: int or None, test images evaluated; None = all.
        bn_momentum: float in [0.5, 1), every batch norm's: Keras's 0.99
            needs more steps than a quick run trains to forget its start.
        teacher: str, a key of `TEACHERS`: where the distil and sweep
            steps' teacher comes from. "convnet" is this lab's teacher
            step's (the next three fields); "ensemble" and "run" load a
            stored run, `teacher_run`.
        teacher_run: int or None, the finished Ensemble lab run ("ensemble")
            or Model Builder run ("run") the teacher is; on the same dataset,
            its models taking the dataset's own images. Unused by "convnet".
        teacher_width: int in [1, 256], the teacher's stem filters.
        teacher_blocks: int in [1, 16], the teacher's blocks per group.
        teacher_epochs: int in [1, 500].
        student_width: int in [1, 256], the student's stem filters.
        student_blocks: int in [1, 16], the student's blocks per group.
        epochs: int in [1, 500], the student's, from scratch and distilled alike.
        batch_size: int in [1, 4096].
        learning_rate: float in (0, 10], Adam's rate, decaying along a
            cosine to 0 over each fit.
        temperature: float in (0, 100], T of the distil step.
        alpha: float in [0, 1], the distil step's weight of the labels'
            loss; 1 - alpha weighs the teacher's (Keras's
            `student_loss_weight`).
        sweep_temperatures: tuple of 1 to 6 floats in (0, 100].
        sweep_alphas: tuple of 1 to 6 floats in [0, 1].
    """

    step: str = "teacher"
    dataset: str = data.DEFAULT_DATASET
    seed: int = 0
    subset: int | None = None
    val_fraction: float = 0.1
    test_subset: int | None = None
    bn_momentum: float = 0.9
    teacher: str = "convnet"
    teacher_run: int | None = None
    teacher_width: int = 24
    teacher_blocks: int = 2
    teacher_epochs: int = 6
    student_width: int = 8
    student_blocks: int = 1
    epochs: int = 6
    batch_size: int = 64
    learning_rate: float = 1e-3
    temperature: float = 4.0
    alpha: float = 0.1
    sweep_temperatures: tuple = (2.0, 4.0, 8.0)
    sweep_alphas: tuple = (0.1, 0.5)


_EPOCHS = Range("int", 1, 500)
# The last group has 4x the stem's filters, and a layer at most 1024.
_WIDTH = Range("int", 1, 256)
_TEMPERATURE = Range("float", 0.0, 100.0, lo_open=True)
_ALPHA = Range("float", 0.0, 1.0)

RANGES = {
    "step": Range("choice", choices=tuple(STEPS)),
    # The live registry, not a copy: datasets uploaded while the server runs are choices too.
    "dataset": Range("choice", choices=data.DATASETS),
    "seed": trainconfig.RANGES["seed"],
    "subset": trainconfig.RANGES["subset"],
    "val_fraction": Range("float", 0.0, 0.5, lo_open=True),
    "test_subset": trainconfig.RANGES["test_subset"],
    "bn_momentum": spec_lib.RANGES["hyper.bn_momentum"],
    "teacher": Range("choice", choices=tuple(TEACHERS)),
    "teacher_run": Range("int", 1, 10**9, optional=True),
    "teacher_width": _WIDTH,
    "teacher_blocks": spec_lib.RANGES["learner.groups.n_blocks"],
    "teacher_epochs": _EPOCHS,
    "student_width": _WIDTH,
    "student_blocks": spec_lib.RANGES["learner.groups.n_blocks"],
    "epochs": _EPOCHS,
    "batch_size": trainconfig.RANGES["batch_size"],
    "learning_rate": trainconfig.RANGES["learning_rate"],
    "temperature": _TEMPERATURE,
    "alpha": _ALPHA,
    "sweep_temperatures": Range("tuple", 1, 6, item=_TEMPERATURE, what="floats (temperatures)"),
    "sweep_alphas": Range("tuple", 1, 6, item=_ALPHA, what="floats (alphas)"),
}


# ## Presets
#
# quick keeps each step near a minute on a 2-core CPU: all 5,400 training
# images of the built-in subset, a teacher of 169k parameters against a
# student of 7k (24x fewer), six epochs each. Its sweep distils six
# students, so it takes several minutes. tiny takes seconds (tests). full
# is the keras-io example's setting on MNIST, with a larger sweep: a GPU's.

PRESETS = {
    "tiny": dataclasses.replace(
        Config(), subset=600, test_subset=200, teacher_width=8, teacher_blocks=1, teacher_epochs=1,
        student_width=4, epochs=1, batch_size=32, sweep_temperatures=(2.0, 8.0), sweep_alphas=(0.5,),
    ),
    "quick": Config(),
    "full": dataclasses.replace(
        Config(), dataset="mnist", teacher_width=64, teacher_blocks=2, teacher_epochs=20, student_width=16,
        epochs=20, bn_momentum=0.99, temperature=10.0, sweep_temperatures=(1.0, 2.0, 5.0, 10.0, 20.0),
        sweep_alphas=(0.1, 0.3, 0.5, 0.7, 0.9),
    ),
}

PRESET_NOTES = {
    "tiny": "Seconds: 540 images, 1 epoch, a 4-filter student. For tests; the numbers mean little.",
    "quick": "About a minute a step on a laptop CPU (the sweep: a few): a 169k-parameter teacher, a "
             "7k-parameter student, 6 epochs on 5,400 images.",
    "full": "MNIST as in keras-io and Hinton et al.: a 1.2M-parameter teacher, a 27k-parameter student, "
            "20 epochs, a 5 x 5 sweep (hours on a CPU; use a GPU).",
}
