/* The plan of an export (export_internal.h): which nodes, which constants, which
 * folds, where each value lives. Reads the tape's node list in its recorded
 * (topological) order; never runs an op. */
#include "export_internal.h"
#include "../graph/errf.h"
#include "../graph/tape_internal.h"
#include "../ops/op_attrs.h"

#include <string.h>

static const struct {
    const char *name;
    enum xk kind;
} known_ops[] = {
    { "linear", XK_LINEAR },       { "matmul", XK_MATMUL },
    { "conv2d", XK_CONV },         { "max_pool2d", XK_MAXPOOL },
    { "avg_pool2d", XK_AVGPOOL },  { "global_avg_pool2d", XK_GAP },
    { "add", XK_BINARY },          { "sub", XK_BINARY },
    { "mul", XK_BINARY },          { "div", XK_BINARY },
    { "max", XK_BINARY },          { "neg", XK_UNARY },
    { "exp", XK_UNARY },           { "log", XK_UNARY },
    { "sqrt", XK_UNARY },          { "pow", XK_UNARY },
    { "square", XK_UNARY },        { "abs", XK_UNARY },
    { "relu", XK_UNARY },          { "leaky_relu", XK_UNARY },
    { "sigmoid", XK_UNARY },       { "tanh", XK_UNARY },
    { "scale", XK_UNARY },         { "add_scalar", XK_UNARY },
    { "softmax", XK_SOFTMAX },     { "log_softmax", XK_LOG_SOFTMAX },
    { "reshape", XK_VIEW },        { "flatten", XK_VIEW },
    { "dropout", XK_VIEW },        { "permute", XK_PERMUTE },
    { "transpose", XK_TRANSPOSE }, { "slice", XK_SLICE },
    { "concat", XK_CONCAT },       { "sum", XK_SUM },
    { "mean", XK_SUM },            { "sum_axis", XK_SUM_AXIS },
    { "mean_axis", XK_SUM_AXIS },  { "embedding", XK_EMBED },
    { "stack", XK_STACK },         { "select", XK_SLICE },
    { "gate", XK_GATE },
    { "detach", XK_VIEW },
};

static int op_kind(const cr_op *op)
{
    if (cr__op_is_custom(op)) return 0;
    for (size_t i = 0; i < sizeof known_ops / sizeof known_ops[0]; i++)
        if (strcmp(op->name, known_ops[i].name) == 0) return (int)known_ops[i].kind;
    return 0;
}

static int add_value(xplan *p, const cr_tensor *t, int kind)
{
    if (p->nv == p->capv) {
        int cap = p->capv ? 2 * p->capv : 64;
        xval *v = cr_realloc(p->v, (size_t)cap * sizeof *v);
        if (!v) return -1;
        p->v = v;
        p->capv = cap;
    }
    p->v[p->nv] = (xval){ .t = t, .kind = kind, .src = p->nv, .cid = -1, .last = -1 };
    return p->nv++;
}

int cr__xplan_root(const xplan *p, int i)
{
    while (p->v[i].view) i = p->v[i].src;
    return i;
}

static int is_output(const xplan *p, int v)
{
    for (int k = 0; k < p->n_out; k++)
        if (p->outs[k] == v) return 1;
    return 0;
}

static int find_input(const xplan *p, int n_in, const cr_tensor *x)
{
    for (int k = 0; k < n_in; k++)
        if (p->v[k].t == x) return k;
    return -1;
}

/* The value of tensor x read by a node: an input, a tape node's value or a heap
 * tensor (a constant, added on first sight). -1 and a message when x is not usable. */
static int resolve(xplan *p, int n_in, const int *vmap, const cr_tensor *x, char *err,
                   size_t errsize)
{
    int k = find_input(p, n_in, x);
    if (k >= 0) return k;
    if (x->tape) {
        if (x->tape != p->t || x->id < 0 || (size_t)x->id >= p->t->n_nodes ||
            p->t->nodes[x->id].out != x || vmap[x->id] < 0) {
            cr__errf(CR_ERR_ARG, err, errsize, "export: a node reads a tensor that is not on "
                     "this tape's recording");
            return -1;
        }
        return vmap[x->id];
    }
    for (int i = n_in; i < p->nv; i++)
        if (p->v[i].t == x && p->v[i].kind == XV_CONST) return i;
    int v = add_value(p, x, XV_CONST);
    if (v < 0) cr__errf(CR_ERR_NOMEM, err, errsize, "export: out of memory");
    return v;
}

/* Weights and bias of a linear or conv2d node as double, for folding. */
static cr_status take_weights(xplan *p, xnode *x, char *err, size_t errsize)
{
    const cr_tensor *w = p->v[x->in[1]].t;
    if (p->v[x->in[1]].kind != XV_CONST || (x->n_in == 3 && p->v[x->in[2]].kind != XV_CONST))
        return cr__errf(CR_ERR_ARG, err, errsize, "export: node #%d (%s): its weights depend "
                        "on the input (only constant weights and bias are written)",
                        x->n->out->id, x->n->op->name);
    x->O = x->kind == XK_LINEAR ? w->shape[1] : w->shape[0];
    x->wn = w->size;
    /* folding works on a double copy of the weights */
    cr_status st = cr_memory_check((uint64_t)(w->size + (size_t)x->O) * sizeof(double),
                                   "export: a copy of the weights", err, errsize);
    if (st != CR_OK) return st;
    x->w = cr_malloc(w->size * sizeof *x->w);
    x->b = cr_calloc((size_t)x->O, sizeof *x->b);
    if (!x->w || !x->b) return cr__errf(CR_ERR_NOMEM, err, errsize, "export: out of memory");
    for (size_t i = 0; i < w->size; i++) x->w[i] = w->data[i];
    if (x->n_in == 3)
        for (int o = 0; o < x->O; o++) x->b[o] = p->v[x->in[2]].t->data[o];
    return CR_OK;
}

/* c (constant) as one value per output channel of y (rank r, channel axis ch):
 * its shape, right-aligned against y's, has 1 everywhere but at ch, where it has 1
 * or the channel count. Fills c_at with the channel stride (0 or 1); 0 if c is not
 * of that form. */
static int per_channel(const cr_tensor *c, const cr_tensor *y, int ch, size_t *stride)
{
    if (c->ndim > y->ndim) return 0;
    *stride = 0;
    for (int k = 0; k < c->ndim; k++) {
        int yk = y->ndim - c->ndim + k;
        if (c->shape[k] == 1) continue;
        if (yk != ch || c->shape[k] != y->shape[ch]) return 0;
        *stride = 1;
    }
    return 1;
}

/* Fold node q (an affine op on p's output with a constant) into linear/conv node
 * p; 1 if done. */
static int fold_one(xplan *p, xnode *L, xnode *q)
{
    const char *op = q->n->op->name;
    const cr_tensor *y = p->v[L->out].t;
    int ch = L->kind == XK_LINEAR ? y->ndim - 1 : 1;
    double mulv[1] = { 1 };
    const cr_tensor *c = NULL;
    size_t cs = 0;
    int mode;   /* 0 add, 1 mul, 2 div */
    double sign = 1, k = 0;
    if (q->kind == XK_UNARY) {
        if (!strcmp(op, "neg")) mode = 1, mulv[0] = -1;
        else if (!strcmp(op, "scale")) mode = 1, mulv[0] = (double)(cr_real)q->n->farg[0];
        else if (!strcmp(op, "add_scalar")) mode = 0, k = (double)(cr_real)q->n->farg[0];
        else return 0;
    } else if (q->kind == XK_BINARY && q->in[0] != q->in[1]) {
        int other = q->in[0] == L->out ? q->in[1] : q->in[0];
        if (p->v[other].kind != XV_CONST) return 0;
        c = p->v[other].t;
        if (!per_channel(c, y, ch, &cs) || p->v[q->out].t->size != y->size) return 0;
        if (!strcmp(op, "add")) mode = 0;
        else if (!strcmp(op, "mul")) mode = 1;
        else if (!strcmp(op, "sub")) mode = 0, sign = q->in[0] == L->out ? -1 : 0;
        else if (!strcmp(op, "div")) mode = 2, sign = q->in[0] == L->out ? 1 : 0;
        else return 0;
        if (sign == 0) return 0;   /* c - y and c / y are not affine in y's weights */
    } else {
        return 0;
    }
    size_t I = L->wn / (size_t)L->O;   /* weights per output channel */
    for (int o = 0; o < L->O; o++) {
        double v = c ? c->data[cs * (size_t)o] : (mode == 0 ? k : mulv[0]);
        if (mode == 0) {
            L->b[o] += sign * v;
            continue;
        }
        for (size_t r = 0; r < I; r++) {
            /* linear: W is in x out, column o; conv: w is O x (C/G) x KH x KW, block o */
            double *w = L->kind == XK_LINEAR ? &L->w[r * (size_t)L->O + (size_t)o]
                                             : &L->w[(size_t)o * I + r];
            *w = mode == 1 ? *w * v : *w / v;
        }
        L->b[o] = mode == 1 ? L->b[o] * v : L->b[o] / v;
    }
    /* q disappears: its output is now L's */
    q->dead = 1;
    L->out = q->out;
    p->folded++;
    return 1;
}

static void fold_affine(xplan *p)
{
    for (int i = 0; i < p->nx; i++) {
        xnode *L = &p->x[i];
        if (L->dead || (L->kind != XK_LINEAR && L->kind != XK_CONV)) continue;
        for (;;) {
            /* L's output must have exactly one reader, a later live node, and
             * not be the graph's output */
            if (is_output(p, L->out)) break;
            int reader = -1, count = 0;
            for (int j = i + 1; j < p->nx; j++) {
                if (p->x[j].dead) continue;
                for (int k = 0; k < p->x[j].n_in; k++)
                    if (p->x[j].in[k] == L->out) {
                        count++;
                        reader = j;
                    }
            }
            if (count != 1 || !fold_one(p, L, &p->x[reader])) break;
        }
    }
}

/* ------------------------------------------------------------ scratch */

typedef struct block {
    size_t off, len;
    int val;
} block;

/* First fit: the lowest offset where len floats fit among the live blocks. */
static size_t first_fit(const block *live, int n, size_t len)
{
    size_t at = 0;
    for (int moved = 1; moved;) {
        moved = 0;
        for (int i = 0; i < n; i++)
            if (at < live[i].off + live[i].len && live[i].off < at + len) {
                at = live[i].off + live[i].len;
                moved = 1;
            }
    }
    return at;
}

static cr_status place_values(xplan *p, char *err, size_t errsize)
{
    /* readers: the last live node reading each storage root */
    for (int i = 0; i < p->nx; i++) {
        if (p->x[i].dead) continue;
        for (int k = 0; k < p->x[i].n_in; k++) {
            int r = cr__xplan_root(p, p->x[i].in[k]);
            p->v[p->x[i].in[k]].uses++;
            if (p->v[r].last < i) p->v[r].last = i;
        }
    }
    /* one output is computed in y itself; several are copied into y at the end
     * from their blocks, which stay live until then */
    for (int k = 0; k < p->n_out; k++) {
        int oroot = cr__xplan_root(p, p->outs[k]);
        if (p->v[oroot].kind != XV_COMP) continue;
        if (p->n_out == 1) p->v[oroot].in_y = 1;
        else p->v[oroot].last = p->nx;
    }
    block *live = cr_malloc(((size_t)p->nx + 1) * sizeof *live);
    if (!live) return cr__errf(CR_ERR_NOMEM, err, errsize, "export: out of memory");
    int nlive = 0;
    for (int i = 0; i < p->nx; i++) {
        xnode *x = &p->x[i];
        if (x->dead || x->kind == XK_VIEW) continue;
        xval *o = &p->v[x->out];
        if (!o->in_y) {
            size_t len = (o->t->size + 15) / 16 * 16;   /* 64-byte steps */
            o->off = first_fit(live, nlive, len);
            if (o->off + len > p->scratch) p->scratch = o->off + len;
            live[nlive++] = (block){ o->off, len, x->out };
        }
        /* after placing the output: free what this node read last (never the
         * output's own block, which a later node reads or is y) */
        for (int j = 0; j < nlive;) {
            int r = live[j].val;
            if (p->v[r].last <= i && r != x->out) live[j] = live[--nlive];
            else j++;
        }
    }
    cr_free(live);
    return CR_OK;
}

void cr__xplan_free(xplan *p)
{
    if (!p) return;
    for (int i = 0; i < p->nx; i++) {
        cr_free(p->x[i].in);
        cr_free(p->x[i].w);
        cr_free(p->x[i].b);
    }
    cr_free(p->x);
    cr_free(p->v);
    cr_free(p->outs);
    cr_free(p->out_off);
    memset(p, 0, sizeof *p);
}

cr_status cr__xplan_build(xplan *p, const cr_tape *t, int n_in, cr_tensor *const *inputs,
                          int n_out, const cr_tensor *const *outputs, int int8, int no_fold,
                          char *err, size_t errsize)
{
    memset(p, 0, sizeof *p);
    p->t = t;
    p->int8 = int8;
    cr_status st = CR_OK;
    int *vmap = NULL;
    char *need = NULL;
    for (int k = 0; k < n_in; k++) {
        const cr_tensor *x = inputs[k];
        if (x->tape && (x->tape != t || x->id < 0 || (size_t)x->id >= t->n_nodes ||
                        t->nodes[x->id].out != x)) {
            st = cr__errf(CR_ERR_ARG, err, errsize, "export: input %d is not on this tape's "
                          "recording", k);
            goto fail;
        }
        if (find_input(p, k, x) >= 0) {
            st = cr__errf(CR_ERR_ARG, err, errsize, "export: input %d is given twice", k);
            goto fail;
        }
        if (add_value(p, x, XV_INPUT) < 0) goto nomem;
        p->v[k].in_off = p->in_size;
        p->in_size += x->size;
    }
    p->n_out = n_out;
    p->outs = cr_malloc((size_t)n_out * sizeof *p->outs);
    p->out_off = cr_malloc((size_t)n_out * sizeof *p->out_off);
    if (!p->outs || !p->out_off) goto nomem;
    /* the last node any output needs; outputs that are inputs are copies */
    size_t last = 0;
    int on_tape = 0;
    for (int k = 0; k < n_out; k++) {
        const cr_tensor *output = outputs[k];
        p->out_off[k] = p->out_size;
        p->out_size += output->size;
        p->outs[k] = find_input(p, n_in, output);
        if (p->outs[k] >= 0) continue;
        if (output->tape != t || output->id < 0 || (size_t)output->id >= t->n_nodes ||
            t->nodes[output->id].out != output) {
            st = cr__errf(CR_ERR_ARG, err, errsize, "export: output %d is not on this tape's "
                          "recording (nor one of the inputs)", k);
            goto fail;
        }
        if (!on_tape || (size_t)output->id > last) last = (size_t)output->id;
        on_tape = 1;
    }
    p->out = p->outs[0];
    if (!on_tape) return CR_OK;   /* every output is an input: copies */
    need = cr_calloc(last + 1, 1);
    vmap = cr_malloc((last + 1) * sizeof *vmap);
    p->x = cr_calloc(last + 1, sizeof *p->x);
    if (!need || !vmap || !p->x) goto nomem;
    for (int k = 0; k < n_out; k++)
        if (p->outs[k] < 0) need[outputs[k]->id] = 1;
    for (size_t i = last + 1; i-- > 0;) {
        vmap[i] = -1;
        const cr_node *n = &t->nodes[i];
        if (!need[i] || find_input(p, n_in, n->out) >= 0) continue;
        for (int k = 0; k < n->n_in; k++) {
            const cr_tensor *x = n->in[k];
            if (x->tape == t && x->id >= 0 && (size_t)x->id < i && find_input(p, n_in, x) < 0)
                need[x->id] = 1;
        }
    }
    for (size_t i = 0; i <= last; i++) {
        if (!need[i]) continue;
        const cr_node *n = &t->nodes[i];
        int k = find_input(p, n_in, n->out);
        if (k >= 0) {
            vmap[i] = k;
            continue;
        }
        int dep = 0;
        int *ins = n->n_in ? cr_malloc((size_t)n->n_in * sizeof *ins) : NULL;
        if (n->n_in && !ins) goto nomem;
        for (int j = 0; j < n->n_in; j++) {
            ins[j] = resolve(p, n_in, vmap, n->in[j], err, errsize);
            if (ins[j] < 0) {
                cr_free(ins);
                st = CR_ERR_ARG;
                goto fail;
            }
            if (p->v[ins[j]].kind != XV_CONST) dep = 1;
        }
        if (n->op == &cr__leaf_op || !dep) {
            cr_free(ins);
            vmap[i] = add_value(p, n->out, XV_CONST);
            if (vmap[i] < 0) goto nomem;
            continue;
        }
        int kind = op_kind(n->op);
        if (!kind) {
            cr_free(ins);
            st = cr__errf(CR_ERR_ARG, err, errsize, "export: node #%zu (%s%s) cannot be "
                          "exported: no C is written for this op", i,
                          cr__op_is_custom(n->op) ? "custom op " : "", n->op->name);
            goto fail;
        }
        xnode *x = &p->x[p->nx++];
        *x = (xnode){ .n = n, .kind = (enum xk)kind, .in = ins, .n_in = n->n_in };
        x->out = vmap[i] = add_value(p, n->out, XV_COMP);
        if (x->out < 0) goto nomem;
        if (x->kind == XK_VIEW) {
            p->v[x->out].view = 1;
            p->v[x->out].src = ins[0];
        }
        if ((x->kind == XK_LINEAR || x->kind == XK_CONV) &&
            (st = take_weights(p, x, err, errsize)) != CR_OK)
            goto fail;
        if (x->kind == XK_EMBED && p->v[ins[0]].kind != XV_CONST) {
            st = cr__errf(CR_ERR_ARG, err, errsize, "export: node #%zu (embedding): its table "
                          "depends on the input (only a constant table is written)", i);
            goto fail;
        }
    }
    for (int k = 0; k < n_out; k++)
        if (p->outs[k] < 0) p->outs[k] = vmap[outputs[k]->id];
    p->out = p->outs[0];
    cr_free(need);
    cr_free(vmap);
    need = NULL;
    vmap = NULL;
    if (!no_fold) fold_affine(p);
    if ((st = place_values(p, err, errsize)) != CR_OK) goto fail;
    return CR_OK;
nomem:
    st = cr__errf(CR_ERR_NOMEM, err, errsize, "export: out of memory");
fail:
    cr_free(need);
    cr_free(vmap);
    cr__xplan_free(p);
    return st;
}
