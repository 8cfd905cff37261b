"""Copy a trained reader into the package as a shipped judge, with its provenance in the metadata.

    python scripts/export_judge.py runs/judge-ctc/classifier.safetensors seqdraw/weights/judge-ctc.safetensors \
        --command "seqdraw classifier train ..." --data "seqdraw data synth ..."

The weights are unchanged; the metadata gains the exact commands, and keeps what training recorded
(`arch`, `trained_on`, the held-out accuracy). `seqdraw evaluate` reads with the shipped judges.
"""
import argparse
from pathlib import Path

from seqdraw.model.pretrained import save_weights
from seqdraw.readers import load_reader


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("reader")
    ap.add_argument("target")
    ap.add_argument("--command", required=True, help="the training command that produced it")
    ap.add_argument("--data", required=True, help="the command that made its data")
    ap.add_argument("--machine", default="shared 2-core CPU (no GPU), with other jobs on the same cores")
    args = ap.parse_args()
    reader, meta = load_reader(args.reader)
    meta.update(arch=reader.arch, command=args.command, data=args.data, machine=args.machine)
    save_weights(args.target, reader, meta)
    print(f"{args.reader} -> {args.target} ({Path(args.target).stat().st_size / 1e6:.1f} MB), "
          f"metadata keys {sorted(meta)}")


if __name__ == "__main__":
    main()
