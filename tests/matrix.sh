#!/bin/sh
# The machine matrix: the tests whose paths depend on the CPU (GEMM blocking and
# kernels, threads, no allocation per training step) run under every combination of
#   CR_CPU_CACHES   32K,256K,8M  48K,1M,32M  48K,2M,260M  32K,512K,none
#   CR_GEMM_KERNEL  every kernel this CPU runs (cr_cpu_info's gemm_supported)
#   CR_NUM_THREADS  1 2 3
# so that a verdict cannot depend on the machine that runs `make test`. Each program
# runs only its relevant tests (tests/helpers.h, cr_test_run): test_gemm in full once
# per caches x kernel (its thread checks use pools of 1, 2 and 3 threads), its
# CR_NUM_THREADS-sized steady-state test for each thread count; test_steady_state,
# test_threads and test_pool in full everywhere.
#
#   tests/matrix.sh BUILD_DIR      prints one line per cache setting, the output of a
#                                  failing run, and "matrix: N passed, M failed";
#                                  appends "N M" to BUILD_DIR/test-counts.
build=$1
bin=$build/tests
caches="32K,256K,8M 48K,1M,32M 48K,2M,260M 32K,512K,none"
kernels=$("$bin/test_config" --supported) || { echo "matrix: cannot list the kernels" >&2; exit 1; }
out=$(mktemp)
trap 'rm -f "$out"' EXIT
pass=0
fail=0

# one NAME ENV... -- PROGRAM [FILTER]: run, count, show the output when it fails
one() {
    env_set=""
    while [ "$1" != "--" ]; do env_set="$env_set $1"; shift; done
    shift
    if env $env_set "$@" >"$out" 2>&1; then
        pass=$((pass + 1))
    else
        fail=$((fail + 1))
        echo "matrix: FAILED:$env_set $*"
        cat "$out"
    fi
}

for c in $caches; do
    start=$(date +%s)
    before=$fail
    for k in $(echo "$kernels" | tr , ' '); do
        set_ck="CR_CPU_CACHES=$c CR_GEMM_KERNEL=$k"
        one $set_ck CR_NUM_THREADS=1 -- "$bin/test_gemm"
        for n in 1 2 3; do
            [ "$n" -gt 1 ] && one $set_ck CR_NUM_THREADS=$n -- "$bin/test_gemm" steady_state
            one $set_ck CR_NUM_THREADS=$n -- "$bin/test_steady_state"
            one $set_ck CR_NUM_THREADS=$n -- "$bin/test_threads"
            one $set_ck CR_NUM_THREADS=$n -- "$bin/test_pool"
        done
    done
    echo "matrix: caches $c, kernels $kernels, threads 1-3: $([ "$fail" -eq "$before" ] && echo ok || echo "$((fail - before)) FAILED") ($(( $(date +%s) - start )) s)"
done
echo "matrix: $pass passed, $fail failed"
echo "$pass $fail" >>"$build/test-counts"
[ "$fail" -eq 0 ]
