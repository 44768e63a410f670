/* cr_gate (ops/sigmoid.c): sigmoid or tanh of a block of columns in one node.
 * Hand values, the same bits as cr_slice + cr_sigmoid / cr_tanh (values and
 * gradients), gradient checks, the same bits over 1, 2 and 3 threads, errors. */
#include "op_grad_helpers.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

/* x = [[0, 1, -1], [2, 0, 0.5]]: columns [1, 3) through sigmoid and through tanh;
 * values from the definitions (tanh 1 and e^-1, e^-0.5 by libm in double). */
static void test_gate_hand_values_and_gradient(void **state)
{
    (void)state;
    int s23[2] = { 2, 3 };
    cr_real xv[6] = { 0, 1, -1, 2, 0, 0.5f };
    cr_tape *t = cr_tape_new(0);
    cr_tensor *x = cr_var(t, 2, s23, xv);
    cr_tensor *s = cr_gate(t, x, 1, 2, CR_GATE_SIGMOID);
    cr_tensor *h = cr_gate(t, x, 1, 2, CR_GATE_TANH);
    assert_int_equal(s->shape[0], 2);
    assert_int_equal(s->shape[1], 2);
    const double s1 = 1 / (1 + exp(-1.0)), sh = 1 / (1 + exp(-0.5)), t1 = tanh(1.0);
    const double ws[4] = { s1, 1 - s1, 0.5, sh }, wh[4] = { t1, -t1, 0, tanh(0.5) };
    assert_all_close(s->data, ws, 4, 0, TOL(1e-15, 1e-7));
    assert_all_close(h->data, wh, 4, 0, TOL(1e-15, 1e-7));
    /* both read the same columns: their gradients add; column 0 gets nothing */
    assert_int_equal(cr_backward(t, cr_add(t, cr_sum(t, s), cr_sum(t, h))), CR_OK);
    const double dx[6] = { 0, s1 * (1 - s1) + 1 - t1 * t1, s1 * (1 - s1) + 1 - t1 * t1,
                           0, 0.25 + 1, sh * (1 - sh) + 1 - tanh(0.5) * tanh(0.5) };
    assert_all_close(x->grad, dx, 6, 0, TOL(1e-15, 1e-6));
    cr_tape_free(t);
}

/* Each of 4 blocks of a 5 x 12 tensor by cr_gate and by cr_slice then the
 * activation: value and input gradient bit for bit. */
static void test_gate_is_slice_then_activation_bit_for_bit(void **state)
{
    (void)state;
    int shape[2] = { 5, 12 };
    cr_rng r;
    cr_rng_seed(&r, 41);
    cr_tensor *x = rand_param(&r, 2, shape, -4, 4);
    cr_real *g1 = malloc(60 * sizeof *g1);
    assert_non_null(g1);
    for (int k = 0; k < 4; k++) {
        cr_gate_act act = k == 2 ? CR_GATE_TANH : CR_GATE_SIGMOID;
        cr_tape *t = cr_tape_new(0);
        cr_tensor *a = cr_gate(t, x, 3 * k, 3, act);
        cr_tensor_zero_grad(x);
        assert_int_equal(cr_backward(t, weighted_sum(t, a)), CR_OK);
        memcpy(g1, x->grad, 60 * sizeof *g1);
        cr_tape *u = cr_tape_new(0);
        cr_tensor *sl = cr_slice(u, x, 1, 3 * k, 3);
        cr_tensor *b = act == CR_GATE_TANH ? cr_tanh(u, sl) : cr_sigmoid(u, sl);
        cr_tensor_zero_grad(x);
        assert_int_equal(cr_backward(u, weighted_sum(u, b)), CR_OK);
        assert_memory_equal(a->data, b->data, 15 * sizeof(cr_real));
        assert_memory_equal(g1, x->grad, 60 * sizeof(cr_real));
        cr_tape_free(u);
        cr_tape_free(t);
    }
    free(g1);
    cr_tensor_free(x);
}

typedef struct gate_case { int start, len; cr_gate_act act; } gate_case;

static cr_tensor *build_gate(cr_tape *t, cr_tensor *const *in, int n, void *user)
{
    (void)n;
    const gate_case *c = user;
    return weighted_sum(t, cr_gate(t, in[0], c->start, c->len, c->act));
}

static void test_gate_gradcheck(void **state)
{
    (void)state;
    int shape[2] = { 4, 9 };
    cr_rng r;
    cr_rng_seed(&r, 23);
    cr_tensor *x = rand_param(&r, 2, shape, -2, 2);
    const gate_case cases[6] = { { 0, 9, CR_GATE_SIGMOID }, { 2, 5, CR_GATE_SIGMOID },
                                 { 8, 1, CR_GATE_SIGMOID }, { 0, 9, CR_GATE_TANH },
                                 { 3, 4, CR_GATE_TANH }, { 0, 1, CR_GATE_TANH } };
    for (int k = 0; k < 6; k++) {
        char what[64];
        snprintf(what, sizeof what, "gate %s [%d, %d)", cases[k].act ? "tanh" : "sigmoid",
                 cases[k].start, cases[k].start + cases[k].len);
        check_gradients(build_gate, &x, 1, (void *)&cases[k], what);
    }
    cr_tensor_free(x);
}

/* 300 x 250, columns [50, 250) (60000 outputs: split over the pool, ranges cut
 * rows in the middle): values and gradient the same bits for 1, 2, 3 threads. */
static void run_gate(int threads, cr_gate_act act, cr_real *val, cr_real *grad)
{
    enum { R = 300, C = 250, S = 50 };
    int shape[2] = { R, C }, oshape[2] = { R, C - S };
    cr_tape *t = cr_tape_new(0);
    assert_int_equal(cr_tape_set_threads(t, threads), CR_OK);
    cr_tensor *x = cr_var(t, 2, shape, NULL), *w = cr_const(t, 2, oshape, NULL);
    cr_rng r;
    cr_rng_seed(&r, 5);
    cr_tensor_rand_uniform(x, &r, -3, 3);
    cr_tensor_rand_uniform(w, &r, -1, 1);
    cr_tensor *y = cr_gate(t, x, S, C - S, act);
    assert_int_equal(cr_backward(t, cr_sum(t, cr_mul(t, y, w))), CR_OK);
    memcpy(val, y->data, (size_t)R * (C - S) * sizeof *val);
    memcpy(grad, x->grad, (size_t)R * C * sizeof *grad);
    cr_tape_free(t);
}

static void test_gate_gives_the_same_bits_for_1_2_3_threads(void **state)
{
    (void)state;
    size_t nv = 300 * 200, ng = 300 * 250;
    cr_real *v1 = malloc(nv * sizeof *v1), *vk = malloc(nv * sizeof *vk);
    cr_real *g1 = malloc(ng * sizeof *g1), *gk = malloc(ng * sizeof *gk);
    assert_true(v1 && vk && g1 && gk);
    for (int act = 0; act < 2; act++) {
        run_gate(1, (cr_gate_act)act, v1, g1);
        for (int threads = 2; threads <= 3; threads++) {
            run_gate(threads, (cr_gate_act)act, vk, gk);
            if (memcmp(v1, vk, nv * sizeof *v1) || memcmp(g1, gk, ng * sizeof *g1))
                fail_msg("gate act %d: %d threads give other bits than 1", act, threads);
        }
    }
    free(v1);
    free(vk);
    free(g1);
    free(gk);
}

static void test_gate_errors(void **state)
{
    (void)state;
    int s35[2] = { 3, 5 }, s5[1] = { 5 };
    cr_tape *t = cr_tape_new(0);
    assert_null(cr_gate(t, cr_const(t, 1, s5, NULL), 0, 2, CR_GATE_SIGMOID));
    assert_tape_error(t, "gate: x is 5 but must be rank 2 (rows x columns)");
    cr_tape_reset(t);
    assert_null(cr_gate(t, cr_const(t, 2, s35, NULL), 3, 3, CR_GATE_TANH));
    assert_tape_error(t, "gate: columns [3, 6) are not within the 5 of x");
    cr_tape_reset(t);
    assert_null(cr_gate(t, cr_const(t, 2, s35, NULL), 0, 0, CR_GATE_TANH));
    assert_tape_error(t, "gate: columns [0, 0) are not within the 5 of x");
    cr_tape_reset(t);
    assert_null(cr_gate(t, cr_const(t, 2, s35, NULL), -1, 2, CR_GATE_TANH));
    assert_tape_error(t, "gate: columns [-1, 1) are not within the 5 of x");
    cr_tape_reset(t);
    assert_null(cr_gate(t, cr_const(t, 2, s35, NULL), 0, 2, (cr_gate_act)2));
    assert_tape_error(t, "gate: act 2 is neither CR_GATE_SIGMOID nor CR_GATE_TANH");
    cr_tape_reset(t);
    assert_null(cr_gate(t, NULL, 0, 2, CR_GATE_TANH));
    assert_null(cr_gate(NULL, NULL, 0, 2, CR_GATE_TANH));
    cr_tape_free(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_gate_hand_values_and_gradient),
        cmocka_unit_test(test_gate_is_slice_then_activation_bit_for_bit),
        cmocka_unit_test(test_gate_gradcheck),
        cmocka_unit_test(test_gate_gives_the_same_bits_for_1_2_3_threads),
        cmocka_unit_test(test_gate_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
