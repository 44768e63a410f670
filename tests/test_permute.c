/* permute: values and gradients against PyTorch float64 x.permute(perm)
 * (tests/fixtures/conv_fixture.h, made by tools/fixtures/make_conv_fixture.py),
 * agreement with cr_transpose, every order of a rank-4 tensor undone by its
 * inverse, negative axes, low ranks, gradient checks, and the error messages. */
#include "op_grad_helpers.h"
#include "fixtures/conv_fixture.h"

#include <string.h>

static cr_tensor *param_from(int ndim, const int *shape, const double *v)
{
    cr_tensor *p = cr_param_new(ndim, shape);
    assert_non_null(p);
    for (size_t i = 0; i < p->size; i++) p->data[i] = (cr_real)v[i];
    return p;
}

static void check_fixture(int ndim, const int *shape, const int *perm, const int *yshape,
                          const double *xv, const double *rv, const double *yv,
                          const double *dxv)
{
    cr_tensor *x = param_from(ndim, shape, xv);
    cr_tape *t = cr_tape_new(0);
    cr_tensor *y = cr_permute(t, x, perm);
    assert_non_null(y);
    assert_int_equal(y->ndim, ndim);
    for (int i = 0; i < ndim; i++) assert_int_equal(y->shape[i], yshape[i]);
    cr_tensor *r = cr_const(t, ndim, yshape, NULL);
    for (size_t i = 0; i < r->size; i++) r->data[i] = (cr_real)rv[i];
    assert_int_equal(cr_backward(t, cr_sum(t, cr_mul(t, y, r))), CR_OK);
    /* a permutation moves values: exact in both builds (the fixture's values are
     * rounded to cr_real first) */
    for (size_t i = 0; i < y->size; i++) assert_close_i(y->data[i], (cr_real)yv[i], 0, 0, i);
    for (size_t i = 0; i < x->size; i++) assert_close_i(x->grad[i], (cr_real)dxv[i], 0, 0, i);
    cr_tape_free(t);
    cr_tensor_free(x);
}

/* y and dx (loss = sum(r * y)) equal PyTorch's for two rank-4 orders and a rank-3 one. */
static void test_permute_matches_pytorch(void **state)
{
    (void)state;
    check_fixture(4, pm1_shape, pm1_perm, pm1_yshape, pm1_x, pm1_r, pm1_y, pm1_dx);
    check_fixture(4, pm2_shape, pm2_perm, pm2_yshape, pm2_x, pm2_r, pm2_y, pm2_dx);
    check_fixture(3, pm3_shape, pm3_perm, pm3_yshape, pm3_x, pm3_r, pm3_y, pm3_dx);
}

/* perm {1, 0} of a matrix is cr_transpose; {-1, -2} (negative axes) too. */
static void test_permute_of_matrix_is_transpose(void **state)
{
    (void)state;
    int s[2] = { 3, 5 };
    cr_rng r;
    cr_rng_seed(&r, 1);
    cr_tape *t = cr_tape_new(0);
    cr_tensor *x = cr_const(t, 2, s, NULL);
    cr_tensor_rand_uniform(x, &r, -1, 1);
    int p[2] = { 1, 0 }, q[2] = { -1, -2 };
    cr_tensor *a = cr_permute(t, x, p), *b = cr_permute(t, x, q), *c = cr_transpose(t, x);
    assert_non_null(a);
    assert_non_null(b);
    assert_non_null(c);
    assert_int_equal(a->shape[0], 5);
    assert_int_equal(a->shape[1], 3);
    assert_int_equal(memcmp(a->data, c->data, c->size * sizeof(cr_real)), 0);
    assert_int_equal(memcmp(b->data, c->data, c->size * sizeof(cr_real)), 0);
    cr_tape_free(t);
}

/* All 24 orders of a 2x3x4x5 tensor: y.shape[k] = x.shape[perm[k]], the element
 * at y index i is x at j with j[perm[k]] = i[k], and permuting back by the inverse
 * order gives x again. */
static void test_permute_every_rank4_order(void **state)
{
    (void)state;
    int s[4] = { 2, 3, 4, 5 };
    cr_tape *t = cr_tape_new(0);
    cr_tensor *x = cr_const(t, 4, s, NULL);
    for (size_t i = 0; i < x->size; i++) x->data[i] = (cr_real)i;
    int count = 0;
    for (int a = 0; a < 4; a++)
        for (int b = 0; b < 4; b++)
            for (int c = 0; c < 4; c++)
                for (int d = 0; d < 4; d++) {
                    if (a == b || a == c || a == d || b == c || b == d || c == d) continue;
                    int perm[4] = { a, b, c, d }, inv[4];
                    for (int k = 0; k < 4; k++) inv[perm[k]] = k;
                    cr_tensor *y = cr_permute(t, x, perm);
                    assert_non_null(y);
                    for (int k = 0; k < 4; k++) assert_int_equal(y->shape[k], s[perm[k]]);
                    int i[4];
                    for (i[0] = 0; i[0] < y->shape[0]; i[0]++)
                        for (i[1] = 0; i[1] < y->shape[1]; i[1]++)
                            for (i[2] = 0; i[2] < y->shape[2]; i[2]++)
                                for (i[3] = 0; i[3] < y->shape[3]; i[3]++) {
                                    int j[4];
                                    for (int k = 0; k < 4; k++) j[perm[k]] = i[k];
                                    size_t yi = (((size_t)i[0] * y->shape[1] + i[1]) *
                                                 y->shape[2] + i[2]) * y->shape[3] + i[3];
                                    size_t xi = (((size_t)j[0] * 3 + j[1]) * 4 + j[2]) * 5 + j[3];
                                    assert_int_equal((long)y->data[yi], (long)xi);
                                }
                    cr_tensor *back = cr_permute(t, y, inv);
                    assert_non_null(back);
                    assert_int_equal(memcmp(back->data, x->data, x->size * sizeof(cr_real)), 0);
                    count++;
                }
    assert_int_equal(count, 24);
    cr_tape_free(t);
}

/* Rank 0 and 1: the identity (a copy). */
static void test_permute_low_ranks(void **state)
{
    (void)state;
    cr_tape *t = cr_tape_new(0);
    cr_tensor *s = cr_scalar(t, 3);
    cr_tensor *a = cr_permute(t, s, NULL);
    assert_non_null(a);
    assert_int_equal(a->ndim, 0);
    assert_close(a->data[0], 3, 0, 0);
    int n = 4, p0 = 0;
    cr_real v[4] = { 1, 2, 3, 4 };
    cr_tensor *x = cr_var(t, 1, &n, v);
    cr_tensor *y = cr_permute(t, x, &p0);
    assert_non_null(y);
    assert_int_equal(y->shape[0], 4);
    assert_int_equal(cr_backward(t, weighted_sum(t, y)), CR_OK);
    double w[4];
    weighted_sum_weights(w, 4);
    assert_all_close(x->grad, w, 4, 0, 0);
    cr_tape_free(t);
}

static cr_tensor *build_permute(cr_tape *t, cr_tensor *const *in, int n, void *user)
{
    (void)n;
    return weighted_sum(t, cr_permute(t, cr_square(t, in[0]), user));
}

static void test_permute_gradcheck(void **state)
{
    (void)state;
    cr_rng r;
    cr_rng_seed(&r, 11);
    int s4[4] = { 2, 3, 2, 4 }, p4[4] = { 2, 0, 3, 1 };
    int s3[3] = { 3, 1, 4 }, p3[3] = { -1, 0, 1 };
    cr_tensor *x = rand_param(&r, 4, s4, -1, 1);
    check_gradients(build_permute, &x, 1, p4, "permute rank 4");
    cr_tensor_free(x);
    x = rand_param(&r, 3, s3, -1, 1);
    check_gradients(build_permute, &x, 1, p3, "permute rank 3");
    cr_tensor_free(x);
}

/* Large permutes are split over the pool: the same bits for 1, 2 and 3 threads. */
static void test_permute_bit_identical_for_1_2_3_threads(void **state)
{
    (void)state;
    int s[4] = { 8, 16, 20, 24 }, p[4] = { 0, 2, 3, 1 };
    cr_rng r;
    cr_rng_seed(&r, 5);
    cr_tensor *x = rand_param(&r, 4, s, -1, 1);
    cr_real *ref = NULL;
    for (int threads = 1; threads <= 3; threads++) {
        cr_tensor_zero_grad(x);
        cr_tape *t = cr_tape_new(0);
        assert_int_equal(cr_tape_set_threads(t, threads), CR_OK);
        cr_tensor *y = cr_permute(t, x, p);
        assert_int_equal(cr_backward(t, weighted_sum(t, y)), CR_OK);
        if (!ref) {
            ref = test_malloc(2 * x->size * sizeof *ref);
            memcpy(ref, y->data, x->size * sizeof *ref);
            memcpy(ref + x->size, x->grad, x->size * sizeof *ref);
        } else {
            assert_int_equal(memcmp(ref, y->data, x->size * sizeof *ref), 0);
            assert_int_equal(memcmp(ref + x->size, x->grad, x->size * sizeof *ref), 0);
        }
        cr_tape_free(t);
    }
    test_free(ref);
    cr_tensor_free(x);
}

/* A repeated or out-of-range axis and a NULL perm are tape errors naming permute. */
static void test_permute_error_messages(void **state)
{
    (void)state;
    int s[3] = { 2, 3, 4 };
    cr_tape *t = cr_tape_new(0);
    cr_tensor *x = cr_var(t, 3, s, NULL);
    int rep[3] = { 0, 2, 0 }, out[3] = { 0, 3, 1 }, neg[3] = { -4, 0, 1 };
    assert_null(cr_permute(t, x, rep));
    assert_tape_error(t, "permute: perm[2] = 0 repeats an axis (x is 2x3x4: perm must list "
                         "each of its 3 axes once)");
    cr_tape_reset(t);
    x = cr_var(t, 3, s, NULL);
    assert_null(cr_permute(t, x, out));
    assert_tape_error(t, "permute: perm[1] = 3 is out of range (x is 2x3x4");
    cr_tape_reset(t);
    x = cr_var(t, 3, s, NULL);
    assert_null(cr_permute(t, x, neg));
    assert_tape_error(t, "permute: perm[0] = -4 is out of range");
    cr_tape_reset(t);
    x = cr_var(t, 3, s, NULL);
    assert_null(cr_permute(t, x, NULL));
    assert_int_equal(cr_tape_status(t), CR_ERR_ARG);
    assert_tape_error(t, "permute: perm is NULL (x is 2x3x4)");
    cr_tape_reset(t);
    assert_null(cr_permute(t, NULL, rep));
    assert_tape_error(t, "permute: input 1 is NULL");
    cr_tape_free(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_permute_matches_pytorch),
        cmocka_unit_test(test_permute_of_matrix_is_transpose),
        cmocka_unit_test(test_permute_every_rank4_order),
        cmocka_unit_test(test_permute_low_ranks),
        cmocka_unit_test(test_permute_gradcheck),
        cmocka_unit_test(test_permute_bit_identical_for_1_2_3_threads),
        cmocka_unit_test(test_permute_error_messages),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
