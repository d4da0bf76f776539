"""The layout rules that keep the code readable as it grows, checked from source.

The layers (docs/ARCHITECTURE.md): pages and `ui/` -> the Keras-free
library -> Keras-only runners in worker processes. These tests read the
source with `ast` (nothing is imported), so a rule broken in a module that
no other test imports still fails here.
"""

import ast
import re
from pathlib import Path

import pytest

from labcore import slides
from labcore.labs import LABS, PARTS

ROOT = Path(__file__).resolve().parents[2]
LIBRARY = ROOT / "labcore"
HEAVY = ("keras", "tensorflow", "jax", "torch")

# Who may import a training backend. Everything else is imported by the
# Streamlit process, where Streamlit's script runner would clear Keras's
# session after every rerun (DESIGN.md rule 1).
KERAS_MODULES = {"labcore.composable", "labcore.training", "labcore.featuremaps_runner",
                 # The distillation runner's teachers: only that runner imports it.
                 "labcore.labs.distillation.teachers"} | {f"{lab.package}.runner" for lab in LABS.values()}
# Two lazy imports that never run in the Streamlit process: the download
# fallback runs in a worker, the device probe in a subprocess of its own.
LAZY_KERAS_MODULES = {"labcore.data.download", "labcore.device"}


def module_name(path):
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def library_modules():
    return {module_name(path): path for path in sorted(LIBRARY.rglob("*.py"))}


def imported_names(path):
    """Every module a file's import statements name, function-local ones included."""
    tree = ast.parse(path.read_text(), filename=str(path))
    package = module_name(path) if path.name == "__init__.py" else module_name(path).rpartition(".")[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(package.split(".")[: len(package.split(".")) - node.level + 1] + ([base] if base else []))
            yield base
            for alias in node.names:
                yield f"{base}.{alias.name}"


def import_graph():
    modules = library_modules()
    return {
        name: sorted({imported for imported in imported_names(path) if imported in modules and imported != name})
        for name, path in modules.items()
    }


def test_the_library_has_no_import_cycles():
    graph = import_graph()
    state = {}
    cycles = []

    def visit(module, trail):
        state[module] = "open"
        for imported in graph[module]:
            if state.get(imported) == "open":
                cycles.append(" -> ".join(trail[trail.index(imported):] + [imported]))
            elif imported not in state:
                visit(imported, trail + [imported])
        state[module] = "done"

    for module in graph:
        if module not in state:
            visit(module, [module])
    assert cycles == []


def test_only_the_runners_composable_and_training_import_a_training_backend():
    importers = {
        name
        for name, path in library_modules().items()
        if any(imported.split(".")[0] in HEAVY for imported in imported_names(path))
    }
    assert importers - LAZY_KERAS_MODULES <= KERAS_MODULES, "only the runners, composable and training"
    assert {"labcore.composable", "labcore.training"} <= importers


def test_no_module_derives_a_lab_module_from_a_name():
    pattern = re.compile(r"import_module\(\s*f[\"']labcore\.labs\.\{")
    offenders = [
        str(path.relative_to(ROOT))
        for folder in ("labcore", "ui", "app_pages", "bench")
        for path in (ROOT / folder).rglob("*.py")
        if pattern.search(path.read_text())
    ]
    assert offenders == []


@pytest.mark.parametrize("lab", LABS.values(), ids=list(LABS))
def test_every_lab_is_a_package_of_the_same_parts_with_its_page_and_slides(lab):
    folder = ROOT / lab.package.replace(".", "/")
    # A part that grows may split into more Keras-free modules beside it.
    assert {"__init__", *PARTS} <= {path.stem for path in folder.glob("*.py")}
    assert (ROOT / lab.page).is_file()
    assert (ROOT / "assets" / "slides" / f"{lab.slides}.md").is_file()
    assert lab.part("config").PRESETS, "a lab needs at least one preset"


@pytest.mark.parametrize("lab", LABS.values(), ids=list(LABS))
def test_a_lab_package_imports_nothing_itself_and_its_parts_import_in_order(lab):
    folder = ROOT / lab.package.replace(".", "/")
    assert list(imported_names(folder / "__init__.py")) == []
    for position, part in enumerate(PARTS):
        later = {f"{lab.package}.{name}" for name in PARTS[position + 1:]}
        assert not later & set(imported_names(folder / f"{part}.py")), f"{part} imports a later part"


PAGE_SECTION = re.compile(r"""\btext\[\s*["']([^"']+)["']\s*\]""")
PAGE_TEXTS = re.compile(r"""slides\.sections\(\s*["'](\w+)["']\s*\)""")


@pytest.mark.parametrize("page", sorted((ROOT / "app_pages").glob("*.py")), ids=lambda path: path.stem)
def test_every_section_a_page_shows_is_a_heading_of_its_text(page):
    source = page.read_text()
    names = PAGE_TEXTS.findall(source)
    headings = PAGE_SECTION.findall(source)
    if not names:
        assert headings == [], "a page that shows sections must read them with slides.sections(NAME)"
        return
    (name,) = set(names)
    missing = sorted(set(headings) - set(slides.sections(name)))
    assert missing == [], f"assets/slides/{name}.md has no '## ' heading for {missing}"
