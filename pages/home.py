"""Home: what Composable Labs is, how to use it, and where to start."""

import streamlit as st

from labcore import slides

st.title("Composable Labs")
st.markdown(slides.lead("home"))

STEPS = [
    ("pages/intro.py", "Intro to Composable", ":material/extension:",
     "Stem, learner, groups, blocks, task: eight slides, some with live widgets."),
    ("pages/builder.py", "Model Builder", ":material/construction:",
     "Edit a spec, watch shapes and parameters change, train it in the background."),
    ("pages/runs.py", "Runs", ":material/monitoring:", "Every run on this server: compare curves, cancel, delete."),
]

columns = st.columns(len(STEPS))
for column, (path, label, icon, text) in zip(columns, STEPS):
    with column.container(border=True):
        st.page_link(path, label=f"**{label}**", icon=icon)
        st.caption(text)

st.markdown("## How to use it")
st.markdown(slides.sections("home")["How to use it"])
