/* The MPI trainer's all-reduce alone (examples/train/allreduce.c, the code the
 * trainer runs), timed without any training, for the communication term of
 * tools/scaling_model.py. Built by `make MPI=1` as build/<real>/tools/mpi_allreduce_time.
 *
 *   mpirun -np 2 mpi_allreduce_time [--allreduce auto|mpi] [VALUES...]
 *                                   (default auto; 1000 100000 235150 values)
 *
 * For each size: 5 warm-up calls, then the median of 50 timed calls (each rank
 * times its own; rank 0's median of the max over ranks, via a reduction) printed as
 *   ALLREDUCE values=<n> bytes=<n * sizeof(real)> ms=<median> ranks=<N> (<how>)
 * and the sum checked against the closed form (rank r writes r + 1 + i % 7). */
#include "allreduce.h"

#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
    MPI_Init(&argc, &argv);
    int rank, size, first = 1;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    ar_mode mode = AR_AUTO;
    if (argc > 1 && !strcmp(argv[1], "--allreduce")) {
        if (argc < 3 || (strcmp(argv[2], "mpi") && strcmp(argv[2], "auto"))) {
            if (rank == 0) fprintf(stderr, "mpi_allreduce_time: --allreduce takes auto or mpi\n");
            MPI_Finalize();
            return 2;
        }
        mode = !strcmp(argv[2], "mpi") ? AR_MPI : AR_AUTO;
        first = 3;
    }
    long dflt[] = { 1000, 100000, 235150 };
    int n_sizes = argc > first ? argc - first : 3, bad = 0;
    enum { WARM = 5, TIMED = 50 };
    for (int k = 0; k < n_sizes && !bad; k++) {
        long n = argc > first ? atol(argv[first + k]) : dflt[k];
        if (n < 1) n = 1;
        char err[256];
        allreduce *a = allreduce_new((size_t)n, mode, 0, err, sizeof err);
        if (!a) {
            if (rank == 0) fprintf(stderr, "mpi_allreduce_time: %s\n", err);
            bad = 1;
            break;
        }
        double t[TIMED];
        for (int it = 0; it < WARM + TIMED; it++) {
            cr_real *in = allreduce_input(a);
            for (long i = 0; i < n; i++) in[i] = (cr_real)(rank + 1 + i % 7);
            MPI_Barrier(MPI_COMM_WORLD);
            double t0 = MPI_Wtime();
            const cr_real *sum = allreduce_run(a);
            double dt = MPI_Wtime() - t0, worst;
            for (long i = 0; i < n; i++)   /* sum over r of r + 1 + i % 7, exact */
                if (sum[i] != (cr_real)(size * (size + 1) / 2 + size * (i % 7))) bad = 1;
            MPI_Allreduce(&dt, &worst, 1, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD);
            if (it >= WARM) t[it - WARM] = worst;
        }
        qsort(t, TIMED, sizeof *t, cmp);
        if (rank == 0)
            printf("ALLREDUCE values=%ld bytes=%ld ms=%.4f ranks=%d (%s)\n", n,
                   n * (long)sizeof(cr_real), 1e3 * t[TIMED / 2], size, allreduce_describe(a));
        allreduce_free(a);
        int any = 0;
        MPI_Allreduce(&bad, &any, 1, MPI_INT, MPI_LOR, MPI_COMM_WORLD);
        bad = any;
        if (bad && rank == 0) fprintf(stderr, "mpi_allreduce_time: wrong sum\n");
    }
    MPI_Finalize();
    return bad;
}
