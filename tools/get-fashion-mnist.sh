#!/bin/sh
# Make sure the Fashion-MNIST IDX files are there (used by `make fashion`).
# For Debian's location, installs the package dataset-fashion-mnist as root or with
# passwordless sudo, saying so; otherwise prints the command to run and fails.
deb=/usr/share/datasets/fashion-mnist
dir=${1:-$deb}
have() { [ -f "$1/train-images-idx3-ubyte.gz" ] || [ -f "$1/train-images-idx3-ubyte" ]; }
have "$dir" && exit 0
if [ "$dir" != "$deb" ]; then
    echo "no Fashion-MNIST files (train-images-idx3-ubyte[.gz], ...) in $dir" >&2
    exit 1
fi
echo "Fashion-MNIST not found in $dir: it comes with Debian's package dataset-fashion-mnist."
if [ "$(id -u)" = 0 ]; then
    echo "installing it (as root): apt-get install -y dataset-fashion-mnist"
    apt-get install -y dataset-fashion-mnist
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    echo "installing it with sudo: sudo apt-get install -y dataset-fashion-mnist"
    sudo -n apt-get install -y dataset-fashion-mnist
fi
have "$dir" && exit 0
echo "please install it:  sudo apt-get install dataset-fashion-mnist   (then run make fashion again)" >&2
exit 1
