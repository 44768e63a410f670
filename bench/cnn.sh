#!/bin/sh
# The CNN rows of `make bench` (issue 14): the Fashion-MNIST CNN of `make fashion-cnn`
# (same spec, Adam lr 1e-3, batch 64) trained by chainrule (bench/cnn_bench.c) and
# by PyTorch (bench/torch_cnn.py, same spec, same initial distributions, 1 thread)
# side by side; conv2d forward/backward GFLOP/s at the net's layer shapes next to
# cr_gemm's at the same products; the FLOP-limit fraction (conv + dense FLOPs of
# an epoch / cr_gemm's 1-thread rate at each of those products, against our epoch);
# 2 threads against 1; peak RSS of each training process.
#
#   sh bench/cnn.sh [BUILD_DIR]      (default build/float; after make bench built
#                                     BUILD_DIR/bench/cnn_bench)
#
# Environment: FASHION_DIR (default /usr/share/datasets/fashion-mnist), CNN_EPOCHS
# (epochs per training run, default 3; the rows take the median epoch), CNN_STEPS
# (batches per epoch, 0 = all 938; a smaller number scales the time to an epoch and
# says so), PYTHON, PEER_TIMEOUT (seconds per PyTorch run, default 900). Without
# PyTorch or the data, their rows say how to install them. Full outputs are in
# BUILD_DIR/bench/cnn_*.log.
set -u
B=${1:-build/float}
FASHION_DIR=${FASHION_DIR:-/usr/share/datasets/fashion-mnist}
CNN_EPOCHS=${CNN_EPOCHS:-3}
CNN_STEPS=${CNN_STEPS:-0}
PYTHON=${PYTHON:-/usr/bin/python3}
PEER_TIMEOUT=${PEER_TIMEOUT:-900}
OUT=$B/bench
SPEC="conv 8 3x3 pad 1, relu, maxpool 2, conv 16 3x3 pad 1, relu, maxpool 2, flatten, dense 128, relu, dense 10"
mkdir -p "$OUT"
rm -f "$OUT"/cnn_*.log
[ -x "$OUT/cnn_bench" ] || { echo "bench/cnn.sh: $OUT/cnn_bench is missing: run make bench" >&2; exit 1; }
HAVE_TORCH=0
"$PYTHON" -c 'import torch, numpy' 2>/dev/null && HAVE_TORCH=1
HAVE_DATA=0
if [ -f "$FASHION_DIR/train-images-idx3-ubyte.gz" ] || [ -f "$FASHION_DIR/train-images-idx3-ubyte" ]; then
    HAVE_DATA=1
fi
PEER=
command -v timeout >/dev/null 2>&1 && PEER="timeout $PEER_TIMEOUT"
loadavg() { cut -d' ' -f1-3 /proc/loadavg 2>/dev/null; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a > 0 && b > 0) printf "%.2f", a / b; else printf "?" }'; }
meets() { awk -v x="$1" -v y="$3" -v op="$2" 'BEGIN {
    if (x == "?" || x == "") { print "?"; exit }
    ok = (op == ">=") ? x >= y : (op == "<=") ? x <= y : 0; print ok ? "yes" : "no" }'; }
# get KEY LOG: the value of KEY=... on the log's RESULT line (empty if none)
get() { sed -n 's/^RESULT //p' "$2" | tail -n 1 | tr ' ' '\n' | sed -n "s/^$1=//p"; }

echo "CNN benchmarks ($(date -u '+%Y-%m-%d %H:%M UTC'), load average at start: $(loadavg))"
echo "spec: $SPEC; Adam lr 1e-3, batch 64"

# ---------------------------------------------------------------- layers
echo
echo "conv2d and the GEMMs it makes, 1 thread (CPU time of the thread):"
"$OUT/cnn_bench" --layers --arch "$SPEC" > "$OUT/cnn_layers.log" 2>&1 ||
    { echo "bench/cnn.sh: cnn_bench --layers failed" >&2; tail -n 5 "$OUT/cnn_layers.log" >&2; exit 1; }
sed -n '/^layer/,/^LIMIT/p' "$OUT/cnn_layers.log" | grep -v '^LIMIT'
LIMIT_STEP=$(sed -n 's/^LIMIT gemm_s_per_step=\([0-9.]*\).*/\1/p' "$OUT/cnn_layers.log")

[ "$HAVE_DATA" = 1 ] || { echo "note: Fashion-MNIST not in $FASHION_DIR: apt-get install" \
                               "dataset-fashion-mnist (the epoch rows are skipped)"; exit 0; }

# ---------------------------------------------------------------- training
STEPS_OPT=
[ "$CNN_STEPS" -gt 0 ] 2>/dev/null && STEPS_OPT="--steps $CNN_STEPS"
PY_STEPS=
[ "$CNN_STEPS" -gt 0 ] 2>/dev/null && PY_STEPS="--steps $CNN_STEPS"
echo
echo "training ($CNN_EPOCHS epochs per run${STEPS_OPT:+, $CNN_STEPS batches per epoch, times scaled}):"
L1=$(loadavg)
"$OUT/cnn_bench" --data "$FASHION_DIR" --arch "$SPEC" --epochs "$CNN_EPOCHS" $STEPS_OPT \
    --threads 1 > "$OUT/cnn_ours1.log" 2>&1 || { echo "bench/cnn.sh: chainrule failed" >&2; exit 1; }
L2=$(loadavg)
"$OUT/cnn_bench" --data "$FASHION_DIR" --arch "$SPEC" --epochs "$CNN_EPOCHS" $STEPS_OPT \
    --threads 2 > "$OUT/cnn_ours2.log" 2>&1 || { echo "bench/cnn.sh: chainrule failed" >&2; exit 1; }
OURS1=$(get epoch_s "$OUT/cnn_ours1.log")
OURS1_CPU=$(get cpu_s "$OUT/cnn_ours1.log")
OURS2=$(get epoch_s "$OUT/cnn_ours2.log")
RSS1=$(get rss_mb "$OUT/cnn_ours1.log")
GFLOP=$(get gflop_epoch "$OUT/cnn_ours1.log")
TORCH= TORCH_CPU= TORCH_RSS=
LT=
if [ "$HAVE_TORCH" = 1 ]; then
    LT=$(loadavg)
    if OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 $PEER "$PYTHON" bench/torch_cnn.py \
        --data "$FASHION_DIR" --arch "$SPEC" --epochs "$CNN_EPOCHS" $PY_STEPS --threads 1 \
        > "$OUT/cnn_torch1.log" 2>&1; then
        TORCH=$(get epoch_s "$OUT/cnn_torch1.log")
        TORCH_CPU=$(get cpu_s "$OUT/cnn_torch1.log")
        TORCH_RSS=$(get rss_mb "$OUT/cnn_torch1.log")
    else
        echo "bench/cnn.sh: PyTorch failed or timed out; the end of $OUT/cnn_torch1.log:" >&2
        tail -n 5 "$OUT/cnn_torch1.log" >&2
    fi
fi
LIMIT_EPOCH=$(awk -v s="$LIMIT_STEP" -v g="$GFLOP" -v f="$(sed -n 's/^LIMIT.*gflop_step=\([0-9.]*\).*/\1/p' "$OUT/cnn_layers.log")" \
    'BEGIN { if (f > 0) printf "%.3f", s * g / f; else printf "?" }')

echo
echo "| row | chainrule | peer | ratio | target | met |"
echo "|---|---|---|---|---|---|"
if [ -n "$TORCH" ]; then
    printf '| epoch, 1 thread, wall (s) | %s | PyTorch %s | **%s** x faster | >= 5 | %s |\n' \
        "$OURS1" "$TORCH" "$(ratio "$TORCH" "$OURS1")" "$(meets "$(ratio "$TORCH" "$OURS1")" ">=" 5)"
    printf '| epoch, 1 thread, CPU (s) | %s | PyTorch %s | **%s** x less | | |\n' \
        "$OURS1_CPU" "$TORCH_CPU" "$(ratio "$TORCH_CPU" "$OURS1_CPU")"
    printf '| peak RSS (MB) | %s | PyTorch %s | %s | <= 150 | %s |\n' "$RSS1" "$TORCH_RSS" \
        "$(ratio "$RSS1" "$TORCH_RSS")" "$(meets "$RSS1" "<=" 150)"
else
    [ "$HAVE_TORCH" = 1 ] && msg="PyTorch failed: $OUT/cnn_torch1.log" ||
        msg="PyTorch not installed: apt-get install python3-torch"
    printf '| epoch, 1 thread, wall (s) | %s | %s | | >= 5 | ? |\n' "$OURS1" "$msg"
    printf '| peak RSS (MB) | %s | | | <= 150 | %s |\n' "$RSS1" "$(meets "$RSS1" "<=" 150)"
fi
printf '| FLOP limit: %s GFLOP/epoch at cr_gemm 1-thread rates (s) | %s (CPU) | limit %s | **%s** of the limit | >= 0.5 | %s |\n' \
    "$GFLOP" "$OURS1_CPU" "$LIMIT_EPOCH" "$(ratio "$LIMIT_EPOCH" "$OURS1_CPU")" \
    "$(meets "$(ratio "$LIMIT_EPOCH" "$OURS1_CPU")" ">=" 0.5)"
printf '| 2 threads vs 1, wall (s) | %s | 1 thread %s | **%s** x | >= 1.6 | %s |\n' "$OURS2" "$OURS1" \
    "$(ratio "$OURS1" "$OURS2")" "$(meets "$(ratio "$OURS1" "$OURS2")" ">=" 1.6)"
echo
echo "load average before: ours 1 thread $L1; ours 2 threads $L2${LT:+; PyTorch $LT}; now $(loadavg)"
echo "(wall-time rows mean little on a loaded machine: 2 threads need a free second core)"
