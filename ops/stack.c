/* stack and select: the time axis of a sequence model.
 *   stack:  y = [x_1, ..., x_n] along a NEW axis (torch.stack): every x_k has the
 *           same shape, y has one more dimension, of length n, at axis;
 *           dx_k += dy[.., k, ..] (its slice of the gradient).
 *   select: y = x[.., i, ..] along axis, which is removed (torch.select, x[:, i]);
 *           dx[.., i, ..] += dy (the rest of x gets nothing).
 *   unbind: every select along one axis (torch.unbind), one node per part.
 * Around the axis a tensor is viewed as outer x L x inner, so each outer index
 * moves one contiguous run of inner values; both run on the calling thread (they
 * only move data). */
#include "shape_util.h"
#include "../graph/record.h"

#include <limits.h>
#include <string.h>

/* iarg[0]: axis (of y for stack, of x for select), iarg[1]: select's index. */

/* stack forward (t NULL: y's runs = the inputs) or backward (dx_k += its runs of
 * dy, or = on a first write: CR__BWD_ASSIGNS). */
static void stack_pass(const cr_tape *t, const cr_node *n)
{
    size_t outer, count, inner;
    cr__axis_split(n->out, n->iarg[0], &outer, &count, &inner);
    for (int k = 0; k < n->n_in; k++) {
        const cr_tensor *x = n->in[k];
        if (t && !x->grad) continue;
        const int first = t && cr__grad_fresh(t, k);
        for (size_t o = 0; o < outer; o++) {
            size_t at = (o * count + (size_t)k) * inner;
            if (!t)
                memcpy(n->out->data + at, x->data + o * inner, inner * sizeof(cr_real));
            else if (first)
                memcpy(x->grad + o * inner, n->out->grad + at, inner * sizeof(cr_real));
            else
                cr__add_into(x->grad + o * inner, n->out->grad + at, inner);
        }
    }
}

static void stack_forward(cr_tape *t, cr_node *n)
{
    (void)t;
    stack_pass(NULL, n);
}

static void stack_backward(cr_tape *t, cr_node *n) { stack_pass(t, n); }

static const cr_op stack_op = { "stack", stack_forward, stack_backward };

cr_tensor *cr_stack(cr_tape *t, int n, cr_tensor *const *xs, int axis)
{
    if (!t) return NULL;
    if (n < 1 || !xs) {
        cr_tape_fail(t, CR_ERR_ARG, "stack: needs at least one input, got %d%s", n,
                     xs ? "" : " (xs is NULL)");
        return NULL;
    }
    if (!cr_check_inputs(t, "stack", n, xs)) return NULL;
    const cr_tensor *x0 = xs[0];
    char s0[CR_DIMS_TEXT], sk[CR_DIMS_TEXT];
    cr__tensor_dims(x0, s0, sizeof s0);
    if (x0->ndim >= CR_MAX_DIMS) {
        cr_tape_fail(t, CR_ERR_SHAPE, "stack: inputs are %s (rank %d) but may have rank 0..%d "
                     "(the output adds an axis)", s0, x0->ndim, CR_MAX_DIMS - 1);
        return NULL;
    }
    int ax = cr__axis_resolve(axis, x0->ndim + 1);
    if (ax < 0) {
        cr_tape_fail(t, CR_ERR_SHAPE, "stack: axis %d out of range for a rank-%d result "
                     "(inputs are %s)", axis, x0->ndim + 1, s0);
        return NULL;
    }
    for (int k = 1; k < n; k++) {
        const cr_tensor *x = xs[k];
        int same = x->ndim == x0->ndim;
        for (int d = 0; same && d < x0->ndim; d++)
            if (x->shape[d] != x0->shape[d]) same = 0;
        if (!same) {
            cr_tape_fail(t, CR_ERR_SHAPE, "stack: input %d is %s but input 1 is %s; all must "
                         "have the same shape", k + 1, cr__tensor_dims(x, sk, sizeof sk), s0);
            return NULL;
        }
    }
    int shape[CR_MAX_DIMS];
    for (int d = 0, j = 0; d <= x0->ndim; d++) shape[d] = d == ax ? n : x0->shape[j++];
    cr_node *node = cr_record(t, &stack_op, n, xs, x0->ndim + 1, shape);
    if (!node) return NULL;
    node->iarg[0] = ax;
    return cr__assigns_grads(cr_run(t, node));
}

static void select_forward(cr_tape *t, cr_node *n)
{
    (void)t;
    size_t outer, len, inner;
    cr__axis_split(n->in[0], n->iarg[0], &outer, &len, &inner);
    const cr_real *src = n->in[0]->data + (size_t)n->iarg[1] * inner;
    for (size_t o = 0; o < outer; o++)
        memcpy(n->out->data + o * inner, src + o * len * inner, inner * sizeof(cr_real));
}

static void select_backward(cr_tape *t, cr_node *n)
{
    (void)t;
    cr_tensor *x = n->in[0];
    if (!x->grad) return;
    size_t outer, len, inner;
    cr__axis_split(x, n->iarg[0], &outer, &len, &inner);
    cr_real *dx = x->grad + (size_t)n->iarg[1] * inner;
    for (size_t o = 0; o < outer; o++)
        cr__add_into(dx + o * len * inner, n->out->grad + o * inner, inner);
}

static const cr_op select_op = { "select", select_forward, select_backward };

cr_tensor *cr_select(cr_tape *t, cr_tensor *x, int axis, int index)
{
    if (!cr_check_inputs(t, "select", 1, &x)) return NULL;
    char sx[CR_DIMS_TEXT];
    cr__tensor_dims(x, sx, sizeof sx);
    int ax = cr__axis_resolve(axis, x->ndim);
    if (ax < 0) {
        cr_tape_fail(t, CR_ERR_SHAPE, "select: axis %d out of range for %s (rank %d)", axis,
                     sx, x->ndim);
        return NULL;
    }
    int len = x->shape[ax];
    if (index < -len || index >= len) {
        cr_tape_fail(t, CR_ERR_SHAPE, "select: index %d is outside %d..%d (axis %d of %s)",
                     index, -len, len - 1, ax, sx);
        return NULL;
    }
    if (index < 0) index += len;
    int shape[CR_MAX_DIMS];
    int nd = cr__reduced_shape(x, ax, 0, shape);
    cr_node *n = cr_record(t, &select_op, 1, &x, nd, shape);
    if (!n) return NULL;
    n->iarg[0] = ax;
    n->iarg[1] = index;
    return cr_run(t, n);
}

int cr_unbind(cr_tape *t, cr_tensor *x, int axis, cr_tensor **out, int cap)
{
    if (!cr_check_inputs(t, "unbind", 1, &x)) return 0;
    int ax = cr__axis_resolve(axis, x->ndim);
    if (ax < 0) {
        cr_tape_fail(t, CR_ERR_SHAPE, "unbind: axis %d out of range for rank %d", axis,
                     x->ndim);
        return 0;
    }
    int len = x->shape[ax];
    if (!out || cap < len) {
        cr_tape_fail(t, CR_ERR_ARG, "unbind: axis %d has %d parts but out has room for %d",
                     ax, len, out ? cap : 0);
        return 0;
    }
    for (int i = 0; i < len; i++) {
        out[i] = cr_select(t, x, ax, i);
        if (!out[i]) return 0;
    }
    return len;
}
