"""Composable Labs: learn composable model design by doing.

The entry point: page list, sidebar, and the background job supervisor.
No training happens in this process: runs go to a queue that a supervisor
thread hands to worker processes, and pages read their progress from the
store.
"""

import streamlit as st

from ui import nav, sidebar, state

st.set_page_config(page_title="Composable Labs", page_icon=":material/view_in_ar:", layout="wide")

state.keep_owner_in_url()
state.get_supervisor()

page = st.navigation({
    section: [st.Page(e.path, title=e.title, icon=e.icon, url_path=e.url_path or None, default=not e.url_path)
              for e in entries]
    for section, entries in nav.SECTIONS.items()
})
state.apply_loaded_widgets()
sidebar.render()
page.run()
