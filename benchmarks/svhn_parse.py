"""digitStruct.mat parsing speed, on the real format-1 sample in ../shared (about 40 entries per
split), extrapolated to the 33,402 entries of the full train set.

    python benchmarks/svhn_parse.py
"""
import time
from pathlib import Path

from seqdraw.data.svhn import read_csv, read_digit_struct

SHARED = Path(__file__).resolve().parents[2] / "shared" / "svhn"


def main():
    for split in ("train", "test", "extra"):
        mat = SHARED / "format1-sample" / split / "digitStruct.mat"
        if not mat.exists():
            print(f"{mat} not present: skipped")
            continue
        t = time.perf_counter()
        for _ in range(5):
            entries = read_digit_struct(mat)
        per = (time.perf_counter() - t) / 5 / len(entries)
        print(f"{split}: {len(entries)} entries, {per * 1e3:.2f} ms/entry -> ~{per * 33402:.0f} s for 33,402 entries")
    csv = SHARED / "labels" / "train.csv"
    if csv.exists():
        t = time.perf_counter()
        n = len(read_csv(csv))
        print(f"train.csv: {n} entries in {time.perf_counter() - t:.2f} s")


if __name__ == "__main__":
    main()
