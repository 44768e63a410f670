/* Truncated backpropagation through time with the recurrent layers (nn/rnn.c): a
 * character-model shaped loop (embedding -> 2-layer LSTM or GRU with dropout
 * between layers -> linear -> softmax cross-entropy) trained over consecutive
 * chunks of B parallel token streams, the hidden state carried from chunk to chunk.
 * Three ways must give the same bits at every chunk (losses, gradients, weights):
 *   replay:   one chunk recorded once; per chunk the indices and targets are written
 *             into the recorded leaves, cr_tape_forward, backward, SGD step, and the
 *             final state copied into the heap carry (cr_rnn_state_copy);
 *   record:   the same, re-recorded on a reset tape every chunk;
 *   detach:   every chunk recorded after the previous one on ONE tape (never
 *             reset), the state cut with cr_rnn_state_detach, backward per chunk.
 * The replay loop allocates nothing once it runs (allocator hooks). */
#include "helpers.h"

#include <stdlib.h>
#include <string.h>

#define V 7        /* vocabulary */
#define E 3        /* embedding */
#define HID 4
#define LAYERS 2
#define B 2        /* parallel streams */
#define T 4        /* steps per chunk */
#define CHUNKS 5

typedef enum { REPLAY, RECORD, DETACH } method;

typedef struct net {
    cr_rnn *rnn;
    cr_tensor *table, *W, *b;   /* V x E, HID x V, V */
    cr_params *params;
    cr_optim *opt;
    cr_rng drop;                /* dropout masks */
} net;

/* Token stream s of B streams: tokens[b][i], i < CHUNKS*T + 1 (targets shifted). */
static int tokens[B][CHUNKS * T + 1];

static void net_new(net *n, cr_rnn_kind kind)
{
    char err[200];
    cr_rng r;
    cr_rng_seed(&r, 77);
    n->rnn = cr_rnn_new(kind, E, HID, LAYERS, 0.25, err, sizeof err);
    if (!n->rnn) fail_msg("%s", err);
    assert_int_equal(cr_rnn_init(n->rnn, &r, err, sizeof err), CR_OK);
    int st[2] = { V, E }, sw[2] = { HID, V }, sb = V;
    n->table = cr_param_new(2, st);
    n->W = cr_param_new(2, sw);
    n->b = cr_param_new(1, &sb);
    cr_tensor_rand_normal(n->table, &r, 0, 1);
    cr_tensor_rand_uniform(n->W, &r, -0.5f, 0.5f);
    n->params = cr_params_new();
    assert_int_equal(cr_params_add(n->params, n->table, "emb.weight", err, sizeof err), CR_OK);
    assert_int_equal(cr_params_extend(n->params, cr_rnn_params(n->rnn), "rnn.", err, sizeof err),
                     CR_OK);
    assert_int_equal(cr_params_add(n->params, n->W, "out.W", err, sizeof err), CR_OK);
    assert_int_equal(cr_params_add(n->params, n->b, "out.b", err, sizeof err), CR_OK);
    cr_optim_config oc = cr_optim_defaults(CR_OPTIM_SGD);
    oc.lr = 0.5;
    n->opt = cr_optim_new(n->params, &oc, err, sizeof err);
    assert_non_null(n->opt);
    cr_rng_seed(&n->drop, 5);
}

static void net_free(net *n)
{
    cr_optim_free(n->opt);
    cr_params_free(n->params);
    cr_tensor_free(n->table);
    cr_tensor_free(n->W);
    cr_tensor_free(n->b);
    cr_rnn_free(n->rnn);
}

/* Record one chunk from state *s (updated to the chunk's last state): idx B x T
 * token indices, y the B*T targets (row b*T + k). Returns the loss. */
static cr_tensor *record_chunk(cr_tape *t, net *n, cr_tensor *idx, cr_tensor *y, cr_rnn_state *s)
{
    cr_tensor *h = cr_rnn_forward(t, n->rnn, cr_embedding(t, n->table, idx), 1, s, 1, &n->drop);
    int rows[2] = { B * T, HID };
    cr_tensor *logits = cr_linear(t, cr_reshape(t, h, 2, rows), n->W, n->b);
    cr_tensor *loss = cr_softmax_cross_entropy(t, logits, y);
    if (!loss) fail_msg("recording: %s", cr_tape_error(t));
    return loss;
}

static void write_chunk(int c, cr_tensor *idx, cr_tensor *y)
{
    for (int b = 0; b < B; b++)
        for (int k = 0; k < T; k++) {
            idx->data[b * T + k] = (cr_real)tokens[b][c * T + k];
            y->data[b * T + k] = (cr_real)tokens[b][c * T + k + 1];
        }
}

typedef struct trace {
    cr_real loss[CHUNKS];
    cr_real *grads;   /* CHUNKS x numel */
    cr_real *final;   /* numel: the weights after the last step */
} trace;

static void snapshot(const cr_params *p, cr_real *dst, int grad)
{
    for (size_t i = 0; i < cr_params_count(p); i++) {
        const cr_tensor *x = cr_params_get(p, i);
        memcpy(dst, grad ? x->grad : x->data, x->size * sizeof *dst);
        dst += x->size;
    }
}

/* Train CHUNKS chunks by method m; *allocs gets the allocations made after the
 * first chunk (replay only; allocator hooks installed by the caller). */
static void run(cr_rnn_kind kind, method m, trace *tr, cr_test_alloc *counter, size_t *allocs)
{
    net n;
    net_new(&n, kind);
    size_t numel = cr_params_numel(n.params);
    tr->grads = malloc(CHUNKS * numel * sizeof(cr_real));
    tr->final = malloc(numel * sizeof(cr_real));
    assert_non_null(tr->grads);
    assert_non_null(tr->final);
    int si[2] = { B, T }, sy = B * T;
    cr_tensor *idx = cr_tensor_new(2, si), *y = cr_tensor_new(1, &sy);
    cr_rnn_state carry, s;
    assert_int_equal(cr_rnn_state_alloc(n.rnn, B, &carry, NULL, 0), CR_OK);
    cr_tape *t = cr_tape_new(0);
    if (m == DETACH) cr_tape_set_keep_graph(t, 1);
    memset(&s, 0, sizeof s);
    cr_tensor *loss = NULL;
    size_t warm = 0;
    for (int c = 0; c < CHUNKS; c++) {
        write_chunk(c, idx, y);
        cr_optim_zero_grad(n.opt);
        if (m == REPLAY && c > 0) {
            assert_int_equal(cr_tape_forward(t), CR_OK);
        } else if (m == DETACH) {
            if (c > 0) assert_int_equal(cr_rnn_state_detach(t, &s), CR_OK);
            /* the indices are read when recorded: each chunk gets its own leaves */
            cr_tensor *ci = cr_const(t, 2, si, idx->data), *cy = cr_const(t, 1, &sy, y->data);
            loss = record_chunk(t, &n, ci, cy, &s);
        } else {
            cr_tape_reset(t);
            s = carry;
            loss = record_chunk(t, &n, idx, y, &s);
        }
        assert_int_equal(cr_backward(t, loss), CR_OK);
        tr->loss[c] = cr_item(loss);
        snapshot(n.params, tr->grads + c * numel, 1);
        assert_int_equal(cr_optim_step(n.opt, NULL, 0), CR_OK);
        if (m != DETACH) assert_int_equal(cr_rnn_state_copy(&carry, &s, NULL, 0), CR_OK);
        if (c == 0 && counter) warm = counter->mallocs + counter->reallocs;
    }
    if (counter) *allocs = counter->mallocs + counter->reallocs - warm;
    snapshot(n.params, tr->final, 0);
    cr_tape_free(t);
    cr_rnn_state_free(&carry);
    cr_tensor_free(idx);
    cr_tensor_free(y);
    net_free(&n);
}

static void trace_free(trace *tr)
{
    free(tr->grads);
    free(tr->final);
}

static void check_methods_agree(cr_rnn_kind kind)
{
    cr_rng r;
    cr_rng_seed(&r, 9);
    for (int b = 0; b < B; b++)
        for (int i = 0; i <= CHUNKS * T; i++) tokens[b][i] = (int)cr_rng_below(&r, V);
    trace tr[3];
    cr_test_alloc counter = { 0 };
    size_t allocs = 0;
    cr_test_alloc_install(&counter);
    run(kind, REPLAY, &tr[0], &counter, &allocs);
    cr_test_alloc_remove();
    run(kind, RECORD, &tr[1], NULL, NULL);
    run(kind, DETACH, &tr[2], NULL, NULL);
    net n;
    net_new(&n, kind);
    size_t numel = cr_params_numel(n.params);
    net_free(&n);
    if (allocs != 0) fail_msg("%s: %zu heap allocations in chunks 2..%d of the replay loop",
                              cr_rnn_kind_name(kind), allocs, CHUNKS);
    for (int m = 1; m < 3; m++) {
        for (int c = 0; c < CHUNKS; c++) {
            if (tr[m].loss[c] != tr[0].loss[c])
                fail_msg("%s: chunk %d loss %.17g by %s but %.17g by replay",
                         cr_rnn_kind_name(kind), c, (double)tr[m].loss[c],
                         m == 1 ? "re-recording" : "detach on one tape", (double)tr[0].loss[c]);
        }
        assert_memory_equal(tr[m].grads, tr[0].grads, CHUNKS * numel * sizeof(cr_real));
        assert_memory_equal(tr[m].final, tr[0].final, numel * sizeof(cr_real));
    }
    for (int m = 0; m < 3; m++) trace_free(&tr[m]);
}

static void test_tbptt_lstm_replay_record_and_detach_agree_without_allocation(void **state)
{
    (void)state;
    check_methods_agree(CR_LSTM);
}

static void test_tbptt_gru_replay_record_and_detach_agree_without_allocation(void **state)
{
    (void)state;
    check_methods_agree(CR_GRU);
}

/* The same bits for 1, 2 and 3 threads: a wider LSTM step (B 16, H 512: the gate
 * tensors are 16 x 2048, above the size from which elementwise ops split over the
 * pool, and the products split by tiles) trained over two replayed chunks. */
static void lstm_wide(int threads, cr_real *loss_out, cr_real *grads, size_t *numel)
{
    enum { WB = 16, WH = 512, WI = 8, WT = 3 };
    char err[200];
    cr_rng r;
    cr_rng_seed(&r, 31);
    cr_rnn *rnn = cr_rnn_new(CR_LSTM, WI, WH, 1, 0, err, sizeof err);
    assert_int_equal(cr_rnn_init(rnn, &r, err, sizeof err), CR_OK);
    cr_params *p = cr_rnn_params(rnn);
    *numel = cr_params_numel(p);
    int sx[3] = { WB, WT, WI };
    cr_tensor *x = cr_tensor_new(3, sx);
    cr_rnn_state carry, s;
    assert_int_equal(cr_rnn_state_alloc(rnn, WB, &carry, err, sizeof err), CR_OK);
    cr_tape *t = cr_tape_new(0);
    assert_int_equal(cr_tape_set_threads(t, threads), CR_OK);
    s = carry;
    cr_tensor_rand_uniform(x, &r, -1, 1);
    cr_tensor *loss = cr_mean(t, cr_square(t, cr_rnn_forward(t, rnn, x, 1, &s, 1, NULL)));
    assert_non_null(loss);
    for (int c = 0; c < 2; c++) {
        if (c > 0) {
            cr_tensor_rand_uniform(x, &r, -1, 1);
            assert_int_equal(cr_tape_forward(t), CR_OK);
        }
        cr_params_zero_grad(p);
        assert_int_equal(cr_backward(t, loss), CR_OK);
        assert_int_equal(cr_rnn_state_copy(&carry, &s, err, sizeof err), CR_OK);
    }
    *loss_out = cr_item(loss);
    snapshot(p, grads, 1);
    cr_tape_free(t);
    cr_rnn_state_free(&carry);
    cr_tensor_free(x);
    cr_rnn_free(rnn);
}

static void test_tbptt_wide_lstm_same_bits_for_1_2_3_threads(void **state)
{
    (void)state;
    size_t n = 4 * 512 * (8 + 512 + 2);
    cr_real *g1 = malloc(n * sizeof *g1), *gk = malloc(n * sizeof *gk);
    assert_non_null(g1);
    assert_non_null(gk);
    cr_real l1, lk;
    size_t numel;
    lstm_wide(1, &l1, g1, &numel);
    assert_int_equal(numel, n);
    for (int threads = 2; threads <= 3; threads++) {
        lstm_wide(threads, &lk, gk, &numel);
        if (lk != l1 || memcmp(g1, gk, n * sizeof *g1) != 0)
            fail_msg("LSTM chunk: %d threads give other bits than 1", threads);
    }
    free(g1);
    free(gk);
}

int main(int argc, char **argv)
{
    struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tbptt_lstm_replay_record_and_detach_agree_without_allocation),
        cmocka_unit_test(test_tbptt_gru_replay_record_and_detach_agree_without_allocation),
        cmocka_unit_test(test_tbptt_wide_lstm_same_bits_for_1_2_3_threads),
    };
    return CR_TEST_RUN(tests, NULL, NULL, argc, argv);
}
