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
#include "act_float.h"
#include "../kernel/kernel.h"

#include <pthread.h>
#include <string.h>

/* ------------------------------------------- array kernels per instruction set */

#ifndef CR_REAL_DOUBLE
CR__ACT_KERNELS(generic)
static const cr__act_arch generic_kernels = { "generic", cr__act_sigmoid_generic,
                                              cr__act_tanh_generic };
#else
static const cr__act_arch generic_kernels = { "generic", NULL, NULL };
#endif

/* The CPU test is kernel/cpu.c's (cr__cpu_has); the activations' AVX-512 kernels
 * need more of AVX-512 than GEMM's. */
const cr__act_arch *cr__act_arch_avx512(void)
{
    const cr__act_arch *a = &cr__act_avx512_kernels;
    return a->sigmoid && cr__cpu_has(CR__CPU_AVX512F | CR__CPU_AVX512DQ | CR__CPU_AVX512VL |
                                     CR__CPU_AVX512BW) ? a : NULL;
}

const cr__act_arch *cr__act_arch_avx2(void)
{
    const cr__act_arch *a = &cr__act_avx2_kernels;
    return a->sigmoid && cr__cpu_has(CR__CPU_AVX2 | CR__CPU_FMA) ? a : NULL;
}

const cr__act_arch *cr__act_arch_generic(void)
{
    return generic_kernels.sigmoid ? &generic_kernels : NULL;
}

static const cr__act_arch *current;
static pthread_once_t current_once = PTHREAD_ONCE_INIT;

static void find_current(void)
{
    const char *gemm = cr__config_get()->gemm->name;
    current = !strcmp(gemm, "avx512") ? cr__act_arch_avx512()
            : !strcmp(gemm, "avx2")   ? cr__act_arch_avx2()
                                      : NULL;
    if (!current) current = &generic_kernels;
}

const cr__act_arch *cr__act_arch_current(void)
{
    pthread_once(&current_once, find_current);
    return current;
}

/* y[i] = sigmoid(x[i]), tanh(x[i]) for i < n: the float build's by the current
 * instruction set's kernels (the same bits on each), the double build's here. */
static inline void sigmoid_array(cr_real *restrict y, const cr_real *restrict x, size_t n);
static inline void tanh_array(cr_real *restrict y, const cr_real *restrict x, size_t n);

/* -------------------------------------------------------------- sigmoid */

#ifdef CR_REAL_DOUBLE
static inline cr_real sigmoid_real(cr_real x)
{
    const cr_real e = cr__exp(-cr__fabs(x));     /* in (0, 1]: cannot overflow */
    return x >= 0 ? 1 / (1 + e) : e / (1 + e);
}
#endif

static void sigmoid_fwd(const cr_node *n, size_t b, size_t e)
{
    const cr_real *restrict x = n->in[0]->data;
    cr_real *restrict y = n->out->data;
    sigmoid_array(y + b, x + b, e - b);
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

/* the same, first write (CR__BWD_ASSIGNS): dx = instead of += */
static void sigmoid_bwd_set(const cr_node *n, size_t b, size_t e)
{
    cr_real *restrict dx = n->in[0]->grad;
    const cr_real *restrict g = n->out->grad, *restrict y = n->out->data;
    for (size_t i = b; i < e; i++) dx[i] = g[i] * y[i] * (1 - y[i]);
}

static void sigmoid_backward(cr_tape *t, cr_node *n)
{
    if (!n->in[0]->grad) return;
    if (cr__grad_fresh(t, 0))           /* two calls: each kernel inlined */
        cr__par_node(t, n, n->out->size, sigmoid_bwd_set);
    else
        cr__par_node(t, n, n->out->size, sigmoid_bwd);
}

static const cr_op sigmoid_op = { "sigmoid", sigmoid_forward, sigmoid_backward };

cr_tensor *cr_sigmoid(cr_tape *t, cr_tensor *x)
{
    return cr__unary_assigning(t, &sigmoid_op, x);
}

/* ----------------------------------------------------------------- tanh */

/* tanh from one exp: tanh|x| = 1 - 2/(e^(2|x|) + 1), accurate once |x| is not
 * small. |x| is capped at 20, where tanh is 1 in both precisions, so exp never
 * overflows; NaN stays NaN, tanh(+-inf) = +-1.
 * Float: evaluated in double (ops/act_float.h, vectorised), and below |x| = 2^-8 by the
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

static inline void sigmoid_array(cr_real *restrict y, const cr_real *restrict x, size_t n)
{
    for (size_t i = 0; i < n; i++) y[i] = sigmoid_real(x[i]);
}

static inline void tanh_array(cr_real *restrict y, const cr_real *restrict x, size_t n)
{
    for (size_t i = 0; i < n; i++) y[i] = tanh_real(x[i]);
}
#else
/* Fewer values than one AVX-512 vector of doubles go through the generic code
 * inline (the same bits as every kernel, ops/act_float.h): a scalar graph's node
 * pays for neither the ISA lookup nor a vector kernel's head and tail. */
#define CR_ACT_SMALL 8

static inline void sigmoid_array(cr_real *restrict y, const cr_real *restrict x, size_t n)
{
    if (n < CR_ACT_SMALL) {
        for (size_t i = 0; i < n; i++) y[i] = cr__act_sigmoid(x[i]);
        return;
    }
    cr__act_arch_current()->sigmoid(y, x, n);
}

static inline void tanh_array(cr_real *restrict y, const cr_real *restrict x, size_t n)
{
    if (n < CR_ACT_SMALL) {
        for (size_t i = 0; i < n; i++) y[i] = cr__act_tanh(x[i]);
        return;
    }
    cr__act_arch_current()->tanh(y, x, n);
}
#endif

static void tanh_fwd(const cr_node *n, size_t b, size_t e)
{
    const cr_real *restrict x = n->in[0]->data;
    cr_real *restrict y = n->out->data;
    tanh_array(y + b, x + b, e - b);
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

/* the same, first write (CR__BWD_ASSIGNS): dx = instead of += */
static void tanh_bwd_set(const cr_node *n, size_t b, size_t e)
{
    cr_real *restrict dx = n->in[0]->grad;
    const cr_real *restrict g = n->out->grad, *restrict y = n->out->data;
    for (size_t i = b; i < e; i++) dx[i] = g[i] * (1 - y[i] * y[i]);
}

static void tanh_backward(cr_tape *t, cr_node *n)
{
    if (!n->in[0]->grad) return;
    if (cr__grad_fresh(t, 0))           /* two calls: each kernel inlined */
        cr__par_node(t, n, n->out->size, tanh_bwd_set);
    else
        cr__par_node(t, n, n->out->size, tanh_bwd);
}

static const cr_op tanh_op = { "tanh", tanh_forward, tanh_backward };

cr_tensor *cr_tanh(cr_tape *t, cr_tensor *x)
{
    return cr__unary_assigning(t, &tanh_op, x);
}

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
            tanh_array(yr + j0, xr + j0, j1 - j0);
        else
            sigmoid_array(yr + j0, xr + j0, j1 - j0);
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
