"""The GPU job of benchmarks/gpu.sh, one process: measure, train for a fixed time, write figures.

On a CUDA machine: bf16 training images/s at large batch (compiled), sampling images/s and one-number
latency, then `seqdraw train` for --minutes (stopped by SIGTERM, which checkpoints), and the figures
in OUT/figures.json. Without CUDA it runs the same path on the CPU with a small model and budget
(--smoke), which is how CPU-only sessions and the tests check it.

    python benchmarks/gpu_run.py --out runs/gpu --minutes 5
"""
import argparse
import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import torch

from seqdraw.data.synth import generate
from seqdraw.model import ConditionalDRAW, preset
from seqdraw.objectives import Batch, Critics, ObjectiveConfig, total_loss

SMOKE_MODEL = {"enc_size": 32, "dec_size": 32, "z_size": 8, "attention_size": 8, "steps_per_digit": 3}


def sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize()


def training_rate(model, device, batch, steps, precision):
    data = generate(batch, seed=0)
    keep = data["lengths"] <= 4
    images = torch.from_numpy(data["images"][keep]).float().div(255).to(device)
    lengths = torch.full((len(images),), 2, device=device)
    labels = torch.from_numpy(data["labels"][keep, :2].astype("int64")).clamp(min=0).to(device)
    opt = torch.optim.Adam(model.parameters(), 1e-4)
    g = torch.Generator(device=device).manual_seed(0)

    def step():
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=precision == "bf16"):
            loss = total_loss(model, Batch(images, labels, lengths), ObjectiveConfig(), Critics(), g).total
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    for _ in range(3):
        step()
    sync(device)
    t0 = time.perf_counter()
    for _ in range(steps):
        step()
    sync(device)
    return len(images) * steps / (time.perf_counter() - t0)


@torch.inference_mode()
def sampling(model, device, batch, repeats, precision):
    labels = torch.tensor([[6, 8]] * batch, device=device)
    lengths = torch.full((batch,), 2, device=device)
    with torch.autocast(device.type, dtype=torch.bfloat16, enabled=precision == "bf16"):
        model.generate(labels, lengths)
        sync(device)
        t0 = time.perf_counter()
        for _ in range(repeats):
            model.generate(labels, lengths)
        sync(device)
    return (time.perf_counter() - t0) / repeats


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default="runs/gpu")
    ap.add_argument("--minutes", type=float, default=5.0)
    ap.add_argument("--smoke", action="store_true", help="a small model and budget (the CPU check)")
    args = ap.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    cuda = torch.cuda.is_available() and not args.smoke
    device = torch.device("cuda" if cuda else "cpu")
    overrides = {} if cuda else SMOKE_MODEL
    figures = {"device": torch.cuda.get_device_name() if cuda else "cpu (fallback)", "torch": torch.__version__}
    model = ConditionalDRAW(preset("seqdraw-cur", label_attention="scheduled", **overrides)).to(device)
    compiled = ConditionalDRAW(preset("seqdraw-cur", label_attention="scheduled", **overrides)).to(device).use_compiled()
    batch = 1024 if cuda else 32
    for name, m in (("eager", model), ("compiled", compiled)):
        for precision in ("fp32", "bf16"):
            rate = training_rate(m, device, batch, 20 if cuda else 2, precision)
            figures[f"train_images_per_s_{name}_{precision}_batch{batch}"] = round(rate)
            print(f"training {name} {precision}: {rate:,.0f} images/s", flush=True)
    big = 8192 if cuda else 64
    figures["sampling_images_per_s_bf16_compiled"] = round(big / sampling(compiled, device, big, 5 if cuda else 1, "bf16"))
    figures["latency_ms_one_2digit_compiled"] = round(1000 * sampling(compiled, device, 1, 50 if cuda else 3, "fp32"), 3)
    print(figures, flush=True)

    data = out / "data"
    if not (data / "train.npz").exists():
        subprocess.run([sys.executable, "-m", "seqdraw", "data", "synth", "--n", "60000" if cuda else "400",
                        "--lengths", "uniform:4", "--out", str(data), "--overwrite"], check=True)
    run = out / "run"
    cmd = [sys.executable, "-m", "seqdraw", "train", "--data", str(data), "--out", str(run), "--overwrite",
           "--preset", "seqdraw-cur", "--curriculum", "none", "--max-len", "4", "--epochs", "1000",
           "--batch-size", str(512 if cuda else 16), "--lr", "2e-3" if cuda else "1e-3", "--precision", "bf16",
           "--device", device.type, "--digit-weight", "4", "--checkpoint-every", "200", "--val-size", "64",
           "--set", "model.label_attention=scheduled"] + [f"--set=model.{k}={v}" for k, v in overrides.items()]
    if not cuda:
        cmd += ["--compile", "false"]
    t0 = time.time()
    proc = subprocess.Popen(cmd)
    try:
        proc.wait(timeout=args.minutes * 60)
    except subprocess.TimeoutExpired:
        proc.send_signal(signal.SIGTERM)            # the trainer saves a checkpoint and stops
        proc.wait(timeout=300)
    figures["training_minutes"] = round((time.time() - t0) / 60, 2)
    figures["training_exit"] = proc.returncode
    ckpts = sorted(run.glob("ckpt-*"))
    figures["checkpoint"] = str(ckpts[-1]) if ckpts else None
    (out / "figures.json").write_text(json.dumps(figures, indent=2) + "\n")
    print(json.dumps(figures, indent=2))
    return 0 if ckpts else 1


if __name__ == "__main__":
    sys.exit(main())
