"""
Title: AutoEncoder for CNN
Description: learn a compact code of each image with a convolutional
autoencoder, then measure what a classifier gains (time) and loses
(accuracy) by training on the frozen codes instead of the pixels.

## Introduction

The original community lab ("Encoders for CNN") trained a convolutional
autoencoder on CIFAR-10, kept its encoder, and trained a ResNet on the
encoder's 4x4x32 output instead of the 32x32x3 images. It promised faster
training, lower accuracy and overfitting, but never measured any of it and
never trained the baseline on pixels. This lab does every step and measures
each one:

1. train the autoencoder (strided 3x3 convolutions with BN + ReLU, then a
   mirror that doubles the map stage by stage, by default a nearest resize
   and a 3x3 convolution, or the original's transposed convolutions; a
   sigmoid output, MSE, a constant rate after an optional warm-up) and
   store a grid of reconstructions every epoch;
2. measure reconstruction quality on held-out images (MSE and PSNR per
   image) and the compression ratio (input size / code size);
3. train the same classifier head twice, on pixels and on the frozen codes,
   with the same epochs, seed and optimizer, timing both;
4. optionally fine-tune: the trained encoder, unfrozen, as the stem of the
   classifier on pixels.

"The same classifier" needs one decision. A head that suits a 4x4 code
(no downsampling stem, a group at stride 1 then one at stride 2) would run
at full 32x32 resolution on pixels, an unfair and slow baseline. So on
pixels the head gets the encoder's layers in front, untrained: the same
architecture as the fine-tune model, from scratch. Raw and encoded then
differ only in what the encoder layers do: learn with the task every
epoch, or run once, frozen, before training.

## The modules

- `config`: the run's `Config`, its `RANGES`, `PRESETS` and
  `PRESET_NOTES`, and the constants the others share.
- `recipe`: the validator `problems` (the `autoencoder` job kind's), the
  specs a config builds with their sizes (`bottleneck`), and the rows a
  stored run gives tables and charts.
- `runner`: `run`, the four steps in Keras; only a worker process imports it.
- `views`: the page's charts and sentences, beside the original lab's claims.

This package imports nothing, so naming it costs neither Keras nor Altair.
"""
