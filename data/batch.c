/* Train/validation split and minibatch iteration over index arrays: the data is
 * never copied, only int indices are. An epoch's order is a pure function of
 * (seed, epoch), so a checkpoint needs only the epoch and the batch position. */
#include "data_internal.h"

#include <limits.h>
#include <string.h>

struct cr_batcher {
    int *base;            /* the index set, in the caller's order (n) */
    int *order;           /* this epoch's order (n) */
    size_t n, batch, n_batches;
    unsigned flags;
    uint64_t seed, epoch;
    size_t pos;           /* batches handed out in this epoch */
};

/* SplitMix64 finaliser (Steele, Lea, Flood 2014): decorrelates nearby seeds. */
static uint64_t mix64(uint64_t z)
{
    z += 0x9e3779b97f4a7c15ULL;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

cr_status cr_split_make(cr_split *s, size_t n, size_t n_val, uint64_t seed, char *err,
                        size_t errsize)
{
    if (!s) return cr__errf(CR_ERR_ARG, err, errsize, "split: s is NULL");
    if (n == 0 || n > INT_MAX)
        return cr__errf(CR_ERR_ARG, err, errsize, "split: n = %zu is outside 1..%d", n, INT_MAX);
    if (n_val > n)
        return cr__errf(CR_ERR_ARG, err, errsize,
                        "split: %zu validation samples but only %zu samples", n_val, n);
    int *perm = cr_malloc(n * sizeof *perm);
    if (!perm)
        return cr__errf(CR_ERR_NOMEM, err, errsize, "split: out of memory for %zu indices", n);
    for (size_t i = 0; i < n; i++) perm[i] = (int)i;
    cr_rng r;
    cr_rng_seed(&r, mix64(seed ^ 0x73706c6974ULL));      /* "split": not the batch order */
    cr_rng_shuffle(&r, perm, n);
    s->train = perm;
    s->n_train = n - n_val;
    s->val = perm + s->n_train;
    s->n_val = n_val;
    return CR_OK;
}

void cr_split_free(cr_split *s)
{
    if (!s) return;
    cr_free(s->train);
    memset(s, 0, sizeof *s);
}

cr_batcher *cr_batcher_new(const int *idx, size_t n, size_t batch_size, unsigned flags,
                           uint64_t seed, char *err, size_t errsize)
{
    if (n == 0 || n > INT_MAX) {
        cr__errf(CR_ERR_ARG, err, errsize, "batcher: n = %zu is outside 1..%d", n, INT_MAX);
        return NULL;
    }
    if (batch_size == 0 || batch_size > INT_MAX) {
        cr__errf(CR_ERR_ARG, err, errsize, "batcher: batch_size = %zu is outside 1..%d",
                 batch_size, INT_MAX);
        return NULL;
    }
    cr_batcher *b = cr_calloc(1, sizeof *b);
    int *mem = cr_malloc(2 * n * sizeof *mem);
    if (!b || !mem) {
        cr_free(b);
        cr_free(mem);
        cr__errf(CR_ERR_NOMEM, err, errsize, "batcher: out of memory for %zu indices", n);
        return NULL;
    }
    b->base = mem;
    b->order = mem + n;
    for (size_t i = 0; i < n; i++) b->base[i] = idx ? idx[i] : (int)i;
    b->n = n;
    b->batch = batch_size;
    b->flags = flags;
    b->seed = seed;
    b->n_batches = (flags & CR_BATCH_DROP_LAST) ? n / batch_size
                                                : n / batch_size + (n % batch_size != 0);
    cr_batcher_seek(b, 0, 0, NULL, 0);
    return b;
}

void cr_batcher_free(cr_batcher *b)
{
    if (!b) return;
    cr_free(b->base);
    cr_free(b);
}

cr_status cr_batcher_seek(cr_batcher *b, uint64_t epoch, size_t batch, char *err,
                          size_t errsize)
{
    if (!b) return cr__errf(CR_ERR_ARG, err, errsize, "batcher: b is NULL");
    if (batch > b->n_batches)
        return cr__errf(CR_ERR_ARG, err, errsize,
                        "batcher: batch %zu is past the end of an epoch of %zu batches", batch,
                        b->n_batches);
    memcpy(b->order, b->base, b->n * sizeof *b->order);
    if (b->flags & CR_BATCH_SHUFFLE) {
        cr_rng r;
        cr_rng_seed(&r, mix64(b->seed ^ mix64(epoch)));
        cr_rng_shuffle(&r, b->order, b->n);
    }
    b->epoch = epoch;
    b->pos = batch;
    return CR_OK;
}

size_t cr_batcher_next(cr_batcher *b, const int **idx)
{
    if (!b || !idx || b->pos >= b->n_batches) {
        if (idx) *idx = NULL;
        return 0;
    }
    size_t start = b->pos * b->batch, left = b->n - start;
    b->pos++;
    *idx = b->order + start;
    return left < b->batch ? left : b->batch;
}

size_t cr_batcher_batches(const cr_batcher *b) { return b ? b->n_batches : 0; }
uint64_t cr_batcher_epoch(const cr_batcher *b) { return b ? b->epoch : 0; }
size_t cr_batcher_position(const cr_batcher *b) { return b ? b->pos : 0; }
