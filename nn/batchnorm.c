/* Batch normalization over the features (columns) of an N x F batch, or over the
 * channels of an N x C x H x W batch (BatchNorm2d: statistics over N, H and W,
 * one gamma/beta per channel, F = C).
 *   training:   mu = mean_rows(x),  var = mean_rows((x - mu)^2)       (biased)
 *               y  = gamma * (x - mu) / sqrt(var + eps) + beta
 *   evaluation: y  = gamma * (x - running_mean) / sqrt(running_var + eps) + beta
 * Everything is composed from ops, so the gradient through mu and var (the part
 * people get wrong by hand) comes from the chain rule alone. The running
 * statistics move each time a training forward runs, recorded or replayed (a
 * side-effect node on the tape does it):
 *   running_mean = (1-m) running_mean + m mu,
 *   running_var  = (1-m) running_var  + m var * N/(N-1)     (unbiased, as PyTorch)
 * For images "rows" are the N H W positions: the statistics are 1 x C x 1 x 1 (means
 * over W, then H, then N: equal counts, so the mean of the means is the mean), and
 * gamma, beta and the running statistics are viewed as C x 1 x 1 to broadcast. */
#include "chainrule.h"
#include "../graph/errf.h"
#include "../ops/graph_ops.h"     /* cr__running_stats */

void cr_batchnorm_free(cr_batchnorm *bn)
{
    if (!bn) return;
    cr_params_free(bn->params);    /* references only */
    cr_params_free(bn->buffers);
    cr_tensor_free(bn->gamma);
    cr_tensor_free(bn->beta);
    cr_tensor_free(bn->running_mean);
    cr_tensor_free(bn->running_var);
    cr_free(bn);
}

cr_batchnorm *cr_batchnorm_new(int features, cr_real momentum, cr_real eps, char *err,
                               size_t errsize)
{
    if (features < 1) {
        cr__errf(CR_ERR_ARG, err, errsize, "batchnorm: %d features (must be >= 1)", features);
        return NULL;
    }
    if (momentum > 1) {
        cr__errf(CR_ERR_ARG, err, errsize, "batchnorm: momentum = %g is above 1", (double)momentum);
        return NULL;
    }
    cr_batchnorm *bn = cr_calloc(1, sizeof *bn);
    if (!bn) {
        cr__errf(CR_ERR_NOMEM, err, errsize, "batchnorm: out of memory");
        return NULL;
    }
    bn->features = features;
    bn->momentum = momentum > 0 ? momentum : (cr_real)0.1;
    bn->eps = eps > 0 ? eps : (cr_real)1e-5;
    bn->gamma = cr_param_new(1, &features);
    bn->beta = cr_param_new(1, &features);
    /* cr_params only holds tensors with a gradient buffer, so the running
     * statistics get one, but they are marked as not needing a gradient. */
    bn->running_mean = cr_param_new(1, &features);
    bn->running_var = cr_param_new(1, &features);
    bn->params = cr_params_new();
    bn->buffers = cr_params_new();
    if (!bn->gamma || !bn->beta || !bn->running_mean || !bn->running_var || !bn->params ||
        !bn->buffers) {
        cr_batchnorm_free(bn);
        cr__errf(CR_ERR_NOMEM, err, errsize, "batchnorm: out of memory for %d features", features);
        return NULL;
    }
    bn->running_mean->flags &= ~CR_REQUIRES_GRAD;
    bn->running_var->flags &= ~CR_REQUIRES_GRAD;
    cr_tensor_fill(bn->gamma, 1);
    cr_tensor_fill(bn->running_var, 1);
    if (cr_params_add(bn->params, bn->gamma, "gamma", NULL, 0) != CR_OK ||
        cr_params_add(bn->params, bn->beta, "beta", NULL, 0) != CR_OK ||
        cr_params_add(bn->buffers, bn->running_mean, "running_mean", NULL, 0) != CR_OK ||
        cr_params_add(bn->buffers, bn->running_var, "running_var", NULL, 0) != CR_OK) {
        cr_batchnorm_free(bn);
        cr__errf(CR_ERR_NOMEM, err, errsize, "batchnorm: out of memory for %d features", features);
        return NULL;
    }
    return bn;
}

cr_tensor *cr_batchnorm_forward(cr_tape *t, cr_batchnorm *bn, cr_tensor *x, int training)
{
    if (!cr_check_inputs(t, "batchnorm", 1, &x)) return NULL;
    if (!bn) {
        cr_tape_fail(t, CR_ERR_ARG, "batchnorm: layer is NULL");
        return NULL;
    }
    char s[48];
    int img = x->ndim == 4;
    if ((x->ndim != 2 && !img) || x->shape[1] != bn->features) {
        cr_tape_fail(t, CR_ERR_SHAPE, "batchnorm: x is %s but the layer has %d features "
                     "(x must be N x %d or N x %d x H x W)", cr_shape_str(x, s, sizeof s),
                     bn->features, bn->features, bn->features);
        return NULL;
    }
    size_t rows = x->size / (size_t)bn->features;
    int cshape[3] = { bn->features, 1, 1 };   /* per-channel vectors against N x C x H x W */
    cr_tensor *gamma = bn->gamma, *beta = bn->beta;
    if (img) {
        gamma = cr_reshape(t, gamma, 3, cshape);
        beta = cr_reshape(t, beta, 3, cshape);
    }
    cr_tensor *xc, *sd;   /* x centred and the standard deviation (broadcast shapes) */
    if (training) {
        if (rows < 2) {
            cr_tape_fail(t, CR_ERR_SHAPE, "batchnorm: training needs at least 2 %s per "
                         "batch to estimate a variance, x is %s", img ? "values per channel"
                         : "rows", cr_shape_str(x, s, sizeof s));
            return NULL;
        }
        cr_tensor *mu = img ? cr_mean_axis(t, cr_mean_axis(t, cr_mean_axis(t, x, 3, 1), 2, 1),
                                           0, 1)
                            : cr_mean_axis(t, x, 0, 1);
        xc = cr_sub(t, x, mu);
        cr_tensor *sq = cr_square(t, xc);
        cr_tensor *var = img ? cr_mean_axis(t, cr_mean_axis(t, cr_mean_axis(t, sq, 3, 1), 2, 1),
                                            0, 1)
                             : cr_mean_axis(t, sq, 0, 1);
        sd = cr_sqrt(t, cr_add_scalar(t, var, bn->eps));
        if (!sd) return NULL;
        /* the side-effect node (ops/running_stats.c): being a node, it runs again
         * on every replay, so record-once training loops keep the statistics moving */
        cr_tensor *stats[5] = { mu, var, x, bn->running_mean, bn->running_var };
        if (!cr__running_stats(t, stats, (double)bn->momentum)) return NULL;
    } else {
        /* The buffers have gradient blocks (cr_params needs them) but must get
         * nothing: they enter the graph through cr_detach. */
        cr_tensor *rm = cr_detach(t, bn->running_mean);
        cr_tensor *rv = cr_add_scalar(t, cr_detach(t, bn->running_var), bn->eps);
        if (img) {
            rm = cr_reshape(t, rm, 3, cshape);
            rv = cr_reshape(t, rv, 3, cshape);
        }
        xc = cr_sub(t, x, rm);
        sd = cr_sqrt(t, rv);
    }
    cr_tensor *xhat = cr_div(t, xc, sd);
    return cr_add(t, cr_mul(t, xhat, gamma), beta);
}
