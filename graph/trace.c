/* Backward trace: print each chain-rule step as the reverse pass takes it.
 *
 * A node y = op(x1, ..., xn) is reached with its incoming gradient g = dL/dy; its
 * backward adds g * dy/dxk to the gradient of each xk. The trace prints, for every
 * input, that product and, when y is a scalar, its two factors:
 *
 *     f = mul(x, z) = 6, incoming ∂f/∂f = 1
 *       ∂f/∂x (via f) = z = 3
 *       ∂f/∂z = x = 2
 *     z = add(x, y) = 3, incoming ∂f/∂z = 2
 *       ∂f/∂x (via z) = 2·1 = 2
 *       ∂f/∂y = 2·1 = 2
 *     totals:
 *       ∂f/∂x = 5
 *       ∂f/∂y = 2
 *
 * graph/ knows no derivative formula: the local derivative dy/dxk is read off the
 * op's own backward, run once more with incoming gradient 1 into scratch buffers
 * (cr__local_derivatives). The real backward then runs untouched, so a traced pass
 * computes exactly the gradients of an untraced one. When the local derivative
 * equals the value of another input of the same node (as it does for a product),
 * the trace names that input ("= x = 2"); 0, 1 and -1 are always printed as
 * numbers. Tensor steps print shapes and a summary of the gradient added.
 *
 * The trace keeps no state of its own: the loss is the highest node reached in
 * this pass, and the pass ends when no lower op node has been reached.
 */
#include "run_internal.h"
#include "teach_internal.h"

#include <ctype.h>
#include <string.h>

#define CR_SMALL_INPUTS 8

int cr__local_derivatives(cr_tape *t, cr_node *n, cr_real *const *local, int all_inputs)
{
    cr_real *saved_small[CR_SMALL_INPUTS];
    cr_real **saved = saved_small;
    if (n->n_in > CR_SMALL_INPUTS) {
        saved = cr_malloc((size_t)n->n_in * sizeof *saved);
        if (!saved) return 0;
    }
    cr_tensor *out = n->out;
    cr_real *saved_out = out->grad, one = 1;
    for (int k = 0; k < n->n_in; k++) saved[k] = n->in[k]->grad;
    for (int k = 0; k < n->n_in; k++) n->in[k]->grad = NULL;
    for (int k = 0; k < n->n_in; k++) {
        cr_tensor *x = n->in[k];
        if (!local || !local[k] || x->grad) continue;     /* skipped, or listed earlier */
        if (!all_inputs && !saved[k]) continue;
        memset(local[k], 0, x->size * sizeof(cr_real));
        x->grad = local[k];
    }
    out->grad = &one;
    n->op->backward(t, n);
    out->grad = saved_out;
    for (int k = 0; k < n->n_in; k++) {
        cr_tensor *x = n->in[k];
        /* an input listed twice: every listing gets the summed local derivative */
        if (local && local[k] && x->grad && x->grad != local[k])
            memcpy(local[k], x->grad, x->size * sizeof(cr_real));
    }
    for (int k = n->n_in; k-- > 0;) n->in[k]->grad = saved[k];
    if (saved != saved_small) cr_free(saved);
    return 1;
}

/* ------------------------------------------------------------ pass structure */

static int reached(const cr_tape *t, const cr_node *m)
{
    return m->op != &cr__leaf_op && (m->out->flags & CR_REQUIRES_GRAD) &&
           m->out->grad_epoch == t->epoch;
}

/* The loss of this pass: nothing above it is reached (the epoch is new). */
static const cr_tensor *find_loss(const cr_tape *t, const cr_node *n)
{
    for (size_t i = t->n_nodes; i-- > (size_t)n->out->id + 1;)
        if (t->nodes[i].out->grad_epoch == t->epoch) return t->nodes[i].out;
    return n->out;
}

/* n is the last step when no op node below it has been reached. */
static int is_last(const cr_tape *t, const cr_node *n)
{
    for (int i = n->out->id; i-- > 0;)
        if (reached(t, &t->nodes[i])) return 0;
    return 1;
}

/* Does x feed another node than n (up to the loss)? Then each path gets "(via n)". */
static int has_other_consumer(const cr_tape *t, const cr_tensor *x, const cr_node *n,
                              const cr_tensor *loss)
{
    size_t from = x->id >= 0 ? (size_t)x->id + 1 : 0;
    for (size_t i = from; i <= (size_t)loss->id && i < t->n_nodes; i++) {
        const cr_node *m = &t->nodes[i];
        if (m == n || !(m->out->flags & CR_REQUIRES_GRAD)) continue;
        for (int k = 0; k < m->n_in; k++)
            if (m->in[k] == x) return 1;
    }
    return 0;
}

/* ------------------------------------------------------------------ printing */

typedef struct ctx {
    FILE *f;
    cr__glyphs g;
    char L[48];             /* the loss's name */
} ctx;

char *cr__operand(const cr_tensor *x, char *buf, size_t size)
{
    char nm[48];
    cr__name(x, nm, sizeof nm);
    int plain = 1;
    for (const unsigned char *s = (const unsigned char *)nm; *s; s++)
        if (!(isalnum(*s) || *s == '_' || *s == '#' || *s == '.' || *s == '\'' || *s >= 0x80))
            plain = 0;
    snprintf(buf, size, plain ? "%s" : "(%s)", nm);
    return buf;
}

/* "∂f/∂x" or "∂f/∂x (via z)" into buf */
static void partial(const ctx *c, const cr_tape *t, const cr_node *n, const cr_tensor *x,
                    const cr_tensor *loss, char *buf, size_t size)
{
    char xn[48], via[64] = "";
    if (has_other_consumer(t, x, n, loss)) {
        char nn[48];
        snprintf(via, sizeof via, " (via %s)", cr__name(n->out, nn, sizeof nn));
    }
    snprintf(buf, size, "%s%s/%s%s%s", c->g.d, c->L, c->g.d, cr__operand(x, xn, sizeof xn), via);
}

static void node_line(const ctx *c, const cr_tape *t, const cr_node *n)
{
    char name[48], val[240], g[240];
    fprintf(c->f, "%s = %s(", cr__name(n->out, name, sizeof name), n->op->name);
    for (int k = 0; k < n->n_in; k++) {
        char in[48];
        fprintf(c->f, "%s%s", k ? ", " : "", cr__name(n->in[k], in, sizeof in));
    }
    fprintf(c->f, ") = %s, incoming %s%s/%s%s = %s\n",
            cr__describe(n->out, n->out->data, val, sizeof val), c->g.d, c->L, c->g.d,
            cr__operand(n->out, name, sizeof name),
            cr__describe(n->out, cr__grad_of(t, n->out), g, sizeof g));
}

/* A right-hand factor: negative numbers in parentheses, "2·(-1)". */
static char *factor(double v, char *buf, size_t size)
{
    char num[48];
    cr__fmt_real(v, num, sizeof num);
    snprintf(buf, size, num[0] == '-' ? "(%s)" : "%s", num);
    return buf;
}

/* Another input of n whose (scalar) value is exactly v, to name the local derivative. */
static const cr_tensor *sibling_equal_to(const cr_node *n, int k, cr_real v)
{
    if (v == 0 || v == 1 || v == -1) return NULL;
    for (int j = 0; j < n->n_in; j++)
        if (n->in[j] != n->in[k] && n->in[j]->size == 1 && n->in[j]->data[0] == v)
            return n->in[j];
    return NULL;
}

static int listed_before(const cr_node *n, int k)
{
    for (int j = 0; j < k; j++)
        if (n->in[j] == n->in[k]) return 1;
    return 0;
}

/* y is a scalar: print g · local = product for each input that gets a gradient. */
static void scalar_step(const ctx *c, cr_tape *t, cr_node *n, const cr_tensor *loss)
{
    cr_real scalars[CR_SMALL_INPUTS];
    cr_real *small[CR_SMALL_INPUTS];
    cr_real **local = small;
    int ok = 1;
    if (n->n_in > CR_SMALL_INPUTS) {
        local = cr_calloc((size_t)n->n_in, sizeof *local);
        ok = local != NULL;
    }
    for (int k = 0; ok && k < n->n_in; k++) local[k] = NULL;
    for (int k = 0; ok && k < n->n_in; k++) {
        cr_tensor *x = n->in[k];
        if (!x->grad) continue;
        if (x->size == 1 && k < CR_SMALL_INPUTS) local[k] = &scalars[k];
        else if (!(local[k] = cr_malloc(x->size * sizeof(cr_real)))) ok = 0;
    }
    if (ok) ok = cr__local_derivatives(t, n, local, 0);
    cr_real g = n->out->grad[0];
    n->op->backward(t, n);                     /* the real step, unchanged */

    for (int k = 0; k < n->n_in; k++) {
        cr_tensor *x = n->in[k];
        if (!x->grad || listed_before(n, k)) continue;
        char d[128], a[240], b[240], gs[48];
        partial(c, t, n, x, loss, d, sizeof d);
        cr__fmt_real(g, gs, sizeof gs);
        if (!ok) {
            fprintf(c->f, "  %s: added (local derivative not shown: out of memory)\n", d);
        } else if (x->size == 1) {
            cr_real l = local[k][0], p = g * l;
            const cr_tensor *same = sibling_equal_to(n, k, l);
            char nm[48], plain[48];
            cr__fmt_real(l, plain, sizeof plain);
            factor(l, a, sizeof a);
            cr__fmt_real(p, b, sizeof b);
            if (same && !strcmp(cr__name(same, nm, sizeof nm), plain))
                same = NULL;                   /* a constant labelled by its value */
            if (same && g == 1)
                fprintf(c->f, "  %s = %s = %s\n", d, nm, plain);
            else if (same)
                fprintf(c->f, "  %s = %s%s%s = %s%s%s = %s\n", d, gs, c->g.dot, nm, gs,
                        c->g.dot, a, b);
            else
                fprintf(c->f, "  %s = %s%s%s = %s\n", d, gs, c->g.dot, a, b);
        } else {
            cr__describe(x, local[k], a, sizeof a);
            for (size_t i = 0; i < x->size; i++) local[k][i] *= g;   /* now the product */
            cr__describe(x, local[k], b, sizeof b);
            fprintf(c->f, "  %s = %s%s(%s) = %s\n", d, gs, c->g.dot, a, b);
        }
    }
    for (int k = 0; local && k < n->n_in; k++)
        if (local[k] && !(k < CR_SMALL_INPUTS && local[k] == &scalars[k])) cr_free(local[k]);
    if (local != small) cr_free(local);
}

/* y is a tensor: print the gradient each input received (shape and summary). */
static void tensor_step(const ctx *c, cr_tape *t, cr_node *n, const cr_tensor *loss)
{
    cr_real *small[CR_SMALL_INPUTS] = { 0 };
    cr_real **before = n->n_in > CR_SMALL_INPUTS ? cr_calloc((size_t)n->n_in, sizeof *before)
                                                 : small;
    for (int k = 0; before && k < n->n_in; k++) {
        cr_tensor *x = n->in[k];
        if (!x->grad || listed_before(n, k)) continue;
        before[k] = cr_malloc(x->size * sizeof(cr_real));
        if (before[k]) memcpy(before[k], x->grad, x->size * sizeof(cr_real));
    }
    n->op->backward(t, n);                     /* the real step, unchanged */
    for (int k = 0; k < n->n_in; k++) {
        cr_tensor *x = n->in[k];
        if (!x->grad || listed_before(n, k)) continue;
        char d[128], b[240];
        partial(c, t, n, x, loss, d, sizeof d);
        if (!before || !before[k]) {
            fprintf(c->f, "  %s: added (not shown: out of memory)\n", d);
            continue;
        }
        for (size_t i = 0; i < x->size; i++) before[k][i] = x->grad[i] - before[k][i];
        fprintf(c->f, "  %s = %s\n", d, cr__describe(x, before[k], b, sizeof b));
        cr_free(before[k]);
    }
    if (before != small) cr_free(before);
}

static void totals(const ctx *c, const cr_tape *t, const cr_tensor *loss)
{
    fprintf(c->f, "totals:\n");
    /* tape leaves first, in creation order */
    for (size_t i = 0; i <= (size_t)loss->id; i++) {
        const cr_node *m = &t->nodes[i];
        const cr_real *g = cr__grad_of(t, m->out);
        if (m->op != &cr__leaf_op || !g) continue;
        char x[48], v[240];
        fprintf(c->f, "  %s%s/%s%s = %s\n", c->g.d, c->L, c->g.d, cr__operand(m->out, x, sizeof x),
                cr__describe(m->out, g, v, sizeof v));
    }
    /* then heap parameters, in the order the graph first uses them */
    const cr_tensor **seen = NULL;
    size_t n_seen = 0, cap = 0;
    for (size_t i = 0; i <= (size_t)loss->id; i++) {
        const cr_node *m = &t->nodes[i];
        if (!reached(t, m)) continue;
        for (int k = 0; k < m->n_in; k++) {
            const cr_tensor *p = m->in[k];
            if (!(p->flags & CR_HEAP) || !p->grad) continue;
            size_t j = 0;
            while (j < n_seen && seen[j] != p) j++;
            if (j < n_seen) continue;
            if (n_seen == cap) {
                size_t nc = cap ? 2 * cap : 16;
                const cr_tensor **ns = cr_realloc(seen, nc * sizeof *ns);
                if (!ns) break;
                seen = ns;
                cap = nc;
            }
            seen[n_seen++] = p;
            char x[48], v[240];
            fprintf(c->f, "  %s%s/%s%s = %s\n", c->g.d, c->L, c->g.d, cr__operand(p, x, sizeof x),
                    cr__describe(p, p->grad, v, sizeof v));
        }
    }
    cr_free(seen);
}

void cr__trace_backward(cr_tape *t, cr_node *n)
{
    ctx c;
    c.f = t->trace;
    c.g = cr__glyphs_get();
    const cr_tensor *loss = find_loss(t, n);
    cr__operand(loss, c.L, sizeof c.L);
    if (loss == n->out) {
        char v[240];
        fprintf(c.f, "backward from %s = %s\n", c.L,
                cr__describe(loss, loss->data, v, sizeof v));
    }
    node_line(&c, t, n);
    if (n->out->size == 1) scalar_step(&c, t, n, loss);
    else tensor_step(&c, t, n, loss);
    if (is_last(t, n)) totals(&c, t, loss);
}
