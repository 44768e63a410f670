"""What the PyTorch peers of the benchmarks share (bench/torch_train.py,
bench/torch_cnn.py, bench/torch_ddp.py, bench/torch_scalar.py): the Fashion-MNIST
IDX reader, chainrule's MLP, one training epoch, the test accuracy, the RESULT line
and the BLAS report.
"""
import ctypes
import gzip
import os
import resource
import statistics
import struct
import sys

import numpy as np
import torch
import torch.nn.functional as F


def read_idx(path):
    with gzip.open(path, "rb") if path.endswith(".gz") else open(path, "rb") as f:
        raw = f.read()
    magic, = struct.unpack(">I", raw[:4])
    ndim = magic & 0xFF
    dims = struct.unpack(">" + "I" * ndim, raw[4:4 + 4 * ndim])
    return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


def load(dirname, prefix, images=False):
    """(x, y) of prefix ("train", "t10k") in dirname, pixels as uint8: x is N x 784,
    or N x 1 x 28 x 28 when images; y the labels as int64."""
    def find(stem):
        for name in (stem + ".gz", stem):
            p = os.path.join(dirname, name)
            if os.path.exists(p):
                return p
        sys.exit("%s: %s not found in %s" % (
            os.path.splitext(os.path.basename(sys.argv[0]))[0], stem, dirname))
    x = read_idx(find(prefix + "-images-idx3-ubyte"))
    y = read_idx(find(prefix + "-labels-idx1-ubyte"))
    x = x.reshape(len(x), 1, x.shape[1], x.shape[2]) if images else x.reshape(len(x), -1)
    return torch.from_numpy(x.copy()), torch.from_numpy(y.astype(np.int64))


def mlp(sizes, he=True):
    """A ReLU MLP of those layer sizes; he: chainrule's initialisation (He normal
    before a ReLU, Xavier uniform for the last layer, zero biases), else PyTorch's."""
    layers = []
    for i in range(len(sizes) - 1):
        lin = torch.nn.Linear(sizes[i], sizes[i + 1])
        if he:
            if i < len(sizes) - 2:
                torch.nn.init.kaiming_normal_(lin.weight, nonlinearity="relu")
            else:
                torch.nn.init.xavier_uniform_(lin.weight)
            torch.nn.init.zeros_(lin.bias)
        layers.append(lin)
        if i < len(sizes) - 2:
            layers.append(torch.nn.ReLU())
    return torch.nn.Sequential(*layers)


def train_epoch(model, opt, xtr, ytr, perm, B, steps):
    """steps batches of B samples in the order perm (the last may be smaller):
    softmax cross-entropy, backward, optimizer step. Returns (loss sum, samples)."""
    loss_sum, seen = torch.zeros(()), 0
    for s in range(0, steps * B, B):
        idx = perm[s:s + B]
        xb = xtr[idx].float().div_(255.0)
        yb = ytr[idx]
        loss = F.cross_entropy(model(xb), yb)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        loss_sum += loss.detach() * len(idx)
        seen += len(idx)
    return float(loss_sum), seen


def test_accuracy(model, xte, yte):
    """Accuracy in percent on (xte, yte), 1000 samples at a time, no gradients."""
    with torch.no_grad():
        ok = 0
        for s in range(0, xte.shape[0], 1000):
            z = model(xte[s:s + 1000].float().div_(255.0))
            ok += int((z.argmax(1) == yte[s:s + 1000]).sum())
    return 100.0 * ok / xte.shape[0]


def print_result(walls, cpus, acc):
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    print("RESULT epoch_s=%.4f cpu_s=%.4f rss_mb=%.1f test_acc=%.2f" % (
        statistics.median(walls), statistics.median(cpus), rss, acc))


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
