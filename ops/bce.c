/* bce_with_logits: binary cross-entropy on logits, mean over all n elements.
 *   l_i = max(z_i, 0) - z_i y_i + log(1 + e^-|z_i|)
 *       = -(y_i log s(z_i) + (1 - y_i) log(1 - s(z_i))),  s = sigmoid
 *   loss = (1/n) sum_i l_i
 *   dz_i += g (s(z_i) - y_i) / n        dy_i += g (-z_i) / n
 * The stable form never exponentiates a positive number: finite for any finite z. */
#include "ops_internal.h"
#include "shape_util.h"

static cr_real sigmoid(cr_real z)
{
    if (z >= 0) return 1 / (1 + cr__exp(-z));
    cr_real e = cr__exp(z);
    return e / (1 + e);
}

static void bce_forward(cr_tape *t, cr_node *n)
{
    (void)t;
    const cr_real *z = n->in[0]->data, *y = n->in[1]->data;
    size_t size = n->in[0]->size;
    double total = 0;
    for (size_t i = 0; i < size; i++) {
        cr_real zi = z[i];
        cr_real pos = zi > 0 ? zi : 0, neg_abs = zi < 0 ? zi : -zi;
        total += (double)(pos - zi * y[i]) + (double)cr__log1p(cr__exp(neg_abs));
    }
    n->out->data[0] = (cr_real)(total / (double)size);
}

static void bce_backward(cr_tape *t, cr_node *n)
{
    (void)t;
    cr_tensor *z = n->in[0], *y = n->in[1];
    size_t size = z->size;
    cr_real scale = (cr_real)((double)n->out->grad[0] / (double)size);
    if (z->grad)
        for (size_t i = 0; i < size; i++) z->grad[i] += scale * (sigmoid(z->data[i]) - y->data[i]);
    if (y->grad)
        for (size_t i = 0; i < size; i++) y->grad[i] -= scale * z->data[i];
}

static const cr_op bce_op = { "bce_with_logits", bce_forward, bce_backward };

cr_tensor *cr_bce_with_logits(cr_tape *t, cr_tensor *z, cr_tensor *y)
{
    cr_tensor *in[2] = { z, y };
    if (!cr_check_inputs(t, "bce_with_logits", 2, in)) return NULL;
    int same = z->ndim == y->ndim;
    for (int d = 0; same && d < z->ndim; d++) same = z->shape[d] == y->shape[d];
    if (!same) {
        char sz[CR_DIMS_TEXT], sy[CR_DIMS_TEXT];
        cr_tape_fail(t, CR_ERR_SHAPE, "bce_with_logits: z is %s but y is %s (shapes must match;"
                     " no broadcasting)", cr__tensor_dims(z, sz, sizeof sz),
                     cr__tensor_dims(y, sy, sizeof sy));
        return NULL;
    }
    cr_node *n = cr_record(t, &bce_op, 2, in, 0, NULL);
    return n ? cr_run(t, n) : NULL;
}
