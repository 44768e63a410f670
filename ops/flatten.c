/* flatten: N x d1 x d2 x .. -> N x (d1 d2 ..), a view (torch.flatten(x, 1)).
 *   y->data is x->data: the row-major order is the same, so no value is copied,
 *   when recorded or on replay (forward has nothing to do), and y has no data
 *   block in the arena.
 *   dx += g, element by element -- but y's gradient buffer IS x's (graph/view.h):
 *   y's consumers already added into dx, so backward adds nothing. Only in a
 *   traced pass, where y gets a buffer of its own, does it add g into dx. */
#include "shape_util.h"
#include "../graph/view.h"

static void flatten_forward(cr_tape *t, cr_node *n)
{
    (void)t;
    (void)n;   /* n->out->data aliases n->in[0]->data */
}

static void flatten_backward(cr_tape *t, cr_node *n)
{
    cr_tensor *x = n->in[0];
    if (x->grad != n->out->grad) cr__same_order_backward(t, n);   /* traced pass only */
}

static const cr_op flatten_op = { "flatten", flatten_forward, flatten_backward };

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
    cr_node *n = cr__record_view(t, &flatten_op, x, 2, shape);
    return n ? cr_run(t, n) : NULL;
}
