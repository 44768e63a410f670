/* The memory limit: how much one reader, model file or model may plan to use
 * before the library (or the trainer) refuses it, checked BEFORE allocating, so
 * that a hostile header, file or option is answered with one line instead of an
 * OOM kill. Process-wide, like the allocator hooks. The default is half of the
 * machine's physical memory, or half of the address-space / data-segment limit
 * (ulimit -v / -d) when that is lower. */
#include "data_internal.h"

#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/resource.h>
#include <unistd.h>

static _Atomic size_t limit_set;        /* 0: the default */

static size_t default_limit(void)
{
    uint64_t phys = 0;
    long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
    if (pages > 0 && page > 0) phys = (uint64_t)pages * (uint64_t)page;
    uint64_t lim = phys ? phys / 2 : (uint64_t)1 << 32;   /* unknown: 4 GiB */
    const int which[2] = { RLIMIT_AS, RLIMIT_DATA };
    for (int i = 0; i < 2; i++) {
        struct rlimit rl;
        if (getrlimit(which[i], &rl) == 0 && rl.rlim_cur != RLIM_INFINITY &&
            (uint64_t)rl.rlim_cur / 2 < lim)
            lim = (uint64_t)rl.rlim_cur / 2;
    }
    if (lim > SIZE_MAX) lim = SIZE_MAX;
    return lim ? (size_t)lim : 1;
}

size_t cr_memory_limit(void)
{
    size_t v = atomic_load(&limit_set);
    return v ? v : default_limit();
}

void cr_set_memory_limit(size_t bytes) { atomic_store(&limit_set, bytes); }

void cr__format_bytes(char *buf, size_t size, uint64_t bytes)
{
    static const char *const unit[] = { "bytes", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB" };
    if (!buf || !size) return;
    if (bytes < 1024) {
        snprintf(buf, size, "%llu bytes", (unsigned long long)bytes);
        return;
    }
    double v = (double)bytes;
    int u = 0;
    while (v >= 1024 && u < 6) {
        v /= 1024;
        u++;
    }
    snprintf(buf, size, "%.1f %s", v, unit[u]);
}

cr_status cr_memory_check(uint64_t need, const char *what, char *err, size_t errsize)
{
    size_t lim = cr_memory_limit();
    if (need <= lim) return CR_OK;
    char a[32], b[32];
    cr__format_bytes(a, sizeof a, need);
    cr__format_bytes(b, sizeof b, lim);
    return cr__errf(CR_ERR_NOMEM, err, errsize, "%s needs %s, above the memory limit of %s "
                    "(cr_set_memory_limit; the trainer's --max-memory)", what ? what : "this",
                    a, b);
}
