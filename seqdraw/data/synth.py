"""Synthetic SVHN-like house numbers: the default training data, generated with no download.

Each sample is made like a real SVHN example: a photo-like scene with a number in it (wall texture,
plate, neighbouring clutter, lighting, blur), the per-digit boxes of that scene, and then the same
crop/grey/resize/right-align preprocessing as real SVHN (`seqdraw.data.preprocess`). The scene is
painted directly in luma: the real path's grey conversion is a linear map of RGB, so painting in
colour and converting would cost three times as much for the same frame. Sensor noise and JPEG
artefacts are applied to the final 32x64 frame, the resolution at which SVHN's small originals were
stored.

Sample i of seed s depends only on (s, i): generation is deterministic, order-free and parallel.
Statistics fitted to the real SVHN train annotations are marked "SVHN train.csv" below.
"""
from __future__ import annotations

import functools
import io
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont

from seqdraw.data.fonts import font_pool
from seqdraw.data.labels import MAX_LEN, PAD
from seqdraw.data.preprocess import DEFAULT_MARGIN, FRAME_H, FRAME_W, preprocess, square_crop
from seqdraw.errors import SeqdrawError

# SVHN train.csv (33,402 images): share of numbers with 1..5 digits (the 1 six-digit image is
# folded into 5: 15.379 / 54.278 / 26.019 / 4.293 / 0.027+0.003 %).
SVHN_LENGTH_PROBS = (0.15379, 0.54278, 0.26019, 0.04293, 0.00030)
# SVHN train.csv, over all 73,257 digit boxes: width / height mean 0.491, std 0.136, p5-p95 0.28-0.71.
BOX_ASPECT = (0.491, 0.136, 0.28, 0.75)          # mean, std, min, max
# SVHN train.csv, over consecutive digit pairs, in units of the digit height:
# horizontal gap between boxes mean -0.004, std 0.111 (p5 -0.15, p95 0.14);
# vertical offset of the next box mean -0.014, std 0.127 (p5 -0.19, p95 0.12);
# height ratio of consecutive boxes is 1.000 (std 0.009): one size per number.
BOX_GAP = (-0.004, 0.111, -0.15, 0.35)           # mean, std, min, max
BOX_DY_STD = 0.127

BACKGROUNDS = ("flat", "gradient", "blotches", "siding", "brick", "wood")


@dataclass
class SynthConfig:
    """Every knob of the generator; the defaults are the shipped data set's."""
    length_probs: tuple[float, ...] = SVHN_LENGTH_PROBS   # P(L = 1..5)
    digit_height: tuple[int, int] = (22, 36)      # digit height in scene pixels (~1.2x the frame)
    margin: float = DEFAULT_MARGIN                # preprocessing margin (fraction of number height)
    box_aspect: tuple[float, float, float, float] = BOX_ASPECT
    box_gap: tuple[float, float, float, float] = BOX_GAP
    box_dy_std: float = BOX_DY_STD / 2            # part of SVHN's dy comes from rotation, added below
    width_scale_std: float = 0.15                 # log-normal horizontal stretch (condensed/wide faces)
    p_bold: float = 0.7                           # a bold stroke around the glyphs
    bold_stroke: int = 4                          # its width in pixels of the 96 px master (~1.7 px in the scene)
    max_shear: float = 0.25                       # slant
    max_rotation: float = 5.0                     # degrees
    max_perspective: float = 0.0015               # projective terms
    p_dark_on_light: float = 0.5                  # polarity
    contrast: tuple[float, float] = (0.18, 0.7)   # |luma(digits) - luma(background)|
    background_probs: tuple[float, ...] = (0.2, 0.2, 0.2, 0.15, 0.1, 0.15)   # over BACKGROUNDS
    texture_amplitude: tuple[float, float] = (0.02, 0.25)
    p_plate: float = 0.35                         # a plate of its own colour behind the number
    p_frame: float = 0.4                          # a border line on that plate
    p_neighbours: float = 0.5                     # clutter at the sides: other glyphs, edges, bars
    p_shadow: float = 0.25                        # drop shadow under the paint
    lighting: float = 0.35                        # max strength of a linear lighting gradient
    blur_sigma: tuple[float, float] = (0.6, 2.6)  # Gaussian blur of the scene, pixels
    p_low_res: float = 0.5                        # the photo was smaller: downscale, then back up
    low_res_factor: tuple[float, float] = (1.3, 3.0)
    box_pad: float = 0.08                         # SVHN boxes are looser than the ink: pad top and bottom
    noise_std: tuple[float, float] = (0.0, 0.03)  # sensor noise on the scene (fraction of 255)
    p_jpeg: float = 0.5
    jpeg_quality: tuple[int, int] = (15, 85)
    fonts: str | None = None                      # a folder of TTF/OTF files instead of the bundled set

    def __post_init__(self):
        p = np.asarray(self.length_probs, dtype=np.float64)
        if p.ndim != 1 or not 1 <= len(p) <= MAX_LEN or (p < 0).any() or p.sum() <= 0:
            raise SeqdrawError(f"length_probs must be 1..{MAX_LEN} non-negative weights, got {self.length_probs}")
        if len(self.background_probs) != len(BACKGROUNDS):
            raise SeqdrawError(f"background_probs needs {len(BACKGROUNDS)} weights: {BACKGROUNDS}")

    @staticmethod
    def lengths_from_flag(flag: str) -> tuple[float, ...]:
        """`svhn` (default), `uniform`, `uniform:4` (1..4), or weights such as `1,1,2`."""
        if flag == "svhn":
            return SVHN_LENGTH_PROBS
        if flag.startswith("uniform"):
            n = int(flag.split(":")[1]) if ":" in flag else MAX_LEN
            if not 1 <= n <= MAX_LEN:
                raise SeqdrawError(f"--lengths {flag}: the longest length must be 1..{MAX_LEN}")
            return (1.0,) * n
        try:
            return tuple(float(v) for v in flag.split(","))
        except ValueError:
            raise SeqdrawError(f"--lengths {flag!r}: use svhn, uniform, uniform:N or weights like 1,2,1") from None


@dataclass
class Sample:
    image: np.ndarray          # uint8 [32, 64]
    digits: str
    boxes: np.ndarray          # float32 [L, 4] left, top, width, height in the frame
    crops: np.ndarray | None = None   # uint8 [L, 32, 32] format-2 style crops, on request


GLYPH_SIZE = 96          # glyphs are rendered once per font at this size, then scaled


@functools.lru_cache(maxsize=512)
def _master_glyphs(font_path: str, stroke: int):
    """Ten digit masks of one font, rendered at GLYPH_SIZE: (uint8 mask, x offset, y offset).

    FreeType rendering costs ~5 ms for the ten digits of a font size; scaling a rendered mask ~0.1 ms
    (profiled). Rendering once per font and scaling to each size keeps the generator fast from the
    first image."""
    font = ImageFont.truetype(font_path, GLYPH_SIZE)
    out = []
    for ch in "0123456789":
        x0, y0, x1, y1 = font.getbbox(ch, stroke_width=stroke)
        im = Image.new("L", (max(1, x1 - x0), max(1, y1 - y0)))
        ImageDraw.Draw(im).text((-x0, -y0), ch, fill=255, font=font, stroke_width=stroke, stroke_fill=255)
        a = np.asarray(im)
        ys, xs = np.nonzero(a > 40)               # tight ink box (getbbox includes side bearings)
        a = a[ys.min(): ys.max() + 1, xs.min(): xs.max() + 1]
        out.append((a, x0 + xs.min(), y0 + ys.min()))
    return out


@functools.lru_cache(maxsize=16384)
def _glyph(font_path: str, size: int, stroke: int, digit: int):
    """One mask of _master_glyphs scaled to a font size (antialiased resampling): (mask, x, y)."""
    f = size / GLYPH_SIZE
    a, ox, oy = _master_glyphs(font_path, stroke)[digit]
    h, w = max(1, round(a.shape[0] * f)), max(1, round(a.shape[1] * f))
    return np.asarray(Image.fromarray(a).resize((w, h), Image.BILINEAR)), ox * f, oy * f


@functools.lru_cache(maxsize=512)
def _tallest(font_path: str, stroke: int) -> int:
    return max(m.shape[0] for m, _, _ in _master_glyphs(font_path, stroke))


@functools.lru_cache(maxsize=512)
def _ink_ratio(font_path: str) -> float:
    """Digit ink height / font size, to choose the size that gives a wanted digit height."""
    return float(np.median([m.shape[0] for m, _, _ in _master_glyphs(font_path, 0)])) / GLYPH_SIZE


class SynthGenerator:
    def __init__(self, config: SynthConfig | None = None):
        self.config = config or SynthConfig()
        self.fonts = font_pool(self.config.fonts)
        p = np.asarray(self.config.length_probs, dtype=np.float64)
        self.length_p = p / p.sum()
        b = np.asarray(self.config.background_probs, dtype=np.float64)
        self.background_p = b / b.sum()

    # ---- one sample -------------------------------------------------------------------------
    def sample(self, seed: int, index: int, digits: str | None = None, crops: bool = False) -> Sample:
        rng = np.random.default_rng([seed, index])
        c = self.config
        if digits is None:
            L = int(rng.choice(len(self.length_p), p=self.length_p)) + 1
            digits = "".join(str(d) for d in rng.integers(0, 10, L))
        scene, boxes = self._scene(rng, digits)
        frame, frame_boxes = preprocess(scene, boxes, margin=c.margin)
        crop_arr = np.stack([square_crop(scene, b) for b in boxes]) if crops else None
        return Sample(frame, digits, frame_boxes, crop_arr)

    # ---- scene: text layer, geometry, appearance --------------------------------------------
    def _text_layer(self, rng, digits: str, h: float):
        c = self.config
        font = self.fonts[rng.integers(len(self.fonts))]
        size = max(6, int(round(h / _ink_ratio(font) / 2)) * 2)        # even sizes bound the cache
        stroke = c.bold_stroke if rng.random() < c.p_bold else 0
        gh = max(1, round(_tallest(font, stroke) * size / GLYPH_SIZE))    # the tallest of the ten, scaled
        am, asd, amin, amax = c.box_aspect
        gm, gsd, gmin, gmax = c.box_gap
        boxes, placed, x = [], [], 0.0
        for i, ch in enumerate(digits):
            m, _, oy = _glyph(font, size, stroke, int(ch))
            # SVHN boxes are looser than ink for narrow digits (1, 7): widen the box, not the ink
            bw = max(m.shape[1], np.clip(rng.normal(am, asd), amin, amax) * gh * 0.8)
            if i:
                x += np.clip(rng.normal(gm, gsd), gmin, gmax) * gh
            dy = rng.normal(0, c.box_dy_std) * gh
            top = oy + dy
            placed.append((m, x + (bw - m.shape[1]) / 2, top))
            pad = c.box_pad * m.shape[0]
            boxes.append((x, top - pad, bw, m.shape[0] + 2 * pad))
            x += bw
        return placed, np.array(boxes, dtype=np.float64), gh, font, size

    def _scene(self, rng, digits: str):
        c = self.config
        h = rng.uniform(*c.digit_height)
        placed, boxes, gh, font, size = self._text_layer(rng, digits, h)
        # scene layout: room on the left for the 2:1 window of a short number, clutter on the sides
        text_w = boxes[:, 0].max() + boxes[:, 2].max()
        top0 = boxes[:, 1].min()
        # the preprocessing window reaches 2 x 1.3 x gh left of the number's right edge
        pad_y = 0.45 * gh
        pad_l = max(0.5 * gh, 2.9 * gh - text_w)
        pad_r = 0.5 * gh
        W = int(text_w + pad_l + pad_r)
        H = int(gh + pad_y * 2 + (boxes[:, 1].max() - top0))
        ox, oy = pad_l, pad_y - top0
        ink = np.zeros((H, W), np.uint8)
        for m, mx, my in placed:
            _paste(ink, m, mx + ox, my + oy)
        boxes = boxes + [ox, oy, 0, 0]
        clutter = self._neighbours(rng, font, size, boxes, (H, W)) if rng.random() < c.p_neighbours else None

        # one projective map: horizontal stretch, slant, rotation, perspective, about the text centre
        cx, cy = boxes[:, 0].min() + text_w / 2, boxes[:, 1].mean() + gh / 2
        sx = np.exp(rng.normal(0, c.width_scale_std))
        sh = rng.uniform(-c.max_shear, c.max_shear) * (rng.random() < 0.6)
        th = np.deg2rad(rng.uniform(-c.max_rotation, c.max_rotation))
        px, py = rng.uniform(-c.max_perspective, c.max_perspective, 2) * (rng.random() < 0.5)
        T1 = np.array([[1, 0, -cx], [0, 1, -cy], [0, 0, 1]])
        A = np.array([[sx, -sh, 0], [0, 1, 0], [0, 0, 1]])
        R = np.array([[np.cos(th), -np.sin(th), 0], [np.sin(th), np.cos(th), 0], [0, 0, 1]])
        P = np.array([[1, 0, 0], [0, 1, 0], [px, py, 1]])
        M = np.linalg.inv(T1) @ P @ R @ A @ T1
        inv = np.linalg.inv(M)
        ink = _warp(ink, inv)
        boxes = _warp_boxes(boxes, M)
        if clutter is not None:
            clutter = _warp(clutter, inv)

        # appearance, in luma
        bg_l = rng.uniform(0.05, 0.95)
        contrast = rng.uniform(*c.contrast)
        dark_on_light = rng.random() < c.p_dark_on_light
        fg_l = bg_l - contrast if dark_on_light else bg_l + contrast
        if not 0.0 <= fg_l <= 1.0:                  # reflect into range, keeping the contrast
            fg_l = bg_l + contrast if dark_on_light else bg_l - contrast
            fg_l = float(np.clip(fg_l, 0.0, 1.0))
        yy, xx = np.ogrid[0:H, 0:W]
        yy, xx = yy.astype(np.float32), xx.astype(np.float32)
        wall = self._background(rng, (H, W), yy, xx, gh)
        scene = wall * bg_l
        if rng.random() < c.p_plate:
            scene = self._plate(rng, scene, boxes, gh, bg_l)
        if clutter is not None:
            scene = _over(scene, clutter, fg_l + rng.normal(0, 0.1))
        if rng.random() < c.p_shadow:
            sh_img = _shift(ink, rng.integers(-3, 4), rng.integers(1, 4))
            scene = scene * (1 - rng.uniform(0.2, 0.6) * sh_img)
        scene = _over(scene, ink, fg_l)
        light = 1 + rng.uniform(-c.lighting, c.lighting) * _ramp(rng, yy, xx)
        scene = np.clip(scene * light, 0, 1)
        img = Image.fromarray((scene * 255 + 0.5).astype(np.uint8), "L")
        sigma = rng.uniform(*c.blur_sigma)
        if sigma > 0.3:
            img = img.filter(ImageFilter.GaussianBlur(sigma))
        if rng.random() < c.p_low_res:
            f = rng.uniform(*c.low_res_factor)
            small = img.resize((max(8, int(W / f)), max(8, int(H / f))), Image.BILINEAR)
            img = small.resize((W, H), Image.BILINEAR)
        # the camera's noise and JPEG belong to the photo: the resize to 32x64 (or 32x32) then
        # smooths them, as it does for real SVHN; added after the resize they were far too sharp
        return self._sensor(rng, img), boxes

    def _background(self, rng, shape, yy, xx, gh) -> np.ndarray:
        c = self.config
        kind = BACKGROUNDS[rng.choice(len(BACKGROUNDS), p=self.background_p)]
        amp = rng.uniform(*c.texture_amplitude)
        H, W = shape
        if kind == "flat":
            tex = np.zeros(shape, np.float32)
        elif kind == "gradient":
            tex = _ramp(rng, yy, xx)
        elif kind == "blotches":
            tex = _smooth_noise(rng, shape, rng.integers(2, 7))
        elif kind == "siding":
            period = rng.uniform(0.3, 0.9) * gh
            tex = ((yy + rng.uniform(0, period)) % period) / period * 2 - 1
            tex = np.where(tex > 0.85, -1.5, tex * 0.4).astype(np.float32)
        elif kind == "brick":
            bh = rng.uniform(0.3, 0.7) * gh
            bw = bh * rng.uniform(2.0, 3.2)
            row = np.floor(yy / bh)
            mortar = ((yy % bh) < 1.5) | (((xx + (row % 2) * bw / 2) % bw) < 1.5)
            tex = np.where(mortar, -1.5, 0.3 * _smooth_noise(rng, shape, 6)).astype(np.float32)
        else:  # wood
            freq = rng.uniform(0.15, 0.5)
            tex = np.sin(yy * freq + 3 * _smooth_noise(rng, shape, 3)).astype(np.float32)
        grain = rng.standard_normal(shape, dtype=np.float32) * 0.15
        return np.clip(1 + amp * (tex + grain), 0, 2)

    def _plate(self, rng, scene, boxes, gh, bg_l):
        """A plate behind the number; the wall outside it gets a different brightness."""
        H, W = scene.shape[:2]
        m = rng.uniform(0.15, 0.6) * gh
        x0, y0 = boxes[:, 0].min() - m, boxes[:, 1].min() - m
        x1, y1 = (boxes[:, 0] + boxes[:, 2]).max() + m, (boxes[:, 1] + boxes[:, 3]).max() + m
        mask = Image.new("L", (W, H))
        d = ImageDraw.Draw(mask)
        d.rounded_rectangle((x0, y0, x1, y1), radius=rng.uniform(0, 0.4) * gh, fill=255)
        plate = np.asarray(mask, np.float32) / 255
        wall = np.clip(bg_l + rng.choice([-1, 1]) * rng.uniform(0.1, 0.5), 0.02, 0.98)
        out = scene * plate + (scene / max(bg_l, 1e-3) * wall) * (1 - plate)
        if rng.random() < self.config.p_frame:
            frame = Image.new("L", (W, H))
            ImageDraw.Draw(frame).rounded_rectangle(
                (x0 + 2, y0 + 2, x1 - 2, y1 - 2), radius=rng.uniform(0, 0.3) * gh, outline=255,
                width=int(rng.integers(1, 3)))
            out = _over(out, np.asarray(frame, np.float32) / 255, 1 - bg_l)
        return np.clip(out, 0, 1)

    def _neighbours(self, rng, font, size, boxes, shape):
        """Clutter SVHN crops often show at their sides: a stray glyph, a bar, a door edge."""
        H, W = shape
        layer = np.zeros(shape, np.uint8)
        x_left, x_right = boxes[:, 0].min(), (boxes[:, 0] + boxes[:, 2]).max()
        gh = boxes[:, 3].max()
        for side in ("left", "right"):
            if rng.random() < 0.5:
                continue
            gap = rng.uniform(0.4, 1.5) * gh
            kind = rng.integers(3)
            if kind == 0:                               # a glyph of another number or a letter mark
                m, _, _ = _glyph(font, size, 0, int(rng.integers(10)))
                x = x_left - gap - m.shape[1] if side == "left" else x_right + gap
                _paste(layer, m, x, boxes[:, 1].min() + rng.normal(0, 0.2) * gh)
            else:                                       # a vertical bar or edge
                w = rng.uniform(0.1, 0.5) * gh if kind == 1 else W
                x = x_left - gap - w if side == "left" else x_right + gap
                xa, xb = int(np.clip(x, 0, W)), int(np.clip(x + w, 0, W))
                layer[:, xa:xb] = rng.integers(100, 256)
        return layer

    def _sensor(self, rng, img: Image.Image) -> Image.Image:
        c = self.config
        std = rng.uniform(*c.noise_std) * 255
        if std > 0.5:
            f = np.asarray(img, np.float32) + np.float32(std) * rng.standard_normal((img.height, img.width), np.float32)
            img = Image.fromarray(np.clip(f + 0.5, 0, 255).astype(np.uint8), "L")
        if rng.random() < c.p_jpeg:
            buf = io.BytesIO()
            img.save(buf, "JPEG", quality=int(rng.integers(*c.jpeg_quality)))
            img = Image.open(io.BytesIO(buf.getvalue())).convert("L")
        return img


# ---- small image helpers ------------------------------------------------------------------------

def _paste(dst: np.ndarray, m: np.ndarray, x: float, y: float) -> None:
    """Max-composite a mask into dst (same dtype) at integer-rounded (x, y), clipped to dst."""
    x, y = int(round(x)), int(round(y))
    H, W = dst.shape
    h, w = m.shape
    xa, ya, xb, yb = max(x, 0), max(y, 0), min(x + w, W), min(y + h, H)
    if xa >= xb or ya >= yb:
        return
    np.maximum(dst[ya:yb, xa:xb], m[ya - y: yb - y, xa - x: xb - x], out=dst[ya:yb, xa:xb])


def _warp(a: np.ndarray, inv: np.ndarray) -> np.ndarray:
    """Apply a projective map, given its inverse, to a uint8 mask; float result in [0, 1]."""
    inv = inv / inv[2, 2]
    im = Image.fromarray(a)
    out = im.transform(im.size, Image.PERSPECTIVE, tuple(inv.ravel()[:8]), Image.BILINEAR)
    return np.asarray(out, np.float32) * np.float32(1 / 255)


def _warp_boxes(boxes: np.ndarray, M: np.ndarray) -> np.ndarray:
    """The axis-aligned boxes around the mapped corners of each box."""
    x0, y0, w, h = boxes.T
    xs = np.array([x0, x0 + w, x0, x0 + w])                                         # 4, L
    ys = np.array([y0, y0, y0 + h, y0 + h])
    d = M[2, 0] * xs + M[2, 1] * ys + M[2, 2]
    qx = (M[0, 0] * xs + M[0, 1] * ys + M[0, 2]) / d
    qy = (M[1, 0] * xs + M[1, 1] * ys + M[1, 2]) / d
    lo_x, lo_y = qx.min(0), qy.min(0)
    return np.stack([lo_x, lo_y, qx.max(0) - lo_x, qy.max(0) - lo_y], axis=1)


def _over(scene: np.ndarray, alpha: np.ndarray, luma: float) -> np.ndarray:
    return scene + alpha * (np.float32(luma) - scene)


def _ramp(rng, yy, xx) -> np.ndarray:
    """A linear ramp from -1 to 1 across the image in a random direction."""
    a = rng.uniform(0, 2 * np.pi)
    cx, cy = np.float32(np.cos(a) / max(xx.shape[1] - 1, 1)), np.float32(np.sin(a) / max(yy.shape[0] - 1, 1))
    lo = min(cx * (xx.shape[1] - 1), 0) + min(cy * (yy.shape[0] - 1), 0)
    span = abs(np.cos(a)) + abs(np.sin(a))
    return (xx * cx + yy * cy - np.float32(lo)) * np.float32(2 / span) - np.float32(1)


def _smooth_noise(rng, shape, cells: int) -> np.ndarray:
    H, W = shape
    small = rng.uniform(0, 255, (cells, cells * 2)).astype(np.uint8)
    big = Image.fromarray(small).resize((W, H), Image.BICUBIC)
    return np.asarray(big, np.float32) / 127.5 - 1


def _shift(a: np.ndarray, dx: int, dy: int) -> np.ndarray:
    return np.roll(np.roll(a, int(dy), axis=0), int(dx), axis=1)


# ---- data sets ------------------------------------------------------------------------------------

def generate(n: int, seed: int = 0, config: SynthConfig | None = None, start: int = 0,
             crops: bool = False, progress: bool = False) -> dict[str, np.ndarray]:
    """n samples as the arrays of a shard (see seqdraw.data.shards)."""
    from tqdm import tqdm

    if n < 1:
        raise SeqdrawError(f"n must be at least 1, got {n}")
    gen = SynthGenerator(config)
    images = np.zeros((n, FRAME_H, FRAME_W), np.uint8)
    labels = np.full((n, MAX_LEN), PAD, np.int8)
    lengths = np.zeros(n, np.int8)
    boxes = np.zeros((n, MAX_LEN, 4), np.float32)
    crop_list, crop_labels = [], []
    for i in tqdm(range(n), desc="synth", unit="img", disable=not progress, leave=False):
        s = gen.sample(seed, start + i, crops=crops)
        L = len(s.digits)
        images[i], lengths[i] = s.image, L
        labels[i, :L] = [int(d) for d in s.digits]
        boxes[i, :L] = s.boxes
        if crops:
            crop_list.append(s.crops)
            crop_labels += [int(d) for d in s.digits]
    out = dict(images=images, labels=labels, lengths=lengths, boxes=boxes)
    if crops:
        out["crops"] = np.concatenate(crop_list)
        out["crop_labels"] = np.asarray(crop_labels, np.int8)
    return out
