/* max, elementwise and broadcast:
 *   y = b > a ? b : a     da += g [not b > a]     db += g [b > a]
 * At a tie (a == b) the whole gradient goes to a: a valid subgradient (any split
 * summing to g is one), chosen so that max(x, x) has derivative 1, not 2.
 * With a NaN operand the result and the gradient go to a.
 * Gradient loops read g[i] before the select: a load under a condition keeps
 * GCC from vectorising. */
#include "ops_internal.h"

static void max_rows(cr_real *restrict y, const cr_real *restrict a, size_t sa,
                     const cr_real *restrict b, size_t sb, size_t n)
{
    if (sa && sb) {
        for (size_t i = 0; i < n; i++) y[i] = b[i] > a[i] ? b[i] : a[i];
    } else if (sa) {
        const cr_real s = b[0];
        for (size_t i = 0; i < n; i++) y[i] = s > a[i] ? s : a[i];
    } else {
        const cr_real s = a[0];
        for (size_t i = 0; i < n; i++) y[i] = b[i] > s ? b[i] : s;
    }
}

/* da += g where b does not exceed a */
static void max_grad_a(cr_real *restrict dx, const cr_real *restrict g, const cr_real *restrict a,
                       size_t sa, const cr_real *restrict b, size_t sb,
                       const cr_real *restrict y, size_t n)
{
    (void)y;
    if (sa && sb) {
        for (size_t i = 0; i < n; i++) {
            const cr_real gi = g[i];
            dx[i] += b[i] > a[i] ? 0 : gi;
        }
    } else if (sa) {
        const cr_real s = b[0];
        for (size_t i = 0; i < n; i++) {
            const cr_real gi = g[i];
            dx[i] += s > a[i] ? 0 : gi;
        }
    } else {
        const cr_real s = a[0];
        for (size_t i = 0; i < n; i++) {
            const cr_real gi = g[i];
            dx[i] += b[i] > s ? 0 : gi;
        }
    }
}

/* db += g where b exceeds a */
static void max_grad_b(cr_real *restrict dx, const cr_real *restrict g, const cr_real *restrict a,
                       size_t sa, const cr_real *restrict b, size_t sb,
                       const cr_real *restrict y, size_t n)
{
    (void)y;
    if (sa && sb) {
        for (size_t i = 0; i < n; i++) {
            const cr_real gi = g[i];
            dx[i] += b[i] > a[i] ? gi : 0;
        }
    } else if (sa) {
        const cr_real s = b[0];
        for (size_t i = 0; i < n; i++) {
            const cr_real gi = g[i];
            dx[i] += s > a[i] ? gi : 0;
        }
    } else {
        const cr_real s = a[0];
        for (size_t i = 0; i < n; i++) {
            const cr_real gi = g[i];
            dx[i] += b[i] > s ? gi : 0;
        }
    }
}

static void max_forward(cr_tape *t, cr_node *n)
{
    (void)t;
    cr__bcast_forward(n, max_rows);
}

static void max_backward(cr_tape *t, cr_node *n)
{
    (void)t;
    cr__bcast_grad(n, 0, max_grad_a);
    cr__bcast_grad(n, 1, max_grad_b);
}

static const cr_op max_op = { "max", max_forward, max_backward };

cr_tensor *cr_max(cr_tape *t, cr_tensor *a, cr_tensor *b) { return cr__binary(t, &max_op, a, b); }
