/* What a second thread can give on this machine, whatever the program: the ceiling
 * under every "2 threads / 1 thread" row of `make bench`.
 *
 *   two_cpus [--pairs 5] [--ms 200]
 *
 * Work: a register-only loop (four independent multiply-add chains, no memory
 * traffic, no sharing). One pair of samples times the same total work done by one
 * thread alone, then split in halves over two threads started together; the ratio
 * is 1-thread wall / 2-thread wall (2.0 on two free cores). Pairs alternate so
 * that a change of load hits both sides; the median is printed with the range:
 *   RESULT two_cpus=<median> min=<...> max=<...> pairs=<n>
 * A virtual machine whose second vCPU is shared or throttled by the host shows it
 * here before it shows in any training row. */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L
#endif
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

typedef struct work {
    long iters;
    double out; /* kept so that the loop is not optimised away */
} work;

static void *spin_math(void *arg)
{
    work *w = arg;
    volatile double seed = 1.0000001;
    double a = seed, b = seed * 1.1, c = seed * 1.2, d = seed * 1.3;
    const double m = 0.9999999, k = 1e-9;
    for (long i = 0; i < w->iters; i++) {
        a = a * m + k;
        b = b * m + k;
        c = c * m + k;
        d = d * m + k;
    }
    w->out = a + b + c + d;
    return NULL;
}

/* Wall seconds for `iters` iterations split over nthreads (1 or 2). */
static double run(long iters, int nthreads)
{
    work w[2] = { { iters / nthreads, 0 }, { iters / nthreads, 0 } };
    pthread_t th;
    double t0 = now();
    if (nthreads == 2 && pthread_create(&th, NULL, spin_math, &w[1]) != 0) {
        fprintf(stderr, "two_cpus: cannot start a thread\n");
        exit(1);
    }
    spin_math(&w[0]);
    if (nthreads == 2) pthread_join(th, NULL);
    double dt = now() - t0;
    if (w[0].out != w[0].out) printf("(nan)\n"); /* uses the result */
    return dt;
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
    int pairs = 5;
    double ms = 200;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--pairs") && i + 1 < argc) pairs = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--ms") && i + 1 < argc) ms = atof(argv[++i]);
        else {
            fprintf(stderr, "usage: two_cpus [--pairs N] [--ms MS]\n");
            return 2;
        }
    }
    if (pairs < 1 || pairs > 101 || !(ms >= 1 && ms <= 10000)) {
        fprintf(stderr, "two_cpus: --pairs must be 1..101 and --ms 1..10000\n");
        return 2;
    }
    /* size the work so that one thread takes about `ms` */
    long iters = 1 << 20;
    double t = run(iters, 1);
    while (t < 0.02) {
        iters *= 4;
        t = run(iters, 1);
    }
    iters = (long)((double)iters * (ms / 1e3) / t) & ~1L;
    if (iters < 2) iters = 2;

    double r[101];
    for (int p = 0; p < pairs; p++) {
        double one = run(iters, 1), two = run(iters, 2);
        r[p] = one / two;
        printf("pair %d: 1 thread %.1f ms, 2 threads %.1f ms: %.2fx\n", p + 1, 1e3 * one,
               1e3 * two, r[p]);
    }
    qsort(r, (size_t)pairs, sizeof r[0], cmp);
    printf("RESULT two_cpus=%.2f min=%.2f max=%.2f pairs=%d\n", r[pairs / 2], r[0],
           r[pairs - 1], pairs);
    return 0;
}
