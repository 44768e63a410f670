/* Recurrent layers (Elman RNN tanh/relu, LSTM, GRU) as PyTorch's nn.RNN, nn.LSTM
 * and nn.GRU define them, one time step at a time, composed from ops only:
 *   gi = x W_ih^T + b_ih,  gh = h W_hh^T + b_hh      (B x G*H, gate blocks of H)
 *   RNN:  h' = act(gi + gh)
 *   LSTM: [i f g o] = gi + gh;  c' = σ(f) c + σ(i) tanh(g);  h' = σ(o) tanh(c')
 *   GRU:  r = σ(gi_r + gh_r), z = σ(gi_z + gh_z), n = tanh(gi_n + r gh_n),
 *         h' = (1 - z) n + z h, computed as n + z (h - n)
 * The formulas, names and shapes are documented in include/chainrule.h. The
 * weights are G*H x in as PyTorch stores them: x W^T is cr_matmul with its
 * transpose flag, so no copy of a weight is made. */
#include "chainrule.h"
#include "../graph/errf.h"

#include <math.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

struct cr_rnn {
    cr_rnn_kind kind;
    int input, hidden, layers, gates;
    double dropout;
    cr_tensor *w_ih[CR_RNN_MAX_LAYERS], *w_hh[CR_RNN_MAX_LAYERS];  /* G*H x I_l, G*H x H */
    cr_tensor *b_ih[CR_RNN_MAX_LAYERS], *b_hh[CR_RNN_MAX_LAYERS];  /* G*H */
    cr_params *params;                                             /* references */
};

static const char *const kind_names[] = { "rnn_tanh", "rnn_relu", "lstm", "gru" };

const char *cr_rnn_kind_name(cr_rnn_kind kind)
{
    return (int)kind >= 0 && (int)kind < 4 ? kind_names[kind] : "?";
}

cr_status cr_rnn_kind_from_name(const char *name, cr_rnn_kind *out)
{
    if (!name || !out) return CR_ERR_ARG;
    for (int k = 0; k < 4; k++)
        if (strcasecmp(name, kind_names[k]) == 0) {
            *out = (cr_rnn_kind)k;
            return CR_OK;
        }
    if (strcasecmp(name, "rnn") == 0) {
        *out = CR_RNN_TANH;
        return CR_OK;
    }
    return CR_ERR_ARG;
}

static int gate_count(cr_rnn_kind kind)
{
    return kind == CR_LSTM ? 4 : kind == CR_GRU ? 3 : 1;
}

void cr_rnn_free(cr_rnn *r)
{
    if (!r) return;
    cr_params_free(r->params);
    for (int l = 0; l < CR_RNN_MAX_LAYERS; l++) {
        cr_tensor_free(r->w_ih[l]);
        cr_tensor_free(r->w_hh[l]);
        cr_tensor_free(r->b_ih[l]);
        cr_tensor_free(r->b_hh[l]);
    }
    cr_free(r);
}

cr_rnn *cr_rnn_new(cr_rnn_kind kind, int input_size, int hidden_size, int num_layers,
                   double dropout, char *err, size_t errsize)
{
    if ((int)kind < 0 || (int)kind > (int)CR_GRU) {
        cr__errf(CR_ERR_ARG, err, errsize, "rnn: unknown kind %d", (int)kind);
        return NULL;
    }
    if (input_size < 1 || hidden_size < 1) {
        cr__errf(CR_ERR_ARG, err, errsize, "rnn: input_size = %d, hidden_size = %d (both must "
                 "be >= 1)", input_size, hidden_size);
        return NULL;
    }
    if (num_layers < 1 || num_layers > CR_RNN_MAX_LAYERS) {
        cr__errf(CR_ERR_ARG, err, errsize, "rnn: num_layers = %d is outside 1..%d", num_layers,
                 CR_RNN_MAX_LAYERS);
        return NULL;
    }
    if (!(dropout >= 0 && dropout < 1)) {
        cr__errf(CR_ERR_ARG, err, errsize, "rnn: dropout = %g is outside [0, 1)", dropout);
        return NULL;
    }
    const int G = gate_count(kind);
    /* G H (I_l + H + 2) per layer, in double: exact far beyond the limit */
    double total = 0;
    for (int l = 0; l < num_layers; l++)
        total += (double)G * hidden_size * ((l ? hidden_size : input_size) + hidden_size + 2.0);
    if (total > (double)CR_MODEL_MAX_PARAMS || (double)G * hidden_size > 2147483647.0) {
        cr__errf(CR_ERR_NOMEM, err, errsize, "rnn: %.0f parameters, above the most a model "
                 "may have (%zu)", total, (size_t)CR_MODEL_MAX_PARAMS);
        return NULL;
    }
    /* parameters and their gradients */
    if (cr_memory_check((uint64_t)total * 2 * sizeof(cr_real), "rnn", err, errsize) != CR_OK)
        return NULL;
    cr_rnn *r = cr_calloc(1, sizeof *r);
    if (!r) {
        cr__errf(CR_ERR_NOMEM, err, errsize, "rnn: out of memory");
        return NULL;
    }
    r->kind = kind;
    r->input = input_size;
    r->hidden = hidden_size;
    r->layers = num_layers;
    r->gates = G;
    r->dropout = dropout;
    r->params = cr_params_new();
    int ok = r->params != NULL;
    for (int l = 0; ok && l < num_layers; l++) {
        int gh = G * hidden_size;
        int wi[2] = { gh, l ? hidden_size : input_size }, wh[2] = { gh, hidden_size };
        r->w_ih[l] = cr_param_new(2, wi);
        r->w_hh[l] = cr_param_new(2, wh);
        r->b_ih[l] = cr_param_new(1, &gh);
        r->b_hh[l] = cr_param_new(1, &gh);
        char name[4][32];
        snprintf(name[0], sizeof name[0], "weight_ih_l%d", l);
        snprintf(name[1], sizeof name[1], "weight_hh_l%d", l);
        snprintf(name[2], sizeof name[2], "bias_ih_l%d", l);
        snprintf(name[3], sizeof name[3], "bias_hh_l%d", l);
        ok = r->w_ih[l] && r->w_hh[l] && r->b_ih[l] && r->b_hh[l] &&
             cr_params_add(r->params, r->w_ih[l], name[0], NULL, 0) == CR_OK &&
             cr_params_add(r->params, r->w_hh[l], name[1], NULL, 0) == CR_OK &&
             cr_params_add(r->params, r->b_ih[l], name[2], NULL, 0) == CR_OK &&
             cr_params_add(r->params, r->b_hh[l], name[3], NULL, 0) == CR_OK;
    }
    if (!ok) {
        cr_rnn_free(r);
        cr__errf(CR_ERR_NOMEM, err, errsize, "rnn: out of memory for %.0f parameters", total);
        return NULL;
    }
    return r;
}

cr_status cr_rnn_init(cr_rnn *r, cr_rng *rng, char *err, size_t errsize)
{
    if (!r || !rng)
        return cr__errf(CR_ERR_ARG, err, errsize, "rnn_init: %s is NULL", r ? "rng" : "rnn");
    cr_real k = (cr_real)(1.0 / sqrt((double)r->hidden));
    for (size_t i = 0; i < cr_params_count(r->params); i++)
        cr_tensor_rand_uniform(cr_params_get(r->params, i), rng, -k, k);
    return CR_OK;
}

cr_params *cr_rnn_params(cr_rnn *r) { return r ? r->params : NULL; }
cr_rnn_kind cr_rnn_get_kind(const cr_rnn *r) { return r ? r->kind : (cr_rnn_kind)-1; }
int cr_rnn_input_size(const cr_rnn *r) { return r ? r->input : 0; }
int cr_rnn_hidden_size(const cr_rnn *r) { return r ? r->hidden : 0; }
int cr_rnn_num_layers(const cr_rnn *r) { return r ? r->layers : 0; }
double cr_rnn_dropout(const cr_rnn *r) { return r ? r->dropout : 0; }
size_t cr_rnn_param_count(const cr_rnn *r) { return r ? cr_params_numel(r->params) : 0; }

/* Gate block k (of H columns) of a B x G*H tensor. */
static cr_tensor *gate(cr_tape *t, cr_tensor *a, int k, int H)
{
    return cr_slice(t, a, 1, k * H, H);
}

/* One layer's step: x (B x I_l), h (B x H), c (B x H, LSTM) -> *h_out, *c_out. */
static void layer_step(cr_tape *t, const cr_rnn *r, int l, cr_tensor *x, cr_tensor *h,
                       cr_tensor *c, cr_tensor **h_out, cr_tensor **c_out)
{
    const int H = r->hidden;
    if (r->kind == CR_LSTM) {
        /* Fewest B x 4H nodes (each is kept with its gradient for the whole chunk):
         * one sum of the two products, one add of b_ih + b_hh (a 4H node), each
         * gate block activated by cr_gate (slice + sigmoid/tanh in one node). */
        cr_tensor *b = cr_add(t, r->b_ih[l], r->b_hh[l]);
        cr_tensor *a = cr_add(t, cr_add(t, cr_matmul(t, x, r->w_ih[l], 0, 1),
                                        cr_matmul(t, h, r->w_hh[l], 0, 1)), b);
        cr_tensor *i = cr_gate(t, a, 0 * H, H, CR_GATE_SIGMOID);
        cr_tensor *f = cr_gate(t, a, 1 * H, H, CR_GATE_SIGMOID);
        cr_tensor *g = cr_gate(t, a, 2 * H, H, CR_GATE_TANH);
        cr_tensor *o = cr_gate(t, a, 3 * H, H, CR_GATE_SIGMOID);
        *c_out = cr_add(t, cr_mul(t, f, c), cr_mul(t, i, g));
        *h_out = cr_mul(t, o, cr_tanh(t, *c_out));
        return;
    }
    cr_tensor *gi = cr_add(t, cr_matmul(t, x, r->w_ih[l], 0, 1), r->b_ih[l]);
    cr_tensor *gh = cr_add(t, cr_matmul(t, h, r->w_hh[l], 0, 1), r->b_hh[l]);
    switch (r->kind) {
    case CR_RNN_TANH:
        *h_out = cr_tanh(t, cr_add(t, gi, gh));
        break;
    case CR_RNN_RELU:
        *h_out = cr_relu(t, cr_add(t, gi, gh));
        break;
    case CR_LSTM:   /* above */
        break;
    case CR_GRU: {
        /* r and z from one B x 3H sum, each activated by cr_gate (its n block is
         * not used): the same bits as slicing gi and gh first, in fewer nodes.
         * The n blocks are sliced before the sum is recorded, so that in the
         * reverse pass the sum's backward writes gi's and gh's gradients first
         * (assigns them: no zeroing, graph/record.h) and the slices add to it. */
        cr_tensor *gi_n = gate(t, gi, 2, H), *gh_n = gate(t, gh, 2, H);
        cr_tensor *s = cr_add(t, gi, gh);
        cr_tensor *rg = cr_gate(t, s, 0 * H, H, CR_GATE_SIGMOID);
        cr_tensor *z = cr_gate(t, s, 1 * H, H, CR_GATE_SIGMOID);
        cr_tensor *n = cr_tanh(t, cr_add(t, gi_n, cr_mul(t, rg, gh_n)));
        *h_out = cr_add(t, n, cr_mul(t, z, cr_sub(t, h, n)));
        break;
    }
    }
}

/* 0 (tape error recorded) unless x is B x want. */
static int check_2d(cr_tape *t, const cr_tensor *x, int B, int want, const char *what, int l)
{
    if (x->ndim == 2 && x->shape[0] == B && x->shape[1] == want) return 1;
    char s[48];
    cr_tape_fail(t, CR_ERR_SHAPE, "rnn: %s[%d] is %s but must be %dx%d (batch x hidden_size)",
                 what, l, cr_shape_str(x, s, sizeof s), B, want);
    return 0;
}

cr_tensor *cr_rnn_step(cr_tape *t, cr_rnn *r, cr_tensor *x, cr_rnn_state *s, int training,
                       cr_rng *rng)
{
    if (!cr_check_inputs(t, "rnn", 1, &x)) return NULL;
    if (!r || !s) {
        cr_tape_fail(t, CR_ERR_ARG, "rnn: %s is NULL", r ? "state" : "layer");
        return NULL;
    }
    char sx[48];
    if (x->ndim != 2 || x->shape[1] != r->input) {
        cr_tape_fail(t, CR_ERR_SHAPE, "rnn: x is %s but must be B x %d (batch x input_size)",
                     cr_shape_str(x, sx, sizeof sx), r->input);
        return NULL;
    }
    const int B = x->shape[0], H = r->hidden;
    for (int l = 0; l < r->layers; l++) {
        if (s->h[l] && !check_2d(t, s->h[l], B, H, "h", l)) return NULL;
        if (r->kind == CR_LSTM && s->c[l] && !check_2d(t, s->c[l], B, H, "c", l)) return NULL;
    }
    if (training && r->dropout > 0 && r->layers > 1 && !rng) {
        cr_tape_fail(t, CR_ERR_ARG, "rnn: rng is NULL but dropout %g needs it in training",
                     r->dropout);
        return NULL;
    }
    cr_rnn_state next = *s;
    int shape[2] = { B, H };
    cr_tensor *zeros = NULL;   /* one B x H zero leaf for every NULL entry */
    cr_tensor *in = x;
    for (int l = 0; l < r->layers; l++) {
        cr_tensor *h = s->h[l], *c = r->kind == CR_LSTM ? s->c[l] : NULL;
        if ((!h || (r->kind == CR_LSTM && !c)) && !zeros) {
            zeros = cr_const(t, 2, shape, NULL);
            if (!zeros) return NULL;
        }
        if (!h) h = zeros;
        if (r->kind == CR_LSTM && !c) c = zeros;
        if (l > 0) in = cr_dropout(t, in, (cr_real)r->dropout, rng, training);
        cr_tensor *h2 = NULL, *c2 = NULL;
        layer_step(t, r, l, in, h, c, &h2, &c2);
        if (!h2) return NULL;
        next.h[l] = h2;
        if (r->kind == CR_LSTM) next.c[l] = c2;
        in = h2;
    }
    *s = next;
    return in;
}

cr_tensor *cr_rnn_forward(cr_tape *t, cr_rnn *r, cr_tensor *x, int batch_first,
                          cr_rnn_state *s, int training, cr_rng *rng)
{
    if (!cr_check_inputs(t, "rnn", 1, &x)) return NULL;
    if (!r) {
        cr_tape_fail(t, CR_ERR_ARG, "rnn: layer is NULL");
        return NULL;
    }
    if (x->ndim != 3 || x->shape[2] != r->input) {
        char sx[48];
        cr_tape_fail(t, CR_ERR_SHAPE, "rnn: x is %s but must be %s x %d (input_size)",
                     cr_shape_str(x, sx, sizeof sx), batch_first ? "B x T" : "T x B", r->input);
        return NULL;
    }
    const int ax = batch_first ? 1 : 0, T = x->shape[ax];
    cr_tensor **steps = cr_tape_alloc(t, (size_t)T * sizeof *steps);
    if (!steps) return NULL;
    cr_rnn_state local;
    memset(&local, 0, sizeof local);
    cr_rnn_state cur = s ? *s : local;
    if (cr_unbind(t, x, ax, steps, T) != T) return NULL;
    for (int k = 0; k < T; k++) {
        steps[k] = cr_rnn_step(t, r, steps[k], &cur, training, rng);
        if (!steps[k]) return NULL;
    }
    cr_tensor *y = cr_stack(t, T, steps, ax);
    if (y && s) *s = cur;
    return y;
}

cr_status cr_rnn_state_detach(cr_tape *t, cr_rnn_state *s)
{
    if (!t || !s) {
        if (t) return cr_tape_fail(t, CR_ERR_ARG, "rnn_state_detach: state is NULL");
        return CR_ERR_ARG;
    }
    for (int l = 0; l < CR_RNN_MAX_LAYERS; l++) {
        if (s->h[l] && !(s->h[l] = cr_detach(t, s->h[l]))) return cr_tape_status(t);
        if (s->c[l] && !(s->c[l] = cr_detach(t, s->c[l]))) return cr_tape_status(t);
    }
    return CR_OK;
}

void cr_rnn_state_free(cr_rnn_state *s)
{
    if (!s) return;
    for (int l = 0; l < CR_RNN_MAX_LAYERS; l++) {
        cr_tensor_free(s->h[l]);   /* tape tensors are ignored */
        cr_tensor_free(s->c[l]);
    }
    memset(s, 0, sizeof *s);
}

cr_status cr_rnn_state_alloc(const cr_rnn *r, int batch, cr_rnn_state *s, char *err,
                             size_t errsize)
{
    if (s) memset(s, 0, sizeof *s);
    if (!r || !s)
        return cr__errf(CR_ERR_ARG, err, errsize, "rnn_state_alloc: %s is NULL",
                        r ? "state" : "rnn");
    if (batch < 1)
        return cr__errf(CR_ERR_ARG, err, errsize, "rnn_state_alloc: batch = %d (must be >= 1)",
                        batch);
    int shape[2] = { batch, r->hidden };
    for (int l = 0; l < r->layers; l++) {
        s->h[l] = cr_tensor_new(2, shape);
        if (r->kind == CR_LSTM) s->c[l] = cr_tensor_new(2, shape);
        if (!s->h[l] || (r->kind == CR_LSTM && !s->c[l])) {
            cr_rnn_state_free(s);
            return cr__errf(CR_ERR_NOMEM, err, errsize, "rnn_state_alloc: out of memory for "
                            "%d layers of %dx%d", r->layers, batch, r->hidden);
        }
    }
    return CR_OK;
}

void cr_rnn_state_zero(cr_rnn_state *s)
{
    if (!s) return;
    for (int l = 0; l < CR_RNN_MAX_LAYERS; l++) {
        if (s->h[l] && (s->h[l]->flags & CR_HEAP)) cr_tensor_fill(s->h[l], 0);
        if (s->c[l] && (s->c[l]->flags & CR_HEAP)) cr_tensor_fill(s->c[l], 0);
    }
}

cr_status cr_rnn_state_copy(cr_rnn_state *dst, const cr_rnn_state *src, char *err,
                            size_t errsize)
{
    if (!dst || !src)
        return cr__errf(CR_ERR_ARG, err, errsize, "rnn_state_copy: %s is NULL",
                        dst ? "src" : "dst");
    for (int pass = 0; pass < 2; pass++)
        for (int l = 0; l < CR_RNN_MAX_LAYERS; l++)
            for (int which = 0; which < 2; which++) {
                cr_tensor *d = which ? dst->c[l] : dst->h[l];
                const cr_tensor *x = which ? src->c[l] : src->h[l];
                if (!d) continue;
                if (pass == 0) {
                    if (x && x->size != d->size)
                        return cr__errf(CR_ERR_SHAPE, err, errsize, "rnn_state_copy: %c[%d] "
                                        "has %zu values in src but %zu in dst",
                                        which ? 'c' : 'h', l, x->size, d->size);
                } else if (x) {
                    if (x->data != d->data) memcpy(d->data, x->data, d->size * sizeof *d->data);
                } else {
                    memset(d->data, 0, d->size * sizeof *d->data);
                }
            }
    return CR_OK;
}
