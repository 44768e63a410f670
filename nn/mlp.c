/* Multilayer perceptron: for each hidden layer k = 1..L-1
 *     h = dense_k(h) -> [batchnorm_k] -> activation -> [dropout]
 * then the output layer dense_L -> output activation. Built from the dense and
 * batchnorm layers and the dropout op; its lists hold references with prefixed
 * names ("fc1.W", "bn1.gamma", "bn1.running_mean"). */
#include "chainrule.h"
#include "../graph/errf.h"

#include <stdio.h>

struct cr_mlp {
    int n_layers;            /* dense layers = n_sizes - 1 */
    cr_dense **fc;           /* n_layers */
    cr_batchnorm **bn;       /* n_layers - 1 entries, NULL without batchnorm */
    cr_mlp_config cfg;
    int training;
    cr_rng drop_rng;         /* dropout masks, seeded from the construction rng */
    cr_params *params, *buffers, *state;
};

cr_mlp_config cr_mlp_default_config(void)
{
    cr_mlp_config c = { 0 };
    c.hidden = CR_ACT_RELU;
    c.output = CR_ACT_NONE;
    c.leaky_slope = (cr_real)CR_LEAKY_SLOPE;
    c.init = CR_INIT_AUTO;
    c.dropout = 0;
    c.batchnorm = 0;
    c.bn_momentum = (cr_real)0.1;
    c.bn_eps = (cr_real)1e-5;
    return c;
}

void cr_mlp_free(cr_mlp *m)
{
    if (!m) return;
    cr_params_free(m->params);
    cr_params_free(m->buffers);
    cr_params_free(m->state);
    for (int i = 0; i < m->n_layers; i++) {
        if (m->fc) cr_dense_free(m->fc[i]);
        if (m->bn && i < m->n_layers - 1) cr_batchnorm_free(m->bn[i]);
    }
    cr_free(m->fc);
    cr_free(m->bn);
    cr_free(m);
}

static int valid_act(cr_activation a) { return (int)a >= 0 && (int)a <= (int)CR_ACT_SOFTMAX; }

/* The weight init a layer gets: AUTO resolves by the activation that follows. */
static cr_init_kind layer_init(const cr_mlp_config *c, int hidden)
{
    if (c->init != CR_INIT_AUTO) return c->init;
    cr_activation a = hidden ? c->hidden : c->output;
    return a == CR_ACT_RELU || a == CR_ACT_LEAKY_RELU ? CR_INIT_HE_NORMAL
                                                      : CR_INIT_XAVIER_UNIFORM;
}

/* Add a layer's list to the MLP's under "<kind><k>." and label the tensors so that
 * printing and DOT export show "fc1.W" rather than "W". */
static int adopt(cr_params *dst, const cr_params *src, const char *kind, int k)
{
    char prefix[16], name[96];
    snprintf(prefix, sizeof prefix, "%s%d.", kind, k);
    for (size_t i = 0; i < cr_params_count(src); i++) {
        snprintf(name, sizeof name, "%s%s", prefix, cr_params_name(src, i));
        cr_tensor_set_name(cr_params_get(src, i), name);
    }
    return cr_params_extend(dst, src, prefix, NULL, 0) == CR_OK;
}

cr_mlp *cr_mlp_new_config(int n_sizes, const int *sizes, const cr_mlp_config *cfg,
                          cr_rng *rng, char *err, size_t errsize)
{
    if (!sizes || !cfg || !rng) {
        cr__errf(CR_ERR_ARG, err, errsize, "mlp: %s is NULL",
                 !sizes ? "sizes" : !cfg ? "cfg" : "rng");
        return NULL;
    }
    if (n_sizes < 2) {
        cr__errf(CR_ERR_ARG, err, errsize, "mlp: %d sizes (need inputs and outputs: >= 2)",
                 n_sizes);
        return NULL;
    }
    for (int i = 0; i < n_sizes; i++)
        if (sizes[i] < 1) {
            cr__errf(CR_ERR_ARG, err, errsize, "mlp: sizes[%d] = %d (every size must be >= 1)",
                     i, sizes[i]);
            return NULL;
        }
    if (!valid_act(cfg->hidden) || !valid_act(cfg->output)) {
        cr__errf(CR_ERR_ARG, err, errsize, "mlp: unknown %s activation %d",
                 valid_act(cfg->hidden) ? "output" : "hidden",
                 (int)(valid_act(cfg->hidden) ? cfg->output : cfg->hidden));
        return NULL;
    }
    if (!(cfg->dropout >= 0 && cfg->dropout < 1)) {
        cr__errf(CR_ERR_ARG, err, errsize, "mlp: dropout = %g is outside [0, 1)",
                 (double)cfg->dropout);
        return NULL;
    }
    if ((int)cfg->init < 0 || (int)cfg->init > (int)CR_INIT_HE_NORMAL) {
        cr__errf(CR_ERR_ARG, err, errsize, "mlp: unknown init kind %d", (int)cfg->init);
        return NULL;
    }
    if (cfg->batchnorm && n_sizes > 2 && cfg->bn_momentum > 1) {
        cr__errf(CR_ERR_ARG, err, errsize, "mlp: bn_momentum = %g is above 1",
                 (double)cfg->bn_momentum);
        return NULL;
    }
    /* Parameters and their gradients (weights, biases, batch-norm scale, shift and
     * running statistics), counted before anything is allocated. */
    uint64_t need = 0;
    for (int i = 0; i + 1 < n_sizes && need < UINT64_MAX / 4; i++) {
        uint64_t in = (uint64_t)sizes[i], out = (uint64_t)sizes[i + 1];
        need += 2 * (in * out + out) * sizeof(cr_real);
        if (cfg->batchnorm && i + 2 < n_sizes) need += 6 * out * sizeof(cr_real);
    }
    if (cr_memory_check(need, "mlp: the parameters", err, errsize) != CR_OK) return NULL;
    cr_rng saved = *rng;     /* the caller's rng is untouched on failure */
    cr_mlp *m = cr_calloc(1, sizeof *m);
    if (!m) {
        cr__errf(CR_ERR_NOMEM, err, errsize, "mlp: out of memory");
        return NULL;
    }
    m->n_layers = n_sizes - 1;
    m->cfg = *cfg;
    m->training = 1;
    m->fc = cr_calloc((size_t)m->n_layers, sizeof *m->fc);
    m->params = cr_params_new();
    m->buffers = cr_params_new();
    m->state = cr_params_new();
    if (!m->fc || !m->params || !m->buffers || !m->state) goto nomem;
    if (cfg->batchnorm && m->n_layers > 1) {
        m->bn = cr_calloc((size_t)m->n_layers - 1, sizeof *m->bn);
        if (!m->bn) goto nomem;
    }
    for (int i = 0; i < m->n_layers; i++) {
        int hidden = i < m->n_layers - 1;
        m->fc[i] = cr_dense_new(sizes[i], sizes[i + 1], layer_init(cfg, hidden), rng, err,
                                errsize);
        if (!m->fc[i]) goto fail;
        if (!adopt(m->params, m->fc[i]->params, "fc", i + 1)) goto nomem;
        if (hidden && m->bn) {
            m->bn[i] = cr_batchnorm_new(sizes[i + 1], cfg->bn_momentum, cfg->bn_eps, err,
                                        errsize);
            if (!m->bn[i]) goto fail;
            if (!adopt(m->params, m->bn[i]->params, "bn", i + 1) ||
                !adopt(m->buffers, m->bn[i]->buffers, "bn", i + 1))
                goto nomem;
        }
    }
    if (cr_params_extend(m->state, m->params, "", NULL, 0) != CR_OK ||
        cr_params_extend(m->state, m->buffers, "", NULL, 0) != CR_OK)
        goto nomem;
    uint64_t hi = cr_rng_u32(rng), lo = cr_rng_u32(rng);
    cr_rng_seed(&m->drop_rng, hi << 32 | lo);
    return m;
nomem:
    cr__errf(CR_ERR_NOMEM, err, errsize, "mlp: out of memory");
fail:
    cr_mlp_free(m);
    *rng = saved;
    return NULL;
}

cr_mlp *cr_mlp_new(int n_sizes, const int *sizes, cr_activation hidden,
                   cr_activation output, cr_rng *rng, char *err, size_t errsize)
{
    cr_mlp_config c = cr_mlp_default_config();
    c.hidden = hidden;
    c.output = output;
    return cr_mlp_new_config(n_sizes, sizes, &c, rng, err, errsize);
}

static cr_tensor *act(cr_tape *t, cr_tensor *x, cr_activation a, cr_real slope)
{
    return a == CR_ACT_LEAKY_RELU ? cr_leaky_relu(t, x, slope) : cr_activate(t, x, a);
}

cr_tensor *cr_mlp_forward(cr_tape *t, cr_mlp *m, cr_tensor *x)
{
    if (!cr_check_inputs(t, "mlp", 1, &x)) return NULL;
    if (!m) {
        cr_tape_fail(t, CR_ERR_ARG, "mlp: model is NULL");
        return NULL;
    }
    if (x->ndim != 2 || x->shape[1] != m->fc[0]->in) {
        char s[48];
        cr_tape_fail(t, CR_ERR_SHAPE, "mlp: input is %s but the network expects N x %d",
                     cr_shape_str(x, s, sizeof s), m->fc[0]->in);
        return NULL;
    }
    cr_tensor *h = x;
    for (int i = 0; i < m->n_layers - 1; i++) {
        h = cr_dense_forward(t, m->fc[i], h);
        if (m->bn) h = cr_batchnorm_forward(t, m->bn[i], h, m->training);
        h = act(t, h, m->cfg.hidden, m->cfg.leaky_slope);
        h = cr_dropout(t, h, m->cfg.dropout, &m->drop_rng, m->training);
    }
    h = cr_dense_forward(t, m->fc[m->n_layers - 1], h);
    return act(t, h, m->cfg.output, m->cfg.leaky_slope);
}

int cr_mlp_set_training(cr_mlp *m, int on)
{
    if (!m) return 0;
    int old = m->training;
    m->training = on != 0;
    return old;
}

cr_params *cr_mlp_params(cr_mlp *m) { return m ? m->params : NULL; }
cr_params *cr_mlp_buffers(cr_mlp *m) { return m ? m->buffers : NULL; }
cr_params *cr_mlp_state(cr_mlp *m) { return m ? m->state : NULL; }
size_t cr_mlp_param_count(const cr_mlp *m) { return m ? cr_params_numel(m->params) : 0; }
int cr_mlp_n_layers(const cr_mlp *m) { return m ? m->n_layers : 0; }

cr_dense *cr_mlp_layer(cr_mlp *m, int i)
{
    return m && i >= 0 && i < m->n_layers ? m->fc[i] : NULL;
}

cr_rng *cr_mlp_rng(cr_mlp *m) { return m ? &m->drop_rng : NULL; }
