"""Lab "Guided search": AutoML as a white box, searched in rounds the learner steers.

The learner brings a macro and micro architecture and leaves some
decisions open as a search space; a strategy asks for members, each trains
as an ordinary run (a trial), and between rounds the learner narrows the
space. Parts: `config` (the space's dimensions, each fixed, ranged or
listed; a trial's Config and the presets' fidelity), `recipe` (the space's
problems naming each dimension at fault, its size and parameter range, a
member's spec, a trial's `train` run and its validator), `study` (Optuna's
ask-and-tell in a journal file beside the store), `compare` (guided
against blind at the same budget: the blind space, the comparison's runs,
best found per trial spent, the verdict over seeds), `fidelity` (the best
trials promoted to a higher fidelity, weight inheritance, learning-curve
extrapolation, how well the cheap numbers ranked them), `driver` (a
comparison run in workers from a script: `python -m labcore search`),
`views` (the trials against size with the Pareto front, parallel
coordinates, importance, the comparison's chart) and `runner` (one trial,
through `labcore.training.train_run`; it stores its weights for promotion).
"""
