#!/bin/sh
# The last line of `make test`: "N passed, M failed" over every build given (test
# programs and matrix runs, from BUILD/test-counts), alone on its line (CI reads it).
# A build that left no counts (it did not compile) counts as one failure.
#   tests/summary.sh STATUS BUILD...   exits 1 when STATUS != 0 or anything failed
status=$1; shift
pass=0; fail=0
for b in "$@"; do
    if [ -s "$b/test-counts" ]; then
        while read -r p f; do pass=$((pass + p)); fail=$((fail + f)); done < "$b/test-counts"
    else
        echo "$(basename "$b"): did not build or run" >&2
        fail=$((fail + 1))
    fi
done
echo "$pass passed, $fail failed"
[ "$status" -eq 0 ] && [ "$fail" -eq 0 ]
