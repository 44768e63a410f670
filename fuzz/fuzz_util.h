/* Shared by the libFuzzer harnesses in fuzz/: a per-process scratch file and the
 * checks every harness makes on a reader's message. Header-only (each harness is
 * one translation unit linked with the library). */
#ifndef CR_FUZZ_UTIL_H
#define CR_FUZZ_UTIL_H

#include "chainrule.h"

#include <stdint.h>
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

/* An allocator for cr_set_allocator that holds at most FUZZ_BUDGET bytes at once:
 * a valid spec or model file may ask for gigabytes, which would end the fuzzer
 * with an out-of-memory report instead of a finding. */
#define FUZZ_BUDGET ((size_t)256 << 20)
#define FUZZ_HDR 16   /* keeps max_align_t alignment */
static size_t fuzz_in_use;

static inline void *fuzz_malloc(size_t n, void *ctx)
{
    (void)ctx;
    if (n > FUZZ_BUDGET - fuzz_in_use || n > SIZE_MAX - FUZZ_HDR) return NULL;
    unsigned char *p = malloc(n + FUZZ_HDR);
    if (!p) return NULL;
    memcpy(p, &n, sizeof n);
    fuzz_in_use += n;
    return p + FUZZ_HDR;
}

static inline void fuzz_free(void *q, void *ctx)
{
    (void)ctx;
    if (!q) return;
    unsigned char *p = (unsigned char *)q - FUZZ_HDR;
    size_t n;
    memcpy(&n, p, sizeof n);
    fuzz_in_use -= n;
    free(p);
}

static inline void *fuzz_realloc(void *q, size_t n, void *ctx)
{
    if (!q) return fuzz_malloc(n, ctx);
    unsigned char *p = (unsigned char *)q - FUZZ_HDR;
    size_t old;
    memcpy(&old, p, sizeof old);
    if (n > old && (n - old > FUZZ_BUDGET - fuzz_in_use || n > SIZE_MAX - FUZZ_HDR)) return NULL;
    unsigned char *np = realloc(p, n + FUZZ_HDR);
    if (!np) return NULL;
    memcpy(np, &n, sizeof n);
    fuzz_in_use = fuzz_in_use - old + n;
    return np + FUZZ_HDR;
}

/* A copy of a model file image (docs/FORMAT.md) with its size field and CRC-32
 * made right, so that mutations get past the checksum into the sections; NULL when
 * data is not one (shorter than 32 bytes or without the magic). Caller frees. */
static inline uint8_t *fuzz_repaired_copy(const uint8_t *data, size_t size)
{
    if (size < 32 || memcmp(data, "CRMODEL", 8) != 0) return NULL;
    uint8_t *fixed = malloc(size);
    FUZZ_CHECK(fixed, "out of memory");
    memcpy(fixed, data, size);
    for (int i = 0; i < 8; i++) fixed[16 + i] = (uint8_t)((uint64_t)size >> (8 * i));
    uint32_t crc = cr_crc32(0, fixed, size - 4);
    for (int i = 0; i < 4; i++) fixed[size - 4 + i] = (uint8_t)(crc >> (8 * i));
    return fixed;
}

#endif
