"""Take a Model Builder run out of the app: the trained model, its spec, or a script that needs only Keras.

A learner who built a model here should be able to keep it and train it
elsewhere. Every `train` run stores, when it finishes, the trained model
as `model.keras` and a standalone script, `train_script.py`, that
rebuilds the same model with Keras alone (no labcore: the architecture as
Keras's own JSON), reads the same dataset files (IDX, the MNIST layout)
and trains with the run's settings: optimizer, the learning rate of every
epoch, label smoothing, batch size, epochs, subset and validation share.
The script draws its subset with the same seed but not labcore's
stratified draw, so its accuracy agrees with the run's within seed noise,
not bit for bit.

`script` is pure Python (the worker calls it with the model's JSON);
`exported` reads what a run stored, for the CLI and the Runs page.
"""

import json
import pprint

from labcore import data, schedules
from labcore.errors import LabError

__all__ = ["ARTIFACTS", "FORMATS", "exported", "script"]

# The artifact each export format is stored under ("spec" comes from the run's config).
ARTIFACTS = {"keras": "model.keras", "script": "train_script.py"}
FORMATS = ("keras", "spec", "script")

_TEMPLATE = '''"""Train {title!s} with Keras alone: exported from Composable Labs{run_part}.

The model is the run's own architecture, as Keras's JSON; the data are the
{dataset_title} IDX files; the settings are the run's. Usage:

    python train_script.py [--data FOLDER] [--epochs N] [--subset N]

--data defaults to the folder the run's files were found in; --epochs and
--subset shorten a trial run. It prints the parameter count, then Keras's
progress, then the accuracy on the whole test set.
"""

import argparse
import gzip
import json
import pathlib

import keras
import numpy as np

SETTINGS = {settings}


def read_idx(path):
    """An IDX file (gzipped or not) as a NumPy array."""
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as stream:
        raw = stream.read()
    n_dims = raw[3]
    shape = [int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(n_dims)]
    return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * n_dims).reshape(shape)


def find(folder, stem):
    for name in (stem, stem + ".gz"):
        if (folder / name).is_file():
            return folder / name
    raise SystemExit(f"{{stem}}(.gz) not found in {{folder}}: pass --data with the dataset's IDX files.")


def images(folder, part):
    """Images as float32 in [0, 1], zero-padded and with channels to fit the model's input."""
    x = read_idx(find(folder, f"{{part}}-images-idx3-ubyte")).astype(np.float32) / 255.0
    x = x[..., np.newaxis]
    height, width, channels = SETTINGS["input_shape"]
    top, left = (height - x.shape[1]) // 2, (width - x.shape[2]) // 2
    x = np.pad(x, ((0, 0), (top, height - x.shape[1] - top), (left, width - x.shape[2] - left), (0, 0)))
    return np.repeat(x, channels, axis=-1) if channels == 3 else x


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=SETTINGS["data_folder"])
    parser.add_argument("--epochs", type=int, default=SETTINGS["epochs"])
    parser.add_argument("--subset", type=int, default=SETTINGS["subset"])
    args = parser.parse_args()
    folder = pathlib.Path(args.data)
    keras.utils.set_random_seed(SETTINGS["seed"])
    if SETTINGS["mixed_precision"]:
        keras.mixed_precision.set_global_policy("mixed_float16")

    x, y = images(folder, "train"), read_idx(find(folder, "train-labels-idx1-ubyte")).astype(np.int64)
    x_test, y_test = images(folder, "t10k"), read_idx(find(folder, "t10k-labels-idx1-ubyte")).astype(np.int64)
    order = np.random.default_rng(SETTINGS["seed"]).permutation(len(x))[: args.subset or len(x)]
    n_val = round(SETTINGS["val_fraction"] * len(order))
    train, val = order[: len(order) - n_val], order[len(order) - n_val:]

    model = keras.models.model_from_json(json.dumps(MODEL_JSON))
    print(f"parameters: {{model.count_params()}}")
    optimizers = {{
        "adam": lambda: keras.optimizers.Adam(SETTINGS["learning_rate"]),
        "adamw": lambda: keras.optimizers.AdamW(SETTINGS["learning_rate"], weight_decay=SETTINGS["weight_decay"]),
        "sgd": lambda: keras.optimizers.SGD(SETTINGS["learning_rate"], momentum=SETTINGS["momentum"]),
        "rmsprop": lambda: keras.optimizers.RMSprop(SETTINGS["learning_rate"]),
    }}
    smoothing = SETTINGS["label_smoothing"]
    n_classes = model.output_shape[-1]
    # Keras's sparse cross-entropy has no label smoothing: smoothed runs train on one-hot labels.
    targets = (lambda labels: keras.utils.to_categorical(labels, n_classes)) if smoothing else (lambda labels: labels)
    loss = (keras.losses.CategoricalCrossentropy(label_smoothing=smoothing) if smoothing
            else keras.losses.SparseCategoricalCrossentropy())
    model.compile(optimizer=optimizers[SETTINGS["optimizer"]](), loss=loss, metrics=["accuracy"])
    rates = SETTINGS["rates"]
    model.fit(
        x[train], targets(y[train]), batch_size=SETTINGS["batch_size"], epochs=args.epochs,
        validation_data=(x[val], targets(y[val])) if len(val) else None,
        callbacks=[keras.callbacks.LearningRateScheduler(lambda epoch: rates[min(epoch, len(rates) - 1)])],
        verbose=2,
    )
    _, accuracy = model.evaluate(x_test, targets(y_test), verbose=0)
    print(f"test accuracy: {{accuracy:.4f}}")


# The architecture, as Keras serialised it (the end of the file, as it is long).
MODEL_JSON = {model_json}


if __name__ == "__main__":
    main()
'''


def script(model_json, config, run_id, title):
    """The standalone training script of a `train` run, as Python source.

    Args:
        model_json: str, `model.to_json()` of the run's model.
        config: trainconfig.RunConfig of the run.
        run_id: int or None, named in the docstring.
        title: str, the run's title.

    Returns:
        str, the script.

    Raises:
        LabError: the run's dataset is not on disk in the MNIST (IDX)
            layout; the message names it.
    """
    train = config.train
    info = data.DATASETS[train.dataset]
    data_folder = data.idx_folder(train.dataset)
    if data_folder is None:
        raise LabError(f"{train.dataset}: the exported script reads IDX files, and this dataset has none on disk.")
    settings = {
        "input_shape": list(config.spec.input_shape),
        "data_folder": str(data_folder),
        "epochs": train.epochs,
        "batch_size": train.batch_size,
        "learning_rate": train.learning_rate,
        "rates": [schedules.lr_at(epoch, train.learning_rate, train.schedule, train.epochs)
                  for epoch in range(train.epochs)],
        "optimizer": train.optimizer,
        "momentum": train.momentum,
        "weight_decay": train.weight_decay,
        "label_smoothing": train.label_smoothing,
        "seed": train.seed,
        "subset": train.subset,
        "val_fraction": train.val_fraction,
        "mixed_precision": train.mixed_precision,
    }
    run_part = "" if run_id is None else f" (run #{run_id})"
    architecture = json.loads(model_json)
    architecture.pop("compile_config", None)  # the script compiles the model itself
    return _TEMPLATE.format(title=title.replace('"', "'"), run_part=run_part, dataset_title=info.title,
                            model_json=pprint.pformat(architecture, width=110, compact=True),
                            settings=pprint.pformat(settings, width=110, sort_dicts=False))


def exported(store, run, fmt):
    """What a run exports in `fmt`, as (file name, bytes).

    Args:
        store: labcore.store.Store.
        run: a `train` run of the store.
        fmt: str, one of `FORMATS`.

    Returns:
        (str, bytes).

    Raises:
        LabError: `fmt` unknown, the run is not a Model Builder run, or
            it stored nothing to export (it did not finish, or it ran
            before exports existed); the message says which.
    """
    if fmt not in FORMATS:
        raise LabError(f"format must be one of {', '.join(FORMATS)}; got {fmt!r}.")
    if run.kind != "train":
        raise LabError(f"Run {run.id} is a {run.kind!r} run; only Model Builder runs (kind 'train') export.")
    if fmt == "spec":
        return f"run{run.id}_spec.json", json.dumps(run.config["spec"], indent=2).encode()
    name = ARTIFACTS[fmt]
    try:
        content = store.read_artifact(run.id, name)
    except (KeyError, OSError):
        raise LabError(f"Run {run.id} stored no {name} (status {run.status}): only runs that finished "
                         "since exports were added have one.") from None
    return f"run{run.id}_{name}", content
