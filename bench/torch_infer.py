#!/usr/bin/python3
"""PyTorch peer of bench/export_bench.c: per-image inference of the Fashion-MNIST
MLP 784-128-10 (ReLU), one thread, eval mode, torch.no_grad, one image (1 x 784)
per call, on the same images (a raw float32 file written by export_bench).

    /usr/bin/python3 bench/torch_infer.py IMAGES.bin N PASSES

Prints the threads in use and, last, RESULT ns_per_image=<best pass / N>.
"""
import sys
import time

import numpy as np
import torch


def main():
    path, n, passes = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    torch.set_num_threads(1)
    torch.manual_seed(1)
    x = torch.from_numpy(np.fromfile(path, dtype=np.float32).reshape(n, 1, 784))
    model = torch.nn.Sequential(torch.nn.Linear(784, 128), torch.nn.ReLU(),
                                torch.nn.Linear(128, 10)).eval()
    print(f"  torch {torch.__version__}, {torch.get_num_threads()} thread")
    best = float("inf")
    sink = 0.0
    with torch.no_grad():
        for _ in range(passes):
            t0 = time.perf_counter()
            for i in range(n):
                y = model(x[i])
                sink += float(y[0, 0])
            best = min(best, time.perf_counter() - t0)
    print(f"RESULT ns_per_image={best / n * 1e9:.1f} sink={sink:g}")


if __name__ == "__main__":
    main()
