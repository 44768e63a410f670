/* Typed attributes of recorded nodes read back as the public option structs, for
 * code that walks a tape and needs what an op was recorded with (export/: export
 * to C; optim/graph_*.c: graph files). Each op keeps its attribute struct private to its file; these accessors
 * are the one way out. Not installed, not public. */
#ifndef CR_OPS_OP_ATTRS_H
#define CR_OPS_OP_ATTRS_H

#include "chainrule.h"

/* n is a conv2d node: fill *o with its resolved options (stride, padding, dilation
 * >= their minimum, groups >= 1) and return 1; otherwise return 0. */
int cr__conv2d_attrs(const cr_node *n, cr_conv2d_opts *o);
/* Whether y, recorded on t by cr_conv2d, runs its products per sample (1) or on the
 * whole batch (0; also when y is not a conv2d output of t). */
int cr__conv2d_per_sample(const cr_tape *t, const cr_tensor *y);
/* Tests only: 0 makes conv2d nodes recorded from now on use whole-batch products,
 * 1 (the default) lets them run per sample where that needs no packing. Returns the
 * previous setting. Process-wide, not thread-safe. */
int cr__conv2d_set_per_sample(int on);
/* n is a max_pool2d or avg_pool2d node: fill *o (resolved: stride never 0) and
 * return 1; otherwise 0. */
int cr__pool2d_attrs(const cr_node *n, cr_pool2d_opts *o);
/* n is a permute node: perm[k] (k < the input's rank) is the input axis that
 * became output axis k (resolved, never negative); returns 1, otherwise 0. */
int cr__permute_attrs(const cr_node *n, int perm[CR_MAX_DIMS]);
/* 1 when op was made by cr_custom (its name is the user's: it may equal a built-in
 * op's name), else 0. */
int cr__op_is_custom(const cr_op *op);
/* n is a dropout node: the generator it draws from (NULL otherwise). */
const cr_rng *cr__dropout_rng_of(const cr_node *n);

#endif
