#!/bin/sh
# The browser test of cr_tape_html's pages (tests/browser/page_test.js), part of
# `make test`: needs Debian's chromium and Node.js (.ci/run installs both) and
# puppeteer-core, a test-only dependency installed here from package-lock.json
# (npm ci, no browser download) when node_modules is missing. Without chromium,
# node or npm, or when npm ci fails (no network), it says so and counts nothing,
# unless CR_BROWSER_TEST=required (CI), when that is a failure.
#   tests/browser/run.sh BUILD_DIR    appends "1 0" (or "0 1") to BUILD_DIR/test-counts
build=$1
here=$(cd "$(dirname "$0")" && pwd)
out=$build/browser
chromium=${CHROMIUM:-$(command -v chromium || command -v chromium-browser)}

skip() {
    if [ "${CR_BROWSER_TEST:-}" = required ]; then
        echo "browser: FAILED: $* (CR_BROWSER_TEST=required)"
        echo "0 1" >> "$build/test-counts"
        exit 1
    fi
    echo "browser: skipped: $*"
    exit 0
}
[ -n "$chromium" ] || skip "chromium is not installed (apt-get install chromium)"
command -v node >/dev/null 2>&1 || skip "node is not installed (apt-get install nodejs npm)"
if [ ! -d "$here/node_modules/puppeteer-core" ]; then
    command -v npm >/dev/null 2>&1 || skip "npm is not installed (apt-get install npm)"
    echo "browser: installing puppeteer-core (npm ci in tests/browser, no browser download)"
    (cd "$here" && PUPPETEER_SKIP_DOWNLOAD=1 npm ci --no-audit --no-fund >/dev/null 2>&1) ||
        skip "npm ci in tests/browser failed (no network?)"
fi
mkdir -p "$out"
build_abs=$(cd "$build" && pwd)
out_abs=$(cd "$out" && pwd)
log=$out/log.txt
# every lesson's pages once, in the float builds; lessons 1, 2 and 6 in every build
case $(basename "$build") in float*) all=all ;; *) all= ;; esac
if (cd "$here" && CHROMIUM=$chromium node page_test.js "$build_abs" "$out_abs" $all) >"$log" 2>&1; then
    tail -n 1 "$log"
    echo "1 0" >> "$build/test-counts"
else
    cat "$log"
    echo "0 1" >> "$build/test-counts"
    exit 1
fi
