/* Softmax and log-softmax over the last axis of a 1-D (one row) or 2-D tensor.
 *   softmax:      y_i = e^(x_i - m) / S,  m = max_j x_j,  S = sum_j e^(x_j - m)
 *                 dx_i += y_i (g_i - sum_j g_j y_j)
 *   log_softmax:  y_i = x_i - m - log S
 *                 dx_i += g_i - e^(y_i) sum_j g_j
 * Subtracting the row maximum keeps every exponent <= 0: no overflow for any
 * finite input, and log S is in [0, log C]. Rows are independent: large tensors
 * run their rows on the tape's pool (cr__par_rows), same bits for any thread count. */
#include "ops_internal.h"
#include "shape_util.h"

/* A 1-D x is one row. */
static void rows_cols(const cr_tensor *x, size_t *rows, size_t *cols)
{
    *cols = (size_t)x->shape[x->ndim - 1];
    *rows = x->size / *cols;
}

static cr_real row_max(const cr_real *x, size_t c)
{
    cr_real m = x[0];
    for (size_t j = 1; j < c; j++)
        if (x[j] > m) m = x[j];
    return m;
}

cr_real cr__softmax_row(const cr_real *x, cr_real *p, size_t c, double *sum)
{
    cr_real m = row_max(x, c);
    double s = 0;
    for (size_t j = 0; j < c; j++) {
        p[j] = cr__exp(x[j] - m);
        s += p[j];
    }
    cr_real inv = (cr_real)(1.0 / s);
    for (size_t j = 0; j < c; j++) p[j] *= inv;
    *sum = s;
    return m;
}

/* Rows [r0, r1) of each pass; rows are independent (cr__par_rows). */
static void softmax_fwd(const cr_node *n, size_t r0, size_t r1)
{
    size_t cols = (size_t)n->iarg[0];
    for (size_t r = r0; r < r1; r++) {
        double s;
        cr__softmax_row(n->in[0]->data + r * cols, n->out->data + r * cols, cols, &s);
    }
}

static void softmax_bwd(const cr_node *n, size_t r0, size_t r1)
{
    size_t cols = (size_t)n->iarg[0];
    for (size_t r = r0; r < r1; r++) {
        const cr_real *y = n->out->data + r * cols, *g = n->out->grad + r * cols;
        cr_real *dx = n->in[0]->grad + r * cols;
        double gy = 0;
        for (size_t j = 0; j < cols; j++) gy += (double)g[j] * y[j];
        for (size_t j = 0; j < cols; j++) dx[j] += y[j] * (g[j] - (cr_real)gy);
    }
}

static void log_softmax_fwd(const cr_node *n, size_t r0, size_t r1)
{
    size_t cols = (size_t)n->iarg[0];
    for (size_t r = r0; r < r1; r++) {
        const cr_real *x = n->in[0]->data + r * cols;
        cr_real *y = n->out->data + r * cols;
        cr_real m = row_max(x, cols);
        double s = 0;
        for (size_t j = 0; j < cols; j++) s += cr__exp(x[j] - m);
        cr_real lse = (cr_real)log(s);
        for (size_t j = 0; j < cols; j++) y[j] = (x[j] - m) - lse;
    }
}

static void log_softmax_bwd(const cr_node *n, size_t r0, size_t r1)
{
    size_t cols = (size_t)n->iarg[0];
    for (size_t r = r0; r < r1; r++) {
        const cr_real *y = n->out->data + r * cols, *g = n->out->grad + r * cols;
        cr_real *dx = n->in[0]->grad + r * cols;
        cr_real gs = (cr_real)cr__sum_real(g, cols);
        for (size_t j = 0; j < cols; j++) dx[j] += g[j] - cr__exp(y[j]) * gs;
    }
}

static void softmax_forward(cr_tape *t, cr_node *n)
{
    size_t rows, cols;
    rows_cols(n->in[0], &rows, &cols);
    cr__par_rows(t, n, rows, cols, softmax_fwd);
}

static void softmax_backward(cr_tape *t, cr_node *n)
{
    if (!n->in[0]->grad) return;
    size_t rows, cols;
    rows_cols(n->in[0], &rows, &cols);
    cr__par_rows(t, n, rows, cols, softmax_bwd);
}

static void log_softmax_forward(cr_tape *t, cr_node *n)
{
    size_t rows, cols;
    rows_cols(n->in[0], &rows, &cols);
    cr__par_rows(t, n, rows, cols, log_softmax_fwd);
}

static void log_softmax_backward(cr_tape *t, cr_node *n)
{
    if (!n->in[0]->grad) return;
    size_t rows, cols;
    rows_cols(n->in[0], &rows, &cols);
    cr__par_rows(t, n, rows, cols, log_softmax_bwd);
}

static const cr_op softmax_op = { "softmax", softmax_forward, softmax_backward };
static const cr_op log_softmax_op = { "log_softmax", log_softmax_forward, log_softmax_backward };

static cr_tensor *record(cr_tape *t, cr_tensor *x, const cr_op *op)
{
    if (!cr_check_inputs(t, op->name, 1, &x)) return NULL;
    if (x->ndim < 1 || x->ndim > 2) {
        char s[CR_DIMS_TEXT];
        cr_tape_fail(t, CR_ERR_SHAPE, "%s: x must be 1-D or 2-D (rows x classes) but is %s",
                     op->name, cr__tensor_dims(x, s, sizeof s));
        return NULL;
    }
    cr_node *n = cr_record(t, op, 1, &x, x->ndim, x->shape);
    if (!n) return NULL;
    n->iarg[0] = x->shape[x->ndim - 1];        /* row length */
    return cr_run(t, n);
}

cr_tensor *cr_softmax(cr_tape *t, cr_tensor *x) { return record(t, x, &softmax_op); }
cr_tensor *cr_log_softmax(cr_tape *t, cr_tensor *x) { return record(t, x, &log_softmax_op); }
