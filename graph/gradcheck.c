/* Gradient check by central differences: (f(x+h) - f(x-h)) / 2h per element. */
#include "tape_internal.h"

#include <math.h>
#include <string.h>

/* Evaluate build() on a fresh recording and return its scalar value (NaN on error). */
static double eval(cr_tape *t, cr_build_fn build, cr_tensor *const *in, int n, void *user,
                   cr_status *st)
{
    cr_tape_reset(t);
    int mode = cr_tape_set_grad_mode(t, 0);
    cr_tensor *f = build(t, in, n, user);
    cr_tape_set_grad_mode(t, mode);
    if (!f || f->size != 1) {
        *st = t->err != CR_OK ? t->err : CR_ERR_SHAPE;
        return NAN;
    }
    return f->data[0];
}

static cr_status analytic(cr_tape *t, cr_build_fn build, cr_tensor *const *in, int n,
                          void *user, cr_real **grads)
{
    cr_tape_reset(t);
    for (int k = 0; k < n; k++) cr_tensor_zero_grad(in[k]);
    cr_tensor *f = build(t, in, n, user);
    cr_status s = cr_backward(t, f);
    if (s != CR_OK) return s;
    for (int k = 0; k < n; k++) {
        grads[k] = cr_malloc(in[k]->size * sizeof(cr_real));
        if (!grads[k]) return CR_ERR_NOMEM;
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
                       double h, cr_gradcheck_result *res)
{
    if (!build || !inputs || n < 1 || n > 64 || !res) return CR_ERR_ARG;
    for (int k = 0; k < n; k++)
        if (!inputs[k] || !(inputs[k]->flags & CR_HEAP) || !inputs[k]->grad) return CR_ERR_ARG;
    if (h <= 0) h = sizeof(cr_real) == 8 ? 1e-6 : 1e-2;
    memset(res, 0, sizeof *res);
    res->worst_input = -1;
    cr_tape *t = cr_tape_new(0);
    if (!t) return CR_ERR_NOMEM;
    cr_real *grads[64] = { 0 };
    cr_status s = analytic(t, build, inputs, n, user, grads);
    for (int k = 0; k < n && s == CR_OK; k++) {
        cr_tensor *x = inputs[k];
        for (size_t i = 0; i < x->size && s == CR_OK; i++) {
            cr_real keep = x->data[i];
            x->data[i] = (cr_real)(keep + h);
            double hi = (double)x->data[i];
            double fp = eval(t, build, inputs, n, user, &s);
            x->data[i] = (cr_real)(keep - h);
            double lo = (double)x->data[i];
            double fm = eval(t, build, inputs, n, user, &s);
            x->data[i] = keep;
            compare(res, k, i, grads[k][i], (fp - fm) / (hi - lo));
        }
    }
    for (int k = 0; k < n; k++) cr_free(grads[k]);
    cr_tape_free(t);
    return s;
}
