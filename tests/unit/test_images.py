"""Image grids: tiles laid out as asked, labels in their margin, codes scaled per channel."""

import numpy as np

from labcore.images import channels_grid, image_grid


def test_grid_size_follows_rows_columns_scale_gap_and_label_margin():
    rows = [[np.zeros((4, 5))] * 3, [np.ones((4, 5))] * 2]
    grid = image_grid(rows, row_labels=("a", "b"), scale=2, gap=1, label_width=30)
    # 3 columns of 10 px + 4 gaps, 2 rows of 8 px + 3 gaps, plus the labels.
    assert grid.size == (30 + 3 * 10 + 4, 2 * 8 + 3)
    assert image_grid(rows, scale=2, gap=1, label_width=30).size == (3 * 10 + 4, 2 * 8 + 3)


def test_tiles_hold_the_scaled_pixels_and_the_gaps_stay_white():
    image = np.array([[0.0, 1.0], [0.5, 0.25]])
    pixels = np.asarray(image_grid([[image]], scale=3, gap=2))
    tile = pixels[2:8, 2:8, 0]
    assert (tile[:3, :3] == 0).all() and (tile[:3, 3:] == 255).all()
    assert (tile[3:, :3] == 128).all() and (tile[3:, 3:] == 64).all()
    assert (pixels[:2] == 255).all() and (pixels[:, :2] == 255).all()


def test_values_outside_zero_one_are_clipped_and_single_channel_is_grey():
    pixels = np.asarray(image_grid([[np.array([[-1.0, 2.0]])[..., None]]], scale=1, gap=0))
    assert pixels.tolist() == [[[0, 0, 0], [255, 255, 255]]]


def test_each_latent_channel_is_scaled_to_its_own_range():
    code = np.stack([np.array([[0.0, 10.0]]), np.array([[-1.0, -0.5]]), np.full((1, 2), 3.0)], axis=-1)
    pixels = np.asarray(channels_grid(code, n_cols=3, scale=1, gap=0))[..., 0]
    # Both varying channels span black to white; a constant channel is black.
    assert pixels.tolist() == [[0, 255, 0, 255, 0, 0]]


def test_channels_wrap_into_rows_of_n_cols():
    grid = channels_grid(np.random.default_rng(0).random((2, 2, 5)), n_cols=2, scale=1, gap=1)
    assert grid.size == (2 * 2 + 3, 3 * 2 + 4)
