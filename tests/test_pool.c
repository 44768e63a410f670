/* The thread pool: thread counts (argument and CR_NUM_THREADS), every task run exactly
 * once, many back-to-back jobs, per-thread scratch reuse, clean failure. */
#include "helpers.h"
#include "../kernel/kernel.h"

#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static void test_pool_thread_count(void **state)
{
    (void)state;
    assert_int_equal(cr_pool_threads(NULL), 1);
    for (int n = 1; n <= 4; n++) {
        cr_pool *p = cr_pool_new(n);
        assert_non_null(p);
        assert_int_equal(cr_pool_threads(p), n);
        cr_pool_free(p);
    }
    assert_null(cr_pool_new(257));
    cr_pool_free(NULL);
}

/* cr_pool_new(0) takes CR_NUM_THREADS as read once at start-up (its parsing is
 * tested in test_config); changing the variable later changes nothing. */
static void test_pool_size_from_cr_num_threads(void **state)
{
    (void)state;
    int want = cr__config_get()->num_threads;
    const char *env = getenv("CR_NUM_THREADS");
    if (env && !cr_config_error()) assert_int_equal(want, atoi(env));
    cr_pool *p = cr_pool_new(0);
    assert_non_null(p);
    assert_int_equal(cr_pool_threads(p), want);
    cr_pool_free(p);
    char *saved = env ? strdup(env) : NULL;
    setenv("CR_NUM_THREADS", want == 3 ? "2" : "3", 1);
    p = cr_pool_new(0);
    assert_int_equal(cr_pool_threads(p), want);
    cr_pool_free(p);
    p = cr_pool_new(4); /* an explicit count wins */
    assert_int_equal(cr_pool_threads(p), 4);
    cr_pool_free(p);
    if (saved)
        setenv("CR_NUM_THREADS", saved, 1);
    else
        unsetenv("CR_NUM_THREADS");
    free(saved);
}

typedef struct tally {
    int runs[1000];
    int thread[1000];
    int threads;
} tally;

static void count_task(void *ctx, int task, int thread)
{
    tally *t = ctx;
    t->runs[task]++; /* each task index is run by one thread only */
    t->thread[task] = thread;
}

static void test_pool_runs_every_task_exactly_once(void **state)
{
    (void)state;
    const int sizes[] = { 1, 2, 3, 7, 1000 };
    for (int n = 1; n <= 8; n *= 2) {
        cr_pool *p = cr_pool_new(n);
        assert_non_null(p);
        for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
            tally *t = calloc(1, sizeof *t);
            assert_non_null(t);
            cr__pool_run(p, count_task, t, sizes[s]);
            for (int i = 0; i < 1000; i++) {
                assert_int_equal(t->runs[i], i < sizes[s] ? 1 : 0);
                assert_true(t->thread[i] >= 0 && t->thread[i] < n);
            }
            free(t);
        }
        cr_pool_free(p);
    }
    tally t = { { 0 }, { 0 }, 0 };
    cr__pool_run(NULL, count_task, &t, 5); /* no pool: inline on the caller */
    for (int i = 0; i < 5; i++) assert_int_equal(t.runs[i], 1);
}

/* Two tasks that each wait (up to 60 s: a loaded machine may be slow to run the
 * worker) until both have started: they can only both see 2 if a worker really
 * runs one while the caller runs the other. */
typedef struct meet {
    atomic_int started;
    int met[2];
} meet;

static void meet_task(void *ctx, int task, int thread)
{
    (void)thread;
    meet *m = ctx;
    atomic_fetch_add(&m->started, 1);
    struct timespec t0, t;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    do {
        if (atomic_load(&m->started) == 2) {
            m->met[task] = 1;
            return;
        }
        clock_gettime(CLOCK_MONOTONIC, &t);
    } while ((double)(t.tv_sec - t0.tv_sec) + 1e-9 * (double)(t.tv_nsec - t0.tv_nsec) < 60);
}

static void test_pool_runs_tasks_concurrently(void **state)
{
    (void)state;
    cr_pool *p = cr_pool_new(2);
    assert_non_null(p);
    for (int round = 0; round < 3; round++) { /* workers asleep, then spinning */
        meet m = { 0, { 0, 0 } };
        cr__pool_run(p, meet_task, &m, 2);
        assert_int_equal(m.met[0], 1);
        assert_int_equal(m.met[1], 1);
    }
    cr_pool_free(p);
}

/* Thousands of tiny jobs back to back: a lost wake-up would hang here. */
static void add_task(void *ctx, int task, int thread)
{
    (void)thread;
    long *sums = ctx;
    sums[task] += task + 1;
}

static void test_pool_many_back_to_back_jobs(void **state)
{
    (void)state;
    cr_pool *p = cr_pool_new(3);
    assert_non_null(p);
    long sums[3] = { 0, 0, 0 };
    for (int j = 0; j < 3000; j++) cr__pool_run(p, add_task, sums, 1 + j % 3);
    assert_int_equal(sums[0], 3000);
    assert_int_equal(sums[1], 2 * 2000);
    assert_int_equal(sums[2], 3 * 1000);
    cr_pool_free(p);
}

static void test_pool_scratch_grows_once_then_is_reused(void **state)
{
    (void)state;
    cr_pool *p = cr_pool_new(2);
    assert_non_null(p);
    cr_test_alloc c = { 0 };
    cr_test_alloc_install(&c);
    assert_int_equal(cr__pool_reserve(p, 1000), 0);
    void *s0 = cr__pool_scratch(p, 0), *s1 = cr__pool_scratch(p, 1);
    size_t allocs = c.mallocs + c.reallocs;
    assert_int_equal(allocs, 2); /* one buffer per thread */
    assert_int_equal((uintptr_t)s0 % 64, 0);
    assert_int_equal((uintptr_t)s1 % 64, 0);
    assert_ptr_not_equal(s0, s1);
    memset(s0, 1, 1000);
    memset(s1, 2, 1000);
    assert_int_equal(cr__pool_reserve(p, 500), 0);
    assert_int_equal(cr__pool_reserve(p, 1000), 0);
    assert_int_equal(c.mallocs + c.reallocs, allocs); /* big enough: reused */
    assert_ptr_equal(cr__pool_scratch(p, 0), s0);
    assert_int_equal(cr__pool_reserve(p, 5000), 0);
    assert_int_equal(c.mallocs + c.reallocs, allocs + 2);
    memset(cr__pool_scratch(p, 1), 3, 5000);
    cr_test_alloc_remove();
    assert_int_equal(cr__pool_reserve(NULL, 10), -1);
    cr_pool_free(p);
}

/* Every allocation of cr_pool_new failing in turn: NULL or a working pool, no leak
 * (ASan checks leaks in the SAN=1 build). */
static void test_pool_new_fails_cleanly_when_out_of_memory(void **state)
{
    (void)state;
    for (long fail_at = 1; fail_at <= 8; fail_at++) {
        cr_test_alloc c = { 0 };
        c.fail_at = fail_at;
        cr_test_alloc_install(&c);
        cr_pool *p = cr_pool_new(3);
        cr_test_alloc_remove();
        if (p) {
            tally *t = calloc(1, sizeof *t);
            assert_non_null(t);
            cr__pool_run(p, count_task, t, 10);
            for (int i = 0; i < 10; i++) assert_int_equal(t->runs[i], 1);
            free(t);
        }
        cr_pool_free(p);
    }
    cr_pool *p = cr_pool_new(2);
    assert_non_null(p);
    cr_test_alloc c = { 0 };
    c.fail_at = 2;
    cr_test_alloc_install(&c);
    assert_int_equal(cr__pool_reserve(p, 100), -1); /* second buffer cannot be had */
    cr_test_alloc_remove();
    cr_pool_free(p);
}

/* cr_tape_set_pool: tapes borrow the program's pool (freeing a tape leaves it
 * working), a tape's own pool is freed when replaced, cr_tape_set_threads gives the
 * tape its own pool again, NULL means one thread. ASan (make test SAN=1) would
 * report a borrowed pool freed by a tape, or an own pool leaked. */
static void test_tapes_borrow_a_lent_pool_and_free_only_their_own(void **state)
{
    (void)state;
    cr_pool *pool = cr_pool_new(3);
    assert_non_null(pool);
    cr_tape *a = cr_tape_new(0), *b = cr_tape_new(0);
    assert_non_null(a);
    assert_non_null(b);
    assert_int_equal(cr_tape_set_pool(a, pool), CR_OK); /* a's own pool is freed */
    assert_int_equal(cr_tape_set_pool(b, pool), CR_OK);
    assert_ptr_equal(cr_tape_pool(a), pool);
    assert_ptr_equal(cr_tape_pool(b), pool);
    assert_int_equal(cr_tape_set_pool(NULL, pool), CR_ERR_ARG);

    cr_tensor *x = cr_var(a, 1, (int[]){ 3 }, (cr_real[]){ 1, 2, 3 });
    cr_tensor *f = cr_sum(a, cr_mul(a, x, x));
    assert_int_equal(cr_backward(a, f), CR_OK);
    assert_close(cr_item(f), 14, 0, 0);
    cr_tape_free(a); /* borrowed: the pool stays */

    tally *t = calloc(1, sizeof *t);
    assert_non_null(t);
    cr__pool_run(pool, count_task, t, 10);
    for (int i = 0; i < 10; i++) assert_int_equal(t->runs[i], 1);
    free(t);

    assert_int_equal(cr_tape_set_threads(b, 2), CR_OK); /* b's own pool now */
    cr_pool *own = cr_tape_pool(b);
    assert_ptr_not_equal(own, pool);
    assert_int_equal(cr_pool_threads(own), 2);
    assert_int_equal(cr_tape_set_pool(b, own), CR_OK); /* lending it its own: no change */
    assert_ptr_equal(cr_tape_pool(b), own);
    assert_int_equal(cr_tape_set_pool(b, NULL), CR_OK); /* own pool freed; one thread */
    assert_null(cr_tape_pool(b));
    x = cr_var(b, 1, (int[]){ 2 }, (cr_real[]){ 3, 4 });
    f = cr_sum(b, cr_mul(b, x, x));
    assert_int_equal(cr_backward(b, f), CR_OK);
    assert_close(cr_grad_item(x), 6, 0, 0);
    cr_tape_free(b);
    cr_pool_free(pool);
}

int main(int argc, char **argv)
{
    struct CMUnitTest tests[] = {
        cmocka_unit_test(cr_test_config_accepted),
        cmocka_unit_test(test_pool_thread_count),
        cmocka_unit_test(test_pool_size_from_cr_num_threads),
        cmocka_unit_test(test_pool_runs_every_task_exactly_once),
        cmocka_unit_test(test_pool_runs_tasks_concurrently),
        cmocka_unit_test(test_pool_many_back_to_back_jobs),
        cmocka_unit_test(test_pool_scratch_grows_once_then_is_reused),
        cmocka_unit_test(test_pool_new_fails_cleanly_when_out_of_memory),
        cmocka_unit_test(test_tapes_borrow_a_lent_pool_and_free_only_their_own),
    };
    return CR_TEST_RUN(tests, NULL, NULL, argc, argv);
}
