/* AVX-512 "narrow" GEMM micro-kernels: C with few columns (n <= 12), e.g. the
 * 128 x 10 weight gradient H^T * G of a 10-class output layer. The regular kernels
 * vectorise along C's rows and would leave 6 of 16 lanes idle there; these vectorise
 * down C's columns instead, with op(A) stored column-contiguous (op(A)(i, p) at
 * a[i + p*csa], i.e. A transposed in memory, or a packed panel).
 *
 * One tile is m <= 32 rows (two vectors of 16; 16 rows as two vectors of 8 for
 * double) by n columns: for each p, load the rows' vectors of a, broadcast
 * b(p, j) for each column, n*mv FMAs. The epilogue turns the column vectors into
 * rows with 8 x 8 (4 x 4) register transposes and updates C with the same
 * alpha/beta formula as the regular kernels. */
#include "kernel.h"

#if defined(__AVX512F__) && defined(__FMA__) && defined(__AVX512DQ__) && defined(__AVX512VL__)
#include <immintrin.h>

#include "gemm_pack_x86.h"

#define AI static inline __attribute__((always_inline))
#define NC 12 /* most columns per tile */

/* Row r (0..7) of an 8-column block, alpha/beta applied, written to c[0..cols). */
AI void store_row_s(float *c, __m256 v, int cols, __m256 va, __m256 vb, float beta)
{
    __mmask8 mk = (__mmask8)(cols >= 8 ? 0xffu : (1u << cols) - 1);
    __m256 r = beta == 0
        ? _mm256_mul_ps(va, v)
        : _mm256_fmadd_ps(va, v, _mm256_mul_ps(vb, _mm256_maskz_loadu_ps(mk, c)));
    _mm256_mask_storeu_ps(c, mk, r);
}

AI void col_s(const int mv, const int n, int m, ptrdiff_t k, const float *a, ptrdiff_t csa,
              const float *b, ptrdiff_t rsb, ptrdiff_t csb, float *c, ptrdiff_t ldc,
              float alpha, float beta)
{
    const int tail = m - 16 * (mv - 1); /* rows in the last vector, 1..16 */
    const __mmask16 last = (__mmask16)(0xffffu >> (16 - tail));
    __m512 acc[NC][2];
#pragma GCC unroll 12
    for (int j = 0; j < n; j++)
#pragma GCC unroll 2
        for (int v = 0; v < mv; v++) acc[j][v] = _mm512_setzero_ps();
    for (ptrdiff_t p = 0; p < k; p++, a += csa, b += rsb) {
        __m512 av[2];
#pragma GCC unroll 2
        for (int v = 0; v < mv; v++)
            av[v] = v == mv - 1 ? _mm512_maskz_loadu_ps(last, a + 16 * v)
                                : _mm512_loadu_ps(a + 16 * v);
#pragma GCC unroll 12
        for (int j = 0; j < n; j++) {
            __m512 bj = _mm512_set1_ps(b[j * csb]);
#pragma GCC unroll 2
            for (int v = 0; v < mv; v++) acc[j][v] = _mm512_fmadd_ps(av[v], bj, acc[j][v]);
        }
    }
    const __m256 va = _mm256_set1_ps(alpha), vb = _mm256_set1_ps(beta);
#pragma GCC unroll 2
    for (int v = 0; v < mv; v++) {
        const int rows = v == mv - 1 ? tail : 16;
        /* blk[h][q]: rows 8h..8h+7 of columns 8q..8q+7, transposed to rows. */
        __m256 blk[2][2][8];
#pragma GCC unroll 2
        for (int h = 0; h < 2; h++)
#pragma GCC unroll 2
            for (int q = 0; q < (n + 7) / 8; q++) {
#pragma GCC unroll 8
                for (int j = 0; j < 8; j++) {
                    int col = 8 * q + j;
                    __m512 x = col < n ? acc[col < NC ? col : 0][v] : _mm512_setzero_ps();
                    blk[h][q][j] = h ? _mm512_extractf32x8_ps(x, 1) : _mm512_castps512_ps256(x);
                }
                tr8x8_ps(blk[h][q]);
            }
        for (int r = 0; r < rows; r++) {
            float *cp = c + (16 * v + r) * ldc;
            for (int q = 0; q < (n + 7) / 8; q++)
                store_row_s(cp + 8 * q, blk[r >> 3][q][r & 7], n - 8 * q, va, vb, beta);
        }
    }
}

AI void store_row_d(double *c, __m256d v, int cols, __m256d va, __m256d vb, double beta)
{
    __mmask8 mk = (__mmask8)(cols >= 4 ? 0xfu : (1u << cols) - 1);
    __m256d r = beta == 0
        ? _mm256_mul_pd(va, v)
        : _mm256_fmadd_pd(va, v, _mm256_mul_pd(vb, _mm256_maskz_loadu_pd(mk, c)));
    _mm256_mask_storeu_pd(c, mk, r);
}

AI void col_d(const int mv, const int n, int m, ptrdiff_t k, const double *a, ptrdiff_t csa,
              const double *b, ptrdiff_t rsb, ptrdiff_t csb, double *c, ptrdiff_t ldc,
              double alpha, double beta)
{
    const int tail = m - 8 * (mv - 1); /* rows in the last vector, 1..8 */
    const __mmask8 last = (__mmask8)(0xffu >> (8 - tail));
    __m512d acc[NC][2];
#pragma GCC unroll 12
    for (int j = 0; j < n; j++)
#pragma GCC unroll 2
        for (int v = 0; v < mv; v++) acc[j][v] = _mm512_setzero_pd();
    for (ptrdiff_t p = 0; p < k; p++, a += csa, b += rsb) {
        __m512d av[2];
#pragma GCC unroll 2
        for (int v = 0; v < mv; v++)
            av[v] = v == mv - 1 ? _mm512_maskz_loadu_pd(last, a + 8 * v)
                                : _mm512_loadu_pd(a + 8 * v);
#pragma GCC unroll 12
        for (int j = 0; j < n; j++) {
            __m512d bj = _mm512_set1_pd(b[j * csb]);
#pragma GCC unroll 2
            for (int v = 0; v < mv; v++) acc[j][v] = _mm512_fmadd_pd(av[v], bj, acc[j][v]);
        }
    }
    const __m256d va = _mm256_set1_pd(alpha), vb = _mm256_set1_pd(beta);
#pragma GCC unroll 2
    for (int v = 0; v < mv; v++) {
        const int rows = v == mv - 1 ? tail : 8;
        /* blk[h][q]: rows 4h..4h+3 of columns 4q..4q+3, transposed to rows. */
        __m256d blk[2][3][4];
#pragma GCC unroll 2
        for (int h = 0; h < 2; h++)
#pragma GCC unroll 3
            for (int q = 0; q < (n + 3) / 4; q++) {
#pragma GCC unroll 4
                for (int j = 0; j < 4; j++) {
                    int col = 4 * q + j;
                    __m512d x = col < n ? acc[col < NC ? col : 0][v] : _mm512_setzero_pd();
                    blk[h][q][j] = h ? _mm512_extractf64x4_pd(x, 1) : _mm512_castpd512_pd256(x);
                }
                tr4x4_pd(blk[h][q]);
            }
        for (int r = 0; r < rows; r++) {
            double *cp = c + (8 * v + r) * ldc;
            for (int q = 0; q < (n + 3) / 4; q++)
                store_row_d(cp + 4 * q, blk[r >> 2][q][r & 3], n - 4 * q, va, vb, beta);
        }
    }
}

typedef void (*col_s_fn)(int, ptrdiff_t, const float *, ptrdiff_t, const float *, ptrdiff_t,
                         ptrdiff_t, float *, ptrdiff_t, float, float);
typedef void (*col_d_fn)(int, ptrdiff_t, const double *, ptrdiff_t, const double *, ptrdiff_t,
                         ptrdiff_t, double *, ptrdiff_t, double, double);

#define DEF_S(V, N)                                                                            \
    static void cs_##V##_##N(int m, ptrdiff_t k, const float *a, ptrdiff_t csa,                \
                             const float *b, ptrdiff_t rsb, ptrdiff_t csb, float *c,           \
                             ptrdiff_t ldc, float alpha, float beta)                           \
    {                                                                                          \
        col_s(V, N, m, k, a, csa, b, rsb, csb, c, ldc, alpha, beta);                           \
    }
#define DEF_D(V, N)                                                                            \
    static void cd_##V##_##N(int m, ptrdiff_t k, const double *a, ptrdiff_t csa,               \
                             const double *b, ptrdiff_t rsb, ptrdiff_t csb, double *c,         \
                             ptrdiff_t ldc, double alpha, double beta)                         \
    {                                                                                          \
        col_d(V, N, m, k, a, csa, b, rsb, csb, c, ldc, alpha, beta);                           \
    }
#define COLS(DEF, V)                                                                           \
    DEF(V, 1)                                                                                  \
    DEF(V, 2) DEF(V, 3) DEF(V, 4) DEF(V, 5) DEF(V, 6) DEF(V, 7) DEF(V, 8) DEF(V, 9) DEF(V, 10) \
        DEF(V, 11) DEF(V, 12)
COLS(DEF_S, 1)
COLS(DEF_S, 2)
COLS(DEF_D, 1)
COLS(DEF_D, 2)

#define TAB(P, V)                                                                              \
    {                                                                                          \
        P##_##V##_1, P##_##V##_2, P##_##V##_3, P##_##V##_4, P##_##V##_5, P##_##V##_6,          \
            P##_##V##_7, P##_##V##_8, P##_##V##_9, P##_##V##_10, P##_##V##_11, P##_##V##_12    \
    }
static const col_s_fn tab_s[2][NC] = { TAB(cs, 1), TAB(cs, 2) };
static const col_d_fn tab_d[2][NC] = { TAB(cd, 1), TAB(cd, 2) };

void cr__ukrc_avx512_s(int m, int n, ptrdiff_t k, const float *a, ptrdiff_t csa, const float *b,
                       ptrdiff_t rsb, ptrdiff_t csb, float *c, ptrdiff_t ldc, float alpha,
                       float beta)
{
    tab_s[(m + 15) / 16 - 1][n - 1](m, k, a, csa, b, rsb, csb, c, ldc, alpha, beta);
}

void cr__ukrc_avx512_d(int m, int n, ptrdiff_t k, const double *a, ptrdiff_t csa,
                       const double *b, ptrdiff_t rsb, ptrdiff_t csb, double *c, ptrdiff_t ldc,
                       double alpha, double beta)
{
    tab_d[(m + 7) / 8 - 1][n - 1](m, k, a, csa, b, rsb, csb, c, ldc, alpha, beta);
}

#else /* no AVX-512 in this compiler: never selected (the arch table has no kernels) */
void cr__ukrc_avx512_s(int m, int n, ptrdiff_t k, const float *a, ptrdiff_t csa, const float *b,
                       ptrdiff_t rsb, ptrdiff_t csb, float *c, ptrdiff_t ldc, float alpha,
                       float beta)
{
    (void)m, (void)n, (void)k, (void)a, (void)csa, (void)b, (void)rsb, (void)csb, (void)c;
    (void)ldc, (void)alpha, (void)beta;
}

void cr__ukrc_avx512_d(int m, int n, ptrdiff_t k, const double *a, ptrdiff_t csa,
                       const double *b, ptrdiff_t rsb, ptrdiff_t csb, double *c, ptrdiff_t ldc,
                       double alpha, double beta)
{
    (void)m, (void)n, (void)k, (void)a, (void)csa, (void)b, (void)rsb, (void)csb, (void)c;
    (void)ldc, (void)alpha, (void)beta;
}
#endif
