/* What the C benchmarks share (each C file in bench/ is one program that includes this):
 * clocks and the median of repeated measurements. */
#ifndef CR_BENCH_UTIL_H
#define CR_BENCH_UTIL_H

#include <stdlib.h>
#include <time.h>

/* Seconds on clock id (CLOCK_MONOTONIC, CLOCK_PROCESS_CPUTIME_ID, ...). */
static inline double clock_s(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}
static inline double wall(void) { return clock_s(CLOCK_MONOTONIC); }
static inline double cpu(void) { return clock_s(CLOCK_PROCESS_CPUTIME_ID); }
static inline double thread_cpu(void) { return clock_s(CLOCK_THREAD_CPUTIME_ID); }

static inline int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* The median of v[0..n) (n >= 1); sorts v. */
static inline double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

#endif
