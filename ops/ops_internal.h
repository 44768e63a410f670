/* Shared by the files of ops/ only: libm in the precision of cr_real, the
 * recording helpers of elementwise ops, and the broadcast machinery of binary
 * elementwise ops (general case in ops/broadcast.c).
 *
 * How a binary elementwise op runs. Shapes are aligned at the right and a
 * dimension of 1 stretches (NumPy). Every case is reduced to calls of one row
 * kernel on contiguous rows of the output:
 *   - same shapes: one call over the whole tensor, both operands contiguous;
 *   - one operand of size 1: one call, that operand's stride 0;
 *   - otherwise (ops/broadcast.c): size-1 dimensions are dropped, neighbouring
 *     dimensions merged where neither operand changes pattern, and a loop over
 *     the outer (up to 3) dimensions calls the kernel once per inner row.
 * A kernel sees strides sa, sb in {0, 1}: 0 means "this operand is one value for
 * the whole row". Kernels are plain loops over restrict pointers, written once per
 * stride case so that each loop vectorises.
 *
 * Backward runs one gradient kernel per input. The kernel accumulates into a
 * contiguous row dx; when the input is broadcast along the row, the machinery
 * hands the kernel a zeroed scratch row and adds the row's sum into the single
 * gradient element; broadcast along outer dimensions needs nothing special because
 * kernels accumulate (+=). */
#ifndef CR_OPS_INTERNAL_H
#define CR_OPS_INTERNAL_H

#include "chainrule.h"
#include "../graph/record.h"

#include <math.h>
#include <string.h>

/* ----------------------------------------------------------------- libm */

/* libm in the precision of cr_real (expf in the float build, exp in double).
 * cr_tanh does not use cr__tanh: it has a faster one-exp tanh (ops/sigmoid.c). */
#ifdef CR_REAL_DOUBLE
static inline cr_real cr__exp(cr_real x) { return exp(x); }
static inline cr_real cr__log(cr_real x) { return log(x); }
static inline cr_real cr__log1p(cr_real x) { return log1p(x); }
static inline cr_real cr__sqrt(cr_real x) { return sqrt(x); }
static inline cr_real cr__pow(cr_real x, cr_real p) { return pow(x, p); }
static inline cr_real cr__tanh(cr_real x) { return tanh(x); }
static inline cr_real cr__fabs(cr_real x) { return fabs(x); }
#else
static inline cr_real cr__exp(cr_real x) { return expf(x); }
static inline cr_real cr__log(cr_real x) { return logf(x); }
static inline cr_real cr__log1p(cr_real x) { return log1pf(x); }
static inline cr_real cr__sqrt(cr_real x) { return sqrtf(x); }
static inline cr_real cr__pow(cr_real x, cr_real p) { return powf(x, p); }
static inline cr_real cr__tanh(cr_real x) { return tanhf(x); }
static inline cr_real cr__fabs(cr_real x) { return fabsf(x); }
#endif

/* -------------------------------------------------------------- threads */

/* Elementwise work on at least this many elements runs on the tape's pool (in
 * ranges of CR__PAR_GRAIN); smaller work stays on the calling thread. Below
 * ~32K elements a pass takes a few microseconds, about what handing half of it to
 * a spinning worker costs. Every element is computed on its own, so the result
 * is the same bits for any thread count. */
#define CR__PAR_MIN 32768
#define CR__PAR_GRAIN 16384

/* A pass over elements [b, e) of node n's tensors. */
typedef void (*cr__node_range)(const cr_node *n, size_t b, size_t e);

typedef struct cr__node_job {
    const cr_node *n;
    cr__node_range f;
} cr__node_job;

static inline void cr__node_job_run(void *ctx, size_t b, size_t e)
{
    const cr__node_job *j = ctx;
    j->f(j->n, b, e);
}

/* f(n, 0, count), split by element range over t's pool when count >= CR__PAR_MIN. */
static inline void cr__par_node(cr_tape *t, const cr_node *n, size_t count, cr__node_range f)
{
    if (count < CR__PAR_MIN) {
        f(n, 0, count);
        return;
    }
    cr__node_job j = { n, f };
    cr_pool_for(cr_tape_pool(t), count, CR__PAR_GRAIN, cr__node_job_run, &j);
}

/* As cr__par_node for passes whose elements cost about `cost` simple ones each
 * (exp, sigmoid, tanh: CR__COST_TRANSCENDENTAL): split from CR__PAR_MIN / cost
 * elements, in ranges of CR__PAR_GRAIN / cost. Measured (bench/rnn_step, LSTM at
 * B 32): a B x 3H sigmoid of 24,576 elements took ~6 ns per element, so at the plain
 * threshold the recurrent cells' activations never reached the second thread. */
#define CR__COST_TRANSCENDENTAL 16
static inline void cr__par_node_cost(cr_tape *t, const cr_node *n, size_t count, size_t cost,
                                     cr__node_range f)
{
    if (count * cost < CR__PAR_MIN || count < 2) {
        f(n, 0, count);
        return;
    }
    cr__node_job j = { n, f };
    size_t grain = CR__PAR_GRAIN / cost;
    cr_pool_for(cr_tape_pool(t), count, grain ? grain : 1, cr__node_job_run, &j);
}

/* fn(ctx, 0, count) for count independent items of about per_item elements of
 * work each, split over t's pool in ranges of about CR__PAR_GRAIN elements when
 * count * per_item >= CR__PAR_MIN. fn must give each item a result that does not
 * depend on the range it falls in. */
static inline void cr__par_items(cr_tape *t, size_t count, size_t per_item,
                                 void (*fn)(void *ctx, size_t b, size_t e), void *ctx)
{
    if (per_item == 0) per_item = 1;
    if (count < 2 || count * per_item < CR__PAR_MIN) {
        fn(ctx, 0, count);
        return;
    }
    size_t grain = CR__PAR_GRAIN / per_item;
    cr_pool_for(cr_tape_pool(t), count, grain ? grain : 1, fn, ctx);
}

/* The forward and backward of a one-input elementwise op (output shaped like its
 * input) from its two range kernels name##_fwd and name##_bwd (cr__node_range):
 * both run through cr__par_node; backward does nothing when the input needs no
 * gradient. Defines `static const cr_op name##_op` with the given op name. */
#define CR__ELEMENTWISE_OP(name, opname)                                          \
    static void name##_forward(cr_tape *t, cr_node *n)                            \
    {                                                                             \
        cr__par_node(t, n, n->out->size, name##_fwd);                             \
    }                                                                             \
    static void name##_backward(cr_tape *t, cr_node *n)                           \
    {                                                                             \
        if (n->in[0]->grad) cr__par_node(t, n, n->out->size, name##_bwd);         \
    }                                                                             \
    static const cr_op name##_op = { opname, name##_forward, name##_backward }

/* f(n, r0, r1) over rows [0, rows) of cols elements each: on the calling thread
 * below CR__PAR_MIN elements, else split by rows over t's pool (about
 * CR__PAR_GRAIN elements per range). For ops whose output row depends on a whole
 * input row (softmax family): rows are independent, so any split gives the same
 * bits. */
static inline void cr__par_rows(cr_tape *t, const cr_node *n, size_t rows, size_t cols,
                                cr__node_range f)
{
    if (rows * cols < CR__PAR_MIN) {
        f(n, 0, rows);
        return;
    }
    cr__node_job j = { n, f };
    size_t grain = cols < CR__PAR_GRAIN ? CR__PAR_GRAIN / cols : 1;
    cr_pool_for(cr_tape_pool(t), rows, grain, cr__node_job_run, &j);
}

/* ------------------------------------------------------------ recording */

/* Record and run a one-input op whose output has x's shape; farg[0] = arg (the
 * exponent, slope, scale... or 0). NULL with the tape's error on failure. */
static inline cr_tensor *cr__unary(cr_tape *t, const cr_op *op, cr_tensor *x, double arg)
{
    return cr__record_run(t, op, 1, x, NULL, 0, arg);
}

/* cr__assigns_grads(cr__unary(t, op, x, 0)) in one call. */
static inline cr_tensor *cr__unary_assigning(cr_tape *t, const cr_op *op, cr_tensor *x)
{
    return cr__record_run(t, op, 1, x, NULL, CR__BWD_ASSIGNS, 0);
}

/* 1 when a and b have the same rank and dimensions (unused entries are 1). */
static inline int cr__same_shape(const cr_tensor *a, const cr_tensor *b)
{
    return a->ndim == b->ndim && a->shape[0] == b->shape[0] && a->shape[1] == b->shape[1] &&
           a->shape[2] == b->shape[2] && a->shape[3] == b->shape[3];
}

/* The broadcast shape of a and b into (*ndim, shape[0..*ndim)). Returns 1, or 0
 * after recording "<opname>: a is 2x3 but b is 4x5 (not broadcastable)". */
int cr__broadcast_shape(cr_tape *t, const char *opname, const cr_tensor *a,
                        const cr_tensor *b, int *ndim, int shape[CR_MAX_DIMS]);

/* cr__binary for operands of different shapes, or NULL or unusable ones
 * (ops/broadcast.c). */
cr_tensor *cr__binary_general(cr_tape *t, const cr_op *op, cr_tensor *a, cr_tensor *b);

/* Record and run a binary elementwise op on a and b (broadcast). NULL with the
 * tape's error on NULL input or shapes that do not broadcast. */
static inline cr_tensor *cr__binary(cr_tape *t, const cr_op *op, cr_tensor *a, cr_tensor *b)
{
    /* the usual case in one call; a NULL or unusable input is reported by it */
    if (a && b && cr__same_shape(a, b)) return cr__record_run(t, op, 2, a, b, 0, 0);
    return cr__binary_general(t, op, a, b);
}

/* cr__assigns_grads(cr__binary(t, op, a, b)), the usual case in one call. */
static inline cr_tensor *cr__binary_assigning(cr_tape *t, const cr_op *op, cr_tensor *a,
                                              cr_tensor *b)
{
    if (a && b && cr__same_shape(a, b)) return cr__record_run(t, op, 2, a, b, CR__BWD_ASSIGNS, 0);
    return cr__assigns_grads(cr__binary_general(t, op, a, b));
}

/* ------------------------------------------------------------ broadcast */

/* Forward row kernel: y[i] = f(a[i*sa], b[i*sb]) for i < n; sa, sb in {0, 1}. */
typedef void (*cr__fwd_rows)(cr_real *restrict y, const cr_real *restrict a, size_t sa,
                             const cr_real *restrict b, size_t sb, size_t n);
/* Gradient row kernel for one input x (a or b): dx[i] += g[i] * df/dx at
 * (a[i*sa], b[i*sb], y[i]) for i < n; dx, g and y are contiguous. */
typedef void (*cr__grad_rows)(cr_real *restrict dx, const cr_real *restrict g,
                              const cr_real *restrict a, size_t sa,
                              const cr_real *restrict b, size_t sb,
                              const cr_real *restrict y, size_t n);

/* A broadcast iteration after dropping size-1 dimensions and merging neighbours:
 * n[0..ndim) are the extents (the output is contiguous over them, n[ndim-1] is
 * the inner row), sa/sb each operand's element stride per dimension (0 where it
 * is broadcast). The inner strides are 0 or 1. */
typedef struct cr__bcast {
    int ndim;                   /* 0 when the output has one element */
    size_t n[CR_MAX_DIMS];
    size_t sa[CR_MAX_DIMS], sb[CR_MAX_DIMS];
} cr__bcast;

/* Plan the iteration of y = f(a, b), y having the broadcast shape of a and b. */
void cr__bcast_plan(cr__bcast *p, const cr_tensor *a, const cr_tensor *b, const cr_tensor *y);

/* General cases of the two functions below (ops/broadcast.c). */
void cr__bcast_forward_general(const cr_node *n, cr__fwd_rows f);
void cr__bcast_grad_general(const cr_node *n, int k, cr__grad_rows f);

/* A fast-path binary pass split by element range: input a and the output are
 * contiguous, b is contiguous (sb 1) or one value (sb 0); k is the input whose
 * gradient is accumulated. */
typedef struct cr__bcast_job {
    const cr_node *n;
    cr__fwd_rows f;
    cr__grad_rows g;
    int k;
    size_t sb;
} cr__bcast_job;

static inline void cr__bcast_fwd_range(void *ctx, size_t b, size_t e)
{
    const cr__bcast_job *j = ctx;
    const cr_tensor *x = j->n->in[0], *z = j->n->in[1], *y = j->n->out;
    j->f(y->data + b, x->data + b, 1, z->data + b * j->sb, j->sb, e - b);
}

static inline void cr__bcast_grad_range(void *ctx, size_t b, size_t e)
{
    const cr__bcast_job *j = ctx;
    const cr_tensor *x = j->n->in[0], *z = j->n->in[1], *y = j->n->out;
    j->g(j->n->in[j->k]->grad + b, y->grad + b, x->data + b, 1, z->data + b, 1,
         y->data + b, e - b);
}

/* Forward of a binary node n (inputs a, b; output y): y = f(a, b) broadcast.
 * The two fast paths are inline so that f is called directly; from CR__PAR_MIN
 * elements they run split over the pool of y's tape. */
static inline void cr__bcast_forward(const cr_node *n, cr__fwd_rows f)
{
    const cr_tensor *a = n->in[0], *b = n->in[1], *y = n->out;
    if (y->size == 1) {             /* scalars: the kernel inlined for one element */
        f(y->data, a->data, 1, b->data, 1, 1);
        return;
    }
    if (a->size == y->size && (b->size == y->size || b->size == 1)) {
        size_t sb = b->size == y->size ? 1 : 0;
        if (y->size < CR__PAR_MIN) {
            f(y->data, a->data, 1, b->data, sb, y->size);
        } else {
            cr__bcast_job j = { n, f, NULL, 0, sb };
            cr_pool_for(cr_tape_pool(y->tape), y->size, CR__PAR_GRAIN, cr__bcast_fwd_range, &j);
        }
    } else {
        cr__bcast_forward_general(n, f);
    }
}

/* Backward of a binary node n for input k (0: a, 1: b) with gradient kernel f:
 * accumulates into n->in[k]->grad, summed over the dimensions where input k was
 * broadcast. Does nothing when that input has no gradient. */
static inline void cr__bcast_grad(const cr_node *n, int k, cr__grad_rows f)
{
    const cr_tensor *a = n->in[0], *b = n->in[1], *y = n->out;
    cr_real *dx = n->in[k]->grad;
    if (!dx) return;
    if (y->size == 1) {             /* scalars: the kernel inlined for one element */
        f(dx, y->grad, a->data, 1, b->data, 1, y->data, 1);
        return;
    }
    if (a->size == y->size && b->size == y->size) {
        if (y->size < CR__PAR_MIN) {
            f(dx, y->grad, a->data, 1, b->data, 1, y->data, y->size);
        } else {
            cr__bcast_job j = { n, NULL, f, k, 1 };
            cr_pool_for(cr_tape_pool(y->tape), y->size, CR__PAR_GRAIN, cr__bcast_grad_range, &j);
        }
    } else {
        cr__bcast_grad_general(n, k, f);
    }
}

/* cr__bcast_grad for an op opted in to "first write assigns" (cr__assigns_grads):
 * when input k's gradient buffer is fresh (cr__grad_fresh), `set` (which writes
 * dx[i] = instead of adding) covers it when the input has the output's shape, and
 * a broadcast input's buffer is zeroed first for `add`. */
static inline void cr__bcast_grad_first(const cr_tape *t, const cr_node *n, int k,
                                        cr__grad_rows add, cr__grad_rows set)
{
    const cr_tensor *x = n->in[k], *y = n->out;
    if (!cr__grad_fresh(t, k)) {
        cr__bcast_grad(n, k, add);
    } else if (n->in[0]->size == y->size && n->in[1]->size == y->size) {
        cr__bcast_grad(n, k, set);
    } else {
        memset(x->grad, 0, x->size * sizeof *x->grad);
        cr__bcast_grad(n, k, add);
    }
}

/* The forward of a binary broadcast op from its row kernel name##_rows
 * (cr__fwd_rows), run through cr__bcast_forward: the forward half of
 * CR__BINARY_OP and CR__BINARY_OP_FIRST. */
#define CR__BINARY_FORWARD(name)                                                  \
    static void name##_forward(cr_tape *t, cr_node *n)                            \
    {                                                                             \
        (void)t;                                                                  \
        cr__bcast_forward(n, name##_rows);                                        \
    }

/* cr__bcast_grad_first for a node whose output (hence each input) has one
 * element, without the broadcast tests: input k's element by kernel add, or set
 * on a first write. */
static inline void cr__scalar_grad_first(const cr_tape *t, const cr_node *n, int k,
                                         cr__grad_rows add, cr__grad_rows set)
{
    const cr_tensor *a = n->in[0], *b = n->in[1], *y = n->out;
    cr_real *dx = n->in[k]->grad;
    if (!dx) return;
    if (cr__grad_fresh(t, k))
        set(dx, y->grad, a->data, 1, b->data, 1, y->data, 1);
    else
        add(dx, y->grad, a->data, 1, b->data, 1, y->data, 1);
}

/* CR__BINARY_OP with first-write kernels set_a, set_b (cr__bcast_grad_first); the
 * op's constructor opts its nodes in with cr__assigns_grads. */
#define CR__BINARY_OP_FIRST(name, opname, grad_a, grad_b, set_a, set_b)           \
    CR__BINARY_FORWARD(name)                                                      \
    static void name##_backward(cr_tape *t, cr_node *n)                           \
    {                                                                             \
        if (n->out->size == 1) {                                                  \
            cr__scalar_grad_first(t, n, 0, grad_a, set_a);                        \
            cr__scalar_grad_first(t, n, 1, grad_b, set_b);                        \
            return;                                                               \
        }                                                                         \
        cr__bcast_grad_first(t, n, 0, grad_a, set_a);                             \
        cr__bcast_grad_first(t, n, 1, grad_b, set_b);                             \
    }                                                                             \
    static const cr_op name##_op = { opname, name##_forward, name##_backward }

/* The forward and backward of a binary broadcast op from its row kernel
 * name##_rows (cr__fwd_rows) and gradient kernels grad_a, grad_b (cr__grad_rows),
 * run through cr__bcast_forward and cr__bcast_grad (input a first). Defines
 * `static const cr_op name##_op` with the given op name. */
#define CR__BINARY_OP(name, opname, grad_a, grad_b)                               \
    CR__BINARY_FORWARD(name)                                                      \
    static void name##_backward(cr_tape *t, cr_node *n)                           \
    {                                                                             \
        (void)t;                                                                  \
        cr__bcast_grad(n, 0, grad_a);                                             \
        cr__bcast_grad(n, 1, grad_b);                                             \
    }                                                                             \
    static const cr_op name##_op = { opname, name##_forward, name##_backward }

#endif
