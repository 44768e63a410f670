/* PLACEHOLDER (to be replaced by the blocked SIMD GEMM): naive reference GEMM. */
#include "chainrule.h"

void cr_gemm(cr_pool *pool, int ta, int tb, int M, int N, int K, cr_real alpha,
             const cr_real *A, int lda, const cr_real *B, int ldb, cr_real beta,
             cr_real *C, int ldc)
{
    (void)pool;
    for (int i = 0; i < M; i++)
        for (int j = 0; j < N; j++) {
            double s = 0;
            for (int k = 0; k < K; k++) {
                double a = ta ? A[(size_t)k * lda + i] : A[(size_t)i * lda + k];
                double b = tb ? B[(size_t)j * ldb + k] : B[(size_t)k * ldb + j];
                s += a * b;
            }
            cr_real *c = &C[(size_t)i * ldc + j];
            *c = (cr_real)(alpha * s + (beta == 0 ? 0 : beta * *c));
        }
}

const char *cr_gemm_kernel_name(void) { return "naive"; }
