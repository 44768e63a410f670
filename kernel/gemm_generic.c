/* Portable GEMM micro-kernels in plain C, for CPUs without AVX2 (and as the
 * reference the SIMD kernels are tested against). A 4 x 16 tile of accumulators the
 * compiler can keep in vector registers of any width. */
#include "kernel.h"

#define MR 4
#define NR 16

#define DEF_UKR(NAME, T)                                                                       \
    static void NAME(int m, int n, ptrdiff_t k, const T *a, ptrdiff_t rsa, ptrdiff_t csa,      \
                     const T *b, ptrdiff_t rsb, T *c, ptrdiff_t ldc, T alpha, T beta)          \
    {                                                                                          \
        T acc[MR][NR] = { { 0 } };                                                             \
        if (n == NR) {                                                                         \
            for (ptrdiff_t p = 0; p < k; p++, a += csa, b += rsb)                              \
                for (int i = 0; i < m; i++) {                                                  \
                    T ai = a[i * rsa];                                                         \
                    for (int j = 0; j < NR; j++) acc[i][j] += ai * b[j];                       \
                }                                                                              \
        } else {                                                                               \
            for (ptrdiff_t p = 0; p < k; p++, a += csa, b += rsb)                              \
                for (int i = 0; i < m; i++) {                                                  \
                    T ai = a[i * rsa];                                                         \
                    for (int j = 0; j < n; j++) acc[i][j] += ai * b[j];                        \
                }                                                                              \
        }                                                                                      \
        for (int i = 0; i < m; i++)                                                            \
            for (int j = 0; j < n; j++) {                                                      \
                T *cp = c + i * ldc + j;                                                       \
                *cp = beta == 0 ? alpha * acc[i][j] : alpha * acc[i][j] + beta * *cp;          \
            }                                                                                  \
    }

DEF_UKR(ukr_s, float)
DEF_UKR(ukr_d, double)

static const cr__gemm_arch generic = {
    .name = "generic",
    .mr_s = MR,
    .nr_s = NR,
    .mr_d = MR,
    .nr_d = NR,
    .ukr_s = ukr_s,
    .ukr_d = ukr_d,
};

const cr__gemm_arch *cr__gemm_arch_generic(void) { return &generic; }
