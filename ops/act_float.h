/* The float build's sigmoid and tanh, evaluated in double and rounded once, as
 * inline functions and as array kernels compiled once per instruction set
 * (ops/sigmoid.c: plain x86-64 / SSE2; ops/act_avx2.c, ops/act_avx512.c: wider
 * vectors, chosen at run time). Every path performs the same IEEE operations in
 * the same order on each element: lanes are independent, there is no
 * reassociation (no -ffast-math) and no contraction into FMA (these files are
 * built with -ffp-contract=off, and clang also sees the pragma below), so every
 * path gives the same bits (NaN payloads aside) for every input. Float build
 * only: the double build's sigmoid and tanh are in ops/sigmoid.c. */
#ifndef CR_ACT_FLOAT_H
#define CR_ACT_FLOAT_H

#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#ifdef __clang__
#pragma STDC FP_CONTRACT OFF
#endif

/* y[i] = act(x[i]) for i < n (n may be 0). */
typedef void (*cr__act_fn)(float *restrict y, const float *restrict x, size_t n);

/* The array kernels of one instruction set. */
typedef struct cr__act_arch {
    const char *name;   /* "avx512", "avx2", "generic" */
    cr__act_fn sigmoid, tanh;
} cr__act_arch;

/* Each returns its kernels, or NULL when this build (the double one, or a compiler
 * without the ISA) or this CPU cannot run them. ops/sigmoid.c. */
const cr__act_arch *cr__act_arch_avx512(void);
const cr__act_arch *cr__act_arch_avx2(void);
const cr__act_arch *cr__act_arch_generic(void);
/* The one the ops use: the instruction set of the GEMM kernel in use
 * (CR_GEMM_KERNEL, else the best this CPU runs), so one variable forces both;
 * generic when the activations have no kernels for it. */
const cr__act_arch *cr__act_arch_current(void);
/* The tables of the ISA files (their entries NULL when the build cannot have
 * them); no CPU check: use the functions above. */
extern const cr__act_arch cr__act_avx512_kernels;
extern const cr__act_arch cr__act_avx2_kernels;

#ifndef CR_REAL_DOUBLE
/* e^x in double, branch-free so that the loops vectorise (libm's exp and expf are
 * calls, one element at a time). x = k ln2 + r with k = round(x / ln2),
 * |r| <= ln2/2 (ln2 in two parts, so r is exact to ~2^-60); e^r by its Taylor
 * series to r^11 (truncation <= 0.347^12/12! = 7e-15 relative); times 2^k built in
 * the exponent field. Callers keep x within [-700, 110], so 2^k is a normal
 * double; the relative error (~1e-14) is 10^-7 of a float ulp, so the rounded
 * float results are those of an exact exp but for ties closer than that. A NaN x
 * gives NaN (a garbage k is only multiplied into it). */
static inline double cr__act_exp_d(double x)
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

/* 1 / (1 + e^-x) in double, -x clamped to [-700, 110] (where the float result is
 * already 1 or 0; 2^k stays normal), rounded to float once: correctly rounded but
 * for near-ties, and no branch (the selects become masks), so the loop vectorises. */
static inline float cr__act_sigmoid(float x)
{
    double m = -(double)x;
    m = m > 110 ? 110 : m;
    m = m < -700 ? -700 : m;
    return (float)(1 / (1 + cr__act_exp_d(m)));
}

/* tanh|x| = 1 - 2/(e^(2|x|) + 1) in double with |x| capped at 20 (tanh is 1 there),
 * below |x| = 2^-8 the odd series x (1 - x^2/3 (1 - 2x^2/5)); correctly rounded
 * over [1e-12, 30] (checked against tanhl). Both branches computed and one
 * selected, so that the loops vectorise. */
static inline float cr__act_tanh(float x)
{
    const double xd = x, ax = fabs(xd), x2 = ax * ax;
    const double series = xd * (1 - x2 / 3 * (1 - 0.4 * x2));
    const double formula = copysign(1 - 2 / (cr__act_exp_d(2 * (ax > 20 ? 20 : ax)) + 1), xd);
    return (float)(ax < 0x1p-8 ? series : formula);
}

/* Defines the two array kernels cr__act_sigmoid_<isa> and cr__act_tanh_<isa>. */
#define CR__ACT_KERNELS(isa)                                                        \
    void cr__act_sigmoid_##isa(float *restrict y, const float *restrict x, size_t n); \
    void cr__act_sigmoid_##isa(float *restrict y, const float *restrict x, size_t n)  \
    {                                                                               \
        for (size_t i = 0; i < n; i++) y[i] = cr__act_sigmoid(x[i]);                \
    }                                                                               \
    void cr__act_tanh_##isa(float *restrict y, const float *restrict x, size_t n);    \
    void cr__act_tanh_##isa(float *restrict y, const float *restrict x, size_t n)     \
    {                                                                               \
        for (size_t i = 0; i < n; i++) y[i] = cr__act_tanh(x[i]);                   \
    }
#endif

#endif
