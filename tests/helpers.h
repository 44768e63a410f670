/* Shared test helpers: cmocka includes, closeness checks that say where and what. */
#ifndef CR_TEST_HELPERS_H
#define CR_TEST_HELPERS_H

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "chainrule.h"

/* Tolerances that depend on the build: float results are compared more loosely. */
#define CR_TEST_DOUBLE (sizeof(cr_real) == 8)
#define TOL(dbl, flt) (CR_TEST_DOUBLE ? (dbl) : (flt))

/* Fails unless |actual - expected| <= atol + rtol * |expected|; prints both values. */
void assert_close_at(double actual, double expected, double atol, double rtol,
                     const char *what, long index, const char *file, int line);
#define assert_close(a, e, atol, rtol) \
    assert_close_at((a), (e), (atol), (rtol), #a, -1, __FILE__, __LINE__)
#define assert_close_i(a, e, atol, rtol, i) \
    assert_close_at((a), (e), (atol), (rtol), #a, (long)(i), __FILE__, __LINE__)
/* Element-wise version over n values. */
void assert_all_close_at(const cr_real *actual, const double *expected, size_t n, double atol,
                         double rtol, const char *what, const char *file, int line);
#define assert_all_close(a, e, n, atol, rtol) \
    assert_all_close_at((a), (e), (n), (atol), (rtol), #a, __FILE__, __LINE__)

/* Fails unless the tape has an error whose message contains needle. */
void assert_tape_error_at(const cr_tape *t, const char *needle, const char *file, int line);
#define assert_tape_error(t, needle) assert_tape_error_at((t), (needle), __FILE__, __LINE__)

/* 1 when files a and b both open and hold the same bytes. */
int cr_test_files_equal(const char *a, const char *b);
/* The training program built beside this test program: argv0 is
 * build/<cfg>/tests/test_x, out becomes build/<cfg>/examples/train. Returns 1, or
 * 0 after printing why when that program is not built. */
int cr_test_train_bin(char *out, size_t size, const char *argv0);

/* Counting allocator: installs hooks that count calls and can fail the k-th one. */
typedef struct cr_test_alloc {
    size_t mallocs, reallocs, frees;
    long fail_at;     /* fail the allocation with this 1-based number; <= 0: never */
    long count;       /* allocations (malloc + realloc) seen */
} cr_test_alloc;
void cr_test_alloc_install(cr_test_alloc *c);
void cr_test_alloc_remove(void);

/* A test (for the programs tests/matrix.sh runs under CR_CPU_CACHES, CR_GEMM_KERNEL
 * and CR_NUM_THREADS): fails when chainrule refused a variable (cr_config_error),
 * else prints the caches, kernel and thread count in use. */
void cr_test_config_accepted(void **state);
/* Run the group: every test, or with an argument (`test_x steady,threads`) only those
 * whose names contain one of its comma-separated parts (and cr_test_config_accepted,
 * when listed). Reorders tests. Returns the number of failures (1 when the argument
 * matches nothing). */
int cr_test_run(const char *name, struct CMUnitTest *tests, size_t n,
                CMFixtureFunction setup, CMFixtureFunction teardown, int argc, char **argv);
#define CR_TEST_RUN(tests, setup, teardown, argc, argv) \
    cr_test_run(argv[0], tests, sizeof(tests) / sizeof((tests)[0]), setup, teardown, argc, argv)

#endif
