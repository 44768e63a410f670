#!/bin/sh
# After `make install` / `make uninstall`: refresh the dynamic loader's cache when
# we changed the system's libraries as root, then say how a program finds the
# library: nothing to do when the loader already searches LIBDIR, else an rpath
# (or LD_LIBRARY_PATH). pkg-config's Libs carry no rpath, as is usual for a C
# library: where to look at run time is the program's choice.
# usage: sh tools/post-install.sh install|uninstall DESTDIR PREFIX LIBDIR BINDIR SONAME
action=$1 destdir=$2 prefix=$3 libdir=$4 bindir=$5 soname=$6

ldconfig_cmd() {
    for l in ldconfig /sbin/ldconfig /usr/sbin/ldconfig; do
        command -v "$l" >/dev/null 2>&1 && { echo "$l"; return 0; }
    done
    return 1
}

if [ -n "$destdir" ]; then
    [ "$action" = install ] &&
        echo "chainrule: staged under $destdir$prefix (ldconfig is for the system that runs it)"
    exit 0
fi
# Is LIBDIR one the loader searches (a trusted default or listed in ld.so.conf)?
system_dir=
case $libdir in
/lib | /usr/lib | /lib64 | /usr/lib64 | /lib/*-linux-gnu | /usr/lib/*-linux-gnu) system_dir=1 ;;
esac
grep -qsx "$libdir/*" /etc/ld.so.conf /etc/ld.so.conf.d/*.conf && system_dir=1
ldc=$(ldconfig_cmd) || ldc=
if [ "$(id -u)" = 0 ] && [ -n "$system_dir" ] && [ -n "$ldc" ]; then
    echo "chainrule: $ldc"
    "$ldc"
fi
[ "$action" = install ] || exit 0

# Does the loader find our library in LIBDIR now?
found=
[ -n "$ldc" ] && found=$("$ldc" -p 2>/dev/null | awk -v s="$soname" '$1 == s { print $NF; exit }')
if [ "$found" = "$libdir/$soname" ]; then
    echo "chainrule: installed in $prefix; the dynamic loader finds $libdir/$soname."
    echo "  build a program with:  cc prog.c \$(pkg-config --cflags --libs chainrule) -o prog"
    exit 0
fi
if [ -n "$system_dir" ]; then
    echo "chainrule: installed in $prefix. $libdir is a system library directory:"
    echo "  run 'sudo ldconfig' once so that programs find $soname there."
    exit 0
fi
pc=$libdir/pkgconfig
echo "chainrule: installed in $prefix, outside the dynamic loader's search path."
echo "  A program built against it must be told where the library is; either link it"
echo "  with an rpath (recommended), or set LD_LIBRARY_PATH when running it:"
case ":$(pkg-config --variable pc_path pkg-config 2>/dev/null):${PKG_CONFIG_PATH:-}:" in
*":$pc:"*) ;;
*) echo "    export PKG_CONFIG_PATH=$pc" ;;
esac
echo "    cc prog.c \$(pkg-config --cflags --libs chainrule) -Wl,-rpath,$libdir -o prog"
echo "    LD_LIBRARY_PATH=$libdir ./prog     # without the rpath"
case ":$PATH:" in
*":$bindir:"*) ;;
*) echo "  and for chainrule-train:  export PATH=$bindir:\$PATH" ;;
esac
if [ -n "$found" ]; then
    echo "  note: the loader's $soname is $found, another installation."
fi
