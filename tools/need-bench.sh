#!/bin/sh
# What `make bench` and `make graphs` need beyond the library, installed the way
# tools/need-cmocka.sh installs cmocka: with apt-get as root or with password-less
# sudo, saying so; otherwise it prints the command and exits 0, so that the caller
# still runs what can run (a part whose peer is missing says so in its rows).
#
#   sh tools/need-bench.sh bench    OpenBLAS (libopenblas-dev), PyTorch with NumPy
#                                   (python3-torch, python3-numpy), Fashion-MNIST
#                                   (dataset-fashion-mnist), Open MPI for the
#                                   data-parallel rows (libopenmpi-dev, openmpi-bin)
#   sh tools/need-bench.sh graphs   Graphviz (graphviz)
#
# Environment: CC (the compiler that must find cblas.h and -lopenblas, default cc),
# PYTHON (default /usr/bin/python3), FASHION_DIR (default Debian's
# /usr/share/datasets/fashion-mnist; another directory is only checked, never
# installed into).
what=${1:-bench}
PYTHON=${PYTHON:-/usr/bin/python3}
deb_fashion=/usr/share/datasets/fashion-mnist
FASHION_DIR=${FASHION_DIR:-$deb_fashion}

have_openblas() {
    printf '#include <cblas.h>\nint main(void){return 0;}\n' |
        ${CC:-cc} -x c - -o /dev/null -lopenblas 2>/dev/null
}
have_torch() { "$PYTHON" -c 'import torch, numpy' 2>/dev/null; }
have_fashion() {
    [ -f "$FASHION_DIR/train-images-idx3-ubyte.gz" ] || [ -f "$FASHION_DIR/train-images-idx3-ubyte" ]
}
have_dot() { command -v dot >/dev/null 2>&1; }
have_mpi() { command -v mpicc >/dev/null 2>&1 && command -v mpirun >/dev/null 2>&1; }

# missing: the Debian packages whose probe fails.
missing() {
    m=
    case $what in
        bench)
            have_openblas || m="$m libopenblas-dev"
            have_torch || m="$m python3-torch python3-numpy"
            have_fashion || [ "$FASHION_DIR" != "$deb_fashion" ] || m="$m dataset-fashion-mnist"
            have_mpi || m="$m libopenmpi-dev openmpi-bin"
            ;;
        graphs) have_dot || m="$m graphviz" ;;
        *) echo "usage: sh tools/need-bench.sh bench|graphs" >&2; exit 2 ;;
    esac
    echo "${m# }"
}

pkgs=$(missing)
[ -n "$pkgs" ] || exit 0
if [ "$what" = bench ] && [ "$FASHION_DIR" != "$deb_fashion" ] && ! have_fashion; then
    echo "make bench: no Fashion-MNIST files in FASHION_DIR=$FASHION_DIR (its rows are skipped)" >&2
fi
cmd="apt-get install -y $pkgs"
run_apt() { # run_apt [sudo -n]: install, with an apt-get update first if that fails
    "$@" env DEBIAN_FRONTEND=noninteractive apt-get install -y $pkgs >/dev/null 2>&1 ||
        { "$@" apt-get update >/dev/null 2>&1 &&
              "$@" env DEBIAN_FRONTEND=noninteractive apt-get install -y $pkgs >/dev/null 2>&1; }
}
if [ "$(id -u)" = 0 ]; then
    echo "make $what: $pkgs missing: running '$cmd'"
    run_apt
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    echo "make $what: $pkgs missing: running 'sudo $cmd'"
    run_apt sudo -n
else
    echo "make $what: $pkgs not installed; install with:" >&2
    echo "    sudo apt-get update && sudo $cmd" >&2
    echo "  (going on without: the parts that need them say so)" >&2
    exit 0
fi
still=$(missing)
[ -z "$still" ] || echo "make $what: still missing after apt-get: $still (going on without)" >&2
exit 0
