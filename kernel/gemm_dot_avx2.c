/* AVX2 small-output kernels (kernel/gemm_dot.h), float and double. Compiled with
 * -mavx2 -mfma; only called through the AVX2 table, which cr__gemm_arch_avx2()
 * hands out once it found the CPU able to run it. */
#include "kernel.h"

#if defined(__AVX2__) && defined(__FMA__)
#include <immintrin.h>

/* lanes added as (0+4, 1+5, 2+6, 3+7), then pairwise */
static inline float hsum_s(__m256 v)
{
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_shuffle_ps(s, s, 1));
    return _mm_cvtss_f32(s);
}

static inline double hsum_d(__m256d v)
{
    __m128d s = _mm_add_pd(_mm256_castpd256_pd128(v), _mm256_extractf128_pd(v, 1));
    s = _mm_add_sd(s, _mm_unpackhi_pd(s, s));
    return _mm_cvtsd_f64(s);
}

#define DOT_NAME cr__dot_avx2_s
#define T float
#define V __m256
#define VL 8
#define VZERO() _mm256_setzero_ps()
#define VLOAD(p) _mm256_loadu_ps(p)
#define VFMA(x, y, acc) _mm256_fmadd_ps(x, y, acc)
#define VHSUM(v) hsum_s(v)
#include "gemm_dot.h"

#define DOT_NAME cr__dot_avx2_d
#define T double
#define V __m256d
#define VL 4
#define VZERO() _mm256_setzero_pd()
#define VLOAD(p) _mm256_loadu_pd(p)
#define VFMA(x, y, acc) _mm256_fmadd_pd(x, y, acc)
#define VHSUM(v) hsum_d(v)
#include "gemm_dot.h"

#endif
