/* Resource limits: sizes that overflow size_t (or int dimensions) are refused
 * before anything is allocated; a failed allocation anywhere in a small training
 * step is an error (CR_ERR_NOMEM), never a crash, a leak or a silently different
 * result; the arena cap stops a step with a clear message and the tape recovers
 * when it is raised; a graph of a million nodes is handled without recursion and
 * with memory linear in its size. */
#include "helpers.h"

#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <unistd.h>

/* ------------------------------------------------------------- allocator */

/* Counts calls and live blocks; fails the fail_at-th call, and refuses requests
 * above max_request (so that a test can ask for 16 GB and get NULL at once). */
typedef struct lim_alloc {
    long count;          /* malloc + realloc calls */
    long fail_at;        /* 1-based call to fail; <= 0: none */
    size_t max_request;  /* 0: no limit */
    long live;           /* blocks handed out and not freed */
    long refused;        /* requests refused (fail_at or max_request) */
    size_t largest;      /* largest request seen */
} lim_alloc;

static int refuse(lim_alloc *a, size_t size)
{
    a->count++;
    if (size > a->largest) a->largest = size;
    if (a->count == a->fail_at || (a->max_request && size > a->max_request)) {
        a->refused++;
        return 1;
    }
    return 0;
}

static void *lim_malloc(size_t size, void *ctx)
{
    lim_alloc *a = ctx;
    if (refuse(a, size)) return NULL;
    void *p = malloc(size);
    if (p) a->live++;
    return p;
}

static void *lim_realloc(void *p, size_t size, void *ctx)
{
    lim_alloc *a = ctx;
    if (refuse(a, size)) return NULL;
    void *q = realloc(p, size);
    if (q && !p) a->live++;
    return q;
}

static void lim_free(void *p, void *ctx)
{
    lim_alloc *a = ctx;
    if (p) a->live--;
    free(p);
}

static void lim_install(lim_alloc *a)
{
    cr_allocator h = { lim_malloc, lim_realloc, lim_free, a };
    cr_set_allocator(&h);
}

#define MB ((size_t)1 << 20)

/* ------------------------------------------------------ size overflow */

/* Element counts or byte sizes beyond size_t are refused with no allocation. */
static void test_overflowing_shapes_refused_without_allocating(void **state)
{
    (void)state;
    const int shapes[][4] = {
        { 1 << 30, 1 << 30, 1 << 30, 1 << 30 },   /* 2^120 elements */
        { INT_MAX, INT_MAX, INT_MAX, 4 },           /* ~2^95 */
        { 1 << 30, 1 << 30, 16, 1 },                /* 2^64 elements: wraps to 0 */
        { 1 << 30, 1 << 30, 8, 1 },                 /* 2^63 elements: bytes overflow */
    };
    const int ranks[] = { 4, 4, 3, 3 };
    for (int i = 0; i < 4; i++) {
        lim_alloc a = { 0 };
        lim_install(&a);
        assert_null(cr_param_new(ranks[i], shapes[i]));
        assert_null(cr_tensor_new(ranks[i], shapes[i]));
        cr_set_allocator(NULL);
        assert_int_equal(a.count, 0);

        cr_tape *t = cr_tape_new(4096);
        assert_non_null(t);
        size_t reserved = cr_tape_arena_reserved(t);
        assert_null(cr_var(t, ranks[i], shapes[i], NULL));
        assert_int_equal(cr_tape_status(t), CR_ERR_SHAPE);
        assert_tape_error(t, "tensor: bad shape");
        assert_int_equal(cr_tape_arena_reserved(t), reserved);
        cr_tape_free(t);
    }
}

/* A shape that fits size_t but not memory (2^60 values) is CR_ERR_NOMEM. */
static void test_huge_but_representable_shape_is_nomem(void **state)
{
    (void)state;
    int shape[2] = { 1 << 30, 1 << 30 };
    lim_alloc a = { 0 };
    a.max_request = 256 * MB;
    lim_install(&a);
    assert_null(cr_param_new(2, shape));
    cr_tape *t = cr_tape_new(0);
    assert_non_null(t);
    assert_null(cr_var(t, 2, shape, NULL));
    assert_int_equal(cr_tape_status(t), CR_ERR_NOMEM);
    assert_tape_error(t, "arena: ");
    cr_tape_free(t);
    cr_set_allocator(NULL);
    assert_int_equal(a.live, 0);
}

/* Ops whose output is bigger than their inputs: 65536x1 times 1x65536 (matmul and
 * broadcasting add) is 2^32 values = 16 GB (float). With the allocator refusing it:
 * NOMEM naming the request; with an arena cap: NOMEM naming the cap. */
static void test_ops_that_multiply_dimensions_report_nomem(void **state)
{
    (void)state;
    int cs[2] = { 65536, 1 }, rs[2] = { 1, 65536 };
    for (int op = 0; op < 2; op++) {
        lim_alloc a = { 0 };
        a.max_request = 256 * MB;
        lim_install(&a);
        cr_tape *t = cr_tape_new(0);
        cr_tensor *c = cr_var(t, 2, cs, NULL), *r = cr_var(t, 2, rs, NULL);
        assert_non_null(c);
        assert_non_null(r);
        cr_tensor *y = op ? cr_add(t, c, r) : cr_matmul(t, c, r, 0, 0);
        assert_null(y);
        assert_int_equal(cr_tape_status(t), CR_ERR_NOMEM);
        assert_tape_error(t, "arena: cannot allocate a block of");
        assert_true(a.refused >= 1);
        cr_tape_free(t);
        cr_set_allocator(NULL);
        assert_int_equal(a.live, 0);

        t = cr_tape_new(0);
        cr_tape_set_arena_limit(t, 64 * MB);
        c = cr_var(t, 2, cs, NULL);
        r = cr_var(t, 2, rs, NULL);
        assert_null(op ? cr_add(t, c, r) : cr_matmul(t, c, r, 0, 0));
        assert_int_equal(cr_tape_status(t), CR_ERR_NOMEM);
        assert_tape_error(t, "the arena cap is 67108864 bytes");
        assert_true(cr_tape_arena_reserved(t) <= 64 * MB);
        cr_tape_free(t);
    }
}

/* concat: the joined dimension must fit an int. 2049 copies of a 2^20 vector are
 * 2^31 + 2^20 long: refused as a shape error before any allocation. */
static void test_concat_length_overflowing_int_is_shape_error(void **state)
{
    (void)state;
    enum { COPIES = 2049 };
    cr_tape *t = cr_tape_new(0);
    int n = 1 << 20;
    cr_tensor *x = cr_var(t, 1, &n, NULL);
    assert_non_null(x);
    cr_tensor **xs = malloc(COPIES * sizeof *xs);
    for (int i = 0; i < COPIES; i++) xs[i] = x;
    size_t used = cr_tape_arena_used(t);
    assert_null(cr_concat(t, COPIES, xs, 0));
    assert_int_equal(cr_tape_status(t), CR_ERR_SHAPE);
    assert_tape_error(t, "concat: 2148532224 elements along axis 0 do not fit in a dimension");
    assert_int_equal(cr_tape_arena_used(t), used);
    free(xs);
    cr_tape_free(t);
}

/* reshape: a target whose product overflows (or differs) is refused; -1 with an
 * impossible product too. slice: start + len beyond INT_MAX is refused without
 * signed overflow (UBSan would flag it in the SAN build). */
static void test_reshape_and_slice_bounds_do_not_overflow(void **state)
{
    (void)state;
    cr_tape *t = cr_tape_new(0);
    int six = 6;
    cr_tensor *x = cr_var(t, 1, &six, NULL);
    int big[4] = { 65536, 65536, 65536, 65536 };      /* 2^64: wraps to 0 in size_t */
    assert_null(cr_reshape(t, x, 4, big));
    assert_int_equal(cr_tape_status(t), CR_ERR_SHAPE);
    assert_tape_error(t, "reshape: 6 (6 elements) cannot become 65536x65536x65536x65536");
    cr_tape_reset(t);

    x = cr_var(t, 1, &six, NULL);
    int infer[3] = { -1, 1 << 30, 1 << 30 };
    assert_null(cr_reshape(t, x, 3, infer));
    assert_tape_error(t, "is not a multiple of");
    cr_tape_reset(t);

    x = cr_var(t, 1, &six, NULL);
    assert_null(cr_slice(t, x, 0, INT_MAX, 2));
    assert_tape_error(t, "slice: ");
    cr_tape_reset(t);
    x = cr_var(t, 1, &six, NULL);
    assert_null(cr_slice(t, x, 0, 2, INT_MAX));
    assert_tape_error(t, "slice: ");
    cr_tape_reset(t);
    x = cr_var(t, 1, &six, NULL);
    assert_null(cr_sum_axis(t, x, INT_MIN, 0));
    assert_tape_error(t, "axis");
    cr_tape_free(t);
}

/* Raw sizes: scratch requests near SIZE_MAX, calloc products that overflow. */
static void test_raw_allocation_sizes_checked(void **state)
{
    (void)state;
    lim_alloc a = { 0 };
    a.max_request = 1024 * MB;         /* what the system would refuse, without asking it */
    lim_install(&a);
    assert_null(cr_calloc(SIZE_MAX / 8 + 1, 8));
    assert_null(cr_calloc(8, SIZE_MAX / 8 + 1));
    assert_int_equal(a.count, 0);
    cr_tape *t = cr_tape_new(4096);
    assert_null(cr_tape_alloc(t, SIZE_MAX));
    assert_int_equal(cr_tape_status(t), CR_ERR_NOMEM);
    assert_tape_error(t, "is too large");
    cr_tape_reset(t);
    assert_null(cr_tape_alloc(t, SIZE_MAX / 2 - 16));
    assert_int_equal(cr_tape_status(t), CR_ERR_NOMEM);
    cr_tape_free(t);
    cr_set_allocator(NULL);
    assert_true(a.largest < SIZE_MAX / 2 + 256);
    assert_int_equal(a.live, 0);
    /* sample counts above INT_MAX are refused by the data layer */
    cr_split s;
    assert_int_equal(cr_split_make(&s, (size_t)INT_MAX + 1, 0, 1, NULL, 0), CR_ERR_ARG);
    assert_null(cr_batcher_new(NULL, (size_t)INT_MAX + 1, 32, 0, 1, NULL, 0));
    float v = 0;
    int l = 0;
    cr_dataset *d = NULL;
    assert_int_equal(cr_dataset_from_arrays(&d, &v, &l, SIZE_MAX / 2, 4, 2, NULL, 0), CR_ERR_ARG);
    assert_null(d);
}

/* --------------------------------------- allocation failure in a training step */

enum { N_SAMPLES = 10, N_IN = 4, N_HID = 8, N_OUT = 3, BATCH = 5 };

typedef struct run_result {
    cr_status status;       /* CR_OK, or the first error (must be CR_ERR_NOMEM) */
    const char *where;      /* what failed */
    cr_real params[N_IN * N_HID + N_HID + N_HID * N_OUT + N_OUT];
    cr_real loss[4];
} run_result;

static int failed(run_result *r, cr_status s, const char *where)
{
    r->status = s;
    r->where = where;
    return 0;
}

static int tape_ok(run_result *r, cr_tape *t, const char *where)
{
    return cr_tape_status(t) == CR_OK ? 1 : failed(r, cr_tape_status(t), where);
}

/* Record forward + loss for the batch in x/y, backward, optimizer step. */
static int step(run_result *r, cr_tape *t, cr_mlp *m, cr_optim *o, cr_tensor *x, cr_tensor *y,
                int k, cr_tensor **lossp)
{
    cr_tensor *loss = cr_softmax_cross_entropy(t, cr_mlp_forward(t, m, x), y);
    if (!loss) return failed(r, cr_tape_status(t), "forward");
    *lossp = loss;
    cr_optim_zero_grad(o);
    cr_status s = cr_backward(t, loss);
    if (s != CR_OK) return failed(r, s, "backward");
    if ((s = cr_optim_step(o, NULL, 0)) != CR_OK) return failed(r, s, "optim step");
    r->loss[k] = loss->data[0];
    return 1;
}

/* Dataset -> batcher -> tape leaves (2 threads) -> MLP -> loss -> backward -> Adam,
 * four steps (record, replay, and twice re-record after a reset), then save and
 * load the model with metadata: every allocation point of a small training
 * program. */
static void training_run(run_result *r)
{
    memset(r, 0, sizeof *r);
    float values[N_SAMPLES * N_IN];
    int labels[N_SAMPLES];
    for (int i = 0; i < N_SAMPLES * N_IN; i++) values[i] = (float)sin(0.7 * i);
    for (int i = 0; i < N_SAMPLES; i++) labels[i] = i % N_OUT;
    char msg[256], path[64];
    snprintf(path, sizeof path, "/tmp/cr-limits-%ld.crm", (long)getpid());

    cr_dataset *d = NULL;
    cr_batcher *b = NULL;
    cr_mlp *m = NULL;
    cr_optim *o = NULL;
    cr_tape *t = NULL;
    cr_meta *meta = NULL;
    cr_rng rng;
    cr_rng_seed(&rng, 11);
    int sizes[3] = { N_IN, N_HID, N_OUT }, xs[2] = { BATCH, N_IN }, ys = BATCH;
    cr_status s;
    const int *idx;
    cr_tensor *loss;

    if ((s = cr_dataset_from_arrays(&d, values, labels, N_SAMPLES, N_IN, N_OUT, msg,
                                    sizeof msg)) != CR_OK) {
        failed(r, s, "dataset");
        goto out;
    }
    if (!(b = cr_batcher_new(NULL, N_SAMPLES, BATCH, CR_BATCH_SHUFFLE, 5, NULL, 0))) {
        failed(r, CR_ERR_NOMEM, "batcher");
        goto out;
    }
    if (!(m = cr_mlp_new(3, sizes, CR_ACT_RELU, CR_ACT_NONE, &rng, NULL, 0))) {
        failed(r, CR_ERR_NOMEM, "mlp");
        goto out;
    }
    cr_optim_config cfg = cr_optim_defaults(CR_OPTIM_ADAM);
    if (!(o = cr_optim_new(cr_mlp_params(m), &cfg, msg, sizeof msg))) {
        assert_non_null(strstr(msg, "out of memory"));
        failed(r, CR_ERR_NOMEM, "optim");
        goto out;
    }
    if (!(t = cr_tape_new(2048))) {
        failed(r, CR_ERR_NOMEM, "tape");
        goto out;
    }
    if ((s = cr_tape_set_threads(t, 2)) != CR_OK) {
        failed(r, s, "threads");
        goto out;
    }
    cr_tensor *x = cr_const(t, 2, xs, NULL), *y = cr_const(t, 1, &ys, NULL);
    if (!tape_ok(r, t, "leaves")) goto out;
    cr_batcher_next(b, &idx);
    cr_dataset_gather(d, idx, BATCH, x, y, NULL, 0);
    if (!step(r, t, m, o, x, y, 0, &loss)) goto out;

    cr_batcher_next(b, &idx);                               /* replay on batch 2 */
    cr_dataset_gather(d, idx, BATCH, x, y, NULL, 0);
    if ((s = cr_tape_forward(t)) != CR_OK) {
        failed(r, s, "replay");
        goto out;
    }
    cr_optim_zero_grad(o);
    if ((s = cr_backward(t, loss)) != CR_OK || (s = cr_optim_step(o, NULL, 0)) != CR_OK) {
        failed(r, s, "replayed step");
        goto out;
    }
    r->loss[1] = loss->data[0];
    cr_tape_reset(t);                                       /* re-record, new epoch */
    if ((s = cr_batcher_seek(b, 1, 0, NULL, 0)) != CR_OK) {
        failed(r, s, "seek");
        goto out;
    }
    cr_batcher_next(b, &idx);
    x = cr_const(t, 2, xs, NULL);
    y = cr_const(t, 1, &ys, NULL);
    if (!tape_ok(r, t, "leaves 2")) goto out;
    cr_dataset_gather(d, idx, BATCH, x, y, NULL, 0);
    if (!step(r, t, m, o, x, y, 2, &loss)) goto out;
    cr_tape_reset(t);
    x = cr_const(t, 2, xs, NULL);
    y = cr_const(t, 1, &ys, NULL);
    if (!tape_ok(r, t, "leaves 3")) goto out;
    cr_dataset_gather(d, idx, BATCH, x, y, NULL, 0);
    if (!step(r, t, m, o, x, y, 3, &loss)) goto out;

    if (!(meta = cr_meta_new())) {
        failed(r, CR_ERR_NOMEM, "meta");
        goto out;
    }
    if ((s = cr_meta_set_u64(meta, "epoch", 1)) != CR_OK) {
        failed(r, s, "meta set");
        goto out;
    }
    if ((s = cr_save(path, cr_mlp_params(m), o, meta, msg, sizeof msg)) != CR_OK) {
        failed(r, s, "save");
        goto out;
    }
    if ((s = cr_load(path, cr_mlp_params(m), o, meta, msg, sizeof msg)) != CR_OK) {
        failed(r, s, "load");
        goto out;
    }
    size_t k = 0;
    cr_params *p = cr_mlp_params(m);
    for (size_t i = 0; i < cr_params_count(p); i++) {
        cr_tensor *w = cr_params_get(p, i);
        memcpy(r->params + k, w->data, w->size * sizeof(cr_real));
        k += w->size;
    }
    assert_int_equal(k, sizeof r->params / sizeof r->params[0]);
out:
    remove(path);
    cr_meta_free(meta);
    cr_tape_free(t);
    cr_optim_free(o);
    cr_mlp_free(m);
    cr_batcher_free(b);
    cr_dataset_free(d);
}

/* Fail allocation k for every k the run makes: each failure ends the run with
 * CR_ERR_NOMEM at some point, or is absorbed by a fallback (GEMM's thread scratch
 * falls back to a buffer of its own) that gives bit-identical parameters; nothing
 * leaks, nothing crashes. */
static void test_every_allocation_failure_in_a_training_step_is_clean(void **state)
{
    (void)state;
    lim_alloc a = { 0 };
    run_result ref, r;
    lim_install(&a);
    training_run(&ref);
    cr_set_allocator(NULL);
    if (ref.status != CR_OK) print_error("reference run failed at %s\n", ref.where);
    assert_int_equal(ref.status, CR_OK);
    assert_int_equal(a.live, 0);
    long n = a.count;
    assert_true(n > 20);
    long nomem = 0, absorbed = 0;
    for (long k = 1; k <= n; k++) {
        lim_alloc f = { 0 };
        f.fail_at = k;
        lim_install(&f);
        training_run(&r);
        cr_set_allocator(NULL);
        if (f.live != 0) print_error("failing allocation %ld/%ld leaked %ld blocks\n", k, n, f.live);
        assert_int_equal(f.live, 0);
        if (r.status != CR_OK) {
            if (r.status != CR_ERR_NOMEM)
                print_error("allocation %ld/%ld: %s gave status %d (%s)\n", k, n, r.where,
                            r.status, cr_strerror(r.status));
            assert_int_equal(r.status, CR_ERR_NOMEM);
            nomem++;
            continue;
        }
        absorbed++;
        if (memcmp(r.params, ref.params, sizeof r.params) != 0)
            print_error("allocation %ld/%ld failed silently and changed the parameters\n", k, n);
        assert_memory_equal(r.params, ref.params, sizeof r.params);
        assert_memory_equal(r.loss, ref.loss, sizeof r.loss);
    }
    assert_true(nomem >= n / 2);
    print_message("    %ld allocation points: %ld reported CR_ERR_NOMEM, %ld absorbed by a "
                  "fallback\n", n, nomem, absorbed);
}

/* ----------------------------------------------------------------- arena cap */

/* A cap that one step's graph does not fit: the step fails with a message naming
 * the cap; raising the cap, resetting and running again works and gives exactly the
 * uncapped result. The arena never reserves more than the cap. */
static void test_arena_cap_stops_step_and_tape_recovers(void **state)
{
    (void)state;
    cr_rng rng;
    int sizes[3] = { 64, 256, 10 }, xs[2] = { 32, 64 }, ys = 32;
    cr_real want = 0, got = 0;
    for (int capped = 0; capped < 2; capped++) {
        cr_rng_seed(&rng, 3);
        cr_mlp *m = cr_mlp_new(3, sizes, CR_ACT_TANH, CR_ACT_NONE, &rng, NULL, 0);
        cr_tape *t = cr_tape_new(4096);
        if (capped) cr_tape_set_arena_limit(t, 64 * 1024);
        for (int attempt = 0; attempt < 2; attempt++) {
            cr_tensor *x = cr_const(t, 2, xs, NULL), *y = cr_const(t, 1, &ys, NULL);
            if (x) {
                cr_rng r2;
                cr_rng_seed(&r2, 9);
                cr_tensor_rand_uniform(x, &r2, -1, 1);
                for (int i = 0; i < ys; i++) y->data[i] = (cr_real)(i % 10);
            }
            cr_tensor *loss = cr_softmax_cross_entropy(t, cr_mlp_forward(t, m, x), y);
            cr_status s = loss ? cr_backward(t, loss) : cr_tape_status(t);
            if (capped && attempt == 0) {
                assert_int_equal(s, CR_ERR_NOMEM);
                assert_tape_error(t, "the arena cap is 65536 bytes");
                assert_true(cr_tape_arena_reserved(t) <= 64 * 1024);
                cr_tape_reset(t);
                cr_tape_set_arena_limit(t, 64 * MB);
                continue;
            }
            assert_int_equal(s, CR_OK);
            cr_tensor *W = cr_params_get(cr_mlp_params(m), 0);
            (capped ? &got : &want)[0] = W->grad[5];
            break;
        }
        cr_tape_free(t);
        cr_mlp_free(m);
    }
    assert_memory_equal(&want, &got, sizeof want);
}

/* --------------------------------------------------------- very large graphs */

/* Record a chain of n scalar nodes (each depends on the one before, and every
 * 16th on the input too: deep and with fan-out), backward, replay. Returns the
 * allocations (malloc + realloc) that took. */
static size_t chain(long n, double *grad)
{
    cr_test_alloc c = { 0 };
    cr_test_alloc_install(&c);
    cr_tape *t = cr_tape_new(0);
    cr_tensor *x = cr_scalar(t, 1), *y = x;
    for (long i = 0; i < n; i++)
        y = (i % 16) ? cr_scale(t, y, 1) : cr_add(t, y, x);
    cr_status back = cr_backward(t, y);
    *grad = cr_grad_item(x);
    cr_status replay = cr_tape_forward(t);
    size_t nodes = cr_tape_size(t);
    cr_tape_free(t);
    cr_test_alloc_remove();
    assert_int_equal(back, CR_OK);
    assert_int_equal(replay, CR_OK);
    assert_int_equal(nodes, (size_t)n + 1);
    return c.mallocs + c.reallocs;
}

/* 10^6 and 2*10^6 nodes: no recursion (the deep chain would overflow a stack), the
 * gradient exact, and memory taken in a number of allocations at most linear in
 * the nodes. Counted, not timed, so that neither the clock nor the load can change
 * the verdict. Work that grows faster than the graph (a quadratic pass) would not
 * finish at this size: a watchdog of 120 s of CPU time (the test takes about one)
 * turns that into a failure instead of a hang. */
static void test_million_node_graph_is_linear(void **state)
{
    (void)state;
    struct itimerval watchdog = { { 0, 0 }, { 120, 0 } }, off = { { 0, 0 }, { 0, 0 } };
    setitimer(ITIMER_VIRTUAL, &watchdog, NULL); /* SIGVTALRM ends the program */
    double g1, g2;
    size_t a1 = chain(1000000, &g1), a2 = chain(2000000, &g2);
    setitimer(ITIMER_VIRTUAL, &off, NULL);
    assert_close(g1, 1 + 1000000 / 16, 0, 0);
    assert_close(g2, 1 + 2000000 / 16, 0, 0);
    print_message("    allocations: %zu for 1e6 nodes, %zu for 2e6\n", a1, a2);
    assert_true(a2 <= 2 * a1 + 8);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_overflowing_shapes_refused_without_allocating),
        cmocka_unit_test(test_huge_but_representable_shape_is_nomem),
        cmocka_unit_test(test_ops_that_multiply_dimensions_report_nomem),
        cmocka_unit_test(test_concat_length_overflowing_int_is_shape_error),
        cmocka_unit_test(test_reshape_and_slice_bounds_do_not_overflow),
        cmocka_unit_test(test_raw_allocation_sizes_checked),
        cmocka_unit_test(test_every_allocation_failure_in_a_training_step_is_clean),
        cmocka_unit_test(test_arena_cap_stops_step_and_tape_recovers),
        cmocka_unit_test(test_million_node_graph_is_linear),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
