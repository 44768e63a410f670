/* AVX2 + FMA GEMM micro-kernels (float and double). Compiled with -mavx2 -mfma; only
 * called after cr__gemm_arch_avx2() found the CPU able to run them.
 *
 * Same scheme as the AVX-512 kernels with 16 ymm registers: a 6 x 2-vector tile
 * (12 accumulators, 2 rows of b, 1 broadcast). The last vector is read and written
 * through a lane mask, so exactly n columns are touched. */
#include "kernel.h"

#if defined(__AVX2__) && defined(__FMA__)
#include <immintrin.h>

#include "gemm_pack_x86.h"

#define AI static inline __attribute__((always_inline))

#define MR 6
#define NV 2

AI void tile_s(const int m, const int nv, ptrdiff_t k, const float *a, ptrdiff_t rsa,
               ptrdiff_t csa, const float *b, ptrdiff_t rsb, __m256i last, float *c,
               ptrdiff_t ldc, float alpha, float beta)
{
    __m256 acc[MR][NV];
#pragma GCC unroll 8
    for (int i = 0; i < m; i++)
#pragma GCC unroll 2
        for (int v = 0; v < nv; v++) acc[i][v] = _mm256_setzero_ps();
    for (ptrdiff_t p = 0; p < k; p++) {
        __m256 bv[NV];
#pragma GCC unroll 2
        for (int v = 0; v < nv; v++)
            bv[v] =
                v == nv - 1 ? _mm256_maskload_ps(b + 8 * v, last) : _mm256_loadu_ps(b + 8 * v);
#pragma GCC unroll 8
        for (int i = 0; i < m; i++) {
            __m256 av = _mm256_broadcast_ss(a + i * rsa);
#pragma GCC unroll 2
            for (int v = 0; v < nv; v++) acc[i][v] = _mm256_fmadd_ps(av, bv[v], acc[i][v]);
        }
        a += csa;
        b += rsb;
    }
    const __m256 va = _mm256_set1_ps(alpha), vb = _mm256_set1_ps(beta);
    const __m256i all = _mm256_set1_epi32(-1);
#pragma GCC unroll 8
    for (int i = 0; i < m; i++)
#pragma GCC unroll 2
        for (int v = 0; v < nv; v++) {
            __m256i mk = v == nv - 1 ? last : all;
            float *cp = c + i * ldc + 8 * v;
            __m256 r = beta == 0
                ? _mm256_mul_ps(va, acc[i][v])
                : _mm256_fmadd_ps(va, acc[i][v], _mm256_mul_ps(vb, _mm256_maskload_ps(cp, mk)));
            _mm256_maskstore_ps(cp, mk, r);
        }
}

AI void tile_d(const int m, const int nv, ptrdiff_t k, const double *a, ptrdiff_t rsa,
               ptrdiff_t csa, const double *b, ptrdiff_t rsb, __m256i last, double *c,
               ptrdiff_t ldc, double alpha, double beta)
{
    __m256d acc[MR][NV];
#pragma GCC unroll 8
    for (int i = 0; i < m; i++)
#pragma GCC unroll 2
        for (int v = 0; v < nv; v++) acc[i][v] = _mm256_setzero_pd();
    for (ptrdiff_t p = 0; p < k; p++) {
        __m256d bv[NV];
#pragma GCC unroll 2
        for (int v = 0; v < nv; v++)
            bv[v] =
                v == nv - 1 ? _mm256_maskload_pd(b + 4 * v, last) : _mm256_loadu_pd(b + 4 * v);
#pragma GCC unroll 8
        for (int i = 0; i < m; i++) {
            __m256d av = _mm256_broadcast_sd(a + i * rsa);
#pragma GCC unroll 2
            for (int v = 0; v < nv; v++) acc[i][v] = _mm256_fmadd_pd(av, bv[v], acc[i][v]);
        }
        a += csa;
        b += rsb;
    }
    const __m256d va = _mm256_set1_pd(alpha), vb = _mm256_set1_pd(beta);
    const __m256i all = _mm256_set1_epi64x(-1);
#pragma GCC unroll 8
    for (int i = 0; i < m; i++)
#pragma GCC unroll 2
        for (int v = 0; v < nv; v++) {
            __m256i mk = v == nv - 1 ? last : all;
            double *cp = c + i * ldc + 4 * v;
            __m256d r = beta == 0
                ? _mm256_mul_pd(va, acc[i][v])
                : _mm256_fmadd_pd(va, acc[i][v], _mm256_mul_pd(vb, _mm256_maskload_pd(cp, mk)));
            _mm256_maskstore_pd(cp, mk, r);
        }
}

#define MASK_S __m256i
#define MASK_D __m256i
#include "gemm_tiles_x86.h"

static void ukr_s(int m, int n, ptrdiff_t k, const float *a, ptrdiff_t rsa, ptrdiff_t csa,
                  const float *b, ptrdiff_t rsb, float *c, ptrdiff_t ldc, float alpha,
                  float beta)
{
    int nv = (n + 7) >> 3;
    __m256i last = _mm256_cmpgt_epi32(_mm256_set1_epi32(n - 8 * (nv - 1)),
                                      _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
    tab_s[nv - 1][m - 1](k, a, rsa, csa, b, rsb, last, c, ldc, alpha, beta);
    _mm256_zeroupper(); /* the tile functions take a __m256i, so GCC leaves this out */
}

static void ukr_d(int m, int n, ptrdiff_t k, const double *a, ptrdiff_t rsa, ptrdiff_t csa,
                  const double *b, ptrdiff_t rsb, double *c, ptrdiff_t ldc, double alpha,
                  double beta)
{
    int nv = (n + 3) >> 2;
    __m256i last = _mm256_cmpgt_epi64(_mm256_set1_epi64x(n - 4 * (nv - 1)),
                                      _mm256_setr_epi64x(0, 1, 2, 3));
    tab_d[nv - 1][m - 1](k, a, rsa, csa, b, rsb, last, c, ldc, alpha, beta);
    _mm256_zeroupper();
}

const cr__gemm_arch cr__gemm_avx2_kernels = {
    .name = "avx2",
    .mr_s = MR,
    .nr_s = 8 * NV,
    .mr_d = MR,
    .nr_d = 4 * NV,
    .ukr_s = ukr_s,
    .ukr_d = ukr_d,
    .pack_s = pack_t_s,
    .pack_d = pack_t_d,
};

#else /* the compiler cannot target AVX2: no kernels */
const cr__gemm_arch cr__gemm_avx2_kernels = { .name = "avx2" };
#endif
