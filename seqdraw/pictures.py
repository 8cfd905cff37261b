"""Pictures for people: image grids (data previews, samples). PNGs are written atomically."""
from __future__ import annotations

import numpy as np
from PIL import Image

from seqdraw.files import atomic_path


def grid(images: np.ndarray, cols: int, pad: int = 2, value: int = 255) -> np.ndarray:
    """uint8 [N, H, W] -> one uint8 picture with `cols` columns and a `pad`-pixel border."""
    n, h, w = images.shape
    rows = -(-n // cols)
    out = np.full((rows * (h + pad) + pad, cols * (w + pad) + pad), value, np.uint8)
    for i, im in enumerate(images):
        r, c = divmod(i, cols)
        out[pad + r * (h + pad): pad + r * (h + pad) + h, pad + c * (w + pad): pad + c * (w + pad) + w] = im
    return out


def save_png(path, picture: np.ndarray, scale: int = 1) -> None:
    im = Image.fromarray(picture)
    if scale > 1:
        im = im.resize((im.width * scale, im.height * scale), Image.NEAREST)
    with atomic_path(path) as tmp:
        im.save(tmp, format="PNG")
