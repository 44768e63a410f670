/* Read-only access to a tape's recorded nodes for code outside graph/ that walks a
 * recording (graph files, optim/graph_save.c). Not installed. */
#ifndef CR_GRAPH_NODES_H
#define CR_GRAPH_NODES_H

#include "chainrule.h"

/* The recorded nodes of t in recording (= topological) order, *n of them; a node's
 * output tensor has id equal to its index. NULL and 0 for NULL t. */
const cr_node *cr__tape_nodes(const cr_tape *t, size_t *n);
/* 1 when op is the op of tape leaves (cr_var, cr_const). */
int cr__is_leaf_op(const cr_op *op);

#endif
