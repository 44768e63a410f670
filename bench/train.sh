#!/bin/sh
# The training rows of `make bench`: Fashion-MNIST epoch time against PyTorch and
# against a hand-written C program on OpenBLAS (the practical limit), 1 and 2
# threads; test accuracy after ACC_EPOCHS epochs against PyTorch; scalar-graph
# cost per node against PyTorch; peak RSS. Every row is the ratio of two figures
# measured in this run, each a median over epochs (or runs) of one process.
#
#   sh bench/train.sh [BUILD_DIR]     (default build/float; run from the top directory
#                                      after make bench has built BUILD_DIR/bench/*)
#
# Environment: FASHION_DIR (default /usr/share/datasets/fashion-mnist), ACC_EPOCHS
# (1-thread runs, which also give the accuracy rows; default 10), EPOCHS (2-thread
# runs; default 5), PYTHON (default /usr/bin/python3), SCALAR_STEPS (default 1000000),
# PEER_TIMEOUT (seconds per peer process, default 240), TORCH_WAIT_POLICY (OpenMP
# wait policy of the 2-thread PyTorch runs, default PASSIVE; ACTIVE is its default).
# Missing peers (python3-torch, libopenblas-dev) or data turn their rows into a
# note saying how to install them; this script fails only if chainrule fails.
# OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE are unset only in the peers' commands.
# Full outputs (BLAS in use, per-epoch times and phases) are in BUILD_DIR/bench/.
set -u
B=${1:-build/float}
FASHION_DIR=${FASHION_DIR:-/usr/share/datasets/fashion-mnist}
ACC_EPOCHS=${ACC_EPOCHS:-10}
EPOCHS=${EPOCHS:-5}
PYTHON=${PYTHON:-/usr/bin/python3}
SCALAR_STEPS=${SCALAR_STEPS:-1000000}
OUT=$B/bench
mkdir -p "$OUT"
rm -f "$OUT"/train_*.log "$OUT"/scalar_*.log
PEER_ENV="env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE"

die() { echo "bench/train.sh: $*" >&2; exit 1; }

# ---------------------------------------------------------------- programs
# make bench builds bench/*.c into $B/bench/ (openblas_mlp with OpenBLAS when present).
for p in train_bench scalar_nodes openblas_mlp; do
    [ -x "$OUT/$p" ] || die "$OUT/$p is missing: run make bench (or make $OUT/$p)"
done
HAVE_OPENBLAS=1
if "$OUT/openblas_mlp" --help 2>/dev/null | grep -q 'not installed'; then HAVE_OPENBLAS=0; fi
HAVE_TORCH=0
if "$PYTHON" -c 'import torch, numpy' 2>/dev/null; then HAVE_TORCH=1; fi
HAVE_DATA=0
if [ -f "$FASHION_DIR/train-images-idx3-ubyte.gz" ] || [ -f "$FASHION_DIR/train-images-idx3-ubyte" ]; then
    HAVE_DATA=1
fi
# A peer that runs longer than this is stopped and its row says so (an
# oversubscribed machine can make OpenMP + OpenBLAS spin for minutes).
PEER_TIMEOUT=${PEER_TIMEOUT:-240}
TORCH2_NOTE="(OMP_WAIT_POLICY=${TORCH_WAIT_POLICY:-PASSIVE})"
if command -v timeout >/dev/null 2>&1; then PEER_ENV="timeout $PEER_TIMEOUT $PEER_ENV"; fi
NO_TORCH="PyTorch not installed: apt-get install python3-torch libopenblas-dev"
NO_OPENBLAS="OpenBLAS not installed: apt-get install libopenblas-dev"
NO_DATA="Fashion-MNIST not in $FASHION_DIR: apt-get install dataset-fashion-mnist"

# ---------------------------------------------------------------- runs
# run NAME CMD...: output to $OUT/NAME.log; sets R_epoch R_cpu R_rss R_acc (or R_ns),
# empty when the program failed.
run() {
    name=$1
    shift
    R_epoch= R_cpu= R_rss= R_acc= R_ns=
    if "$@" >"$OUT/$name.log" 2>&1; then
        line=$(sed -n 's/^RESULT //p' "$OUT/$name.log" | tail -n 1)
        for kv in $line; do
            case $kv in
                epoch_s=*) R_epoch=${kv#*=} ;;
                cpu_s=*) R_cpu=${kv#*=} ;;
                rss_mb=*) R_rss=${kv#*=} ;;
                test_acc=*) R_acc=${kv#*=} ;;
                ns_per_node=*) R_ns=${kv#*=} ;;
            esac
        done
    else
        echo "bench/train.sh: $name failed; the end of $OUT/$name.log:" >&2
        tail -n 5 "$OUT/$name.log" >&2
    fi
}

# ratio A B: A / B with two decimals
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else printf "?" }'; }
# meets X OP Y -> "yes" / "no"
meets() { awk -v x="$1" -v y="$3" -v op="$2" 'BEGIN {
    ok = (op == ">=") ? x >= y : (op == "<=") ? x <= y : 0; print ok ? "yes" : "no" }'; }
# missing HAVE MESSAGE LOG: why a peer figure is absent
missing() { if [ "$1" = 1 ]; then echo "peer failed or timed out: $OUT/$3.log"; else echo "$2"; fi; }
row() { printf '| %s | %s | %s | %s | %s | %s |\n' "$1" "$2" "$3" "$4" "$5" "$6"; }

echo "training benchmarks ($(date -u '+%Y-%m-%d %H:%M UTC'), load average at start:" \
     "$(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null))"
[ "$HAVE_DATA" = 1 ] || echo "note: $NO_DATA (the epoch rows are skipped)"

# Configurations: name, model and optimizer options (identical for all three programs).
CFG_A="--hidden 128 --optim sgd --lr 0.1 --batch 64"
CFG_B="--hidden 256,128 --optim adam --lr 0.001 --batch 64"

# Results per config/threads/program: stored in variables like A1_ours_epoch.
for cfg in A B; do
    [ "$HAVE_DATA" = 1 ] || break
    if [ $cfg = A ]; then opts=$CFG_A; else opts=$CFG_B; fi
    for th in 1 2; do
        if [ $th = 1 ]; then ep="--epochs $ACC_EPOCHS --test"; else ep="--epochs $EPOCHS"; fi
        echo "  running $cfg ($opts), $th thread(s) ..." >&2
        run "train_${cfg}${th}_ours" "$OUT/train_bench" --data "$FASHION_DIR" $opts $ep --threads $th
        eval "${cfg}${th}_ours_epoch=\$R_epoch ${cfg}${th}_ours_cpu=\$R_cpu ${cfg}${th}_ours_rss=\$R_rss ${cfg}${th}_ours_acc=\$R_acc"
        [ -n "$R_epoch" ] || die "chainrule's training run failed"
        if [ "$HAVE_TORCH" = 1 ]; then
            # Two threads: PyTorch's OpenMP workers and OpenBLAS's threads both
            # spin between calls by default, 3 busy threads on 2 cores: epochs of
            # 10-20 s instead of 0.4 s here. PASSIVE waiting is PyTorch's best.
            wait=
            [ $th = 1 ] || wait=OMP_WAIT_POLICY=${TORCH_WAIT_POLICY:-PASSIVE}
            run "train_${cfg}${th}_torch" $PEER_ENV OPENBLAS_NUM_THREADS=$th OMP_NUM_THREADS=$th $wait \
                "$PYTHON" bench/torch_train.py --data "$FASHION_DIR" $opts $ep --threads $th
            eval "${cfg}${th}_torch_epoch=\$R_epoch ${cfg}${th}_torch_cpu=\$R_cpu ${cfg}${th}_torch_rss=\$R_rss ${cfg}${th}_torch_acc=\$R_acc"
        fi
        if [ "$HAVE_OPENBLAS" = 1 ]; then
            run "train_${cfg}${th}_openblas" $PEER_ENV OPENBLAS_NUM_THREADS=$th \
                "$OUT/openblas_mlp" --data "$FASHION_DIR" $opts $ep --threads $th
            eval "${cfg}${th}_ob_epoch=\$R_epoch ${cfg}${th}_ob_cpu=\$R_cpu ${cfg}${th}_ob_acc=\$R_acc"
        fi
    done
done

echo "  running the scalar graph ..." >&2
run scalar_ours "$OUT/scalar_nodes" "$SCALAR_STEPS"
ours_ns=$(sed -n 's/.*: \([0-9.]*\) ns\/node median.*/\1/p' "$OUT/scalar_ours.log")
torch_ns=
if [ "$HAVE_TORCH" = 1 ]; then
    run scalar_torch $PEER_ENV OPENBLAS_NUM_THREADS=1 "$PYTHON" bench/torch_scalar.py
    torch_ns=$R_ns
fi

# ---------------------------------------------------------------- table
get() { eval "printf '%s' \"\${$1:-}\""; }
echo
echo "| training (Fashion-MNIST, batch 64; epoch = 60000 samples; medians) | chainrule | peer | ratio | target | met |"
echo "|---|---|---|---|---|---|"
for cfg in A B; do
    [ "$HAVE_DATA" = 1 ] || { row "epoch rows" "-" "-" "-" "-" "$NO_DATA"; break; }
    if [ $cfg = A ]; then what="784-128-10 SGD"; else what="784-256-128-10 Adam"; fi
    for th in 1 2; do
        ours=$(get ${cfg}${th}_ours_epoch) ocpu=$(get ${cfg}${th}_ours_cpu)
        # One thread: judged on CPU time (the wall time of an idle machine; other
        # processes on a busy one disturb it much less). Two threads: wall time.
        if [ $th = 1 ]; then basis=CPU oj=$ocpu; else basis=wall oj=$ours; fi
        us="${ours} s wall, ${ocpu} s CPU"
        t=$(get ${cfg}${th}_torch_epoch) tcpu=$(get ${cfg}${th}_torch_cpu)
        if [ -n "$t" ]; then
            if [ $th = 1 ]; then tj=$tcpu; else tj=$t; fi
            r=$(ratio "$tj" "$oj")
            tgt="-" met="-"
            if [ $cfg = A ] && [ $th = 1 ]; then tgt="≥ 1.35× faster"; met=$(meets "$r" ">=" 1.35); fi
            lbl="$what epoch, $th thr: vs PyTorch"
            [ $th = 1 ] || lbl="$lbl $TORCH2_NOTE"
            row "$lbl" "$us" "${t} s wall, ${tcpu} s CPU" "**${r}× faster** ($basis)" "$tgt" "$met"
        else
            row "$what epoch, $th thr: vs PyTorch" "$us" "-" "-" "-" \
                "$(missing "$HAVE_TORCH" "$NO_TORCH" "train_${cfg}${th}_torch")"
        fi
        ob=$(get ${cfg}${th}_ob_epoch) obcpu=$(get ${cfg}${th}_ob_cpu)
        if [ -n "$ob" ]; then
            if [ $th = 1 ]; then bj=$obcpu; else bj=$ob; fi
            r=$(ratio "$oj" "$bj")
            tgt="-" met="-"
            if [ $cfg = A ] && [ $th = 1 ]; then tgt="≤ 1.0× its time"; met=$(meets "$r" "<=" 1.0); fi
            row "$what epoch, $th thr: vs C+OpenBLAS" "$us" "${ob} s wall, ${obcpu} s CPU" \
                "**${r}× its time** ($basis)" "$tgt" "$met"
        else
            row "$what epoch, $th thr: vs C+OpenBLAS" "$us" "-" "-" "-" \
                "$(missing "$HAVE_OPENBLAS" "$NO_OPENBLAS" "train_${cfg}${th}_openblas")"
        fi
    done
    # 1 thread: its CPU time, as above (its wall time on a busy machine would make
    # the second thread look better than it is).
    o1=$(get ${cfg}1_ours_cpu) o2=$(get ${cfg}2_ours_epoch)
    r=$(ratio "$o1" "$o2")
    tgt="-" met="-"
    if [ $cfg = A ]; then tgt="≥ 1.6×"; met=$(meets "$r" ">=" 1.6); fi
    row "$what epoch: our 2 threads vs our 1" "${o2} s wall" "${o1} s CPU (1 thread)" \
        "**${r}× faster**" "$tgt" "$met"
    oa=$(get ${cfg}1_ours_acc) ta=$(get ${cfg}1_torch_acc) ba=$(get ${cfg}1_ob_acc)
    if [ -n "$ta" ]; then
        d=$(awk -v a="$oa" -v b="$ta" 'BEGIN { printf "%+.2f", a - b }')
        row "$what test accuracy after $ACC_EPOCHS epochs" "${oa}%" "PyTorch ${ta}%${ba:+ (C+OpenBLAS ${ba}%)}" \
            "**${d} points**" "within ±1" "$(awk -v d="$d" 'BEGIN { print (d <= 1 && d >= -1) ? "yes" : "no" }')"
    else
        row "$what test accuracy after $ACC_EPOCHS epochs" "${oa}%" "-" "-" "-" \
            "$(missing "$HAVE_TORCH" "$NO_TORCH" "train_${cfg}1_torch")"
    fi
done
if [ -n "$torch_ns" ] && [ -n "$ours_ns" ]; then
    r=$(ratio "$torch_ns" "$ours_ns")
    row "scalar graph y = tanh(y*w + b), ns per node (fwd+bwd)" "${ours_ns} ns" "PyTorch ${torch_ns} ns" \
        "**${r}× faster**" "≤ 30 ns, ≥ 150×" \
        "$(awk -v o="$ours_ns" -v r="$r" 'BEGIN { print (o <= 30 && r >= 150) ? "yes" : "no" }')"
else
    row "scalar graph, ns per node" "${ours_ns:-?} ns" "-" "-" "≤ 30 ns" \
        "$(missing "$HAVE_TORCH" "$NO_TORCH" scalar_torch)"
fi
rss=$(get A1_ours_rss) trss=$(get A1_torch_rss)
if [ -n "$rss" ]; then
    if [ -n "$trss" ]; then tr="PyTorch ${trss} MB" r="$(ratio "$trss" "$rss")× smaller"; else tr=- r=-; fi
    row "peak RSS of the 784-128-10 training run" "${rss} MB" "$tr" "$r" "≤ 100 MB" "$(meets "$rss" "<=" 100)"
fi
echo
echo "peers used (from $OUT/*.log):"
for f in "$OUT/train_A1_torch.log" "$OUT/train_A2_torch.log"; do
    [ -f "$f" ] && sed -n 's/^\(pytorch .*\)/  \1/p; s/^BLAS: \(.*\)/    BLAS: \1/p' "$f"
done
for f in "$OUT/train_A1_openblas.log" "$OUT/train_A2_openblas.log"; do
    [ -f "$f" ] && sed -n 's/^\(openblas-mlp .*\)/  \1/p' "$f"
done
[ -f "$OUT/train_A1_ours.log" ] && sed -n 's/^\(chainrule .*\)/  \1/p' "$OUT/train_A1_ours.log" \
    "$OUT/train_A2_ours.log" 2>/dev/null
echo "  (1-thread figures in ratios: CPU-time medians; 2-thread figures: wall-clock medians;"
echo "   load average at the end: $(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null))"
exit 0
