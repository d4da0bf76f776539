"""The app's pages, in one table: the navigation and the Home cards read it.

The labs' entries come from `labcore.labs.LABS`, where each lab is named once.
"""

import dataclasses

from labcore.labs import LABS

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
        PageEntry(lab.page, lab.title, lab.icon, lab.url_path, lab.blurb) for lab in LABS.values()
    ],
    "Workbench": [
        PageEntry("app_pages/builder.py", "Model Builder", ":material/construction:", "builder",
                  "Edit a spec, watch shapes and parameters change, train it in the background."),
        PageEntry("app_pages/runs.py", "Runs", ":material/monitoring:", "runs",
                  "Every run on this server: compare curves, cancel, delete."),
    ],
}
