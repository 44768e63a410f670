/* matmul (all transpose combinations), linear, transpose: values, gradients,
 * accumulation, replay, shape errors, and no heap allocation per training step. */
#include "op_grad_helpers.h"

#include <string.h>

static const cr_real A22[4] = { 1, 2, 3, 4 }, B22[4] = { 5, 6, 7, 8 };
static const int S22[2] = { 2, 2 };

/* [[1,2],[3,4]] op [[5,6],[7,8]] by hand: A B, A^T B, A B^T, A^T B^T. */
static void test_matmul_hand_values_all_transposes(void **state)
{
    (void)state;
    static const double want[4][4] = {
        { 19, 22, 43, 50 },   /* A B */
        { 17, 23, 39, 53 },   /* A B^T: rows of A dot rows of B */
        { 26, 30, 38, 44 },   /* A^T B: columns of A dot columns of B */
        { 23, 31, 34, 46 },   /* A^T B^T */
    };
    for (int ta = 0; ta <= 1; ta++)
        for (int tb = 0; tb <= 1; tb++) {
            cr_tape *t = cr_tape_new(0);
            cr_tensor *c = cr_matmul(t, cr_const(t, 2, S22, A22), cr_const(t, 2, S22, B22), ta, tb);
            assert_non_null(c);
            assert_int_equal(c->ndim, 2);
            assert_all_close(c->data, want[2 * ta + tb], 4, 0, 0);
            cr_tape_free(t);
        }
}

/* d sum(A B)/dA[i][k] = sum_j B[k][j] (row sums of B: 11, 15) and
 * d/dB[k][j] = sum_i A[i][k] (column sums of A: 4, 6). */
static void test_matmul_gradient_of_sum_by_hand(void **state)
{
    (void)state;
    cr_tape *t = cr_tape_new(0);
    cr_tensor *a = cr_var(t, 2, S22, A22), *b = cr_var(t, 2, S22, B22);
    assert_int_equal(cr_backward(t, cr_sum(t, cr_matmul(t, a, b, 0, 0))), CR_OK);
    static const double da[4] = { 11, 15, 11, 15 }, db[4] = { 4, 4, 6, 6 };
    assert_all_close(a->grad, da, 4, 0, 0);
    assert_all_close(b->grad, db, 4, 0, 0);
    cr_tape_free(t);
}

/* Non-square: (2x3)(3x1) = [1*1+2*2+3*3, 4+10+18] = [14, 32]; as (3x2)^T too. */
static void test_matmul_non_square_values(void **state)
{
    (void)state;
    static const cr_real a[6] = { 1, 2, 3, 4, 5, 6 }, at[6] = { 1, 4, 2, 5, 3, 6 };
    static const cr_real v[3] = { 1, 2, 3 };
    static const double want[2] = { 14, 32 };
    int sa[2] = { 2, 3 }, sat[2] = { 3, 2 }, sv[2] = { 3, 1 }, svt[2] = { 1, 3 };
    cr_tape *t = cr_tape_new(0);
    cr_tensor *c1 = cr_matmul(t, cr_const(t, 2, sa, a), cr_const(t, 2, sv, v), 0, 0);
    cr_tensor *c2 = cr_matmul(t, cr_const(t, 2, sat, at), cr_const(t, 2, svt, v), 1, 1);
    assert_non_null(c1);
    assert_non_null(c2);
    assert_int_equal(c1->shape[0], 2);
    assert_int_equal(c1->shape[1], 1);
    assert_all_close(c1->data, want, 2, 0, 0);
    assert_all_close(c2->data, want, 2, 0, 0);
    cr_tape_free(t);
}

typedef struct mm_case { int ta, tb; } mm_case;

static cr_tensor *build_matmul(cr_tape *t, cr_tensor *const *in, int n, void *user)
{
    (void)n;
    const mm_case *c = user;
    return weighted_sum(t, cr_matmul(t, in[0], in[1], c->ta, c->tb));
}

/* op(A) is M x K, op(B) is K x N, stored transposed when the flag is set. */
static void gradcheck_matmul(cr_rng *r, int M, int K, int N, int ta, int tb)
{
    int sa[2] = { ta ? K : M, ta ? M : K }, sb[2] = { tb ? N : K, tb ? K : N };
    cr_tensor *in[2] = { rand_param(r, 2, sa, -1, 1), rand_param(r, 2, sb, -1, 1) };
    mm_case c = { ta, tb };
    char what[64];
    snprintf(what, sizeof what, "matmul %dx%d.%dx%d ta=%d tb=%d", M, K, K, N, ta, tb);
    check_gradients(build_matmul, in, 2, &c, what);
    cr_tensor_free(in[0]);
    cr_tensor_free(in[1]);
}

static void test_matmul_gradcheck_all_transposes_and_odd_sizes(void **state)
{
    (void)state;
    static const int sizes[][3] = { { 1, 1, 1 }, { 3, 5, 2 }, { 17, 33, 5 }, { 1, 4, 6 } };
    cr_rng r;
    cr_rng_seed(&r, 1);
    for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++)
        for (int ta = 0; ta <= 1; ta++)
            for (int tb = 0; tb <= 1; tb++)
                gradcheck_matmul(&r, sizes[s][0], sizes[s][1], sizes[s][2], ta, tb);
}

static cr_tensor *build_gram(cr_tape *t, cr_tensor *const *in, int n, void *user)
{
    (void)n;
    (void)user;
    return weighted_sum(t, cr_matmul(t, in[0], in[0], 0, 1));   /* A A^T */
}

/* A used as both operands: its two gradient products must add up. */
static void test_matmul_same_tensor_both_sides_gradcheck(void **state)
{
    (void)state;
    cr_rng r;
    cr_rng_seed(&r, 2);
    int s[2] = { 4, 3 };
    cr_tensor *a = rand_param(&r, 2, s, -1, 1);
    check_gradients(build_gram, &a, 1, NULL, "A A^T");
    cr_tensor_free(a);
}

/* Backward uses beta = 1: a parameter's gradient grows by the same amount on a
 * second pass instead of being overwritten. */
static void test_matmul_gradient_accumulates_into_parameter(void **state)
{
    (void)state;
    cr_tensor *a = cr_param_new(2, S22), *b = cr_param_new(2, S22);
    cr_tensor_set(a, A22, 4);
    cr_tensor_set(b, B22, 4);
    cr_tape *t = cr_tape_new(0);
    for (int step = 1; step <= 2; step++) {
        cr_tape_reset(t);
        assert_int_equal(cr_backward(t, cr_sum(t, cr_matmul(t, a, b, 1, 0))), CR_OK);
        /* d sum(A^T B)/dA[k][i] = sum_j B[k][j] = 11, 15 by row of A */
        double da[4] = { 11. * step, 11. * step, 15. * step, 15. * step };
        double db[4] = { 3. * step, 3. * step, 7. * step, 7. * step };
        assert_all_close(a->grad, da, 4, 0, 0);
        assert_all_close(b->grad, db, 4, 0, 0);
    }
    cr_tape_free(t);
    cr_tensor_free(a);
    cr_tensor_free(b);
}

/* Only the input that needs a gradient gets one. */
static void test_matmul_constant_operand_gets_no_gradient(void **state)
{
    (void)state;
    cr_tape *t = cr_tape_new(0);
    cr_tensor *a = cr_var(t, 2, S22, A22), *b = cr_const(t, 2, S22, B22);
    assert_int_equal(cr_backward(t, cr_sum(t, cr_matmul(t, a, b, 0, 0))), CR_OK);
    assert_null(b->grad);
    static const double da[4] = { 11, 15, 11, 15 };
    assert_all_close(a->grad, da, 4, 0, 0);
    cr_tape_free(t);
}

static void test_matmul_replay_uses_new_input(void **state)
{
    (void)state;
    cr_tape *t = cr_tape_new(0);
    cr_tensor *a = cr_var(t, 2, S22, A22), *b = cr_var(t, 2, S22, B22);
    cr_tensor *c = cr_matmul(t, a, b, 0, 0);
    cr_tensor *loss = cr_sum(t, c);
    assert_int_equal(cr_backward(t, loss), CR_OK);
    static const cr_real a2[4] = { 0, 1, 1, 0 };   /* swaps B's rows */
    memcpy(a->data, a2, sizeof a2);
    assert_int_equal(cr_tape_forward(t), CR_OK);
    static const double want[4] = { 7, 8, 5, 6 };
    assert_all_close(c->data, want, 4, 0, 0);
    assert_close(cr_item(loss), 26, 0, 0);
    assert_int_equal(cr_backward(t, loss), CR_OK);
    static const double db[4] = { 1, 1, 1, 1 };     /* column sums of the new A */
    assert_all_close(b->grad, db, 4, 0, 0);
    cr_tape_free(t);
}

static void test_matmul_shape_errors(void **state)
{
    (void)state;
    int s23[2] = { 2, 3 }, s45[2] = { 4, 5 }, s3[1] = { 3 }, s32[2] = { 3, 2 };
    cr_tape *t = cr_tape_new(0);
    assert_null(cr_matmul(t, cr_const(t, 2, s23, NULL), cr_const(t, 2, s45, NULL), 0, 0));
    assert_tape_error(t, "matmul: a is 2x3 but b is 4x5");
    assert_int_equal(cr_tape_status(t), CR_ERR_SHAPE);

    cr_tape_reset(t);
    assert_null(cr_matmul(t, cr_const(t, 2, s23, NULL), cr_const(t, 2, s23, NULL), 0, 0));
    assert_tape_error(t, "matmul: a is 2x3 but b is 2x3 (inner dimensions 3 and 2 differ)");

    cr_tape_reset(t);   /* 2x3 transposed is 3x2: needs b with 2 rows, b^T 3x2 has 3 */
    assert_null(cr_matmul(t, cr_const(t, 2, s23, NULL), cr_const(t, 2, s23, NULL), 1, 1));
    assert_tape_error(t, "matmul: a is 2x3 transposed but b is 2x3 transposed (inner "
                         "dimensions 2 and 3 differ)");

    cr_tape_reset(t);   /* but (2x3)^T (2x3) and (2x3)(2x3)^T are fine */
    assert_non_null(cr_matmul(t, cr_const(t, 2, s23, NULL), cr_const(t, 2, s23, NULL), 1, 0));
    assert_non_null(cr_matmul(t, cr_const(t, 2, s23, NULL), cr_const(t, 2, s23, NULL), 0, 1));
    assert_non_null(cr_matmul(t, cr_const(t, 2, s23, NULL), cr_const(t, 2, s32, NULL), 0, 0));

    cr_tape_reset(t);
    assert_null(cr_matmul(t, cr_const(t, 1, s3, NULL), cr_const(t, 2, s32, NULL), 0, 0));
    assert_tape_error(t, "matmul: a and b must be 2-D but a is 3 and b is 3x2");

    cr_tape_reset(t);
    assert_null(cr_matmul(t, cr_const(t, 2, s23, NULL), NULL, 0, 0));
    assert_tape_error(t, "matmul: input 2 is NULL");
    /* sticky: a later valid op returns NULL and keeps the first message */
    assert_null(cr_matmul(t, cr_const(t, 2, s23, NULL), cr_const(t, 2, s32, NULL), 0, 0));
    assert_tape_error(t, "matmul: input 2 is NULL");
    cr_tape_free(t);
}

/* [1,2] [[1,2,3],[4,5,6]] + [0.5,-1,2] = [9.5, 11, 17]. */
static void test_linear_hand_values(void **state)
{
    (void)state;
    static const cr_real x[2] = { 1, 2 }, w[6] = { 1, 2, 3, 4, 5, 6 }, b[3] = { 0.5, -1, 2 };
    static const double want[3] = { 9.5, 11, 17 }, want_nob[3] = { 9, 12, 15 };
    int sx[2] = { 1, 2 }, sw[2] = { 2, 3 }, sb[1] = { 3 }, sb2[2] = { 1, 3 };
    cr_tape *t = cr_tape_new(0);
    cr_tensor *xt = cr_const(t, 2, sx, x), *wt = cr_const(t, 2, sw, w);
    cr_tensor *y = cr_linear(t, xt, wt, cr_const(t, 1, sb, b));
    assert_non_null(y);
    assert_int_equal(y->ndim, 2);
    assert_int_equal(y->shape[0], 1);
    assert_int_equal(y->shape[1], 3);
    assert_all_close(y->data, want, 3, 0, 0);
    cr_tensor *y2 = cr_linear(t, xt, wt, cr_const(t, 2, sb2, b));   /* b as 1 x out */
    assert_all_close(y2->data, want, 3, 0, 0);
    cr_tensor *y3 = cr_linear(t, xt, wt, NULL);
    assert_all_close(y3->data, want_nob, 3, 0, 0);
    cr_tensor *y4 = cr_linear(t, cr_const(t, 1, &sx[1], x), wt, cr_const(t, 1, sb, b));
    assert_non_null(y4);                                             /* vector in, vector out */
    assert_int_equal(y4->ndim, 1);
    assert_int_equal(y4->shape[0], 3);
    assert_all_close(y4->data, want, 3, 0, 0);
    cr_tape_free(t);
}

/* Gradients of sum(x W + b) by hand: dx = row sums of W, dW[i][j] = column sums of
 * x, db = N (number of rows). */
static void test_linear_gradient_of_sum_by_hand(void **state)
{
    (void)state;
    static const cr_real x[4] = { 1, 2, 3, 4 }, w[6] = { 1, 2, 3, 4, 5, 6 }, b[3] = { 0, 0, 0 };
    int sx[2] = { 2, 2 }, sw[2] = { 2, 3 }, sb[1] = { 3 };
    cr_tape *t = cr_tape_new(0);
    cr_tensor *xt = cr_var(t, 2, sx, x), *wt = cr_var(t, 2, sw, w), *bt = cr_var(t, 1, sb, b);
    assert_int_equal(cr_backward(t, cr_sum(t, cr_linear(t, xt, wt, bt))), CR_OK);
    static const double dx[4] = { 6, 15, 6, 15 }, dw[6] = { 4, 4, 4, 6, 6, 6 }, db[3] = { 2, 2, 2 };
    assert_all_close(xt->grad, dx, 4, 0, 0);
    assert_all_close(wt->grad, dw, 6, 0, 0);
    assert_all_close(bt->grad, db, 3, 0, 0);
    cr_tape_free(t);
}

static cr_tensor *build_linear(cr_tape *t, cr_tensor *const *in, int n, void *user)
{
    (void)user;
    return weighted_sum(t, cr_linear(t, in[0], in[1], n > 2 ? in[2] : NULL));
}

static void test_linear_gradcheck_with_and_without_bias(void **state)
{
    (void)state;
    static const int sizes[][3] = { { 1, 1, 1 }, { 4, 3, 5 }, { 17, 33, 5 }, { 6, 2, 9 } };
    cr_rng r;
    cr_rng_seed(&r, 3);
    for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++)
        for (int with_b = 0; with_b <= 1; with_b++) {
            int N = sizes[s][0], I = sizes[s][1], O = sizes[s][2];
            int sx[2] = { N, I }, sw[2] = { I, O }, sb[1] = { O };
            cr_tensor *in[3] = { rand_param(&r, 2, sx, -1, 1), rand_param(&r, 2, sw, -1, 1),
                                 rand_param(&r, 1, sb, -1, 1) };
            char what[64];
            snprintf(what, sizeof what, "linear %dx%d.%dx%d bias=%d", N, I, I, O, with_b);
            check_gradients(build_linear, in, with_b ? 3 : 2, NULL, what);
            for (int k = 0; k < 3; k++) cr_tensor_free(in[k]);
        }
}

/* The fused op equals matmul followed by adding b to every row. */
static void test_linear_matches_matmul_plus_bias(void **state)
{
    (void)state;
    cr_rng r;
    cr_rng_seed(&r, 4);
    int sx[2] = { 5, 7 }, sw[2] = { 7, 3 }, sb[1] = { 3 };
    cr_tensor *x = rand_param(&r, 2, sx, -1, 1), *w = rand_param(&r, 2, sw, -1, 1);
    cr_tensor *b = rand_param(&r, 1, sb, -1, 1);
    cr_tape *t = cr_tape_new(0);
    cr_tensor *y = cr_linear(t, x, w, b), *m = cr_matmul(t, x, w, 0, 0);
    assert_non_null(y);
    for (int i = 0; i < 5; i++)
        for (int j = 0; j < 3; j++)
            assert_close_i(y->data[i * 3 + j], (double)m->data[i * 3 + j] + b->data[j],
                           TOL(1e-15, 1e-6), 0, i * 3 + j);
    cr_tape_free(t);
    cr_tensor_free(x);
    cr_tensor_free(w);
    cr_tensor_free(b);
}

static void test_linear_shape_errors(void **state)
{
    (void)state;
    int s23[2] = { 2, 3 }, s45[2] = { 4, 5 }, s35[2] = { 3, 5 }, s4[1] = { 4 }, s25[2] = { 2, 5 };
    int s3[3] = { 2, 3, 1 };
    cr_tape *t = cr_tape_new(0);
    assert_null(cr_linear(t, cr_const(t, 2, s23, NULL), cr_const(t, 2, s45, NULL), NULL));
    assert_tape_error(t, "linear: x is 2x3 but W is 4x5");
    cr_tape_reset(t);
    assert_null(cr_linear(t, cr_const(t, 2, s23, NULL), cr_const(t, 2, s35, NULL),
                          cr_const(t, 1, s4, NULL)));
    assert_tape_error(t, "linear: b is 4 but W is 3x5 (b must have 5 elements");
    cr_tape_reset(t);
    assert_null(cr_linear(t, cr_const(t, 2, s23, NULL), cr_const(t, 2, s35, NULL),
                          cr_const(t, 2, s25, NULL)));
    assert_tape_error(t, "linear: b is 2x5 but W is 3x5");
    cr_tape_reset(t);
    assert_null(cr_linear(t, cr_const(t, 3, s3, NULL), cr_const(t, 2, s35, NULL), NULL));
    assert_tape_error(t, "linear: x must be N x in (or a vector) and W in x out, but x is 2x3x1");
    cr_tape_reset(t);
    assert_null(cr_linear(t, NULL, cr_const(t, 2, s35, NULL), NULL));
    assert_tape_error(t, "linear: input 1 is NULL");
    cr_tape_free(t);
}

/* [[1,2,3],[4,5,6]]^T = [[1,4],[2,5],[3,6]]; the gradient of sum(w * x^T) is w^T. */
static void test_transpose_values_and_gradient(void **state)
{
    (void)state;
    static const cr_real x[6] = { 1, 2, 3, 4, 5, 6 }, w[6] = { 1, 2, 3, 4, 5, 6 };
    static const double want[6] = { 1, 4, 2, 5, 3, 6 };
    int s23[2] = { 2, 3 }, s32[2] = { 3, 2 };
    cr_tape *t = cr_tape_new(0);
    cr_tensor *xt = cr_var(t, 2, s23, x);
    cr_tensor *y = cr_transpose(t, xt);
    assert_non_null(y);
    assert_int_equal(y->shape[0], 3);
    assert_int_equal(y->shape[1], 2);
    assert_all_close(y->data, want, 6, 0, 0);
    assert_int_equal(cr_backward(t, cr_sum(t, cr_mul(t, y, cr_const(t, 2, s32, w)))), CR_OK);
    static const double dx[6] = { 1, 3, 5, 2, 4, 6 };   /* w (3x2) transposed */
    assert_all_close(xt->grad, dx, 6, 0, 0);
    cr_tape_free(t);
}

static cr_tensor *build_transpose(cr_tape *t, cr_tensor *const *in, int n, void *user)
{
    (void)n;
    (void)user;
    return weighted_sum(t, cr_transpose(t, in[0]));
}

static void test_transpose_gradcheck(void **state)
{
    (void)state;
    static const int sizes[][2] = { { 1, 1 }, { 1, 7 }, { 5, 3 }, { 33, 40 } };
    cr_rng r;
    cr_rng_seed(&r, 5);
    for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
        cr_tensor *x = rand_param(&r, 2, sizes[s], -1, 1);
        check_gradients(build_transpose, &x, 1, NULL, "transpose");
        cr_tensor_free(x);
    }
}

static void test_transpose_rejects_non_matrix(void **state)
{
    (void)state;
    int s[3] = { 2, 3, 4 };
    cr_tape *t = cr_tape_new(0);
    assert_null(cr_transpose(t, cr_const(t, 3, s, NULL)));
    assert_tape_error(t, "transpose: x must be 2-D but is 2x3x4");
    cr_tape_free(t);
}

/* A training step (linear, softmax cross-entropy, backward, reset) stops making
 * heap allocations after the first step: matmul/linear only use the arena. */
static void test_linear_training_step_allocates_nothing_after_first(void **state)
{
    (void)state;
    cr_test_alloc counter = { 0 };
    cr_test_alloc_install(&counter);
    cr_rng r;
    cr_rng_seed(&r, 6);
    int sx[2] = { 8, 10 }, sw[2] = { 10, 4 }, sb[1] = { 4 }, sy[1] = { 8 };
    cr_tensor *x = cr_tensor_new(2, sx), *y = cr_tensor_new(1, sy);
    cr_tensor *w = cr_param_new(2, sw), *b = cr_param_new(1, sb);
    cr_tensor_rand_uniform(x, &r, -1, 1);
    cr_tensor_rand_uniform(w, &r, -1, 1);
    for (int i = 0; i < 8; i++) y->data[i] = (cr_real)(i % 4);
    cr_tape *t = cr_tape_new(0);
    size_t after_first = 0;
    for (int step = 0; step < 4; step++) {
        cr_tape_reset(t);
        cr_tensor *h = cr_linear(t, x, w, b);
        cr_tensor *loss = cr_softmax_cross_entropy(t, cr_matmul(t, h, cr_transpose(t, h), 0, 0), y);
        assert_int_equal(cr_backward(t, loss), CR_OK);
        if (step == 0) after_first = counter.mallocs + counter.reallocs;
    }
    assert_int_equal(counter.mallocs + counter.reallocs, after_first);
    cr_tape_free(t);
    cr_tensor_free(x);
    cr_tensor_free(y);
    cr_tensor_free(w);
    cr_tensor_free(b);
    cr_test_alloc_remove();
}

/* An op whose output does not fit under the arena cap fails cleanly with the
 * arena's message, and the tape stays usable after a reset. */
static void test_matmul_reports_arena_cap(void **state)
{
    (void)state;
    int s[2] = { 100, 100 };
    cr_tensor *a = cr_tensor_new(2, s);
    cr_tape *t = cr_tape_new(4096);
    cr_tape_set_arena_limit(t, 4096);
    assert_null(cr_matmul(t, a, a, 0, 1));
    assert_int_equal(cr_tape_status(t), CR_ERR_NOMEM);
    assert_tape_error(t, "arena");
    cr_tape_reset(t);
    cr_tape_set_arena_limit(t, 0);
    assert_non_null(cr_linear(t, a, a, NULL));
    cr_tape_free(t);
    cr_tensor_free(a);
}

static void test_matrix_ops_reject_null_input(void **state)
{
    (void)state;
    cr_tape *t = cr_tape_new(0);
    assert_null(cr_transpose(t, NULL));
    assert_tape_error(t, "transpose: input 1 is NULL");
    cr_tape_reset(t);
    assert_null(cr_linear(t, cr_const(t, 2, S22, A22), NULL, NULL));
    assert_tape_error(t, "linear: input 2 is NULL");
    assert_null(cr_matmul(NULL, NULL, NULL, 0, 0));    /* no tape: nothing to record on */
    cr_tape_free(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_matmul_hand_values_all_transposes),
        cmocka_unit_test(test_matmul_gradient_of_sum_by_hand),
        cmocka_unit_test(test_matmul_non_square_values),
        cmocka_unit_test(test_matmul_gradcheck_all_transposes_and_odd_sizes),
        cmocka_unit_test(test_matmul_same_tensor_both_sides_gradcheck),
        cmocka_unit_test(test_matmul_gradient_accumulates_into_parameter),
        cmocka_unit_test(test_matmul_constant_operand_gets_no_gradient),
        cmocka_unit_test(test_matmul_replay_uses_new_input),
        cmocka_unit_test(test_matmul_shape_errors),
        cmocka_unit_test(test_linear_hand_values),
        cmocka_unit_test(test_linear_gradient_of_sum_by_hand),
        cmocka_unit_test(test_linear_gradcheck_with_and_without_bias),
        cmocka_unit_test(test_linear_matches_matmul_plus_bias),
        cmocka_unit_test(test_linear_shape_errors),
        cmocka_unit_test(test_transpose_values_and_gradient),
        cmocka_unit_test(test_transpose_gradcheck),
        cmocka_unit_test(test_transpose_rejects_non_matrix),
        cmocka_unit_test(test_linear_training_step_allocates_nothing_after_first),
        cmocka_unit_test(test_matmul_reports_arena_cap),
        cmocka_unit_test(test_matrix_ops_reject_null_input),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
