/* Exponential and logarithm, g = dL/dy:
 *   exp:  y = e^x                        dx += g y
 *   log:  y = log(max(x, CR_LOG_FLOOR))  dx += g / x where x > CR_LOG_FLOOR, else 0
 * exp overflows to +inf like C's exp (x > 88.7 in float, 709.8 in double). The
 * log floor (the smallest positive normal cr_real) keeps log(0) finite: -87.34
 * in float, -708.40 in double; below it the function is flat, so its derivative
 * is 0 there (and at the floor itself). NaN stays NaN, in the gradient too. */
#include "ops_internal.h"

/* ------------------------------------------------------------------ exp */

static void exp_fwd(const cr_node *n, size_t b, size_t e)
{
    const cr_real *restrict x = n->in[0]->data;
    cr_real *restrict y = n->out->data;
    for (size_t i = b; i < e; i++) y[i] = cr__exp(x[i]);
}

static void exp_forward(cr_tape *t, cr_node *n)
{
    cr__par_node(t, n, n->out->size, exp_fwd);
}

static void exp_bwd(const cr_node *n, size_t b, size_t e)
{
    cr_real *restrict dx = n->in[0]->grad;
    const cr_real *restrict g = n->out->grad, *restrict y = n->out->data;
    for (size_t i = b; i < e; i++) dx[i] += g[i] * y[i];
}

static void exp_backward(cr_tape *t, cr_node *n)
{
    if (!n->in[0]->grad) return;
    cr__par_node(t, n, n->out->size, exp_bwd);
}

static const cr_op exp_op = { "exp", exp_forward, exp_backward };

cr_tensor *cr_exp(cr_tape *t, cr_tensor *x) { return cr__unary(t, &exp_op, x, 0); }

/* ------------------------------------------------------------------ log */

static void log_fwd(const cr_node *n, size_t b, size_t e)
{
    const cr_real lo = CR_LOG_FLOOR;
    const cr_real *restrict x = n->in[0]->data;
    cr_real *restrict y = n->out->data;
    /* x < lo is false for NaN, so NaN reaches log and stays NaN */
    for (size_t i = b; i < e; i++) y[i] = cr__log(x[i] < lo ? lo : x[i]);
}

static void log_forward(cr_tape *t, cr_node *n)
{
    cr__par_node(t, n, n->out->size, log_fwd);
}

static void log_bwd(const cr_node *n, size_t b, size_t e)
{
    cr_real *restrict dx = n->in[0]->grad;
    const cr_real lo = CR_LOG_FLOOR;
    const cr_real *restrict g = n->out->grad, *restrict x = n->in[0]->data;
    for (size_t i = b; i < e; i++) {
        const cr_real gi = g[i], xi = x[i];  /* loads before the select: it vectorises */
        dx[i] += xi <= lo ? 0 : gi / xi;
    }
}

static void log_backward(cr_tape *t, cr_node *n)
{
    if (!n->in[0]->grad) return;
    cr__par_node(t, n, n->out->size, log_bwd);
}

static const cr_op log_op = { "log", log_forward, log_backward };

cr_tensor *cr_log(cr_tape *t, cr_tensor *x) { return cr__unary(t, &log_op, x, 0); }
