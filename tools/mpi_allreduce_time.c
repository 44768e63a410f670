/* The all-reduce of the MPI trainer alone (examples/train/dist.c: nonblocking
 * reduce-scatter then allgather of one flat float buffer, waited for as dist.c's
 * wait_yielding waits), timed without any training, for the
 * communication term of tools/scaling_model.py. Built by `make MPI=1` as
 * build/<real>/tools/mpi_allreduce_time.
 *
 *   mpirun -np 2 mpi_allreduce_time [VALUES...]     (default 1000 100000 235150)
 *
 * For each size: 5 warm-up calls, then the median of 50 timed calls (each rank
 * times its own; rank 0's median of max over ranks, via a reduction) printed as
 *   ALLREDUCE values=<n> bytes=<4n> ms=<median>  */
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* As wait_yielding in examples/train/dist.c: poll 100 us, then every 50 us asleep. */
static void wait_yielding(MPI_Request *rq)
{
    int done = 0;
    double t0 = MPI_Wtime();
    struct timespec ts = { 0, 50000 };
    MPI_Test(rq, &done, MPI_STATUS_IGNORE);
    while (!done) {
        if (MPI_Wtime() - t0 > 100e-6) nanosleep(&ts, NULL);
        MPI_Test(rq, &done, MPI_STATUS_IGNORE);
    }
}

int main(int argc, char **argv)
{
    MPI_Init(&argc, &argv);
    int rank, size;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    long dflt[] = { 1000, 100000, 235150 };
    int n_sizes = argc > 1 ? argc - 1 : 3;
    enum { WARM = 5, TIMED = 50 };
    for (int k = 0; k < n_sizes; k++) {
        long n = argc > 1 ? atol(argv[1 + k]) : dflt[k];
        if (n < size) n = size;
        long padded = (n + size - 1) / size * size;
        int seg = (int)(padded / size);
        float *send = calloc((size_t)padded, sizeof *send);
        float *recv = calloc((size_t)padded, sizeof *recv);
        if (!send || !recv) {
            fprintf(stderr, "mpi_allreduce_time: out of memory\n");
            MPI_Abort(MPI_COMM_WORLD, 1);
        }
        for (long i = 0; i < padded; i++) send[i] = (float)(i % 7) * 0.5f;
        double t[TIMED];
        for (int it = 0; it < WARM + TIMED; it++) {
            MPI_Barrier(MPI_COMM_WORLD);
            double t0 = MPI_Wtime();
            MPI_Request rq;
            MPI_Ireduce_scatter_block(send, recv + (size_t)rank * (size_t)seg, seg, MPI_FLOAT,
                                      MPI_SUM, MPI_COMM_WORLD, &rq);
            wait_yielding(&rq);
            MPI_Iallgather(MPI_IN_PLACE, seg, MPI_FLOAT, recv, seg, MPI_FLOAT, MPI_COMM_WORLD, &rq);
            wait_yielding(&rq);
            double dt = MPI_Wtime() - t0, worst;
            MPI_Allreduce(&dt, &worst, 1, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD);
            if (it >= WARM) t[it - WARM] = worst;
        }
        qsort(t, TIMED, sizeof *t, cmp);
        if (rank == 0)
            printf("ALLREDUCE values=%ld bytes=%ld ms=%.4f ranks=%d\n", padded,
                   padded * (long)sizeof(float), 1e3 * t[TIMED / 2], size);
        free(send);
        free(recv);
    }
    MPI_Finalize();
    return 0;
}
