"""The AutoEncoder lab's charts and sentences, drawn from a stored run.

Every figure the page states is measured by the run and stands beside
what the original lab told its students (`ORIGINAL`). Imports Altair
(through `labcore.viz`), so only pages import this module, never a worker.
"""

from labcore import seeds, viz
from labcore.answers import Answer, accuracy_difference, sampling_error
from labcore.labs.autoencoder import recipe
from labcore.labs.autoencoder.config import SERIES

__all__ = [
    "ORIGINAL",
    "answers",
    "overfitting_verdict",
    "accuracy_chart",
    "comparison_rows",
    "compression_text",
    "fine_tune_sentence",
    "loss_chart",
    "overfitting_text",
    "psnr_chart",
    "reconstruction_text",
    "shape_text",
    "speed_text",
    "speed_up_sentence",
    "times_faster",
    "timing_chart",
]

# What the original lab told its students (on CIFAR-10, Colab GPU), shown
# beside each measured figure.
ORIGINAL = {
    "autoencoder": (
        "25 epochs (5 warm-up + 20) \"take about 4 minutes\" on a Colab GPU, and \"you should "
        "see a validation accuracy ~80%\" — an accuracy of an MSE reconstruction, which "
        "measures nothing; MSE and PSNR below are what matter."
    ),
    "compression": "32x32x3 = 3,072 pixels reduced to a 4x4x32 code of 512 values (6x).",
    "speed": (
        "training on encodings should be faster; the notebook never trained on pixels and "
        "never timed either (20 epochs \"about 4 minutes\" on a Colab GPU)."
    ),
    "accuracy": (
        "the encoded model \"overfits the encoded training data, and plateaus on accuracy on "
        "the encoded test data at ~61% (50% with V2)\"."
    ),
}


def shape_text(shape):
    """A shape as the page writes it.

    Example:
    >>> shape_text((4, 4, 32))
    '4 x 4 x 32'
    """
    return " x ".join(map(str, shape))


def _percent(value):
    return "" if value is None else f"{100 * value:.1f}%"


def times_faster(ratio):
    """A ratio of times in words: '2.5x faster' above 1, '1.5x slower' below.

    Example:
    >>> times_faster(2.5), times_faster(0.5)
    ('2.5x faster', '2.0x slower')
    """
    return f"{ratio:.1f}x faster" if ratio >= 1 else f"{1 / ratio:.1f}x slower"


# ## Charts


def loss_chart(epoch_rows):
    """The autoencoder's MSE per epoch from its `recipe.curve_rows` (a Vega-Lite spec); None without rows.

    No gap band: a reconstruction error below validation's is not the overfitting the band stands for.
    """
    return viz.curves_spec(epoch_rows, metric="loss", title="autoencoder loss (MSE) per epoch", gap=False)


def psnr_chart(psnr, n_images):
    """A histogram of the held-out images' PSNR."""
    return viz.bar_chart(recipe.histogram_rows(psnr), "PSNR (dB)", "images",
                         f"PSNR of the {n_images:,} held-out images")


def timing_chart(result):
    """Steady-state seconds per epoch of each classifier trained."""
    return viz.bar_chart(recipe.timing_rows(result), "classifier", "seconds per epoch",
                         "seconds per epoch (steady state)", y_format=".2f")


def accuracy_chart(metric_rows):
    """Training and validation accuracy per epoch of every classifier (a Vega-Lite spec); None without rows."""
    return viz.curves_spec(recipe.curve_rows(metric_rows), metric="accuracy",
                            title="accuracy per epoch: training (solid), validation (dashed)")


# ## Tables and sentences


def comparison_rows(result):
    """The raw-vs-encoded table: one row per measure, one column per classifier.

    Args:
        result: dict, a run's result (steps may be missing while it runs).

    Returns:
        list of dicts with keys "measure" and one per classifier trained
        ("on pixels", "on codes", "fine-tuned encoder"); empty before step 3.
    """
    trained = [name for name in ("raw", "encoded", "fine_tune") if name in result]
    if not trained:
        return []
    measures = (
        ("input per image", lambda r, name: _input_text(result, name)),
        ("parameters", lambda r, name: f"{r['params']:,}"),
        ("trained parameters", lambda r, name: f"{r['trainable_params']:,}"),
        ("train accuracy (last epoch)", lambda r, name: _percent(r["train_accuracy"])),
        ("validation accuracy (last epoch)", lambda r, name: _percent(r["val_accuracy"])),
        ("test accuracy", lambda r, name: _percent(r["test_accuracy"])),
        ("seconds per epoch (steady)", lambda r, name: f"{r['seconds_per_epoch']:.2f}"),
        ("first epoch seconds (compiles)", lambda r, name: f"{r['first_epoch_seconds']:.2f}"),
        ("images per second (steady)", lambda r, name: f"{r['images_per_second']:,.0f}"),
    )
    return [
        {"measure": measure, **{SERIES[name]: shown(result[name], name) for name in trained}}
        for measure, shown in measures
    ]


def _input_text(result, name):
    shape = result.get("code_shape") if name == "encoded" else result.get("input_shape")
    return shape_text(shape) if shape else ""


def compression_text(sizes):
    """What a config's bottleneck does to each image, from `recipe.bottleneck`."""
    return (
        f"{shape_text(sizes['input_shape'])} = {sizes['input_size']:,} values reduced to a "
        f"{shape_text(sizes['code_shape'])} code of {sizes['code_size']:,} "
        f"({sizes['compression_ratio']:.1f}x), with these settings."
    )


# From about this PSNR up, fine details (prints, laces, stitching) survive.
SHARP_DB = 22.0


def reconstruction_text(result):
    """The measured reconstruction error and training time, and what they say about sharpness.

    Args:
        result: dict, a run's result after step 2.
    """
    quality, trained = result["reconstruction"], result["autoencoder"]
    measured = (
        f"MSE {quality['mse_mean']:.4f} (untrained: {trained['mse_before_training']:.4f}), PSNR "
        f"{quality['psnr_db_mean']:.1f} dB on {quality['images']:,} test images after "
        f"{trained['epochs']} epochs in {trained['seconds']:.0f} s on this machine."
    )
    if quality["psnr_db_mean"] >= SHARP_DB:
        return f"{measured} At {SHARP_DB:.0f} dB or more, fine details survive the code."
    train_loss, val_loss = trained.get("final_train_loss"), trained["final_val_loss"]
    said = (f"{measured} Below {SHARP_DB:.0f} dB the shapes are recognisable but fine details "
            "(prints, laces) blur.")
    if train_loss is not None and train_loss >= 0.9 * val_loss:
        said += (f" The last epoch's training MSE ({train_loss:.4f}) is no lower than validation's "
                 f"({val_loss:.4f}): the autoencoder has not memorised anything, it has not finished "
                 "learning. More epochs, or a wider decoder, would sharpen it; regularization would not.")
    return said


def speed_up_sentence(result, dataset_title):
    """The measured speed-up and accuracy cost of training on codes, in words.

    Args:
        result: dict, a run's result after step 3.
        dataset_title: str, the dataset's display name.

    Returns:
        str, or "" before step 3.
    """
    if "speed_up" not in result:
        return ""
    raw, encoded, encoding = result["raw"], result["encoded"], result["encoding"]
    cost = result["accuracy_cost_points"]
    direction = (f"{abs(cost):.1f} points lower" if cost > 0
                 else f"{abs(cost):.1f} points higher" if cost < 0 else "the same")
    return (
        f"On {dataset_title}, the classifier on the {shape_text(result['code_shape'])} codes trained "
        f"**{times_faster(result['speed_up'])}** per epoch than the same head on pixels "
        f"({encoded['seconds_per_epoch']:.2f} s vs {raw['seconds_per_epoch']:.2f} s, steady "
        f"state: the first epoch, which also compiles, is left out), and its test accuracy was "
        f"**{direction}** ({_percent(encoded['test_accuracy'])} vs "
        f"{_percent(raw['test_accuracy'])}). Encoding the {encoding['images']:,} images once "
        f"took {encoding['seconds']:.1f} s; counting it, the {raw['epochs']} epochs on codes were "
        f"{times_faster(result['speed_up_including_encoding'])}."
    )


def speed_text(result):
    """The speed-up per epoch on codes, with and without the encoding pass."""
    return (
        f"{times_faster(result['speed_up'])} per epoch on codes "
        f"({times_faster(result['speed_up_including_encoding'])} counting the encoding pass)."
    )


def overfitting_text(result):
    """Training, validation and test accuracy of each classifier, with its gap.

    Args:
        result: dict, a run's result after step 3.

    Returns:
        str, e.g. "on codes: training 83.9%, validation 81.4% (gap 2.5
        points), test 81.2%; on pixels: ...".
    """
    parts = []
    for name in ("encoded", "raw", "fine_tune"):
        if name not in result:
            continue
        measured = result[name]
        gap = 100 * (measured["train_accuracy"] - measured["val_accuracy"])
        parts.append(
            f"{SERIES[name]}: training {_percent(measured['train_accuracy'])}, validation "
            f"{_percent(measured['val_accuracy'])} (gap {gap:.1f} points), test "
            f"{_percent(measured['test_accuracy'])}"
        )
    return "; ".join(parts) + "."


def overfitting_verdict(result):
    """Whether each classifier of this run overfit, judged against its validation set's noise.

    A gap (training minus validation accuracy) counts as overfitting when
    it is larger than 1.96 sampling errors of the validation accuracy, so
    the sentence says what this run did, whichever way it went.

    Args:
        result: dict, a run's result after step 3.

    Returns:
        str, markdown.
    """
    parts = []
    for name in ("encoded", "raw"):
        measured = result[name]
        gap = measured["train_accuracy"] - measured["val_accuracy"]
        noise = 1.96 * sampling_error(measured["val_accuracy"], result["n_val"])
        verdict = "overfit" if gap > noise else "did not overfit"
        parts.append(f"the classifier {SERIES[name]} **{verdict}** (training minus validation: "
                     f"{100 * gap:+.1f} points; {result['n_val']:,} validation images alone vary by "
                     f"±{100 * noise:.1f})")
    return "In this run, " + "; ".join(parts) + "."


def answers(results):
    """The original lab's two questions, answered from runs of one setting (one per seed).

    Args:
        results: list of dict, the results of finished runs that differ only
            in their seed.

    Returns:
        list of `labcore.answers.Answer`.
    """
    questions = ("Can a classifier on the encoded input reach the accuracy of one on the original images?",
                 "How much faster does it train on the encoded input?")
    originals = (f"Never compared: the notebook trained on codes only; {ORIGINAL['accuracy']}",
                 ORIGINAL["speed"][:1].upper() + ORIGINAL["speed"][1:])
    done = [result for result in results if "speed_up" in result]
    if not done:
        pending = "Run the lab above: its step 3 trains the same classifier on pixels and on codes."
        return [Answer(question, pending, original) for question, original in zip(questions, originals)]
    raw = [result["raw"]["test_accuracy"] for result in done]
    encoded = [result["encoded"]["test_accuracy"] for result in done]
    speed_up = seeds.spread([result["speed_up"] for result in done])
    with_encoding = seeds.spread([result["speed_up_including_encoding"] for result in done])
    over = f" (lowest {speed_up.lo:.1f}x over {speed_up.n} seeds)" if speed_up.n > 1 else " (one seed)"
    measured = (
        f"Test accuracy on codes {seeds.spread(encoded).text()}, on pixels {seeds.spread(raw).text()}. "
        f"Codes minus pixels: {accuracy_difference(raw, encoded, done[0]['n_test'])}.",
        f"**{times_faster(speed_up.mean)}** per epoch{over}; {times_faster(with_encoding.mean)} "
        f"once the one encoding pass is counted.",
    )
    return [Answer(*parts) for parts in zip(questions, measured, originals)]


def fine_tune_sentence(result):
    """What starting from the trained encoder bought, against random weights.

    Args:
        result: dict, a run's result after step 4.
    """
    tuned, raw = result["fine_tune"], result["raw"]
    return (
        f"Starting from the trained encoder, the classifier on pixels reached "
        f"**{_percent(tuned['test_accuracy'])}** test accuracy, against "
        f"{_percent(raw['test_accuracy'])} from random weights, in the same "
        f"{tuned['epochs']} epochs (its row and curve are in the table and chart above)."
    )
