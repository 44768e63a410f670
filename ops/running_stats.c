/* batchnorm_running_stats: the side-effect node of a batch norm in training mode
 * (nn/batchnorm.c). Inputs: the batch statistics mu and var (F values, any shape),
 * the batch x (N = x->size / F rows: samples, or samples x positions for images),
 * and the running mean and variance rm, rv (F values each, heap, no gradient);
 * farg[0] = momentum m. Every forward, recorded or replayed, blends the batch
 * statistics into the running ones:
 *   rm = (1-m) rm + m mu,   rv = (1-m) rv + m var N/(N-1)   (unbiased, as PyTorch)
 * The output is one zero. The loss never depends on it, so backward never reaches
 * the node; its backward does nothing. A node of its own (not a custom op) so that
 * graph files hold it like any other op. */
#include "graph_ops.h"

static void stats_forward(cr_tape *t, cr_node *n)
{
    (void)t;
    const cr_tensor *mu = n->in[0], *var = n->in[1], *x = n->in[2];
    cr_tensor *rm = n->in[3], *rv = n->in[4];
    size_t F = rm->size;
    int rows = (int)(x->size / F);
    double m = n->farg[0], unbias = (double)rows / (rows - 1);
    n->out->data[0] = 0;
    for (size_t j = 0; j < F; j++) {
        rm->data[j] = (cr_real)((1 - m) * rm->data[j] + m * mu->data[j]);
        rv->data[j] = (cr_real)((1 - m) * rv->data[j] + m * var->data[j] * unbias);
    }
}

static void stats_backward(cr_tape *t, cr_node *n)
{
    (void)t;
    (void)n;
}

static const cr_op stats_op = { "batchnorm_running_stats", stats_forward, stats_backward };

cr_tensor *cr__running_stats(cr_tape *t, cr_tensor *const *in, double momentum)
{
    if (!cr_check_inputs(t, "batchnorm_running_stats", 5, in)) return NULL;
    size_t F = in[3]->size;
    int ok = in[0]->size == F && in[1]->size == F && in[4]->size == F &&
             (in[3]->flags & CR_HEAP) && (in[4]->flags & CR_HEAP) &&
             !(in[3]->flags & CR_REQUIRES_GRAD) && !(in[4]->flags & CR_REQUIRES_GRAD) &&
             in[2]->size % F == 0 && in[2]->size / F >= 2 && momentum >= 0 && momentum <= 1;
    if (!ok) {
        cr_tape_fail(t, CR_ERR_SHAPE, "batchnorm_running_stats: mu, var, running mean and "
                     "variance must have the same size F (running ones: heap tensors without "
                     "gradient), x at least 2 rows of F, momentum in [0, 1]");
        return NULL;
    }
    cr_node *n = cr_record(t, &stats_op, 5, in, 0, NULL);
    if (!n) return NULL;
    n->farg[0] = momentum;
    return cr_run(t, n);
}
