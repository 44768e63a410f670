/* Anomaly mode (cr_tape_set_anomaly): find the first node whose value or gradient
 * holds a NaN or an Inf, and say which op made it from which inputs — PyTorch's
 * detect_anomaly, in spirit, but for the forward pass as well.
 *
 * Forward: after every op (cr_run, and every op of a replay) the output is
 * scanned. Backward: after every node's backward, the gradient of every input
 * that takes one is scanned; nodes run from the loss down, so the first report
 * is the node nearest the loss that produced a bad gradient.
 *
 * The report becomes the tape's error (CR_ERR_NUMERIC), e.g.
 *   anomaly: forward of node #3 (div, shape 2) gave NaN at element 0; inputs:
 *   #2 mul, shape 2, in [0, 2]; #1 leaf "b", shape 2, in [0, 2]
 * Ranges are over the finite values, with counts of NaN and Inf after them. When an
 * input already held a non-finite value the message says so: the op only passed
 * it on (it came from leaf data, a parameter, or a node recorded before anomaly
 * mode was switched on).
 *
 * Cost: one pass over each output (forward) and over each input gradient after
 * each node (backward); a tensor used by k nodes is scanned k times. Meant for
 * debugging runs, not for every step of a long training. */
#include "run_internal.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

typedef struct scan {
    size_t first;       /* index of the first non-finite value, SIZE_MAX if none */
    size_t nan, inf;    /* how many */
    double lo, hi;      /* range of the finite values (lo > hi when there are none) */
} scan;

static scan scan_values(const cr_real *v, size_t n)
{
    scan s = { SIZE_MAX, 0, 0, INFINITY, -INFINITY };
    for (size_t i = 0; i < n; i++) {
        double x = v[i];
        if (isfinite(x)) {
            if (x < s.lo) s.lo = x;
            if (x > s.hi) s.hi = x;
            continue;
        }
        if (s.first == SIZE_MAX) s.first = i;
        if (isnan(x)) s.nan++;
        else s.inf++;
    }
    return s;
}

/* Append printf output to buf[*len..size); stops quietly when full. */
#if defined(__GNUC__)
__attribute__((format(printf, 4, 5)))
#endif
static void append(char *buf, size_t size, size_t *len, const char *fmt, ...)
{
    if (*len >= size) return;
    va_list ap;
    va_start(ap, fmt);
    int w = vsnprintf(buf + *len, size - *len, fmt, ap);
    va_end(ap);
    if (w > 0) *len += (size_t)w < size - *len ? (size_t)w : size - *len - 1;
}

/* "in [-1, 4]", "in [-1, 4] and 2 NaN", "all 3 NaN/Inf (2 NaN, 1 Inf)". */
static void append_range(char *buf, size_t size, size_t *len, const scan *s)
{
    if (s->lo <= s->hi) append(buf, size, len, "in [%g, %g]", s->lo, s->hi);
    else append(buf, size, len, "with no finite value");
    if (s->nan) append(buf, size, len, "%s%zu NaN", s->lo <= s->hi ? " and " : ": ", s->nan);
    if (s->inf)
        append(buf, size, len, "%s%zu Inf", s->nan ? ", " : s->lo <= s->hi ? " and " : ": ",
               s->inf);
}

/* "shape 2x3", or "scalar" for rank 0. */
static void append_shape(char *buf, size_t size, size_t *len, const cr_tensor *x)
{
    char shape[48];
    if (x->ndim == 0) append(buf, size, len, "scalar");
    else append(buf, size, len, "shape %s", cr_shape_str(x, shape, sizeof shape));
}

/* "#3 exp, shape 2x2", "#0 leaf \"x\", scalar", "parameter \"fc1.W\", shape 4x3". */
static void append_tensor(char *buf, size_t size, size_t *len, const cr_tape *t,
                          const cr_tensor *x)
{
    if (x->tape == t && x->id >= 0 && (size_t)x->id < t->n_nodes && t->nodes[x->id].out == x)
        append(buf, size, len, "#%d %s", x->id, t->nodes[x->id].op->name);
    else if (x->tape) append(buf, size, len, "no-grad result");
    else append(buf, size, len, "%s", x->flags & CR_REQUIRES_GRAD ? "parameter" : "heap tensor");
    if (x->name && x->name[0]) append(buf, size, len, " \"%s\"", x->name);
    append(buf, size, len, ", ");
    append_shape(buf, size, len, x);
}

/* The node itself: "node #4 (div, shape 2)", "an op in no-grad mode (sqrt, scalar)". */
static void append_node(char *buf, size_t size, size_t *len, const cr_tape *t,
                        const cr_node *n)
{
    const cr_tensor *y = n->out;
    int recorded = y->id >= 0 && (size_t)y->id < t->n_nodes && t->nodes[y->id].out == y;
    if (recorded) append(buf, size, len, "node #%d", y->id);
    else append(buf, size, len, "an op in no-grad mode");
    if (y->name && y->name[0]) append(buf, size, len, " \"%s\"", y->name);
    append(buf, size, len, " (%s, ", n->op->name);
    append_shape(buf, size, len, y);
    append(buf, size, len, ")");
}

/* "; inputs: #2 mul, shape 2, in [0, 3]; #3 leaf, shape 2, in [0, 1]" plus a note naming the first
 * input that already held a non-finite value. */
static void append_inputs(char *buf, size_t size, size_t *len, const cr_tape *t,
                          const cr_node *n)
{
    int culprit = -1;
    append(buf, size, len, "; input%s: ", n->n_in == 1 ? "" : "s");
    for (int k = 0; k < n->n_in; k++) {
        const cr_tensor *x = n->in[k];
        scan s = scan_values(x->data, x->size);
        if (k) append(buf, size, len, "; ");
        append_tensor(buf, size, len, t, x);
        append(buf, size, len, ", ");
        append_range(buf, size, len, &s);
        if (s.first != SIZE_MAX && culprit < 0) culprit = k;
    }
    if (culprit >= 0)
        append(buf, size, len, " (input %d already held a non-finite value: this op passed "
               "it on)", culprit + 1);
}

static int report(cr_tape *t, const char *msg)
{
    cr_tape_fail(t, CR_ERR_NUMERIC, "%s", msg);
    return 0;
}

int cr__check_forward(cr_tape *t, const cr_node *n)
{
    const cr_tensor *y = n->out;
    scan s = scan_values(y->data, y->size);
    if (s.first == SIZE_MAX) return 1;
    char msg[sizeof t->msg];
    size_t len = 0;
    append(msg, sizeof msg, &len, "anomaly: forward of ");
    append_node(msg, sizeof msg, &len, t, n);
    append(msg, sizeof msg, &len, " gave %s at element %zu",
           s.nan ? (s.inf ? "NaN and Inf" : "NaN") : "Inf", s.first);
    if (s.nan + s.inf > 1) append(msg, sizeof msg, &len, " (%zu NaN, %zu Inf)", s.nan, s.inf);
    append_inputs(msg, sizeof msg, &len, t, n);
    return report(t, msg);
}

int cr__check_backward(cr_tape *t, const cr_node *n)
{
    for (int k = 0; k < n->n_in; k++) {
        const cr_tensor *x = n->in[k];
        if (!x->grad || !(x->flags & CR_REQUIRES_GRAD)) continue;
        scan s = scan_values(x->grad, x->size);
        if (s.first == SIZE_MAX) continue;
        char msg[sizeof t->msg];
        size_t len = 0;
        append(msg, sizeof msg, &len, "anomaly: backward of ");
        append_node(msg, sizeof msg, &len, t, n);
        append(msg, sizeof msg, &len, " gave input %d (", k + 1);
        append_tensor(msg, sizeof msg, &len, t, x);
        append(msg, sizeof msg, &len, ") a gradient with %s at element %zu; incoming gradient ",
               s.nan ? (s.inf ? "NaN and Inf" : "NaN") : "Inf", s.first);
        scan g = scan_values(n->out->grad, n->out->size);
        append_range(msg, sizeof msg, &len, &g);
        append_inputs(msg, sizeof msg, &len, t, n);
        return report(t, msg);
    }
    return 1;
}
