#!/bin/sh
# Build a text corpus for the character language model (issue 15, `make poems`,
# docs/TRAINING.md) from Debian's fortune packages. A package that is missing is
# installed as root or with password-less sudo, saying so; otherwise the command to
# run is printed and the script fails.
#
#   sh tools/get-text.sh fortunes OUT   English: every fortune file of the packages
#                                       fortunes and fortunes-min (2.6 MB), in name
#                                       order, concatenated as they are: the lines
#                                       "%" that end each fortune are KEPT (the
#                                       model learns where a fortune ends)
#   sh tools/get-text.sh tang300 OUT    the 300 Tang poems of fortunes-zh (~89 KB of
#                                       UTF-8), its ANSI colour escapes around titles
#                                       and authors removed, "%" lines kept
#
# OUT is replaced atomically. The trainer holds out the last 10% for validation.
what=$1
out=$2
dir=/usr/share/games/fortunes
case $what in
    fortunes) pkgs="fortunes fortunes-min" ;;
    tang300) pkgs="fortunes-zh" ;;
    *) echo "usage: sh tools/get-text.sh fortunes|tang300 OUT" >&2; exit 2 ;;
esac
[ -n "$out" ] || { echo "usage: sh tools/get-text.sh $what OUT" >&2; exit 2; }

have() {
    case $what in
        fortunes) [ -f "$dir/fortunes" ] && [ -f "$dir/computers" ] ;;
        tang300) [ -f "$dir/tang300" ] ;;
    esac
}

if ! have; then
    cmd="apt-get install -y $pkgs"
    echo "$what: not found in $dir; it comes with Debian's package(s) $pkgs."
    if [ "$(id -u)" = 0 ]; then
        echo "installing (as root): $cmd"
        DEBIAN_FRONTEND=noninteractive apt-get install -y $pkgs >/dev/null 2>&1 ||
            { apt-get update >/dev/null 2>&1 &&
                  DEBIAN_FRONTEND=noninteractive apt-get install -y $pkgs >/dev/null 2>&1; }
    elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
        echo "installing with sudo: sudo $cmd"
        sudo -n env DEBIAN_FRONTEND=noninteractive apt-get install -y $pkgs >/dev/null 2>&1 ||
            { sudo -n apt-get update >/dev/null 2>&1 &&
                  sudo -n env DEBIAN_FRONTEND=noninteractive apt-get install -y $pkgs >/dev/null 2>&1; }
    fi
    if ! have; then
        echo "please install it:  sudo $cmd   (then run this again)" >&2
        exit 1
    fi
fi

mkdir -p "$(dirname "$out")" || exit 1
tmp="$out.tmp.$$"
trap 'rm -f "$tmp"' EXIT
case $what in
    fortunes)
        # the packages' own file lists: the fortune files are those with a .dat index
        files=$(dpkg -L $pkgs 2>/dev/null | grep "^$dir/[^/]*\.dat\$" | sed 's/\.dat$//' | sort)
        [ -n "$files" ] || files=$(ls "$dir"/*.dat | sed 's/\.dat$//' |
                                   grep -v -e /chinese -e /song100 -e /tang300 | sort)
        # shellcheck disable=SC2086
        cat $files > "$tmp" || exit 1
        ;;
    tang300)
        esc=$(printf '\033')
        sed "s/$esc\[[0-9;]*m//g" "$dir/tang300" > "$tmp" || exit 1
        ;;
esac
mv "$tmp" "$out" || exit 1
trap - EXIT
echo "$what: $out ($(wc -c < "$out") bytes)"
