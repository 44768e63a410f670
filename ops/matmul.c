/* matmul: C = op(A) op(B), op(X) = X or X^T by flag; A, B, C row-major 2-D.
 *   op(A) is M x K, op(B) is K x N, C (and its gradient G) is M x N.
 *   d op(A) = G op(B)^T   (M x K)      d op(B) = op(A)^T G   (K x N)
 * With a transposed input the gradient of the stored matrix is the transpose of
 * that: dA = op(B) G^T (K x M) when ta, dB = G^T op(A) (N x K) when tb.
 * Every product is one cr_gemm call with transpose flags and beta = 1, so the
 * gradients accumulate in place and no transpose is ever copied; beta = 0 when the
 * gradient buffer is written first (first write assigns, graph/record.h). */
#include "shape_util.h"
#include "../graph/record.h"

/* iarg: [0] ta, [1] tb, [2] M, [3] N; K is read from the shapes. */
static int inner_dim(const cr_tensor *a, int ta) { return ta ? a->shape[0] : a->shape[1]; }

static void matmul_forward(cr_tape *t, cr_node *n)
{
    const cr_tensor *a = n->in[0], *b = n->in[1];
    int ta = n->iarg[0], tb = n->iarg[1], M = n->iarg[2], N = n->iarg[3];
    int K = inner_dim(a, ta);
    cr_gemm(cr_tape_pool(t), ta, tb, M, N, K, 1, a->data, a->shape[1], b->data, b->shape[1],
            0, n->out->data, N);
}

static void matmul_backward(cr_tape *t, cr_node *n)
{
    cr_tensor *a = n->in[0], *b = n->in[1];
    int ta = n->iarg[0], tb = n->iarg[1], M = n->iarg[2], N = n->iarg[3];
    int K = inner_dim(a, ta);
    int lda = a->shape[1], ldb = b->shape[1];
    const cr_real *g = n->out->grad;                 /* M x N */
    cr_pool *pool = cr_tape_pool(t);
    /* beta 0 on a first write (CR__BWD_ASSIGNS): C is only written */
    const cr_real beta_a = cr__grad_fresh(t, 0) ? 0 : 1, beta_b = cr__grad_fresh(t, 1) ? 0 : 1;
    if (a->grad) {
        if (!ta)   /* dA (M x K) += G op(B)^T */
            cr_gemm(pool, 0, !tb, M, K, N, 1, g, N, b->data, ldb, beta_a, a->grad, lda);
        else       /* dA (K x M) += op(B) G^T */
            cr_gemm(pool, tb, 1, K, M, N, 1, b->data, ldb, g, N, beta_a, a->grad, lda);
    }
    if (b->grad) {
        if (!tb)   /* dB (K x N) += op(A)^T G */
            cr_gemm(pool, !ta, 0, K, N, M, 1, a->data, lda, g, N, beta_b, b->grad, ldb);
        else       /* dB (N x K) += G^T op(A) */
            cr_gemm(pool, 1, ta, N, K, M, 1, g, N, a->data, lda, beta_b, b->grad, ldb);
    }
}

static const cr_op matmul_op = { "matmul", matmul_forward, matmul_backward };

cr_tensor *cr_matmul(cr_tape *t, cr_tensor *a, cr_tensor *b, int ta, int tb)
{
    cr_tensor *in[2] = { a, b };
    if (!cr_check_inputs(t, "matmul", 2, in)) return NULL;
    char sa[CR_DIMS_TEXT], sb[CR_DIMS_TEXT];
    cr__tensor_dims(a, sa, sizeof sa);
    cr__tensor_dims(b, sb, sizeof sb);
    if (a->ndim != 2 || b->ndim != 2) {
        cr_tape_fail(t, CR_ERR_SHAPE, "matmul: a and b must be 2-D but a is %s and b is %s "
                     "(reshape vectors to 1xN or Nx1)", sa, sb);
        return NULL;
    }
    ta = ta != 0;
    tb = tb != 0;
    int ka = inner_dim(a, ta), kb = tb ? b->shape[1] : b->shape[0];
    if (ka != kb) {
        cr_tape_fail(t, CR_ERR_SHAPE, "matmul: a is %s%s but b is %s%s (inner dimensions %d "
                     "and %d differ)", sa, ta ? " transposed" : "", sb,
                     tb ? " transposed" : "", ka, kb);
        return NULL;
    }
    int shape[2] = { ta ? a->shape[1] : a->shape[0], tb ? b->shape[0] : b->shape[1] };
    cr_node *n = cr_record(t, &matmul_op, 2, in, 2, shape);
    if (!n) return NULL;
    n->iarg[0] = ta;
    n->iarg[1] = tb;
    n->iarg[2] = shape[0];
    n->iarg[3] = shape[1];
    return cr__assigns_grads(cr_run(t, n));
}
