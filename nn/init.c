/* Initializers: fill a heap tensor's values from an explicit generator.
 * Fan convention (documented in the header): a rank-2 W is in x out, so
 * fan_in = rows and fan_out = columns; extra dimensions multiply both.
 *   Xavier/Glorot: Var = 2/(fan_in+fan_out)  (uniform limit sqrt(6/(fan_in+fan_out)))
 *   He/Kaiming:    Var = 2/fan_in            (uniform limit sqrt(6/fan_in))
 * A uniform U(-a, a) has variance a^2/3, hence the sqrt(6/...) limits. */
#include "chainrule.h"
#include "../graph/names.h"

#include <math.h>

void cr_fans(const cr_tensor *x, int *fan_in, int *fan_out)
{
    int fi = 1, fo = 1;
    if (x && x->ndim == 1) {
        fi = fo = x->shape[0];
    } else if (x && x->ndim >= 2) {
        int rf = 1;
        for (int i = 2; i < x->ndim; i++) rf *= x->shape[i];
        fi = x->shape[0] * rf;
        fo = x->shape[1] * rf;
    }
    if (fan_in) *fan_in = fi;
    if (fan_out) *fan_out = fo;
}

cr_status cr_init_constant(cr_tensor *x, cr_real v)
{
    if (!x) return CR_ERR_ARG;
    cr_tensor_fill(x, v);
    return CR_OK;
}

cr_status cr_init_uniform(cr_tensor *x, cr_rng *rng, cr_real lo, cr_real hi)
{
    if (!x || !rng || !(lo <= hi)) return CR_ERR_ARG;
    cr_tensor_rand_uniform(x, rng, lo, hi);
    return CR_OK;
}

cr_status cr_init_normal(cr_tensor *x, cr_rng *rng, cr_real mean, cr_real std)
{
    if (!x || !rng || !(std >= 0)) return CR_ERR_ARG;
    cr_tensor_rand_normal(x, rng, mean, std);
    return CR_OK;
}

cr_status cr_init_xavier_uniform(cr_tensor *x, cr_rng *rng)
{
    int fi, fo;
    cr_fans(x, &fi, &fo);
    cr_real a = (cr_real)sqrt(6.0 / ((double)fi + fo));
    return cr_init_uniform(x, rng, -a, a);
}

cr_status cr_init_xavier_normal(cr_tensor *x, cr_rng *rng)
{
    int fi, fo;
    cr_fans(x, &fi, &fo);
    return cr_init_normal(x, rng, 0, (cr_real)sqrt(2.0 / ((double)fi + fo)));
}

cr_status cr_init_he_uniform(cr_tensor *x, cr_rng *rng)
{
    int fi;
    cr_fans(x, &fi, NULL);
    cr_real a = (cr_real)sqrt(6.0 / fi);
    return cr_init_uniform(x, rng, -a, a);
}

cr_status cr_init_he_normal(cr_tensor *x, cr_rng *rng)
{
    int fi;
    cr_fans(x, &fi, NULL);
    return cr_init_normal(x, rng, 0, (cr_real)sqrt(2.0 / fi));
}

cr_status cr_init(cr_tensor *x, cr_init_kind k, cr_rng *rng)
{
    switch (k) {
    case CR_INIT_ZEROS: return cr_init_constant(x, 0);
    case CR_INIT_AUTO:
    case CR_INIT_XAVIER_UNIFORM: return cr_init_xavier_uniform(x, rng);
    case CR_INIT_XAVIER_NORMAL: return cr_init_xavier_normal(x, rng);
    case CR_INIT_HE_UNIFORM: return cr_init_he_uniform(x, rng);
    case CR_INIT_HE_NORMAL: return cr_init_he_normal(x, rng);
    }
    return CR_ERR_ARG;
}

static const struct {
    const char *name;
    cr_init_kind kind;
} names[] = {
    { "auto", CR_INIT_AUTO },
    { "zeros", CR_INIT_ZEROS },
    { "xavier_uniform", CR_INIT_XAVIER_UNIFORM },
    { "glorot_uniform", CR_INIT_XAVIER_UNIFORM },
    { "xavier_normal", CR_INIT_XAVIER_NORMAL },
    { "glorot_normal", CR_INIT_XAVIER_NORMAL },
    { "he_uniform", CR_INIT_HE_UNIFORM },
    { "kaiming_uniform", CR_INIT_HE_UNIFORM },
    { "he_normal", CR_INIT_HE_NORMAL },
    { "kaiming_normal", CR_INIT_HE_NORMAL },
};

cr_status cr_init_from_name(const char *name, cr_init_kind *out)
{
    int i = CR__NAME_INDEX(names, name);
    if (i < 0 || !out) return CR_ERR_ARG;
    *out = names[i].kind;
    return CR_OK;
}
