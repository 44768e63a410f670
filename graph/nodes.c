/* Read-only access to a tape's nodes (graph/nodes.h). */
#include "nodes.h"
#include "tape_internal.h"

const cr_node *cr__tape_nodes(const cr_tape *t, size_t *n)
{
    *n = t ? t->n_nodes : 0;
    return t ? t->nodes : NULL;
}

int cr__is_leaf_op(const cr_op *op) { return op == &cr__leaf_op; }
