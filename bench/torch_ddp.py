#!/usr/bin/python3
"""PyTorch DistributedDataParallel peer of the MPI trainer (bench/mpi_scaling.sh).

The Fashion-MNIST 784-256-128-10 ReLU MLP with Adam (lr 1e-3), global batch B
split evenly over the processes as chainrule's ranks split it (process r takes rows
[r B / N, (r + 1) B / N) of every global batch; the same seeded shuffle on every
process), gradients averaged by DDP over the gloo backend on loopback, one thread
per process. With --procs 1: the plain model in one process (no DDP), the baseline.

    /usr/bin/python3 bench/torch_ddp.py [--data DIR] [--procs 2] [--batch 256]
        [--epochs 3] [--threads 1] [--seed 1] [--port 29517]

Rank 0 prints one line per epoch and, last,
    RESULT samples_s=<median over epochs> epoch_s=<median wall> procs=<N>
Reads the IDX files with bench/torch_common.py's reader.
"""
import argparse
import os
import statistics
import sys
import time

import torch
import torch.distributed as dist
import torch.multiprocessing as mp
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from torch_common import load, mlp  # noqa: E402  (the reader and MLP of the 1-process peer)


def worker(rank, a):
    os.environ["OMP_NUM_THREADS"] = str(a.threads)
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)          # the same initial weights on every process
    N = a.procs
    if N > 1:
        dist.init_process_group("gloo", init_method="tcp://127.0.0.1:%d" % a.port,
                                rank=rank, world_size=N)
    xtr, ytr = load(a.data, "train")
    sizes = [xtr.shape[1], 256, 128, int(ytr.max()) + 1]
    model = mlp(sizes)             # chainrule's initialisation
    net = torch.nn.parallel.DistributedDataParallel(model) if N > 1 else model
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    gen = torch.Generator().manual_seed(a.seed)
    n, B = xtr.shape[0], a.batch
    rates, walls = [], []
    for e in range(a.epochs):
        if N > 1:
            dist.barrier()
        w0 = time.perf_counter()
        perm = torch.randperm(n, generator=gen)
        for s in range(0, n, B):
            m = min(B, n - s)
            lo, hi = s + m * rank // N, s + m * (rank + 1) // N
            idx = perm[lo:hi]
            xb = xtr[idx].float().div_(255.0)
            loss = F.cross_entropy(net(xb), ytr[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()             # DDP: all-reduce (mean) of the gradients
            opt.step()
        if N > 1:
            dist.barrier()
        walls.append(time.perf_counter() - w0)
        rates.append(n / walls[-1])
        if rank == 0:
            print("epoch %d: %.3f s, %.0f samples/s, loss %.4f" % (
                e + 1, walls[-1], rates[-1], float(loss)), flush=True)
    if rank == 0:
        print("RESULT samples_s=%.1f epoch_s=%.4f procs=%d" % (
            statistics.median(rates), statistics.median(walls), N), flush=True)
    if N > 1:
        dist.destroy_process_group()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", default="/usr/share/datasets/fashion-mnist")
    ap.add_argument("--procs", type=int, default=2)
    ap.add_argument("--batch", type=int, default=256)
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--port", type=int, default=29517)
    a = ap.parse_args()
    print("pytorch %s, %s, %d process%s x %d thread, global batch %d" % (
        torch.__version__, "DDP gloo" if a.procs > 1 else "no DDP", a.procs,
        "es" if a.procs > 1 else "", a.threads, a.batch), flush=True)
    if a.procs == 1:
        worker(0, a)
    else:
        mp.spawn(worker, args=(a,), nprocs=a.procs, join=True)


if __name__ == "__main__":
    main()
