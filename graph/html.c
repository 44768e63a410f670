/* cr_tape_html: one self-contained HTML page of a recorded graph, to step through
 * the forward and then the backward pass in a browser: no network, no external
 * script, font or stylesheet.
 *
 * The page is a fixed template (graph/html_page.c: style and script) around one
 * JSON block written here: every tensor (name, kind, shape, value, gradient and its
 * first elements), the forward steps (creation order) and the backward steps.
 *
 * The backward steps are the chain-rule trace's own text (graph/trace.c). The
 * writer runs the reverse pass once more, node by node as cr_backward does, into
 * shadow gradient buffers, with the trace going to a memory stream: each step of
 * the page is the text cr_tape_set_trace prints for that node, digit for digit.
 * The real gradients are never written: every pointer is put back before return.
 * The shadow buffers start at zero, so the page shows this pass's gradient (as the
 * trace does when the parameters were zeroed before the pass).
 */
#include "run_internal.h"
#include "teach_internal.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define HTML_MAX_ELEMENTS 64

/* ------------------------------------------------------------------ labels */

/* The page's words; the trace lines themselves are the same in both languages,
 * as in docs/TUTORIAL.md and docs/TUTORIAL.zh.md. %1 and %2 are filled in by the
 * script. */
static const char *const words_en[] = {
    "title", "chainrule: the chain rule, step by step",
    "first", "start", "prev", "back", "next", "next", "last", "end",
    "step", "step %1 of %2",
    "help", "\xe2\x86\x90 \xe2\x86\x92 step \xc2\xb7 Home / End \xc2\xb7 "
            "click a node for its values",
    "start_text", "The recorded graph: %1 nodes. Press \xe2\x86\x92 to compute the values in "
                  "creation order (forward), then the gradients node by node (backward).",
    "forward", "forward", "backward", "backward", "totals", "gradients of the loss",
    "running", "running sum", "path", "path %1 of %2",
    "var", "variable", "input", "input", "const", "constant", "param", "parameter",
    "op", "op", "loss", "loss",
    "value", "value", "grad", "gradient", "shape", "shape",
    "elements", "first %1 of %2 elements", "expand", "%1 nodes: click to open",
    "collapse", "click to close", "close", "close",
    "no_backward", "No backward pass from this loss: forward steps only.",
    "fwd_hint", "the value appears", "bwd_hint",
    "incoming gradient \xc3\x97 local derivative, added into each input",
    NULL
};
static const char *const words_zh[] = {
    /* 链式法则逐步演示 */
    "title", "chainrule\xef\xbc\x9a\xe9\x93\xbe\xe5\xbc\x8f\xe6\xb3\x95\xe5\x88\x99\xe9\x80\x90"
             "\xe6\xad\xa5\xe6\xbc\x94\xe7\xa4\xba",
    "first", "\xe5\xbc\x80\xe5\xa7\x8b", "prev", "\xe4\xb8\x8a\xe4\xb8\x80\xe6\xad\xa5",
    "next", "\xe4\xb8\x8b\xe4\xb8\x80\xe6\xad\xa5", "last", "\xe7\xbb\x93\xe6\x9d\x9f",
    "step", "\xe7\xac\xac %1 \xe6\xad\xa5\xef\xbc\x8c\xe5\x85\xb1 %2 \xe6\xad\xa5",
    "help", "\xe2\x86\x90 \xe2\x86\x92 \xe9\x80\x90\xe6\xad\xa5 \xc2\xb7 Home / End \xc2\xb7 "
            "\xe7\x82\xb9\xe5\x87\xbb\xe8\x8a\x82\xe7\x82\xb9\xe6\x9f\xa5\xe7\x9c\x8b\xe6\x95\xb0"
            "\xe5\x80\xbc",
    "start_text", "\xe8\xae\xb0\xe5\xbd\x95\xe4\xb8\x8b\xe7\x9a\x84\xe8\xae\xa1\xe7\xae\x97"
                  "\xe5\x9b\xbe\xef\xbc\x9a%1 \xe4\xb8\xaa\xe8\x8a\x82\xe7\x82\xb9\xe3\x80\x82"
                  "\xe6\x8c\x89 \xe2\x86\x92 \xe5\x85\x88\xe6\x8c\x89\xe5\x88\x9b\xe5\xbb\xba"
                  "\xe9\xa1\xba\xe5\xba\x8f\xe8\xae\xa1\xe7\xae\x97\xe5\x90\x84\xe8\x8a\x82\xe7"
                  "\x82\xb9\xe7\x9a\x84\xe5\x80\xbc\xef\xbc\x88\xe5\x89\x8d\xe5\x90\x91\xef\xbc"
                  "\x89\xef\xbc\x8c\xe5\x86\x8d\xe9\x80\x90\xe4\xb8\xaa\xe8\x8a\x82\xe7\x82\xb9"
                  "\xe8\xae\xa1\xe7\xae\x97\xe6\xa2\xaf\xe5\xba\xa6\xef\xbc\x88\xe5\x8f\x8d\xe5"
                  "\x90\x91\xef\xbc\x89\xe3\x80\x82",
    "forward", "\xe5\x89\x8d\xe5\x90\x91", "backward", "\xe5\x8f\x8d\xe5\x90\x91",
    /* 损失对各变量的梯度 */
    "totals", "\xe6\x8d\x9f\xe5\xa4\xb1\xe5\xaf\xb9\xe5\x90\x84\xe5\x8f\x98\xe9\x87\x8f\xe7"
              "\x9a\x84\xe6\xa2\xaf\xe5\xba\xa6",
    "running", "\xe7\xb4\xaf\xe5\x8a\xa0", "path",
    "\xe7\xac\xac %1 \xe6\x9d\xa1\xe8\xb7\xaf\xe5\xbe\x84\xef\xbc\x8c\xe5\x85\xb1 %2 \xe6\x9d\xa1",
    "var", "\xe5\x8f\x98\xe9\x87\x8f", "input", "\xe8\xbe\x93\xe5\x85\xa5",
    "const", "\xe5\xb8\xb8\xe9\x87\x8f", "param", "\xe5\x8f\x82\xe6\x95\xb0",
    "op", "\xe8\xbf\x90\xe7\xae\x97", "loss", "\xe6\x8d\x9f\xe5\xa4\xb1",
    "value", "\xe5\x80\xbc", "grad", "\xe6\xa2\xaf\xe5\xba\xa6",
    "shape", "\xe5\xbd\xa2\xe7\x8a\xb6",
    "elements", "\xe5\x89\x8d %1 \xe4\xb8\xaa\xe5\x85\x83\xe7\xb4\xa0\xef\xbc\x8c\xe5\x85\xb1 %2 "
                "\xe4\xb8\xaa",
    "expand", "%1 \xe4\xb8\xaa\xe8\x8a\x82\xe7\x82\xb9\xef\xbc\x9a\xe7\x82\xb9\xe5\x87\xbb\xe5\xb1"
              "\x95\xe5\xbc\x80",
    "collapse", "\xe7\x82\xb9\xe5\x87\xbb\xe6\x94\xb6\xe8\xb5\xb7",
    "close", "\xe5\x85\xb3\xe9\x97\xad",
    "no_backward", "\xe6\xb2\xa1\xe6\x9c\x89\xe4\xbb\x8e\xe8\xbf\x99\xe4\xb8\xaa\xe6\x8d\x9f\xe5"
                   "\xa4\xb1\xe5\x87\xba\xe5\x8f\x91\xe7\x9a\x84\xe5\x8f\x8d\xe5\x90\x91\xe4\xbc"
                   "\xa0\xe6\x92\xad\xef\xbc\x9a\xe5\x8f\xaa\xe6\x9c\x89\xe5\x89\x8d\xe5\x90\x91"
                   "\xe3\x80\x82",
    /* 算出这个节点的值 */
    "fwd_hint", "\xe7\xae\x97\xe5\x87\xba\xe8\xbf\x99\xe4\xb8\xaa\xe8\x8a\x82\xe7\x82\xb9\xe7\x9a"
                "\x84\xe5\x80\xbc",
    /* 传入梯度 × 局部导数，加到每个输入上 */
    "bwd_hint", "\xe4\xbc\xa0\xe5\x85\xa5\xe6\xa2\xaf\xe5\xba\xa6 \xc3\x97 \xe5\xb1\x80\xe9\x83"
                "\xa8\xe5\xaf\xbc\xe6\x95\xb0\xef\xbc\x8c\xe5\x8a\xa0\xe5\x88\xb0\xe6\xaf\x8f\xe4"
                "\xb8\xaa\xe8\xbe\x93\xe5\x85\xa5\xe4\xb8\x8a",
    NULL
};

/* ---------------------------------------------------------------- writing */

/* s[0..len) as a JSON string; '<', '>' and '&' escaped so that no text can close
 * the script element. */
static void put_json_n(FILE *f, const char *s, size_t len)
{
    const unsigned char *p = (const unsigned char *)s, *end = p + len;
    fputc('"', f);
    for (; p < end; p++) {
        if (*p == '"' || *p == '\\') fprintf(f, "\\%c", *p);
        else if (*p == '\n') fputs("\\n", f);
        else if (*p < 0x20 || *p == '<' || *p == '>' || *p == '&') fprintf(f, "\\u%04x", *p);
        else fputc(*p, f);
    }
    fputc('"', f);
}

static void put_json(FILE *f, const char *s)
{
    put_json_n(f, s, strlen(s));
}

/* Shown inside a node's box: a scalar exactly, a tensor's first three elements. */
static char *short_text(const cr_tensor *x, const cr_real *v, char *buf, size_t size)
{
    if (!v) return strcpy(buf, "");
    if (x->ndim == 0 || x->size == 1) return cr__fmt_real(v[0], buf, size);
    size_t len = (size_t)snprintf(buf, size, "[");
    for (size_t i = 0; i < x->size && i < 3 && len < size; i++)
        len += (size_t)snprintf(buf + len, size - len, "%s%.4g", i ? " " : "",
                                v[i] == 0 ? 0.0 : (double)v[i]);
    if (len < size) snprintf(buf + len, size - len, x->size > 3 ? " \xe2\x80\xa6]" : "]");
    return buf;
}

/* The first `max` elements as JSON strings, exactly. */
static void put_elements(FILE *f, const cr_tensor *x, const cr_real *v, size_t max)
{
    char num[48];
    fputc('[', f);
    for (size_t i = 0; v && i < x->size && i < max; i++) {
        fputs(i ? ",\"" : "\"", f);
        fputs(cr__fmt_real(v[i], num, sizeof num), f);
        fputc('"', f);
    }
    fputc(']', f);
}

/* ------------------------------------------------------- the graph's units */

/* Units are the page's nodes: the tensors the tape reads that are not on its node
 * list (parameters, constants: "heap"), numbered first, then the tape's nodes. */
typedef struct page {
    cr_tape *t;
    const cr_tensor **heap;
    size_t n_heap, cap_heap, n_units;
    long root;              /* node index of the loss, -1: forward steps only */
    int *cluster;           /* per unit, -1 for none */
    int *uses, *got, *final_step;   /* per unit: paths, contributions so far, last step */
    cr_real **shadow, **saved;      /* per unit: this pass's gradient, the real pointer */
} page;

static const cr_tensor *unit_tensor(const page *p, size_t u)
{
    return u < p->n_heap ? p->heap[u] : p->t->nodes[u - p->n_heap].out;
}

static long unit_of(const page *p, const cr_tensor *x)
{
    if (x->id >= 0) return (long)p->n_heap + x->id;
    for (size_t i = 0; i < p->n_heap; i++)
        if (p->heap[i] == x) return (long)i;
    return -1;
}

static int collect_heap(page *p)
{
    for (size_t i = 0; i < p->t->n_nodes; i++) {
        const cr_node *n = &p->t->nodes[i];
        for (int k = 0; k < n->n_in; k++) {
            if (n->in[k]->id >= 0 || unit_of(p, n->in[k]) >= 0) continue;
            if (p->n_heap == p->cap_heap) {
                size_t cap = p->cap_heap ? 2 * p->cap_heap : 16;
                const cr_tensor **h = cr_realloc(p->heap, cap * sizeof *h);
                if (!h) return 0;
                p->heap = h;
                p->cap_heap = cap;
            }
            p->heap[p->n_heap++] = n->in[k];
        }
    }
    return 1;
}

/* Node i is a step of the backward pass that ended at p->root. */
static int reached(const page *p, size_t i)
{
    const cr_node *n = &p->t->nodes[i];
    return p->root >= 0 && (long)i <= p->root && n->op != &cr__leaf_op &&
           (n->out->flags & CR_REQUIRES_GRAD) && n->out->grad_epoch == p->t->epoch;
}

static int listed_before(const cr_node *n, int k)
{
    for (int j = 0; j < k; j++)
        if (n->in[j] == n->in[k]) return 1;
    return 0;
}

/* Does node n add a gradient into its input k (once per distinct input)? */
static int feeds(const cr_node *n, int k)
{
    return (n->in[k]->flags & CR_REQUIRES_GRAD) && !listed_before(n, k);
}

/* The root of the last backward pass: the highest node it reached, else -1. */
static long last_root(const cr_tape *t)
{
    for (size_t i = t->n_nodes; t->epoch && i-- > 0;) {
        const cr_tensor *x = t->nodes[i].out;
        if (x->grad_epoch == t->epoch && (x->flags & CR_REQUIRES_GRAD)) return (long)i;
    }
    return -1;
}

/* Layers: one cluster per distinct scope, numbered in order of first appearance. */
static int find_clusters(page *p, FILE *f)
{
    cr__scope *sc = cr_malloc(p->n_units * sizeof *sc);
    if (!sc) return 0;
    for (size_t u = 0; u < p->n_heap; u++) sc[u] = cr__own_scope(p->heap[u]);
    if (p->t->n_nodes) cr__node_scopes(p->t, sc + p->n_heap);
    int n_cl = 0;
    fputs("\"clusters\":[", f);
    for (size_t u = 0; u < p->n_units; u++) {
        p->cluster[u] = -1;
        if (!sc[u].len) continue;
        for (size_t v = 0; v < u && p->cluster[u] < 0; v++)
            if (sc[v].len == sc[u].len && !memcmp(sc[v].s, sc[u].s, sc[u].len))
                p->cluster[u] = p->cluster[v];
        if (p->cluster[u] >= 0) continue;
        if (n_cl) fputc(',', f);
        p->cluster[u] = n_cl++;
        put_json_n(f, sc[u].s, sc[u].len);
    }
    fputs("],\n", f);
    cr_free(sc);
    return 1;
}

/* "z = add(x, y) = 3" or "x = 2": what the forward step of a tape node shows. */
static void put_forward_text(FILE *f, const cr_node *n)
{
    char line[1024], a[240], nm[64];
    size_t len = (size_t)snprintf(line, sizeof line, "%s = ", cr__name(n->out, nm, sizeof nm));
    if (n->op != &cr__leaf_op) {
        len += (size_t)snprintf(line + len, sizeof line - len, "%s(", n->op->name);
        for (int k = 0; k < n->n_in && len < sizeof line; k++)
            len += (size_t)snprintf(line + len, sizeof line - len, "%s%s", k ? ", " : "",
                                    cr__name(n->in[k], nm, sizeof nm));
        if (len < sizeof line) len += (size_t)snprintf(line + len, sizeof line - len, ") = ");
    }
    if (len < sizeof line)
        snprintf(line + len, sizeof line - len, "%s",
                 cr__describe(n->out, n->out->data, a, sizeof a));
    put_json(f, line);
}

static void put_unit(FILE *f, const page *p, size_t u, size_t max_el)
{
    const cr_tensor *x = unit_tensor(p, u);
    const cr_node *n = u >= p->n_heap ? &p->t->nodes[u - p->n_heap] : NULL;
    const cr_real *g = p->root >= 0 && (x->grad_epoch == p->t->epoch) ? cr__grad_of(p->t, x) : NULL;
    int grad = (x->flags & CR_REQUIRES_GRAD) != 0;
    char buf[240];
    const char *kind = !n ? (grad ? "param" : x->size == 1 ? "const" : "input")
                       : n->op != &cr__leaf_op ? "op"
                       : grad ? "var" : x->size == 1 ? "const" : "input";
    fputs("{\"nm\":", f);
    put_json(f, cr__name(x, buf, sizeof buf));
    fputs(",\"x\":", f);
    put_json(f, cr__operand(x, buf, sizeof buf));
    fprintf(f, ",\"k\":\"%s\"", kind);
    if (n && n->op != &cr__leaf_op) {
        fputs(",\"op\":", f);
        put_json(f, n->op->name);
        fputs(",\"in\":[", f);
        for (int k = 0; k < n->n_in; k++) fprintf(f, "%s%ld", k ? "," : "", unit_of(p, n->in[k]));
        fputc(']', f);
    }
    if (n) {
        fputs(",\"f\":", f);
        put_forward_text(f, n);
    }
    if (x->ndim > 0) {
        fputs(",\"sh\":", f);
        put_json(f, cr_shape_str(x, buf, sizeof buf));
    }
    fprintf(f, ",\"n\":%zu,\"c\":%d,\"cl\":%d,\"v\":", x->size,
            x->ndim >= 2 ? x->shape[x->ndim - 1] : (int)x->size, p->cluster[u]);
    put_json(f, cr__describe(x, x->data, buf, sizeof buf));
    fputs(",\"vs\":", f);
    put_json(f, short_text(x, x->data, buf, sizeof buf));
    fputs(",\"el\":", f);
    put_elements(f, x, x->data, max_el);
    if (g) {
        fputs(",\"g\":", f);
        put_json(f, cr__describe(x, g, buf, sizeof buf));
        fputs(",\"gel\":", f);
        put_elements(f, x, g, max_el);
        fprintf(f, ",\"gd\":%d", p->final_step[u]);
    }
    fputs("}", f);
}

/* ---------------------------------------------------- the backward steps */

/* Count the paths into each unit and the backward step that completes its gradient. */
static void count_paths(page *p)
{
    int step = 0;
    for (long i = p->root; i >= 0; i--) {
        if (!reached(p, (size_t)i)) continue;
        const cr_node *n = &p->t->nodes[i];
        for (int k = 0; k < n->n_in; k++) {
            if (!feeds(n, k)) continue;
            long u = unit_of(p, n->in[k]);
            p->uses[u]++;
            p->final_step[u] = step;
        }
        step++;
    }
}

/* Give every unit the pass writes into a zeroed shadow buffer; the loss's is 1. */
static int prepare_shadows(page *p, cr_real **block)
{
    size_t total = 0, root_u = p->n_heap + (size_t)p->root;
    for (size_t u = 0; u < p->n_units; u++)
        if (p->uses[u] || u == root_u) total += unit_tensor(p, u)->size;
    if (cr_memory_check((uint64_t)total * sizeof(cr_real), "the page's backward pass", NULL, 0))
        return 0;
    *block = cr_calloc(total, sizeof(cr_real));
    if (!*block) return 0;
    cr_real *b = *block;
    for (size_t u = 0; u < p->n_units; u++) {
        if (!p->uses[u] && u != root_u) continue;
        p->shadow[u] = b;
        b += unit_tensor(p, u)->size;
    }
    p->shadow[root_u][0] = 1;
    return 1;
}

static void swap_grads(page *p, int in)
{
    for (size_t u = 0; u < p->n_units; u++) {
        if (!p->shadow[u]) continue;
        cr_tensor *x = (cr_tensor *)unit_tensor(p, u);
        if (in) p->saved[u] = x->grad;
        x->grad = in ? p->shadow[u] : p->saved[u];
    }
}

/* The JSON of one backward step: the node, the trace's lines of it, the gradient
 * each input now holds and, for a tensor reached by several paths, the running sum. */
static void put_step(FILE *f, page *p, const cr_node *n, const char *text, size_t len,
                     const cr_real *before)
{
    char a[240], b[240], c[240];
    fprintf(f, "{\"n\":%ld,\"lines\":[", unit_of(p, n->out));
    for (size_t i = 0, start = 0; i < len; i++) {
        if (text[i] != '\n') continue;
        if (start) fputc(',', f);
        put_json_n(f, text + start, i - start);
        start = i + 1;
    }
    fputs("],\"upd\":[", f);
    int first = 1;
    if (unit_of(p, n->out) == (long)p->n_heap + p->root) {
        fprintf(f, "[%ld,\"1\",\"1\"]", unit_of(p, n->out));
        first = 0;
    }
    for (int k = 0; k < n->n_in; k++) {
        if (!feeds(n, k)) continue;
        const cr_tensor *x = n->in[k];
        fprintf(f, "%s[%ld,", first ? "" : ",", unit_of(p, x));
        put_json(f, short_text(x, x->grad, a, sizeof a));
        fputc(',', f);
        put_json(f, cr__describe(x, x->grad, a, sizeof a));
        fputc(']', f);
        first = 0;
    }
    fputs("],\"sums\":[", f);
    first = 1;
    for (int k = 0; k < n->n_in; k++) {
        if (!feeds(n, k)) continue;
        const cr_tensor *x = n->in[k];
        long u = unit_of(p, x);
        p->got[u]++;
        if (p->uses[u] < 2) continue;
        fprintf(f, "%s{\"u\":%ld,\"k\":%d,\"m\":%d,\"x\":", first ? "" : ",", u, p->got[u],
                p->uses[u]);
        put_json(f, cr__operand(x, a, sizeof a));
        if (x->size == 1 && k < 8) {
            cr_real added = x->grad[0] - before[k];
            fputs(",\"p\":", f);
            put_json(f, cr__fmt_real(before[k], a, sizeof a));
            fputs(",\"a\":", f);
            put_json(f, cr__fmt_real(added, b, sizeof b));
        }
        fputs(",\"s\":", f);
        put_json(f, cr__describe(x, x->grad, c, sizeof c));
        fputc('}', f);
        first = 0;
    }
    fputs("]}", f);
}

/* The reverse pass into the shadow buffers, the trace into a memory stream; writes
 * "bwd":[steps],"totals":[lines]. Returns CR_OK or the tape's error. */
static cr_status backward_steps(FILE *f, page *p)
{
    char *text = NULL;
    size_t size = 0, totals = (size_t)-1;
    FILE *ms = open_memstream(&text, &size);
    if (!ms) return CR_ERR_NOMEM;
    cr_tape *t = p->t;
    FILE *trace = t->trace;
    t->trace = ms;
    swap_grads(p, 1);
    fputs("\"bwd\":[", f);
    int steps = 0;
    for (long i = p->root; i >= 0 && t->err == CR_OK; i--) {
        if (!reached(p, (size_t)i)) continue;
        cr_node *n = &t->nodes[i];
        cr_real before[8];
        for (int k = 0; k < n->n_in && k < 8; k++)
            before[k] = n->in[k]->grad && n->in[k]->size == 1 ? n->in[k]->grad[0] : 0;
        fflush(ms);
        size_t start = size;
        cr__trace_backward(t, n);
        fflush(ms);
        const char *tot = strstr(text + start, "totals:\n");
        size_t end = tot ? (size_t)(tot - text) : size;
        if (tot) totals = end + strlen("totals:\n");
        fputs(steps++ ? ",\n" : "\n", f);
        put_step(f, p, n, text + start, end - start, before);
    }
    swap_grads(p, 0);
    t->trace = trace;
    fputs("],\n\"totals\":[", f);
    fclose(ms);
    for (size_t i = totals, start = totals; text && totals != (size_t)-1 && i < size; i++) {
        if (text[i] != '\n') continue;
        if (start != totals) fputc(',', f);
        put_json_n(f, text + start, i - start);
        start = i + 1;
    }
    fputs("],\n", f);
    free(text);                               /* open_memstream's buffer: malloc'ed */
    return t->err;
}

/* ------------------------------------------------------------------- page */

static void put_lines(FILE *f, const char *const *lines)
{
    for (; *lines; lines++) {
        fputs(*lines, f);
        fputc('\n', f);
    }
}

static void put_html_text(FILE *f, const char *s)
{
    for (; *s; s++) {
        if (*s == '<') fputs("&lt;", f);
        else if (*s == '>') fputs("&gt;", f);
        else if (*s == '&') fputs("&amp;", f);
        else if (*s == '"') fputs("&quot;", f);
        else fputc(*s, f);
    }
}

static cr_status write_page(FILE *f, page *p, const cr_html_options *o, const char *const *w)
{
    const char *lang = o && o->lang && !strcmp(o->lang, "zh") ? "zh" : "en";
    const char *title = o && o->title ? o->title : w[1];
    size_t max_el = o && o->max_elements ? o->max_elements : HTML_MAX_ELEMENTS;
    int collapse = !(o && o->expand);
    char nm[64];

    fprintf(f, "<!DOCTYPE html>\n<html lang=\"%s\">\n<head>\n<meta charset=\"utf-8\">\n"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
            "<title>", lang);
    put_html_text(f, title);
    fputs("</title>\n<style>\n", f);
    put_lines(f, cr__html_css);
    fputs("</style>\n</head>\n<body>\n<header><h1>", f);
    put_html_text(f, title);
    fputs("</h1></header>\n", f);
    put_lines(f, cr__html_body);
    fputs("<script type=\"application/json\" id=\"cr-data\">\n{\"lang\":", f);
    put_json(f, lang);
    fputs(",\"T\":{", f);
    for (int i = 0; w[i]; i += 2) {
        fputs(i ? "," : "", f);
        put_json(f, w[i]);
        fputc(':', f);
        put_json(f, w[i + 1]);
    }
    cr__glyphs g = cr__glyphs_get();
    fputs("},\n\"d\":", f);
    put_json(f, g.d);
    fprintf(f, ",\"collapse\":%d,\"root\":%ld,\"L\":", collapse,
            p->root >= 0 ? (long)p->n_heap + p->root : -1L);
    put_json(f, p->root >= 0 ? cr__operand(p->t->nodes[p->root].out, nm, sizeof nm) : "");
    fputs(",\n", f);
    if (!find_clusters(p, f)) return CR_ERR_NOMEM;
    if (p->root >= 0) count_paths(p);
    fputs("\"nodes\":[\n", f);
    for (size_t u = 0; u < p->n_units; u++) {
        put_unit(f, p, u, max_el);
        fputs(u + 1 < p->n_units ? ",\n" : "\n", f);
    }
    fputs("],\n", f);
    cr_status s = CR_OK;
    if (p->root >= 0) {
        cr_real *block = NULL;
        if (!prepare_shadows(p, &block)) return CR_ERR_NOMEM;
        s = backward_steps(f, p);
        cr_free(block);
    } else {
        fputs("\"bwd\":[],\"totals\":[],\n", f);
    }
    fputs("\"end\":1}\n</script>\n<script>\n", f);
    put_lines(f, cr__html_js);
    fputs("</script>\n</body>\n</html>\n", f);
    return s;
}

cr_status cr_tape_html(cr_tape *t, const cr_tensor *loss, FILE *f, const cr_html_options *opt)
{
    if (!t || !f) return CR_ERR_ARG;
    if (opt && opt->lang && strcmp(opt->lang, "en") && strcmp(opt->lang, "zh")) return CR_ERR_ARG;
    if (t->err != CR_OK) return CR_ERR_STATE;
    if (loss && (loss->tape != t || loss->id < 0)) return CR_ERR_ARG;
    page p;
    memset(&p, 0, sizeof p);
    p.t = t;
    if (!collect_heap(&p)) {
        cr_free(p.heap);
        return CR_ERR_NOMEM;
    }
    p.n_units = p.n_heap + t->n_nodes;
    p.root = last_root(t);
    if (loss && p.root != loss->id) p.root = -1;   /* the last pass started elsewhere */
    size_t n = p.n_units ? p.n_units : 1;
    p.cluster = cr_calloc(n, sizeof *p.cluster);
    p.uses = cr_calloc(n, sizeof *p.uses);
    p.got = cr_calloc(n, sizeof *p.got);
    p.final_step = cr_calloc(n, sizeof *p.final_step);
    p.shadow = cr_calloc(n, sizeof *p.shadow);
    p.saved = cr_calloc(n, sizeof *p.saved);
    cr_status s = CR_ERR_NOMEM;
    int zh = opt && opt->lang && !strcmp(opt->lang, "zh");
    if (p.cluster && p.uses && p.got && p.final_step && p.shadow && p.saved)
        s = write_page(f, &p, opt, zh ? words_zh : words_en);
    cr_free(p.heap);
    cr_free(p.cluster);
    cr_free(p.uses);
    cr_free(p.got);
    cr_free(p.final_step);
    cr_free(p.shadow);
    cr_free(p.saved);
    if (s == CR_OK && ferror(f)) s = CR_ERR_IO;
    return s;
}
