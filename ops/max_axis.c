/* max_axis: y[o,i] = max_l x[o,l,i];  dx[o,l*,i] += g[o,i] where l* is the FIRST l
 * reaching the maximum (ties give the whole gradient to the earliest element; a NaN
 * in the row wins and takes the gradient, so NaN propagates). x is viewed as
 * outer x L x inner around the axis. The argmax indices live in arena scratch
 * (n->aux), rewritten by every forward, so replay moves the gradient with the data. */
#include "shape_util.h"

/* iarg[0]: axis (resolved). aux: int32 argmax per output element. */

static void max_axis_forward(cr_tape *t, cr_node *n)
{
    (void)t;
    const cr_tensor *x = n->in[0];
    size_t outer, len, inner;
    cr__axis_split(x, n->iarg[0], &outer, &len, &inner);
    cr_real *y = n->out->data;
    int32_t *arg = n->aux;
    for (size_t o = 0; o < outer; o++) {
        const cr_real *xo = x->data + o * len * inner;
        cr_real *yo = y + o * inner;
        int32_t *ao = arg + o * inner;
        for (size_t i = 0; i < inner; i++) {
            yo[i] = xo[i];
            ao[i] = 0;
        }
        for (size_t l = 1; l < len; l++) {
            const cr_real *row = xo + l * inner;
            for (size_t i = 0; i < inner; i++) {
                cr_real v = row[i];
                /* strictly greater keeps the first maximum; v != v lets a NaN win once */
                if (v > yo[i] || (v != v && yo[i] == yo[i])) {
                    yo[i] = v;
                    ao[i] = (int32_t)l;
                }
            }
        }
    }
}

static void max_axis_backward(cr_tape *t, cr_node *n)
{
    (void)t;
    cr_tensor *x = n->in[0];
    if (!x->grad) return;
    size_t outer, len, inner;
    cr__axis_split(x, n->iarg[0], &outer, &len, &inner);
    const cr_real *g = n->out->grad;
    const int32_t *arg = n->aux;
    for (size_t o = 0; o < outer; o++)
        for (size_t i = 0; i < inner; i++) {
            size_t k = o * inner + i;
            x->grad[(o * len + (size_t)arg[k]) * inner + i] += g[k];
        }
}

static const cr_op max_axis_op = { "max_axis", max_axis_forward, max_axis_backward };

cr_tensor *cr_max_axis(cr_tape *t, cr_tensor *x, int axis, int keepdim)
{
    if (!cr_check_inputs(t, "max_axis", 1, &x)) return NULL;
    int ax = cr__axis_resolve(axis, x->ndim);
    if (ax < 0) {
        cr_tape_fail(t, CR_ERR_SHAPE, "max_axis: axis %d out of range for rank %d", axis,
                     x->ndim);
        return NULL;
    }
    int shape[CR_MAX_DIMS];
    int nd = cr__reduced_shape(x, ax, keepdim, shape);
    cr_node *n = cr_record(t, &max_axis_op, 1, &x, nd, shape);
    if (!n) return NULL;
    n->iarg[0] = ax;
    n->aux = cr_tape_alloc(t, n->out->size * sizeof(int32_t));
    if (!n->aux) return NULL;
    return cr_run(t, n);
}
