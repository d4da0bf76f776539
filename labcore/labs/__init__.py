"""The labs, each named once.

A lab is a package `labcore/labs/<name>/` with the same four parts:
`config` (its Config, RANGES and PRESETS), `recipe` (Keras-free: its
validator `problems`, the specs it builds, what its page computes),
`runner` (the only part that imports Keras; worker processes only) and
`views` (Altair charts and page texts; pages only). Its page lives in
`app_pages/`, its texts in `assets/slides/`.

`LABS` is the one table that names them: the job kinds, the CLI, the
navigation and the tests read it, and nothing derives a module from a
kind's name. Importing this module imports no lab: `Lab.part` imports one
part when it is first needed. `docs/ADDING_A_LAB.md` says how to add one.
"""

import dataclasses
import importlib

__all__ = ["LABS", "Lab", "PARTS"]

# What every lab package holds, in import order: each may import the ones
# before it, never after (no cycles), and only `runner` imports Keras.
PARTS = ("config", "recipe", "views", "runner")


@dataclasses.dataclass(frozen=True)
class Lab:
    """One lab.

    Args:
        kind: str, its runs' kind (the runs table, `python -m labcore run KIND`).
        title: str, its page's title and its runs' default title.
        package: str, the dotted name of its package.
        page: str, its page script, relative to the app's folder.
        slides: str, the stem of its texts in `assets/slides/`.
        url_path: str, its page's URL path.
        icon: str, a Material icon for the navigation.
        blurb: str, one sentence for the Home page.
    """

    kind: str
    title: str
    package: str
    page: str
    slides: str
    url_path: str
    icon: str
    blurb: str

    def part(self, name):
        """Import and return one of the lab's `PARTS`, e.g. `lab.part("config")`."""
        if name not in PARTS:
            raise ValueError(f"a lab part must be one of {PARTS}; got {name!r}.")
        return importlib.import_module(f"{self.package}.{name}")

    def reference(self, part, name):
        """"module:name" of an attribute of a part, for registries that import lazily."""
        return f"{self.package}.{part}:{name}"


LABS = {
    lab.kind: lab
    for lab in (
        Lab("autoencoder", "AutoEncoder for CNN", "labcore.labs.autoencoder", "app_pages/lab_autoencoder.py",
            "lab_autoencoder", "autoencoder", ":material/compress:",
            "Learn a compact code, see reconstructions, and measure what classifying on codes gains and loses."),
        Lab("regularization", "Regularization", "labcore.labs.regularization", "app_pages/lab_regularization.py",
            "lab_regularization", "regularization", ":material/tune:",
            "Watch overfitting happen, then close the gap with noise, weight decay, smoothing and schedules."),
        Lab("ensemble", "Ensemble", "labcore.labs.ensemble", "app_pages/lab_ensemble.py",
            "lab_ensemble", "ensemble", ":material/how_to_vote:",
            "See how instances of one model disagree and what voting, shared heads and stacking gain."),
        Lab("distillation", "Knowledge distillation", "labcore.labs.distillation", "app_pages/lab_distillation.py",
            "lab_distillation", "distillation", ":material/school:",
            "Train a large teacher, then a small student on its softened outputs, and measure what it learns."),
        Lab("search", "Guided search", "labcore.labs.search", "app_pages/lab_search.py",
            "lab_search", "search", ":material/travel_explore:",
            "Bring your own architecture, leave some decisions open, and steer a search through them in rounds."),
    )
}
