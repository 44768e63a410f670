/* Graph files (cr_graph_save / cr_graph_load, docs/FORMAT.md "Graph files"): one
 * round trip per op family, each giving bit-identical outputs to the saved tape's
 * replay on the same data; loaded parameters train like the originals; another batch
 * size; custom ops refused unless registered; every op of ops/ has an entry; saves
 * that are refused; hostile files refused with the graph left unmade. */
#include "helpers.h"

#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char dir[256];

static int setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof dir, "%s/graph-test-%ld", CR_BUILD_DIR, (long)getpid());
    char cmd[320];
    snprintf(cmd, sizeof cmd, "mkdir -p %s", dir);
    return system(cmd);
}

static int teardown(void **state)
{
    (void)state;
    char cmd[320];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    return system(cmd);
}

static const char *path_in(const char *name)
{
    static char buf[4][320];
    static int k;
    k = (k + 1) % 4;
    snprintf(buf[k], sizeof buf[k], "%s/%s", dir, name);
    return buf[k];
}

/* ------------------------------------------------------------ round trips */

#define MAXIO 4

/* One graph under test: record() puts its ops on t from the inputs it makes
 * (leaves filled from rng) and the parameters it adds to p, and returns outputs. */
typedef struct rt_case {
    int n_in, n_out;
    cr_tensor *in[MAXIO], *out[MAXIO];
} rt_case;
typedef void (*record_fn)(cr_tape *t, cr_params *p, cr_rng *rng, rt_case *c);

static cr_tensor *leaf(cr_tape *t, cr_rng *rng, int ndim, const int *shape, double lo, double hi)
{
    cr_tensor *x = cr_const(t, ndim, shape, NULL);
    assert_non_null(x);
    for (size_t i = 0; i < x->size; i++) x->data[i] = (cr_real)(lo + (hi - lo) * cr_rng_uniform(rng));
    return x;
}

static cr_tensor *param(cr_params *p, cr_rng *rng, const char *name, int ndim, const int *shape)
{
    cr_tensor *w = cr_param_new(ndim, shape);
    assert_non_null(w);
    cr_tensor_rand_uniform(w, rng, -1, 1);
    assert_int_equal(cr_params_add_owned(p, w, name, NULL, 0), CR_OK);
    return w;
}

static void assert_same_bits(const cr_tensor *a, const cr_tensor *b, const char *what)
{
    assert_non_null(a);
    assert_non_null(b);
    assert_int_equal(a->ndim, b->ndim);
    for (int d = 0; d < a->ndim; d++) assert_int_equal(a->shape[d], b->shape[d]);
    for (size_t i = 0; i < a->size; i++)
        if (memcmp(&a->data[i], &b->data[i], sizeof(cr_real)) != 0) {
            print_error("%s: element %zu is %.17g after the round trip, %.17g before\n", what, i,
                        (double)b->data[i], (double)a->data[i]);
            fail();
        }
}

/* Record, save, load (with the custom ops of ops, or built-in ops only when ops is
 * NULL); feed the same new data to both and replay both: the outputs must be the
 * same bits. Returns the loaded graph (caller frees) when keep. */
static cr_graph *round_trip_with(record_fn rec, const char *file, int keep,
                                 const cr_op_registry *ops)
{
    cr_rng rng;
    cr_rng_seed(&rng, 16);
    cr_tape *t = cr_tape_new(0);
    cr_params *p = cr_params_new();
    rt_case c;
    memset(&c, 0, sizeof c);
    rec(t, p, &rng, &c);
    assert_null(cr_tape_error(t));
    char err[512];
    const char *path = path_in(file);
    assert_int_equal(cr_graph_save(t, c.n_in, c.in, c.n_out, c.out, p, path, err, sizeof err),
                     CR_OK);
    cr_graph *g = ops ? cr_graph_load_with(path, ops, err, sizeof err)
                      : cr_graph_load(path, err, sizeof err);
    if (!g) print_error("%s\n", err);
    assert_non_null(g);
    assert_int_equal(cr_graph_n_inputs(g), c.n_in);
    assert_int_equal(cr_graph_n_outputs(g), c.n_out);
    /* new data, the same for both */
    for (int k = 0; k < c.n_in; k++) {
        cr_tensor *x = c.in[k], *y = cr_graph_input(g, k);
        assert_int_equal(x->size, y->size);
        for (size_t i = 0; i < x->size; i++)
            if (x->data[i] != floor(x->data[i])) x->data[i] += (cr_real)(0.25 * cr_rng_uniform(&rng));
        memcpy(y->data, x->data, x->size * sizeof(cr_real));
    }
    assert_int_equal(cr_tape_forward(t), CR_OK);
    assert_int_equal(cr_tape_forward(cr_graph_tape(g)), CR_OK);
    for (int k = 0; k < c.n_out; k++) assert_same_bits(c.out[k], cr_graph_output(g, k), file);
    cr_tape_free(t);
    cr_params_free(p);
    if (keep) return g;
    cr_graph_free(g);
    return NULL;
}

static cr_graph *round_trip(record_fn rec, const char *file, int keep)
{
    return round_trip_with(rec, file, keep, NULL);
}

static void rec_elementwise(cr_tape *t, cr_params *p, cr_rng *rng, rt_case *c)
{
    int s23[2] = { 2, 3 }, s3[1] = { 3 };
    cr_tensor *a = leaf(t, rng, 2, s23, 0.5, 2), *b = param(p, rng, "b", 1, s3);
    cr_tensor *y = cr_add(t, a, b);                       /* broadcast */
    y = cr_mul(t, cr_sub(t, y, a), cr_div(t, a, cr_add_scalar(t, cr_abs(t, b), 1)));
    y = cr_max(t, y, cr_neg(t, cr_exp(t, cr_scale(t, a, (cr_real)0.3))));
    y = cr_add(t, y, cr_log(t, cr_sqrt(t, cr_square(t, a))));
    y = cr_add(t, cr_relu(t, y), cr_leaky_relu(t, y, (cr_real)0.07));
    y = cr_mul(t, cr_sigmoid(t, y), cr_tanh(t, cr_pow(t, a, (cr_real)1.7)));
    c->n_in = 1, c->in[0] = a;
    c->n_out = 1, c->out[0] = y;
}

static void rec_matrix(cr_tape *t, cr_params *p, cr_rng *rng, rt_case *c)
{
    int sx[2] = { 5, 4 }, sw[2] = { 4, 3 }, sb[1] = { 3 }, sv[1] = { 4 };
    cr_tensor *x = leaf(t, rng, 2, sx, -1, 1), *v = leaf(t, rng, 1, sv, -1, 1);
    cr_tensor *W = param(p, rng, "W", 2, sw), *b = param(p, rng, "b", 1, sb);
    cr_tensor *h = cr_linear(t, x, W, b);                 /* 5x3 */
    cr_tensor *k = cr_linear(t, v, W, NULL);              /* 3 */
    cr_tensor *m = cr_matmul(t, h, x, 1, 0);              /* 3x4 = h^T x */
    cr_tensor *n = cr_matmul(t, m, W, 0, 0);              /* 3x3 */
    cr_tensor *o = cr_matmul(t, cr_transpose(t, n), h, 0, 1);   /* 3x5 */
    c->n_in = 2, c->in[0] = x, c->in[1] = v;
    c->n_out = 2, c->out[0] = o, c->out[1] = k;
}

static void rec_reduce(cr_tape *t, cr_params *p, cr_rng *rng, rt_case *c)
{
    (void)p;
    int s[3] = { 2, 3, 4 };
    cr_tensor *x = leaf(t, rng, 3, s, -2, 2);
    cr_tensor *a = cr_sum_axis(t, x, 1, 1), *b = cr_mean_axis(t, x, -1, 0);
    cr_tensor *m = cr_max_axis(t, x, 0, 0);
    cr_tensor *y = cr_add(t, cr_sum(t, a), cr_mean(t, b));
    c->n_in = 1, c->in[0] = x;
    c->n_out = 3, c->out[0] = y, c->out[1] = m, c->out[2] = a;
}

static void rec_shape(cr_tape *t, cr_params *p, cr_rng *rng, rt_case *c)
{
    (void)p;
    int s[4] = { 2, 3, 2, 2 }, r[2] = { 6, -1 }, perm[4] = { 3, 0, 2, 1 };
    cr_tensor *x = leaf(t, rng, 4, s, -2, 2);
    cr_tensor *y = cr_reshape(t, x, 2, r);                /* 6x4 */
    cr_tensor *z = cr_slice(t, y, 1, 1, 2);               /* 6x2 */
    cr_tensor *g = cr_gate(t, y, 2, 2, CR_GATE_TANH);    /* 6x2 */
    cr_tensor *parts[3] = { z, y, g };
    cr_tensor *w = cr_concat(t, 3, parts, -1);            /* 6x8 */
    cr_tensor *q = cr_permute(t, x, perm);                /* 2x2x2x3 */
    cr_tensor *f = cr_flatten(t, q);                      /* 2x12 */
    c->n_in = 1, c->in[0] = x;
    c->n_out = 2, c->out[0] = w, c->out[1] = f;
}

static void rec_conv_pool(cr_tape *t, cr_params *p, cr_rng *rng, rt_case *c)
{
    int sx[4] = { 2, 4, 9, 8 }, sw[4] = { 6, 2, 3, 2 }, sb[1] = { 6 };
    cr_tensor *x = leaf(t, rng, 4, sx, -1, 1);
    cr_tensor *w = param(p, rng, "conv.W", 4, sw), *b = param(p, rng, "conv.b", 1, sb);
    cr_conv2d_opts o = { { 2, 1 }, { 1, 2 }, { 1, 2 }, 2 };
    cr_tensor *y = cr_relu(t, cr_conv2d(t, x, w, b, &o));
    cr_pool2d_opts mp = { { 2, 2 }, { 0, 0 }, { 1, 0 } }, ap = { { 3, 2 }, { 1, 2 }, { 1, 1 } };
    cr_tensor *m = cr_max_pool2d(t, y, &mp);
    cr_tensor *a = cr_avg_pool2d(t, y, &ap);
    cr_tensor *g = cr_global_avg_pool2d(t, m);
    int sw2[4] = { 3, 4, 1, 1 };
    cr_tensor *w2 = param(p, rng, "conv2.W", 4, sw2);
    cr_tensor *y2 = cr_conv2d(t, x, w2, NULL, NULL);
    c->n_in = 1, c->in[0] = x;
    c->n_out = 3, c->out[0] = g, c->out[1] = a, c->out[2] = y2;
}

static void rec_softmax(cr_tape *t, cr_params *p, cr_rng *rng, rt_case *c)
{
    (void)p;
    int s[2] = { 4, 5 }, n[1] = { 4 };
    cr_tensor *z = leaf(t, rng, 2, s, -3, 3);
    cr_tensor *y = cr_const(t, 1, n, NULL);
    for (int i = 0; i < 4; i++) y->data[i] = (cr_real)((i * 3) % 5);
    cr_tensor *t01 = leaf(t, rng, 2, s, 0, 1);
    cr_tensor *sm = cr_softmax(t, z), *ls = cr_log_softmax(t, z);
    cr_tensor *ce = cr_softmax_cross_entropy(t, z, y);
    cr_tensor *bce = cr_bce_with_logits(t, z, t01);
    c->n_in = 3, c->in[0] = z, c->in[1] = y, c->in[2] = t01;
    c->n_out = 4, c->out[0] = sm, c->out[1] = ls, c->out[2] = ce, c->out[3] = bce;
}

static void test_round_trip_elementwise_ops_is_bit_identical(void **state)
{
    (void)state;
    round_trip(rec_elementwise, "elementwise.crg", 0);
}

static void test_round_trip_matrix_ops_is_bit_identical(void **state)
{
    (void)state;
    round_trip(rec_matrix, "matrix.crg", 0);
}

static void test_round_trip_reductions_is_bit_identical(void **state)
{
    (void)state;
    round_trip(rec_reduce, "reduce.crg", 0);
}

static void test_round_trip_shape_ops_is_bit_identical(void **state)
{
    (void)state;
    round_trip(rec_shape, "shape.crg", 0);
}

static void test_round_trip_conv_and_pool_is_bit_identical(void **state)
{
    (void)state;
    round_trip(rec_conv_pool, "conv.crg", 0);
}

static void test_round_trip_softmax_family_and_losses_is_bit_identical(void **state)
{
    (void)state;
    round_trip(rec_softmax, "softmax.crg", 0);
}

/* dropout in training mode (its generator's state travels) and batch norm in
 * evaluation mode (running statistics as constants) */
/* Sequences (issue 15): an embedding of integral indices, two LSTM steps composed
 * from ops (so every node of the cell is an ordinary op), stack, select, detach. */
static cr_rnn *seq_rnn;

static void rec_sequence(cr_tape *t, cr_params *p, cr_rng *rng, rt_case *c)
{
    int sv[2] = { 5, 3 }, si[2] = { 2, 4 };              /* table 5x3, indices T=2 x B=4 */
    cr_tensor *table = param(p, rng, "table", 2, sv);
    cr_tensor *idx = leaf(t, rng, 2, si, 0, 1);
    assert_non_null(idx);
    for (size_t i = 0; i < idx->size; i++) idx->data[i] = (cr_real)((i * 3 + 1) % 5);
    char err[256];
    seq_rnn = cr_rnn_new(CR_LSTM, 3, 4, 1, 0, err, sizeof err);
    assert_non_null(seq_rnn);
    assert_int_equal(cr_rnn_init(seq_rnn, rng, err, sizeof err), CR_OK);
    assert_int_equal(cr_params_extend(p, cr_rnn_params(seq_rnn), "lstm.", err, sizeof err),
                     CR_OK);
    cr_tensor *e = cr_embedding(t, table, idx);           /* 2x4x3 */
    cr_rnn_state st;
    memset(&st, 0, sizeof st);
    cr_tensor *h[2];
    for (int k = 0; k < 2; k++) h[k] = cr_rnn_step(t, seq_rnn, cr_select(t, e, 0, k), &st, 0, NULL);
    cr_tensor *y = cr_stack(t, 2, h, 1);                  /* 4x2x4 */
    cr_tensor *d = cr_detach(t, cr_add(t, st.c[0], st.h[0]));
    c->n_in = 1, c->in[0] = idx;
    c->n_out = 2, c->out[0] = y, c->out[1] = d;
}

static void test_round_trip_embedding_lstm_and_stack_is_bit_identical(void **state)
{
    (void)state;
    round_trip(rec_sequence, "sequence.crg", 0);
    cr_rnn_free(seq_rnn);
}

static cr_rng drop_rng;
static cr_batchnorm *bn;

static void rec_dropout_batchnorm(cr_tape *t, cr_params *p, cr_rng *rng, rt_case *c)
{
    int sx[2] = { 6, 5 }, sw[2] = { 5, 4 };
    cr_tensor *x = leaf(t, rng, 2, sx, -1, 1), *W = param(p, rng, "W", 2, sw);
    cr_tensor_rand_uniform(bn->running_mean, rng, -0.5, 0.5);
    cr_tensor_rand_uniform(bn->running_var, rng, 0.5, 2);
    cr_tensor_rand_uniform(bn->gamma, rng, 0.5, 2);
    assert_int_equal(cr_params_extend(p, bn->params, "bn.", NULL, 0), CR_OK);
    cr_tensor *h = cr_batchnorm_forward(t, bn, cr_matmul(t, x, W, 0, 0), 0);
    cr_tensor *d = cr_dropout(t, cr_relu(t, h), (cr_real)0.4, &drop_rng, 1);
    c->n_in = 1, c->in[0] = x;
    c->n_out = 2, c->out[0] = d, c->out[1] = h;
}

static void test_round_trip_dropout_and_batchnorm_is_bit_identical(void **state)
{
    (void)state;
    cr_rng_seed(&drop_rng, 99);
    bn = cr_batchnorm_new(4, 0, 0, NULL, 0);
    assert_non_null(bn);
    cr_graph *g = round_trip(rec_dropout_batchnorm, "dropout.crg", 1);
    /* the loaded generator moved as the original did: the same masks again */
    assert_int_equal(cr_graph_n_rngs(g), 1);
    assert_true(cr_graph_rng(g, 0)->state == drop_rng.state);
    assert_true(cr_graph_rng(g, 0)->inc == drop_rng.inc);
    cr_graph_free(g);
    cr_batchnorm_free(bn);
}

/* batch norm in training mode (images): its running statistics move on every
 * replay of the loaded graph exactly as on the saved tape's */
static void rec_batchnorm_training(cr_tape *t, cr_params *p, cr_rng *rng, rt_case *c)
{
    int sx[4] = { 3, 4, 2, 3 };
    cr_tensor *x = leaf(t, rng, 4, sx, -1, 2);
    cr_tensor_rand_uniform(bn->gamma, rng, 0.5, 2);
    assert_int_equal(cr_params_extend(p, bn->params, "bn.", NULL, 0), CR_OK);
    assert_int_equal(cr_params_extend(p, bn->buffers, "bn.", NULL, 0), CR_OK);
    c->n_in = 1, c->in[0] = x;
    c->n_out = 1, c->out[0] = cr_tanh(t, cr_batchnorm_forward(t, bn, x, 1));
}

static void test_round_trip_training_batchnorm_moves_the_same_statistics(void **state)
{
    (void)state;
    bn = cr_batchnorm_new(4, (cr_real)0.3, 0, NULL, 0);
    assert_non_null(bn);
    cr_graph *g = round_trip(rec_batchnorm_training, "bn-train.crg", 1);
    cr_params *q = cr_graph_params(g);
    assert_same_bits(bn->running_mean, cr_params_find(q, "bn.running_mean"), "running mean");
    assert_same_bits(bn->running_var, cr_params_find(q, "bn.running_var"), "running var");
    assert_false(cr_params_find(q, "bn.running_var")->flags & CR_REQUIRES_GRAD);
    assert_true(cr_params_find(q, "bn.gamma")->flags & CR_REQUIRES_GRAD);
    cr_graph_free(g);
    cr_batchnorm_free(bn);
}

/* An MLP with its loss: the loaded graph's parameters are real parameters. */
static void rec_mlp_loss(cr_tape *t, cr_params *p, cr_rng *rng, rt_case *c)
{
    int sx[2] = { 8, 6 }, sy[1] = { 8 }, s1[2] = { 6, 5 }, b1[1] = { 5 }, s2[2] = { 5, 3 },
        b2[1] = { 3 };
    cr_tensor *x = leaf(t, rng, 2, sx, -1, 1), *y = cr_const(t, 1, sy, NULL);
    for (int i = 0; i < 8; i++) y->data[i] = (cr_real)(i % 3);
    cr_tensor *W1 = param(p, rng, "fc1.W", 2, s1), *B1 = param(p, rng, "fc1.b", 1, b1);
    cr_tensor *W2 = param(p, rng, "fc2.W", 2, s2), *B2 = param(p, rng, "fc2.b", 1, b2);
    cr_tensor *z = cr_linear(t, cr_tanh(t, cr_linear(t, x, W1, B1)), W2, B2);
    cr_tensor_label(x, "x");
    cr_tensor_label(y, "label");
    cr_tensor_label(z, "logits");
    cr_tensor *loss = cr_tensor_label(cr_softmax_cross_entropy(t, z, y), "loss");
    c->n_in = 2, c->in[0] = x, c->in[1] = y;
    c->n_out = 2, c->out[0] = z, c->out[1] = loss;
}

static void sgd_steps(cr_tape *t, cr_params *p, cr_tensor *loss, int steps)
{
    cr_optim_config cfg = cr_optim_defaults(CR_OPTIM_MOMENTUM);
    cfg.lr = 0.1;
    char err[256];
    cr_optim *o = cr_optim_new(p, &cfg, err, sizeof err);
    assert_non_null(o);
    for (int s = 0; s < steps; s++) {
        cr_params_zero_grad(p);
        assert_int_equal(cr_tape_forward(t), CR_OK);
        assert_int_equal(cr_backward(t, loss), CR_OK);
        assert_int_equal(cr_optim_step(o, err, sizeof err), CR_OK);
    }
    assert_int_equal(cr_tape_forward(t), CR_OK);
    cr_optim_free(o);
}

static void test_loaded_parameters_train_like_the_originals(void **state)
{
    (void)state;
    cr_rng rng;
    cr_rng_seed(&rng, 3);
    cr_tape *t = cr_tape_new(0);
    cr_params *p = cr_params_new();
    rt_case c;
    rec_mlp_loss(t, p, &rng, &c);
    char err[512];
    const char *path = path_in("mlp.crg");
    assert_int_equal(cr_graph_save(t, c.n_in, c.in, c.n_out, c.out, p, path, err, sizeof err),
                     CR_OK);
    cr_graph *g = cr_graph_load(path, err, sizeof err);
    assert_non_null(g);
    assert_string_equal(cr_graph_input_name(g, 0), "x");
    assert_string_equal(cr_graph_input_name(g, 1), "label");
    assert_int_equal(cr_graph_find_output(g, "loss"), 1);
    assert_int_equal(cr_graph_find_input(g, "label"), 1);
    cr_params *q = cr_graph_params(g);
    assert_int_equal(cr_params_count(q), 4);
    assert_string_equal(cr_params_name(q, 2), "fc2.W");
    /* a graph file is a model file: cr_load reads its parameters */
    cr_params *fresh = cr_params_new();
    for (size_t i = 0; i < cr_params_count(p); i++) {
        cr_tensor *x = cr_params_get(p, i);
        assert_int_equal(cr_params_add_owned(fresh, cr_param_new(x->ndim, x->shape),
                                             cr_params_name(p, i), NULL, 0), CR_OK);
    }
    assert_int_equal(cr_load(path, fresh, NULL, NULL, err, sizeof err), CR_OK);
    for (size_t i = 0; i < cr_params_count(p); i++)
        assert_same_bits(cr_params_get(q, i), cr_params_get(fresh, i), "cr_load");
    cr_params_free(fresh);
    memcpy(cr_graph_input(g, 0)->data, c.in[0]->data, c.in[0]->size * sizeof(cr_real));
    memcpy(cr_graph_input(g, 1)->data, c.in[1]->data, c.in[1]->size * sizeof(cr_real));
    double before = cr_item(c.out[1]);
    sgd_steps(t, p, c.out[1], 5);
    sgd_steps(cr_graph_tape(g), q, cr_graph_output(g, 1), 5);
    assert_true(cr_item(c.out[1]) < before - 0.01);     /* it did learn */
    for (size_t i = 0; i < cr_params_count(p); i++)
        assert_same_bits(cr_params_get(p, i), cr_params_get(q, i), cr_params_name(p, i));
    assert_same_bits(c.out[1], cr_graph_output(g, 1), "loss");
    /* the trained, loaded graph saves again (a graph file of a graph file) */
    cr_tensor *gin[2] = { cr_graph_input(g, 0), cr_graph_input(g, 1) };
    cr_tensor *gout[2] = { cr_graph_output(g, 0), cr_graph_output(g, 1) };
    const char *path2 = path_in("mlp2.crg");
    assert_int_equal(cr_graph_save(cr_graph_tape(g), 2, gin, 2, gout, q, path2, err, sizeof err),
                     CR_OK);
    cr_graph *g2 = cr_graph_load(path2, err, sizeof err);
    assert_non_null(g2);
    assert_string_equal(cr_graph_output_name(g2, 1), "loss");
    memcpy(cr_graph_input(g2, 0)->data, gin[0]->data, gin[0]->size * sizeof(cr_real));
    memcpy(cr_graph_input(g2, 1)->data, gin[1]->data, gin[1]->size * sizeof(cr_real));
    assert_int_equal(cr_tape_forward(cr_graph_tape(g2)), CR_OK);
    assert_same_bits(gout[0], cr_graph_output(g2, 0), "saved again");
    cr_graph_free(g2);
    cr_graph_free(g);
    cr_tape_free(t);
    cr_params_free(p);
}

static void test_another_batch_size_records_again_and_agrees_row_by_row(void **state)
{
    (void)state;
    cr_rng rng;
    cr_rng_seed(&rng, 4);
    cr_tape *t = cr_tape_new(0);
    cr_params *p = cr_params_new();
    rt_case c;
    rec_mlp_loss(t, p, &rng, &c);
    char err[512];
    const char *path = path_in("batch.crg");
    assert_int_equal(cr_graph_save(t, 2, c.in, 1, c.out, p, path, err, sizeof err), CR_OK);
    cr_graph *g = cr_graph_load(path, err, sizeof err);
    assert_non_null(g);
    assert_int_equal(cr_graph_batch(g), 8);
    assert_int_equal(cr_graph_set_batch(g, 3, err, sizeof err), CR_OK);
    assert_int_equal(cr_graph_batch(g), 3);
    cr_tensor *x = cr_graph_input(g, 0), *z = cr_graph_output(g, 0);
    assert_int_equal(x->shape[0], 3);
    assert_int_equal(z->shape[0], 3);
    memcpy(x->data, c.in[0]->data + 6 * 2, 3 * 6 * sizeof(cr_real));   /* rows 2..4 */
    assert_int_equal(cr_tape_forward(cr_graph_tape(g)), CR_OK);
    for (int i = 0; i < 3 * 3; i++)
        assert_close_i(z->data[i], c.out[0]->data[2 * 3 + i], TOL(1e-12, 1e-6), TOL(1e-12, 1e-6), i);
    /* a graph that cannot change its batch: refused, graph unchanged */
    cr_graph_free(g);
    cr_tape_free(t);
    cr_params_free(p);
}

static void rec_fixed_reshape(cr_tape *t, cr_params *p, cr_rng *rng, rt_case *c)
{
    (void)p;
    int s[2] = { 4, 6 }, r[2] = { 8, 3 };
    cr_tensor *x = leaf(t, rng, 2, s, -1, 1);
    c->n_in = 1, c->in[0] = x;
    c->n_out = 1, c->out[0] = cr_sum_axis(t, cr_reshape(t, cr_transpose(t, x), 2, r), 0, 0);
}

static void test_a_failed_batch_change_leaves_the_graph_as_it_was(void **state)
{
    (void)state;
    cr_graph *g = round_trip(rec_fixed_reshape, "fixed.crg", 1);
    cr_tape *t = cr_graph_tape(g);
    cr_tensor *x = cr_graph_input(g, 0), *y = cr_graph_output(g, 0);
    cr_real y0 = y->data[0];
    char err[512];
    /* the transpose makes the batch the second axis: 5 rows of 6 do not reshape to 8x3 */
    assert_int_equal(cr_graph_set_batch(g, 5, err, sizeof err), CR_ERR_SHAPE);
    if (!strstr(err, "reshape")) print_error("%s\n", err);
    assert_non_null(strstr(err, "reshape"));
    assert_ptr_equal(cr_graph_tape(g), t);
    assert_ptr_equal(cr_graph_input(g, 0), x);
    assert_int_equal(cr_graph_batch(g), 4);
    assert_int_equal(cr_tape_forward(t), CR_OK);
    assert_true(y->data[0] == y0);
    assert_int_equal(cr_graph_set_batch(g, 0, err, sizeof err), CR_ERR_ARG);
    cr_graph_free(g);
}

/* ------------------------------------------------------------ custom ops */

/* y = 2x + 1;  dx += 2 g */
static void twice_fwd(cr_tensor *out, cr_tensor *const *in, int n_in, void *user)
{
    (void)n_in;
    cr_real add = *(const cr_real *)user;
    for (size_t i = 0; i < out->size; i++) out->data[i] = 2 * in[0]->data[i] + add;
}

static void twice_bwd(cr_tensor *out, cr_tensor *const *in, int n_in, void *user)
{
    (void)n_in, (void)user;
    if (in[0]->grad)
        for (size_t i = 0; i < out->size; i++) in[0]->grad[i] += 2 * out->grad[i];
}

static cr_real one = 1;

static void rec_custom(cr_tape *t, cr_params *p, cr_rng *rng, rt_case *c)
{
    (void)p;
    int s[2] = { 3, 2 };
    cr_tensor *x = leaf(t, rng, 2, s, -1, 1);
    cr_tensor *y = cr_custom(t, "twice_plus", 1, &x, 2, s, twice_fwd, twice_bwd, &one);
    c->n_in = 1, c->in[0] = x;
    c->n_out = 1, c->out[0] = cr_exp(t, y);
}

/* y = 3x: another function under the name "twice_plus" */
static void thrice_fwd(cr_tensor *out, cr_tensor *const *in, int n_in, void *user)
{
    (void)n_in, (void)user;
    for (size_t i = 0; i < out->size; i++) out->data[i] = 3 * in[0]->data[i];
}

/* rec_custom saved to path */
static void save_custom(const char *path)
{
    cr_rng rng;
    cr_rng_seed(&rng, 5);
    cr_tape *t = cr_tape_new(0);
    rt_case c;
    rec_custom(t, NULL, &rng, &c);
    char err[512];
    assert_int_equal(cr_graph_save(t, 1, c.in, 1, c.out, NULL, path, err, sizeof err), CR_OK);
    cr_tape_free(t);
}

static void test_custom_op_is_refused_by_name_unless_in_the_registry(void **state)
{
    (void)state;
    const char *path = path_in("custom.crg");
    save_custom(path);
    char err[512] = "";
    assert_null(cr_graph_load(path, err, sizeof err));
    assert_non_null(strstr(err, "'twice_plus'"));
    assert_non_null(strstr(err, "cr_graph_load_with"));
    cr_op_registry *empty = cr_op_registry_new(), *r = cr_op_registry_new();
    assert_non_null(empty);
    assert_non_null(r);
    err[0] = '\0';
    assert_null(cr_graph_load_with(path, empty, err, sizeof err));
    assert_non_null(strstr(err, "'twice_plus'"));
    assert_int_equal(cr_op_registry_add(r, "twice_plus", twice_fwd, twice_bwd, &one, err,
                                        sizeof err), CR_OK);
    assert_int_equal(cr_op_registry_add(r, "conv2d", twice_fwd, twice_bwd, NULL, err,
                                        sizeof err), CR_ERR_ARG);
    assert_non_null(strstr(err, "built-in"));
    assert_int_equal(cr_op_registry_add(r, "x", NULL, NULL, NULL, err, sizeof err), CR_ERR_ARG);
    assert_int_equal(cr_op_registry_add(r, "", twice_fwd, NULL, NULL, err, sizeof err),
                     CR_ERR_ARG);
    cr_graph_free(round_trip_with(rec_custom, "custom2.crg", 0, r));
    cr_op_registry_free(empty);
    cr_op_registry_free(r);
    cr_op_registry_free(NULL);
}

/* exp(f(x)) of the loaded custom graph at x = 0.5 everywhere */
static void assert_custom_output(cr_graph *g, double want)
{
    cr_tensor_fill(cr_graph_input(g, 0), (cr_real)0.5);
    assert_int_equal(cr_tape_forward(cr_graph_tape(g)), CR_OK);
    cr_tensor *y = cr_graph_output(g, 0);
    for (size_t i = 0; i < y->size; i++) assert_close(y->data[i], want, 1e-6, 1e-6);
}

static void test_two_registries_load_one_op_name_as_different_functions(void **state)
{
    (void)state;
    const char *path = path_in("custom-two.crg");
    save_custom(path);
    char err[512];
    cr_op_registry *plus = cr_op_registry_new(), *times3 = cr_op_registry_new();
    assert_int_equal(cr_op_registry_add(plus, "twice_plus", twice_fwd, twice_bwd, &one, err,
                                        sizeof err), CR_OK);
    assert_int_equal(cr_op_registry_add(times3, "twice_plus", thrice_fwd, NULL, NULL, err,
                                        sizeof err), CR_OK);
    cr_graph *a = cr_graph_load_with(path, plus, err, sizeof err);
    assert_non_null(a);
    cr_graph *b = cr_graph_load_with(path, times3, err, sizeof err);
    if (!b) print_error("%s\n", err);
    assert_non_null(b);
    /* the graphs copied the callbacks: the registries may go (ASan sees any use) */
    cr_op_registry_free(plus);
    cr_op_registry_free(times3);
    assert_custom_output(a, exp(2 * 0.5 + 1));     /* exp(2x + 1) = e^2 */
    assert_custom_output(b, exp(3 * 0.5));         /* exp(3x) = e^1.5 */
    assert_int_equal(cr_graph_set_batch(b, 5, err, sizeof err), CR_OK);
    assert_custom_output(b, exp(3 * 0.5));
    cr_graph_free(a);
    cr_graph_free(b);
}

static void test_a_null_op_registry_is_refused_with_a_message(void **state)
{
    (void)state;
    const char *path = path_in("custom-null.crg");
    save_custom(path);
    char err[512] = "";
    assert_null(cr_graph_load_with(path, NULL, err, sizeof err));
    assert_non_null(strstr(err, "op registry is NULL"));
    err[0] = '\0';
    assert_null(cr_graph_load_buffer_with("", 0, "x.crg", NULL, err, sizeof err));
    assert_non_null(strstr(err, "op registry is NULL"));
    err[0] = '\0';
    assert_int_equal(cr_op_registry_add(NULL, "twice_plus", twice_fwd, twice_bwd, NULL, err,
                                        sizeof err), CR_ERR_ARG);
    assert_non_null(strstr(err, "registry is NULL"));
}

/* --------------------------------------------- every op has an entry */

/* The op names defined in one source file: `cr_op name = { "name"` and the two
 * macros of ops_internal.h. */
static int check_file_ops(const char *path, int *count)
{
    FILE *f = fopen(path, "r");
    if (!f) return 0;
    char line[512], prev[512] = "";
    int missing = 0;
    while (fgets(line, sizeof line, f)) {
        const char *q = NULL;
        if (strstr(line, "cr_op ") && strstr(line, "= {") && !strstr(line, "#define"))
            q = strchr(strstr(line, "= {"), '"');
        else if (strstr(prev, "cr_op ") && strchr(prev, '=') && !strchr(prev, '"') &&
                 !strstr(prev, "#define") && strchr(line, '{'))
            q = strchr(strchr(line, '{'), '"');       /* the struct opened on the next line */
        else if ((strncmp(line, "CR__ELEMENTWISE_OP(", 19) == 0 ||
                  strncmp(line, "CR__BINARY_OP(", 14) == 0))
            q = strchr(line, '"');
        snprintf(prev, sizeof prev, "%s", line);
        if (!q) continue;
        char name[64];
        const char *e = strchr(q + 1, '"');
        if (!e || e - q - 1 >= (long)sizeof name) continue;
        memcpy(name, q + 1, (size_t)(e - q - 1));
        name[e - q - 1] = '\0';
        if (strcmp(name, "leaf") == 0) continue;
        (*count)++;
        if (!cr_graph_op_known(name)) {
            print_error("%s: op \"%s\" has no graph-file entry: add one to ops/graph_ops.c "
                        "(ops/README.md, step 5)\n", path, name);
            missing++;
        }
    }
    fclose(f);
    return missing;
}

static void test_every_op_defined_in_ops_has_a_graph_file_entry(void **state)
{
    (void)state;
    const char *dirs[] = { "ops", "graph", "nn" };
    int count = 0, missing = 0;
    for (size_t d = 0; d < sizeof dirs / sizeof dirs[0]; d++) {
        DIR *dp = opendir(dirs[d]);
        assert_non_null(dp);    /* tests run from the source tree's top */
        struct dirent *e;
        while ((e = readdir(dp)) != NULL) {
            size_t n = strlen(e->d_name);
            if (n < 3 || strcmp(e->d_name + n - 2, ".c") != 0) continue;
            char path[300];
            snprintf(path, sizeof path, "%s/%s", dirs[d], e->d_name);
            missing += check_file_ops(path, &count);
        }
        closedir(dp);
    }
    if (count < 41) print_error("the scan found only %d ops\n", count);
    assert_true(count >= 41);       /* the scan finds the ops (41 today) */
    assert_int_equal(missing, 0);
    assert_false(cr_graph_op_known("no_such_op"));
    assert_false(cr_graph_op_known(NULL));
}

/* ------------------------------------------------------------ refused saves */

static void nop_fwd(cr_tape *t, cr_node *n)
{
    (void)t;
    memcpy(n->out->data, n->in[0]->data, n->out->size * sizeof(cr_real));
}

static void test_saves_that_cannot_be_described_are_refused(void **state)
{
    (void)state;
    char err[512];
    const char *path = path_in("refused.crg");
    int s[1] = { 3 };
    cr_tape *t = cr_tape_new(0);
    cr_tensor *x = cr_const(t, 1, s, NULL);
    /* an op written with the op-writer API: no graph-file entry */
    static const cr_op mine = { "my_copy", nop_fwd, NULL };
    cr_node *n = cr_record(t, &mine, 1, &x, 1, s);
    cr_tensor *y = cr_run(t, n);
    assert_non_null(y);
    assert_int_equal(cr_graph_save(t, 1, &x, 1, &y, NULL, path, err, sizeof err),
                     CR_ERR_UNSUPPORTED);
    assert_non_null(strstr(err, "'my_copy'"));
    /* an op of one's own under a built-in name: its node is not read as that op's */
    cr_tape_reset(t);
    x = cr_const(t, 1, s, NULL);
    static const cr_op fake = { "conv2d", nop_fwd, NULL };
    n = cr_record(t, &fake, 1, &x, 1, s);
    y = cr_run(t, n);
    assert_non_null(y);
    assert_int_equal(cr_graph_save(t, 1, &x, 1, &y, NULL, path, err, sizeof err), CR_ERR_ARG);
    assert_non_null(strstr(err, "conv2d: its attributes cannot be described"));
    cr_tape_reset(t);
    /* a parameter that is not in the list */
    x = cr_const(t, 1, s, NULL);
    cr_tensor *w = cr_param_new(1, s);
    y = cr_mul(t, x, w);
    assert_int_equal(cr_graph_save(t, 1, &x, 1, &y, NULL, path, err, sizeof err), CR_ERR_ARG);
    assert_non_null(strstr(err, "not in the parameter list"));
    /* an input computed in no-grad mode */
    cr_tape_reset(t);
    x = cr_const(t, 1, s, NULL);
    cr_tape_set_grad_mode(t, 0);
    cr_tensor *h = cr_relu(t, x);
    cr_tape_set_grad_mode(t, 1);
    y = cr_exp(t, h);
    assert_int_equal(cr_graph_save(t, 1, &x, 1, &y, NULL, path, err, sizeof err), CR_ERR_ARG);
    if (!strstr(err, "no-grad")) print_error("%s\n", err);
    assert_non_null(strstr(err, "no-grad"));
    /* an input that is an op's output; no outputs */
    assert_int_equal(cr_graph_save(t, 1, &y, 1, &y, NULL, path, err, sizeof err), CR_ERR_ARG);
    assert_int_equal(cr_graph_save(t, 1, &x, 0, &y, NULL, path, err, sizeof err), CR_ERR_ARG);
    assert_int_equal(access(path, F_OK), -1);          /* nothing was written */
    cr_tensor_free(w);
    cr_tape_free(t);
}

/* ------------------------------------------------------------ hostile files */

typedef struct fbuf {
    unsigned char b[4096];
    size_t n;
} fbuf;

static void p32(fbuf *f, uint32_t v)
{
    for (int i = 0; i < 4; i++) f->b[f->n++] = (unsigned char)(v >> (8 * i));
}

static void p64(fbuf *f, uint64_t v)
{
    for (int i = 0; i < 8; i++) f->b[f->n++] = (unsigned char)(v >> (8 * i));
}

static void pstr(fbuf *f, const char *s)
{
    p32(f, (uint32_t)strlen(s));
    memcpy(f->b + f->n, s, strlen(s));
    f->n += strlen(s);
}

/* A whole file: header (real size rs), an empty PARM, the GRPH body g, CRC. */
static fbuf file_rs(const fbuf *g, uint32_t rs)
{
    fbuf f;
    f.n = 0;
    memcpy(f.b, "CRMODEL", 8);
    f.n = 8;
    p32(&f, 1);
    p32(&f, rs);
    p64(&f, 28 + 12 + 4 + 12 + g->n + 4);
    p32(&f, 2);
    memcpy(f.b + f.n, "PARM", 4), f.n += 4;
    p64(&f, 4);
    p32(&f, 0);
    memcpy(f.b + f.n, "GRPH", 4), f.n += 4;
    p64(&f, g->n);
    memcpy(f.b + f.n, g->b, g->n);
    f.n += g->n;
    p32(&f, cr_crc32(0, f.b, f.n));
    return f;
}

static fbuf file_with(const fbuf *g) { return file_rs(g, (uint32_t)sizeof(cr_real)); }

/* What to change in the small graph x (2x3) -> op(x) -> output. */
typedef struct variant {
    uint32_t nvals, rank, d0, d1, in_index, ni, nr;
    int64_t attr;
    const char *op;
    uint32_t out_d0;
} variant;

static fbuf graph_body(variant v)
{
    fbuf g;
    g.n = 0;
    p32(&g, 1);                                   /* graph version */
    p32(&g, 0);                                   /* generators */
    p32(&g, v.nvals);
    p32(&g, 1), p32(&g, 0), p32(&g, v.rank);      /* input */
    p32(&g, v.d0), p32(&g, v.d1);
    pstr(&g, "x");
    p32(&g, 6), p32(&g, 0), p32(&g, 2);           /* op node */
    p32(&g, v.out_d0), p32(&g, v.d1);
    pstr(&g, v.op);
    p32(&g, 1), p32(&g, v.in_index);
    p32(&g, v.ni);
    for (uint32_t k = 0; k < v.ni; k++) p64(&g, (uint64_t)v.attr);
    p32(&g, v.nr);
    for (uint32_t k = 0; k < v.nr; k++) p64(&g, 0);
    p32(&g, 1), p32(&g, 1);                       /* output: value 1 */
    pstr(&g, "y");
    return g;
}

static const variant good = { 2, 2, 2, 3, 0, 0, 0, 0, "relu", 2 };

static void expect_refused(variant v, const char *needle)
{
    fbuf g = graph_body(v), f = file_with(&g);
    char err[512] = "";
    cr_graph *gr = cr_graph_load_buffer(f.b, f.n, "hostile.crg", err, sizeof err);
    if (gr || !strstr(err, needle))
        print_error("expected a refusal containing \"%s\", got \"%s\"\n", needle, err);
    assert_null(gr);
    assert_non_null(strstr(err, needle));
}

static void test_the_hand_made_reference_graph_loads(void **state)
{
    (void)state;
    fbuf g = graph_body(good), f = file_with(&g);
    char err[512];
    cr_graph *gr = cr_graph_load_buffer(f.b, f.n, "good.crg", err, sizeof err);
    if (!gr) print_error("%s\n", err);
    assert_non_null(gr);
    cr_tensor *x = cr_graph_input(gr, 0);
    x->data[0] = -1, x->data[1] = 2;
    assert_int_equal(cr_tape_forward(cr_graph_tape(gr)), CR_OK);
    assert_true(cr_graph_output(gr, 0)->data[0] == 0 && cr_graph_output(gr, 0)->data[1] == 2);
    cr_graph_free(gr);
}

/* A file of the other precision (binary64 constants, as the double build writes
 * them): the float build rounds each value to nearest, refuses one beyond float's
 * range, and the double build reads them exactly. Written by hand: x (2x3) + c (3). */
static fbuf double_constant_graph(double c2)
{
    fbuf g;
    g.n = 0;
    p32(&g, 1), p32(&g, 0), p32(&g, 3);
    p32(&g, 1), p32(&g, 0), p32(&g, 2), p32(&g, 2), p32(&g, 3), pstr(&g, "x");
    p32(&g, 4), p32(&g, 0), p32(&g, 1), p32(&g, 3), pstr(&g, "c");
    double c[3] = { 0.1, -2.5, c2 };
    for (int k = 0; k < 3; k++) {
        uint64_t b;
        memcpy(&b, &c[k], 8);
        p64(&g, b);
    }
    p32(&g, 6), p32(&g, 0), p32(&g, 2), p32(&g, 2), p32(&g, 3), pstr(&g, "add");
    p32(&g, 2), p32(&g, 0), p32(&g, 1), p32(&g, 0), p32(&g, 0);
    p32(&g, 1), p32(&g, 2), pstr(&g, "y");
    return file_rs(&g, 8);
}

static void test_a_double_file_loads_converted_or_is_refused_out_of_range(void **state)
{
    (void)state;
    fbuf f = double_constant_graph(1e-3);
    char err[512];
    cr_graph *g = cr_graph_load_buffer(f.b, f.n, "double.crg", err, sizeof err);
    if (!g) print_error("%s\n", err);
    assert_non_null(g);
    cr_graph_input(g, 0)->data[2] = 1;
    assert_int_equal(cr_tape_forward(cr_graph_tape(g)), CR_OK);
    cr_tensor *y = cr_graph_output(g, 0);
    assert_true(y->data[0] == (cr_real)0.1 && y->data[1] == (cr_real)-2.5);
    assert_true(y->data[2] == (cr_real)1 + (cr_real)1e-3);
    assert_true(y->data[5] == (cr_real)1e-3);
    cr_graph_free(g);
    f = double_constant_graph(1e300);
    g = cr_graph_load_buffer(f.b, f.n, "big.crg", err, sizeof err);
    if (CR_TEST_DOUBLE) {
        assert_non_null(g);
        cr_graph_free(g);
    } else {
        assert_null(g);
        assert_non_null(strstr(err, "does not fit a float"));
    }
}

static void test_hostile_graph_sections_are_refused_clearly(void **state)
{
    (void)state;
    variant v = good;
    v.in_index = 1;
    expect_refused(v, "forward reference");
    v = good, v.op = "frobnicate";
    expect_refused(v, "'frobnicate', which is neither built in nor registered");
    v = good, v.ni = 1;
    expect_refused(v, "(relu) has 1 inputs and 1+0 attributes");
    v = good, v.out_d0 = 3;
    expect_refused(v, "is 2x3 but the file says 3x3");
    v = good, v.nvals = 0xFFFFFFFFu;
    expect_refused(v, "value count out of range");
    v = good, v.rank = 5;
    expect_refused(v, "rank above 4");
    v = good, v.d0 = 0;
    expect_refused(v, "a dimension is 0");
    v = good, v.op = "matmul", v.ni = 2, v.attr = (int64_t)1 << 40;
    expect_refused(v, "integer attribute is out of range");
    v = good, v.op = "max_pool2d", v.ni = 6, v.attr = -1;
    expect_refused(v, "max_pool2d: x must be N x C x H x W");
    /* more than the memory limit declared: refused before allocating */
    cr_set_memory_limit((size_t)1 << 30);
    v = good, v.d0 = 65536, v.d1 = 65536, v.out_d0 = 65536;
    expect_refused(v, "above the memory limit");
    cr_set_memory_limit(0);
}

static void test_truncated_or_corrupt_graph_files_never_load(void **state)
{
    (void)state;
    fbuf g = graph_body(good), f = file_with(&g);
    char err[512];
    for (size_t n = 0; n < f.n; n++) {          /* every prefix */
        assert_null(cr_graph_load_buffer(f.b, n, "cut.crg", err, sizeof err));
        assert_true(err[0] != '\0');
    }
    for (size_t i = 0; i < f.n; i++) {          /* every single bit flip of a byte */
        f.b[i] ^= 0x10;
        assert_null(cr_graph_load_buffer(f.b, f.n, "flip.crg", err, sizeof err));
        f.b[i] ^= 0x10;
    }
    /* a model file without a graph */
    const char *path = path_in("plain.crm");
    cr_params *p = cr_params_new();
    int s[1] = { 2 };
    assert_int_equal(cr_params_add_owned(p, cr_param_new(1, s), "w", NULL, 0), CR_OK);
    assert_int_equal(cr_save(path, p, NULL, NULL, err, sizeof err), CR_OK);
    assert_null(cr_graph_load(path, err, sizeof err));
    assert_non_null(strstr(err, "not a graph file"));
    assert_null(cr_graph_load(path_in("missing.crg"), err, sizeof err));
    assert_non_null(strstr(err, "cannot open"));
    cr_params_free(p);
}

/* Every allocation of a load (and of a save) failing in turn: a clean refusal with
 * a message each time, no file written, nothing left allocated (the sanitizer
 * build's leak check), then a load that succeeds. */
static void test_out_of_memory_at_any_allocation_fails_cleanly(void **state)
{
    (void)state;
    cr_rng rng;
    cr_rng_seed(&rng, 8);
    cr_tape *t = cr_tape_new(0);
    cr_params *p = cr_params_new();
    rt_case c;
    rec_conv_pool(t, p, &rng, &c);
    char err[512];
    const char *path = path_in("oom.crg");
    assert_int_equal(cr_graph_save(t, c.n_in, c.in, c.n_out, c.out, p, path, err, sizeof err),
                     CR_OK);
    void *image = NULL;
    size_t size = 0;
    assert_int_equal(cr_load_file_image(path, &image, &size, err, sizeof err), CR_OK);
    int loaded = 0;
    for (long k = 1; k < 10000 && !loaded; k++) {
        cr_test_alloc a = { 0, 0, 0, k, 0 };
        cr_test_alloc_install(&a);
        err[0] = '\0';
        cr_graph *g = cr_graph_load_buffer(image, size, "oom.crg", err, sizeof err);
        loaded = g != NULL;
        if (g) assert_int_equal(cr_tape_forward(cr_graph_tape(g)), CR_OK);
        cr_graph_free(g);
        cr_test_alloc_remove();
        if (!loaded) assert_true(err[0] != '\0');
    }
    assert_true(loaded);
    for (long k = 1; k < 10000; k++) {
        cr_test_alloc a = { 0, 0, 0, k, 0 };
        cr_test_alloc_install(&a);
        cr_status st = cr_graph_save(t, c.n_in, c.in, c.n_out, c.out, p, path_in("oom2.crg"), err,
                                     sizeof err);
        cr_test_alloc_remove();
        if (st == CR_OK) break;
        assert_int_equal(st, CR_ERR_NOMEM);
        assert_int_equal(access(path_in("oom2.crg"), F_OK), -1);
    }
    cr_free(image);
    cr_tape_free(t);
    cr_params_free(p);
}

int main(int argc, char **argv)
{
    struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip_elementwise_ops_is_bit_identical),
        cmocka_unit_test(test_round_trip_matrix_ops_is_bit_identical),
        cmocka_unit_test(test_round_trip_reductions_is_bit_identical),
        cmocka_unit_test(test_round_trip_shape_ops_is_bit_identical),
        cmocka_unit_test(test_round_trip_conv_and_pool_is_bit_identical),
        cmocka_unit_test(test_round_trip_softmax_family_and_losses_is_bit_identical),
        cmocka_unit_test(test_round_trip_embedding_lstm_and_stack_is_bit_identical),
        cmocka_unit_test(test_round_trip_dropout_and_batchnorm_is_bit_identical),
        cmocka_unit_test(test_round_trip_training_batchnorm_moves_the_same_statistics),
        cmocka_unit_test(test_loaded_parameters_train_like_the_originals),
        cmocka_unit_test(test_another_batch_size_records_again_and_agrees_row_by_row),
        cmocka_unit_test(test_a_failed_batch_change_leaves_the_graph_as_it_was),
        cmocka_unit_test(test_custom_op_is_refused_by_name_unless_in_the_registry),
        cmocka_unit_test(test_two_registries_load_one_op_name_as_different_functions),
        cmocka_unit_test(test_a_null_op_registry_is_refused_with_a_message),
        cmocka_unit_test(test_every_op_defined_in_ops_has_a_graph_file_entry),
        cmocka_unit_test(test_saves_that_cannot_be_described_are_refused),
        cmocka_unit_test(test_the_hand_made_reference_graph_loads),
        cmocka_unit_test(test_a_double_file_loads_converted_or_is_refused_out_of_range),
        cmocka_unit_test(test_hostile_graph_sections_are_refused_clearly),
        cmocka_unit_test(test_truncated_or_corrupt_graph_files_never_load),
        cmocka_unit_test(test_out_of_memory_at_any_allocation_fails_cleanly),
    };
    return CR_TEST_RUN(tests, setup, teardown, argc, argv);
}
