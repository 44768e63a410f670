/* transpose: y[j][i] = x[i][j] for a 2-D x (R x C; y is C x R);  dx[i][j] += dy[j][i].
 * Copied in square tiles so that both sides stay in cache. */
#include "shape_util.h"

#define TILE 32

/* dst (cols x rows) = or += src (rows x cols) transposed. */
static void transpose_into(cr_real *restrict dst, const cr_real *restrict src, int rows,
                           int cols, int accumulate)
{
    for (int i0 = 0; i0 < rows; i0 += TILE) {
        int i1 = i0 + TILE < rows ? i0 + TILE : rows;
        for (int j0 = 0; j0 < cols; j0 += TILE) {
            int j1 = j0 + TILE < cols ? j0 + TILE : cols;
            for (int i = i0; i < i1; i++)
                for (int j = j0; j < j1; j++) {
                    cr_real v = src[(size_t)i * cols + j];
                    cr_real *d = &dst[(size_t)j * rows + i];
                    *d = accumulate ? *d + v : v;
                }
        }
    }
}

static void transpose_forward(cr_tape *t, cr_node *n)
{
    (void)t;
    const cr_tensor *x = n->in[0];
    transpose_into(n->out->data, x->data, x->shape[0], x->shape[1], 0);
}

static void transpose_backward(cr_tape *t, cr_node *n)
{
    (void)t;
    cr_tensor *x = n->in[0];
    if (!x->grad) return;
    /* out->grad is C x R; its transpose (R x C) adds into dx */
    transpose_into(x->grad, n->out->grad, x->shape[1], x->shape[0], 1);
}

static const cr_op transpose_op = { "transpose", transpose_forward, transpose_backward };

cr_tensor *cr_transpose(cr_tape *t, cr_tensor *x)
{
    if (!cr_check_inputs(t, "transpose", 1, &x)) return NULL;
    if (x->ndim != 2) {
        char s[CR_DIMS_TEXT];
        cr_tape_fail(t, CR_ERR_SHAPE, "transpose: x must be 2-D but is %s",
                     cr__tensor_dims(x, s, sizeof s));
        return NULL;
    }
    int shape[2] = { x->shape[1], x->shape[0] };
    cr_node *n = cr_record(t, &transpose_op, 1, &x, 2, shape);
    return n ? cr_run(t, n) : NULL;
}
