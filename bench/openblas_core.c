/* Which OpenBLAS core this process runs, how fast it is, and whether it computes
 * correctly: the probe bench/openblas_core.sh runs once per candidate
 * OPENBLAS_CORETYPE to pick the core every peer of `make bench` then uses.
 *
 *   openblas_core [-q]     (-q: 3 samples instead of 5)
 *
 * One thread (openblas_set_num_threads(1)). It times sgemm (dgemm in the double
 * build) on square 256 and 512 and on the two big shapes of the 784-128-10 MLP at
 * batch 64 (X.W1 and X^T.G1), in CPU time of the calling thread, median of the
 * samples, and checks every product against chainrule's cr_gemm on the same
 * operands: |C_openblas - C_ours| <= 4 K eps (|A||B|) elementwise (both products
 * are within K eps |A||B| of the exact one), so a core that the CPU cannot run or
 * that computes garbage is rejected. Last line, for bench/openblas_core.sh:
 *   RESULT core=<openblas_get_corename()> ok=<1|0> seconds=<sum of the medians>
 * Built without -DCR_HAVE_OPENBLAS it prints `RESULT core=none ok=0 seconds=0`. */
#include "chainrule.h"
#include "bench_util.h"

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#ifndef CR_HAVE_OPENBLAS
int main(void)
{
    printf("openblas_core: OpenBLAS not installed: apt-get install libopenblas-dev\n");
    printf("RESULT core=none ok=0 seconds=0\n");
    return 0;
}
#else

#include <cblas.h>
char *openblas_get_corename(void);
char *openblas_get_config(void);
void openblas_set_num_threads(int n);

typedef struct shape {
    const char *name;
    int ta, M, N, K; /* ta: A stored K x M and used transposed */
} shape;

static const shape shapes[] = {
    { "square 256", 0, 256, 256, 256 },
    { "square 512", 0, 512, 512, 512 },
    { "X.W1 64x784.784x128", 0, 64, 128, 784 },
    { "X^T.G1 784x64.64x128", 1, 784, 128, 64 },
};
#define NSHAPES (int)(sizeof shapes / sizeof shapes[0])

static void blas(const shape *s, const cr_real *A, const cr_real *B, cr_real *C)
{
    enum CBLAS_TRANSPOSE ta = s->ta ? CblasTrans : CblasNoTrans;
    int lda = s->ta ? s->M : s->K;
#ifdef CR_REAL_DOUBLE
    cblas_dgemm(CblasRowMajor, ta, CblasNoTrans, s->M, s->N, s->K, 1, A, lda, B, s->N, 0, C,
                s->N);
#else
    cblas_sgemm(CblasRowMajor, ta, CblasNoTrans, s->M, s->N, s->K, 1, A, lda, B, s->N, 0, C,
                s->N);
#endif
}

/* Median CPU seconds per call over `samples` samples of at least 5 ms each. */
static double time_blas(const shape *s, const cr_real *A, const cr_real *B, cr_real *C,
                        int samples)
{
    int reps = 1;
    blas(s, A, B, C);
    for (;;) {
        double t0 = thread_cpu();
        for (int r = 0; r < reps; r++) blas(s, A, B, C);
        if (thread_cpu() - t0 >= 0.005 || reps >= (1 << 20)) break;
        reps *= 2;
    }
    double t[8];
    for (int i = 0; i < samples; i++) {
        double t0 = thread_cpu();
        for (int r = 0; r < reps; r++) blas(s, A, B, C);
        t[i] = (thread_cpu() - t0) / reps;
    }
    qsort(t, (size_t)samples, sizeof *t, cmp_double);
    return t[samples / 2];
}

int main(int argc, char **argv)
{
    int samples = argc > 1 && !strcmp(argv[1], "-q") ? 3 : 5;
    size_t cap = (size_t)784 * 512;
    cr_real *A = malloc(cap * sizeof *A), *B = malloc(cap * sizeof *B),
            *aA = malloc(cap * sizeof *aA), *aB = malloc(cap * sizeof *aB),
            *C = malloc(cap * sizeof *C), *R = malloc(cap * sizeof *R),
            *E = malloc(cap * sizeof *E);
    if (!A || !B || !aA || !aB || !C || !R || !E) {
        fprintf(stderr, "openblas_core: out of memory\n");
        return 1;
    }
    for (size_t i = 0; i < cap; i++) {
        A[i] = (cr_real)((double)((i * 7919) % 1000) / 1000 - 0.5);
        B[i] = (cr_real)((double)((i * 104729) % 1000) / 1000 - 0.5);
        aA[i] = (cr_real)fabs((double)A[i]);
        aB[i] = (cr_real)fabs((double)B[i]);
    }
    openblas_set_num_threads(1);
    printf("OpenBLAS %s, core %s, 1 thread\n", openblas_get_config(), openblas_get_corename());
    fflush(stdout); /* a core the CPU cannot run dies in the first call below */

    int ok = 1;
    double total = 0;
    const double eps = sizeof(cr_real) == 8 ? DBL_EPSILON : FLT_EPSILON;
    for (int si = 0; si < NSHAPES; si++) {
        const shape *s = &shapes[si];
        int lda = s->ta ? s->M : s->K;
        blas(s, A, B, C);
        cr_gemm(NULL, s->ta, 0, s->M, s->N, s->K, 1, A, lda, B, s->N, 0, R, s->N);
        cr_gemm(NULL, s->ta, 0, s->M, s->N, s->K, 1, aA, lda, aB, s->N, 0, E, s->N);
        double worst = 0; /* largest |difference| / allowed */
        for (size_t i = 0; i < (size_t)s->M * (size_t)s->N; i++) {
            double d = fabs((double)C[i] - (double)R[i]);
            double allowed = 4.0 * s->K * eps * (double)E[i] + 1e-30;
            if (!(d <= allowed)) ok = 0; /* NaN fails too */
            if (d / allowed > worst) worst = d / allowed;
        }
        double t = time_blas(s, A, B, C, samples);
        total += t;
        printf("%-22s %8.1f GFLOP/s  error %.3f of the allowed bound%s\n", s->name,
               2.0 * s->M * s->N * s->K / t * 1e-9, worst, worst <= 1 ? "" : "  WRONG");
    }
    printf("RESULT core=%s ok=%d seconds=%.6f\n", openblas_get_corename(), ok, total);
    free(A);
    free(B);
    free(aA);
    free(aB);
    free(C);
    free(R);
    free(E);
    return 0;
}
#endif
