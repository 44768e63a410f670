/* cr_tape_dot: the recorded graph in Graphviz DOT, for pictures of the chain rule.
 *
 * Every tensor is a small table: a coloured header (its name and what it is), its
 * shape, its value and its gradient from the last backward pass. Colours tell the
 * kinds apart: variables (tape leaves that need a gradient) blue, inputs and
 * constants grey, parameters (heap tensors with a gradient) orange, ops green,
 * the loss red. In a graph of scalars every edge carries its local derivative
 * d head / d tail, read off the op's own backward (cr__local_derivatives): graph/
 * knows no formula. Other edges carry the shape that flows along them.
 *
 * Layers become clusters. A node's scope is the part of its label before the last
 * '/' ("fc1/h"), or of a parameter's name before the last '.' ("fc1.W", as the
 * parameter lists of nn/ name them). An unlabelled op takes the scope of the
 * first scoped parameter it reads, or else of its only input when that is an op:
 * so x W + b and the activation after it land in the box of their layer.
 */
#include "teach_internal.h"

#include <string.h>

#define COLOR_VAR    "#cfe2ff"
#define COLOR_INPUT  "#e9ecef"
#define COLOR_PARAM  "#ffe0b2"
#define COLOR_OP     "#d3f0d3"
#define COLOR_LOSS   "#f8c9c9"

/* Heap tensors are not on the node list: they are numbered as the graph meets them. */
typedef struct heap_list {
    const cr_tensor **x;
    size_t n, cap;
} heap_list;

static long heap_index(heap_list *h, const cr_tensor *x, int add)
{
    for (size_t i = 0; i < h->n; i++)
        if (h->x[i] == x) return (long)i;
    if (!add) return -1;
    if (h->n == h->cap) {
        size_t cap = h->cap ? 2 * h->cap : 16;
        const cr_tensor **nx = cr_realloc(h->x, cap * sizeof *nx);
        if (!nx) return -1;
        h->x = nx;
        h->cap = cap;
    }
    h->x[h->n] = x;
    return (long)h->n++;
}

/* Write s with the characters HTML-like labels reserve replaced. */
static void put_html(FILE *f, const char *s)
{
    for (; *s; s++) {
        switch (*s) {
        case '&': fputs("&amp;", f); break;
        case '<': fputs("&lt;", f); break;
        case '>': fputs("&gt;", f); break;
        case '"': fputs("&quot;", f); break;
        default: fputc(*s, f);
        }
    }
}

/* Write s as the inside of a quoted DOT string. */
static void put_quoted(FILE *f, const char *s)
{
    for (; *s; s++) {
        if (*s == '"' || *s == '\\') fputc('\\', f);
        fputc(*s, f);
    }
}

/* Scope of a label: the text before the last '/' (or '.' for a heap tensor). */
static size_t scope_len(const cr_tensor *x)
{
    if (!x->name) return 0;
    const char *slash = strrchr(x->name, '/');
    if (slash) return (size_t)(slash - x->name);
    if (x->flags & CR_HEAP) {
        const char *dot = strrchr(x->name, '.');
        if (dot) return (size_t)(dot - x->name);
    }
    return 0;
}

typedef cr__scope scope;

cr__scope cr__own_scope(const cr_tensor *x)
{
    scope sc = { x->name, scope_len(x) };
    return sc;
}

void cr__node_scopes(const cr_tape *t, cr__scope *sc)
{
    for (size_t i = 0; i < t->n_nodes; i++) {
        const cr_node *n = &t->nodes[i];
        sc[i] = cr__own_scope(n->out);
        if (sc[i].len || n->op == &cr__leaf_op) continue;
        for (int k = 0; k < n->n_in && !sc[i].len; k++)
            if (n->in[k]->flags & CR_HEAP) sc[i] = cr__own_scope(n->in[k]);
        if (!sc[i].len && n->n_in == 1 && n->in[0]->id >= 0 &&
            t->nodes[n->in[0]->id].op != &cr__leaf_op)
            sc[i] = sc[n->in[0]->id];
    }
}

static int same_scope(scope a, scope b)
{
    return a.len == b.len && a.len && memcmp(a.s, b.s, a.len) == 0;
}

/* The loss: root of the last backward pass (highest node reached), else -1. */
static long find_loss(const cr_tape *t)
{
    for (size_t i = t->n_nodes; i-- > 0;) {
        const cr_tensor *x = t->nodes[i].out;
        if (t->epoch && x->grad_epoch == t->epoch && (x->flags & CR_REQUIRES_GRAD))
            return x->size == 1 ? (long)i : -1;
    }
    return -1;
}

/* Value or gradient text: exact for a scalar; a small matrix row by row; a vector
 * in one line; anything larger as a summary over two lines. */
static void put_values(FILE *f, const char *what, const cr_tensor *x, const cr_real *v)
{
    char buf[240];
    fprintf(f, "<TR><TD ALIGN=\"LEFT\">%s ", what);
    if (x->ndim == 0) {
        put_html(f, cr__fmt_real(v[0], buf, sizeof buf));
    } else if (x->ndim == 2 && x->shape[0] > 1 && x->size <= 40 && x->shape[1] <= 8) {
        for (int r = 0; r < x->shape[0]; r++) {
            fputs(r ? "<BR ALIGN=\"LEFT\"/>" : "", f);
            for (int c = 0; c < x->shape[1]; c++)
                fprintf(f, "%s%.4g", c ? "  " : "", (double)v[r * x->shape[1] + c]);
        }
        fputs("<BR ALIGN=\"LEFT\"/>", f);
    } else {
        cr__summary(x, v, buf, sizeof buf);
        char *split = strstr(buf, "] min");
        if (split) {
            split[1] = '\0';
            put_html(f, buf);
            fputs("<BR ALIGN=\"LEFT\"/>", f);
            put_html(f, split + 2);
        } else {
            put_html(f, buf);
        }
    }
    fputs("</TD></TR>", f);
}

/* One tensor as an HTML-like table. kind: "var", "input", "param", op name...
 * skip: length of the scope prefix not repeated inside its cluster. */
static void put_node(FILE *f, const cr_tape *t, const char *id, const cr_tensor *x,
                     const char *kind, const char *color, size_t skip, int is_loss)
{
    char name[64], shape[48];
    cr__name(x, name, sizeof name);
    fprintf(f, "  %s [label=<<TABLE BORDER=\"%d\" CELLBORDER=\"0\" CELLSPACING=\"0\" "
            "CELLPADDING=\"3\" STYLE=\"ROUNDED\" COLOR=\"#555555\"><TR><TD BGCOLOR=\"%s\">"
            "<B>", id, is_loss ? 3 : 1, color);
    put_html(f, name + (x->name && skip ? skip + 1 : 0));
    fputs("</B> ", f);
    put_html(f, kind);
    fputs("</TD></TR>", f);
    if (x->ndim > 0) fprintf(f, "<TR><TD>%s</TD></TR>", cr_shape_str(x, shape, sizeof shape));
    put_values(f, "value", x, x->data);
    const cr_real *g = cr__grad_of(t, x);
    if (g) put_values(f, "grad", x, g);
    fputs("</TABLE>>];\n", f);
}

static void put_tape_node(FILE *f, const cr_tape *t, size_t i, long loss)
{
    const cr_node *n = &t->nodes[i];
    const cr_tensor *x = n->out;
    char id[32], kind_buf[64];
    snprintf(id, sizeof id, "n%zu", i);
    int leaf = n->op == &cr__leaf_op, grad = (x->flags & CR_REQUIRES_GRAD) != 0;
    const char *kind = leaf ? (grad ? "var" : x->size == 1 ? "const" : "input") : n->op->name;
    const char *color = (long)i == loss ? COLOR_LOSS
                        : leaf ? (grad ? COLOR_VAR : COLOR_INPUT) : COLOR_OP;
    /* a labelled node also shows its index, which error messages use */
    if ((long)i == loss || (x->name && x->name[0])) {
        int w = snprintf(kind_buf, sizeof kind_buf, "%s%s", kind, (long)i == loss ? " (loss)" : "");
        if (x->name && x->name[0] && w > 0 && (size_t)w < sizeof kind_buf)
            snprintf(kind_buf + w, sizeof kind_buf - (size_t)w, " #%zu", i);
        kind = kind_buf;
    }
    put_node(f, t, id, x, kind, color, cr__own_scope(x).len, (long)i == loss);
}

static void put_heap_node(FILE *f, const cr_tape *t, size_t j, const cr_tensor *x)
{
    char id[32];
    snprintf(id, sizeof id, "p%zu", j);
    int param = (x->flags & CR_REQUIRES_GRAD) != 0;
    put_node(f, t, id, x, param ? "param" : "const", param ? COLOR_PARAM : COLOR_INPUT,
             cr__own_scope(x).len, 0);
}

static void put_cluster_open(FILE *f, size_t c, scope sc)
{
    char name[80];
    snprintf(name, sizeof name, "%.*s", (int)(sc.len < 79 ? sc.len : 79), sc.s);
    fprintf(f, "  subgraph cluster_%zu {\n    label=\"", c);
    put_quoted(f, name);
    fputs("\"; style=\"rounded,filled\"; fillcolor=\"#f7f7f7\"; color=\"#999999\";\n", f);
}

/* Edges: scalar edges carry d head / d tail; the others the shape of the tail. */
static void put_edges(FILE *f, const cr_tape *t, heap_list *h)
{
    cr__glyphs g = cr__glyphs_get();
    for (size_t i = 0; i < t->n_nodes; i++) {
        cr_node *n = &t->nodes[i];
        cr_real local_small[8];
        cr_real *local[8] = { 0 };
        int scalar = n->out->size == 1 && n->n_in <= 8, any = 0;
        for (int k = 0; scalar && k < n->n_in; k++)
            if (n->in[k]->size == 1) local[k] = &local_small[k], any = 1;
        /* The tape is only borrowed: every pointer is restored before returning. */
        if (any && !cr__local_derivatives((cr_tape *)t, n, local, 1)) any = 0;
        for (int k = 0; k < n->n_in; k++) {
            const cr_tensor *x = n->in[k];
            char tail[32], lab[160], a[48], b[48], v[48];
            if (x->id >= 0) snprintf(tail, sizeof tail, "n%d", x->id);
            else snprintf(tail, sizeof tail, "p%ld", heap_index(h, x, 0));
            if (any && local[k])
                snprintf(lab, sizeof lab, "%s%s/%s%s = %s", g.d, cr__name(n->out, a, sizeof a),
                         g.d, cr__name(x, b, sizeof b), cr__fmt_real(local[k][0], v, sizeof v));
            else if (x->ndim > 0) cr_shape_str(x, lab, sizeof lab);
            else lab[0] = '\0';
            fprintf(f, "  %s -> n%zu [label=\"", tail, i);
            put_quoted(f, lab);
            fputs("\"];\n", f);
        }
    }
}

cr_status cr_tape_dot(const cr_tape *t, FILE *f)
{
    if (!t || !f) return CR_ERR_ARG;
    heap_list h = { NULL, 0, 0 };
    scope *sc = t->n_nodes ? cr_malloc(t->n_nodes * sizeof *sc) : NULL;
    if (t->n_nodes && !sc) return CR_ERR_NOMEM;
    for (size_t i = 0; i < t->n_nodes; i++)
        for (int k = 0; k < t->nodes[i].n_in; k++)
            if (t->nodes[i].in[k]->id < 0 && heap_index(&h, t->nodes[i].in[k], 1) < 0) {
                cr_free(sc);
                cr_free(h.x);
                return CR_ERR_NOMEM;
            }
    cr__node_scopes(t, sc);
    long loss = find_loss(t);

    fputs("digraph chainrule {\n  graph [rankdir=LR, fontname=\"Helvetica\", fontsize=11, "
          "nodesep=0.25, ranksep=0.45];\n  node [shape=plain, fontname=\"Helvetica\", "
          "fontsize=10];\n  edge [fontname=\"Helvetica\", fontsize=9, color=\"#555555\", "
          "fontcolor=\"#1f4e9c\"];\n", f);
    /* nodes outside any scope */
    for (size_t j = 0; j < h.n; j++)
        if (!cr__own_scope(h.x[j]).len) put_heap_node(f, t, j, h.x[j]);
    for (size_t i = 0; i < t->n_nodes; i++)
        if (!sc[i].len) put_tape_node(f, t, i, loss);
    /* one cluster per scope, in order of first appearance */
    size_t c = 0;
    for (size_t i = 0; i < t->n_nodes + h.n; i++) {
        scope s = i < h.n ? cr__own_scope(h.x[i]) : sc[i - h.n];
        int first = s.len > 0;
        for (size_t j = 0; first && j < i; j++)
            if (same_scope(s, j < h.n ? cr__own_scope(h.x[j]) : sc[j - h.n])) first = 0;
        if (!first) continue;
        put_cluster_open(f, c++, s);
        for (size_t j = 0; j < h.n; j++)
            if (same_scope(s, cr__own_scope(h.x[j]))) put_heap_node(f, t, j, h.x[j]);
        for (size_t j = 0; j < t->n_nodes; j++)
            if (same_scope(s, sc[j])) put_tape_node(f, t, j, loss);
        fputs("  }\n", f);
    }
    put_edges(f, t, &h);
    fputs("}\n", f);
    cr_free(sc);
    cr_free(h.x);
    return ferror(f) ? CR_ERR_IO : CR_OK;
}
