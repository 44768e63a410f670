#!/bin/sh
# Regenerate the seed corpora in fuzz/corpus/ (idx, csv, load) from
# fuzz/make_seeds.c (and graph_load), once per precision: model files record their real size, and
# the loader converts between them, so both kinds are seeds.
# Usage (from the repository root): sh fuzz/make_seeds.sh
set -eu
cd "$(dirname "$0")/.."
mkdir -p fuzz/corpus/idx fuzz/corpus/csv fuzz/corpus/load fuzz/corpus/graph_load build/fuzz-seeds
zflags=""
if echo 'int main(void){return 0;}' | ${CC:-cc} -include zlib.h -x c - -o /dev/null -lz 2>/dev/null; then
    zflags="-DCR_HAVE_ZLIB -lz"
fi
for real in float double; do
    make --no-print-directory -s REAL=$real lib
    def=""; [ $real = double ] && def="-DCR_REAL_DOUBLE"
    ${CC:-cc} -std=c11 -O1 -Iinclude -D_POSIX_C_SOURCE=200809L $def -o build/fuzz-seeds/make_seeds-$real \
        fuzz/make_seeds.c build/$real/libchainrule.a $zflags -lm -lpthread
    build/fuzz-seeds/make_seeds-$real fuzz/corpus
done
ls fuzz/corpus/* | head -100
