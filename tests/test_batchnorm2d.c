/* Batch normalization over the channels of N x C x H x W images (cr_batchnorm_forward
 * on rank-4 input) against PyTorch's nn.BatchNorm2d in float64
 * (tests/fixtures/conv_fixture.h, made by tools/fixtures/make_conv_fixture.py):
 * training output and gradients, the running statistics after one step, evaluation
 * output; a gradient check; and the shape errors. */
#include "op_grad_helpers.h"
#include "fixtures/conv_fixture.h"

#define FIX_TOL TOL(1e-12, 1e-5)

static void set_from(cr_tensor *x, const double *v)
{
    for (size_t i = 0; i < x->size; i++) x->data[i] = (cr_real)v[i];
}

static void test_batchnorm2d_matches_pytorch(void **state)
{
    (void)state;
    int sx[4] = { 4, 3, 5, 4 };
    cr_batchnorm *bn = cr_batchnorm_new(3, 0.1, 1e-5, NULL, 0);
    assert_non_null(bn);
    set_from(bn->gamma, bn_gamma);
    set_from(bn->beta, bn_beta);
    cr_tensor *x = cr_param_new(4, sx);
    set_from(x, bn_x);
    cr_tape *t = cr_tape_new(0);
    cr_tensor *r = cr_const(t, 4, sx, NULL);
    set_from(r, bn_r);
    cr_tensor *y = cr_batchnorm_forward(t, bn, x, 1);
    assert_non_null(y);
    assert_int_equal(y->ndim, 4);
    assert_int_equal(cr_backward(t, cr_sum(t, cr_mul(t, y, r))), CR_OK);
    assert_all_close(y->data, bn_y, y->size, FIX_TOL, FIX_TOL);
    assert_all_close(x->grad, bn_dx, x->size, FIX_TOL, FIX_TOL);
    assert_all_close(bn->gamma->grad, bn_dgamma, 3, FIX_TOL, FIX_TOL);
    assert_all_close(bn->beta->grad, bn_dbeta, 3, FIX_TOL, FIX_TOL);
    /* one training forward moved the statistics once (unbiased variance, n = N H W) */
    assert_all_close(bn->running_mean->data, bn_running_mean, 3, FIX_TOL, FIX_TOL);
    assert_all_close(bn->running_var->data, bn_running_var, 3, FIX_TOL, FIX_TOL);
    cr_tape_reset(t);
    cr_tensor *ye = cr_batchnorm_forward(t, bn, x, 0);
    assert_non_null(ye);
    assert_all_close(ye->data, bn_y_eval, ye->size, FIX_TOL, FIX_TOL);
    cr_tape_free(t);
    cr_tensor_free(x);
    cr_batchnorm_free(bn);
}

static cr_tensor *build_bn(cr_tape *t, cr_tensor *const *in, int n, void *user)
{
    (void)n;
    return weighted_sum(t, cr_batchnorm_forward(t, user, in[0], 1));
}

/* Gradients through the batch mean and variance agree with central differences. */
static void test_batchnorm2d_gradcheck(void **state)
{
    (void)state;
    int sx[4] = { 2, 3, 3, 2 };
    cr_rng r;
    cr_rng_seed(&r, 31);
    cr_batchnorm *bn = cr_batchnorm_new(3, 0.1, 1e-5, NULL, 0);
    assert_non_null(bn);
    cr_tensor_rand_uniform(bn->gamma, &r, 0.5, 1.5);
    cr_tensor_rand_uniform(bn->beta, &r, -0.5, 0.5);
    cr_tensor *x = rand_param(&r, 4, sx, -2, 2);
    check_gradients(build_bn, &x, 1, bn, "batchnorm N x C x H x W");
    cr_tensor_free(x);
    cr_batchnorm_free(bn);
}

/* Channels that do not match, a rank other than 2 or 4, and a single value per
 * channel in training are tape errors naming batchnorm. */
static void test_batchnorm2d_errors(void **state)
{
    (void)state;
    cr_batchnorm *bn = cr_batchnorm_new(3, 0, 0, NULL, 0);
    cr_tape *t = cr_tape_new(0);
    int s4[4] = { 2, 4, 3, 3 }, s3[3] = { 2, 3, 3 }, one[4] = { 1, 3, 1, 1 };
    assert_null(cr_batchnorm_forward(t, bn, cr_var(t, 4, s4, NULL), 1));
    assert_tape_error(t, "batchnorm: x is 2x4x3x3 but the layer has 3 features (x must be "
                         "N x 3 or N x 3 x H x W)");
    cr_tape_reset(t);
    assert_null(cr_batchnorm_forward(t, bn, cr_var(t, 3, s3, NULL), 1));
    assert_tape_error(t, "batchnorm: x is 2x3x3 but the layer has 3 features");
    cr_tape_reset(t);
    assert_null(cr_batchnorm_forward(t, bn, cr_var(t, 4, one, NULL), 1));
    assert_tape_error(t, "batchnorm: training needs at least 2 values per channel per batch "
                         "to estimate a variance, x is 1x3x1x1");
    cr_tape_reset(t);
    assert_non_null(cr_batchnorm_forward(t, bn, cr_var(t, 4, one, NULL), 0));
    cr_tape_free(t);
    cr_batchnorm_free(bn);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_batchnorm2d_matches_pytorch),
        cmocka_unit_test(test_batchnorm2d_gradcheck),
        cmocka_unit_test(test_batchnorm2d_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
