/* flatten: N x d1 x d2 x .. -> N x (d1 d2 ..), a view (torch.flatten(x, 1)).
 *   y->data is x->data: the row-major order is the same, so no value is copied,
 *   when recorded or on replay (forward has nothing to do).
 *   dx += g, one pass: y keeps a gradient buffer of its own, because the tape gives
 *   every tensor that needs a gradient its own buffer, zeroed when the reverse pass
 *   first reaches it (graph/backward.c) -- sharing x's buffer would let that zeroing
 *   erase what y's consumers had already added. For the same reason of tape
 *   structure, cr_record reserves y's own data block, which stays unused. */
#include "shape_util.h"

static void flatten_forward(cr_tape *t, cr_node *n)
{
    (void)t;
    (void)n;   /* n->out->data aliases n->in[0]->data */
}

static const cr_op flatten_op = { "flatten", flatten_forward, cr__same_order_backward };

cr_tensor *cr_flatten(cr_tape *t, cr_tensor *x)
{
    if (!cr_check_inputs(t, "flatten", 1, &x)) return NULL;
    if (x->ndim < 2) {
        char sx[CR_DIMS_TEXT];
        cr_tape_fail(t, CR_ERR_SHAPE, "flatten: x must have rank >= 2 (N x ...) but is %s",
                     cr__tensor_dims(x, sx, sizeof sx));
        return NULL;
    }
    if (x->size / (size_t)x->shape[0] > (size_t)INT32_MAX) {
        char sx[CR_DIMS_TEXT];
        cr_tape_fail(t, CR_ERR_SHAPE, "flatten: x is %s: a row of more than 2^31 - 1 values "
                     "does not fit a dimension", cr__tensor_dims(x, sx, sizeof sx));
        return NULL;
    }
    int shape[2] = { x->shape[0], (int)(x->size / (size_t)x->shape[0]) };
    cr_node *n = cr_record(t, &flatten_op, 1, &x, 2, shape);
    if (!n) return NULL;
    n->out->data = x->data;
    return cr_run(t, n);
}
