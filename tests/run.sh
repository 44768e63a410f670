#!/bin/sh
# Run each test binary; print one summary line; exit non-zero if any failed.
build=$1; shift
pass=0; fail=0; failed=""
for t in "$@"; do
    if "$t"; then pass=$((pass+1)); else fail=$((fail+1)); failed="$failed $(basename "$t")"; fi
done
echo "$(basename "$build"): $pass passed, $fail failed"
[ "$fail" -eq 0 ] || { echo "failing test programs:$failed" >&2; exit 1; }
