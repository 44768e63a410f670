/* AVX2 + FMA GEMM micro-kernels (float and double). Compiled with -mavx2 -mfma; only
 * called after cr__gemm_arch_avx2() found the CPU able to run them.
 *
 * Same scheme as the AVX-512 kernels with 16 ymm registers: a 6 x 2-vector tile
 * (12 accumulators, 2 rows of b, 1 broadcast). In a tile narrower than its vectors
 * the last vector is read and written through a lane mask, so exactly n columns are
 * touched; a full-width tile uses plain loads and stores (vmaskmov costs more
 * micro-ops: square 512-1024 measured 3-8% faster without it). */
#include "kernel.h"

#if defined(__AVX2__) && defined(__FMA__)
#include <immintrin.h>

#include "gemm_pack_x86.h"

#define AI static inline __attribute__((always_inline))

#define MR 6
#define NV 2

AI void body_s(const int m, const int nv, const int full, ptrdiff_t k, const float *a,
               ptrdiff_t rsa, ptrdiff_t csa, const float *b, ptrdiff_t rsb, __m256i last,
               float *c, ptrdiff_t ldc, float alpha, float beta)
{
    __m256 acc[MR][NV];
#pragma GCC unroll 8
    for (int i = 0; i < m; i++) {
        PREFETCH_W(c + i * ldc);
        PREFETCH_W(c + i * ldc + 8 * nv - 1);
#pragma GCC unroll 2
        for (int v = 0; v < nv; v++) acc[i][v] = _mm256_setzero_ps();
    }
#pragma GCC unroll 4
    for (ptrdiff_t p = 0; p < k; p++) {
        __m256 bv[NV];
#pragma GCC unroll 2
        for (int v = 0; v < nv; v++)
            bv[v] = v == nv - 1 && !full ? _mm256_maskload_ps(b + 8 * v, last)
                                          : _mm256_loadu_ps(b + 8 * v);
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
#pragma GCC unroll 8
    for (int i = 0; i < m; i++)
#pragma GCC unroll 2
        for (int v = 0; v < nv; v++) {
            float *cp = c + i * ldc + 8 * v;
            if (v < nv - 1 || full) {
                __m256 r = beta == 0
                    ? _mm256_mul_ps(va, acc[i][v])
                    : _mm256_fmadd_ps(va, acc[i][v], _mm256_mul_ps(vb, _mm256_loadu_ps(cp)));
                _mm256_storeu_ps(cp, r);
                continue;
            }
            __m256 r = beta == 0
                ? _mm256_mul_ps(va, acc[i][v])
                : _mm256_fmadd_ps(va, acc[i][v], _mm256_mul_ps(vb, _mm256_maskload_ps(cp, last)));
            _mm256_maskstore_ps(cp, last, r);
        }
}

/* A tile as wide as its vectors takes plain loads and stores throughout. */
AI void tile_s(const int m, const int nv, ptrdiff_t k, const float *a, ptrdiff_t rsa,
               ptrdiff_t csa, const float *b, ptrdiff_t rsb, __m256i last, float *c,
               ptrdiff_t ldc, float alpha, float beta)
{
    if (_mm256_movemask_ps(_mm256_castsi256_ps(last)) == 0xff)
        body_s(m, nv, 1, k, a, rsa, csa, b, rsb, last, c, ldc, alpha, beta);
    else
        body_s(m, nv, 0, k, a, rsa, csa, b, rsb, last, c, ldc, alpha, beta);
}

AI void body_d(const int m, const int nv, const int full, ptrdiff_t k, const double *a,
               ptrdiff_t rsa, ptrdiff_t csa, const double *b, ptrdiff_t rsb, __m256i last,
               double *c, ptrdiff_t ldc, double alpha, double beta)
{
    __m256d acc[MR][NV];
#pragma GCC unroll 8
    for (int i = 0; i < m; i++) {
        PREFETCH_W(c + i * ldc);
        PREFETCH_W(c + i * ldc + 4 * nv - 1);
#pragma GCC unroll 2
        for (int v = 0; v < nv; v++) acc[i][v] = _mm256_setzero_pd();
    }
#pragma GCC unroll 4
    for (ptrdiff_t p = 0; p < k; p++) {
        __m256d bv[NV];
#pragma GCC unroll 2
        for (int v = 0; v < nv; v++)
            bv[v] = v == nv - 1 && !full ? _mm256_maskload_pd(b + 4 * v, last)
                                          : _mm256_loadu_pd(b + 4 * v);
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
#pragma GCC unroll 8
    for (int i = 0; i < m; i++)
#pragma GCC unroll 2
        for (int v = 0; v < nv; v++) {
            double *cp = c + i * ldc + 4 * v;
            if (v < nv - 1 || full) {
                __m256d r = beta == 0
                    ? _mm256_mul_pd(va, acc[i][v])
                    : _mm256_fmadd_pd(va, acc[i][v], _mm256_mul_pd(vb, _mm256_loadu_pd(cp)));
                _mm256_storeu_pd(cp, r);
                continue;
            }
            __m256d r = beta == 0
                ? _mm256_mul_pd(va, acc[i][v])
                : _mm256_fmadd_pd(va, acc[i][v], _mm256_mul_pd(vb, _mm256_maskload_pd(cp, last)));
            _mm256_maskstore_pd(cp, last, r);
        }
}

AI void tile_d(const int m, const int nv, ptrdiff_t k, const double *a, ptrdiff_t rsa,
               ptrdiff_t csa, const double *b, ptrdiff_t rsb, __m256i last, double *c,
               ptrdiff_t ldc, double alpha, double beta)
{
    if (_mm256_movemask_pd(_mm256_castsi256_pd(last)) == 0xf)
        body_d(m, nv, 1, k, a, rsa, csa, b, rsb, last, c, ldc, alpha, beta);
    else
        body_d(m, nv, 0, k, a, rsa, csa, b, rsb, last, c, ldc, alpha, beta);
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

/* Copying pack (see kernel.h): row p of src goes to row p of each w-wide panel in
 * 8-float (4-double) pieces; a piece that ends a panel's row short is moved in
 * 4/2/1-float (2/1-double) parts (a 6-row panel of A: 4 + 2), cheaper than a lane
 * mask. Without it the driver copies each row piece with memcpy, a libc call per
 * 64 bytes (the character LSTM's weight gradients spent 7% of their time there on
 * a Zen 3). */
static void copy_s(float *dst, ptrdiff_t w, const float *src, ptrdiff_t lds, int h, ptrdiff_t k)
{
    for (int s = 0; s < h; s += (int)w, dst += w * k, src += w) {
        const int cols = h - s < w ? h - s : (int)w;
        const int full = cols / 8 * 8, left = cols - full;
        const float *sp = src;
        float *dp = dst;
        for (ptrdiff_t p = 0; p < k; p++, dp += w, sp += lds) {
            int j = 0;
            for (; j < full; j += 8) _mm256_storeu_ps(dp + j, _mm256_loadu_ps(sp + j));
            if (left & 4) {
                _mm_storeu_ps(dp + j, _mm_loadu_ps(sp + j));
                j += 4;
            }
            if (left & 2) {
                const __m128 two = _mm_loadl_pi(_mm_setzero_ps(),
                                                (const __m64 *)(const void *)(sp + j));
                _mm_storel_pi((__m64 *)(void *)(dp + j), two);
                j += 2;
            }
            if (left & 1) dp[j] = sp[j];
        }
    }
}

static void copy_d(double *dst, ptrdiff_t w, const double *src, ptrdiff_t lds, int h,
                   ptrdiff_t k)
{
    for (int s = 0; s < h; s += (int)w, dst += w * k, src += w) {
        const int cols = h - s < w ? h - s : (int)w;
        const int full = cols / 4 * 4, left = cols - full;
        const double *sp = src;
        double *dp = dst;
        for (ptrdiff_t p = 0; p < k; p++, dp += w, sp += lds) {
            int j = 0;
            for (; j < full; j += 4) _mm256_storeu_pd(dp + j, _mm256_loadu_pd(sp + j));
            if (left & 2) {
                _mm_storeu_pd(dp + j, _mm_loadu_pd(sp + j));
                j += 2;
            }
            if (left & 1) dp[j] = sp[j];
        }
    }
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
    .copy_s = copy_s,
    .copy_d = copy_d,
    .dot_s = cr__dot_avx2_s,
    .dot_d = cr__dot_avx2_d,
    .kc_whole_l1 = 1,
};

#else /* the compiler cannot target AVX2: no kernels */
const cr__gemm_arch cr__gemm_avx2_kernels = { .name = "avx2" };
#endif
