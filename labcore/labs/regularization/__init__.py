"""The Regularization lab: watch a model overfit, then close the gap step by step.

Description: a compact ResNet v2 memorises its training images (train
accuracy far above validation); Gaussian noise, L2 weight decay, a lower
learning rate late in training, label smoothing, dropout, early stopping,
warm-up and decay schedules narrow that gap, and a learning-rate range test
and a compact-model sweep pick the rate and the size.

Where each part lives:
- `config`: the `Config` with its `RANGES`, `PRESETS` and `PRESET_NOTES`,
  and the ladder of `STEPS` (each with what the original lab told its
  students to expect on CIFAR-10).
- `recipe`: the spec and training configuration each step trains
  (`model_spec`, `train_config`), the kind's validator `problems`, and the
  pure functions the page computes with (`lr_curves`, `ladder_rows`,
  `sweep_points`, `lr_range_suggestion`).
- `runner`: the kind's runner `run`, the only module that imports Keras.
- `views`: the Altair charts and the sentences the page shows beside a run.

This package's `__init__` imports nothing, so that importing any one part
costs only that part.

Where we depart from the original lab (GoogleCloudPlatform/
keras-idiomatic-programmer, community-labs/regularization):
- No double decay. Its runs applied both Adam's legacy `decay=1e-5` and a
  scheduler subtracting 1e-5 * 0.9^k every epoch; ours train at a constant
  rate unless a step says otherwise.
- No compounding cosine. Its "two-tier" step restarted at 1e-4 under a
  cosine that multiplied the previous epoch's rate, so the rate was ~0 by
  epoch 8 of 10; our lower-rate step trains at a constant base/10, and our
  cosine (the "schedule" step) is computed from the epoch number alone.
- L2 reaches the dense classifier too, as the lab's text promised (its
  plain Keras `Dense` head never got it).
- The ladder's gap is measured after training, with the final weights in
  inference mode on the training and validation images. Keras's running
  train accuracy is measured with noise and dropout switched on and while
  the weights still move, so it would make every regularizer look as if it
  closed the gap.
"""
