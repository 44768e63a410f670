#!/bin/sh
# Line coverage of the code each fuzz harness targets, reached by a corpus:
#   sh fuzz/coverage.sh [CORPUS_ROOT]     (default fuzz/corpus)
# CORPUS_ROOT/<harness>/ holds the inputs (e.g. build/fuzz-float/corpus after
# `make fuzz`). Builds the harnesses with clang's source-based coverage (no
# sanitizers) into build/fuzz-cov/, replays each corpus once and prints llvm-cov's
# report for the files the harness is about.
set -eu
cd "$(dirname "$0")/.."
root=${1:-fuzz/corpus}
out=build/fuzz-cov
flags="-std=c11 -g -O0 -MMD -MP -pthread -fprofile-instr-generate -fcoverage-mapping"
for h in idx csv load train_args; do
    [ -d "$root/$h" ] || continue
    make -s FUZZ_B=$out FUZZ_CFLAGS="$flags" "$out/fuzz_$h" >/dev/null
    case $h in
        idx) files="data/idx.c data/source.c" ;;
        csv) files="data/csv.c data/source.c" ;;
        load) files="optim/load.c optim/meta.c" ;;
        train_args) files="examples/train/options.c" ;;
    esac
    rm -f "$out/$h.profraw"
    LLVM_PROFILE_FILE="$out/$h.profraw" "$out/fuzz_$h" -runs=0 "$root/$h" >/dev/null 2>&1
    llvm-profdata merge -sparse "$out/$h.profraw" -o "$out/$h.profdata"
    echo "== $h: $(ls "$root/$h" | wc -l) inputs"
    llvm-cov report "$out/fuzz_$h" -instr-profile="$out/$h.profdata" $files |
        awk 'NF == 13 && $1 != "Filename" { printf "  %-28s lines %7s   branches %7s\n", $1, $10, $13 }'
done
