"""labcore: the library behind Composable Labs.

Builds models from declarative specs (stem -> learner -> task), trains them in
worker processes, and keeps every run in a SQLite store. This package imports
nothing heavy: the Streamlit process imports only the Keras-free modules
(`spec`, `schedules`, `trainconfig`, `store`, `jobs`, `supervisor`, `processes`, `data`, `viz`,
`slides`), and only the worker imports Keras (`composable`, `training`,
`labs.*` run functions).
"""

__version__ = "0.1.0"
