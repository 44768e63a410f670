/* The MLP (nn/mlp.c): shapes, names and parameter counts, determinism for a seed,
 * gradient checks per activation, training and evaluation modes, dropout masks from
 * the saved generator, replay, learning XOR, errors and allocation failures. The
 * layers it is built from: test_nn.c. */
#include "helpers.h"
#include "op_grad_helpers.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

/* 784-128-10: 784*128 + 128 + 128*10 + 10 = 101,770 parameters in four named
 * tensors; output N x 10. With batchnorm: + 2*128 (gamma, beta) = 102,026, and the
 * running statistics are buffers, not parameters. */
static void test_mlp_784_128_10_shape_names_and_param_count(void **state)
{
    (void)state;
    cr_rng r;
    cr_rng_seed(&r, 42);
    int sizes[3] = { 784, 128, 10 };
    cr_mlp *m = cr_mlp_new(3, sizes, CR_ACT_RELU, CR_ACT_NONE, &r, NULL, 0);
    assert_non_null(m);
    assert_int_equal(cr_mlp_param_count(m), 101770);
    assert_int_equal(cr_mlp_n_layers(m), 2);
    cr_params *p = cr_mlp_params(m);
    const char *names[4] = { "fc1.W", "fc1.b", "fc2.W", "fc2.b" };
    assert_int_equal(cr_params_count(p), 4);
    for (size_t i = 0; i < 4; i++) assert_string_equal(cr_params_name(p, i), names[i]);
    assert_string_equal(cr_params_get(p, 0)->name, "fc1.W");     /* tensor label too */
    assert_int_equal(cr_params_find(p, "fc1.W")->shape[0], 784);
    assert_int_equal(cr_params_find(p, "fc1.W")->shape[1], 128);
    assert_int_equal(cr_params_count(cr_mlp_buffers(m)), 0);
    assert_int_equal(cr_params_count(cr_mlp_state(m)), 4);
    assert_ptr_equal(cr_mlp_layer(m, 1)->W, cr_params_find(p, "fc2.W"));
    assert_null(cr_mlp_layer(m, 2));

    cr_tape *t = cr_tape_new(0);
    int xs[2] = { 5, 784 };
    cr_tensor *y = cr_mlp_forward(t, m, cr_const(t, 2, xs, NULL));
    assert_non_null(y);
    assert_int_equal(y->ndim, 2);
    assert_int_equal(y->shape[0], 5);
    assert_int_equal(y->shape[1], 10);
    cr_tape_free(t);
    cr_mlp_free(m);

    cr_mlp_config c = cr_mlp_default_config();
    c.batchnorm = 1;
    cr_rng_seed(&r, 42);
    m = cr_mlp_new_config(3, sizes, &c, &r, NULL, 0);
    assert_int_equal(cr_mlp_param_count(m), 102026);
    const char *pn[6] = { "fc1.W", "fc1.b", "bn1.gamma", "bn1.beta", "fc2.W", "fc2.b" };
    const char *bn[2] = { "bn1.running_mean", "bn1.running_var" };
    assert_int_equal(cr_params_count(cr_mlp_params(m)), 6);
    for (size_t i = 0; i < 6; i++) assert_string_equal(cr_params_name(cr_mlp_params(m), i), pn[i]);
    assert_int_equal(cr_params_count(cr_mlp_buffers(m)), 2);
    for (size_t i = 0; i < 2; i++) assert_string_equal(cr_params_name(cr_mlp_buffers(m), i), bn[i]);
    assert_int_equal(cr_params_count(cr_mlp_state(m)), 8);
    assert_string_equal(cr_params_name(cr_mlp_state(m), 7), "bn1.running_var");
    assert_false(cr_params_find(cr_mlp_buffers(m), "bn1.running_mean")->flags & CR_REQUIRES_GRAD);
    cr_mlp_free(m);
    cr_mlp_free(NULL);
}

/* Same seed, same weights and outputs; another seed, other weights. AUTO init is
 * He normal before relu: fc1.W of a 200-wide input has std about sqrt(2/200) = 0.1. */
static void test_mlp_is_deterministic_for_a_seed(void **state)
{
    (void)state;
    int sizes[4] = { 200, 30, 20, 3 };
    cr_mlp *m[3];
    cr_rng r;
    for (int k = 0; k < 3; k++) {
        cr_rng_seed(&r, k < 2 ? 5 : 6);
        m[k] = cr_mlp_new(4, sizes, CR_ACT_RELU, CR_ACT_SOFTMAX, &r, NULL, 0);
        assert_non_null(m[k]);
    }
    cr_params *p0 = cr_mlp_params(m[0]), *p1 = cr_mlp_params(m[1]), *p2 = cr_mlp_params(m[2]);
    int differ = 0;
    for (size_t i = 0; i < cr_params_count(p0); i++) {
        cr_tensor *a = cr_params_get(p0, i), *b = cr_params_get(p1, i), *c = cr_params_get(p2, i);
        assert_memory_equal(a->data, b->data, a->size * sizeof(cr_real));
        for (size_t j = 0; j < a->size; j++) differ += a->data[j] != c->data[j];
    }
    assert_true(differ > 0);
    cr_tensor *w = cr_params_get(p0, 0);
    double ss = 0;
    for (size_t j = 0; j < w->size; j++) ss += (double)w->data[j] * w->data[j];
    assert_close(sqrt(ss / (double)w->size), 0.1, 0.01, 0);   /* 6000 draws: sd err 0.9% */

    cr_tape *t = cr_tape_new(0);
    int xs[2] = { 4, 200 };
    cr_tensor *x = cr_const(t, 2, xs, NULL);
    cr_rng_seed(&r, 9);
    cr_tensor_rand_uniform(x, &r, -1, 1);
    cr_tensor *y0 = cr_mlp_forward(t, m[0], x), *y1 = cr_mlp_forward(t, m[1], x);
    assert_memory_equal(y0->data, y1->data, y0->size * sizeof(cr_real));
    for (int i = 0; i < 4; i++) {   /* softmax output: rows sum to 1 */
        double s = 0;
        for (int j = 0; j < 3; j++) s += y0->data[i * 3 + j];
        assert_close_i(s, 1, TOL(1e-12, 1e-6), 0, i);
    }
    cr_tape_free(t);
    for (int k = 0; k < 3; k++) cr_mlp_free(m[k]);
}

typedef struct mlp_case {
    cr_mlp *m;
    cr_tensor *x;        /* heap constant input */
} mlp_case;

static cr_tensor *build_mlp(cr_tape *t, cr_tensor *const *in, int n, void *user)
{
    (void)in;
    (void)n;
    const mlp_case *c = user;    /* in = the MLP's parameters */
    return weighted_sum(t, cr_mlp_forward(t, c->m, c->x));
}

/* Every hidden activation and every output activation, with and without
 * batchnorm: gradients of all parameters against central differences. */
static void test_mlp_passes_gradcheck_for_each_activation(void **state)
{
    (void)state;
    cr_rng r;
    cr_rng_seed(&r, 24);
    int sizes[4] = { 3, 4, 4, 3 }, xs[2] = { 4, 3 };
    cr_tensor *x = cr_tensor_new(2, xs);
    cr_tensor_rand_uniform(x, &r, -1, 1);
    const cr_activation hidden[4] = { CR_ACT_SIGMOID, CR_ACT_TANH, CR_ACT_RELU, CR_ACT_LEAKY_RELU };
    const cr_activation out[4] = { CR_ACT_NONE, CR_ACT_SIGMOID, CR_ACT_SOFTMAX, CR_ACT_TANH };
    for (int k = 0; k < 8; k++) {
        cr_mlp_config c = cr_mlp_default_config();
        c.hidden = hidden[k % 4];
        c.output = out[k % 4];
        c.leaky_slope = (cr_real)0.1;
        c.batchnorm = k >= 4;
        cr_mlp *m = cr_mlp_new_config(4, sizes, &c, &r, NULL, 0);
        assert_non_null(m);
        cr_params *p = cr_mlp_params(m);
        /* nonzero biases, so the check does not start from the symmetric zero bias */
        for (size_t i = 0; i < cr_params_count(p); i++)
            if (cr_params_get(p, i)->ndim == 1 && !c.batchnorm)
                cr_tensor_rand_uniform(cr_params_get(p, i), &r, -0.3, 0.3);
        cr_tensor *in[16];
        int n = (int)cr_params_count(p);
        for (int i = 0; i < n; i++) in[i] = cr_params_get(p, i);
        mlp_case mc = { m, x };
        char what[64];
        snprintf(what, sizeof what, "mlp %s -> %s%s", cr_activation_name(c.hidden),
                 cr_activation_name(c.output), c.batchnorm ? " + batchnorm" : "");
        check_gradients(build_mlp, in, n, &mc, what);
        cr_mlp_free(m);
    }
    cr_tensor_free(x);
}

/* Training mode with dropout: two forwards differ (new masks); evaluation mode:
 * no dropout and running statistics, so two forwards are equal and do not
 * change the running statistics. */
static void test_mlp_training_and_eval_modes(void **state)
{
    (void)state;
    cr_rng r;
    cr_rng_seed(&r, 25);
    int sizes[3] = { 6, 16, 2 }, xs[2] = { 8, 6 };
    cr_mlp_config c = cr_mlp_default_config();
    c.dropout = (cr_real)0.5;
    c.batchnorm = 1;
    cr_mlp *m = cr_mlp_new_config(3, sizes, &c, &r, NULL, 0);
    assert_non_null(m);
    cr_tape *t = cr_tape_new(0);
    cr_tensor *x = cr_const(t, 2, xs, NULL);
    cr_tensor_rand_uniform(x, &r, -1, 1);
    cr_tensor *a = cr_mlp_forward(t, m, x), *b = cr_mlp_forward(t, m, x);
    assert_memory_not_equal(a->data, b->data, a->size * sizeof(cr_real));
    cr_tensor *rm = cr_params_find(cr_mlp_buffers(m), "bn1.running_mean");
    double moved = 0;
    for (size_t j = 0; j < rm->size; j++) moved += fabs(rm->data[j]);
    assert_true(moved > 0);                     /* training forwards moved them */
    cr_real keep[16];
    memcpy(keep, rm->data, sizeof keep);
    assert_int_equal(cr_mlp_set_training(m, 0), 1);
    a = cr_mlp_forward(t, m, x);
    b = cr_mlp_forward(t, m, x);
    assert_memory_equal(a->data, b->data, a->size * sizeof(cr_real));
    assert_memory_equal(keep, rm->data, sizeof keep);
    assert_int_equal(cr_mlp_set_training(m, 1), 0);
    cr_tape_free(t);
    cr_mlp_free(m);
}

/* Restoring the dropout generator's state (as a checkpoint would) reproduces the
 * same training-mode output; without restoring, the masks differ. */
static void test_mlp_rng_state_restores_dropout_masks(void **state)
{
    (void)state;
    cr_rng r;
    cr_rng_seed(&r, 27);
    int sizes[3] = { 4, 32, 3 }, xs[2] = { 6, 4 };
    cr_mlp_config c = cr_mlp_default_config();
    c.dropout = (cr_real)0.5;
    cr_mlp *m = cr_mlp_new_config(3, sizes, &c, &r, NULL, 0);
    assert_non_null(cr_mlp_rng(m));
    assert_null(cr_mlp_rng(NULL));
    cr_tape *t = cr_tape_new(0);
    cr_tensor *x = cr_const(t, 2, xs, NULL);
    cr_tensor_fill(x, 1);
    cr_rng saved = *cr_mlp_rng(m);
    cr_tensor *a = cr_mlp_forward(t, m, x), *b = cr_mlp_forward(t, m, x);
    *cr_mlp_rng(m) = saved;
    cr_tensor *a2 = cr_mlp_forward(t, m, x);
    assert_memory_not_equal(a->data, b->data, a->size * sizeof(cr_real));
    assert_memory_equal(a->data, a2->data, a->size * sizeof(cr_real));
    cr_tape_free(t);
    cr_mlp_free(m);
}

/* A recorded MLP forward replays on new input: the same values as a fresh
 * recording (no dropout, so nothing random). */
static void test_mlp_replay_matches_a_fresh_recording(void **state)
{
    (void)state;
    cr_rng r;
    cr_rng_seed(&r, 26);
    int sizes[3] = { 3, 5, 2 }, xs[2] = { 2, 3 };
    cr_mlp *m = cr_mlp_new(3, sizes, CR_ACT_TANH, CR_ACT_SIGMOID, &r, NULL, 0);
    cr_tape *t = cr_tape_new(0), *u = cr_tape_new(0);
    cr_tensor *x = cr_const(t, 2, xs, NULL);
    cr_tensor *y = cr_mlp_forward(t, m, x);
    const cr_real nx[6] = { 0.5, -1, 2, 0.25, 0, -0.75 };
    memcpy(x->data, nx, sizeof nx);
    assert_int_equal(cr_tape_forward(t), CR_OK);
    cr_tensor *y2 = cr_mlp_forward(u, m, cr_const(u, 2, xs, nx));
    assert_memory_equal(y->data, y2->data, y->size * sizeof(cr_real));
    cr_tape_free(t);
    cr_tape_free(u);
    cr_mlp_free(m);
}

/* XOR with a 2-4-1 tanh MLP, sigmoid-free logits and BCE-with-logits, trained by
 * plain gradient descent written out here (w -= 0.5 * dw): after 500 full-batch
 * steps from seed 3 every prediction is on the right side with margin. */
static void test_mlp_learns_xor(void **state)
{
    (void)state;
    cr_rng r;
    cr_rng_seed(&r, 3);
    int sizes[3] = { 2, 4, 1 }, xs[2] = { 4, 2 }, ys[2] = { 4, 1 };
    cr_mlp *m = cr_mlp_new(3, sizes, CR_ACT_TANH, CR_ACT_NONE, &r, NULL, 0);
    const cr_real xv[8] = { 0, 0, 0, 1, 1, 0, 1, 1 }, yv[4] = { 0, 1, 1, 0 };
    cr_params *p = cr_mlp_params(m);
    cr_tape *t = cr_tape_new(0);
    cr_tensor *x = cr_const(t, 2, xs, xv), *y = cr_const(t, 2, ys, yv);
    cr_tensor *z = cr_mlp_forward(t, m, x);
    cr_tensor *loss = cr_loss_bce_logits(t, z, y);
    for (int step = 0; step < 500; step++) {
        if (step) assert_int_equal(cr_tape_forward(t), CR_OK);   /* replay */
        cr_params_zero_grad(p);
        assert_int_equal(cr_backward(t, loss), CR_OK);
        for (size_t i = 0; i < cr_params_count(p); i++) {
            cr_tensor *w = cr_params_get(p, i);
            for (size_t j = 0; j < w->size; j++) w->data[j] -= (cr_real)0.5 * w->grad[j];
        }
    }
    assert_int_equal(cr_tape_forward(t), CR_OK);
    assert_true(cr_item(loss) < 0.1);
    for (int i = 0; i < 4; i++) assert_true(yv[i] ? z->data[i] > 1 : z->data[i] < -1);
    cr_tape_free(t);
    cr_mlp_free(m);
}

static void test_mlp_errors(void **state)
{
    (void)state;
    cr_rng r;
    cr_rng_seed(&r, 1);
    int sizes[3] = { 4, 3, 2 }, zero[2] = { 4, 0 };
    char err[96];
    assert_null(cr_mlp_new(1, sizes, CR_ACT_RELU, CR_ACT_NONE, &r, err, sizeof err));
    assert_string_equal(err, "mlp: 1 sizes (need inputs and outputs: >= 2)");
    assert_null(cr_mlp_new(2, zero, CR_ACT_RELU, CR_ACT_NONE, &r, err, sizeof err));
    assert_string_equal(err, "mlp: sizes[1] = 0 (every size must be >= 1)");
    assert_null(cr_mlp_new(3, sizes, CR_ACT_RELU, CR_ACT_NONE, NULL, err, sizeof err));
    assert_string_equal(err, "mlp: rng is NULL");
    assert_null(cr_mlp_new(3, NULL, CR_ACT_RELU, CR_ACT_NONE, &r, err, sizeof err));
    assert_string_equal(err, "mlp: sizes is NULL");
    assert_null(cr_mlp_new(3, sizes, (cr_activation)9, CR_ACT_NONE, &r, err, sizeof err));
    assert_string_equal(err, "mlp: unknown hidden activation 9");
    assert_null(cr_mlp_new(3, sizes, CR_ACT_RELU, (cr_activation)-1, &r, err, sizeof err));
    assert_string_equal(err, "mlp: unknown output activation -1");
    cr_mlp_config c = cr_mlp_default_config();
    c.dropout = 1;
    assert_null(cr_mlp_new_config(3, sizes, &c, &r, err, sizeof err));
    assert_string_equal(err, "mlp: dropout = 1 is outside [0, 1)");
    c = cr_mlp_default_config();
    c.init = (cr_init_kind)42;
    assert_null(cr_mlp_new_config(3, sizes, &c, &r, err, sizeof err));
    assert_string_equal(err, "mlp: unknown init kind 42");
    c = cr_mlp_default_config();
    c.batchnorm = 1;
    c.bn_momentum = 3;
    assert_null(cr_mlp_new_config(3, sizes, &c, &r, err, sizeof err));
    assert_string_equal(err, "mlp: bn_momentum = 3 is above 1");
    assert_null(cr_mlp_new_config(3, sizes, NULL, &r, err, sizeof err));
    assert_string_equal(err, "mlp: cfg is NULL");

    cr_mlp *m = cr_mlp_new(3, sizes, CR_ACT_RELU, CR_ACT_NONE, &r, NULL, 0);
    cr_tape *t = cr_tape_new(0);
    int xs[2] = { 3, 5 };
    assert_null(cr_mlp_forward(t, m, cr_const(t, 2, xs, NULL)));
    assert_tape_error(t, "mlp: input is 3x5 but the network expects N x 4");
    cr_tape_reset(t);
    assert_null(cr_mlp_forward(t, m, NULL));
    assert_tape_error(t, "mlp: input 1 is NULL");
    cr_tape_free(t);
    cr_mlp_free(m);
}

/* Every allocation of cr_mlp_new_config (batchnorm on) failing in turn gives NULL,
 * a message, the rng as it was, and leaks nothing (the sanitizer build checks). */
static void test_mlp_new_survives_every_allocation_failure(void **state)
{
    (void)state;
    int sizes[4] = { 3, 4, 4, 2 };
    cr_mlp_config c = cr_mlp_default_config();
    c.batchnorm = 1;
    cr_test_alloc ca;
    for (long k = 1;; k++) {
        memset(&ca, 0, sizeof ca);
        ca.fail_at = k;
        cr_rng r;
        cr_rng_seed(&r, 1);
        cr_test_alloc_install(&ca);
        cr_rng r0 = r;
        char err[96] = "";
        cr_mlp *m = cr_mlp_new_config(4, sizes, &c, &r, err, sizeof err);
        cr_mlp_free(m);
        cr_test_alloc_remove();
        if (m) {
            assert_true(k > 10);     /* it did fail for the earlier k */
            break;
        }
        /* every failure says so, and the caller's rng is as it was */
        assert_non_null(strstr(err, ": out of memory"));
        assert_memory_equal(&r, &r0, sizeof r);
        assert_true(k < 1000);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mlp_784_128_10_shape_names_and_param_count),
        cmocka_unit_test(test_mlp_is_deterministic_for_a_seed),
        cmocka_unit_test(test_mlp_passes_gradcheck_for_each_activation),
        cmocka_unit_test(test_mlp_training_and_eval_modes),
        cmocka_unit_test(test_mlp_rng_state_restores_dropout_masks),
        cmocka_unit_test(test_mlp_replay_matches_a_fresh_recording),
        cmocka_unit_test(test_mlp_learns_xor),
        cmocka_unit_test(test_mlp_errors),
        cmocka_unit_test(test_mlp_new_survives_every_allocation_failure),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
