/* linear: Y = X W + b, one fused node.
 *   X is N x in (or a vector of length in), W is in x out, b is out (or 1 x out).
 *   dX += G W^T    dW += X^T G    db += sum over rows of G
 * Forward is one GEMM followed by one bias pass; backward is two GEMMs with
 * transpose flags and beta = 1 (accumulating in place) plus a column sum. Large
 * bias passes run on the tape's pool: the forward split by rows, the column sum
 * by columns (each db[j] adds its rows in order, whatever the split). */
#include "ops_internal.h"
#include "shape_util.h"

/* Rows [r0, r1) of Y += b (Y is N x O). */
static void bias_rows(const cr_node *n, size_t r0, size_t r1)
{
    const size_t O = (size_t)n->iarg[2];
    const cr_real *restrict b = n->in[2]->data;
    for (size_t i = r0; i < r1; i++) {
        cr_real *restrict row = n->out->data + i * O;
        for (size_t j = 0; j < O; j++) row[j] += b[j];
    }
}

/* Columns [c0, c1) of db += sum over rows of G, rows in order (split by column,
 * each element sums the same terms in the same order for any split). */
static void bias_grad_cols(const cr_node *n, size_t c0, size_t c1)
{
    const size_t N = (size_t)n->iarg[0], O = (size_t)n->iarg[2];
    cr_real *restrict db = n->in[2]->grad;
    for (size_t i = 0; i < N; i++) {
        const cr_real *restrict row = n->out->grad + i * O;
        for (size_t j = c0; j < c1; j++) db[j] += row[j];
    }
}

/* f over [0, count) rows or columns of a pass that touches N x O elements: on the
 * tape's pool in ranges of about CR__PAR_GRAIN elements when the pass is large. */
static void bias_pass(cr_tape *t, const cr_node *n, size_t count, size_t per_item,
                      cr__node_range f)
{
    if (count * per_item < CR__PAR_MIN) {
        f(n, 0, count);
        return;
    }
    cr__node_job j = { n, f };
    size_t grain = CR__PAR_GRAIN / per_item;
    cr_pool_for(cr_tape_pool(t), count, grain ? grain : 1, cr__node_job_run, &j);
}

static void linear_forward(cr_tape *t, cr_node *n)
{
    const cr_tensor *x = n->in[0], *w = n->in[1];
    int N = n->iarg[0], I = n->iarg[1], O = n->iarg[2];
    cr_real *y = n->out->data;
    cr_gemm(cr_tape_pool(t), 0, 0, N, O, I, 1, x->data, I, w->data, O, 0, y, O);
    if (n->n_in == 3) bias_pass(t, n, (size_t)N, (size_t)O, bias_rows);
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
    if (n->n_in == 3 && n->in[2]->grad) bias_pass(t, n, (size_t)O, (size_t)N, bias_grad_cols);
}

static const cr_op linear_op = { "linear", linear_forward, linear_backward };

cr_tensor *cr_linear(cr_tape *t, cr_tensor *x, cr_tensor *W, cr_tensor *b)
{
    cr_tensor *in[3] = { x, W, b };
    /* b is optional: checked with the others when given */
    if (!cr_check_inputs(t, "linear", b ? 3 : 2, in)) return NULL;
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
