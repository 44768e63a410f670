/* Squashing functions, g = dL/dy; both backward passes use the output y:
 *   sigmoid:  y = 1 / (1 + e^-x)     dx += g y (1 - y)
 *   tanh:     y = tanh x             dx += g (1 - y^2)
 *   gate:     y[r,j] = act(x[r,start+j]) for j < len, act sigmoid or tanh (the same
 *             bits as slice then sigmoid/tanh, in one node: an LSTM's gate blocks
 *             without a sliced copy kept on the tape); dx[r,start+j] += as above.
 * sigmoid only evaluates e^-|x| in the double build (for x < 0 it is
 * e^x / (1 + e^x)) and e^-x with -x clamped to [-700, 110] in double in the float
 * build, so nothing overflows for any x; sigmoid(0) = 0.5 exactly. For large x, y rounds to 1 and
 * the gradient to 0 (x > ~17 in float, ~37 in double); for very negative x both
 * are about e^x, down to 0 when e^x underflows. */
#include "ops_internal.h"

#include <stdint.h>
#include <string.h>

/* -------------------------------------------------------------- sigmoid */

#ifndef CR_REAL_DOUBLE
/* e^x in double for the float build's sigmoid and tanh, branch-free so that their
 * loops vectorise (libm's exp and expf are calls, one element at a time, ~3/4 of
 * these ops' cost). x = k ln2 + r with k = round(x / ln2), |r| <= ln2/2 (ln2 in two
 * parts, so r is exact to ~2^-60); e^r by its Taylor series to r^11 (truncation
 * <= 0.347^12/12! = 7e-15 relative); times 2^k built in the exponent field. Callers
 * keep x within [-700, 110], so 2^k is a normal double; the relative error
 * (~1e-14) is 10^-7 of a float ulp, so the rounded float results are those of an
 * exact exp but for ties closer than that. A NaN x gives NaN (a garbage k is
 * only multiplied into it). */
static inline double exp_d(double x)
{
    const double shift = 0x1.8p52;   /* adding it rounds to an integer, in the low bits */
    double t = x * 1.4426950408889634 + shift;
    double k = t - shift;
    double r = (x - k * 0x1.62e42fefa3800p-1) - k * 0x1.ef35793c7673p-45;
    double p = 1 + r * (1 + r * (1.0 / 2 + r * (1.0 / 6 + r * (1.0 / 24 + r * (1.0 / 120 +
               r * (1.0 / 720 + r * (1.0 / 5040 + r * (1.0 / 40320 + r * (1.0 / 362880 +
               r * (1.0 / 3628800 + r * (1.0 / 39916800)))))))))));
    uint64_t bits;
    memcpy(&bits, &t, sizeof bits);
    bits = (bits - 0x4338000000000000u + 1023u) << 52;   /* 2^k */
    double scale;
    memcpy(&scale, &bits, sizeof scale);
    return p * scale;
}
#endif

#ifdef CR_REAL_DOUBLE
static inline cr_real sigmoid_real(cr_real x)
{
    const cr_real e = cr__exp(-cr__fabs(x));     /* in (0, 1]: cannot overflow */
    return x >= 0 ? 1 / (1 + e) : e / (1 + e);
}
#else
/* 1 / (1 + e^-x) in double, -x clamped to [-700, 110] (where the float result is
 * already 1 or 0; 2^k stays normal), rounded to float once: correctly rounded but
 * for near-ties, and no branch (the selects become masks), so the loop vectorises. */
static inline cr_real sigmoid_real(cr_real x)
{
    double m = -(double)x;
    m = m > 110 ? 110 : m;
    m = m < -700 ? -700 : m;
    return (cr_real)(1 / (1 + exp_d(m)));
}
#endif

static void sigmoid_fwd(const cr_node *n, size_t b, size_t e)
{
    const cr_real *restrict x = n->in[0]->data;
    cr_real *restrict y = n->out->data;
    for (size_t i = b; i < e; i++) y[i] = sigmoid_real(x[i]);
}

static void sigmoid_forward(cr_tape *t, cr_node *n)
{
    cr__par_node_cost(t, n, n->out->size, CR__COST_TRANSCENDENTAL, sigmoid_fwd);
}

static void sigmoid_bwd(const cr_node *n, size_t b, size_t e)
{
    cr_real *restrict dx = n->in[0]->grad;
    const cr_real *restrict g = n->out->grad, *restrict y = n->out->data;
    for (size_t i = b; i < e; i++) dx[i] += g[i] * y[i] * (1 - y[i]);
}

static void sigmoid_backward(cr_tape *t, cr_node *n)
{
    if (!n->in[0]->grad) return;
    cr__par_node(t, n, n->out->size, sigmoid_bwd);
}

static const cr_op sigmoid_op = { "sigmoid", sigmoid_forward, sigmoid_backward };

cr_tensor *cr_sigmoid(cr_tape *t, cr_tensor *x) { return cr__unary(t, &sigmoid_op, x, 0); }

/* ----------------------------------------------------------------- tanh */

/* tanh from one exp: tanh|x| = 1 - 2/(e^(2|x|) + 1), accurate once |x| is not
 * small. |x| is capped at 20, where tanh is 1 in both precisions, so exp never
 * overflows; NaN stays NaN, tanh(+-inf) = +-1.
 * Float: evaluated in double (exp_d above, vectorised), and below |x| = 2^-8 by the
 * odd series x (1 - x^2/3 (1 - 2x^2/5)); correctly rounded over [1e-12, 30] (checked
 * against tanhl; glibc's tanhf is off by up to 2.2 ulp there).
 * Double: the formula for |x| >= 0.55 (result >= 0.5, error <= 2.2 ulp, as
 * glibc's tanh), libm's tanh below; ~2x faster on average. */
#ifdef CR_REAL_DOUBLE
static cr_real tanh_real(cr_real x)
{
    double ax = fabs(x);
    if (ax < 0.55) return tanh(x);
    if (ax > 20) ax = 20;
    return copysign(1 - 2 / (exp(2 * ax) + 1), x);
}
#else
/* Both branches computed and one selected, so that the loops vectorise. */
static inline cr_real tanh_real(cr_real x)
{
    const double xd = x, ax = fabs(xd), x2 = ax * ax;
    const double series = xd * (1 - x2 / 3 * (1 - 0.4 * x2));
    const double formula = copysign(1 - 2 / (exp_d(2 * (ax > 20 ? 20 : ax)) + 1), xd);
    return (cr_real)(ax < 0x1p-8 ? series : formula);
}
#endif

static void tanh_fwd(const cr_node *n, size_t b, size_t e)
{
    const cr_real *restrict x = n->in[0]->data;
    cr_real *restrict y = n->out->data;
    for (size_t i = b; i < e; i++) y[i] = tanh_real(x[i]);
}

static void tanh_forward(cr_tape *t, cr_node *n)
{
    cr__par_node_cost(t, n, n->out->size, CR__COST_TRANSCENDENTAL, tanh_fwd);
}

static void tanh_bwd(const cr_node *n, size_t b, size_t e)
{
    cr_real *restrict dx = n->in[0]->grad;
    const cr_real *restrict g = n->out->grad, *restrict y = n->out->data;
    for (size_t i = b; i < e; i++) dx[i] += g[i] * (1 - y[i] * y[i]);
}

static void tanh_backward(cr_tape *t, cr_node *n)
{
    if (!n->in[0]->grad) return;
    cr__par_node(t, n, n->out->size, tanh_bwd);
}

static const cr_op tanh_op = { "tanh", tanh_forward, tanh_backward };

cr_tensor *cr_tanh(cr_tape *t, cr_tensor *x) { return cr__unary(t, &tanh_op, x, 0); }

/* ----------------------------------------------------------------- gate */

/* iarg: [0] start, [1] act (CR_GATE_SIGMOID or CR_GATE_TANH). Output element i is
 * row i / len, column i % len; a range [b, e) is walked row piece by row piece. */

static void gate_fwd(const cr_node *n, size_t b, size_t e)
{
    const size_t len = (size_t)n->out->shape[1], cols = (size_t)n->in[0]->shape[1];
    const cr_real *x = n->in[0]->data + (size_t)n->iarg[0];
    cr_real *y = n->out->data;
    const int use_tanh = n->iarg[1] == CR_GATE_TANH;
    while (b < e) {
        const size_t r = b / len, j0 = b % len;
        const size_t j1 = e - b < len - j0 ? j0 + (e - b) : len;
        const cr_real *restrict xr = x + r * cols;
        cr_real *restrict yr = y + r * len;
        if (use_tanh)
            for (size_t j = j0; j < j1; j++) yr[j] = tanh_real(xr[j]);
        else
            for (size_t j = j0; j < j1; j++) yr[j] = sigmoid_real(xr[j]);
        b += j1 - j0;
    }
}

static void gate_forward(cr_tape *t, cr_node *n)
{
    cr__par_node_cost(t, n, n->out->size, CR__COST_TRANSCENDENTAL, gate_fwd);
}

static void gate_bwd(const cr_node *n, size_t b, size_t e)
{
    const size_t len = (size_t)n->out->shape[1], cols = (size_t)n->in[0]->shape[1];
    cr_real *dx = n->in[0]->grad + (size_t)n->iarg[0];
    const cr_real *g = n->out->grad, *y = n->out->data;
    const int use_tanh = n->iarg[1] == CR_GATE_TANH;
    while (b < e) {
        const size_t r = b / len, j0 = b % len;
        const size_t j1 = e - b < len - j0 ? j0 + (e - b) : len;
        cr_real *restrict dr = dx + r * cols;
        const cr_real *restrict gr = g + r * len, *restrict yr = y + r * len;
        if (use_tanh)
            for (size_t j = j0; j < j1; j++) dr[j] += gr[j] * (1 - yr[j] * yr[j]);
        else
            for (size_t j = j0; j < j1; j++) dr[j] += gr[j] * yr[j] * (1 - yr[j]);
        b += j1 - j0;
    }
}

static void gate_backward(cr_tape *t, cr_node *n)
{
    if (!n->in[0]->grad) return;
    cr__par_node(t, n, n->out->size, gate_bwd);
}

static const cr_op gate_op = { "gate", gate_forward, gate_backward };

cr_tensor *cr_gate(cr_tape *t, cr_tensor *x, int start, int len, cr_gate_act act)
{
    if (!cr_check_inputs(t, "gate", 1, &x)) return NULL;
    char s[48];
    if (x->ndim != 2) {
        cr_tape_fail(t, CR_ERR_SHAPE, "gate: x is %s but must be rank 2 (rows x columns)",
                     cr_shape_str(x, s, sizeof s));
        return NULL;
    }
    if (act != CR_GATE_SIGMOID && act != CR_GATE_TANH) {
        cr_tape_fail(t, CR_ERR_ARG, "gate: act %d is neither CR_GATE_SIGMOID nor CR_GATE_TANH",
                     (int)act);
        return NULL;
    }
    if (len < 1 || start < 0 || start > x->shape[1] - len) {
        cr_tape_fail(t, CR_ERR_SHAPE, "gate: columns [%d, %lld) are not within the %d of x",
                     start, (long long)start + len, x->shape[1]);
        return NULL;
    }
    int shape[2] = { x->shape[0], len };
    cr_node *n = cr_record(t, &gate_op, 1, &x, 2, shape);
    if (!n) return NULL;
    n->iarg[0] = start;
    n->iarg[1] = (int)act;
    return cr_run(t, n);
}
