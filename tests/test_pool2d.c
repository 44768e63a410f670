/* max_pool2d, avg_pool2d, global_avg_pool2d and flatten: values and gradients
 * against PyTorch float64 (tests/fixtures/conv_fixture.h, made by
 * tools/fixtures/make_conv_fixture.py), cases by hand (first maximum, NaN, padding
 * that never wins, count_include_pad), gradient checks, thread counts, replay,
 * flatten as a view, and the error messages. */
#include "op_grad_helpers.h"
#include "fixtures/conv_fixture.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define FIX_TOL TOL(1e-12, 2e-6)

typedef struct pool_case {
    const char *name;
    const int *dims;   /* is_max N C H W KH KW SH SW PH PW OH OW */
    const double *x, *r, *y, *dx;
} pool_case;

#define PCASE(c) { #c, c##_dims, c##_x, c##_r, c##_y, c##_dx }
static const pool_case cases[POOL_CASES] = {
    PCASE(p1), PCASE(p2), PCASE(p3), PCASE(p4), PCASE(p5), PCASE(p6),
};

static cr_tensor *param_from(int ndim, const int *shape, const double *v)
{
    cr_tensor *p = cr_param_new(ndim, shape);
    assert_non_null(p);
    for (size_t i = 0; i < p->size; i++) p->data[i] = (cr_real)v[i];
    return p;
}

/* y and dx (loss = sum(r * y)) agree with F.max_pool2d / F.avg_pool2d for
 * overlapping windows, padding, non-square kernels and strides. */
static void test_pools_match_pytorch(void **state)
{
    (void)state;
    for (int k = 0; k < POOL_CASES; k++) {
        const pool_case *c = &cases[k];
        const int *d = c->dims;
        int sx[4] = { d[1], d[2], d[3], d[4] }, sy[4] = { d[1], d[2], d[11], d[12] };
        cr_tensor *x = param_from(4, sx, c->x);
        cr_tape *t = cr_tape_new(0);
        cr_tensor *r = cr_const(t, 4, sy, NULL);
        for (size_t i = 0; i < r->size; i++) r->data[i] = (cr_real)c->r[i];
        cr_pool2d_opts o = { { d[5], d[6] }, { d[7], d[8] }, { d[9], d[10] } };
        cr_tensor *y = d[0] ? cr_max_pool2d(t, x, &o) : cr_avg_pool2d(t, x, &o);
        assert_non_null(y);
        for (int i = 0; i < 4; i++) assert_int_equal(y->shape[i], sy[i]);
        assert_int_equal(cr_backward(t, cr_sum(t, cr_mul(t, y, r))), CR_OK);
        print_message("case %s\n", c->name);
        assert_all_close(y->data, c->y, y->size, FIX_TOL, FIX_TOL);
        assert_all_close(x->grad, c->dx, x->size, FIX_TOL, FIX_TOL);
        cr_tape_free(t);
        cr_tensor_free(x);
    }
}

/* Global average pooling agrees with F.adaptive_avg_pool2d(x, 1).flatten(1). */
static void test_global_avg_pool_matches_pytorch(void **state)
{
    (void)state;
    int sx[4] = { 3, 4, 5, 3 }, sy[2] = { 3, 4 };
    cr_tensor *x = param_from(4, sx, gap_x);
    cr_tape *t = cr_tape_new(0);
    cr_tensor *r = cr_const(t, 2, sy, NULL);
    for (size_t i = 0; i < r->size; i++) r->data[i] = (cr_real)gap_r[i];
    cr_tensor *y = cr_global_avg_pool2d(t, x);
    assert_non_null(y);
    assert_int_equal(y->ndim, 2);
    assert_int_equal(y->shape[0], 3);
    assert_int_equal(y->shape[1], 4);
    assert_int_equal(cr_backward(t, cr_sum(t, cr_mul(t, y, r))), CR_OK);
    assert_all_close(y->data, gap_y, y->size, FIX_TOL, FIX_TOL);
    assert_all_close(x->grad, gap_dx, x->size, FIX_TOL, FIX_TOL);
    cr_tape_free(t);
    cr_tensor_free(x);
}

/* 2x2 windows, stride 2 on a 4x4 plane: y = the window maxima; a window of equal
 * values sends its gradient to the first (top-left) one; a NaN wins its window and
 * takes the gradient. */
static void test_max_pool_by_hand_first_maximum_and_nan(void **state)
{
    (void)state;
    int sx[4] = { 1, 1, 4, 4 };
    cr_real xv[16] = { 1, 5, 2, 2,
                       3, 4, 2, 2,
                       7, 0, 1, 9,
                       8, 8, 9, 1 };
    xv[10] = (cr_real)NAN;   /* row 2, column 2: in the bottom-right window */
    cr_tape *t = cr_tape_new(0);
    cr_tensor *x = cr_var(t, 4, sx, xv);
    cr_pool2d_opts o = { { 2, 2 }, { 0, 0 }, { 0, 0 } };   /* stride 0: the kernel */
    cr_tensor *y = cr_max_pool2d(t, x, &o);
    assert_non_null(y);
    assert_int_equal(y->shape[2], 2);
    assert_int_equal(y->shape[3], 2);
    assert_close(y->data[0], 5, 0, 0);
    assert_close(y->data[1], 2, 0, 0);
    assert_close(y->data[2], 8, 0, 0);
    assert_true(isnan(y->data[3]));
    cr_real gv[4] = { 10, 20, 30, 40 };
    cr_tensor *g = cr_const(t, 4, y->shape, gv);
    /* the loss is NaN (anomaly mode is off), its gradient is not: dy = g */
    assert_int_equal(cr_backward(t, cr_sum(t, cr_mul(t, y, g))), CR_OK);
    const double edx[16] = { 0, 10, 20, 0,
                             0, 0, 0, 0,
                             0, 0, 40, 0,
                             30, 0, 0, 0 };
    assert_all_close(x->grad, edx, 16, 0, 0);
    cr_tape_free(t);
}

/* 2x2 stride 2 (its own loop in ops/pool2d.c) on odd 7x5 planes full of ties
 * (values 0..3) and two NaNs, against the definition written out here: the last
 * row and column are dropped (floor), y is the window maximum, the gradient goes to
 * the first maximum in row-major window order, a NaN wins. */
static void test_max_pool_2x2_odd_planes_against_definition(void **state)
{
    (void)state;
    enum { N = 3, C = 2, H = 7, W = 5, OH = 3, OW = 2 };
    int sx[4] = { N, C, H, W };
    cr_real xv[N * C * H * W];
    cr_rng r;
    cr_rng_seed(&r, 21);
    for (int i = 0; i < N * C * H * W; i++) xv[i] = (cr_real)cr_rng_below(&r, 4);
    xv[1 * H * W + 2 * W + 3] = (cr_real)NAN;        /* plane 1, window (1, 1) */
    xv[4 * H * W + 1 * W + 0] = (cr_real)NAN;        /* plane 4, window (0, 0) */
    double ey[N * C * OH * OW], edx[N * C * H * W] = { 0 };
    for (int pl = 0; pl < N * C; pl++)
        for (int p = 0; p < OH; p++)
            for (int q = 0; q < OW; q++) {
                int best = -1;
                for (int i = 0; i < 2; i++)
                    for (int j = 0; j < 2; j++) {
                        int k = pl * H * W + (2 * p + i) * W + 2 * q + j;
                        if (best < 0 || xv[k] > xv[best] || (isnan(xv[k]) && !isnan(xv[best])))
                            best = k;
                    }
                int o = (pl * OH + p) * OW + q;
                ey[o] = xv[best];
                edx[best] += 1 + o;                  /* g[o] = 1 + o */
            }
    cr_tape *t = cr_tape_new(0);
    cr_tensor *x = cr_var(t, 4, sx, xv);
    cr_pool2d_opts o = { { 2, 2 }, { 2, 2 }, { 0, 0 } };
    cr_tensor *y = cr_max_pool2d(t, x, &o);
    assert_non_null(y);
    assert_int_equal(y->size, N * C * OH * OW);
    cr_tensor *g = cr_const(t, 4, y->shape, NULL);
    for (size_t k = 0; k < g->size; k++) g->data[k] = (cr_real)(1 + k);
    assert_int_equal(cr_backward(t, cr_sum(t, cr_mul(t, y, g))), CR_OK);
    for (size_t k = 0; k < y->size; k++) {
        if (isnan(ey[k])) assert_true(isnan(y->data[k]));
        else assert_close(y->data[k], ey[k], 0, 0);
    }
    assert_all_close(x->grad, edx, N * C * H * W, 0, 0);
    cr_tape_free(t);
}

/* With padding 1 the padded border never wins, even over negative values. */
static void test_max_pool_padding_never_wins(void **state)
{
    (void)state;
    int sx[4] = { 1, 1, 2, 2 };
    cr_real xv[4] = { -4, -3, -2, -1 };
    cr_tape *t = cr_tape_new(0);
    cr_tensor *x = cr_var(t, 4, sx, xv);
    cr_pool2d_opts o = { { 3, 3 }, { 1, 1 }, { 1, 1 } };
    cr_tensor *y = cr_max_pool2d(t, x, &o);
    assert_non_null(y);
    const double ey[4] = { -1, -1, -1, -1 };
    assert_all_close(y->data, ey, 4, 0, 0);
    assert_int_equal(cr_backward(t, cr_sum(t, y)), CR_OK);
    const double edx[4] = { 0, 0, 0, 4 };
    assert_all_close(x->grad, edx, 4, 0, 0);
    cr_tape_free(t);
}

/* count_include_pad: a 2x2 plane of ones under 3x3 windows, padding 1, stride 1:
 * every window holds the 4 ones and 5 padding zeros, y = 4/9; each x gets
 * 4 windows x 1/9. */
static void test_avg_pool_counts_padding_in_the_divisor(void **state)
{
    (void)state;
    int sx[4] = { 1, 1, 2, 2 };
    cr_real xv[4] = { 1, 1, 1, 1 };
    cr_tape *t = cr_tape_new(0);
    cr_tensor *x = cr_var(t, 4, sx, xv);
    cr_pool2d_opts o = { { 3, 3 }, { 1, 1 }, { 1, 1 } };
    cr_tensor *y = cr_avg_pool2d(t, x, &o);
    assert_non_null(y);
    for (int i = 0; i < 4; i++) assert_close_i(y->data[i], 4.0 / 9, TOL(1e-15, 1e-7), 0, i);
    assert_int_equal(cr_backward(t, cr_sum(t, y)), CR_OK);
    for (int i = 0; i < 4; i++) assert_close_i(x->grad[i], 4.0 / 9, TOL(1e-15, 1e-7), 0, i);
    cr_tape_free(t);
}

typedef struct gc_pool {
    int max;
    cr_pool2d_opts o;
} gc_pool;

static cr_tensor *build_pool(cr_tape *t, cr_tensor *const *in, int n, void *user)
{
    (void)n;
    const gc_pool *g = user;
    return weighted_sum(t, g->max ? cr_max_pool2d(t, in[0], &g->o) : cr_avg_pool2d(t, in[0], &g->o));
}

static cr_tensor *build_gap(cr_tape *t, cr_tensor *const *in, int n, void *user)
{
    (void)n;
    (void)user;
    return weighted_sum(t, cr_global_avg_pool2d(t, in[0]));
}

/* Central differences agree with backward; max pool on ramps (no two values
 * within a difference step, so no argmax changes). */
static void test_pools_gradcheck(void **state)
{
    (void)state;
    cr_rng r;
    cr_rng_seed(&r, 21);
    int sx[4] = { 2, 3, 7, 6 };
    gc_pool g[] = {
        { 1, { { 3, 3 }, { 2, 2 }, { 1, 1 } } },
        { 1, { { 2, 3 }, { 1, 2 }, { 1, 0 } } },
        { 0, { { 3, 3 }, { 2, 2 }, { 1, 1 } } },
        { 0, { { 5, 3 }, { 1, 3 }, { 2, 1 } } },
    };
    for (size_t k = 0; k < sizeof g / sizeof g[0]; k++) {
        cr_tensor *x = g[k].max ? ramp_param(&r, 4, sx, -2.5, 0.02) : rand_param(&r, 4, sx, -1, 1);
        check_gradients(build_pool, &x, 1, &g[k], g[k].max ? "max_pool2d" : "avg_pool2d");
        cr_tensor_free(x);
    }
    cr_tensor *x = rand_param(&r, 4, sx, -1, 1);
    check_gradients(build_gap, &x, 1, NULL, "global_avg_pool2d");
    cr_tensor_free(x);
}

/* Max pool of replayed new input moves the gradient to the new maxima. */
static void test_max_pool_replay_recomputes_positions(void **state)
{
    (void)state;
    int sx[4] = { 1, 1, 2, 2 };
    cr_real a[4] = { 1, 2, 3, 4 }, b[4] = { 4, 3, 2, 1 };
    cr_tape *t = cr_tape_new(0);
    cr_tensor *x = cr_var(t, 4, sx, a);
    cr_pool2d_opts o = { { 2, 2 }, { 2, 2 }, { 0, 0 } };
    cr_tensor *loss = cr_sum(t, cr_max_pool2d(t, x, &o));
    assert_int_equal(cr_backward(t, loss), CR_OK);
    const double e1[4] = { 0, 0, 0, 1 }, e2[4] = { 1, 0, 0, 0 };
    assert_all_close(x->grad, e1, 4, 0, 0);
    memcpy(x->data, b, sizeof b);
    assert_int_equal(cr_tape_forward(t), CR_OK);
    assert_close(loss->data[0], 4, 0, 0);
    assert_int_equal(cr_backward(t, loss), CR_OK);
    assert_all_close(x->grad, e2, 4, 0, 0);
    cr_tape_free(t);
}

/* Pools give the same bits on 1, 2 and 3 threads (planes split over the pool). */
static void test_pools_bit_identical_for_1_2_3_threads(void **state)
{
    (void)state;
    int sx[4] = { 16, 16, 24, 24 };
    cr_rng r;
    cr_rng_seed(&r, 4);
    cr_tensor *x = rand_param(&r, 4, sx, -1, 1);
    cr_real *ref = NULL;
    size_t total = 0;
    for (int threads = 1; threads <= 3; threads++) {
        cr_tensor_zero_grad(x);
        cr_tape *t = cr_tape_new(0);
        assert_int_equal(cr_tape_set_threads(t, threads), CR_OK);
        cr_pool2d_opts o = { { 3, 3 }, { 2, 2 }, { 1, 1 } };
        cr_tensor *a = cr_max_pool2d(t, x, &o), *b = cr_avg_pool2d(t, x, &o);
        cr_tensor *c = cr_global_avg_pool2d(t, x);
        assert_int_equal(cr_backward(t, cr_add(t, cr_add(t, weighted_sum(t, a),
                                                         weighted_sum(t, b)),
                                               weighted_sum(t, c))), CR_OK);
        size_t n = a->size + b->size + c->size + x->size;
        cr_real *got = malloc(n * sizeof *got);
        memcpy(got, a->data, a->size * sizeof *got);
        memcpy(got + a->size, b->data, b->size * sizeof *got);
        memcpy(got + a->size + b->size, c->data, c->size * sizeof *got);
        memcpy(got + a->size + b->size + c->size, x->grad, x->size * sizeof *got);
        if (!ref) {
            ref = got;
            total = n;
        } else {
            assert_int_equal(n, total);
            assert_int_equal(memcmp(ref, got, n * sizeof *got), 0);
            free(got);
        }
        cr_tape_free(t);
    }
    free(ref);
    cr_tensor_free(x);
}

static void expect_pool_error(int max, int ndim, const int *sx, const cr_pool2d_opts *o,
                              cr_status s, const char *msg)
{
    cr_tape *t = cr_tape_new(0);
    cr_tensor *x = cr_var(t, ndim, sx, NULL);
    assert_null(max ? cr_max_pool2d(t, x, o) : cr_avg_pool2d(t, x, o));
    assert_int_equal(cr_tape_status(t), s);
    assert_tape_error(t, msg);
    cr_tape_free(t);
}

/* Bad shapes and options are tape errors naming the op. */
static void test_pool_error_messages(void **state)
{
    (void)state;
    int s3[3] = { 2, 5, 5 }, s4[4] = { 1, 2, 5, 4 };
    cr_pool2d_opts ok = { { 2, 2 }, { 0, 0 }, { 0, 0 } };
    expect_pool_error(1, 3, s3, &ok, CR_ERR_SHAPE,
                      "max_pool2d: x must be N x C x H x W (rank 4) but is 2x5x5");
    cr_pool2d_opts big = { { 3, 5 }, { 1, 1 }, { 0, 0 } };
    expect_pool_error(0, 4, s4, &big, CR_ERR_SHAPE,
                      "avg_pool2d: x is 1x2x5x4 but the kernel 3x5 is larger than the 5x4 "
                      "padded image (padding 0x0)");
    cr_pool2d_opts pad = { { 3, 3 }, { 1, 1 }, { 2, 1 } };
    expect_pool_error(1, 4, s4, &pad, CR_ERR_ARG,
                      "max_pool2d: kernel 3x3, stride 1x1, padding 2x1: the kernel must be >= 1, "
                      "the stride >= 1 (0 means the kernel size) and the padding between 0 and "
                      "half the kernel");
    cr_pool2d_opts zero = { { 0, 2 }, { 0, 0 }, { 0, 0 } };
    expect_pool_error(0, 4, s4, &zero, CR_ERR_ARG, "avg_pool2d: kernel 0x2");
    expect_pool_error(1, 4, s4, NULL, CR_ERR_ARG,
                      "max_pool2d: options are NULL (the kernel size is required)");
    cr_tape *t = cr_tape_new(0);
    assert_null(cr_global_avg_pool2d(t, cr_var(t, 3, s3, NULL)));
    assert_tape_error(t, "global_avg_pool2d: x must be N x C x H x W (rank 4) but is 2x5x5");
    cr_tape_reset(t);
    assert_null(cr_max_pool2d(t, NULL, &ok));
    assert_tape_error(t, "max_pool2d: input 1 is NULL");
    cr_tape_free(t);
}

/* ------------------------------------------------------------------ flatten */

/* flatten is a view: y->data is x->data (no copy), its shape N x rest; the
 * gradient comes back element by element; replay sees new input without a copy. */
static void test_flatten_is_a_view_with_gradient(void **state)
{
    (void)state;
    int sx[4] = { 2, 3, 2, 2 };
    cr_tape *t = cr_tape_new(0);
    cr_tensor *x = cr_var(t, 4, sx, NULL);
    for (size_t i = 0; i < x->size; i++) x->data[i] = (cr_real)i;
    cr_tensor *y = cr_flatten(t, x);
    assert_non_null(y);
    assert_int_equal(y->ndim, 2);
    assert_int_equal(y->shape[0], 2);
    assert_int_equal(y->shape[1], 12);
    assert_ptr_equal(y->data, x->data);
    cr_tensor *loss = weighted_sum(t, y);
    assert_int_equal(cr_backward(t, loss), CR_OK);
    double w[24];
    weighted_sum_weights(w, 24);
    assert_all_close(x->grad, w, 24, 0, 0);
    assert_ptr_equal(y->grad, x->grad);       /* one gradient buffer */
    x->data[5] = 100;                         /* seen through the view at once */
    assert_close(y->data[5], 100, 0, 0);
    assert_int_equal(cr_tape_forward(t), CR_OK);
    assert_ptr_equal(y->data, x->data);
    cr_tape_free(t);
}

/* loss = sum(x) or sum(flatten(x)), x 8x16x7x7 (the CNN's last pool output): the
 * flatten adds only its node (header and input list), no data block, and its
 * backward no gradient buffer for y. */
static void arena_bytes(int with_flatten, size_t *recorded, size_t *after_backward)
{
    int sx[4] = { 8, 16, 7, 7 };
    cr_tape *t = cr_tape_new(0);
    cr_tensor *x = cr_var(t, 4, sx, NULL);
    size_t before = cr_tape_arena_used(t);
    cr_tensor *y = with_flatten ? cr_flatten(t, x) : x;
    assert_non_null(y);
    *recorded = cr_tape_arena_used(t) - before;
    cr_tensor *loss = cr_sum(t, y);
    size_t forward = cr_tape_arena_used(t);
    assert_int_equal(cr_backward(t, loss), CR_OK);
    *after_backward = cr_tape_arena_used(t) - forward;
    assert_close(x->grad[0], 1, 0, 0);
    assert_close(x->grad[x->size - 1], 1, 0, 0);
    if (with_flatten) assert_ptr_equal(y->grad, x->grad);
    cr_tape_free(t);
}

static void test_flatten_takes_no_arena_block_for_data_or_gradient(void **state)
{
    (void)state;
    size_t rec_plain, back_plain, rec_flat, back_flat;
    arena_bytes(0, &rec_plain, &back_plain);
    arena_bytes(1, &rec_flat, &back_flat);
    assert_int_equal(rec_plain, 0);
    /* a data block would be 6272 values; the node is a header and one pointer */
    assert_true(rec_flat < sizeof(cr_tensor) + 64);
    /* the same gradient blocks (x's, the loss's) up to 64-byte alignment padding;
     * a buffer of y's own would add 6272 values */
    assert_true(back_flat < back_plain + 64);
}

/* h = x*x feeds the flatten and other ops, recorded before and after it, and a
 * flatten of the flatten: every path's gradient ends up in dh once. */
static cr_tensor *build_flatten_shared(cr_tape *t, cr_tensor *const *in, int n, void *user)
{
    (void)n;
    (void)user;
    cr_tensor *h = cr_mul(t, in[0], in[0]);
    cr_tensor *before = cr_sum(t, cr_mul(t, h, h));
    cr_tensor *y = cr_flatten(t, h);
    cr_tensor *yy = cr_flatten(t, y);
    cr_tensor *after = cr_sum(t, cr_exp(t, h));
    cr_tensor *l = cr_add(t, weighted_sum(t, y), cr_add(t, before, after));
    return cr_add(t, l, cr_sum(t, cr_mul(t, yy, yy)));
}

/* Same loss with the gradient of x written out: dL/dh = w + 2h + exp(h) + 2h and
 * dL/dx = 2x dL/dh. A traced pass (y with its own buffer) gives the same bits as
 * an untraced one, before and after it on the same recording. */
static void test_flatten_shared_input_gradient_traced_and_not(void **state)
{
    (void)state;
    cr_rng r;
    cr_rng_seed(&r, 9);
    int sx[3] = { 2, 3, 4 };
    cr_tensor *x = rand_param(&r, 3, sx, -1, 1);
    check_gradients(build_flatten_shared, &x, 1, NULL, "flatten, shared input");
    double w[24], want[24];
    weighted_sum_weights(w, 24);
    for (int i = 0; i < 24; i++) {
        double v = x->data[i], h = v * v;
        want[i] = 2 * v * (w[i] + 4 * h + exp(h));
    }
    cr_real got[3][24];
    cr_tape *t = cr_tape_new(0);
    cr_tape_set_keep_graph(t, 1);
    cr_tensor *loss = build_flatten_shared(t, &x, 1, NULL);
    FILE *sink = tmpfile();
    assert_non_null(sink);
    for (int pass = 0; pass < 3; pass++) {
        cr_tensor_zero_grad(x);
        cr_tape_set_trace(t, pass == 1 ? sink : NULL);
        assert_int_equal(cr_backward(t, loss), CR_OK);
        assert_all_close(x->grad, want, 24, TOL(1e-12, 1e-5), TOL(1e-12, 1e-5));
        memcpy(got[pass], x->grad, sizeof got[pass]);
    }
    assert_memory_equal(got[0], got[1], sizeof got[0]);
    assert_memory_equal(got[0], got[2], sizeof got[0]);
    fclose(sink);
    cr_tape_free(t);
    cr_tensor_free(x);
}

static cr_tensor *build_flatten(cr_tape *t, cr_tensor *const *in, int n, void *user)
{
    (void)n;
    (void)user;
    return weighted_sum(t, cr_flatten(t, cr_mul(t, in[0], in[0])));
}

static void test_flatten_gradcheck_and_errors(void **state)
{
    (void)state;
    cr_rng r;
    cr_rng_seed(&r, 8);
    int sx[3] = { 3, 4, 2 };
    cr_tensor *x = rand_param(&r, 3, sx, -1, 1);
    check_gradients(build_flatten, &x, 1, NULL, "flatten");
    cr_tensor_free(x);
    cr_tape *t = cr_tape_new(0);
    int s1[1] = { 5 };
    assert_null(cr_flatten(t, cr_var(t, 1, s1, NULL)));
    assert_tape_error(t, "flatten: x must have rank >= 2 (N x ...) but is 5");
    cr_tape_free(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pools_match_pytorch),
        cmocka_unit_test(test_global_avg_pool_matches_pytorch),
        cmocka_unit_test(test_max_pool_by_hand_first_maximum_and_nan),
        cmocka_unit_test(test_max_pool_2x2_odd_planes_against_definition),
        cmocka_unit_test(test_max_pool_padding_never_wins),
        cmocka_unit_test(test_avg_pool_counts_padding_in_the_divisor),
        cmocka_unit_test(test_pools_gradcheck),
        cmocka_unit_test(test_max_pool_replay_recomputes_positions),
        cmocka_unit_test(test_pools_bit_identical_for_1_2_3_threads),
        cmocka_unit_test(test_pool_error_messages),
        cmocka_unit_test(test_flatten_is_a_view_with_gradient),
        cmocka_unit_test(test_flatten_gradcheck_and_errors),
        cmocka_unit_test(test_flatten_takes_no_arena_block_for_data_or_gradient),
        cmocka_unit_test(test_flatten_shared_input_gradient_traced_and_not),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
