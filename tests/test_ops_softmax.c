/* softmax, log_softmax, softmax_cross_entropy, bce_with_logits: values against
 * closed forms and PyTorch (tests/fixtures/softmax_ce_fixture.h, made by
 * tools/fixtures/make_softmax_ce_fixture.py), stability at logits of +-1e4 and
 * +-100, gradients, replay with new labels, errors. */
#include "op_grad_helpers.h"
#include "fixtures/softmax_ce_fixture.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Fixture comparisons: PyTorch float64 against our double (1e-12) or float (1e-5). */
#define FIX_TOL TOL(1e-12, 1e-5)

static cr_tensor *from_doubles(cr_tape *t, int ndim, const int *shape, const double *v,
                               int need_grad)
{
    cr_real buf[64];
    size_t n = 1;
    for (int i = 0; i < ndim; i++) n *= (size_t)shape[i];
    assert_true(n <= 64);
    for (size_t i = 0; i < n; i++) buf[i] = (cr_real)v[i];
    return need_grad ? cr_var(t, ndim, shape, buf) : cr_const(t, ndim, shape, buf);
}

/* softmax([1,2,3]) = e^k / (e + e^2 + e^3), closed form. */
static void test_softmax_closed_form_values(void **state)
{
    (void)state;
    int s3 = 3;
    double d = exp(1) + exp(2) + exp(3);
    double want[3] = { exp(1) / d, exp(2) / d, exp(3) / d };
    cr_tape *t = cr_tape_new(0);
    cr_tensor *y = cr_softmax(t, cr_const(t, 1, &s3, (cr_real[]){ 1, 2, 3 }));
    assert_non_null(y);
    assert_all_close(y->data, want, 3, TOL(1e-15, 1e-7), 0);
    double lwant[3] = { 1 - log(d), 2 - log(d), 3 - log(d) };
    cr_tensor *ly = cr_log_softmax(t, cr_const(t, 1, &s3, (cr_real[]){ 1, 2, 3 }));
    assert_all_close(ly->data, lwant, 3, TOL(1e-15, 1e-6), 0);
    cr_tape_free(t);
}

static void test_softmax_rows_sum_to_one(void **state)
{
    (void)state;
    int s[2] = { 6, 9 };
    cr_rng r;
    cr_rng_seed(&r, 31);
    cr_tensor *x = rand_param(&r, 2, s, -30, 30);
    cr_tape *t = cr_tape_new(0);
    cr_tensor *y = cr_softmax(t, x);
    for (int i = 0; i < 6; i++) {
        double sum = 0;
        for (int j = 0; j < 9; j++) {
            assert_true(y->data[i * 9 + j] >= 0);
            sum += y->data[i * 9 + j];
        }
        assert_close_i(sum, 1, TOL(1e-14, 1e-6), 0, i);
    }
    cr_tape_free(t);
    cr_tensor_free(x);
}

/* Logits of +-1e4: e^(2e4) overflows any float type, the max-shifted form does not. */
static void test_softmax_and_log_softmax_finite_at_1e4(void **state)
{
    (void)state;
    int s[2] = { 2, 2 };
    cr_real z[4] = { 1e4, -1e4, -1e4, 1e4 };
    static const double p[4] = { 1, 0, 0, 1 }, lp[4] = { 0, -2e4, -2e4, 0 };
    cr_tape *t = cr_tape_new(0);
    cr_tensor *x = cr_var(t, 2, s, z);
    cr_tensor *y = cr_softmax(t, x), *ly = cr_log_softmax(t, x);
    assert_all_close(y->data, p, 4, 0, 0);
    assert_all_close(ly->data, lp, 4, 0, 0);
    assert_int_equal(cr_backward(t, cr_add(t, cr_sum(t, y), cr_sum(t, ly))), CR_OK);
    for (int i = 0; i < 4; i++) assert_true(isfinite(x->grad[i]));
    /* d sum(softmax) = 0; d sum(log_softmax)_i = 1 - C p_i = -1, 1, 1, -1 */
    static const double dx[4] = { -1, 1, 1, -1 };
    assert_all_close(x->grad, dx, 4, 1e-12, 0);
    cr_tape_free(t);
}

static void test_log_softmax_and_softmax_match_pytorch(void **state)
{
    (void)state;
    int s[2] = { LS_ROWS, LS_CLASSES };
    for (int which = 0; which < 2; which++) {
        cr_tape *t = cr_tape_new(0);
        cr_tensor *z = from_doubles(t, 2, s, ls_logits, 1);
        cr_tensor *y = which ? cr_softmax(t, z) : cr_log_softmax(t, z);
        assert_all_close(y->data, which ? softmax_out : log_softmax_out, LS_ROWS * LS_CLASSES,
                         FIX_TOL, FIX_TOL);
        cr_tensor *w = from_doubles(t, 2, s, ls_weights, 0);
        assert_int_equal(cr_backward(t, cr_sum(t, cr_mul(t, y, w))), CR_OK);
        assert_all_close(z->grad, which ? softmax_dlogits : log_softmax_dlogits,
                         LS_ROWS * LS_CLASSES, FIX_TOL, FIX_TOL);
        cr_tape_free(t);
    }
}

static cr_tensor *build_softmax(cr_tape *t, cr_tensor *const *in, int n, void *user)
{
    (void)n;
    int log = *(const int *)user;
    return weighted_sum(t, log ? cr_log_softmax(t, in[0]) : cr_softmax(t, in[0]));
}

static void test_softmax_and_log_softmax_gradcheck(void **state)
{
    (void)state;
    static const int shapes[][2] = { { 1, 1 }, { 1, 5 }, { 4, 3 }, { 7, 10 } };
    cr_rng r;
    cr_rng_seed(&r, 32);
    for (int log = 0; log <= 1; log++)
        for (size_t s = 0; s < 4; s++)
            for (int rank = 1; rank <= 2; rank++) {
                if (rank == 1 && shapes[s][0] != 1) continue;
                const int *shape = rank == 1 ? &shapes[s][1] : shapes[s];
                cr_tensor *x = rand_param(&r, rank, shape, -3, 3);
                char what[48];
                snprintf(what, sizeof what, "%s rank %d", log ? "log_softmax" : "softmax", rank);
                check_gradients(build_softmax, &x, 1, &log, what);
                cr_tensor_free(x);
            }
}

static void test_softmax_errors(void **state)
{
    (void)state;
    int s3[3] = { 2, 2, 2 };
    cr_tape *t = cr_tape_new(0);
    assert_null(cr_softmax(t, cr_const(t, 3, s3, NULL)));
    assert_tape_error(t, "softmax: x must be 1-D or 2-D (rows x classes) but is 2x2x2");
    cr_tape_reset(t);
    assert_null(cr_log_softmax(t, cr_scalar(t, 1)));
    assert_tape_error(t, "log_softmax: x must be 1-D or 2-D (rows x classes) but is scalar");
    cr_tape_free(t);
}

static void test_softmax_cross_entropy_matches_pytorch(void **state)
{
    (void)state;
    int s[2] = { CE_ROWS, CE_CLASSES }, sy = CE_ROWS;
    cr_tape *t = cr_tape_new(0);
    cr_tensor *z = from_doubles(t, 2, s, ce_logits, 1);
    cr_tensor *y = from_doubles(t, 1, &sy, ce_targets, 0);
    cr_tensor *loss = cr_softmax_cross_entropy(t, z, y);
    assert_non_null(loss);
    assert_int_equal(loss->ndim, 0);
    assert_close(cr_item(loss), ce_loss, FIX_TOL, FIX_TOL);
    assert_int_equal(cr_backward(t, loss), CR_OK);
    assert_all_close(z->grad, ce_dlogits, CE_ROWS * CE_CLASSES, FIX_TOL, FIX_TOL);
    cr_tape_free(t);
}

/* The gradient is (softmax(z) - onehot(y)) / N element by element, with softmax and
 * the loss mean(log sum e^z - z[y]) computed here by hand in double. */
static void test_softmax_cross_entropy_gradient_is_softmax_minus_onehot_over_n(void **state)
{
    (void)state;
    enum { N = 6, C = 4 };
    int s[2] = { N, C }, sy = N;
    cr_rng r;
    cr_rng_seed(&r, 33);
    cr_tensor *z = rand_param(&r, 2, s, -4, 4);
    cr_tensor *y = cr_tensor_new(1, &sy);
    for (int i = 0; i < N; i++) y->data[i] = (cr_real)cr_rng_below(&r, C);
    cr_tape *t = cr_tape_new(0);
    cr_tensor *loss = cr_softmax_cross_entropy(t, z, y);
    assert_int_equal(cr_backward(t, cr_scale(t, loss, 3)), CR_OK);   /* upstream g = 3 */
    double want_loss = 0, want_grad[N * C];
    for (int i = 0; i < N; i++) {
        double sum = 0;
        for (int j = 0; j < C; j++) sum += exp((double)z->data[i * C + j]);
        int k = (int)y->data[i];
        want_loss += log(sum) - z->data[i * C + k];
        for (int j = 0; j < C; j++)
            want_grad[i * C + j] = 3 * (exp((double)z->data[i * C + j]) / sum - (j == k)) / N;
    }
    assert_close(cr_item(loss), want_loss / N, TOL(1e-14, 1e-6), TOL(1e-14, 1e-6));
    assert_all_close(z->grad, want_grad, N * C, TOL(1e-15, 1e-7), TOL(1e-13, 1e-5));
    assert_null(y->grad);
    cr_tape_free(t);
    cr_tensor_free(z);
    cr_tensor_free(y);
}

/* z = [1e4, -1e4]: target 0 costs log(1 + e^-2e4) = 0, target 1 costs 2e4. */
static void test_softmax_cross_entropy_stable_at_1e4(void **state)
{
    (void)state;
    int s2 = 2, s22[2] = { 2, 2 };
    cr_tape *t = cr_tape_new(0);
    cr_tensor *z = cr_var(t, 1, &s2, (cr_real[]){ 1e4, -1e4 });
    cr_tensor *l0 = cr_softmax_cross_entropy(t, z, cr_scalar_const(t, 0));
    cr_tensor *l1 = cr_softmax_cross_entropy(t, z, cr_scalar_const(t, 1));
    assert_close(cr_item(l0), 0, 0, 0);
    assert_close(cr_item(l1), 2e4, 0, 0);
    assert_int_equal(cr_backward(t, l1), CR_OK);
    static const double dz[2] = { 1, -1 };             /* softmax [1, 0] - onehot [0, 1] */
    assert_all_close(z->grad, dz, 2, 0, 0);
    cr_tape_reset(t);
    cr_tensor *zz = cr_var(t, 2, s22, (cr_real[]){ 1e4, -1e4, -1e4, 1e4 });
    cr_tensor *l = cr_softmax_cross_entropy(t, zz, cr_const(t, 1, &s2, (cr_real[]){ 1, 1 }));
    assert_close(cr_item(l), 1e4, 0, 0);              /* (2e4 + 0) / 2 */
    assert_int_equal(cr_backward(t, l), CR_OK);
    static const double dzz[4] = { 0.5, -0.5, 0, 0 };
    assert_all_close(zz->grad, dzz, 4, 0, 0);
    cr_tape_free(t);
}

typedef struct ce_case { cr_tensor *y; } ce_case;

static cr_tensor *build_ce(cr_tape *t, cr_tensor *const *in, int n, void *user)
{
    (void)n;
    const ce_case *c = user;
    return cr_scale(t, cr_softmax_cross_entropy(t, in[0], c->y), (cr_real)1.7);
}

static void test_softmax_cross_entropy_gradcheck(void **state)
{
    (void)state;
    static const int shapes[][2] = { { 1, 1 }, { 1, 4 }, { 3, 5 }, { 8, 10 } };
    cr_rng r;
    cr_rng_seed(&r, 34);
    for (size_t s = 0; s < 4; s++) {
        cr_tensor *z = rand_param(&r, 2, shapes[s], -3, 3);
        cr_tensor *y = cr_tensor_new(1, &shapes[s][0]);
        for (int i = 0; i < shapes[s][0]; i++) y->data[i] = (cr_real)cr_rng_below(&r, (uint32_t)shapes[s][1]);
        ce_case c = { y };
        check_gradients(build_ce, &z, 1, &c, "softmax_cross_entropy");
        cr_tensor_free(z);
        cr_tensor_free(y);
    }
}

/* Labels are read on every forward: a replay with new labels gives the new loss;
 * a label out of range on replay gives a NaN loss (no error can be raised there). */
static void test_softmax_cross_entropy_replay_reads_labels(void **state)
{
    (void)state;
    int s2 = 2;
    cr_tape *t = cr_tape_new(0);
    cr_tensor *z = cr_var(t, 1, &s2, (cr_real[]){ 0, 0 });
    cr_tensor *y = cr_const(t, 0, NULL, (cr_real[]){ 0 });
    cr_tensor *loss = cr_softmax_cross_entropy(t, cr_add(t, z, cr_const(t, 1, &s2, (cr_real[]){ 0, 2 })), y);
    double lse = log(1 + exp(2.0));
    assert_close(cr_item(loss), lse, TOL(1e-15, 1e-6), 0);
    y->data[0] = 1;
    assert_int_equal(cr_tape_forward(t), CR_OK);
    assert_close(cr_item(loss), lse - 2, TOL(1e-15, 1e-6), 0);
    assert_int_equal(cr_backward(t, loss), CR_OK);
    double p1 = exp(2.0) / (1 + exp(2.0));
    double dz[2] = { 1 - p1, p1 - 1 };
    assert_all_close(z->grad, dz, 2, TOL(1e-15, 1e-7), 0);
    y->data[0] = 7;
    assert_int_equal(cr_tape_forward(t), CR_OK);
    assert_true(isnan(cr_item(loss)));
    assert_null(cr_tape_error(t));
    cr_tape_free(t);
}

static void test_softmax_cross_entropy_errors(void **state)
{
    (void)state;
    int s55[2] = { 5, 5 }, s5 = 5, s4 = 4, s3[3] = { 1, 2, 2 };
    cr_tape *t = cr_tape_new(0);
    cr_tensor *z = cr_const(t, 2, s55, NULL);
    assert_null(cr_softmax_cross_entropy(t, z, cr_const(t, 1, &s5, (cr_real[]){ 0, 1, 4, 7, 2 })));
    assert_tape_error(t, "softmax_cross_entropy: target 7 at row 3 is outside 0..4");
    assert_int_equal(cr_tape_status(t), CR_ERR_ARG);
    cr_tape_reset(t);
    z = cr_const(t, 2, s55, NULL);
    assert_null(cr_softmax_cross_entropy(t, z, cr_const(t, 1, &s5, (cr_real[]){ -1, 1, 4, 3, 2 })));
    assert_tape_error(t, "softmax_cross_entropy: target -1 at row 0 is outside 0..4");
    cr_tape_reset(t);
    z = cr_const(t, 2, s55, NULL);
    assert_null(cr_softmax_cross_entropy(t, z, cr_const(t, 1, &s5, (cr_real[]){ 0, 2.5, 4, 3, 2 })));
    assert_tape_error(t, "softmax_cross_entropy: target 2.5 at row 1 is not a class index "
                         "(a whole number in 0..4)");
    cr_tape_reset(t);
    z = cr_const(t, 2, s55, NULL);
    assert_null(cr_softmax_cross_entropy(t, z, cr_const(t, 1, &s5, (cr_real[]){ 0, 1, NAN, 3, 2 })));
    assert_tape_error(t, "softmax_cross_entropy: target nan at row 2 is not a class index");
    cr_tape_reset(t);
    z = cr_const(t, 2, s55, NULL);
    assert_null(cr_softmax_cross_entropy(t, z, cr_const(t, 1, &s4, NULL)));
    assert_tape_error(t, "softmax_cross_entropy: y is 4 (4 targets) but z is 5x5 (5 rows)");
    cr_tape_reset(t);
    assert_null(cr_softmax_cross_entropy(t, cr_const(t, 3, s3, NULL), cr_const(t, 1, &s4, NULL)));
    assert_tape_error(t, "softmax_cross_entropy: z must be N x C logits (or a vector of C) but is 1x2x2");
    cr_tape_reset(t);
    assert_null(cr_softmax_cross_entropy(t, cr_const(t, 1, &s4, NULL), NULL));
    assert_tape_error(t, "softmax_cross_entropy: input 2 is NULL");
    cr_tape_free(t);
}

/* Per element: z = 100, y = 1 costs log(1 + e^-100) = 3.7e-44; z = -100, y = 1
 * costs 100; z = 100, y = 0 costs 100; z = -100, y = 0 costs 3.7e-44. Gradients
 * s(z) - y: -3.7e-44, -1, 1, 3.7e-44. */
static void test_bce_with_logits_finite_and_correct_at_100(void **state)
{
    (void)state;
    static const cr_real zs[4] = { 100, -100, 100, -100 }, ys[4] = { 1, 1, 0, 0 };
    double tiny = log1p(exp(-100.0));
    double want[4] = { tiny, 100, 100, tiny }, dwant[4] = { 0, -1, 1, 0 };
    for (int i = 0; i < 4; i++) {
        cr_tape *t = cr_tape_new(0);
        cr_tensor *z = cr_scalar(t, zs[i]);
        cr_tensor *l = cr_bce_with_logits(t, z, cr_scalar_const(t, ys[i]));
        assert_true(isfinite(cr_item(l)));
        assert_close_i(cr_item(l), want[i], 1e-40, 1e-15, i);
        assert_int_equal(cr_backward(t, l), CR_OK);
        assert_close_i(cr_grad_item(z), dwant[i], 1e-40, 0, i);
        cr_tape_free(t);
    }
}

static void test_bce_with_logits_matches_pytorch(void **state)
{
    (void)state;
    int s[2] = { 2, 3 };
    cr_tape *t = cr_tape_new(0);
    cr_tensor *z = from_doubles(t, 2, s, bce_logits, 1), *y = from_doubles(t, 2, s, bce_targets, 1);
    cr_tensor *l = cr_bce_with_logits(t, z, y);
    assert_close(cr_item(l), bce_loss, FIX_TOL, FIX_TOL);
    assert_int_equal(cr_backward(t, l), CR_OK);
    assert_all_close(z->grad, bce_dlogits, BCE_SIZE, FIX_TOL, FIX_TOL);
    assert_all_close(y->grad, bce_dtargets, BCE_SIZE, FIX_TOL, FIX_TOL);
    cr_tape_free(t);
}

static cr_tensor *build_bce(cr_tape *t, cr_tensor *const *in, int n, void *user)
{
    (void)n;
    (void)user;
    return cr_bce_with_logits(t, in[0], in[1]);
}

static void test_bce_with_logits_gradcheck(void **state)
{
    (void)state;
    int shapes[][3] = { { 1, 1, 1 }, { 2, 3, 1 }, { 4, 5, 3 } };
    cr_rng r;
    cr_rng_seed(&r, 35);
    for (int s = 0; s < 3; s++) {
        cr_tensor *in[2] = { rand_param(&r, 3, shapes[s], -4, 4), rand_param(&r, 3, shapes[s], 0, 1) };
        check_gradients(build_bce, in, 2, NULL, "bce_with_logits");
        cr_tensor_free(in[0]);
        cr_tensor_free(in[1]);
    }
}

static void test_bce_with_logits_errors(void **state)
{
    (void)state;
    int s34[2] = { 3, 4 }, s43[2] = { 4, 3 }, s12[1] = { 12 };
    cr_tape *t = cr_tape_new(0);
    assert_null(cr_bce_with_logits(t, cr_const(t, 2, s34, NULL), cr_const(t, 2, s43, NULL)));
    assert_tape_error(t, "bce_with_logits: z is 3x4 but y is 4x3 (shapes must match; no broadcasting)");
    cr_tape_reset(t);
    assert_null(cr_bce_with_logits(t, cr_const(t, 2, s34, NULL), cr_const(t, 1, s12, NULL)));
    assert_tape_error(t, "bce_with_logits: z is 3x4 but y is 12");
    cr_tape_reset(t);
    assert_null(cr_bce_with_logits(t, NULL, cr_const(t, 1, s12, NULL)));
    assert_tape_error(t, "bce_with_logits: input 1 is NULL");
    cr_tape_free(t);
}

static void test_softmax_family_rejects_null_input(void **state)
{
    (void)state;
    cr_tape *t = cr_tape_new(0);
    assert_null(cr_softmax(t, NULL));
    assert_tape_error(t, "softmax: input 1 is NULL");
    cr_tape_reset(t);
    assert_null(cr_log_softmax(t, NULL));
    assert_tape_error(t, "log_softmax: input 1 is NULL");
    cr_tape_free(t);
}

/* ------------------------------------------------------------ threads */


static cr_tensor *op_softmax(cr_tape *t, cr_tensor *x) { return cr_softmax(t, x); }
static cr_tensor *op_log_softmax(cr_tape *t, cr_tensor *x) { return cr_log_softmax(t, x); }

/* Rows run on the pool from 32K values: the same bits for any thread count, and the
 * values still a softmax (each row sums to 1). */
static void test_softmax_rows_on_pool_give_the_same_bits_for_1_2_3_threads(void **state)
{
    (void)state;
    assert_pooled_same_bits(op_softmax, "softmax");
    assert_pooled_same_bits(op_log_softmax, "log_softmax");
    cr_real *v = malloc(60000 * sizeof *v), *g = malloc(60000 * sizeof *g);
    run_pooled(op_softmax, 3, v, g);
    for (int r = 0; r < 300; r += 37) {
        double s = 0;
        for (int j = 0; j < 200; j++) s += v[r * 200 + j];
        assert_close_i(s, 1, TOL(1e-12, 1e-5), 0, r);
    }
    free(v);
    free(g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_softmax_closed_form_values),
        cmocka_unit_test(test_softmax_rows_sum_to_one),
        cmocka_unit_test(test_softmax_and_log_softmax_finite_at_1e4),
        cmocka_unit_test(test_log_softmax_and_softmax_match_pytorch),
        cmocka_unit_test(test_softmax_and_log_softmax_gradcheck),
        cmocka_unit_test(test_softmax_errors),
        cmocka_unit_test(test_softmax_cross_entropy_matches_pytorch),
        cmocka_unit_test(test_softmax_cross_entropy_gradient_is_softmax_minus_onehot_over_n),
        cmocka_unit_test(test_softmax_cross_entropy_stable_at_1e4),
        cmocka_unit_test(test_softmax_cross_entropy_gradcheck),
        cmocka_unit_test(test_softmax_cross_entropy_replay_reads_labels),
        cmocka_unit_test(test_softmax_cross_entropy_errors),
        cmocka_unit_test(test_bce_with_logits_finite_and_correct_at_100),
        cmocka_unit_test(test_bce_with_logits_matches_pytorch),
        cmocka_unit_test(test_bce_with_logits_gradcheck),
        cmocka_unit_test(test_bce_with_logits_errors),
        cmocka_unit_test(test_softmax_family_rejects_null_input),
        cmocka_unit_test(test_softmax_rows_on_pool_give_the_same_bits_for_1_2_3_threads),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
