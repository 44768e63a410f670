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

/* ------------------------------------------------------ gradient checks */

typedef struct gc_arg {
    cr_rnn *r;
    int batch_first;
} gc_arg;

/* in: x (T x B x I), h0 layer 0, h0 layer 1 (, c0 layer 0, c0 layer 1), then every
 * parameter; loss: weighted sum of the outputs plus the final states. */
static cr_tensor *build_rnn(cr_tape *t, cr_tensor *const *in, int n, void *user)
{
    (void)n;
    const gc_arg *a = user;
    int lstm = cr_rnn_get_kind(a->r) == CR_LSTM;
    cr_rnn_state s;
    memset(&s, 0, sizeof s);
    for (int l = 0; l < 2; l++) {
        s.h[l] = in[1 + l];
        if (lstm) s.c[l] = in[3 + l];
    }
    cr_tensor *y = cr_rnn_forward(t, a->r, in[0], a->batch_first, &s, 0, NULL);
    cr_tensor *parts[5] = { y, s.h[0], s.h[1], s.c[0], s.c[1] };
    cr_tensor *loss = weighted_sum(t, y);
    for (int k = 1; k < (lstm ? 5 : 3); k++)
        loss = cr_add(t, loss, weighted_sum(t, cr_scale(t, parts[k], (cr_real)(k + 1))));
    return loss;
}

/* Central differences in double over the input, the initial state and every
 * weight of a 2-layer stack (T = 3, B = 2, I = 3, H = 2). For relu the seed keeps
 * the pre-activations away from 0 (a kink within the difference step would fail
 * the check, not pass it). */
static void test_rnn_gradcheck_every_kind(void **state)
{
    (void)state;
    for (int kind = CR_RNN_TANH; kind <= CR_GRU; kind++) {
        char err[200];
        cr_rnn *r = cr_rnn_new((cr_rnn_kind)kind, 3, 2, 2, 0, err, sizeof err);
        assert_non_null(r);
        cr_rng rng;
        cr_rng_seed(&rng, 100 + kind);
        assert_int_equal(cr_rnn_init(r, &rng, err, sizeof err), CR_OK);
        int sx[3] = { 3, 2, 3 }, sh[2] = { 2, 2 };
        cr_tensor *in[16];
        int n = 0;
        in[n++] = rand_param(&rng, 3, sx, -1, 1);
        for (int k = 0; k < (kind == CR_LSTM ? 4 : 2); k++) in[n++] = rand_param(&rng, 2, sh, -1, 1);
        int first_param = n;
        for (size_t i = 0; i < cr_params_count(cr_rnn_params(r)); i++)
            in[n++] = cr_params_get(cr_rnn_params(r), i);
        gc_arg a = { r, 0 };
        print_message("%s\n", cr_rnn_kind_name((cr_rnn_kind)kind));
        check_gradients(build_rnn, in, n, &a, cr_rnn_kind_name((cr_rnn_kind)kind));
        for (int k = 0; k < first_param; k++) cr_tensor_free(in[k]);
        cr_rnn_free(r);
    }
}

/* ----------------------------------------------------------- behaviour */

/* batch_first input (B x T x I) gives the sequence-first result transposed, and
 * the same final state. */
static void test_rnn_batch_first_is_the_transposed_sequence(void **state)
{
    (void)state;
    char err[200];
    cr_rnn *r = cr_rnn_new(CR_GRU, 3, 4, 2, 0, err, sizeof err);
    cr_rng rng;
    cr_rng_seed(&rng, 8);
    cr_rnn_init(r, &rng, err, sizeof err);
    int sx[3] = { 5, 2, 3 }, perm[3] = { 1, 0, 2 };
    cr_tape *t = cr_tape_new(0);
    cr_tensor *x = cr_var(t, 3, sx, NULL);
    cr_tensor_rand_uniform(x, &rng, -1, 1);
    cr_rnn_state s1, s2;
    memset(&s1, 0, sizeof s1);
    memset(&s2, 0, sizeof s2);
    cr_tensor *y1 = cr_rnn_forward(t, r, x, 0, &s1, 0, NULL);
    cr_tensor *y2 = cr_rnn_forward(t, r, cr_permute(t, x, perm), 1, &s2, 0, NULL);
    assert_non_null(y2);
    assert_int_equal(y2->shape[0], 2);
    assert_int_equal(y2->shape[1], 5);
    cr_tensor *y2t = cr_permute(t, y2, perm);
    assert_memory_equal(y1->data, y2t->data, y1->size * sizeof(cr_real));
    for (int l = 0; l < 2; l++)
        assert_memory_equal(s1.h[l]->data, s2.h[l]->data, s1.h[l]->size * sizeof(cr_real));
    assert_null(s1.c[0]);                           /* GRU has no cell state */
    cr_tape_free(t);
    cr_rnn_free(r);
}

/* Dropout between layers: in training it changes the output of a 2-layer stack
 * (layer 1's input is masked) and redraws on replay; in evaluation (and for one
 * layer) the output is the dropout-free one, and no rng is needed. */
static void test_rnn_dropout_between_layers_only_in_training(void **state)
{
    (void)state;
    char err[200];
    cr_rnn *r = cr_rnn_new(CR_LSTM, 3, 8, 2, 0.5, err, sizeof err);
    cr_rnn *r0 = cr_rnn_new(CR_LSTM, 3, 8, 2, 0, err, sizeof err);
    cr_rng a, b;
    cr_rng_seed(&a, 4);
    cr_rng_seed(&b, 4);
    cr_rnn_init(r, &a, err, sizeof err);
    cr_rnn_init(r0, &b, err, sizeof err);
    int sx[2] = { 2, 3 };
    cr_tape *t = cr_tape_new(0);
    cr_tensor *x = cr_const(t, 2, sx, NULL);
    cr_tensor_rand_uniform(x, &a, -1, 1);
    cr_rnn_state s_eval = { { NULL }, { NULL } }, s_ref = s_eval, s_train = s_eval;
    cr_tensor *ye = cr_rnn_step(t, r, x, &s_eval, 0, NULL);
    cr_tensor *yr = cr_rnn_step(t, r0, x, &s_ref, 1, NULL);
    assert_non_null(ye);
    assert_memory_equal(ye->data, yr->data, ye->size * sizeof(cr_real));
    cr_rng drop;
    cr_rng_seed(&drop, 1);
    cr_tensor *yt = cr_rnn_step(t, r, x, &s_train, 1, &drop);
    assert_non_null(yt);
    assert_memory_not_equal(yt->data, yr->data, yt->size * sizeof(cr_real));
    /* layer 0 sees no dropout: its state equals the reference's */
    assert_memory_equal(s_train.h[0]->data, s_ref.h[0]->data, 16 * sizeof(cr_real));
    cr_real first[16];
    memcpy(first, yt->data, sizeof first);
    assert_int_equal(cr_tape_forward(t), CR_OK);     /* new masks */
    assert_memory_not_equal(first, yt->data, sizeof first);
    cr_tape_reset(t);
    x = cr_const(t, 2, sx, NULL);
    cr_rnn_state s = { { NULL }, { NULL } };
    assert_null(cr_rnn_step(t, r, x, &s, 1, NULL));
    assert_tape_error(t, "rnn: rng is NULL but dropout 0.5 needs it in training");
    cr_tape_free(t);
    cr_rnn_free(r);
    cr_rnn_free(r0);
}

/* PyTorch's initialisation: every value in [-1/sqrt(H), 1/sqrt(H)], drawn in the
 * order of the parameter list, the same for the same seed; all zero before. */
static void test_rnn_init_is_uniform_in_plus_minus_one_over_sqrt_hidden(void **state)
{
    (void)state;
    char err[200];
    cr_rnn *r = cr_rnn_new(CR_LSTM, 5, 16, 2, 0, err, sizeof err);
    cr_params *p = cr_rnn_params(r);
    for (size_t i = 0; i < cr_params_count(p); i++)
        for (size_t j = 0; j < cr_params_get(p, i)->size; j++)
            assert_true(cr_params_get(p, i)->data[j] == 0);
    cr_rng rng, copy;
    cr_rng_seed(&rng, 12);
    copy = rng;
    assert_int_equal(cr_rnn_init(r, &rng, err, sizeof err), CR_OK);
    double lo = 1, hi = -1;
    for (size_t i = 0; i < cr_params_count(p); i++)
        for (size_t j = 0; j < cr_params_get(p, i)->size; j++) {
            double v = cr_params_get(p, i)->data[j];
            lo = v < lo ? v : lo;
            hi = v > hi ? v : hi;
        }
    assert_true(lo >= -0.25 && hi <= 0.25);
    assert_true(lo < -0.24 && hi > 0.24);           /* 4*64*(5+16+2)*2 draws reach the ends */
    int w0[2] = { 64, 5 };
    cr_tensor *first = cr_param_new(2, w0);
    cr_tensor_rand_uniform(first, &copy, -0.25f, 0.25f);
    assert_memory_equal(first->data, cr_params_get(p, 0)->data, first->size * sizeof(cr_real));
    cr_tensor_free(first);
    assert_int_equal(cr_rnn_init(NULL, &rng, err, sizeof err), CR_ERR_ARG);
    assert_int_equal(cr_rnn_init(r, NULL, err, sizeof err), CR_ERR_ARG);
    assert_string_equal(err, "rnn_init: rng is NULL");
    cr_rnn_free(r);
}

/* PyTorch's names and shapes (G*H x in, G*H x H, G*H, G*H per layer), the count,
 * the getters, and a cr_save/cr_load round trip through the parameter list. */
static void test_rnn_parameters_have_pytorch_names_and_round_trip(void **state)
{
    (void)state;
    char err[200];
    cr_rnn *r = cr_rnn_new(CR_GRU, 6, 5, 3, 0.1, err, sizeof err);
    assert_non_null(r);
    assert_int_equal(cr_rnn_get_kind(r), CR_GRU);
    assert_int_equal(cr_rnn_input_size(r), 6);
    assert_int_equal(cr_rnn_hidden_size(r), 5);
    assert_int_equal(cr_rnn_num_layers(r), 3);
    assert_close(cr_rnn_dropout(r), 0.1, 0, 0);
    cr_params *p = cr_rnn_params(r);
    assert_int_equal(cr_params_count(p), 12);
    static const char *names[4] = { "weight_ih_l%d", "weight_hh_l%d", "bias_ih_l%d", "bias_hh_l%d" };
    for (int l = 0; l < 3; l++)
        for (int k = 0; k < 4; k++) {
            char want[32];
            snprintf(want, sizeof want, names[k], l);
            assert_string_equal(cr_params_name(p, (size_t)(4 * l + k)), want);
            cr_tensor *x = cr_params_get(p, (size_t)(4 * l + k));
            assert_int_equal(x->shape[0], 15);
            if (k == 0) assert_int_equal(x->shape[1], l ? 5 : 6);
            if (k == 1) assert_int_equal(x->shape[1], 5);
            if (k >= 2) assert_int_equal(x->ndim, 1);
        }
    /* 3*5*(6+5+2) + 2 * 3*5*(5+5+2) */
    assert_int_equal(cr_rnn_param_count(r), 15 * 13 + 2 * 15 * 12);
    cr_rng rng;
    cr_rng_seed(&rng, 2);
    cr_rnn_init(r, &rng, err, sizeof err);
    char path[64];
    snprintf(path, sizeof path, "/tmp/cr_test_rnn_%ld.crm", (long)getpid());
    assert_int_equal(cr_save(path, p, NULL, NULL, err, sizeof err), CR_OK);
    cr_rnn *q = cr_rnn_new(CR_GRU, 6, 5, 3, 0.1, err, sizeof err);
    assert_int_equal(cr_load(path, cr_rnn_params(q), NULL, NULL, err, sizeof err), CR_OK);
    for (size_t i = 0; i < 12; i++)
        assert_memory_equal(cr_params_get(p, i)->data, cr_params_get(cr_rnn_params(q), i)->data,
                            cr_params_get(p, i)->size * sizeof(cr_real));
    cr_rnn *lstm = cr_rnn_new(CR_LSTM, 6, 5, 3, 0.1, err, sizeof err);
    assert_int_equal(cr_load(path, cr_rnn_params(lstm), NULL, NULL, err, sizeof err), CR_ERR_SHAPE);
    unlink(path);
    cr_rnn_free(lstm);
    cr_rnn_free(q);
    cr_rnn_free(r);
}

static void test_rnn_kind_names(void **state)
{
    (void)state;
    cr_rnn_kind k = CR_GRU;
    for (int i = CR_RNN_TANH; i <= CR_GRU; i++) {
        assert_int_equal(cr_rnn_kind_from_name(cr_rnn_kind_name((cr_rnn_kind)i), &k), CR_OK);
        assert_int_equal(k, i);
    }
    assert_string_equal(cr_rnn_kind_name(CR_LSTM), "lstm");
    assert_int_equal(cr_rnn_kind_from_name("RNN", &k), CR_OK);
    assert_int_equal(k, CR_RNN_TANH);
    assert_int_equal(cr_rnn_kind_from_name("Gru", &k), CR_OK);
    assert_int_equal(k, CR_GRU);
    assert_int_equal(cr_rnn_kind_from_name("transformer", &k), CR_ERR_ARG);
    assert_int_equal(k, CR_GRU);
    assert_string_equal(cr_rnn_kind_name((cr_rnn_kind)9), "?");
}

/* alloc: heap zero tensors per layer (c only for LSTM); copy: values, zeros from a
 * NULL entry, size mismatch refused before anything is written; zero; free. */
static void test_rnn_state_helpers(void **state)
{
    (void)state;
    char err[200];
    cr_rnn *r = cr_rnn_new(CR_LSTM, 2, 3, 2, 0, err, sizeof err);
    cr_rnn_state a, b;
    assert_int_equal(cr_rnn_state_alloc(r, 4, &a, err, sizeof err), CR_OK);
    for (int l = 0; l < 2; l++) {
        assert_non_null(a.h[l]);
        assert_non_null(a.c[l]);
        assert_int_equal(a.h[l]->shape[0], 4);
        assert_int_equal(a.h[l]->shape[1], 3);
        assert_true(a.h[l]->flags & CR_HEAP);
        assert_false(a.h[l]->flags & CR_REQUIRES_GRAD);
        assert_close(a.c[l]->data[11], 0, 0, 0);
    }
    assert_null(a.h[2]);
    assert_int_equal(cr_rnn_state_alloc(r, 4, &b, err, sizeof err), CR_OK);
    for (int l = 0; l < 2; l++) {
        cr_tensor_fill(b.h[l], (cr_real)(l + 1));
        cr_tensor_fill(b.c[l], (cr_real)(l + 3));
    }
    assert_int_equal(cr_rnn_state_copy(&a, &b, err, sizeof err), CR_OK);
    assert_close(a.h[1]->data[5], 2, 0, 0);
    assert_close(a.c[0]->data[0], 3, 0, 0);
    cr_rnn_state partial = b;
    partial.c[1] = NULL;                         /* zeros */
    assert_int_equal(cr_rnn_state_copy(&a, &partial, err, sizeof err), CR_OK);
    assert_close(a.c[1]->data[7], 0, 0, 0);
    assert_close(a.c[0]->data[7], 3, 0, 0);
    cr_rnn_state small;
    assert_int_equal(cr_rnn_state_alloc(r, 2, &small, err, sizeof err), CR_OK);
    cr_tensor_fill(small.h[0], 9);
    assert_int_equal(cr_rnn_state_copy(&a, &small, err, sizeof err), CR_ERR_SHAPE);
    assert_string_equal(err, "rnn_state_copy: h[0] has 6 values in src but 12 in dst");
    assert_close(a.h[0]->data[0], 1, 0, 0);      /* untouched */
    cr_rnn_state_zero(&a);
    assert_close(a.h[0]->data[0], 0, 0, 0);
    assert_close(a.c[0]->data[3], 0, 0, 0);
    cr_rnn_state_free(&small);
    assert_int_equal(cr_rnn_state_alloc(r, 0, &small, err, sizeof err), CR_ERR_ARG);
    assert_null(small.h[0]);
    cr_rnn_state_free(&a);
    cr_rnn_state_free(&b);
    cr_rnn_state_free(NULL);
    assert_null(a.h[0]);
    cr_rnn *g = cr_rnn_new(CR_GRU, 2, 3, 1, 0, err, sizeof err);
    assert_int_equal(cr_rnn_state_alloc(g, 1, &a, err, sizeof err), CR_OK);
    assert_null(a.c[0]);
    cr_rnn_state_free(&a);
    cr_rnn_free(g);
    cr_rnn_free(r);
}

static void test_rnn_errors(void **state)
{
    (void)state;
    char err[200];
    assert_null(cr_rnn_new(CR_LSTM, 3, 0, 1, 0, err, sizeof err));
    assert_string_equal(err, "rnn: input_size = 3, hidden_size = 0 (both must be >= 1)");
    assert_null(cr_rnn_new(CR_LSTM, 3, 4, 17, 0, err, sizeof err));
    assert_string_equal(err, "rnn: num_layers = 17 is outside 1..16");
    assert_null(cr_rnn_new(CR_LSTM, 3, 4, 2, 1, err, sizeof err));
    assert_string_equal(err, "rnn: dropout = 1 is outside [0, 1)");
    assert_null(cr_rnn_new((cr_rnn_kind)7, 3, 4, 2, 0, err, sizeof err));
    assert_string_equal(err, "rnn: unknown kind 7");
    assert_null(cr_rnn_new(CR_LSTM, 1 << 20, 1 << 14, 1, 0, err, sizeof err));
    assert_non_null(strstr(err, "parameters, above the most a model may have"));
    cr_rnn *r = cr_rnn_new(CR_LSTM, 3, 4, 2, 0, err, sizeof err);
    cr_tape *t = cr_tape_new(0);
    int s23[2] = { 2, 3 }, s24[2] = { 2, 4 }, s34[2] = { 3, 4 }, s3[3] = { 2, 2, 2 };
    cr_rnn_state s = { { NULL }, { NULL } };
    assert_null(cr_rnn_step(t, r, cr_const(t, 2, s24, NULL), &s, 0, NULL));
    assert_tape_error(t, "rnn: x is 2x4 but must be B x 3 (batch x input_size)");
    cr_tape_reset(t);
    s.c[1] = cr_const(t, 2, s34, NULL);
    cr_rnn_state before = s;
    assert_null(cr_rnn_step(t, r, cr_const(t, 2, s23, NULL), &s, 0, NULL));
    assert_tape_error(t, "rnn: c[1] is 3x4 but must be 2x4 (batch x hidden_size)");
    assert_memory_equal(&s, &before, sizeof s);    /* state untouched */
    cr_tape_reset(t);
    memset(&s, 0, sizeof s);
    assert_null(cr_rnn_step(t, r, cr_const(t, 2, s23, NULL), NULL, 0, NULL));
    assert_tape_error(t, "rnn: state is NULL");
    cr_tape_reset(t);
    assert_null(cr_rnn_forward(t, r, cr_const(t, 3, s3, NULL), 0, NULL, 0, NULL));
    assert_tape_error(t, "rnn: x is 2x2x2 but must be T x B x 3 (input_size)");
    cr_tape_reset(t);
    assert_null(cr_rnn_step(t, NULL, cr_const(t, 2, s23, NULL), &s, 0, NULL));
    assert_tape_error(t, "rnn: layer is NULL");
    cr_tape_reset(t);
    assert_int_equal(cr_rnn_state_detach(t, NULL), CR_ERR_ARG);
    assert_int_equal(cr_rnn_state_detach(NULL, &s), CR_ERR_ARG);
    cr_tape_free(t);
    assert_null(cr_rnn_params(NULL));
    assert_int_equal(cr_rnn_hidden_size(NULL), 0);
    cr_rnn_free(NULL);
    cr_rnn_free(r);
}

/* Sampling runs the cell in no-grad mode: the same values as a recorded step, no
 * node kept on the tape; the state carried through a heap copy between steps. */
static void test_rnn_step_in_no_grad_mode_matches_and_records_nothing(void **state)
{
    (void)state;
    char err[200];
    cr_rnn *r = cr_rnn_new(CR_LSTM, 3, 5, 2, 0.3, err, sizeof err);
    cr_rng rng;
    cr_rng_seed(&rng, 17);
    cr_rnn_init(r, &rng, err, sizeof err);
    int sx[2] = { 1, 3 };
    cr_real xv[3] = { 0.5f, -1, 0.25f };
    cr_rnn_state carry;
    assert_int_equal(cr_rnn_state_alloc(r, 1, &carry, err, sizeof err), CR_OK);
    cr_tape *t = cr_tape_new(0), *ng = cr_tape_new(0);
    cr_rnn_state s = { { NULL }, { NULL } };
    cr_tensor *y = NULL;
    for (int k = 0; k < 3; k++) y = cr_rnn_step(t, r, cr_const(t, 2, sx, xv), &s, 0, NULL);
    cr_tape_set_grad_mode(ng, 0);
    cr_tensor *yn = NULL;
    for (int k = 0; k < 3; k++) {
        cr_tape_reset(ng);
        cr_rnn_state sn = carry;
        yn = cr_rnn_step(ng, r, cr_const(ng, 2, sx, xv), &sn, 0, NULL);
        assert_non_null(yn);
        assert_int_equal(cr_tape_size(ng), 0);
        assert_int_equal(cr_rnn_state_copy(&carry, &sn, err, sizeof err), CR_OK);
    }
    assert_memory_equal(yn->data, y->data, 5 * sizeof(cr_real));
    assert_memory_equal(carry.c[1]->data, s.c[1]->data, 5 * sizeof(cr_real));
    cr_tape_free(ng);
    cr_tape_free(t);
    cr_rnn_state_free(&carry);
    cr_rnn_free(r);
}

/* Memory of one LSTM step on the tape (issue 15: the fortunes LSTM's peak RSS):
 * values recorded plus the gradients backward allocates stay within 5 tensors of
 * B x 4H (the two products, their sum, + b_ih + b_hh, the cr_gate outputs) and 5
 * of B x H (f c, i g, c', tanh c', h'), each twice (value and gradient), plus 6 KiB
 * for the node records and the 4H bias sum. The composed cell before had 7 B x 4H
 * tensors (a bias add per product, the four slices, the four activations): 32 KiB
 * of float more at B 32, H 16, over the bound. */
static void test_lstm_step_keeps_five_gate_sized_tensors_on_the_tape(void **state)
{
    (void)state;
    enum { B = 32, I = 4, H = 16 };
    char err[200];
    cr_rnn *r = cr_rnn_new(CR_LSTM, I, H, 1, 0, err, sizeof err);
    assert_non_null(r);
    cr_rng rng;
    cr_rng_seed(&rng, 3);
    assert_int_equal(cr_rnn_init(r, &rng, err, sizeof err), CR_OK);
    cr_rnn_state carry;
    assert_int_equal(cr_rnn_state_alloc(r, B, &carry, err, sizeof err), CR_OK);
    cr_tape *t = cr_tape_new(0);
    int sx[2] = { B, I };
    cr_tensor *x = cr_const(t, 2, sx, NULL);
    cr_tensor_rand_uniform(x, &rng, -1, 1);
    size_t before = cr_tape_arena_used(t);
    cr_rnn_state s = carry;
    cr_tensor *y = cr_rnn_step(t, r, x, &s, 1, NULL);
    assert_non_null(y);
    size_t step = cr_tape_arena_used(t) - before;
    cr_tensor *loss = cr_sum(t, y);
    size_t loss_bytes = cr_tape_arena_used(t) - before - step;
    assert_int_equal(cr_backward(t, loss), CR_OK);
    size_t total = cr_tape_arena_used(t) - before - loss_bytes;
    size_t bound = 2 * sizeof(cr_real) * (5 * (size_t)B * 4 * H + 5 * (size_t)B * H) + 6144;
    if (total > bound)
        fail_msg("one LSTM step holds %zu bytes (values %zu), bound %zu", total, step, bound);
    cr_tape_free(t);
    cr_rnn_state_free(&carry);
    cr_rnn_free(r);
}

int main(int argc, char **argv)
{
    struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rnn_sequence_matches_pytorch),
        cmocka_unit_test(test_rnn_steps_match_pytorch),
        cmocka_unit_test(test_rnn_gradcheck_every_kind),
        cmocka_unit_test(test_rnn_batch_first_is_the_transposed_sequence),
        cmocka_unit_test(test_rnn_dropout_between_layers_only_in_training),
        cmocka_unit_test(test_rnn_init_is_uniform_in_plus_minus_one_over_sqrt_hidden),
        cmocka_unit_test(test_rnn_parameters_have_pytorch_names_and_round_trip),
        cmocka_unit_test(test_rnn_kind_names),
        cmocka_unit_test(test_rnn_state_helpers),
        cmocka_unit_test(test_rnn_errors),
        cmocka_unit_test(test_rnn_step_in_no_grad_mode_matches_and_records_nothing),
        cmocka_unit_test(test_lstm_step_keeps_five_gate_sized_tensors_on_the_tape),
    };
    return CR_TEST_RUN(tests, NULL, NULL, argc, argv);
}
