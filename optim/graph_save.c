/* cr_graph_save: a recorded tape as a graph file (docs/FORMAT.md, "Graph files"):
 * the model file container with the parameters in PARM, as cr_save writes them, and
 * the graph in a GRPH section written after them.
 *
 * The section is built in memory first (its size is known only once every node is
 * described), then handed to the container writer, which writes atomically. The
 * values of the graph are numbered: the inputs (in the caller's order), the
 * parameters (in list order), then the tape's nodes in recording order, each heap
 * constant numbered just before the first node that reads it. A node's inputs
 * therefore always have smaller numbers: the reader refuses anything else, so a
 * file cannot describe a cycle. */
#include "format.h"
#include "graph_format.h"
#include "optim_internal.h"
#include "../graph/nodes.h"
#include "../ops/graph_ops.h"

#include <string.h>

/* A growing byte buffer; err set once an allocation failed. */
typedef struct gbuf {
    unsigned char *p;
    size_t len, cap;
    int err;
} gbuf;

static unsigned char *grow(gbuf *b, size_t k)
{
    if (b->err) return NULL;
    if (b->len + k > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < b->len + k) cap *= 2;
        unsigned char *p = cr_realloc(b->p, cap);
        if (!p) {
            b->err = 1;
            return NULL;
        }
        b->p = p;
        b->cap = cap;
    }
    unsigned char *at = b->p + b->len;
    b->len += k;
    return at;
}

static void put32(gbuf *b, uint32_t v)
{
    unsigned char *p = grow(b, 4);
    if (p) cr__put_u32(p, v);
}

static void put64(gbuf *b, uint64_t v)
{
    unsigned char *p = grow(b, 8);
    if (p) cr__put_u64(p, v);
}

static void put_str(gbuf *b, const char *s)
{
    size_t n = strlen(s);
    put32(b, (uint32_t)n);
    unsigned char *p = grow(b, n);
    if (p) memcpy(p, s, n);
}

static void put_shape(gbuf *b, const cr_tensor *x)
{
    put32(b, (uint32_t)x->ndim);
    for (int d = 0; d < x->ndim; d++) put32(b, (uint32_t)x->shape[d]);
}

static void put_values(gbuf *b, const cr_tensor *x)
{
    for (size_t i = 0; i < x->size; i++) {
#ifdef CR_REAL_DOUBLE
        put64(b, cr__f64_bits(x->data[i]));
#else
        uint32_t v;
        memcpy(&v, &x->data[i], sizeof v);
        put32(b, v);
#endif
    }
}

/* The writer's state: numbers given so far. */
typedef struct gsave {
    gbuf b;
    uint32_t nvals;
    int *node_val;                 /* per tape node: its value number, -1 if none yet */
    const cr_tensor **heap;        /* heap tensors numbered so far ... */
    int *heap_val;                 /* ... and their numbers */
    size_t nheap, capheap;
    const cr_rng **rngs;
    int nrngs, caprngs;
    char *err;
    size_t errsize;
} gsave;

static int heap_index(const gsave *s, const cr_tensor *x)
{
    for (size_t i = 0; i < s->nheap; i++)
        if (s->heap[i] == x) return s->heap_val[i];
    return -1;
}

static int remember_heap(gsave *s, const cr_tensor *x, int val)
{
    if (s->nheap == s->capheap) {
        size_t cap = s->capheap ? 2 * s->capheap : 32;
        const cr_tensor **h = cr_realloc(s->heap, cap * sizeof *h);
        if (!h) return 0;
        s->heap = h;
        int *v = cr_realloc(s->heap_val, cap * sizeof *v);
        if (!v) return 0;
        s->heap_val = v;
        s->capheap = cap;
    }
    s->heap[s->nheap] = x;
    s->heap_val[s->nheap++] = val;
    return 1;
}

/* The tensor's label, or fallback followed by k. */
static void value_name(const cr_tensor *x, const char *fallback, int k, char *buf, size_t size)
{
    if (x->name && x->name[0] && strlen(x->name) <= CR__GNAME_MAX) snprintf(buf, size, "%s", x->name);
    else snprintf(buf, size, "%s%d", fallback, k);
}

/* A failure with "graph: " before the message. */
#define FAIL(s, st, ...) cr__errf((st), (s)->err, (s)->errsize, "graph: " __VA_ARGS__)

/* Number every generator a dropout node draws from, in order of first use. */
static int collect_rngs(gsave *s, const cr_node *nodes, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        const cr_rng *g = cr__dropout_rng_of(&nodes[i]);
        if (!g) continue;
        int k = 0;
        while (k < s->nrngs && s->rngs[k] != g) k++;
        if (k < s->nrngs) continue;
        if (s->nrngs == CR__GRNG_MAX) return 0;
        if (s->nrngs == s->caprngs) {
            int cap = s->caprngs ? 2 * s->caprngs : 4;
            const cr_rng **r = cr_realloc(s->rngs, (size_t)cap * sizeof *r);
            if (!r) return 0;
            s->rngs = r;
            s->caprngs = cap;
        }
        s->rngs[s->nrngs++] = g;
    }
    return 1;
}

static cr_status describe(gsave *s, cr_tape *t, int n_in, cr_tensor *const *inputs, int n_out,
                          cr_tensor *const *outputs, const cr_params *params)
{
    size_t nn;
    const cr_node *nodes = cr__tape_nodes(t, &nn);
    s->node_val = cr_malloc((nn ? nn : 1) * sizeof *s->node_val);
    if (!s->node_val) return FAIL(s, CR_ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < nn; i++) s->node_val[i] = -1;
    if (!collect_rngs(s, nodes, nn))
        return FAIL(s, CR_ERR_NOMEM, "out of memory (or more than %d dropout generators)",
                    CR__GRNG_MAX);

    gbuf *b = &s->b;
    put32(b, CR__GRAPH_VERSION);
    put32(b, (uint32_t)s->nrngs);
    for (int k = 0; k < s->nrngs; k++) {
        put64(b, s->rngs[k]->state);
        put64(b, s->rngs[k]->inc);
    }
    size_t count_at = b->len;
    put32(b, 0);                                  /* number of values, patched below */

    char name[80];
    for (int k = 0; k < n_in; k++) {
        cr_tensor *x = inputs[k];
        if (!x) return FAIL(s, CR_ERR_ARG, "input %d is NULL", k + 1);
        int tape_leaf = x->tape == t && x->id >= 0 && (size_t)x->id < nn &&
                        nodes[x->id].out == x && cr__is_leaf_op(nodes[x->id].op);
        if (!tape_leaf && !(x->flags & CR_HEAP))
            return FAIL(s, CR_ERR_ARG, "input %d is not a leaf of this tape nor a heap tensor "
                        "(inputs are what the caller feeds: cr_const/cr_var leaves or buffers)",
                        k + 1);
        if ((tape_leaf && s->node_val[x->id] >= 0) || (!tape_leaf && heap_index(s, x) >= 0))
            return FAIL(s, CR_ERR_ARG, "input %d is given twice", k + 1);
        if (params)
            for (size_t i = 0; i < cr_params_count(params); i++)
                if (cr_params_get(params, i) == x)
                    return FAIL(s, CR_ERR_ARG, "input %d is also in the parameter list",
                                k + 1);
        if (tape_leaf) s->node_val[x->id] = (int)s->nvals;
        else if (!remember_heap(s, x, (int)s->nvals))
            return FAIL(s, CR_ERR_NOMEM, "out of memory");
        value_name(x, "input", k, name, sizeof name);
        put32(b, CR__GV_INPUT);
        put32(b, x->flags & CR_REQUIRES_GRAD ? CR__GV_FLAG_GRAD : 0);
        put_shape(b, x);
        put_str(b, name);
        s->nvals++;
    }
    for (size_t i = 0; i < cr_params_count(params); i++) {
        const cr_tensor *x = cr_params_get(params, i);
        if (heap_index(s, x) >= 0)
            return FAIL(s, CR_ERR_ARG, "parameter '%s' is in the list twice",
                        cr_params_name(params, i));
        if (!remember_heap(s, x, (int)s->nvals))
            return FAIL(s, CR_ERR_NOMEM, "out of memory");
        put32(b, CR__GV_PARAM);
        put32(b, x->flags & CR_REQUIRES_GRAD ? CR__GV_FLAG_GRAD : 0);
        put_shape(b, x);
        put_str(b, cr_params_name(params, i));
        s->nvals++;
    }

    for (size_t i = 0; i < nn; i++) {
        const cr_node *n = &nodes[i];
        if (cr__is_leaf_op(n->op)) {
            if (s->node_val[i] >= 0) continue;              /* an input */
            s->node_val[i] = (int)s->nvals++;
            put32(b, n->out->flags & CR_REQUIRES_GRAD ? CR__GV_LEAF_VAR : CR__GV_LEAF_CONST);
            put32(b, 0);
            put_shape(b, n->out);
            put_str(b, n->out->name ? n->out->name : "");
            put_values(b, n->out);
            continue;
        }
        int custom = cr__op_is_custom(n->op);
        const cr__graph_op *e = custom ? NULL : cr__graph_op_find(n->op->name);
        if (!custom && !e)
            return FAIL(s, CR_ERR_UNSUPPORTED, "node #%zu: op '%s' has no graph-file entry "
                        "(ops/graph_ops.c)", i, n->op->name);
        if (custom && strlen(n->op->name) > CR__GNAME_MAX)
            return FAIL(s, CR_ERR_ARG, "node #%zu: custom op name "
                            "is longer than %d bytes", i, CR__GNAME_MAX);
        /* inputs: earlier nodes, or heap tensors numbered here on first use */
        for (int k = 0; k < n->n_in; k++) {
            const cr_tensor *x = n->in[k];
            if (x->flags & CR_HEAP) {
                if (heap_index(s, x) >= 0) continue;
                if (x->flags & CR_REQUIRES_GRAD)
                    return FAIL(s, CR_ERR_ARG, "node #%zu %s: "
                                    "input %d is a parameter (it needs a gradient) that is not "
                                    "in the parameter list", i, n->op->name, k + 1);
                if (!remember_heap(s, x, (int)s->nvals))
                    return FAIL(s, CR_ERR_NOMEM, "out of memory");
                put32(b, CR__GV_CONST);
                put32(b, 0);
                put_shape(b, x);
                put_str(b, x->name ? x->name : "");
                put_values(b, x);
                s->nvals++;
            } else if (x->tape != t || x->id < 0 || (size_t)x->id >= i ||
                       nodes[x->id].out != x) {
                return FAIL(s, CR_ERR_ARG, "node #%zu %s: input %d "
                                "is not a recorded node of this tape (computed in no-grad "
                                "mode?): record the graph in grad mode", i, n->op->name, k + 1);
            }
        }
        cr__gattr a;
        memset(&a, 0, sizeof a);
        if (e) {
            a.ni = e->ni;
            a.nr = e->nr;
            if (e->save && !e->save(n, &a, s->rngs, s->nrngs))
                return FAIL(s, CR_ERR_ARG, "node #%zu %s: its "
                                "attributes cannot be described", i, n->op->name);
        }
        s->node_val[i] = (int)s->nvals++;
        put32(b, CR__GV_OP);
        put32(b, 0);
        put_shape(b, n->out);
        put_str(b, n->op->name);
        put32(b, (uint32_t)n->n_in);
        for (int k = 0; k < n->n_in; k++) {
            const cr_tensor *x = n->in[k];
            put32(b, (uint32_t)(x->flags & CR_HEAP ? heap_index(s, x) : s->node_val[x->id]));
        }
        put32(b, (uint32_t)a.ni);
        for (int k = 0; k < a.ni; k++) put64(b, (uint64_t)a.i[k]);
        put32(b, (uint32_t)a.nr);
        for (int k = 0; k < a.nr; k++) put64(b, cr__f64_bits(a.r[k]));
    }

    put32(b, (uint32_t)n_out);
    for (int k = 0; k < n_out; k++) {
        const cr_tensor *x = outputs[k];
        if (!x) return FAIL(s, CR_ERR_ARG, "output %d is NULL", k + 1);
        int v = x->flags & CR_HEAP ? heap_index(s, x)
              : x->tape == t && x->id >= 0 && (size_t)x->id < nn && nodes[x->id].out == x
                    ? s->node_val[x->id] : -1;
        if (v < 0)
            return FAIL(s, CR_ERR_ARG, "output %d is not a tensor of the recorded graph", k + 1);
        value_name(x, "output", k, name, sizeof name);
        for (int j = 0; j < k; j++)
            if (outputs[j] == x)
                return FAIL(s, CR_ERR_ARG, "output %d is given twice", k + 1);
        put32(b, (uint32_t)v);
        put_str(b, name);
    }
    if (b->err) return FAIL(s, CR_ERR_NOMEM, "out of memory describing the graph");
    cr__put_u32(b->p + count_at, s->nvals);
    return CR_OK;
}

cr_status cr_graph_save(cr_tape *t, int n_inputs, cr_tensor *const *inputs, int n_outputs,
                        cr_tensor *const *outputs, const cr_params *params, const char *path,
                        char *err, size_t errsize)
{
    if (!t || !path || !path[0] || n_inputs < 0 || n_outputs < 1 || (n_inputs && !inputs) ||
        !outputs)
        return cr__errf(CR_ERR_ARG, err, errsize, "graph: %s",
                        !t ? "tape is NULL" : !path || !path[0] ? "path is NULL or empty"
                        : n_outputs < 1 || !outputs ? "a graph needs at least one output"
                        : "inputs are NULL or negative in number");
    if (cr_tape_error(t))
        return cr__errf(CR_ERR_STATE, err, errsize, "graph: the tape has an error: %s",
                        cr_tape_error(t));
    cr_params *none = NULL;
    if (!params) {
        none = cr_params_new();
        if (!none) return cr__errf(CR_ERR_NOMEM, err, errsize, "graph: out of memory");
        params = none;
    }
    gsave s;
    memset(&s, 0, sizeof s);
    s.err = err;
    s.errsize = errsize;
    cr_status st = describe(&s, t, n_inputs, inputs, n_outputs, outputs, params);
    if (st == CR_OK) {
        cr__section x = { CR__TAG_GRAPH, s.b.p, s.b.len };
        st = cr__save_with(path, params, NULL, NULL, &x, err, errsize);
    }
    cr_free(s.b.p);
    cr_free(s.node_val);
    cr_free(s.heap);
    cr_free(s.heap_val);
    cr_free(s.rngs);
    cr_params_free(none);
    return st;
}
