"""Draw house numbers with ONNX Runtime and NumPy alone (no PyTorch): after `seqdraw export --onnx DIR`,
    python examples/onnx_generate.py DIR 2024 out.png"""
import json
import sys
from pathlib import Path

import numpy as np
import onnxruntime as ort
from PIL import Image

if len(sys.argv) != 4:
    sys.exit("usage: python examples/onnx_generate.py ONNX_DIR NUMBER OUT.png")
folder, number, out = Path(sys.argv[1]), sys.argv[2], sys.argv[3]
info = json.loads((folder / "seqdraw-onnx.json").read_text())
if not number.isdigit() or str(len(number)) not in info["graphs"]:
    sys.exit(f"error: {number[:40]!r}: give a number of {', '.join(sorted(info['graphs']))} digits (the exported lengths)")
if Path(out).exists():
    sys.exit(f"error: {out} exists: choose another file")
graph = info["graphs"][str(len(number))]                       # one graph per length
session = ort.InferenceSession(str(folder / graph["file"]))
n, rng = 8, np.random.default_rng(0)
labels = np.array([[int(d) for d in number]] * n, np.int64)
eps = rng.standard_normal((graph["steps"], n, info["z_size"])).astype(np.float32)
tau = np.full(graph["steps"], info["temperature"], np.float32)   # tau[0] sets the style's spread
images = session.run(None, {"labels": labels, "eps": eps, "tau": tau})[0]     # [n, 32, 64] in [0, 1]
Image.fromarray((np.concatenate(list(images), axis=1) * 255 + 0.5).astype(np.uint8)).save(out)
print(f"{n} samples of {number} -> {out}")
