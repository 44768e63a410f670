/* reshape: y = x with a new shape of the same size (a copy: tensors never alias);
 * dx += dy element by element (row-major order is unchanged). One target dimension
 * may be -1: it is inferred from the others. */
#include "shape_util.h"

#include <string.h>

static void reshape_forward(cr_tape *t, cr_node *n)
{
    (void)t;
    memcpy(n->out->data, n->in[0]->data, n->out->size * sizeof(cr_real));
}

static const cr_op reshape_op = { "reshape", reshape_forward, cr__same_order_backward };

cr_tensor *cr_reshape(cr_tape *t, cr_tensor *x, int ndim, const int *shape)
{
    if (!cr_check_inputs(t, "reshape", 1, &x)) return NULL;
    char sx[CR_DIMS_TEXT], sy[CR_DIMS_TEXT];
    cr__tensor_dims(x, sx, sizeof sx);
    if (ndim < 0 || ndim > CR_MAX_DIMS || (ndim > 0 && !shape)) {
        cr_tape_fail(t, CR_ERR_SHAPE, "reshape: target rank %d%s is not allowed (rank 0..%d)",
                     ndim, ndim > 0 && !shape ? " with a NULL shape" : "", CR_MAX_DIMS);
        return NULL;
    }
    int dims[CR_MAX_DIMS];
    int infer = -1;
    double known = 1;          /* product of the given dimensions; exact below 2^53 */
    for (int i = 0; i < ndim; i++) {
        dims[i] = shape[i];
        if (shape[i] == -1 && infer < 0) {
            infer = i;
            continue;
        }
        if (shape[i] < 1) {
            cr_tape_fail(t, CR_ERR_SHAPE, "reshape: target %s has dimension %d = %d (each must "
                         "be >= 1, or one of them -1 to infer it)",
                         cr__dims_text(ndim, shape, sy, sizeof sy), i, shape[i]);
            return NULL;
        }
        known *= shape[i];
    }
    double size = (double)x->size;
    if (infer >= 0) {
        if (known > size || x->size % (size_t)known != 0) {
            cr_tape_fail(t, CR_ERR_SHAPE, "reshape: %s (%zu elements) cannot become %s: %zu "
                         "is not a multiple of %.0f", sx, x->size,
                         cr__dims_text(ndim, shape, sy, sizeof sy), x->size, known);
            return NULL;
        }
        dims[infer] = (int)(x->size / (size_t)known);
        known = size;
    }
    if (known != size) {
        cr_tape_fail(t, CR_ERR_SHAPE, "reshape: %s (%zu elements) cannot become %s (%.0f "
                     "elements)", sx, x->size, cr__dims_text(ndim, shape, sy, sizeof sy), known);
        return NULL;
    }
    cr_node *n = cr_record(t, &reshape_op, 1, &x, ndim, dims);
    return n ? cr_run(t, n) : NULL;
}
