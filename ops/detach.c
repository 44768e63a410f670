/* detach: y = x as a value without history.
 *   y = x;  no gradient flows back: dx += 0, and y itself needs no gradient, so
 *   nothing computed from y sends a gradient through this node.
 * A copy (tensors never alias), recomputed on replay, so a replayed tape sees the
 * current value of x. What truncated backpropagation through time puts between two
 * chunks recorded on one tape, and what batch norm's evaluation path feeds its
 * running statistics through (they have a gradient buffer but must get nothing). */
#include "chainrule.h"

#include <string.h>

static void detach_forward(cr_tape *t, cr_node *n)
{
    (void)t;
    memcpy(n->out->data, n->in[0]->data, n->out->size * sizeof(cr_real));
}

static void detach_backward(cr_tape *t, cr_node *n)
{
    (void)t;
    (void)n;   /* the gradient stops here */
}

static const cr_op detach_op = { "detach", detach_forward, detach_backward };

cr_tensor *cr_detach(cr_tape *t, cr_tensor *x)
{
    if (!cr_check_inputs(t, "detach", 1, &x)) return NULL;
    cr_node *n = cr_record(t, &detach_op, 1, &x, x->ndim, x->shape);
    if (!n) return NULL;
    n->out->flags &= ~CR_REQUIRES_GRAD;
    return cr_run(t, n);
}
