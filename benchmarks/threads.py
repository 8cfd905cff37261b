"""Two threads in one process against one thread in each of two processes, side by side in one run.

  python benchmarks/threads.py [--compile] [--steps 12]

Each arm times the same training step of the shipped network (batch 64 in all, 2-digit numbers,
T = 20) and prints images/s summed over its processes:
  1 x 2 threads   one process, torch.set_num_threads(2)
  2 x 1 thread    two independent processes at once, each with batch 64: what two runs side by side
                  get (for example two rows of `seqdraw reproduce table2`)
  DDP 2 x 1       two processes of one DistributedDataParallel run (gloo), batch 32 each: what
                  `torchrun --nproc_per_node 2 -m seqdraw train` gets
"""
import argparse
import os
import statistics
import time

import numpy as np
import torch
import torch.distributed as dist
import torch.multiprocessing as mp

from seqdraw.data.synth import generate
from seqdraw.model import ConditionalDRAW, preset
from seqdraw.objectives import total_loss


def batch(n: int, offset: int = 0):
    data = generate(400, seed=0)
    idx = np.flatnonzero(data["lengths"] == 2)[offset: offset + n]
    return (torch.from_numpy(data["images"][idx]).float() / 255,
            torch.from_numpy(data["labels"][idx, :2].astype(np.int64)), torch.full((len(idx),), 2))


def time_steps(threads: int, batch_size: int, steps: int, compiled: bool, ddp: bool = False, offset: int = 0):
    """Seconds per training step (median of `steps` after 3 warm-up steps)."""
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    images, labels, lengths = batch(batch_size, offset)
    model = ConditionalDRAW(preset("seqdraw-cur", label_attention="scheduled"))
    if compiled:
        model.use_compiled()
    net = torch.nn.parallel.DistributedDataParallel(model) if ddp else model
    opt = torch.optim.Adam(model.parameters(), 1e-5)
    times = []
    for i in range(steps + 3):
        t0 = time.perf_counter()
        loss = total_loss(net, images, labels, lengths, torch.Generator().manual_seed(i)).total
        opt.zero_grad()
        loss.backward()
        opt.step()
        times.append(time.perf_counter() - t0)
    return statistics.median(times[3:])


def independent(rank: int, steps: int, compiled: bool, results):
    results[rank] = 64 / time_steps(1, 64, steps, compiled)


def ddp_worker(rank: int, steps: int, compiled: bool, results):
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT="29533")
    dist.init_process_group("gloo", rank=rank, world_size=2)
    seconds = time_steps(1, 32, steps, compiled, ddp=True, offset=32 * rank)
    results[rank] = 64 / seconds                          # one global batch of 64 per step
    dist.destroy_process_group()


def in_processes(fn, steps: int, compiled: bool) -> list[float]:
    with mp.Manager() as manager:
        results = manager.dict()
        mp.spawn(fn, args=(steps, compiled, results), nprocs=2)
        return [results[r] for r in range(2)]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=12)
    ap.add_argument("--compile", action="store_true", help="time the compiled step (compiling takes a minute)")
    args = ap.parse_args()
    print(f"torch {torch.__version__}, {os.cpu_count()} CPUs, {'compiled' if args.compile else 'eager'}")
    one = 64 / time_steps(2, 64, args.steps, args.compile)
    print(f"1 x 2 threads : {one:6.0f} images/s", flush=True)
    two = in_processes(independent, args.steps, args.compile)
    print(f"2 x 1 thread  : {sum(two):6.0f} images/s ({' + '.join(f'{v:.0f}' for v in two)}), "
          f"{sum(two) / one:.2f}x", flush=True)
    ddp = in_processes(ddp_worker, args.steps, args.compile)
    print(f"DDP 2 x 1     : {ddp[0]:6.0f} images/s, {ddp[0] / one:.2f}x", flush=True)


if __name__ == "__main__":
    main()
