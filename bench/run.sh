#!/bin/sh
# make bench: run every benchmark part in turn; each prints its own rows.
#   sh bench/run.sh BUILD_DIR      (BUILD_DIR holds bench/<program>)
# Peers at their best: bench/openblas_core.sh first picks the fastest OpenBLAS core
# that this CPU runs and that computes correctly, and every peer (the GEMM bench, the
# C+OpenBLAS trainer, PyTorch) runs with OPENBLAS_CORETYPE set to it and
# OPENBLAS_L2_SIZE unset, in its own command only: tests and CI never change them.
# To add a part, append a `part "<title>" <command...>` line at the end. A part
# whose peer is missing prints how to install it and still succeeds; a part that
# crashes makes `make bench` fail.
b=${1:?usage: sh bench/run.sh BUILD_DIR}
status=0
. bench/openblas_core.sh

part() {
    title=$1
    shift
    echo
    echo "== $title"
    "$@" || { echo "== $title: FAILED (exit $?)"; status=1; }
}

echo "machine: $(grep -m1 'model name' /proc/cpuinfo 2>/dev/null | sed 's/.*: //'), $(nproc) cores;" \
     "load average $(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null)"
echo "machine: a second thread of pure arithmetic gives $("$b/bench/two_cpus" --pairs 5 | sed -n 's/^RESULT two_cpus=\([^ ]*\).*/\1/p')x one" \
     "(bench/two_cpus.c: the ceiling of every 2-thread row below)"
openblas_pick_core "$b"   # sets PEER_ENV, exports the choice to bench/train.sh
part "GEMM GFLOP/s, chainrule vs OpenBLAS" $PEER_ENV "$b/bench/gemm_bench"
part "Fashion-MNIST training, scalar graph, memory: chainrule vs PyTorch and C+OpenBLAS" \
    sh bench/train.sh "$b"
part "Recurrent step (LSTM/GRU, synthetic text): replay vs re-record, threads, vs PyTorch" \
    sh bench/rnn.sh "$b"
part "Character language model (fortunes), LSTM and GRU: train_text vs PyTorch" \
    sh bench/text.sh "$b"
part "Exported C (cr_export_c): MLP prediction per image vs the library and PyTorch, object size" \
    "$b/bench/export_bench"
part "Data parallel: 2 MPI ranks vs 1 process, vs PyTorch DDP (gloo); the scaling model" \
    sh bench/mpi_scaling.sh "$b"
part "Fashion-MNIST CNN (issue 14): conv2d vs GEMM, epoch vs PyTorch, FLOP limit, threads, RSS" \
    sh bench/cnn.sh "$b"

exit $status
