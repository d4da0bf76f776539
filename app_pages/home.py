"""Home: what Composable Labs is, how to use it, and where to start."""

import streamlit as st

from labcore import slides
from ui import nav

st.title("Composable Labs")
st.markdown(slides.lead("home"))


def cards(entries):
    """One bordered card per page (a link and a sentence), at most three to a row.

    Four cards go two by two: four in a row cut the titles short.
    """
    per_row = 2 if len(entries) == 4 else 3
    for start in range(0, len(entries), per_row):
        row = entries[start:start + per_row]
        for column, entry in zip(st.columns(per_row), row):
            with column.container(border=True, height="stretch"):
                st.page_link(entry.path, label=f"**{entry.title}**", icon=entry.icon)
                st.caption(entry.blurb)


cards(nav.SECTIONS["Start"][1:] + nav.SECTIONS["Workbench"])
st.markdown("## The labs")
cards(nav.SECTIONS["Labs"])
st.markdown("## How to use it")
st.markdown(slides.sections("home")["How to use it"])
