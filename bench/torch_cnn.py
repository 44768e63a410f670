#!/usr/bin/python3
"""PyTorch peer of `train --arch SPEC` on Fashion-MNIST (make fashion-cnn).

The model is built from the same layer spec chainrule's trainer reads (the subset
the CNN rows need: conv O KxK [stride S] [pad P], maxpool K [stride S] [pad P],
avgpool ..., globalavgpool, flatten, dense N, relu, tanh, sigmoid, batchnorm,
dropout P), images are N x 1 x 28 x 28, pixels / 255 (as chainrule's IDX reader),
softmax cross-entropy, Adam (or SGD), every sample once per epoch in a new seeded
shuffle, last batch smaller.

Initialisation: --init cr (default) draws the distributions chainrule's cr_model
uses -- He normal std sqrt(2/fan_in) for a conv or dense followed by a ReLU,
Xavier uniform otherwise, zero biases; --init torch keeps PyTorch's own defaults
(kaiming_uniform(a=sqrt(5)): U(-1/sqrt(fan_in), 1/sqrt(fan_in)) for weights and
biases). The values differ from chainrule's (another generator); the
distributions are the same.

    /usr/bin/python3 bench/torch_cnn.py [--data DIR] [--arch SPEC] [--optim adam|sgd]
        [--lr 1e-3] [--batch 64] [--epochs 10] [--threads 1] [--seed 1]
        [--init cr|torch] [--steps N] [--test]

--steps N stops each epoch after N batches (a quick timing run; the epoch time is
then scaled to a whole epoch and says so). Run one-thread rows with
OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1. Last line:
    RESULT epoch_s=<median wall> cpu_s=<median CPU> rss_mb=<peak RSS> test_acc=<%>
"""
import argparse
import math
import os
import sys
import time

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from torch_common import load, print_result, test_accuracy, train_epoch  # noqa: E402

SPEC = ("conv 8 3x3 pad 1, relu, maxpool 2, conv 16 3x3 pad 1, relu, maxpool 2, "
        "flatten, dense 128, relu, dense 10")


def pair(s):
    """'3x3' -> (3, 3); '2' -> (2, 2)."""
    p = s.split("x")
    return (int(p[0]), int(p[1])) if len(p) == 2 else (int(p[0]), int(p[0]))


def build(spec, shape):
    """nn.Sequential from the spec; shape is C x H x W. Returns (model, layers)."""
    layers, c, hw, flat = [], shape[0], (shape[1], shape[2]), None
    for item in spec.split(","):
        w = item.split()
        kind, opt = w[0], {}
        rest = w[1:]
        i = 0
        args = []
        while i < len(rest):
            if rest[i] in ("stride", "pad", "dilation") and i + 1 < len(rest):
                opt[rest[i]] = pair(rest[i + 1])
                i += 2
            else:
                args.append(rest[i])
                i += 1
        if kind == "conv":
            k = pair(args[1])
            s, p, d = opt.get("stride", (1, 1)), opt.get("pad", (0, 0)), opt.get("dilation", (1, 1))
            layers.append(torch.nn.Conv2d(c, int(args[0]), k, s, p, d))
            c = int(args[0])
            hw = tuple((hw[j] + 2 * p[j] - d[j] * (k[j] - 1) - 1) // s[j] + 1 for j in range(2))
        elif kind in ("maxpool", "avgpool"):
            k = pair(args[0])
            s, p = opt.get("stride", k), opt.get("pad", (0, 0))
            cls = torch.nn.MaxPool2d if kind == "maxpool" else torch.nn.AvgPool2d
            layers.append(cls(k, s, p))
            hw = tuple((hw[j] + 2 * p[j] - k[j]) // s[j] + 1 for j in range(2))
        elif kind == "globalavgpool":
            layers += [torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten()]
            flat = c
        elif kind == "flatten":
            layers.append(torch.nn.Flatten())
            flat = c * hw[0] * hw[1]
        elif kind == "dense":
            layers.append(torch.nn.Linear(flat, int(args[0])))
            flat = int(args[0])
        elif kind == "batchnorm":
            layers.append(torch.nn.BatchNorm1d(flat) if flat is not None
                          else torch.nn.BatchNorm2d(c))
        elif kind == "dropout":
            layers.append(torch.nn.Dropout(float(args[0])))
        elif kind in ("relu", "tanh", "sigmoid"):
            layers.append({"relu": torch.nn.ReLU, "tanh": torch.nn.Tanh,
                           "sigmoid": torch.nn.Sigmoid}[kind]())
        else:
            sys.exit("torch_cnn: layer '%s' is not known to this script" % item.strip())
    return torch.nn.Sequential(*layers), layers


def init_cr(layers):
    """chainrule's cr_model_init: He normal before a ReLU, else Xavier uniform; bias 0."""
    for i, L in enumerate(layers):
        if not isinstance(L, (torch.nn.Conv2d, torch.nn.Linear)):
            continue
        nxt = None
        for M in layers[i + 1:]:
            if isinstance(M, (torch.nn.BatchNorm1d, torch.nn.BatchNorm2d, torch.nn.Dropout)):
                continue
            nxt = M
            break
        W = L.weight
        rf = W[0][0].numel() if W.dim() > 2 else 1
        fan_in, fan_out = W.shape[1] * rf, W.shape[0] * rf
        with torch.no_grad():
            if isinstance(nxt, torch.nn.ReLU):
                W.normal_(0.0, math.sqrt(2.0 / fan_in))
            else:
                a = math.sqrt(6.0 / (fan_in + fan_out))
                W.uniform_(-a, a)
            L.bias.zero_()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", default="/usr/share/datasets/fashion-mnist")
    ap.add_argument("--arch", default=SPEC)
    ap.add_argument("--optim", default="adam", choices=["sgd", "adam"])
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--epochs", type=int, default=10)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--init", default="cr", choices=["cr", "torch"])
    ap.add_argument("--steps", type=int, default=0)
    ap.add_argument("--test", action="store_true")
    a = ap.parse_args()

    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    xtr, ytr = load(a.data, "train", images=True)
    xte, yte = load(a.data, "t10k", images=True)
    model, layers = build(a.arch, tuple(xtr.shape[1:]))
    if a.init == "cr":
        init_cr(layers)
    opt = (torch.optim.SGD(model.parameters(), lr=a.lr) if a.optim == "sgd"
           else torch.optim.Adam(model.parameters(), lr=a.lr))
    gen = torch.Generator().manual_seed(a.seed)
    n, B = xtr.shape[0], a.batch
    batches = (n + B - 1) // B
    steps = min(a.steps, batches) if a.steps > 0 else batches

    print("pytorch %s, \"%s\", %s lr %g, batch %d, init %s, torch.get_num_threads() = %d, "
          "mkldnn %s, OPENBLAS_NUM_THREADS=%s%s" % (
              torch.__version__, a.arch, a.optim, a.lr, B, a.init, torch.get_num_threads(),
              torch.backends.mkldnn.is_available(),
              os.environ.get("OPENBLAS_NUM_THREADS", "(unset)"),
              "" if steps == batches else ", %d of %d batches per epoch (times scaled)" % (
                  steps, batches)), flush=True)
    walls, cpus = [], []
    for e in range(a.epochs):
        model.train()
        w0, c0 = time.perf_counter(), time.process_time()
        perm = torch.randperm(n, generator=gen)
        loss_sum, seen = train_epoch(model, opt, xtr, ytr, perm, B, steps)
        scale = batches / steps
        walls.append((time.perf_counter() - w0) * scale)
        cpus.append((time.process_time() - c0) * scale)
        print("epoch %d: %.3f s wall, %.3f s CPU, loss %.4f" % (
            e + 1, walls[-1], cpus[-1], loss_sum / seen), flush=True)
    acc = -1.0
    if a.test:
        model.eval()
        acc = test_accuracy(model, xte, yte)
        print("test accuracy after %d epochs: %.2f%%" % (a.epochs, acc))
    print_result(walls, cpus, acc)


if __name__ == "__main__":
    main()
