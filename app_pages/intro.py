"""Intro to Composable: a slide deck; some slides carry live widgets.

Navigation is two buttons and a slide counter (no keyboard needed, so it
works on a projector clicker or a tablet); the slide index lives in
session state so the widgets on a slide can rerun without losing the place.
"""

import json

import streamlit as st
import streamlit.components.v1 as components

from labcore import diagram, slides, spec
from ui import spec_widgets

deck = slides.load_deck("intro")
index = min(st.session_state.setdefault("intro_slide", 0), len(deck) - 1)


def _go(step):
    st.session_state["intro_slide"] = min(max(index + step, 0), len(deck) - 1)


slide = deck[index]
if st.session_state.get("intro_shown") != index:
    # Next sits below the slide: without this the new slide opens scrolled to
    # the old one's bottom. The slide number makes each script a new element.
    st.session_state["intro_shown"] = index
    components.html(f"<script>/* slide {index} */ for (const part of window.parent.document.querySelectorAll("
                    "'[data-testid=\"stMain\"], [data-testid=\"stAppViewContainer\"]')) part.scrollTo(0, 0);"
                    "</script>", height=0)
st.caption(f"Intro to Composable · slide {index + 1} of {len(deck)}")
st.title(slide.title)
st.markdown(slide.body)

if slide.widget == "diagram":
    st.graphviz_chart(diagram.dot(spec.default_spec()), width="stretch")
elif slide.widget == "stem":
    spec_widgets.stem_demo()
elif slide.widget == "groups":
    spec_widgets.groups_demo()
elif slide.widget == "blocks":
    spec_widgets.blocks_demo()
elif slide.widget == "spec":
    st.code(json.dumps(spec.default_spec().to_dict(), indent=2), language="json")

st.divider()
left, middle, right = st.columns([1, 4, 1])
left.button("← Previous", on_click=_go, args=(-1,), disabled=index == 0, width="stretch")
middle.progress((index + 1) / len(deck))
right.button("Next →", on_click=_go, args=(1,), disabled=index == len(deck) - 1,
             width="stretch", type="primary")
