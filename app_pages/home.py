"""Home: what Composable Labs is, how to use it, and where to start."""

import streamlit as st

from labcore import slides
from ui import nav

st.title("Composable Labs")
st.markdown(slides.lead("home"))


def cards(entries):
    """One bordered card per page: a link and a sentence."""
    for column, entry in zip(st.columns(len(entries)), entries):
        with column.container(border=True):
            st.page_link(entry.path, label=f"**{entry.title}**", icon=entry.icon)
            st.caption(entry.blurb)


cards(nav.SECTIONS["Start"][1:] + nav.SECTIONS["Workbench"])
st.markdown("## The labs")
cards(nav.SECTIONS["Labs"])
st.markdown("## How to use it")
st.markdown(slides.sections("home")["How to use it"])
