/* Sum and mean, of everything or along one axis.
 *   sum:       y = sum_i x_i              dx_i += g
 *   mean:      y = sum_i x_i / n          dx_i += g / n
 *   sum_axis:  y[o,i] = sum_l x[o,l,i]    dx[o,l,i] += g[o,i]
 *   mean_axis: y[o,i] = sum_l x[o,l,i]/L  dx[o,l,i] += g[o,i] / L
 * x is viewed as outer x L x inner around the axis (L its length). Full sums and
 * sums along the last axis accumulate in double; other axes add whole rows of
 * inner elements at a time (vectorisable), in cr_real. */
#include "shape_util.h"

#include <string.h>

/* iarg[0]: axis (resolved), iarg[1]: 1 for mean. */

static void sum_all_forward(cr_tape *t, cr_node *n)
{
    (void)t;
    const cr_tensor *x = n->in[0];
    double s = cr__sum_real(x->data, x->size);
    n->out->data[0] = (cr_real)(n->iarg[1] ? s / (double)x->size : s);
}

static void sum_all_backward(cr_tape *t, cr_node *n)
{
    (void)t;
    cr_tensor *x = n->in[0];
    if (!x->grad) return;
    cr_real g = n->out->grad[0];
    if (n->iarg[1]) g = (cr_real)((double)g / (double)x->size);
    cr_real *restrict dx = x->grad;
    for (size_t i = 0; i < x->size; i++) dx[i] += g;
}

static const cr_op sum_op = { "sum", sum_all_forward, sum_all_backward };
static const cr_op mean_op = { "mean", sum_all_forward, sum_all_backward };

static cr_tensor *reduce_all(cr_tape *t, cr_tensor *x, const cr_op *op, int mean)
{
    if (!cr_check_inputs(t, op->name, 1, &x)) return NULL;
    cr_node *n = cr_record(t, op, 1, &x, 0, NULL);
    if (!n) return NULL;
    n->iarg[1] = mean;
    return cr_run(t, n);
}

cr_tensor *cr_sum(cr_tape *t, cr_tensor *x) { return reduce_all(t, x, &sum_op, 0); }
cr_tensor *cr_mean(cr_tape *t, cr_tensor *x) { return reduce_all(t, x, &mean_op, 1); }

static void sum_axis_forward(cr_tape *t, cr_node *n)
{
    (void)t;
    const cr_tensor *x = n->in[0];
    size_t outer, len, inner;
    cr__axis_split(x, n->iarg[0], &outer, &len, &inner);
    double scale = n->iarg[1] ? 1.0 / (double)len : 1.0;
    cr_real *y = n->out->data;
    const cr_real *xd = x->data;
    if (inner == 1) {
        for (size_t o = 0; o < outer; o++)
            y[o] = (cr_real)(cr__sum_real(xd + o * len, len) * scale);
        return;
    }
    for (size_t o = 0; o < outer; o++) {
        cr_real *restrict yo = y + o * inner;
        const cr_real *xo = xd + o * len * inner;
        memcpy(yo, xo, inner * sizeof *yo);
        for (size_t l = 1; l < len; l++) {
            const cr_real *restrict row = xo + l * inner;
            for (size_t i = 0; i < inner; i++) yo[i] += row[i];
        }
        if (n->iarg[1])
            for (size_t i = 0; i < inner; i++) yo[i] = (cr_real)(yo[i] * scale);
    }
}

static void sum_axis_backward(cr_tape *t, cr_node *n)
{
    (void)t;
    cr_tensor *x = n->in[0];
    if (!x->grad) return;
    size_t outer, len, inner;
    cr__axis_split(x, n->iarg[0], &outer, &len, &inner);
    cr_real scale = (cr_real)(n->iarg[1] ? 1.0 / (double)len : 1.0);
    const cr_real *g = n->out->grad;
    for (size_t o = 0; o < outer; o++) {
        const cr_real *restrict go = g + o * inner;
        for (size_t l = 0; l < len; l++) {
            cr_real *restrict dx = x->grad + (o * len + l) * inner;
            if (n->iarg[1])
                for (size_t i = 0; i < inner; i++) dx[i] += go[i] * scale;
            else
                for (size_t i = 0; i < inner; i++) dx[i] += go[i];
        }
    }
}

static const cr_op sum_axis_op = { "sum_axis", sum_axis_forward, sum_axis_backward };
static const cr_op mean_axis_op = { "mean_axis", sum_axis_forward, sum_axis_backward };

static cr_tensor *reduce_axis(cr_tape *t, cr_tensor *x, int axis, int keepdim,
                              const cr_op *op, int mean)
{
    if (!cr_check_inputs(t, op->name, 1, &x)) return NULL;
    int ax = cr__axis_resolve(axis, x->ndim);
    if (ax < 0) {
        cr_tape_fail(t, CR_ERR_SHAPE, "%s: axis %d out of range for rank %d", op->name, axis,
                     x->ndim);
        return NULL;
    }
    int shape[CR_MAX_DIMS];
    int nd = cr__reduced_shape(x, ax, keepdim, shape);
    cr_node *n = cr_record(t, op, 1, &x, nd, shape);
    if (!n) return NULL;
    n->iarg[0] = ax;
    n->iarg[1] = mean;
    return cr_run(t, n);
}

cr_tensor *cr_sum_axis(cr_tape *t, cr_tensor *x, int axis, int keepdim)
{
    return reduce_axis(t, x, axis, keepdim, &sum_axis_op, 0);
}

cr_tensor *cr_mean_axis(cr_tape *t, cr_tensor *x, int axis, int keepdim)
{
    return reduce_axis(t, x, axis, keepdim, &mean_axis_op, 1);
}
