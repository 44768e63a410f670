#!/usr/bin/python3
"""PyTorch peer of bench/scalar_nodes.c: the cost of autograd on scalars.

Records y = tanh(y*w + b) `steps` times (3 nodes per step: mul, add, tanh) on
0-d tensors, runs backward, and reports ns per node (forward + backward), the
median of 5 runs after one warm-up run, in CPU time of the process (as
bench/scalar_nodes.c; the wall-time median is printed too).

    /usr/bin/python3 bench/torch_scalar.py [steps]     (default 2000)

Last line, for bench/train.sh:  RESULT ns_per_node=<CPU median> wall_ns=<wall median>
"""
import statistics
import sys
import time

import torch

from torch_common import blas_report


def main():
    steps = int(sys.argv[1]) if len(sys.argv) > 1 else 2000
    torch.set_num_threads(1)
    w = torch.tensor(0.5, requires_grad=True)
    b = torch.tensor(0.1, requires_grad=True)
    ns, wall = [], []
    for run in range(6):
        t0, w0 = time.process_time(), time.perf_counter()
        y = torch.tensor(0.3)
        for _ in range(steps):
            y = torch.tanh(y * w + b)
        y.backward()
        dt, dw = time.process_time() - t0, time.perf_counter() - w0
        w.grad = None
        b.grad = None
        if run > 0:
            ns.append(dt * 1e9 / (3 * steps))
            wall.append(dw * 1e9 / (3 * steps))
    print("pytorch %s scalar nodes (%d steps x 3 nodes): %.0f ns/node median CPU time "
          "(min %.0f, max %.0f; wall median %.0f)" % (
              torch.__version__, steps, statistics.median(ns), min(ns), max(ns),
              statistics.median(wall)))
    print("BLAS: " + blas_report())
    print("RESULT ns_per_node=%.1f wall_ns=%.1f" % (statistics.median(ns), statistics.median(wall)))


if __name__ == "__main__":
    main()
