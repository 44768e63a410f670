/* Affine maps with constants (the constant gets no gradient), g = dL/dy:
 *   neg:         y = -x       dx -= g
 *   scale:       y = s x      dx += s g
 *   add_scalar:  y = x + c    dx += g
 * s and c are kept in farg[0] (a double) and applied in cr_real. */
#include "ops_internal.h"

/* ------------------------------------------------------------------ neg */

static void neg_fwd(const cr_node *n, size_t b, size_t e)
{
    const cr_real *restrict x = n->in[0]->data;
    cr_real *restrict y = n->out->data;
    for (size_t i = b; i < e; i++) y[i] = -x[i];
}

static void neg_bwd(const cr_node *n, size_t b, size_t e)
{
    cr_real *restrict dx = n->in[0]->grad;
    const cr_real *restrict g = n->out->grad;
    for (size_t i = b; i < e; i++) dx[i] -= g[i];
}

CR__ELEMENTWISE_OP(neg, "neg");

cr_tensor *cr_neg(cr_tape *t, cr_tensor *x) { return cr__unary(t, &neg_op, x, 0); }

/* ---------------------------------------------------------------- scale */

static void scale_fwd(const cr_node *n, size_t b, size_t e)
{
    const cr_real s = (cr_real)n->farg[0];
    const cr_real *restrict x = n->in[0]->data;
    cr_real *restrict y = n->out->data;
    for (size_t i = b; i < e; i++) y[i] = x[i] * s;
}

static void scale_bwd(const cr_node *n, size_t b, size_t e)
{
    const cr_real s = (cr_real)n->farg[0];
    cr_real *restrict dx = n->in[0]->grad;
    const cr_real *restrict g = n->out->grad;
    for (size_t i = b; i < e; i++) dx[i] += g[i] * s;
}

CR__ELEMENTWISE_OP(scale, "scale");

cr_tensor *cr_scale(cr_tape *t, cr_tensor *x, cr_real s) { return cr__unary(t, &scale_op, x, s); }

/* ----------------------------------------------------------- add_scalar */

static void add_scalar_fwd(const cr_node *n, size_t b, size_t e)
{
    const cr_real c = (cr_real)n->farg[0];
    const cr_real *restrict x = n->in[0]->data;
    cr_real *restrict y = n->out->data;
    for (size_t i = b; i < e; i++) y[i] = x[i] + c;
}

static void add_scalar_bwd(const cr_node *n, size_t b, size_t e)
{
    cr_real *restrict dx = n->in[0]->grad;
    const cr_real *restrict g = n->out->grad;
    for (size_t i = b; i < e; i++) dx[i] += g[i];
}

CR__ELEMENTWISE_OP(add_scalar, "add_scalar");

cr_tensor *cr_add_scalar(cr_tape *t, cr_tensor *x, cr_real c)
{
    return cr__unary(t, &add_scalar_op, x, c);
}
