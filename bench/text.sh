#!/bin/sh
# Character language model rows (issue 15): train_text against PyTorch, same model
# (embedding 64 -> one LSTM or GRU layer of 256 -> dense to the vocabulary), same
# data layout (32 streams x 64 steps, the last 10% held out), Adam 2e-3, one thread,
# the same number of steps (STEPS, default 100) on the fortunes corpus; prints
# training characters per second and the validation cross-entropy after those
# steps for each, and our peak RSS (/usr/bin/time). For the LSTM also: ours on 2
# threads (wall-clock speed-up over 1 thread) and ours re-recording every chunk
# instead of replaying one tape (what replay saves). The corpus is built by tools/get-text.sh (installs fortunes when
# missing, else says how and skips these rows).
#   sh bench/text.sh BUILD_DIR
b=${1:?usage: sh bench/text.sh BUILD_DIR}
STEPS=${STEPS:-100}
PYTHON=${PYTHON:-/usr/bin/python3}
corpus=build/data/fortunes.txt
sh tools/get-text.sh fortunes "$corpus" >/dev/null || { echo "text rows skipped: no corpus"; exit 0; }
tt="$b/examples/train_text"
[ -x "$tt" ] || { echo "text rows skipped: $tt not built (make examples)"; exit 0; }
have_torch=1
"$PYTHON" -c 'import torch' 2>/dev/null || { have_torch=0; echo "PyTorch missing: apt-get install python3-torch (its rows are skipped)"; }
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
echo "load average $(cut -d' ' -f1-3 /proc/loadavg), $STEPS steps of 32 x 64 characters"
printf '%-6s %-10s %14s %12s\n' cell who chars/s val_CE
for cell in lstm gru; do
    opts="--cell $cell --embed 64 --hidden 256 --batch 32 --steps 64 --lr 0.002 --seed 1"
    rss=
    if [ -x /usr/bin/time ]; then rss="/usr/bin/time -f %M -o $tmp/rss"; fi
    $rss "$tt" --text "$corpus" $opts --threads 1 --max-steps "$STEPS" --epochs 1 --no-progress \
        --out "$tmp/m.crm" > "$tmp/ours.txt" || { cat "$tmp/ours.txt"; exit 1; }
    ours_cs=$(sed -n 's/.*steps, \([0-9]*\) chars\/s/\1/p' "$tmp/ours.txt")
    ours_ce=$("$tt" --eval "$tmp/m.crm" --text "$corpus" --batch 32 --steps 64 |
              sed -n 's/.*loss \([0-9.]*\) nats.*/\1/p')
    printf '%-6s %-10s %14s %12s\n' "$cell" chainrule "$ours_cs" "$ours_ce"
    [ -n "$rss" ] && printf '%-6s chainrule  peak RSS %s MB\n' "$cell" \
        "$(awk '{printf "%.0f", $1 / 1024}' "$tmp/rss")"
    if [ $cell = lstm ]; then
        for extra in "--threads 2" "--threads 1 --rerecord"; do
            "$tt" --text "$corpus" $opts $extra --max-steps "$STEPS" --epochs 1 --no-progress \
                > "$tmp/x.txt" || { cat "$tmp/x.txt"; exit 1; }
            x=$(sed -n 's/.*steps, \([0-9]*\) chars\/s/\1/p' "$tmp/x.txt")
            awk -v a="$x" -v b="$ours_cs" -v e="$extra" 'BEGIN {
                printf "lstm   chainrule %-22s %8s chars/s  (%.2fx our 1-thread replay)\n", e, a, a / b }'
        done
    fi
    if [ $have_torch = 1 ]; then
        OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 "$PYTHON" bench/torch_text.py --text "$corpus" \
            $opts --threads 1 --max-steps "$STEPS" > "$tmp/torch.txt" || { cat "$tmp/torch.txt"; exit 1; }
        t_cs=$(sed -n 's/^RESULT chars_per_s=\([0-9]*\).*/\1/p' "$tmp/torch.txt")
        t_ce=$(sed -n 's/^RESULT.*val_loss=\([0-9.]*\).*/\1/p' "$tmp/torch.txt")
        printf '%-6s %-10s %14s %12s\n' "$cell" "pytorch" "$t_cs" "$t_ce"
        awk -v a="$ours_cs" -v b="$t_cs" -v c="$ours_ce" -v d="$t_ce" 'BEGIN {
            printf "%-6s ratio      %13.2fx %11.2f%%  (throughput ours/torch; CE ours vs torch)\n",
                   "", a / b, 100 * (c - d) / d }' /dev/null
    fi
done
