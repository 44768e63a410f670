/* Losses, composed from ops (no hand-written backward). Each returns a rank-0
 * tensor; "mean" is over all elements. Formulas, with d = p - y:
 *   mse            mean d^2
 *   mae            mean |d|
 *   huber(delta)   mean [ 0.5 q^2 + delta r ],  r = relu(|d| - delta), q = |d| - r
 *                  (q = min(|d|, delta): 0.5 d^2 inside, delta(|d| - delta/2) outside)
 *   hinge          mean relu(1 - y p)
 *   squared hinge  mean 0.5 relu(1 - y p)^2
 *   multiclass     (1/(N C)) sum_n sum_{j != y_n} relu(1 - z[n,y_n] + z[n,j])
 *   bce            -mean [ y max(log p, -100) + (1-y) max(log(1-p), -100) ]
 *   softmax ce     -(1/N) sum y * log_softmax(z)       (soft targets)
 *   l2             (lambda/2) sum ||W||^2 */
#include "chainrule.h"

#include <math.h>

/* Check both inputs and that they have the same shape; the error names the loss. */
static int same_shape(cr_tape *t, const char *loss, cr_tensor *p, cr_tensor *y)
{
    cr_tensor *in[2] = { p, y };
    if (!cr_check_inputs(t, loss, 2, in)) return 0;
    int same = p->ndim == y->ndim;
    for (int i = 0; same && i < p->ndim; i++) same = p->shape[i] == y->shape[i];
    if (!same) {
        char a[48], b[48];
        cr_tape_fail(t, CR_ERR_SHAPE, "%s: prediction is %s but target is %s (shapes must "
                     "be equal)", loss, cr_shape_str(p, a, sizeof a), cr_shape_str(y, b, sizeof b));
        return 0;
    }
    return 1;
}

/* 1 - x */
static cr_tensor *one_minus(cr_tape *t, cr_tensor *x)
{
    return cr_add_scalar(t, cr_neg(t, x), 1);
}

cr_tensor *cr_loss_mse(cr_tape *t, cr_tensor *p, cr_tensor *y)
{
    if (!same_shape(t, "mse_loss", p, y)) return NULL;
    return cr_mean(t, cr_square(t, cr_sub(t, p, y)));
}

cr_tensor *cr_loss_mae(cr_tape *t, cr_tensor *p, cr_tensor *y)
{
    if (!same_shape(t, "mae_loss", p, y)) return NULL;
    return cr_mean(t, cr_abs(t, cr_sub(t, p, y)));
}

cr_tensor *cr_loss_huber(cr_tape *t, cr_tensor *p, cr_tensor *y, cr_real delta)
{
    if (!same_shape(t, "huber_loss", p, y)) return NULL;
    if (!(delta > 0)) {
        cr_tape_fail(t, CR_ERR_ARG, "huber_loss: delta is %g but must be > 0", (double)delta);
        return NULL;
    }
    cr_tensor *a = cr_abs(t, cr_sub(t, p, y));
    cr_tensor *r = cr_relu(t, cr_add_scalar(t, a, -delta));   /* linear part */
    cr_tensor *q = cr_sub(t, a, r);                            /* min(|d|, delta) */
    cr_tensor *l = cr_add(t, cr_scale(t, cr_square(t, q), (cr_real)0.5), cr_scale(t, r, delta));
    return cr_mean(t, l);
}

/* relu(1 - y p): the hinge of each element */
static cr_tensor *hinge(cr_tape *t, cr_tensor *p, cr_tensor *y)
{
    return cr_relu(t, one_minus(t, cr_mul(t, y, p)));
}

cr_tensor *cr_loss_hinge(cr_tape *t, cr_tensor *p, cr_tensor *y)
{
    if (!same_shape(t, "hinge_loss", p, y)) return NULL;
    return cr_mean(t, hinge(t, p, y));
}

cr_tensor *cr_loss_squared_hinge(cr_tape *t, cr_tensor *p, cr_tensor *y)
{
    if (!same_shape(t, "squared_hinge_loss", p, y)) return NULL;
    return cr_scale(t, cr_mean(t, cr_square(t, hinge(t, p, y))), (cr_real)0.5);
}

/* One-hot rows from class indices with ops only, so that a replay with new labels
 * gives new rows: onehot[n,j] = relu(1 - |j - y_n|), exact for integer labels. */
static cr_tensor *one_hot(cr_tape *t, cr_tensor *y, int n, int c)
{
    cr_real *ar = cr_tape_alloc(t, (size_t)c * sizeof *ar);
    if (!ar) return NULL;
    for (int j = 0; j < c; j++) ar[j] = (cr_real)j;
    int rshape[2] = { 1, c }, cshape[2] = { n, 1 };
    cr_tensor *cols = cr_const(t, 2, rshape, ar);
    cr_tensor *dist = cr_abs(t, cr_sub(t, cols, cr_reshape(t, y, 2, cshape)));
    return cr_relu(t, one_minus(t, dist));
}

/* z is N x C (or C); y must hold N integral labels in 0..C-1. */
static int check_labels(cr_tape *t, const char *loss, cr_tensor *z, cr_tensor *y, int *n, int *c)
{
    cr_tensor *in[2] = { z, y };
    if (!cr_check_inputs(t, loss, 2, in)) return 0;
    char a[48], b[48];
    if (z->ndim != 1 && z->ndim != 2) {
        cr_tape_fail(t, CR_ERR_SHAPE, "%s: scores are %s but must be N x C or C", loss,
                     cr_shape_str(z, a, sizeof a));
        return 0;
    }
    *n = z->ndim == 2 ? z->shape[0] : 1;
    *c = z->shape[z->ndim - 1];
    if (y->size != (size_t)*n || y->ndim > 2 || (y->ndim == 2 && y->shape[1] != 1)) {
        cr_tape_fail(t, CR_ERR_SHAPE, "%s: scores are %s but labels are %s (need %d class "
                     "indices)", loss, cr_shape_str(z, a, sizeof a), cr_shape_str(y, b, sizeof b), *n);
        return 0;
    }
    for (int i = 0; i < *n; i++) {
        double v = y->data[i];
        if (!(v >= 0 && v < *c) || v != floor(v)) {
            cr_tape_fail(t, CR_ERR_ARG, "%s: label %g at row %d is not a class index in 0..%d",
                         loss, v, i, *c - 1);
            return 0;
        }
    }
    return 1;
}

cr_tensor *cr_loss_multiclass_hinge(cr_tape *t, cr_tensor *z, cr_tensor *y)
{
    int n, c;
    if (!check_labels(t, "multiclass_hinge_loss", z, y, &n, &c)) return NULL;
    int shape[2] = { n, c };
    cr_tensor *z2 = z->ndim == 2 ? z : cr_reshape(t, z, 2, shape);
    cr_tensor *onehot = one_hot(t, y, n, c);                            /* N x C */
    cr_tensor *zy = cr_sum_axis(t, cr_mul(t, z2, onehot), 1, 1);        /* N x 1 */
    cr_tensor *margin = cr_relu(t, cr_add_scalar(t, cr_sub(t, z2, zy), 1));
    cr_tensor *others = cr_mul(t, margin, one_minus(t, onehot));        /* drop j = y_n */
    return cr_scale(t, cr_sum(t, others), (cr_real)(1.0 / ((double)n * c)));
}

cr_tensor *cr_loss_bce(cr_tape *t, cr_tensor *p, cr_tensor *y)
{
    if (!same_shape(t, "bce_loss", p, y)) return NULL;
    cr_tensor *floor100 = cr_scalar_const(t, -100);
    cr_tensor *logp = cr_max(t, cr_log(t, p), floor100);
    cr_tensor *log1mp = cr_max(t, cr_log(t, one_minus(t, p)), floor100);
    cr_tensor *ll = cr_add(t, cr_mul(t, y, logp), cr_mul(t, one_minus(t, y), log1mp));
    return cr_neg(t, cr_mean(t, ll));
}

cr_tensor *cr_loss_bce_logits(cr_tape *t, cr_tensor *z, cr_tensor *y)
{
    if (!same_shape(t, "bce_logits_loss", z, y)) return NULL;
    return cr_bce_with_logits(t, z, y);
}

cr_tensor *cr_loss_softmax_ce_soft(cr_tape *t, cr_tensor *z, cr_tensor *y)
{
    if (!same_shape(t, "softmax_ce_soft_loss", z, y)) return NULL;
    if (z->ndim != 1 && z->ndim != 2) {
        char a[48];
        cr_tape_fail(t, CR_ERR_SHAPE, "softmax_ce_soft_loss: logits are %s but must be N x C "
                     "or C", cr_shape_str(z, a, sizeof a));
        return NULL;
    }
    int n = z->ndim == 2 ? z->shape[0] : 1;
    cr_tensor *s = cr_sum(t, cr_mul(t, y, cr_log_softmax(t, z)));
    return cr_scale(t, s, (cr_real)(-1.0 / n));
}

cr_tensor *cr_loss_l2(cr_tape *t, const cr_params *params, cr_real lambda, int weights_only)
{
    if (!cr_check_inputs(t, "l2_loss", 0, NULL)) return NULL;
    if (!params || !(lambda >= 0)) {
        cr_tape_fail(t, CR_ERR_ARG, params ? "l2_loss: lambda is %g but must be >= 0"
                                           : "l2_loss: params is NULL (lambda %g)", (double)lambda);
        return NULL;
    }
    cr_tensor *acc = NULL;
    for (size_t i = 0; i < cr_params_count(params); i++) {
        cr_tensor *w = cr_params_get(params, i);
        if (weights_only && w->ndim < 2) continue;
        cr_tensor *s = cr_sum(t, cr_square(t, w));
        acc = acc ? cr_add(t, acc, s) : s;
        if (!acc) return NULL;
    }
    if (!acc) return cr_scalar_const(t, 0);
    return cr_scale(t, acc, lambda / 2);
}
