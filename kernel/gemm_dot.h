/* The small-output kernel (cr__dot_s/cr__dot_d in kernel.h), written once and
 * compiled per instruction set: the including file defines
 *   DOT_NAME   the function's name
 *   T, V, VL   element type, vector type, lanes per vector
 *   VZERO()    a vector of zeros
 *   VLOAD(p)   VL elements from p (unaligned)
 *   VFMA(x, y, acc)  acc + x * y per lane
 *   VHSUM(v)   the lanes' sum, in a fixed order
 * and includes it once per type; it #undefs them all at its end.
 * Blocks of DOT_MB rows of a by DOT_NB rows of b keep MB*NB accumulators in
 * registers; each step of p loads MB + NB vectors for MB*NB multiply-adds. The
 * chunk a caller hands in (k of about 512: 8 + 9 rows of it are 34 KB) stays in
 * L1 while every block walks it. */
#define DOT_MB 4
#define DOT_NB 3
#define DOT_PASTE2(a, b) a##b
#define DOT_PASTE(a, b) DOT_PASTE2(a, b)
#define dot_block DOT_PASTE(DOT_NAME, _block)   /* one per instantiation */

static inline __attribute__((always_inline)) void dot_block(const int mb, const int nb,
                                                            ptrdiff_t k, const T *a,
                                                            ptrdiff_t lda, const T *b,
                                                            ptrdiff_t ldb, T *out, int N)
{
    V acc[DOT_MB][DOT_NB];
    for (int i = 0; i < mb; i++)
        for (int j = 0; j < nb; j++) acc[i][j] = VZERO();
    const ptrdiff_t kv = k / VL * VL;
    for (ptrdiff_t p = 0; p < kv; p += VL) {
        V x[DOT_MB], y[DOT_NB];
        for (int i = 0; i < mb; i++) x[i] = VLOAD(a + i * lda + p);
        for (int j = 0; j < nb; j++) y[j] = VLOAD(b + j * ldb + p);
        for (int i = 0; i < mb; i++)
            for (int j = 0; j < nb; j++) acc[i][j] = VFMA(x[i], y[j], acc[i][j]);
    }
    for (int i = 0; i < mb; i++)
        for (int j = 0; j < nb; j++) {
            T s = VHSUM(acc[i][j]);
            for (ptrdiff_t p = kv; p < k; p++) s += a[i * lda + p] * b[j * ldb + p];
            out[(ptrdiff_t)i * N + j] = s;
        }
}

void DOT_NAME(int M, int N, ptrdiff_t k, const T *a, ptrdiff_t lda, const T *b, ptrdiff_t ldb,
              T *out)
{
    for (int i = 0; i < M; i += DOT_MB) {
        const int mb = M - i < DOT_MB ? M - i : DOT_MB;
        for (int j = 0; j < N; j += DOT_NB) {
            const int nb = N - j < DOT_NB ? N - j : DOT_NB;
            const T *ai = a + i * lda, *bj = b + j * ldb;
            T *o = out + (ptrdiff_t)i * N + j;
            /* constant block sizes, so that each case keeps its accumulators in
             * registers */
            switch ((mb - 1) * DOT_NB + nb - 1) {
            case 0: dot_block(1, 1, k, ai, lda, bj, ldb, o, N); break;
            case 1: dot_block(1, 2, k, ai, lda, bj, ldb, o, N); break;
            case 2: dot_block(1, 3, k, ai, lda, bj, ldb, o, N); break;
            case 3: dot_block(2, 1, k, ai, lda, bj, ldb, o, N); break;
            case 4: dot_block(2, 2, k, ai, lda, bj, ldb, o, N); break;
            case 5: dot_block(2, 3, k, ai, lda, bj, ldb, o, N); break;
            case 6: dot_block(3, 1, k, ai, lda, bj, ldb, o, N); break;
            case 7: dot_block(3, 2, k, ai, lda, bj, ldb, o, N); break;
            case 8: dot_block(3, 3, k, ai, lda, bj, ldb, o, N); break;
            case 9: dot_block(4, 1, k, ai, lda, bj, ldb, o, N); break;
            case 10: dot_block(4, 2, k, ai, lda, bj, ldb, o, N); break;
            default: dot_block(4, 3, k, ai, lda, bj, ldb, o, N); break;
            }
        }
    }
}

#undef DOT_MB
#undef DOT_NB
#undef dot_block
#undef DOT_NAME
#undef T
#undef V
#undef VL
#undef VZERO
#undef VLOAD
#undef VFMA
#undef VHSUM
