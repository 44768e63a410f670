#!/usr/bin/python3
"""PyTorch peer of bench/train_bench.c: the same Fashion-MNIST training.

Same data (the IDX .gz files, read with gzip + numpy, pixels kept as uint8 and
converted to float / 255 per batch), same batch order semantics (every sample once
per epoch, a new seeded shuffle each epoch, last batch smaller), same model and
hyper-parameters (784-H...-10 ReLU MLP, softmax cross-entropy, SGD or Adam), same
initialisation as chainrule's MLP by default (He normal weights before a ReLU,
Xavier uniform for the output layer, zero biases; --init torch for PyTorch's own
default).

    /usr/bin/python3 bench/torch_train.py [--data DIR] [--hidden 128|256,128]
        [--optim sgd|adam] [--lr X] [--batch 64] [--epochs 5] [--threads 1]
        [--seed 1] [--test] [--init he|torch]

For one-thread rows run it with OPENBLAS_NUM_THREADS=1 as well: torch's
set_num_threads does not limit OpenBLAS. It prints the threads and BLAS it really
used and, last, a line
    RESULT epoch_s=<median wall> cpu_s=<median CPU> rss_mb=<peak RSS> test_acc=<%>
"""
import argparse
import os
import sys
import time

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from torch_common import (blas_report, load, mlp, print_result,  # noqa: E402
                          test_accuracy, train_epoch)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", default="/usr/share/datasets/fashion-mnist")
    ap.add_argument("--hidden", default="128")
    ap.add_argument("--optim", default="sgd", choices=["sgd", "adam"])
    ap.add_argument("--lr", type=float, default=None)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--epochs", type=int, default=5)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--test", action="store_true")
    ap.add_argument("--init", default="he", choices=["he", "torch"])
    a = ap.parse_args()
    lr = a.lr if a.lr is not None else (0.1 if a.optim == "sgd" else 1e-3)

    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    xtr, ytr = load(a.data, "train")
    xte, yte = load(a.data, "t10k")
    sizes = [xtr.shape[1]] + [int(h) for h in a.hidden.split(",")] + [int(ytr.max()) + 1]
    model = mlp(sizes, he=a.init == "he")
    opt = (torch.optim.SGD(model.parameters(), lr=lr) if a.optim == "sgd"
           else torch.optim.Adam(model.parameters(), lr=lr))
    gen = torch.Generator().manual_seed(a.seed)
    n, B = xtr.shape[0], a.batch

    print("pytorch %s %s, %s lr %g, batch %d, torch.get_num_threads() = %d, "
          "OPENBLAS_NUM_THREADS=%s, OPENBLAS_CORETYPE=%s" % (
              torch.__version__, "-".join(map(str, sizes)), a.optim, lr, B,
              torch.get_num_threads(), os.environ.get("OPENBLAS_NUM_THREADS", "(unset)"),
              os.environ.get("OPENBLAS_CORETYPE", "(unset)")), flush=True)
    walls, cpus = [], []
    for e in range(a.epochs):
        w0, c0 = time.perf_counter(), time.process_time()
        perm = torch.randperm(n, generator=gen)
        loss_sum, _ = train_epoch(model, opt, xtr, ytr, perm, B, (n + B - 1) // B)
        walls.append(time.perf_counter() - w0)
        cpus.append(time.process_time() - c0)
        print("epoch %d: %.3f s wall, %.3f s CPU, loss %.4f" % (
            e + 1, walls[-1], cpus[-1], loss_sum / n), flush=True)
        if e == 0:
            print("BLAS: " + blas_report(), flush=True)
    acc = -1.0
    if a.test:
        acc = test_accuracy(model, xte, yte)
        print("test accuracy after %d epochs: %.2f%%" % (a.epochs, acc))
    print_result(walls, cpus, acc)


if __name__ == "__main__":
    main()
