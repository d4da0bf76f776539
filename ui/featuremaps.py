"""What the groups see: a finished Model Builder run's feature maps of one test image (Runs page).

The learner picks a test image, sees it with its true class, and presses
"Show feature maps": a `feature_maps` run (`labcore.featuremaps`) puts the
image through the run's trained model in a worker, and its pictures, the
stem's and each group's first channels, are drawn here in a row. The
request is the learner's own run, found again in the store on every
rerun, so a refresh keeps the pictures; an identical request follows the
one already computed (`labcore.sharing`) and shows at once.
"""

import streamlit as st

from labcore import data, featuremaps, trainconfig
from ui import lab, runs, state

__all__ = ["section"]

KIND = "feature_maps"


def section(run):
    """"What the groups see" for a finished Model Builder run, or for the run a `feature_maps` run looked into.

    Draws nothing for other runs. A `feature_maps` run counts as its source
    run, with its image picked first: the Runs table selects by position,
    and the learner's own new request lands on the row they had selected.

    Args:
        run: `labcore.store.Run`, the run chosen on the page.
    """
    image_index = 0
    if run.kind == KIND:
        image_index = run.config.get("image_index", 0)
        run = state.get_store().get_run(run.config.get("source_run"))
    if run is None or run.kind != "train" or run.status != "done":
        return
    st.markdown("### What the groups see")
    dataset = trainconfig.RunConfig.from_dict(run.config).train.dataset
    info = data.DATASETS.get(dataset)
    if info is None:
        st.caption(f"The dataset this run trained on, {dataset!r}, is no longer on this server.")
        return
    # A run that follows an identical one shows that run's model: name it, so every follower's request is one.
    source_run = run.follows or run.id
    picture, controls = st.columns([1, 4])
    index = controls.slider("Test image", 0, info.n_test - 1, min(image_index, info.n_test - 1),
                            key=f"feature_maps_image_{source_run}",
                            help=f"Its position in the {info.n_test:,} test images of {info.title}.")
    _test_image(picture, info, index)
    config = featuremaps.FeatureMapsConfig(source_run, dataset, index)
    if controls.button("Show feature maps", key=f"feature_maps_show_{source_run}", type="primary",
                       help="Puts this image through the trained model in a worker: a second or two once it starts."):
        lab.submit(KIND, [(config, f"Feature maps · run #{source_run} · test image {index}")])
    wanted = config.to_dict()
    requested = lab.latest_run(KIND, where=lambda stored: stored == wanted)
    if requested is not None and requested.status == "done":
        _pictures(requested)
    elif requested is not None:
        # Its place in line, progress or error, until the pictures are there.
        runs.live_run(requested.id, body=_pictures)


def _test_image(column, info, index):
    """The chosen test image and its true class, when the dataset's files are on this server (never downloaded here)."""
    if not data.on_disk(info.key):
        column.caption("(The test images are not on this server's disk.)")
        return
    _, _, x_test, y_test = data.load_arrays(info.key)
    column.image(x_test[index].squeeze(), width=84)
    column.caption(f"test image {index} · true: **{info.class_names[int(y_test[index])]}**")


def _pictures(run):
    """One picture per stage, in a row, captioned with its name and shape; what the model answered."""
    result = run.result or {}
    if not result.get("stages"):
        return
    store = state.get_store()
    for column, stage in zip(st.columns(len(result["stages"])), result["stages"]):
        shape = "×".join(str(size) for size in stage["shape"])
        column.image(store.read_artifact(run.id, stage["artifact"]),
                     caption=f"{stage['name']} · {shape} · first {len(stage['channels'])} of {stage['shape'][-1]} "
                             "channels")
    st.caption(f"{result['normalisation']} The model says **{result['predicted_class']}** "
               f"({result['probability']:.0%}); the true class is **{result['class_name']}**.")
