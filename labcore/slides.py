"""Slide decks and lead texts, read from markdown files in `assets/slides/`.

The teaching text lives in markdown so instructors can edit it without
touching code. A deck file is split into slides by lines holding only `---`;
a slide's first `# ` heading is its title. A slide may ask the page for a
live widget with an HTML comment `<!-- widget: NAME -->`; the page decides
what NAME draws, so the deck stays plain text. A page's lead text is the
first paragraph of `assets/slides/<page>.md`, and its named sections
(`## ` headings) are the slide-like explanations between widgets.

Keras-free and Streamlit-free.
"""

import dataclasses
import functools
import pathlib
import re

__all__ = ["Slide", "SLIDES_DIR", "load_deck", "sections", "lead"]

SLIDES_DIR = pathlib.Path(__file__).resolve().parent.parent / "assets" / "slides"

_WIDGET = re.compile(r"<!--\s*widget:\s*([a-z0-9_]+)\s*-->")


@dataclasses.dataclass(frozen=True)
class Slide:
    """One slide: its title, markdown body (title and widget marker removed) and widget name."""

    title: str
    body: str
    widget: str | None = None


def _read(name):
    path = SLIDES_DIR / f"{name}.md"
    if not path.is_file():
        raise FileNotFoundError(f"no slide file {path.name} in {SLIDES_DIR}")
    return path.read_text(encoding="utf-8")


@functools.lru_cache(maxsize=None)
def load_deck(name):
    """Read a deck.

    Args:
        name: str, the file stem in `assets/slides/` (e.g. "intro").

    Returns:
        tuple of `Slide`, in order.

    Raises:
        FileNotFoundError: when the deck file does not exist.
    """
    slides = []
    for chunk in re.split(r"^---\s*$", _read(name), flags=re.M):
        text = chunk.strip()
        if not text:
            continue
        widget = _WIDGET.search(text)
        text = _WIDGET.sub("", text).strip()
        title, _, body = text.partition("\n")
        slides.append(Slide(title.lstrip("# ").strip(), body.strip(), widget and widget.group(1)))
    return tuple(slides)


@functools.lru_cache(maxsize=None)
def sections(name):
    """Split a page's text into its `## ` sections.

    Args:
        name: str, the file stem in `assets/slides/`.

    Returns:
        dict mapping each section's heading to its markdown body, in file
        order; the text before the first heading is under the key "".
    """
    chunks = re.split(r"^## ", _read(name), flags=re.M)
    parts = {"": chunks[0].strip()}
    for chunk in chunks[1:]:
        title, _, body = chunk.partition("\n")
        parts[title.strip()] = body.strip()
    return parts


def lead(name):
    """The first paragraph of a page's text, shown under its title."""
    paragraphs = [p.strip() for p in sections(name)[""].split("\n\n")]
    return next((p for p in paragraphs if p and not p.startswith("#")), "")
