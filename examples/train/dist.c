/* Data-parallel training over MPI (issue 17). Built into the training program by
 * `make MPI=1` (mpicc, -DCR_MPI: build/<real>/examples/train-mpi); without CR_MPI
 * every function here is the one-process case, rank 0 of 1, and nothing calls MPI.
 *
 * Each of the N ranks holds the whole model, the same options and the same data.
 * It draws the same global minibatch of M samples (same seed, same batcher), takes
 * its shard, rows [r M / N, (r + 1) M / N), runs forward and backward on its own
 * tape, and the parameter gradients are summed across ranks in ONE flat buffer:
 *
 *   flat = [ g_r * (m_r / M)  (P values) | loss_r * m_r | correct_r | fail[0..N) | pad ]
 *
 * g_r is the mean gradient over the rank's m_r rows, so the sum over ranks is the
 * mean gradient over the global batch, as one process computes it, up to the order
 * of the additions. The sum is allreduce.h's: by default the ranks of a host add
 * their buffers in shared memory and one rank per host joins an MPI reduce-scatter
 * and allgather between hosts (--allreduce mpi: the MPI collectives only). Every
 * rank receives the same bits by construction, and a repeated run with the same N
 * and grouping gives the same bits. The tail carries the step's loss and accuracy and one failure flag
 * per rank, so the one collective of a step also tells every rank that another one
 * failed (bad data, a NaN loss, out of memory): all ranks then agree on the first
 * failing rank's message (dist_agree) and stop; a rank that dies is reported by
 * mpirun ("process rank 1 ... exited on signal 9"), which ends the job.
 *
 * Everything here is collective: every rank must call the same functions in the
 * same order. */
#include "train.h"
#include "allreduce.h"

#include <stdlib.h>
#include <string.h>

static int g_rank, g_size = 1;
static uint64_t g_argv_hash;        /* the command line (dist_verify) */
static double g_comm_seconds;       /* in dist_reduce, for the report at the end */
static long g_comm_steps;

/* 64-bit FNV-1a over bytes, continued from h. */
static uint64_t hash_bytes(uint64_t h, const void *p, size_t n)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++) {
        h ^= b[i];
        h *= 0x100000001b3ull;
    }
    return h;
}

#ifdef CR_MPI
/* Faster for large arrays: 8 bytes per multiply, the tail byte-wise. */
static uint64_t hash_words(uint64_t h, const void *p, size_t n)
{
    const unsigned char *b = p;
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t w;
        memcpy(&w, b + i, 8);
        h = (h ^ w) * 0x100000001b3ull;
        h ^= h >> 29;
    }
    return hash_bytes(h, b + i, n - i);
}
#endif

#define HASH0 0xcbf29ce484222325ull

int dist_init(int *argc, char ***argv)
{
    /* the command line, for dist_verify: every rank must have been given the same */
    uint64_t h = HASH0;
    for (int i = 1; i < *argc; i++) h = hash_bytes(h, (*argv)[i], strlen((*argv)[i]) + 1);
    g_argv_hash = h;
#ifdef CR_MPI
    if (MPI_Init(argc, argv) != MPI_SUCCESS) return -1;
    MPI_Comm_rank(MPI_COMM_WORLD, &g_rank);
    MPI_Comm_size(MPI_COMM_WORLD, &g_size);
#endif
    return 0;
}

void dist_finish(void)
{
#ifdef CR_MPI
    MPI_Finalize();
#endif
}

int dist_rank(void) { return g_rank; }
int dist_size(void) { return g_size; }

void dist_shard(size_t m, size_t *lo, size_t *hi)
{
    *lo = m * (size_t)g_rank / (size_t)g_size;
    *hi = m * (size_t)(g_rank + 1) / (size_t)g_size;
}

void dist_comm_time(double *seconds, long *steps)
{
    *seconds = g_comm_seconds;
    *steps = g_comm_steps;
}

int dist_agree(int rc, char *err, size_t errsize)
{
#ifdef CR_MPI
    if (g_size == 1) return rc;
    enum { MSG = TRAIN_ERR };
    int *rcs = malloc((size_t)g_size * sizeof *rcs);
    char *msgs = malloc((size_t)g_size * MSG), mine[MSG];
    snprintf(mine, sizeof mine, "%s", rc && errsize ? err : "");
    if (!rcs || !msgs) {
        /* cannot even agree: stop the whole job (mpirun names this rank) */
        fprintf(stderr, "train: rank %d of %d: out of memory\n", g_rank, g_size);
        MPI_Abort(MPI_COMM_WORLD, EXIT_TRAIN_FAILED);
    }
    MPI_Allgather(&rc, 1, MPI_INT, rcs, 1, MPI_INT, MPI_COMM_WORLD);
    MPI_Allgather(mine, MSG, MPI_CHAR, msgs, MSG, MPI_CHAR, MPI_COMM_WORLD);
    int first = -1, all_same = 1;
    for (int r = 0; r < g_size; r++) {
        if (!rcs[r]) {
            all_same = 0;
            continue;
        }
        if (first < 0) first = r;
        else if (strcmp(msgs + (size_t)r * MSG, msgs + (size_t)first * MSG) != 0) all_same = 0;
    }
    int out = first < 0 ? 0 : rcs[first];
    if (first >= 0 && errsize) {
        /* one message for the job: the first failing rank's, named unless every
         * rank failed the same way (then it is the job's, e.g. a bad option) */
        if (all_same) snprintf(err, errsize, "%s", msgs + (size_t)first * MSG);
        else snprintf(err, errsize, "rank %d of %d: %.*s", first, g_size, MSG - 32,
                      msgs + (size_t)first * MSG);
    }
    free(rcs);
    free(msgs);
    return out;
#else
    (void)err;
    (void)errsize;
    return rc;
#endif
}

/* ------------------------------------------------------------- the flat buffer */

cr_status dist_buffer_new(dist_buf *d, const cr_params *p, int allreduce_mpi, int group_max,
                          char *err, size_t errsize)
{
    memset(d, 0, sizeof *d);
    d->n_grad = cr_params_numel(p);
    d->n = d->n_grad + 2 + (size_t)g_size;
    if (g_size == 1) return CR_OK;
#ifdef CR_MPI
    d->ar = allreduce_new(d->n, allreduce_mpi ? AR_MPI : AR_AUTO, group_max, err, errsize);
    return d->ar ? CR_OK : CR_ERR_NOMEM;
#else
    (void)allreduce_mpi;
    (void)group_max;
    (void)err;
    (void)errsize;
    return CR_OK;
#endif
}

const char *dist_buffer_describe(const dist_buf *d)
{
#ifdef CR_MPI
    if (d->ar) return allreduce_describe(d->ar);
#else
    (void)d;
#endif
    return "";
}

void dist_buffer_free(dist_buf *d)
{
#ifdef CR_MPI
    allreduce_free(d->ar);
#endif
    d->ar = NULL;
}

int dist_reduce(dist_buf *d, cr_params *p, int rc, size_t m_local, size_t m_global,
                double *loss_sum, double *correct, char *err, size_t errsize)
{
#ifdef CR_MPI
    double t0 = now_seconds();
    cr_real *s = allreduce_input(d->ar), scale = (cr_real)((double)m_local / (double)m_global);
    size_t k = 0, np = cr_params_count(p);
    for (size_t i = 0; i < np; i++) {
        const cr_tensor *x = cr_params_get(p, i);
        for (size_t j = 0; j < x->size; j++) s[k + j] = x->grad ? x->grad[j] * scale : 0;
        k += x->size;
    }
    memset(s + k, 0, (d->n - k) * sizeof *s);
    s[k] = (cr_real)*loss_sum;
    s[k + 1] = (cr_real)*correct;
    s[k + 2 + (size_t)g_rank] = rc ? 1 : 0;
    const cr_real *r = allreduce_run(d->ar);
    g_comm_seconds += now_seconds() - t0;
    g_comm_steps++;
    int failed = 0;
    for (int q = 0; q < g_size; q++) failed |= r[k + 2 + (size_t)q] != 0;
    if (failed) return dist_agree(rc ? rc : 0, err, errsize);
    k = 0;
    for (size_t i = 0; i < np; i++) {
        cr_tensor *x = cr_params_get(p, i);
        if (x->grad) memcpy(x->grad, r + k, x->size * sizeof *r);
        k += x->size;
    }
    *loss_sum = r[k];
    *correct = r[k + 1];
    return 0;
#else
    (void)d;
    (void)p;
    (void)m_local;
    (void)m_global;
    (void)loss_sum;
    (void)correct;
    (void)err;
    (void)errsize;
    return rc;
#endif
}

/* ---------------------------------------------------- state held by rank 0 */

cr_status dist_gather_shards(const cr_real *mine, cr_real *all, size_t m, size_t width)
{
#ifdef CR_MPI
    if (g_size > 1) {
        int *counts = malloc(2 * (size_t)g_size * sizeof *counts);
        if (!counts) return CR_ERR_NOMEM;
        int *displs = counts + g_size;
        for (int r = 0; r < g_size; r++) {
            size_t lo = m * (size_t)r / (size_t)g_size, hi = m * (size_t)(r + 1) / (size_t)g_size;
            counts[r] = (int)((hi - lo) * width);
            displs[r] = (int)(lo * width);
        }
        MPI_Gatherv(mine, counts[g_rank], MPI_CR_REAL, all, counts, displs, MPI_CR_REAL, 0,
                    MPI_COMM_WORLD);
        free(counts);
        return CR_OK;
    }
#endif
    if (all != mine) memcpy(all, mine, m * width * sizeof *all);
    return CR_OK;
}


cr_status dist_bcast_params(cr_params *p)
{
#ifdef CR_MPI
    if (g_size == 1) return CR_OK;
    for (size_t i = 0, n = cr_params_count(p); i < n; i++) {
        cr_tensor *x = cr_params_get(p, i);
        MPI_Bcast(x->data, (int)x->size, MPI_CR_REAL, 0, MPI_COMM_WORLD);
    }
#else
    (void)p;
#endif
    return CR_OK;
}

cr_status dist_load_file_image(const char *path, void **data, size_t *size, char *err,
                               size_t errsize)
{
#ifdef CR_MPI
    if (g_size > 1) {
        /* rank 0 reads the file (other machines need not see it), then sends it */
        uint64_t head[2] = { 0, 0 };
        char msg[TRAIN_ERR] = "";
        *data = NULL;
        *size = 0;
        if (g_rank == 0) {
            head[0] = (uint64_t)cr_load_file_image(path, data, size, msg, sizeof msg);
            head[1] = *size;
        }
        MPI_Bcast(head, 2, MPI_UINT64_T, 0, MPI_COMM_WORLD);
        MPI_Bcast(msg, sizeof msg, MPI_CHAR, 0, MPI_COMM_WORLD);
        if (head[0] != CR_OK) {
            snprintf(err, errsize, "%s", msg);
            return (cr_status)head[0];
        }
        *size = (size_t)head[1];
        cr_status st = CR_OK;
        if (g_rank != 0) {
            st = cr_memory_check(head[1], path, err, errsize);
            if (st == CR_OK && !(*data = cr_malloc(*size ? *size : 1))) {
                snprintf(err, errsize, "%s: out of memory", path);
                st = CR_ERR_NOMEM;
            }
        }
        /* every rank must know whether every other can take the bytes */
        int ok = st == CR_OK, all = 0;
        MPI_Allreduce(&ok, &all, 1, MPI_INT, MPI_LAND, MPI_COMM_WORLD);
        if (!all) {
            if (g_rank == 0 || st == CR_OK) {
                cr_free(*data);
                *data = NULL;
                snprintf(err, errsize, "%s: another rank has no memory for the checkpoint", path);
            }
            return st != CR_OK ? st : CR_ERR_NOMEM;
        }
        char *b = *data;
        for (size_t off = 0; off < *size;) {
            int n = *size - off > (1u << 30) ? 1 << 30 : (int)(*size - off);
            MPI_Bcast(b + off, n, MPI_BYTE, 0, MPI_COMM_WORLD);
            off += (size_t)n;
        }
        return CR_OK;
    }
#endif
    return cr_load_file_image(path, data, size, err, errsize);
}

/* ------------------------------------------------------------- verification */

#ifdef CR_MPI
static uint64_t hash_params(uint64_t h, const cr_params *p)
{
    for (size_t i = 0, n = p ? cr_params_count(p) : 0; i < n; i++) {
        const cr_tensor *x = cr_params_get(p, i);
        h = hash_words(h, x->data, x->size * sizeof *x->data);
    }
    return h;
}

static uint64_t hash_dataset(uint64_t h, const cr_dataset *d)
{
    if (!d) return hash_bytes(h, "none", 4);
    uint64_t dims[3] = { d->n, d->n_features, (uint64_t)d->n_classes };
    h = hash_bytes(h, dims, sizeof dims);
    if (d->pixels) h = hash_words(h, d->pixels, d->n * d->n_features);
    if (d->values) h = hash_words(h, d->values, d->n * d->n_features * sizeof *d->values);
    return hash_words(h, d->labels, d->n * sizeof *d->labels);
}
#endif

uint64_t dist_hash(uint64_t h, const void *p, size_t n)
{
#ifdef CR_MPI
    return hash_words(h, p, n);
#else
    (void)p;
    (void)n;
    return h;
#endif
}

int dist_verify_hashes(uint64_t data, uint64_t model, char *err, size_t errsize)
{
    if (g_size == 1) return 0;
#ifdef CR_MPI
    /* the build (precision, version), the command line, the data, and the model
     * with its optimizer position: each the same on every rank as on rank 0 */
    uint64_t mine[4];
    char build[64];
    snprintf(build, sizeof build, "%s %zu", CR_VERSION, sizeof(cr_real));
    mine[0] = hash_bytes(HASH0, build, strlen(build));
    mine[1] = g_argv_hash;
    mine[2] = data;
    mine[3] = model;
    uint64_t *all = malloc((size_t)g_size * sizeof mine);
    int ok = all != NULL, all_ok = 0;
    MPI_Allreduce(&ok, &all_ok, 1, MPI_INT, MPI_LAND, MPI_COMM_WORLD);
    if (!all_ok) {
        free(all);
        snprintf(err, errsize, "out of memory (comparing the ranks)");
        return EXIT_TRAIN_FAILED;
    }
    MPI_Allgather(mine, 4, MPI_UINT64_T, all, 4, MPI_UINT64_T, MPI_COMM_WORLD);
    static const char *const what[4] = {
        "runs another build of the training program (precision or version)",
        "was started with another command line",
        "read other training or test data",
        "holds another model or optimizer state",
    };
    int rc = 0;
    for (int r = 1; r < g_size && !rc; r++)
        for (int k = 0; k < 4 && !rc; k++)
            if (all[4 * (size_t)r + (size_t)k] != all[k]) {
                snprintf(err, errsize, "rank %d of %d %s than rank 0; every rank must run the "
                         "same program with the same options on the same data", r, g_size,
                         what[k]);
                rc = EXIT_USAGE;
            }
    free(all);
    return rc;
#else
    (void)data;
    (void)model;
    (void)err;
    (void)errsize;
    return 0;
#endif
}

int dist_verify(trainer *T)
{
    if (g_size == 1) return 0;
#ifdef CR_MPI
    cr_params *state = T->model ? cr_model_state(T->model) : T->file_params;
    long step = cr_optim_step_count(T->opt);
    return dist_verify_hashes(hash_dataset(hash_dataset(HASH0, T->train), T->test),
                              hash_params(hash_bytes(HASH0, &step, sizeof step), state), T->err,
                              sizeof T->err);
#else
    (void)T;
    return 0;
#endif
}
