/* Affine maps with constants (the constant gets no gradient), g = dL/dy:
 *   neg:         y = -x       dx -= g
 *   scale:       y = s x      dx += s g
 *   add_scalar:  y = x + c    dx += g
 * s and c are kept in farg[0] (a double) and applied in cr_real. */
#include "ops_internal.h"

/* ------------------------------------------------------------------ neg */

static void neg_forward(cr_tape *t, cr_node *n)
{
    (void)t;
    const cr_real *restrict x = n->in[0]->data;
    cr_real *restrict y = n->out->data;
    for (size_t i = 0, m = n->out->size; i < m; i++) y[i] = -x[i];
}

static void neg_backward(cr_tape *t, cr_node *n)
{
    (void)t;
    cr_real *restrict dx = n->in[0]->grad;
    if (!dx) return;
    const cr_real *restrict g = n->out->grad;
    for (size_t i = 0, m = n->out->size; i < m; i++) dx[i] -= g[i];
}

static const cr_op neg_op = { "neg", neg_forward, neg_backward };

cr_tensor *cr_neg(cr_tape *t, cr_tensor *x) { return cr__unary(t, &neg_op, x, 0); }

/* ---------------------------------------------------------------- scale */

static void scale_forward(cr_tape *t, cr_node *n)
{
    (void)t;
    const cr_real s = (cr_real)n->farg[0];
    const cr_real *restrict x = n->in[0]->data;
    cr_real *restrict y = n->out->data;
    for (size_t i = 0, m = n->out->size; i < m; i++) y[i] = x[i] * s;
}

static void scale_backward(cr_tape *t, cr_node *n)
{
    (void)t;
    cr_real *restrict dx = n->in[0]->grad;
    if (!dx) return;
    const cr_real s = (cr_real)n->farg[0];
    const cr_real *restrict g = n->out->grad;
    for (size_t i = 0, m = n->out->size; i < m; i++) dx[i] += g[i] * s;
}

static const cr_op scale_op = { "scale", scale_forward, scale_backward };

cr_tensor *cr_scale(cr_tape *t, cr_tensor *x, cr_real s) { return cr__unary(t, &scale_op, x, s); }

/* ----------------------------------------------------------- add_scalar */

static void add_scalar_forward(cr_tape *t, cr_node *n)
{
    (void)t;
    const cr_real c = (cr_real)n->farg[0];
    const cr_real *restrict x = n->in[0]->data;
    cr_real *restrict y = n->out->data;
    for (size_t i = 0, m = n->out->size; i < m; i++) y[i] = x[i] + c;
}

static void add_scalar_backward(cr_tape *t, cr_node *n)
{
    (void)t;
    cr_real *restrict dx = n->in[0]->grad;
    if (!dx) return;
    const cr_real *restrict g = n->out->grad;
    for (size_t i = 0, m = n->out->size; i < m; i++) dx[i] += g[i];
}

static const cr_op add_scalar_op = { "add_scalar", add_scalar_forward, add_scalar_backward };

cr_tensor *cr_add_scalar(cr_tape *t, cr_tensor *x, cr_real c)
{
    return cr__unary(t, &add_scalar_op, x, c);
}
