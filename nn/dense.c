/* Dense (fully connected) layer: y = x W + b, recorded as one cr_linear node.
 * x is N x in, W is in x out, b is out (broadcast over the N rows). */
#include "chainrule.h"
#include "../graph/errf.h"

void cr_dense_free(cr_dense *d)
{
    if (!d) return;
    cr_params_free(d->params);     /* references only */
    cr_tensor_free(d->W);
    cr_tensor_free(d->b);
    cr_free(d);
}

cr_dense *cr_dense_new(int in, int out, cr_init_kind init, cr_rng *rng, char *err,
                       size_t errsize)
{
    if (in < 1 || out < 1) {
        cr__errf(CR_ERR_ARG, err, errsize, "dense: %d inputs and %d outputs (both must be >= 1)",
                 in, out);
        return NULL;
    }
    if ((int)init < 0 || (int)init > (int)CR_INIT_HE_NORMAL) {
        cr__errf(CR_ERR_ARG, err, errsize, "dense: unknown init kind %d", (int)init);
        return NULL;
    }
    if (!rng && init != CR_INIT_ZEROS) {
        cr__errf(CR_ERR_ARG, err, errsize, "dense: rng is NULL (only CR_INIT_ZEROS needs none)");
        return NULL;
    }
    cr_dense *d = cr_calloc(1, sizeof *d);
    if (!d) {
        cr__errf(CR_ERR_NOMEM, err, errsize, "dense: out of memory");
        return NULL;
    }
    d->in = in;
    d->out = out;
    int wshape[2] = { in, out };
    d->W = cr_param_new(2, wshape);
    d->b = cr_param_new(1, &out);
    d->params = cr_params_new();
    cr_rng saved = rng ? *rng : (cr_rng){ 0, 0 };  /* the caller's rng is untouched on failure */
    if (!d->W || !d->b || !d->params || cr_init(d->W, init, rng) != CR_OK ||
        cr_params_add(d->params, d->W, "W", NULL, 0) != CR_OK ||
        cr_params_add(d->params, d->b, "b", NULL, 0) != CR_OK) {
        cr_dense_free(d);
        if (rng) *rng = saved;
        cr__errf(CR_ERR_NOMEM, err, errsize, "dense: out of memory for a %dx%d layer", in, out);
        return NULL;
    }
    return d;
}

cr_tensor *cr_dense_forward(cr_tape *t, cr_dense *d, cr_tensor *x)
{
    if (!cr_check_inputs(t, "dense", 1, &x)) return NULL;
    if (!d) {
        cr_tape_fail(t, CR_ERR_ARG, "dense: layer is NULL");
        return NULL;
    }
    if (x->ndim != 2 || x->shape[1] != d->in) {
        char s[48];
        cr_tape_fail(t, CR_ERR_SHAPE, "dense: x is %s but W is %dx%d (x must be N x %d)",
                     cr_shape_str(x, s, sizeof s), d->in, d->out, d->in);
        return NULL;
    }
    return cr_linear(t, x, d->W, d->b);
}
