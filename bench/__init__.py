"""Benchmarks of Composable Labs: measured side by side, not timed tests.

Each module runs as `python -m bench.NAME` from the repository root, prints
a markdown table and appends it, with the machine, the date, the exact
command, the software versions and the load average, to
`docs/PERFORMANCE.md` (see `bench._report`):

  training_overhead  plain `model.fit` vs the app's queue and worker (images/s)
  start_latency      Train clicked -> first progress, cold vs pre-warmed worker
  ui_cost            page reruns (AppTest), the live-run fragment, server RSS
  lab_presets        each lab's quick preset through the CLI: wall time, accuracy
  scaling            seconds per epoch vs dataset size and vs model width

The shared machine is busy: every ratio comes from arms run interleaved in
one invocation and repeated; `--quiet-wait` waits for a quiet machine first.
"""
