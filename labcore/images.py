"""Image grids (Pillow): originals, reconstructions, errors and latent codes as pictures.

Workers draw these while they train (the autoencoder's reconstructions,
stored each epoch as an artifact) and pages draw them from stored arrays,
so this module needs only NumPy and Pillow: no chart library in a worker.
"""

import numpy as np
from PIL import Image, ImageDraw

__all__ = ["channels_grid", "image_grid"]


def _to_uint8(image):
    """A float image in [0, 1] (H, W) or (H, W, C) -> uint8 RGB or L array."""
    array = np.asarray(image, dtype=np.float32)
    if array.ndim == 3 and array.shape[-1] == 1:
        array = array[..., 0]
    return (np.clip(array, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)


def image_grid(rows, row_labels=(), scale=3, gap=2, label_width=90):
    """Tile images into one picture, one row per list, each row labelled.

    Args:
        rows: list of lists of images, floats in [0, 1], (H, W) or (H, W, C);
            all images the same size.
        row_labels: names drawn at the left of each row (e.g. "original",
            "reconstruction", "error").
        scale: int, nearest-neighbour upscaling so 28x28 images are visible.
        gap: int, pixels between tiles.
        label_width: int, pixels reserved for the labels (0 if none).

    Returns:
        a `PIL.Image.Image` in RGB.
    """
    first = _to_uint8(rows[0][0])
    h, w = first.shape[:2]
    tile_h, tile_w = h * scale, w * scale
    n_cols = max(len(r) for r in rows)
    left = label_width if row_labels else 0
    canvas = Image.new("RGB", (left + n_cols * (tile_w + gap) + gap, len(rows) * (tile_h + gap) + gap), "white")
    draw = ImageDraw.Draw(canvas)
    for r, images in enumerate(rows):
        y = gap + r * (tile_h + gap)
        if r < len(row_labels):
            draw.text((4, y + tile_h // 2 - 6), str(row_labels[r]), fill=(40, 40, 40))
        for c, image in enumerate(images):
            tile = Image.fromarray(_to_uint8(image)).convert("RGB").resize((tile_w, tile_h), Image.NEAREST)
            canvas.paste(tile, (left + gap + c * (tile_w + gap), y))
    return canvas


def channels_grid(code, n_cols=8, scale=8, gap=2):
    """Show a latent code (H, W, C) as C small grey images, each scaled to its own range.

    Each channel is min-max scaled on its own, because the channels of a
    latent code have unrelated ranges and a shared scale would show most of
    them as flat grey.
    """
    code = np.asarray(code, dtype=np.float32)
    n = code.shape[-1]
    tiles = []
    for k in range(n):
        channel = code[..., k]
        span = float(channel.max() - channel.min())
        tiles.append((channel - channel.min()) / span if span > 0 else np.zeros_like(channel))
    rows = [tiles[i:i + n_cols] for i in range(0, n, n_cols)]
    return image_grid(rows, scale=scale, gap=gap)
