/* Export to C, shared by the files of export/ only.
 *
 *   plan.c   reads the tape: keeps the nodes the output depends on, turns nodes
 *            that do not depend on an input into constants, folds per-channel
 *            affine chains into the linear/conv node before them, and places every
 *            computed value in one scratch array (first fit, freed after its last
 *            reader);
 *   emit.c   writes the C text of a plan: helper kernels, constant arrays as
 *            hexadecimal floats, one block of code per node;
 *   templates.c  the fixed text of those kernels and blocks;
 *   export_c.c  cr_export_c: arguments, the two files written atomically. */
#ifndef CR_EXPORT_INTERNAL_H
#define CR_EXPORT_INTERNAL_H

#include "chainrule.h"

#include <stdio.h>

/* What a value of the exported graph is. */
enum { XV_INPUT = 1, XV_CONST, XV_COMP };

/* Node kinds the writer knows (by op name, see plan.c's table). */
enum xk {
    XK_LINEAR = 1, XK_MATMUL, XK_CONV, XK_MAXPOOL, XK_AVGPOOL, XK_GAP, XK_BINARY, XK_UNARY,
    XK_SOFTMAX, XK_LOG_SOFTMAX, XK_VIEW, XK_PERMUTE, XK_TRANSPOSE, XK_SLICE, XK_CONCAT,
    XK_SUM, XK_SUM_AXIS, XK_EMBED, XK_STACK, XK_GATE
};

typedef struct xval {
    const cr_tensor *t;  /* shape, and the data of a constant */
    int kind;            /* XV_* */
    int view;            /* XV_COMP made by a view node: shares the storage of `src` */
    int src;             /* the viewed value (view), else itself */
    size_t in_off;       /* XV_INPUT: offset in x */
    int cid;             /* XV_CONST: number of its array once written, -1 before */
    int uses;            /* readers among live nodes (views count as readers) */
    int last;            /* last live node reading it or a view of it (storage roots) */
    int in_y;            /* storage root kept in y (it is the output) */
    size_t off;          /* storage root in scratch: offset in floats */
} xval;

typedef struct xnode {
    const cr_node *n;    /* what was recorded (op, attributes) */
    enum xk kind;
    int *in;             /* value numbers of its inputs (n_in) */
    int n_in;
    int out;             /* value number of its output */
    int dead;            /* folded into the node before it */
    /* linear and conv2d: weights and bias as double (folding happens here) */
    double *w, *b;
    size_t wn;           /* weights */
    int O;               /* output channels (bias length) */
} xnode;

typedef struct xplan {
    const cr_tape *t;
    xval *v;
    int nv, capv;
    xnode *x;
    int nx;
    int out;             /* value of the first output */
    int *outs;           /* values of the n_out outputs, back to back in y */
    int n_out;
    size_t *out_off;     /* offset of each output in y (floats) */
    size_t in_size;      /* floats of x */
    size_t out_size;     /* floats of y */
    size_t scratch;      /* floats of scratch */
    int int8;
    int folded;          /* affine nodes folded into linear/conv nodes */
    int n_const;         /* constant arrays written so far */
} xplan;

/* Build the plan for the n_out >= 1 outputs from inputs on t (checked by the
 * caller: t has no error, outputs and inputs non-NULL). CR_OK or an error with the
 * message in err. */
cr_status cr__xplan_build(xplan *p, const cr_tape *t, int n_in, cr_tensor *const *inputs,
                          int n_out, const cr_tensor *const *outputs, int int8, int no_fold,
                          char *err, size_t errsize);
void cr__xplan_free(xplan *p);

/* The storage root of value i (follows views). */
int cr__xplan_root(const xplan *p, int i);

/* Write name.c / name.h for p. 0, or -1 when writing fails (errno set). */
int cr__xemit_source(FILE *f, xplan *p, const char *name);
/* in_names / out_names: the names the header gives the inputs and outputs (NULL,
 * or a NULL entry: the tensor's own name, if any). */
int cr__xemit_header(FILE *f, const xplan *p, const char *name, int n_in,
                     cr_tensor *const *inputs, const char *const *in_names,
                     const cr_tensor *const *outputs, const char *const *out_names);

/* templates.c: the text of kernels and inline blocks */
extern const char cr__x_dense_text[];
extern const char cr__x_conv_text[];
extern const char cr__x_pool_head[];
extern const char cr__x_maxpool_tail[];
extern const char cr__x_avgpool_tail[];
extern const char cr__x_gap_text[];
/* row softmax and log softmax: head (format: comment, function name) + tail */
extern const char cr__x_row_head[];
extern const char cr__x_softmax_tail[];
extern const char cr__x_log_softmax_tail[];
extern const char cr__x_sigmoid_text[];
extern const char cr__x_tanh_text[];
extern const char cr__x_log_text[];

#endif
