#!/bin/sh
# `make install` into a temporary prefix, used as README.md's "Install" says: its
# own-prefix block run verbatim (HOME is a temporary directory, `make` runs in this
# tree) on the README's program, then the same program as C++ and against the
# double library, the SONAME and symlinks, the exported symbols (the header's API,
# no cr__ name), the installed chainrule-train and its manual page, staging with
# DESTDIR, and `make uninstall` leaving nothing behind.
# Prints "install: N passed, M failed"; exits 1 if any check failed.
# usage: sh tests/install.sh   (MAKE may name the make program; `make test` runs it)
set -u
cd "$(dirname "$0")/.." || exit 1
repo=$PWD
MAKE=${MAKE:-make}
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
pass=0 fail=0

ok() { pass=$((pass + 1)); }
# check DESCRIPTION COMMAND...: one check, passing when COMMAND exits 0. On failure
# it shows the command's output and $tmp/log (which a caller may fill before).
check() {
    d=$1
    shift
    if "$@" >"$tmp/cmd" 2>&1; then
        ok
    else
        fail=$((fail + 1))
        echo "install: FAILED: $d" >&2
        cat "$tmp/cmd" "$tmp/log" 2>/dev/null | tail -n 20 | sed 's/^/    /' >&2
    fi
    : > "$tmp/log"
}
has() { grep -qF -- "$2" "$1"; }   # has FILE TEXT

# pkg-config is what the README builds with: install it as `make test` installs
# cmocka (as root or with password-less sudo), else say how.
if ! command -v pkg-config >/dev/null 2>&1; then
    apt="apt-get install -y pkgconf"
    if [ "$(id -u)" = 0 ]; then
        echo "install: pkg-config missing: running '$apt'"
        DEBIAN_FRONTEND=noninteractive $apt >/dev/null 2>&1 ||
            { apt-get update >/dev/null 2>&1 && DEBIAN_FRONTEND=noninteractive $apt >/dev/null 2>&1; }
    elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
        echo "install: pkg-config missing: running 'sudo $apt'"
        sudo -n sh -c "apt-get update >/dev/null && DEBIAN_FRONTEND=noninteractive $apt >/dev/null"
    fi
fi
for tool in pkg-config g++ nm readelf; do
    command -v $tool >/dev/null 2>&1 && continue
    echo "install: $tool is missing (Debian: apt-get install pkgconf g++ binutils)" >&2
    echo "install: 0 passed, 1 failed"
    exit 1
done

version=$(sed -n 's/^#define CR_VERSION "\(.*\)"$/\1/p' include/chainrule.h)
mmp=$(awk '/^#define CR_VERSION_(MAJOR|MINOR|PATCH) / { v = v s $3; s = "." } END { print v }' \
    include/chainrule.h)
major=${version%%.*}
check "CR_VERSION ($version) is CR_VERSION_MAJOR.MINOR.PATCH ($mmp)" [ "$version" = "$mmp" ]

# The README's program: its first C block.
awk '/^```c$/ { on = 1; next } on && /^```$/ { exit } on' README.md > "$tmp/demo.c"
cp "$tmp/demo.c" "$tmp/demo.cpp"
want='f = 6  df/dx = 5  df/dy = 2'
check "README.md has the program that prints '$want'" has "$tmp/demo.c" 'cr_backward'

# The README's own-prefix block, verbatim, from a directory holding demo.c.
awk '/^```sh$/ { on = 1; b = ""; next }
     on && /^```$/ { on = 0; if (b ~ /install PREFIX=\$HOME\/\.local/) { printf "%s", b; exit } }
     on { b = b $0 "\n" }' README.md > "$tmp/block.sh"
check "README.md has the own-prefix install block" has "$tmp/block.sh" 'PREFIX=$HOME/.local'
mkdir -p "$tmp/home" "$tmp/work"
cp "$tmp/demo.c" "$tmp/demo.cpp" "$tmp/work/"
prefix=$tmp/home/.local
lib=$prefix/lib
(
    cd "$tmp/work" || exit 1
    unset PKG_CONFIG_PATH LD_LIBRARY_PATH
    export HOME="$tmp/home"
    # `make` in the block is this tree's make; every other line runs as written
    make() { command "$MAKE" -C "$repo" --no-print-directory "$@"; }
    set -e
    . "$tmp/block.sh"
) >"$tmp/block.out" 2>&1
rc=$?
cp "$tmp/block.out" "$tmp/log"
check "the README's own-prefix block runs (exit status $rc)" [ "$rc" -eq 0 ]
check "./demo printed '$want'" has "$tmp/block.out" "$want"
check "chainrule-train --help (from the block) printed the manual" has "$tmp/block.out" 'EXIT STATUS'
check "make install said how to link with an rpath to $lib" has "$tmp/block.out" "-Wl,-rpath,$lib -o prog"
# from here on: the prefix the block installed
export PKG_CONFIG_PATH="$lib/pkgconfig"
unset LD_LIBRARY_PATH

# The shared libraries: real file, SONAME, symlinks, exported symbols.
decl=$tmp/declared
# a name followed by "(" but not "(*" (a function pointer's return type, as in
# "cr_status (*check)(...)", is not a function)
"${CC:-cc}" -E -P -Iinclude include/chainrule.h | grep -o '\bcr_[A-Za-z0-9_]*[[:space:]]*([^*]' |
    sed 's/[[:space:]]*(.$//' | sort -u > "$decl"
check "the header declares the public API (more than 100 functions)" \
    [ "$(wc -l < "$decl")" -gt 100 ]
for name in chainrule chainrule_double; do
    so=$lib/lib$name.so.$version
    check "$so is installed" sh -c "[ -f '$so' ] && [ ! -L '$so' ]"
    check "lib$name.so.$major -> lib$name.so.$version" \
        [ "$(readlink "$lib/lib$name.so.$major")" = "lib$name.so.$version" ]
    check "lib$name.so -> lib$name.so.$version" \
        [ "$(readlink "$lib/lib$name.so")" = "lib$name.so.$version" ]
    check "lib$name.a is installed" [ -f "$lib/lib$name.a" ]
    readelf -d "$so" > "$tmp/dyn"
    check "SONAME of lib$name is lib$name.so.$major" has "$tmp/dyn" "Library soname: [lib$name.so.$major]"
    nm -D --defined-only "$so" | awk '{ print $NF }' | sort -u > "$tmp/exported"
    check "lib$name exports no internal cr__ symbol" sh -c "! grep '^cr__' '$tmp/exported'"
    check "lib$name exports exactly the header's functions (< declared only, > exported only)" \
        diff "$decl" "$tmp/exported"
done

# The program as built in the block records the SONAME, not the link-time name.
readelf -d "$tmp/work/demo" > "$tmp/dyn" 2>&1
check "demo needs libchainrule.so.$major" has "$tmp/dyn" "Shared library: [libchainrule.so.$major]"

# C++, warnings as errors, the same output.
cd "$tmp/work" || exit 1
check "the README's program builds as C++ with g++ and pkg-config" \
    sh -c "g++ -Wall -Wextra -pedantic -Werror demo.cpp \$(pkg-config --cflags --libs chainrule) \
        -Wl,-rpath,'$lib' -o demo-cxx"
./demo-cxx > "$tmp/out" 2>&1
check "the C++ program prints '$want'" has "$tmp/out" "$want"

# The double library, and LD_LIBRARY_PATH instead of an rpath.
check "the README's program builds against chainrule_double" \
    sh -c "${CC:-cc} -Wall -Wextra -pedantic -Werror demo.c \$(pkg-config --cflags --libs chainrule_double) \
        -o demo-double"
LD_LIBRARY_PATH=$lib ./demo-double > "$tmp/out" 2>&1
check "the double program (LD_LIBRARY_PATH, no rpath) prints '$want'" has "$tmp/out" "$want"
readelf -d demo-double > "$tmp/dyn" 2>&1
check "the double program needs libchainrule_double.so.$major" \
    has "$tmp/dyn" "Shared library: [libchainrule_double.so.$major]"
cd "$repo" || exit 1

# chainrule-train: --help is the manual, documents every option, and it trains.
train=$prefix/bin/chainrule-train
"$train" --help > "$tmp/help" 2>&1
rc=$?
check "chainrule-train --help exits 0" [ "$rc" -eq 0 ]
for s in NAME SYNOPSIS DESCRIPTION OPTIONS 'EXIT STATUS' EXAMPLES; do
    check "chainrule-train --help has the section $s" grep -qx "$s" "$tmp/help"
done
opts=$(grep -o 'IS("--[a-z0-9-]*")' examples/train/options.c | sed 's/IS("\(.*\)")/\1/' | sort -u)
missing=
for o in $opts; do grep -qE -- "$o([^a-z0-9-]|$)" "$tmp/help" || missing="$missing $o"; done
echo "options the parser accepts but --help does not document:$missing" > "$tmp/log"
check "chainrule-train --help documents all $(echo "$opts" | wc -l) options" [ -z "$missing" ]
man1=$prefix/share/man/man1/chainrule-train.1
check "the manual page is installed" [ -f "$man1" ]
if command -v groff >/dev/null 2>&1; then
    check "groff formats the manual page without warnings" \
        sh -c "groff -man -ww -z '$man1' 2>&1 | grep . && exit 1 || exit 0"
fi
check "chainrule-train trains the spirals briefly" "$train" --no-progress --quiet \
    --spiral-points 60 --hidden 8 --epochs 1 --out "$tmp/m.crm"
check "chainrule-train refuses an unknown option with exit status 2" \
    sh -c "'$train' --no-such-option; [ \$? -eq 2 ]"

# chainrule-run: its --help is its manual page, and it runs a graph chainrule-train saved.
runner=$prefix/bin/chainrule-run
"$runner" --help > "$tmp/help" 2>&1
check "chainrule-run --help exits 0" [ "$?" -eq 0 ]
for s in NAME SYNOPSIS DESCRIPTION OPTIONS 'EXIT STATUS' EXAMPLES; do
    check "chainrule-run --help has the section $s" grep -qx "$s" "$tmp/help"
done
check "the chainrule-run manual page is installed" [ -f "$prefix/share/man/man1/chainrule-run.1" ]
if command -v groff >/dev/null 2>&1; then
    check "groff formats the chainrule-run page without warnings" \
        sh -c "groff -man -ww -z '$prefix/share/man/man1/chainrule-run.1' 2>&1 | grep . && exit 1 || exit 0"
fi
printf 'x,y,label\n0.5,0.5,0\n-0.5,0.5,1\n-0.5,-0.5,2\n' > "$tmp/s.csv"
check "chainrule-train --save-graph writes a graph file" "$train" --no-progress --quiet \
    --spiral-points 60 --hidden 8 --epochs 1 --out "$tmp/m.crm" --save-graph "$tmp/m.crg"
"$runner" "$tmp/m.crg" "$tmp/s.csv" > "$tmp/run.out" 2>&1
check "chainrule-run runs it on a CSV table" grep -q '^accuracy .* (.*/3)$' "$tmp/run.out"

# chainrule-train-text: the character language model, trained and sampled from its
# model file alone.
ttext=$prefix/bin/chainrule-train-text
"$ttext" --help > "$tmp/help" 2>&1
check "chainrule-train-text --help exits 0" [ "$?" -eq 0 ]
for s in NAME SYNOPSIS DESCRIPTION OPTIONS 'EXIT STATUS'; do
    check "chainrule-train-text --help has the section $s" grep -qx "$s" "$tmp/help"
done
check "the chainrule-train-text manual page is installed" \
    [ -f "$prefix/share/man/man1/chainrule-train-text.1" ]
i=0
while [ $i -lt 30 ]; do echo "the chain rule, step by step; abc abc abc."; i=$((i + 1)); done > "$tmp/t.txt"
check "chainrule-train-text trains an LSTM briefly" "$ttext" --no-progress --text "$tmp/t.txt" \
    --hidden 8 --embed 4 --batch 2 --steps 8 --epochs 1 --out "$tmp/t.crm"
"$ttext" --model "$tmp/t.crm" --generate 20 --seed 3 > "$tmp/gen.out" 2>&1
check "chainrule-train-text samples from the model file alone" [ "$?" -eq 0 -a -s "$tmp/gen.out" ]

# chainrule-train-mpi and chainrule-train-text-mpi: installed when MPI is there
# (make's default finds mpicc); the first trains under mpirun from the prefix.
if command -v mpicc >/dev/null 2>&1 && command -v mpirun >/dev/null 2>&1; then
    root=""
    [ "$(id -u)" = 0 ] && root="--allow-run-as-root"
    check "chainrule-train-mpi and chainrule-train-text-mpi are installed with manual pages" \
        sh -c "[ -x '$prefix/bin/chainrule-train-mpi' ] && [ -f '$prefix/share/man/man1/chainrule-train-mpi.1' ] && [ -x '$prefix/bin/chainrule-train-text-mpi' ] && [ -f '$prefix/share/man/man1/chainrule-train-text-mpi.1' ]"
    (cd "$tmp" && timeout -s KILL 120 mpirun $root --oversubscribe --mca btl self,tcp \
        --mca btl_tcp_if_include lo --mca oob_tcp_if_include lo -np 2 \
        "$prefix/bin/chainrule-train-mpi" --no-progress --spiral-points 60 --hidden 8 \
        --epochs 1 --out "$tmp/mpi.crm" > "$tmp/mpi.out" 2>&1)
    check "chainrule-train-mpi trains on 2 ranks from the prefix" \
        grep -q '^data parallel: 2 ranks (MPI)' "$tmp/mpi.out"
fi

# make uninstall removes every file and link that make install put there.
check "make uninstall exits 0" "$MAKE" --no-print-directory uninstall PREFIX="$prefix"
check "nothing is left in the prefix after make uninstall" \
    sh -c "find '$prefix' ! -type d | grep . && exit 1 || exit 0"

# Staging for a package: DESTDIR, with the final PREFIX in the .pc file.
stage=$tmp/stage
check "make install DESTDIR=... PREFIX=/usr exits 0" \
    "$MAKE" --no-print-directory install DESTDIR="$stage" PREFIX=/usr
check "staged chainrule.pc says prefix=/usr" grep -qx 'prefix=/usr' "$stage/usr/lib/pkgconfig/chainrule.pc"
check "staged header and command" \
    sh -c "[ -f '$stage/usr/include/chainrule.h' ] && [ -x '$stage/usr/bin/chainrule-train' ] && [ -x '$stage/usr/bin/chainrule-run' ] && [ -x '$stage/usr/bin/chainrule-train-text' ]"
check "make uninstall DESTDIR=... PREFIX=/usr exits 0" \
    "$MAKE" --no-print-directory uninstall DESTDIR="$stage" PREFIX=/usr
check "nothing is left in DESTDIR after make uninstall" \
    sh -c "find '$stage' ! -type d | grep . && exit 1 || exit 0"

echo "install: $pass passed, $fail failed"
# for the summary line of `make test` (tests/summary.sh)
if [ -n "${CR_TEST_COUNTS:-}" ]; then echo "$pass $fail" > "$CR_TEST_COUNTS"; fi
[ "$fail" -eq 0 ]
