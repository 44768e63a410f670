/* libFuzzer harness: random sequences of public tape ops (issue 12).
 *
 * The input is a small program. Its first bytes choose the tape (first arena block,
 * arena cap — always set, at most 1 MiB, so that no input asks the machine for
 * gigabytes), the rest is a list of instructions, each an opcode byte followed by
 * its operands. Instructions record ops on tensors held in 8 slots (random shapes
 * and values, NaN and Inf included; bad axes, shapes, targets and NULL inputs on
 * purpose), run backward, replay (cr_tape_forward) after writing new leaf data,
 * reset the tape while the slots still hold the old tensors (stale use must be
 * refused, never read), switch grad mode, keep_graph, anomaly mode and the trace,
 * change the arena cap, label tensors, and print the tape, its DOT and its trace
 * to a memory stream.
 *
 * Checked besides ASan/UBSan: an op returns NULL exactly when the tape has an
 * error; an errored tape stays errored (sticky) until reset; the node count never
 * shrinks except on reset; printing, DOT and replay never crash, errored or not;
 * a refused second backward leaves the tape without error. */
#include "fuzz_util.h"

#include <math.h>
#include <stdint.h>

#define SLOTS 8

typedef struct reader {
    const uint8_t *p;
    size_t n;
} reader;

static unsigned byte(reader *r)
{
    if (!r->n) return 0;
    r->n--;
    return *r->p++;
}

static int small(reader *r, int lo, int hi) { return lo + (int)(byte(r) % (unsigned)(hi - lo + 1)); }

/* A value: mostly small numbers, sometimes 0, extremes, NaN or Inf. */
static cr_real value(reader *r)
{
    unsigned b = byte(r);
    switch (b >> 5) {
    case 0: return (cr_real)((int)(b & 31) - 16) / 4;
    case 1: return (cr_real)((int)(b & 31) - 16);
    case 2: return (cr_real)((b & 31) * 64.0);
    case 3: return (cr_real)((int)(b & 31) - 16) / 64;
    case 4: return 0;
    case 5: return b & 1 ? NAN : (b & 2 ? INFINITY : -INFINITY);
    case 6: return (cr_real)(b & 1 ? 1e30 : -1e-30);
    default: return (cr_real)((int)(b & 31) - 3);
    }
}

/* A dimension: 1..4 mostly, sometimes 0, negative or huge (errors). */
static int dim(reader *r)
{
    unsigned b = byte(r);
    if (b < 240) return 1 + (int)(b % 4);
    switch (b & 7) {
    case 0: return 0;
    case 1: return -1;
    case 2: return 65536;
    case 3: return 1 << 30;
    case 4: return INT32_MAX;
    default: return 5 + (int)(b & 7);
    }
}

typedef struct state {
    cr_tape *t;
    cr_tensor *slot[SLOTS];
    unsigned slot_gen[SLOTS];   /* resets seen when the slot was filled */
    unsigned gen;
    cr_tensor *param[2];
    cr_rng rng;
    FILE *mem;            /* memory stream for print, DOT and trace */
    char *membuf;
    size_t memlen;
} state;

/* 1 when slot i holds a tensor made since the last reset (the harness touches
 * tensor memory itself only then; the library must refuse the others). */
static int current(const state *s, unsigned i) { return s->slot[i] && s->slot_gen[i] == s->gen; }

static void put(state *s, unsigned i, cr_tensor *y)
{
    s->slot[i] = y;
    s->slot_gen[i] = s->gen;
}

static cr_tensor *pick(state *s, reader *r)
{
    unsigned b = byte(r);
    if (b % 16 == 15) return NULL;
    if (b % 16 >= 13) return s->param[b & 1];
    return s->slot[b % SLOTS];
}

static void cube_fwd(cr_tensor *out, cr_tensor *const *in, int n_in, void *user)
{
    (void)user;
    for (size_t i = 0; i < out->size; i++) {
        cr_real v = 0;
        for (int k = 0; k < n_in; k++) v += in[k]->data[i % in[k]->size];
        out->data[i] = v * v * v;
    }
}

static void cube_bwd(cr_tensor *out, cr_tensor *const *in, int n_in, void *user)
{
    (void)user;
    for (size_t i = 0; i < out->size; i++) {
        cr_real v = 0;
        for (int k = 0; k < n_in; k++) v += in[k]->data[i % in[k]->size];
        for (int k = 0; k < n_in; k++)
            if (in[k]->grad) in[k]->grad[i % in[k]->size] += 3 * v * v * out->grad[i];
    }
}

/* Record one op chosen by code on slots or parameters read from r. */
static cr_tensor *run_op(state *s, reader *r, unsigned code)
{
    cr_tape *t = s->t;
    cr_tensor *a = pick(s, r), *b = pick(s, r);
    switch (code % 39) {
    case 0: return cr_add(t, a, b);
    case 1: return cr_sub(t, a, b);
    case 2: return cr_mul(t, a, b);
    case 3: return cr_div(t, a, b);
    case 4: return cr_max(t, a, b);
    case 5: return cr_neg(t, a);
    case 6: return cr_exp(t, a);
    case 7: return cr_log(t, a);
    case 8: return cr_sqrt(t, a);
    case 9: return cr_pow(t, a, value(r));
    case 10: return cr_square(t, a);
    case 11: return cr_abs(t, a);
    case 12: return cr_relu(t, a);
    case 13: return cr_leaky_relu(t, a, value(r));
    case 14: return cr_sigmoid(t, a);
    case 15: return cr_tanh(t, a);
    case 16: return cr_scale(t, a, value(r));
    case 17: return cr_add_scalar(t, a, value(r));
    case 18: {
        int ta = byte(r) & 1, tb = byte(r) & 1;
        return cr_matmul(t, a, b, ta, tb);
    }
    case 19: return cr_linear(t, a, b, byte(r) & 1 ? pick(s, r) : NULL);
    case 20: return cr_transpose(t, a);
    case 21: return cr_sum(t, a);
    case 22: return cr_mean(t, a);
    case 23: {
        int axis = small(r, -5, 4);
        return cr_sum_axis(t, a, axis, byte(r) & 1);
    }
    case 24: {
        int axis = small(r, -5, 4);
        return cr_mean_axis(t, a, axis, byte(r) & 1);
    }
    case 25: {
        int axis = small(r, -5, 4);
        return cr_max_axis(t, a, axis, byte(r) & 1);
    }
    case 26: {
        int nd = small(r, 0, 5), shape[5];
        for (int i = 0; i < nd; i++) shape[i] = byte(r) % 5 == 0 ? -1 : dim(r);
        return cr_reshape(t, a, nd > 4 ? 4 : nd, shape);
    }
    case 27: {
        int axis = small(r, -5, 4), start = small(r, -2, 5), len = small(r, -1, 5);
        return cr_slice(t, a, axis, start, len);
    }
    case 28: {
        cr_tensor *xs[3] = { a, b, pick(s, r) };
        int n = small(r, 0, 3), axis = small(r, -3, 3);
        return cr_concat(t, n, xs, axis);
    }
    case 29: return byte(r) & 1 ? cr_softmax(t, a) : cr_log_softmax(t, a);
    case 30: return cr_softmax_cross_entropy(t, a, b);
    case 31: return cr_bce_with_logits(t, a, b);
    case 32: {
        cr_real p = (cr_real)small(r, -1, 10) / 10;
        return cr_dropout(t, a, p, byte(r) % 8 ? &s->rng : NULL, byte(r) & 1);
    }
    case 33: return cr_embedding(t, a, b);
    case 34: return cr_detach(t, a);
    case 35: {
        cr_tensor *xs[3] = { a, b, pick(s, r) };
        int n = small(r, 0, 3), axis = small(r, -4, 4);
        return cr_stack(t, n, xs, axis);
    }
    case 36: {
        int axis = small(r, -4, 4), index = small(r, -3, 4);
        return cr_select(t, a, axis, index);
    }
    case 37: {
        int start = small(r, -2, 5), len = small(r, -1, 5);
        return cr_gate(t, a, start, len, (cr_gate_act)small(r, -1, 2));
    }
    default: {
        cr_tensor *in[2] = { a, b };
        int n = small(r, 0, 2), nd = small(r, 0, 2), shape[2] = { dim(r), dim(r) };
        return cr_custom(t, "cube", n, in, nd, shape, cube_fwd, byte(r) & 1 ? cube_bwd : NULL,
                         NULL);
    }
    }
}

/* A leaf of random shape and values (rank 0..3). */
static cr_tensor *make_leaf(state *s, reader *r)
{
    int nd = small(r, 0, 3), shape[3];
    size_t size = 1;
    for (int i = 0; i < nd; i++) {
        shape[i] = dim(r);
        size *= shape[i] > 0 && shape[i] < 64 ? (size_t)shape[i] : 1;
    }
    cr_real v[64];
    for (size_t i = 0; i < size && i < 64; i++) v[i] = value(r);
    /* data is read only when the shape is valid and small; else NULL (zeros) */
    int ok = 1;
    for (int i = 0; i < nd; i++) ok &= shape[i] >= 1 && shape[i] <= 4;
    const cr_real *data = ok ? v : NULL;
    return byte(r) & 1 ? cr_var(s->t, nd, shape, data) : cr_const(s->t, nd, shape, data);
}

static void drain(state *s)
{
    fflush(s->mem);
    rewind(s->mem);
}

static void run(state *s, reader *r)
{
    cr_tape *t = s->t;
    while (r->n) {
        unsigned code = byte(r);
        int was_errored = cr_tape_error(t) != NULL;
        size_t nodes = cr_tape_size(t);
        unsigned which = byte(r) % SLOTS;
        switch (code % 24) {
        case 0: case 1: case 2: {
            cr_tensor *y = make_leaf(s, r);
            FUZZ_CHECK((y == NULL) == (cr_tape_error(t) != NULL), "leaf: result vs error");
            put(s, which, y);
            break;
        }
        case 3: case 4: case 5: case 6: case 7: case 8: case 9: case 10: {
            cr_tensor *y = run_op(s, r, byte(r));
            /* dropout in evaluation mode (or p = 0) returns its input itself */
            FUZZ_CHECK(y == NULL ? cr_tape_error(t) != NULL : cr_tape_error(t) == NULL,
                       "op: result %p but error %s", (void *)y, cr_tape_error(t));
            put(s, which, y);        /* checked by the op: current or a parameter */
            break;
        }
        case 11: case 12: {
            cr_tensor *loss = s->slot[which];
            if (byte(r) & 1) loss = cr_sum(t, loss);
            cr_status st = cr_backward(t, loss);
            if (st == CR_OK) FUZZ_CHECK(!cr_tape_error(t), "backward OK with an error");
            else if (!cr_tape_error(t))
                FUZZ_CHECK(st == CR_ERR_STATE && cr_tape_refusal(t), "backward refused "
                           "without a message (status %d)", st);
            break;
        }
        case 13: {
            /* new leaf data, then replay */
            cr_tensor *x = s->slot[which];
            if (current(s, which) && (x->flags & CR_LEAF))
                for (size_t i = 0; i < x->size; i++) x->data[i] = value(r);
            cr_status st = cr_tape_forward(t);
            FUZZ_CHECK(st == cr_tape_status(t), "replay status %d vs tape %d", st,
                       cr_tape_status(t));
            break;
        }
        case 14:
            cr_tape_reset(t);        /* the slots keep their now stale tensors */
            s->gen++;
            FUZZ_CHECK(!cr_tape_error(t) && cr_tape_size(t) == 0, "reset");
            if (byte(r) % 4 == 0)
                for (int i = 0; i < SLOTS; i++) s->slot[i] = NULL;
            nodes = 0;
            was_errored = 0;
            break;
        case 15: cr_tape_set_grad_mode(t, byte(r) % 4 != 0); break;
        case 16: cr_tape_set_keep_graph(t, byte(r) & 1); break;
        case 17: cr_tape_set_anomaly(t, byte(r) % 4 == 0); break;
        case 18: cr_tape_set_trace(t, byte(r) & 1 ? s->mem : NULL); break;
        case 19: cr_tape_set_arena_limit(t, 256 + (size_t)byte(r) * 4096); break;
        case 20: {
            char label[80];
            int len = small(r, 0, 70);
            for (int i = 0; i < len; i++) label[i] = (char)('a' + i % 26);
            label[len] = '\0';
            cr_tensor *x = s->slot[which];
            /* labelling a stale tensor is refused through its own tape */
            if (current(s, which)) cr_tensor_label(x, label);
            break;
        }
        case 21:
            FUZZ_CHECK(cr_tape_print(t, s->mem) == CR_OK, "print");
            drain(s);
            break;
        case 22:
            FUZZ_CHECK(cr_tape_dot(t, s->mem) == CR_OK, "dot");
            drain(s);
            break;
        default: {
            /* read values back as a user would */
            cr_tensor *x = s->slot[which];
            if (current(s, which)) {
                char shape[64];
                cr_shape_str(x, shape, sizeof shape);
                volatile cr_real v = cr_item(x) + cr_grad_item(x);
                (void)v;
            }
            break;
        }
        }
        if (was_errored) FUZZ_CHECK(cr_tape_error(t) != NULL, "error was not sticky");
        FUZZ_CHECK(cr_tape_size(t) >= nodes, "node count shrank from %zu to %zu", nodes,
                   cr_tape_size(t));
    }
}

static state S;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!S.mem) {
        S.mem = open_memstream(&S.membuf, &S.memlen);
        FUZZ_CHECK(S.mem != NULL, "open_memstream");
        int shape[2] = { 2, 3 };
        S.param[0] = cr_param_new(2, shape);
        S.param[1] = cr_param_new(1, shape + 1);
        FUZZ_CHECK(S.param[0] && S.param[1], "params");
        cr_tensor_set_name(S.param[0], "W");
        for (int k = 0; k < 2; k++)
            for (size_t i = 0; i < S.param[k]->size; i++)
                S.param[k]->data[i] = (cr_real)((double)i / 4 - 0.5);
    }
    reader r = { data, size };
    size_t first = 64 + (size_t)byte(&r) * 64;
    S.t = cr_tape_new(first);
    FUZZ_CHECK(S.t != NULL, "tape");
    cr_tape_set_arena_limit(S.t, 512 + (size_t)byte(&r) * 4096);
    cr_rng_seed(&S.rng, byte(&r));
    for (int i = 0; i < SLOTS; i++) S.slot[i] = NULL;
    S.gen = 0;
    run(&S, &r);
    cr_tape_free(S.t);
    S.t = NULL;
    for (int k = 0; k < 2; k++) cr_tensor_zero_grad(S.param[k]);
    rewind(S.mem);
    return 0;
}
