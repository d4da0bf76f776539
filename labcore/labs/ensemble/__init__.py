"""The Ensemble lab: instances of one model disagree, and their votes combine.

Train N instances of one spec with different seeds (optionally each on a
bootstrap resample), combine their test-set predictions by soft, hard and
validation-weighted voting, and compare with the intra-model ensembles
built from the same spec (a shared trunk with K heads, and a stacked
combiner on those heads): accuracy, parameters, training time and
inference time per image for every variant.

- `config`: the run's `Config`, its `RANGES`, `PRESETS` and `PRESET_NOTES`,
  and the voting rules and vote-strip filters (Keras-free, Altair-free).
- `recipe`: the validator `problems`, the member spec and training
  settings, and every pure-NumPy piece the runner and the page compute
  with: the voting rules, agreement, accuracy by N, the vote strip, the
  variant table (Keras-free, Altair-free).
- `runner`: `run`, which trains the members, the K-head model and the
  stack (imports Keras; worker processes only).
- `views`: the Altair charts, the closing note and what the original lab
  claimed (imports Altair; pages only).

This package imports none of them, so importing it costs nothing.
"""
