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
 * Errors: nothing in chainrule aborts, exits or prints on user input.
 *  - On the tape, ops record a sticky error on their tape and return NULL
 *    (cr_tape_error, cr_tape_status).
 *  - Off the tape (parameter lists, layers, optimizers, clipping, datasets,
 *    batching, save/load), a function that can fail returns a cr_status, or a
 *    pointer that is NULL on failure, and takes `char *err, size_t errsize` as its
 *    LAST two parameters. err may be NULL; at most errsize bytes are written, always
 *    NUL-terminated (a long message is cut); the message starts with the module or
 *    the file ("optim: ...", "batcher: ...", "model.crm: ..."). On failure the
 *    caller's objects are untouched. A value a function computes besides its
 *    status goes through an out-parameter (cr_clip_grad_norm's norm).
 *  - Exceptions, whose status and comment alone say what went wrong (the caller's
 *    own arguments are the only suspects): small setters, parsers and lookups
 *    (cr_tensor_set_name, cr_init_*, cr_meta_set_u64, cr_optim_set_lr,
 *    *_from_name, ...), and constructors whose only failures are a bad size or no
 *    memory (cr_tape_new, cr_tensor_new, cr_param_new, cr_pool_new, cr_params_new,
 *    cr_meta_new).
 *  - Errors and refusals on a tape: see the tape section.
 *
 * Threads. Objects are not locked; what may be shared:
 *   - a cr_tape, and every tensor on it, belongs to one thread at a time: one tape
 *     per thread. Two tapes in two threads are independent (each has its own pool);
 *   - a heap parameter may be READ by ops on several tapes in several threads, but
 *     backward WRITES its gradient (and an optimizer step its data): two tapes that
 *     share a parameter must not run backward (or an optimizer) concurrently with
 *     each other or with a forward that reads it — a data race, reported by TSan;
 *     give each thread its own parameters, or serialise those calls;
 *   - a cr_pool serves one calling thread at a time (its own workers are internal);
 *   - a cr_rng is a plain value: one per thread, or lock it (cr_dropout reads the
 *     generator it was given on every forward and replay);
 *   - cr_params, cr_optim, cr_meta, cr_dataset (read-only after loading: shareable
 *     for reading, e.g. cr_dataset_gather from several threads), cr_batcher: one
 *     thread at a time unless stated;
 *   - cr_set_allocator is process-wide: set it before any thread creates objects.
 * None of this is detected at run time; build a program with ThreadSanitizer
 * (-fsanitize=thread) to find such races.
 *
 * NULL rules. A NULL object where an object is expected is never a crash:
 *   - functions returning a status return CR_ERR_ARG;
 *   - functions returning a pointer return NULL (ops also record "op: input k is
 *     NULL" on the tape, when the tape itself is not NULL);
 *   - _free functions, setters and fill functions do nothing;
 *   - getters return 0, NULL or "the empty value" stated with each (cr_item(NULL)
 *     is 0, cr_tape_size(NULL) is 0, cr_rng_u32(NULL) is 0);
 *   - cr_gemm does nothing when a matrix it would read or write is NULL.
 * A pointer to memory too small for the sizes given (a data array shorter than the
 * shape, a buffer shorter than its length argument) cannot be detected: that is
 * the caller's contract.
 */
#ifndef CHAINRULE_H
#define CHAINRULE_H

#include <float.h>   /* FLT_MIN, DBL_MIN for CR_LOG_FLOOR */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Everything declared here is the shared library's API: the library is compiled
 * with -fvisibility=hidden, so only these names (and no internal cr__ helper) are
 * exported from libchainrule.so. */
#if defined(__GNUC__) && __GNUC__ >= 4
#pragma GCC visibility push(default)
#endif

#ifdef CR_REAL_DOUBLE
typedef double cr_real;
#else
typedef float cr_real;
#endif

/* The shared library's SONAME is libchainrule.so.<CR_VERSION_MAJOR>: a release that
 * breaks the ABI (a public function removed or its signature or meaning changed, a
 * public struct's layout or an enum's values changed) bumps the major, even from 0. */
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

/* The memory limit: the most one reader (IDX, CSV, model file), one model or one
 * training plan may need. Readers and builders compute what they will need from
 * a header, a file's declared size or the options BEFORE allocating, and refuse
 * beyond the limit with CR_ERR_NOMEM and one line saying how much was needed, so
 * that hostile input is never answered by the OOM killer. Process-wide, like the
 * allocator hooks: set it before starting threads. Default (and after
 * cr_set_memory_limit(0)): half the machine's physical memory, or half the
 * soft RLIMIT_AS / RLIMIT_DATA (ulimit -v / -d) when lower. */
size_t cr_memory_limit(void);
void cr_set_memory_limit(size_t bytes);
/* CR_OK when need <= cr_memory_limit(); otherwise CR_ERR_NOMEM with "<what> needs
 * 4.0 GiB, above the memory limit of 3.0 GiB (...)" in err (may be NULL). */
cr_status cr_memory_check(uint64_t need, const char *what, char *err, size_t errsize);

/* ======================================================================== RNG */

/* PCG32 (O'Neill 2014): small, fast, statistically good, fully determined by its
 * seed. Carried explicitly: chainrule has no default RNG. Plain struct, may live on
 * the stack; copying it copies the stream position. */
typedef struct cr_rng {
    uint64_t state;
    uint64_t inc;
} cr_rng;

/* Seed the generator; the same seed gives the same sequence on every platform.
 * NULL r: every function below does nothing and returns 0. */
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
 * never by reduction). Between calls the workers spin briefly, then sleep. A pool
 * serves one calling thread at a time; it also owns the GEMM packing buffers. */
typedef struct cr_pool cr_pool;

/* New pool running n threads in total (the caller counts as one), 1 <= n <= 256;
 * n <= 0 means: CR_NUM_THREADS from the environment (1..256), else 1.
 * Caller owns it; NULL for n > 256 or on allocation or thread-creation failure. */
cr_pool *cr_pool_new(int n);
/* Stop the threads and free the pool. NULL is safe. */
void cr_pool_free(cr_pool *p);
/* Number of threads the pool uses (1 for NULL). */
int cr_pool_threads(const cr_pool *p);
/* Run fn(ctx, begin, end) over disjoint ranges that cover [0, n) exactly, on the
 * pool's threads, and return when all are done. Ranges start at multiples of 16
 * and hold at least `grain` items (the last may be shorter; grain 0 counts as
 * 1); n < 2 * grain, a NULL or one-thread pool: one call fn(ctx, 0, n) on the
 * calling thread. Which thread runs a range is unspecified, so fn must give each
 * item a result that does not depend on the range it falls in (split reductions
 * by output, never by the reduced axis). Not reentrant: fn must not use the same
 * pool. n == 0 does nothing. */
void cr_pool_for(cr_pool *p, size_t n, size_t grain,
                 void (*fn)(void *ctx, size_t begin, size_t end), void *ctx);

/* C = alpha * op(A) * op(B) + beta * C, row-major; op(X) = X or X^T per ta/tb (a
 * transpose is handled while packing, never materialised). op(A) is M x K, op(B)
 * is K x N, C is M x N; lda/ldb/ldc are the row strides of the matrices as stored
 * (lda >= K for A, >= M for A^T, and so on). beta == 0 ignores C's old contents
 * (NaN there is not propagated); alpha == 0 or K == 0 only scales C (A and B are
 * not read); M or N <= 0 does nothing. Uses the pool's threads when the product is
 * big enough to gain from them. With a pool the packing buffers are the pool's:
 * after the first call at the largest size, no allocation. pool NULL: one thread,
 * and big products allocate (and free) a packing buffer per call. Out of memory for
 * packing: still correct, on one thread (a slow plain loop if not even one buffer
 * can be had). NULL C (with M, N > 0), or NULL A or B when they would be read
 * (K > 0 and alpha != 0): nothing is done, C is unchanged. BLAS=openblas builds call OpenBLAS instead (its own threads, set by
 * OPENBLAS_NUM_THREADS; the pool is unused). */
void cr_gemm(cr_pool *pool, int ta, int tb, int M, int N, int K, cr_real alpha,
             const cr_real *A, int lda, const cr_real *B, int ldb, cr_real beta,
             cr_real *C, int ldc);
/* Name of the GEMM micro-kernel cr_gemm runs: the best this CPU supports ("avx512",
 * "avx2", "generic"), or the one CR_GEMM_KERNEL names; "openblas" in a BLAS=openblas
 * build. Static string. */
const char *cr_gemm_kernel_name(void);

/* ============================================================ configuration */

/* chainrule reads its environment variables (CR_NUM_THREADS, CR_CPU_CACHES,
 * CR_GEMM_KERNEL, CR_ASCII; README, "Environment variables") once per process, the
 * first time any of them is needed: setting them later has no effect. A value it
 * cannot use is refused, never fatal: the library keeps its default (for
 * CR_GEMM_KERNEL: the best kernel the CPU runs) and records why, for the program to
 * show; it prints nothing. */

/* Why a variable was refused ("CR_GEMM_KERNEL=avx512: this CPU (or this build)
 * cannot run the avx512 kernel (it runs: avx2,generic); using avx2"; several are
 * joined by "; "), or NULL when every one was used. Static string. */
const char *cr_config_error(void);

/* The facts the library runs with, after the overrides. */
typedef struct cr_cpu_info {
    size_t l1, l2, l3;          /* data cache bytes GEMM's blocking uses (l3 0: none) */
    int caches_from_env;        /* 1: from CR_CPU_CACHES, 0: from the system (sysfs;
                                   32K/512K/8M where it says nothing) */
    const char *gemm_kernel;    /* as cr_gemm_kernel_name() */
    int gemm_from_env;          /* 1: CR_GEMM_KERNEL chose it */
    const char *gemm_supported; /* kernels this build and CPU run, best first:
                                   "avx512,avx2,generic" */
    int num_threads;            /* threads of cr_pool_new(0) and of a new tape's pool */
} cr_cpu_info;
/* Fill *out (NULL: nothing). Strings are static. */
void cr_cpu_info_get(cr_cpu_info *out);

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
    unsigned gen;           /* internal: the tape's generation (resets) it was made in */
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
 * The tape creates its own thread pool of CR_NUM_THREADS threads (default 1);
 * cr_tape_set_pool lends it one instead. */
cr_tape *cr_tape_new(size_t arena_bytes);
/* Free the tape and every intermediate on it. NULL is safe. Its tensors are gone
 * with it: using one afterwards is use-after-free, which the library cannot see
 * (an ASan build, `make test SAN=1`, reports it at the first access). */
void cr_tape_free(cr_tape *t);
/* Forget every node and intermediate in O(1) (arena rewound, blocks kept) and clear
 * the error and the last refusal. Tensors created on the tape become stale: every
 * op, cr_backward and cr_tensor_label given one fails with CR_ERR_STATE and "<op>:
 * input k predates the last cr_tape_reset" (tape tensors carry the generation they
 * were made in, and a step after a reset places its tensors 64 bytes away from
 * where the previous step's were, so a stale pointer never reads as a new
 * tensor of the same layout). Detection is certain for tensors of the generation
 * just before; one kept over two resets of identical steps can coincide with a
 * current tensor exactly and then reads as that tensor. Reading a stale tensor's
 * fields yourself (x->data, cr_item) is not checked. */
void cr_tape_reset(cr_tape *t);
/* Number of recorded nodes (leaves included). */
size_t cr_tape_size(const cr_tape *t);

/* Errors and refusals. A call that returns a tensor (every op, leaf, label) and
 * fails records a sticky error: the tape keeps the first message, every later op
 * returns NULL and backward/replay return that status until cr_tape_reset. An op
 * error names the node it would have made, its op, and its inputs (their labels,
 * "#id" for unlabelled tape tensors, "parameter"/"constant" for unnamed heap
 * tensors): "node #37 matmul: a is 2x3 but b is 4x5 (...) (inputs: h1, W1)". In
 * no-grad mode "node #37" reads "no-grad". A failed op leaves no node behind: the
 * tape holds only nodes whose op succeeded, so printing, DOT, replay and backward
 * work on an errored tape's nodes.
 * A call that returns a status and is refused only because of the tape's state —
 * today one: cr_backward on a recording already used by a backward pass without
 * keep_graph — returns CR_ERR_STATE and leaves the tape as it was (no error;
 * replay and a backward after it still work); the reason is in cr_tape_refusal.
 * Other status-returning calls (cr_backward's argument checks, replay on an
 * errored tape) record or return the sticky error as stated with each. */

/* First error message recorded on the tape, or NULL if none. Owned by the tape. */
const char *cr_tape_error(const cr_tape *t);
/* Status of the first error (CR_OK if none). */
cr_status cr_tape_status(const cr_tape *t);
/* Message of the last refused call on the tape (see "Errors and refusals" above),
 * or NULL if none since the last reset. Owned by the tape. */
const char *cr_tape_refusal(const cr_tape *t);
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
/* Pools and ownership: a pool belongs to whoever created it (cr_pool_new) and must
 * outlive every tape, optimizer (cr_optim_set_pool) and gather that borrows it. A
 * program wants one pool: create it, lend it to each tape with cr_tape_set_pool, to
 * the optimizer and to the gathers, free it last. Only a tape's own pool (the one
 * cr_tape_new or cr_tape_set_threads made) is freed with the tape. One pool serves
 * one calling thread at a time. */

/* Run this tape's kernels on `pool`, which the tape borrows (the caller still owns
 * it and frees it after the tape). The tape's own pool, if it had one, is freed.
 * pool NULL: no pool, everything on the calling thread (and large products allocate
 * GEMM packing buffers per call, see cr_gemm). Lending the tape its own pool changes
 * nothing. CR_ERR_ARG for t NULL. */
cr_status cr_tape_set_pool(cr_tape *t, cr_pool *pool);
/* Use n threads for this tape's kernels: a new pool of the tape's own, replacing its
 * own or borrowed one. CR_ERR_ARG if n is outside 1..256, CR_ERR_NOMEM if the
 * threads cannot be created (old pool kept). */
cr_status cr_tape_set_threads(cr_tape *t, int n);
/* The tape's thread pool: its own (freed with the tape) or the one lent to it by
 * cr_tape_set_pool; NULL when it has none (one thread). */
cr_pool *cr_tape_pool(cr_tape *t);
/* Anomaly mode: check every op's output in forward (recording, no-grad and replay)
 * and every input gradient after each node's backward for NaN/Inf; the first
 * offender becomes the tape error (CR_ERR_NUMERIC) and the op returns NULL:
 * "anomaly: forward of node #3 (div, shape 2) gave NaN at element 0; inputs: #2
 * mul, shape 2, in [0, 2]; #1 leaf, shape 2, in [0, 2]" (backward: which input's
 * gradient, the incoming gradient's range). Leaf data is not checked, but an op
 * that passes on a non-finite input says so. Costs a pass over every output and
 * input gradient: for debugging runs. Off by default. Returns the previous value. */
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
 * another tape or from before the last reset, loss computed in no-grad mode. A
 * second backward without keep_graph (and no replay in between) is refused:
 * CR_ERR_STATE, message in cr_tape_refusal, tape unchanged. */
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
    const void *attr;   /* the op's typed attribute struct (arena), see the op's file */
};

/* Writing an op, in this order (ops/README.md has the whole recipe):
 *   1. cr_check_inputs(t, "name", n, in) — and any check of shapes and arguments,
 *      failing with cr_tape_fail(t, status, "name: ...") and returning NULL;
 *   2. n = cr_record(...) — the output and a node reserved for it;
 *   3. scratch for the node (cr_tape_alloc into n->aux), attributes (iarg, farg);
 *      on failure return NULL: the reserved node is dropped;
 *   4. return cr_run(t, n) — runs forward; only now does the node join the tape.
 * Nothing else may be recorded between 2 and 4. */

/* Check that the tape has no error and each of the n inputs is non-NULL and usable
 * on this tape (not from another tape, not from before the last reset); otherwise
 * record "<opname>: input k is NULL" (or keep the existing error) and return 0.
 * Also marks the start of op opname: a later failure of this op names the node and
 * these inputs. */
int cr_check_inputs(cr_tape *t, const char *opname, int n, cr_tensor *const *in);
/* Allocate the output (shape given) and reserve the node for op with inputs
 * in[0..n). The output needs a gradient when grad mode is on and any input needs
 * one. The node joins the tape when cr_run succeeds on it; if the op fails before,
 * nothing is left behind. In no-grad mode the node is never kept. Returns NULL
 * (error recorded) on failure. Call cr_check_inputs first. The returned node
 * pointer is valid until the next record on the tape. */
cr_node *cr_record(cr_tape *t, const cr_op *op, int n, cr_tensor *const *in,
                   int ndim, const int *shape);
/* Run n's forward, add n to the tape (grad mode), run the anomaly check, and return
 * n->out; NULL on error (a node whose forward failed is not added). */
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

/* elementwise, binary (g is the gradient of the output) */
cr_tensor *cr_add(cr_tape *t, cr_tensor *a, cr_tensor *b);  /* a+b;  da += g, db += g */
cr_tensor *cr_sub(cr_tape *t, cr_tensor *a, cr_tensor *b);  /* a-b;  da += g, db -= g */
cr_tensor *cr_mul(cr_tape *t, cr_tensor *a, cr_tensor *b);  /* a*b;  da += g*b, db += g*a */
/* a/b (IEEE: a/0 is inf or NaN, not an error); da += g/b, db -= g*a/b^2. */
cr_tensor *cr_div(cr_tape *t, cr_tensor *a, cr_tensor *b);
/* max(a,b) elementwise; da += g where a >= b, db += g where b > a: at a tie
 * (a == b) the whole gradient goes to a (so max(x,x) has derivative 1). */
cr_tensor *cr_max(cr_tape *t, cr_tensor *a, cr_tensor *b);

/* elementwise, unary (output shaped like x; g is its gradient) */
cr_tensor *cr_neg(cr_tape *t, cr_tensor *x);     /* -x;       dx -= g */
/* e^x; dx += g*e^x. Overflows to +inf like C's exp (x > 88.7 float, 709.8 double). */
cr_tensor *cr_exp(cr_tape *t, cr_tensor *x);
/* Smallest input of cr_log: the smallest positive normal cr_real (FLT_MIN, or
 * DBL_MIN in the double build), so log(0) = log(CR_LOG_FLOOR) = -87.34 (float) or
 * -708.40 (double) instead of -inf. */
#ifdef CR_REAL_DOUBLE
#define CR_LOG_FLOOR DBL_MIN
#else
#define CR_LOG_FLOOR FLT_MIN
#endif
/* log(max(x, CR_LOG_FLOOR)); dx += g/x where x > CR_LOG_FLOOR, else 0 (flat below
 * the floor). Zero, tiny and negative x all give the floor value; NaN stays NaN. */
cr_tensor *cr_log(cr_tape *t, cr_tensor *x);
/* sqrt(x); dx += g/(2 sqrt x), taken as 0 at x = 0 (where the true slope is +inf).
 * x < 0 gives NaN value and gradient, like C's sqrt. */
cr_tensor *cr_sqrt(cr_tape *t, cr_tensor *x);
/* x^p by C's pow; dx += g*p*x^(p-1) (0 when p = 0). Negative x with a non-integer
 * p gives NaN (value and gradient); x = 0 with p < 1 gives an infinite gradient. */
cr_tensor *cr_pow(cr_tape *t, cr_tensor *x, cr_real p);
cr_tensor *cr_square(cr_tape *t, cr_tensor *x);  /* x^2;      dx += 2 g x */
/* |x|; dx += g*sign(x), with sign(0) = 0 (the subgradient of smallest norm). */
cr_tensor *cr_abs(cr_tape *t, cr_tensor *x);
/* max(0,x); dx += g*[x > 0]: the derivative at 0 is taken as 0. */
cr_tensor *cr_relu(cr_tape *t, cr_tensor *x);
/* x > 0 ? x : slope*x; dx += g*(x > 0 ? 1 : slope): at 0 the slope is used. */
cr_tensor *cr_leaky_relu(cr_tape *t, cr_tensor *x, cr_real slope);
/* s = 1/(1+e^-x), computed as e^x/(1+e^x) for x < 0 so that nothing overflows for
 * any x; s(0) = 0.5. dx += g*s*(1-s) (0 where s rounds to 1). */
cr_tensor *cr_sigmoid(cr_tape *t, cr_tensor *x);
cr_tensor *cr_tanh(cr_tape *t, cr_tensor *x);    /* y = tanh x; dx += g*(1-y^2) */
/* x*s for a constant s (no gradient for s); dx += g*s. */
cr_tensor *cr_scale(cr_tape *t, cr_tensor *x, cr_real s);
/* x + c for a constant c; dx += g. */
cr_tensor *cr_add_scalar(cr_tape *t, cr_tensor *x, cr_real c);

/* linear algebra */
/* op(a) * op(b), 2-D; op(x) = x^T when the flag is set. a is MxK (or KxM with ta),
 * b is KxN (or NxK with tb). da += g op(b)^T (arranged for ta), db likewise; both
 * products run on the same GEMM without materialising a transpose. */
cr_tensor *cr_matmul(cr_tape *t, cr_tensor *a, cr_tensor *b, int ta, int tb);
/* x * W + b for x (N x in, or a vector of in giving a vector of out), W (in x out),
 * b (out or 1 x out) or NULL: one fused node, one GEMM plus a bias pass;
 * dx += g W^T, dW += x^T g, db += column sums of g. */
cr_tensor *cr_linear(cr_tape *t, cr_tensor *x, cr_tensor *W, cr_tensor *b);
/* 2-D transpose (copies); dx += g^T. */
cr_tensor *cr_transpose(cr_tape *t, cr_tensor *x);

/* reductions; axis may be negative (counted from the end) */
cr_tensor *cr_sum(cr_tape *t, cr_tensor *x);                /* rank-0 sum; dx += g */
cr_tensor *cr_mean(cr_tape *t, cr_tensor *x);               /* rank-0 mean; dx += g/n */
/* sum / mean along one axis; keepdim keeps that axis with length 1. */
cr_tensor *cr_sum_axis(cr_tape *t, cr_tensor *x, int axis, int keepdim);
cr_tensor *cr_mean_axis(cr_tape *t, cr_tensor *x, int axis, int keepdim);
/* maximum along an axis; the gradient goes to the first maximal element (ties: the
 * earliest index wins; a NaN wins and propagates). Recomputed on replay. */
cr_tensor *cr_max_axis(cr_tape *t, cr_tensor *x, int axis, int keepdim);

/* shape */
/* Same data, new shape of the same size (copies: tensors never alias). One entry of
 * shape may be -1: it is inferred from the size. dx += g. */
cr_tensor *cr_reshape(cr_tape *t, cr_tensor *x, int ndim, const int *shape);
/* Elements [start, start+len) along axis; len >= 1 and the range must lie inside the
 * dimension (no clamping). dx += g on that range. */
cr_tensor *cr_slice(cr_tape *t, cr_tensor *x, int axis, int start, int len);
/* Join n >= 1 tensors (xs[0..n), same rank) along axis; other dimensions must agree.
 * Each input gets its block of g. */
cr_tensor *cr_concat(cr_tape *t, int n, cr_tensor *const *xs, int axis);

/* Permute the axes of x (rank 0..4): y.shape[i] = x.shape[perm[i]] and
 * y[i0,i1,..] = x at index j with j[perm[k]] = i[k]; perm holds x->ndim distinct
 * axes, each may be negative (counted from the end). Copies (PyTorch's permute
 * makes a view). dx += g permuted back. */
cr_tensor *cr_permute(cr_tape *t, cr_tensor *x, const int *perm);
/* N x d1 x .. -> N x (d1 d2 ..) (rank >= 2; torch.flatten(x, 1), nn.Flatten).
 * A view: y->data IS x->data (no copy on forward or replay; writes to one are
 * seen by the other) and y has no arena block for data or gradient: the reverse
 * pass points y->grad at x's buffer, so y's consumers add straight into dL/dx and
 * after backward y->grad shows all of dL/dx (a traced pass, cr_tape_set_trace,
 * gives y a buffer of its own so each step shows what it adds). */
cr_tensor *cr_flatten(cr_tape *t, cr_tensor *x);

/* convolution and pooling over images x of shape N x C x H x W (PyTorch's layout) */
/* Options of cr_conv2d; a zeroed struct (or NULL) is PyTorch's default. Index 0 is
 * the height axis, 1 the width axis. */
typedef struct cr_conv2d_opts {
    int stride[2];    /* step between output positions, >= 1; 0 means 1 */
    int padding[2];   /* zeros added before and after the image on that axis, >= 0 */
    int dilation[2];  /* spacing of the kernel taps, >= 1; 0 means 1 */
    int groups;       /* G: channels split into G independent groups; 0 means 1 */
} cr_conv2d_opts;
/* 2-D convolution (cross-correlation, as nn.Conv2d / F.conv2d): x N x C x H x W,
 * w O x (C/G) x KH x KW, b O (or NULL), y N x O x OH x OW with
 * OH = floor((H + 2 PH - DH (KH - 1) - 1) / SH) + 1, OW likewise;
 * y[n,o,p,q] = b[o] + sum_{c,i,j} w[o,c,i,j] x[n, gC' + c, p SH - PH + i DH, q SW - PW + j DW]
 * (C' = C/G, g = o / (O/G) the group of o; x is 0 outside the image).
 * With g = dL/dy: dw[o,c,i,j] += sum_{n,p,q} g[n,o,p,q] times that x tap; each x
 * element gets g times w summed over the taps that read it; db[o] += sum_{n,p,q} g.
 * Runs as im2col plus one GEMM per group on the tape's pool (forward) and GEMMs
 * for dW and dx plus col2im (backward): the same bits for any thread count, no
 * heap allocation. Arena scratch: (C KH KW + O) N OH OW values per node, and
 * C KH KW N OH OW more at the first backward that needs dx. opts may be NULL.
 * Errors (naming conv2d and the shapes): CR_ERR_SHAPE for a rank other than 4,
 * channels that do not match, groups not dividing C and O, a kernel larger than
 * the padded image, N OH OW or (C/G) KH KW >= 2^31; CR_ERR_ARG for a negative
 * option. */
cr_tensor *cr_conv2d(cr_tape *t, cr_tensor *x, cr_tensor *w, cr_tensor *b,
                     const cr_conv2d_opts *opts);
/* Options of the 2-D pools: kernel is required; stride 0 means the kernel size
 * (PyTorch's default); padding >= 0 and at most half the kernel (as PyTorch). */
typedef struct cr_pool2d_opts {
    int kernel[2];    /* KH, KW >= 1 */
    int stride[2];    /* SH, SW >= 1; 0 means the kernel size */
    int padding[2];   /* PH, PW: 0 <= P <= K/2 */
} cr_pool2d_opts;
/* Max over each KH x KW window (nn.MaxPool2d, dilation 1, floor mode): x is
 * N x C x H x W, y N x C x OH x OW, OH = floor((H + 2 PH - KH) / SH) + 1. Padding
 * never wins (it counts as -inf). dx += g at the FIRST maximum of the window in
 * row-major order (as cr_max_axis: a NaN wins and takes the gradient); the
 * positions are recomputed on replay. Errors (naming the op and the shapes):
 * CR_ERR_SHAPE for a rank other than 4 or a kernel larger than the padded image;
 * CR_ERR_ARG for NULL opts, a kernel < 1, a stride < 0 or a padding outside
 * 0..K/2. */
cr_tensor *cr_max_pool2d(cr_tape *t, cr_tensor *x, const cr_pool2d_opts *opts);
/* Mean over each window (nn.AvgPool2d with its default count_include_pad=True):
 * the divisor is always KH KW, padding counting as zeros. dx += g / (KH KW) at
 * every real element of the window. Errors as cr_max_pool2d (naming avg_pool2d). */
cr_tensor *cr_avg_pool2d(cr_tape *t, cr_tensor *x, const cr_pool2d_opts *opts);
/* N x C x H x W -> N x C, the mean of each H x W plane (nn.AdaptiveAvgPool2d(1)
 * then flatten); dx += g / (H W). CR_ERR_SHAPE unless x has rank 4. */
cr_tensor *cr_global_avg_pool2d(cr_tape *t, cr_tensor *x);

/* softmax family, over the last axis of a 1-D or 2-D tensor (rows = samples) */
/* softmax(x)_i = e^(x_i - max) / sum e^(x_j - max); dx = y * (g - sum(g*y)). */
cr_tensor *cr_softmax(cr_tape *t, cr_tensor *x);
/* x_i - max - log sum e^(x_j - max); dx = g - softmax * sum(g). */
cr_tensor *cr_log_softmax(cr_tape *t, cr_tensor *x);
/* Mean over N rows of -log softmax(z)[y]: z is N x C logits (or C), y holds N
 * class indices stored as reals (any shape with N elements, read on every forward).
 * An index that is not a whole number in 0..C-1 is an error when recorded ("target
 * 7 at row 3 is outside 0..4", rows counted from 0) and, on replay (where no error
 * can be raised), a NaN loss and a NaN gradient for that row. Fused and stable for
 * logits of any size (log-sum-exp); rank 0 output. The softmax is kept in the arena
 * for backward: dz += g * (softmax(z) - onehot(y)) / N. y gets no gradient. */
cr_tensor *cr_softmax_cross_entropy(cr_tape *t, cr_tensor *z, cr_tensor *y);
/* Mean of -(y log s(z) + (1-y) log(1-s(z))) over all elements, s = sigmoid, computed
 * as max(z,0) - z y + log(1 + e^-|z|); y in [0,1], same shape as z (broadcast
 * not allowed). Rank 0. dz += g*(s(z) - y)/n; dy += g*(-z)/n when y needs it. */
cr_tensor *cr_bce_with_logits(cr_tape *t, cr_tensor *z, cr_tensor *y);

/* ================================================================ teaching */

/* Printed text uses UTF-8 (the partial sign and the middle dot); set the environment
 * variable CR_ASCII=1 to get "d" and "*" instead, for consoles that are not UTF-8
 * (read once per process, see "configuration"). */

/* Name a tensor for the table, the trace and DOT ("x", "z", "fc1/h"); returns x so
 * that it chains: cr_tensor_label(cr_add(t, x, y), "z"). Tape tensors: the label
 * is copied into the tape's arena (lives until reset). Heap tensors: same as
 * cr_tensor_set_name. NULL x or label: returns x unchanged. Fails (NULL; on a tape
 * the error is recorded) for a label longer than 63 bytes or an errored tape.
 * A label "scope/name" (and a parameter named "scope.name", as cr_mlp names them)
 * puts the node in the DOT cluster "scope": that is how layers are grouped. */
cr_tensor *cr_tensor_label(cr_tensor *x, const char *label);
/* One row per node: id, label (a column shown only when some node has one), op,
 * inputs, shape, value, gradient (of the last backward pass); scalars exactly,
 * tensors larger than 6 elements summarised (first values, min/max/mean).
 * Returns CR_ERR_ARG on NULL. */
cr_status cr_tape_print(const cr_tape *t, FILE *f);
/* Graphviz DOT of the recorded graph (render: dot -Tsvg g.dot -o g.svg). Each node
 * shows its label, op, shape, value and gradient; inputs, variables, parameters,
 * ops and the loss (the root of the last backward pass) have distinct shapes and
 * colours; in a graph of scalars each edge is labelled with its local derivative
 * d out / d in (read off the op's backward, which is run with unit gradient into
 * scratch buffers; the tape is left as it was); nodes of one scope (see
 * cr_tensor_label) are drawn in one cluster. Returns CR_ERR_ARG on NULL,
 * CR_ERR_IO if writing fails. */
cr_status cr_tape_dot(const cr_tape *t, FILE *f);
/* Backward trace: when f is non-NULL, cr_backward prints each chain-rule step to f:
 * every node reached, its op, value and incoming gradient, then for each input the
 * product added to its gradient ("∂f/∂x (via z) = 2·1 = 2": incoming times local
 * derivative; "(via z)" when x feeds several nodes; "= x = 2" names the other input
 * a local derivative equals), and at the end the total gradient of every variable
 * and parameter ("∂f/∂x = 5"). Scalars print exactly (shortest text that reads back
 * the same value); tensors print shape and summary. NULL turns it off. The tape
 * does not own f. Gradients are the same with or without the trace. */
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
 * Returns CR_OK, CR_ERR_ARG (NULL build/inputs/res, n outside 1..64, an input that
 * is not a parameter), or the error of building/backward, with a message in err
 * ("gradcheck: matmul: a is 2x3 but b is 4x5 ...": the build's tape error, or
 * "gradcheck: build returned 3 values, not a scalar"). */
cr_status cr_gradcheck(cr_build_fn build, cr_tensor *const *inputs, int n, void *user,
                       double h, cr_gradcheck_result *res, char *err, size_t errsize);

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
 * without gradient, empty, duplicate or long name ("params: 'fc1.W' is already in
 * the list"); CR_ERR_NOMEM. The list is unchanged on error. */
cr_status cr_params_add(cr_params *p, cr_tensor *x, const char *name, char *err,
                        size_t errsize);
/* Same, and the list takes ownership of x (freed by cr_params_free; freed at once
 * if adding fails). */
cr_status cr_params_add_owned(cr_params *p, cr_tensor *x, const char *name, char *err,
                              size_t errsize);
/* Append every tensor of src by reference under prefix + its name in src (e.g.
 * "enc." + "fc1.W"). Ownership stays with src's owner. All or nothing; errors as
 * cr_params_add, or p == src. */
cr_status cr_params_extend(cr_params *p, const cr_params *src, const char *prefix,
                           char *err, size_t errsize);
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
/* (section owned by nn/) Layers, initializers and losses, composed only from the
 * ops above: none of them has a hand-written backward. The one exception is
 * cr_dropout, a primitive op (ops/dropout.c) because its mask is redrawn on replay.
 * Convention: a batch is a 2-D tensor N x features (rows = samples); a weight
 * matrix is in x out, as cr_linear takes it (y = x W + b). */

/* ---- activations */
typedef enum cr_activation {
    CR_ACT_NONE = 0,    /* identity (logits / linear output) */
    CR_ACT_SIGMOID,     /* 1/(1+e^-x) */
    CR_ACT_TANH,        /* tanh x */
    CR_ACT_RELU,        /* max(0, x) */
    CR_ACT_LEAKY_RELU,  /* x > 0 ? x : CR_LEAKY_SLOPE*x */
    CR_ACT_SOFTMAX      /* row-wise softmax over the last axis (1-D or 2-D) */
} cr_activation;
#define CR_LEAKY_SLOPE 0.01   /* slope of CR_ACT_LEAKY_RELU for x < 0 (PyTorch's default) */

/* Apply act to x (the matching op; CR_ACT_NONE returns x itself). Tape owns the
 * result; NULL with a tape error on NULL x or an unknown act. */
cr_tensor *cr_activate(cr_tape *t, cr_tensor *x, cr_activation act);
/* Parse "none" (also "linear", "identity"), "sigmoid", "tanh", "relu",
 * "leaky_relu" (also "leaky-relu", "leakyrelu"), "softmax", case-insensitive, into
 * *out. CR_ERR_ARG on NULL or an unknown name (*out unchanged). */
cr_status cr_activation_from_name(const char *name, cr_activation *out);
/* Canonical name of act ("relu"); "?" for an unknown value. Static string. */
const char *cr_activation_name(cr_activation act);

/* ---- initializers (fill a heap tensor's data; the gradient is untouched)
 * Fans: a rank-2 tensor is in x out (cr_linear's W): fan_in = shape[0],
 * fan_out = shape[1]; rank 3-4 multiply both by the product of shape[2..];
 * rank 1 (a bias, n): fan_in = fan_out = n; rank 0: 1 and 1.
 * Every function returns CR_ERR_ARG on NULL x or rng or a bad argument (hi < lo,
 * std < 0), leaving x unchanged; draws come from rng in element order. */
void cr_fans(const cr_tensor *x, int *fan_in, int *fan_out);
cr_status cr_init_constant(cr_tensor *x, cr_real v);
cr_status cr_init_uniform(cr_tensor *x, cr_rng *rng, cr_real lo, cr_real hi);  /* U(lo, hi) */
cr_status cr_init_normal(cr_tensor *x, cr_rng *rng, cr_real mean, cr_real std); /* N(mean, std^2) */
/* Glorot & Bengio 2010: U(-a, a), a = sqrt(6/(fan_in+fan_out)) / N(0, 2/(fan_in+fan_out)). */
cr_status cr_init_xavier_uniform(cr_tensor *x, cr_rng *rng);
cr_status cr_init_xavier_normal(cr_tensor *x, cr_rng *rng);
/* He et al. 2015 (fan_in mode, for relu): U(-a, a), a = sqrt(6/fan_in) / N(0, 2/fan_in). */
cr_status cr_init_he_uniform(cr_tensor *x, cr_rng *rng);
cr_status cr_init_he_normal(cr_tensor *x, cr_rng *rng);

/* Weight initialisation scheme of a layer (biases always start at 0). */
typedef enum cr_init_kind {
    CR_INIT_AUTO = 0,       /* layers: He normal before relu/leaky-relu, else Xavier uniform */
    CR_INIT_ZEROS,
    CR_INIT_XAVIER_UNIFORM,
    CR_INIT_XAVIER_NORMAL,
    CR_INIT_HE_UNIFORM,
    CR_INIT_HE_NORMAL
} cr_init_kind;
/* Initialise x with scheme k (CR_INIT_AUTO means Xavier uniform here). CR_ERR_ARG
 * on NULL x, NULL rng (except for ZEROS) or an unknown k. */
cr_status cr_init(cr_tensor *x, cr_init_kind k, cr_rng *rng);
/* Parse "auto", "zeros", "xavier_uniform", "xavier_normal", "he_uniform",
 * "he_normal" (also "glorot_*" and "kaiming_*"), case-insensitive, into *out.
 * CR_ERR_ARG on NULL or an unknown name (*out unchanged). */
cr_status cr_init_from_name(const char *name, cr_init_kind *out);

/* ---- dropout: the one primitive op of this section (ops/dropout.c)
 * Inverted dropout: in training each element is kept with probability 1-p and
 * scaled by 1/(1-p), else zeroed: y = x*m, m_i in {0, 1/(1-p)}; dx += g*m.
 * The mask is drawn from rng (element order, keep iff uniform >= p) when the op
 * is recorded and drawn again on every replay (cr_tape_forward), so rng must
 * outlive the tape's recording. training == 0 or p == 0 returns x itself (no
 * node, no draw). p outside [0, 1) or NULL rng in training is a tape error. */
cr_tensor *cr_dropout(cr_tape *t, cr_tensor *x, cr_real p, cr_rng *rng, int training);

/* ---- dense (fully connected) layer: y = x W + b, one cr_linear node
 * Fields are readable; do not reassign them. */
typedef struct cr_dense {
    int in, out;
    cr_tensor *W;           /* in x out, initialised by the chosen scheme */
    cr_tensor *b;           /* out, zeros */
    cr_params *params;      /* "W", "b" (references; the layer owns W and b) */
} cr_dense;
/* New layer. init as above (AUTO: Xavier uniform); rng may be NULL only for
 * CR_INIT_ZEROS. Caller owns it (cr_dense_free). NULL, with a message in err
 * ("dense: 0 inputs and 3 outputs (both must be >= 1)"), on in/out < 1, an unknown
 * init, NULL rng or allocation failure; rng is then as it was. */
cr_dense *cr_dense_new(int in, int out, cr_init_kind init, cr_rng *rng, char *err,
                       size_t errsize);
void cr_dense_free(cr_dense *d);   /* NULL is safe */
/* x (N x in) -> N x out. Tape owns the result; a tape error names "dense" and the
 * shapes when x is not N x in. */
cr_tensor *cr_dense_forward(cr_tape *t, cr_dense *d, cr_tensor *x);

/* ---- batch normalization over the features of an N x F batch (Ioffe & Szegedy),
 * or over the channels of an N x C x H x W batch (F = C; nn.BatchNorm2d: the
 * statistics below are taken over the N H W values of each channel, N H W counts
 * as N in the unbiased variance, gamma and beta scale and shift each channel)
 * Training: mu = mean over rows, var = biased mean of (x-mu)^2 over rows,
 *   y = gamma * (x - mu) / sqrt(var + eps) + beta, all through ops (gradients flow
 *   through mu and var). Each time a training forward runs — when recorded and
 *   again on every replay (cr_tape_forward), through a side-effect node — the
 *   running statistics move: running = (1-momentum)*running + momentum*batch, with
 *   the unbiased batch variance var*N/(N-1) (PyTorch's convention). N must be >= 2
 *   in training.
 * Evaluation: y = gamma * (x - running_mean) / sqrt(running_var + eps) + beta. */
typedef struct cr_batchnorm {
    int features;
    cr_real momentum, eps;
    cr_tensor *gamma, *beta;     /* F, trainable; start at 1 and 0 */
    cr_tensor *running_mean;     /* F, not trainable; starts at 0 */
    cr_tensor *running_var;      /* F, not trainable; starts at 1 */
    cr_params *params;           /* "gamma", "beta": what an optimizer updates */
    cr_params *buffers;          /* "running_mean", "running_var": saved, never optimized.
                                  * Their gradient buffers exist (cr_params needs one)
                                  * but stay zero: CR_REQUIRES_GRAD is clear and the
                                  * eval path reads them through cr_detach. */
} cr_batchnorm;
/* New layer with momentum (<= 0: 0.1) and eps (<= 0: 1e-5). Caller owns it;
 * NULL, with a message in err ("batchnorm: momentum = 1.5 is above 1"), on
 * features < 1, momentum > 1 or allocation failure. */
cr_batchnorm *cr_batchnorm_new(int features, cr_real momentum, cr_real eps, char *err,
                               size_t errsize);
void cr_batchnorm_free(cr_batchnorm *bn);   /* NULL is safe */
/* x (N x F, or N x F x H x W) -> the same shape, in training (training != 0) or
 * evaluation mode. Tape owns the result; tape error naming "batchnorm" on a shape
 * mismatch or fewer than 2 values per feature in training. */
cr_tensor *cr_batchnorm_forward(cr_tape *t, cr_batchnorm *bn, cr_tensor *x, int training);

/* ---- multilayer perceptron: [dense -> (batchnorm) -> activation -> (dropout)]
 * for each hidden layer, then dense -> output activation. */
typedef struct cr_mlp cr_mlp;
typedef struct cr_mlp_config {
    cr_activation hidden;   /* after every hidden layer (default RELU) */
    cr_activation output;   /* after the last layer (default NONE: logits, for the
                             * softmax-CE / BCE-with-logits losses) */
    cr_real leaky_slope;    /* slope for LEAKY_RELU hidden layers (default 0.01) */
    cr_init_kind init;      /* weight init (default AUTO: He normal for relu-family
                             * hidden layers, Xavier uniform otherwise) */
    cr_real dropout;        /* p in [0, 1) after every hidden activation; 0: none */
    int batchnorm;          /* 1: batchnorm after every hidden dense layer, before
                             * its activation */
    cr_real bn_momentum;    /* 0: 0.1 */
    cr_real bn_eps;         /* 0: 1e-5 */
} cr_mlp_config;
/* The defaults above (hidden RELU, output NONE, no dropout, no batchnorm). */
cr_mlp_config cr_mlp_default_config(void);
/* sizes[0] inputs, sizes[1..n-2] hidden widths, sizes[n-1] outputs; n_sizes >= 2.
 * Weights are drawn from rng layer by layer (same seed -> same model); the MLP
 * also seeds its own dropout generator from rng (two u32 draws after the weights).
 * Caller owns the MLP (cr_mlp_free). NULL, with a message in err naming the
 * cause ("mlp: sizes[1] = 0 (every size must be >= 1)", "mlp: dropout = 1 is
 * outside [0, 1)", "dense: out of memory for a 1000000x300 layer"), on NULL
 * sizes/rng/cfg, n_sizes < 2, a size < 1, a bad option (dropout outside [0,1),
 * unknown activation or init, bn_momentum > 1 with batchnorm) or no memory; rng is
 * then as it was. */
cr_mlp *cr_mlp_new_config(int n_sizes, const int *sizes, const cr_mlp_config *cfg,
                          cr_rng *rng, char *err, size_t errsize);
/* Same with the default config and the given activations. */
cr_mlp *cr_mlp_new(int n_sizes, const int *sizes, cr_activation hidden,
                   cr_activation output, cr_rng *rng, char *err, size_t errsize);
void cr_mlp_free(cr_mlp *m);   /* NULL is safe */
/* x (N x sizes[0]) -> N x sizes[n-1]. Uses the MLP's current mode (training:
 * batch statistics and dropout; evaluation: running statistics, no dropout).
 * Tape owns the result; tape error naming "mlp" on a shape mismatch. The MLP must
 * outlive the tape's recording (nodes reference its tensors and dropout rng). */
cr_tensor *cr_mlp_forward(cr_tape *t, cr_mlp *m, cr_tensor *x);
/* Mode: 1 training (the initial mode), 0 evaluation. Returns the previous mode. */
int cr_mlp_set_training(cr_mlp *m, int on);
/* Trainable parameters, in layer order: "fc1.W", "fc1.b", "bn1.gamma", "bn1.beta",
 * "fc2.W", ... (fc<k>/bn<k> count from 1). Owned by the MLP: what an optimizer
 * updates. */
cr_params *cr_mlp_params(cr_mlp *m);
/* Non-trainable state: "bn1.running_mean", "bn1.running_var", ... (empty without
 * batchnorm). Owned by the MLP; never give it to an optimizer. */
cr_params *cr_mlp_buffers(cr_mlp *m);
/* Everything save/load must persist: the params followed by the buffers, same
 * names. Owned by the MLP. */
cr_params *cr_mlp_state(cr_mlp *m);
/* Number of trainable scalars (784-128-10 without batchnorm: 101,770). */
size_t cr_mlp_param_count(const cr_mlp *m);
/* Number of dense layers (n_sizes - 1) and the i-th one (0-based; NULL if out of
 * range), owned by the MLP: for inspection and teaching. */
int cr_mlp_n_layers(const cr_mlp *m);
cr_dense *cr_mlp_layer(cr_mlp *m, int i);
/* The MLP's dropout generator (owned by the MLP; NULL for NULL m). Copy its state
 * into a checkpoint (e.g. cr_meta) and write it back to resume training with the
 * same dropout masks. */
cr_rng *cr_mlp_rng(cr_mlp *m);

/* ---- losses (nn/loss.c). Each returns a rank-0 tensor owned by the tape, or NULL
 * with a tape error naming the loss ("mse_loss: prediction is 4x1 but target is
 * 4"). Prediction and target must have the SAME shape (no broadcasting) unless
 * stated; targets get gradients only if they need them. "mean" = over all
 * elements. */
/* mean (p - y)^2 */
cr_tensor *cr_loss_mse(cr_tape *t, cr_tensor *p, cr_tensor *y);
/* mean |p - y|  (L1; gradient sign(p - y), 0 at p == y) */
cr_tensor *cr_loss_mae(cr_tape *t, cr_tensor *p, cr_tensor *y);
/* Huber: mean of 0.5 d^2 where |d| <= delta, delta*(|d| - 0.5 delta) elsewhere,
 * d = p - y; delta > 0 (PyTorch HuberLoss(delta); SmoothL1(beta) = this / beta). */
cr_tensor *cr_loss_huber(cr_tape *t, cr_tensor *p, cr_tensor *y, cr_real delta);
/* Binary hinge with labels y in {-1, +1}, margin 1: mean max(0, 1 - y*p). */
cr_tensor *cr_loss_hinge(cr_tape *t, cr_tensor *p, cr_tensor *y);
/* Squared hinge: mean 0.5 * max(0, 1 - y*p)^2, y in {-1, +1}. */
cr_tensor *cr_loss_squared_hinge(cr_tape *t, cr_tensor *p, cr_tensor *y);
/* Multiclass hinge, Weston-Watkins form as PyTorch's MultiMarginLoss (p=1,
 * margin 1): (1/N) sum_n (1/C) sum_{j != y_n} max(0, 1 - z[n,y_n] + z[n,j]).
 * z is N x C scores (or C for one sample), y holds N class indices stored as reals
 * (rank 1 or N x 1). An index outside 0..C-1 is an error when recorded (replay
 * does not check it again). */
cr_tensor *cr_loss_multiclass_hinge(cr_tape *t, cr_tensor *z, cr_tensor *y);
/* Binary cross-entropy on probabilities p in [0,1]:
 * mean -(y log p + (1-y) log(1-p)), each log clamped below at -100 (as PyTorch;
 * in the float build cr_log's floor, log(FLT_MIN) = -87.34, binds first), so
 * p = 0 or 1 gives a finite loss; a clamped term passes no gradient. Prefer
 * cr_loss_bce_logits, which is stable. */
cr_tensor *cr_loss_bce(cr_tape *t, cr_tensor *p, cr_tensor *y);
/* The same on logits z, fused and stable: wraps cr_bce_with_logits. */
cr_tensor *cr_loss_bce_logits(cr_tape *t, cr_tensor *z, cr_tensor *y);
/* Softmax cross-entropy with class indices is the op cr_softmax_cross_entropy
 * (softmax family, above); its former second name cr_loss_softmax_ce is gone. */
/* Softmax cross-entropy with soft or one-hot targets y (same shape as z, N x C or
 * C; rows of y should sum to 1): -(1/N) sum_n sum_j y[n,j] log_softmax(z)[n,j]. */
cr_tensor *cr_loss_softmax_ce_soft(cr_tape *t, cr_tensor *z, cr_tensor *y);
/* L2 penalty (lambda/2) * sum of squares of the tensors in params; with
 * weights_only != 0 only tensors of rank >= 2 count (weight matrices, not biases
 * or batchnorm gamma/beta). An empty selection gives a constant 0. Add it to the
 * data loss before backward. NULL params or lambda < 0 is a tape error. */
cr_tensor *cr_loss_l2(cr_tape *t, const cr_params *params, cr_real lambda, int weights_only);


/* ========================================================== optim */
/* Optimizers, gradient clipping and learning-rate schedules on a cr_params list,
 * and the binary save/load format (docs/FORMAT.md). Optimizers use no ops: each
 * step is a loop over every parameter's data and grad arrays, computed in cr_real.
 * Every optimizer, built in or user-defined (cr_optim_def below), is a name, named
 * state slots, named hyper-parameters and one update function.
 *
 * Notation: θ parameter, g its gradient (x->grad), η learning rate, λ weight decay,
 * t the step number counted from 1 (the optimizer's step counter after the
 * increment). L2 weight decay (every kind but AdamW): g ← g + λθ first (x->grad
 * itself is not modified). State tensors start at zero (AdaGrad: at r₀).
 * Updates are computed in cr_real (float in the default build, as PyTorch does
 * for float tensors). Adam's moments m and v are set to 0 when they decay below
 * the smallest normal number (FLT_MIN / DBL_MIN): subnormal arithmetic is ~100x
 * slower on x86 and such moments change no update measurably.
 *
 * Typical loop:
 *     cr_optim *o = cr_optim_new(params, &cfg, err, sizeof err);
 *     for (...) { cr_optim_zero_grad(o); ...forward, cr_backward...;
 *                 cr_optim_set_lr(o, cr_schedule_lr(&sched, cr_optim_step_count(o)));
 *                 if (cr_optim_step(o, err, sizeof err) != CR_OK) ...; }
 */

typedef enum cr_optim_kind {
    CR_OPTIM_SGD = 0,   /* θ ← θ − η g                                           */
    CR_OPTIM_MOMENTUM,  /* classical (PyTorch SGD, dampening 0):
                           v ← μ v + g;  θ ← θ − η v                             */
    CR_OPTIM_NESTEROV,  /* PyTorch's Nesterov formulation (SGD nesterov=True):
                           v ← μ v + g;  θ ← θ − η (g + μ v)                     */
    CR_OPTIM_ADAGRAD,   /* r ← r + g²;  θ ← θ − η g / (δ + √r)   (δ outside the
                           root, as PyTorch Adagrad with lr_decay 0)             */
    CR_OPTIM_RMSPROP,   /* r ← ρ r + (1−ρ) g²;  θ ← θ − η g / (√r + δ)  (δ outside
                           the root, as PyTorch RMSprop, centered=False)         */
    CR_OPTIM_ADAM,      /* m ← ρ₁ m + (1−ρ₁) g;  v ← ρ₂ v + (1−ρ₂) g²;
                           m̂ = m / (1−ρ₁ᵗ);  v̂ = v / (1−ρ₂ᵗ);
                           θ ← θ − η m̂ / (√v̂ + δ)   (as the course notes and
                           PyTorch Adam; λ is L2 decay: g ← g + λθ first)        */
    CR_OPTIM_ADAMW      /* decoupled weight decay (Loshchilov & Hutter, PyTorch
                           AdamW): θ ← θ − η λ θ first, then the Adam update
                           with the undecayed g                                  */
} cr_optim_kind;
#define CR_OPTIM_KIND_COUNT 7

#define CR_OPTIM_MAX_SLOTS 4   /* state tensors per parameter, user-defined optimizers */
#define CR_OPTIM_MAX_HYPER 8   /* named hyper-parameters besides lr, user-defined */
typedef struct cr_optim_def cr_optim_def;

/* Hyper-parameters. Get the defaults with cr_optim_defaults (cr_optim_def_defaults
 * for a user-defined optimizer) and change fields, or set them by name with
 * cr_optim_config_set. Fields a kind does not use are ignored (but still validated
 * and saved). */
typedef struct cr_optim_config {
    cr_optim_kind kind;  /* ignored when def is set */
    double lr;           /* η >= 0. Default 0.01; Adam and AdamW 0.001 */
    double momentum;     /* μ in [0,1), MOMENTUM/NESTEROV. Default 0.9 */
    double rho;          /* ρ in [0,1), RMSprop. Default 0.99 */
    double beta1;        /* ρ₁ in [0,1), Adam/AdamW. Default 0.9 */
    double beta2;        /* ρ₂ in [0,1), Adam/AdamW. Default 0.999 */
    double eps;          /* δ >= 0. Default 1e-10 AdaGrad, 1e-8 others (the
                            course notes' Adam uses 1e-6) */
    double weight_decay; /* λ >= 0. L2 (g += λθ) except AdamW (decoupled).
                            Default 0; AdamW 0.01 */
    double initial_accumulator; /* r₀ >= 0 for AdaGrad's r. Default 0 */
    const cr_optim_def *def;     /* NULL: the built-in kind. Else a user-defined
                                    optimizer (referenced: must outlive every
                                    optimizer made from it); only lr and hyper[]
                                    are used, validated and saved */
    double hyper[CR_OPTIM_MAX_HYPER]; /* user-defined: the values of def->hyper[i] */
} cr_optim_config;

typedef struct cr_optim cr_optim;

/* Defaults for kind (see the fields above). An unknown kind gives SGD's. */
cr_optim_config cr_optim_defaults(cr_optim_kind kind);
/* Check every field: unknown kind, lr/eps/weight_decay/initial_accumulator < 0 or
 * not finite, momentum/rho/beta1/beta2 outside [0,1) -> CR_ERR_ARG with a message
 * naming the field and value in err ("optim: beta2 = 1 is outside [0, 1)").
 * With def set: the definition (name, slot and hyper-parameter counts and names,
 * update), lr, every hyper[i] finite, then def->check if any.
 * err may be NULL; errsize bytes at most, always NUL-terminated. */
cr_status cr_optim_config_check(const cr_optim_config *cfg, char *err, size_t errsize);
/* "sgd", "momentum", "nesterov", "adagrad", "rmsprop", "adam", "adamw"
 * (case-insensitive) -> *kind. CR_ERR_ARG (kind untouched) for anything else.
 * The names are those of cr_optim_kind_name for 0 .. CR_OPTIM_KIND_COUNT-1: list
 * them from there rather than repeating them. */
cr_status cr_optim_kind_from_name(const char *name, cr_optim_kind *kind);
/* The name above for kind, "?" when out of range. Static string. */
const char *cr_optim_kind_name(cr_optim_kind kind);
/* Set (get) the hyper-parameter called name in c, case-insensitive: "lr" always;
 * for a built-in kind the other fields of cr_optim_config by their field names
 * ("momentum", "rho", "beta1", "beta2", "eps", "weight_decay",
 * "initial_accumulator"); for a user-defined optimizer the names in c->def->hyper.
 * Not validated here (cr_optim_config_check and cr_optim_new do). CR_ERR_ARG on
 * NULL or an unknown name (c / *v unchanged). */
cr_status cr_optim_config_set(cr_optim_config *c, const char *name, double v);
cr_status cr_optim_config_get(const cr_optim_config *c, const char *name, double *v);

/* New optimizer over params (referenced, not owned: params and its tensors must
 * outlive the optimizer and keep their entries). All state is allocated here;
 * cr_optim_step never allocates. Caller owns it (cr_optim_free). NULL on a bad
 * config (message as cr_optim_config_check), NULL params or allocation failure
 * ("optim: out of memory"); err may be NULL. */
cr_optim *cr_optim_new(cr_params *params, const cr_optim_config *cfg, char *err,
                       size_t errsize);
/* Free the optimizer and its state. NULL is safe. */
void cr_optim_free(cr_optim *o);
/* The optimizer's name: its kind's name, or its cr_optim_def's name. "?" for NULL. */
const char *cr_optim_name(const cr_optim *o);
/* One update of every parameter from its current grad (formulas at
 * cr_optim_kind); increments the step counter first. CR_ERR_ARG on NULL,
 * CR_ERR_STATE (nothing updated) if the list no longer holds the tensors it held
 * at creation or the counter is at CR_OPTIM_MAX_STEPS. Non-finite gradients are applied as they are. */
cr_status cr_optim_step(cr_optim *o, char *err, size_t errsize);
/* Zero the gradient of every parameter of the optimizer's list. NULL is safe. */
void cr_optim_zero_grad(cr_optim *o);
/* Run cr_optim_step's updates and cr_optim_zero_grad's zeroing of large
 * parameters on pool's threads (the program's pool); results are bit-identical
 * for any thread count (split by element). Borrowed ("Pools and ownership", above
 * cr_tape_set_pool). NULL (the default): one thread. CR_ERR_ARG on NULL o. */
cr_status cr_optim_set_pool(cr_optim *o, cr_pool *pool);
/* Change η (e.g. from a schedule before each step). CR_ERR_ARG if lr < 0 or not
 * finite (η unchanged). */
cr_status cr_optim_set_lr(cr_optim *o, double lr);
double cr_optim_lr(const cr_optim *o);
/* The optimizer's current hyper-parameters (owned by the optimizer). */
const cr_optim_config *cr_optim_get_config(const cr_optim *o);
/* Number of steps taken (t after the last step; 0 for a new optimizer). */
long cr_optim_step_count(const cr_optim *o);
/* The largest step count an optimizer reaches: 2^53 (every count up to it is exact
 * in the double that Adam's bias correction uses). cr_optim_step at this count
 * refuses with CR_ERR_STATE instead of overflowing the counter. */
#define CR_OPTIM_MAX_STEPS (INT64_C(1) << 53)
/* Overwrite the step counter (manual state restore; cr_load does it for you).
 * CR_ERR_ARG if n < 0 or n > CR_OPTIM_MAX_STEPS (counter unchanged). */
cr_status cr_optim_set_step_count(cr_optim *o, long n);
/* The parameter list the optimizer updates. */
cr_params *cr_optim_params(const cr_optim *o);

/* Optimizer state as named tensors, owned by the optimizer, same shape as their
 * parameter; read and write their data freely. Names are "<slot>.<param name>",
 * slot-major in parameter order: MOMENTUM/NESTEROV "v." (velocity); ADAGRAD and
 * RMSPROP "r." (accumulated squares); ADAM/ADAMW "m." then "v." (first and second
 * moments). SGD has none. A user-defined optimizer: def->slot[0] first, then
 * def->slot[1], ... Names are at most 79 bytes. */
size_t cr_optim_state_count(const cr_optim *o);
cr_tensor *cr_optim_state_get(const cr_optim *o, size_t i);      /* NULL if out of range */
const char *cr_optim_state_name(const cr_optim *o, size_t i);    /* NULL if out of range */
cr_tensor *cr_optim_state_find(const cr_optim *o, const char *name); /* NULL if absent */

/* ---- user-defined optimizers (as cr_custom is for ops)
 * Fill a cr_optim_def (usually a static const), get a config with
 * cr_optim_def_defaults, change its lr / hyper[] (or cr_optim_config_set by name),
 * and give it to cr_optim_new. State slots start at 0. cr_save writes the
 * optimizer's name, step counter, lr, hyper-parameters and state by name (a
 * section of its own, docs/FORMAT.md); cr_load restores them into an optimizer
 * made from a definition of the same name (hyper-parameters and slots matched by
 * name) and refuses any other ("optimizer is lion in the file but adam here").
 * Example: examples/lion.c. */
typedef struct cr_optim_update_args {
    size_t n;                 /* elements in this call */
    cr_real *theta;           /* n parameter values: update them in place */
    const cr_real *grad;      /* their n gradients */
    cr_real *const *slot;     /* slot[s][0..n): state slot s of these elements */
    const cr_optim_config *cfg; /* cfg->lr (the current η), cfg->hyper[],
                                   cfg->def->user */
    long t;                   /* step number, counted from 1 */
} cr_optim_update_args;
/* Update a->n elements of one parameter. Unless def->per_tensor is set, element i
 * may read and write only element i of theta, grad and the slots: cr_optim_step
 * may split a large tensor into ranges and call update on them from the pool's
 * threads at once. Must not allocate, fail or keep the pointers. */
typedef void (*cr_optim_update_fn)(const cr_optim_update_args *a);
struct cr_optim_def {
    const char *name;         /* 1..63 bytes: saved in files, compared on load */
    int nslots;               /* state tensors per parameter, 0..CR_OPTIM_MAX_SLOTS */
    const char *slot[CR_OPTIM_MAX_SLOTS]; /* slot names, 1..15 bytes, distinct
                                             ("m": state "m.fc1.W") */
    int nhyper;               /* hyper-parameters besides lr, 0..CR_OPTIM_MAX_HYPER */
    const char *hyper[CR_OPTIM_MAX_HYPER]; /* their names, 1..31 bytes, distinct,
                                              not "lr" */
    double defaults[CR_OPTIM_MAX_HYPER]; /* their default values */
    double lr;                /* default η */
    cr_optim_update_fn update; /* required */
    /* Optional extra validation of c->hyper[] (every value is already checked to
     * be finite, and lr finite and >= 0): CR_OK, or CR_ERR_ARG with a message in
     * err (may be NULL) like "lion: beta1 = 1 is outside [0, 1)". */
    cr_status (*check)(const cr_optim_config *c, char *err, size_t errsize);
    int per_tensor;           /* nonzero: update gets each parameter whole, on the
                                 calling thread (for norms over a tensor) */
    void *user;               /* for the callbacks (cfg->def->user) */
};
/* A config for def: lr = def->lr, hyper[] = def->defaults, def set (other fields
 * as cr_optim_defaults(CR_OPTIM_SGD), unused). def is checked by
 * cr_optim_config_check / cr_optim_new, not here. */
cr_optim_config cr_optim_def_defaults(const cr_optim_def *def);

/* Gradient clipping, between backward and cr_optim_step.
 * By global norm: N = √(Σ over all grads of g²) (computed in double, without
 * overflow); if N > max_norm every g ← g · max_norm / N (so the new norm is
 * max_norm; PyTorch adds 1e-6 to N, we do not). Stores N before clipping in *norm
 * (norm may be NULL). If N is not finite nothing is changed, CR_OK is returned and
 * *norm is Inf/NaN for the caller to see. CR_ERR_ARG on NULL p or max_norm < 0 or
 * NaN ("clip_grad_norm: max_norm = -1 is not >= 0"): nothing is changed, *norm
 * untouched. */
cr_status cr_clip_grad_norm(cr_params *p, double max_norm, double *norm, char *err,
                            size_t errsize);
/* By value: every g ← min(max(g, −clip), clip) (NaN stays NaN). CR_ERR_ARG on NULL
 * p or clip < 0 or NaN ("clip_grad_value: clip = -1 is not >= 0"; nothing changed). */
cr_status cr_clip_grad_value(cr_params *p, double clip, char *err, size_t errsize);

/* Learning-rate schedules. t is the number of steps already taken (0 for the first
 * update: pass cr_optim_step_count(o) before cr_optim_step). With W warm-up steps
 * (warmup > 0): lr(t) = base(0) · (t+1)/W for t < W, then base(t − W); W = 0: base(t). */
typedef enum cr_schedule_kind {
    CR_SCHED_CONSTANT = 0, /* base(t) = η₀ */
    CR_SCHED_INV_SQRT,     /* base(t) = η₀ / √(t+1)  (the notes' C/√t with t from 1) */
    CR_SCHED_INV,          /* base(t) = η₀ / (1 + k t) */
    CR_SCHED_STEP,         /* base(t) = η₀ · γ^⌊t / s⌋ */
    CR_SCHED_EXP,          /* base(t) = η₀ · γ^t */
    CR_SCHED_COSINE        /* base(t) = η_min + (η₀ − η_min)(1 + cos(π min(t,T)/T))/2:
                              η₀ at t = 0, η_min from t = T on */
} cr_schedule_kind;
#define CR_SCHED_KIND_COUNT 6

typedef struct cr_schedule {
    cr_schedule_kind kind;
    double lr0;     /* η₀ (C for INV_SQRT) >= 0 */
    double k;       /* INV: k >= 0. Default 0.01 */
    double gamma;   /* STEP, EXP: γ in (0, 1]. Default 0.1 (STEP), 0.99 (EXP) */
    long step_size; /* STEP: s >= 1. Default 1000 */
    long T;         /* COSINE: T >= 1. Default 10000 */
    double lr_min;  /* COSINE: 0 <= η_min <= η₀. Default 0 */
    long warmup;    /* W >= 0 linear warm-up steps. Default 0 */
} cr_schedule;

/* Defaults for kind with η₀ = lr0 (see the fields). */
cr_schedule cr_schedule_defaults(cr_schedule_kind kind, double lr0);
/* Validate the fields the kind uses (ranges above; also lr0 finite) -> CR_ERR_ARG
 * and a message in err ("schedule: gamma = 0 is outside (0, 1]"). */
cr_status cr_schedule_check(const cr_schedule *s, char *err, size_t errsize);
/* The learning rate for step t (t < 0 is taken as 0). For a schedule that fails
 * cr_schedule_check the result is unspecified but never a crash; NULL gives 0. */
double cr_schedule_lr(const cr_schedule *s, long t);
/* "constant", "invsqrt", "inv", "step", "exp", "cosine" (case-insensitive; the names
 * of cr_schedule_kind_name) -> *kind; CR_ERR_ARG else. */
cr_status cr_schedule_kind_from_name(const char *name, cr_schedule_kind *kind);
const char *cr_schedule_kind_name(cr_schedule_kind kind); /* "?" if out of range */

/* Metadata: a small ordered key -> value container saved beside the model (the
 * training program keeps epoch, batch position, schedule step and RNG state here).
 * Keys are 1..63 bytes; a value is a u64 or a double (store signed integers as
 * (uint64_t) casts). Setting an existing key replaces its value and type. */
typedef struct cr_meta cr_meta;
typedef enum cr_meta_type { CR_META_U64 = 1, CR_META_F64 = 2 } cr_meta_type;

/* New empty container; caller owns it (cr_meta_free). NULL on allocation failure. */
cr_meta *cr_meta_new(void);
void cr_meta_free(cr_meta *m);                  /* NULL is safe */
void cr_meta_clear(cr_meta *m);                 /* remove every entry */
/* CR_ERR_ARG on NULL m/key or a key that is empty or longer than 63 bytes;
 * CR_ERR_NOMEM (container unchanged). */
cr_status cr_meta_set_u64(cr_meta *m, const char *key, uint64_t v);
cr_status cr_meta_set_f64(cr_meta *m, const char *key, double v);
/* CR_ERR_ARG if the key is absent or holds the other type (*v untouched). */
cr_status cr_meta_get_u64(const cr_meta *m, const char *key, uint64_t *v);
cr_status cr_meta_get_f64(const cr_meta *m, const char *key, double *v);
size_t cr_meta_count(const cr_meta *m);
const char *cr_meta_key(const cr_meta *m, size_t i);     /* NULL if out of range */
cr_meta_type cr_meta_type_at(const cr_meta *m, size_t i); /* 0 if out of range */

/* CRC-32 (IEEE 802.3, reflected polynomial 0xEDB88320, as zlib's crc32): pass 0
 * to start and the previous result to continue. Used by the model format. */
uint32_t cr_crc32(uint32_t crc, const void *buf, size_t n);

/* Model file format version written by cr_save (docs/FORMAT.md). */
#define CR_FORMAT_VERSION 1

/* Save params (every tensor: name, shape, data), and optionally the optimizer's
 * kind, hyper-parameters, step counter and state tensors, and meta, to path.
 * Atomic: writes "<path>.tmp.<pid>" in the same directory, fsyncs it and renames
 * it over path; on any failure the temporary file is removed and an existing file
 * at path is untouched. A symbolic link at path is written through, as cp does
 * (the file it points to is replaced atomically; the link stays a link). Stale
 * "<path>.tmp.<pid>" files of saves that were killed (their process no longer
 * exists) are removed first. opt and meta may be NULL. Returns CR_OK, CR_ERR_ARG (NULL
 * path/params) or CR_ERR_IO, with "<path>: <reason>" in err (may be NULL). */
cr_status cr_save(const char *path, const cr_params *params, const cr_optim *opt,
                  const cr_meta *meta, char *err, size_t errsize);
/* Load path into params (and opt, meta when non-NULL). The whole file is read and
 * validated first — magic, version, sizes, checksum, then every parameter name and
 * shape against params (the file must hold exactly params' names, in any order)
 * and, when opt is given, the optimizer kind (user-defined: name and
 * hyper-parameter names) and state names/shapes; only then
 * are values copied. On any error the caller's objects are exactly as before and
 * err says what is wrong ("model.crm: parameter fc1.W has shape 784x64 in the file
 * but 784x128 in the model"). A file written by the other precision is converted
 * (double -> float rounds to nearest; a finite value beyond FLT_MAX is refused
 * with CR_ERR_FORMAT). opt: restores kind- or name-matched state, step
 * counter and every hyper-parameter (lr included); error if the file has no
 * optimizer section. meta: replaced by the file's entries (emptied if it has
 * none). A file's optimizer section or meta is ignored when opt/meta is NULL.
 * params may be NULL to read only opt and/or meta.
 * Returns CR_OK, CR_ERR_ARG, CR_ERR_IO (cannot open/read), CR_ERR_FORMAT (not a
 * model file, corrupt, truncated, newer version, no optimizer section, a step
 * counter above CR_OPTIM_MAX_STEPS), CR_ERR_SHAPE (names, shapes, the optimizer
 * kind or name, or a user-defined optimizer's hyper-parameter names do not match)
 * or CR_ERR_NOMEM (also: the header declares more than cr_memory_limit(), refused
 * before the rest is read). */
cr_status cr_load(const char *path, cr_params *params, cr_optim *opt, cr_meta *meta,
                  char *err, size_t errsize);
/* cr_load on a file image in memory (size bytes at data, not modified, not kept):
 * for models embedded in a program and for fuzzing the reader. name stands for
 * the path in messages (NULL: "<buffer>"). CR_ERR_ARG if data is NULL and size > 0. */
cr_status cr_load_buffer(const void *data, size_t size, const char *name, cr_params *params,
                         cr_optim *opt, cr_meta *meta, char *err, size_t errsize);
/* Read a model file whole into memory, once (so that a pipe works), for
 * cr_file_info_buffer and cr_load_buffer: the header is checked first, and a file
 * declaring more than cr_memory_limit() is refused before anything else is read.
 * *data is cr_malloc'ed (the caller frees it with cr_free), *size its length.
 * Errors as cr_load for the header, CR_ERR_NOMEM beyond the limit. */
cr_status cr_load_file_image(const char *path, void **data, size_t *size, char *err,
                             size_t errsize);
/* What a model file image holds, validated as cr_load_buffer validates it (magic,
 * version, sizes, checksum, every section), without touching any model: lets a
 * program compare the model it is about to build with the file BEFORE building it
 * (a tiny file that declares a huge architecture in its metadata is then refused
 * without allocating that architecture). Errors as cr_load_buffer. */
typedef struct cr_file_info {
    int real_size;            /* 4 or 8: the precision the file was written in */
    size_t n_params;          /* tensors in the parameter section */
    uint64_t param_values;    /* values in them, all tensors together */
    int has_optim;            /* an optimizer section is present */
    size_t n_meta;            /* metadata entries */
} cr_file_info;
cr_status cr_file_info_buffer(const void *data, size_t size, const char *name,
                              cr_file_info *info, char *err, size_t errsize);

/* ============================================================ models (layer stacks) */
/* (nn/model.c, nn/spec.c) A model is a sequence of layers over samples of a fixed
 * shape: a vector of F features, or an image C x H x W. A batch adds a leading N
 * (N x F, N x C x H x W). Shapes are inferred layer by layer as layers are added,
 * so a wrong stack fails when it is built, naming the layer by its 1-based position
 * and its text: "layer 4 (conv 16 3x3): input is 8x13x13 but ...".
 *
 * Text form ("spec"): layers separated by commas; words separated by blanks; words
 * are case-insensitive. A size K is "K" or "KHxKW" (height x width).
 *   dense N                         fully connected, N outputs; input must be features
 *   conv O K [stride S] [pad P] [dilation D]
 *                                   2-D convolution (cr_conv2d) to O channels, kernel K;
 *                                   S, D default 1, P 0; S, P, D are sizes as K ("pad 1x0")
 *   maxpool K [stride S] [pad P]    max pooling (cr_max_pool2d); S defaults to K, P <= K/2
 *   avgpool K [stride S] [pad P]    average pooling (cr_avg_pool2d), padding counted
 *   globalavgpool                   (also "gap") C x H x W -> C (cr_global_avg_pool2d)
 *   flatten                         C x H x W -> C*H*W (cr_flatten, a view)
 *   batchnorm                       (also "bn") over features or channels (cr_batchnorm,
 *                                   momentum 0.1, eps 1e-5)
 *   dropout P                       inverted dropout, 0 <= P < 1, training mode only
 *   standardize                     y = (x - mean) * inv_std per value of a sample (the
 *                                   input statistics a program computes on its training
 *                                   data: buffers "l<i>.standardize.mean"/".inv_std",
 *                                   shaped as the layer's input, 0 and 1 until set;
 *                                   saved and loaded with the model; no parameters)
 *   relu | tanh | sigmoid | softmax | leaky_relu [SLOPE]
 *                                   activations (softmax: features only; SLOPE default
 *                                   CR_LEAKY_SLOPE, 0 <= SLOPE <= 1)
 * Example, on 1 x 28 x 28: "conv 8 3x3 pad 1, relu, maxpool 2, conv 16 3x3 pad 1, relu,
 * maxpool 2, flatten, dense 128, relu, dense 10" (8x28x28, 8x14x14, 16x14x14, 16x7x7,
 * 784, 128, 10; 103,018 parameters).
 * Limits (each refused with a message, before anything is allocated): a spec of at
 * most CR_MODEL_SPEC_MAX bytes and CR_MODEL_MAX_LAYERS layers; widths and channels
 * 1..2^24; kernel, stride, dilation 1..65536; padding 0..65536; at most
 * CR_MODEL_MAX_PARAMS scalars of parameters; every per-sample shape < 2^31 values.
 *
 * Parameters are named "l<i>.<kind>.<name>" with i the 0-based layer index:
 * "l0.conv.W" (O x C x KH x KW), "l0.conv.b" (O), "l5.dense.W" (in x out, as
 * cr_linear), "l5.dense.b", "l1.bn.gamma", "l1.bn.beta", and the buffers
 * "l1.bn.running_mean", "l1.bn.running_var".
 *
 * cr_mlp stays as it is: cr_mlp_new({F, h1, .., out}, hidden, NONE) is the model
 * "dense h1, <hidden>, .., dense out" on F features — same initial weights from the
 * same rng, same outputs — but with cr_mlp's parameter names ("fc1.W"), so files
 * written by cr_mlp users (and the train program) load as before with cr_load. */
#define CR_MODEL_SPEC_MAX 4096                 /* bytes of spec text */
#define CR_MODEL_MAX_LAYERS 256
#define CR_MODEL_MAX_PARAMS ((size_t)1 << 28)  /* trainable scalars (1 GiB in float) */

typedef enum cr_layer_kind {
    CR_LAYER_DENSE = 1,
    CR_LAYER_CONV2D,
    CR_LAYER_MAXPOOL2D,
    CR_LAYER_AVGPOOL2D,
    CR_LAYER_GLOBAL_AVGPOOL2D,
    CR_LAYER_FLATTEN,
    CR_LAYER_BATCHNORM,
    CR_LAYER_DROPOUT,
    CR_LAYER_ACTIVATION,
    CR_LAYER_STANDARDIZE
} cr_layer_kind;
/* One layer, for cr_model_add; zero what a kind does not use. Sizes index 0 is the
 * height axis, 1 the width axis; stride/dilation 0 mean the default. */
typedef struct cr_layer {
    cr_layer_kind kind;
    int units;          /* DENSE: outputs; CONV2D: output channels */
    int kernel[2];      /* CONV2D, MAXPOOL2D, AVGPOOL2D */
    int stride[2];      /* 0: 1 (conv), the kernel (pools) */
    int padding[2];
    int dilation[2];    /* CONV2D; 0: 1 */
    cr_activation act;  /* ACTIVATION: SIGMOID, TANH, RELU, LEAKY_RELU or SOFTMAX */
    double value;       /* DROPOUT: p; LEAKY_RELU: slope (0: CR_LEAKY_SLOPE) */
} cr_layer;

typedef struct cr_model cr_model;

/* An empty model over samples of shape in_shape: ndim 1 (features) or 3 (C, H, W).
 * Caller owns it (cr_model_free). Weights of added layers are zero until
 * cr_model_init. NULL with a message on a bad shape or no memory. */
cr_model *cr_model_new(int ndim, const int *in_shape, char *err, size_t errsize);
void cr_model_free(cr_model *m);   /* NULL is safe */
/* Append one layer after checking its fields and inferring its output shape; the
 * layer's parameters are allocated (zero; gamma 1, running_var 1) only once the
 * model's parameter count is known to stay within CR_MODEL_MAX_PARAMS. CR_ERR_ARG
 * (bad field, NULL), CR_ERR_SHAPE (does not fit its input) or CR_ERR_NOMEM, with
 * "layer <k> (<text>): ..." in err; the model is unchanged on error. */
cr_status cr_model_add(cr_model *m, const cr_layer *l, char *err, size_t errsize);
/* Append the layers of a spec (grammar above): all of them or, on any error, none
 * (errors as cr_model_add, plus CR_ERR_ARG for syntax, naming the layer). */
cr_status cr_model_add_spec(cr_model *m, const char *spec, char *err, size_t errsize);
/* cr_model_new + cr_model_add_spec + cr_model_init(rng): the usual way to make one.
 * NULL with the message on any error (nothing stays allocated). */
cr_model *cr_model_from_spec(const char *spec, int ndim, const int *in_shape, cr_rng *rng,
                             char *err, size_t errsize);
/* (Re)initialise every parameter from rng in layer order with the library's
 * initializers (not PyTorch's defaults): a dense or conv weight is He normal,
 * N(0, 2/fan_in), when the next layer other than batchnorm/dropout is relu or
 * leaky_relu, else Xavier uniform (cr_mlp's CR_INIT_AUTO rule); conv fans are
 * C KH KW (in) and O KH KW (out); biases and beta 0, gamma 1, running statistics 0
 * and 1. Then seeds the model's dropout generator from two u32 draws (as cr_mlp).
 * CR_ERR_ARG on NULL m or rng. */
cr_status cr_model_init(cr_model *m, cr_rng *rng, char *err, size_t errsize);
/* x (N x F, or N x C x H x W; an image model also takes N x (C H W), reshaped by a
 * copy) -> N x (output shape), through every layer in the model's mode (training:
 * batch statistics, dropout; evaluation: running statistics, no dropout). Tape owns
 * the result; a tape error naming "model" on a shape mismatch, or the failing op's.
 * The model must outlive the tape's recording (nodes reference its tensors and its
 * dropout generator). A relu layer directly followed by a max pool is recorded as
 * the max pool, then the relu: the same values and gradients, the relu on the
 * smaller tensor. */
cr_tensor *cr_model_forward(cr_tape *t, cr_model *m, cr_tensor *x);
/* Mode: 1 training (the initial mode), 0 evaluation. Returns the previous mode (-1
 * for NULL m). */
int cr_model_set_training(cr_model *m, int on);
/* Trainable parameters in layer order (what an optimizer updates); the batchnorm
 * running statistics; everything save/load persists (layer order). All owned by the
 * model; NULL for NULL m. */
cr_params *cr_model_params(cr_model *m);
cr_params *cr_model_buffers(cr_model *m);
cr_params *cr_model_state(cr_model *m);
/* Number of trainable scalars; of layers. 0 for NULL m. */
size_t cr_model_param_count(const cr_model *m);
int cr_model_n_layers(const cr_model *m);
/* Output shape per sample of layer i (0-based), i = -1 for the input: writes up to
 * 3 dims into shape and returns ndim (1 or 3), or 0 when i is out of range. */
int cr_model_shape(const cr_model *m, int i, int *shape);
/* Canonical text of layer i ("conv 16 3x3 pad 1"); NULL out of range. Owned by the
 * model. */
const char *cr_model_layer_text(const cr_model *m, int i);
/* The whole canonical spec ("l1, l2, ...") into buf as snprintf does; returns its
 * length (write nothing with size 0). It rebuilds the same layers. */
size_t cr_model_spec(const cr_model *m, char *buf, size_t size);
/* The model's dropout generator (owned by it; NULL for NULL m). */
cr_rng *cr_model_rng(cr_model *m);
/* cr_save of the model's state with opt and meta (both may be NULL) plus the keys
 * that describe it: "model.version", "model.input.ndim", "model.input.<d>",
 * "model.spec.bytes", "model.spec.<k>" (the canonical spec, 8 bytes per u64, little
 * end first) and "model.dropout_rng.state"/".inc". Keys of meta starting with
 * "model." are replaced by these. Atomic as cr_save; same errors, and CR_ERR_ARG
 * for a model without layers or whose canonical spec exceeds CR_MODEL_SPEC_MAX. */
cr_status cr_model_save(const cr_model *m, const char *path, const cr_optim *opt,
                        const cr_meta *meta, char *err, size_t errsize);
/* Rebuild a model from a file written by cr_model_save, without the code that made
 * it: reads the whole file, validates it (as cr_load), rebuilds the layers from the
 * stored spec and input shape, loads every tensor and the dropout generator, and
 * puts the file's metadata into meta when it is not NULL (the optimizer section is
 * ignored: make the optimizer on cr_model_params, then cr_load(path,
 * cr_model_state(m), opt, NULL, ...) to resume). Caller owns the model; the model
 * is in training mode. NULL on any error with "<path>: ..." in err (CR_ERR_* as
 * cr_load: unreadable, corrupt, truncated, not a model file, a stored spec that
 * does not build); then nothing is allocated and meta is unchanged. */
cr_model *cr_model_load(const char *path, cr_meta *meta, char *err, size_t errsize);
/* The same from a file image in memory (not modified, not kept); name stands for
 * the path in messages (NULL: "<buffer>"). */
cr_model *cr_model_load_buffer(const void *data, size_t size, const char *name, cr_meta *meta,
                               char *err, size_t errsize);

/* =========================================================== data */
/* (section owned by data/) */

/* A labelled classification dataset held compactly: IDX pixels stay bytes (the
 * 60000 x 784 Fashion-MNIST training set is 47 MB) and become cr_real only per
 * batch in cr_dataset_gather; CSV features are floats. Fields are read-only for
 * users. Made by a reader or cr_dataset_from_arrays, freed by cr_dataset_free. */
typedef struct cr_dataset {
    size_t n;              /* number of samples, 1..INT_MAX */
    size_t n_features;     /* values per sample (rows*cols for images), 1..INT_MAX */
    int n_classes;         /* labels are 0..n_classes-1 */
    int rows, cols;        /* image size for IDX data; 0, 0 otherwise */
    uint8_t *pixels;       /* IDX: n x n_features bytes, row-major; else NULL */
    float *values;         /* CSV/arrays: n x n_features values; else NULL */
    int *labels;           /* n class indices */
    float *mean, *inv_std; /* per-feature standardisation, NULL when not set */
    float *targets;        /* regression (CSV read with regression set): n real
                              targets; then labels is NULL and n_classes 0. NULL
                              for classification data */
} cr_dataset;

/* Free a dataset and everything it holds. NULL is safe. */
void cr_dataset_free(cr_dataset *d);

/* Load an IDX image file (idx3, magic 0x00000803: count x rows x cols unsigned
 * bytes) and its IDX label file (idx1, magic 0x00000801: count bytes), as MNIST and
 * Fashion-MNIST are distributed. Gzip-compressed files (recognised by content, not
 * name) are inflated with zlib when the library was built with it, otherwise the
 * result is CR_ERR_UNSUPPORTED and err says to run `gunzip -k FILE` or install
 * zlib1g-dev and rebuild. Checked: magic, rank, every dimension (nonzero, at most
 * INT_MAX, products without overflow), image/label count agreement, exact data
 * length (truncation and trailing bytes are errors), labels below n_classes
 * (n_classes 0: max label + 1). What the headers commit to is checked against
 * cr_memory_limit() before any data is read (CR_ERR_NOMEM, saying how much), and
 * gzip data is inflated no further than the headers promise (plus one 4 KiB chunk
 * to see that nothing follows). On success *out is a new dataset the caller frees.
 * On failure *out is untouched, nothing is kept, and err (errsize bytes; may be NULL)
 * names the file and the problem. Returns CR_ERR_IO (cannot open/read),
 * CR_ERR_FORMAT, CR_ERR_NOMEM, CR_ERR_UNSUPPORTED or CR_ERR_ARG (NULL path). */
cr_status cr_idx_load(cr_dataset **out, const char *images, const char *labels,
                      int n_classes, char *err, size_t errsize);
/* The same on memory buffers (plain or gzip); messages call them "images" and
 * "labels". For tests and fuzzing. */
cr_status cr_idx_load_mem(cr_dataset **out, const void *images, size_t images_len,
                          const void *labels, size_t labels_len, int n_classes,
                          char *err, size_t errsize);
/* Load the training and/or test set from a directory holding the distributed file
 * names: train-images-idx3-ubyte, train-labels-idx1-ubyte, t10k-images-idx3-ubyte,
 * t10k-labels-idx1-ubyte (each also found with a .gz suffix, or with '.' instead
 * of the '-' before "idx"). train or test may be NULL to skip that set. Both or
 * nothing: on failure neither output is touched. Errors as cr_idx_load, plus
 * CR_ERR_IO naming the file that is missing. */
cr_status cr_idx_load_dir(cr_dataset **train, cr_dataset **test, const char *dir,
                          int n_classes, char *err, size_t errsize);

/* How to read a CSV table of numbers, one sample per line, fields separated by
 * commas (spaces and tabs around fields, LF, CRLF or bare-CR line endings, a UTF-8
 * byte-order mark at the start and blank lines are fine). */
typedef struct cr_csv_options {
    int header;        /* 1: the first line is a header; 0: none; -1: auto (a header
                          if a field of the first line is not a number) */
    int label_column;  /* 0-based column of the class label; -1: the last column */
    int n_classes;     /* > 0: labels must be below it; 0: max label + 1 */
    int regression;    /* 1: the label column holds real-valued targets (any finite
                          number within float range) read into d->targets, not
                          class labels; n_classes must then be 0. Default 0 */
} cr_csv_options;
/* Defaults: header auto (-1), label in the last column (-1), n_classes 0,
 * classification. */
cr_csv_options cr_csv_defaults(void);
/* Load a CSV classification table: every line must have the same number of fields
 * (>= 2); features must be finite numbers within float range; the label a
 * non-negative integer (a real-valued target with opt->regression). opt NULL means the defaults. On failure *out is untouched
 * and err says where ("data.csv:17: expected 5 fields, found 4", "data.csv:3:2:
 * 'abc' is not a number": line, then the 1-based field; bytes of the file that are
 * not printable ASCII appear as \xNN). Returns CR_ERR_IO, CR_ERR_FORMAT,
 * CR_ERR_NOMEM (also beyond cr_memory_limit(), checked as the text and table grow)
 * or CR_ERR_ARG. Gzip-compressed files work as for IDX. */
cr_status cr_csv_load(cr_dataset **out, const char *path, const cr_csv_options *opt,
                      char *err, size_t errsize);
/* The same on text in memory (len bytes, need not be NUL-terminated); name is used
 * in messages ("<memory>" when NULL). */
cr_status cr_csv_load_mem(cr_dataset **out, const char *text, size_t len,
                          const char *name, const cr_csv_options *opt, char *err,
                          size_t errsize);
/* A dataset copied from arrays: values is n x n_features, labels n entries in
 * 0..n_classes-1. Caller owns the result. CR_ERR_ARG on bad sizes or labels,
 * CR_ERR_FORMAT on a non-finite value, CR_ERR_NOMEM. */
cr_status cr_dataset_from_arrays(cr_dataset **out, const float *values, const int *labels,
                                 size_t n, size_t n_features, int n_classes,
                                 char *err, size_t errsize);

/* Per-feature standardisation. Values reach the model as v = pixel/255 (IDX) or the
 * stored value (CSV), then, when set, (v - mean[j]) * inv_std[j].
 * cr_dataset_standardize computes mean and standard deviation over the samples
 * idx[0..n) of d (all of d when idx is NULL) — use the training part only — and
 * installs them; a feature whose std is below 1e-6 (e.g. a constant border pixel)
 * gets inv_std = 1 (only centred). CR_ERR_ARG on NULL d, idx with n = 0 or an
 * index outside 0..d->n-1 ("dataset_standardize: idx[3] = 70 is outside 0..59"),
 * CR_ERR_NOMEM; d unchanged on error. */
cr_status cr_dataset_standardize(cr_dataset *d, const int *idx, size_t n, char *err,
                                 size_t errsize);
/* Install given mean and inv_std (n_features each, copied), e.g. the training set's
 * on the test set, or values saved with a model. mean NULL removes standardisation.
 * CR_ERR_ARG (NULL d, or only one of mean/inv_std), CR_ERR_NOMEM (d unchanged), with
 * a message ("dataset_set_norm: ..."). */
cr_status cr_dataset_set_norm(cr_dataset *d, const float *mean, const float *inv_std,
                              char *err, size_t errsize);

/* Write samples idx[0..count) into x and their labels into y, without allocating:
 * row i of x (x->data + i*n_features) gets sample idx[i]'s values as above, and
 * y->data[i] its class as a cr_real (the target format of cr_softmax_cross_entropy),
 * or its real target for regression data (d->targets).
 * x must hold at least count*n_features values, one sample per index of its first
 * axis: the product of its other dimensions equal to n_features (N x F, or an
 * image batch N x 1 x rows x cols with no reshape; a 1-D x is one sample); y (may
 * be NULL) at least count values; rows past count are left as they are. Works on heap tensors and on tape leaves (then cr_tape_forward replays
 * on the new batch); for an epoch's smaller last batch keep a second pair of
 * tensors (and recorded tape) of that size, as examples/train does. Returns CR_OK,
 * or CR_ERR_ARG (NULL, index outside 0..n-1) / CR_ERR_SHAPE (tensor too small, sample
 * size not n_features) having written nothing, with a message in err
 * ("dataset_gather: idx[5] = -1 is outside 0..199"). */
cr_status cr_dataset_gather(const cr_dataset *d, const int *idx, size_t count,
                            cr_tensor *x, cr_tensor *y, char *err, size_t errsize);
/* cr_dataset_gather with large batches (from 32K values) split by rows over
 * pool's threads (the program's pool, borrowed for the call; NULL: one thread); the
 * same values for any thread count. Same checks and results. */
cr_status cr_dataset_gather_pool(const cr_dataset *d, const int *idx, size_t count,
                                 cr_tensor *x, cr_tensor *y, cr_pool *pool, char *err,
                                 size_t errsize);

/* A seeded random partition of the sample indices 0..n-1 into a training part and a
 * validation part: two views of one permutation (no sample data is copied). */
typedef struct cr_split {
    int *train;        /* n_train indices; owns the block freed by cr_split_free */
    size_t n_train;
    int *val;          /* n_val indices (points into the same block) */
    size_t n_val;
} cr_split;
/* Fill s with a permutation of 0..n-1 drawn from seed: the first n - n_val indices
 * are train, the last n_val validation. 1 <= n <= INT_MAX, n_val <= n. CR_ERR_ARG,
 * CR_ERR_NOMEM (s untouched on error), with a message ("split: ..."). */
cr_status cr_split_make(cr_split *s, size_t n, size_t n_val, uint64_t seed, char *err,
                        size_t errsize);
/* Free the indices and zero s. NULL is safe. */
void cr_split_free(cr_split *s);

/* Minibatches over a set of sample indices. */
typedef struct cr_batcher cr_batcher;
#define CR_BATCH_SHUFFLE   1u  /* a new seeded order every epoch */
#define CR_BATCH_DROP_LAST 2u  /* skip the last batch when it is partial */
/* Iterate over idx[0..n) (copied; NULL means 0..n-1) in batches of batch_size.
 * With CR_BATCH_SHUFFLE, epoch e's order is a Fisher-Yates shuffle of idx by a
 * cr_rng seeded from (seed, e): it depends only on seed and e, so resuming at
 * (epoch, batch) needs no other state; without it the order is idx's. The last
 * batch of an epoch is smaller (n % batch_size samples) when n is not a multiple
 * of batch_size, unless CR_BATCH_DROP_LAST. Starts at epoch 0, batch 0. Caller
 * owns it; NULL on n or batch_size of 0 or above INT_MAX ("batcher: batch_size = 0
 * is outside 1..2147483647"), or allocation failure, with a message in err. */
cr_batcher *cr_batcher_new(const int *idx, size_t n, size_t batch_size, unsigned flags,
                           uint64_t seed, char *err, size_t errsize);
void cr_batcher_free(cr_batcher *b);           /* NULL is safe */
/* Go to batch `batch` (0-based) of epoch `epoch`, computing that epoch's order.
 * CR_ERR_ARG (b unchanged) on NULL b or batch > cr_batcher_batches(b), with a
 * message ("batcher: batch 9 is past the end of an epoch of 8 batches"). */
cr_status cr_batcher_seek(cr_batcher *b, uint64_t epoch, size_t batch, char *err,
                          size_t errsize);
/* Next batch of the current epoch: sets *idx to its sample indices (owned by the
 * batcher, valid until the next seek) and returns how many (<= batch_size); returns
 * 0 when the epoch is done — seek to the next epoch to go on. */
size_t cr_batcher_next(cr_batcher *b, const int **idx);
size_t cr_batcher_batches(const cr_batcher *b);   /* batches per epoch */
uint64_t cr_batcher_epoch(const cr_batcher *b);   /* current epoch */
size_t cr_batcher_position(const cr_batcher *b);  /* batches handed out this epoch */

/* ============================================ interactive page of a graph (#18) */

/* Options of cr_tape_html; a NULL pointer or zeroed struct gives the defaults. */
typedef struct cr_html_options {
    const char *lang;       /* words of the page: "en" (default, also NULL) or "zh" */
    const char *title;      /* heading and window title; NULL: "chainrule: the chain
                               rule, step by step" (or its Chinese) */
    size_t max_elements;    /* elements of each tensor written for its table; 0: 64 */
    int expand;             /* 0: the graph is drawn by layer (scope, see
                               cr_tensor_label), one closed box each, click to open;
                               1: every layer starts open */
} cr_html_options;
/* Write one self-contained HTML page of t's graph to f: no network access, no
 * external script, font or style sheet; it opens from disk in a current browser.
 * The page draws the graph (leaves, ops, parameters, the loss; values, shapes; one
 * box per layer, click to open) and steps through it with buttons or the arrow
 * keys: first the forward pass (each value appears in creation order), then the
 * backward pass of the last cr_backward, node by node, the current node
 * highlighted, the panel showing the trace's lines for that node (the same text
 * and digits as cr_tape_set_trace prints: incoming gradient, local derivatives,
 * products) and the running sum of a tensor reached by several paths, then the
 * totals. Clicking a node shows its elements (the first max_elements). To get
 * the backward steps, call it after cr_backward(t, loss); loss NULL means the
 * loss of the last backward pass; when loss is not that one (or there was no
 * pass) the page has the forward steps only. The steps are recomputed into
 * scratch buffers (as the trace would print them with parameters zeroed before
 * the pass); t's gradients and every pointer are left as they were. t's arena may
 * grow by what the ops' backward functions use. f stays the caller's. Returns
 * CR_OK; CR_ERR_ARG on NULL t or f, an unknown lang, or a loss of another tape or
 * computed in no-grad mode; CR_ERR_STATE when t has an error; CR_ERR_NOMEM;
 * CR_ERR_IO when writing fails. */
cr_status cr_tape_html(cr_tape *t, const cr_tensor *loss, FILE *f, const cr_html_options *opt);
/* ============================================= text for character models (issue 15) */
/* (data/text.c) A UTF-8 text as Unicode code points, its vocabulary, the hold-out
 * split and batches of B parallel streams x T steps for truncated BPTT. */

/* A text: n >= 1 code points. Made by cr_text_load*, freed by cr_text_free. */
typedef struct cr_text {
    uint32_t *cp;      /* n Unicode scalar values (U+0000..U+10FFFF, no surrogates) */
    size_t n;
} cr_text;
/* Read a UTF-8 file (gzip-compressed works as for IDX) into code points, every
 * character as it is (line ends included); a byte-order mark at the start is
 * dropped. Strict UTF-8: overlong forms, surrogates, code points above U+10FFFF,
 * stray continuation bytes and a character cut by the end of the file are refused
 * with the 0-based byte offset and the bytes ("poems.txt: invalid UTF-8 at byte
 * 1234 (0xC3 0x28): a lead byte not followed by enough continuation bytes"). An
 * empty file (or only a BOM) is refused. The file and 4 bytes per byte for the
 * code points are checked against cr_memory_limit() before they are allocated.
 * On success *out is a new text the caller frees; on failure *out is untouched.
 * CR_ERR_ARG (NULL), CR_ERR_IO, CR_ERR_FORMAT, CR_ERR_NOMEM, CR_ERR_UNSUPPORTED. */
cr_status cr_text_load(cr_text **out, const char *path, char *err, size_t errsize);
/* The same on len bytes at data (not kept); name for messages ("<memory>" if NULL). */
cr_status cr_text_load_mem(cr_text **out, const void *data, size_t len, const char *name,
                           char *err, size_t errsize);
void cr_text_free(cr_text *t);   /* NULL is safe */
/* Hold out the LAST floor(n * val_fraction) characters for validation (no
 * shuffling: text is sequential): *n_train = n - *n_val characters from the start
 * train. The corpora of issue 15 use 0.1. CR_ERR_ARG (outputs untouched) on NULL,
 * val_fraction outside [0, 1), or fewer than 2 characters left for training. */
cr_status cr_text_split(size_t n, double val_fraction, size_t *n_train, size_t *n_val,
                        char *err, size_t errsize);

/* A vocabulary: the distinct code points of a text in increasing order; character
 * id i is cp[i] (0 <= i < size). Made by cr_vocab_build / cr_vocab_from_meta,
 * freed by cr_vocab_free; fields read-only. Build it over the whole corpus
 * (training and validation parts), as PyTorch's word_language_model does. */
typedef struct cr_vocab {
    uint32_t *cp;      /* size code points, strictly increasing */
    int size;          /* 1 .. 0x110000 */
} cr_vocab;
/* The vocabulary of cp[0..n), n >= 1. CR_ERR_ARG (NULL, n = 0, a value that is
 * not a Unicode scalar value), CR_ERR_NOMEM; *out untouched on error. */
cr_status cr_vocab_build(cr_vocab **out, const uint32_t *cp, size_t n, char *err,
                         size_t errsize);
void cr_vocab_free(cr_vocab *v);   /* NULL is safe */
/* The id of code point cp (binary search), -1 if absent or v is NULL. */
int cr_vocab_id(const cr_vocab *v, uint32_t cp);
/* ids[i] = id of cp[i] for i < n. CR_ERR_ARG, ids untouched, if a character is not
 * in v ("vocab: character U+00E9 at position 17 is not in the vocabulary of 65"). */
cr_status cr_vocab_encode(const cr_vocab *v, const uint32_t *cp, size_t n, int *ids,
                          char *err, size_t errsize);
/* UTF-8 of ids[0..n) into buf as snprintf does (at most size-1 bytes and a NUL,
 * nothing with size 0); returns the full length in bytes. An id outside 0..size-1
 * is written as U+FFFD. */
size_t cr_vocab_decode(const cr_vocab *v, const int *ids, size_t n, char *buf, size_t size);
/* Write code point cp as 1..4 bytes of UTF-8 at out (room for 4, not terminated);
 * returns the count, 0 (nothing written) for a surrogate or a value above U+10FFFF. */
int cr_utf8_put(uint32_t cp, char *out);
/* Store v in m, so that cr_model_save / cr_save keep it with the model: keys
 * "vocab.size" and "vocab.<k>", each u64 holding code points 2k (low 32 bits) and
 * 2k+1 (high 32 bits). CR_ERR_ARG (NULL or empty v), CR_ERR_NOMEM (m may then hold
 * some of the keys). */
cr_status cr_vocab_to_meta(const cr_vocab *v, cr_meta *m, char *err, size_t errsize);
/* Rebuild the vocabulary stored by cr_vocab_to_meta (e.g. the meta of
 * cr_model_load). CR_ERR_FORMAT if it is absent, incomplete, not increasing or not
 * code points; CR_ERR_NOMEM; *out untouched on error. */
cr_status cr_vocab_from_meta(cr_vocab **out, const cr_meta *m, char *err, size_t errsize);

/* Batches of B parallel streams x T steps (PyTorch's word_language_model
 * "batchify"): ids[0..n) is cut into B streams of L = floor(n / B) consecutive ids
 * (the n mod B last ones are dropped); stream b is ids[b L .. (b+1) L). Chunk c
 * covers positions c T .. c T + T - 1 of every stream and its targets the next
 * ones, so the hidden state of stream b at the end of chunk c is where chunk c+1
 * starts (carry it, detached). There are floor((L - 1) / T) chunks per epoch, all
 * full: unlike PyTorch's loop, a shorter last chunk is dropped, so one recorded
 * tape of T steps replays every chunk. */
typedef struct cr_seq_batcher cr_seq_batcher;
/* ids are copied. Caller owns the batcher. NULL with a message on NULL ids, batch
 * or steps < 1, streams shorter than steps + 1 ("seq_batcher: 100 ids make 32
 * streams of 3; a chunk of 64 steps needs streams of at least 65 ..."), or beyond
 * the memory limit / no memory. */
cr_seq_batcher *cr_seq_batcher_new(const int *ids, size_t n, int batch, int steps, char *err,
                                   size_t errsize);
void cr_seq_batcher_free(cr_seq_batcher *b);       /* NULL is safe */
size_t cr_seq_batcher_chunks(const cr_seq_batcher *b);   /* chunks per epoch; 0 for NULL */
/* Write chunk `chunk` (0-based, stateless: any order, so resuming needs only the
 * index) time-major: x->data[t*B + b] = stream b's id at position chunk*T + t, and
 * y->data[t*B + b] its next id (y may be NULL), as cr_real. x and y need at least
 * T*B values (any shape: T x B for cr_embedding); works on tape leaves for replay.
 * CR_ERR_ARG (NULL, chunk past the end), CR_ERR_SHAPE (too small), nothing written. */
cr_status cr_seq_batcher_get(const cr_seq_batcher *b, size_t chunk, cr_tensor *x, cr_tensor *y,
                             char *err, size_t errsize);
/* As cr_seq_batcher_get for streams first .. first + count - 1 only (one worker's
 * share of the batch in data-parallel training): x->data[t*count + s] = stream
 * first + s's id at position chunk*T + t. CR_ERR_ARG also for streams outside
 * 0 .. B - 1 or count < 1; nothing written on failure. */
cr_status cr_seq_batcher_get_streams(const cr_seq_batcher *b, size_t chunk, int first, int count,
                                     cr_tensor *x, cr_tensor *y, char *err, size_t errsize);

/* ====================================================== sequences (issue 15) */
/* (ops/embedding.c, ops/detach.c, ops/stack.c, nn/rnn.c) Ops for sequence models
 * and recurrent layers composed from ops: Elman RNN (tanh or relu), LSTM and GRU
 * with PyTorch's equations, gate order, parameter names and shapes. */

/* Row gather: table is V x E (trainable), idx any shape of rank 0..3 holding row
 * numbers stored as cr_real (as class targets are); y = idx.shape x E with
 * y[p, :] = table[idx[p], :] (nn.Embedding / F.embedding). dtable[idx[p], :] +=
 * dy[p, :]: a row used several times gets the sum; idx gets no gradient. The
 * indices are read and checked in forward, when recorded AND on every replay
 * (cr_tape_forward after writing the next batch into idx->data): an index that is
 * not a whole number in 0..V-1 (NaN included) is a sticky tape error naming it and
 * its position ("embedding: index 7 at position 5 (1, 2) of idx is not a whole
 * number in 0..4 (the table has 5 rows)"); cr_tape_forward then returns
 * CR_ERR_ARG. Backward uses the indices of the last forward. No heap allocation
 * (the node keeps idx->size ints in the arena). */
cr_tensor *cr_embedding(cr_tape *t, cr_tensor *table, cr_tensor *idx);
/* The same values without history (torch.Tensor.detach): y = x (a copy, made
 * again on replay), dx += 0, and y needs no gradient. Cuts the graph: between two
 * chunks of a sequence recorded on one tape, or before a value that must get no
 * gradient (a heap buffer with a gradient block, e.g. batch norm's running
 * statistics). x may be a heap tensor. */
cr_tensor *cr_detach(cr_tape *t, cr_tensor *x);
/* Join n >= 1 tensors of the same shape (rank 0..3) along a NEW axis (torch.stack):
 * y has rank + 1 and y[.., k, ..] = xs[k] with k at position axis (-1: last; any
 * of -(rank+1)..rank). dxs[k] += dy[.., k, ..]. */
cr_tensor *cr_stack(cr_tape *t, int n, cr_tensor *const *xs, int axis);
/* x[.., index, ..] along axis, which is removed (torch.select; x[:, i] for axis 1):
 * rank - 1 (a rank-1 x gives a rank-0 tensor). index may be negative (from the
 * end). dx[.., index, ..] += dy. */
cr_tensor *cr_select(cr_tape *t, cr_tensor *x, int axis, int index);
/* Split x along axis into its x->shape[axis] slices (torch.unbind): out[i] =
 * cr_select(t, x, axis, i), one node each. Returns the number of slices, or 0
 * with a tape error (cap smaller than that number, NULL out, bad axis). The
 * inverse of cr_stack on the same axis. For a part of several rows along an axis
 * (torch.split / chunk) use cr_slice. */
int cr_unbind(cr_tape *t, cr_tensor *x, int axis, cr_tensor **out, int cap);

/* ---- recurrent layers (nn/rnn.c), PyTorch's nn.RNN / nn.LSTM / nn.GRU, one time
 * step at a time. Notation: x_t is B x I (batch B, input size I; layer l > 0 takes
 * the output of layer l-1, B x H), h and c are B x H, W x is x W^T + b (x times the
 * transposed weight: weights are stored as PyTorch stores them), σ the sigmoid,
 * ⊙ the elementwise product. Gate blocks are stacked along the rows of w_ih/w_hh
 * in the order given.
 *   CR_RNN_TANH  h' = tanh(W_ih x + b_ih + W_hh h + b_hh)               G = 1
 *   CR_RNN_RELU  h' = relu(W_ih x + b_ih + W_hh h + b_hh)               G = 1
 *   CR_LSTM      gates i, f, g, o (G = 4):
 *                i = σ(W_ii x + b_ii + W_hi h + b_hi)   f = σ(W_if x + b_if + W_hf h + b_hf)
 *                g = tanh(W_ig x + b_ig + W_hg h + b_hg) o = σ(W_io x + b_io + W_ho h + b_ho)
 *                c' = f ⊙ c + i ⊙ g,   h' = o ⊙ tanh(c')
 *   CR_GRU       gates r, z, n (G = 3):
 *                r = σ(W_ir x + b_ir + W_hr h + b_hr)   z = σ(W_iz x + b_iz + W_hz h + b_hz)
 *                n = tanh(W_in x + b_in + r ⊙ (W_hn h + b_hn))
 *                h' = (1 - z) ⊙ n + z ⊙ h   (computed as n + z ⊙ (h - n))
 * Layers: layer l's h' is layer l+1's x; with dropout p > 0, in training, layer
 * l's output goes through inverted dropout (cr_dropout) before layer l+1 (not after
 * the last layer), as PyTorch. Everything is recorded as ops (cr_matmul with the
 * weight transposed, cr_add, cr_slice for the gate blocks, cr_sigmoid, cr_tanh
 * (the LSTM: cr_gate, both at once, and b_ih + b_hh added as one bias),
 * cr_mul, ...): backward is the chain rule over them, nothing hand-written.
 *
 * Parameters (cr_rnn_params, PyTorch's names, shapes and order; save/load with
 * cr_save/cr_load through that list, or cr_params_extend it under a prefix such as
 * "rnn." into a model's list), for each layer l = 0..L-1:
 *   "weight_ih_l<l>"  G*H x I (l = 0) or G*H x H (l > 0)
 *   "weight_hh_l<l>"  G*H x H
 *   "bias_ih_l<l>"    G*H
 *   "bias_hh_l<l>"    G*H
 * A PyTorch state_dict of the same module holds the same tensors under the same
 * names (bidirectional layers and proj_size are not supported).
 *
 * Truncated backpropagation through time (TBPTT), recorded once and replayed:
 *     cr_rnn_state carry;                        heap B x H tensors, zeros
 *     cr_rnn_state_alloc(r, B, &carry, err, sizeof err);
 *     cr_rnn_state s = carry;                    record one chunk of T steps:
 *     for (k = 0; k < T; k++) out[k] = cr_rnn_step(t, r, x[k], &s, 1, rng);
 *     loss = ...(out[0..T)...);                  s now holds the chunk's last state
 *     per chunk: write the chunk's inputs into x[k]->data (and the targets);
 *                cr_tape_forward(t); cr_backward(t, loss); optimizer step;
 *                cr_rnn_state_copy(&carry, &s, ...);   the next chunk starts here
 * The first step reads carry's heap tensors, which have no history: the gradient
 * stops at the chunk boundary while the values flow on. Copy AFTER backward
 * (backward reads carry's values). cr_rnn_state_zero(&carry) starts new sequences.
 * Nothing is allocated per chunk. Re-recording each chunk works the same way
 * (cr_tape_reset, then record from s = carry again). Chunks recorded one after
 * another on ONE tape are cut with cr_rnn_state_detach(t, &s) instead. */
#define CR_RNN_MAX_LAYERS 16

typedef enum cr_rnn_kind {
    CR_RNN_TANH = 0,   /* Elman RNN, tanh (nn.RNN's default) */
    CR_RNN_RELU,       /* Elman RNN, relu (nn.RNN(nonlinearity='relu')) */
    CR_LSTM,           /* nn.LSTM */
    CR_GRU             /* nn.GRU */
} cr_rnn_kind;
typedef struct cr_rnn cr_rnn;

/* New layer stack with all parameters zero (call cr_rnn_init, or cr_load). input
 * and hidden >= 1, 1 <= layers <= CR_RNN_MAX_LAYERS, dropout in [0, 1) (ignored
 * with one layer, as PyTorch warns). Caller owns it (cr_rnn_free). NULL with a
 * message in err ("rnn: hidden_size = 0 (must be >= 1)") on a bad argument
 * (CR_ERR_ARG), a size beyond CR_MODEL_MAX_PARAMS or the memory limit, or no
 * memory. */
cr_rnn *cr_rnn_new(cr_rnn_kind kind, int input_size, int hidden_size, int num_layers,
                   double dropout, char *err, size_t errsize);
void cr_rnn_free(cr_rnn *r);   /* NULL is safe */
/* PyTorch's initialisation: every parameter U(-k, k), k = 1/sqrt(hidden_size),
 * drawn from rng in the order of cr_rnn_params, element by element. CR_ERR_ARG on
 * NULL r or rng. */
cr_status cr_rnn_init(cr_rnn *r, cr_rng *rng, char *err, size_t errsize);
/* The parameters (names above), owned by r: what an optimizer updates and
 * cr_save/cr_load persist. NULL for NULL r. */
cr_params *cr_rnn_params(cr_rnn *r);
/* The fields given to cr_rnn_new (0, or -1 for kind, on NULL r). */
cr_rnn_kind cr_rnn_get_kind(const cr_rnn *r);
int cr_rnn_input_size(const cr_rnn *r);
int cr_rnn_hidden_size(const cr_rnn *r);
int cr_rnn_num_layers(const cr_rnn *r);
double cr_rnn_dropout(const cr_rnn *r);
/* Number of trainable scalars: sum over layers of G H (I_l + H + 2). */
size_t cr_rnn_param_count(const cr_rnn *r);
/* "rnn_tanh", "rnn_relu", "lstm", "gru" ("?" out of range; static) and back
 * (case-insensitive; also "rnn" for CR_RNN_TANH). CR_ERR_ARG on NULL or an unknown
 * name (*out unchanged). */
const char *cr_rnn_kind_name(cr_rnn_kind kind);
cr_status cr_rnn_kind_from_name(const char *name, cr_rnn_kind *out);

/* The recurrent state: per layer h[l] (B x H) and, for CR_LSTM, c[l] (B x H).
 * A NULL entry means zeros (a zeroed struct is the zero state of any layer stack).
 * Entries may be tape tensors (the output of the previous step) or heap tensors
 * (a carry between chunks). */
typedef struct cr_rnn_state {
    cr_tensor *h[CR_RNN_MAX_LAYERS];
    cr_tensor *c[CR_RNN_MAX_LAYERS];   /* LSTM only; NULL otherwise */
} cr_rnn_state;

/* One time step through every layer: x is B x input_size (B >= 1); reads the state
 * in *s, replaces its entries by the new h (and c) of each layer, tape tensors,
 * and returns the top layer's h (B x H; *s's h[num_layers-1]). training != 0
 * applies the inter-layer dropout, its masks drawn from rng (which must then be
 * non-NULL and outlive the recording: a replay draws new masks from it); rng may
 * be NULL otherwise. The tape owns the results; r (its weights) must outlive the
 * tape's recording. NULL with a tape error naming "rnn" on NULL r or s, x not
 * B x input_size, a state entry that is not B x H, or the failing op's error; *s
 * is then unchanged. */
cr_tensor *cr_rnn_step(cr_tape *t, cr_rnn *r, cr_tensor *x, cr_rnn_state *s, int training,
                       cr_rng *rng);
/* A whole sequence: x is T x B x input_size (batch_first 0, PyTorch's default) or
 * B x T x input_size (batch_first != 0); runs cr_rnn_step T times from *s (updated
 * to the final state) and returns the top layer's outputs stacked the same way,
 * T x B x H or B x T x H (nn.RNN's output). s NULL: start from zeros. Errors as
 * cr_rnn_step, plus x not of rank 3. */
cr_tensor *cr_rnn_forward(cr_tape *t, cr_rnn *r, cr_tensor *x, int batch_first,
                          cr_rnn_state *s, int training, cr_rng *rng);
/* Replace every non-NULL entry of *s by cr_detach(t, entry): the values go on,
 * the history stops (TBPTT on one tape). CR_OK, or the tape's error (CR_ERR_ARG
 * for NULL t or s; *s is then partly detached, which changes no value). */
cr_status cr_rnn_state_detach(cr_tape *t, cr_rnn_state *s);
/* Make s a state of heap tensors (cr_tensor_new, no gradient) of batch x
 * hidden_size, zero, for every layer of r (c too for LSTM); other entries NULL.
 * The caller frees them with cr_rnn_state_free. CR_ERR_ARG (NULL, batch < 1),
 * CR_ERR_NOMEM; s is zeroed on failure. */
cr_status cr_rnn_state_alloc(const cr_rnn *r, int batch, cr_rnn_state *s, char *err,
                             size_t errsize);
/* Free the heap tensors of s (tape tensors are left to their tape) and zero s.
 * NULL is safe. */
void cr_rnn_state_free(cr_rnn_state *s);
/* Set every heap tensor of s to zero (start new sequences). NULL is safe. */
void cr_rnn_state_zero(cr_rnn_state *s);
/* Copy the values of src into dst entry by entry (a NULL src entry copies zeros;
 * NULL dst entries are skipped): the carry between TBPTT chunks, no allocation.
 * CR_ERR_ARG on NULL, CR_ERR_SHAPE when two entries differ in size (dst
 * unchanged: checked first). */
cr_status cr_rnn_state_copy(cr_rnn_state *dst, const cr_rnn_state *src, char *err,
                            size_t errsize);
/* =========================================================== export to C */
/* (section owned by export/) Turn a recorded inference graph into one C file
 * that needs no library: name.h and name.c, C99, libm only, no heap. */

typedef struct cr_export_opts {
    int int8;   /* 1: dense (linear) and conv2d weights as int8 with one float scale
                 * per output channel (weight-only quantisation: activations stay
                 * float); 0: float weights, bit-exact */
    int no_fold; /* 1: write affine nodes after linear/conv (batch norm) as recorded
                  * instead of folding them into the layer (to measure the folding) */
} cr_export_opts;

/* Write dir/name.h and dir/name.c computing `output` from `inputs` as recorded on t:
 *   int name_predict(const float *x, float *y);
 *   int name_predict_scratch(const float *x, float *y, float *scratch);
 * x holds the n_in inputs back to back (NAME_IN_SIZE floats, each row-major in its
 * recorded shape), y gets the output (NAME_OUT_SIZE floats); both return 0, or -1
 * for a NULL pointer. Shapes are the recorded ones: record on a batch of 1 for a
 * per-sample predictor (the header says the shapes). name_predict uses a static
 * scratch array (not reentrant: one thread at a time); name_predict_scratch uses
 * the caller's NAME_SCRATCH_SIZE floats and is thread-safe.
 * Only the nodes output depends on are written. A node that does not depend on an
 * input is a constant: its current value is written (so are parameters' and other
 * leaves' current data; for such nodes, the value last computed, at recording or by
 * cr_tape_forward). Weights are hexadecimal float literals (in a double library
 * they are rounded to float once). A chain of per-channel affine ops with constant
 * operands (add, sub, mul, div by a constant varying at most along the output
 * channel, neg, scale, add_scalar) right after a linear or conv2d node, such as
 * batch norm in evaluation mode, is folded into that node's weights and bias,
 * computed in double and rounded once. Dropout nodes are the identity.
 * Ops written: linear, matmul, conv2d, max_pool2d, avg_pool2d, global_avg_pool2d,
 * add, sub, mul, div, max (broadcast), neg, exp, log, sqrt, pow, square, abs, relu,
 * leaky_relu, sigmoid, tanh, scale, add_scalar, softmax, log_softmax, reshape,
 * flatten, permute, transpose, slice, concat, sum, mean, sum_axis, mean_axis,
 * dropout, embedding, stack, select, gate, detach (the identity). An embedding's row
 * numbers come from x as floats; the generated functions return -2 (y incomplete)
 * when one is not a whole number in 0..rows-1, as the library's tape error.
 * Several outputs (a recurrent step: logits and the new state): cr_export_c_multi.
 * Any other node (a loss, a custom op) is refused with its op's name.
 * name is a C identifier of 1..48 characters; the files are written atomically
 * (a temporary file renamed), neither is left behind on failure.
 * Returns CR_OK; CR_ERR_ARG (NULL or bad argument, an input or output not on t, an
 * unknown op: "export: node #12 (softmax_cross_entropy) cannot be exported"),
 * CR_ERR_STATE (t has an error), CR_ERR_IO, CR_ERR_NOMEM; message in err. */
cr_status cr_export_c(const cr_tape *t, int n_in, cr_tensor *const *inputs,
                      const cr_tensor *output, const char *name, const char *dir,
                      const cr_export_opts *opts, char *err, size_t errsize);
/* ============================================ graph files (issue 16, part A) */
/* A graph file is a recorded tape saved as a model: the nodes (op by name, typed
 * attributes, shapes, which values are inputs, parameters, constants and outputs)
 * plus the parameter data, in the model file container (docs/FORMAT.md, "Graph
 * files"): a program that loads it needs none of the code that built the model.
 * Every built-in op is covered, in the mode it was recorded in: a dropout node
 * (training mode) keeps its generator's state, a training-mode batch norm keeps
 * moving its running statistics on every replay (record in evaluation mode to save
 * an inference graph). A custom op (cr_custom) is saved by name; the loading program must
 * pass an op registry holding an op of that name (cr_op_registry_add,
 * cr_graph_load_with) or the load is refused, naming it. A graph file is also a model file: cr_load reads its parameters. */
typedef struct cr_graph cr_graph;

/* Write the graph recorded on t to path, atomically (as cr_save). inputs[0..
 * n_inputs) are what a caller will feed: leaves of t (cr_const, cr_var) or heap
 * tensors (a batch buffer); their data is not saved. outputs[0..n_outputs) (>= 1)
 * are tensors of t (or heap tensors) the loaded graph exposes. Inputs and outputs
 * are named by their labels (cr_tensor_label / cr_tensor_set_name), else "input<k>"
 * / "output<k>". params (may be NULL) lists the parameters, saved under its names
 * and in its order; every other heap tensor a node reads is a constant, saved with
 * its values, and so is every other leaf of t. Every node of t is saved, in order.
 * CR_ERR_ARG for a node input that was computed in no-grad mode or belongs to
 * another tape, a heap tensor needing a gradient that is not in params, a tensor
 * listed twice, an input that is not a leaf or heap tensor, an output not on t, a
 * node of an op of one's own that carries a built-in op's name but not its
 * attributes; CR_ERR_UNSUPPORTED for an op without a graph-file entry
 * (ops/graph_ops.c); CR_ERR_STATE for a tape with an
 * error; CR_ERR_IO / CR_ERR_NOMEM as cr_save. Messages start with "graph: ". */
cr_status cr_graph_save(cr_tape *t, int n_inputs, cr_tensor *const *inputs, int n_outputs,
                        cr_tensor *const *outputs, const cr_params *params, const char *path,
                        char *err, size_t errsize);
/* Load a graph file: a new tape on which every node was recorded again through its
 * op (so each ran forward once, on zero inputs; generators and the values of
 * constants and gradient-free parameters are then reset to the file's, so the
 * first replay draws the masks the saved tape's next replay would), with heap
 * parameters that are real parameters (cr_graph_params: train further with
 * backward and an optimizer). Outputs computed on the tape carry their names as
 * labels.
 * Feed new data by writing cr_graph_input(g, k)->data, then cr_tape_forward on
 * cr_graph_tape(g); read cr_graph_output(g, k). Caller owns the graph
 * (cr_graph_free). NULL on failure with a message in err: what cr_load refuses
 * (CR_ERR_IO, CR_ERR_FORMAT, CR_ERR_NOMEM for the memory limit), a file without a
 * graph ("not a graph file"), a malformed graph section (counts, shapes, indices,
 * a node reading a value numbered after it: "malformed graph section at byte N"),
 * an unknown op (CR_ERR_UNSUPPORTED, naming it: this loader knows the built-in ops
 * only, custom ops need cr_graph_load_with), a node its op refuses or whose
 * output shape differs from the file's. The graph's declared size is checked
 * against cr_memory_limit before anything big is allocated, and the tape's arena
 * is capped at that limit. A failed load changes nothing. */
cr_graph *cr_graph_load(const char *path, char *err, size_t errsize);
/* The same from a file image in memory (name is used in messages; NULL: "<buffer>"). */
cr_graph *cr_graph_load_buffer(const void *data, size_t size, const char *name, char *err,
                               size_t errsize);
/* Free the graph, its tape, parameters and constants. NULL is safe. */
void cr_graph_free(cr_graph *g);
/* The graph's tape (owned by the graph; replaced by cr_graph_set_batch). NULL for NULL. */
cr_tape *cr_graph_tape(const cr_graph *g);
/* Inputs and outputs, in the order they were saved, and their names (owned by the
 * graph). Out of range or NULL g: 0 / NULL. The tensors change with
 * cr_graph_set_batch: fetch them again after it. */
int cr_graph_n_inputs(const cr_graph *g);
int cr_graph_n_outputs(const cr_graph *g);
cr_tensor *cr_graph_input(const cr_graph *g, int k);
cr_tensor *cr_graph_output(const cr_graph *g, int k);
const char *cr_graph_input_name(const cr_graph *g, int k);
const char *cr_graph_output_name(const cr_graph *g, int k);
/* Index of the input / output of that name, -1 if none. */
int cr_graph_find_input(const cr_graph *g, const char *name);
int cr_graph_find_output(const cr_graph *g, const char *name);
/* The parameters (owned by the graph), in the saved list's order and names. */
cr_params *cr_graph_params(const cr_graph *g);
/* The generators of the graph's dropout nodes (their state as saved; owned by the
 * graph), n of them; NULL when out of range. */
int cr_graph_n_rngs(const cr_graph *g);
cr_rng *cr_graph_rng(const cr_graph *g, int k);
/* Leading dimension of the first input now (0 when it has none). */
int cr_graph_batch(const cr_graph *g);
/* Record the graph again on a new tape with batch as the leading dimension of every
 * input whose saved leading dimension equals the first input's (and of reshape and
 * custom outputs that had it), and replace the graph's tape if every node records
 * (input data is zero again; the new tape has its own pool, CR_NUM_THREADS). On
 * failure (CR_ERR_SHAPE with the op's message, e.g. a reshape to a fixed size; or
 * CR_ERR_NOMEM) the graph is unchanged, generators included. CR_ERR_ARG for batch
 * < 1 or a graph without inputs of rank >= 1. */
cr_status cr_graph_set_batch(cr_graph *g, int batch, char *err, size_t errsize);
/* 1 when graph files can hold nodes of the built-in op `name` ("conv2d"), else 0. */
int cr_graph_op_known(const char *name);

/* ---- gate activations on column blocks (issue 15: the LSTM's memory) ---- */
typedef enum { CR_GATE_SIGMOID = 0, CR_GATE_TANH = 1 } cr_gate_act;
/* y = act(x[:, start:start+len]) for a rank-2 x (rows x columns), act cr_sigmoid's
 * or cr_tanh's function: the same bits as cr_slice(t, x, 1, start, len) followed
 * by cr_sigmoid / cr_tanh, in one node (no sliced copy and its gradient kept on the
 * tape; LSTM gate blocks). dx[:, start+j] += g*y*(1-y) (sigmoid) or g*(1-y^2)
 * (tanh); the other columns get nothing. Returns a tape tensor; NULL with
 * CR_ERR_SHAPE for x not rank 2 or columns outside x, CR_ERR_ARG for another act. */
cr_tensor *cr_gate(cr_tape *t, cr_tensor *x, int start, int len, cr_gate_act act);

#if defined(__GNUC__) && __GNUC__ >= 4
/* ============================ export: several outputs, graph files (issue 16, h9) */
/* cr_export_c with n_out >= 1 outputs, written back to back in y (in the order
 * given; NAME_OUT_SIZE is their sum). The header also defines NAME_IN<k>_OFFSET,
 * NAME_IN<k>_SIZE, NAME_OUT<k>_OFFSET and NAME_OUT<k>_SIZE (floats) for every input
 * and output. For a recurrent step, feed the new state (an output) back as the next
 * call's state (an input): the caller copies it. Errors as cr_export_c (CR_ERR_ARG
 * also for n_out < 1 or a NULL outputs[k]). */
cr_status cr_export_c_multi(const cr_tape *t, int n_in, cr_tensor *const *inputs, int n_out,
                            const cr_tensor *const *outputs, const char *name,
                            const char *dir, const cr_export_opts *opts, char *err,
                            size_t errsize);
/* Export a graph (cr_graph_load) as cr_export_c_multi does: its inputs in x and its
 * outputs in y, in the file's order, named in the header as in the file. The
 * shapes are the graph's current ones: cr_graph_set_batch(g, 1, ...) first for a
 * per-sample predictor. Does not change g. Errors as cr_export_c_multi, plus
 * CR_ERR_ARG for a NULL g or more than 64 inputs or outputs. */
cr_status cr_export_graph_c(const cr_graph *g, const char *name, const char *dir,
                            const cr_export_opts *opts, char *err, size_t errsize);
/* ============================ op registries for graph files (h12) */
/* The custom ops a graph file may name, in an object the caller owns and passes to
 * the loader (there is no process-wide registry): two registries can map the same
 * name to different callbacks in one process. A loaded graph copies the callbacks
 * it uses, so the registry may be changed or freed after the load. Reading it
 * (loading) from several threads at once is safe; adding to it while another thread
 * loads with it is not. */
typedef struct cr_op_registry cr_op_registry;
/* A new, empty registry; caller owns it (cr_op_registry_free). NULL when out of
 * memory. */
cr_op_registry *cr_op_registry_new(void);
/* Free r. NULL is safe. */
void cr_op_registry_free(cr_op_registry *r);
/* Add the op `name` to r: a node of that op in a file loaded with r is recorded
 * with cr_custom(t, name, ..., forward, backward, user). Adding a name again
 * replaces its callbacks. Returns CR_OK; CR_ERR_ARG for r NULL, a NULL or empty
 * name, one longer than 63 bytes or of a built-in op, NULL forward; CR_ERR_NOMEM;
 * message in err. */
cr_status cr_op_registry_add(cr_op_registry *r, const char *name, cr_custom_fn forward,
                             cr_custom_fn backward, void *user, char *err, size_t errsize);
/* cr_graph_load / cr_graph_load_buffer with the custom ops of ops (built-in ops are
 * always known). NULL on failure with a message in err: as cr_graph_load, and
 * CR_ERR_ARG for ops NULL ("graph: op registry is NULL"). The graph does not keep
 * ops. */
cr_graph *cr_graph_load_with(const char *path, const cr_op_registry *ops, char *err,
                             size_t errsize);
cr_graph *cr_graph_load_buffer_with(const void *data, size_t size, const char *name,
                                    const cr_op_registry *ops, char *err, size_t errsize);

#pragma GCC visibility pop
#endif

#ifdef __cplusplus
}
#endif
#endif /* CHAINRULE_H */
