#!/bin/sh
# Make sure Debian's Fashion-MNIST files are installed (used by `make fashion`).
# Installs the package dataset-fashion-mnist as root or with passwordless sudo,
# saying so; otherwise prints the command to run and fails.
dir=${1:-/usr/share/datasets/fashion-mnist}
[ -f "$dir/train-images-idx3-ubyte.gz" ] || [ -f "$dir/train-images-idx3-ubyte" ] && exit 0
echo "Fashion-MNIST not found in $dir: it comes with Debian's package dataset-fashion-mnist."
if [ "$(id -u)" = 0 ]; then
    echo "installing it (as root): apt-get install -y dataset-fashion-mnist"
    apt-get install -y dataset-fashion-mnist && exit 0
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    echo "installing it with sudo: sudo apt-get install -y dataset-fashion-mnist"
    sudo -n apt-get install -y dataset-fashion-mnist && exit 0
fi
echo "please install it:  sudo apt-get install dataset-fashion-mnist   (then run make fashion again)" >&2
exit 1
