/* The sum over all MPI ranks of one flat buffer of reals, the same bits on every
 * rank (allreduce.c). Used by the data-parallel trainer (dist.c) and timed alone by
 * tools/mpi_allreduce_time.c. Without CR_MPI it is never called (one process).
 *
 * Two ways, chosen when it is made:
 *   AR_MPI     MPI collectives over the whole job: a reduce-scatter (each rank adds
 *              one segment, in an order fixed by N) then an allgather (a copy).
 *   AR_AUTO    ranks that share a host (MPI_COMM_TYPE_SHARED), at most group_max of
 *              them (0: no limit), form a group that sums in an MPI-3 shared-memory
 *              window: each rank writes its values into its own slot, each adds one
 *              segment of all the slots in slot order, and reads the whole sum; one
 *              rank per group (its leader) then sums the groups' results with the
 *              AR_MPI collectives, which the group reads back. With one group this
 *              is two barriers and no message of the data at all.
 * Both give every rank the same bits, and a repeated run the same bits again; the
 * two ways (and other groupings) differ only in the order of the additions.
 *
 * Everything here is collective over MPI_COMM_WORLD: every rank calls the same
 * functions in the same order. Waiting is polite (see wait_polite): a waiting rank
 * polls for a while and then sleeps, so that on a busy machine it gives its core
 * to the rank it waits for. */
#ifndef CR_TRAIN_ALLREDUCE_H
#define CR_TRAIN_ALLREDUCE_H

#include "chainrule.h"

#include <stddef.h>

#ifdef CR_MPI
#include <mpi.h>
/* The MPI datatype of cr_real. */
#ifdef CR_REAL_DOUBLE
#define MPI_CR_REAL MPI_DOUBLE
#else
#define MPI_CR_REAL MPI_FLOAT
#endif
#endif

typedef enum { AR_AUTO, AR_MPI } ar_mode;

typedef struct allreduce allreduce;

/* Collective. An all-reduce of n values; group_max caps the ranks per shared-memory
 * group (AR_AUTO; 0: every rank of a host). Memory is checked against the library's
 * limit on every rank and the ranks agree before anything is allocated. NULL with a
 * message on failure (the same on every rank). Free with allreduce_free. */
allreduce *allreduce_new(size_t n, ar_mode mode, int group_max, char *err, size_t errsize);

/* Where this rank writes its n values before allreduce_run (padded: the values
 * after n are this module's; leave them). Valid until allreduce_free. */
cr_real *allreduce_input(allreduce *a);

/* Collective: the sum over the ranks of their inputs, n values, the same bits on
 * every rank; valid until the next run. The input is free again on return. */
const cr_real *allreduce_run(allreduce *a);

/* One line on how the sum is made, e.g. "shared memory, 1 group of 2 ranks". */
const char *allreduce_describe(const allreduce *a);

/* Collective. Frees a (NULL: nothing, but every rank must pass NULL then). */
void allreduce_free(allreduce *a);

#endif
