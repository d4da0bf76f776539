"""The app's pages, in one table: the navigation and the Home cards read it."""

import dataclasses

__all__ = ["PageEntry", "SECTIONS"]


@dataclasses.dataclass(frozen=True)
class PageEntry:
    """One page: its script, title, Material icon, URL path ("" = home) and a sentence for Home."""

    path: str
    title: str
    icon: str
    url_path: str
    blurb: str


SECTIONS = {
    "Start": [
        PageEntry("app_pages/home.py", "Home", ":material/home:", "",
                  "What this is and how to use it."),
        PageEntry("app_pages/intro.py", "Intro to Composable", ":material/extension:", "intro",
                  "Stem, learner, groups, blocks, task: eight slides, some with live widgets."),
    ],
    "Labs": [
        PageEntry("app_pages/lab_autoencoder.py", "AutoEncoder for CNN", ":material/compress:", "autoencoder",
                  "Learn a compact code, see reconstructions, and measure what classifying on codes "
                  "gains and loses."),
        PageEntry("app_pages/lab_regularization.py", "Regularization", ":material/tune:", "regularization",
                  "Watch overfitting happen, then close the gap with noise, weight decay, smoothing "
                  "and schedules."),
        PageEntry("app_pages/lab_ensemble.py", "Ensemble", ":material/how_to_vote:", "ensemble",
                  "See how instances of one model disagree and what voting, shared heads and stacking gain."),
    ],
    "Workbench": [
        PageEntry("app_pages/builder.py", "Model Builder", ":material/construction:", "builder",
                  "Edit a spec, watch shapes and parameters change, train it in the background."),
        PageEntry("app_pages/runs.py", "Runs", ":material/monitoring:", "runs",
                  "Every run on this server: compare curves, cancel, delete."),
    ],
}
