/* custom: an op defined by the user's callbacks.
 *   forward(out, in, n_in, user)   writes out->data (zeroed before each call)
 *   backward(out, in, n_in, user)  adds out->grad times the local derivative into
 *                                  in[k]->grad wherever that is non-NULL
 * The node's op is a cr_op built in the arena under the user's name, so printing,
 * DOT export and traces show that name; the callbacks and user pointer live in an
 * arena block in n->aux. Replay calls forward again. */
#include "op_attrs.h"
#include "graph_ops.h"
#include "shape_util.h"
#include "../graph/errf.h"

#include <string.h>

#define CR_CUSTOM_NAME_MAX 63

typedef struct custom_state {
    cr_custom_fn forward, backward;
    void *user;
} custom_state;

static void custom_forward(cr_tape *t, cr_node *n)
{
    (void)t;
    const custom_state *s = n->aux;
    memset(n->out->data, 0, n->out->size * sizeof(cr_real));
    s->forward(n->out, n->in, n->n_in, s->user);
}

static void custom_backward(cr_tape *t, cr_node *n)
{
    (void)t;
    const custom_state *s = n->aux;
    if (s->backward) s->backward(n->out, n->in, n->n_in, s->user);
}

cr_tensor *cr_custom(cr_tape *t, const char *name, int n_in, cr_tensor *const *in,
                     int ndim, const int *shape, cr_custom_fn forward,
                     cr_custom_fn backward, void *user)
{
    if (!t || cr_tape_error(t)) return NULL;
    if (!name) name = "custom";
    size_t len = strlen(name);
    if (len == 0 || len > CR_CUSTOM_NAME_MAX) {
        cr_tape_fail(t, CR_ERR_ARG, "custom: op name must be 1..%d characters, got %zu",
                     CR_CUSTOM_NAME_MAX, len);
        return NULL;
    }
    if (n_in < 0) {
        cr_tape_fail(t, CR_ERR_ARG, "custom '%s': n_in is %d (must be >= 0)", name, n_in);
        return NULL;
    }
    if (!cr_check_inputs(t, name, n_in, in)) return NULL;
    if (!forward) {
        cr_tape_fail(t, CR_ERR_ARG, "custom '%s': forward callback is NULL", name);
        return NULL;
    }
    int ok = ndim >= 0 && ndim <= CR_MAX_DIMS && (ndim == 0 || shape);
    for (int i = 0; ok && i < ndim; i++) ok = shape[i] >= 1;
    if (!ok) {
        char s[CR_DIMS_TEXT];
        cr_tape_fail(t, CR_ERR_SHAPE, "custom '%s': output shape %s is not allowed (rank 0..%d, "
                     "every dimension >= 1)", name,
                     shape || ndim <= 0 ? cr__dims_text(ndim, shape, s, sizeof s) : "NULL",
                     CR_MAX_DIMS);
        return NULL;
    }
    /* the op and its name live in the arena as long as the node does */
    cr_op *op = cr_tape_alloc(t, sizeof *op + len + 1);
    custom_state *s = cr_tape_alloc(t, sizeof *s);
    if (!op || !s) return NULL;
    char *copy = (char *)(op + 1);
    memcpy(copy, name, len + 1);
    op->name = copy;
    op->forward = custom_forward;
    op->backward = custom_backward;
    s->forward = forward;
    s->backward = backward;
    s->user = user;
    cr_node *n = cr_record(t, op, n_in, in, ndim, shape);
    if (!n) return NULL;
    n->aux = s;
    /* without backward the op is fine for evaluation (no-grad mode, constants) only */
    if (!backward && (n->out->flags & CR_REQUIRES_GRAD)) {
        for (int k = 0; k < n_in; k++)
            if (in[k]->flags & CR_REQUIRES_GRAD) {
                cr_tape_fail(t, CR_ERR_ARG, "custom '%s': backward callback is NULL but input "
                             "%d needs a gradient", name, k + 1);
                return NULL;
            }
    }
    return cr_run(t, n);
}

int cr__op_is_custom(const cr_op *op)
{
    return op && op->forward == custom_forward;
}

/* ------------------------------------------------------ graph files */

/* Custom ops a graph file may name: a registry the caller owns and passes to
 * cr_graph_load_with (no process-wide table). */
struct cr_op_registry {
    cr__custom_reg *e;
    int n, cap;
};

cr_op_registry *cr_op_registry_new(void)
{
    return cr_calloc(1, sizeof(cr_op_registry));
}

void cr_op_registry_free(cr_op_registry *r)
{
    if (!r) return;
    cr_free(r->e);
    cr_free(r);
}

cr_status cr_op_registry_add(cr_op_registry *r, const char *name, cr_custom_fn forward,
                             cr_custom_fn backward, void *user, char *err, size_t errsize)
{
    if (!r) return cr__errf(CR_ERR_ARG, err, errsize, "op registry: registry is NULL");
    if (!name || !forward)
        return cr__errf(CR_ERR_ARG, err, errsize, "op registry: %s is NULL",
                        name ? "forward callback" : "name");
    size_t len = strlen(name);
    if (len == 0 || len > CR_CUSTOM_NAME_MAX)
        return cr__errf(CR_ERR_ARG, err, errsize, "op registry: op name must be 1..%d "
                        "characters, got %zu", CR_CUSTOM_NAME_MAX, len);
    if (cr__graph_op_find(name))
        return cr__errf(CR_ERR_ARG, err, errsize, "op registry: '%s' is a built-in op", name);
    cr__custom_reg *e = (cr__custom_reg *)cr__op_registry_find(r, name);
    if (!e) {
        if (r->n == r->cap) {
            int cap = r->cap ? 2 * r->cap : 8;
            cr__custom_reg *grown = cr_realloc(r->e, (size_t)cap * sizeof *grown);
            if (!grown) return cr__errf(CR_ERR_NOMEM, err, errsize, "op registry: out of memory");
            r->e = grown;
            r->cap = cap;
        }
        e = &r->e[r->n++];
        memcpy(e->name, name, len + 1);
    }
    e->forward = forward;
    e->backward = backward;
    e->user = user;
    if (err && errsize) err[0] = '\0';
    return CR_OK;
}

const cr__custom_reg *cr__op_registry_find(const cr_op_registry *r, const char *name)
{
    for (int i = 0; r && name && i < r->n; i++)
        if (strcmp(r->e[i].name, name) == 0) return &r->e[i];
    return NULL;
}
