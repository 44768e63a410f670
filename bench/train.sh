#!/bin/sh
# The training rows of `make bench`: Fashion-MNIST epoch time against PyTorch and
# against a hand-written C program on OpenBLAS (the practical limit), 1 and 2
# threads (with 2-thread / 1-thread for us and for that program side by side, and a
# batch-256 configuration where two threads have room to pay off); test accuracy after ACC_EPOCHS epochs against PyTorch; scalar-graph
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
# Peers at their best: bench/openblas_core.sh picks the fastest OpenBLAS core this
# CPU runs correctly (or takes CR_BENCH_OPENBLAS_CORE, as bench/run.sh passes it);
# OPENBLAS_CORETYPE is set to it and OPENBLAS_L2_SIZE unset only in the peers'
# commands, and the core each peer really ran is printed at the end.
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
echo "training benchmarks ($(date -u '+%Y-%m-%d %H:%M UTC'), load average at start:" \
     "$(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null))"
. bench/openblas_core.sh
openblas_pick_core "$B"
# A peer that runs longer than this is stopped and its row says so (an
# oversubscribed machine can make OpenMP + OpenBLAS spin for minutes).
PEER_TIMEOUT=${PEER_TIMEOUT:-240}
TORCH2_NOTE="(OMP_WAIT_POLICY=${TORCH_WAIT_POLICY:-PASSIVE})"
PEER=$PEER_ENV
if command -v timeout >/dev/null 2>&1; then PEER="timeout $PEER_TIMEOUT $PEER_ENV"; fi
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

[ "$HAVE_DATA" = 1 ] || echo "note: $NO_DATA (the epoch rows are skipped)"

# Configurations: name, model and optimizer options (identical for all three programs).
CFG_A="--hidden 128 --optim sgd --lr 0.1 --batch 64"
CFG_B="--hidden 256,128 --optim adam --lr 0.001 --batch 64"
# C: A at batch 256, for two threads (no PyTorch, no accuracy; EPOCHS epochs each).
CFG_C="--hidden 128 --optim sgd --lr 0.1 --batch 256"
loadavg() { cut -d' ' -f1 /proc/loadavg 2>/dev/null; }

# Results per config/threads/program: stored in variables like A1_ours_epoch.
for cfg in A B C; do
    [ "$HAVE_DATA" = 1 ] || break
    eval "opts=\$CFG_$cfg"
    for th in 1 2; do
        if [ $th = 1 ] && [ $cfg != C ]; then ep="--epochs $ACC_EPOCHS --test"; else ep="--epochs $EPOCHS"; fi
        echo "  running $cfg ($opts), $th thread(s) ..." >&2
        eval "${cfg}${th}_load=\$(loadavg)"
        run "train_${cfg}${th}_ours" "$OUT/train_bench" --data "$FASHION_DIR" $opts $ep --threads $th
        eval "${cfg}${th}_ours_epoch=\$R_epoch ${cfg}${th}_ours_cpu=\$R_cpu ${cfg}${th}_ours_rss=\$R_rss ${cfg}${th}_ours_acc=\$R_acc"
        [ -n "$R_epoch" ] || die "chainrule's training run failed"
        if [ "$HAVE_TORCH" = 1 ] && [ $cfg != C ]; then
            # Two threads: PyTorch's OpenMP workers and OpenBLAS's threads both
            # spin between calls by default, 3 busy threads on 2 cores: epochs of
            # 10-20 s instead of 0.4 s here. PASSIVE waiting is PyTorch's best.
            wait=
            [ $th = 1 ] || wait=OMP_WAIT_POLICY=${TORCH_WAIT_POLICY:-PASSIVE}
            run "train_${cfg}${th}_torch" $PEER OPENBLAS_NUM_THREADS=$th OMP_NUM_THREADS=$th $wait \
                "$PYTHON" bench/torch_train.py --data "$FASHION_DIR" $opts $ep --threads $th
            eval "${cfg}${th}_torch_epoch=\$R_epoch ${cfg}${th}_torch_cpu=\$R_cpu ${cfg}${th}_torch_rss=\$R_rss ${cfg}${th}_torch_acc=\$R_acc"
        fi
        if [ "$HAVE_OPENBLAS" = 1 ]; then
            run "train_${cfg}${th}_openblas" $PEER OPENBLAS_NUM_THREADS=$th \
                "$OUT/openblas_mlp" --data "$FASHION_DIR" $opts $ep --threads $th
            eval "${cfg}${th}_ob_epoch=\$R_epoch ${cfg}${th}_ob_cpu=\$R_cpu ${cfg}${th}_ob_acc=\$R_acc"
        fi
    done
done

echo "  running the scalar graph ..." >&2
run scalar_ours "$OUT/scalar_nodes" "$SCALAR_STEPS"
ours_ns=$R_ns
torch_ns=
if [ "$HAVE_TORCH" = 1 ]; then
    run scalar_torch $PEER OPENBLAS_NUM_THREADS=1 "$PYTHON" bench/torch_scalar.py
    torch_ns=$R_ns
fi

# ---------------------------------------------------------------- table
get() { eval "printf '%s' \"\${$1:-}\""; }
echo
echo "| training (Fashion-MNIST, batch 64 unless said; epoch = 60000 samples; medians) | chainrule | peer | ratio | target | met |"
echo "|---|---|---|---|---|---|"
for cfg in A B C; do
    [ "$HAVE_DATA" = 1 ] || { row "epoch rows" "-" "-" "-" "-" "$NO_DATA"; break; }
    case $cfg in
        A) what="784-128-10 SGD" ;; B) what="784-256-128-10 Adam" ;; C) what="784-128-10 SGD batch 256" ;;
    esac
    for th in 1 2; do
        ours=$(get ${cfg}${th}_ours_epoch) ocpu=$(get ${cfg}${th}_ours_cpu)
        # One thread: judged on CPU time (the wall time of an idle machine; other
        # processes on a busy one disturb it much less). Two threads: wall time.
        if [ $th = 1 ]; then basis=CPU oj=$ocpu; else basis=wall oj=$ours; fi
        us="${ours} s wall, ${ocpu} s CPU"
        t=$(get ${cfg}${th}_torch_epoch) tcpu=$(get ${cfg}${th}_torch_cpu)
        if [ $cfg = C ]; then
            :   # no PyTorch run at batch 256
        elif [ -n "$t" ]; then
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
    # Two threads / one, for us and for the C program in the same run: 1 thread
    # on its CPU time, as above (its wall time on a busy machine would make the
    # second thread look better than it is), 2 threads on wall time. The C program
    # has no overhead of its own: where it gains nothing, the machine has no
    # second core to give (load average printed), and the row says so.
    o1=$(get ${cfg}1_ours_cpu) o2=$(get ${cfg}2_ours_epoch)
    r=$(ratio "$o1" "$o2")
    b1=$(get ${cfg}1_ob_cpu) b2=$(get ${cfg}2_ob_epoch)
    if [ -n "$b1" ] && [ -n "$b2" ]; then
        rb=$(ratio "$b1" "$b2")
        peer="C+OpenBLAS **${rb}×** (${b2} s wall vs ${b1} s CPU)"
    else
        rb= peer="C+OpenBLAS -"
    fi
    tgt="-" met="-"
    case $cfg in A | C) tgt="≥ 1.6×" met=$(meets "$r" ">=" 1.6) ;; esac
    if [ -n "$rb" ] && [ "$(meets "$rb" ">=" 1.1)" = no ]; then
        note="even C+OpenBLAS gains nothing (${rb}×): no free second core at this load"
        if [ "$met" = - ]; then met=$note; else met="$met; $note"; fi
    fi
    row "$what epoch: 2 threads / 1 thread (load average ${cfg}: $(get ${cfg}1_load), $(get ${cfg}2_load))" \
        "**${r}×** (${o2} s wall vs ${o1} s CPU)" "$peer" "-" "$tgt" "$met"
    [ $cfg != C ] || continue
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
    row "scalar graph y = tanh(y*w + b), ns per node (fwd+bwd, CPU time)" "${ours_ns} ns" "PyTorch ${torch_ns} ns" \
        "**${r}× faster**" "≤ 30 ns, ≥ 200×" \
        "$(awk -v o="$ours_ns" -v r="$r" 'BEGIN { print (o <= 30 && r >= 200) ? "yes" : "no" }')"
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
echo "peers used (from $OUT/*.log), OpenBLAS core chosen: ${OB_CORE:-none}:"
# core CORE LOG: CORE, with a warning when it is not the chosen one.
core() {
    if [ -z "$1" ]; then echo "?"
    elif [ -n "$OB_CORE" ] && [ "$1" != "$OB_CORE" ]; then echo "$1 (NOT the chosen $OB_CORE: see $2)"
    else echo "$1"; fi
}
for f in "$OUT"/train_*_torch.log "$OUT"/scalar_torch.log; do
    [ -f "$f" ] || continue
    c=$(sed -n 's/.*OpenBLAS [^ ]* (core \([A-Za-z0-9]*\)).*/\1/p' "$f" | head -n 1)
    echo "  PyTorch $(basename "$f" .log): OpenBLAS core $(core "$c" "$f")"
done
for f in "$OUT"/train_*_openblas.log; do
    [ -f "$f" ] || continue
    c=$(sed -n 's/^openblas-mlp .*, core \([A-Za-z0-9]*\),.*/\1/p' "$f" | head -n 1)
    echo "  C+OpenBLAS $(basename "$f" .log): OpenBLAS core $(core "$c" "$f")"
done
for f in "$OUT/train_A1_torch.log"; do
    [ -f "$f" ] && sed -n 's/^\(pytorch .*\)/  \1/p; s/^BLAS: \(.*\)/    BLAS: \1/p' "$f"
done
for f in "$OUT/train_A1_openblas.log"; do
    [ -f "$f" ] && sed -n 's/^\(openblas-mlp .*\)/  \1/p' "$f"
done
[ -f "$OUT/train_A1_ours.log" ] && sed -n 's/^\(chainrule .*\)/  \1/p' "$OUT/train_A1_ours.log" \
    "$OUT/train_A2_ours.log" 2>/dev/null
echo "  (1-thread figures in ratios: CPU-time medians; 2-thread figures: wall-clock medians;"
echo "   load average at the end: $(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null))"
exit 0
