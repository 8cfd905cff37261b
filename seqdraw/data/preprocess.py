"""The paper's preprocessing (section IV), shared by real SVHN and the synthetic generator.

"Rather than stretching characters to fill the whole image [...] we first count the digits length
and then carefully align each digit from right to left." Our reading (docs/data.md):

1. Take the union of the digit boxes and add `margin` x its height on every side.
2. The output is a 2:1 window (32x64). When the padded union is narrower than twice its height, the
   window keeps the union's height and is anchored at its right edge, extending to the left over the
   image itself: digits keep their aspect ratio and sit right-aligned, and the rest of the frame is
   real surroundings, not a flat fill. Where the window leaves the image it is mirror-padded.
3. When the padded union is wider than 2:1 (long numbers) the window grows to fit it, centred
   vertically: the number shrinks to fit instead of being cut.
4. Grey (ITU-R 601 luma, as PIL's "L"), resize the window to 32x64 with antialiasing.

Boxes are [left, top, width, height] in pixels, as in SVHN's digitStruct.
"""
from __future__ import annotations

import numpy as np
from PIL import Image

FRAME_H, FRAME_W = 32, 64
DEFAULT_MARGIN = 0.15


def crop_window(boxes: np.ndarray, margin: float = DEFAULT_MARGIN) -> tuple[float, float, float, float]:
    """The (x0, y0, x1, y1) window in source pixels that maps onto the 32x64 frame."""
    b = np.asarray(boxes, dtype=np.float64).tolist()         # a few boxes: plain floats are faster
    ux0, uy0 = min(x for x, _, _, _ in b), min(y for _, y, _, _ in b)
    ux1, uy1 = max(x + w for x, _, w, _ in b), max(y + h for _, y, _, h in b)
    pad = margin * (uy1 - uy0)
    h = (uy1 - uy0) + 2 * pad
    w = (ux1 - ux0) + 2 * pad
    aspect = FRAME_W / FRAME_H
    if w <= aspect * h:                       # right-aligned, surroundings fill the left
        x1 = ux1 + pad
        return x1 - aspect * h, uy0 - pad, x1, uy1 + pad
    cy = (uy0 + uy1) / 2                      # too wide: shrink to fit
    return ux0 - pad, cy - w / aspect / 2, ux1 + pad, cy + w / aspect / 2


def _padded(image: Image.Image, window) -> tuple[Image.Image, float, float]:
    """Mirror-pad `image` so that `window` lies inside it; returns the image and the shift."""
    x0, y0, x1, y1 = window
    W, H = image.size
    left, top = max(0, int(np.ceil(-x0))), max(0, int(np.ceil(-y0)))
    right, bottom = max(0, int(np.ceil(x1 - W))), max(0, int(np.ceil(y1 - H)))
    if not (left or top or right or bottom):
        return image, 0.0, 0.0
    a = np.asarray(image)
    pads = ((top, bottom), (left, right)) + (((0, 0),) if a.ndim == 3 else ())
    a = np.pad(a, pads, mode="symmetric")
    return Image.fromarray(a), float(left), float(top)


def preprocess(image: Image.Image | np.ndarray, boxes: np.ndarray, margin: float = DEFAULT_MARGIN,
               size: tuple[int, int] = (FRAME_H, FRAME_W)) -> tuple[np.ndarray, np.ndarray]:
    """Source image (RGB or grey) + digit boxes -> (uint8 [32, 64] grey frame, boxes in the frame)."""
    if isinstance(image, np.ndarray):
        image = Image.fromarray(image)
    boxes = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    window = crop_window(boxes, margin)
    x0, y0, x1, y1 = window
    if image.mode == "L" and x0 >= 0 and y0 >= 0 and x1 <= image.size[0] and y1 <= image.size[1]:
        grey, box = image, window               # the synthetic scenes: already grey, the window inside
    else:
        # grey first, and only the part we need: the cost stays independent of the photo's size
        cx0, cy0 = max(0, int(np.floor(x0))), max(0, int(np.floor(y0)))
        cx1, cy1 = min(image.size[0], int(np.ceil(x1))), min(image.size[1], int(np.ceil(y1)))
        grey = image.crop((cx0, cy0, cx1, cy1)).convert("L")
        local = (x0 - cx0, y0 - cy0, x1 - cx0, y1 - cy0)
        grey, dx, dy = _padded(grey, local)
        box = (local[0] + dx, local[1] + dy, local[2] + dx, local[3] + dy)
    frame = np.asarray(grey.resize((size[1], size[0]), Image.BILINEAR, box=box), dtype=np.uint8)
    scale = size[0] / (y1 - y0)
    out = (boxes - np.array([x0, y0, 0.0, 0.0])) * scale
    return frame, out.astype(np.float32)


def square_window(box, expand: float = 1.0) -> tuple[float, float, float, float]:
    """The (x0, y0, x1, y1) square around a digit box [left, top, width, height] (SVHN format 2)."""
    left, top, w, h = (float(v) for v in box)
    side = max(w, h) * expand
    cx, cy = left + w / 2, top + h / 2
    return cx - side / 2, cy - side / 2, cx + side / 2, cy + side / 2


def square_crop(image: Image.Image | np.ndarray, box, size: int = 32, expand: float = 1.0) -> np.ndarray:
    """An SVHN format-2 style crop: the digit box widened to a square (neighbours stay visible)."""
    if isinstance(image, np.ndarray):
        image = Image.fromarray(image)
    local = square_window(box, expand)
    grey, dx, dy = _padded(image.convert("L"), local)
    box = (local[0] + dx, local[1] + dy, local[2] + dx, local[3] + dy)
    return np.asarray(grey.resize((size, size), Image.BILINEAR, box=box), dtype=np.uint8)
