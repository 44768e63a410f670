/* dropout (inverted): y = x * m,  m_i = [u_i >= p] / (1 - p),  u_i ~ U[0,1)
 *                     dx += dy * m
 * The mask is drawn in forward, from the generator the node points to, so a replay
 * (cr_tape_forward) draws a fresh mask and backward uses the mask of the latest
 * forward. Evaluation mode is the identity and records nothing. */
#include "op_attrs.h"

/* Node scratch (arena): where to draw from and the mask of the last forward. */
typedef struct dropout_aux {
    cr_rng *rng;
    cr_real *mask;      /* size of x: 0 or 1/(1-p) */
} dropout_aux;

static void dropout_forward(cr_tape *t, cr_node *n)
{
    (void)t;
    dropout_aux *a = n->aux;
    const cr_real *x = n->in[0]->data;
    cr_real *y = n->out->data, *m = a->mask;
    double p = n->farg[0];
    cr_real keep = (cr_real)(1.0 / (1.0 - p));
    for (size_t i = 0; i < n->out->size; i++) {
        m[i] = cr_rng_uniform(a->rng) >= p ? keep : 0;
        y[i] = x[i] * m[i];
    }
}

static void dropout_backward(cr_tape *t, cr_node *n)
{
    (void)t;
    cr_tensor *x = n->in[0];
    if (!x->grad) return;
    const dropout_aux *a = n->aux;
    const cr_real *g = n->out->grad;
    for (size_t i = 0; i < x->size; i++) x->grad[i] += g[i] * a->mask[i];
}

static const cr_op dropout_op = { "dropout", dropout_forward, dropout_backward };

cr_tensor *cr_dropout(cr_tape *t, cr_tensor *x, cr_real p, cr_rng *rng, int training)
{
    if (!cr_check_inputs(t, "dropout", 1, &x)) return NULL;
    if (!(p >= 0 && p < 1)) {
        cr_tape_fail(t, CR_ERR_ARG, "dropout: p is %g but must be in [0, 1)", (double)p);
        return NULL;
    }
    if (!training || p == 0) return x;
    if (!rng) {
        cr_tape_fail(t, CR_ERR_ARG, "dropout: rng is NULL in training mode");
        return NULL;
    }
    cr_node *n = cr_record(t, &dropout_op, 1, &x, x->ndim, x->shape);
    if (!n) return NULL;
    dropout_aux *a = cr_tape_alloc(t, sizeof *a);
    cr_real *mask = a ? cr_tape_alloc(t, x->size * sizeof *mask) : NULL;
    if (!mask) return NULL;
    a->rng = rng;
    a->mask = mask;
    n->aux = a;
    n->farg[0] = p;
    return cr_run(t, n);
}

/* For graph files (ops/graph_ops.h): the generator n draws its masks from; NULL
 * when n is not a dropout node (another op of that name). */
const cr_rng *cr__dropout_rng_of(const cr_node *n)
{
    if (n->op != &dropout_op) return NULL;
    const dropout_aux *a = n->aux;
    return a->rng;
}
