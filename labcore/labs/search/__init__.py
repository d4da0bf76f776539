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
best found per trial spent, the verdict over seeds), `views` (the trials
against size, the Pareto front, the comparison's chart) and `runner` (one
trial, through `labcore.training.train_run`). Not built yet: lower
fidelity with promotion, learning-curve extrapolation, weight inheritance,
and a CLI that drives a whole study.
"""
