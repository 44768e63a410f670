/* Portable GEMM micro-kernels, for CPUs without AVX2 (and as a second opinion in the
 * tests). A 4 x 8 float (4 x 4 double) tile of accumulators in 16-byte vectors of
 * GCC/Clang's generic vector extension, which every target lowers to what it has
 * (SSE2, NEON, or scalar code); other compilers get plain loops. Edge tiles take the
 * same operations in the same order through plain loops. No FMA contraction
 * (-std=c11), so every path rounds the same way. */
#include "kernel.h"

#include <string.h>

#define MR 4
#define NR_S 8
#define NR_D 4

#if defined(__GNUC__)
typedef float vf4 __attribute__((vector_size(16)));
typedef double vd2 __attribute__((vector_size(16)));

/* Full tile: 4 rows of 2 vectors of W lanes, the rows written out so that the
 * accumulators stay in registers. BCAST(x) makes a vector of x. */
#define FULL_TILE(T, V, W, BCAST)                                                              \
    {                                                                                          \
        V c00, c01, c10, c11, c20, c21, c30, c31;                                              \
        c00 = c01 = c10 = c11 = c20 = c21 = c30 = c31 = BCAST(0);                              \
        for (ptrdiff_t p = 0; p < k; p++, a += csa, b += rsb) {                                \
            V b0, b1, ai;                                                                      \
            memcpy(&b0, b, sizeof b0);                                                         \
            memcpy(&b1, b + W, sizeof b1);                                                     \
            ai = BCAST(a[0]);                                                                  \
            c00 += ai * b0;                                                                    \
            c01 += ai * b1;                                                                    \
            ai = BCAST(a[rsa]);                                                                \
            c10 += ai * b0;                                                                    \
            c11 += ai * b1;                                                                    \
            ai = BCAST(a[2 * rsa]);                                                            \
            c20 += ai * b0;                                                                    \
            c21 += ai * b1;                                                                    \
            ai = BCAST(a[3 * rsa]);                                                            \
            c30 += ai * b0;                                                                    \
            c31 += ai * b1;                                                                    \
        }                                                                                      \
        T acc[MR][2 * W];                                                                      \
        memcpy(acc[0], &c00, sizeof c00);                                                      \
        memcpy(acc[0] + W, &c01, sizeof c01);                                                  \
        memcpy(acc[1], &c10, sizeof c10);                                                      \
        memcpy(acc[1] + W, &c11, sizeof c11);                                                  \
        memcpy(acc[2], &c20, sizeof c20);                                                      \
        memcpy(acc[2] + W, &c21, sizeof c21);                                                  \
        memcpy(acc[3], &c30, sizeof c30);                                                      \
        memcpy(acc[3] + W, &c31, sizeof c31);                                                  \
        for (int i = 0; i < MR; i++)                                                           \
            for (int j = 0; j < 2 * W; j++) {                                                  \
                T *cp = c + i * ldc + j;                                                       \
                *cp = beta == 0 ? alpha * acc[i][j] : alpha * acc[i][j] + beta * *cp;          \
            }                                                                                  \
        return;                                                                                \
    }
#define BCAST_S(x) ((vf4){ (x), (x), (x), (x) })
#define BCAST_D(x) ((vd2){ (x), (x) })
#endif

#define DEF_UKR(NAME, T, NR, FULL)                                                             \
    static void NAME(int m, int n, ptrdiff_t k, const T *a, ptrdiff_t rsa, ptrdiff_t csa,      \
                     const T *b, ptrdiff_t rsb, T *c, ptrdiff_t ldc, T alpha, T beta)          \
    {                                                                                          \
        if (m == MR && n == NR) FULL T acc[MR][NR];                                            \
        memset(acc, 0, sizeof acc);                                                            \
        for (ptrdiff_t p = 0; p < k; p++, a += csa, b += rsb)                                  \
            for (int i = 0; i < m; i++) {                                                      \
                T ai = a[i * rsa];                                                             \
                for (int j = 0; j < n; j++) acc[i][j] += ai * b[j];                            \
            }                                                                                  \
        for (int i = 0; i < m; i++)                                                            \
            for (int j = 0; j < n; j++) {                                                      \
                T *cp = c + i * ldc + j;                                                       \
                *cp = beta == 0 ? alpha * acc[i][j] : alpha * acc[i][j] + beta * *cp;          \
            }                                                                                  \
    }

#if defined(__GNUC__)
DEF_UKR(ukr_s, float, NR_S, FULL_TILE(float, vf4, 4, BCAST_S))
DEF_UKR(ukr_d, double, NR_D, FULL_TILE(double, vd2, 2, BCAST_D))
#else
DEF_UKR(ukr_s, float, NR_S, {})
DEF_UKR(ukr_d, double, NR_D, {})
#endif

/* The portable small-output kernels: one lane (VL 1), so each output is the plain
 * sum over p in order. */
static void dot_s(int M, int N, ptrdiff_t k, const float *a, ptrdiff_t lda, const float *b,
                  ptrdiff_t ldb, float *out);
static void dot_d(int M, int N, ptrdiff_t k, const double *a, ptrdiff_t lda, const double *b,
                  ptrdiff_t ldb, double *out);
#define DOT_NAME dot_s
#define T float
#define V float
#define VL 1
#define VZERO() 0.0f
#define VLOAD(p) (*(p))
#define VFMA(x, y, acc) ((acc) + (x) * (y))
#define VHSUM(v) (v)
#include "gemm_dot.h"
#define DOT_NAME dot_d
#define T double
#define V double
#define VL 1
#define VZERO() 0.0
#define VLOAD(p) (*(p))
#define VFMA(x, y, acc) ((acc) + (x) * (y))
#define VHSUM(v) (v)
#include "gemm_dot.h"

static const cr__gemm_arch generic = {
    .name = "generic",
    .mr_s = MR,
    .nr_s = NR_S,
    .mr_d = MR,
    .nr_d = NR_D,
    .ukr_s = ukr_s,
    .ukr_d = ukr_d,
    .dot_s = dot_s,
    .dot_d = dot_d,
};

const cr__gemm_arch *cr__gemm_arch_generic(void) { return &generic; }
