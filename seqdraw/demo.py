"""`seqdraw demo`: a web page to try a model, built with Gradio (`pip install -e ".[demo]"`).

Type a number, choose the temperature, the seed and how many samples, and see the samples, the drawing
animation with its write window, and the label attention. A bad number gets the CLI's one-line message.
The page binds to 127.0.0.1 unless told otherwise; its HTTP API (`/draw`) is what the tests call.
"""
from __future__ import annotations

import tempfile
from pathlib import Path


from seqdraw.errors import SeqdrawError
from seqdraw.generate import Drawer
from seqdraw.pictures import animation_frames, grid, save_attention_plot, save_gif, save_png, to_uint8
from seqdraw.settings import SEED_MAX

SCALE = 4
MAX_PICTURES = 300          # the demo's temporary folder holds at most this many pictures


def draw(drawer: Drawer, number: str, temperature: float, seed: int, samples: int, folder: Path):
    """The three pictures for one request, as files in `folder`: samples, animation, attention."""
    number = drawer.check_number(str(number).strip())
    if not 1 <= int(samples) <= 32:
        raise SeqdrawError(f"samples must be 1..32, got {samples}")
    if not 0 <= int(seed) <= SEED_MAX:
        raise SeqdrawError(f"seed must be between 0 and {SEED_MAX}, got {seed}")
    result = drawer.generate(number, n=int(samples), seed=int(seed), process=True, temperature=float(temperature))
    stem = f"{number}-{int(seed)}-{float(temperature):g}-{int(samples)}"
    samples_png = folder / f"samples-{stem}.png"
    save_png(samples_png, grid(to_uint8(result.images), cols=min(int(samples), 8)), scale=SCALE)
    animation = folder / f"drawing-{stem}.gif"
    save_gif(animation, animation_frames([result.canvases[0]], [result.write_where[0]], result.write_n))
    attention = None
    if result.alpha is not None:
        attention = folder / f"attention-{stem}.png"
        k = drawer.model.config.steps_per_digit
        save_attention_plot(attention, [result.alpha[0, : k * len(number), : len(number)]], [number])
    return str(samples_png), str(animation), None if attention is None else str(attention)


def build(model_path=None, device: str = "cpu"):
    """The Gradio Blocks page for a model file (default: the shipped model), drawing on `device`."""
    try:
        import gradio as gr
    except ImportError:
        raise SeqdrawError("the demo needs Gradio: pip install -e \".[demo]\"") from None
    drawer = Drawer(model_path, device=device)
    folder = Path(tempfile.mkdtemp(prefix="seqdraw-demo-"))

    def on_draw(number, temperature, seed, samples):
        try:
            pictures = draw(drawer, number, temperature, seed, samples, folder)
        except SeqdrawError as e:             # the page shows it; the server's terminal stays quiet
            raise gr.Error(str(e), print_exception=False) from None
        forget_old_pictures(folder, keep=set(pictures))
        return pictures

    with gr.Blocks(title="seqdraw: house numbers, drawn stroke by stroke") as page:
        gr.Markdown("# seqdraw\nType a house number (1 to %d digits). The model draws it step by step, as "
                    "the paper's seqDRAW: the box in the animation is where each step writes." % drawer.max_len)
        with gr.Row():
            number = gr.Textbox(label="number", value="2024", max_lines=1, elem_id="number")
            temperature = gr.Slider(0.0, 2.0, value=drawer.temperature, step=0.05, label="temperature")
            seed = gr.Number(value=0, precision=0, label="seed", minimum=0)
            samples = gr.Slider(1, 32, value=8, step=1, label="samples")
        button = gr.Button("Draw", variant="primary", elem_id="draw")
        samples_image = gr.Image(label="samples", type="filepath", elem_id="samples")
        with gr.Row():
            animation = gr.Image(label="drawing (write window in red)", type="filepath", elem_id="animation")
            attention = gr.Image(label="label attention", type="filepath", elem_id="attention")
        button.click(on_draw, [number, temperature, seed, samples], [samples_image, animation, attention],
                     api_name="draw")
        number.submit(on_draw, [number, temperature, seed, samples], [samples_image, animation, attention])
        page.load(on_draw, [number, temperature, seed, samples], [samples_image, animation, attention])  # a first drawing
    return page


def forget_old_pictures(folder: Path, keep: set, limit: int = MAX_PICTURES) -> None:
    """Keep the request folder bounded: the newest `limit` pictures stay (a page still showing an older
    one has already loaded it)."""
    files = sorted(folder.iterdir(), key=lambda p: p.stat().st_mtime_ns)
    for old in files[: max(0, len(files) - limit)]:
        if str(old) not in keep:
            old.unlink(missing_ok=True)


def serve(model_path=None, host: str = "127.0.0.1", port: int = 7860, share: bool = False, block: bool = True,
          device: str = "cpu"):
    """Build and launch the page; with block=False, return (page, url) for tests."""
    page = build(model_path, device)
    try:
        page.launch(server_name=host, server_port=port, share=share, prevent_thread_lock=not block,
                    show_error=True, quiet=True)         # Gradio's own hints name launch(), not our flags
    except OSError as e:
        raise SeqdrawError(f"cannot serve the demo on {host}:{port}: {e}") from None
    return page, page.local_url
