/* Optimizers on a parameter list: one table of definitions, the state, the step.
 *
 * Every update is a loop over the flat data/grad arrays of each parameter, computed
 * in cr_real. With g = grad + λθ (L2 decay; not for AdamW) and t the step number
 * after the increment:
 *   SGD       θ -= η g
 *   momentum  v = μv + g;             θ -= η v
 *   Nesterov  v = μv + g;             θ -= η (g + μv)          (PyTorch's form)
 *   AdaGrad   r += g²;                θ -= η g / (δ + √r)
 *   RMSprop   r = ρr + (1-ρ)g²;       θ -= η g / (√r + δ)
 *   Adam      m = ρ₁m + (1-ρ₁)g;  v = ρ₂v + (1-ρ₂)g²;
 *             θ -= (η / (1-ρ₁ᵗ)) m / (√v / √(1-ρ₂ᵗ) + δ)  (= η m̂ / (√v̂ + δ))
 *   AdamW     θ -= ηλθ, then Adam with the raw gradient.
 * The evaluation order follows PyTorch's single-tensor code so that float64
 * results agree to the last few bits with the committed fixtures.
 *
 * A built-in optimizer is one row of `builtins` below plus its update function;
 * a user-defined one is a cr_optim_def. Both reach cr_optim_step the same way.
 */
#include "optim_internal.h"

#include <float.h>
#include <math.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#ifdef CR_REAL_DOUBLE
static inline cr_real sqrt_real(cr_real x) { return sqrt(x); }
#define CR_REAL_MIN_NORMAL DBL_MIN
#else
static inline cr_real sqrt_real(cr_real x) { return sqrtf(x); }
#define CR_REAL_MIN_NORMAL FLT_MIN
#endif

/* ------------------------------------------------------------ update functions
 * Updates run in cr_real, as PyTorch does for float tensors: a double detour
 * costs a conversion per element and halves the vector width, and the update is
 * memory-bound work on every step (about a fifth of an SGD epoch). */

/* The loops take their arrays as restrict parameters (outputs first), which lets
 * the compiler vectorise them without run-time alias checks. */
static void sgd_loop(size_t n, cr_real *restrict theta, const cr_real *restrict grad,
                     cr_real lr, cr_real wd)
{
    for (size_t i = 0; i < n; i++) theta[i] -= lr * (grad[i] + wd * theta[i]);
}

static void sgd_update(const cr_optim_update_args *a)
{
    sgd_loop(a->n, a->theta, a->grad, (cr_real)a->cfg->lr, (cr_real)a->cfg->weight_decay);
}

/* v = mu v + g;  theta -= lr v  (Nesterov: theta -= lr (g + mu v)) */
static void momentum_loop(size_t n, cr_real *restrict theta, cr_real *restrict s0,
                          const cr_real *restrict grad, cr_real lr, cr_real wd, cr_real mu)
{
    for (size_t i = 0; i < n; i++) {
        cr_real g = grad[i] + wd * theta[i];
        cr_real v = mu * s0[i] + g;
        s0[i] = v;
        theta[i] -= lr * v;
    }
}

static void nesterov_loop(size_t n, cr_real *restrict theta, cr_real *restrict s0,
                          const cr_real *restrict grad, cr_real lr, cr_real wd, cr_real mu)
{
    for (size_t i = 0; i < n; i++) {
        cr_real g = grad[i] + wd * theta[i];
        cr_real v = mu * s0[i] + g;
        s0[i] = v;
        theta[i] -= lr * (g + mu * v);
    }
}

static void momentum_update(const cr_optim_update_args *a)
{
    const cr_optim_config *c = a->cfg;
    momentum_loop(a->n, a->theta, a->slot[0], a->grad, (cr_real)c->lr,
                  (cr_real)c->weight_decay, (cr_real)c->momentum);
}

static void nesterov_update(const cr_optim_update_args *a)
{
    const cr_optim_config *c = a->cfg;
    nesterov_loop(a->n, a->theta, a->slot[0], a->grad, (cr_real)c->lr,
                  (cr_real)c->weight_decay, (cr_real)c->momentum);
}

/* AdaGrad r += g², RMSprop r = rho r + (1-rho) g²;  theta -= lr g / (sqrt(r) + eps) */
static void adagrad_loop(size_t n, cr_real *restrict theta, cr_real *restrict s0,
                         const cr_real *restrict grad, cr_real lr, cr_real wd, cr_real eps)
{
    for (size_t i = 0; i < n; i++) {
        cr_real g = grad[i] + wd * theta[i];
        cr_real r = s0[i] + g * g;
        s0[i] = r;
        theta[i] -= lr * (g / (sqrt_real(r) + eps));
    }
}

static void rmsprop_loop(size_t n, cr_real *restrict theta, cr_real *restrict s0,
                         const cr_real *restrict grad, cr_real lr, cr_real wd, cr_real eps,
                         cr_real rho, cr_real w)
{
    for (size_t i = 0; i < n; i++) {
        cr_real g = grad[i] + wd * theta[i];
        cr_real r = rho * s0[i] + w * g * g;
        s0[i] = r;
        theta[i] -= lr * (g / (sqrt_real(r) + eps));
    }
}

static void adagrad_update(const cr_optim_update_args *a)
{
    const cr_optim_config *c = a->cfg;
    adagrad_loop(a->n, a->theta, a->slot[0], a->grad, (cr_real)c->lr, (cr_real)c->weight_decay,
                 (cr_real)c->eps);
}

static void rmsprop_update(const cr_optim_update_args *a)
{
    const cr_optim_config *c = a->cfg;
    rmsprop_loop(a->n, a->theta, a->slot[0], a->grad, (cr_real)c->lr, (cr_real)c->weight_decay,
                 (cr_real)c->eps, (cr_real)c->rho, (cr_real)(1 - c->rho));
}

/* The hot optimizer: computed in cr_real with the bias corrections folded into two
 * constants, so the loop is plain multiply-add, one sqrt and one divide per element,
 * and vectorises. theta -= step * m / (sqrt(v) * inv_bc2 + eps) is the same as
 * step * m / (sqrt(v) / sqrt(1 - b2^t) + eps). AdamW: shrink = 1 - lr wd, l2 = 0;
 * Adam: shrink = 1, l2 = wd. */
typedef struct adam_k {
    cr_real b1, b2, a1, a2, step, inv_bc2, eps, shrink, l2;
} adam_k;

static void adam_loop(size_t n, cr_real *restrict theta, cr_real *restrict s0,
                      cr_real *restrict s1, const cr_real *restrict grad, const adam_k *k)
{
    const cr_real b1 = k->b1, b2 = k->b2, a1 = k->a1, a2 = k->a2, step = k->step;
    const cr_real inv_bc2 = k->inv_bc2, e = k->eps, shrink = k->shrink, l2 = k->l2;
    const cr_real tiny = CR_REAL_MIN_NORMAL;
    for (size_t i = 0; i < n; i++) {
        cr_real th = theta[i] * shrink, g = grad[i] + l2 * theta[i];
        cr_real m = b1 * s0[i] + a1 * g;
        cr_real v = b2 * s1[i] + a2 * g * g;
        /* moments of rarely used weights decay into subnormals, where x86
         * arithmetic is ~100x slower; below the smallest normal they are 0 */
        m = m > -tiny && m < tiny ? 0 : m;
        v = v < tiny ? 0 : v;
        s0[i] = m;
        s1[i] = v;
        theta[i] = th - step * (m / (sqrt_real(v) * inv_bc2 + e));
    }
}

static void adam_update(const cr_optim_update_args *a, int decoupled)
{
    const cr_optim_config *c = a->cfg;
    const double lr = c->lr, wd = c->weight_decay;
    adam_k k;
    k.b1 = (cr_real)c->beta1;
    k.b2 = (cr_real)c->beta2;
    k.a1 = (cr_real)(1 - c->beta1);
    k.a2 = (cr_real)(1 - c->beta2);
    k.step = (cr_real)(lr / (1 - pow(c->beta1, (double)a->t)));
    k.inv_bc2 = (cr_real)(1 / sqrt(1 - pow(c->beta2, (double)a->t)));
    k.eps = (cr_real)c->eps;
    k.shrink = (cr_real)(decoupled ? 1 - lr * wd : 1);
    k.l2 = (cr_real)(decoupled ? 0 : wd);
    adam_loop(a->n, a->theta, a->slot[0], a->slot[1], a->grad, &k);
}

static void adam_l2_update(const cr_optim_update_args *a) { adam_update(a, 0); }
static void adamw_update(const cr_optim_update_args *a) { adam_update(a, 1); }

/* ------------------------------------------------------------------ the table */

/* The fields of cr_optim_config that are hyper-parameters, in file order. */
#define HYPER(field, unit) { #field, offsetof(cr_optim_config, field), unit }
const cr__optim_hyper cr__optim_hypers[CR__NHYPER] = {
    HYPER(lr, 0), HYPER(momentum, 1), HYPER(rho, 1), HYPER(beta1, 1), HYPER(beta2, 1),
    HYPER(eps, 0), HYPER(weight_decay, 0), HYPER(initial_accumulator, 0),
};
#undef HYPER

/* One row per cr_optim_kind. Every built-in saves all 8 hyper-parameters above
 * (format v1, OPTM section), in that order; defaults are in that order too. */
typedef struct builtin {
    const char *name;                   /* first: a cr__name_index table */
    double defaults[CR__NHYPER];        /* lr, momentum, rho, beta1, beta2, eps, wd, r0 */
    int nslots;
    const char *slot[2];                /* state names "<slot>.<param>" */
    int slots_start_at_r0;              /* slots start at initial_accumulator, not 0 */
    cr_optim_update_fn update;
} builtin;

static const builtin builtins[] = {
/*                       lr     mom  rho   beta1 beta2  eps    wd    r0   slots       */
[CR_OPTIM_SGD]      = { "sgd",
                        { 0.01, 0.9, 0.99, 0.9, 0.999, 1e-8,  0,    0 }, 0, { 0 },      0,
                        sgd_update },
[CR_OPTIM_MOMENTUM] = { "momentum",
                        { 0.01, 0.9, 0.99, 0.9, 0.999, 1e-8,  0,    0 }, 1, { "v" },    0,
                        momentum_update },
[CR_OPTIM_NESTEROV] = { "nesterov",
                        { 0.01, 0.9, 0.99, 0.9, 0.999, 1e-8,  0,    0 }, 1, { "v" },    0,
                        nesterov_update },
[CR_OPTIM_ADAGRAD]  = { "adagrad",
                        { 0.01, 0.9, 0.99, 0.9, 0.999, 1e-10, 0,    0 }, 1, { "r" },    1,
                        adagrad_update },
[CR_OPTIM_RMSPROP]  = { "rmsprop",
                        { 0.01, 0.9, 0.99, 0.9, 0.999, 1e-8,  0,    0 }, 1, { "r" },    0,
                        rmsprop_update },
[CR_OPTIM_ADAM]     = { "adam",
                        { 0.001, 0.9, 0.99, 0.9, 0.999, 1e-8, 0,    0 }, 2, { "m", "v" }, 0,
                        adam_l2_update },
[CR_OPTIM_ADAMW]    = { "adamw",
                        { 0.001, 0.9, 0.99, 0.9, 0.999, 1e-8, 0.01, 0 }, 2, { "m", "v" }, 0,
                        adamw_update },
};
_Static_assert(sizeof builtins / sizeof builtins[0] == CR_OPTIM_KIND_COUNT,
               "one row of builtins[] per cr_optim_kind");

const char *cr_optim_kind_name(cr_optim_kind kind)
{
    return (unsigned)kind < CR_OPTIM_KIND_COUNT ? builtins[kind].name : "?";
}

cr_status cr_optim_kind_from_name(const char *name, cr_optim_kind *kind)
{
    int k = CR__NAME_INDEX(builtins, name);
    if (k < 0 || !kind) return CR_ERR_ARG;
    *kind = (cr_optim_kind)k;
    return CR_OK;
}

cr_optim_config cr_optim_defaults(cr_optim_kind kind)
{
    cr_optim_config c;
    memset(&c, 0, sizeof c);
    c.kind = (unsigned)kind < CR_OPTIM_KIND_COUNT ? kind : CR_OPTIM_SGD;
    for (int i = 0; i < CR__NHYPER; i++) *cr__optim_field(&c, i) = builtins[c.kind].defaults[i];
    return c;
}

cr_optim_config cr_optim_def_defaults(const cr_optim_def *def)
{
    cr_optim_config c = cr_optim_defaults(CR_OPTIM_SGD);
    c.def = def;
    if (!def) return c;
    c.lr = def->lr;
    for (int i = 0; i < def->nhyper && i < CR_OPTIM_MAX_HYPER; i++) c.hyper[i] = def->defaults[i];
    return c;
}

/* Index of hyper-parameter name in c: 0 .. CR__NHYPER-1 a field (built-in; 0 is lr
 * for both), CR__NHYPER + j hyper[j] (user-defined); -1 if unknown. */
static int hyper_index(const cr_optim_config *c, const char *name)
{
    if (!c->def) return CR__NAME_INDEX(cr__optim_hypers, name);
    if (cr__name_index(cr__optim_hypers, 1, sizeof cr__optim_hypers[0], name) == 0) return 0;
    int n = c->def->nhyper < 0 ? 0 : c->def->nhyper > CR_OPTIM_MAX_HYPER ? CR_OPTIM_MAX_HYPER
                                                                          : c->def->nhyper;
    int j = cr__name_index(c->def->hyper, (size_t)n, sizeof c->def->hyper[0], name);
    return j < 0 ? -1 : CR__NHYPER + j;
}

cr_status cr_optim_config_set(cr_optim_config *c, const char *name, double v)
{
    int i = c ? hyper_index(c, name) : -1;
    if (i < 0) return CR_ERR_ARG;
    if (i < CR__NHYPER) *cr__optim_field(c, i) = v;
    else c->hyper[i - CR__NHYPER] = v;
    return CR_OK;
}

cr_status cr_optim_config_get(const cr_optim_config *c, const char *name, double *v)
{
    int i = c && v ? hyper_index(c, name) : -1;
    if (i < 0) return CR_ERR_ARG;
    *v = i < CR__NHYPER ? cr__optim_field_get(c, i) : c->hyper[i - CR__NHYPER];
    return CR_OK;
}

/* A name of 1..max-1 bytes. */
static int name_ok(const char *s, size_t max) { return s && s[0] && strlen(s) < max; }

/* The definition itself: sizes, names, callbacks. */
static cr_status check_def(const cr_optim_def *d, char *err, size_t errsize)
{
    if (!name_ok(d->name, CR__OPTIM_NAME_MAX))
        return cr__errf(CR_ERR_ARG, err, errsize,
                              "optim: a user-defined optimizer needs a name of 1..63 bytes");
    if (!d->update)
        return cr__errf(CR_ERR_ARG, err, errsize, "optim: %s has no update function",
                              d->name);
    if (d->nslots < 0 || d->nslots > CR_OPTIM_MAX_SLOTS ||
        d->nhyper < 0 || d->nhyper > CR_OPTIM_MAX_HYPER)
        return cr__errf(CR_ERR_ARG, err, errsize,
                              "optim: %s has %d slots and %d hyper-parameters (at most %d and "
                              "%d)", d->name, d->nslots, d->nhyper, CR_OPTIM_MAX_SLOTS,
                              CR_OPTIM_MAX_HYPER);
    for (int s = 0; s < d->nslots; s++) {
        if (!name_ok(d->slot[s], CR__SLOT_NAME_MAX))
            return cr__errf(CR_ERR_ARG, err, errsize,
                                  "optim: %s: slot %d needs a name of 1..15 bytes", d->name, s);
        for (int k = 0; k < s; k++)
            if (strcmp(d->slot[k], d->slot[s]) == 0)
                return cr__errf(CR_ERR_ARG, err, errsize, "optim: %s: slot %s twice",
                                      d->name, d->slot[s]);
    }
    for (int h = 0; h < d->nhyper; h++) {
        if (!name_ok(d->hyper[h], CR__HYPER_NAME_MAX))
            return cr__errf(CR_ERR_ARG, err, errsize,
                                  "optim: %s: hyper-parameter %d needs a name of 1..31 bytes",
                                  d->name, h);
        if (cr__name_index(d->hyper, (size_t)h, sizeof d->hyper[0], d->hyper[h]) >= 0 ||
            cr__name_index(cr__optim_hypers, 1, sizeof cr__optim_hypers[0], d->hyper[h]) == 0)
            return cr__errf(CR_ERR_ARG, err, errsize,
                                  "optim: %s: hyper-parameter %s twice (lr is always there)",
                                  d->name, d->hyper[h]);
    }
    return CR_OK;
}

cr_status cr_optim_config_check(const cr_optim_config *c, char *err, size_t errsize)
{
    if (!c) return cr__errf(CR_ERR_ARG, err, errsize, "optim: config is NULL");
    if (!c->def && (unsigned)c->kind >= CR_OPTIM_KIND_COUNT)
        return cr__errf(CR_ERR_ARG, err, errsize, "optim: unknown kind %d",
                              (int)c->kind);
    cr_status s;
    if (c->def && (s = check_def(c->def, err, errsize)) != CR_OK) return s;
    /* a built-in checks every field; a user-defined optimizer lr and hyper[] */
    for (int i = 0; i < (c->def ? 1 : CR__NHYPER); i++) {
        const char *f = cr__optim_hypers[i].name;
        double v = cr__optim_field_get(c, i);
        if (cr__optim_hypers[i].unit && !(v >= 0 && v < 1))
            return cr__errf(CR_ERR_ARG, err, errsize, "optim: %s = %g is outside [0, 1)",
                                  f, v);
        if (!cr__optim_hypers[i].unit && !isfinite(v))
            return cr__errf(CR_ERR_ARG, err, errsize, "optim: %s = %g is not finite", f, v);
        if (!cr__optim_hypers[i].unit && v < 0)
            return cr__errf(CR_ERR_ARG, err, errsize, "optim: %s = %g is negative", f, v);
    }
    for (int h = 0; c->def && h < c->def->nhyper; h++)
        if (!isfinite(c->hyper[h]))
            return cr__errf(CR_ERR_ARG, err, errsize, "optim: %s: %s = %g is not finite",
                                  c->def->name, c->def->hyper[h], c->hyper[h]);
    if (c->def && c->def->check && (s = c->def->check(c, err, errsize)) != CR_OK)
        return s;
    if (err && errsize) err[0] = '\0';
    return CR_OK;
}

void cr_optim_free(cr_optim *o)
{
    if (!o) return;
    for (size_t i = 0; i < o->nstate && o->state; i++) cr_tensor_free(o->state[i]);
    cr_free(o->state);
    cr_free(o->names);
    cr_free(o->x);
    cr_free(o);
}

cr_optim *cr_optim_new(cr_params *params, const cr_optim_config *cfg, char *err,
                       size_t errsize)
{
    if (!params) {
        cr__errf(CR_ERR_ARG, err, errsize, "optim: parameter list is NULL");
        return NULL;
    }
    if (cr_optim_config_check(cfg, err, errsize) != CR_OK) return NULL;
    const builtin *b = cfg->def ? NULL : &builtins[cfg->kind];
    cr_optim *o = cr_calloc(1, sizeof *o);
    if (!o) goto nomem;
    o->cfg = *cfg;
    o->params = params;
    o->n = cr_params_count(params);
    o->update = b ? b->update : cfg->def->update;
    o->per_tensor = b ? 0 : cfg->def->per_tensor != 0;
    o->nslots = b ? b->nslots : cfg->def->nslots;
    o->nstate = o->n * (size_t)o->nslots;
    if (o->n) {
        o->x = cr_calloc(o->n, sizeof *o->x);
        if (!o->x) goto nomem;
    }
    if (o->nstate) {
        o->state = cr_calloc(o->nstate, sizeof *o->state);
        o->names = cr_calloc(o->nstate, sizeof *o->names);
        if (!o->state || !o->names) goto nomem;
    }
    for (size_t i = 0; i < o->n; i++) o->x[i] = cr_params_get(params, i);
    for (int s = 0; s < o->nslots; s++)
        for (size_t i = 0; i < o->n; i++) {
            size_t k = (size_t)s * o->n + i;
            const cr_tensor *x = o->x[i];
            o->state[k] = cr_tensor_new(x->ndim, x->shape);
            if (!o->state[k]) goto nomem;
            snprintf(o->names[k], CR_STATE_NAME_MAX, "%s.%s", b ? b->slot[s] : cfg->def->slot[s],
                     cr_params_name(params, i));
            if (b && b->slots_start_at_r0)
                cr_tensor_fill(o->state[k], (cr_real)cfg->initial_accumulator);
        }
    if (err && errsize) err[0] = '\0';
    return o;
nomem:
    cr_optim_free(o);
    cr__errf(CR_ERR_NOMEM, err, errsize, "optim: out of memory");
    return NULL;
}

const char *cr_optim_name(const cr_optim *o)
{
    if (!o) return "?";
    return o->cfg.def ? o->cfg.def->name : cr_optim_kind_name(o->cfg.kind);
}

/* One parameter's update split by element range over the pool: each element's
 * update reads and writes that element only, so any split gives the same bits. */
typedef struct update_job {
    cr_optim_update_fn update;
    cr_optim_update_args a;     /* the whole tensor */
} update_job;

static void update_range(void *ctx, size_t b, size_t e)
{
    const update_job *j = ctx;
    cr_real *slot[CR_OPTIM_MAX_SLOTS];
    for (int s = 0; s < CR_OPTIM_MAX_SLOTS; s++) slot[s] = j->a.slot[s] ? j->a.slot[s] + b : NULL;
    cr_optim_update_args a = j->a;
    a.n = e - b;
    a.theta += b;
    a.grad += b;
    a.slot = slot;
    j->update(&a);
}

/* Elements per range: below twice this a parameter is updated on the calling
 * thread (waking a worker costs more than a few microseconds of update). */
#define UPDATE_GRAIN 16384

cr_status cr_optim_set_pool(cr_optim *o, cr_pool *pool)
{
    if (!o) return CR_ERR_ARG;
    o->pool = pool;
    return CR_OK;
}

cr_status cr_optim_step(cr_optim *o, char *err, size_t errsize)
{
    if (!o) return cr__errf(CR_ERR_ARG, err, errsize, "optim: optimizer is NULL");
    if (cr_params_count(o->params) != o->n)
        return cr__errf(CR_ERR_STATE, err, errsize,
                        "optim: the parameter list holds %zu tensors but held %zu when the "
                        "optimizer was created", cr_params_count(o->params), o->n);
    for (size_t i = 0; i < o->n; i++) {
        const cr_tensor *x = cr_params_get(o->params, i);
        if (x != o->x[i] || !x->grad)
            return cr__errf(CR_ERR_STATE, err, errsize,
                            "optim: parameter %zu (%s) %s", i, cr_params_name(o->params, i),
                            x != o->x[i] ? "is not the tensor it was when the optimizer was "
                                           "created" : "has no gradient buffer");
    }
    if (o->t >= CR_OPTIM_MAX_STEPS || o->t == LONG_MAX)   /* no overflow */
        return cr__errf(CR_ERR_STATE, err, errsize,
                        "optim: the step counter is at its limit (%ld)", o->t);
    long t = ++o->t;
    for (size_t i = 0; i < o->n; i++) {
        cr_tensor *x = o->x[i];
        cr_real *slot[CR_OPTIM_MAX_SLOTS] = { 0 };
        for (int s = 0; s < o->nslots; s++) slot[s] = o->state[(size_t)s * o->n + i]->data;
        update_job j = { o->update, { x->size, x->data, x->grad, slot, &o->cfg, t } };
        if (o->per_tensor || x->size < 2 * UPDATE_GRAIN || cr_pool_threads(o->pool) == 1)
            o->update(&j.a);
        else
            cr_pool_for(o->pool, x->size, UPDATE_GRAIN, update_range, &j);
    }
    return CR_OK;
}

static void zero_range(void *ctx, size_t b, size_t e)
{
    cr_real *g = ctx;
    memset(g + b, 0, (e - b) * sizeof *g);
}

void cr_optim_zero_grad(cr_optim *o)
{
    if (!o) return;
    if (cr_pool_threads(o->pool) == 1) {
        cr_params_zero_grad(o->params);
        return;
    }
    for (size_t i = 0, n = cr_params_count(o->params); i < n; i++) {
        cr_tensor *x = cr_params_get(o->params, i);
        if (!x || !x->grad) continue;
        if (x->size < 2 * UPDATE_GRAIN) cr_tensor_zero_grad(x);
        else cr_pool_for(o->pool, x->size, UPDATE_GRAIN, zero_range, x->grad);
    }
}

cr_status cr_optim_set_lr(cr_optim *o, double lr)
{
    if (!o || !isfinite(lr) || lr < 0) return CR_ERR_ARG;
    o->cfg.lr = lr;
    return CR_OK;
}

double cr_optim_lr(const cr_optim *o) { return o ? o->cfg.lr : 0; }

const cr_optim_config *cr_optim_get_config(const cr_optim *o) { return o ? &o->cfg : NULL; }

long cr_optim_step_count(const cr_optim *o) { return o ? o->t : 0; }

cr_status cr_optim_set_step_count(cr_optim *o, long n)
{
    if (!o || n < 0 || n > CR_OPTIM_MAX_STEPS) return CR_ERR_ARG;
    o->t = n;
    return CR_OK;
}

cr_params *cr_optim_params(const cr_optim *o) { return o ? o->params : NULL; }

size_t cr_optim_state_count(const cr_optim *o) { return o ? o->nstate : 0; }

cr_tensor *cr_optim_state_get(const cr_optim *o, size_t i)
{
    return o && i < o->nstate ? o->state[i] : NULL;
}

const char *cr_optim_state_name(const cr_optim *o, size_t i)
{
    return o && i < o->nstate ? o->names[i] : NULL;
}

cr_tensor *cr_optim_state_find(const cr_optim *o, const char *name)
{
    if (!o || !name) return NULL;
    for (size_t i = 0; i < o->nstate; i++)
        if (strcmp(o->names[i], name) == 0) return o->state[i];
    return NULL;
}
