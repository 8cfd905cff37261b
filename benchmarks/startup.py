"""Where `seqdraw generate 42`'s start-up time goes: process start to PNG written, split by imports.

    python benchmarks/startup.py [--repeats 5]

Each figure is the median of interleaved runs of fresh processes (the machine is shared: compare
within a run only):
- an empty Python, `import torch` alone, `import numpy, PIL.Image` alone;
- `seqdraw generate 42` end to end, and its `python -X importtime` split by top-level package;
- whether matplotlib, scipy, onnxruntime, gradio or h5py were imported (none of them should be).
"""
from __future__ import annotations

import argparse
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict

HEAVY = ("matplotlib", "scipy", "onnxruntime", "gradio", "h5py")     # generate must not import these
WATCH = ("torch", "numpy", "PIL")                                     # the imports generate needs


def wall(cmd: list[str]) -> float:
    t = time.perf_counter()
    subprocess.run(cmd, check=True, capture_output=True)
    return time.perf_counter() - t


def import_split(stderr: str) -> dict[str, float]:
    """Cumulative seconds of the first import of each watched package, from `-X importtime` output. A
    package imported first inside another is counted once, where it is first imported."""
    seconds = {}
    for line in stderr.splitlines():
        m = re.match(r"import time:\s+\d+ \|\s+(\d+) \|\s*(\S+)$", line)
        if m and m.group(2) in WATCH and m.group(2) not in seconds:
            seconds[m.group(2)] = int(m.group(1)) / 1e6
    return seconds


def imported_modules(stderr: str) -> set[str]:
    return {m.group(1).split(".")[0] for m in re.finditer(r"\|\s*(\S+)$", stderr, re.M)}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as d:
        generate = [sys.executable, "-m", "seqdraw", "generate", "42", "--out", f"{d}/42.png"]
        arms = {"python, nothing": [sys.executable, "-c", "pass"],
                "import torch": [sys.executable, "-c", "import torch"],
                "import numpy, PIL.Image": [sys.executable, "-c", "import numpy, PIL.Image"],
                "seqdraw generate 42": generate}
        times = defaultdict(list)
        for _ in range(args.repeats):
            for name, cmd in arms.items():
                times[name].append(wall(cmd))
        print(f"## fresh processes, median of {args.repeats} interleaved runs")
        for name, ts in times.items():
            print(f"  {name:26s} {statistics.median(ts):5.2f} s")
        logs = [subprocess.run([sys.executable, "-X", "importtime", *generate[1:]], check=True,
                               capture_output=True, text=True).stderr for _ in range(args.repeats)]
    splits = [import_split(log) for log in logs]
    split = {k: statistics.median(s.get(k, 0.0) for s in splits) for k in WATCH}
    print("\n## `seqdraw generate 42`, first import of each (python -X importtime, cumulative, median)")
    for k in WATCH:
        print(f"  {k:26s} {split[k]:5.2f} s")
    total = statistics.median(times["seqdraw generate 42"])
    rest = total - sum(split.values()) - statistics.median(times["python, nothing"])
    print(f"  {'the rest':26s} {rest:5.2f} s  (end to end less these imports less an empty Python: seqdraw's "
          "own modules, loading, drawing, the PNG)")
    loaded = sorted(set.union(*map(imported_modules, logs)) & set(HEAVY))
    print(f"\nheavy packages imported: {', '.join(loaded) if loaded else 'none'} (checked: {', '.join(HEAVY)})")


if __name__ == "__main__":
    main()
