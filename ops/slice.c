/* slice: y[o,l,i] = x[o,start+l,i] for l in [0, len) along one axis;
 *        dx[o,start+l,i] += dy[o,l,i] (the rest of x gets nothing).
 * x is viewed as outer x L x inner around the axis, so each outer index copies one
 * contiguous run of len*inner values. */
#include "shape_util.h"

#include <string.h>

/* iarg: [0] axis (resolved), [1] start. */

static void slice_forward(cr_tape *t, cr_node *n)
{
    (void)t;
    const cr_tensor *x = n->in[0];
    size_t outer, len, inner;
    cr__axis_split(x, n->iarg[0], &outer, &len, &inner);
    size_t run = (size_t)n->out->shape[n->iarg[0]] * inner;
    const cr_real *src = x->data + (size_t)n->iarg[1] * inner;
    for (size_t o = 0; o < outer; o++)
        memcpy(n->out->data + o * run, src + o * len * inner, run * sizeof(cr_real));
}

static void slice_backward(cr_tape *t, cr_node *n)
{
    (void)t;
    cr_tensor *x = n->in[0];
    if (!x->grad) return;
    size_t outer, len, inner;
    cr__axis_split(x, n->iarg[0], &outer, &len, &inner);
    size_t run = (size_t)n->out->shape[n->iarg[0]] * inner;
    for (size_t o = 0; o < outer; o++) {
        cr_real *restrict dx = x->grad + o * len * inner + (size_t)n->iarg[1] * inner;
        const cr_real *restrict g = n->out->grad + o * run;
        for (size_t i = 0; i < run; i++) dx[i] += g[i];
    }
}

static const cr_op slice_op = { "slice", slice_forward, slice_backward };

cr_tensor *cr_slice(cr_tape *t, cr_tensor *x, int axis, int start, int len)
{
    if (!cr_check_inputs(t, "slice", 1, &x)) return NULL;
    int ax = cr__axis_resolve(axis, x->ndim);
    if (ax < 0) {
        cr_tape_fail(t, CR_ERR_SHAPE, "slice: axis %d out of range for rank %d", axis, x->ndim);
        return NULL;
    }
    int dim = x->shape[ax];
    if (len < 1) {
        cr_tape_fail(t, CR_ERR_SHAPE, "slice: length %d along axis %d must be at least 1",
                     len, ax);
        return NULL;
    }
    if (start < 0 || start > dim - len) {
        cr_tape_fail(t, CR_ERR_SHAPE, "slice: [%d, %lld) exceeds dimension %d of length %d",
                     start, (long long)start + len, ax, dim);
        return NULL;
    }
    int shape[CR_MAX_DIMS];
    for (int i = 0; i < x->ndim; i++) shape[i] = x->shape[i];
    shape[ax] = len;
    cr_node *n = cr_record(t, &slice_op, 1, &x, x->ndim, shape);
    if (!n) return NULL;
    n->iarg[0] = ax;
    n->iarg[1] = start;
    return cr_run(t, n);
}
