"""Widgets that edit a composable spec and show its shapes and parameters.

The Intro deck's live slides and the Model Builder share these, so a group
table or a parameter count looks the same everywhere. Counts and shapes come
from `labcore.spec` in pure Python: no Keras in the Streamlit process.
Number fields take any number (`ui.fields`): the spec's own validation,
from `spec.field_range`, says under a field what is wrong with it, so the
value shown is always the value that would train.
"""

import dataclasses
import math

import pandas as pd
import streamlit as st

from labcore import diagram, spec, viz
from labcore.spec.blocks import BLOCK_TYPES
from ui.fields import Fields, readable

__all__ = ["summary", "groups_editor", "spec_editor", "stem_demo", "groups_demo", "blocks_demo",
           "show_problems"]


def _bounds(path):
    """A field's declared range as a widget's min and max (an open end nudged inside)."""
    r = spec.field_range(path)
    lo = math.nextafter(r.lo, math.inf) if r.lo_open else r.lo
    hi = math.nextafter(r.hi, -math.inf) if r.hi_open else r.hi
    return lo, hi


def show_problems(problems):
    """Show every problem of a spec at once, each naming its field (groups counted from 1)."""
    if problems:
        st.error("This spec cannot be built yet:\n\n" + "\n".join(f"- {readable(p)}" for p in problems),
                 icon=":material/block:")


def summary(model_spec, key, chart=True, fields=None):
    """Table of output shape and parameters per part, with the total, and the model's diagram when it builds.

    Args:
        model_spec: spec.ModelSpec.
        key: str, a prefix for widget keys.
        chart: bool, draw the parameters per part beside the table and the
            model's diagram below it.
        fields: ui.fields.Fields or None, the editor's fields: each problem
            of one of them is shown under it, the others here.

    Returns the list of problems (empty when the spec is valid).
    """
    problems = spec.problems(model_spec)
    elsewhere = problems if fields is None else fields.show(problems)
    if problems and len(elsewhere) < len(problems):
        st.error("Fix the fields marked above: the model cannot be built with them.", icon=":material/block:")
    shape_problems = [p for p in problems if "parameter" not in p]
    if shape_problems:
        show_problems(elsewhere)
        return problems
    rows = spec.summarize(model_spec)
    # Parts without blocks (input, task) show an empty cell: Streamlit writes
    # "None" for a missing number, so the column holds text.
    table = pd.DataFrame([{"part": r.name, "output shape": " x ".join(map(str, r.output_shape)),
                           "blocks": str(r.blocks) if r.blocks else "", "parameters": r.params} for r in rows])
    total = sum(r.params for r in rows)
    left, right = st.columns([3, 2]) if chart else (st.container(), None)
    with left:
        st.dataframe(table, hide_index=True, width="stretch",
                     column_config={"parameters": st.column_config.NumberColumn(format="localized"),
                                    "blocks": st.column_config.TextColumn(width="small")},
                     key=f"{key}_table")
        st.metric("Total parameters", f"{total:,}")
    if right is not None:
        right.altair_chart(viz.bar_chart([{"part": r.name, "parameters": r.params} for r in rows if r.params],
                                         "part", "parameters", "parameters per part"), width="stretch")
    show_problems(elsewhere)
    if chart and not problems:
        st.graphviz_chart(diagram.dot(model_spec), width="stretch")
    return problems


def groups_editor(groups, key, fields):
    """Number inputs for each group, with buttons to add and remove groups.

    The inputs take any integer (`ui.fields`): validation names a value out
    of range under its field ("group 2: n_blocks must be...") instead of the
    widget silently keeping another.

    Returns:
        tuple of `spec.GroupSpec`.
    """
    count_key = f"{key}_count"
    count = st.session_state.setdefault(count_key, len(groups))
    lo_f, hi_f = _bounds("learner.groups.n_filters")
    lo_b, hi_b = _bounds("learner.groups.n_blocks")
    result = []
    for i in range(count):
        start = groups[min(i, len(groups) - 1)] if groups else spec.GroupSpec(n_filters=32, n_blocks=1)
        a, b = st.columns(2)
        n_filters = fields.number(a, f"group {i + 1}: n_filters", f"learner.groups[{i}].n_filters", start.n_filters,
                                  f"{key}_{i}_filters", step=1, help=f"filters of each block, {lo_f} to {hi_f}")
        n_blocks = fields.number(b, f"group {i + 1}: n_blocks", f"learner.groups[{i}].n_blocks", start.n_blocks,
                                 f"{key}_{i}_blocks", step=1, help=f"blocks in the group, {lo_b} to {hi_b}")
        result.append(spec.GroupSpec(n_filters=int(n_filters), n_blocks=int(n_blocks)))

    def resize(step):
        st.session_state[count_key] = max(0, st.session_state[count_key] + step)

    a, b = st.columns(2)
    a.button("Add group", icon=":material/add:", key=f"{key}_add", on_click=resize, args=(1,), width="stretch")
    b.button("Remove last group", icon=":material/remove:", key=f"{key}_remove", on_click=resize, args=(-1,), disabled=count == 0,
             width="stretch")
    return tuple(result)


def _select(label, choices, value, key, format_func=str, help=None):
    choices = list(choices)
    return st.selectbox(label, choices, index=choices.index(value) if value in choices else 0, key=key,
                        format_func=format_func, help=help)


def _block_title(block):
    return BLOCK_TYPES[block].title


def spec_editor(base, key):
    """Widgets for every part of a spec, starting from `base`.

    Args:
        base: `spec.ModelSpec`, the starting values (input shape and number
            of classes are taken from it unchanged: they follow the dataset).
        key: str, a prefix for widget keys.

    Returns:
        (spec.ModelSpec, ui.fields.Fields): the edited spec, and its number
        fields for `summary` to show each problem under its field.
    """
    fields = Fields()
    stem_col, learner_col = st.columns([2, 3])
    with stem_col:
        st.markdown("#### Stem")
        stem_kind = _select("stem", spec.field_range("stem.kind").choices, base.stem.kind, f"{key}_stem_kind",
                            help="'none' feeds the image straight to the first group")
        stem = base.stem
        if stem_kind == "conv":
            lo, hi = _bounds("stem.n_filters")
            a, b = st.columns(2)
            n_filters = fields.number(a, "filters", "stem.n_filters", base.stem.n_filters, f"{key}_stem_filters",
                                      step=1, help=f"{lo} to {hi}")
            kernel = b.selectbox("kernel", spec.field_range("stem.kernel_size").choices,
                                 index=list(spec.field_range("stem.kernel_size").choices).index(base.stem.kernel_size),
                                 key=f"{key}_stem_kernel")
            strides = a.selectbox("stride", spec.field_range("stem.strides").choices,
                                  index=list(spec.field_range("stem.strides").choices).index(base.stem.strides),
                                  key=f"{key}_stem_strides")
            pool = b.toggle("max-pool 3x3/2", base.stem.pool, key=f"{key}_stem_pool")
            stem = dataclasses.replace(base.stem, kind="conv", n_filters=int(n_filters), kernel_size=kernel,
                                       strides=strides, pool=pool)
        else:
            stem = dataclasses.replace(base.stem, kind=stem_kind)
        st.markdown("#### Task")
        a, b = st.columns(2)
        pooling = a.selectbox("pooling", spec.field_range("task.pooling").choices,
                              index=list(spec.field_range("task.pooling").choices).index(base.task.pooling),
                              key=f"{key}_pooling")
        dropout = fields.number(b, "dropout", "task.dropout", float(base.task.dropout or 0.0), f"{key}_dropout",
                                step=0.05, help="before the dense layer; 0 = none")
        task = dataclasses.replace(base.task, pooling=pooling, dropout=dropout or None)
    with learner_col:
        st.markdown("#### Learner")
        block = _select("block type", spec.field_range("learner.block").choices, base.learner.block,
                        f"{key}_block", _block_title)
        groups = groups_editor(base.learner.groups, f"{key}_groups", fields)
        learner = spec.LearnerSpec(block=block, groups=groups)
    with st.expander("Hyperparameters for the whole model"):
        a, b, c = st.columns(3)
        hyper = base.hyper
        initializer = a.selectbox("initializer", spec.field_range("hyper.initializer").choices,
                                  index=list(spec.field_range("hyper.initializer").choices).index(hyper.initializer),
                                  key=f"{key}_init")
        l2 = fields.number(b, "L2 kernel regularizer", "hyper.l2", float(hyper.l2), f"{key}_l2", step=1e-4,
                           format="%.4f")
        noise = fields.number(c, "Gaussian noise on the input (std)", "hyper.input_noise", float(hyper.input_noise),
                              f"{key}_noise", step=0.05)
        eps = fields.number(a, "batch-norm epsilon", "hyper.bn_epsilon", float(hyper.bn_epsilon), f"{key}_eps",
                            format="%.1e")
        momentum = fields.number(b, "batch-norm momentum", "hyper.bn_momentum", float(hyper.bn_momentum),
                                 f"{key}_momentum", step=0.01,
                                 help="How slowly the moving statistics follow the batches: 0.99 (Keras's "
                                      "default) needs hundreds of steps before validation is fair.")
        use_bias = c.toggle("use_bias in convolutions", hyper.use_bias, key=f"{key}_bias")
        clip = fields.number(a, "ReLU clip (0 = none)", "hyper.relu_clip", float(hyper.relu_clip or 0.0),
                             f"{key}_clip", step=1.0)
        hyper = dataclasses.replace(hyper, initializer=initializer, l2=l2, input_noise=noise, bn_epsilon=eps,
                                    bn_momentum=momentum, use_bias=use_bias, relu_clip=clip or None)
    return dataclasses.replace(base, stem=stem, learner=learner, task=task, hyper=hyper), fields


_STEMS = {
    "ResNet stem: 7x7 conv, stride 2, then 3x3 max-pool": spec.StemSpec(
        kind="conv", n_filters=64, kernel_size=7, strides=2, padding="explicit", pool=True),
    "small stem: 3x3 conv, stride 1": spec.StemSpec(kind="conv", n_filters=32, kernel_size=3, strides=1),
    "no stem": spec.StemSpec(kind="none"),
}
_INPUTS = {"28x28x1 (Fashion-MNIST)": (28, 28, 1), "32x32x3 (CIFAR-10)": (32, 32, 3),
           "4x4x32 (the autoencoder's code)": (4, 4, 32)}


def stem_demo():
    """Slide widget: the same stem on different inputs; where does the map collapse?"""
    a, b = st.columns(2)
    shape = _INPUTS[a.radio("input", list(_INPUTS), key="demo_stem_input", index=2)]
    stem = _STEMS[b.radio("stem", list(_STEMS), key="demo_stem_kind")]
    model_spec = dataclasses.replace(spec.default_spec(), input_shape=shape, stem=stem)
    rows = spec.summarize(model_spec)
    stem_row = next(r for r in rows if r.name == "stem")
    h, w, c = stem_row.output_shape
    message = (f"The stem turns {shape[0]}x{shape[1]}x{shape[2]} into **{h}x{w}x{c}** "
               f"({stem_row.params:,} parameters).")
    if h * w == 1:
        st.error(message + " Every later 3x3 convolution sees a single pixel: only its centre tap "
                 "ever gets data. This is what the original lab's classifier did to the 4x4 code.")
    else:
        st.success(message)


def groups_demo():
    """Slide widget: edit groups, watch shapes and parameters."""
    base = spec.default_spec()
    block = _select("block type", spec.field_range("learner.block").choices, base.learner.block,
                    "demo_groups_block", _block_title)
    fields = Fields()
    groups = groups_editor(base.learner.groups, "demo_groups", fields)
    model_spec = dataclasses.replace(base, learner=spec.LearnerSpec(block=block, groups=groups))
    summary(model_spec, "demo_groups_summary", fields=fields)


def blocks_demo():
    """Slide widget: the same groups built from each block type; what does each cost?"""
    base = spec.default_spec()
    rows = []
    for block in BLOCK_TYPES.values():
        candidate = dataclasses.replace(base, learner=dataclasses.replace(base.learner, block=block.name))
        if spec.problems(candidate):
            continue
        last = spec.summarize(candidate)[-2]
        rows.append({"block": block.title, "parameters": spec.count_params(candidate),
                     "learner output": " x ".join(map(str, last.output_shape))})
    groups = ", ".join(f"{{{g.n_filters}, {g.n_blocks}}}" for g in base.learner.groups)
    st.caption(f"The same stem, groups [{groups}] and classifier, with each block type:")
    st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch",
                 column_config={"parameters": st.column_config.NumberColumn(format="localized")})
