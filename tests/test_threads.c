/* Work outside GEMM on the pool: cr_pool_for's ranges, and every threaded path of
 * a training step (elementwise ops forward and backward, the linear bias pass and
 * bias gradient, softmax-CE rows, every optimizer) gives the same bits with 1, 2
 * and 3 threads, as does a dataset batch gathered over a pool. Sizes are above the ops' threshold (32K elements), so the pool
 * really splits them; the one-thread results are also checked against the
 * untouched small-tensor path (a slice below the threshold) or a reference. */
#include "data_helpers.h"

#include <math.h>
#include <stdatomic.h>
#include <string.h>

#define BIG 40000 /* elements: above CR__PAR_MIN (ops/ops_internal.h) */

/* ---------------------------------------------------------- cr_pool_for */

typedef struct cover {
    unsigned char *hits;
    size_t grain, n;
    atomic_int bad; /* a range that is empty, unaligned or too short */
} cover;

/* Ranges run on different threads: each touches only its own hits[]. */
static void mark(void *ctx, size_t b, size_t e)
{
    cover *c = ctx;
    if (b >= e || b % 16 != 0 || (e < c->n && e - b < c->grain)) atomic_store(&c->bad, 1);
    for (size_t i = b; i < e; i++) c->hits[i]++;
}

static void test_pool_for_covers_each_item_once_in_aligned_ranges(void **state)
{
    (void)state;
    const size_t sizes[] = { 1, 15, 16, 17, 100, 1000, 4097, 100003 };
    const size_t grains[] = { 0, 1, 7, 64, 1000 };
    for (int threads = 1; threads <= 3; threads++) {
        cr_pool *p = cr_pool_new(threads);
        assert_non_null(p);
        for (size_t si = 0; si < sizeof sizes / sizeof *sizes; si++)
            for (size_t gi = 0; gi < sizeof grains / sizeof *grains; gi++) {
                size_t n = sizes[si];
                cover c = { test_calloc(n, 1), grains[gi], n, 0 };
                cr_pool_for(p, n, grains[gi], mark, &c);
                for (size_t i = 0; i < n; i++) assert_int_equal(c.hits[i], 1);
                assert_int_equal(atomic_load(&c.bad), 0);
                test_free(c.hits);
            }
        cr_pool_free(p);
    }
}

static void count_call(void *ctx, size_t b, size_t e)
{
    size_t *v = ctx;
    v[0]++;
    v[1] = b;
    v[2] = e;
}

static void test_pool_for_runs_small_or_one_thread_work_in_one_call(void **state)
{
    (void)state;
    cr_pool *p = cr_pool_new(2);
    assert_non_null(p);
    size_t v[3] = { 0 };
    cr_pool_for(p, 199, 100, count_call, v);          /* n < 2 * grain */
    assert_int_equal(v[0], 1);
    assert_int_equal(v[1], 0);
    assert_int_equal(v[2], 199);
    memset(v, 0, sizeof v);
    cr_pool_for(NULL, 100000, 1, count_call, v);      /* no pool */
    assert_int_equal(v[0], 1);
    assert_int_equal(v[2], 100000);
    memset(v, 0, sizeof v);
    cr_pool_for(p, 0, 1, count_call, v);              /* nothing to do */
    assert_int_equal(v[0], 0);
    cr_pool_free(p);
}

/* -------------------------------------------------------------- op runs */

enum { MAX_IN = 3 };

/* One run of a graph on a tape of `threads` threads: its inputs (parameters, so
 * they get gradients), the op's output and the loss. */
typedef struct run {
    cr_tape *t;
    cr_tensor *in[MAX_IN], *w, *y, *loss;
    int n_in;
} run;

typedef cr_tensor *(*build_fn)(cr_tape *t, cr_tensor **in);

static cr_tensor *b_relu(cr_tape *t, cr_tensor **in) { return cr_relu(t, in[0]); }
static cr_tensor *b_leaky(cr_tape *t, cr_tensor **in) { return cr_leaky_relu(t, in[0], 0.1f); }
static cr_tensor *b_abs(cr_tape *t, cr_tensor **in) { return cr_abs(t, in[0]); }
static cr_tensor *b_sigmoid(cr_tape *t, cr_tensor **in) { return cr_sigmoid(t, in[0]); }
static cr_tensor *b_tanh(cr_tape *t, cr_tensor **in) { return cr_tanh(t, in[0]); }
static cr_tensor *b_exp(cr_tape *t, cr_tensor **in) { return cr_exp(t, in[0]); }
static cr_tensor *b_log(cr_tape *t, cr_tensor **in) { return cr_log(t, in[0]); }
static cr_tensor *b_add(cr_tape *t, cr_tensor **in) { return cr_add(t, in[0], in[1]); }
static cr_tensor *b_sub(cr_tape *t, cr_tensor **in) { return cr_sub(t, in[0], in[1]); }
static cr_tensor *b_mul(cr_tape *t, cr_tensor **in) { return cr_mul(t, in[0], in[1]); }
static cr_tensor *b_div(cr_tape *t, cr_tensor **in) { return cr_div(t, in[0], in[1]); }

typedef struct op_case {
    const char *name;
    build_fn build;
    int n_in;
    int scalar_b; /* input b has one element (the scalar fast path) */
    cr_real lo;   /* inputs drawn from U(lo, 2): log and div stay away from 0 */
} op_case;

static const op_case cases[] = {
    { "relu", b_relu, 1, 0, -2 },       { "leaky_relu", b_leaky, 1, 0, -2 },
    { "abs", b_abs, 1, 0, -2 },         { "sigmoid", b_sigmoid, 1, 0, -2 },
    { "tanh", b_tanh, 1, 0, -2 },       { "exp", b_exp, 1, 0, -2 },
    { "log", b_log, 1, 0, 0.5f },       { "add", b_add, 2, 0, -2 },
    { "sub", b_sub, 2, 0, -2 },         { "mul", b_mul, 2, 0, -2 },
    { "div", b_div, 2, 0, 0.5f },       { "add scalar", b_add, 2, 1, -2 },
    { "mul scalar", b_mul, 2, 1, -2 },  { "div scalar", b_div, 2, 1, 0.5f },
};

/* Value i of input k, in [0, 1): a function of i alone, so that a small run
 * sees the first elements of a big one. */
static double spread(size_t i, int k)
{
    double v = (double)i * 0.6180339887498949 + 0.3 * k + 0.05;
    return v - floor(v);
}

/* Build and run loss = sum(op(inputs) * w) on n elements, forward and backward. */
static void run_op(run *r, const op_case *c, size_t n, int threads)
{
    memset(r, 0, sizeof *r);
    r->t = cr_tape_new(0);
    assert_non_null(r->t);
    assert_int_equal(cr_tape_set_threads(r->t, threads), CR_OK);
    int shape[1] = { (int)n }, one[1] = { 1 };
    r->n_in = c->n_in;
    for (int k = 0; k < c->n_in; k++) {
        r->in[k] = cr_param_new(1, k == 1 && c->scalar_b ? one : shape);
        assert_non_null(r->in[k]);
        for (size_t i = 0; i < r->in[k]->size; i++)
            r->in[k]->data[i] = c->lo + (2 - c->lo) * (cr_real)spread(i, k);
    }
    r->w = cr_tensor_new(1, shape);
    assert_non_null(r->w);
    for (size_t i = 0; i < n; i++) r->w->data[i] = (cr_real)(2 * spread(i, 2) - 1);
    r->y = c->build(r->t, r->in);
    r->loss = cr_sum(r->t, cr_mul(r->t, r->y, r->w));
    assert_non_null(r->loss);
    assert_int_equal(cr_backward(r->t, r->loss), CR_OK);
}

static void run_free(run *r)
{
    for (int k = 0; k < r->n_in; k++) cr_tensor_free(r->in[k]);
    cr_tensor_free(r->w);
    cr_tape_free(r->t);
}

static void assert_same_bits(const cr_real *a, const cr_real *b, size_t n, const char *what)
{
    if (memcmp(a, b, n * sizeof *a) == 0) return;
    for (size_t i = 0; i < n; i++)
        if (memcmp(&a[i], &b[i], sizeof *a) != 0) {
            print_error("%s differs at %zu: %.9g vs %.9g\n", what, i, (double)a[i], (double)b[i]);
            break;
        }
    fail();
}

static void test_elementwise_ops_give_the_same_bits_for_1_2_3_threads(void **state)
{
    (void)state;
    for (size_t ci = 0; ci < sizeof cases / sizeof *cases; ci++) {
        const op_case *c = &cases[ci];
        run one, many;
        run_op(&one, c, BIG, 1);
        for (int threads = 2; threads <= 3; threads++) {
            run_op(&many, c, BIG, threads);
            assert_same_bits(many.y->data, one.y->data, BIG, c->name);
            for (int k = 0; k < c->n_in; k++)
                assert_same_bits(many.in[k]->grad, one.in[k]->grad, many.in[k]->size, c->name);
            run_free(&many);
        }
        /* the small-tensor path (never split) on the first 1000 elements gives
         * the same values as the big run */
        run small;
        run_op(&small, c, 1000, 1);
        assert_same_bits(small.y->data, one.y->data, 1000, c->name);
        assert_same_bits(small.in[0]->grad, one.in[0]->grad, 1000, c->name);
        if (c->n_in == 2 && !c->scalar_b)
            assert_same_bits(small.in[1]->grad, one.in[1]->grad, 1000, c->name);
        run_free(&small);
        run_free(&one);
    }
}

/* General broadcasts (ops/broadcast.c): a bias-like row added to every row, a
 * scalar times a tensor, and a 3-D broadcast of both operands. */
typedef struct bcast_case {
    const char *name;
    build_fn build;
    int nda, shape_a[3], ndb, shape_b[3];
} bcast_case;

static const bcast_case bcases[] = {
    { "add row", b_add, 2, { 300, 128 }, 1, { 128 } },
    { "mul row", b_mul, 2, { 300, 128 }, 2, { 1, 128 } },
    { "div column", b_div, 2, { 300, 128 }, 2, { 300, 1 } },
    { "mul scalar a", b_mul, 1, { 1 }, 2, { 300, 128 } },
    { "sub scalar a", b_sub, 1, { 1 }, 2, { 300, 128 } },
    { "mul 3-D", b_mul, 3, { 4, 1, 100 }, 3, { 1, 100, 100 } },
    { "div 3-D", b_div, 3, { 4, 100, 100 }, 2, { 100, 1 } },
};

static void run_bcast(run *r, const bcast_case *c, int threads)
{
    memset(r, 0, sizeof *r);
    r->t = cr_tape_new(0);
    assert_non_null(r->t);
    assert_int_equal(cr_tape_set_threads(r->t, threads), CR_OK);
    r->n_in = 2;
    r->in[0] = cr_param_new(c->nda, c->shape_a);
    r->in[1] = cr_param_new(c->ndb, c->shape_b);
    assert_true(r->in[0] && r->in[1]);
    for (int k = 0; k < 2; k++)
        for (size_t i = 0; i < r->in[k]->size; i++)
            r->in[k]->data[i] = (cr_real)(0.5 + 1.5 * spread(i, k));
    r->y = c->build(r->t, r->in);
    assert_non_null(r->y);
    r->w = cr_tensor_new(r->y->ndim, r->y->shape);
    assert_non_null(r->w);
    for (size_t i = 0; i < r->w->size; i++) r->w->data[i] = (cr_real)(2 * spread(i, 2) - 1);
    r->loss = cr_sum(r->t, cr_mul(r->t, r->y, r->w));
    assert_non_null(r->loss);
    assert_int_equal(cr_backward(r->t, r->loss), CR_OK);
}

static void test_general_broadcasts_give_the_same_bits_for_1_2_3_threads(void **state)
{
    (void)state;
    for (size_t ci = 0; ci < sizeof bcases / sizeof *bcases; ci++) {
        const bcast_case *c = &bcases[ci];
        run one, many;
        run_bcast(&one, c, 1);
        assert_true(one.y->size >= 32768);  /* CR__PAR_MIN: really split */
        for (int threads = 2; threads <= 3; threads++) {
            run_bcast(&many, c, threads);
            assert_same_bits(many.y->data, one.y->data, one.y->size, c->name);
            for (int k = 0; k < 2; k++)
                assert_same_bits(many.in[k]->grad, one.in[k]->grad, one.in[k]->size, c->name);
            run_free(&many);
        }
        run_free(&one);
    }
}

/* ----------------------------------------------------------------- linear */

enum { LN = 300, LI = 8, LO = 128 }; /* Y is 300 x 128 = 38400 elements */

typedef struct lin_run {
    cr_tape *t;
    cr_tensor *x, *W, *b, *w, *y;
} lin_run;

static void run_linear(lin_run *r, int threads)
{
    r->t = cr_tape_new(0);
    assert_non_null(r->t);
    assert_int_equal(cr_tape_set_threads(r->t, threads), CR_OK);
    cr_rng rng;
    cr_rng_seed(&rng, 11);
    r->x = cr_param_new(2, (int[]){ LN, LI });
    r->W = cr_param_new(2, (int[]){ LI, LO });
    r->b = cr_param_new(1, (int[]){ LO });
    r->w = cr_tensor_new(2, (int[]){ LN, LO });
    assert_true(r->x && r->W && r->b && r->w);
    cr_tensor_rand_uniform(r->x, &rng, -1, 1);
    cr_tensor_rand_uniform(r->W, &rng, -1, 1);
    cr_tensor_rand_uniform(r->b, &rng, -1, 1);
    cr_tensor_rand_uniform(r->w, &rng, -1, 1);
    r->y = cr_linear(r->t, r->x, r->W, r->b);
    cr_tensor *loss = cr_sum(r->t, cr_mul(r->t, r->y, r->w));
    assert_non_null(loss);
    assert_int_equal(cr_backward(r->t, loss), CR_OK);
}

static void lin_free(lin_run *r)
{
    cr_tensor_free(r->x);
    cr_tensor_free(r->W);
    cr_tensor_free(r->b);
    cr_tensor_free(r->w);
    cr_tape_free(r->t);
}

static void test_linear_bias_pass_and_bias_grad_give_the_same_bits_for_1_2_3_threads(void **state)
{
    (void)state;
    lin_run one, many;
    run_linear(&one, 1);
    /* bias gradient: db[j] = sum over rows of dY = w (the loss is sum(Y * w)) */
    for (int j = 0; j < LO; j++) {
        double s = 0;
        for (int i = 0; i < LN; i++) s += one.w->data[i * LO + j];
        assert_close_i(one.b->grad[j], s, TOL(1e-12, 1e-4), TOL(1e-12, 1e-5), j);
    }
    for (int threads = 2; threads <= 3; threads++) {
        run_linear(&many, threads);
        assert_same_bits(many.y->data, one.y->data, (size_t)LN * LO, "linear Y");
        assert_same_bits(many.b->grad, one.b->grad, LO, "linear db");
        assert_same_bits(many.W->grad, one.W->grad, (size_t)LI * LO, "linear dW");
        assert_same_bits(many.x->grad, one.x->grad, (size_t)LN * LI, "linear dX");
        lin_free(&many);
    }
    lin_free(&one);
}

/* ------------------------------------------------------------ softmax-CE */

enum { CN = 4000, CC = 10 }; /* logits 4000 x 10 = 40000 elements */

typedef struct ce_run {
    cr_tape *t;
    cr_tensor *z, *y, *loss;
} ce_run;

static void run_ce(ce_run *r, int threads, int rows)
{
    r->t = cr_tape_new(0);
    assert_non_null(r->t);
    assert_int_equal(cr_tape_set_threads(r->t, threads), CR_OK);
    cr_rng rng;
    cr_rng_seed(&rng, 13);
    r->z = cr_param_new(2, (int[]){ rows, CC });
    r->y = cr_tensor_new(1, (int[]){ rows });
    assert_true(r->z && r->y);
    cr_tensor_rand_normal(r->z, &rng, 0, 3);
    for (int i = 0; i < rows; i++) r->y->data[i] = (cr_real)((i * 7) % CC);
    r->loss = cr_softmax_cross_entropy(r->t, r->z, r->y);
    assert_non_null(r->loss);
    assert_int_equal(cr_backward(r->t, r->loss), CR_OK);
}

static void ce_free(ce_run *r)
{
    cr_tensor_free(r->z);
    cr_tensor_free(r->y);
    cr_tape_free(r->t);
}

static void test_softmax_ce_rows_give_the_same_bits_for_1_2_3_threads(void **state)
{
    (void)state;
    ce_run one, many;
    run_ce(&one, 1, CN);
    /* reference: the mean of log-sum-exp minus the target logit, in double */
    double ref = 0;
    for (int r = 0; r < CN; r++) {
        const cr_real *z = one.z->data + r * CC;
        double m = z[0], s = 0;
        for (int j = 1; j < CC; j++) m = z[j] > m ? z[j] : m;
        for (int j = 0; j < CC; j++) s += exp(z[j] - m);
        ref += m + log(s) - z[(int)one.y->data[r]];
    }
    assert_close(one.loss->data[0], ref / CN, 1e-9, TOL(1e-12, 1e-5));
    for (int threads = 2; threads <= 3; threads++) {
        run_ce(&many, threads, CN);
        assert_same_bits(many.loss->data, one.loss->data, 1, "softmax_ce loss");
        assert_same_bits(many.z->grad, one.z->grad, (size_t)CN * CC, "softmax_ce dz");
        ce_free(&many);
    }
    ce_free(&one);
}

/* -------------------------------------------------------------- optimizer */

enum { OR = 300, OC = 200 }; /* a 60000-element parameter: split by the optimizer */

typedef struct opt_run {
    cr_params *ps;
    cr_tensor *big, *small;
    cr_optim *o;
} opt_run;

/* Three steps of kind with random gradients, updates on pool (NULL: the plain
 * one-thread path). */
static void run_optim(opt_run *r, cr_optim_kind kind, cr_pool *pool)
{
    r->ps = cr_params_new();
    r->big = cr_param_new(2, (int[]){ OR, OC });
    r->small = cr_param_new(1, (int[]){ 10 });
    assert_true(r->ps && r->big && r->small);
    assert_int_equal(cr_params_add(r->ps, r->big, "big", NULL, 0), CR_OK);
    assert_int_equal(cr_params_add(r->ps, r->small, "small", NULL, 0), CR_OK);
    cr_rng rng;
    cr_rng_seed(&rng, 17);
    cr_tensor_rand_uniform(r->big, &rng, -1, 1);
    cr_tensor_rand_uniform(r->small, &rng, -1, 1);
    cr_optim_config cfg = cr_optim_defaults(kind);
    cfg.lr = 0.05;
    if (kind != CR_OPTIM_ADAMW) cfg.weight_decay = 0.01;
    r->o = cr_optim_new(r->ps, &cfg, NULL, 0);
    assert_non_null(r->o);
    assert_int_equal(cr_optim_set_pool(r->o, pool), CR_OK);
    for (int step = 0; step < 3; step++) {
        for (size_t i = 0; i < r->big->size; i++)
            r->big->grad[i] = (cr_real)(cr_rng_uniform(&rng) * 2 - 1);
        for (size_t i = 0; i < r->small->size; i++)
            r->small->grad[i] = (cr_real)(cr_rng_uniform(&rng) * 2 - 1);
        assert_int_equal(cr_optim_step(r->o, NULL, 0), CR_OK);
    }
}

static void opt_free(opt_run *r)
{
    cr_optim_free(r->o);
    cr_params_free(r->ps);
    cr_tensor_free(r->big);
    cr_tensor_free(r->small);
}

static void test_every_optimizer_gives_the_same_bits_with_a_pool_of_2_or_3_threads_and_zeroes(void **state)
{
    (void)state;
    cr_pool *pools[2] = { cr_pool_new(2), cr_pool_new(3) };
    assert_true(pools[0] && pools[1]);
    for (int k = 0; k < CR_OPTIM_KIND_COUNT; k++) {
        opt_run one, many;
        run_optim(&one, (cr_optim_kind)k, NULL);
        for (int p = 0; p < 2; p++) {
            run_optim(&many, (cr_optim_kind)k, pools[p]);
            const char *name = cr_optim_kind_name((cr_optim_kind)k);
            assert_same_bits(many.big->data, one.big->data, one.big->size, name);
            assert_same_bits(many.small->data, one.small->data, one.small->size, name);
            assert_int_equal(cr_optim_state_count(many.o), cr_optim_state_count(one.o));
            for (size_t s = 0; s < cr_optim_state_count(one.o); s++) {
                const cr_tensor *a = cr_optim_state_get(many.o, s);
                const cr_tensor *b = cr_optim_state_get(one.o, s);
                assert_same_bits(a->data, b->data, b->size, cr_optim_state_name(one.o, s));
            }
            cr_optim_zero_grad(many.o);                 /* zeroing over the pool */
            for (size_t i = 0; i < many.big->size; i++) assert_true(many.big->grad[i] == 0);
            for (size_t i = 0; i < many.small->size; i++) assert_true(many.small->grad[i] == 0);
            opt_free(&many);
        }
        opt_free(&one);
    }
    assert_int_equal(cr_optim_set_pool(NULL, pools[0]), CR_ERR_ARG);
    cr_pool_free(pools[0]);
    cr_pool_free(pools[1]);
}

/* ----------------------------------------------------------------- gather */

static void test_gather_over_a_pool_gives_the_same_batch_for_1_2_3_threads(void **state)
{
    (void)state;
    size_t il, ll;
    unsigned char *img = td_idx_images(100, 28, 28, &il), *lbl = td_idx_labels(100, 10, &ll);
    cr_dataset *d = NULL;
    assert_int_equal(cr_idx_load_mem(&d, img, il, lbl, ll, 10, NULL, 0), CR_OK);
    free(img);
    free(lbl);
    enum { B = 64, F = 784 };                   /* 50176 values: split over the pool */
    int idx[B];
    for (int i = 0; i < B; i++) idx[i] = (i * 37 + 5) % 100;
    cr_tensor *x1 = cr_tensor_new(2, (int[]){ B, F }), *y1 = cr_tensor_new(1, (int[]){ B });
    cr_tensor *x2 = cr_tensor_new(2, (int[]){ B, F }), *y2 = cr_tensor_new(1, (int[]){ B });
    assert_true(x1 && y1 && x2 && y2);
    for (int standardized = 0; standardized <= 1; standardized++) {
        if (standardized) assert_int_equal(cr_dataset_standardize(d, NULL, 0, NULL, 0), CR_OK);
        assert_int_equal(cr_dataset_gather(d, idx, B, x1, y1, NULL, 0), CR_OK);
        if (!standardized) /* pixel k of image i is (7i + 3k) % 256, scaled by 1/255 */
            assert_close(x1->data[10 * F + 100], ((7 * idx[10] + 300) % 256) / 255.0, 1e-7, 0);
        for (int threads = 2; threads <= 3; threads++) {
            cr_pool *p = cr_pool_new(threads);
            assert_non_null(p);
            cr_tensor_fill(x2, -1);
            cr_tensor_fill(y2, -1);
            assert_int_equal(cr_dataset_gather_pool(d, idx, B, x2, y2, p, NULL, 0), CR_OK);
            assert_same_bits(x2->data, x1->data, (size_t)B * F, "gathered x");
            assert_same_bits(y2->data, y1->data, B, "gathered y");
            cr_pool_free(p);
        }
    }
    cr_tensor_free(x1);
    cr_tensor_free(y1);
    cr_tensor_free(x2);
    cr_tensor_free(y2);
    cr_dataset_free(d);
}

int main(int argc, char **argv)
{
    struct CMUnitTest tests[] = {
        cmocka_unit_test(cr_test_config_accepted),
        cmocka_unit_test(test_pool_for_covers_each_item_once_in_aligned_ranges),
        cmocka_unit_test(test_pool_for_runs_small_or_one_thread_work_in_one_call),
        cmocka_unit_test(test_elementwise_ops_give_the_same_bits_for_1_2_3_threads),
        cmocka_unit_test(test_general_broadcasts_give_the_same_bits_for_1_2_3_threads),
        cmocka_unit_test(test_linear_bias_pass_and_bias_grad_give_the_same_bits_for_1_2_3_threads),
        cmocka_unit_test(test_softmax_ce_rows_give_the_same_bits_for_1_2_3_threads),
        cmocka_unit_test(test_every_optimizer_gives_the_same_bits_with_a_pool_of_2_or_3_threads_and_zeroes),
        cmocka_unit_test(test_gather_over_a_pool_gives_the_same_batch_for_1_2_3_threads),
    };
    return CR_TEST_RUN(tests, NULL, NULL, argc, argv);
}
