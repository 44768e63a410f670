/* What train_bench.c and cnn_bench.c share: the step graph recorded once per batch
 * shape and replayed, one timed training step, and the test-set accuracy. */
#ifndef CR_BENCH_TRAIN_H
#define CR_BENCH_TRAIN_H

#include "bench_util.h"
#include "chainrule.h"

#include <string.h>

/* A tape holding loss = softmax_cross_entropy(model(x), y) for `rows` samples;
 * x and y are heap tensors the batch is gathered into. */
typedef struct step_graph {
    cr_tape *t;
    cr_tensor *x, *y, *loss;
    int rows;
} step_graph;

/* Make g's tape (on pool) and tensors: x of x_ndim / x_shape (rows first), y of rows
 * labels. The caller then records g->loss. -1 when out of memory. */
static inline int step_graph_init(step_graph *g, int x_ndim, const int *x_shape, cr_pool *pool)
{
    g->rows = x_shape[0];
    g->t = cr_tape_new(0);
    g->x = cr_tensor_new(x_ndim, x_shape);
    g->y = cr_tensor_new(1, (int[]){ g->rows });
    return !g->t || !g->x || !g->y || cr_tape_set_pool(g->t, pool) != CR_OK ? -1 : 0;
}

static inline void step_graph_free(step_graph *g)
{
    cr_tape_free(g->t);
    cr_tensor_free(g->x);
    cr_tensor_free(g->y);
}

/* One training step on the samples idx[0..rows) of d, as examples/train does it:
 * gather, zero_grad, replay, backward, optimizer step. Adds the seconds of each
 * phase to ph (gather, forward, backward, zero_grad + optimizer). -1 when the tape
 * fails (its error says why). */
static inline int step_timed(step_graph *g, const cr_dataset *d, const int *idx, size_t rows,
                             cr_optim *opt, double ph[4])
{
    double t0 = wall();
    cr_dataset_gather_pool(d, idx, rows, g->x, g->y, cr_tape_pool(g->t), NULL, 0);
    double t1 = wall();
    cr_optim_zero_grad(opt);
    double tz = wall();
    if (cr_tape_forward(g->t) != CR_OK) return -1;
    double t2 = wall();
    if (cr_backward(g->t, g->loss) != CR_OK) return -1;
    double t3 = wall();
    cr_optim_step(opt, NULL, 0);
    double t4 = wall();
    ph[0] += t1 - t0;
    ph[1] += t2 - tz;
    ph[2] += t3 - t2;
    ph[3] += t4 - t3 + (tz - t1);
    return 0;
}

/* How many rows of the logits z (rows x classes) have their largest value at the
 * label labels[r]. */
static inline size_t count_correct(const cr_tensor *z, const int *labels)
{
    size_t ok = 0;
    int C = z->shape[1];
    for (int r = 0; r < z->shape[0]; r++) {
        const cr_real *row = z->data + (size_t)r * C;
        int best = 0;
        for (int c = 1; c < C; c++)
            if (row[c] > row[best]) best = c;
        ok += best == labels[r];
    }
    return ok;
}

/* The logits of the model for x, recorded on t (train_bench: an MLP, cnn_bench: a
 * cr_model). */
typedef cr_tensor *(*bench_forward_fn)(cr_tape *t, void *model, cr_tensor *x);

/* Test-set accuracy in percent of forward over d, no-grad, 1000 samples at a time;
 * a chunk's input is x_ndim dimensions, x_shape with its first replaced by the
 * chunk's rows. -1 when the tape cannot be made. */
static inline double test_accuracy_of(bench_forward_fn forward, void *model, const cr_dataset *d,
                                      int x_ndim, const int *x_shape, cr_pool *pool)
{
    enum { CHUNK = 1000 };
    int idx[CHUNK], shape[CR_MAX_DIMS];
    size_t ok = 0;
    cr_tape *t = cr_tape_new(0);
    if (!t || cr_tape_set_pool(t, pool) != CR_OK) {
        cr_tape_free(t);
        return -1;
    }
    cr_tape_set_grad_mode(t, 0);
    memcpy(shape, x_shape, (size_t)x_ndim * sizeof *shape);
    for (size_t s = 0; s < d->n; s += CHUNK) {
        int k = (int)(d->n - s < CHUNK ? d->n - s : CHUNK);
        for (int i = 0; i < k; i++) idx[i] = (int)s + i;
        cr_tape_reset(t);
        shape[0] = k;
        cr_tensor *x = cr_const(t, x_ndim, shape, NULL);
        if (!x || cr_dataset_gather(d, idx, (size_t)k, x, NULL, NULL, 0) != CR_OK) break;
        cr_tensor *z = forward(t, model, x);
        if (!z) break;
        ok += count_correct(z, d->labels + s);
    }
    cr_tape_free(t);
    return 100.0 * (double)ok / (double)d->n;
}

#endif
