/* Binary arithmetic, broadcast (NumPy rules; ops/broadcast.c iterates), g = dL/dy:
 *   add:  y = a + b     da += g         db += g
 *   sub:  y = a - b     da += g         db -= g
 *   mul:  y = a * b     da += g b       db += g a
 *   div:  y = a / b     da += g / b     db -= g a / b^2  (= g y / b)
 * Division follows IEEE 754: a/0 is +-inf or NaN, never an error.
 * Row kernels see a[i*sa], b[i*sb] with sa, sb in {0, 1}; each stride case is its
 * own loop so that the compiler vectorises it. */
#include "ops_internal.h"

/* ------------------------------------------------------------------ add */

static void add_rows(cr_real *restrict y, const cr_real *restrict a, size_t sa,
                     const cr_real *restrict b, size_t sb, size_t n)
{
    if (sa && sb) {
        for (size_t i = 0; i < n; i++) y[i] = a[i] + b[i];
    } else if (sa) {
        const cr_real s = b[0];
        for (size_t i = 0; i < n; i++) y[i] = a[i] + s;
    } else {
        const cr_real s = a[0];
        for (size_t i = 0; i < n; i++) y[i] = s + b[i];
    }
}

/* dx += g: the gradient of add for either input, and of sub for a */
static void pass_grad(cr_real *restrict dx, const cr_real *restrict g, const cr_real *restrict a,
                      size_t sa, const cr_real *restrict b, size_t sb,
                      const cr_real *restrict y, size_t n)
{
    (void)a, (void)sa, (void)b, (void)sb, (void)y;
    for (size_t i = 0; i < n; i++) dx[i] += g[i];
}

/* dx = g (first write) */
static void set_grad(cr_real *restrict dx, const cr_real *restrict g, const cr_real *restrict a,
                     size_t sa, const cr_real *restrict b, size_t sb,
                     const cr_real *restrict y, size_t n)
{
    (void)a, (void)sa, (void)b, (void)sb, (void)y;
    for (size_t i = 0; i < n; i++) dx[i] = g[i];
}

CR__BINARY_OP_FIRST(add, "add", pass_grad, pass_grad, set_grad, set_grad);

cr_tensor *cr_add(cr_tape *t, cr_tensor *a, cr_tensor *b)
{
    return cr__binary_assigning(t, &add_op, a, b);
}

/* ------------------------------------------------------------------ sub */

static void sub_rows(cr_real *restrict y, const cr_real *restrict a, size_t sa,
                     const cr_real *restrict b, size_t sb, size_t n)
{
    if (sa && sb) {
        for (size_t i = 0; i < n; i++) y[i] = a[i] - b[i];
    } else if (sa) {
        const cr_real s = b[0];
        for (size_t i = 0; i < n; i++) y[i] = a[i] - s;
    } else {
        const cr_real s = a[0];
        for (size_t i = 0; i < n; i++) y[i] = s - b[i];
    }
}

/* db -= g */
static void sub_grad_b(cr_real *restrict dx, const cr_real *restrict g, const cr_real *restrict a,
                       size_t sa, const cr_real *restrict b, size_t sb,
                       const cr_real *restrict y, size_t n)
{
    (void)a, (void)sa, (void)b, (void)sb, (void)y;
    for (size_t i = 0; i < n; i++) dx[i] -= g[i];
}

/* db = -g (first write) */
static void sub_set_b(cr_real *restrict dx, const cr_real *restrict g, const cr_real *restrict a,
                      size_t sa, const cr_real *restrict b, size_t sb,
                      const cr_real *restrict y, size_t n)
{
    (void)a, (void)sa, (void)b, (void)sb, (void)y;
    for (size_t i = 0; i < n; i++) dx[i] = -g[i];
}

CR__BINARY_OP_FIRST(sub, "sub", pass_grad, sub_grad_b, set_grad, sub_set_b);

cr_tensor *cr_sub(cr_tape *t, cr_tensor *a, cr_tensor *b)
{
    return cr__binary_assigning(t, &sub_op, a, b);
}

/* ------------------------------------------------------------------ mul */

static void mul_rows(cr_real *restrict y, const cr_real *restrict a, size_t sa,
                     const cr_real *restrict b, size_t sb, size_t n)
{
    if (sa && sb) {
        for (size_t i = 0; i < n; i++) y[i] = a[i] * b[i];
    } else if (sa) {
        const cr_real s = b[0];
        for (size_t i = 0; i < n; i++) y[i] = a[i] * s;
    } else {
        const cr_real s = a[0];
        for (size_t i = 0; i < n; i++) y[i] = s * b[i];
    }
}

/* dx += g v, v[i * sv] the other operand (sv in {0, 1}) */
static void acc_times(cr_real *restrict dx, const cr_real *restrict g, const cr_real *restrict v,
                      size_t sv, size_t n)
{
    if (sv) {
        for (size_t i = 0; i < n; i++) dx[i] += g[i] * v[i];
    } else {
        const cr_real s = v[0];
        for (size_t i = 0; i < n; i++) dx[i] += g[i] * s;
    }
}

/* da += g b */
static void mul_grad_a(cr_real *restrict dx, const cr_real *restrict g, const cr_real *restrict a,
                       size_t sa, const cr_real *restrict b, size_t sb,
                       const cr_real *restrict y, size_t n)
{
    (void)a, (void)sa, (void)y;
    acc_times(dx, g, b, sb, n);
}

/* db += g a */
static void mul_grad_b(cr_real *restrict dx, const cr_real *restrict g, const cr_real *restrict a,
                       size_t sa, const cr_real *restrict b, size_t sb,
                       const cr_real *restrict y, size_t n)
{
    (void)b, (void)sb, (void)y;
    acc_times(dx, g, a, sa, n);
}

/* da = g b, db = g a (first write; same shapes) */
static void mul_set_a(cr_real *restrict dx, const cr_real *restrict g, const cr_real *restrict a,
                      size_t sa, const cr_real *restrict b, size_t sb,
                      const cr_real *restrict y, size_t n)
{
    (void)a, (void)sa, (void)sb, (void)y;
    for (size_t i = 0; i < n; i++) dx[i] = g[i] * b[i];
}

static void mul_set_b(cr_real *restrict dx, const cr_real *restrict g, const cr_real *restrict a,
                      size_t sa, const cr_real *restrict b, size_t sb,
                      const cr_real *restrict y, size_t n)
{
    (void)b, (void)sa, (void)sb, (void)y;
    for (size_t i = 0; i < n; i++) dx[i] = g[i] * a[i];
}

CR__BINARY_OP_FIRST(mul, "mul", mul_grad_a, mul_grad_b, mul_set_a, mul_set_b);

cr_tensor *cr_mul(cr_tape *t, cr_tensor *a, cr_tensor *b)
{
    return cr__binary_assigning(t, &mul_op, a, b);
}

/* ------------------------------------------------------------------ div */

static void div_rows(cr_real *restrict y, const cr_real *restrict a, size_t sa,
                     const cr_real *restrict b, size_t sb, size_t n)
{
    if (sa && sb) {
        for (size_t i = 0; i < n; i++) y[i] = a[i] / b[i];
    } else if (sa) {
        const cr_real s = b[0];
        for (size_t i = 0; i < n; i++) y[i] = a[i] / s;
    } else {
        const cr_real s = a[0];
        for (size_t i = 0; i < n; i++) y[i] = s / b[i];
    }
}

/* da += g / b */
static void div_grad_a(cr_real *restrict dx, const cr_real *restrict g, const cr_real *restrict a,
                       size_t sa, const cr_real *restrict b, size_t sb,
                       const cr_real *restrict y, size_t n)
{
    (void)a, (void)sa, (void)y;
    if (sb) {
        for (size_t i = 0; i < n; i++) dx[i] += g[i] / b[i];
    } else {
        const cr_real s = b[0];
        for (size_t i = 0; i < n; i++) dx[i] += g[i] / s;
    }
}

/* db -= g a / b^2, computed as g y / b (no overflow of b^2) */
static void div_grad_b(cr_real *restrict dx, const cr_real *restrict g, const cr_real *restrict a,
                       size_t sa, const cr_real *restrict b, size_t sb,
                       const cr_real *restrict y, size_t n)
{
    (void)a, (void)sa;
    if (sb) {
        for (size_t i = 0; i < n; i++) dx[i] -= g[i] * y[i] / b[i];
    } else {
        const cr_real s = b[0];
        for (size_t i = 0; i < n; i++) dx[i] -= g[i] * y[i] / s;
    }
}

CR__BINARY_OP(div, "div", div_grad_a, div_grad_b);

cr_tensor *cr_div(cr_tape *t, cr_tensor *a, cr_tensor *b) { return cr__binary(t, &div_op, a, b); }
