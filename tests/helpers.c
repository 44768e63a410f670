#include "helpers.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void assert_close_at(double actual, double expected, double atol, double rtol,
                     const char *what, long index, const char *file, int line)
{
    double tol = atol + rtol * fabs(expected);
    if (fabs(actual - expected) <= tol) return;
    if (isnan(expected) && isnan(actual)) return;
    char where[32] = "";
    if (index >= 0) snprintf(where, sizeof where, "[%ld]", index);
    print_error("%s:%d: %s%s = %.17g, expected %.17g (|diff| %.3g > tol %.3g)\n", file, line,
                what, where, actual, expected, fabs(actual - expected), tol);
    _fail(file, line);
}

void assert_all_close_at(const cr_real *actual, const double *expected, size_t n, double atol,
                         double rtol, const char *what, const char *file, int line)
{
    for (size_t i = 0; i < n; i++)
        assert_close_at(actual[i], expected[i], atol, rtol, what, (long)i, file, line);
}

void assert_tape_error_at(const cr_tape *t, const char *needle, const char *file, int line)
{
    const char *msg = cr_tape_error(t);
    if (msg && strstr(msg, needle)) return;
    print_error("%s:%d: expected a tape error containing \"%s\", got %s%s%s\n", file, line,
                needle, msg ? "\"" : "", msg ? msg : "no error", msg ? "\"" : "");
    _fail(file, line);
}

static void *count_malloc(size_t size, void *ctx)
{
    cr_test_alloc *c = ctx;
    c->mallocs++;
    if (++c->count == c->fail_at) return NULL;
    return malloc(size);
}

static void *count_realloc(void *p, size_t size, void *ctx)
{
    cr_test_alloc *c = ctx;
    c->reallocs++;
    if (++c->count == c->fail_at) return NULL;
    return realloc(p, size);
}

static void count_free(void *p, void *ctx)
{
    cr_test_alloc *c = ctx;
    c->frees++;
    free(p);
}

void cr_test_alloc_install(cr_test_alloc *c)
{
    cr_allocator a = { count_malloc, count_realloc, count_free, c };
    cr_set_allocator(&a);
}

void cr_test_alloc_remove(void) { cr_set_allocator(NULL); }

int cr_test_files_equal(const char *a, const char *b)
{
    FILE *fa = fopen(a, "rb"), *fb = fopen(b, "rb");
    int eq = fa && fb;
    while (eq) {
        int ca = getc(fa), cb = getc(fb);
        if (ca != cb) eq = 0;
        if (ca == EOF || cb == EOF) break;
    }
    if (fa) fclose(fa);
    if (fb) fclose(fb);
    return eq;
}

int cr_test_train_bin(char *out, size_t size, const char *argv0)
{
    snprintf(out, size, "%s", argv0);
    char *slash = strrchr(out, '/');
    size_t keep = slash ? (size_t)(slash - out) : 0;
    snprintf(out + keep, size - keep, "%s../examples/train", slash ? "/" : "");
    if (access(out, X_OK) == 0) return 1;
    fprintf(stderr, "%s: %s not built (make examples)\n", argv0, out);
    return 0;
}

void cr_test_config_accepted(void **state)
{
    (void)state;
    const char *e = cr_config_error();
    if (e) {
        print_error("the environment was refused: %s\n", e);
        fail();
    }
    cr_cpu_info info;
    cr_cpu_info_get(&info);
    print_message("    caches %zuK/%zuK/%zuK%s, kernel %s%s, %d thread%s\n", info.l1 >> 10,
                  info.l2 >> 10, info.l3 >> 10, info.caches_from_env ? " (CR_CPU_CACHES)" : "",
                  info.gemm_kernel, info.gemm_from_env ? " (CR_GEMM_KERNEL)" : "",
                  info.num_threads, info.num_threads > 1 ? "s" : "");
}

int cr_test_run(const char *name, struct CMUnitTest *tests, size_t n,
                CMFixtureFunction setup, CMFixtureFunction teardown, int argc, char **argv)
{
    const char *want = argc > 1 ? argv[1] : NULL;
    size_t kept = 0;
    for (size_t i = 0; i < n; i++) {
        int keep = !want || tests[i].test_func == cr_test_config_accepted;
        for (const char *p = want; p && !keep;) { /* comma-separated substrings */
            size_t len = strcspn(p, ",");
            char part[128];
            snprintf(part, sizeof part, "%.*s", (int)(len < sizeof part ? len : sizeof part - 1), p);
            keep = part[0] && strstr(tests[i].name, part) != NULL;
            p = p[len] ? p + len + 1 : NULL;
        }
        if (keep) tests[kept++] = tests[i];
    }
    if (want && kept <= 1) {
        fprintf(stderr, "%s: no test matches \"%s\"\n", name, want);
        return 1;
    }
    return _cmocka_run_group_tests(name, tests, kept, setup, teardown);
}
