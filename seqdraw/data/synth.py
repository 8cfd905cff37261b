"""Synthetic SVHN-like house numbers: the default training data, generated with no download.

Each sample is made like a real SVHN example: a photo-like scene with a number in it (wall texture,
plate, neighbouring clutter, lighting, blur), the per-digit boxes of that scene, and then the same
crop/grey/resize/right-align preprocessing as real SVHN (`seqdraw.data.preprocess`). The scene is
painted directly in luma: the real path's grey conversion is a linear map of RGB, so painting in
colour and converting would cost three times as much for the same frame. Sensor noise and JPEG
artefacts are applied to the scene, as a camera's are, before the crop and resize.

Sample i of seed s depends only on (s, i): generation is deterministic, order-free and parallel.
Statistics fitted to the real SVHN train annotations are marked "SVHN train.csv" below.
"""
from __future__ import annotations

import bisect
import functools
import io
import math
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont

from seqdraw.data.fonts import font_families, font_pool
from seqdraw.data.heldout import is_heldout
from seqdraw.data.synth_set import SynthSet
from seqdraw.data.labels import MAX_LEN, PAD
from seqdraw.data.preprocess import (DEFAULT_MARGIN, FRAME_H, FRAME_W, crop_window, preprocess, square_crop,
                                     square_window)
from seqdraw.errors import SeqdrawError

# SVHN train.csv (33,402 images): share of numbers with 1..5 digits (the 1 six-digit image is
# folded into 5: 15.379 / 54.278 / 26.019 / 4.293 / 0.027+0.003 %).
SVHN_LENGTH_PROBS = (0.15379, 0.54278, 0.26019, 0.04293, 0.00030)
# SVHN train.csv, per image: the mean width / height of its boxes has mean 0.495, std 0.122
# (p5 0.31, p95 0.70); within an image the std is 0.052. A "1" box is 0.86x its image's mean,
# every other digit 1.00-1.04x (over all 73,257 boxes: mean 0.491, std 0.136).
NUMBER_ASPECT = (0.495, 0.122, 0.28, 0.80)       # mean, std, min, max
ONE_ASPECT = 0.86
# SVHN train.csv, over consecutive digit pairs, in units of the digit height:
# horizontal gap between boxes mean -0.004, std 0.111 (p5 -0.15, p95 0.14);
# vertical offset of the next box mean -0.014, std 0.127 (p5 -0.19, p95 0.12);
# height ratio of consecutive boxes is 1.000 (std 0.009): one size per number.
BOX_GAP = (-0.004, 0.111, -0.15, 0.35)           # mean, std, min, max
BOX_DY_STD = 0.127

BACKGROUNDS = ("flat", "gradient", "blotches", "siding", "brick", "wood")
SCENE_MARGIN = 4         # pixels of scene beyond what the frame and crops show: room for the blur


@dataclass
class SynthConfig:
    """Every knob of the generator; the defaults are the shipped data set's."""
    length_probs: tuple[float, ...] = SVHN_LENGTH_PROBS   # P(L = 1..5)
    digit_height: tuple[int, int] = (22, 36)      # digit height in pixels of a full-size photo (~1.2x the frame)
    margin: float = DEFAULT_MARGIN                # preprocessing margin (fraction of number height)
    number_aspect: tuple[float, float, float, float] = NUMBER_ASPECT   # box width / height, after the warp
    box_gap: tuple[float, float, float, float] = BOX_GAP
    box_dy_std: float = BOX_DY_STD / math.sqrt(2)  # per box: SVHN's is the offset between two boxes
    p_plain_one: float = 0.6                      # a number's 1s lose their foot serif (see _plain_one)
    p_font_weight: float = 0.25                   # keep the face's own stroke width; otherwise draw one:
    stroke_weight: tuple[float, float] = (0.085, 0.26)   # stroke / digit height, log-uniform in STROKE_LEVELS steps
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
    blur_sigma: tuple[float, float] = (0.6, 2.6)  # Gaussian blur, pixels of a full-size photo
    legibility: float = 0.8                       # blur (with lost resolution) at most this x the stroke width
    p_low_res: float = 0.5                        # the photo was smaller: painted at its own resolution
    low_res_factor: tuple[float, float] = (1.3, 3.0)   # how much smaller
    box_pad: tuple[float, float] = (0.0, 0.3)     # SVHN boxes are looser than the ink: top and bottom pads, uniform
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
        usage = f"--lengths {flag!r}: use svhn, uniform, uniform:N (N = 1..{MAX_LEN}) or weights like 1,2,1"
        if flag.startswith("uniform"):
            n = flag.split(":")[1] if ":" in flag else str(MAX_LEN)
            if flag not in ("uniform", f"uniform:{n}") or not n.isdigit() or not 1 <= int(n) <= MAX_LEN:
                raise SeqdrawError(usage)
            return (1.0,) * int(n)
        try:
            weights = tuple(float(v) for v in flag.split(","))
        except ValueError:
            raise SeqdrawError(usage) from None
        if not 1 <= len(weights) <= MAX_LEN or not all(math.isfinite(w) and 0 <= w <= 1e6 for w in weights) \
                or not sum(weights) > 0:
            raise SeqdrawError(usage + "; weights are 0 to 1e6, at least one positive, at most 5 of them")
        return weights


@dataclass
class Sample:
    image: np.ndarray          # uint8 [32, 64]
    digits: str
    boxes: np.ndarray          # float32 [L, 4] left, top, width, height in the frame
    crops: np.ndarray | None = None   # uint8 [L, 32, 32] format-2 style crops, on request


GLYPH_SIZE = 96          # glyphs are rendered once per font at this size, then scaled
GLYPH_SIZE_RATIO = 1.15  # font sizes used are its powers; the warp scales by the rest (at most 1 +- 7%)
STROKE_LEVELS = 6        # stroke weights used, log-spaced over SynthConfig.stroke_weight


@functools.lru_cache(maxsize=None)          # bounded: fonts x (STROKE_LEVELS + 1)
def _master_glyphs(font_path: str, weight: float | None):
    """Ten digit masks of one font, rendered at GLYPH_SIZE: (uint8 mask, x offset, y offset).

    With a weight, every stroke is thickened or thinned to `weight` x the digit height (see
    _restroke): a face's own weight is one of few, and house numbers are painted in every weight.
    FreeType rendering costs ~5 ms for the ten digits of a font size; scaling a rendered mask ~0.03 ms
    (profiled). Rendering once per font and scaling to each size keeps the generator fast from the
    first image."""
    masks = _rendered(font_path, 0) if weight is None else _restroke(font_path, weight)
    out = []
    for a, x0, y0 in masks:
        ys, xs = np.nonzero(a > 40)               # tight ink box (getbbox includes side bearings)
        tight = np.ascontiguousarray(a[ys.min(): ys.max() + 1, xs.min(): xs.max() + 1])   # PIL copies a view
        out.append((tight, x0 + xs.min(), y0 + ys.min()))
    return out


RESTROKE_ROOM = GLYPH_SIZE // 6      # pixels around a glyph to be restroked: room for thickened strokes


@functools.lru_cache(maxsize=None)          # bounded: fonts x 2
def _rendered(font_path: str, room: int):
    """The ten digits of a font as FreeType renders them at GLYPH_SIZE, `room` blank pixels around
    each: [(uint8 mask, x offset, y offset)]."""
    font = ImageFont.truetype(font_path, GLYPH_SIZE)
    masks = []
    for ch in "0123456789":
        x0, y0, x1, y1 = font.getbbox(ch)
        im = Image.new("L", (max(1, x1 - x0) + 2 * room, max(1, y1 - y0) + 2 * room))
        ImageDraw.Draw(im).text((room - x0, room - y0), ch, fill=255, font=font)
        masks.append((np.asarray(im), x0 - room, y0 - room))
    return masks


def _stroke_width(mask: np.ndarray) -> float:
    """Mean stroke width of a glyph in pixels: twice its area over its outline's length."""
    ink = mask > 127
    inner = ink[1:-1, 1:-1] & ink[:-2, 1:-1] & ink[2:, 1:-1] & ink[1:-1, :-2] & ink[1:-1, 2:]
    outline = ink.sum() - inner.sum()
    return 2 * ink.sum() / max(outline, 1)


@functools.lru_cache(maxsize=None)          # bounded: fonts x 2, ~0.3 MB each
def _squared_distances(font_path: str, outside: bool) -> list[np.ndarray]:
    """Per digit of a face (rendered with RESTROKE_ROOM), each pixel's squared Euclidean distance to
    the nearest ink pixel (outside) or to the nearest blank one (inside), from scipy's feature
    transform. A face's stroke weights all share them: the transform was ~80% of making a weight."""
    from scipy.ndimage import distance_transform_edt

    out = []
    for a, _, _ in _rendered(font_path, RESTROKE_ROOM):
        ink = a > 127
        nearest = distance_transform_edt(~ink if outside else ink, return_distances=False, return_indices=True)
        offset = nearest - np.indices(ink.shape, dtype=nearest.dtype)
        # uint16 halves the memory; a distance over 255 px (only a huge --fonts face has one) is as good
        # as infinite to a stroke change of a few pixels
        out.append(np.minimum(offset[0] ** 2 + offset[1] ** 2, 65535).astype(np.uint16))
    return out


def _restroke(font_path: str, weight: float):
    """The ten glyphs of a face with one change of stroke width, so that the median stroke becomes
    `weight` x the median digit height: grown or eroded by distance to the outline (the Euclidean
    distance transform), with a one-pixel soft edge. Thinning stops at 40% of the face's own stroke,
    where thin joins would break."""
    masks = _rendered(font_path, RESTROKE_ROOM)
    heights = [np.ptp(np.nonzero(a > 127)[0]) + 1 for a, _, _ in masks]
    own = float(np.median([_stroke_width(a) for a, _, _ in masks]))
    change = max(weight * float(np.median(heights)) - own, -0.6 * own) / 2          # per side
    out = []
    for (a, x0, y0), squared in zip(masks, _squared_distances(font_path, outside=change >= 0)):
        distance = np.sqrt(squared.astype(np.float64))          # what distance_transform_edt returns
        soft = change + 1 - distance if change >= 0 else distance + change
        out.append(((np.clip(soft, 0, 1) * 255).astype(np.uint8), x0, y0))
    return out


PLAIN_ONE = 10           # the glyph index of a "1" without its foot (_plain_one)


@functools.lru_cache(maxsize=None)          # bounded: fonts x (STROKE_LEVELS + 1)
def _plain_one(font_path: str, weight: float | None):
    """The face's "1" with its foot (the base serif) cut off, as (mask, x, y) like _master_glyphs:
    80% of the bundled faces' 1s have a foot, and by eye few real SVHN 1s do. The foot is the run of
    bottom rows whose ink is over 1.5x the stem's width; there only the stem's columns, as in the row
    above, keep their ink. A 1 without a foot comes back unchanged."""
    m, x0, y0 = _master_glyphs(font_path, weight)[1]
    ink = m > 127
    h = len(ink)
    widths = ink.sum(1)
    stem = np.median(widths[int(0.35 * h): int(0.75 * h)])
    top = h
    while top > 0.75 * h and widths[top - 1] > 1.5 * stem:
        top -= 1
    if top == h or not ink[top - 1].any():
        return m, x0, y0
    cols = np.flatnonzero(ink[top - 1])
    out = m.copy()
    out[top:, : max(cols[0] - 1, 0)] = 0
    out[top:, cols[-1] + 2:] = 0
    xs = np.flatnonzero((out > 40).any(0))
    return np.ascontiguousarray(out[:, xs[0]: xs[-1] + 1]), x0 + xs[0], y0


@functools.lru_cache(maxsize=None)          # bounded: fonts x sizes (powers of GLYPH_SIZE_RATIO) x weights x 11 glyphs
def _glyph(font_path: str, size: int, weight: float | None, digit: int):
    """One mask of _master_glyphs (or PLAIN_ONE) scaled to a font size (antialiased resampling): (mask, x, y)."""
    f = size / GLYPH_SIZE
    a, ox, oy = _plain_one(font_path, weight) if digit == PLAIN_ONE else _master_glyphs(font_path, weight)[digit]
    h, w = max(1, round(a.shape[0] * f)), max(1, round(a.shape[1] * f))
    return np.asarray(Image.fromarray(a).resize((w, h), Image.BILINEAR)), ox * f, oy * f


@functools.lru_cache(maxsize=None)
def _tallest(font_path: str, weight: float | None) -> int:
    return max(m.shape[0] for m, _, _ in _master_glyphs(font_path, weight))


@functools.lru_cache(maxsize=None)
def _reference_glyph(font_path: str, weight: float | None) -> tuple[float, float]:
    """Median ink (width, height) of the face's digits other than 1, at GLYPH_SIZE."""
    shapes = np.array([m.shape for d, (m, _, _) in enumerate(_master_glyphs(font_path, weight)) if d != 1])
    return float(np.median(shapes[:, 1])), float(np.median(shapes[:, 0]))


@functools.lru_cache(maxsize=None)
def _relative_weight(font_path: str, weight: float | None) -> float:
    """Median stroke width / median digit height of a face (its own, or restroked to `weight`)."""
    masks = [m for m, _, _ in _master_glyphs(font_path, weight)]
    return float(np.median([_stroke_width(m) for m in masks]) / np.median([m.shape[0] for m in masks]))


@functools.lru_cache(maxsize=512)
def _ink_ratio(font_path: str) -> float:
    """Digit ink height / font size, to choose the size that gives a wanted digit height."""
    return float(np.median([m.shape[0] for m, _, _ in _master_glyphs(font_path, None)])) / GLYPH_SIZE


NOISE_BANK_SHAPE = (256, 512)


@functools.lru_cache(maxsize=1)
def _noise_bank() -> np.ndarray:
    """Standard normal noise drawn once. Grain and sensor noise are windows of it at random offsets:
    drawing ~6,000 fresh normals per use cost ~70 us each time, the largest single step (profiled)."""
    bank = np.random.default_rng(20261124).standard_normal(NOISE_BANK_SHAPE, dtype=np.float32)
    bank.flags.writeable = False                      # every window is a view: none may change it
    return bank


def _normal_field(rng, shape) -> np.ndarray:
    """A [H, W] field of standard normals (read-only): a random window of the bank, sign flipped at random."""
    H, W = shape
    bh, bw = NOISE_BANK_SHAPE
    if H > bh or W > bw:
        return rng.standard_normal(shape, dtype=np.float32)
    u = rng.random(3)
    y, x = int(u[0] * (bh - H + 1)), int(u[1] * (bw - W + 1))
    window = _noise_bank()[y: y + H, x: x + W]
    return window if u[2] < 0.5 else -window


def _pick(rng, cumulative: list[float]) -> int:
    """An index drawn with probabilities given as a cumulative sum (rng.choice(p=...) costs ~14x this)."""
    return bisect.bisect_right(cumulative, rng.random() * cumulative[-1])


class SynthGenerator:
    def __init__(self, config: SynthConfig | None = None):
        self.config = config or SynthConfig()
        self.fonts = font_pool(self.config.fonts)
        self.families = font_families(self.fonts)
        lo, hi = self.config.stroke_weight           # log-spaced; also the cache keys of the glyphs
        self.stroke_levels = tuple(lo * (hi / lo) ** (k / (STROKE_LEVELS - 1)) for k in range(STROKE_LEVELS))
        p = np.asarray(self.config.length_probs, dtype=np.float64)
        self.length_cum = np.cumsum(p).tolist()
        self.background_cum = np.cumsum(np.asarray(self.config.background_probs, dtype=np.float64)).tolist()

    # ---- one sample -------------------------------------------------------------------------
    def sample(self, seed: int, index: int, digits: str | None = None, crops: bool = False,
               exclude_heldout: bool = False) -> Sample:
        """Sample `index` of `seed`: a random string (drawn again while it is a held-out string, with
        exclude_heldout) or the given `digits`, in a random scene."""
        rng = np.random.default_rng([seed, index])
        c = self.config
        while digits is None:
            L = _pick(rng, self.length_cum) + 1
            digits = "".join(map(str, rng.integers(0, 10, L).tolist()))
            if exclude_heldout and is_heldout(digits):
                digits = None
        scene, boxes = self._scene(rng, digits)
        frame, frame_boxes = preprocess(scene, boxes, margin=c.margin)
        crop_arr = np.stack([square_crop(scene, b) for b in boxes]) if crops else None
        return Sample(frame, digits, frame_boxes, crop_arr)

    # ---- scene: text layer, geometry, appearance --------------------------------------------
    def _face(self, rng):
        """The number's font and stroke weight (None: the face's own)."""
        c = self.config
        faces = self.families[rng.integers(len(self.families))]      # a family, then one of its faces:
        font = faces[rng.integers(len(faces))]                       # no family outweighs the others
        levels = self.stroke_levels
        weight = None                               # the face's own, when it lies within the range
        if rng.random() >= c.p_font_weight:
            weight = levels[rng.integers(STROKE_LEVELS)]
        elif not levels[0] <= (own := _relative_weight(font, None)) <= levels[-1]:
            weight = levels[0] if own < levels[0] else levels[-1]
        return font, weight

    @staticmethod
    def _text_layer(font: str, weight: float | None, digits: str, h: float, plain_one: bool = False):
        """The number's glyphs for a digit height h, its 1s without their foot if plain_one:
        ([(mask, x, y offset)], tallest glyph height, font size, the scale from glyph pixels to h)."""
        # glyphs come in sizes GLYPH_SIZE_RATIO apart, so that the glyph cache stays small and warm; the
        # projective map scales the number to the exact height wanted
        wanted = h / _ink_ratio(font)
        size = max(6, round(GLYPH_SIZE_RATIO ** round(math.log(wanted, GLYPH_SIZE_RATIO))))
        gh = max(1, round(_tallest(font, weight) * size / GLYPH_SIZE))    # the tallest of the ten, scaled
        glyphs = [_glyph(font, size, weight, PLAIN_ONE if plain_one and ch == "1" else int(ch)) for ch in digits]
        return glyphs, gh, size, wanted / size

    def _layout(self, rng, glyphs, reference, sh: float, th: float):
        """Place the glyphs so that the boxes, once warped, have SVHN's geometry: the number's mean
        box aspect drawn from SVHN's, a "1" box ONE_ASPECT of that, and SVHN's gaps between boxes.

        The warp's horizontal stretch sx is what sets the aspect. For a box w x H in glyph pixels, the
        rotation th after the stretch sx and slant sh gives an axis-aligned box of width
        |cos| sx w + |cos sh + sin| H and height |sin| sx w + |cos - sin sh| H; slant and rotation
        widen a box, so they are taken out of the stretch and out of the gaps. `reference` is the
        median (ink width, ink height) of the font's digits other than 1.
        Returns ([(mask, x, y)], boxes [L, 4] before the warp, sx)."""
        c = self.config
        cs, ss = abs(math.cos(th)), abs(math.sin(th))
        B, D = abs(math.cos(th) * sh + math.sin(th)), abs(math.cos(th) - math.sin(th) * sh)
        am, asd, amin, amax = c.number_aspect
        aspect = min(max(rng.normal(am, asd), amin), amax)
        w_ref, h_ref = reference
        pad_top, pad_bottom = rng.uniform(*c.box_pad, 2)         # one annotator per number
        H_ref = h_ref * (1 + pad_top + pad_bottom)
        # the ink keeps at least 40% of the box width, however slanted
        sx = max(H_ref * (aspect * D - B) / (w_ref * (cs - aspect * ss)), 0.4 * aspect * H_ref / w_ref)
        H_post = ss * sx * w_ref + D * H_ref                # a box's height after the warp
        gm, gsd, gmin, gmax = c.box_gap
        boxes, placed, x = [], [], 0.0
        for i, (m, _, oy) in enumerate(glyphs):
            bw = m.shape[1]
            if m.shape[1] < 0.6 * w_ref:                    # a narrow glyph (1, 7 in some faces)
                bw = max(bw, H_ref * (ONE_ASPECT * aspect * D - B) / (cs * sx))
            if i:
                gap = min(max(rng.normal(gm, gsd), gmin), gmax) * H_post
                x += (gap + B * H_ref) / (cs * sx)
            top = oy + rng.normal(0, c.box_dy_std) * H_ref
            placed.append((m, x + (bw - m.shape[1]) / 2, top))
            boxes.append((x, top - pad_top * m.shape[0], bw, m.shape[0] * (1 + pad_top + pad_bottom)))
            x += bw
        return placed, np.array(boxes, dtype=np.float64), sx

    def _scene(self, rng, digits: str):
        """One photo of a number: the camera, the number's geometry and ink, then its appearance. Each
        part draws from `rng` in turn, so a sample is a function of its generator alone."""
        font, weight, h, sigma, f, kept = self._camera(rng)
        ink, clutter, boxes, gh = self._geometry(rng, digits, font, weight, h, f)
        return self._appearance(rng, ink, clutter, boxes, gh, sigma, f, kept)

    def _camera(self, rng):
        """The digit height, the face, and the camera's blur and resolution, kept legible."""
        c = self.config
        h = rng.uniform(*c.digit_height)
        font, weight = self._face(rng)
        # the camera: blur, and a smaller original (`f` times smaller) that loses resolution
        sigma = rng.uniform(*c.blur_sigma)                     # in pixels of the full-size photo
        f = rng.uniform(*c.low_res_factor) if rng.random() < c.p_low_res else 1.0
        # SVHN's annotators labelled digits they could read: blur and lost resolution together stay
        # within `legibility` x the stroke width, and the contrast left at a blurred stroke's centre
        # (erf of width / (2 sqrt 2 blur) of the painted one) is at least the smallest contrast
        stroke = _relative_weight(font, weight) * h
        blur = math.hypot(sigma, f / 2 if f > 1 else 0.0)
        if blur > c.legibility * stroke:
            k = c.legibility * stroke / blur
            sigma, f, blur = sigma * k, 1 + (f - 1) * k, blur * k
        kept = math.erf(stroke / (2 * math.sqrt(2) * blur)) if blur > 0 else 1.0
        # A smaller original is painted at its own resolution: its blur, noise and JPEG blocks act there,
        # and the preprocessing enlarges them with it, as it does a small SVHN original. (Painting at
        # full size and shrinking gave the same pictures at up to 9 times the pixels.)
        return font, weight, h / f, sigma / f, f, kept

    def _geometry(self, rng, digits: str, font, weight, h: float, f: float):
        """The number's glyphs laid out and warped into the scene, with any neighbouring clutter: (ink,
        clutter, digit boxes in scene pixels, glyph height)."""
        c = self.config
        plain_one = rng.random() < c.p_plain_one
        glyphs, gh, size, scale = self._text_layer(font, weight, digits, h, plain_one)
        # one projective map: stretch, slant, rotation, perspective, about the text centre
        sh = rng.uniform(-c.max_shear, c.max_shear) * (rng.random() < 0.6)
        th = np.deg2rad(rng.uniform(-c.max_rotation, c.max_rotation))
        px, py = rng.uniform(-c.max_perspective, c.max_perspective, 2) * (rng.random() < 0.5)
        reference = np.multiply(_reference_glyph(font, weight), size / GLYPH_SIZE)
        placed, boxes, sx = self._layout(rng, glyphs, reference, sh, th)
        text_w = boxes[:, 0].max() + boxes[:, 2].max()
        cx, cy = boxes[:, 0].min() + text_w / 2, boxes[:, 1].mean() + gh / 2
        M, inv = _projective(cx, cy, sx, sh, th, px, py, scale)
        warped = _warp_boxes(boxes, M)
        # The scene is exactly what the camera must see: the preprocessing window and each digit's square
        # crop, and a few pixels more for the blur. Anything beyond it would never reach a frame, and a
        # scene smaller than the window would be mirror-padded by the preprocessing.
        x0, y0, x1, y1 = zip(crop_window(warped, c.margin), *(square_window(b) for b in warped.tolist()))
        X0, Y0 = float(math.floor(min(x0)) - SCENE_MARGIN), float(math.floor(min(y0)) - SCENE_MARGIN)
        W, H = math.ceil(max(x1) - X0) + SCENE_MARGIN, math.ceil(max(y1) - Y0) + SCENE_MARGIN
        # the ink is drawn unwarped on its own canvas, which holds both the glyphs and what maps onto the
        # scene (a narrowing stretch makes the unwarped number wider than the scene)
        scene_unwarped = _warp_boxes(np.array([[X0, Y0, W, H]], dtype=np.float64), inv)
        ix0, iy0, ix1, iy1 = _bounds(np.concatenate((boxes, scene_unwarped)), margin=2)
        ix0, iy0 = float(math.floor(ix0)), float(math.floor(iy0))
        ink_shape = (math.ceil(iy1 - iy0), math.ceil(ix1 - ix0))
        ink = np.zeros(ink_shape, np.uint8)
        for m, mx, my in placed:
            _paste(ink, m, mx - ix0, my - iy0)
        clutter = None
        if rng.random() < c.p_neighbours:
            clutter = self._neighbours(rng, font, size, weight, boxes - [ix0, iy0, 0, 0], ink_shape)
        # scene pixel -> number coordinates -> unwarped point -> ink canvas pixel, and back
        to_ink = _translation(-ix0, -iy0) @ inv @ _translation(X0, Y0)
        to_scene = _translation(-X0, -Y0) @ M @ _translation(ix0, iy0)
        boxes = warped - [X0, Y0, 0, 0]
        # the ink lies inside its glyphs' rectangles (a pixel wider for _paste's rounding): warp only the
        # part of the scene they map to, the rest stays zero (SVHN's boxes are looser than the ink)
        rects = np.array([(mx - ix0 - 1, my - iy0 - 1, m.shape[1] + 2, m.shape[0] + 2) for m, mx, my in placed])
        ink = _warp(ink, to_ink, (H, W), region=_bounds(_warp_boxes(rects, to_scene), margin=2))
        if clutter is not None:                     # only where something was drawn
            layer, drawn = clutter
            clutter = _warp(layer, to_ink, (H, W), region=_bounds(_warp_boxes(drawn, to_scene), margin=2))
        return ink, clutter, boxes, gh

    def _appearance(self, rng, ink, clutter, boxes, gh: float, sigma: float, f: float, kept: float):
        """Wall, plate, shadow, lighting and the camera's blur, noise and JPEG over the ink."""
        c = self.config
        H, W = ink.shape
        # in luma
        bg_l = rng.uniform(0.05, 0.95)
        lo, hi = c.contrast
        contrast = rng.uniform(min(lo / kept, hi), hi)
        dark_on_light = rng.random() < c.p_dark_on_light
        fg_l = bg_l - contrast if dark_on_light else bg_l + contrast
        if not 0.0 <= fg_l <= 1.0:                  # reflect into range, keeping the contrast
            fg_l = bg_l + contrast if dark_on_light else bg_l - contrast
            fg_l = float(np.clip(fg_l, 0.0, 1.0))
        yy, xx = np.arange(H, dtype=np.float32)[:, None], np.arange(W, dtype=np.float32)[None]
        wall = self._background(rng, (H, W), yy, xx, gh)
        scene = wall * bg_l
        if rng.random() < c.p_plate:
            scene = self._plate(rng, scene, boxes, gh, bg_l)
        if clutter is not None:
            scene = _over(scene, clutter, fg_l + rng.normal(0, 0.1))
        if rng.random() < c.p_shadow:
            sh_img = _shift(ink, round(rng.integers(-3, 4) / f), round(rng.integers(1, 4) / f))
            scene = scene * (1 - rng.uniform(0.2, 0.6) * sh_img)
        scene = _over(scene, ink, fg_l)
        light = _ramp(rng, yy, xx)
        light *= np.float32(255 * rng.uniform(-c.lighting, c.lighting))
        light += np.float32(255)
        scene *= light
        scene += np.float32(0.5)
        np.clip(scene, 0, 255, out=scene)                                              # 0..255, rounded below
        img = Image.fromarray(scene.astype(np.uint8), "L")
        if sigma > 0.3:
            img = img.filter(ImageFilter.GaussianBlur(sigma))
        # the camera's noise and JPEG belong to the photo: the resize to 32x64 (or 32x32) then
        # smooths them, as it does for real SVHN; added after the resize they were far too sharp
        return self._sensor(rng, img), boxes

    def _background(self, rng, shape, yy, xx, gh) -> np.ndarray:
        c = self.config
        kind = BACKGROUNDS[_pick(rng, self.background_cum)]
        amp = rng.uniform(*c.texture_amplitude)
        H, W = shape
        if kind == "flat":
            tex = None
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
        wall = _normal_field(rng, shape) * np.float32(0.15 * amp)          # grain
        if tex is not None:
            wall += np.float32(amp) * tex
        wall += np.float32(1)
        return np.clip(wall, 0, 2, out=wall)

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
        wall = min(max(bg_l + (1 if rng.random() < 0.5 else -1) * rng.uniform(0.1, 0.5), 0.02), 0.98)
        k = np.float32(wall / max(bg_l, 1e-3))                  # the wall's brightness relative to the plate's
        out = scene * (k + plate * (1 - k))
        if rng.random() < self.config.p_frame:
            frame = Image.new("L", (W, H))
            ImageDraw.Draw(frame).rounded_rectangle(
                (x0 + 2, y0 + 2, x1 - 2, y1 - 2), radius=rng.uniform(0, 0.3) * gh, outline=255,
                width=int(rng.integers(1, 3)))
            out = _over(out, np.asarray(frame, np.float32) / 255, 1 - bg_l)
        return np.clip(out, 0, 1)

    def _neighbours(self, rng, font, size, weight, boxes, shape):
        """Clutter SVHN crops often show at their sides: a stray glyph, a bar, a door edge. Returns the
        layer and the boxes of what was drawn, or None when nothing was."""
        H, W = shape
        layer, drawn = np.zeros(shape, np.uint8), []
        x_left, x_right = boxes[:, 0].min(), (boxes[:, 0] + boxes[:, 2]).max()
        gh = boxes[:, 3].max()
        for side in ("left", "right"):
            if rng.random() < 0.5:
                continue
            gap = rng.uniform(0.4, 1.5) * gh
            kind = rng.integers(3)
            if kind == 0:                               # a glyph of another number or a letter mark
                m, _, _ = _glyph(font, size, weight, int(rng.integers(10)))
                x = x_left - gap - m.shape[1] if side == "left" else x_right + gap
                y = boxes[:, 1].min() + rng.normal(0, 0.2) * gh
                _paste(layer, m, x, y)
                drawn.append((x - 1, y - 1, m.shape[1] + 2, m.shape[0] + 2))          # _paste rounds
            else:                                       # a vertical bar or edge
                w = rng.uniform(0.1, 0.5) * gh if kind == 1 else W
                x = x_left - gap - w if side == "left" else x_right + gap
                xa, xb = int(np.clip(x, 0, W)), int(np.clip(x + w, 0, W))
                layer[:, xa:xb] = rng.integers(100, 256)
                drawn.append((xa, 0, xb - xa, H))
        return (layer, np.array(drawn, dtype=np.float64)) if drawn else None

    def _sensor(self, rng, img: Image.Image) -> Image.Image:
        c = self.config
        std = rng.uniform(*c.noise_std) * 255
        if std > 0.5:
            f = np.asarray(img, np.float32)
            f += np.float32(std) * _normal_field(rng, (img.height, img.width))
            f += np.float32(0.5)
            img = Image.fromarray(np.clip(f, 0, 255, out=f).astype(np.uint8), "L")
        if rng.random() < c.p_jpeg:
            buf = io.BytesIO()
            img.save(buf, "JPEG", quality=int(rng.integers(*c.jpeg_quality)))
            # decoded straight into an image of known size: Image.open would parse the headers in Python
            img = Image.frombytes("L", img.size, buf.getvalue(), "jpeg", "L", "")
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


def _projective(cx, cy, sx, sh, th, px, py, scale=1.0) -> tuple[np.ndarray, np.ndarray]:
    """M = T^-1 P R A T (about the centre (cx, cy): scale, then stretch sx and slant sh, rotation th,
    perspective px, py) and its inverse T^-1 A^-1 R^T P^-1 T, both multiplied out by hand: a chain of
    3x3 NumPy products cost ~28 us an image (profiled), most of it call overhead."""
    c, s = math.cos(th), math.sin(th)
    sx, sh = sx * scale, sh * scale
    # M: the linear part R A, its translation for the centre, then P's row and T^-1
    a, b, d, e = c * sx, -c * sh - s * scale, s * sx, -s * sh + c * scale
    tx, ty = -(a * cx + b * cy), -(d * cx + e * cy)
    g, h, k = px * a + py * d, px * b + py * e, px * tx + py * ty + 1
    M = [[a + cx * g, b + cx * h, tx + cx * k], [d + cy * g, e + cy * h, ty + cy * k], [g, h, k]]
    # the inverse: A^-1 R^T, its translation, P^-1's row and T^-1
    q00, q01 = c / sx - s * sh / (sx * scale), s / sx + c * sh / (sx * scale)
    q10, q11 = -s / scale, c / scale
    r0, r1 = -(q00 * cx + q01 * cy), -(q10 * cx + q11 * cy)
    g, h, k = -px, -py, px * cx + py * cy + 1
    inv = [[q00 + cx * g, q01 + cx * h, r0 + cx * k], [q10 + cy * g, q11 + cy * h, r1 + cy * k], [g, h, k]]
    return np.array(M), np.array(inv)


def _bounds(boxes: np.ndarray, margin: float) -> tuple[float, float, float, float]:
    """(x0, y0, x1, y1) around the union of boxes, widened by margin."""
    b = np.asarray(boxes).tolist()
    return (min(x for x, _, _, _ in b) - margin, min(y for _, y, _, _ in b) - margin,
            max(x + w for x, _, w, _ in b) + margin, max(y + h for _, y, _, h in b) + margin)


def _translation(dx: float, dy: float) -> np.ndarray:
    return np.array([[1, 0, dx], [0, 1, dy], [0, 0, 1]], dtype=np.float64)


def _warp(a: np.ndarray, inv: np.ndarray, shape: tuple[int, int], region=None) -> np.ndarray:
    """A uint8 mask seen through a projective map, given as its inverse (output pixel -> pixel of a):
    a float [H, W] = shape result in [0, 1]. With a region (x0, y0, x1, y1), only that part of the
    output is computed and the rest is zero."""
    H, W = shape
    x0, y0, x1, y1 = 0, 0, W, H
    if region is not None:
        x0, y0 = max(0, int(region[0])), max(0, int(region[1]))
        x1, y1 = min(W, int(np.ceil(region[2]))), min(H, int(np.ceil(region[3])))
        if x0 >= x1 or y0 >= y1:
            return np.zeros((H, W), np.float32)
        inv = inv @ _translation(x0, y0)                         # output pixels from the region's corner
    inv = inv / inv[2, 2]
    # an affine map (no perspective terms) has the cheaper transform
    method, n = (Image.AFFINE, 6) if inv[2, 0] == 0 and inv[2, 1] == 0 else (Image.PERSPECTIVE, 8)
    out = Image.fromarray(a).transform((x1 - x0, y1 - y0), method, tuple(inv.ravel()[:n]), Image.BILINEAR)
    full = np.zeros((H, W), np.float32) if region is not None else np.empty((H, W), np.float32)
    np.multiply(np.asarray(out), np.float32(1 / 255), out=full[y0:y1, x0:x1])
    return full


def _warp_boxes(boxes: np.ndarray, M: np.ndarray) -> np.ndarray:
    """The axis-aligned boxes around the mapped corners of each box (in plain floats: there are few)."""
    (a, b, c), (d, e, f), (g, h, k) = M.tolist()
    out = []
    for x0, y0, w, hh in np.asarray(boxes).tolist():
        xs, ys = [], []
        for x, y in ((x0, y0), (x0 + w, y0), (x0, y0 + hh), (x0 + w, y0 + hh)):
            z = g * x + h * y + k
            xs.append((a * x + b * y + c) / z)
            ys.append((d * x + e * y + f) / z)
        out.append((min(xs), min(ys), max(xs) - min(xs), max(ys) - min(ys)))
    return np.array(out, dtype=np.float64).reshape(-1, 4)


def _over(scene: np.ndarray, alpha: np.ndarray, luma: float) -> np.ndarray:
    return scene + alpha * (np.float32(luma) - scene)


def _ramp(rng, yy, xx) -> np.ndarray:
    """A linear ramp from -1 to 1 across the image in a random direction."""
    a = rng.uniform(0, 2 * math.pi)
    c, s = math.cos(a), math.sin(a)
    # scaled so that the ramp spans exactly [-1, 1] over the image
    k = 2 / (abs(c) + abs(s))
    cx, cy = c / max(xx.shape[1] - 1, 1), s / max(yy.shape[0] - 1, 1)
    lo = min(c, 0) + min(s, 0)
    return (xx * np.float32(cx * k) + (yy * np.float32(cy * k) - np.float32(lo * k + 1)))


SMOOTH_CELL = 48         # a smooth-noise field has `cells` bumps per this many pixels (a typical scene height)


@functools.lru_cache(maxsize=None)          # bounded: cells is 2..6
def _smooth_bank(cells: int) -> np.ndarray:
    """A NOISE_BANK_SHAPE field of smooth noise in [-1, 1], `cells` bumps per SMOOTH_CELL pixels, drawn
    once: scaling a fresh grid up to each scene cost ~110 us a texture (profiled)."""
    bh, bw = NOISE_BANK_SHAPE
    grid = np.random.default_rng(20261125 + cells).uniform(0, 255, (bh * cells // SMOOTH_CELL + 1, bw * cells // SMOOTH_CELL + 1))
    big = Image.fromarray(grid.astype(np.uint8)).resize((bw, bh), Image.BICUBIC)
    bank = np.asarray(big, np.float32) / np.float32(127.5) - np.float32(1)
    bank.flags.writeable = False
    return bank


def _smooth_noise(rng, shape, cells: int) -> np.ndarray:
    """A [H, W] window of smooth noise (read-only), at a random offset and sign."""
    H, W = shape
    bh, bw = NOISE_BANK_SHAPE
    if H > bh or W > bw:
        small = rng.uniform(0, 255, (cells, cells * 2)).astype(np.uint8)
        return np.asarray(Image.fromarray(small).resize((W, H), Image.BICUBIC), np.float32) / 127.5 - 1
    u = rng.random(3)
    y, x = int(u[0] * (bh - H + 1)), int(u[1] * (bw - W + 1))
    window = _smooth_bank(int(cells))[y: y + H, x: x + W]
    return window if u[2] < 0.5 else -window


def _shift(a: np.ndarray, dx: int, dy: int) -> np.ndarray:
    return np.roll(a, (int(dy), int(dx)), axis=(0, 1))


# ---- data sets ------------------------------------------------------------------------------------

WORKER_CHUNK = 1000      # samples a worker process makes per task
_worker_generator: SynthGenerator | None = None     # a worker process's own, kept between its tasks


def generate(n: int, seed: int = 0, config: SynthConfig | None = None, start: int = 0,
             crops: bool = False, progress: bool = False, workers: int = 1,
             exclude_heldout: bool = False) -> dict[str, np.ndarray]:
    """Samples start..start+n-1 as the arrays of a shard (see seqdraw.data.shards); with exclude_heldout
    none of them is a held-out string (seqdraw.data.heldout), as a training split must be.

    With workers > 1 they are made in that many processes, WORKER_CHUNK at a time. Sample i depends
    only on (seed, i), so the arrays are the same bytes whatever the number of workers. The processes
    are spawned, so a script that asks for them needs Python's `if __name__ == "__main__":` guard."""
    from tqdm import tqdm

    if n < 1:
        raise SeqdrawError(f"n must be at least 1, got {n}")
    if workers < 1:
        raise SeqdrawError(f"workers must be at least 1, got {workers}")
    with tqdm(total=n, desc="synth", unit="img", disable=not progress, leave=False) as bar:
        if workers == 1 or n <= WORKER_CHUNK:
            return _generate_range(SynthGenerator(config), seed, start, n, crops, bar, exclude_heldout)
        from multiprocessing import get_context

        starts = list(range(start, start + n, WORKER_CHUNK))
        tasks = [(config, seed, s, min(WORKER_CHUNK, start + n - s), crops, exclude_heldout) for s in starts]
        parts = []
        # spawn, not fork: the caller may hold threads (torch) that a forked child would inherit locked
        pool = get_context("spawn").Pool(min(workers, len(starts)))
        try:
            for part in pool.imap(_generate_task, tasks):
                parts.append(part)
                bar.update(len(part["images"]))
            pool.close()
        except BaseException:           # Ctrl-C, SIGTERM (the CLI turns it into Ctrl-C), an error: no orphans
            pool.terminate()
            raise
        finally:
            pool.join()
    return {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}


def _generate_task(task: tuple) -> dict[str, np.ndarray]:
    return _generate_chunk(*task)


def _generate_chunk(config, seed, start, n, crops, exclude_heldout):
    """One worker's task; the generator (and its glyph cache) lives on in the worker for the next."""
    global _worker_generator
    config = config or SynthConfig()
    if _worker_generator is None or _worker_generator.config != config:
        _worker_generator = SynthGenerator(config)
    return _generate_range(_worker_generator, seed, start, n, crops, None, exclude_heldout)


def _generate_range(gen: SynthGenerator, seed: int, start: int, n: int, crops: bool, bar,
                    exclude_heldout: bool = False) -> dict[str, np.ndarray]:
    images = np.zeros((n, FRAME_H, FRAME_W), np.uint8)
    labels = np.full((n, MAX_LEN), PAD, np.int8)
    lengths = np.zeros(n, np.int8)
    boxes = np.zeros((n, MAX_LEN, 4), np.float32)
    crop_list, crop_labels = [], []
    for i in range(n):
        s = gen.sample(seed, start + i, crops=crops, exclude_heldout=exclude_heldout)
        L = len(s.digits)
        images[i], lengths[i] = s.image, L
        labels[i, :L] = [int(d) for d in s.digits]
        boxes[i, :L] = s.boxes
        if crops:
            crop_list.append(s.crops)
            crop_labels += [int(d) for d in s.digits]
        if bar is not None:
            bar.update()
    out = dict(images=images, labels=labels, lengths=lengths, boxes=boxes)
    if crops:
        out["crops"] = np.concatenate(crop_list)
        out["crop_labels"] = np.asarray(crop_labels, np.int8)
    return out


def write_imagefolder(folder, arrays: dict) -> None:
    """One split as PNGs and metadata.jsonl: file_name, text and the per-digit boxes [left, top, width,
    height] in the 32x64 frame, the layout common dataset loaders read directly."""
    import json
    from pathlib import Path

    from seqdraw.files import atomic_path

    folder = Path(folder)
    lines = []
    for i, (image, row, L, boxes) in enumerate(zip(arrays["images"], arrays["labels"], arrays["lengths"],
                                                  arrays["boxes"])):
        with atomic_path(folder / f"{i:08d}.png") as tmp:
            Image.fromarray(image).save(tmp, format="PNG")
        lines.append(json.dumps({"file_name": f"{i:08d}.png", "text": "".join(map(str, row[:L].tolist())),
                                 "boxes": np.round(boxes[:L].astype(np.float64), 2).tolist()}))
    with atomic_path(folder / "metadata.jsonl") as tmp:
        tmp.write_text("\n".join(lines) + "\n")


def write_dataset(folder, request: SynthSet, config: SynthConfig, workers: int = 1, command: str = "") -> dict:
    """`seqdraw data synth`: train.npz and test.npz (and crops), or train/ and test/ as an imagefolder,
    with preview.png and config.json in `folder`.
    The training split never holds a held-out string (seqdraw.data.heldout) unless include_heldout; the
    test split holds every string, so that evaluation can tell held-out strings from seen ones."""
    n, test_fraction, seed = request.n, request.test_fraction, request.seed
    crops, include_heldout, fmt = request.crops, request.include_heldout, request.format
    import json
    from pathlib import Path

    from seqdraw.data.shards import length_counts, save_shard
    from seqdraw.files import atomic_path, save_npz
    from seqdraw.pictures import grid, save_png

    folder = Path(folder)
    n_test = max(1, int(round(n * test_fraction)))
    n_train = n - n_test
    if n_test < 1 or n_train < 1:
        raise SeqdrawError(f"--n {n} with --test-fraction {test_fraction} leaves an empty split "
                           f"({n_train} train, {n_test} test images)")
    parts = {"train": (0, n_train, not include_heldout), "test": (n_train, n_test, False)}
    counts = {}
    for split, (start, size, exclude) in parts.items():
        arrays = generate(size, seed=seed, config=config, start=start, crops=crops, progress=True,
                          workers=workers, exclude_heldout=exclude)
        crop_arrays = {k: arrays.pop(k) for k in ("crops", "crop_labels") if k in arrays}
        if fmt == "imagefolder":
            write_imagefolder(folder / split, arrays)
        else:
            save_shard(folder / f"{split}.npz", arrays)
        if crop_arrays:
            save_npz(folder / f"{split}_crops32.npz", images=crop_arrays["crops"], labels=crop_arrays["crop_labels"])
        counts[split] = length_counts(arrays["lengths"])
        if split == "train":
            save_png(folder / "preview.png", grid(arrays["images"][:64], cols=8), scale=2)
    meta = dict(command=command, seed=seed, n_train=n_train, n_test=n_test, heldout_strings_in_train=include_heldout,
                source="synthetic", format=fmt, config=config.__dict__)
    with atomic_path(folder / "config.json") as tmp:
        tmp.write_text(json.dumps(meta, indent=2, default=list) + "\n")
    return counts
