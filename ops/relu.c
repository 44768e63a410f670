/* Piecewise-linear functions, g = dL/dy. Their kinks are at x == 0; the
 * derivative chosen there is stated for each (and pinned by the tests):
 *   relu:        y = max(0, x)               dx += g [x > 0]         (0 at x == 0)
 *   leaky_relu:  y = x > 0 ? x : slope x     dx += g (x > 0 ? 1 : slope)  (slope at 0)
 *   abs:         y = |x|                     dx += g sign(x)         (sign(0) = 0)
 * NaN inputs give NaN outputs. */
#include "ops_internal.h"

/* ----------------------------------------------------------------- relu */

static void relu_fwd(const cr_node *n, size_t b, size_t e)
{
    const cr_real *restrict x = n->in[0]->data;
    cr_real *restrict y = n->out->data;
    for (size_t i = b; i < e; i++) y[i] = x[i] < 0 ? 0 : x[i];
}

static void relu_forward(cr_tape *t, cr_node *n)
{
    cr__par_node(t, n, n->out->size, relu_fwd);
}

static void relu_bwd(const cr_node *n, size_t b, size_t e)
{
    cr_real *restrict dx = n->in[0]->grad;
    const cr_real *restrict g = n->out->grad, *restrict x = n->in[0]->data;
    for (size_t i = b; i < e; i++) {
        const cr_real gi = g[i];             /* load before the select: it vectorises */
        dx[i] += x[i] > 0 ? gi : 0;
    }
}

static void relu_backward(cr_tape *t, cr_node *n)
{
    if (!n->in[0]->grad) return;
    cr__par_node(t, n, n->out->size, relu_bwd);
}

static const cr_op relu_op = { "relu", relu_forward, relu_backward };

cr_tensor *cr_relu(cr_tape *t, cr_tensor *x) { return cr__unary(t, &relu_op, x, 0); }

/* ----------------------------------------------------------- leaky_relu */

static void leaky_fwd(const cr_node *n, size_t b, size_t e)
{
    const cr_real s = (cr_real)n->farg[0];
    const cr_real *restrict x = n->in[0]->data;
    cr_real *restrict y = n->out->data;
    for (size_t i = b; i < e; i++) y[i] = x[i] > 0 ? x[i] : s * x[i];
}

static void leaky_forward(cr_tape *t, cr_node *n)
{
    cr__par_node(t, n, n->out->size, leaky_fwd);
}

static void leaky_bwd(const cr_node *n, size_t b, size_t e)
{
    cr_real *restrict dx = n->in[0]->grad;
    const cr_real s = (cr_real)n->farg[0];
    const cr_real *restrict g = n->out->grad, *restrict x = n->in[0]->data;
    for (size_t i = b; i < e; i++) {
        const cr_real gi = g[i];
        dx[i] += x[i] > 0 ? gi : s * gi;
    }
}

static void leaky_backward(cr_tape *t, cr_node *n)
{
    if (!n->in[0]->grad) return;
    cr__par_node(t, n, n->out->size, leaky_bwd);
}

static const cr_op leaky_op = { "leaky_relu", leaky_forward, leaky_backward };

cr_tensor *cr_leaky_relu(cr_tape *t, cr_tensor *x, cr_real slope)
{
    return cr__unary(t, &leaky_op, x, slope);
}

/* ------------------------------------------------------------------ abs */

static void abs_fwd(const cr_node *n, size_t b, size_t e)
{
    const cr_real *restrict x = n->in[0]->data;
    cr_real *restrict y = n->out->data;
    for (size_t i = b; i < e; i++) y[i] = cr__fabs(x[i]);
}

static void abs_forward(cr_tape *t, cr_node *n)
{
    cr__par_node(t, n, n->out->size, abs_fwd);
}

static void abs_bwd(const cr_node *n, size_t b, size_t e)
{
    cr_real *restrict dx = n->in[0]->grad;
    const cr_real *restrict g = n->out->grad, *restrict x = n->in[0]->data;
    for (size_t i = b; i < e; i++) {
        const cr_real gi = g[i];
        dx[i] += x[i] > 0 ? gi : x[i] < 0 ? -gi : 0;
    }
}

static void abs_backward(cr_tape *t, cr_node *n)
{
    if (!n->in[0]->grad) return;
    cr__par_node(t, n, n->out->size, abs_bwd);
}

static const cr_op abs_op = { "abs", abs_forward, abs_backward };

cr_tensor *cr_abs(cr_tape *t, cr_tensor *x) { return cr__unary(t, &abs_op, x, 0); }
