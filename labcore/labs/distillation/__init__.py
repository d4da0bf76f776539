"""The Knowledge distillation lab: a small student learns from a large teacher.

Hinton, Vinyals and Dean (2015): train a large teacher, then train a small
student on the teacher's softened outputs as well as the labels, and the
student does better than the same student trained on the labels alone.
Each step of the lab is a run of its own: train the teacher, train the
student from scratch (the control), distil the student (same seed, epochs
and data), and sweep the temperature T against the weight alpha of the
labels. The page also shows the teacher's "dark knowledge": its
probabilities for one test image as T rises.

- `config`: the run's `Config` (one step), `STEPS`, the fields each step
  reads, `RANGES`, `PRESETS` and `PRESET_NOTES` (Keras-free, Altair-free).
- `recipe`: the validator `problems`, the teacher and student specs, how
  each step trains, which stored teacher a step may reuse, and the NumPy
  the page computes with: softened probabilities, the distillation loss by
  hand, results grouped by seed, the sweep's cells (Keras-free,
  Altair-free).
- `views`: the heat map, the dark-knowledge bars, the published numbers
  and every sentence that states a result (imports Altair; pages only).
- `runner`: `run`, which trains one step, distilling with
  `keras.distillation` (imports Keras; worker processes only).

This package imports none of them, so importing it costs nothing.
"""
