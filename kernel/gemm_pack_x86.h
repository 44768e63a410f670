/* Transposing pack and the C prefetch of the x86 GEMM kernels, shared by
 * gemm_avx512.c and gemm_avx2.c (included only there: it needs AVX2 and those
 * files' ISA flags).
 *
 * dst[p*w + i] = src[i*lds + p] for i < h, p < k: h rows of a row-major matrix become
 * k rows of a packed panel w wide. This is what packing does for op(A) = A (rows
 * of A become columns of a panel) and op(B) = B^T. 8 x 8 blocks are transposed in
 * registers (unpack, shuffle, lane permute); the lanes i >= h of the last block of
 * rows are written with zeros, inside the panel's width. */
#ifndef CR_GEMM_PACK_X86_H
#define CR_GEMM_PACK_X86_H

#include <immintrin.h>
#include <stddef.h>
#include <string.h>

/* Fetch a line of C for writing (exclusive), long before a micro-kernel's tile is
 * stored: issued before the k loop, the C tile's cache and TLB misses overlap the
 * loop (square 1024: each row of C a page apart, C far larger than L2). */
#define PREFETCH_W(p) __asm__ volatile("prefetchw %0" : : "m"(*(const char *)(p)))

static inline void tr8x8_ps(__m256 r[8])
{
    __m256 t0 = _mm256_unpacklo_ps(r[0], r[1]), t1 = _mm256_unpackhi_ps(r[0], r[1]);
    __m256 t2 = _mm256_unpacklo_ps(r[2], r[3]), t3 = _mm256_unpackhi_ps(r[2], r[3]);
    __m256 t4 = _mm256_unpacklo_ps(r[4], r[5]), t5 = _mm256_unpackhi_ps(r[4], r[5]);
    __m256 t6 = _mm256_unpacklo_ps(r[6], r[7]), t7 = _mm256_unpackhi_ps(r[6], r[7]);
    __m256 s0 = _mm256_shuffle_ps(t0, t2, 0x44), s1 = _mm256_shuffle_ps(t0, t2, 0xEE);
    __m256 s2 = _mm256_shuffle_ps(t1, t3, 0x44), s3 = _mm256_shuffle_ps(t1, t3, 0xEE);
    __m256 s4 = _mm256_shuffle_ps(t4, t6, 0x44), s5 = _mm256_shuffle_ps(t4, t6, 0xEE);
    __m256 s6 = _mm256_shuffle_ps(t5, t7, 0x44), s7 = _mm256_shuffle_ps(t5, t7, 0xEE);
    r[0] = _mm256_permute2f128_ps(s0, s4, 0x20);
    r[1] = _mm256_permute2f128_ps(s1, s5, 0x20);
    r[2] = _mm256_permute2f128_ps(s2, s6, 0x20);
    r[3] = _mm256_permute2f128_ps(s3, s7, 0x20);
    r[4] = _mm256_permute2f128_ps(s0, s4, 0x31);
    r[5] = _mm256_permute2f128_ps(s1, s5, 0x31);
    r[6] = _mm256_permute2f128_ps(s2, s6, 0x31);
    r[7] = _mm256_permute2f128_ps(s3, s7, 0x31);
}

static inline void tr4x4_pd(__m256d r[4])
{
    __m256d t0 = _mm256_unpacklo_pd(r[0], r[1]), t1 = _mm256_unpackhi_pd(r[0], r[1]);
    __m256d t2 = _mm256_unpacklo_pd(r[2], r[3]), t3 = _mm256_unpackhi_pd(r[2], r[3]);
    r[0] = _mm256_permute2f128_pd(t0, t2, 0x20);
    r[1] = _mm256_permute2f128_pd(t1, t3, 0x20);
    r[2] = _mm256_permute2f128_pd(t0, t2, 0x31);
    r[3] = _mm256_permute2f128_pd(t1, t3, 0x31);
}

static inline void pack_t_scalar_s(float *dst, ptrdiff_t w, const float *src, ptrdiff_t lds,
                                   int h, ptrdiff_t k)
{
    for (int i = 0; i < h; i++)
        for (ptrdiff_t p = 0; p < k; p++) dst[p * w + i] = src[i * lds + p];
}

static inline void pack_t_scalar_d(double *dst, ptrdiff_t w, const double *src, ptrdiff_t lds,
                                   int h, ptrdiff_t k)
{
    for (int i = 0; i < h; i++)
        for (ptrdiff_t p = 0; p < k; p++) dst[p * w + i] = src[i * lds + p];
}

static inline void pack_t_s(float *dst, ptrdiff_t w, const float *src, ptrdiff_t lds, int h,
                            ptrdiff_t k)
{
    if (w % 8) {
        pack_t_scalar_s(dst, w, src, lds, h, k);
        return;
    }
    const ptrdiff_t k8 = k / 8 * 8;
    for (int g = 0; g < h; g += 8) {
        const int rows = h - g < 8 ? h - g : 8;
        const float *s = src + g * lds;
        float *d = dst + g;
        __m256 r[8];
        if (rows == 8) /* full blocks: everything in registers */
            for (ptrdiff_t p = 0; p < k8; p += 8) {
#pragma GCC unroll 8
                for (int i = 0; i < 8; i++) r[i] = _mm256_loadu_ps(s + i * lds + p);
                tr8x8_ps(r);
#pragma GCC unroll 8
                for (int q = 0; q < 8; q++) _mm256_storeu_ps(d + (p + q) * w, r[q]);
            }
        else
            for (ptrdiff_t p = 0; p < k8; p += 8) {
#pragma GCC unroll 8
                for (int i = 0; i < 8; i++)
                    r[i] = i < rows ? _mm256_loadu_ps(s + i * lds + p) : _mm256_setzero_ps();
                tr8x8_ps(r);
#pragma GCC unroll 8
                for (int q = 0; q < 8; q++) _mm256_storeu_ps(d + (p + q) * w, r[q]);
            }
        if (k8 < k) { /* last k % 8 columns of src: go through a small buffer */
            float tmp[8][8];
            memset(tmp, 0, sizeof tmp);
            for (int i = 0; i < rows; i++)
                memcpy(tmp[i], s + i * lds + k8, (size_t)(k - k8) * sizeof(float));
            for (int i = 0; i < 8; i++) r[i] = _mm256_loadu_ps(tmp[i]);
            tr8x8_ps(r);
            for (ptrdiff_t q = 0; q < k - k8; q++) _mm256_storeu_ps(d + (k8 + q) * w, r[q]);
        }
    }
}

static inline void pack_t_d(double *dst, ptrdiff_t w, const double *src, ptrdiff_t lds, int h,
                            ptrdiff_t k)
{
    if (w % 4) {
        pack_t_scalar_d(dst, w, src, lds, h, k);
        return;
    }
    const ptrdiff_t k4 = k / 4 * 4;
    for (int g = 0; g < h; g += 4) {
        const int rows = h - g < 4 ? h - g : 4;
        const double *s = src + g * lds;
        double *d = dst + g;
        __m256d r[4];
        for (ptrdiff_t p = 0; p < k4; p += 4) {
#pragma GCC unroll 4
            for (int i = 0; i < 4; i++)
                r[i] = i < rows ? _mm256_loadu_pd(s + i * lds + p) : _mm256_setzero_pd();
            tr4x4_pd(r);
#pragma GCC unroll 4
            for (int q = 0; q < 4; q++) _mm256_storeu_pd(d + (p + q) * w, r[q]);
        }
        if (k4 < k) {
            double tmp[4][4];
            memset(tmp, 0, sizeof tmp);
            for (int i = 0; i < rows; i++)
                memcpy(tmp[i], s + i * lds + k4, (size_t)(k - k4) * sizeof(double));
            for (int i = 0; i < 4; i++) r[i] = _mm256_loadu_pd(tmp[i]);
            tr4x4_pd(r);
            for (ptrdiff_t q = 0; q < k - k4; q++) _mm256_storeu_pd(d + (k4 + q) * w, r[q]);
        }
    }
}

#endif
