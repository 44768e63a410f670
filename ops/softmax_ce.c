/* softmax_cross_entropy: fused softmax + negative log-likelihood, mean over rows.
 *   z is N x C logits (a 1-D z is one row), y holds N class indices as reals.
 *   loss = (1/N) sum_r [ m_r + log S_r - z[r, y_r] ],
 *          m_r = max_j z[r,j],  S_r = sum_j e^(z[r,j] - m_r)      (log-sum-exp)
 *   dz[r,j] += g (p[r,j] - [j == y_r]) / N,   p = softmax(z), kept from forward
 * Every exponent is <= 0, so logits of any finite size give a finite loss.
 * y gets no gradient. Targets are read from y->data on every forward; one outside
 * 0..C-1 (or not a whole number) is an error when recorded, and a NaN loss (and NaN
 * gradient for its row) on replay, where no error can be raised. Large batches
 * run their rows on the tape's pool; the row losses are then added in row order
 * on the calling thread, so the loss is the same bits for any thread count. */
#include "ops_internal.h"
#include "shape_util.h"

typedef struct ce_scratch {
    cr_real *p;          /* N x C softmax probabilities */
    int32_t *target;     /* N class indices, -1 where invalid */
    double *loss;        /* N row losses, summed in row order after the rows */
} ce_scratch;

/* Class index held by v, or -1 when v is not a whole number in 0..C-1. */
static int32_t class_index(cr_real v, int C)
{
    if (!(v >= 0 && v <= (cr_real)(C - 1))) return -1;   /* also rejects NaN */
    int32_t k = (int32_t)v;
    return (cr_real)k == v ? k : -1;
}

/* Rows [r0, r1): probabilities, target and loss of each row (rows are
 * independent, so they may run on any thread). */
static void ce_rows(const cr_node *n, size_t r0, size_t r1)
{
    const cr_tensor *z = n->in[0], *y = n->in[1];
    ce_scratch *s = n->aux;
    size_t C = (size_t)n->iarg[1];
    for (size_t r = r0; r < r1; r++) {
        const cr_real *zr = z->data + r * C;
        cr_real *pr = s->p + r * C;
        double sum;
        cr_real m = cr__softmax_row(zr, pr, C, &sum);
        int32_t k = class_index(y->data[r], (int)C);
        s->target[r] = k;
        s->loss[r] = k < 0 ? NAN : ((double)m - (double)zr[k]) + log(sum);
    }
}

/* Rows of the pool's work: about CR__PAR_GRAIN elements per range. */
static size_t ce_grain(size_t C) { return CR__PAR_GRAIN / C ? CR__PAR_GRAIN / C : 1; }

static void ce_forward(cr_tape *t, cr_node *n)
{
    const ce_scratch *s = n->aux;
    size_t C = (size_t)n->iarg[1], N = n->in[0]->size / C;
    if (n->in[0]->size < CR__PAR_MIN) {
        ce_rows(n, 0, N);
    } else {
        cr__node_job j = { n, ce_rows };
        cr_pool_for(cr_tape_pool(t), N, ce_grain(C), cr__node_job_run, &j);
    }
    double total = 0;
    for (size_t r = 0; r < N; r++) total += s->loss[r];
    n->out->data[0] = (cr_real)(total / (double)N);
}

/* Rows [r0, r1) of dz += g (p - onehot) / N. */
static void ce_grad_rows(const cr_node *n, size_t r0, size_t r1)
{
    const cr_tensor *z = n->in[0];
    const ce_scratch *s = n->aux;
    size_t C = (size_t)n->iarg[1], N = z->size / C;
    cr_real scale = (cr_real)((double)n->out->grad[0] / (double)N);
    for (size_t r = r0; r < r1; r++) {
        cr_real *restrict dz = z->grad + r * C;
        const cr_real *restrict pr = s->p + r * C;
        for (size_t j = 0; j < C; j++) dz[j] += scale * pr[j];
        int32_t k = s->target[r];
        if (k >= 0) dz[k] -= scale;
        else
            for (size_t j = 0; j < C; j++) dz[j] = NAN;
    }
}

static void ce_backward(cr_tape *t, cr_node *n)
{
    cr_tensor *z = n->in[0];
    if (!z->grad) return;
    size_t C = (size_t)n->iarg[1], N = z->size / C;
    if (z->size < CR__PAR_MIN) {
        ce_grad_rows(n, 0, N);
    } else {
        cr__node_job j = { n, ce_grad_rows };
        cr_pool_for(cr_tape_pool(t), N, ce_grain(C), cr__node_job_run, &j);
    }
}

static const cr_op ce_op = { "softmax_cross_entropy", ce_forward, ce_backward };

cr_tensor *cr_softmax_cross_entropy(cr_tape *t, cr_tensor *z, cr_tensor *y)
{
    cr_tensor *in[2] = { z, y };
    if (!cr_check_inputs(t, "softmax_cross_entropy", 2, in)) return NULL;
    char sz[CR_DIMS_TEXT], sy[CR_DIMS_TEXT];
    cr__tensor_dims(z, sz, sizeof sz);
    if (z->ndim < 1 || z->ndim > 2) {
        cr_tape_fail(t, CR_ERR_SHAPE, "softmax_cross_entropy: z must be N x C logits (or a "
                     "vector of C) but is %s", sz);
        return NULL;
    }
    int C = z->shape[z->ndim - 1];
    size_t N = z->size / (size_t)C;
    if (y->size != N) {
        cr_tape_fail(t, CR_ERR_SHAPE, "softmax_cross_entropy: y is %s (%zu targets) but z is "
                     "%s (%zu rows): one class index per row", cr__tensor_dims(y, sy, sizeof sy),
                     y->size, sz, N);
        return NULL;
    }
    for (size_t r = 0; r < N; r++) {
        cr_real v = y->data[r];
        if (class_index(v, C) >= 0) continue;
        if (isfinite(v) && floor(v) == v)
            cr_tape_fail(t, CR_ERR_ARG, "softmax_cross_entropy: target %.0f at row %zu is "
                         "outside 0..%d", (double)v, r, C - 1);
        else
            cr_tape_fail(t, CR_ERR_ARG, "softmax_cross_entropy: target %g at row %zu is not a "
                         "class index (a whole number in 0..%d)", (double)v, r, C - 1);
        return NULL;
    }
    cr_node *n = cr_record(t, &ce_op, 2, in, 0, NULL);
    if (!n) return NULL;
    n->iarg[1] = C;
    ce_scratch *s = cr_tape_alloc(t, sizeof *s);
    if (!s) return NULL;
    s->p = cr_tape_alloc(t, z->size * sizeof(cr_real));
    s->target = cr_tape_alloc(t, N * sizeof(int32_t));
    s->loss = cr_tape_alloc(t, N * sizeof(double));
    if (!s->p || !s->target || !s->loss) return NULL;
    n->aux = s;
    return cr_run(t, n);
}
