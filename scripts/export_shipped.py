"""Copy a trained model into the package as the shipped default, with its provenance in the metadata.

    python scripts/export_shipped.py runs/ship-cur/best --command "..." --data "..." --hours 1.2

Writes seqdraw/weights/seqdraw.safetensors (what `seqdraw.load()` and `seqdraw generate` use
when no --model is given), or, with --name paper, seqdraw/weights/paper.safetensors (`--model paper`).
"""
import argparse
from pathlib import Path

from seqdraw.model.pretrained import load_model, load_weights, save_model, weights_digest
from seqdraw.model.pretrained import default_model_path


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("model")
    ap.add_argument("--name", choices=["recipe", "paper"], default="recipe",
                    help="which shipped model it becomes: recipe (the default model) or paper")
    ap.add_argument("--command", help="the training command(s) that produced it (default: the file's own)")
    ap.add_argument("--data", help="the data it was trained on, and how to make it (default: the file's own)")
    ap.add_argument("--hours", type=float, help="training time (default: the file's own)")
    ap.add_argument("--temperature", type=float, default=1.0,
                    help="the sampling temperature it was evaluated at; seqdraw generate uses it by default")
    ap.add_argument("--style-temperature", dest="style_temperature", type=float, default=None,
                    help="the temperature of z_1 it was evaluated at (default: the same as --temperature)")
    ap.add_argument("--machine", default="shared 2-core CPU (no GPU), with other jobs on the same cores")
    ap.add_argument("--heldout-seen", dest="heldout_seen", type=int, default=None,
                    help="training images that showed held-out strings, for files written before trainers "
                         "recorded it (docs/evaluation.md)")
    ap.add_argument("--guide", action="append", default=[],
                    help="a classifier that guided its training, for files written before trainers recorded it")
    args = ap.parse_args()
    model, meta = load_model(args.model)
    guides = {weights_digest(load_weights(g, "classifier")[0]) for g in args.guide}
    meta["guides"] = sorted(set(meta.get("guides", [])) | guides)
    for key, value in (("command", args.command), ("data", args.data), ("training_hours", args.hours),
                       ("heldout_seen", args.heldout_seen)):
        if value is not None:
            meta[key] = value
        elif key != "heldout_seen" and key not in meta:
            ap.error(f"the model has no {key} in its metadata: pass it")
    meta.update(temperature=args.temperature, machine=args.machine)
    if args.style_temperature is not None:
        meta["style_temperature"] = args.style_temperature
    target = default_model_path(args.name)
    save_model(target, model, extra=meta)
    print(f"{args.model} -> {target} ({Path(target).stat().st_size / 1e6:.1f} MB), metadata keys {sorted(meta)}")


if __name__ == "__main__":
    main()
