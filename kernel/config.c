/* The process's configuration: every environment variable chainrule reads is read
 * here, once per process (the first time any of it is needed), together with the
 * CPU facts the variables may override. The README's "Environment variables" table
 * lists them. A value that cannot be used is refused: the library keeps its
 * default (or the best kernel the CPU runs) and says why in cr_config_error(); it
 * never prints or aborts. */
#include "kernel.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_THREADS 256

static int appendf(cr__config *c, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

/* Refusals are joined with "; " into c->error (truncated if ever that long). */
static int appendf(cr__config *c, const char *fmt, ...)
{
    size_t len = strlen(c->error);
    if (len >= sizeof c->error - 1) return 0;
    if (len) len += (size_t)snprintf(c->error + len, sizeof c->error - len, "; ");
    if (len >= sizeof c->error - 1) return 0;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->error + len, sizeof c->error - len, fmt, ap);
    va_end(ap);
    return 0;
}

/* "48K", "2M", "1G", "32768" (bytes; K/M/G are powers of 1024, either case) ->
 * *out; "none" -> 0. 1 on success, 0 on anything else. */
static int parse_size(const char *s, size_t len, size_t *out)
{
    if (len == 4 && !strncmp(s, "none", 4)) {
        *out = 0;
        return 1;
    }
    size_t v = 0, i = 0;
    for (; i < len && s[i] >= '0' && s[i] <= '9'; i++) {
        if (v > (SIZE_MAX - 9) / 10) return 0;
        v = v * 10 + (size_t)(s[i] - '0');
    }
    if (i == 0) return 0;
    int shift = 0;
    if (i < len) {
        char u = s[i++];
        shift = (u == 'K' || u == 'k') ? 10 : (u == 'M' || u == 'm') ? 20 : (u == 'G' || u == 'g') ? 30 : -1;
        if (shift < 0) return 0;
    }
    if (i != len || v > (SIZE_MAX >> shift)) return 0;
    *out = v << shift;
    return 1;
}

/* CR_CPU_CACHES=l1,l2,l3: three sizes; l3 may be "none" or 0. Bounds as for the
 * sizes read from the system, so that no block size derived from them is absurd. */
static void parse_caches(cr__config *c, const char *v)
{
    size_t sz[3];
    const char *p = v, *comma = NULL;
    int n = 0, ok = 1;
    do {
        comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);
        ok = n < 3 && parse_size(p, len, &sz[n++]);
        if (comma) p = comma + 1;
    } while (ok && comma);
    if (!ok || n != 3) {
        appendf(c, "CR_CPU_CACHES=%.40s: expected three sizes l1,l2,l3 such as 48K,2M,32M "
                   "(l3 'none' or 0 when there is none); using the system's",
                v);
        return;
    }
    if (sz[0] < (4u << 10) || sz[0] > (4u << 20) || sz[1] < (64u << 10) ||
        sz[1] > (64u << 20) || (sz[2] && sz[2] < (256u << 10))) {
        appendf(c, "CR_CPU_CACHES=%.40s: out of range (l1 4K..4M, l2 64K..64M, l3 0 or at "
                   "least 256K); using the system's",
                v);
        return;
    }
    c->caches.l1 = sz[0];
    c->caches.l2 = sz[1];
    c->caches.l3 = sz[2];
    c->caches_from_env = 1;
}

/* CR_NUM_THREADS: an integer 1..256; anything else is refused (1 is used, or 256
 * for larger numbers). */
static void parse_threads(cr__config *c, const char *v)
{
    char *end;
    long n = strtol(v, &end, 10);
    if (end != v && *end == '\0' && n >= 1 && n <= MAX_THREADS) {
        c->num_threads = (int)n;
        return;
    }
    c->num_threads = end != v && *end == '\0' && n > MAX_THREADS ? MAX_THREADS : 1;
    appendf(c, "CR_NUM_THREADS=%.40s: expected a number of threads from 1 to %d; using %d", v,
            MAX_THREADS, c->num_threads);
}

static const cr__gemm_arch *arch_named(const char *name)
{
    if (!strcmp(name, "avx512")) return cr__gemm_arch_avx512();
    if (!strcmp(name, "avx2")) return cr__gemm_arch_avx2();
    if (!strcmp(name, "generic")) return cr__gemm_arch_generic();
    return NULL;
}

/* CR_GEMM_KERNEL=avx512|avx2|generic: a kernel this build and CPU run, else refused
 * (the best one is used). */
static void parse_kernel(cr__config *c, const char *v)
{
    int known = !strcmp(v, "avx512") || !strcmp(v, "avx2") || !strcmp(v, "generic");
    const cr__gemm_arch *a = known ? arch_named(v) : NULL;
    if (a) {
        c->gemm = a;
        c->gemm_from_env = 1;
        return;
    }
    if (known)
        appendf(c, "CR_GEMM_KERNEL=%s: this CPU (or this build) cannot run the %s kernel "
                   "(it runs: %s); using %s",
                v, v, c->gemm_supported, c->gemm->name);
    else
        appendf(c, "CR_GEMM_KERNEL=%.40s: expected avx512, avx2 or generic; using %s", v,
                c->gemm->name);
}

static long tune_value(cr__config *c, const char *name, const char *v)
{
    char *end;
    long n = strtol(v, &end, 10);
    if (end != v && *end == '\0' && n > 0) return n;
    appendf(c, "%s=%.40s: expected a positive number; ignored", name, v);
    return 0;
}

void cr__config_parse(cr__config *c, const char *(*get)(const char *name, void *ctx),
                      void *ctx)
{
    memset(c, 0, sizeof *c);
    c->num_threads = 1;
    cr__cpu_detect_caches(&c->caches);

    /* Kernels this build and CPU run, best first, and the best of them. */
    static const char *const names[] = { "avx512", "avx2", "generic" };
    c->gemm = cr__gemm_arch_best();
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        const cr__gemm_arch *a = arch_named(names[i]);
        if (!a) continue;
        size_t len = strlen(c->gemm_supported);
        snprintf(c->gemm_supported + len, sizeof c->gemm_supported - len, "%s%s",
                 len ? "," : "", a->name);
    }

    const char *v;
    if ((v = get("CR_NUM_THREADS", ctx)) != NULL) parse_threads(c, v);
    if ((v = get("CR_ASCII", ctx)) != NULL) c->ascii = v[0] && strcmp(v, "0") != 0;
    if ((v = get("CR_CPU_CACHES", ctx)) != NULL) parse_caches(c, v);
    if ((v = get("CR_GEMM_KERNEL", ctx)) != NULL) parse_kernel(c, v);
#ifdef CR_GEMM_TUNE /* tuning builds only: block sizes from the environment */
    if ((v = get("CR_GEMM_DIRECT_MAX", ctx)) != NULL)
        c->tune_direct_max = tune_value(c, "CR_GEMM_DIRECT_MAX", v);
    if ((v = get("CR_GEMM_KC", ctx)) != NULL) c->tune_kc = tune_value(c, "CR_GEMM_KC", v);
    if ((v = get("CR_GEMM_MC", ctx)) != NULL) c->tune_mc = tune_value(c, "CR_GEMM_MC", v);
    if ((v = get("CR_GEMM_NC", ctx)) != NULL) c->tune_nc = tune_value(c, "CR_GEMM_NC", v);
    if ((v = get("CR_GEMM_DIRECT_ROWS", ctx)) != NULL)
        c->tune_direct_rows = tune_value(c, "CR_GEMM_DIRECT_ROWS", v);
    if ((v = get("CR_GEMM_DIRECT_COLS", ctx)) != NULL)
        c->tune_direct_cols = tune_value(c, "CR_GEMM_DIRECT_COLS", v);
#else
    (void)tune_value;
#endif
}

static const char *from_environment(const char *name, void *ctx)
{
    (void)ctx;
    return getenv(name);
}

static cr__config config;
static pthread_once_t config_once = PTHREAD_ONCE_INIT;

static void load_config(void) { cr__config_parse(&config, from_environment, NULL); }

const cr__config *cr__config_get(void)
{
    pthread_once(&config_once, load_config);
    return &config;
}

const cr__caches *cr__cpu_caches(void) { return &cr__config_get()->caches; }

const char *cr_config_error(void)
{
    const cr__config *c = cr__config_get();
    return c->error[0] ? c->error : NULL;
}

void cr_cpu_info_get(cr_cpu_info *out)
{
    if (!out) return;
    const cr__config *c = cr__config_get();
    out->l1 = c->caches.l1;
    out->l2 = c->caches.l2;
    out->l3 = c->caches.l3;
    out->caches_from_env = c->caches_from_env;
    out->gemm_kernel = cr_gemm_kernel_name();
    out->gemm_from_env = c->gemm_from_env;
    out->gemm_supported = c->gemm_supported;
    out->num_threads = c->num_threads;
}
