/* Optimizers on a parameter list: configuration, state, and the update step.
 *
 * Every update is a loop over the flat data/grad arrays of each parameter, done in
 * double per element and stored back as cr_real. With g = grad + λθ (L2 decay;
 * not for AdamW) and t the step number after the increment:
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
 */
#include "optim_internal.h"

#include <float.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

static const char *const kind_names[CR_OPTIM_KIND_COUNT] = {
    "sgd", "momentum", "nesterov", "adagrad", "rmsprop", "adam", "adamw"
};

const char *cr_optim_kind_name(cr_optim_kind kind)
{
    return (unsigned)kind < CR_OPTIM_KIND_COUNT ? kind_names[kind] : "?";
}

cr_status cr_optim_kind_from_name(const char *name, cr_optim_kind *kind)
{
    if (!name || !kind) return CR_ERR_ARG;
    for (int k = 0; k < CR_OPTIM_KIND_COUNT; k++)
        if (strcmp(name, kind_names[k]) == 0) {
            *kind = (cr_optim_kind)k;
            return CR_OK;
        }
    return CR_ERR_ARG;
}

cr_optim_config cr_optim_defaults(cr_optim_kind kind)
{
    cr_optim_config c;
    memset(&c, 0, sizeof c);
    c.kind = (unsigned)kind < CR_OPTIM_KIND_COUNT ? kind : CR_OPTIM_SGD;
    c.lr = 0.01;
    c.momentum = 0.9;
    c.rho = 0.99;
    c.beta1 = 0.9;
    c.beta2 = 0.999;
    c.eps = 1e-8;
    c.weight_decay = 0;
    c.initial_accumulator = 0;
    if (c.kind == CR_OPTIM_ADAGRAD) c.eps = 1e-10;
    if (c.kind == CR_OPTIM_ADAM || c.kind == CR_OPTIM_ADAMW) c.lr = 0.001;
    if (c.kind == CR_OPTIM_ADAMW) c.weight_decay = 0.01;
    return c;
}

/* A field that must be finite and >= 0. */
static cr_status check_nonneg(const char *field, double v, char *err, size_t errsize)
{
    if (!isfinite(v))
        return cr__errf(CR_ERR_ARG, err, errsize, "optim: %s = %g is not finite",
                              field, v);
    if (v < 0)
        return cr__errf(CR_ERR_ARG, err, errsize, "optim: %s = %g is negative",
                              field, v);
    return CR_OK;
}

/* A decay factor in [0, 1) (NaN fails). */
static cr_status check_unit(const char *field, double v, char *err, size_t errsize)
{
    if (!(v >= 0 && v < 1))
        return cr__errf(CR_ERR_ARG, err, errsize, "optim: %s = %g is outside [0, 1)",
                              field, v);
    return CR_OK;
}

cr_status cr_optim_config_check(const cr_optim_config *c, char *err, size_t errsize)
{
    if (!c) return cr__errf(CR_ERR_ARG, err, errsize, "optim: config is NULL");
    if ((unsigned)c->kind >= CR_OPTIM_KIND_COUNT)
        return cr__errf(CR_ERR_ARG, err, errsize, "optim: unknown kind %d",
                              (int)c->kind);
    cr_status s;
    if ((s = check_nonneg("lr", c->lr, err, errsize)) ||
        (s = check_unit("momentum", c->momentum, err, errsize)) ||
        (s = check_unit("rho", c->rho, err, errsize)) ||
        (s = check_unit("beta1", c->beta1, err, errsize)) ||
        (s = check_unit("beta2", c->beta2, err, errsize)) ||
        (s = check_nonneg("eps", c->eps, err, errsize)) ||
        (s = check_nonneg("weight_decay", c->weight_decay, err, errsize)) ||
        (s = check_nonneg("initial_accumulator", c->initial_accumulator, err, errsize)))
        return s;
    if (err && errsize) err[0] = '\0';
    return CR_OK;
}

int cr__optim_slots(cr_optim_kind kind)
{
    switch (kind) {
    case CR_OPTIM_MOMENTUM: case CR_OPTIM_NESTEROV:
    case CR_OPTIM_ADAGRAD: case CR_OPTIM_RMSPROP:
        return 1;
    case CR_OPTIM_ADAM: case CR_OPTIM_ADAMW:
        return 2;
    default:
        return 0;
    }
}

const char *cr__optim_slot_prefix(cr_optim_kind kind, int slot)
{
    switch (kind) {
    case CR_OPTIM_MOMENTUM: case CR_OPTIM_NESTEROV:
        return "v";
    case CR_OPTIM_ADAGRAD: case CR_OPTIM_RMSPROP:
        return "r";
    case CR_OPTIM_ADAM: case CR_OPTIM_ADAMW:
        return slot == 0 ? "m" : "v";
    default:
        return "?";
    }
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
    cr_optim *o = cr_calloc(1, sizeof *o);
    if (!o) goto nomem;
    o->cfg = *cfg;
    o->params = params;
    o->n = cr_params_count(params);
    o->nslots = cr__optim_slots(cfg->kind);
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
            snprintf(o->names[k], CR_STATE_NAME_MAX, "%s.%s",
                     cr__optim_slot_prefix(cfg->kind, s), cr_params_name(params, i));
            if (cfg->kind == CR_OPTIM_ADAGRAD)
                cr_tensor_fill(o->state[k], (cr_real)cfg->initial_accumulator);
        }
    if (err && errsize) err[0] = '\0';
    return o;
nomem:
    cr_optim_free(o);
    cr__errf(CR_ERR_NOMEM, err, errsize, "optim: out of memory");
    return NULL;
}

#ifdef CR_REAL_DOUBLE
static inline cr_real sqrt_real(cr_real x) { return sqrt(x); }
#define CR_REAL_MIN_NORMAL DBL_MIN
#else
static inline cr_real sqrt_real(cr_real x) { return sqrtf(x); }
#define CR_REAL_MIN_NORMAL FLT_MIN
#endif

/* One parameter tensor: n elements of theta/grad, state arrays s0/s1 (or NULL). */
static void update(const cr_optim_config *c, long t, size_t n, cr_real *restrict theta,
                   const cr_real *restrict grad, cr_real *restrict s0, cr_real *restrict s1)
{
    /* Updates run in cr_real, as PyTorch does for float tensors: a double
     * detour costs a conversion per element and halves the vector width, and the
     * update is memory-bound work on every step (about a fifth of an SGD epoch). */
    const double lr = c->lr, wd = c->weight_decay, eps = c->eps;
    const cr_real lr_r = (cr_real)lr, wd_r = (cr_real)wd, eps_r = (cr_real)eps;
    switch (c->kind) {
    case CR_OPTIM_SGD:
        for (size_t i = 0; i < n; i++) theta[i] -= lr_r * (grad[i] + wd_r * theta[i]);
        break;
    case CR_OPTIM_MOMENTUM: {
        const cr_real mu = (cr_real)c->momentum;
        for (size_t i = 0; i < n; i++) {      /* v = mu v + g;  theta -= lr v */
            cr_real g = grad[i] + wd_r * theta[i];
            cr_real v = mu * s0[i] + g;
            s0[i] = v;
            theta[i] -= lr_r * v;
        }
        break;
    }
    case CR_OPTIM_NESTEROV: {
        const cr_real mu = (cr_real)c->momentum;
        for (size_t i = 0; i < n; i++) {      /* v = mu v + g;  theta -= lr (g + mu v) */
            cr_real g = grad[i] + wd_r * theta[i];
            cr_real v = mu * s0[i] + g;
            s0[i] = v;
            theta[i] -= lr_r * (g + mu * v);
        }
        break;
    }
    case CR_OPTIM_ADAGRAD:
        for (size_t i = 0; i < n; i++) {
            cr_real g = grad[i] + wd_r * theta[i];
            cr_real r = s0[i] + g * g;
            s0[i] = r;
            theta[i] -= lr_r * (g / (sqrt_real(r) + eps_r));
        }
        break;
    case CR_OPTIM_RMSPROP: {
        const cr_real rho = (cr_real)c->rho, a = (cr_real)(1 - c->rho);
        for (size_t i = 0; i < n; i++) {
            cr_real g = grad[i] + wd_r * theta[i];
            cr_real r = rho * s0[i] + a * g * g;
            s0[i] = r;
            theta[i] -= lr_r * (g / (sqrt_real(r) + eps_r));
        }
        break;
    }
    case CR_OPTIM_ADAM:
    case CR_OPTIM_ADAMW: {
        /* The hot optimizer: computed in cr_real (as PyTorch does for float
         * tensors) with the bias corrections folded into two constants, so the
         * loop is plain multiply-add, one sqrt and one divide per element, and
         * vectorises. theta -= step * m / (sqrt(v) * inv_bc2 + eps) is the same
         * as step * m / (sqrt(v) / sqrt(1 - b2^t) + eps). */
        const cr_real b1 = (cr_real)c->beta1, b2 = (cr_real)c->beta2;
        const cr_real a1 = (cr_real)(1 - c->beta1), a2 = (cr_real)(1 - c->beta2);
        const cr_real step = (cr_real)(lr / (1 - pow(c->beta1, (double)t)));
        const cr_real inv_bc2 = (cr_real)(1 / sqrt(1 - pow(c->beta2, (double)t)));
        const cr_real e = (cr_real)eps;
        const cr_real shrink = (cr_real)(c->kind == CR_OPTIM_ADAMW ? 1 - lr * wd : 1);
        const cr_real l2 = (cr_real)(c->kind == CR_OPTIM_ADAMW ? 0 : wd);
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
        break;
    }
    }
}

/* One parameter's update split by element range over the pool: each element's
 * update reads and writes that element only, so any split gives the same bits. */
typedef struct update_job {
    const cr_optim_config *c;
    long t;
    cr_real *theta, *s0, *s1;
    const cr_real *grad;
} update_job;

static void update_range(void *ctx, size_t b, size_t e)
{
    const update_job *j = ctx;
    update(j->c, j->t, e - b, j->theta + b, j->grad + b, j->s0 ? j->s0 + b : NULL,
           j->s1 ? j->s1 + b : NULL);
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
    if (o->t >= CR_OPTIM_MAX_STEPS || o->t == LONG_MAX) return CR_ERR_STATE;   /* no overflow */
    long t = ++o->t;
    for (size_t i = 0; i < o->n; i++) {
        cr_tensor *x = o->x[i];
        cr_real *s0 = o->nslots > 0 ? o->state[i]->data : NULL;
        cr_real *s1 = o->nslots > 1 ? o->state[o->n + i]->data : NULL;
        if (x->size < 2 * UPDATE_GRAIN || cr_pool_threads(o->pool) == 1) {
            update(&o->cfg, t, x->size, x->data, x->grad, s0, s1);
        } else {
            update_job j = { &o->cfg, t, x->data, s0, s1, x->grad };
            cr_pool_for(o->pool, x->size, UPDATE_GRAIN, update_range, &j);
        }
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
