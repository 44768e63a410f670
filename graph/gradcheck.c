/* Gradient check by central differences: (f(x+h) - f(x-h)) / 2h per element. */
#include "errf.h"
#include "tape_internal.h"

#include <math.h>
#include <string.h>

/* The message of a failed build: the tape's error, or what is wrong with f. */
static cr_status build_failed(const cr_tape *t, const cr_tensor *f, char *err, size_t errsize)
{
    if (t->err != CR_OK)
        return cr__errf(t->err, err, errsize, "gradcheck: %s", cr_tape_error(t));
    if (!f)
        return cr__errf(CR_ERR_ARG, err, errsize,
                        "gradcheck: build returned NULL without a tape error");
    return cr__errf(CR_ERR_SHAPE, err, errsize,
                    "gradcheck: build returned %zu values, not a scalar", f->size);
}

/* Evaluate build() on a fresh recording and return its scalar value (NaN on error). */
static double eval(cr_tape *t, cr_build_fn build, cr_tensor *const *in, int n, void *user,
                   cr_status *st, char *err, size_t errsize)
{
    cr_tape_reset(t);
    int mode = cr_tape_set_grad_mode(t, 0);
    cr_tensor *f = build(t, in, n, user);
    cr_tape_set_grad_mode(t, mode);
    if (!f || f->size != 1) {
        *st = build_failed(t, f, err, errsize);
        return NAN;
    }
    return f->data[0];
}

static cr_status analytic(cr_tape *t, cr_build_fn build, cr_tensor *const *in, int n,
                          void *user, cr_real **grads, char *err, size_t errsize)
{
    cr_tape_reset(t);
    for (int k = 0; k < n; k++) cr_tensor_zero_grad(in[k]);
    cr_tensor *f = build(t, in, n, user);
    if (!f || f->size != 1) return build_failed(t, f, err, errsize);
    cr_status s = cr_backward(t, f);
    if (s != CR_OK) return cr__errf(s, err, errsize, "gradcheck: %s", cr_tape_error(t));
    for (int k = 0; k < n; k++) {
        grads[k] = cr_malloc(in[k]->size * sizeof(cr_real));
        if (!grads[k]) return cr__errf(CR_ERR_NOMEM, err, errsize, "gradcheck: out of memory");
        memcpy(grads[k], in[k]->grad, in[k]->size * sizeof(cr_real));
    }
    return CR_OK;
}

static void compare(cr_gradcheck_result *res, int k, size_t i, double a, double num)
{
    double abs_err = fabs(a - num);
    double scale = fmax(1.0, fmax(fabs(a), fabs(num)));
    double rel = abs_err / scale;
    if (abs_err > res->max_abs_err) res->max_abs_err = abs_err;
    if (rel > res->max_rel_err || res->worst_input < 0) {
        res->max_rel_err = rel;
        res->worst_input = k;
        res->worst_index = i;
        res->analytic = a;
        res->numeric = num;
    }
}

cr_status cr_gradcheck(cr_build_fn build, cr_tensor *const *inputs, int n, void *user,
                       double h, cr_gradcheck_result *res, char *err, size_t errsize)
{
    if (!build || !inputs || !res)
        return cr__errf(CR_ERR_ARG, err, errsize, "gradcheck: %s is NULL",
                        !build ? "build" : !inputs ? "inputs" : "res");
    if (n < 1 || n > 64)
        return cr__errf(CR_ERR_ARG, err, errsize, "gradcheck: n = %d inputs (1..64)", n);
    for (int k = 0; k < n; k++)
        if (!inputs[k] || !(inputs[k]->flags & CR_HEAP) || !inputs[k]->grad)
            return cr__errf(CR_ERR_ARG, err, errsize,
                            "gradcheck: input %d is %s", k, !inputs[k] ? "NULL" :
                            "not a parameter (a heap tensor with a gradient: cr_param_new)");
    if (h <= 0) h = sizeof(cr_real) == 8 ? 1e-6 : 1e-2;
    memset(res, 0, sizeof *res);
    res->worst_input = -1;
    cr_tape *t = cr_tape_new(0);
    if (!t) return cr__errf(CR_ERR_NOMEM, err, errsize, "gradcheck: out of memory");
    cr_real *grads[64] = { 0 };
    cr_status s = analytic(t, build, inputs, n, user, grads, err, errsize);
    for (int k = 0; k < n && s == CR_OK; k++) {
        cr_tensor *x = inputs[k];
        for (size_t i = 0; i < x->size && s == CR_OK; i++) {
            cr_real keep = x->data[i];
            x->data[i] = (cr_real)(keep + h);
            double hi = (double)x->data[i];
            double fp = eval(t, build, inputs, n, user, &s, err, errsize);
            x->data[i] = (cr_real)(keep - h);
            double lo = (double)x->data[i];
            double fm = eval(t, build, inputs, n, user, &s, err, errsize);
            x->data[i] = keep;
            compare(res, k, i, grads[k][i], (fp - fm) / (hi - lo));
        }
    }
    for (int k = 0; k < n; k++) cr_free(grads[k]);
    cr_tape_free(t);
    return s;
}
