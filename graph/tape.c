/* The tape: an arena plus an append-only node list (a Wengert list). */
#include "tape_internal.h"
#include "record.h"

#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#define CR_DEFAULT_ARENA (1u << 20)

/* Inlined into every caller: recording a node must not pay for calls. */
#if defined(__GNUC__)
#define CR_HOT_INLINE static inline __attribute__((always_inline))
#else
#define CR_HOT_INLINE static inline
#endif

static void leaf_nop(cr_tape *t, cr_node *n) { (void)t; (void)n; }
const cr_op cr__leaf_op = { "leaf", leaf_nop, leaf_nop };

cr_tape *cr_tape_new(size_t arena_bytes)
{
    cr_tape *t = cr_calloc(1, sizeof *t);
    if (!t) return NULL;
    t->arena.first_block = arena_bytes ? arena_bytes : CR_DEFAULT_ARENA;
    t->grad_mode = 1;
    t->pool = cr_pool_new(0);
    if (!t->pool) {
        cr_free(t);
        return NULL;
    }
    t->own_pool = 1;
    return t;
}

void cr_tape_free(cr_tape *t)
{
    if (!t) return;
    cr__arena_free(&t->arena);
    cr_free(t->nodes);
    if (t->own_pool) cr_pool_free(t->pool);
    cr_free(t);
}

void cr_tape_reset(cr_tape *t)
{
    if (!t) return;
    t->n_nodes = 0;
    /* A new generation: tensors stamped with an older one are refused by every op.
     * Allocation starts 64 bytes further in (or back) so that, for a step that
     * repeats the previous one, no new tensor sits exactly where an old one did
     * (a stale pointer would otherwise read as the new tensor). */
    t->gen++;
    cr__arena_rewind(&t->arena, (t->gen & 1u) ? 64 : 0);
    t->err = CR_OK;
    t->msg[0] = '\0';
    t->refusal[0] = '\0';
    t->ctx_op = NULL;
    t->backward_done = 0;
}

size_t cr_tape_size(const cr_tape *t) { return t ? t->n_nodes : 0; }

const char *cr_tape_error(const cr_tape *t)
{
    return t && t->err != CR_OK ? t->msg : NULL;
}

cr_status cr_tape_status(const cr_tape *t) { return t ? t->err : CR_ERR_ARG; }

const char *cr_tape_refusal(const cr_tape *t)
{
    return t && t->refusal[0] ? t->refusal : NULL;
}

cr_status cr__tape_refuse(cr_tape *t, cr_status s, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(t->refusal, sizeof t->refusal, fmt, ap);
    va_end(ap);
    return s;
}

/* How an input is called in a message: its label, "#id" for a recorded tape
 * tensor, else what kind of tensor it is. */
static void input_name(const cr_tensor *x, char *buf, size_t size)
{
    if (!x) snprintf(buf, size, "NULL");
    else if (x->name && x->name[0]) snprintf(buf, size, "%s", x->name);
    else if (x->tape && x->id >= 0) snprintf(buf, size, "#%d", x->id);
    else if (x->tape) snprintf(buf, size, "no-grad value");
    else snprintf(buf, size, "%s", x->flags & CR_REQUIRES_GRAD ? "parameter" : "constant");
}

cr_status cr_tape_fail(cr_tape *t, cr_status s, const char *fmt, ...)
{
    if (!t || t->err != CR_OK) return s;
    t->err = s;
    char text[sizeof t->msg];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    if (!t->ctx_op) {
        memcpy(t->msg, text, sizeof t->msg);
        return s;
    }
    /* inside an op: say which node it would have been and what fed it */
    size_t oplen = strlen(t->ctx_op);
    int named = strncmp(text, t->ctx_op, oplen) == 0 && text[oplen] == ':';
    size_t len = 0;
    int w;
    if (t->grad_mode) w = snprintf(t->msg, sizeof t->msg, "node #%zu ", t->n_nodes);
    else w = snprintf(t->msg, sizeof t->msg, "no-grad ");
    len = w > 0 ? (size_t)w : 0;
    w = snprintf(t->msg + len, sizeof t->msg - len, "%s%s%s", named ? "" : t->ctx_op,
                 named ? "" : ": ", text);
    len += w > 0 ? (size_t)w : 0;
    for (int k = 0; k < t->ctx_n && len < sizeof t->msg; k++) {
        char name[80];
        input_name(t->ctx_in[k], name, sizeof name);
        w = snprintf(t->msg + len, sizeof t->msg - len, "%s%s", k ? ", " : " (inputs: ", name);
        len += w > 0 ? (size_t)w : 0;
    }
    if (t->ctx_n > 0 && len < sizeof t->msg) snprintf(t->msg + len, sizeof t->msg - len, ")");
    t->ctx_op = NULL;
    return s;
}

int cr_tape_set_grad_mode(cr_tape *t, int on)
{
    if (!t) return 0;
    int old = t->grad_mode;
    t->grad_mode = on != 0;
    return old;
}

int cr_tape_set_keep_graph(cr_tape *t, int on)
{
    if (!t) return 0;
    int old = t->keep_graph;
    t->keep_graph = on != 0;
    return old;
}

int cr_tape_set_anomaly(cr_tape *t, int on)
{
    if (!t) return 0;
    int old = t->anomaly;
    t->anomaly = on != 0;
    return old;
}

void cr_tape_set_trace(cr_tape *t, FILE *f)
{
    if (t) t->trace = f;
}

cr_status cr_tape_set_threads(cr_tape *t, int n)
{
    if (!t || n < 1 || n > 256) return CR_ERR_ARG;
    if (t->own_pool && cr_pool_threads(t->pool) == n) return CR_OK;
    cr_pool *p = cr_pool_new(n);
    if (!p) return CR_ERR_NOMEM;
    if (t->own_pool) cr_pool_free(t->pool);
    t->pool = p;
    t->own_pool = 1;
    return CR_OK;
}

cr_status cr_tape_set_pool(cr_tape *t, cr_pool *pool)
{
    if (!t) return CR_ERR_ARG;
    if (pool == t->pool) return CR_OK; /* its own pool stays its own */
    if (t->own_pool) cr_pool_free(t->pool);
    t->pool = pool;
    t->own_pool = 0;
    return CR_OK;
}

cr_pool *cr_tape_pool(cr_tape *t) { return t ? t->pool : NULL; }

/* x, whose tape field says t and whose stamp is t's generation, really is one of t's
 * current tensors: a recorded one is its node's output. A stale pointer (from
 * before a reset) into memory that new tensors have since overwritten can read t
 * and the current stamp by chance; its id then names a node whose output is
 * another tensor, or no node. (A no-grad value, id -1, has only the stamp.) */
static inline int tensor_current(const cr_tape *t, const cr_tensor *x)
{
    return x->gen == t->gen &&
           (x->id < 0 || ((size_t)x->id < t->n_nodes && t->nodes[x->id].out == x));
}

int cr__tensor_check(cr_tape *t, const cr_tensor *x)
{
    /* the usual case first: a tensor of this tape's current generation */
    if (x->tape == t) return tensor_current(t, x) ? 0 : 2;
    /* memory of t's arena that is not a current tensor: left over from before a
     * reset, whatever it now reads as (its fields are not trusted) */
    if (cr__arena_owns(&t->arena, x)) return 2;
    if (x->tape && x->tape != t) return 1;
    return 0;
}

/* cr_check_inputs for input k that is not a tensor of t's current generation (or
 * is NULL): 1 when it may be used (a heap tensor), else 0 with the error recorded.
 * The message lists the inputs before k (at most 4). */
static int check_slow(cr_tape *t, const char *opname, int k, const cr_tensor *x)
{
    t->ctx_n = k < 4 ? k : 4;
    if (!x) {
        cr_tape_fail(t, CR_ERR_ARG, "%s: input %d is NULL", opname, k + 1);
        return 0;
    }
    int bad = cr__tensor_check(t, x);
    if (bad == 2) {
        cr_tape_fail(t, CR_ERR_STATE, "%s: input %d predates the last cr_tape_reset (a tape "
                     "tensor is valid only until its tape is reset)", opname, k + 1);
        return 0;
    }
    if (bad) {
        cr_tape_fail(t, CR_ERR_ARG, "%s: input %d belongs to another tape", opname, k + 1);
        return 0;
    }
    return 1;
}

/* 1 when x (non-NULL) may be used on t for certain, without a walk of the arena's
 * blocks: a tensor of t's current generation, or a heap tensor lying outside every
 * block. 0 means "ask cr__tensor_check". */
static inline int input_fast_ok(const cr_tape *t, const cr_tensor *x)
{
    if (x->tape == t) return tensor_current(t, x);
    uintptr_t p = (uintptr_t)x;
    return !x->tape && (p < t->arena.lo || p >= t->arena.hi);
}

static int check_inputs(cr_tape *t, const char *opname, int n, cr_tensor *const *in)
{
    if (!opname) opname = "op";
    t->ctx_op = opname;
    t->ctx_n = 0;
    if (n > 0 && !in) {
        cr_tape_fail(t, CR_ERR_ARG, "%s: input array is NULL", opname);
        return 0;
    }
    /* the inputs named by an error message: the first 4 (ctx_n says how many count) */
    const int named = n < 4 ? n : 4;
    for (int k = 0; k < named; k++) t->ctx_in[k] = in[k];
    for (int k = 0; k < n; k++) {
        const cr_tensor *x = in[k];
        if (x && input_fast_ok(t, x)) continue;
        if (!check_slow(t, opname, k, x)) return 0;
    }
    t->ctx_n = named;
    return 1;
}

CR_HOT_INLINE int check_inputs_inline(cr_tape *t, const char *opname, int n,
                                      cr_tensor *const *in)
{
    if (!t || t->err != CR_OK) return 0;
    /* ops of one or two inputs that are all fine (every op of a scalar graph):
     * the same state as check_inputs leaves, without its loops */
    if (opname && in && (n == 1 || n == 2) && in[0] && input_fast_ok(t, in[0]) &&
        (n == 1 || (in[1] && input_fast_ok(t, in[1])))) {
        t->ctx_op = opname;
        t->ctx_in[0] = in[0];
        t->ctx_in[1] = in[n - 1];
        t->ctx_n = n;
        return 1;
    }
    return check_inputs(t, opname, n, in);
}

int cr_check_inputs(cr_tape *t, const char *opname, int n, cr_tensor *const *in)
{
    return check_inputs_inline(t, opname, n, in);
}

/* The slot of the next node, reserved but not yet part of the tape: the node joins
 * the tape (cr__commit) only once its op has everything it needs and has run. */
void *cr__tape_nomem(cr_tape *t)
{
    cr_tape_fail(t, CR_ERR_NOMEM, "%s", t->arena.why);
    return NULL;
}

void *cr_tape_alloc(cr_tape *t, size_t bytes)
{
    if (!t) return NULL;
    void *p = cr__tape_bump(t, bytes, 64);
    if (p) memset(p, 0, bytes);
    return p;
}

void cr_tape_set_arena_limit(cr_tape *t, size_t max_bytes)
{
    if (t) t->arena.limit = max_bytes;
}

size_t cr_tape_arena_used(const cr_tape *t) { return t ? t->arena.used : 0; }
size_t cr_tape_arena_reserved(const cr_tape *t) { return t ? t->arena.reserved : 0; }

#define CR_ROUND(n, a) (((n) + (a) - 1) & ~(size_t)((a) - 1))

/* cr__tape_tensor; with_data 0 reserves no data block (a view: data set by the
 * caller). like non-NULL: the shape is like's (an input already accepted on t,
 * whose size is its shape's: like_size == like->size, passed apart so that a
 * caller can make it a constant), ndim and shape are not read. */
CR_HOT_INLINE cr_tensor *tape_tensor(cr_tape *t, int ndim, const int *shape, size_t extra,
                                     void **extra_out, int with_data, const cr_tensor *like,
                                     size_t like_size)
{
    size_t size = like ? like_size : ndim == 0 ? 1 : cr__shape_size(ndim, shape);
    if (!size) {
        cr_tape_fail(t, CR_ERR_SHAPE, "tensor: bad shape (rank %d; dimensions must be >= 1, "
                     "rank 0..%d, size must fit in memory)", ndim, CR_MAX_DIMS);
        return NULL;
    }
    /* [cr_tensor | extra | data]: one bump allocation per node. Data of 16 values
     * or more starts on a 64-byte boundary for the vector kernels; a tensor with a
     * gradient slot (at most CR__GRAD_SLOT_MAX values: scalar graphs) is packed on
     * pointer alignment (fewer bytes per node, fewer cache lines). */
    const int tiny = with_data && size <= CR__GRAD_SLOT_MAX;
    size_t align, data_off;
    if (tiny) {                     /* the layout's roundings spelled out: no overflow */
        align = sizeof(void *);
        data_off = CR_ROUND(sizeof(cr_tensor), sizeof(void *)) + CR_ROUND(extra, sizeof(void *));
    } else {
        align = size >= 16 && with_data ? 64 : 16;
        data_off = CR_ROUND(CR_ROUND(sizeof(cr_tensor), 16) + CR_ROUND(extra, 16), align);
    }
    if (!tiny && size > (SIZE_MAX - data_off) / sizeof(cr_real)) {
        cr_tape_fail(t, CR_ERR_NOMEM, "tensor: %zu values do not fit in memory", size);
        return NULL;
    }
    const size_t slot = tiny ? size : 0;
    unsigned char *mem = cr__tape_bump(t, data_off + (with_data ? (size + slot) * sizeof(cr_real) : 0),
                                       align);
    if (!mem) return NULL;
    cr_tensor *x = (cr_tensor *)mem;
    if (extra_out)
        *extra_out = !extra ? NULL
                   : mem + (tiny ? CR_ROUND(sizeof(cr_tensor), sizeof(void *))
                                 : CR_ROUND(sizeof(cr_tensor), 16));
    x->data = with_data ? (cr_real *)(mem + data_off) : NULL;
    if (like) {                     /* all CR_MAX_DIMS entries: no loop, no memcpy call */
        x->ndim = like->ndim;
        memcpy(x->shape, like->shape, sizeof x->shape);
        x->size = size;
        x->id = -1;
        x->grad_epoch = 0;
        x->name = NULL;
    } else {
        cr__set_shape(x, ndim, shape, size);
    }
    x->grad = NULL;
    x->flags = slot ? CR__GRAD_SLOT : 0u;
    x->tape = t;
    x->gen = t->gen;
    return x;
}

cr_tensor *cr__tape_tensor(cr_tape *t, int ndim, const int *shape, size_t extra,
                           void **extra_out)
{
    return tape_tensor(t, ndim, shape, extra, extra_out, 1, NULL, 0);
}

static cr_node *grow_nodes(cr_tape *t)
{
    size_t cap = t->cap_nodes ? t->cap_nodes * 2 : 256;
    cr_node *nodes = cap <= SIZE_MAX / sizeof *nodes ? cr_realloc(t->nodes, cap * sizeof *nodes) : NULL;
    if (!nodes) {
        cr_tape_fail(t, CR_ERR_NOMEM, "tape: cannot grow the node list to %zu nodes", cap);
        return NULL;
    }
    t->nodes = nodes;
    t->cap_nodes = cap;
    return &t->nodes[t->n_nodes];
}

static inline cr_node *reserve_node(cr_tape *t)
{
    return t->n_nodes < t->cap_nodes ? &t->nodes[t->n_nodes] : grow_nodes(t);
}

/* The node of a new output: in grad mode the tape's next slot (reserved, not yet
 * committed), out given its id and `flags`; in no-grad mode a node in the arena that
 * never joins the tape. Everything but farg[0] (the caller's) is set. */
CR_HOT_INLINE cr_node *node_for(cr_tape *t, const cr_op *op, cr_tensor *out, cr_tensor **ins,
                                int n, unsigned flags)
{
    cr_node *node;
    if (t->grad_mode) {
        if (t->n_nodes >= INT_MAX) {
            cr_tape_fail(t, CR_ERR_NOMEM, "tape: %zu nodes is the most a tape can hold",
                         t->n_nodes);
            return NULL;
        }
        node = reserve_node(t);
        if (!node) return NULL;
        out->id = (int)t->n_nodes;
        out->flags |= flags;
    } else {
        node = cr__tape_bump(t, sizeof *node, 16);
        if (!node) return NULL;
    }
    node->op = op;
    node->out = out;
    node->in = ins;
    node->n_in = n;
    memset(node->iarg, 0, sizeof node->iarg);
    node->farg[1] = 0;
    node->aux = NULL;
    return node;
}

CR_HOT_INLINE cr_node *record(cr_tape *t, const cr_op *op, int n, cr_tensor *const *in,
                              int ndim, const int *shape, int with_data, const cr_tensor *like)
{
    if (!t || t->err != CR_OK) return NULL;
    void *extra = NULL;
    cr_tensor *out = tape_tensor(t, ndim, shape, n > 0 ? (size_t)n * sizeof(cr_tensor *) : 0,
                                 &extra, with_data, like, like ? like->size : 0);
    if (!out) return NULL;
    cr_tensor **ins = extra;
    int needs_grad = 0;
    for (int k = 0; k < n; k++) {
        ins[k] = in[k];
        needs_grad |= (in[k]->flags & CR_REQUIRES_GRAD) != 0;
    }
    cr_node *node = node_for(t, op, out, ins, n, needs_grad ? CR_REQUIRES_GRAD : 0u);
    if (node) node->farg[0] = 0;
    return node;
}

cr_node *cr_record(cr_tape *t, const cr_op *op, int n, cr_tensor *const *in,
                   int ndim, const int *shape)
{
    return record(t, op, n, in, ndim, shape, 1, NULL);
}

/* record() for cr__record_run: output shaped like a, inputs a (and b when n is 2)
 * copied without a loop. */
CR_HOT_INLINE cr_node *record_like(cr_tape *t, const cr_op *op, int n, cr_tensor *a,
                                   cr_tensor *b, unsigned out_flags, size_t size)
{
    void *extra = NULL;
    cr_tensor *out = tape_tensor(t, 0, NULL, (size_t)n * sizeof(cr_tensor *), &extra, 1, a, size);
    if (!out) return NULL;
    cr_tensor **ins = extra;
    unsigned grad = a->flags;
    ins[0] = a;
    if (n == 2) {
        ins[1] = b;
        grad |= b->flags;
    }
    return node_for(t, op, out, ins, n, (grad & CR_REQUIRES_GRAD) | out_flags);
}

cr_tensor *cr__record_run(cr_tape *t, const cr_op *op, int n, cr_tensor *a, cr_tensor *b,
                          unsigned out_flags, double arg)
{
    cr_tensor *const in[2] = { a, b };
    if (!check_inputs_inline(t, op->name, n, in)) return NULL;
    /* scalars (every node of a scalar graph) with the layout folded to constants */
    cr_node *nd = a->size != 1 ? record_like(t, op, n, a, b, out_flags, a->size)
                : n == 1       ? record_like(t, op, 1, a, b, out_flags, 1)
                               : record_like(t, op, 2, a, b, out_flags, 1);
    if (!nd) return NULL;
    nd->farg[0] = arg;
    if (t->anomaly) return cr_run(t, nd);
    /* cr_run without the anomaly check, inline; nd is the reserved slot exactly when
     * its output got an id (grad mode), and the forward records nothing */
    nd->op->forward(t, nd);
    if (t->err != CR_OK) return NULL;
    t->ctx_op = NULL;
    cr_tensor *out = nd->out;
    if (out->id >= 0) {
        t->n_nodes++;
        t->backward_done = 0;
    }
    return out;
}

cr_node *cr__record_view(cr_tape *t, const cr_op *op, cr_tensor *x, int ndim, const int *shape)
{
    if (!t || t->err != CR_OK) return NULL;
    if (cr__shape_size(ndim, shape) != x->size) {
        cr_tape_fail(t, CR_ERR_SHAPE, "%s: a view must keep the %zu values of its input",
                     op->name, x->size);
        return NULL;
    }
    cr_node *node = record(t, op, 1, &x, ndim, shape, 0, NULL);
    if (!node) return NULL;
    node->out->data = x->data;
    node->out->flags |= CR__VIEW;
    return node;
}

static cr_tensor *leaf(cr_tape *t, int ndim, const int *shape, const cr_real *data, int grad)
{
    if (!t || t->err != CR_OK) return NULL;
    t->ctx_op = NULL;
    cr_node *n = cr_record(t, &cr__leaf_op, 0, NULL, ndim, shape);
    if (!n) return NULL;
    cr__commit(t, n);
    cr_tensor *x = n->out;
    x->flags = (x->flags & CR__GRAD_SLOT) | CR_LEAF | (grad && t->grad_mode ? CR_REQUIRES_GRAD : 0u);
    if (data) memcpy(x->data, data, x->size * sizeof *data);
    else memset(x->data, 0, x->size * sizeof *x->data);
    return x;
}

cr_tensor *cr_var(cr_tape *t, int ndim, const int *shape, const cr_real *data)
{
    return leaf(t, ndim, shape, data, 1);
}

cr_tensor *cr_const(cr_tape *t, int ndim, const int *shape, const cr_real *data)
{
    return leaf(t, ndim, shape, data, 0);
}

cr_tensor *cr_scalar(cr_tape *t, cr_real v) { return leaf(t, 0, NULL, &v, 1); }
cr_tensor *cr_scalar_const(cr_tape *t, cr_real v) { return leaf(t, 0, NULL, &v, 0); }
