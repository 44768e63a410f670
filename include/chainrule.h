/*
 * chainrule.h — the one public header of chainrule, a reverse-mode automatic
 * differentiation engine in C.
 *
 * A program records primitive operations on a tape (cr_tape) while it computes;
 * cr_backward walks the tape backwards once and leaves d(loss)/d(x) in x->grad for
 * every tensor x that needs a gradient.
 *
 * Precision: cr_real is float by default. A library built with `make REAL=double`
 * defines CR_REAL_DOUBLE; programs using that library must define it too (the
 * pkg-config file of the double build does). cr_real_size() reports what the
 * library was built with, so a mismatch can be detected at run time.
 *
 * Errors: nothing in chainrule aborts, exits or prints on user input. Ops record a
 * sticky error on their tape and return NULL; file functions return a cr_status
 * and fill a caller-provided message buffer.
 */
#ifndef CHAINRULE_H
#define CHAINRULE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

#ifdef CR_REAL_DOUBLE
typedef double cr_real;
#else
typedef float cr_real;
#endif

#define CR_VERSION_MAJOR 0
#define CR_VERSION_MINOR 1
#define CR_VERSION_PATCH 0
#define CR_VERSION "0.1.0"

#define CR_MAX_DIMS 4   /* tensors have rank 0..4 */

/* ===================================================================== status */

typedef enum cr_status {
    CR_OK = 0,
    CR_ERR_ARG,       /* NULL pointer, out-of-range option, bad argument */
    CR_ERR_SHAPE,     /* shapes do not fit the operation */
    CR_ERR_NOMEM,     /* allocation failed or arena cap exceeded */
    CR_ERR_IO,        /* open/read/write/rename failed */
    CR_ERR_FORMAT,    /* a file is malformed, truncated, corrupt or of another version */
    CR_ERR_STATE,     /* call not allowed now (e.g. second backward, errored tape) */
    CR_ERR_NUMERIC,   /* NaN or Inf found by anomaly detection */
    CR_ERR_UNSUPPORTED /* feature not compiled in (e.g. .gz without zlib) */
} cr_status;

/* Short English name of a status ("shape mismatch"). Static string, never NULL. */
const char *cr_strerror(cr_status s);

/* sizeof(cr_real) the library was built with (4 or 8). */
size_t cr_real_size(void);

/* ================================================================== allocator */

/* Process-wide allocation hooks, used for every heap allocation chainrule makes
 * (like sqlite3_config(SQLITE_CONFIG_MALLOC)). Pass NULL to restore malloc/realloc/
 * free. Set it before creating any object; objects must be freed with the hooks
 * that allocated them. Tests use it to count allocations and to inject failures. */
typedef struct cr_allocator {
    void *(*malloc_fn)(size_t size, void *ctx);
    void *(*realloc_fn)(void *p, size_t size, void *ctx);
    void (*free_fn)(void *p, void *ctx);
    void *ctx;
} cr_allocator;
void cr_set_allocator(const cr_allocator *a);
/* Allocate / resize / free through the hooks above (what the library itself uses;
 * nn/, optim/ and data/ use them too). cr_malloc(0) returns NULL. */
void *cr_malloc(size_t size);
void *cr_calloc(size_t n, size_t size);  /* zeroed; NULL on overflow */
void *cr_realloc(void *p, size_t size);
void cr_free(void *p);

/* ======================================================================== RNG */

/* PCG32 (O'Neill 2014): small, fast, statistically good, fully determined by its
 * seed. Carried explicitly: chainrule has no default RNG. Plain struct, may live on
 * the stack; copying it copies the stream position. */
typedef struct cr_rng {
    uint64_t state;
    uint64_t inc;
} cr_rng;

/* Seed the generator; the same seed gives the same sequence on every platform. */
void cr_rng_seed(cr_rng *r, uint64_t seed);
/* Next uniformly distributed 32-bit value. */
uint32_t cr_rng_u32(cr_rng *r);
/* Uniform integer in [0, n) without modulo bias; n must be > 0 (returns 0 otherwise). */
uint32_t cr_rng_below(cr_rng *r, uint32_t n);
/* Uniform double in [0, 1) with 53 random bits. */
double cr_rng_uniform(cr_rng *r);
/* Standard normal N(0,1) (Box-Muller, both values of a pair not cached: stateless). */
double cr_rng_normal(cr_rng *r);
/* Fisher-Yates shuffle of idx[0..n). */
void cr_rng_shuffle(cr_rng *r, int *idx, size_t n);

/* ============================================================ threads, GEMM */

/* A fixed pool of worker threads used by GEMM and large elementwise kernels.
 * Results are bit-identical for any thread count (work is split by output tile,
 * never by reduction). Threads sleep between calls. */
typedef struct cr_pool cr_pool;

/* New pool running n threads in total (the caller counts as one), 1 <= n <= 256;
 * n <= 0 means: CR_NUM_THREADS from the environment, else 1. Caller owns it; NULL on
 * allocation or thread-creation failure. */
cr_pool *cr_pool_new(int n);
/* Stop the threads and free the pool. NULL is safe. */
void cr_pool_free(cr_pool *p);
/* Number of threads the pool uses (1 for NULL). */
int cr_pool_threads(const cr_pool *p);

/* C = alpha * op(A) * op(B) + beta * C, row-major; op(X) = X or X^T per ta/tb.
 * op(A) is M x K, op(B) is K x N, C is M x N; lda/ldb/ldc are row strides of the
 * matrices as stored. beta == 0 ignores C's old contents (NaN there is not
 * propagated). pool may be NULL (one thread). Never allocates after the pool's
 * first call with the largest block size. */
void cr_gemm(cr_pool *pool, int ta, int tb, int M, int N, int K, cr_real alpha,
             const cr_real *A, int lda, const cr_real *B, int ldb, cr_real beta,
             cr_real *C, int ldc);
/* Name of the GEMM micro-kernel chosen for this CPU ("avx512", "avx2", "generic"). */
const char *cr_gemm_kernel_name(void);

/* ==================================================================== tensors */

typedef struct cr_tape cr_tape;

/* Tensor flags (cr_tensor.flags). */
#define CR_REQUIRES_GRAD 1u   /* backward computes a gradient for it */
#define CR_HEAP          2u   /* heap-owned (parameter or constant): freed by cr_tensor_free */
#define CR_LEAF          4u   /* not produced by an op */

/* A dense row-major array of rank 0..4. Fields are readable by users; data may be
 * written (that is how new input reaches a replayed tape); the rest is owned by
 * the library. A rank-0 tensor holds one value (size 1). */
typedef struct cr_tensor {
    cr_real *data;          /* size values */
    cr_real *grad;          /* NULL until a gradient is needed; same layout as data */
    size_t size;            /* product of shape[0..ndim) (1 for rank 0) */
    int ndim;
    int shape[CR_MAX_DIMS]; /* unused trailing entries are 1 */
    int id;                 /* node index on its tape; -1 for heap tensors */
    unsigned flags;         /* CR_REQUIRES_GRAD | CR_HEAP | CR_LEAF */
    unsigned grad_epoch;    /* internal: backward pass that last zeroed grad */
    cr_tape *tape;          /* owning tape, NULL for heap tensors */
    const char *name;       /* optional label (copied), NULL if none */
} cr_tensor;

/* A parameter: heap tensor of the given shape, zero-filled, with a zeroed gradient
 * buffer; gradients accumulate across backward passes until cr_tensor_zero_grad.
 * Caller owns it (cr_tensor_free). NULL on bad shape (ndim outside 0..4, a
 * dimension < 1, size overflow) or allocation failure. */
cr_tensor *cr_param_new(int ndim, const int *shape);
/* A heap constant: like cr_param_new but without gradient (e.g. a dataset batch
 * buffer fed to a replayed tape). Caller owns it. */
cr_tensor *cr_tensor_new(int ndim, const int *shape);
/* Free a heap tensor. NULL is safe; tape tensors are ignored (the tape owns them). */
void cr_tensor_free(cr_tensor *x);
/* Set the label used by printing, DOT export and save/load (copied; heap tensors
 * only, at most 63 bytes). Returns CR_ERR_ARG on NULL, tape tensor or long name. */
cr_status cr_tensor_set_name(cr_tensor *x, const char *name);

/* Fill data with a value / with U(lo,hi) / with N(mean, std^2). NULL x is ignored. */
void cr_tensor_fill(cr_tensor *x, cr_real v);
void cr_tensor_rand_uniform(cr_tensor *x, cr_rng *r, cr_real lo, cr_real hi);
void cr_tensor_rand_normal(cr_tensor *x, cr_rng *r, cr_real mean, cr_real std);
/* Copy n values in from src / out to dst; n must equal x->size (else CR_ERR_SHAPE). */
cr_status cr_tensor_set(cr_tensor *x, const cr_real *src, size_t n);
cr_status cr_tensor_get(const cr_tensor *x, cr_real *dst, size_t n);
/* Set the gradient buffer to zero (heap tensors; no-op without gradient). */
void cr_tensor_zero_grad(cr_tensor *x);
/* First value of data / of grad (0 when x or grad is NULL): handy for scalars. */
cr_real cr_item(const cr_tensor *x);
cr_real cr_grad_item(const cr_tensor *x);
/* Write "2x3" style shape text into buf (always NUL-terminated); returns buf. */
char *cr_shape_str(const cr_tensor *x, char *buf, size_t bufsize);

/* ======================================================================= tape */

/* New tape. arena_bytes is the first arena block (0: 1 MiB); the arena grows by
 * further blocks, all reused after cr_tape_reset, so a loop whose graph does not
 * change stops allocating after its first step. Caller owns it; NULL on failure.
 * The tape creates its own thread pool of CR_NUM_THREADS threads (default 1). */
cr_tape *cr_tape_new(size_t arena_bytes);
/* Free the tape and every intermediate on it. NULL is safe. */
void cr_tape_free(cr_tape *t);
/* Forget every node and intermediate in O(1) (arena rewound, blocks kept) and clear
 * the error. Tensors created on the tape become invalid. */
void cr_tape_reset(cr_tape *t);
/* Number of recorded nodes (leaves included). */
size_t cr_tape_size(const cr_tape *t);

/* First error message recorded on the tape, or NULL if none. Owned by the tape. */
const char *cr_tape_error(const cr_tape *t);
/* Status of the first error (CR_OK if none). */
cr_status cr_tape_status(const cr_tape *t);
/* Record an error (printf-style message) unless one is already recorded; every
 * later op on the tape then returns NULL. For op writers; returns s. */
cr_status cr_tape_fail(cr_tape *t, cr_status s, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

/* Gradient mode. 1 (default): ops are recorded for backward and replay. 0: no-grad
 * mode, ops compute their values on the arena but record nothing (evaluation).
 * Returns the previous mode. */
int cr_tape_set_grad_mode(cr_tape *t, int on);
/* Keep the graph after backward so that cr_backward may run again over the same
 * recording (1), or refuse a second backward (0, default) as PyTorch does without
 * retain_graph. Returns the previous setting. */
int cr_tape_set_keep_graph(cr_tape *t, int on);
/* Cap the arena at max_bytes in total (0: no cap). Exceeding it is CR_ERR_NOMEM
 * with a message naming the cap. */
void cr_tape_set_arena_limit(cr_tape *t, size_t max_bytes);
/* Bytes of arena in use / reserved in blocks. */
size_t cr_tape_arena_used(const cr_tape *t);
size_t cr_tape_arena_reserved(const cr_tape *t);
/* Use n threads for this tape's kernels (replaces its pool). CR_ERR_ARG if n is
 * outside 1..256, CR_ERR_NOMEM if the threads cannot be created (old pool kept). */
cr_status cr_tape_set_threads(cr_tape *t, int n);
/* The tape's thread pool (owned by the tape). */
cr_pool *cr_tape_pool(cr_tape *t);
/* Anomaly mode: check every op's output in forward and every gradient in backward
 * for NaN/Inf; the first offender becomes the tape error (CR_ERR_NUMERIC) naming
 * the node, its op and its inputs' ranges. Off by default. Returns previous. */
int cr_tape_set_anomaly(cr_tape *t, int on);

/* Tape leaves. cr_var: a leaf that needs a gradient; cr_const: one that does not.
 * data may be NULL (zeros). The tape owns the result; NULL on error. */
cr_tensor *cr_var(cr_tape *t, int ndim, const int *shape, const cr_real *data);
cr_tensor *cr_const(cr_tape *t, int ndim, const int *shape, const cr_real *data);
/* Rank-0 leaves. */
cr_tensor *cr_scalar(cr_tape *t, cr_real v);        /* needs a gradient */
cr_tensor *cr_scalar_const(cr_tape *t, cr_real v);  /* no gradient */

/* Reverse pass from loss (must be a scalar: size 1, on this tape): sets
 * d loss / d loss = 1 and accumulates into grad of every tensor loss depends on
 * that needs one. Intermediates' grads are zeroed first; heap parameters' grads
 * accumulate. Nodes loss does not reach are skipped. Returns CR_OK or the error
 * (also recorded on the tape): NULL loss, errored tape, non-scalar loss, loss from
 * another tape, or a second backward without keep_graph. */
cr_status cr_backward(cr_tape *t, cr_tensor *loss);
/* Replay: run every recorded op's forward again, in order, on the current contents
 * of the leaves (write new input into leaf->data first). Shapes are fixed by the
 * recording. Allows one more backward. Returns CR_OK or the tape's error. */
cr_status cr_tape_forward(cr_tape *t);

/* ============================================================ op-writer API */

/* What a recorded operation is. Forward writes n->out->data from the inputs;
 * backward ACCUMULATES n->out->grad times the local derivative into the grad of
 * every input whose grad is non-NULL (a NULL grad means: no gradient needed). */
typedef struct cr_node cr_node;
typedef struct cr_op {
    const char *name;
    void (*forward)(cr_tape *t, cr_node *n);
    void (*backward)(cr_tape *t, cr_node *n);
} cr_op;

struct cr_node {
    const cr_op *op;
    cr_tensor *out;
    cr_tensor **in;     /* n_in inputs (array in the arena) */
    int n_in;
    int iarg[4];        /* integer attributes (axis, transpose flags, ...) */
    double farg[2];     /* real attributes (exponent, slope, ...) */
    void *aux;          /* op scratch in the arena, or a user pointer */
};

/* Check that the tape has no error and each of the n inputs is non-NULL and usable
 * on this tape; otherwise record "<opname>: input k is NULL" (or keep the existing
 * error) and return 0. */
int cr_check_inputs(cr_tape *t, const char *opname, int n, cr_tensor *const *in);
/* Allocate the output (shape given) and the node for op with inputs in[0..n).
 * The output needs a gradient when grad mode is on and any input needs one. In
 * no-grad mode the node is not kept. Returns NULL (error recorded) on failure.
 * Call cr_check_inputs first. The returned node pointer is valid until the next
 * record on the tape. */
cr_node *cr_record(cr_tape *t, const cr_op *op, int n, cr_tensor *const *in,
                   int ndim, const int *shape);
/* Run n's forward (and the anomaly check) and return n->out, or NULL on error. */
cr_tensor *cr_run(cr_tape *t, cr_node *n);
/* Scratch memory in the tape's arena, 64-byte aligned, zeroed; lives until reset.
 * NULL (error recorded) on failure. */
void *cr_tape_alloc(cr_tape *t, size_t bytes);

/* User-defined op. forward computes out->data from in[k]->data; backward adds
 * out->grad times the local derivative into in[k]->grad where that is non-NULL.
 * The output has shape (ndim, shape). user is passed through and not owned. */
typedef void (*cr_custom_fn)(cr_tensor *out, cr_tensor *const *in, int n_in, void *user);
cr_tensor *cr_custom(cr_tape *t, const char *name, int n_in, cr_tensor *const *in,
                     int ndim, const int *shape, cr_custom_fn forward,
                     cr_custom_fn backward, void *user);

/* ============================================================= primitive ops */
/* Every op takes the tape first, returns a tensor owned by the tape, and returns
 * NULL with an error recorded on bad input. Binary elementwise ops broadcast with
 * NumPy's rules (shapes aligned at the right; a dimension of 1 stretches); their
 * backward sums the gradient over the broadcast dimensions. */

/* elementwise, binary */
cr_tensor *cr_add(cr_tape *t, cr_tensor *a, cr_tensor *b);  /* a+b;  da += g, db += g */
cr_tensor *cr_sub(cr_tape *t, cr_tensor *a, cr_tensor *b);  /* a-b;  da += g, db -= g */
cr_tensor *cr_mul(cr_tape *t, cr_tensor *a, cr_tensor *b);  /* a*b;  da += g*b, db += g*a */
cr_tensor *cr_div(cr_tape *t, cr_tensor *a, cr_tensor *b);  /* a/b;  da += g/b, db -= g*a/b^2 */
/* max(a,b) elementwise; at a tie (a == b) the whole gradient goes to a. */
cr_tensor *cr_max(cr_tape *t, cr_tensor *a, cr_tensor *b);

/* elementwise, unary */
cr_tensor *cr_neg(cr_tape *t, cr_tensor *x);     /* -x;       dx -= g */
cr_tensor *cr_exp(cr_tape *t, cr_tensor *x);     /* e^x;      dx += g*e^x */
/* log(max(x, CR_LOG_FLOOR)); dx += g/x where x > floor, else 0. The floor keeps
 * log(0) finite (-87.3 in float, -708.4 in double). */
cr_tensor *cr_log(cr_tape *t, cr_tensor *x);
cr_tensor *cr_sqrt(cr_tape *t, cr_tensor *x);    /* sqrt(x);  dx += g/(2 sqrt x) (x > 0; 0 at x = 0) */
cr_tensor *cr_pow(cr_tape *t, cr_tensor *x, cr_real p); /* x^p; dx += g*p*x^(p-1) */
cr_tensor *cr_square(cr_tape *t, cr_tensor *x);  /* x^2;      dx += 2 g x */
/* |x|; dx += g*sign(x), with sign(0) = 0 (the subgradient of smallest norm). */
cr_tensor *cr_abs(cr_tape *t, cr_tensor *x);
/* max(0,x); dx += g*[x > 0]: the derivative at 0 is taken as 0. */
cr_tensor *cr_relu(cr_tape *t, cr_tensor *x);
/* x > 0 ? x : slope*x; dx += g*(x > 0 ? 1 : slope) (slope at 0). */
cr_tensor *cr_leaky_relu(cr_tape *t, cr_tensor *x, cr_real slope);
/* 1/(1+e^-x), computed without overflow for any x; dx += g*s*(1-s). */
cr_tensor *cr_sigmoid(cr_tape *t, cr_tensor *x);
cr_tensor *cr_tanh(cr_tape *t, cr_tensor *x);    /* tanh x;   dx += g*(1-y^2) */
/* x*s for a constant s (no gradient for s); dx += g*s. */
cr_tensor *cr_scale(cr_tape *t, cr_tensor *x, cr_real s);
/* x + c for a constant c; dx += g. */
cr_tensor *cr_add_scalar(cr_tape *t, cr_tensor *x, cr_real c);

/* linear algebra */
/* op(a) * op(b), 2-D; op(x) = x^T when the flag is set. a is MxK (or KxM with ta),
 * b is KxN (or NxK with tb). da += g op(b)^T (arranged for ta), db likewise; both
 * products run on the same GEMM without materialising a transpose. */
cr_tensor *cr_matmul(cr_tape *t, cr_tensor *a, cr_tensor *b, int ta, int tb);
/* x * W + b for x (N x in), W (in x out), b (out) or NULL: one fused node, one GEMM
 * plus a bias pass; dx += g W^T, dW += x^T g, db += column sums of g. */
cr_tensor *cr_linear(cr_tape *t, cr_tensor *x, cr_tensor *W, cr_tensor *b);
/* 2-D transpose (copies). */
cr_tensor *cr_transpose(cr_tape *t, cr_tensor *x);

/* reductions; axis may be negative (counted from the end) */
cr_tensor *cr_sum(cr_tape *t, cr_tensor *x);                /* rank-0 sum; dx += g */
cr_tensor *cr_mean(cr_tape *t, cr_tensor *x);               /* rank-0 mean; dx += g/n */
/* sum / mean along one axis; keepdim keeps that axis with length 1. */
cr_tensor *cr_sum_axis(cr_tape *t, cr_tensor *x, int axis, int keepdim);
cr_tensor *cr_mean_axis(cr_tape *t, cr_tensor *x, int axis, int keepdim);
/* maximum along an axis; the gradient goes to the first maximal element. */
cr_tensor *cr_max_axis(cr_tape *t, cr_tensor *x, int axis, int keepdim);

/* shape */
/* Same data, new shape of the same size (copies: tensors never alias). */
cr_tensor *cr_reshape(cr_tape *t, cr_tensor *x, int ndim, const int *shape);
/* Elements [start, start+len) along axis. */
cr_tensor *cr_slice(cr_tape *t, cr_tensor *x, int axis, int start, int len);
/* Join n >= 1 tensors along axis; other dimensions must agree. */
cr_tensor *cr_concat(cr_tape *t, int n, cr_tensor *const *xs, int axis);

/* softmax family, over the last axis of a 1-D or 2-D tensor (rows = samples) */
/* softmax(x)_i = e^(x_i - max) / sum e^(x_j - max); dx = y * (g - sum(g*y)). */
cr_tensor *cr_softmax(cr_tape *t, cr_tensor *x);
/* x_i - max - log sum e^(x_j - max); dx = g - softmax * sum(g). */
cr_tensor *cr_log_softmax(cr_tape *t, cr_tensor *x);
/* Mean over N rows of -log softmax(z)[y]: z is N x C logits (or C), y holds N
 * class indices stored as reals (0..C-1; out of range is an error at record and a
 * NaN loss on replay). Fused and stable for logits of any size; rank 0 output.
 * dz += g * (softmax(z) - onehot(y)) / N. y gets no gradient. */
cr_tensor *cr_softmax_cross_entropy(cr_tape *t, cr_tensor *z, cr_tensor *y);
/* Mean of -(y log s(z) + (1-y) log(1-s(z))) over all elements, s = sigmoid, computed
 * as max(z,0) - z y + log(1 + e^-|z|); y in [0,1], same shape as z (broadcast
 * not allowed). Rank 0. dz += g*(s(z) - y)/n; dy += g*(-z)/n when y needs it. */
cr_tensor *cr_bce_with_logits(cr_tape *t, cr_tensor *z, cr_tensor *y);

/* ================================================================ teaching */

/* One row per node: id, op, inputs, shape, value, gradient; tensors larger than 6
 * elements are summarised (first values, min/max/mean). Returns CR_ERR_ARG on NULL. */
cr_status cr_tape_print(const cr_tape *t, FILE *f);
/* Graphviz DOT of the recorded graph with values and gradients. */
cr_status cr_tape_dot(const cr_tape *t, FILE *f);
/* Backward trace: when f is non-NULL, cr_backward prints each chain-rule step to f
 * ("df/dz = x = 2"). NULL turns it off. The tape does not own f. */
void cr_tape_set_trace(cr_tape *t, FILE *f);

/* ========================================================= gradient checking */

typedef struct cr_gradcheck_result {
    double max_rel_err;   /* worst |a - n| / max(1, |a|, |n|) over all elements */
    double max_abs_err;   /* worst |a - n| */
    int worst_input;      /* index into inputs of the element with max_rel_err */
    size_t worst_index;   /* that element's index within the input */
    double analytic, numeric; /* a and n at that element */
} cr_gradcheck_result;

/* Builds the function to check: records ops on t from inputs and returns a scalar. */
typedef cr_tensor *(*cr_build_fn)(cr_tape *t, cr_tensor *const *inputs, int n, void *user);

/* Compare the analytic gradient a (one backward pass) with the central difference
 * n = (f(x+h) - f(x-h)) / 2h for every element of every input. inputs are 1..64
 * heap parameters the caller owns; their values are restored, their grads are
 * overwritten. h <= 0 picks 1e-6 (double) or 1e-2 (float). The relative error is
 * absolute below magnitude 1 so that tiny gradients do not fail on round-off.
 * Returns CR_OK, CR_ERR_ARG, or the error of building/backward. */
cr_status cr_gradcheck(cr_build_fn build, cr_tensor *const *inputs, int n, void *user,
                       double h, cr_gradcheck_result *res);

/* ============================================================ parameter list */

/* An ordered list of named heap parameters: what optimizers update, what
 * save/load writes, what zero_grad clears. It references the tensors; whoever
 * created a tensor frees it (layers free theirs), unless it was added with
 * cr_params_add_owned. */
typedef struct cr_params cr_params;

/* New empty list. Caller owns it (cr_params_free). NULL on allocation failure. */
cr_params *cr_params_new(void);
/* Free the list and the tensors it owns. NULL is safe. */
void cr_params_free(cr_params *p);
/* Append x under name (copied, 1..63 bytes, unique in the list; also becomes the
 * tensor's own label if it has none). CR_ERR_ARG on NULL, tape tensor, tensor
 * without gradient, empty, duplicate or long name; CR_ERR_NOMEM. The list is
 * unchanged on error. */
cr_status cr_params_add(cr_params *p, cr_tensor *x, const char *name);
/* Same, and the list takes ownership of x (freed by cr_params_free; freed at once
 * if adding fails). */
cr_status cr_params_add_owned(cr_params *p, cr_tensor *x, const char *name);
/* Append every tensor of src by reference under prefix + its name in src (e.g.
 * "enc." + "fc1.W"). Ownership stays with src's owner. All or nothing. */
cr_status cr_params_extend(cr_params *p, const cr_params *src, const char *prefix);
/* Number of tensors; total number of scalars in them. */
size_t cr_params_count(const cr_params *p);
size_t cr_params_numel(const cr_params *p);
/* The i-th tensor (NULL when out of range); lookup by name (NULL if absent). */
cr_tensor *cr_params_get(const cr_params *p, size_t i);
cr_tensor *cr_params_find(const cr_params *p, const char *name);
/* Name of the i-th entry in this list (owned by the list), NULL when out of range. */
const char *cr_params_name(const cr_params *p, size_t i);
/* Zero every gradient. */
void cr_params_zero_grad(cr_params *p);

/* =========================================================== nn (layers) */
/* (section owned by nn/) */

/* ========================================================== optim */
/* (section owned by optim/) */

/* =========================================================== data */
/* (section owned by data/) */

#ifdef __cplusplus
}
#endif
#endif /* CHAINRULE_H */
