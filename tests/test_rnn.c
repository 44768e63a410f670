/* Recurrent layers (nn/rnn.c): Elman tanh/relu, LSTM and GRU against PyTorch
 * float64 (tests/fixtures/rnn_fixture.h, made by tools/fixtures/make_rnn_fixture.py):
 * outputs, final states and the gradient of every parameter, of the input and of
 * the initial state; the one-step API against the whole-sequence one, batch-first
 * input, dropout between layers, PyTorch's initialisation range, parameter names
 * and save/load, state helpers, and the errors. */
#include "op_grad_helpers.h"
#include "fixtures/rnn_fixture.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* double: the composed ops sum in another order than PyTorch's kernels (1e-12
 * relative is the target); float: the fixture's inputs are rounded to float */
#define FIX_ATOL TOL(1e-12, 2e-5)
#define FIX_RTOL TOL(1e-12, 1e-4)

typedef struct rnn_case {
    const char *name;
    cr_rnn_kind kind;
    const double *params, *dparams, *x, *h0, *r, *rh, *y, *hn, *dx, *dh0;
    const double *c0, *rc, *cn, *dc0;   /* LSTM only */
} rnn_case;

#define CASE(c, k) { #c, k, c##_params, c##_dparams, c##_x, c##_h0, c##_r, c##_rh, c##_y, \
                     c##_hn, c##_dx, c##_dh0, NULL, NULL, NULL, NULL }
static const rnn_case cases[4] = {
    CASE(tanh, CR_RNN_TANH),
    CASE(relu, CR_RNN_RELU),
    { "lstm", CR_LSTM, lstm_params, lstm_dparams, lstm_x, lstm_h0, lstm_r, lstm_rh, lstm_y,
      lstm_hn, lstm_dx, lstm_dh0, lstm_c0, lstm_rc, lstm_cn, lstm_dc0 },
    CASE(gru, CR_GRU),
};

static void fill(cr_tensor *x, const double *v)
{
    for (size_t i = 0; i < x->size; i++) x->data[i] = (cr_real)v[i];
}

static cr_rnn *rnn_from(const rnn_case *c)
{
    char err[200];
    cr_rnn *r = cr_rnn_new(c->kind, RNN_I, RNN_H, RNN_L, 0, err, sizeof err);
    if (!r) fail_msg("%s", err);
    cr_params *p = cr_rnn_params(r);
    size_t off = 0;
    for (size_t i = 0; i < cr_params_count(p); i++) {
        fill(cr_params_get(p, i), c->params + off);
        off += cr_params_get(p, i)->size;
    }
    assert_int_equal(off, cr_rnn_param_count(r));
    return r;
}

/* The gradients of the fixture's loss, in the order of the parameter list. */
static void assert_param_grads(cr_rnn *r, const double *dparams)
{
    cr_params *p = cr_rnn_params(r);
    size_t off = 0;
    for (size_t i = 0; i < cr_params_count(p); i++) {
        cr_tensor *w = cr_params_get(p, i);
        print_message("  %s\n", cr_params_name(p, i));
        assert_all_close(w->grad, dparams + off, w->size, FIX_ATOL, FIX_RTOL);
        off += w->size;
    }
}

/* Run one case: the whole sequence through cr_rnn_forward (step_api 0) or step by
 * step (1), then the fixture's loss and backward. */
static void run_case(const rnn_case *c, int step_api)
{
    cr_rnn *r = rnn_from(c);
    const int lstm = c->kind == CR_LSTM, BH = RNN_B * RNN_H;
    int sx[3] = { RNN_T, RNN_B, RNN_I }, sh[2] = { RNN_B, RNN_H }, sy[3] = { RNN_T, RNN_B, RNN_H };
    cr_tensor *x = cr_param_new(3, sx), *h0[RNN_L], *c0[RNN_L] = { NULL };
    fill(x, c->x);
    cr_rnn_state s;
    memset(&s, 0, sizeof s);
    for (int l = 0; l < RNN_L; l++) {
        s.h[l] = h0[l] = cr_param_new(2, sh);
        fill(h0[l], c->h0 + l * BH);
        if (lstm) {
            s.c[l] = c0[l] = cr_param_new(2, sh);
            fill(c0[l], c->c0 + l * BH);
        }
    }
    cr_tape *t = cr_tape_new(0);
    cr_tensor *y;
    if (step_api) {
        cr_tensor *ys[RNN_T];
        for (int k = 0; k < RNN_T; k++) {
            ys[k] = cr_rnn_step(t, r, cr_select(t, x, 0, k), &s, 1, NULL);
            assert_ptr_equal(ys[k], s.h[RNN_L - 1]);
        }
        y = cr_stack(t, RNN_T, ys, 0);
    } else {
        y = cr_rnn_forward(t, r, x, 0, &s, 1, NULL);
    }
    if (!y) fail_msg("%s: %s", c->name, cr_tape_error(t));
    for (int d = 0; d < 3; d++) assert_int_equal(y->shape[d], sy[d]);
    /* loss = sum(r y) + sum_l sum(rh_l h_l) (+ sum_l sum(rc_l c_l)) */
    cr_tensor *rw = cr_const(t, 3, sy, NULL);
    fill(rw, c->r);
    cr_tensor *loss = cr_sum(t, cr_mul(t, y, rw));
    for (int l = 0; l < RNN_L; l++) {
        cr_tensor *w = cr_const(t, 2, sh, NULL);
        fill(w, c->rh + l * BH);
        loss = cr_add(t, loss, cr_sum(t, cr_mul(t, s.h[l], w)));
        if (lstm) {
            w = cr_const(t, 2, sh, NULL);
            fill(w, c->rc + l * BH);
            loss = cr_add(t, loss, cr_sum(t, cr_mul(t, s.c[l], w)));
        }
    }
    assert_int_equal(cr_backward(t, loss), CR_OK);
    print_message("%s (%s)\n", c->name, step_api ? "steps" : "sequence");
    assert_all_close(y->data, c->y, y->size, FIX_ATOL, FIX_RTOL);
    for (int l = 0; l < RNN_L; l++) {
        assert_all_close(s.h[l]->data, c->hn + l * BH, BH, FIX_ATOL, FIX_RTOL);
        assert_all_close(h0[l]->grad, c->dh0 + l * BH, BH, FIX_ATOL, FIX_RTOL);
        if (lstm) {
            assert_all_close(s.c[l]->data, c->cn + l * BH, BH, FIX_ATOL, FIX_RTOL);
            assert_all_close(c0[l]->grad, c->dc0 + l * BH, BH, FIX_ATOL, FIX_RTOL);
        }
    }
    assert_all_close(x->grad, c->dx, x->size, FIX_ATOL, FIX_RTOL);
    assert_param_grads(r, c->dparams);
    cr_tape_free(t);
    cr_tensor_free(x);
    for (int l = 0; l < RNN_L; l++) {
        cr_tensor_free(h0[l]);
        cr_tensor_free(c0[l]);
    }
    cr_rnn_free(r);
}

/* Outputs, final states and every gradient of PyTorch's nn.RNN/LSTM/GRU (2 layers,
 * T = 5, B = 3, float64), through the whole-sequence call. */
static void test_rnn_sequence_matches_pytorch(void **state)
{
    (void)state;
    for (int k = 0; k < 4; k++) run_case(&cases[k], 0);
}

/* The same numbers one cr_rnn_step at a time (select, step, stack). */
static void test_rnn_steps_match_pytorch(void **state)
{
    (void)state;
    for (int k = 0; k < 4; k++) run_case(&cases[k], 1);
}

int main(int argc, char **argv)
{
    struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rnn_sequence_matches_pytorch),
        cmocka_unit_test(test_rnn_steps_match_pytorch),
    };
    return CR_TEST_RUN(tests, NULL, NULL, argc, argv);
}
