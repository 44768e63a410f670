/* Initializers (nn/init.c): fan convention, the statistics of each scheme over
 * 1e5 draws, determinism, and argument errors. */
#include "helpers.h"

#include <math.h>

/* Sample mean and (population) variance of x's data. */
static void stats(const cr_tensor *x, double *mean, double *var)
{
    double s = 0, ss = 0;
    for (size_t i = 0; i < x->size; i++) s += x->data[i];
    double m = s / (double)x->size;
    for (size_t i = 0; i < x->size; i++) ss += (x->data[i] - m) * (x->data[i] - m);
    *mean = m;
    *var = ss / (double)x->size;
}

static double max_abs(const cr_tensor *x)
{
    double m = 0;
    for (size_t i = 0; i < x->size; i++) m = fmax(m, fabs((double)x->data[i]));
    return m;
}

/* W is in x out (as cr_linear takes it): fan_in = rows, fan_out = columns; extra
 * dimensions multiply both; a bias n has fan n both ways; a scalar 1. */
static void test_fans_follow_the_in_by_out_convention(void **state)
{
    (void)state;
    int s2[2] = { 784, 128 }, s1 = 10, s4[4] = { 3, 5, 2, 2 };
    cr_tensor *w = cr_tensor_new(2, s2), *b = cr_tensor_new(1, &s1);
    cr_tensor *k = cr_tensor_new(4, s4), *c = cr_tensor_new(0, NULL);
    int fi, fo;
    cr_fans(w, &fi, &fo);
    assert_int_equal(fi, 784);
    assert_int_equal(fo, 128);
    cr_fans(b, &fi, &fo);
    assert_int_equal(fi, 10);
    assert_int_equal(fo, 10);
    cr_fans(k, &fi, &fo);
    assert_int_equal(fi, 12);
    assert_int_equal(fo, 20);
    cr_fans(c, &fi, &fo);
    assert_int_equal(fi, 1);
    assert_int_equal(fo, 1);
    cr_tensor_free(w);
    cr_tensor_free(b);
    cr_tensor_free(k);
    cr_tensor_free(c);
}

/* The tolerances below are about 7 standard errors for n = 1e5: the sample
 * variance of U(-a, a) has relative standard error sqrt(4/5)/sqrt(n) = 0.28%,
 * that of a normal sqrt(2/n) = 0.45%; the mean's standard error is sd/sqrt(n). */
#define N_IN 400
#define N_OUT 250   /* 400 x 250 = 1e5 draws */

static cr_tensor *weights(void)
{
    int s[2] = { N_IN, N_OUT };
    cr_tensor *w = cr_param_new(2, s);
    assert_non_null(w);
    return w;
}

/* Xavier uniform: U(-a, a) with a = sqrt(6/(400+250)) = 0.0960769..., variance
 * a^2/3 = 2/650 = 0.00307692. */
static void test_xavier_uniform_limit_and_variance(void **state)
{
    (void)state;
    cr_rng r;
    cr_rng_seed(&r, 1);
    cr_tensor *w = weights();
    assert_int_equal(cr_init_xavier_uniform(w, &r), CR_OK);
    double a = sqrt(6.0 / (N_IN + N_OUT)), m, v;
    stats(w, &m, &v);
    assert_true(max_abs(w) <= a * (1 + 1e-6));   /* float rounding of a */
    assert_true(max_abs(w) > 0.999 * a);         /* the range is used to its ends */
    assert_close(m, 0, 7 * a / sqrt(3.0) / sqrt(1e5), 0);
    assert_close(v, 2.0 / (N_IN + N_OUT), 0, 0.02);
    cr_tensor_free(w);
}

/* Xavier normal: N(0, 2/(fan_in+fan_out)), std = sqrt(2/650) = 0.0554700. */
static void test_xavier_normal_standard_deviation(void **state)
{
    (void)state;
    cr_rng r;
    cr_rng_seed(&r, 2);
    cr_tensor *w = weights();
    assert_int_equal(cr_init_xavier_normal(w, &r), CR_OK);
    double sd = sqrt(2.0 / (N_IN + N_OUT)), m, v;
    stats(w, &m, &v);
    assert_close(m, 0, 7 * sd / sqrt(1e5), 0);
    assert_close(v, sd * sd, 0, 0.03);
    cr_tensor_free(w);
}

/* He uniform: U(-a, a), a = sqrt(6/fan_in) = sqrt(6/400) = 0.122474..., variance
 * 2/fan_in = 0.005. */
static void test_he_uniform_limit_and_variance(void **state)
{
    (void)state;
    cr_rng r;
    cr_rng_seed(&r, 3);
    cr_tensor *w = weights();
    assert_int_equal(cr_init_he_uniform(w, &r), CR_OK);
    double a = sqrt(6.0 / N_IN), m, v;
    stats(w, &m, &v);
    assert_true(max_abs(w) <= a * (1 + 1e-6));   /* float rounding of a */
    assert_true(max_abs(w) > 0.999 * a);
    assert_close(m, 0, 7 * a / sqrt(3.0) / sqrt(1e5), 0);
    assert_close(v, 2.0 / N_IN, 0, 0.02);
    cr_tensor_free(w);
}

/* He normal: N(0, 2/fan_in), std = sqrt(2/400) = 0.0707107 (uses fan_in only:
 * a 400 x 50 matrix has the same std). */
static void test_he_normal_standard_deviation_uses_fan_in(void **state)
{
    (void)state;
    cr_rng r;
    cr_rng_seed(&r, 4);
    cr_tensor *w = weights();
    assert_int_equal(cr_init_he_normal(w, &r), CR_OK);
    double sd = sqrt(2.0 / N_IN), m, v;
    stats(w, &m, &v);
    assert_close(m, 0, 7 * sd / sqrt(1e5), 0);
    assert_close(v, sd * sd, 0, 0.03);
    int narrow[2] = { N_IN, 50 };
    cr_tensor *w2 = cr_param_new(2, narrow);
    assert_int_equal(cr_init_he_normal(w2, &r), CR_OK);
    stats(w2, &m, &v);
    assert_close(v, sd * sd, 0, 0.07);      /* 2e4 draws: 7 x sqrt(2/2e4) = 7% */
    cr_tensor_free(w);
    cr_tensor_free(w2);
}

/* N(3, 2^2): mean 3, variance 4. U(-1, 5): mean 2, variance 36/12 = 3, within
 * [-1, 5). Constant 0.25 everywhere. */
static void test_normal_uniform_constant_statistics(void **state)
{
    (void)state;
    cr_rng r;
    cr_rng_seed(&r, 5);
    cr_tensor *w = weights();
    double m, v;
    assert_int_equal(cr_init_normal(w, &r, 3, 2), CR_OK);
    stats(w, &m, &v);
    assert_close(m, 3, 7 * 2 / sqrt(1e5), 0);
    assert_close(v, 4, 0, 0.03);
    assert_int_equal(cr_init_uniform(w, &r, -1, 5), CR_OK);
    stats(w, &m, &v);
    assert_close(m, 2, 7 * sqrt(3.0) / sqrt(1e5), 0);
    assert_close(v, 3, 0, 0.02);
    for (size_t i = 0; i < w->size; i++) assert_true(w->data[i] >= -1 && w->data[i] <= 5);
    assert_int_equal(cr_init_constant(w, (cr_real)0.25), CR_OK);
    stats(w, &m, &v);
    assert_close(m, 0.25, 0, 0);
    assert_close(v, 0, 0, 0);
    cr_tensor_free(w);
}

/* Draws come from the generator in element order: U(lo, hi) element i is
 * lo + (hi - lo) * (i-th cr_rng_uniform). Same seed, same tensor. */
static void test_initializers_are_deterministic_in_element_order(void **state)
{
    (void)state;
    int s[2] = { 3, 4 };
    cr_tensor *a = cr_param_new(2, s), *b = cr_param_new(2, s);
    cr_rng r1, r2;
    cr_rng_seed(&r1, 77);
    cr_rng_seed(&r2, 77);
    assert_int_equal(cr_init_uniform(a, &r1, -2, 3), CR_OK);
    for (size_t i = 0; i < a->size; i++)
        assert_close_i(a->data[i], (cr_real)(-2 + 5 * cr_rng_uniform(&r2)), 0, 0, i);
    cr_rng_seed(&r1, 78);
    cr_rng_seed(&r2, 78);
    assert_int_equal(cr_init(a, CR_INIT_HE_NORMAL, &r1), CR_OK);
    assert_int_equal(cr_init(b, CR_INIT_HE_NORMAL, &r2), CR_OK);
    for (size_t i = 0; i < a->size; i++) assert_close_i(a->data[i], b->data[i], 0, 0, i);
    cr_rng_seed(&r2, 79);
    assert_int_equal(cr_init(b, CR_INIT_HE_NORMAL, &r2), CR_OK);
    int differ = 0;
    for (size_t i = 0; i < a->size; i++) differ += a->data[i] != b->data[i];
    assert_true(differ > 0);
    cr_tensor_free(a);
    cr_tensor_free(b);
}

/* cr_init dispatches to the named schemes (same draws as the direct call), AUTO
 * is Xavier uniform, ZEROS needs no generator. */
static void test_init_kind_dispatch_and_names(void **state)
{
    (void)state;
    int s[2] = { 5, 3 };
    cr_tensor *a = cr_param_new(2, s), *b = cr_param_new(2, s);
    cr_rng r1, r2;
    cr_rng_seed(&r1, 9);
    cr_rng_seed(&r2, 9);
    assert_int_equal(cr_init(a, CR_INIT_AUTO, &r1), CR_OK);
    assert_int_equal(cr_init_xavier_uniform(b, &r2), CR_OK);
    for (size_t i = 0; i < a->size; i++) assert_close_i(a->data[i], b->data[i], 0, 0, i);
    assert_int_equal(cr_init(a, CR_INIT_ZEROS, NULL), CR_OK);
    assert_close(max_abs(a), 0, 0, 0);
    cr_init_kind k = CR_INIT_ZEROS;
    assert_int_equal(cr_init_from_name("Kaiming_Normal", &k), CR_OK);
    assert_int_equal(k, CR_INIT_HE_NORMAL);
    assert_int_equal(cr_init_from_name("glorot_uniform", &k), CR_OK);
    assert_int_equal(k, CR_INIT_XAVIER_UNIFORM);
    assert_int_equal(cr_init_from_name("he_normal", &k), CR_OK);
    assert_int_equal(k, CR_INIT_HE_NORMAL);
    assert_int_equal(cr_init_from_name("lecun", &k), CR_ERR_ARG);
    assert_int_equal(k, CR_INIT_HE_NORMAL);   /* unchanged on error */
    cr_tensor_free(a);
    cr_tensor_free(b);
}

/* Bad arguments: CR_ERR_ARG and the tensor keeps its values. */
static void test_bad_arguments_leave_the_tensor_unchanged(void **state)
{
    (void)state;
    int s = 4;
    cr_tensor *x = cr_param_new(1, &s);
    cr_tensor_fill(x, 7);
    cr_rng r;
    cr_rng_seed(&r, 1);
    assert_int_equal(cr_init_uniform(x, &r, 1, -1), CR_ERR_ARG);
    assert_int_equal(cr_init_normal(x, &r, 0, -1), CR_ERR_ARG);
    assert_int_equal(cr_init_xavier_uniform(x, NULL), CR_ERR_ARG);
    assert_int_equal(cr_init_he_normal(x, NULL), CR_ERR_ARG);
    assert_int_equal(cr_init(x, (cr_init_kind)99, &r), CR_ERR_ARG);
    assert_int_equal(cr_init_constant(NULL, 1), CR_ERR_ARG);
    assert_int_equal(cr_init_he_uniform(NULL, &r), CR_ERR_ARG);
    for (int i = 0; i < s; i++) assert_close_i(x->data[i], 7, 0, 0, i);
    cr_tensor_free(x);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fans_follow_the_in_by_out_convention),
        cmocka_unit_test(test_xavier_uniform_limit_and_variance),
        cmocka_unit_test(test_xavier_normal_standard_deviation),
        cmocka_unit_test(test_he_uniform_limit_and_variance),
        cmocka_unit_test(test_he_normal_standard_deviation_uses_fan_in),
        cmocka_unit_test(test_normal_uniform_constant_statistics),
        cmocka_unit_test(test_initializers_are_deterministic_in_element_order),
        cmocka_unit_test(test_init_kind_dispatch_and_names),
        cmocka_unit_test(test_bad_arguments_leave_the_tensor_unchanged),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
