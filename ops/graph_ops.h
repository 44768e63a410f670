/* The graph-file entry of every built-in op (ops/graph_ops.c): how a recorded node
 * is described in a graph file (docs/FORMAT.md, GRPH) and how it is recorded again
 * from that description. Used by optim/graph_save.c and optim/graph_load.c; not
 * installed.
 *
 * A node is saved as its op's name, its inputs, its output shape and typed
 * attributes: the integers and reals the op's public function needs besides its
 * inputs (a conv2d's stride, padding, dilation and groups; a pow's exponent). A
 * node is rebuilt by calling that public function, so the loaded tape is an
 * ordinary recording: replay, backward and every check of the op are the same. */
#ifndef CR_OPS_GRAPH_OPS_H
#define CR_OPS_GRAPH_OPS_H

#include "chainrule.h"
#include "op_attrs.h"

#define CR__GATTR_INTS 8
#define CR__GATTR_REALS 4

/* Typed attributes of one node: ni integers, then nr reals (as the op's entry
 * declares them, in the order of its comment). */
typedef struct cr__gattr {
    int ni, nr;
    int64_t i[CR__GATTR_INTS];
    double r[CR__GATTR_REALS];
} cr__gattr;

/* What a rebuild may need besides inputs and attributes. */
typedef struct cr__gctx {
    int ndim;                 /* the output shape to record (reshape, custom) */
    const int *shape;
    cr_rng *rngs;             /* the graph's generators (dropout's attribute 0 indexes it) */
    int n_rngs;
    const char *name;         /* the node's op name (custom ops) */
} cr__gctx;

/* One op's entry. save fills a from the node (NULL: no attributes); build records
 * the op on t from in[0..n_in) and a, returning the output or NULL with the tape's
 * error. save may refuse a node it cannot describe: it returns 0 with a reason in
 * why (e.g. a dropout whose generator is not one of the graph's). */
typedef struct cr__graph_op {
    const char *name;
    int min_in, max_in;       /* inputs a node of this op may have */
    int ni, nr;               /* its attribute counts */
    int (*save)(const cr_node *n, cr__gattr *a, const cr_rng *const *rngs, int n_rngs);
    cr_tensor *(*build)(cr_tape *t, cr_tensor *const *in, int n_in, const cr__gattr *a,
                        const cr__gctx *c);
} cr__graph_op;

/* The entry of the op named name (exact), or NULL. */
const cr__graph_op *cr__graph_op_find(const char *name);

/* A custom op of a cr_op_registry (ops/custom.c). */
typedef struct cr__custom_reg {
    char name[64];
    cr_custom_fn forward, backward;
    void *user;
} cr__custom_reg;
/* The custom op of that name in r, or NULL (also for r NULL). */
const cr__custom_reg *cr__op_registry_find(const cr_op_registry *r, const char *name);

/* The side-effect node of a training-mode batch norm (ops/running_stats.c): in =
 * mu, var, x, running mean, running variance. Used by nn/batchnorm.c. */
cr_tensor *cr__running_stats(cr_tape *t, cr_tensor *const *in, double momentum);

/* The attribute readers of ops whose attributes live in a private struct are in
 * ops/op_attrs.h (shared with export/). */

#endif
