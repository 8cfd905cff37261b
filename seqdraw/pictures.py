"""Pictures for people: image grids (data previews, samples). PNGs are written atomically."""
from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw

from seqdraw.errors import SeqdrawError
from seqdraw.files import atomic_path

MAX_PICTURE_PIXELS = 50_000_000     # a picture larger than this is refused (a typo in --n is not 10 GB of PNG)


def check_picture_size(pixels: int, what: str = "the picture", hint: str = "") -> None:
    """Refuse a picture of more than MAX_PICTURE_PIXELS pixels, in one line."""
    if pixels > MAX_PICTURE_PIXELS:
        raise SeqdrawError(f"{what} would have {pixels:,} pixels (limit {MAX_PICTURE_PIXELS:,}){hint}")


def grid(images: np.ndarray, cols: int, pad: int = 2, value: int = 255) -> np.ndarray:
    """uint8 [N, H, W] -> one uint8 picture with `cols` columns and a `pad`-pixel border."""
    n, h, w = images.shape
    rows = -(-n // cols)
    out = np.full((rows * (h + pad) + pad, cols * (w + pad) + pad), value, np.uint8)
    for i, im in enumerate(images):
        r, c = divmod(i, cols)
        out[pad + r * (h + pad): pad + r * (h + pad) + h, pad + c * (w + pad): pad + c * (w + pad) + w] = im
    return out


def captioned(picture: np.ndarray, captions: list[str], row_height: int, pad: int = 2, width: int = 40) -> np.ndarray:
    """A grid with a caption (the number it shows) left of each row, in PIL's built-in font."""
    out = Image.new("L", (picture.shape[1] + width, picture.shape[0]), 255)
    out.paste(Image.fromarray(picture), (width, 0))
    draw = ImageDraw.Draw(out)
    for r, text in enumerate(captions):
        draw.text((2, pad + r * (row_height + pad) + row_height // 2 - 5), text[:6], fill=0)
    return np.asarray(out)


def save_png(path, picture: np.ndarray, scale: int = 1) -> None:
    check_picture_size(picture.size * scale ** 2, str(path))
    im = Image.fromarray(picture)
    if scale > 1:
        im = im.resize((im.width * scale, im.height * scale), Image.NEAREST)
    with atomic_path(path) as tmp:
        im.save(tmp, format="PNG")


def process_strip(canvases: np.ndarray, columns: int = 10) -> np.ndarray:
    """The paper's figures 3-6: one row per sample, columns sampled uniformly over the k L steps.
    canvases: [n, T + 1, H, W] in [0, 1], t = 0 (blank) .. T."""
    T = canvases.shape[1] - 1
    steps = np.unique(np.linspace(1, T, min(columns, T)).round().astype(int))
    frames = canvases[:, steps]                                          # n, C, H, W
    n, C, H, W = frames.shape
    return grid(to_uint8(frames.reshape(n * C, H, W)), cols=C)


def process_strips(canvases: list[np.ndarray]) -> np.ndarray:
    """Several numbers' strips, one under the other, padded white to the widest."""
    strips = [process_strip(c) for c in canvases]
    width = max(s.shape[1] for s in strips)
    return np.concatenate([np.pad(s, ((0, 0), (0, width - s.shape[1])), constant_values=255) for s in strips])


def animation_frames(canvases: list[np.ndarray], wheres: list[np.ndarray], write_n: int) -> list[Image.Image]:
    """One animation of the first sample of several numbers side by side; shorter drawings hold their
    last frame. canvases: per number [T_i + 1, H, W]; wheres: per number [T_i, 3]."""
    T = max(c.shape[0] for c in canvases)
    canv = np.stack([np.pad(c, ((0, T - c.shape[0]), (0, 0), (0, 0)), mode="edge") for c in canvases])
    where = np.stack([np.pad(w, ((0, T - 1 - w.shape[0]), (0, 0)), mode="edge") for w in wheres])
    return drawing_frames(canv, where, write_n)


def write_box(where: np.ndarray, write_n: int) -> tuple[float, float, float, float]:
    """The write window (x0, y0, x1, y1), 0-indexed pixels, from (gx, gy, delta) 1-indexed."""
    gx, gy, delta = (float(v) for v in where)
    half = write_n * delta / 2
    return gx - 1 - half, gy - 1 - half, gx - 1 + half, gy - 1 + half


def drawing_frames(canvases: np.ndarray, where: np.ndarray, write_n: int, scale: int = 6) -> list[Image.Image]:
    """One RGB frame per drawing step (k L frames), upscaled, the write window drawn as a red box.
    canvases: [rows, T + 1, H, W]; where: [rows, T, 3]. Rows are stacked vertically."""
    from PIL import ImageDraw

    rows, T1, H, W = canvases.shape
    frames = []
    for t in range(1, T1):
        picture = Image.new("RGB", (W * scale, rows * (H * scale + scale)), "white")
        for r in range(rows):
            im = Image.fromarray(to_uint8(canvases[r, t])).resize((W * scale, H * scale), Image.NEAREST)
            top = r * (H * scale + scale)
            picture.paste(im.convert("RGB"), (0, top))
            x0, y0, x1, y1 = write_box(where[r, t - 1], write_n)
            box = [max(-1, x0 * scale), top + max(-1, y0 * scale),
                   min(W * scale, x1 * scale), top + min(H * scale, y1 * scale)]
            if box[2] > box[0] and box[3] > box[1]:
                ImageDraw.Draw(picture).rectangle(box, outline=(230, 20, 20), width=2)
        frames.append(picture)
    return frames


def save_gif(path, frames: list[Image.Image], ms_per_frame: int = 120) -> None:
    with atomic_path(path) as tmp:
        frames[0].save(tmp, format="GIF", save_all=True, append_images=frames[1:], duration=ms_per_frame,
                       loop=0, optimize=False, disposal=1)


def save_attention_plot(path, alphas: list[np.ndarray], numbers: list[str]) -> None:
    """alpha_{t,i} as heat maps, one panel per number: which digit the decoder reads at each step."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(len(numbers), 1, figsize=(8, 1.0 + 0.45 * sum(len(n) for n in numbers)), squeeze=False)
    for ax, alpha, number in zip(axes[:, 0], alphas, numbers):
        ax.imshow(alpha.T, aspect="auto", cmap="viridis", vmin=0, vmax=1, interpolation="nearest")
        ax.set_yticks(range(len(number)), [f"{d} (pos {i + 1})" for i, d in enumerate(number)])
        ax.set_xlabel("drawing step t")
        ax.set_title(f"label attention for {number}", fontsize=10)
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=110)
    plt.close(fig)


BOOKKEEPING = {"step", "lr", "images_per_s", "images_seen", "wall_s", "stage", "epoch", "event", "lr_scale",
               "grad_norm", "val_bound_nats"}


def save_curves(path, rows: list[dict]) -> None:
    """A run's curves against images seen: the validation bound, and each logged training term (the
    bound's loss, recon and KL, and any added term), from metrics.jsonl's rows."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    steps = [r for r in rows if "loss" in r and "images_seen" in r]
    vals = [r for r in rows if "val_bound_nats" in r and "images_seen" in r]
    terms = sorted({k for r in steps for k, v in r.items() if k not in BOOKKEEPING and isinstance(v, (int, float))})
    fig, axes = plt.subplots(1, 1 + len(terms), figsize=(3.2 * (1 + len(terms)), 2.8), squeeze=False)
    panels = [("validation bound (nats/image)", vals, "val_bound_nats")] + [(k, steps, k) for k in terms]
    for ax, (title, rs, key) in zip(axes[0], panels):
        ax.plot([r["images_seen"] / 1e6 for r in rs], [r[key] for r in rs], "o-" if rs is vals else "-",
                ms=3, lw=1)
        ax.set_title(title, fontsize=9)
        ax.set_xlabel("images seen (millions)", fontsize=8)
        ax.tick_params(labelsize=7)
        ax.grid(alpha=0.3)
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=90)
    plt.close(fig)


def to_uint8(images: np.ndarray) -> np.ndarray:
    return (np.clip(images, 0, 1) * 255 + 0.5).astype(np.uint8)
