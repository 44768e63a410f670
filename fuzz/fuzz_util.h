/* Shared by the libFuzzer harnesses in fuzz/: a per-process scratch file and the
 * checks every harness makes on a reader's message. Header-only (each harness is
 * one translation unit linked with the library). */
#ifndef CR_FUZZ_UTIL_H
#define CR_FUZZ_UTIL_H

#include "chainrule.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* "<dir>/cr-fuzz-<tag>-<pid>": /dev/shm when it exists (no disk writes), else
 * $TMPDIR or /tmp. Each process of a parallel run gets its own file. */
static inline const char *fuzz_scratch_path(const char *tag)
{
    static char path[4][256];
    static int used;
    const char *dir = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : getenv("TMPDIR");
    if (!dir || !dir[0]) dir = "/tmp";
    char *p = path[used++ & 3];
    snprintf(p, sizeof path[0], "%s/cr-fuzz-%s-%ld", dir, tag, (long)getpid());
    return p;
}

/* Write n bytes to path; aborts (a harness bug, not a finding) when it cannot. */
static inline void fuzz_write_file(const char *path, const void *data, size_t n)
{
    FILE *f = fopen(path, "wb");
    if (!f || (n && fwrite(data, 1, n, f) != n) || fclose(f) != 0) {
        fprintf(stderr, "fuzz harness: cannot write %s\n", path);
        abort();
    }
}

/* Fail loudly (a finding) unless cond holds. */
#define FUZZ_CHECK(cond, ...)                                                   \
    do {                                                                        \
        if (!(cond)) {                                                          \
            fprintf(stderr, "fuzz check failed: %s: ", #cond);                  \
            fprintf(stderr, __VA_ARGS__);                                       \
            fputc('\n', stderr);                                                \
            abort();                                                            \
        }                                                                       \
    } while (0)

/* A reader that failed must say why: a non-empty, NUL-terminated message that fits. */
static inline void fuzz_check_message(cr_status st, const char *msg, size_t size)
{
    if (st == CR_OK) return;
    FUZZ_CHECK(memchr(msg, '\0', size) != NULL, "message not NUL-terminated (status %d)", st);
    FUZZ_CHECK(msg[0] != '\0', "status %d (%s) without a message", st, cr_strerror(st));
}

#endif
