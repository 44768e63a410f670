#!/bin/sh
# Run each test binary; print one line for this build; append "passed failed" (test
# programs) to BUILD/test-counts for the summary of `make test`; exit non-zero if
# any failed.
build=$1; shift
pass=0; fail=0; failed=""
for t in "$@"; do
    if "$t"; then pass=$((pass+1)); else fail=$((fail+1)); failed="$failed $(basename "$t")"; fi
done
echo "$(basename "$build"): test programs: $pass passed, $fail failed"
echo "$pass $fail" >> "$build/test-counts"
[ "$fail" -eq 0 ] || { echo "failing test programs:$failed" >&2; exit 1; }
