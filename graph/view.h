/* Views, for ops/ (cr_flatten): a tape tensor that shares its input's memory.
 *
 * The view y of x has no data block of its own (y->data is x->data, on the first
 * run and on replay) and no gradient buffer of its own: when the reverse pass
 * first reaches y, graph/backward.c points y->grad at x's buffer (zeroing it if
 * x was not reached yet in this pass), so y's consumers add straight into dL/dx
 * and the view's backward has nothing left to add (it checks
 * x->grad == y->grad). After backward, y->grad therefore holds all of dL/dx,
 * including what other consumers of x added. A traced pass (cr_tape_set_trace)
 * gives y a buffer of its own so that each chain-rule step shows what it adds;
 * the view's backward then adds it into x as any op would. Views of views work
 * (each reaches the first base through its node's input). */
#ifndef CR_GRAPH_VIEW_H
#define CR_GRAPH_VIEW_H

#include "chainrule.h"

/* Record op as a view of x with the given shape (same number of values as x):
 * cr_record(t, op, 1, &x, ndim, shape) without the output's data block, and
 * out->data = x->data. NULL (tape error set) as cr_record, or CR_ERR_SHAPE when
 * the sizes differ. The caller runs it with cr_run as usual. */
cr_node *cr__record_view(cr_tape *t, const cr_op *op, cr_tensor *x, int ndim, const int *shape);

#endif
