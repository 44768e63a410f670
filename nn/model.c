/* A model: a stack of layers over samples of a fixed shape (features or C x H x W),
 * with shapes inferred as layers are added, forward on a tape, parameter lists, and
 * save/load that rebuilds the stack from the canonical spec stored in the file's
 * metadata (see the models section of include/chainrule.h). */
#include "model_internal.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

typedef struct layer {
    cr_layer l;
    char text[CR__LAYER_TEXT];    /* canonical text */
    int in_ndim, in[3], out_ndim, out[3];
    size_t nparams;
    cr_tensor *W, *b;             /* dense (in x out, out) and conv (O x C x KH x KW, O) */
    cr_batchnorm *bn;
    cr_tensor *mean, *inv_std;    /* standardize: per-sample shape, buffers */
    cr_conv2d_opts copts;
    cr_pool2d_opts popts;
} layer;

struct cr_model {
    int in_ndim, in[3];
    int n;
    layer *layers;                /* CR_MODEL_MAX_LAYERS entries */
    size_t nparams;
    int training;
    cr_rng drop_rng;
    cr_params *params, *buffers, *state;
};

static void layer_free(layer *L)
{
    cr_tensor_free(L->W);
    cr_tensor_free(L->b);
    cr_batchnorm_free(L->bn);
    cr_tensor_free(L->mean);
    cr_tensor_free(L->inv_std);
    memset(L, 0, sizeof *L);
}

void cr_model_free(cr_model *m)
{
    if (!m) return;
    cr_params_free(m->params);
    cr_params_free(m->buffers);
    cr_params_free(m->state);
    for (int i = 0; m->layers && i < m->n; i++) layer_free(&m->layers[i]);
    cr_free(m->layers);
    cr_free(m);
}

cr_model *cr_model_new(int ndim, const int *in_shape, char *err, size_t errsize)
{
    if (!in_shape || (ndim != 1 && ndim != 3)) {
        cr__model_errf(CR_ERR_ARG, err, errsize,
                       "model input must be 1 dimension (features) or 3 (C x H x W), not %d",
                       ndim);
        return NULL;
    }
    size_t total = 1;
    for (int i = 0; i < ndim; i++) {
        if (in_shape[i] < 1 || total > (size_t)INT32_MAX / (size_t)in_shape[i]) {
            cr__model_errf(CR_ERR_ARG, err, errsize,
                           "model input dimensions must be >= 1 with fewer than 2^31 values");
            return NULL;
        }
        total *= (size_t)in_shape[i];
    }
    cr_model *m = cr_calloc(1, sizeof *m);
    if (m) m->layers = cr_calloc(CR_MODEL_MAX_LAYERS, sizeof *m->layers);
    if (m) {
        m->params = cr_params_new();
        m->buffers = cr_params_new();
        m->state = cr_params_new();
    }
    if (!m || !m->layers || !m->params || !m->buffers || !m->state) {
        cr_model_free(m);
        cr__model_errf(CR_ERR_NOMEM, err, errsize, "out of memory making a model");
        return NULL;
    }
    m->in_ndim = ndim;
    memcpy(m->in, in_shape, (size_t)ndim * sizeof *in_shape);
    m->training = 1;
    cr_rng_seed(&m->drop_rng, 0);
    return m;
}

/* Add a tensor under "l<i>.<kind>.<name>" to list (and to state), labelled likewise. */
static int add_named(cr_params *list, cr_params *state, cr_tensor *x, int i, const char *kind,
                     const char *name)
{
    char full[64];
    snprintf(full, sizeof full, "l%d.%s.%s", i, kind, name);
    return cr_tensor_set_name(x, full) == CR_OK && cr_params_add(list, x, full, NULL, 0) == CR_OK &&
           cr_params_add(state, x, full, NULL, 0) == CR_OK;
}

/* Make the three lists for layers 0..n-1 afresh; swap them in only on success, so a
 * failure leaves the model's lists as they were. */
static int rebuild_lists(cr_model *m, int n)
{
    cr_params *p = cr_params_new(), *b = cr_params_new(), *s = cr_params_new();
    int ok = p && b && s;
    for (int i = 0; ok && i < n; i++) {
        layer *L = &m->layers[i];
        const char *kind = L->l.kind == CR_LAYER_DENSE ? "dense" : "conv";
        if (L->W) ok = add_named(p, s, L->W, i, kind, "W") && add_named(p, s, L->b, i, kind, "b");
        if (ok && L->bn)
            ok = add_named(p, s, L->bn->gamma, i, "bn", "gamma") &&
                 add_named(p, s, L->bn->beta, i, "bn", "beta") &&
                 add_named(b, s, L->bn->running_mean, i, "bn", "running_mean") &&
                 add_named(b, s, L->bn->running_var, i, "bn", "running_var");
        if (ok && L->mean)
            ok = add_named(b, s, L->mean, i, "standardize", "mean") &&
                 add_named(b, s, L->inv_std, i, "standardize", "inv_std");
    }
    if (!ok) {
        cr_params_free(p);
        cr_params_free(b);
        cr_params_free(s);
        return 0;
    }
    cr_params_free(m->params);
    cr_params_free(m->buffers);
    cr_params_free(m->state);
    m->params = p;
    m->buffers = b;
    m->state = s;
    return 1;
}

/* Drop layers n.. (used to undo a partly added spec). */
static void truncate_to(cr_model *m, int n)
{
    while (m->n > n) {
        layer *L = &m->layers[--m->n];
        m->nparams -= L->nparams;
        layer_free(L);
    }
}

/* Check, infer and allocate one layer into slot m->n (lists not yet rebuilt). text
 * NULL: the canonical text names the layer. */
static cr_status add_one(cr_model *m, const cr_layer *l, const char *text, char *err,
                         size_t errsize)
{
    int pos = m->n + 1;
    char canon[CR__LAYER_TEXT];
    if (m->n == CR_MODEL_MAX_LAYERS)
        return cr__model_errf(CR_ERR_ARG, err, errsize, "layer %d: more than %d layers", pos,
                              CR_MODEL_MAX_LAYERS);
    cr__layer_format(l, canon, sizeof canon);
    layer L;
    memset(&L, 0, sizeof L);
    L.l = *l;
    if (l->kind == CR_LAYER_ACTIVATION && l->act == CR_ACT_LEAKY_RELU && l->value == 0)
        L.l.value = CR_LEAKY_SLOPE;
    memcpy(L.text, canon, sizeof canon);
    const layer *prev = m->n ? &m->layers[m->n - 1] : NULL;
    L.in_ndim = prev ? prev->out_ndim : m->in_ndim;
    memcpy(L.in, prev ? prev->out : m->in, sizeof L.in);
    cr_status s = cr__layer_infer(&L.l, pos, text ? text : canon, L.in_ndim, L.in, &L.out_ndim,
                                  L.out, &L.nparams, err, errsize);
    if (s) return s;
    if (L.nparams > CR_MODEL_MAX_PARAMS - m->nparams)
        return cr__model_errf(CR_ERR_ARG, err, errsize,
                              "layer %d (%s): its %zu parameters would bring the model above "
                              "the limit of %zu", pos, text ? text : canon, L.nparams,
                              CR_MODEL_MAX_PARAMS);
    if (l->kind == CR_LAYER_DENSE) {
        int ws[2] = { L.in[0], l->units };
        L.W = cr_param_new(2, ws);
        L.b = cr_param_new(1, &l->units);
    } else if (l->kind == CR_LAYER_CONV2D) {
        int ws[4] = { l->units, L.in[0], l->kernel[0], l->kernel[1] };
        L.W = cr_param_new(4, ws);
        L.b = cr_param_new(1, &l->units);
        for (int i = 0; i < 2; i++) {
            L.copts.stride[i] = l->stride[i] ? l->stride[i] : 1;
            L.copts.padding[i] = l->padding[i];
            L.copts.dilation[i] = l->dilation[i] ? l->dilation[i] : 1;
        }
        L.copts.groups = 1;
    } else if (l->kind == CR_LAYER_MAXPOOL2D || l->kind == CR_LAYER_AVGPOOL2D) {
        for (int i = 0; i < 2; i++) {
            L.popts.kernel[i] = l->kernel[i];
            L.popts.stride[i] = l->stride[i] ? l->stride[i] : l->kernel[i];
            L.popts.padding[i] = l->padding[i];
        }
    } else if (l->kind == CR_LAYER_BATCHNORM) {
        L.bn = cr_batchnorm_new(L.in[0], 0, 0, NULL, 0);
        if (!L.bn) goto nomem;
    } else if (l->kind == CR_LAYER_STANDARDIZE) {
        /* buffers, as batchnorm's running statistics: CR_REQUIRES_GRAD clear, so an
         * input without gradient (a data batch) records no backward through the
         * layer; after a trainable layer, ops still add into their gradient
         * buffers (cr_params needs one), which nothing reads */
        L.mean = cr_param_new(L.in_ndim, L.in);
        L.inv_std = cr_param_new(L.in_ndim, L.in);
        if (!L.mean || !L.inv_std) goto nomem;
        L.mean->flags &= ~CR_REQUIRES_GRAD;
        L.inv_std->flags &= ~CR_REQUIRES_GRAD;
        cr_tensor_fill(L.inv_std, 1);
    }
    if ((l->kind == CR_LAYER_DENSE || l->kind == CR_LAYER_CONV2D) && (!L.W || !L.b)) goto nomem;
    m->layers[m->n++] = L;
    m->nparams += L.nparams;
    return CR_OK;
nomem:
    layer_free(&L);
    return cr__model_errf(CR_ERR_NOMEM, err, errsize, "layer %d (%s): out of memory", pos,
                          text ? text : canon);
}

cr_status cr_model_add(cr_model *m, const cr_layer *l, char *err, size_t errsize)
{
    if (!m || !l) return cr__model_errf(CR_ERR_ARG, err, errsize, "model or layer is NULL");
    int n0 = m->n;
    cr_status s = add_one(m, l, NULL, err, errsize);
    if (s) return s;
    if (!rebuild_lists(m, m->n)) {
        truncate_to(m, n0);
        return cr__model_errf(CR_ERR_NOMEM, err, errsize, "out of memory adding a layer");
    }
    return CR_OK;
}

cr_status cr_model_add_spec(cr_model *m, const char *spec, char *err, size_t errsize)
{
    if (!m) return cr__model_errf(CR_ERR_ARG, err, errsize, "model is NULL");
    int room = CR_MODEL_MAX_LAYERS - m->n, n = 0, n0 = m->n;
    cr__layer_text *lt = cr_calloc(CR_MODEL_MAX_LAYERS, sizeof *lt);
    if (!lt) return cr__model_errf(CR_ERR_NOMEM, err, errsize, "out of memory parsing a spec");
    cr_status s = cr__spec_parse(spec, m->n + 1, lt, room, &n, err, errsize);
    for (int i = 0; !s && i < n; i++) s = add_one(m, &lt[i].l, lt[i].text, err, errsize);
    cr_free(lt);
    if (!s && !rebuild_lists(m, m->n))
        s = cr__model_errf(CR_ERR_NOMEM, err, errsize, "out of memory adding layers");
    if (s) truncate_to(m, n0);
    return s;
}

/* The activation that follows layer i, skipping batchnorm and dropout (NONE if none). */
static cr_activation next_act(const cr_model *m, int i)
{
    for (int j = i + 1; j < m->n; j++) {
        const cr_layer *l = &m->layers[j].l;
        if (l->kind == CR_LAYER_BATCHNORM || l->kind == CR_LAYER_DROPOUT) continue;
        return l->kind == CR_LAYER_ACTIVATION ? l->act : CR_ACT_NONE;
    }
    return CR_ACT_NONE;
}

cr_status cr_model_init(cr_model *m, cr_rng *rng, char *err, size_t errsize)
{
    if (!m || !rng) return cr__model_errf(CR_ERR_ARG, err, errsize, "model or rng is NULL");
    for (int i = 0; i < m->n; i++) {
        layer *L = &m->layers[i];
        cr_activation a = next_act(m, i);
        int he = a == CR_ACT_RELU || a == CR_ACT_LEAKY_RELU;
        if (L->l.kind == CR_LAYER_DENSE) {
            cr_init(L->W, he ? CR_INIT_HE_NORMAL : CR_INIT_XAVIER_UNIFORM, rng);
        } else if (L->l.kind == CR_LAYER_CONV2D) {
            /* O x C x KH x KW: fan_in = C KH KW, fan_out = O KH KW (PyTorch's fans) */
            double rf = (double)L->l.kernel[0] * L->l.kernel[1];
            double fi = L->in[0] * rf, fo = L->l.units * rf;
            if (he) cr_init_normal(L->W, rng, 0, (cr_real)sqrt(2.0 / fi));
            else {
                cr_real a6 = (cr_real)sqrt(6.0 / (fi + fo));
                cr_init_uniform(L->W, rng, -a6, a6);
            }
        }
        if (L->b) cr_tensor_fill(L->b, 0);
        if (L->bn) {
            cr_tensor_fill(L->bn->gamma, 1);
            cr_tensor_fill(L->bn->beta, 0);
            cr_tensor_fill(L->bn->running_mean, 0);
            cr_tensor_fill(L->bn->running_var, 1);
        }
        if (L->mean) {
            cr_tensor_fill(L->mean, 0);
            cr_tensor_fill(L->inv_std, 1);
        }
    }
    uint64_t hi = cr_rng_u32(rng), lo = cr_rng_u32(rng);
    cr_rng_seed(&m->drop_rng, hi << 32 | lo);
    return CR_OK;
}

cr_model *cr_model_from_spec(const char *spec, int ndim, const int *in_shape, cr_rng *rng,
                             char *err, size_t errsize)
{
    if (!rng) {
        cr__model_errf(CR_ERR_ARG, err, errsize, "rng is NULL");
        return NULL;
    }
    cr_model *m = cr_model_new(ndim, in_shape, err, errsize);
    if (!m) return NULL;
    if (cr_model_add_spec(m, spec, err, errsize) || cr_model_init(m, rng, err, errsize)) {
        cr_model_free(m);
        return NULL;
    }
    return m;
}

/* ------------------------------------------------------------ forward */

static cr_tensor *layer_forward(cr_tape *t, cr_model *m, layer *L, cr_tensor *h)
{
    const cr_layer *l = &L->l;
    switch (l->kind) {
    case CR_LAYER_DENSE: return cr_linear(t, h, L->W, L->b);
    case CR_LAYER_CONV2D: return cr_conv2d(t, h, L->W, L->b, &L->copts);
    case CR_LAYER_MAXPOOL2D: return cr_max_pool2d(t, h, &L->popts);
    case CR_LAYER_AVGPOOL2D: return cr_avg_pool2d(t, h, &L->popts);
    case CR_LAYER_GLOBAL_AVGPOOL2D: return cr_global_avg_pool2d(t, h);
    case CR_LAYER_FLATTEN: return h->ndim > 2 ? cr_flatten(t, h) : h;
    case CR_LAYER_BATCHNORM: return cr_batchnorm_forward(t, L->bn, h, m->training);
    case CR_LAYER_DROPOUT:
        return cr_dropout(t, h, (cr_real)l->value, &m->drop_rng, m->training);
    case CR_LAYER_ACTIVATION:
        if (l->act == CR_ACT_LEAKY_RELU) return cr_leaky_relu(t, h, (cr_real)l->value);
        return cr_activate(t, h, l->act);
    case CR_LAYER_STANDARDIZE:   /* N x sample - sample: broadcast over N */
        return cr_mul(t, cr_sub(t, h, L->mean), L->inv_std);
    }
    return NULL;
}

/* Layers i and i + 1 are relu then max pool: the forward records them the other
 * way round, max pool then relu, which has the same values with the relu on the
 * pooled (4x smaller for 2x2) tensor: relu is monotone, so max(relu(window)) =
 * relu(max(window)). The gradients are the same bits too: an input element gets
 * g through both orders exactly when it is its window's first maximum and is > 0
 * (a window whose maximum is <= 0 passes 0 in both), and the sums of overlapping
 * windows are added in the same order. The one difference: a window of values <= 0
 * holding a -0 that is not its first element can give -0 where relu first gives
 * +0 (equal numbers). test_model_forward_matches_ops_bit_for_bit compares the two
 * orders (forward and gradients) on a net that has this pair. */
static int relu_then_maxpool(const cr_model *m, int i)
{
    return i + 1 < m->n && m->layers[i].l.kind == CR_LAYER_ACTIVATION &&
           m->layers[i].l.act == CR_ACT_RELU && m->layers[i + 1].l.kind == CR_LAYER_MAXPOOL2D;
}

cr_tensor *cr_model_forward(cr_tape *t, cr_model *m, cr_tensor *x)
{
    if (!cr_check_inputs(t, "model", 1, &x)) return NULL;
    if (!m) {
        cr_tape_fail(t, CR_ERR_ARG, "model: model is NULL");
        return NULL;
    }
    int ok = x->ndim == m->in_ndim + 1;
    for (int i = 0; ok && i < m->in_ndim; i++) ok = x->shape[i + 1] == m->in[i];
    int flat = m->in_ndim == 3 && x->ndim == 2 &&
               (size_t)x->shape[1] == (size_t)m->in[0] * m->in[1] * m->in[2];
    if (!ok && !flat) {
        char s[48], e[48];
        cr__dims_str(m->in_ndim, m->in, e, sizeof e);
        cr_tape_fail(t, CR_ERR_SHAPE, "model: input is %s but the model expects N x %s",
                     cr_shape_str(x, s, sizeof s), e);
        return NULL;
    }
    cr_tensor *h = x;
    if (flat) {
        int shape[4] = { x->shape[0], m->in[0], m->in[1], m->in[2] };
        h = cr_reshape(t, x, 4, shape);
    }
    for (int i = 0; h && i < m->n; i++) {
        if (relu_then_maxpool(m, i)) {   /* recorded as max pool, then relu */
            h = layer_forward(t, m, &m->layers[i + 1], h);
            if (h) h = layer_forward(t, m, &m->layers[i], h);
            i++;
            continue;
        }
        h = layer_forward(t, m, &m->layers[i], h);
    }
    return h;
}

int cr_model_set_training(cr_model *m, int on)
{
    if (!m) return -1;
    int old = m->training;
    m->training = on != 0;
    return old;
}

cr_params *cr_model_params(cr_model *m) { return m ? m->params : NULL; }
cr_params *cr_model_buffers(cr_model *m) { return m ? m->buffers : NULL; }
cr_params *cr_model_state(cr_model *m) { return m ? m->state : NULL; }
size_t cr_model_param_count(const cr_model *m) { return m ? m->nparams : 0; }
int cr_model_n_layers(const cr_model *m) { return m ? m->n : 0; }
cr_rng *cr_model_rng(cr_model *m) { return m ? &m->drop_rng : NULL; }

int cr_model_shape(const cr_model *m, int i, int *shape)
{
    if (!m || !shape || i < -1 || i >= m->n) return 0;
    int nd = i < 0 ? m->in_ndim : m->layers[i].out_ndim;
    memcpy(shape, i < 0 ? m->in : m->layers[i].out, (size_t)nd * sizeof *shape);
    return nd;
}

const char *cr_model_layer_text(const cr_model *m, int i)
{
    return m && i >= 0 && i < m->n ? m->layers[i].text : NULL;
}

size_t cr_model_spec(const cr_model *m, char *buf, size_t size)
{
    size_t n = 0;
    for (int i = 0; m && i < m->n; i++) {
        const char *s = m->layers[i].text;
        size_t k = strlen(s);
        for (size_t j = 0; j < k + 2; j++) {
            char c = j < 2 ? ", "[j] : s[j - 2];
            if (j < 2 && i == 0) continue;
            if (n + 1 < size) buf[n] = c;
            n++;
        }
    }
    if (size) buf[n < size ? n : size - 1] = '\0';
    return n;
}

/* ------------------------------------------------------------ save / load */

#define MODEL_VERSION 1

static int is_model_key(const char *k) { return strncmp(k, "model.", 6) == 0; }

cr_status cr_model_save(const cr_model *m, const char *path, const cr_optim *opt,
                        const cr_meta *meta, char *err, size_t errsize)
{
    if (!m || !path) return cr__model_errf(CR_ERR_ARG, err, errsize, "model or path is NULL");
    if (m->n == 0)
        return cr__model_errf(CR_ERR_ARG, err, errsize, "%s: the model has no layers", path);
    char spec[CR_MODEL_SPEC_MAX + 1];
    size_t len = cr_model_spec(m, spec, sizeof spec);
    if (len > CR_MODEL_SPEC_MAX)
        return cr__model_errf(CR_ERR_ARG, err, errsize,
                              "%s: the model's spec is longer than %d bytes", path,
                              CR_MODEL_SPEC_MAX);
    cr_meta *all = cr_meta_new();
    cr_status s = all ? CR_OK : CR_ERR_NOMEM;
    for (size_t i = 0; !s && meta && i < cr_meta_count(meta); i++) {
        const char *k = cr_meta_key(meta, i);
        if (is_model_key(k)) continue;
        uint64_t u;
        double f;
        if (cr_meta_type_at(meta, i) == CR_META_U64)
            s = cr_meta_get_u64(meta, k, &u) ? CR_ERR_ARG : cr_meta_set_u64(all, k, u);
        else
            s = cr_meta_get_f64(meta, k, &f) ? CR_ERR_ARG : cr_meta_set_f64(all, k, f);
    }
    char key[32];
    if (!s) s = cr_meta_set_u64(all, "model.version", MODEL_VERSION);
    if (!s) s = cr_meta_set_u64(all, "model.input.ndim", (uint64_t)m->in_ndim);
    for (int d = 0; !s && d < m->in_ndim; d++) {
        snprintf(key, sizeof key, "model.input.%d", d);
        s = cr_meta_set_u64(all, key, (uint64_t)m->in[d]);
    }
    if (!s) s = cr_meta_set_u64(all, "model.spec.bytes", (uint64_t)len);
    for (size_t k = 0; !s && k * 8 < len; k++) {
        uint64_t v = 0;
        for (size_t j = 0; j < 8 && k * 8 + j < len; j++)
            v |= (uint64_t)(unsigned char)spec[k * 8 + j] << (8 * j);
        snprintf(key, sizeof key, "model.spec.%zu", k);
        s = cr_meta_set_u64(all, key, v);
    }
    if (!s) s = cr_meta_set_u64(all, "model.dropout_rng.state", m->drop_rng.state);
    if (!s) s = cr_meta_set_u64(all, "model.dropout_rng.inc", m->drop_rng.inc);
    if (s) {
        cr_meta_free(all);
        return cr__model_errf(s, err, errsize, "%s: out of memory preparing metadata", path);
    }
    s = cr_save(path, m->state, opt, all, err, errsize);
    cr_meta_free(all);
    return s;
}

/* The model described by meta (keys written by cr_model_save), with zero weights. */
static cr_model *model_from_meta(const cr_meta *meta, const char *name, char *err,
                                 size_t errsize)
{
    uint64_t v, nd, len;
    int in[3];
    char key[32], spec[CR_MODEL_SPEC_MAX + 1];
    if (cr_meta_get_u64(meta, "model.version", &v) || v != MODEL_VERSION) {
        cr__model_errf(CR_ERR_FORMAT, err, errsize,
                       "%s: not a model file (no model.version %d in its metadata; files of "
                       "cr_mlp load with cr_load)", name, MODEL_VERSION);
        return NULL;
    }
    if (cr_meta_get_u64(meta, "model.input.ndim", &nd) || (nd != 1 && nd != 3)) goto bad;
    for (uint64_t d = 0; d < nd; d++) {
        snprintf(key, sizeof key, "model.input.%d", (int)d);
        if (cr_meta_get_u64(meta, key, &v) || v < 1 || v > INT32_MAX) goto bad;
        in[d] = (int)v;
    }
    if (cr_meta_get_u64(meta, "model.spec.bytes", &len) || len < 1 || len > CR_MODEL_SPEC_MAX)
        goto bad;
    for (uint64_t k = 0; k * 8 < len; k++) {
        snprintf(key, sizeof key, "model.spec.%d", (int)k);
        if (cr_meta_get_u64(meta, key, &v)) goto bad;
        for (uint64_t j = 0; j < 8 && k * 8 + j < len; j++) {
            spec[k * 8 + j] = (char)(v >> (8 * j) & 0xff);
            if (!spec[k * 8 + j]) goto bad;
        }
    }
    spec[len] = '\0';
    cr_model *m = cr_model_new((int)nd, in, err, errsize);
    char why[256];
    if (m && cr_model_add_spec(m, spec, why, sizeof why)) {
        cr__model_errf(CR_ERR_FORMAT, err, errsize, "%s: the stored spec does not build: %s",
                       name, why);
        cr_model_free(m);
        return NULL;
    }
    if (m && (cr_meta_get_u64(meta, "model.dropout_rng.state", &m->drop_rng.state) ||
              cr_meta_get_u64(meta, "model.dropout_rng.inc", &m->drop_rng.inc))) {
        cr_model_free(m);
        goto bad;
    }
    return m;
bad:
    cr__model_errf(CR_ERR_FORMAT, err, errsize, "%s: the model description in the metadata is "
                   "missing or invalid", name);
    return NULL;
}

cr_model *cr_model_load_buffer(const void *data, size_t size, const char *name, cr_meta *meta,
                               char *err, size_t errsize)
{
    if (!name) name = "<buffer>";
    cr_meta *tmp = cr_meta_new();
    if (!tmp) {
        cr__model_errf(CR_ERR_NOMEM, err, errsize, "%s: out of memory", name);
        return NULL;
    }
    cr_model *m = NULL;
    if (cr_load_buffer(data, size, name, NULL, NULL, tmp, err, errsize) == CR_OK)
        m = model_from_meta(tmp, name, err, errsize);
    cr_meta_free(tmp);
    if (m && (cr_load_buffer(data, size, name, m->state, NULL, NULL, err, errsize) ||
              (meta && cr_load_buffer(data, size, name, NULL, NULL, meta, err, errsize)))) {
        cr_model_free(m);
        m = NULL;
    }
    return m;
}

cr_model *cr_model_load(const char *path, cr_meta *meta, char *err, size_t errsize)
{
    if (!path) {
        cr__model_errf(CR_ERR_ARG, err, errsize, "path is NULL");
        return NULL;
    }
    FILE *f = fopen(path, "rb");
    if (!f) {
        cr__model_errf(CR_ERR_IO, err, errsize, "%s: cannot open: %s", path, strerror(errno));
        return NULL;
    }
    size_t n = 0, cap = 65536;
    unsigned char *buf = cr_malloc(cap);
    int failed = !buf;
    while (!failed) {
        n += fread(buf + n, 1, cap - n, f);
        if (ferror(f) || n < cap) break;
        unsigned char *nb = cap <= SIZE_MAX / 2 ? cr_realloc(buf, cap * 2) : NULL;
        if (!nb) failed = 1;
        else {
            buf = nb;
            cap *= 2;
        }
    }
    int rerr = ferror(f);
    fclose(f);
    cr_model *m = NULL;
    if (failed) cr__model_errf(CR_ERR_NOMEM, err, errsize, "%s: out of memory reading", path);
    else if (rerr) cr__model_errf(CR_ERR_IO, err, errsize, "%s: read error", path);
    else m = cr_model_load_buffer(buf, n, path, meta, err, errsize);
    cr_free(buf);
    return m;
}
