/* GEMM throughput, chainrule vs OpenBLAS, measured in the same process.
 *
 *   gemm_bench [-q] [-t THREADS]
 *     -q          quick: 3 samples instead of 7, shorter samples
 *     -t THREADS  only this thread count (default: 1, then 2)
 *
 * For every shape and thread count it times both libraries on the same operands,
 * alternating sample by sample (so a noisy neighbour hurts both alike), and prints
 * the median GFLOP/s of each and their ratio. Run it with OPENBLAS_CORETYPE and
 * OPENBLAS_L2_SIZE unset (bench/run.sh does), or OpenBLAS may pick an older kernel;
 * the core it reports is printed. Built without -DCR_HAVE_OPENBLAS, it times only
 * chainrule and says how to get the peer. */
#include "chainrule.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#ifdef CR_HAVE_OPENBLAS
#include <cblas.h>
char *openblas_get_corename(void);
char *openblas_get_config(void);
int openblas_get_num_threads(void);
void openblas_set_num_threads(int n);
#endif

typedef struct shape {
    const char *name;
    int ta, tb, M, N, K;
} shape;

/* The MLP is 784-128-10 at batch 64: X (64x784), W1 (784x128), H (64x128),
 * W2 (128x10), G the gradient of a layer's output. */
static const shape shapes[] = {
    { "square 64", 0, 0, 64, 64, 64 },
    { "square 128", 0, 0, 128, 128, 128 },
    { "square 256", 0, 0, 256, 256, 256 },
    { "square 512", 0, 0, 512, 512, 512 },
    { "square 1024", 0, 0, 1024, 1024, 1024 },
    { "X.W1      64x784.784x128", 0, 0, 64, 128, 784 },
    { "Xt.G1    784x64.64x128", 1, 0, 784, 128, 64 },
    { "G1.W1t    64x128.128x784", 0, 1, 64, 784, 128 },
    { "H.W2      64x128.128x10", 0, 0, 64, 10, 128 },
    { "Ht.G2    128x64.64x10", 1, 0, 128, 10, 64 },
    { "G2.W2t    64x10.10x128", 0, 1, 64, 128, 10 },
};
#define NSHAPES (int)(sizeof shapes / sizeof shapes[0])

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

typedef struct operands {
    const shape *s;
    cr_real *A, *B, *C;
    int lda, ldb, ldc;
} operands;

static void run_ours(cr_pool *pool, const operands *o)
{
    const shape *s = o->s;
    cr_gemm(pool, s->ta, s->tb, s->M, s->N, s->K, 1, o->A, o->lda, o->B, o->ldb, 0, o->C,
            o->ldc);
}

#ifdef CR_HAVE_OPENBLAS
static void run_openblas(const operands *o)
{
    const shape *s = o->s;
    enum CBLAS_TRANSPOSE ta = s->ta ? CblasTrans : CblasNoTrans;
    enum CBLAS_TRANSPOSE tb = s->tb ? CblasTrans : CblasNoTrans;
#ifdef CR_REAL_DOUBLE
    cblas_dgemm(CblasRowMajor, ta, tb, s->M, s->N, s->K, 1, o->A, o->lda, o->B, o->ldb, 0, o->C,
                o->ldc);
#else
    cblas_sgemm(CblasRowMajor, ta, tb, s->M, s->N, s->K, 1, o->A, o->lda, o->B, o->ldb, 0, o->C,
                o->ldc);
#endif
}
#endif

/* Seconds per call of `which` (0 ours, 1 OpenBLAS) over `reps` calls. */
static double time_calls(int which, cr_pool *pool, const operands *o, int reps)
{
    double t0 = now();
    for (int r = 0; r < reps; r++) {
#ifdef CR_HAVE_OPENBLAS
        if (which)
            run_openblas(o);
        else
#endif
            run_ours(pool, o);
    }
    (void)which;
    return (now() - t0) / reps;
}

int main(int argc, char **argv)
{
    int quick = 0, only_threads = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "-q"))
            quick = 1;
        else if (!strcmp(argv[i], "-t") && i + 1 < argc)
            only_threads = atoi(argv[++i]);
        else {
            fprintf(stderr, "usage: %s [-q] [-t THREADS]\n", argv[0]);
            return 2;
        }
    }
    const int samples = quick ? 3 : 7;
    setvbuf(stdout, NULL, _IOLBF, 0);                /* rows appear as they are measured */
    const double sample_time = quick ? 0.004 : 0.02; /* seconds per sample, at least */

    printf("GEMM (%s), C = A.B with beta = 0, median of %d samples; GFLOP/s\n",
           sizeof(cr_real) == 8 ? "double" : "float", samples);
    printf("chainrule kernel: %s\n", cr_gemm_kernel_name());
#ifdef CR_HAVE_OPENBLAS
    printf("OpenBLAS: core %s (%s)\n", openblas_get_corename(), openblas_get_config());
#else
    printf("OpenBLAS: not installed, no ratios (Debian: apt-get install libopenblas-dev, "
           "then make bench again)\n");
#endif

    size_t cap = (size_t)1024 * 1024;
    cr_real *A = malloc(cap * sizeof *A), *B = malloc(cap * sizeof *B),
            *C = malloc(cap * sizeof *C);
    if (!A || !B || !C) {
        fprintf(stderr, "gemm_bench: out of memory\n");
        return 1;
    }
    for (size_t i = 0; i < cap; i++) {
        A[i] = (cr_real)((double)((i * 7919) % 1000) / 1000 - 0.5);
        B[i] = (cr_real)((double)((i * 104729) % 1000) / 1000 - 0.5);
        C[i] = 0;
    }

    double gf1[2] = { 0, 0 }, gf2[2] = { 0, 0 }; /* 1024: ours, OpenBLAS */
    printf("\n%-28s %3s %10s %10s %7s\n", "shape (M x K . K x N)", "thr", "chainrule",
           "OpenBLAS", "ratio");
    for (int threads = 1; threads <= 2; threads++) {
        if (only_threads && threads != only_threads) continue;
        cr_pool *pool = cr_pool_new(threads);
        if (!pool) {
            fprintf(stderr, "gemm_bench: cannot start %d threads\n", threads);
            return 1;
        }
#ifdef CR_HAVE_OPENBLAS
        openblas_set_num_threads(threads);
        printf("-- %d thread%s (chainrule pool %d, OpenBLAS %d)\n", threads,
               threads > 1 ? "s" : "", cr_pool_threads(pool), openblas_get_num_threads());
#else
        printf("-- %d thread%s (chainrule pool %d)\n", threads, threads > 1 ? "s" : "",
               cr_pool_threads(pool));
#endif
        for (int si = 0; si < NSHAPES; si++) {
            const shape *s = &shapes[si];
            operands o = { s, A, B, C, s->ta ? s->M : s->K, s->tb ? s->K : s->N, s->N };
            double flops = 2.0 * s->M * s->N * s->K;
            int libs = 1;
#ifdef CR_HAVE_OPENBLAS
            libs = 2;
#endif
            /* Calibrate: enough calls per sample for sample_time. */
            int reps = 1;
            for (int w = 0; w < libs; w++) time_calls(w, pool, &o, 2);
            while (time_calls(0, pool, &o, reps) * reps < sample_time && reps < (1 << 24))
                reps *= 2;
            double t[2][16];
            for (int r = 0; r < samples; r++)
                for (int w = 0; w < libs; w++) t[w][r] = time_calls(w, pool, &o, reps);
            double g[2] = { flops / median(t[0], samples) * 1e-9, 0 };
            if (libs == 2) g[1] = flops / median(t[1], samples) * 1e-9;
            if (libs == 2)
                printf("%-28s %3d %10.1f %10.1f %7.2f\n", s->name, threads, g[0], g[1],
                       g[0] / g[1]);
            else
                printf("%-28s %3d %10.1f %10s %7s\n", s->name, threads, g[0], "-", "-");
            if (s->M == 1024) {
                double *dst = threads == 1 ? gf1 : gf2;
                dst[0] = g[0];
                dst[1] = g[1];
            }
        }
        cr_pool_free(pool);
    }
    if (gf1[0] > 0 && gf2[0] > 0) {
        printf("\n2 threads / 1 thread at 1024: chainrule %.2fx", gf2[0] / gf1[0]);
        if (gf1[1] > 0) printf(", OpenBLAS %.2fx", gf2[1] / gf1[1]);
        printf("\n");
    }
    free(A);
    free(B);
    free(C);
    return 0;
}
