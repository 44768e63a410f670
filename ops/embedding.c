/* embedding: row gather by an index tensor.
 *   table is V x E, idx any shape (rank 0..3) holding row numbers stored as cr_real;
 *   y[p, :] = table[idx[p], :]              (y is idx.shape x E)
 *   dtable[idx[p], :] += dy[p, :]           (a row used twice gets both gradients)
 *   idx gets no gradient (it is not differentiable).
 * Indices are read and checked in forward, at recording and again on every replay
 * (the caller overwrites idx->data with the next batch): each must be a whole
 * number in 0..V-1, else the tape's error names the position. The checked indices
 * are kept as ints in the node's scratch, so backward scatters into the rows the
 * forward read even if idx->data changes in between. Both passes run on the calling
 * thread (they only move data) and backward adds in position order, so the result
 * is the same bits for any thread count. */
#include "shape_util.h"

#include <stdio.h>
#include <string.h>

/* n->aux: int rows[idx->size], the indices of the last forward. */

/* Text of position p of idx (shape dims) as "(i, j)"; "" for rank 0. */
static void position_text(const cr_tensor *idx, size_t p, char *buf, size_t size)
{
    if (idx->ndim == 0) {
        buf[0] = '\0';
        return;
    }
    size_t coord[CR_MAX_DIMS];
    for (int d = idx->ndim; d-- > 0;) {
        coord[d] = p % (size_t)idx->shape[d];
        p /= (size_t)idx->shape[d];
    }
    size_t len = 0;
    for (int d = 0; d < idx->ndim && len < size; d++) {
        int w = snprintf(buf + len, size - len, "%s%zu%s", d ? ", " : " (", coord[d],
                         d == idx->ndim - 1 ? ")" : "");
        if (w < 0) break;
        len += (size_t)w;
    }
}

static void embedding_forward(cr_tape *t, cr_node *n)
{
    const cr_tensor *table = n->in[0], *idx = n->in[1];
    const size_t V = (size_t)table->shape[0], E = (size_t)table->shape[1];
    int *rows = n->aux;
    for (size_t p = 0; p < idx->size; p++) {
        cr_real v = idx->data[p];
        /* written so that NaN fails: every comparison with NaN is false */
        if (!(v >= 0 && v < (cr_real)V && v == (cr_real)(long)v)) {
            char pos[96];
            position_text(idx, p, pos, sizeof pos);
            cr_tape_fail(t, CR_ERR_ARG, "embedding: index %.17g at position %zu%s of idx is "
                         "not a whole number in 0..%zu (the table has %zu rows)", (double)v, p,
                         pos, V - 1, V);
            return;
        }
        rows[p] = (int)v;
        memcpy(n->out->data + p * E, table->data + (size_t)rows[p] * E, E * sizeof(cr_real));
    }
}

static void embedding_backward(cr_tape *t, cr_node *n)
{
    (void)t;
    cr_tensor *table = n->in[0];
    if (!table->grad) return;
    const size_t E = (size_t)table->shape[1], count = n->in[1]->size;
    const int *rows = n->aux;
    for (size_t p = 0; p < count; p++)
        cr__add_into(table->grad + (size_t)rows[p] * E, n->out->grad + p * E, E);
}

static const cr_op embedding_op = { "embedding", embedding_forward, embedding_backward };

cr_tensor *cr_embedding(cr_tape *t, cr_tensor *table, cr_tensor *idx)
{
    cr_tensor *in[2] = { table, idx };
    if (!cr_check_inputs(t, "embedding", 2, in)) return NULL;
    char st[CR_DIMS_TEXT], si[CR_DIMS_TEXT];
    if (table->ndim != 2) {
        cr_tape_fail(t, CR_ERR_SHAPE, "embedding: table is %s but must be V x E (rank 2)",
                     cr__tensor_dims(table, st, sizeof st));
        return NULL;
    }
    if (idx->ndim >= CR_MAX_DIMS) {
        cr_tape_fail(t, CR_ERR_SHAPE, "embedding: idx is %s (rank %d) but may have rank 0..%d "
                     "(the output adds an axis of %d)", cr__tensor_dims(idx, si, sizeof si),
                     idx->ndim, CR_MAX_DIMS - 1, table->shape[1]);
        return NULL;
    }
    int shape[CR_MAX_DIMS];
    for (int d = 0; d < idx->ndim; d++) shape[d] = idx->shape[d];
    shape[idx->ndim] = table->shape[1];
    cr_node *n = cr_record(t, &embedding_op, 2, in, idx->ndim + 1, shape);
    if (!n) return NULL;
    n->aux = cr_tape_alloc(t, idx->size * sizeof(int));
    if (!n->aux) return NULL;
    return cr_run(t, n);
}
