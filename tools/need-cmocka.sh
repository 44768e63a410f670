#!/bin/sh
# Make sure cmocka (the only test dependency) is installed; install it with apt-get
# when running as root or with password-less sudo, otherwise print the command.
probe() { printf '#include <stdarg.h>\n#include <stddef.h>\n#include <setjmp.h>\n#include <stdint.h>\n#include <cmocka.h>\nint main(void){return 0;}\n' | ${CC:-cc} -x c - -o /dev/null -lcmocka 2>/dev/null; }
probe && exit 0
cmd="apt-get install -y libcmocka-dev"
if [ "$(id -u)" = 0 ]; then
    echo "cmocka missing: running '$cmd'"
    DEBIAN_FRONTEND=noninteractive apt-get install -y libcmocka-dev >/dev/null 2>&1 ||
        { apt-get update >/dev/null 2>&1 && DEBIAN_FRONTEND=noninteractive apt-get install -y libcmocka-dev >/dev/null; }
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    echo "cmocka missing: running 'sudo $cmd'"
    sudo -n sh -c "apt-get update >/dev/null && DEBIAN_FRONTEND=noninteractive $cmd >/dev/null"
else
    echo "cmocka (libcmocka-dev) is not installed. Install it with:" >&2
    echo "    sudo apt-get update && sudo $cmd" >&2
    exit 1
fi
probe || { echo "cmocka still not usable after installing libcmocka-dev" >&2; exit 1; }
