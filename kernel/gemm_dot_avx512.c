/* AVX-512 small-output kernels (kernel/gemm_dot.h), float and double. Compiled with
 * -mavx512f -mfma; only called through the AVX-512 table, which cr__gemm_arch_avx512()
 * hands out once it found the CPU able to run it. */
#include "kernel.h"

#if defined(__AVX512F__) && defined(__FMA__)
#include <immintrin.h>

#define DOT_NAME cr__dot_avx512_s
#define T float
#define V __m512
#define VL 16
#define VZERO() _mm512_setzero_ps()
#define VLOAD(p) _mm512_loadu_ps(p)
#define VFMA(x, y, acc) _mm512_fmadd_ps(x, y, acc)
#define VHSUM(v) _mm512_reduce_add_ps(v)
#include "gemm_dot.h"

#define DOT_NAME cr__dot_avx512_d
#define T double
#define V __m512d
#define VL 8
#define VZERO() _mm512_setzero_pd()
#define VLOAD(p) _mm512_loadu_pd(p)
#define VFMA(x, y, acc) _mm512_fmadd_pd(x, y, acc)
#define VHSUM(v) _mm512_reduce_add_pd(v)
#include "gemm_dot.h"

#endif
