/* Layers (nn/): activations by name, dense, dropout, batch normalization — values,
 * gradient checks, modes, determinism, replay and errors. The MLP built from them:
 * test_nn_mlp.c. */
#include "helpers.h"
#include "op_grad_helpers.h"

#include <math.h>
#include <string.h>

/* ------------------------------------------------------------ activations */

/* cr_activate(x, act) equals the op it names: at x = [-2, 0.5]
 * sigmoid = [0.1192029, 0.6224593], tanh = [-0.9640276, 0.4621172],
 * relu = [0, 0.5], leaky = [-0.02, 0.5], softmax = e^x / (e^-2 + e^0.5) = [0.0758582, 0.9241418]. */
static void test_activate_applies_the_named_function(void **state)
{
    (void)state;
    const double expect[6][2] = {
        { -2, 0.5 },
        { 1 / (1 + exp(2.0)), 1 / (1 + exp(-0.5)) },
        { tanh(-2.0), tanh(0.5) },
        { 0, 0.5 },
        { -0.02, 0.5 },
        { exp(-2.0) / (exp(-2.0) + exp(0.5)), exp(0.5) / (exp(-2.0) + exp(0.5)) },
    };
    cr_tape *t = cr_tape_new(0);
    int s = 2;
    const cr_real xv[2] = { -2, 0.5 };
    cr_tensor *x = cr_var(t, 1, &s, xv);
    for (int a = CR_ACT_NONE; a <= CR_ACT_SOFTMAX; a++) {
        cr_tensor *y = cr_activate(t, x, (cr_activation)a);
        assert_non_null(y);
        assert_all_close(y->data, expect[a], 2, TOL(1e-12, 1e-6), TOL(1e-12, 1e-6));
    }
    assert_ptr_equal(cr_activate(t, x, CR_ACT_NONE), x);
    assert_null(cr_activate(t, x, (cr_activation)42));
    assert_tape_error(t, "activate: unknown activation 42");
    cr_tape_free(t);
}

static void test_activation_names_round_trip(void **state)
{
    (void)state;
    for (int a = CR_ACT_NONE; a <= CR_ACT_SOFTMAX; a++) {
        cr_activation back = (cr_activation)-1;
        assert_int_equal(cr_activation_from_name(cr_activation_name((cr_activation)a), &back),
                         CR_OK);
        assert_int_equal(back, a);
    }
    cr_activation act = CR_ACT_NONE;
    assert_int_equal(cr_activation_from_name("ReLU", &act), CR_OK);
    assert_int_equal(act, CR_ACT_RELU);
    assert_int_equal(cr_activation_from_name("leaky-relu", &act), CR_OK);
    assert_int_equal(act, CR_ACT_LEAKY_RELU);
    assert_int_equal(cr_activation_from_name("linear", &act), CR_OK);
    assert_int_equal(act, CR_ACT_NONE);
    assert_int_equal(cr_activation_from_name("gelu", &act), CR_ERR_ARG);
    assert_int_equal(act, CR_ACT_NONE);
    assert_int_equal(cr_activation_from_name(NULL, &act), CR_ERR_ARG);
    assert_string_equal(cr_activation_name((cr_activation)42), "?");
}

/* ------------------------------------------------------------------ dense */

/* x = [[1, 2]], W = [[1, 2, 3], [4, 5, 6]], b = [0.5, 0, -1]:
 * y = [1+8+0.5, 2+10+0, 3+12-1] = [9.5, 12, 14]. */
static void test_dense_forward_is_x_W_plus_b(void **state)
{
    (void)state;
    cr_dense *d = cr_dense_new(2, 3, CR_INIT_ZEROS, NULL, NULL, 0);
    assert_non_null(d);
    const cr_real wv[6] = { 1, 2, 3, 4, 5, 6 }, bv[3] = { 0.5, 0, -1 }, xv[2] = { 1, 2 };
    cr_tensor_set(d->W, wv, 6);
    cr_tensor_set(d->b, bv, 3);
    assert_int_equal(cr_params_count(d->params), 2);
    assert_string_equal(cr_params_name(d->params, 0), "W");
    assert_string_equal(cr_params_name(d->params, 1), "b");
    cr_tape *t = cr_tape_new(0);
    int xs[2] = { 1, 2 };
    cr_tensor *y = cr_dense_forward(t, d, cr_const(t, 2, xs, xv));
    assert_non_null(y);
    assert_int_equal(y->shape[0], 1);
    assert_int_equal(y->shape[1], 3);
    const double e[3] = { 9.5, 12, 14 };
    assert_all_close(y->data, e, 3, 0, 0);
    /* wrong width: the error names the layer and both shapes */
    int bad[2] = { 2, 3 };
    assert_null(cr_dense_forward(t, d, cr_const(t, 2, bad, NULL)));
    assert_tape_error(t, "dense: x is 2x3 but W is 2x3 (x must be N x 2)");
    cr_tape_free(t);
    cr_dense_free(d);
    cr_dense_free(NULL);
}

static cr_tensor *build_dense(cr_tape *t, cr_tensor *const *in, int n, void *user)
{
    (void)n;
    cr_dense *d = user;    /* in = { x, W, b } with W, b the layer's own */
    return weighted_sum(t, cr_dense_forward(t, d, in[0]));
}

static void test_dense_passes_gradcheck(void **state)
{
    (void)state;
    cr_rng r;
    cr_rng_seed(&r, 21);
    cr_dense *d = cr_dense_new(4, 3, CR_INIT_XAVIER_NORMAL, &r, NULL, 0);
    cr_tensor_rand_uniform(d->b, &r, -1, 1);
    int xs[2] = { 5, 4 };
    cr_tensor *in[3] = { rand_param(&r, 2, xs, -1, 1), d->W, d->b };
    check_gradients(build_dense, in, 3, d, "dense");
    cr_tensor_free(in[0]);
    cr_dense_free(d);
}

static void test_dense_new_rejects_bad_arguments(void **state)
{
    (void)state;
    cr_rng r;
    cr_rng_seed(&r, 1);
    char err[96];
    assert_null(cr_dense_new(0, 3, CR_INIT_AUTO, &r, err, sizeof err));
    assert_string_equal(err, "dense: 0 inputs and 3 outputs (both must be >= 1)");
    assert_null(cr_dense_new(3, -1, CR_INIT_AUTO, &r, err, sizeof err));
    assert_string_equal(err, "dense: 3 inputs and -1 outputs (both must be >= 1)");
    assert_null(cr_dense_new(3, 3, CR_INIT_HE_NORMAL, NULL, err, sizeof err));
    assert_string_equal(err, "dense: rng is NULL (only CR_INIT_ZEROS needs none)");
    assert_null(cr_dense_new(3, 3, (cr_init_kind)77, &r, err, sizeof err));
    assert_string_equal(err, "dense: unknown init kind 77");
    /* err may be NULL; a short buffer gets a truncated, terminated message */
    assert_null(cr_dense_new(0, 3, CR_INIT_AUTO, &r, NULL, 0));
    char tiny[8];
    assert_null(cr_dense_new(0, 3, CR_INIT_AUTO, &r, tiny, sizeof tiny));
    assert_string_equal(tiny, "dense: ");
}

/* Every allocation of cr_dense_new failing in turn: NULL, a message, the caller's
 * rng as it was (no draws consumed), nothing leaked (the sanitizer build checks). */
static void test_dense_new_out_of_memory_says_so_and_keeps_the_rng(void **state)
{
    (void)state;
    cr_test_alloc ca;
    for (long k = 1;; k++) {
        memset(&ca, 0, sizeof ca);
        ca.fail_at = k;
        cr_rng r, r0;
        cr_rng_seed(&r, 3);
        r0 = r;
        char err[96] = "";
        cr_test_alloc_install(&ca);
        cr_dense *d = cr_dense_new(4, 5, CR_INIT_XAVIER_UNIFORM, &r, err, sizeof err);
        cr_test_alloc_remove();
        if (d) {
            cr_dense_free(d);
            assert_true(k > 3);      /* it did fail for the earlier k */
            break;
        }
        assert_true(strcmp(err, "dense: out of memory") == 0 ||
                    strcmp(err, "dense: out of memory for a 4x5 layer") == 0);
        assert_memory_equal(&r, &r0, sizeof r);
        assert_true(k < 100);
    }
}

/* ---------------------------------------------------------------- dropout */

/* Evaluation (or p = 0) is the identity: the input itself, no node, no draw. */
static void test_dropout_eval_is_identity_without_a_node(void **state)
{
    (void)state;
    cr_tape *t = cr_tape_new(0);
    int s = 8;
    cr_tensor *x = cr_var(t, 1, &s, NULL);
    cr_rng r, r0;
    cr_rng_seed(&r, 5);
    r0 = r;
    size_t nodes = cr_tape_size(t);
    assert_ptr_equal(cr_dropout(t, x, (cr_real)0.5, &r, 0), x);
    assert_ptr_equal(cr_dropout(t, x, 0, &r, 1), x);
    assert_ptr_equal(cr_dropout(t, x, (cr_real)0.5, NULL, 0), x);
    assert_int_equal(cr_tape_size(t), nodes);
    assert_true(r.state == r0.state);
    cr_tape_free(t);
}

/* p = 0.3 on 1e5 ones: the kept fraction is 0.7 within 0.01 (7 standard errors of
 * sqrt(0.21/1e5) = 0.00145); kept units are exactly 1/(1-p), dropped ones 0; the
 * gradient is g * mask. */
static void test_dropout_train_keeps_one_minus_p_scaled(void **state)
{
    (void)state;
    cr_tape *t = cr_tape_new(0);
    int s = 100000;
    cr_tensor *x = cr_var(t, 1, &s, NULL);
    cr_tensor_fill(x, 1);
    cr_rng r;
    cr_rng_seed(&r, 6);
    cr_tensor *y = cr_dropout(t, x, (cr_real)0.3, &r, 1);
    assert_non_null(y);
    cr_real keep = (cr_real)(1 / 0.7);
    size_t kept = 0;
    for (size_t i = 0; i < y->size; i++) {
        assert_true(y->data[i] == 0 || y->data[i] == keep);
        kept += y->data[i] != 0;
    }
    assert_close((double)kept / s, 0.7, 0.01, 0);
    assert_int_equal(cr_backward(t, cr_sum(t, y)), CR_OK);
    for (size_t i = 0; i < y->size; i++) assert_true(x->grad[i] == y->data[i]);
    cr_tape_free(t);
}

/* Same seed, same mask; the mask is redrawn on replay, and backward then uses the
 * new one. */
static void test_dropout_same_seed_same_mask_and_replay_redraws(void **state)
{
    (void)state;
    int s = 64;
    cr_real first[64];
    cr_tape *t = cr_tape_new(0);
    for (int k = 0; k < 2; k++) {
        cr_tape_reset(t);
        cr_rng r;
        cr_rng_seed(&r, 7);
        cr_tensor *x = cr_var(t, 1, &s, NULL);
        cr_tensor_fill(x, 1);
        cr_tensor *y = cr_dropout(t, x, (cr_real)0.5, &r, 1);
        if (k == 0) {
            memcpy(first, y->data, sizeof first);
        } else {
            for (int i = 0; i < s; i++) assert_true(y->data[i] == first[i]);
            cr_tensor *l = cr_sum(t, y);
            assert_int_equal(cr_tape_forward(t), CR_OK);
            int changed = 0;
            for (int i = 0; i < s; i++) changed += y->data[i] != first[i];
            assert_true(changed > 0);
            assert_int_equal(cr_backward(t, l), CR_OK);
            for (int i = 0; i < s; i++) assert_true(x->grad[i] == y->data[i]);
        }
    }
    cr_tape_free(t);
}

/* The build re-seeds its generator, so every evaluation draws the same mask. */
static cr_tensor *build_dropout(cr_tape *t, cr_tensor *const *in, int n, void *user)
{
    (void)n;
    cr_rng *r = user;
    cr_rng_seed(r, 8);
    return weighted_sum(t, cr_dropout(t, in[0], (cr_real)0.4, r, 1));
}

static void test_dropout_passes_gradcheck(void **state)
{
    (void)state;
    cr_rng r;
    cr_rng_seed(&r, 22);
    int s[2] = { 4, 5 };
    cr_tensor *x = rand_param(&r, 2, s, -1, 1);
    check_gradients(build_dropout, &x, 1, &r, "dropout");
    cr_tensor_free(x);
}

static void test_dropout_rejects_bad_p_and_missing_rng(void **state)
{
    (void)state;
    cr_tape *t = cr_tape_new(0);
    int s = 3;
    cr_rng r;
    cr_rng_seed(&r, 1);
    assert_null(cr_dropout(t, cr_var(t, 1, &s, NULL), 1, &r, 1));
    assert_tape_error(t, "dropout: p is 1 but must be in [0, 1)");
    cr_tape_reset(t);
    assert_null(cr_dropout(t, cr_var(t, 1, &s, NULL), (cr_real)-0.1, &r, 0));
    assert_tape_error(t, "dropout: p is -0.1");
    cr_tape_reset(t);
    assert_null(cr_dropout(t, cr_var(t, 1, &s, NULL), (cr_real)0.5, NULL, 1));
    assert_tape_error(t, "dropout: rng is NULL in training mode");
    cr_tape_free(t);
}

/* ------------------------------------------------------------- batchnorm */

/* Training normalises each feature of the batch: with gamma = 1, beta = 0 every
 * column has mean 0 and variance v/(v + eps) = 1 - 2.5e-6 for v ~ 4. */
static void test_batchnorm_training_output_has_zero_mean_unit_variance(void **state)
{
    (void)state;
    cr_batchnorm *bn = cr_batchnorm_new(3, 0, 0, NULL, 0);
    assert_non_null(bn);
    cr_tape *t = cr_tape_new(0);
    int xs[2] = { 64, 3 };
    cr_tensor *x = cr_var(t, 2, xs, NULL);
    cr_rng r;
    cr_rng_seed(&r, 31);
    for (int i = 0; i < 64; i++)
        for (int j = 0; j < 3; j++)
            x->data[i * 3 + j] = (cr_real)(5 * j - 3 + 2 * (j + 1) * cr_rng_normal(&r));
    cr_tensor *y = cr_batchnorm_forward(t, bn, x, 1);
    assert_non_null(y);
    for (int j = 0; j < 3; j++) {
        double m = 0, v = 0;
        for (int i = 0; i < 64; i++) m += y->data[i * 3 + j] / 64.0;
        for (int i = 0; i < 64; i++) v += pow(y->data[i * 3 + j] - m, 2) / 64.0;
        assert_close_i(m, 0, TOL(1e-12, 1e-6), 0, j);
        assert_close_i(v, 1, TOL(1e-4, 1e-4), 0, j);
    }
    cr_tape_free(t);
    cr_batchnorm_free(bn);
}

/* x = [[1, 2], [3, 6]] (N = 2): mu = [2, 4], biased var = [1, 4], unbiased [2, 8].
 * After one training forward (momentum 0.1): running_mean = 0.1 mu = [0.2, 0.4],
 * running_var = 0.9*1 + 0.1*[2, 8] = [1.1, 1.7]. Training output row 0 is
 * [-1/sqrt(1 + eps), -2/sqrt(4 + eps)]. Then in evaluation with gamma = [2, 1],
 * beta = [0.5, -1], x = [[1.2, 0.4]]:
 *   y = [2 (1.2 - 0.2)/sqrt(1.1 + eps) + 0.5, 1 (0.4 - 0.4)/sqrt(1.7 + eps) - 1]
 *     = [2/sqrt(1.10001) + 0.5, -1] = [2.4069204..., -1],
 * and evaluation leaves the running statistics alone. */
static void test_batchnorm_running_statistics_and_eval_path(void **state)
{
    (void)state;
    cr_batchnorm *bn = cr_batchnorm_new(2, 0, 0, NULL, 0);
    assert_close(bn->momentum, 0.1, 1e-7, 0);
    assert_close(bn->eps, 1e-5, 1e-12, 0);
    cr_tape *t = cr_tape_new(0);
    int xs[2] = { 2, 2 };
    const cr_real xv[4] = { 1, 2, 3, 6 };
    cr_tensor *y = cr_batchnorm_forward(t, bn, cr_var(t, 2, xs, xv), 1);
    assert_non_null(y);
    const double y0[2] = { -1 / sqrt(1 + 1e-5), -2 / sqrt(4 + 1e-5) };
    assert_all_close(y->data, y0, 2, TOL(1e-12, 1e-6), TOL(1e-12, 1e-6));
    const double rm[2] = { 0.2, 0.4 }, rv[2] = { 1.1, 1.7 };
    assert_all_close(bn->running_mean->data, rm, 2, TOL(1e-15, 1e-7), TOL(1e-12, 1e-6));
    assert_all_close(bn->running_var->data, rv, 2, TOL(1e-15, 1e-7), TOL(1e-12, 1e-6));

    const cr_real gv[2] = { 2, 1 }, bv[2] = { 0.5, -1 }, ev[2] = { 1.2, 0.4 };
    cr_tensor_set(bn->gamma, gv, 2);
    cr_tensor_set(bn->beta, bv, 2);
    cr_tape_reset(t);
    int es[2] = { 1, 2 };
    cr_tensor *xe = cr_var(t, 2, es, ev);
    cr_tensor *ye = cr_batchnorm_forward(t, bn, xe, 0);
    const double e[2] = { 2 / sqrt(1.1 + 1e-5) + 0.5, -1 };
    assert_all_close(ye->data, e, 2, TOL(1e-12, 1e-6), TOL(1e-12, 1e-6));
    assert_all_close(bn->running_mean->data, rm, 2, TOL(1e-15, 1e-7), TOL(1e-12, 1e-6));
    assert_all_close(bn->running_var->data, rv, 2, TOL(1e-15, 1e-7), TOL(1e-12, 1e-6));
    /* a backward through the eval path never writes the running statistics' grads */
    assert_int_equal(cr_backward(t, cr_sum(t, ye)), CR_OK);
    assert_close(xe->grad[0], 2 / sqrt(1.1 + 1e-5), TOL(1e-12, 1e-6), 0);
    for (int j = 0; j < 2; j++) {
        assert_close_i(bn->running_mean->grad[j], 0, 0, 0, j);
        assert_close_i(bn->running_var->grad[j], 0, 0, 0, j);
    }
    cr_tape_free(t);
    cr_batchnorm_free(bn);
}

/* Replaying a recorded training forward recomputes the batch statistics and moves
 * the running ones again, exactly as a fresh recording would. */
static void test_batchnorm_replay_updates_running_statistics(void **state)
{
    (void)state;
    cr_batchnorm *bn = cr_batchnorm_new(2, (cr_real)0.5, 0, NULL, 0);
    cr_tape *t = cr_tape_new(0);
    int xs[2] = { 2, 2 };
    const cr_real xv[4] = { 1, 2, 3, 6 };
    cr_tensor *x = cr_var(t, 2, xs, xv);
    cr_tensor *y = cr_batchnorm_forward(t, bn, x, 1);
    cr_real rm0 = bn->running_mean->data[0], rv0 = bn->running_var->data[0];
    assert_close(rm0, 1, 0, 0);                 /* 0.5 * mu = 0.5 * 2 */
    x->data[0] = 5;                             /* column 0 becomes [5, 3] */
    assert_int_equal(cr_tape_forward(t), CR_OK);
    assert_close(y->data[0], 1 / sqrt(1 + 1e-5), TOL(1e-12, 1e-6), 0);
    /* mu = 4, unbiased var = 2: running = 0.5 * old + 0.5 * batch */
    assert_close(bn->running_mean->data[0], 0.5 * rm0 + 0.5 * 4, TOL(1e-15, 1e-6), 0);
    assert_close(rv0, 1.5, TOL(1e-15, 1e-6), 0);   /* 0.5 * 1 + 0.5 * 2 (first batch [1,3]) */
    assert_close(bn->running_var->data[0], 0.5 * rv0 + 0.5 * 2, TOL(1e-15, 1e-6), 0);
    cr_tape_free(t);
    cr_batchnorm_free(bn);
}

typedef struct bn_case {
    cr_batchnorm *bn;
    int training;
} bn_case;

static cr_tensor *build_bn(cr_tape *t, cr_tensor *const *in, int n, void *user)
{
    (void)n;
    const bn_case *c = user;     /* in = { x, gamma, beta } */
    return weighted_sum(t, cr_batchnorm_forward(t, c->bn, in[0], c->training));
}

/* The batch-statistics gradient (through mu and var) and the eval path, both
 * from the chain rule over ops, against central differences. */
static void test_batchnorm_passes_gradcheck_in_both_modes(void **state)
{
    (void)state;
    cr_rng r;
    cr_rng_seed(&r, 23);
    cr_batchnorm *bn = cr_batchnorm_new(3, 0, 0, NULL, 0);
    cr_tensor_rand_uniform(bn->gamma, &r, 0.5, 1.5);
    cr_tensor_rand_uniform(bn->beta, &r, -1, 1);
    cr_tensor_rand_uniform(bn->running_mean, &r, -1, 1);
    cr_tensor_rand_uniform(bn->running_var, &r, 0.5, 2);
    int xs[2] = { 5, 3 };
    cr_tensor *in[3] = { rand_param(&r, 2, xs, -2, 2), bn->gamma, bn->beta };
    bn_case train = { bn, 1 }, eval = { bn, 0 };
    check_gradients(build_bn, in, 3, &train, "batchnorm training");
    check_gradients(build_bn, in, 3, &eval, "batchnorm eval");
    cr_tensor_free(in[0]);
    cr_batchnorm_free(bn);
}

static void test_batchnorm_errors_name_the_layer(void **state)
{
    (void)state;
    cr_batchnorm *bn = cr_batchnorm_new(2, 0, 0, NULL, 0);
    cr_tape *t = cr_tape_new(0);
    int one[2] = { 1, 2 }, wide[2] = { 4, 3 };
    assert_null(cr_batchnorm_forward(t, bn, cr_var(t, 2, one, NULL), 1));
    assert_tape_error(t, "batchnorm: training needs at least 2 rows");
    cr_tape_reset(t);
    assert_non_null(cr_batchnorm_forward(t, bn, cr_var(t, 2, one, NULL), 0));
    assert_null(cr_batchnorm_forward(t, bn, cr_var(t, 2, wide, NULL), 0));
    assert_tape_error(t, "batchnorm: x is 4x3 but the layer has 2 features");
    cr_tape_free(t);
    cr_batchnorm_free(bn);
    char err[96];
    assert_null(cr_batchnorm_new(0, 0, 0, err, sizeof err));
    assert_string_equal(err, "batchnorm: 0 features (must be >= 1)");
    assert_null(cr_batchnorm_new(2, 2, 0, err, sizeof err));
    assert_string_equal(err, "batchnorm: momentum = 2 is above 1");
    cr_test_alloc ca = { 0 };
    ca.fail_at = 1;
    cr_test_alloc_install(&ca);
    bn = cr_batchnorm_new(2, 0, 0, err, sizeof err);
    cr_test_alloc_remove();
    assert_null(bn);
    assert_string_equal(err, "batchnorm: out of memory");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_activate_applies_the_named_function),
        cmocka_unit_test(test_activation_names_round_trip),
        cmocka_unit_test(test_dense_forward_is_x_W_plus_b),
        cmocka_unit_test(test_dense_passes_gradcheck),
        cmocka_unit_test(test_dense_new_rejects_bad_arguments),
        cmocka_unit_test(test_dense_new_out_of_memory_says_so_and_keeps_the_rng),
        cmocka_unit_test(test_dropout_eval_is_identity_without_a_node),
        cmocka_unit_test(test_dropout_train_keeps_one_minus_p_scaled),
        cmocka_unit_test(test_dropout_same_seed_same_mask_and_replay_redraws),
        cmocka_unit_test(test_dropout_passes_gradcheck),
        cmocka_unit_test(test_dropout_rejects_bad_p_and_missing_rng),
        cmocka_unit_test(test_batchnorm_training_output_has_zero_mean_unit_variance),
        cmocka_unit_test(test_batchnorm_running_statistics_and_eval_path),
        cmocka_unit_test(test_batchnorm_replay_updates_running_statistics),
        cmocka_unit_test(test_batchnorm_passes_gradcheck_in_both_modes),
        cmocka_unit_test(test_batchnorm_errors_name_the_layer),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
