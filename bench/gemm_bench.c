/* GEMM throughput, chainrule vs OpenBLAS, measured in the same process.
 *
 *   gemm_bench [-q] [-t 1|2]
 *     -q       quick: 3 samples instead of 7, shorter samples
 *     -t 1|2   only this thread count (default: 1, then 2)
 *
 * For every shape and thread count it times both libraries on the same operands,
 * alternating sample by sample (so a noisy neighbour hurts both alike), and prints
 * one table: the median GFLOP/s of each, their ratio, and our 2-thread speedup,
 * then the targets read off the table. Run it with OPENBLAS_CORETYPE and
 * OPENBLAS_L2_SIZE unset (bench/run.sh does), or OpenBLAS may pick an older kernel;
 * the core it reports is printed. Built without -DCR_HAVE_OPENBLAS, it times only
 * chainrule and says how to get the peer. */
#include "chainrule.h"
#include "bench_util.h"

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
 * W2 (128x10), G1/G2 the gradients of the layers' outputs: forward X.W1 and H.W2,
 * backward X^T.G1 and H^T.G2 (weight gradients), G2.W2^T (input gradient) and
 * G1.W1^T (what the input gradient of the first layer would cost). */
static const shape shapes[] = {
    { "square 64", 0, 0, 64, 64, 64 },
    { "square 128", 0, 0, 128, 128, 128 },
    { "square 256", 0, 0, 256, 256, 256 },
    { "square 512", 0, 0, 512, 512, 512 },
    { "square 1024", 0, 0, 1024, 1024, 1024 },
    { "X.W1    64x784 . 784x128", 0, 0, 64, 128, 784 },
    { "X^T.G1  784x64 . 64x128", 1, 0, 784, 128, 64 },
    { "G1.W1^T 64x128 . 128x784", 0, 1, 64, 784, 128 },
    { "H.W2    64x128 . 128x10", 0, 0, 64, 10, 128 },
    { "H^T.G2  128x64 . 64x10", 1, 0, 128, 10, 64 },
    { "G2.W2^T 64x10 . 10x128", 0, 1, 64, 128, 10 },
};
#define NSHAPES (int)(sizeof shapes / sizeof shapes[0])

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

/* Seconds per call of `which` (0 ours, 1 OpenBLAS) over `reps` calls: wall time in
 * t[0], the calling thread's CPU time in t[1]. */
static void time_calls(int which, cr_pool *pool, const operands *o, int reps, double t[2])
{
    double w0 = clock_s(CLOCK_MONOTONIC), c0 = clock_s(CLOCK_THREAD_CPUTIME_ID);
    for (int r = 0; r < reps; r++) {
#ifdef CR_HAVE_OPENBLAS
        if (which)
            run_openblas(o);
        else
#endif
            run_ours(pool, o);
    }
    (void)which;
    t[0] = (clock_s(CLOCK_MONOTONIC) - w0) / reps;
    t[1] = (clock_s(CLOCK_THREAD_CPUTIME_ID) - c0) / reps;
}

/* After a call, OpenBLAS's worker threads busy-wait (with sched_yield) for about
 * 2^28 cycles before they sleep: measured right after an OpenBLAS sample, our
 * second thread would share its core with them. Let them fall asleep first (busy
 * on this thread, so that its core keeps its clock). */
static void settle(void)
{
    double t0 = clock_s(CLOCK_MONOTONIC);
    while (clock_s(CLOCK_MONOTONIC) - t0 < 0.15) continue;
}

/* Median GFLOP/s on one shape: g[lib][clock], lib 0 ours, 1 OpenBLAS (0 without it),
 * clock 0 wall time, 1 CPU time of the calling thread. */
static void measure(const shape *s, cr_pool *pool, cr_real *A, cr_real *B, cr_real *C,
                    int samples, double sample_time, double g[2][2])
{
    operands o = { s, A, B, C, s->ta ? s->M : s->K, s->tb ? s->K : s->N, s->N };
    double flops = 2.0 * s->M * s->N * s->K, t[2];
    int libs = 1;
#ifdef CR_HAVE_OPENBLAS
    libs = 2;
#endif
    /* Warm up both, then calibrate: enough calls per sample for sample_time. */
    int reps = 1;
    for (int w = 0; w < libs; w++) time_calls(w, pool, &o, 2, t);
    if (libs == 2 && cr_pool_threads(pool) > 1) settle();
    for (;;) {
        time_calls(0, pool, &o, reps, t);
        if (t[0] * reps >= sample_time || reps >= (1 << 24)) break;
        reps *= 2;
    }
    double ts[2][2][16];
    for (int r = 0; r < samples; r++) /* alternate: a noisy neighbour hurts both */
        for (int w = 0; w < libs; w++) {
            time_calls(w, pool, &o, reps, t);
            ts[w][0][r] = t[0];
            ts[w][1][r] = t[1];
            if (w == 1 && cr_pool_threads(pool) > 1) settle();
        }
    memset(g, 0, 4 * sizeof(double));
    for (int w = 0; w < libs; w++)
        for (int c = 0; c < 2; c++) g[w][c] = flops / median(ts[w][c], samples) * 1e-9;
}

static void print_cell(const double g[2])
{
    if (g[0] <= 0)
        printf(" | %9s %9s %6s", "-", "-", "-");
    else if (g[1] <= 0)
        printf(" | %9.1f %9s %6s", g[0], "-", "-");
    else
        printf(" | %9.1f %9.1f %6.2f", g[0], g[1], g[0] / g[1]);
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
            fprintf(stderr, "usage: %s [-q] [-t 1|2]\n", argv[0]);
            return 2;
        }
    }
    const int samples = quick ? 3 : 7;
    const double sample_time = quick ? 0.004 : 0.02; /* seconds per sample, at least */

    printf("GEMM %s, C = op(A).op(B): GFLOP/s, median of %d samples, ratio = chainrule / "
           "OpenBLAS\n",
           sizeof(cr_real) == 8 ? "double" : "float", samples);
    printf("1-thread columns: CPU time of the calling thread; 2-thread columns and the "
           "speedup: wall time\n");
    cr_cpu_info ci;
    cr_cpu_info_get(&ci);
    printf("chainrule: kernel %s, blocking for caches L1 %zuK L2 %zuK L3 %zuK%s\n",
           ci.gemm_kernel, ci.l1 >> 10, ci.l2 >> 10, ci.l3 >> 10,
           ci.caches_from_env ? " (CR_CPU_CACHES)" : "");
    if (cr_config_error()) printf("chainrule: warning: %s\n", cr_config_error());
#ifdef CR_HAVE_OPENBLAS
    printf("OpenBLAS: core %s (%s)\n", openblas_get_corename(), openblas_get_config());
#else
    printf("OpenBLAS: not installed, so no ratios (Debian: apt-get install libopenblas-dev,\n"
           "          then make bench again)\n");
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

    /* Rows use CPU time for 1 thread (the same as wall time on an idle machine, and
     * not inflated when a busy one time-slices us) and wall time for 2 threads; the
     * speedup column compares wall times. */
    double all[2][NSHAPES][2][2]; /* [threads-1][shape][ours, OpenBLAS][wall, CPU] */
    double g[2][NSHAPES][2];      /* what the rows show */
    memset(all, 0, sizeof all);
    memset(g, 0, sizeof g);
    int used[2] = { 0, 0 }; /* threads each library really ran */
    for (int threads = 1; threads <= 2; threads++) {
        if (only_threads && threads != only_threads) continue;
        cr_pool *pool = cr_pool_new(threads);
        if (!pool) {
            fprintf(stderr, "gemm_bench: cannot start %d threads\n", threads);
            return 1;
        }
        used[0] = cr_pool_threads(pool);
#ifdef CR_HAVE_OPENBLAS
        openblas_set_num_threads(threads);
        used[1] = openblas_get_num_threads();
#endif
        printf("%d thread%s: chainrule pool of %d", threads, threads > 1 ? "s" : "", used[0]);
#ifdef CR_HAVE_OPENBLAS
        printf(", OpenBLAS openblas_get_num_threads() = %d", used[1]);
#endif
        printf("\n");
        for (int si = 0; si < NSHAPES; si++) {
            measure(&shapes[si], pool, A, B, C, samples, sample_time, all[threads - 1][si]);
            for (int w = 0; w < 2; w++)
                g[threads - 1][si][w] = all[threads - 1][si][w][threads == 1 ? 1 : 0];
        }
        cr_pool_free(pool);
    }

    printf("\n%-26s | %-26s | %-26s | %s\n", "", "          1 thread", "          2 threads",
           "2 thr /");
    printf("%-26s | %9s %9s %6s | %9s %9s %6s | %s\n", "shape  op(A) . op(B)", "chainrule",
           "OpenBLAS", "ratio", "chainrule", "OpenBLAS", "ratio", "1 thr");
    for (int si = 0; si < NSHAPES; si++) {
        printf("%-26s", shapes[si].name);
        print_cell(g[0][si]);
        print_cell(g[1][si]);
        if (g[0][si][0] > 0 && g[1][si][0] > 0)
            printf(" | %5.2f\n", all[1][si][0][0] / all[0][si][0][0]);
        else
            printf(" | %5s\n", "-");
    }

    /* The targets of issues 6 and 11, each from the rows above. */
    double sq = 1e9, mlp = 1e9, small = 1e9;
    for (int si = 0; si < NSHAPES; si++) {
        const shape *s = &shapes[si];
        if (g[0][si][1] > 0) {
            double r = g[0][si][0] / g[0][si][1];
            if (s->name[0] == 's' && s->M >= 256 && r < sq) sq = r;
            if (s->name[0] != 's' && r < mlp) mlp = r;
        }
        if (g[0][si][0] > 0 && g[1][si][0] > 0 && 2.0 * s->M * s->N * s->K < 4e6 &&
            all[1][si][0][0] / all[0][si][0][0] < small)
            small = all[1][si][0][0] / all[0][si][0][0];
    }
    printf("\n");
#ifndef CR_HAVE_OPENBLAS
    printf("no ratios: OpenBLAS is not installed (apt-get install libopenblas-dev)\n");
#endif
    if (sq < 1e9) printf("1 thread, square 256-1024: lowest ratio %.2f (target >= 0.95)\n", sq);
    if (mlp < 1e9) printf("1 thread, MLP shapes: lowest ratio %.2f (target >= 1.00)\n", mlp);
    for (int si = 0; si < NSHAPES; si++)
        if (shapes[si].M == 1024 && g[0][si][0] > 0 && g[1][si][0] > 0) {
            printf("square 1024, 2 threads / 1 thread (wall): chainrule %.2fx (target >= 1.80)",
                   all[1][si][0][0] / all[0][si][0][0]);
            if (g[0][si][1] > 0 && g[1][si][1] > 0)
                printf(", OpenBLAS %.2fx", all[1][si][1][0] / all[0][si][1][0]);
            printf("\n");
        }
    if (small < 1e9)
        printf(
            "small shapes (< 4 MFLOP), 2 threads / 1 thread (wall): lowest %.2fx (target: not "
            "slower, within noise)\n",
            small);
    free(A);
    free(B);
    free(C);
    return 0;
}
