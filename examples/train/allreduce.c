/* The all-reduce of the data-parallel trainer: see allreduce.h. Compiled into
 * every build of the training program, but only the MPI build (CR_MPI) has any
 * code here.
 *
 * Buffers, P = n rounded up to a multiple of 16 * (number of groups), reals:
 *   AR_MPI:   in[P], out[P]                      (private to the rank)
 *   AR_AUTO:  shm = slot[0..G) | sum[2]           (G = ranks in the group; one
 *             window of (G + 2) * P shared by the group; slot[g] is rank g's input)
 *             seg[P / groups]                    (private; leaders only)
 * The sum alternates between sum[0] and sum[1] from run to run: a rank may begin
 * the next run (writing sum[k+1]) while another still reads sum[k], but not the
 * run after (the next run's first barrier waits for it). */
#include "allreduce.h"

#ifdef CR_MPI
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct allreduce {
    ar_mode mode;
    size_t n, padded;
    int rank, size;            /* in MPI_COMM_WORLD */
    /* AR_MPI */
    cr_real *in, *out;
    /* AR_AUTO */
    MPI_Comm group, leaders;   /* leaders: MPI_COMM_NULL on the other ranks */
    MPI_Win win;
    int grank, gsize, groups, locked;
    cr_real *shm, *seg;
    unsigned long runs;
    char about[96];
};

/* Wait for a nonblocking operation: poll for 500 us (on an idle machine the other
 * rank is there by then), then test every 50 us, asleep in between, so that a
 * waiting rank gives its core to the rank it waits for. Open MPI's blocking calls
 * spin instead: on this project's shared 2-core machine (load average 16) the
 * 784-256-128-10 step's all-reduce took 93-117 ms spinning and 6-25 ms this way. */
static void wait_polite(MPI_Request *rq)
{
    int done = 0;
    double t0 = MPI_Wtime();
    struct timespec ts = { 0, 50000 };
    MPI_Test(rq, &done, MPI_STATUS_IGNORE);
    while (!done) {
        if (MPI_Wtime() - t0 > 500e-6) nanosleep(&ts, NULL);
        MPI_Test(rq, &done, MPI_STATUS_IGNORE);
    }
}

/* in (P values) -> out (P values), summed over comm by a reduce-scatter into seg
 * (P / ranks values: this rank's segment of out, or a buffer of its own) then an
 * allgather of the segments into out. */
static void collective_sum(const cr_real *in, cr_real *seg, cr_real *out, size_t padded,
                           MPI_Comm comm)
{
    int rank;
    MPI_Comm_rank(comm, &rank);
    int ranks;
    MPI_Comm_size(comm, &ranks);
    int count = (int)(padded / (size_t)ranks);
    MPI_Request rq;
    MPI_Ireduce_scatter_block(in, seg, count, MPI_CR_REAL, MPI_SUM, comm, &rq);
    wait_polite(&rq);
    int in_place = seg == out + (size_t)rank * (size_t)count;
    MPI_Iallgather(in_place ? MPI_IN_PLACE : seg, count, MPI_CR_REAL, out, count, MPI_CR_REAL,
                   comm, &rq);
    wait_polite(&rq);
}

/* Every write to the window before it is seen by every rank of the group after. */
static void group_barrier(allreduce *a)
{
    MPI_Win_sync(a->win);
    MPI_Request rq;
    MPI_Ibarrier(a->group, &rq);
    wait_polite(&rq);
    MPI_Win_sync(a->win);
}

/* Collective: 1 on every rank when ok is true on every rank. */
static int all_ok(int ok)
{
    int all = 0;
    MPI_Allreduce(&ok, &all, 1, MPI_INT, MPI_LAND, MPI_COMM_WORLD);
    return all;
}

static void no_memory(char *err, size_t errsize, const char *what)
{
    if (!err || !errsize) return;
    if (!*err) snprintf(err, errsize, "out of memory (%s)", what);
}

allreduce *allreduce_new(size_t n, ar_mode mode, int group_max, char *err, size_t errsize)
{
    if (err && errsize) *err = 0;
    allreduce *a = calloc(1, sizeof *a);
    int ok = a != NULL;
    if (!all_ok(ok)) {
        if (a) snprintf(err, errsize, "another rank is out of memory");
        else no_memory(err, errsize, "the all-reduce");
        free(a);
        return NULL;
    }
    a->mode = mode;
    a->n = n;
    a->group = a->leaders = MPI_COMM_NULL;
    a->win = MPI_WIN_NULL;
    MPI_Comm_rank(MPI_COMM_WORLD, &a->rank);
    MPI_Comm_size(MPI_COMM_WORLD, &a->size);
    char what[96];

    if (mode == AR_MPI) {
        a->padded = (n + (size_t)a->size - 1) / (size_t)a->size * (size_t)a->size;
        snprintf(what, sizeof what, "the all-reduce buffers of %zu values", a->padded);
        ok = cr_memory_check(2 * (uint64_t)a->padded * sizeof(cr_real), what, err, errsize)
             == CR_OK;
        if (ok) {
            a->in = cr_calloc(a->padded, sizeof *a->in);
            a->out = cr_calloc(a->padded, sizeof *a->out);
            ok = a->in && a->out;
            if (!ok) no_memory(err, errsize, what);
        }
        if (!all_ok(ok)) goto fail;
        snprintf(a->about, sizeof a->about, "MPI reduce-scatter and allgather over %d ranks",
                 a->size);
        return a;
    }

    /* the groups: ranks of one host, cut into groups of at most group_max */
    MPI_Comm host;
    int hrank;
    MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, a->rank, MPI_INFO_NULL, &host);
    MPI_Comm_rank(host, &hrank);
    MPI_Comm_split(host, group_max > 0 ? hrank / group_max : 0, hrank, &a->group);
    MPI_Comm_free(&host);
    MPI_Comm_rank(a->group, &a->grank);
    MPI_Comm_size(a->group, &a->gsize);
    int leader = a->grank == 0;
    MPI_Allreduce(&leader, &a->groups, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
    MPI_Comm_split(MPI_COMM_WORLD, leader ? 0 : MPI_UNDEFINED, a->rank, &a->leaders);

    size_t unit = 16 * (size_t)a->groups;
    a->padded = (n + unit - 1) / unit * unit;
    uint64_t window = (uint64_t)(a->gsize + 2) * a->padded * sizeof(cr_real);
    snprintf(what, sizeof what, "the shared all-reduce window of %d ranks", a->gsize);
    ok = cr_memory_check(window, what, err, errsize) == CR_OK;
    if (ok && leader && a->groups > 1) {
        a->seg = cr_calloc(a->padded / (size_t)a->groups, sizeof *a->seg);
        if (!(ok = a->seg != NULL)) no_memory(err, errsize, what);
    }
    if (!all_ok(ok)) goto fail;
    /* one contiguous window: the group's leader allocates it all, the others
     * nothing, and everyone addresses it from the leader's base */
    void *base = NULL;
    MPI_Aint bytes = leader ? (MPI_Aint)window : 0;
    if (MPI_Win_allocate_shared(bytes, sizeof(cr_real), MPI_INFO_NULL, a->group, &base, &a->win)
        != MPI_SUCCESS)
        ok = 0;
    if (ok) {
        MPI_Aint size;
        int disp;
        MPI_Win_shared_query(a->win, 0, &size, &disp, &base);
        a->shm = base;
        ok = a->shm != NULL;
    }
    if (!all_ok(ok)) {
        if (err && errsize && !*err) snprintf(err, errsize, "cannot make %s", what);
        goto fail;
    }
    MPI_Win_lock_all(MPI_MODE_NOCHECK, a->win);
    a->locked = 1;
    /* each rank zeroes its own slot (the padding must add nothing) */
    memset(a->shm + (size_t)a->grank * a->padded, 0, a->padded * sizeof(cr_real));
    group_barrier(a);
    int most = 0;
    MPI_Allreduce(&a->gsize, &most, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
    if (a->groups == 1)
        snprintf(a->about, sizeof a->about, "shared memory, 1 group of %d ranks", a->gsize);
    else
        snprintf(a->about, sizeof a->about, "shared memory in %d groups of at most %d ranks, "
                 "MPI between groups", a->groups, most);
    return a;

fail:
    allreduce_free(a);
    return NULL;
}

cr_real *allreduce_input(allreduce *a)
{
    return a->mode == AR_MPI ? a->in : a->shm + (size_t)a->grank * a->padded;
}

const cr_real *allreduce_run(allreduce *a)
{
    if (a->mode == AR_MPI) {
        collective_sum(a->in, a->out + (size_t)a->rank * (a->padded / (size_t)a->size), a->out,
                       a->padded, MPI_COMM_WORLD);
        return a->out;
    }
    size_t P = a->padded;
    cr_real *sum = a->shm + (size_t)(a->gsize + (int)(a->runs++ & 1)) * P;
    group_barrier(a);                        /* every slot written */
    /* this rank's segment of the group sum, slots added in slot order; segments
     * are cut at multiples of 16 values (no two ranks write one cache line) */
    size_t blocks = P / 16;
    size_t lo = blocks * (size_t)a->grank / (size_t)a->gsize * 16;
    size_t hi = blocks * (size_t)(a->grank + 1) / (size_t)a->gsize * 16;
    memcpy(sum + lo, a->shm + lo, (hi - lo) * sizeof *sum);
    for (int g = 1; g < a->gsize; g++) {
        const cr_real *s = a->shm + (size_t)g * P;
        for (size_t i = lo; i < hi; i++) sum[i] += s[i];
    }
    group_barrier(a);                        /* the group's sum complete */
    if (a->groups > 1) {
        if (a->leaders != MPI_COMM_NULL) collective_sum(sum, a->seg, sum, P, a->leaders);
        group_barrier(a);                    /* the job's sum in every group */
    }
    return sum;
}

const char *allreduce_describe(const allreduce *a)
{
    return a->about;
}

void allreduce_free(allreduce *a)
{
    if (!a) return;
    if (a->win != MPI_WIN_NULL) {
        if (a->locked) MPI_Win_unlock_all(a->win);
        MPI_Win_free(&a->win);
    }
    if (a->leaders != MPI_COMM_NULL) MPI_Comm_free(&a->leaders);
    if (a->group != MPI_COMM_NULL) MPI_Comm_free(&a->group);
    cr_free(a->in);
    cr_free(a->out);
    cr_free(a->seg);
    free(a);
}
#endif
