#!/bin/sh
# Data-parallel rows (issue 17): Fashion-MNIST, the 784-256-128-10 ReLU MLP with
# Adam (lr 1e-3), global batch 256, one thread per process; samples/s of one
# process and of 2 ranks (mpirun -np 2 on loopback), the speedup and scaling
# efficiency (speedup / 2), against PyTorch in one process and DistributedDataParallel
# (gloo, 2 processes x 1 thread) in the same run. Then the scaling model
# (tools/scaling_model.py) fed with this run's measurements: its compute and
# communication terms against the 2-rank figures.
#
#   sh bench/mpi_scaling.sh [BUILD_DIR]   (default build/float; after make MPI=1)
#
# Environment: FASHION_DIR, EPOCHS (default 3; samples/s is the median over the
# epochs), PYTHON (default /usr/bin/python3), MPIRUN_FLAGS (default: MPI's messages over
# loopback TCP, --oversubscribe, --allow-run-as-root as root; the trainer's default
# all-reduce uses a shared-memory window whatever the transport). Figures from a loaded machine
# (the load average is printed before and after) are not evidence of anything.
set -u
B=${1:-build/float}
FASHION_DIR=${FASHION_DIR:-/usr/share/datasets/fashion-mnist}
EPOCHS=${EPOCHS:-3}
PYTHON=${PYTHON:-/usr/bin/python3}
OUT=$B/bench
mkdir -p "$OUT"
die() { echo "bench/mpi_scaling.sh: $*" >&2; exit 1; }

[ -x "$B/examples/train" ] || die "$B/examples/train is missing: run make"
command -v mpirun >/dev/null 2>&1 || { echo "mpirun not installed: apt-get install" \
    "openmpi-bin libopenmpi-dev (then make MPI=1)"; exit 0; }
[ -x "$B/examples/train-mpi" ] || { echo "$B/examples/train-mpi not built: make MPI=1"; exit 0; }
[ -f "$FASHION_DIR/train-images-idx3-ubyte.gz" ] || [ -f "$FASHION_DIR/train-images-idx3-ubyte" ] ||
    { echo "Fashion-MNIST not in $FASHION_DIR: apt-get install dataset-fashion-mnist"; exit 0; }
root=""
[ "$(id -u)" = 0 ] && root="--allow-run-as-root"
MPIRUN_FLAGS=${MPIRUN_FLAGS:-"$root --oversubscribe --mca btl self,tcp --mca btl_tcp_if_include lo --mca oob_tcp_if_include lo --bind-to none"}

echo "data parallel training ($(date -u '+%Y-%m-%d %H:%M UTC'); $(nproc) cores;" \
     "load average at start: $(cut -d' ' -f1-3 /proc/loadavg))"
ARGS="--data $FASHION_DIR --val 0 --hidden 256,128 --optim adam --lr 0.001 --batch 256 \
--epochs $EPOCHS --threads 1 --seed 1 --no-progress"
export OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1

# median of the samples_per_second column (9) of a trainer's CSV log
median_rate() {
    tail -n +2 "$1" | cut -d, -f9 | sort -n | awk '{ v[NR] = $1 } END {
        if (NR == 0) exit 1; print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

"$B/examples/train" $ARGS --out "$OUT/mpi_1.crm" --log "$OUT/mpi_1.csv" > "$OUT/mpi_1.log" 2>&1 ||
    die "the 1-process run failed: $OUT/mpi_1.log"
# 2 ranks as the trainer sums by default on one host (shared memory), then with
# MPI collectives only (--allreduce mpi: what ranks on different hosts do, here over
# TCP loopback; the scaling model's communication term is checked against this one)
# shellcheck disable=SC2086
mpirun $MPIRUN_FLAGS -np 2 "$B/examples/train-mpi" $ARGS --out "$OUT/mpi_2.crm" \
    --log "$OUT/mpi_2.csv" > "$OUT/mpi_2.log" 2>&1 || die "the 2-rank run failed: $OUT/mpi_2.log"
# shellcheck disable=SC2086
mpirun $MPIRUN_FLAGS -np 2 "$B/examples/train-mpi" $ARGS --allreduce mpi --out "$OUT/mpi_2m.crm" \
    --log "$OUT/mpi_2m.csv" > "$OUT/mpi_2m.log" 2>&1 ||
    die "the 2-rank run with --allreduce mpi failed: $OUT/mpi_2m.log"
c1=$(median_rate "$OUT/mpi_1.csv")
c2=$(median_rate "$OUT/mpi_2.csv")
c2m=$(median_rate "$OUT/mpi_2m.csv")
ar_of() { sed -n 's/^all-reduce: .*: \([0-9.]*\) ms per step, \([0-9.]*\)% .*/\1 \2/p' "$1"; }
ar=$(ar_of "$OUT/mpi_2.log")
ar_ms=${ar% *}
ar_pct=${ar#* }
arm=$(ar_of "$OUT/mpi_2m.log")
arm_ms=${arm% *}
arm_pct=${arm#* }
# the same all-reduce alone (no training): a quarter of the buffer, and all of it
iso_q= iso= iso_shm=
if [ -x "$B/tools/mpi_allreduce_time" ]; then
    # shellcheck disable=SC2086
    mpirun $MPIRUN_FLAGS -np 2 "$B/tools/mpi_allreduce_time" --allreduce mpi 58788 235150 \
        > "$OUT/mpi_ar.log" 2>&1
    iso_q=$(sed -n 's/^ALLREDUCE values=58788 .* ms=\([0-9.]*\).*/\1/p' "$OUT/mpi_ar.log")
    iso=$(sed -n 's/^ALLREDUCE values=235150 .* ms=\([0-9.]*\).*/\1/p' "$OUT/mpi_ar.log")
    # shellcheck disable=SC2086
    mpirun $MPIRUN_FLAGS -np 2 "$B/tools/mpi_allreduce_time" 235150 >> "$OUT/mpi_ar.log" 2>&1
    iso_shm=$(sed -n 's/^ALLREDUCE values=235150 .* ms=\([0-9.]*\).*shared memory.*/\1/p' \
        "$OUT/mpi_ar.log")
fi

t1= t2=
if "$PYTHON" -c 'import torch' 2>/dev/null; then
    timeout 600 "$PYTHON" bench/torch_ddp.py --data "$FASHION_DIR" --procs 1 --epochs "$EPOCHS" \
        > "$OUT/ddp_1.log" 2>&1 && t1=$(sed -n 's/^RESULT samples_s=\([0-9.]*\).*/\1/p' "$OUT/ddp_1.log")
    timeout 600 "$PYTHON" bench/torch_ddp.py --data "$FASHION_DIR" --procs 2 --epochs "$EPOCHS" \
        > "$OUT/ddp_2.log" 2>&1 && t2=$(sed -n 's/^RESULT samples_s=\([0-9.]*\).*/\1/p' "$OUT/ddp_2.log")
else
    echo "PyTorch not installed (apt-get install python3-torch): no DDP rows"
fi

row() {   # name one two
    awk -v n="$1" -v a="$2" -v b="$3" 'BEGIN {
        if (a == "" || b == "") { printf "%-34s %10s %10s   (failed: see %s)\n", n, a, b, "logs"; exit }
        printf "%-34s %10.0f %10.0f %8.2fx %9.0f%%\n", n, a, b, b / a, 50 * b / a }'
}
echo
printf "%-34s %10s %10s %9s %10s\n" "samples/s (median of $EPOCHS epochs)" "1 process" "2 ranks" \
    "speedup" "efficiency"
row "chainrule, shared memory (default)" "$c1" "$c2"
row "chainrule, --allreduce mpi (TCP lo)" "$c1" "$c2m"
[ -n "$t1$t2" ] && row "PyTorch $( "$PYTHON" -c 'import torch; print(torch.__version__)') DDP gloo" "$t1" "$t2"
[ -n "$t2" ] && awk -v a="$c2" -v b="$t2" 'BEGIN { printf "2 ranks, chainrule / DDP: %.2fx\n", a / b }'
echo "chainrule all-reduce in training: $ar_ms ms per step ($ar_pct% of the 2-rank time)," \
     "with --allreduce mpi $arm_ms ms ($arm_pct%); alone (median of 50," \
     "tools/mpi_allreduce_time): shared memory ${iso_shm:-?} ms, MPI ${iso:-?} ms" \
     "(a quarter of it: ${iso_q:-?} ms)"
echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
echo
echo "scaling model with this run's measurements (tools/scaling_model.py):"
"$PYTHON" tools/scaling_model.py --validate --batch 256 --rate1 "$c1" --rate2 "$c2m" \
    --allreduce-ms "$arm_ms" --params 235146 ${iso:+--isolated-ms "$iso"} \
    ${iso_q:+--isolated-quarter-ms "$iso_q"}
echo "logs: $OUT/mpi_1.log $OUT/mpi_2.log $OUT/mpi_2m.log $OUT/mpi_ar.log $OUT/ddp_1.log $OUT/ddp_2.log"
