/* Helpers for the data tests (test_idx, test_csv, test_batch, test_train): a
 * scratch directory, small fixture files written by the tests themselves, and an
 * allocator that tracks live blocks (to prove that failures leak nothing) and the
 * largest request (to prove that a lying header allocates nothing big). */
#ifndef CR_TEST_DATA_HELPERS_H
#define CR_TEST_DATA_HELPERS_H

#include "helpers.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#ifdef CR_HAVE_ZLIB
#include <zlib.h>
#endif

/* ---- scratch directory, removed (with its files) at exit */
static inline char *td_dirbuf(void)
{
    static char d[256];
    return d;
}

static inline void td_cleanup(void)
{
    char *td_dir = td_dirbuf();
    if (!td_dir[0]) return;
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", td_dir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", td_dir);
}

static inline const char *td_path(const char *name)
{
    static char buf[8][512];
    char *td_dir = td_dirbuf();
    static int k;
    if (!td_dir[0]) {
        const char *base = getenv("TMPDIR");
        snprintf(td_dir, 256, "%s/chainrule-test-XXXXXX", base && *base ? base : "/tmp");
        if (!mkdtemp(td_dir)) {
            perror("mkdtemp");
            exit(1);
        }
        atexit(td_cleanup);
    }
    k = (k + 1) % 8;
    snprintf(buf[k], sizeof buf[k], "%s/%s", td_dir, name);
    return buf[k];
}

static inline void td_write(const char *path, const void *p, size_t n)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(p, 1, n, f), n);
    assert_int_equal(fclose(f), 0);
}

#ifdef CR_HAVE_ZLIB
/* Gzip p[0..n) into a new malloc'ed buffer (one gzip member); *out_len its size. */
static inline unsigned char *td_gzip(const void *p, size_t n, size_t *out_len)
{
    z_stream z;
    memset(&z, 0, sizeof z);
    assert_int_equal(deflateInit2(&z, 6, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY), Z_OK);
    size_t cap = deflateBound(&z, (uLong)n) + 64;
    unsigned char *out = malloc(cap);
    assert_non_null(out);
    z.next_in = (unsigned char *)p;
    z.avail_in = (uInt)n;
    z.next_out = out;
    z.avail_out = (uInt)cap;
    assert_int_equal(deflate(&z, Z_FINISH), Z_STREAM_END);
    *out_len = cap - z.avail_out;
    deflateEnd(&z);
    return out;
}

static inline void td_write_gz(const char *path, const void *p, size_t n)
{
    size_t len;
    unsigned char *gz = td_gzip(p, n, &len);
    td_write(path, gz, len);
    free(gz);
}
#endif

/* ---- IDX fixtures */
static inline void td_be32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)(v >> 24);
    p[1] = (unsigned char)(v >> 16);
    p[2] = (unsigned char)(v >> 8);
    p[3] = (unsigned char)v;
}

/* An idx3 file of n images of r x c; pixel k of image i is (7*i + 3*k) % 256.
 * Returns a malloc'ed buffer of 16 + n*r*c bytes. */
static inline unsigned char *td_idx_images(uint32_t n, uint32_t r, uint32_t c, size_t *len)
{
    size_t pix = (size_t)r * c, total = 16 + (size_t)n * pix;
    unsigned char *b = malloc(total);
    assert_non_null(b);
    td_be32(b, 0x803);
    td_be32(b + 4, n);
    td_be32(b + 8, r);
    td_be32(b + 12, c);
    for (size_t i = 0; i < n; i++)
        for (size_t k = 0; k < pix; k++)
            b[16 + i * pix + k] = (unsigned char)((7 * i + 3 * k) % 256);
    *len = total;
    return b;
}

/* An idx1 file of n labels, label i = (i * 3) % classes. */
static inline unsigned char *td_idx_labels(uint32_t n, int classes, size_t *len)
{
    unsigned char *b = malloc(8 + (size_t)n);
    assert_non_null(b);
    td_be32(b, 0x801);
    td_be32(b + 4, n);
    for (size_t i = 0; i < n; i++) b[8 + i] = (unsigned char)((i * 3) % (size_t)classes);
    *len = 8 + (size_t)n;
    return b;
}

/* ---- tracking allocator */
typedef struct td_alloc {
    long live;            /* blocks allocated and not yet freed */
    size_t max_request;   /* largest size asked for */
    long count;           /* allocation calls (malloc + realloc) */
    long fail_at;         /* fail this 1-based call; <= 0: never */
} td_alloc;

#define TD_HEAD 16
static inline void *td_malloc(size_t size, void *ctx)
{
    td_alloc *a = ctx;
    if (size > a->max_request) a->max_request = size;
    if (++a->count == a->fail_at) return NULL;
    unsigned char *p = malloc(size + TD_HEAD);
    if (!p) return NULL;
    a->live++;
    return p + TD_HEAD;
}
static inline void *td_realloc(void *q, size_t size, void *ctx)
{
    td_alloc *a = ctx;
    if (!q) return td_malloc(size, ctx);
    if (size > a->max_request) a->max_request = size;
    if (++a->count == a->fail_at) return NULL;
    unsigned char *p = realloc((unsigned char *)q - TD_HEAD, size + TD_HEAD);
    return p ? p + TD_HEAD : NULL;
}
static inline void td_free(void *q, void *ctx)
{
    td_alloc *a = ctx;
    if (!q) return;
    a->live--;
    free((unsigned char *)q - TD_HEAD);
}
static inline void td_alloc_install(td_alloc *a)
{
    memset(a, 0, sizeof *a);
    cr_allocator h = { td_malloc, td_realloc, td_free, a };
    cr_set_allocator(&h);
}
static inline void td_alloc_remove(void) { cr_set_allocator(NULL); }

/* The training program's CSV log at path, each row without its timing columns
 * (seconds, samples per second): what two runs of the same training share. */
static inline void td_log_without_timing(const char *path, char *dst, size_t size)
{
    static char text[1 << 16];
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    size_t got = fread(text, 1, sizeof text - 1, f);
    fclose(f);
    text[got] = '\0';
    const char *t = text;
    size_t k = 0;
    while (*t && k + 2 < size) {
        const char *nl = strchr(t, '\n');
        size_t n = nl ? (size_t)(nl - t) : strlen(t);
        const char *cut = t + n;
        for (int commas = 0; commas < 2 && cut > t;)   /* drop the last two fields */
            if (*--cut == ',') commas++;
        size_t keep = (size_t)(cut - t);
        if (keep + k + 2 > size) break;
        memcpy(dst + k, t, keep);
        k += keep;
        dst[k++] = '\n';
        t += n + (nl != NULL);
    }
    dst[k] = '\0';
}

/* Fails unless msg contains needle; prints msg. */
#define assert_msg_has(msg, needle) do { \
        if (!strstr((msg), (needle))) { \
            print_error("message \"%s\" does not contain \"%s\"\n", (msg), (needle)); \
            fail(); \
        } \
    } while (0)

#endif
