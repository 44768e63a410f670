/* AVX-512 GEMM micro-kernels (float and double). Compiled with -mavx512f -mfma;
 * only called after cr__gemm_arch_avx512() found the CPU able to run them.
 *
 * One tile is m rows by nv vectors of C. For every p the kernel loads nv vectors of
 * row p of b, broadcasts a(i,p) (folded into the FMA as an embedded broadcast) and
 * does m*nv FMAs into register accumulators. The last vector is masked, so the
 * kernel reads and writes exactly n columns: no padding or temporary tile is needed
 * at the right edge, and rows below m are never touched. */
#include "kernel.h"

#if defined(__AVX512F__) && defined(__FMA__)
#include <immintrin.h>

#include "gemm_pack_x86.h"

#define AI static inline __attribute__((always_inline))

/* tile: up to MR x 16*NV floats (MR x 8*NV doubles). 8 x 32 floats keeps 16
 * accumulators (twice the FMA latency x throughput of current cores) and divides
 * the MLP shapes (64, 128, 784) exactly. */
#define MR 8
#define NV 2

AI void tile_s(const int m, const int nv, ptrdiff_t k, const float *a, ptrdiff_t rsa,
               ptrdiff_t csa, const float *b, ptrdiff_t rsb, __mmask16 last, float *c,
               ptrdiff_t ldc, float alpha, float beta)
{
    __m512 acc[MR][NV];
#pragma GCC unroll 16
    for (int i = 0; i < m; i++) {
        PREFETCH_W(c + i * ldc);
        PREFETCH_W(c + i * ldc + 16 * nv - 1);
#pragma GCC unroll 4
        for (int v = 0; v < nv; v++) acc[i][v] = _mm512_setzero_ps();
    }
#pragma GCC unroll 4
    for (ptrdiff_t p = 0; p < k; p++) {
        __m512 bv[NV];
#pragma GCC unroll 4
        for (int v = 0; v < nv; v++)
            bv[v] = v == nv - 1 ? _mm512_maskz_loadu_ps(last, b + 16 * v)
                                : _mm512_loadu_ps(b + 16 * v);
#pragma GCC unroll 16
        for (int i = 0; i < m; i++) {
            __m512 av = _mm512_set1_ps(a[i * rsa]);
#pragma GCC unroll 4
            for (int v = 0; v < nv; v++) acc[i][v] = _mm512_fmadd_ps(av, bv[v], acc[i][v]);
        }
        a += csa;
        b += rsb;
    }
    const __m512 va = _mm512_set1_ps(alpha), vb = _mm512_set1_ps(beta);
    if (beta == 0) {
#pragma GCC unroll 16
        for (int i = 0; i < m; i++)
#pragma GCC unroll 4
            for (int v = 0; v < nv; v++)
                _mm512_mask_storeu_ps(c + i * ldc + 16 * v, v == nv - 1 ? last : 0xffff,
                                      _mm512_mul_ps(va, acc[i][v]));
    } else {
#pragma GCC unroll 16
        for (int i = 0; i < m; i++)
#pragma GCC unroll 4
            for (int v = 0; v < nv; v++) {
                __mmask16 mk = v == nv - 1 ? last : 0xffff;
                float *cp = c + i * ldc + 16 * v;
                __m512 old = _mm512_mul_ps(vb, _mm512_maskz_loadu_ps(mk, cp));
                _mm512_mask_storeu_ps(cp, mk, _mm512_fmadd_ps(va, acc[i][v], old));
            }
    }
}

AI void tile_d(const int m, const int nv, ptrdiff_t k, const double *a, ptrdiff_t rsa,
               ptrdiff_t csa, const double *b, ptrdiff_t rsb, __mmask8 last, double *c,
               ptrdiff_t ldc, double alpha, double beta)
{
    __m512d acc[MR][NV];
#pragma GCC unroll 16
    for (int i = 0; i < m; i++) {
        PREFETCH_W(c + i * ldc);
        PREFETCH_W(c + i * ldc + 8 * nv - 1);
#pragma GCC unroll 4
        for (int v = 0; v < nv; v++) acc[i][v] = _mm512_setzero_pd();
    }
#pragma GCC unroll 4
    for (ptrdiff_t p = 0; p < k; p++) {
        __m512d bv[NV];
#pragma GCC unroll 4
        for (int v = 0; v < nv; v++)
            bv[v] = v == nv - 1 ? _mm512_maskz_loadu_pd(last, b + 8 * v)
                                : _mm512_loadu_pd(b + 8 * v);
#pragma GCC unroll 16
        for (int i = 0; i < m; i++) {
            __m512d av = _mm512_set1_pd(a[i * rsa]);
#pragma GCC unroll 4
            for (int v = 0; v < nv; v++) acc[i][v] = _mm512_fmadd_pd(av, bv[v], acc[i][v]);
        }
        a += csa;
        b += rsb;
    }
    const __m512d va = _mm512_set1_pd(alpha), vb = _mm512_set1_pd(beta);
    if (beta == 0) {
#pragma GCC unroll 16
        for (int i = 0; i < m; i++)
#pragma GCC unroll 4
            for (int v = 0; v < nv; v++)
                _mm512_mask_storeu_pd(c + i * ldc + 8 * v, v == nv - 1 ? last : 0xff,
                                      _mm512_mul_pd(va, acc[i][v]));
    } else {
#pragma GCC unroll 16
        for (int i = 0; i < m; i++)
#pragma GCC unroll 4
            for (int v = 0; v < nv; v++) {
                __mmask8 mk = v == nv - 1 ? last : 0xff;
                double *cp = c + i * ldc + 8 * v;
                __m512d old = _mm512_mul_pd(vb, _mm512_maskz_loadu_pd(mk, cp));
                _mm512_mask_storeu_pd(cp, mk, _mm512_fmadd_pd(va, acc[i][v], old));
            }
    }
}

/* One function per (rows, vectors), so each keeps its accumulators in registers. */
#define MASK_S __mmask16
#define MASK_D __mmask8
#include "gemm_tiles_x86.h"

static void ukr_s(int m, int n, ptrdiff_t k, const float *a, ptrdiff_t rsa, ptrdiff_t csa,
                  const float *b, ptrdiff_t rsb, float *c, ptrdiff_t ldc, float alpha,
                  float beta)
{
    int nv = (n + 15) >> 4;
    __mmask16 last = (__mmask16)(0xffffu >> (16 * nv - n));
    tab_s[nv - 1][m - 1](k, a, rsa, csa, b, rsb, last, c, ldc, alpha, beta);
}

static void ukr_d(int m, int n, ptrdiff_t k, const double *a, ptrdiff_t rsa, ptrdiff_t csa,
                  const double *b, ptrdiff_t rsb, double *c, ptrdiff_t ldc, double alpha,
                  double beta)
{
    int nv = (n + 7) >> 3;
    __mmask8 last = (__mmask8)(0xffu >> (8 * nv - n));
    tab_d[nv - 1][m - 1](k, a, rsa, csa, b, rsb, last, c, ldc, alpha, beta);
}

/* Copying pack (see kernel.h): row p of src goes to row p of each w-wide panel, in
 * 16- or 8-lane pieces (w is a multiple of the piece when h > w); only a piece that
 * ends a panel's row short is masked. Panel by panel, each a run of k rows. */
static void copy_s(float *dst, ptrdiff_t w, const float *src, ptrdiff_t lds, int h, ptrdiff_t k)
{
    const int piece = w % 16 == 0 || h <= 8 ? 16 : 8;
    for (int s = 0; s < h; s += (int)w, dst += w * k, src += w) {
        const int cols = h - s < w ? h - s : (int)w;
        const int full = cols / piece * piece, left = cols - full;
        const __mmask16 mk = (__mmask16)(0xffffu >> (16 - left));
        const float *sp = src;
        float *dp = dst;
        for (ptrdiff_t p = 0; p < k; p++, dp += w, sp += lds) {
            int j = 0;
            if (piece == 16)
                for (; j < full; j += 16) _mm512_storeu_ps(dp + j, _mm512_loadu_ps(sp + j));
            else
                for (; j < full; j += 8) _mm256_storeu_ps(dp + j, _mm256_loadu_ps(sp + j));
            if (left) _mm512_mask_storeu_ps(dp + j, mk, _mm512_maskz_loadu_ps(mk, sp + j));
        }
    }
}

static void copy_d(double *dst, ptrdiff_t w, const double *src, ptrdiff_t lds, int h,
                   ptrdiff_t k)
{
    const int piece = w % 8 == 0 || h <= 4 ? 8 : 4;
    for (int s = 0; s < h; s += (int)w, dst += w * k, src += w) {
        const int cols = h - s < w ? h - s : (int)w;
        const int full = cols / piece * piece, left = cols - full;
        const __mmask8 mk = (__mmask8)(0xffu >> (8 - left));
        const double *sp = src;
        double *dp = dst;
        for (ptrdiff_t p = 0; p < k; p++, dp += w, sp += lds) {
            int j = 0;
            if (piece == 8)
                for (; j < full; j += 8) _mm512_storeu_pd(dp + j, _mm512_loadu_pd(sp + j));
            else
                for (; j < full; j += 4) _mm256_storeu_pd(dp + j, _mm256_loadu_pd(sp + j));
            if (left) _mm512_mask_storeu_pd(dp + j, mk, _mm512_maskz_loadu_pd(mk, sp + j));
        }
    }
}

const cr__gemm_arch cr__gemm_avx512_kernels = {
    .name = "avx512",
    .mr_s = MR,
    .nr_s = 16 * NV,
    .mr_d = MR,
    .nr_d = 8 * NV,
    .ukr_s = ukr_s,
    .ukr_d = ukr_d,
    .pack_s = pack_t_s,
    .pack_d = pack_t_d,
    .copy_s = copy_s,
    .copy_d = copy_d,
    .mrc_s = 32,
    .nrc_s = 12,
    .mrc_d = 16,
    .nrc_d = 12,
    .ukrc_s = cr__ukrc_avx512_s,
    .ukrc_d = cr__ukrc_avx512_d,
    .dot_s = cr__dot_avx512_s,
    .dot_d = cr__dot_avx512_d,
};

#else /* the compiler cannot target AVX-512: no kernels */
const cr__gemm_arch cr__gemm_avx512_kernels = { .name = "avx512" };
#endif
