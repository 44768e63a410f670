/* Running nodes: an op's first forward (cr_run), the reverse pass and replay over
 * the node list. Creation order is a topological order, so both passes are plain
 * loops: no recursion, no sorting, no depth limit. */
#include "run_internal.h"
#include "record.h"

#include <string.h>

cr_tensor *cr_run(cr_tape *t, cr_node *n)
{
    if (!t || !n || t->err != CR_OK) return NULL;
    n->op->forward(t, n);
    if (t->err != CR_OK) return NULL;
    t->ctx_op = NULL;
    cr__commit(t, n);
    if (t->anomaly && !cr__check_forward(t, n)) return NULL;
    return n->out;
}

/* Give x a gradient buffer zeroed for this pass (tape tensors only; a heap
 * parameter keeps accumulating into its own buffer). Marks x as reached. A view
 * (graph/view.h) takes its base's buffer, touched first, except in a traced pass. */
static int touch_grad_zero(cr_tape *t, cr_tensor *x, int zero)
{
    if (!(x->flags & CR_REQUIRES_GRAD)) return 1;
    if (x->flags & CR_HEAP) {
        x->grad_epoch = t->epoch;
        return 1;
    }
    if (x->grad_epoch == t->epoch) return 1;
    if (x->flags & CR__VIEW) {
        cr_tensor *base = t->nodes[x->id].in[0];
        if (!t->trace) {
            if (!touch_grad_zero(t, base, 1)) return 0;
            x->grad = base->grad;
            x->grad_epoch = t->epoch;
            return 1;
        }
        if (x->grad == base->grad) x->grad = NULL;   /* shared in an untraced pass */
    }
    if (!x->grad && (x->flags & CR__GRAD_SLOT)) {
        x->grad = x->data + x->size;                /* reserved when x was recorded */
    } else if (!x->grad) {
        x->grad = cr__tape_bump(t, x->size * sizeof(cr_real),
                                  x->size >= 16 ? 64 : sizeof(cr_real));
        if (!x->grad) return 0;
    }
    if (!zero) {
        /* the node's backward assigns it (CR__BWD_ASSIGNS) */
    } else if (x->size == 1) {
        x->grad[0] = 0;                         /* scalar graphs: skip the memset call */
    } else {
        memset(x->grad, 0, x->size * sizeof(cr_real));
    }
    x->grad_epoch = t->epoch;
    return 1;
}

static int touch_grad(cr_tape *t, cr_tensor *x) { return touch_grad_zero(t, x, 1); }

/* touch_grad with its usual outcomes inline: x needs no gradient, or already has
 * this pass's buffer. */
static inline int touch(cr_tape *t, cr_tensor *x)
{
    if (!(x->flags & CR_REQUIRES_GRAD) || x->grad_epoch == t->epoch) return 1;
    if ((x->flags & CR__GRAD_SLOT) && x->size == 1) {   /* a scalar node's first touch */
        if (!x->grad) x->grad = x->data + 1;
        x->grad[0] = 0;
        x->grad_epoch = t->epoch;
        return 1;
    }
    return touch_grad(t, x);
}

/* Touch input x of a node whose backward opted in to CR__BWD_ASSIGNS: 1 when its
 * buffer is handed over unzeroed (the backward assigns it), 0 when it was touched
 * as usual (or needs nothing), -1 on error. `alone` is 0 when x must be zeroed
 * anyway: it is also a later input of the node, or its bit would not fit. */
static inline int touch_first(cr_tape *t, cr_tensor *x, int alone)
{
    if (!(x->flags & CR_REQUIRES_GRAD) || x->grad_epoch == t->epoch) return 0;
    if (!alone || (x->flags & (CR_HEAP | CR__VIEW))) return touch_grad(t, x) ? 0 : -1;
    if (x->flags & CR__GRAD_SLOT) {                     /* small tensors: no call */
        if (!x->grad) x->grad = x->data + x->size;
        x->grad_epoch = t->epoch;
        return 1;
    }
    return touch_grad_zero(t, x, 0) ? 1 : -1;
}

/* Touch n's inputs for a backward that opted in to CR__BWD_ASSIGNS: an input
 * needing a gradient whose buffer nothing has written in this pass gets it
 * unzeroed, and its bit in t->head.fresh, unless it is a view (its buffer is its
 * base's), a heap tensor (it accumulates across passes) or another input of n
 * too. Inputs are taken in order, so an input that also appears before k has
 * been touched (zeroed) there: only the inputs after k need a look. One or two
 * inputs (every elementwise op) without the loops. */
static inline int touch_assigning(cr_tape *t, const cr_node *n)
{
    const int n_in = n->n_in;
    unsigned long long fresh = 0;
    int r;
    if (n_in == 1 || n_in == 2) {
        cr_tensor *x0 = n->in[0];
        if ((r = touch_first(t, x0, n_in == 1 || n->in[1] != x0)) < 0) return 0;
        fresh = (unsigned)r;
        if (n_in == 2) {
            if ((r = touch_first(t, n->in[1], 1)) < 0) return 0;
            fresh |= (unsigned)r << 1;
        }
    } else {
        for (int k = 0; k < n_in; k++) {
            cr_tensor *x = n->in[k];
            int alone = k < 64;
            for (int j = k + 1; alone && j < n_in; j++) alone = n->in[j] != x;
            if ((r = touch_first(t, x, alone)) < 0) return 0;
            if (r) fresh |= 1ull << k;
        }
    }
    t->head.fresh = fresh;
    return 1;
}

static cr_status check_loss(cr_tape *t, cr_tensor *loss)
{
    if (t->err != CR_OK) return t->err;
    if (!loss)
        return cr_tape_fail(t, CR_ERR_ARG, "backward: loss is NULL");
    if (cr__tensor_check(t, loss) == 2)
        return cr_tape_fail(t, CR_ERR_STATE, "backward: loss predates the last cr_tape_reset "
                            "(a tape tensor is valid only until its tape is reset)");
    if (loss->tape != t)
        return cr_tape_fail(t, CR_ERR_ARG, "backward: loss is not a tensor of this tape");
    if (loss->size != 1) {
        char s[48];
        return cr_tape_fail(t, CR_ERR_SHAPE, "backward: loss must be a scalar but is %s "
                            "(reduce it with cr_sum or cr_mean first)",
                            cr_shape_str(loss, s, sizeof s));
    }
    if (loss->id < 0)
        return cr_tape_fail(t, CR_ERR_STATE, "backward: loss was computed in no-grad mode");
    /* refused, not an error: the tape stays usable (replay, print, DOT) */
    if (t->backward_done && !t->keep_graph)
        return cr__tape_refuse(t, CR_ERR_STATE, "backward: this recording was already used by a "
                            "backward pass; call cr_tape_set_keep_graph(t, 1) before the first "
                            "backward to run it again, or replay with cr_tape_forward");
    return CR_OK;
}

cr_status cr_backward(cr_tape *t, cr_tensor *loss)
{
    if (!t) return CR_ERR_ARG;
    t->ctx_op = NULL;
    cr_status s = check_loss(t, loss);
    if (s != CR_OK) return s;
    t->epoch++;
    if (t->epoch == 0) t->epoch = 1;       /* 0 means "never zeroed" */
    if (!(loss->flags & CR_REQUIRES_GRAD)) {
        t->backward_done = 1;                /* nothing depends on a variable */
        return CR_OK;
    }
    if (!touch_grad(t, loss)) return t->err;
    loss->grad[0] += 1;
    for (size_t i = (size_t)loss->id + 1; i-- > 0;) {
        cr_node *n = &t->nodes[i];
        cr_tensor *out = n->out;
        if (n->op == &cr__leaf_op || !(out->flags & CR_REQUIRES_GRAD)) continue;
        if (out->grad_epoch != t->epoch) continue;         /* loss does not reach it */
        if (t->trace) {
            for (int k = 0; k < n->n_in; k++)
                if (!touch(t, n->in[k])) return t->err;
            cr__trace_backward(t, n);
        } else {
            if (out->flags & CR__BWD_ASSIGNS) {
                if (!touch_assigning(t, n)) return t->err;
            } else {
                for (int k = 0; k < n->n_in; k++)
                    if (!touch(t, n->in[k])) return t->err;
            }
            n->op->backward(t, n);
            t->head.fresh = 0;
        }
        if (t->err != CR_OK) return t->err;
        if (t->anomaly && !cr__check_backward(t, n)) return t->err;
    }
    t->backward_done = 1;
    return CR_OK;
}

cr_status cr_tape_forward(cr_tape *t)
{
    if (!t) return CR_ERR_ARG;
    t->ctx_op = NULL;
    if (t->err != CR_OK) return t->err;
    for (size_t i = 0; i < t->n_nodes; i++) {
        cr_node *n = &t->nodes[i];
        if (n->op == &cr__leaf_op) continue;
        n->op->forward(t, n);
        if (t->err != CR_OK) return t->err;
        if (t->anomaly && !cr__check_forward(t, n)) return t->err;
    }
    t->backward_done = 0;
    return CR_OK;
}
