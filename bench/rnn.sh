#!/bin/sh
# The recurrent rows of `make bench` (bench/rnn_step.c, bench/torch_rnn.py): a
# character-model training step on synthetic tokens (embedding 96x64 -> 1-layer
# LSTM or GRU, hidden 256 -> linear -> cross-entropy; B 32 x T 64; Adam), per
# kind: chainrule recorded once and replayed, chainrule re-recorded every chunk
# (what replay saves), chainrule replayed on 2 threads (wall, against 1 thread),
# and PyTorch on 1 thread. 1-thread figures are characters per CPU second of the
# process (a busy machine inflates wall time); the thread row is wall time.
#
#   sh bench/rnn.sh [BUILD_DIR]        (default build/float; after make bench)
# Environment: RNN_CHUNKS (timed chunks per run, default 20), PYTHON.
set -u
B=${1:-build/float}
CHUNKS=${RNN_CHUNKS:-20}
PYTHON=${PYTHON:-/usr/bin/python3}
OUT=$B/bench
[ -x "$OUT/rnn_step" ] || { echo "bench/rnn.sh: $OUT/rnn_step is missing: run make bench" >&2; exit 1; }
HAVE_TORCH=0
if "$PYTHON" -c 'import torch' 2>/dev/null; then HAVE_TORCH=1; fi
echo "recurrent step, synthetic tokens, $CHUNKS chunks of 32x64 characters (load average" \
     "$(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null))"

# value of key $2 in the RESULT line of log $1
get() { sed -n "s/^RESULT.* $2=\([^ ]*\).*/\1/p" "$1" | tail -n 1; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "?" }'; }

status=0
for kind in lstm gru; do
    for run in "replay 1" "record 1" "replay 2"; do
        set -- $run
        log=$OUT/rnn_${kind}_$1_$2.log
        OPENBLAS_NUM_THREADS=1 "$OUT/rnn_step" "$kind" "$1" "$2" "$CHUNKS" > "$log" 2>&1 ||
            { echo "rnn_step $kind $run FAILED:"; cat "$log"; status=1; continue; }
    done
    rep=$(get "$OUT/rnn_${kind}_replay_1.log" cpu_chars_per_s)
    rec=$(get "$OUT/rnn_${kind}_record_1.log" cpu_chars_per_s)
    w1=$(get "$OUT/rnn_${kind}_replay_1.log" chars_per_s)
    w2=$(get "$OUT/rnn_${kind}_replay_2.log" chars_per_s)
    echo "$kind: replay ${rep:-?} chars per CPU s, re-record ${rec:-?} (replay/re-record" \
         "$(ratio "${rep:-0}" "${rec:-0}")x); 2 threads ${w2:-?} vs 1 thread ${w1:-?} chars/s" \
         "wall ($(ratio "${w2:-0}" "${w1:-0}")x)"
    if [ "$HAVE_TORCH" = 1 ]; then
        tlog=$OUT/rnn_${kind}_torch.log
        if OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 "$PYTHON" bench/torch_rnn.py "$kind" 1 "$CHUNKS" \
            > "$tlog" 2>&1; then
            tc=$(get "$tlog" cpu_chars_per_s)
            echo "$kind: PyTorch ${tc:-?} chars per CPU s, 1 thread; chainrule replay /" \
                 "PyTorch $(ratio "${rep:-0}" "${tc:-0}")x"
        else
            echo "$kind: PyTorch run failed (see $tlog)"
        fi
    else
        echo "$kind: PyTorch not installed: apt-get install python3-torch"
    fi
done
exit $status
