"""Where one 2-digit number's drawing time goes, and the levers on it, side by side in one run (the
machine is shared: compare within a run only).

    python benchmarks/latency.py [--repeats 300]

1. The split: each piece of an eager drawing step at batch 1 (the shipped weights), timed alone: the
   prior, the label attention, the decoder LSTM cell, the write patch, the write filterbank, the canvas.
2. The levers, each the median of interleaved rounds: compiled PyTorch at 1 and 2 threads, ONNX Runtime
   (the exported graph, `seqdraw export --onnx`) at 1 and 2 intra-op threads and with its extended
   graph optimisations, bf16 autocast, and the weights cast to bf16 outright.
3. The floor: the decoder LSTM's one product per step alone (1 x 520 by 520 x 1600, 3.3 MB of fp32
   weights, which no core's 1 MB L2 holds), T times, in fp32 and bf16 and at 1 and 2 threads. No
   drawing of T steps can be faster than this product T times.
"""
import argparse
import statistics
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import torch

import seqdraw
from seqdraw.deploy import export_onnx
from seqdraw.model.pretrained import default_model_path

LABELS, LENGTHS = torch.tensor([[6, 8]]), torch.tensor([2])

def interleaved(fns: dict, repeats: int, rounds: int = 3) -> dict:
    """Median seconds per call of each function, in interleaved rounds (so drift hits all alike)."""
    times = defaultdict(list)
    for fn in fns.values():
        for _ in range(5):
            fn()
    for _ in range(rounds):
        for name, fn in fns.items():
            for _ in range(repeats // rounds):
                t0 = time.perf_counter()
                fn()
                times[name].append(time.perf_counter() - t0)
    return {name: statistics.median(v) for name, v in times.items()}


def parts(model) -> dict:
    """The pieces of one eager drawing step at batch 1, each timed alone: what a step is made of."""
    c = model.config
    h, cell = torch.zeros(1, c.dec_size), torch.zeros(1, c.dec_size)
    z, y = torch.zeros(1, c.z_size), torch.zeros(1, c.y_size)
    canvas, patch = torch.zeros(1, c.height, c.width), torch.zeros(1, c.write_n, c.write_n)
    context = model._label_context(LABELS, LENGTHS, 2 * c.steps_per_digit)
    pieces = {
        "prior (linear 400 -> 200) and z": lambda: model._gaussian(model.prior, h),
        "label attention (eq. 15-17)": lambda: model._y(h, model._at(context, 0)),
        "decoder LSTM cell (eq. 7)": lambda: model.decoder(torch.cat([z, y], 1), (h, cell)),
        "write patch (linear 400 -> 144)": lambda: model.write_patch(h),
        "write filterbank (eq. 9, 19-26)": lambda: model.write_attention.write(patch, h),
        "canvas update (eq. 8)": lambda: canvas + patch.sum(),
    }
    with torch.inference_mode():
        return interleaved(pieces, 600)


def decoder_floor(model, steps: int) -> dict:
    """T times the decoder LSTM's product at batch 1, the one product every drawing step must make."""
    w = torch.cat([model.decoder.weight_ih, model.decoder.weight_hh], 1).detach()        # 1600 x 520
    x = torch.zeros(1, w.shape[1])
    fns = {}
    for dtype, name in ((torch.float32, "fp32"), (torch.bfloat16, "bf16")):
        for threads in (1, 2):
            def fn(w=w.to(dtype), x=x.to(dtype), threads=threads):
                torch.set_num_threads(threads)
                for _ in range(steps):
                    torch.nn.functional.linear(x, w)
            fns[f"decoder product, {name}, {threads} thread{'s' * (threads > 1)}"] = fn
    with torch.inference_mode():
        return interleaved(fns, 300)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=300)
    args = ap.parse_args()
    import onnxruntime as ort

    print(f"torch {torch.__version__}, onnxruntime {ort.__version__}")
    eager = seqdraw.load().model.eval()
    compiled = seqdraw.load().model.eval().use_compiled()
    steps = 2 * eager.config.steps_per_digit
    print(f"\n## where an eager step's time goes, one number (T = {steps} steps), each piece timed alone")
    pieces = parts(eager)
    for name, t in pieces.items():
        print(f"  {name:34s} {1e6 * t:7.1f} us  {100 * t / sum(pieces.values()):5.1f}%")
    print(f"  {'sum, x T':34s} {1e3 * steps * sum(pieces.values()):7.2f} ms")

    folder = Path(tempfile.mkdtemp()) / "onnx"
    info = export_onnx(default_model_path(), folder)
    graph = info["graphs"]["2"]
    feed = {"labels": LABELS.numpy(), "eps": torch.randn(graph["steps"], 1, info["z_size"]).numpy(),
            "tau": torch.ones(graph["steps"]).numpy()}

    def session(threads: int, level) -> "ort.InferenceSession":
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.graph_optimization_level = level
        return ort.InferenceSession(str(folder / graph["file"]), options)

    sessions = {f"onnxruntime, {t} thread{'s' * (t > 1)}, {name}": session(t, level)
                for t in (1, 2) for name, level in (("basic", ort.GraphOptimizationLevel.ORT_ENABLE_BASIC),
                                                     ("all", ort.GraphOptimizationLevel.ORT_ENABLE_ALL))}

    def torch_at(threads: int, bf16: bool = False):
        def fn():
            torch.set_num_threads(threads)
            with torch.inference_mode(), torch.autocast("cpu", torch.bfloat16, enabled=bf16):
                compiled.generate(LABELS, LENGTHS)
        return fn

    def eager_at(threads: int):
        def fn():
            torch.set_num_threads(threads)
            with torch.inference_mode():
                eager.generate(LABELS, LENGTHS)
        return fn

    compiled_bf16 = seqdraw.load().model.eval().to(torch.bfloat16).use_compiled()

    def bf16_weights():
        torch.set_num_threads(1)
        with torch.inference_mode():
            compiled_bf16.generate(LABELS, LENGTHS)

    fns = {"torch eager, 1 thread": eager_at(1), "torch eager, 2 threads": eager_at(2),
           "torch compiled, 1 thread": torch_at(1), "torch compiled, 2 threads": torch_at(2),
           "torch compiled, 1 thread, bf16": torch_at(1, True),
           "torch compiled, 1 thread, bf16 weights": bf16_weights}
    fns.update({name: (lambda s=s: s.run(None, feed)) for name, s in sessions.items()})
    print(f"\n## one 2-digit number, median of {args.repeats} interleaved calls")
    for name, t in interleaved(fns, args.repeats).items():
        print(f"  {name:44s} {1000 * t:6.2f} ms")
    print(f"\n## the floor: the decoder's product alone, x T = {steps}")
    for name, t in decoder_floor(eager, steps).items():
        print(f"  {name:44s} {1000 * t:6.2f} ms")


if __name__ == "__main__":
    main()
