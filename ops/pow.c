/* Powers, g = dL/dy:
 *   pow:     y = x^p        dx += g p x^(p-1)   (0 when p == 0)
 *   square:  y = x^2        dx += 2 g x
 *   sqrt:    y = sqrt(x)    dx += g / (2 y)     (0 at x == 0)
 * pow is C's pow: for x < 0 and a non-integer p the value and gradient are NaN;
 * at x == 0 with p < 1 the gradient is infinite (0 when p == 0). sqrt(x < 0) is
 * NaN with a NaN gradient; at x == 0 the derivative (+inf from the right) is
 * taken as 0, so that sqrt of a sum of squares is safe at the origin. */
#include "ops_internal.h"

/* ------------------------------------------------------------------ pow */

static void pow_fwd(const cr_node *n, size_t b, size_t e)
{
    const cr_real p = (cr_real)n->farg[0];
    const cr_real *restrict x = n->in[0]->data;
    cr_real *restrict y = n->out->data;
    for (size_t i = b; i < e; i++) y[i] = cr__pow(x[i], p);
}

static void pow_bwd(const cr_node *n, size_t b, size_t e)
{
    const cr_real p = (cr_real)n->farg[0];
    if (p == 0) return;                         /* x^0 = 1 is constant */
    cr_real *restrict dx = n->in[0]->grad;
    const cr_real *restrict g = n->out->grad, *restrict x = n->in[0]->data;
    for (size_t i = b; i < e; i++) dx[i] += g[i] * p * cr__pow(x[i], p - 1);
}

CR__ELEMENTWISE_OP(pow, "pow");

cr_tensor *cr_pow(cr_tape *t, cr_tensor *x, cr_real p) { return cr__unary(t, &pow_op, x, p); }

/* --------------------------------------------------------------- square */

static void square_fwd(const cr_node *n, size_t b, size_t e)
{
    const cr_real *restrict x = n->in[0]->data;
    cr_real *restrict y = n->out->data;
    for (size_t i = b; i < e; i++) y[i] = x[i] * x[i];
}

static void square_bwd(const cr_node *n, size_t b, size_t e)
{
    cr_real *restrict dx = n->in[0]->grad;
    const cr_real *restrict g = n->out->grad, *restrict x = n->in[0]->data;
    for (size_t i = b; i < e; i++) dx[i] += 2 * g[i] * x[i];
}

CR__ELEMENTWISE_OP(square, "square");

cr_tensor *cr_square(cr_tape *t, cr_tensor *x) { return cr__unary(t, &square_op, x, 0); }

/* ----------------------------------------------------------------- sqrt */

static void sqrt_fwd(const cr_node *n, size_t b, size_t e)
{
    const cr_real *restrict x = n->in[0]->data;
    cr_real *restrict y = n->out->data;
    for (size_t i = b; i < e; i++) y[i] = cr__sqrt(x[i]);
}

static void sqrt_bwd(const cr_node *n, size_t b, size_t e)
{
    cr_real *restrict dx = n->in[0]->grad;
    const cr_real *restrict g = n->out->grad, *restrict y = n->out->data;
    for (size_t i = b; i < e; i++) {
        const cr_real gi = g[i], yi = y[i];  /* loads before the select: it vectorises */
        dx[i] += yi == 0 ? 0 : gi / (2 * yi);
    }
}

CR__ELEMENTWISE_OP(sqrt, "sqrt");

cr_tensor *cr_sqrt(cr_tape *t, cr_tensor *x) { return cr__unary(t, &sqrt_op, x, 0); }
