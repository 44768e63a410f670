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
import ctypes
import gzip
import os
import resource
import statistics
import struct
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F


def read_idx(path):
    with gzip.open(path, "rb") if path.endswith(".gz") else open(path, "rb") as f:
        raw = f.read()
    magic, = struct.unpack(">I", raw[:4])
    ndim = magic & 0xFF
    dims = struct.unpack(">" + "I" * ndim, raw[4:4 + 4 * ndim])
    data = np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim)
    return data.reshape(dims)


def load(dirname, prefix):
    def find(stem):
        for name in (stem + ".gz", stem):
            p = os.path.join(dirname, name)
            if os.path.exists(p):
                return p
        sys.exit("torch_train: %s not found in %s" % (stem, dirname))
    x = read_idx(find(prefix + "-images-idx3-ubyte"))
    y = read_idx(find(prefix + "-labels-idx1-ubyte"))
    return (torch.from_numpy(x.reshape(len(x), -1).copy()),
            torch.from_numpy(y.astype(np.int64)))


def blas_report():
    """Which BLAS library this process loaded, and what OpenBLAS says of itself."""
    libs = set()
    with open("/proc/self/maps") as f:
        for line in f:
            p = line.split()[-1]
            if ("blas" in p or "mkl" in p or "lapack" in p) and p.startswith("/"):
                libs.add(os.path.realpath(p))
    parts, seen = ["loaded " + ", ".join(sorted(libs))], set()
    for p in sorted(libs):
        try:
            lib = ctypes.CDLL(p)
            lib.openblas_get_corename.restype = ctypes.c_char_p
            lib.openblas_get_config.restype = ctypes.c_char_p
            desc = "OpenBLAS %s (core %s), %d threads" % (
                lib.openblas_get_config().decode().split()[1],
                lib.openblas_get_corename().decode(), lib.openblas_get_num_threads())
        except (OSError, AttributeError, IndexError):
            continue
        if desc not in seen:
            seen.add(desc)
            parts.append(desc)
    if not seen:
        parts.append("not OpenBLAS (reference BLAS is ~20x slower: apt-get install "
                     "libopenblas0-pthread)")
    try:
        import threadpoolctl
        for info in threadpoolctl.threadpool_info():
            parts.append("threadpoolctl: %s %s %s, %s threads" % (
                info.get("internal_api"), info.get("version"), info.get("architecture"),
                info.get("num_threads")))
    except ImportError:
        parts.append("(threadpoolctl not installed; the above is read from the loaded "
                     "library itself)")
    return "; ".join(parts)


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
    layers = []
    for i in range(len(sizes) - 1):
        lin = torch.nn.Linear(sizes[i], sizes[i + 1])
        if a.init == "he":   # chainrule's MLP: He normal before a ReLU, Xavier uniform last
            if i < len(sizes) - 2:
                torch.nn.init.kaiming_normal_(lin.weight, nonlinearity="relu")
            else:
                torch.nn.init.xavier_uniform_(lin.weight)
            torch.nn.init.zeros_(lin.bias)
        layers.append(lin)
        if i < len(sizes) - 2:
            layers.append(torch.nn.ReLU())
    model = torch.nn.Sequential(*layers)
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
        loss_sum = torch.zeros(())
        for s in range(0, n, B):
            idx = perm[s:s + B]
            xb = xtr[idx].float().div_(255.0)
            yb = ytr[idx]
            loss = F.cross_entropy(model(xb), yb)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            loss_sum += loss.detach() * len(idx)
        walls.append(time.perf_counter() - w0)
        cpus.append(time.process_time() - c0)
        print("epoch %d: %.3f s wall, %.3f s CPU, loss %.4f" % (
            e + 1, walls[-1], cpus[-1], float(loss_sum) / n), flush=True)
        if e == 0:
            print("BLAS: " + blas_report(), flush=True)
    acc = -1.0
    if a.test:
        with torch.no_grad():
            ok = 0
            for s in range(0, xte.shape[0], 1000):
                z = model(xte[s:s + 1000].float().div_(255.0))
                ok += int((z.argmax(1) == yte[s:s + 1000]).sum())
        acc = 100.0 * ok / xte.shape[0]
        print("test accuracy after %d epochs: %.2f%%" % (a.epochs, acc))
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    print("RESULT epoch_s=%.4f cpu_s=%.4f rss_mb=%.1f test_acc=%.2f" % (
        statistics.median(walls), statistics.median(cpus), rss, acc))


if __name__ == "__main__":
    main()
