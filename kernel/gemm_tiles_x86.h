/* The tile-function tables of the x86 GEMM micro-kernel files (gemm_avx2.c,
 * gemm_avx512.c): one function per (rows, vectors), each the file's tile code
 * inlined with a constant m and nv, so it keeps its accumulators in registers.
 *
 * Include it after defining
 *   MR, NV            the largest tile: MR (6 or 8) rows by NV (2) vectors
 *   MASK_S, MASK_D    the type of the last vector's lane mask (float, double)
 *   tile_s, tile_d    the tile code, called as
 *                     tile_s(m, nv, k, a, rsa, csa, b, rsb, last, c, ldc, alpha, beta)
 * It defines tab_s[NV][MR] and tab_d[NV][MR]: tab_s[nv - 1][m - 1] is the function
 * for an m-row, nv-vector tile. */
#ifndef CR_KERNEL_GEMM_TILES_X86_H
#define CR_KERNEL_GEMM_TILES_X86_H

#if NV != 2 || (MR != 6 && MR != 8)
#error "gemm_tiles_x86.h: tables for MR 6 or 8 rows by NV 2 vectors only"
#endif

typedef void (*tile_s_fn)(ptrdiff_t, const float *, ptrdiff_t, ptrdiff_t, const float *,
                          ptrdiff_t, MASK_S, float *, ptrdiff_t, float, float);
typedef void (*tile_d_fn)(ptrdiff_t, const double *, ptrdiff_t, ptrdiff_t, const double *,
                          ptrdiff_t, MASK_D, double *, ptrdiff_t, double, double);

#define DEF_S(M, V)                                                                            \
    static void s_##M##_##V(ptrdiff_t k, const float *a, ptrdiff_t rsa, ptrdiff_t csa,         \
                            const float *b, ptrdiff_t rsb, MASK_S last, float *c,              \
                            ptrdiff_t ldc, float alpha, float beta)                            \
    {                                                                                          \
        tile_s(M, V, k, a, rsa, csa, b, rsb, last, c, ldc, alpha, beta);                       \
    }
#define DEF_D(M, V)                                                                            \
    static void d_##M##_##V(ptrdiff_t k, const double *a, ptrdiff_t rsa, ptrdiff_t csa,        \
                            const double *b, ptrdiff_t rsb, MASK_D last, double *c,            \
                            ptrdiff_t ldc, double alpha, double beta)                          \
    {                                                                                          \
        tile_d(M, V, k, a, rsa, csa, b, rsb, last, c, ldc, alpha, beta);                       \
    }
#if MR == 8
#define ROWS(DEF, V)                                                                           \
    DEF(1, V) DEF(2, V) DEF(3, V) DEF(4, V) DEF(5, V) DEF(6, V) DEF(7, V) DEF(8, V)
#define TAB(P, V)                                                                              \
    {                                                                                          \
        P##_1_##V, P##_2_##V, P##_3_##V, P##_4_##V, P##_5_##V, P##_6_##V, P##_7_##V, P##_8_##V \
    }
#else
#define ROWS(DEF, V) DEF(1, V) DEF(2, V) DEF(3, V) DEF(4, V) DEF(5, V) DEF(6, V)
#define TAB(P, V)                                                                              \
    {                                                                                          \
        P##_1_##V, P##_2_##V, P##_3_##V, P##_4_##V, P##_5_##V, P##_6_##V                       \
    }
#endif
ROWS(DEF_S, 1)
ROWS(DEF_S, 2)
ROWS(DEF_D, 1)
ROWS(DEF_D, 2)

static const tile_s_fn tab_s[NV][MR] = { TAB(s, 1), TAB(s, 2) };
static const tile_d_fn tab_d[NV][MR] = { TAB(d, 1), TAB(d, 2) };

#endif
