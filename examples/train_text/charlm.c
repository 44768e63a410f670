/* The character language model: embedding -> RNN/LSTM/GRU layers -> dense to the
 * vocabulary, its model file (weights, plus the architecture and the vocabulary in
 * the metadata, so that sampling needs no other file), and the recorded chunk
 * graph that training replays (one tape, no allocation per chunk). */
#include "text.h"

#include <math.h>
#include <string.h>

uint64_t charlm_values(int V, cr_rnn_kind kind, int E, int H, int L)
{
    uint64_t G = kind == CR_LSTM ? 4 : kind == CR_GRU ? 3 : 1, rnn = 0;
    for (int l = 0; l < L; l++) rnn += G * (uint64_t)H * ((uint64_t)(l ? H : E) + (uint64_t)H + 2);
    return (uint64_t)V * (uint64_t)E + rnn + (uint64_t)H * (uint64_t)V + (uint64_t)V;
}

void charlm_free(charlm *m)
{
    if (!m) return;
    cr_params_free(m->params);
    cr_rnn_free(m->rnn);
    cr_vocab_free(m->vocab);
    cr_free(m);
}

charlm *charlm_new(cr_vocab *vocab, cr_rnn_kind kind, int E, int H, int L, double dropout,
                   char *err, size_t errsize)
{
    charlm *m = cr_calloc(1, sizeof *m);
    if (!m) {
        cr_vocab_free(vocab);
        snprintf(err, errsize, "out of memory");
        return NULL;
    }
    m->vocab = vocab;
    m->kind = kind;
    m->E = E;
    m->H = H;
    m->L = L;
    m->dropout = dropout;
    int V = vocab->size;
    char what[64];
    snprintf(what, sizeof what, "the model (%d characters)", V);
    /* weights, gradients and up to two optimizer slots */
    if (cr_memory_check(4 * charlm_values(V, kind, E, H, L) * sizeof(cr_real), what, err, errsize)
        != CR_OK)
        goto fail;
    if (!(m->rnn = cr_rnn_new(kind, E, H, L, dropout, err, errsize))) goto fail;
    int se[2] = { V, E }, sw[2] = { H, V }, sb[1] = { V };
    m->params = cr_params_new();
    if (!m->params) goto nomem;
    m->embed = cr_param_new(2, se);
    if (cr_params_add_owned(m->params, m->embed, "embed.weight", err, errsize) != CR_OK) goto fail;
    if (cr_params_extend(m->params, cr_rnn_params(m->rnn), "rnn.", err, errsize) != CR_OK)
        goto fail;
    m->W = cr_param_new(2, sw);
    if (cr_params_add_owned(m->params, m->W, "out.W", err, errsize) != CR_OK) goto fail;
    m->b = cr_param_new(1, sb);
    if (cr_params_add_owned(m->params, m->b, "out.b", err, errsize) != CR_OK) goto fail;
    return m;
nomem:
    snprintf(err, errsize, "out of memory");
fail:
    charlm_free(m);
    return NULL;
}

void charlm_init(charlm *m, cr_rng *rng)
{
    cr_init_normal(m->embed, rng, 0, 1);                  /* nn.Embedding */
    cr_rnn_init(m->rnn, rng, NULL, 0);                    /* nn.LSTM/GRU/RNN */
    cr_real k = (cr_real)(1 / sqrt((double)m->H));        /* nn.Linear */
    cr_init_uniform(m->W, rng, -k, k);
    cr_init_uniform(m->b, rng, -k, k);
    cr_rng_seed(&m->drop_rng, cr_rng_u32(rng) | (uint64_t)cr_rng_u32(rng) << 32);
}

cr_status charlm_to_meta(const charlm *m, cr_meta *meta, char *err, size_t errsize)
{
    cr_meta_set_u64(meta, "charlm.version", 1);
    cr_meta_set_u64(meta, "charlm.kind", (uint64_t)m->kind);
    cr_meta_set_u64(meta, "charlm.embed", (uint64_t)m->E);
    cr_meta_set_u64(meta, "charlm.hidden", (uint64_t)m->H);
    cr_meta_set_u64(meta, "charlm.layers", (uint64_t)m->L);
    cr_meta_set_f64(meta, "charlm.dropout", m->dropout);
    return cr_vocab_to_meta(m->vocab, meta, err, errsize);
}

charlm *charlm_load(const char *path, char *err, size_t errsize)
{
    void *img = NULL;
    size_t size = 0;
    char why[TRAIN_ERR / 2] = "";
    if (cr_load_file_image(path, &img, &size, err, errsize) != CR_OK) return NULL;
    cr_meta *meta = cr_meta_new();
    charlm *m = NULL;
    cr_vocab *v = NULL;
    cr_file_info info;
    uint64_t kind, E, H, L;
    double p;
    if (!meta || cr_load_buffer(img, size, path, NULL, NULL, meta, err, errsize) != CR_OK ||
        cr_file_info_buffer(img, size, path, &info, err, errsize) != CR_OK)
        goto out;
    if (cr_meta_get_u64(meta, "charlm.kind", &kind) || cr_meta_get_u64(meta, "charlm.embed", &E) ||
        cr_meta_get_u64(meta, "charlm.hidden", &H) || cr_meta_get_u64(meta, "charlm.layers", &L) ||
        cr_meta_get_f64(meta, "charlm.dropout", &p)) {
        snprintf(err, errsize, "%s: not a character model (no charlm.* architecture keys; "
                 "made by train_text?)", path);
        goto out;
    }
    if (kind > CR_GRU || E < 1 || E > 65536 || H < 1 || H > 65536 || L < 1 ||
        L > CR_RNN_MAX_LAYERS || !(p >= 0 && p < 1)) {
        snprintf(err, errsize, "%s: a character model architecture out of range", path);
        goto out;
    }
    if (cr_vocab_from_meta(&v, meta, why, sizeof why) != CR_OK) {
        snprintf(err, errsize, "%s: %s", path, why);
        goto out;
    }
    /* the weights the architecture needs must be what the file holds, before building */
    if (charlm_values(v->size, (cr_rnn_kind)kind, (int)E, (int)H, (int)L) != info.param_values) {
        snprintf(err, errsize, "%s: the file's weights do not match its architecture", path);
        cr_vocab_free(v);
        goto out;
    }
    m = charlm_new(v, (cr_rnn_kind)kind, (int)E, (int)H, (int)L, p, why, sizeof why);
    if (!m) {
        snprintf(err, errsize, "%s: %s", path, why);
        goto out;
    }
    if (cr_load_buffer(img, size, path, m->params, NULL, NULL, err, errsize) != CR_OK) {
        charlm_free(m);
        m = NULL;
    }
    if (m) cr_rng_seed(&m->drop_rng, 1);   /* a checkpoint restores the real one */
out:
    cr_meta_free(meta);
    cr_free(img);
    return m;
}

/* ---- the chunk graph */

void chunk_graph_free(chunk_graph *g)
{
    cr_tape_free(g->t);
    cr_tensor_free(g->x);
    cr_tensor_free(g->y);
    cr_rnn_state_free(&g->carry);
    memset(g, 0, sizeof *g);
}

int chunk_graph_record(chunk_graph *g, charlm *m, char *err, size_t errsize)
{
    cr_tape *t = g->t;
    cr_tape_reset(t);
    g->s = g->carry;
    cr_tensor *e = cr_embedding(t, m->embed, g->x);                       /* T x B x E */
    cr_tensor *h = cr_rnn_forward(t, m->rnn, e, 0, &g->s, g->training, &m->drop_rng);
    int flat[2] = { g->T * g->B, m->H };
    g->logits = cr_linear(t, cr_reshape(t, h, 2, flat), m->W, m->b);      /* TB x V */
    g->loss = cr_softmax_cross_entropy(t, g->logits, g->y);
    if (!g->loss) {
        snprintf(err, errsize, "recording the model: %s", cr_tape_error(t));
        return EXIT_TRAIN_FAILED;
    }
    return 0;
}

int chunk_graph_new(chunk_graph *g, charlm *m, int T, int B, int training, cr_pool *pool,
                    int anomaly, char *err, size_t errsize)
{
    memset(g, 0, sizeof *g);
    g->T = T;
    g->B = B;
    g->training = training;
    int sx[2] = { T, B }, sy[1] = { T * B };
    g->t = cr_tape_new(0);
    g->x = cr_tensor_new(2, sx);
    g->y = cr_tensor_new(1, sy);
    if (!g->t || !g->x || !g->y ||
        cr_rnn_state_alloc(m->rnn, B, &g->carry, err, errsize) != CR_OK) {
        if (!g->t || !g->x || !g->y) snprintf(err, errsize, "out of memory");
        chunk_graph_free(g);
        return EXIT_TRAIN_FAILED;
    }
    if (pool) cr_tape_set_pool(g->t, pool);
    if (anomaly) cr_tape_set_anomaly(g->t, 1);
    /* evaluation graphs too stay in grad mode: a no-grad tape records nothing to
     * replay; backward is simply never called on them */
    int rc = chunk_graph_record(g, m, err, errsize);
    if (rc) chunk_graph_free(g);
    return rc;
}
