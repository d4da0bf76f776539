"""Streamlit helpers shared by the pages: resources, the sidebar, run widgets.

Pages stay thin: they read like a slide and call into here and labcore.
Nothing in this package imports Keras or TensorFlow.
"""
