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

static void pow_forward(cr_tape *t, cr_node *n)
{
    (void)t;
    const cr_real p = (cr_real)n->farg[0];
    const cr_real *restrict x = n->in[0]->data;
    cr_real *restrict y = n->out->data;
    for (size_t i = 0, m = n->out->size; i < m; i++) y[i] = cr__pow(x[i], p);
}

static void pow_backward(cr_tape *t, cr_node *n)
{
    (void)t;
    cr_real *restrict dx = n->in[0]->grad;
    const cr_real p = (cr_real)n->farg[0];
    if (!dx || p == 0) return;                  /* x^0 = 1 is constant */
    const cr_real *restrict g = n->out->grad, *restrict x = n->in[0]->data;
    for (size_t i = 0, m = n->out->size; i < m; i++) dx[i] += g[i] * p * cr__pow(x[i], p - 1);
}

static const cr_op pow_op = { "pow", pow_forward, pow_backward };

cr_tensor *cr_pow(cr_tape *t, cr_tensor *x, cr_real p) { return cr__unary(t, &pow_op, x, p); }

/* --------------------------------------------------------------- square */

static void square_forward(cr_tape *t, cr_node *n)
{
    (void)t;
    const cr_real *restrict x = n->in[0]->data;
    cr_real *restrict y = n->out->data;
    for (size_t i = 0, m = n->out->size; i < m; i++) y[i] = x[i] * x[i];
}

static void square_backward(cr_tape *t, cr_node *n)
{
    (void)t;
    cr_real *restrict dx = n->in[0]->grad;
    if (!dx) return;
    const cr_real *restrict g = n->out->grad, *restrict x = n->in[0]->data;
    for (size_t i = 0, m = n->out->size; i < m; i++) dx[i] += 2 * g[i] * x[i];
}

static const cr_op square_op = { "square", square_forward, square_backward };

cr_tensor *cr_square(cr_tape *t, cr_tensor *x) { return cr__unary(t, &square_op, x, 0); }

/* ----------------------------------------------------------------- sqrt */

static void sqrt_forward(cr_tape *t, cr_node *n)
{
    (void)t;
    const cr_real *restrict x = n->in[0]->data;
    cr_real *restrict y = n->out->data;
    for (size_t i = 0, m = n->out->size; i < m; i++) y[i] = cr__sqrt(x[i]);
}

static void sqrt_backward(cr_tape *t, cr_node *n)
{
    (void)t;
    cr_real *restrict dx = n->in[0]->grad;
    if (!dx) return;
    const cr_real *restrict g = n->out->grad, *restrict y = n->out->data;
    for (size_t i = 0, m = n->out->size; i < m; i++) {
        const cr_real gi = g[i], yi = y[i];  /* loads before the select: it vectorises */
        dx[i] += yi == 0 ? 0 : gi / (2 * yi);
    }
}

static const cr_op sqrt_op = { "sqrt", sqrt_forward, sqrt_backward };

cr_tensor *cr_sqrt(cr_tape *t, cr_tensor *x) { return cr__unary(t, &sqrt_op, x, 0); }
