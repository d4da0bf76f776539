"""The Ensemble lab's views: its charts and the texts drawn from a run's result.

What the original lab (CIFAR-10, 30 epochs) told its students is kept in
`ORIGINAL`, so every figure can show it beside the measured value: about
84% per model, members 0.5-2% apart, the averaged ensemble "a modest boost
of ~2%" over the best member, bagging heads within 1/10-1/4 of 1%,
stacking about the same as bagging, just over 1.8 million parameters per
model. Imports Altair: only pages import this module, never a worker.
"""

import altair as alt
import numpy as np
import pandas as pd

from labcore import seeds
from labcore.answers import Answer, accuracy_difference
from labcore.labs.ensemble.config import RULES
from labcore.labs.ensemble.recipe import variant_rows

__all__ = ["ORIGINAL", "accuracy_by_n_chart", "agreement_chart", "answers", "closing_note", "gain_verdict",
           "vote_chart"]

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


# ## What the run found


def _signed(value):
    return f"{100 * value:+.2f} points"


def gain_verdict(gain, voter="member"):
    """Whether the vote's gain over the best voter beats the test set's noise (McNemar), in words.

    Args:
        gain: dict, one rule of `recipe.summarize_votes`.
        voter: str, "member" or "head".

    Returns:
        str, markdown.
    """
    verdict = "beyond the test set's noise" if gain["beyond_noise"] else "within the test set's noise"
    return (f"On the same test images, the vote got **{gain['fixed']:,}** right that the best {voter} got "
            f"wrong, and **{gain['broken']:,}** wrong that it got right: {_signed(gain['gain_over_best'])}, "
            f"**{verdict}** (McNemar's test, z = {gain['z']:+.1f}; |z| > 1.96 is beyond chance at 95%). "
            f"The best {voter} was picked on these same images, which flatters it; the mean {voter} is the "
            "fairer yardstick.")


def answers(results, rule="soft"):
    """The original lab's questions, answered from runs of one setting (one per seed).

    Args:
        results: list of dict, finished runs' results that differ only in their seed.
        rule: str, the inter-model ensemble's voting rule.

    Returns:
        list of `labcore.answers.Answer`.
    """
    questions = (
        ("Does an ensemble of instances of one model beat its best member?", "votes", ORIGINAL["gain"]),
        ("Can intra-model bagging (one trunk, K heads, averaged) match the inter-model ensemble?", "heads",
         ORIGINAL["heads"]),
        ("Can intra-model stacking (a learned combiner over the heads) match the inter-model ensemble?",
         "stacking", ORIGINAL["stacking"]),
    )
    found = []
    for question, part, original in questions:
        done = [result for result in results if result.get(part) and result.get("votes")]
        if not done:
            what = "a run with K heads" + (" and stacking" if part == "stacking" else "")
            found.append(Answer(question, f"Start {what} above: its result answers this.", original))
            continue
        inter = [result["votes"]["rules"][rule]["accuracy"] for result in done]
        latest = done[0]
        if part == "votes":
            gain = latest["votes"]["rules"][rule]
            measured = (f"In your latest run, {len(latest['votes']['members'])} members with the "
                        f"{RULES[rule]}: {_signed(gain['gain_over_best'])} over the best member and "
                        f"{_signed(gain['gain_over_mean'])} over the mean one. "
                        + (gain_verdict(gain) if "fixed" in gain else ""))
        else:
            intra = [result["heads"]["votes"]["rules"]["soft"]["accuracy"] if part == "heads"
                     else result["stacking"]["test_accuracy"] for result in done]
            params = latest["heads"]["params"] if part == "heads" else latest["stacking"]["params"]
            share = params / sum(member["params"] for member in latest["members"])
            measured = (f"{seeds.spread(intra).text()} against {seeds.spread(inter).text()} for the "
                        f"{len(latest['votes']['members'])} members, with {share:.0%} of their parameters. "
                        f"Difference: {accuracy_difference(inter, intra, latest['n_test'])}.")
        found.append(Answer(question, measured, original))
    return found


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
