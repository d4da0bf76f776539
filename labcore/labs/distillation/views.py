"""The Knowledge distillation lab's views: its charts, the published numbers and every result sentence.

Every function takes the learner's finished runs of one setting as
`found`: step -> {seed: result} (`recipe.by_seed` per step), so each
sentence is computed from the runs beside it, judged against the noise
(`labcore.answers.accuracy_verdict`: over seeds, paired by seed where two
or more match, else against the test set's sampling error), and branches
on which way they went. `PUBLISHED` keeps what Hinton et al. (2015) and the
keras-io example reported, to set beside the measured numbers. Imports
Altair: only pages import this module, never a worker.
"""

import altair as alt
import numpy as np
import pandas as pd

from labcore import seeds
from labcore.answers import Answer, accuracy_verdict
from labcore.labs.distillation.config import DARK_TEMPERATURES, STEPS
from labcore.labs.distillation.recipe import best_cell, dark_knowledge, size_kb, soften, sweep_cells

__all__ = ["PUBLISHED", "answers", "dark_knowledge_chart", "dark_knowledge_text", "distil_text", "reading_text",
           "side_by_side", "sweep_chart", "sweep_text", "teacher_name", "teacher_text", "transfer_text"]

# What the sources reported, on MNIST's 10,000 test images.
PUBLISHED = {
    "hinton": "Hinton, Vinyals & Dean (2015), MNIST: a teacher of two 1,200-unit layers (dropout, jittered "
              "images) made 67 test errors; a net of two 800-unit layers trained on the labels alone made 146; "
              "the same net distilled at T = 20 made 74.",
    "keras_io": "keras-io's knowledge-distillation example (MNIST, T = 10, alpha = 0.1): teacher ~97.6%, "
                "student from scratch ~97.6%, distilled student ~98.1%.",
    "temperature": "Hinton et al.: with 300 or more units per layer, every T above 8 did about as well; with "
                   "30, T from 2.5 to 4 did clearly better than higher or lower. The best results came with a "
                   "considerably lower weight on the labels' loss than on the soft targets' (a small alpha).",
    "size": "Hinton et al.'s student has about half the teacher's weights (two 800-unit layers against two "
            "1,200-unit ones); neither source timed inference.",
}

# A teacher this many times slower per image than the student is called slower: closer
# timings of models this small say more about the machine's other work than about them.
_SLOWER = 1.5
# Which reading of a step's result describes which model.
_READING = {"teacher": ("teacher", "teacher"), "student": ("student", "student"),
            "distilled": ("distil", "distilled")}


def _readings(found, model):
    """seed -> the reading of `model` ("teacher", "student" or "distilled") in the runs found.

    A teacher loaded from a stored run (an ensemble, a Builder model) has
    no teacher step: the distil runs measured it, so their readings count.
    """
    step, key = _READING[model]
    readings = {seed: result[key] for seed, result in found.get(step, {}).items() if key in result}
    if model == "teacher" and not readings:
        return {seed: result["teacher"] for seed, result in found.get("distil", {}).items() if "teacher" in result}
    return readings


def teacher_name(reading):
    """What the teacher is, in words: "the teacher", or the stored run it came from."""
    if reading.get("source") == "ensemble":
        return f"The teacher, the soft vote of Ensemble run #{reading['from_run']}'s {reading['members']} members,"
    if reading.get("source") == "run":
        return f"The teacher, Model Builder run #{reading['from_run']},"
    return "The teacher"


def _accuracies(readings):
    return {seed: reading["test_accuracy"] for seed, reading in readings.items()}


def _spread(readings, key="test_accuracy"):
    return seeds.spread(reading[key] for reading in readings.values())


def _n_test(found):
    return next((result["n_test"] for results in found.values() for result in results.values()), None)


# ## The models side by side


def reading_text(reading, n_test):
    """One line of what one trained model measured, for the caption under its run.

    Args:
        reading: dict, a model's reading in a run's result.
        n_test: int, the test images it was measured on.

    Returns:
        str, e.g. "test accuracy 84.3% (157 errors in 1,000) · 168,538
        parameters · 0.42 ms per image · 8 epochs in 41 s"; an
        ensemble's epochs are "3 members x 5 epochs".
    """
    epochs = f"{reading['epochs_run']} epochs"
    if reading.get("members"):
        epochs = f"{reading['members']} members x {epochs}"
    return (f"test accuracy {reading['test_accuracy']:.1%} ({reading['test_errors']:,} errors in {n_test:,}) · "
            f"{reading['params']:,} parameters · {reading['inference_ms_per_image']:.2f} ms per image · "
            f"{epochs} in {reading['seconds']:.0f} s")


def side_by_side(params, found):
    """Teacher, student and distilled student: size, speed and accuracy, one row each.

    Args:
        params: dict "teacher" / "student" -> int, the parameter counts
            known before any run (the specs', or a stored teacher run's);
            a run's own count, when one has measured it, is shown instead.
        found: dict step -> {seed: result}.

    Returns:
        list of dict with "model", "parameters", "size (kB)", "ms per image"
        (None before a run measured it), "test accuracy" (mean ± sd over
        seeds, or "not run yet") and "seeds".
    """
    rows = []
    for model in ("teacher", "student", "distilled"):
        readings = _readings(found, model)
        measured = next(iter(readings.values()), {}).get("params")
        count = measured or params["teacher" if model == "teacher" else "student"]
        accuracy, speed = _spread(readings), _spread(readings, "inference_ms_per_image")
        rows.append({"model": STEPS[_READING[model][0]], "parameters": count,
                     "size (kB)": None if count is None else round(size_kb(count), 1),
                     "ms per image": None if speed is None else round(speed.mean, 3),
                     "test accuracy": accuracy.text() if accuracy else "not run yet", "seeds": len(readings)})
    return rows


def teacher_text(found):
    """What the teacher has over the student trained alone: size, time per image, accuracy.

    Args:
        found: dict step -> {seed: result}.

    Returns:
        str, markdown; "" until both have run.
    """
    teacher, student = _readings(found, "teacher"), _readings(found, "student")
    if not teacher or not student:
        return ""
    first, second = next(iter(teacher.values())), next(iter(student.values()))
    verdict = accuracy_verdict(_accuracies(student), _accuracies(teacher), _n_test(found))
    teacher_ms, student_ms = (_spread(teacher, "inference_ms_per_image").mean,
                              _spread(student, "inference_ms_per_image").mean)
    if teacher_ms >= _SLOWER * student_ms:
        speed = f"takes **{teacher_ms / student_ms:.1f}x** as long per test image on this machine"
    else:
        speed = (f"is about as fast per test image on this machine ({teacher_ms:.2f} against {student_ms:.2f} ms): "
                 "at these sizes the time per image shows little of the difference in size")
    text = (f"{teacher_name(first)} has **{first['params'] / second['params']:.0f}x** the student's parameters "
            f"({first['params']:,} against {second['params']:,}) and {speed}. It scores {_spread(teacher).text()} "
            f"against the student's {_spread(student).text()} from scratch: {verdict.text}. ")
    if verdict.beyond_noise and verdict.delta > 0:
        return text + "The teacher knows more than the student learns alone: there is something to distil."
    if verdict.beyond_noise:
        return text + ("The teacher is worse than the student here: its soft targets are likely to teach "
                       "less than the labels do. Train the teacher longer.")
    return text + ("The teacher is no better than the student here, so it has little to pass on: train it "
                   "longer or make it larger before reading the distilled student.")


def distil_text(found):
    """The lab's main comparison: the distilled student against the same student from scratch.

    Args:
        found: dict step -> {seed: result}.

    Returns:
        str, markdown; "" until both have run.
    """
    student, distilled = _readings(found, "student"), _readings(found, "distilled")
    if not student or not distilled:
        return ""
    setting = next(iter(distilled.values()))
    verdict = accuracy_verdict(_accuracies(student), _accuracies(distilled), _n_test(found))
    errors = (f"{_spread(distilled, 'test_errors').mean:,.0f} test errors against "
              f"{_spread(student, 'test_errors').mean:,.0f}")
    text = (f"Distilled at T = {setting['temperature']:g} and alpha = {setting['alpha']:g}, the student scores "
            f"{_spread(distilled).text()} against {_spread(student).text()} from scratch, with the same seeds, "
            f"epochs and images ({errors}): {verdict.text}. ")
    if verdict.beyond_noise and verdict.delta > 0:
        return text + ("**Distillation helped**: the teacher's soft targets taught the student what the labels "
                       "alone did not.")
    if verdict.beyond_noise:
        return text + ("**Distillation hurt** at this setting: matching the teacher pulled the student away "
                       "from the labels. The sweep below tries other temperatures and alphas.")
    return text + "**No difference shown** at this setting: the change is within the noise."


# ## The sweep


def sweep_text(found):
    """The sweep's best cell (chosen on validation images) against the student from scratch.

    Args:
        found: dict step -> {seed: result}.

    Returns:
        str, markdown; "" when no sweep has finished.
    """
    sweeps = found.get("sweep", {})
    cells = sweep_cells(sweeps.values())
    best = best_cell(cells)
    if best is None:
        return ""
    means = [float(np.mean(cell["test_accuracy"])) for cell in cells]
    text = (f"Across {len(cells)} settings the distilled students score {100 * min(means):.1f}% to "
            f"{100 * max(means):.1f}%. The best on the validation images, **T = {best['temperature']:g}, "
            f"alpha = {best['alpha']:g}**, scores {seeds.spread(best['test_accuracy']).text()} on the test images")
    student = _readings(found, "student")
    if not student:
        return text + ": run the student from scratch to compare."
    at_best = {seed: cell["test_accuracy"] for seed, result in sweeps.items() for cell in result["cells"]
               if (cell["temperature"], cell["alpha"]) == (best["temperature"], best["alpha"])}
    verdict = accuracy_verdict(_accuracies(student), at_best, _n_test(found))
    text += f", against {_spread(student).text()} from scratch: {verdict.text}. "
    if verdict.beyond_noise and verdict.delta > 0:
        return text + "Distillation beats the student alone at its best setting."
    if verdict.beyond_noise:
        return text + "Even at its best setting the distilled student stays below the student alone."
    return text + "Even its best setting is within the noise of the student alone."


def transfer_text(best, target, found):
    """The sweep's best cell carried to another dataset: does it still beat the student alone there?

    Args:
        best: dict, the source's best cell (`best_cell`).
        target: str, the other dataset's title.
        found: dict step -> {seed: result}, the runs on the other dataset
            at the carried setting ("sweep": its own sweep there, if any).

    Returns:
        str, markdown; "" until the student and the distilled student ran there.
    """
    carried = distil_text(found)
    if not carried:
        return ""
    text = f"**On {target}**, with the best cell carried over: {carried}"
    own = best_cell(sweep_cells(found.get("sweep", {}).values()))
    if own is None:
        return text
    if (own["temperature"], own["alpha"]) == (best["temperature"], best["alpha"]):
        return text + f" {target}'s own sweep picks the same cell: the setting carried over as the best."
    return text + (f" {target}'s own sweep picks T = {own['temperature']:g}, alpha = {own['alpha']:g} instead: the "
                   "best setting on one dataset was not the best on the other.")


def sweep_chart(cells, height=220):
    """The sweep as a heat map: the distilled student's mean test accuracy per T and alpha.

    Args:
        cells: list of dict, from `recipe.sweep_cells`.
        height: int, pixels.

    Returns:
        alt.LayerChart, or None when no cell has trained.
    """
    if not cells:
        return None
    frame = pd.DataFrame.from_records(
        [{"T": cell["temperature"], "alpha": cell["alpha"], "test accuracy": float(np.mean(cell["test_accuracy"])),
          "validation accuracy": float(np.mean(cell["val_accuracy"])), "seeds": len(cell["test_accuracy"])}
         for cell in cells])
    base = alt.Chart(frame).encode(
        x=alt.X("alpha:O", title="alpha (weight of the labels)", axis=alt.Axis(labelAngle=0)),
        y=alt.Y("T:O", title="temperature T", sort="descending"),
        tooltip=["T:O", "alpha:O", alt.Tooltip("test accuracy:Q", format=".1%"),
                 alt.Tooltip("validation accuracy:Q", format=".1%"), "seeds:Q"],
    )
    cells_drawn = base.mark_rect().encode(color=alt.Color(
        "test accuracy:Q", scale=alt.Scale(scheme="greens", zero=False), legend=alt.Legend(format=".0%")))
    labels = base.mark_text(fontSize=12).encode(text=alt.Text("test accuracy:Q", format=".1%"))
    return (cells_drawn + labels).properties(title="The distilled student's test accuracy by T and alpha",
                                             height=height)


# ## Dark knowledge


def _percent(probability):
    """A probability in words, the faint ones too: "97.1%", "0.0003%"."""
    return f"{probability:.1%}" if probability >= 0.001 else f"{100 * probability:.1g}%"


def dark_knowledge_text(logits, label, class_names):
    """What the teacher's probabilities for one image say as T rises, in words.

    Args:
        logits: array (classes,), the teacher's logits for the image.
        label: int, its true class.
        class_names: the dataset's class names.

    Returns:
        str, markdown.
    """
    low, high = min(DARK_TEMPERATURES), max(DARK_TEMPERATURES)
    cold, hot = soften(logits, low), soften(logits, high)
    top, runner_up = np.argsort(cold)[::-1][:2]
    n_others = len(cold) - 1
    if top != label:
        text = (f"The teacher gets this image wrong: it says **{class_names[top]}**, the label is "
                f"**{class_names[label]}**. ")
    elif cold[top] < 0.5:
        text = "Even at T = 1 the teacher hesitates over this image. "
    else:
        text = ""
    text += (f"At T = {low:g} it gives **{class_names[top]}** {_percent(cold[top])} and the {n_others} other classes "
             f"{_percent(1 - cold[top])} together; at T = {high:g}, {_percent(1 - hot[top])}. ")
    # The runner-up's probability at each temperature: where it peaks says which T shows it best.
    curve = {temperature: soften(logits, temperature)[runner_up] for temperature in DARK_TEMPERATURES}
    peak = max(curve, key=curve.get)
    text += f"Its runner-up, **{class_names[runner_up]}**, "
    if peak == low:
        text += f"has {_percent(curve[low])} at T = {low:g} already, and only loses as T rises"
    elif peak == high:
        text += f"rises from {_percent(curve[low])} to {_percent(curve[high])}"
    else:
        text += (f"rises from {_percent(curve[low])} to {_percent(curve[peak])} at T = {peak:g}, then falls back "
                 f"to {_percent(curve[high])} at T = {high:g}")
    text += (": that ranking of the wrong classes is what a student learns from the soft targets, and never "
             "from the label.")
    if hot.max() < 1.5 / len(hot):
        text += (f" At T = {high:g} every class is near {1 / len(hot):.0%}: so high a T flattens the ranking "
                 "along with the peak.")
    return text


def dark_knowledge_chart(logits, class_names, height=260):
    """The teacher's probabilities for one image at each of `DARK_TEMPERATURES`, as grouped bars.

    Args:
        logits: array (classes,), the teacher's logits for the image.
        class_names: the dataset's class names.
        height: int, pixels.

    Returns:
        alt.Chart.
    """
    frame = pd.DataFrame.from_records(
        [{"class": class_names[row["class"]], "T": row["temperature"], "probability": row["probability"]}
         for row in dark_knowledge(logits)])
    return alt.Chart(frame).mark_bar().encode(
        # Every class named, slanted: level labels would hide every other one.
        x=alt.X("class:N", sort=list(class_names), title=None, axis=alt.Axis(labelAngle=-30, labelOverlap=False)),
        xOffset=alt.XOffset("T:O", sort=list(DARK_TEMPERATURES)),
        y=alt.Y("probability:Q", axis=alt.Axis(format="%")),
        color=alt.Color("T:O", title="T", scale=alt.Scale(scheme="oranges")),
        tooltip=["class:N", "T:O", alt.Tooltip("probability:Q", format=".2%")],
    ).properties(title="The teacher's probabilities at T = " + ", ".join(f"{t:g}" for t in DARK_TEMPERATURES),
                 height=height)


# ## The lab's answers


def answers(found):
    """The lab's questions, answered from the learner's runs of the page's setting.

    Args:
        found: dict step -> {seed: result}.

    Returns:
        list of `labcore.answers.Answer`.
    """
    beats = distil_text(found) or ("Run the student from scratch and the distilled student above, with the same "
                                   "seeds, to answer.")
    where = sweep_text(found) or "Run the sweep above: it distils one student per T and alpha."
    teacher, student = _readings(found, "teacher"), _readings(found, "student")
    if teacher and student:
        first, second = next(iter(teacher.values())), next(iter(student.values()))
        saves = (f"{first['params'] / second['params']:.0f}x fewer parameters ({size_kb(second['params']):.1f} kB "
                 f"against {size_kb(first['params']):.1f} kB) and "
                 f"{_spread(student, 'inference_ms_per_image').mean:.2f} ms per image against "
                 f"{_spread(teacher, 'inference_ms_per_image').mean:.2f} ms, on this machine.")
    else:
        saves = "Run the teacher and the student from scratch above: each run measures its size and speed."
    return [
        Answer("Does distillation beat training the student alone here, and by how much?", beats,
               f"{PUBLISHED['hinton']} {PUBLISHED['keras_io']}"),
        Answer("At which temperature and alpha?", where, PUBLISHED["temperature"]),
        Answer("What does the student save?", saves, PUBLISHED["size"]),
    ]
