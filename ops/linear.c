/* linear: Y = X W + b, one fused node.
 *   X is N x in (or a vector of length in), W is in x out, b is out (or 1 x out).
 *   dX += G W^T    dW += X^T G    db += sum over rows of G
 * Forward is one GEMM followed by one bias pass; backward is two GEMMs with
 * transpose flags and beta = 1 (accumulating in place) plus a column sum. */
#include "shape_util.h"

static void linear_forward(cr_tape *t, cr_node *n)
{
    const cr_tensor *x = n->in[0], *w = n->in[1];
    int N = n->iarg[0], I = n->iarg[1], O = n->iarg[2];
    cr_real *y = n->out->data;
    cr_gemm(cr_tape_pool(t), 0, 0, N, O, I, 1, x->data, I, w->data, O, 0, y, O);
    if (n->n_in < 3) return;
    const cr_real *b = n->in[2]->data;
    for (int i = 0; i < N; i++) {
        cr_real *restrict row = y + (size_t)i * O;
        for (int j = 0; j < O; j++) row[j] += b[j];
    }
}

static void linear_backward(cr_tape *t, cr_node *n)
{
    cr_tensor *x = n->in[0], *w = n->in[1];
    int N = n->iarg[0], I = n->iarg[1], O = n->iarg[2];
    const cr_real *g = n->out->grad;                   /* N x O */
    cr_pool *pool = cr_tape_pool(t);
    if (x->grad)   /* dX (N x I) += G W^T */
        cr_gemm(pool, 0, 1, N, I, O, 1, g, O, w->data, O, 1, x->grad, I);
    if (w->grad)   /* dW (I x O) += X^T G */
        cr_gemm(pool, 1, 0, I, O, N, 1, x->data, I, g, O, 1, w->grad, O);
    if (n->n_in == 3 && n->in[2]->grad) {
        cr_real *restrict db = n->in[2]->grad;
        for (int i = 0; i < N; i++) {
            const cr_real *restrict row = g + (size_t)i * O;
            for (int j = 0; j < O; j++) db[j] += row[j];
        }
    }
}

static const cr_op linear_op = { "linear", linear_forward, linear_backward };

cr_tensor *cr_linear(cr_tape *t, cr_tensor *x, cr_tensor *W, cr_tensor *b)
{
    cr_tensor *in[3] = { x, W, b };
    if (!cr_check_inputs(t, "linear", 2, in)) return NULL;
    char sx[CR_DIMS_TEXT], sw[CR_DIMS_TEXT], sb[CR_DIMS_TEXT];
    cr__tensor_dims(x, sx, sizeof sx);
    cr__tensor_dims(W, sw, sizeof sw);
    if (W->ndim != 2 || x->ndim < 1 || x->ndim > 2) {
        cr_tape_fail(t, CR_ERR_SHAPE, "linear: x must be N x in (or a vector) and W in x out, "
                     "but x is %s and W is %s", sx, sw);
        return NULL;
    }
    int I = W->shape[0], O = W->shape[1];
    int N = x->ndim == 2 ? x->shape[0] : 1;
    int xi = x->shape[x->ndim - 1];
    if (xi != I) {
        cr_tape_fail(t, CR_ERR_SHAPE, "linear: x is %s but W is %s (x has %d features, W "
                     "expects %d)", sx, sw, xi, I);
        return NULL;
    }
    if (b) {
        if (b->tape && b->tape != t) {
            cr_tape_fail(t, CR_ERR_ARG, "linear: input 3 belongs to another tape");
            return NULL;
        }
        int ok = (b->ndim == 1 && b->shape[0] == O) ||
                 (b->ndim == 2 && b->shape[0] == 1 && b->shape[1] == O);
        if (!ok) {
            cr_tape_fail(t, CR_ERR_SHAPE, "linear: b is %s but W is %s (b must have %d "
                         "elements, shape %d or 1x%d)", cr__tensor_dims(b, sb, sizeof sb),
                         sw, O, O, O);
            return NULL;
        }
    }
    int shape[2] = { N, O };
    cr_node *n = x->ndim == 2 ? cr_record(t, &linear_op, b ? 3 : 2, in, 2, shape)
                              : cr_record(t, &linear_op, b ? 3 : 2, in, 1, &O);
    if (!n) return NULL;
    n->iarg[0] = N;
    n->iarg[1] = I;
    n->iarg[2] = O;
    return cr_run(t, n);
}
