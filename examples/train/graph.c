/* Graph files (cr_graph_save): --save-graph writes the trained model's inference
 * graph, and --eval runs any graph file on the test set. The graph takes raw
 * samples ("x": rows as the data gives them, no standardisation: the model's
 * scaling is part of the graph) and gives "logits"; it is recorded at batch 1 and
 * loaders change the batch with cr_graph_set_batch. */
#include "train.h"

#include <math.h>
#include <string.h>

int trainer_save_graph(trainer *T)
{
    const train_opts *o = T->o;
    cr_tape *t = cr_tape_new(0);
    cr_tensor *mean = NULL, *inv = NULL;
    if (!t) return trainer_fail(T, EXIT_TRAIN_FAILED, "out of memory (graph of %s)", o->out);
    int was = trainer_set_training(T, 0);        /* the inference graph */
    int shape[4], nd = trainer_batch_shape(T, 1, shape);
    cr_tensor *x = cr_tensor_label(cr_const(t, nd, shape, NULL), "x"), *h = x;
    if (T->mi.standardized && T->mean_t) {
        /* constants of the graph: copies without gradient buffers */
        mean = cr_tensor_new(T->mean_t->ndim, T->mean_t->shape);
        inv = cr_tensor_new(T->inv_t->ndim, T->inv_t->shape);
        if (mean && inv) {
            cr_tensor_set(mean, T->mean_t->data, mean->size);
            cr_tensor_set(inv, T->inv_t->data, inv->size);
        }
        h = mean && inv ? cr_mul(t, cr_sub(t, x, mean), inv) : NULL;
    }
    cr_tensor *z = cr_tensor_label(trainer_forward(T, t, h), "logits");
    trainer_set_training(T, was);
    int rc = 0;
    if (!z) rc = trainer_fail(T, EXIT_TRAIN_FAILED, "graph: %s", cr_tape_error(t) ?
                              cr_tape_error(t) : "out of memory");
    else if (cr_graph_save(t, 1, &x, 1, &z, trainer_params(T), o->save_graph, T->err,
                           sizeof T->err) != CR_OK)
        rc = EXIT_TRAIN_FAILED;
    else printf("graph saved to %s (input x, output logits; chainrule-run %s DATA)\n",
                o->save_graph, o->save_graph);
    cr_tensor_free(mean);
    cr_tensor_free(inv);
    cr_tape_free(t);
    return rc;
}

#define EVAL_CHUNK 1000

/* --eval of a graph file: its first input takes the test samples, its output
 * "logits" (or its first) the class scores. */
int trainer_eval_graph(trainer *T, cr_graph *g)
{
    const cr_dataset *d = T->test;
    const char *path = T->o->eval;
    int k = cr_graph_find_output(g, "logits");
    cr_tensor *y = cr_tensor_new(1, (int[]){ EVAL_CHUNK });
    int *idx = cr_malloc(EVAL_CHUNK * sizeof *idx);
    size_t ok = 0, C = 0;
    double sum = 0;
    int rc = !y || !idx ? trainer_fail(T, EXIT_TRAIN_FAILED, "out of memory%s", "") : 0;
    if (!T->o->quiet && !rc)
        printf("graph %s: %zu nodes, input %s, evaluated on %zu samples\n", path,
               cr_tape_size(cr_graph_tape(g)), cr_graph_input_name(g, 0), d->n);
    for (size_t s = 0; !rc && s < d->n; s += EVAL_CHUNK) {
        int m = (int)(d->n - s < EVAL_CHUNK ? d->n - s : EVAL_CHUNK);
        if (cr_graph_batch(g) != m && cr_graph_set_batch(g, m, T->err, sizeof T->err) != CR_OK) {
            rc = EXIT_USAGE;
            break;
        }
        cr_tensor *x = cr_graph_input(g, 0), *z = cr_graph_output(g, k < 0 ? 0 : k);
        for (int r = 0; r < m; r++) idx[r] = (int)s + r;
        if (cr_dataset_gather(d, idx, (size_t)m, x, y, T->err, sizeof T->err) != CR_OK) {
            rc = EXIT_USAGE;
            break;
        }
        if (cr_tape_forward(cr_graph_tape(g)) != CR_OK) {
            rc = trainer_fail(T, EXIT_TRAIN_FAILED, "graph: %s", cr_tape_error(cr_graph_tape(g)));
            break;
        }
        C = z->size / (size_t)m;
        if (C < 2 || (int)C < d->n_classes) {
            snprintf(T->err, sizeof T->err, "%s: the graph gives %zu scores per sample but the "
                     "data has %d classes", path, C, d->n_classes);
            rc = EXIT_USAGE;
            break;
        }
        for (int r = 0; r < m; r++) {
            const cr_real *row = z->data + (size_t)r * C;
            size_t best = 0;
            double mx = row[0], se = 0;
            for (size_t c = 1; c < C; c++)
                if (row[c] > row[best]) best = c, mx = row[c];
            for (size_t c = 0; c < C; c++) se += exp((double)row[c] - mx);
            size_t truth = (size_t)y->data[r];
            sum += mx + log(se) - (double)row[truth];          /* cross-entropy */
            ok += best == truth;
        }
    }
    if (!rc)
        printf("test: accuracy %.2f%% (%zu/%zu), loss %.4f\n", 100.0 * (double)ok / (double)d->n,
               ok, d->n, sum / (double)d->n);
    cr_tensor_free(y);
    cr_free(idx);
    return rc;
}
