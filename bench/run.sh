#!/bin/sh
# make bench: run every benchmark part in turn; each prints its own rows.
#   sh bench/run.sh BUILD_DIR      (BUILD_DIR holds bench/<program>)
# Peers run with OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE unset, and only here: this
# machine sets them by default (to an older kernel), tests and CI never change them.
# To add a part, append a `part "<title>" <command...>` line at the end. A part
# whose peer is missing prints how to install it and still succeeds; a part that
# crashes makes `make bench` fail.
b=${1:?usage: sh bench/run.sh BUILD_DIR}
peer="env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE"
status=0

part() {
    title=$1
    shift
    echo
    echo "== $title"
    "$@" || { echo "== $title: FAILED (exit $?)"; status=1; }
}

echo "machine: $(grep -m1 'model name' /proc/cpuinfo 2>/dev/null | sed 's/.*: //'), $(nproc) cores"
part "GEMM GFLOP/s, chainrule vs OpenBLAS" $peer "$b/bench/gemm_bench"
part "Fashion-MNIST training, scalar graph, memory: chainrule vs PyTorch and C+OpenBLAS" \
    sh bench/train.sh "$b"

exit $status
