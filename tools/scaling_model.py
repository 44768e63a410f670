#!/usr/bin/python3
"""The scaling model of data-parallel training (README "Training on several
machines"; issue 17): for each model the trainer knows, the gradient bytes of one
step, the time of one all-reduce of them over N ranks for a ring and a tree at
10/25/100 Gb/s, and the smallest per-rank batch for which the step's compute is
at least its communication (so that overlapping the two could hide it) at 8, 64
and 512 ranks.

    python3 tools/scaling_model.py [--alpha-us 20] [--rate1 S] [--real 4]
    python3 tools/scaling_model.py --validate --batch 256 --rate1 S1 --rate2 S2 \\
        --allreduce-ms T --params P

Model (Hockney's alpha-beta, one rank per machine, full-duplex links of B bytes/s,
alpha seconds per message):
    ring all-reduce  t = 2 (N - 1) alpha + 2 (N - 1) / N * S / B
    tree all-reduce  t = 2 ceil(log2 N) (alpha + S / B)    (binary-tree reduce, then
                                                            broadcast, whole message
                                                            per hop, not pipelined)
    compute          t = c * b, c = seconds per sample per rank (forward + backward)
    smallest batch   b_min = t_allreduce / c
c comes from a measured one-process rate (--rate1, samples/s, for the 784-256-128-10
MLP; default: this machine's quiet figure below) and is carried to the other models
in proportion to their multiply-adds per sample. The optimizer step (each rank runs
it whole, on every parameter) is outside the model: it is one pass over P values.

--validate compares the model's terms with a 2-rank measurement on one machine:
the compute term t1 / 2 (t1 = B / rate1, the one-process step) against the 2-rank
step minus its measured all-reduce; the communication term's linearity in the
bytes against the all-reduce timed alone at the model's size and at a quarter of
it (--isolated-ms, --isolated-quarter-ms), and against the all-reduce inside
training; and the 2-rank rate predicted from both.
"""
import argparse
import math

# One-process rate of 784-256-128-10 Adam, batch 256, 1 thread, float: the median
# of 3 epochs of bench/mpi_scaling.sh on this project's 2-core machine, 2026-11-30,
# load average 13.5 (a loaded machine: a quiet one is at least as fast). Pass
# --rate1 with your own machine's figure.
DEFAULT_RATE1 = 19638.0

MODELS = [
    # name, parameters (= gradient values), multiply-adds per sample (forward)
    ("MLP 784-128-10", 784 * 128 + 128 + 128 * 10 + 10, 784 * 128 + 128 * 10),
    ("MLP 784-256-128-10", 784 * 256 + 256 + 256 * 128 + 128 + 128 * 10 + 10,
     784 * 256 + 256 * 128 + 128 * 10),
    # make fashion-cnn: conv 8 3x3 pad 1, relu, maxpool 2, conv 16 3x3 pad 1, relu,
    # maxpool 2, flatten, dense 128, relu, dense 10 on 1x28x28
    ("CNN (make fashion-cnn)", (8 * 9 + 8) + (16 * 8 * 9 + 16) + (784 * 128 + 128) + (128 * 10 + 10),
     28 * 28 * 8 * 9 + 14 * 14 * 16 * 8 * 9 + 784 * 128 + 128 * 10),
]
LINKS_GBPS = [10, 25, 100]
RANKS = [8, 64, 512]


def ring(n, nbytes, alpha, bw):
    return 2 * (n - 1) * alpha + 2 * (n - 1) / n * nbytes / bw


def tree(n, nbytes, alpha, bw):
    return 2 * math.ceil(math.log2(n)) * (alpha + nbytes / bw)


def table(a):
    alpha = a.alpha_us * 1e-6
    ref_macs = MODELS[1][2]
    c_ref = 1.0 / a.rate1                  # seconds per sample, 784-256-128-10
    print("alpha %.0f us per message; compute calibrated at %.0f samples/s for "
          "784-256-128-10 (one rank, one thread); %d-byte values" % (a.alpha_us, a.rate1, a.real))
    for name, params, macs in MODELS:
        nbytes = params * a.real
        c = c_ref * macs / ref_macs
        print()
        print("%s: %d parameters, %.2f MB of gradients per step, %.1f us compute per "
              "sample" % (name, params, nbytes / 1e6, c * 1e6))
        print("  %-10s %-5s %s" % ("link", "algo", "  ".join(
            "N=%-4d t_ar (ms)  b_min" % n for n in RANKS)))
        for g in LINKS_GBPS:
            bw = g * 1e9 / 8
            for algo, f in (("ring", ring), ("tree", tree)):
                cells = []
                for n in RANKS:
                    t = f(n, nbytes, alpha, bw)
                    cells.append("       %8.3f  %5d" % (t * 1e3, math.ceil(t / c)))
                print("  %-10s %-5s %s" % ("%d Gb/s" % g, algo, "".join(cells)))


def validate(a):
    B = a.batch
    t1 = B / a.rate1                       # one-process step
    t2 = B / a.rate2 if a.rate2 > 0 else float("nan")
    t_ar = a.allreduce_ms * 1e-3
    print("one process: %.0f samples/s = %.2f ms per step of %d; 2 ranks: %.0f samples/s "
          "= %.2f ms per step, of which %.2f ms in the all-reduce" % (
              a.rate1, t1 * 1e3, B, a.rate2, t2 * 1e3, t_ar * 1e3))
    # compute term: each rank's share of the one-process step
    print("compute term: predicted t1 / 2 = %.2f ms per rank and step; measured (2-rank "
          "step - all-reduce) %.2f ms (measured / predicted %.2f)" % (
              t1 / 2 * 1e3, (t2 - t_ar) * 1e3, (t2 - t_ar) / (t1 / 2)))
    # communication term: the same all-reduce timed alone (no training), at the
    # model's size and at a quarter of it: linear in the bytes, as the model says?
    nbytes = a.params * a.real
    if a.isolated_ms > 0 and a.isolated_quarter_ms > 0:
        print("communication term: the all-reduce alone takes %.2f ms for %.2f MB and %.2f ms "
              "for a quarter of it: %.1fx for 4x the bytes (the alpha-beta model: at most 4x); "
              "inside training it took %.2f ms, %.1fx the time alone (the rest is waiting "
              "for the other rank)" % (a.isolated_ms, nbytes / 1e6, a.isolated_quarter_ms,
                                       a.isolated_ms / a.isolated_quarter_ms, t_ar * 1e3,
                                       t_ar * 1e3 / a.isolated_ms))
    print("predicted 2-rank rate B / (t1/2 + t_ar) = %.0f samples/s with the all-reduce "
          "measured in training%s; measured %.0f" % (
              B / (t1 / 2 + t_ar), ", %.0f with the all-reduce alone" % (
                  B / (t1 / 2 + a.isolated_ms * 1e-3)) if a.isolated_ms > 0 else "", a.rate2))
    print("over a network: the same 2 ranks on 10 / 25 / 100 Gb/s (ring, alpha %.0f us): "
          "%.2f / %.2f / %.2f ms per all-reduce" % (
              a.alpha_us, *[ring(2, nbytes, a.alpha_us * 1e-6, g * 1e9 / 8) * 1e3
                            for g in LINKS_GBPS]))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--alpha-us", type=float, default=20.0,
                    help="latency per message, microseconds (default 20: TCP over Ethernet)")
    ap.add_argument("--rate1", type=float, default=DEFAULT_RATE1,
                    help="one-process samples/s of 784-256-128-10 (compute calibration)")
    ap.add_argument("--real", type=int, default=4, choices=[4, 8],
                    help="bytes per value: 4 float build, 8 double build")
    ap.add_argument("--validate", action="store_true")
    ap.add_argument("--batch", type=int, default=256)
    ap.add_argument("--rate2", type=float, default=0.0)
    ap.add_argument("--allreduce-ms", type=float, default=0.0)
    ap.add_argument("--params", type=int, default=MODELS[1][1])
    ap.add_argument("--isolated-ms", type=float, default=0.0,
                    help="the all-reduce of --params values alone (tools/mpi_allreduce_time)")
    ap.add_argument("--isolated-quarter-ms", type=float, default=0.0,
                    help="the same for a quarter of the values")
    a = ap.parse_args()
    if a.validate:
        validate(a)
    else:
        table(a)


if __name__ == "__main__":
    main()
