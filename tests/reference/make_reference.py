# records tiny runs' final weights with the pre-refactor trainer
import sys, torch
from pathlib import Path
from safetensors.torch import save_file
from seqdraw.data.synth import generate
from seqdraw.readers import build_reader, save_reader
from seqdraw.trainer import TrainConfig, train
from seqdraw.model.pretrained import load_weights
out = Path(sys.argv[1]); out.mkdir(parents=True, exist_ok=True)
data = generate(96, seed=0), generate(16, seed=1)
TINY = {"enc_size": 24, "dec_size": 24, "z_size": 4, "attention_size": 8, "steps_per_digit": 2, "read_n": 4, "write_n": 4}
torch.manual_seed(0)
guide = build_reader("multidigit", width=4)
save_reader(out / "guide.safetensors", guide, {"trained_on": "none"})
runs = {
 "rnndraw": dict(preset="rnndraw", curriculum="none"),
 "seqdraw-paper": dict(preset="seqdraw", curriculum="paper"),
 "shipped-recipe": dict(preset="seqdraw-cur", curriculum="none", digit_weight=4.0, guide=str(out / "guide.safetensors"),
                        guide_weight=100.0, style_match_weight=100.0, model={**TINY, "label_attention": "scheduled"}),
}
for name, kw in runs.items():
    base = dict(out=str(out / name), epochs=2, batch_size=16, max_len=3, val_size=16, warmup_steps=2,
                checkpoint_every=3, log_every=1, lr=3e-2, model=TINY, compile=False, seed=3)
    train(TrainConfig.from_dict({**base, **kw}), data=data, progress=False)
    t, _ = load_weights(out / name / "final")
    save_file(t, str(out / f"{name}.safetensors"))
    print(name, len(t))
