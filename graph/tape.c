/* The tape: an arena plus an append-only node list (a Wengert list). */
#include "tape_internal.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#define CR_DEFAULT_ARENA (1u << 20)

static void leaf_nop(cr_tape *t, cr_node *n) { (void)t; (void)n; }
const cr_op cr__leaf_op = { "leaf", leaf_nop, leaf_nop };

cr_tape *cr_tape_new(size_t arena_bytes)
{
    cr_tape *t = cr_calloc(1, sizeof *t);
    if (!t) return NULL;
    t->first_block = arena_bytes ? arena_bytes : CR_DEFAULT_ARENA;
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
    cr__arena_free(t);
    cr_free(t->nodes);
    if (t->own_pool) cr_pool_free(t->pool);
    cr_free(t);
}

void cr_tape_reset(cr_tape *t)
{
    if (!t) return;
    t->n_nodes = 0;
    t->cur = t->first;
    if (t->cur) t->cur->used = 0;
    t->arena_used = 0;
    t->err = CR_OK;
    t->msg[0] = '\0';
    t->backward_done = 0;
}

size_t cr_tape_size(const cr_tape *t) { return t ? t->n_nodes : 0; }

const char *cr_tape_error(const cr_tape *t)
{
    return t && t->err != CR_OK ? t->msg : NULL;
}

cr_status cr_tape_status(const cr_tape *t) { return t ? t->err : CR_ERR_ARG; }

cr_status cr_tape_fail(cr_tape *t, cr_status s, const char *fmt, ...)
{
    if (!t || t->err != CR_OK) return s;
    t->err = s;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(t->msg, sizeof t->msg, fmt, ap);
    va_end(ap);
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

int cr_check_inputs(cr_tape *t, const char *opname, int n, cr_tensor *const *in)
{
    if (!t) return 0;
    if (t->err != CR_OK) return 0;
    if (n > 0 && !in) {
        cr_tape_fail(t, CR_ERR_ARG, "%s: input array is NULL", opname);
        return 0;
    }
    for (int k = 0; k < n; k++) {
        if (!in[k]) {
            cr_tape_fail(t, CR_ERR_ARG, "%s: input %d is NULL", opname, k + 1);
            return 0;
        }
        if (in[k]->tape && in[k]->tape != t) {
            cr_tape_fail(t, CR_ERR_ARG, "%s: input %d belongs to another tape", opname, k + 1);
            return 0;
        }
    }
    return 1;
}

static cr_node *push_node(cr_tape *t)
{
    if (t->n_nodes == t->cap_nodes) {
        size_t cap = t->cap_nodes ? t->cap_nodes * 2 : 256;
        cr_node *nodes = cap <= SIZE_MAX / sizeof *nodes ? cr_realloc(t->nodes, cap * sizeof *nodes) : NULL;
        if (!nodes) {
            cr_tape_fail(t, CR_ERR_NOMEM, "tape: cannot grow the node list to %zu nodes", cap);
            return NULL;
        }
        t->nodes = nodes;
        t->cap_nodes = cap;
    }
    return &t->nodes[t->n_nodes++];
}

cr_node *cr_record(cr_tape *t, const cr_op *op, int n, cr_tensor *const *in,
                   int ndim, const int *shape)
{
    if (!t || t->err != CR_OK) return NULL;
    void *extra = NULL;
    cr_tensor *out = cr__tape_tensor(t, ndim, shape, n > 0 ? (size_t)n * sizeof(cr_tensor *) : 0,
                                     &extra);
    if (!out) return NULL;
    cr_tensor **ins = extra;
    int needs_grad = 0;
    for (int k = 0; k < n; k++) {
        ins[k] = in[k];
        needs_grad |= (in[k]->flags & CR_REQUIRES_GRAD) != 0;
    }
    cr_node *node;
    if (t->grad_mode) {
        node = push_node(t);
        if (!node) return NULL;
        out->id = (int)(t->n_nodes - 1);
        if (needs_grad) out->flags |= CR_REQUIRES_GRAD;
        t->backward_done = 0;
    } else {
        node = cr__arena_alloc(t, sizeof *node, 16);
        if (!node) return NULL;
    }
    node->op = op;
    node->out = out;
    node->in = ins;
    node->n_in = n;
    memset(node->iarg, 0, sizeof node->iarg);
    node->farg[0] = node->farg[1] = 0;
    node->aux = NULL;
    return node;
}

cr_tensor *cr_run(cr_tape *t, cr_node *n)
{
    if (!t || !n || t->err != CR_OK) return NULL;
    n->op->forward(t, n);
    if (t->err != CR_OK) return NULL;
    if (t->anomaly && !cr__check_forward(t, n)) return NULL;
    return n->out;
}

static cr_tensor *leaf(cr_tape *t, int ndim, const int *shape, const cr_real *data, int grad)
{
    if (!t || t->err != CR_OK) return NULL;
    cr_node *n = cr_record(t, &cr__leaf_op, 0, NULL, ndim, shape);
    if (!n) return NULL;
    cr_tensor *x = n->out;
    x->flags = CR_LEAF | (grad && t->grad_mode ? CR_REQUIRES_GRAD : 0u);
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
