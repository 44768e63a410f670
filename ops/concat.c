/* concat: y = [x_1, x_2, ..., x_n] joined along one axis; every other dimension
 * agrees. dx_k += the block of dy that x_k filled. Each tensor is viewed as
 * outer x L_k x inner around the axis, so for every outer index input k fills one
 * contiguous run of L_k*inner values of the output. */
#include "shape_util.h"

#include <limits.h>
#include <string.h>

/* iarg[0]: axis (resolved). */

/* Forward (y's blocks = the inputs) or backward (dx_k += its block of dy): the
 * one walk over the inputs' runs of every outer index. */
static void concat_pass(const cr_node *n, int backward)
{
    int ax = n->iarg[0];
    size_t outer, total, inner;
    cr__axis_split(n->out, ax, &outer, &total, &inner);
    size_t off = 0;
    for (int k = 0; k < n->n_in; k++) {
        const cr_tensor *x = n->in[k];
        size_t run = (size_t)x->shape[ax] * inner;
        if (!backward)
            for (size_t o = 0; o < outer; o++)
                memcpy(n->out->data + o * total * inner + off, x->data + o * run,
                       run * sizeof(cr_real));
        else if (x->grad)
            for (size_t o = 0; o < outer; o++)
                cr__add_into(x->grad + o * run, n->out->grad + o * total * inner + off, run);
        off += run;
    }
}

static void concat_forward(cr_tape *t, cr_node *n)
{
    (void)t;
    concat_pass(n, 0);
}

static void concat_backward(cr_tape *t, cr_node *n)
{
    (void)t;
    concat_pass(n, 1);
}

static const cr_op concat_op = { "concat", concat_forward, concat_backward };

cr_tensor *cr_concat(cr_tape *t, int n, cr_tensor *const *xs, int axis)
{
    if (!t) return NULL;
    if (n < 1) {
        cr_tape_fail(t, CR_ERR_ARG, "concat: needs at least one input, got %d", n);
        return NULL;
    }
    if (!cr_check_inputs(t, "concat", n, xs)) return NULL;
    const cr_tensor *x0 = xs[0];
    char s0[CR_DIMS_TEXT], sk[CR_DIMS_TEXT];
    cr__tensor_dims(x0, s0, sizeof s0);
    int ax = cr__axis_resolve(axis, x0->ndim);
    if (ax < 0) {
        cr_tape_fail(t, CR_ERR_SHAPE, "concat: axis %d out of range for rank %d (input 1 is %s)",
                     axis, x0->ndim, s0);
        return NULL;
    }
    long long total = 0;
    for (int k = 0; k < n; k++) {
        const cr_tensor *x = xs[k];
        int same = x->ndim == x0->ndim;
        for (int d = 0; same && d < x0->ndim; d++)
            if (d != ax && x->shape[d] != x0->shape[d]) same = 0;
        if (!same) {
            cr_tape_fail(t, CR_ERR_SHAPE, "concat: input %d is %s but input 1 is %s; they must "
                         "agree outside axis %d", k + 1, cr__tensor_dims(x, sk, sizeof sk), s0,
                         ax);
            return NULL;
        }
        total += x->shape[ax];
    }
    if (total > INT_MAX) {
        cr_tape_fail(t, CR_ERR_SHAPE, "concat: %lld elements along axis %d do not fit in a "
                     "dimension", total, ax);
        return NULL;
    }
    int shape[CR_MAX_DIMS];
    for (int d = 0; d < x0->ndim; d++) shape[d] = x0->shape[d];
    shape[ax] = (int)total;
    cr_node *node = cr_record(t, &concat_op, n, xs, x0->ndim, shape);
    if (!node) return NULL;
    node->iarg[0] = ax;
    return cr_run(t, node);
}
