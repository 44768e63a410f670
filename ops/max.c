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

/* dx += g where b exceeds a (to_b 1: the gradient of b) or where it does not
 * (to_b 0: of a); inlined with a constant to_b, one plain loop per stride case. */
static inline void max_grad(cr_real *restrict dx, const cr_real *restrict g,
                            const cr_real *restrict a, size_t sa, const cr_real *restrict b,
                            size_t sb, size_t n, int to_b)
{
    if (sa && sb) {
        for (size_t i = 0; i < n; i++) {
            const cr_real gi = g[i];
            dx[i] += (b[i] > a[i]) == to_b ? gi : 0;
        }
    } else if (sa) {
        const cr_real s = b[0];
        for (size_t i = 0; i < n; i++) {
            const cr_real gi = g[i];
            dx[i] += (s > a[i]) == to_b ? gi : 0;
        }
    } else {
        const cr_real s = a[0];
        for (size_t i = 0; i < n; i++) {
            const cr_real gi = g[i];
            dx[i] += (b[i] > s) == to_b ? gi : 0;
        }
    }
}

/* da += g where b does not exceed a */
static void max_grad_a(cr_real *restrict dx, const cr_real *restrict g, const cr_real *restrict a,
                       size_t sa, const cr_real *restrict b, size_t sb,
                       const cr_real *restrict y, size_t n)
{
    (void)y;
    max_grad(dx, g, a, sa, b, sb, n, 0);
}

/* db += g where b exceeds a */
static void max_grad_b(cr_real *restrict dx, const cr_real *restrict g, const cr_real *restrict a,
                       size_t sa, const cr_real *restrict b, size_t sb,
                       const cr_real *restrict y, size_t n)
{
    (void)y;
    max_grad(dx, g, a, sa, b, sb, n, 1);
}

CR__BINARY_OP(max, "max", max_grad_a, max_grad_b);

cr_tensor *cr_max(cr_tape *t, cr_tensor *a, cr_tensor *b) { return cr__binary(t, &max_op, a, b); }
