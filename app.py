"""Composable Labs: learn composable model design by doing.

The entry point: page list, sidebar, and the background job supervisor.
No training happens in this process: runs go to a queue that a supervisor
thread hands to worker processes, and pages read their progress from the
store.
"""

import pathlib

import streamlit as st

from ui import sidebar, state

ROOT = pathlib.Path(__file__).resolve().parent

# (file, title, icon, url path). A lab appears once its page file exists,
# so labs can land one at a time.
LABS = [
    ("pages/lab_autoencoder.py", "AutoEncoder for CNN", ":material/compress:", "autoencoder"),
    ("pages/lab_regularization.py", "Regularization", ":material/tune:", "regularization"),
    ("pages/lab_ensemble.py", "Ensemble", ":material/how_to_vote:", "ensemble"),
]

st.set_page_config(page_title="Composable Labs", page_icon=":material/view_in_ar:", layout="wide")

state.keep_owner_in_url()
state.get_supervisor()

pages = {
    "Start": [
        st.Page("pages/home.py", title="Home", icon=":material/home:", default=True),
        st.Page("pages/intro.py", title="Intro to Composable", icon=":material/extension:", url_path="intro"),
    ],
    "Labs": [st.Page(path, title=title, icon=icon, url_path=url)
             for path, title, icon, url in LABS if (ROOT / path).is_file()],
    "Workbench": [
        st.Page("pages/builder.py", title="Model Builder", icon=":material/construction:", url_path="builder"),
        st.Page("pages/runs.py", title="Runs", icon=":material/monitoring:", url_path="runs"),
    ],
}
page = st.navigation({section: entries for section, entries in pages.items() if entries})
sidebar.render()
page.run()
