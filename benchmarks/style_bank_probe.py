"""Probe (session 4, not a feature): z_1 drawn from the posteriors of K training images (a style
bank, as in VampPrior) instead of the prior; evaluated like seqdraw evaluate.

    python benchmarks/style_bank_probe.py MODEL K TEMPERATURE
"""
import sys
from pathlib import Path
import numpy as np, torch
from seqdraw.model.draw import ConditionalDRAW
from seqdraw.checkpoint import load_model
from seqdraw.data.shards import data_folder, load_shard
from seqdraw.evaluate.report import evaluate
model_path, K, temp = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
m, _ = load_model(model_path); m.eval()
train = load_shard(data_folder("data/synth-u4") / "train.npz")
idx = np.random.default_rng(0).choice(len(train["images"]), K, replace=False)
with torch.no_grad():
    bank_mu, bank_ls = m.first_posterior(torch.from_numpy(train["images"][idx]).float() / 255)
orig = ConditionalDRAW.generate
def generate(self, labels, lengths, generator=None, process=False, temperature=1.0, style_temperature=None, style=None):
    k = torch.randint(0, K, (labels.shape[0],), generator=generator)
    return orig(self, labels, lengths, generator, process, temperature, style_temperature, (bank_mu[k], bank_ls[k]))
ConditionalDRAW.generate = generate
data = load_shard(data_folder("data/synth-u4") / "test.npz")
out = Path(f"/tmp/vamp2/{Path(model_path).parent.name}-{K}-{temp}"); out.mkdir(parents=True, exist_ok=True)
r = evaluate(model_path, "runs/classifier-u4/classifier.safetensors", data, out, per_length=300, progress=False, temperature=temp)
print(model_path, K, temp, {k: round(v * 100, 1) for k, v in r["sequence_accuracy"].items()}, "div", round(r["diversity_ratio"], 3), "FD", round(r["frechet_distance"], 1), out)
