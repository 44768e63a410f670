/* conv2d: values and gradients against PyTorch float64 (tests/fixtures/conv_fixture.h,
 * made by tools/fixtures/make_conv_fixture.py), a case small enough to check by
 * hand, gradient checks, the same bits for 1, 2 and 3 threads, no heap allocation
 * per training step, replay, and the error messages. */
#include "op_grad_helpers.h"
#include "fixtures/conv_fixture.h"
#include "../ops/op_attrs.h"
#include "../kernel/kernel.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* float build: the fixture's double inputs are rounded, and sums of up to 144
 * products of magnitude <= 1 carry float round-off */
#define FIX_TOL TOL(1e-12, 2e-5)

typedef struct conv_case {
    const char *name;
    const int *dims;   /* N C H W O KH KW SH SW PH PW DH DW G has_b OH OW */
    const double *x, *w, *b, *r, *y, *dx, *dw, *db;
} conv_case;

#define CASE(c) { #c, c##_dims, c##_x, c##_w, c##_b, c##_r, c##_y, c##_dx, c##_dw, c##_db }
static const conv_case cases[CONV_CASES] = {
    CASE(c1), CASE(c2), CASE(c3), CASE(c4), CASE(c5), CASE(c6), CASE(c7), CASE(c8),
};

static cr_tensor *param_from(int ndim, const int *shape, const double *v)
{
    cr_tensor *p = cr_param_new(ndim, shape);
    assert_non_null(p);
    for (size_t i = 0; i < p->size; i++) p->data[i] = (cr_real)v[i];
    return p;
}

static cr_conv2d_opts opts_of(const int *d)
{
    cr_conv2d_opts o = { { d[7], d[8] }, { d[9], d[10] }, { d[11], d[12] }, d[13] };
    return o;
}

/* y and, under loss = sum(r * y), dx, dw and db agree with PyTorch for every case. */
static void test_conv2d_matches_pytorch_values_and_gradients(void **state)
{
    (void)state;
    for (int k = 0; k < CONV_CASES; k++) {
        const conv_case *c = &cases[k];
        const int *d = c->dims;
        int sx[4] = { d[0], d[1], d[2], d[3] }, sw[4] = { d[4], d[1] / d[13], d[5], d[6] };
        int sy[4] = { d[0], d[4], d[15], d[16] };
        cr_tensor *x = param_from(4, sx, c->x), *w = param_from(4, sw, c->w);
        cr_tensor *b = d[14] ? param_from(1, &d[4], c->b) : NULL;
        cr_tape *t = cr_tape_new(0);
        cr_tensor *r = cr_const(t, 4, sy, NULL);
        for (size_t i = 0; i < r->size; i++) r->data[i] = (cr_real)c->r[i];
        cr_conv2d_opts o = opts_of(d);
        cr_tensor *y = cr_conv2d(t, x, w, b, &o);
        assert_non_null(y);
        assert_int_equal(y->ndim, 4);
        for (int i = 0; i < 4; i++) assert_int_equal(y->shape[i], sy[i]);
        assert_int_equal(cr_backward(t, cr_sum(t, cr_mul(t, y, r))), CR_OK);
        print_message("case %s\n", c->name);
        assert_all_close(y->data, c->y, y->size, FIX_TOL, FIX_TOL);
        assert_all_close(x->grad, c->dx, x->size, FIX_TOL, FIX_TOL);
        assert_all_close(w->grad, c->dw, w->size, FIX_TOL, FIX_TOL);
        if (b) assert_all_close(b->grad, c->db, b->size, FIX_TOL, FIX_TOL);
        cr_tape_free(t);
        cr_tensor_free(x);
        cr_tensor_free(w);
        cr_tensor_free(b);
    }
}

/* x = 1..9 (3x3), w = [[1,2],[3,4]]: y = [[37,47],[67,77]] (e.g. 1*1+2*2+4*3+5*4);
 * with loss = sum y, dw[i][j] = sum of the four x values under tap (i,j) =
 * [[12,16],[24,28]], db = 4 positions, dx[h][v] = sum of the w taps covering it. */
static void test_conv2d_by_hand(void **state)
{
    (void)state;
    int sx[4] = { 1, 1, 3, 3 }, sw[4] = { 1, 1, 2, 2 }, sb[1] = { 1 };
    cr_real xv[9] = { 1, 2, 3, 4, 5, 6, 7, 8, 9 }, wv[4] = { 1, 2, 3, 4 };
    cr_tape *t = cr_tape_new(0);
    cr_tensor *x = cr_var(t, 4, sx, xv), *w = cr_var(t, 4, sw, wv), *b = cr_var(t, 1, sb, NULL);
    cr_tensor *y = cr_conv2d(t, x, w, b, NULL);
    assert_non_null(y);
    assert_int_equal(y->shape[2], 2);
    assert_int_equal(y->shape[3], 2);
    const double ey[4] = { 37, 47, 67, 77 };
    assert_all_close(y->data, ey, 4, 0, 0);
    assert_int_equal(cr_backward(t, cr_sum(t, y)), CR_OK);
    const double edw[4] = { 12, 16, 24, 28 };
    const double edx[9] = { 1, 3, 2, 4, 10, 6, 3, 7, 4 };
    assert_all_close(w->grad, edw, 4, 0, 0);
    assert_all_close(x->grad, edx, 9, 0, 0);
    assert_close(b->grad[0], 4, 0, 0);
    cr_tape_free(t);
}

/* A 3x3 pad 1 convolution of a one-row image: the kernel rows 0 and 2 fall wholly
 * outside it, which once made the "same"-padding block copy (im2col_block and
 * col2im_block) compute a row range below zero (found by fuzz_spec; ASan:
 * negative-size-param in memcpy). Only the middle kernel row counts (by hand). */
static void test_conv2d_one_row_image_same_padding_by_hand(void **state)
{
    (void)state;
    int sx[4] = { 1, 1, 1, 4 }, sw[4] = { 1, 1, 3, 3 };
    cr_real xv[4] = { 1, 2, 3, 4 }, wv[9] = { 1, 2, 3, 4, 5, 6, 7, 8, 9 };
    cr_tape *t = cr_tape_new(0);
    cr_tensor *x = cr_var(t, 4, sx, xv), *w = cr_var(t, 4, sw, wv);
    cr_conv2d_opts o = { .padding = { 1, 1 } };
    cr_tensor *y = cr_conv2d(t, x, w, NULL, &o);
    assert_non_null(y);
    assert_int_equal(y->shape[2], 1);
    assert_int_equal(y->shape[3], 4);
    const double ey[4] = { 17, 32, 47, 32 };   /* 4 x[q-1] + 5 x[q] + 6 x[q+1] */
    assert_all_close(y->data, ey, 4, 0, 0);
    assert_int_equal(cr_backward(t, cr_sum(t, y)), CR_OK);
    const double edw[9] = { 0, 0, 0, 6, 10, 9, 0, 0, 0 };
    const double edx[4] = { 9, 15, 15, 11 };
    assert_all_close(w->grad, edw, 9, 0, 0);
    assert_all_close(x->grad, edx, 4, 0, 0);
    cr_tape_free(t);
}

typedef struct gc_conv {
    cr_conv2d_opts o;
} gc_conv;

static cr_tensor *build_conv(cr_tape *t, cr_tensor *const *in, int n, void *user)
{
    const gc_conv *g = user;
    return weighted_sum(t, cr_conv2d(t, in[0], in[1], n == 3 ? in[2] : NULL, &g->o));
}

/* Central differences agree with backward (double: <= 1e-6 relative) for strides,
 * paddings, dilations, non-square kernels, groups, with and without bias. */
static void test_conv2d_gradcheck(void **state)
{
    (void)state;
    struct {
        int x[4], w[4];
        cr_conv2d_opts o;
        int bias;
    } g[] = {
        { { 2, 3, 5, 6 }, { 4, 3, 3, 3 }, { { 1, 1 }, { 1, 1 }, { 1, 1 }, 1 }, 1 },
        { { 1, 2, 7, 5 }, { 3, 2, 5, 3 }, { { 2, 1 }, { 2, 1 }, { 1, 1 }, 1 }, 1 },
        { { 2, 4, 6, 6 }, { 2, 2, 3, 2 }, { { 1, 2 }, { 0, 1 }, { 2, 1 }, 2 }, 0 },
        { { 3, 1, 4, 5 }, { 2, 1, 1, 1 }, { { 2, 2 }, { 0, 0 }, { 1, 1 }, 0 }, 1 },
        /* stride 1 with OW == W (ops/conv2d.c's contiguous im2col/col2im blocks):
         * OH < H, a 5x3 kernel, dilation 2 with padding 2 */
        { { 2, 2, 6, 5 }, { 3, 2, 3, 3 }, { { 1, 1 }, { 0, 1 }, { 1, 1 }, 1 }, 1 },
        { { 1, 3, 5, 4 }, { 2, 3, 5, 3 }, { { 1, 1 }, { 2, 1 }, { 1, 1 }, 1 }, 0 },
        { { 2, 2, 7, 6 }, { 2, 2, 3, 3 }, { { 1, 1 }, { 2, 2 }, { 2, 2 }, 1 }, 1 },
    };
    cr_rng r;
    cr_rng_seed(&r, 14);
    for (size_t k = 0; k < sizeof g / sizeof g[0]; k++) {
        int O = g[k].w[0];
        cr_tensor *in[3] = { rand_param(&r, 4, g[k].x, -1, 1), rand_param(&r, 4, g[k].w, -1, 1),
                             g[k].bias ? rand_param(&r, 1, &O, -1, 1) : NULL };
        gc_conv u = { g[k].o };
        char what[32];
        snprintf(what, sizeof what, "conv2d case %zu", k);
        check_gradients(build_conv, in, g[k].bias ? 3 : 2, &u, what);
        for (int i = 0; i < 3; i++) cr_tensor_free(in[i]);
    }
}

/* One conv + bias + relu + max pool step with n threads: y, the loss and every
 * gradient, copied out. Shapes large enough that the passes and GEMMs split. */
typedef struct run_out {
    cr_real *y, *dx, *dw, *db;
    size_t ny, nx, nw;
} run_out;

static run_out conv_step(int threads)
{
    int sx[4] = { 8, 16, 16, 16 }, sw[4] = { 16, 16, 3, 3 }, sb[1] = { 16 };
    cr_rng r;
    cr_rng_seed(&r, 3);
    cr_tensor *x = rand_param(&r, 4, sx, -1, 1), *w = rand_param(&r, 4, sw, -0.3, 0.3);
    cr_tensor *b = rand_param(&r, 1, sb, -0.1, 0.1);
    cr_tape *t = cr_tape_new(0);
    assert_int_equal(cr_tape_set_threads(t, threads), CR_OK);
    assert_int_equal(cr_pool_threads(cr_tape_pool(t)), threads);
    cr_conv2d_opts o = { { 1, 1 }, { 1, 1 }, { 1, 1 }, 1 };
    cr_tensor *y = cr_conv2d(t, x, w, b, &o);
    cr_pool2d_opts po = { { 2, 2 }, { 2, 2 }, { 0, 0 } };
    cr_tensor *loss = weighted_sum(t, cr_max_pool2d(t, cr_relu(t, y), &po));
    assert_non_null(loss);
    assert_int_equal(cr_backward(t, loss), CR_OK);
    run_out out = { malloc(y->size * sizeof(cr_real)), malloc(x->size * sizeof(cr_real)),
                    malloc(w->size * sizeof(cr_real)), malloc(16 * sizeof(cr_real)),
                    y->size, x->size, w->size };
    memcpy(out.y, y->data, y->size * sizeof(cr_real));
    memcpy(out.dx, x->grad, x->size * sizeof(cr_real));
    memcpy(out.dw, w->grad, w->size * sizeof(cr_real));
    memcpy(out.db, b->grad, 16 * sizeof(cr_real));
    cr_tape_free(t);
    cr_tensor_free(x);
    cr_tensor_free(w);
    cr_tensor_free(b);
    return out;
}

static void free_run(run_out *o)
{
    free(o->y);
    free(o->dx);
    free(o->dw);
    free(o->db);
}

/* The output and every gradient are the same bits with 1, 2 and 3 threads. */
static void test_conv2d_bit_identical_for_1_2_3_threads(void **state)
{
    (void)state;
    run_out one = conv_step(1);
    for (int n = 2; n <= 3; n++) {
        run_out more = conv_step(n);
        assert_int_equal(memcmp(one.y, more.y, one.ny * sizeof(cr_real)), 0);
        assert_int_equal(memcmp(one.dx, more.dx, one.nx * sizeof(cr_real)), 0);
        assert_int_equal(memcmp(one.dw, more.dw, one.nw * sizeof(cr_real)), 0);
        assert_int_equal(memcmp(one.db, more.db, 16 * sizeof(cr_real)), 0);
        free_run(&more);
    }
    free_run(&one);
}

/* A first layer (1 channel, 8 filters 3x3, 8 x 28 x 28 images): its 8 x 9 dW goes
 * through cr__gemm_nt_small in 512-column chunks (P = 6,272: 13 of them). dW is
 * the same bits on 1, 2 and 3 threads and matches the formula summed in double
 * (sum over n, p, q of G * x, the bound (P + 8) u sum|G x| as in test_gemm). */
static void test_conv2d_small_weight_gradient_chunked_same_bits_for_1_2_3_threads(void **state)
{
    (void)state;
    enum { N = 8, H = 28, O = 8 };
    int sx[4] = { N, 1, H, H }, sw[4] = { O, 1, 3, 3 };
    assert_true(O * 9 <= CR__NT_SMALL_OUT && cr__gemm_nt_chunks(O, 9, N * H * H) > 3);
    cr_real dw[3][O * 9];
    cr_rng r;
    for (int th = 1; th <= 3; th++) {
        cr_rng_seed(&r, 5);
        cr_tensor *x = rand_param(&r, 4, sx, -1, 1), *w = rand_param(&r, 4, sw, -0.5, 0.5);
        x->flags &= ~(unsigned)CR_REQUIRES_GRAD;   /* a first layer: no dL/dx */
        cr_tape *t = cr_tape_new(0);
        assert_int_equal(cr_tape_set_threads(t, th), CR_OK);
        cr_conv2d_opts o = { { 1, 1 }, { 1, 1 }, { 1, 1 }, 1 };
        cr_tensor *y = cr_conv2d(t, x, w, NULL, &o);
        assert_non_null(y);
        assert_int_equal(cr_backward(t, weighted_sum(t, y)), CR_OK);
        memcpy(dw[th - 1], w->grad, sizeof dw[0]);
        if (th == 1) {                            /* G = dL/dy, read back from the tape */
            for (int oc = 0; oc < O; oc++)
                for (int i = 0; i < 3; i++)
                    for (int j = 0; j < 3; j++) {
                        double ref = 0, mag = 0;
                        for (int n = 0; n < N; n++)
                            for (int p = 0; p < H; p++)
                                for (int q = 0; q < H; q++) {
                                    int h = p - 1 + i, v = q - 1 + j;
                                    if (h < 0 || h >= H || v < 0 || v >= H) continue;
                                    double g = (double)y->grad[((n * O + oc) * H + p) * H + q];
                                    double term = g * (double)x->data[(n * H + h) * H + v];
                                    ref += term;
                                    mag += fabs(term);
                                }
                        double got = (double)dw[0][oc * 9 + i * 3 + j];
                        double u = (sizeof(cr_real) == 8 ? DBL_EPSILON : FLT_EPSILON) / 2;   /* unit roundoff */
                        assert_true(fabs(got - ref) <= (N * H * H + 8) * u * mag);
                    }
        }
        cr_tape_free(t);
        cr_tensor_free(x);
        cr_tensor_free(w);
    }
    assert_memory_equal(dw[0], dw[1], sizeof dw[0]);
    assert_memory_equal(dw[0], dw[2], sizeof dw[0]);
}

/* y = conv2d(x, w, b) and, under loss = weighted_sum(y), dx, dw and db, copied out
 * (db only with a bias), with per-sample products allowed or not; *per_sample says
 * which the node used. Shape d: N C H W O KH KW SH SW PH PW DH DW G has_b. */
static run_out conv_run(const int *d, int allow, int *per_sample)
{
    int sx[4] = { d[0], d[1], d[2], d[3] }, sw[4] = { d[4], d[1] / d[13], d[5], d[6] };
    cr_rng r;
    cr_rng_seed(&r, 17);
    cr_tensor *x = rand_param(&r, 4, sx, -1, 1), *w = rand_param(&r, 4, sw, -0.5, 0.5);
    cr_tensor *b = d[14] ? rand_param(&r, 1, &d[4], -0.2, 0.2) : NULL;
    cr_tape *t = cr_tape_new(0);
    assert_int_equal(cr_tape_set_threads(t, 2), CR_OK);
    cr_conv2d_opts o = { { d[7], d[8] }, { d[9], d[10] }, { d[11], d[12] }, d[13] };
    int old = cr__conv2d_set_per_sample(allow);
    cr_tensor *y = cr_conv2d(t, x, w, b, &o);
    cr__conv2d_set_per_sample(old);
    assert_non_null(y);
    *per_sample = cr__conv2d_per_sample(t, y);
    cr_tensor *loss = weighted_sum(t, y);
    assert_int_equal(cr_backward(t, loss), CR_OK);
    run_out out = { malloc(y->size * sizeof(cr_real)), malloc(x->size * sizeof(cr_real)),
                    malloc(w->size * sizeof(cr_real)), malloc((size_t)d[4] * sizeof(cr_real)),
                    y->size, x->size, w->size };
    memcpy(out.y, y->data, y->size * sizeof(cr_real));
    memcpy(out.dx, x->grad, x->size * sizeof(cr_real));
    memcpy(out.dw, w->grad, w->size * sizeof(cr_real));
    memset(out.db, 0, (size_t)d[4] * sizeof(cr_real));
    if (b) memcpy(out.db, b->grad, (size_t)d[4] * sizeof(cr_real));
    cr_tape_free(t);
    cr_tensor_free(x);
    cr_tensor_free(w);
    cr_tensor_free(b);
    return out;
}

/* Small convolutions run their products per sample (each sample's output written in
 * place, dL/dx's products read dL/dy in place) and give the same bits as the
 * whole-batch products (Yt = W col laid out as y, dcol = W^T Gt): y, dx, dw and db,
 * over strides, padding, dilation, groups, odd sizes, with and without a bias. The
 * per-sample products are taken when GEMM's direct path holds both of a sample's
 * operands (kernel.h): the shapes here need at most 2,520 elements and 36 rows,
 * within the direct path of any cache of 16 KB or more (checked, not assumed). */
static void test_conv2d_per_sample_products_same_bits_as_whole_batch(void **state)
{
    (void)state;
    static const int shapes[][15] = {
        { 4, 4, 8, 8, 6, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1 },       /* 3x3 pad 1 ("same") */
        { 3, 3, 9, 7, 5, 3, 3, 2, 2, 0, 0, 1, 1, 1, 1 },       /* stride 2, odd sizes */
        { 2, 4, 8, 9, 6, 5, 3, 1, 2, 2, 1, 2, 1, 2, 0 },       /* 5x3, dilation, groups */
        { 5, 1, 6, 6, 4, 1, 1, 1, 1, 0, 0, 1, 1, 1, 1 },       /* 1x1, one channel */
    };
    const cr__gemm_blocks bl = cr__gemm_blocking(cr__config_get()->gemm);
    for (size_t k = 0; k < sizeof shapes / sizeof shapes[0]; k++) {
        const int *d = shapes[k];
        int ps0, ps1;
        run_out batch = conv_run(d, 0, &ps0), sample = conv_run(d, 1, &ps1);
        assert_int_equal(ps0, 0);
        if (bl.direct_max >= 2520 && bl.direct_rows >= 36) assert_int_equal(ps1, 1);
        assert_int_equal(memcmp(batch.y, sample.y, batch.ny * sizeof(cr_real)), 0);
        assert_int_equal(memcmp(batch.dx, sample.dx, batch.nx * sizeof(cr_real)), 0);
        assert_int_equal(memcmp(batch.dw, sample.dw, batch.nw * sizeof(cr_real)), 0);
        assert_int_equal(memcmp(batch.db, sample.db, (size_t)d[4] * sizeof(cr_real)), 0);
        free_run(&batch);
        free_run(&sample);
    }
}

/* A CNN training step (conv, relu, max pool, conv, global average pool, linear,
 * softmax-CE, backward), recorded afresh after each reset on 2 threads, makes no
 * heap allocation after the first step; nor does replaying it. */
static void test_cnn_step_allocates_nothing_after_first(void **state)
{
    (void)state;
    cr_test_alloc counter = { 0 };
    cr_test_alloc_install(&counter);
    cr_rng r;
    cr_rng_seed(&r, 6);
    int sx[4] = { 4, 3, 12, 12 }, sw1[4] = { 8, 3, 3, 3 }, sw2[4] = { 6, 8, 3, 3 };
    int sb[1] = { 8 }, sl[2] = { 6, 5 }, sy[1] = { 4 };
    cr_tensor *x = cr_tensor_new(4, sx), *y = cr_tensor_new(1, sy);
    cr_tensor *w1 = rand_param(&r, 4, sw1, -0.3, 0.3), *b1 = rand_param(&r, 1, sb, -0.1, 0.1);
    cr_tensor *w2 = rand_param(&r, 4, sw2, -0.3, 0.3), *l = rand_param(&r, 2, sl, -0.5, 0.5);
    cr_tensor_rand_uniform(x, &r, -1, 1);
    for (int i = 0; i < 4; i++) y->data[i] = (cr_real)i;
    cr_tape *t = cr_tape_new(0);
    assert_int_equal(cr_tape_set_threads(t, 2), CR_OK);
    cr_conv2d_opts o1 = { { 1, 1 }, { 1, 1 }, { 1, 1 }, 1 };
    cr_conv2d_opts o2 = { { 2, 2 }, { 1, 1 }, { 1, 1 }, 1 };
    cr_pool2d_opts po = { { 2, 2 }, { 0, 0 }, { 0, 0 } };
    size_t after_first = 0;
    cr_tensor *loss = NULL;
    for (int step = 0; step < 4; step++) {
        cr_tape_reset(t);
        cr_tensor *h = cr_max_pool2d(t, cr_relu(t, cr_conv2d(t, x, w1, b1, &o1)), &po);
        h = cr_global_avg_pool2d(t, cr_conv2d(t, h, w2, NULL, &o2));
        loss = cr_softmax_cross_entropy(t, cr_linear(t, h, l, NULL), y);
        assert_int_equal(cr_backward(t, loss), CR_OK);
        if (step == 0) after_first = counter.mallocs + counter.reallocs;
    }
    assert_int_equal(counter.mallocs + counter.reallocs, after_first);
    for (int step = 0; step < 3; step++) {
        assert_int_equal(cr_tape_forward(t), CR_OK);
        assert_int_equal(cr_backward(t, loss), CR_OK);
    }
    assert_int_equal(counter.mallocs + counter.reallocs, after_first);
    cr_tape_free(t);
    cr_tensor_free(x);
    cr_tensor_free(y);
    cr_tensor_free(w1);
    cr_tensor_free(b1);
    cr_tensor_free(w2);
    cr_tensor_free(l);
    cr_test_alloc_remove();
}

/* Replay runs the recorded conv on new input: the same values as a new recording. */
static void test_conv2d_replay_uses_new_input(void **state)
{
    (void)state;
    int sx[4] = { 2, 2, 5, 4 }, sw[4] = { 3, 2, 3, 3 };
    cr_rng r;
    cr_rng_seed(&r, 9);
    cr_tensor *w = rand_param(&r, 4, sw, -1, 1);
    cr_conv2d_opts o = { { 2, 1 }, { 1, 2 }, { 1, 2 }, 1 };
    cr_tape *t = cr_tape_new(0), *fresh = cr_tape_new(0);
    cr_tensor *x = cr_var(t, 4, sx, NULL);
    cr_tensor_rand_uniform(x, &r, -1, 1);
    cr_tensor *y = cr_conv2d(t, x, w, NULL, &o);
    assert_non_null(y);
    cr_tensor_rand_uniform(x, &r, -1, 1);           /* new input */
    assert_int_equal(cr_tape_forward(t), CR_OK);
    cr_tensor *y2 = cr_conv2d(fresh, cr_const(fresh, 4, sx, x->data), w, NULL, &o);
    assert_non_null(y2);
    assert_int_equal(y->size, y2->size);
    assert_int_equal(memcmp(y->data, y2->data, y->size * sizeof(cr_real)), 0);
    cr_tape_free(t);
    cr_tape_free(fresh);
    cr_tensor_free(w);
}

/* In no-grad mode conv2d computes its value and records no node. */
static void test_conv2d_no_grad_records_nothing(void **state)
{
    (void)state;
    int sx[4] = { 1, 1, 3, 3 }, sw[4] = { 1, 1, 2, 2 };
    cr_real xv[9] = { 1, 2, 3, 4, 5, 6, 7, 8, 9 }, wv[4] = { 1, 2, 3, 4 };
    cr_tape *t = cr_tape_new(0);
    cr_tensor *x = cr_const(t, 4, sx, xv), *w = cr_const(t, 4, sw, wv);
    size_t nodes = cr_tape_size(t);
    cr_tape_set_grad_mode(t, 0);
    cr_tensor *y = cr_conv2d(t, x, w, NULL, NULL);
    assert_non_null(y);
    assert_int_equal(cr_tape_size(t), nodes);
    const double ey[4] = { 37, 47, 67, 77 };
    assert_all_close(y->data, ey, 4, 0, 0);
    cr_tape_free(t);
}

/* When the im2col scratch does not fit under the arena cap, conv2d fails with the
 * cap named and leaves no node behind (scratch is taken before the node). */
static void test_conv2d_arena_cap_leaves_no_node(void **state)
{
    (void)state;
    int sx[4] = { 1, 1, 32, 32 }, sw[4] = { 1, 1, 3, 3 };
    cr_tape *t = cr_tape_new(4096);
    cr_tensor *x = cr_const(t, 4, sx, NULL), *w = cr_var(t, 4, sw, NULL);
    assert_non_null(x);
    assert_non_null(w);
    size_t nodes = cr_tape_size(t);
    /* room for a few more KB, not for the 9 x 900 im2col matrix */
    cr_tape_set_arena_limit(t, cr_tape_arena_reserved(t) + 8192 + 2 * sizeof(cr_real) * 1024);
    cr_conv2d_opts o = { { 1, 1 }, { 0, 0 }, { 1, 1 }, 1 };
    assert_null(cr_conv2d(t, x, w, NULL, &o));
    assert_int_equal(cr_tape_status(t), CR_ERR_NOMEM);
    assert_tape_error(t, "arena cap");
    assert_int_equal(cr_tape_size(t), nodes);
    cr_tape_free(t);
}

static void expect_conv_error(const int *sx, const int *sw, const int *sb,
                              const cr_conv2d_opts *o, cr_status s, const char *msg)
{
    cr_tape *t = cr_tape_new(0);
    cr_tensor *x = cr_const(t, sx[0], sx + 1, NULL), *w = cr_var(t, sw[0], sw + 1, NULL);
    cr_tensor *b = sb ? cr_var(t, sb[0], sb + 1, NULL) : NULL;
    assert_null(cr_conv2d(t, x, w, b, o));
    assert_int_equal(cr_tape_status(t), s);
    assert_tape_error(t, msg);
    cr_tape_free(t);
}

/* Bad shapes and options are tape errors naming conv2d and the shapes. */
static void test_conv2d_error_messages(void **state)
{
    (void)state;
    int x4[5] = { 4, 2, 3, 8, 8 }, x3[4] = { 3, 3, 8, 8 }, w4[5] = { 4, 4, 3, 3, 3 };
    int w_bad_c[5] = { 4, 4, 2, 3, 3 }, w_big[5] = { 4, 4, 3, 9, 3 }, b_bad[2] = { 1, 5 };
    int w_g[5] = { 4, 6, 1, 3, 3 }, w_gc[5] = { 4, 4, 2, 3, 3 };
    cr_conv2d_opts o = { { 1, 1 }, { 0, 0 }, { 1, 1 }, 1 };
    expect_conv_error(x3, w4, NULL, &o, CR_ERR_SHAPE,
                      "conv2d: x must be N x C x H x W and w O x C/groups x KH x KW (rank 4) "
                      "but x is 3x8x8 and w is 4x3x3x3");
    expect_conv_error(x4, w_bad_c, NULL, &o, CR_ERR_SHAPE,
                      "conv2d: x is 2x3x8x8 (3 channels) but w is 4x2x3x3 (2 input channels)");
    expect_conv_error(x4, w4, b_bad, &o, CR_ERR_SHAPE,
                      "conv2d: b is 5 but w is 4x3x3x3 (b must be a vector of 4)");
    expect_conv_error(x4, w_big, NULL, &o, CR_ERR_SHAPE,
                      "conv2d: x is 2x3x8x8 but the kernel 9x3 with dilation 1x1 spans 9x3, "
                      "more than the 8x8 padded image (padding 0x0)");
    cr_conv2d_opts dil = { { 1, 1 }, { 0, 0 }, { 4, 1 }, 1 };
    expect_conv_error(x4, w4, NULL, &dil, CR_ERR_SHAPE, "spans 9x3, more than the 8x8");
    cr_conv2d_opts g2 = { { 1, 1 }, { 0, 0 }, { 1, 1 }, 2 };
    expect_conv_error(x4, w_g, NULL, &g2, CR_ERR_SHAPE,
                      "conv2d: groups = 2 must divide the 3 channels of x (2x3x8x8) and the 6 "
                      "output channels of w (6x1x3x3)");
    int x6[5] = { 4, 1, 6, 5, 5 };
    expect_conv_error(x6, w_gc, NULL, &g2, CR_ERR_SHAPE,
                      "conv2d: x is 1x6x5x5 (6 channels in 2 groups of 3) but w is 4x2x3x3 (2 "
                      "input channels per group)");
    cr_conv2d_opts neg = { { 1, -1 }, { 0, 0 }, { 1, 1 }, 1 };
    expect_conv_error(x4, w4, NULL, &neg, CR_ERR_ARG,
                      "conv2d: stride 1x-1, padding 0x0, dilation 1x1, groups 1: stride, "
                      "dilation and groups must be >= 1 (0 means 1) and padding >= 0");
    cr_conv2d_opts negp = { { 1, 1 }, { -1, 0 }, { 1, 1 }, 1 };
    expect_conv_error(x4, w4, NULL, &negp, CR_ERR_ARG, "padding -1x0");
    cr_tape *t = cr_tape_new(0);
    assert_null(cr_conv2d(t, NULL, NULL, NULL, NULL));
    assert_tape_error(t, "conv2d: input 1 is NULL");
    cr_tape_free(t);
}

/* A zeroed options struct and NULL both mean stride 1, padding 0, dilation 1,
 * groups 1. */
static void test_conv2d_zero_options_are_pytorch_defaults(void **state)
{
    (void)state;
    int sx[4] = { 1, 2, 4, 5 }, sw[4] = { 3, 2, 2, 3 };
    cr_rng r;
    cr_rng_seed(&r, 2);
    cr_tape *t = cr_tape_new(0);
    cr_tensor *x = cr_const(t, 4, sx, NULL), *w = cr_const(t, 4, sw, NULL);
    cr_tensor_rand_uniform(x, &r, -1, 1);
    cr_tensor_rand_uniform(w, &r, -1, 1);
    cr_conv2d_opts zero = { { 0, 0 }, { 0, 0 }, { 0, 0 }, 0 };
    cr_conv2d_opts ones = { { 1, 1 }, { 0, 0 }, { 1, 1 }, 1 };
    cr_tensor *a = cr_conv2d(t, x, w, NULL, &zero), *b = cr_conv2d(t, x, w, NULL, NULL);
    cr_tensor *c = cr_conv2d(t, x, w, NULL, &ones);
    assert_non_null(a);
    assert_non_null(b);
    assert_non_null(c);
    assert_int_equal(a->shape[2], 3);
    assert_int_equal(a->shape[3], 3);
    assert_int_equal(memcmp(a->data, c->data, a->size * sizeof(cr_real)), 0);
    assert_int_equal(memcmp(b->data, c->data, b->size * sizeof(cr_real)), 0);
    cr_tape_free(t);
}

/* The chain-rule trace and DOT export handle conv2d nodes (a 4x4 image, a 2x2
 * kernel, and a 1x1 output case whose local derivatives the trace computes): the
 * gradients are the same as without the trace. */
static void test_conv2d_trace_and_dot(void **state)
{
    (void)state;
    int sx[4] = { 1, 1, 4, 4 }, sw[4] = { 1, 1, 2, 2 }, sw4[4] = { 1, 1, 4, 4 };
    cr_real xv[16], wv[4] = { 1, -1, 2, 0.5 };
    for (int i = 0; i < 16; i++) xv[i] = (cr_real)(i % 5) - 2;
    cr_real plain[4] = { 0 };
    for (int traced = 0; traced < 2; traced++) {
        cr_tape *t = cr_tape_new(0);
        FILE *f = tmpfile();
        assert_non_null(f);
        if (traced) cr_tape_set_trace(t, f);
        cr_tensor *x = cr_const(t, 4, sx, xv), *w = cr_var(t, 4, sw, wv);
        cr_tensor *w4 = cr_var(t, 4, sw4, xv);
        cr_tensor *y = cr_conv2d(t, x, w, NULL, NULL);           /* 1x1x3x3 */
        cr_tensor *z = cr_conv2d(t, x, w4, NULL, NULL);          /* 1x1x1x1 */
        cr_tensor *loss = cr_add(t, cr_sum(t, y), cr_sum(t, z));
        assert_int_equal(cr_backward(t, loss), CR_OK);
        assert_int_equal(cr_tape_dot(t, f), CR_OK);
        assert_true(ftell(f) > 0);
        if (!traced) memcpy(plain, w->grad, sizeof plain);
        else assert_int_equal(memcmp(plain, w->grad, sizeof plain), 0);
        /* dz/dw4 = x */
        for (int i = 0; i < 16; i++) assert_close_i(w4->grad[i], xv[i], 0, 0, i);
        fclose(f);
        cr_tape_free(t);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_conv2d_matches_pytorch_values_and_gradients),
        cmocka_unit_test(test_conv2d_by_hand),
        cmocka_unit_test(test_conv2d_one_row_image_same_padding_by_hand),
        cmocka_unit_test(test_conv2d_gradcheck),
        cmocka_unit_test(test_conv2d_bit_identical_for_1_2_3_threads),
        cmocka_unit_test(test_conv2d_small_weight_gradient_chunked_same_bits_for_1_2_3_threads),
        cmocka_unit_test(test_conv2d_per_sample_products_same_bits_as_whole_batch),
        cmocka_unit_test(test_cnn_step_allocates_nothing_after_first),
        cmocka_unit_test(test_conv2d_replay_uses_new_input),
        cmocka_unit_test(test_conv2d_no_grad_records_nothing),
        cmocka_unit_test(test_conv2d_arena_cap_leaves_no_node),
        cmocka_unit_test(test_conv2d_error_messages),
        cmocka_unit_test(test_conv2d_zero_options_are_pytorch_defaults),
        cmocka_unit_test(test_conv2d_trace_and_dot),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
