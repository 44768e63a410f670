/* Tensor helpers shared inside graph/ (graph/tensor.c). Depends on nothing else of
 * graph/: the tape (graph/tape.c) uses these to lay out its own tensors. */
#ifndef CR_GRAPH_TENSOR_INTERNAL_H
#define CR_GRAPH_TENSOR_INTERNAL_H

#include "chainrule.h"

/* Element count of a shape, 0 on a bad shape or size_t overflow. */
size_t cr__shape_size(int ndim, const int *shape);
/* Set x's rank, shape (unused entries 1) and size; id -1, no name, grad epoch 0.
 * Inline: the tape calls it for every node it records. */
static inline void cr__set_shape(cr_tensor *x, int ndim, const int *shape, size_t size)
{
    x->ndim = ndim;
    for (int i = 0; i < CR_MAX_DIMS; i++) x->shape[i] = 1;
    for (int i = 0; i < ndim; i++) x->shape[i] = shape[i];
    x->size = size;
    x->id = -1;
    x->grad_epoch = 0;
    x->name = NULL;
}

#endif
