/* cr_graph_load: a graph file (docs/FORMAT.md, "Graph files") rebuilt as a tape.
 *
 * All or nothing, in phases: the file is read whole and validated as cr_load does
 * (header, size, checksum, sections); the GRPH section is parsed completely into
 * value descriptions with every count, index, shape and name checked against the
 * bytes that remain (a node may only read values numbered before it: no cycle, no
 * forward reference); the memory the graph declares is checked against the memory
 * limit; the parameters are made and filled by cr_load_buffer from PARM (names and
 * shapes must match); then every node is recorded again through its op's public
 * function (ops/graph_ops.c), which checks shapes and attributes as for any
 * caller, and each output shape is compared with the file's. Any failure frees
 * everything made so far and returns NULL: nothing outside the new object changed.
 *
 * A different batch size (cr_graph_set_batch) records the graph again on a new
 * tape with the inputs' leading dimension changed, and swaps it in only if every
 * node recorded. */
#include "format.h"
#include "graph_format.h"
#include "optim_internal.h"
#include "../ops/graph_ops.h"

#include <float.h>
#include <limits.h>
#include <math.h>
#include <string.h>

typedef struct gval {
    int kind;
    unsigned flags;
    int ndim;
    int shape[CR_MAX_DIMS];
    size_t size;
    char name[CR__GNAME_MAX + 1];   /* input, parameter, output-less op name */
    const unsigned char *data;      /* constants: values in the file (phase 2 only) */
    cr_tensor *heap;                /* parameter, constant, or a tape leaf's values */
    const cr__graph_op *op;         /* built-in op, or NULL for a custom op */
    cr_custom_fn forward, backward; /* a custom op's callbacks and user pointer, */
    void *user;                     /* copied from the registry at load */
    int n_in;
    uint32_t *in;                   /* value numbers, into gl.ins */
    cr__gattr attr;
} gval;

struct cr_graph {
    cr_tape *tape;
    cr_params *params;              /* owns the parameters */
    gval *vals;
    uint32_t nvals;
    uint32_t *ins;                  /* every node's input numbers */
    cr_tensor **cur;                /* per value: its tensor in the current recording */
    cr_rng *rngs;
    int nrngs;
    int n_in, n_out;
    uint32_t *in_val, *out_val;
    char (*out_name)[CR__GNAME_MAX + 1];
    int batch0, batch;              /* leading dimension saved / now (0: no input) */
    char err[256];
};

/* ------------------------------------------------------------ parsing */

typedef struct rd {
    const unsigned char *p;
    size_t pos, end;
    const char *name;
    char *err;
    size_t errsize;
} rd;

static cr_status bad(rd *r, const char *what)
{
    return cr__errf(CR_ERR_FORMAT, r->err, r->errsize, "%s: malformed graph section at byte "
                    "%zu of it: %s", r->name, r->pos, what);
}

static int has(const rd *r, size_t n) { return n <= r->end - r->pos; }

static uint32_t g32(rd *r) { return cr__take_u32(r->p, &r->pos); }
static uint64_t g64(rd *r) { return cr__take_u64(r->p, &r->pos); }

/* u32 length and 0..CR__GNAME_MAX bytes without NUL (min 1 unless may_be_empty). */
static cr_status gname(rd *r, char *dst, int may_be_empty)
{
    if (!has(r, 4)) return bad(r, "name cut short");
    uint32_t n = g32(r);
    if (n > CR__GNAME_MAX || (n == 0 && !may_be_empty)) return bad(r, "name length out of range");
    if (!has(r, n)) return bad(r, "name cut short");
    if (memchr(r->p + r->pos, 0, n)) return bad(r, "NUL byte in a name");
    memcpy(dst, r->p + r->pos, n);
    dst[n] = '\0';
    r->pos += n;
    return CR_OK;
}

static cr_status gshape(rd *r, gval *v)
{
    if (!has(r, 4)) return bad(r, "shape cut short");
    uint32_t nd = g32(r);
    if (nd > CR_MAX_DIMS) return bad(r, "rank above 4");
    if (!has(r, 4 * (size_t)nd)) return bad(r, "shape cut short");
    v->ndim = (int)nd;
    v->size = 1;
    for (int d = 0; d < CR_MAX_DIMS; d++) v->shape[d] = 1;
    for (uint32_t d = 0; d < nd; d++) {
        uint32_t e = g32(r);
        if (e < 1 || e > INT_MAX) return bad(r, "a dimension is 0 or above 2^31-1");
        if (v->size > SIZE_MAX / e / 8) return bad(r, "tensor size overflows");
        v->shape[d] = (int)e;
        v->size *= e;
    }
    return CR_OK;
}

/* The section body into g (descriptions only: nothing big is allocated here; the
 * counts are bounded by the bytes that remain before each allocation). */
static cr_status parse(rd *r, cr_graph *g, uint32_t rs, uint64_t *declared)
{
    if (!has(r, 8)) return bad(r, "header cut short");
    uint32_t ver = g32(r);
    if (ver != CR__GRAPH_VERSION)
        return cr__errf(CR_ERR_FORMAT, r->err, r->errsize, "%s: graph section version %u is "
                        "not supported (this library reads %d)", r->name, (unsigned)ver,
                        CR__GRAPH_VERSION);
    uint32_t nr = g32(r);
    if (nr > CR__GRNG_MAX || !has(r, 16 * (size_t)nr)) return bad(r, "generator count");
    g->rngs = cr_calloc(nr ? nr : 1, sizeof *g->rngs);
    if (!g->rngs) return cr__errf(CR_ERR_NOMEM, r->err, r->errsize, "%s: out of memory", r->name);
    g->nrngs = (int)nr;
    for (uint32_t k = 0; k < nr; k++) {
        g->rngs[k].state = g64(r);
        g->rngs[k].inc = g64(r);
    }
    if (!has(r, 4)) return bad(r, "value count cut short");
    uint32_t nv = g32(r);
    /* a value takes at least 16 bytes (kind, flags, rank, name length) */
    if (nv == 0 || nv > (r->end - r->pos) / 16 || nv > INT_MAX)
        return bad(r, "value count out of range");
    g->vals = cr_calloc(nv, sizeof *g->vals);
    if (!g->vals) return cr__errf(CR_ERR_NOMEM, r->err, r->errsize, "%s: out of memory", r->name);
    g->nvals = nv;
    size_t total_in = 0;
    uint64_t bytes = 0;
    /* first pass: everything but the input lists, whose total is not yet known */
    size_t start = r->pos;
    for (int pass = 0; pass < 2; pass++) {
        r->pos = start;
        size_t used_in = 0;
        for (uint32_t i = 0; i < nv; i++) {
            gval *v = &g->vals[i];
            if (!has(r, 8)) return bad(r, "value cut short");
            v->kind = (int)g32(r);
            v->flags = g32(r);
            if (v->kind < CR__GV_INPUT || v->kind > CR__GV_OP) return bad(r, "unknown value kind");
            if (v->flags & ~CR__GV_FLAG_GRAD) return bad(r, "unknown value flags");
            cr_status s = gshape(r, v);
            if (s) return s;
            uint64_t vb = (uint64_t)v->size * sizeof(cr_real);    /* size < 2^61 */
            bytes = bytes > UINT64_MAX - vb ? UINT64_MAX : bytes + vb;
            int is_const = v->kind >= CR__GV_CONST && v->kind <= CR__GV_LEAF_VAR;
            if ((s = gname(r, v->name, is_const))) return s;
            if (is_const) {
                if (v->size > (r->end - r->pos) / rs) return bad(r, "constant data cut short");
                v->data = r->p + r->pos;
                r->pos += v->size * rs;
            }
            if (v->kind != CR__GV_OP) continue;
            v->op = cr__graph_op_find(v->name);
            if (!has(r, 4)) return bad(r, "input count cut short");
            uint32_t k = g32(r);
            if (k > (r->end - r->pos) / 4) return bad(r, "input count out of range");
            v->n_in = (int)k;
            if (pass == 1) v->in = g->ins + used_in;
            for (uint32_t j = 0; j < k; j++) {
                uint32_t x = g32(r);
                if (x >= i) return bad(r, "a node reads a value numbered after it (cycle or "
                                          "forward reference)");
                if (pass == 1) v->in[j] = x;
            }
            used_in += k;
            if (!has(r, 4)) return bad(r, "attributes cut short");
            uint32_t ni = g32(r);
            if (ni > CR__GATTR_INTS || !has(r, 8 * (size_t)ni + 4))
                return bad(r, "integer attribute count out of range");
            v->attr.ni = (int)ni;
            for (uint32_t j = 0; j < ni; j++) {
                int64_t a = (int64_t)g64(r);
                if (a < INT_MIN || a > INT_MAX) return bad(r, "an integer attribute is out of "
                                                              "range");
                v->attr.i[j] = a;
            }
            uint32_t nrl = g32(r);
            if (nrl > CR__GATTR_REALS || !has(r, 8 * (size_t)nrl))
                return bad(r, "real attribute count out of range");
            v->attr.nr = (int)nrl;
            for (uint32_t j = 0; j < nrl; j++) v->attr.r[j] = cr__bits_f64(g64(r));
        }
        if (pass == 0) {
            total_in = used_in;
            g->ins = cr_malloc((total_in ? total_in : 1) * sizeof *g->ins);
            if (!g->ins)
                return cr__errf(CR_ERR_NOMEM, r->err, r->errsize, "%s: out of memory", r->name);
            bytes = 0;
        }
    }
    if (!has(r, 4)) return bad(r, "output count cut short");
    uint32_t no = g32(r);
    if (no == 0 || no > (r->end - r->pos) / 8) return bad(r, "output count out of range");
    g->out_val = cr_malloc(no * sizeof *g->out_val);
    g->out_name = cr_malloc(no * sizeof *g->out_name);
    if (!g->out_val || !g->out_name)
        return cr__errf(CR_ERR_NOMEM, r->err, r->errsize, "%s: out of memory", r->name);
    g->n_out = (int)no;
    for (uint32_t k = 0; k < no; k++) {
        if (!has(r, 4)) return bad(r, "output cut short");
        g->out_val[k] = g32(r);
        if (g->out_val[k] >= nv) return bad(r, "an output names no value");
        cr_status s = gname(r, g->out_name[k], 0);
        if (s) return s;
    }
    if (r->pos != r->end) return bad(r, "bytes after the outputs");
    *declared = bytes;
    return CR_OK;
}

/* Semantic checks that need the whole list: ops known (built in or in ops, whose
 * callbacks each custom node copies), arities and attribute counts, inputs listed. */
static cr_status check_values(rd *r, cr_graph *g, const cr_op_registry *ops)
{
    int nin = 0;
    for (uint32_t i = 0; i < g->nvals; i++) {
        gval *v = &g->vals[i];
        if (v->kind == CR__GV_INPUT) nin++;
        if (v->kind != CR__GV_OP) continue;
        if (!v->op) {
            const cr__custom_reg *e = cr__op_registry_find(ops, v->name);
            if (!e)
                return cr__errf(CR_ERR_UNSUPPORTED, r->err, r->errsize, "%s: node %u uses the "
                                "op '%s', which is neither built in nor registered in the op "
                                "registry given (cr_graph_load_with)", r->name,
                                (unsigned)i, v->name);
            if (v->attr.ni || v->attr.nr) return bad(r, "a custom op has attributes");
            v->forward = e->forward, v->backward = e->backward, v->user = e->user;
            continue;
        }
        if (v->n_in < v->op->min_in || v->n_in > v->op->max_in || v->attr.ni != v->op->ni ||
            v->attr.nr != v->op->nr) {
            char what[160];
            snprintf(what, sizeof what, "node %u (%s) has %d inputs and %d+%d attributes",
                     (unsigned)i, v->name, v->n_in, v->attr.ni, v->attr.nr);
            return bad(r, what);
        }
    }
    g->n_in = nin;
    g->in_val = cr_malloc((nin ? nin : 1) * sizeof *g->in_val);
    if (!g->in_val) return cr__errf(CR_ERR_NOMEM, r->err, r->errsize, "%s: out of memory", r->name);
    nin = 0;
    for (uint32_t i = 0; i < g->nvals; i++)
        if (g->vals[i].kind == CR__GV_INPUT) g->in_val[nin++] = i;
    g->batch0 = g->batch = nin > 0 && g->vals[g->in_val[0]].ndim > 0
                           ? g->vals[g->in_val[0]].shape[0] : 0;
    return CR_OK;
}

/* Constant values of the file into x, converting the precision. */
static cr_status read_values(rd *r, const gval *v, cr_tensor *x, uint32_t rs)
{
    (void)r;                /* used by the float build's range check */
    const unsigned char *p = v->data;
    for (size_t i = 0; i < v->size; i++) {
        if (rs == 4) {
            uint32_t b = cr__get_u32(p + 4 * i);
            float f;
            memcpy(&f, &b, sizeof f);
            x->data[i] = (cr_real)f;
        } else {
            double d = cr__bits_f64(cr__get_u64(p + 8 * i));
#ifndef CR_REAL_DOUBLE
            if (isfinite(d) && fabs(d) > FLT_MAX)
                return cr__errf(CR_ERR_FORMAT, r->err, r->errsize, "%s: constant value %zu "
                                "(%g) does not fit a float", r->name, i, d);
#endif
            x->data[i] = (cr_real)d;
        }
    }
    return CR_OK;
}

/* ------------------------------------------------------------ building */

static void shape_text(int ndim, const int *shape, char *buf, size_t size)
{
    size_t len = 0;
    if (ndim == 0) snprintf(buf, size, "scalar");
    for (int d = 0; d < ndim && len < size; d++) {
        int w = snprintf(buf + len, size - len, d ? "x%d" : "%d", shape[d]);
        len += w > 0 ? (size_t)w : 0;
    }
}

/* The shape value v gets at leading dimension `batch`: inputs, reshapes and custom
 * ops whose saved leading dimension was the saved batch take the new one. */
static void shape_at(const cr_graph *g, const gval *v, int batch, int *shape)
{
    memcpy(shape, v->shape, sizeof v->shape);
    int scaled = v->kind == CR__GV_INPUT || (v->kind == CR__GV_OP &&
                 (!v->op || strcmp(v->op->name, "reshape") == 0));
    if (scaled && v->ndim > 0 && batch != g->batch0 && v->shape[0] == g->batch0)
        shape[0] = batch;
}

/* Record the graph on t at leading dimension batch into cur[]. */
static cr_status record(cr_graph *g, cr_tape *t, int batch, cr_tensor **cur, char *err,
                        size_t errsize, const char *name)
{
    cr_tensor *in[64];
    for (uint32_t i = 0; i < g->nvals; i++) {
        gval *v = &g->vals[i];
        int shape[CR_MAX_DIMS];
        shape_at(g, v, batch, shape);
        cr_tensor *x = NULL;
        switch (v->kind) {
        case CR__GV_INPUT:
            x = v->flags & CR__GV_FLAG_GRAD ? cr_var(t, v->ndim, shape, NULL)
                                            : cr_const(t, v->ndim, shape, NULL);
            break;
        case CR__GV_PARAM:
        case CR__GV_CONST:
            x = v->heap;
            break;
        case CR__GV_LEAF_CONST:
            x = cr_const(t, v->ndim, v->shape, v->heap->data);
            break;
        case CR__GV_LEAF_VAR:
            x = cr_var(t, v->ndim, v->shape, v->heap->data);
            break;
        default: {
            cr_tensor **inp = in;
            if (v->n_in > 64) {
                inp = cr_tape_alloc(t, (size_t)v->n_in * sizeof *inp);
                if (!inp) break;
            }
            for (int k = 0; k < v->n_in; k++) inp[k] = cur[v->in[k]];
            cr__gctx c = { v->ndim, shape, g->rngs, g->nrngs, v->name };
            x = v->op ? v->op->build(t, inp, v->n_in, &v->attr, &c)
                      : cr_custom(t, v->name, v->n_in, inp, v->ndim, shape, v->forward,
                                  v->backward, v->user);
        }
        }
        if (!x)
            return cr__errf(cr_tape_status(t) ? cr_tape_status(t) : CR_ERR_FORMAT, err, errsize,
                            "%s: value %u (%s) does not record: %s", name, (unsigned)i,
                            v->kind == CR__GV_OP ? v->name : "leaf",
                            cr_tape_error(t) ? cr_tape_error(t) : "no tensor");
        if (v->kind == CR__GV_OP && (x->tape != t || (size_t)x->id + 1 != cr_tape_size(t)))
            return cr__errf(CR_ERR_FORMAT, err, errsize, "%s: node %u (%s) recorded nothing "
                            "(an identity: the file does not come from a recording)", name,
                            (unsigned)i, v->name);
        /* at another batch size only the rank is known in advance (a transpose
         * moves the batch axis; the ops check the rest) */
        int same = x->ndim == v->ndim;
        for (int d = 0; same && batch == g->batch0 && d < v->ndim; d++)
            same = x->shape[d] == shape[d];
        if (!same) {
            char a[64], b[64];
            shape_text(x->ndim, x->shape, a, sizeof a);
            shape_text(v->ndim, shape, b, sizeof b);
            return cr__errf(batch == g->batch0 ? CR_ERR_FORMAT : CR_ERR_SHAPE, err, errsize,
                            "%s: value %u (%s) is %s but the file says %s", name, (unsigned)i,
                            v->kind == CR__GV_OP ? v->name : "leaf", a, b);
        }
        if (v->kind == CR__GV_INPUT) cr_tensor_label(x, v->name);
        cur[i] = x;
    }
    /* outputs computed on the tape carry their names (printing, DOT, saving again) */
    for (int k = 0; k < g->n_out; k++)
        if (g->vals[g->out_val[k]].kind == CR__GV_OP) cr_tensor_label(cur[g->out_val[k]],
                                                                      g->out_name[k]);
    if (cr_tape_error(t))
        return cr__errf(cr_tape_status(t), err, errsize, "%s: %s", name, cr_tape_error(t));
    return CR_OK;
}

/* What recording may change besides the tape: the generators (dropout draws) and
 * the values of constants and of parameters without gradient (batch norm's running
 * statistics move in every training-mode forward). Recording runs every forward
 * once, so load and cr_graph_set_batch save these first and put them back after:
 * the graph then replays as the saved tape would have. NULL when out of memory. */
static int moves(const gval *v)
{
    return v->kind == CR__GV_CONST || (v->kind == CR__GV_PARAM && !(v->flags & CR__GV_FLAG_GRAD));
}

static unsigned char *state_save(const cr_graph *g)
{
    size_t n = (size_t)g->nrngs * sizeof(cr_rng);
    for (uint32_t i = 0; i < g->nvals; i++)
        if (moves(&g->vals[i])) n += g->vals[i].size * sizeof(cr_real);
    unsigned char *buf = cr_malloc(n ? n : 1), *p = buf;
    if (!buf) return NULL;
    memcpy(p, g->rngs, (size_t)g->nrngs * sizeof(cr_rng));
    p += (size_t)g->nrngs * sizeof(cr_rng);
    for (uint32_t i = 0; i < g->nvals; i++)
        if (moves(&g->vals[i])) {
            size_t k = g->vals[i].size * sizeof(cr_real);
            memcpy(p, g->vals[i].heap->data, k);
            p += k;
        }
    return buf;
}

static void state_restore(cr_graph *g, unsigned char *buf)
{
    const unsigned char *p = buf;
    memcpy(g->rngs, p, (size_t)g->nrngs * sizeof(cr_rng));
    p += (size_t)g->nrngs * sizeof(cr_rng);
    for (uint32_t i = 0; i < g->nvals; i++)
        if (moves(&g->vals[i])) {
            size_t k = g->vals[i].size * sizeof(cr_real);
            memcpy(g->vals[i].heap->data, p, k);
            p += k;
        }
    cr_free(buf);
}

void cr_graph_free(cr_graph *g)
{
    if (!g) return;
    cr_tape_free(g->tape);
    cr_params_free(g->params);
    for (uint32_t i = 0; g->vals && i < g->nvals; i++)
        if (g->vals[i].kind != CR__GV_PARAM) cr_tensor_free(g->vals[i].heap);
    cr_free(g->vals);
    cr_free(g->ins);
    cr_free(g->cur);
    cr_free(g->rngs);
    cr_free(g->in_val);
    cr_free(g->out_val);
    cr_free(g->out_name);
    cr_free(g);
}

static cr_status load(cr_graph *g, const unsigned char *buf, size_t n, const char *name,
                      const cr_op_registry *ops, char *err, size_t errsize)
{
    const unsigned char *body = NULL;
    size_t len = 0;
    uint32_t rs = 0;
    cr_status s = cr__load_section(buf, n, name, CR__TAG_GRAPH, &body, &len, &rs, err, errsize);
    if (s) return s;
    if (!body)
        return cr__errf(CR_ERR_FORMAT, err, errsize, "%s: not a graph file (no GRPH section: "
                        "a parameter file, for cr_load or cr_model_load)", name);
    rd r = { body, 0, len, name, err, errsize };
    uint64_t declared = 0;
    if ((s = parse(&r, g, rs, &declared))) return s;
    /* what the graph needs: every value, a gradient and scratch of the same size
     * (im2col and the like are checked by the tape's arena cap below) */
    char what[200];
    snprintf(what, sizeof what, "%s: the graph", name);
    if ((s = cr_memory_check(declared > UINT64_MAX / 3 ? UINT64_MAX : 3 * declared, what, err,
                             errsize)))
        return s;
    if ((s = check_values(&r, g, ops))) return s;

    /* parameters: made from the section, filled from PARM by the model loader */
    g->params = cr_params_new();
    if (!g->params) return cr__errf(CR_ERR_NOMEM, err, errsize, "%s: out of memory", name);
    for (uint32_t i = 0; i < g->nvals; i++) {
        gval *v = &g->vals[i];
        if (v->kind == CR__GV_PARAM) {
            cr_tensor *x = cr_param_new(v->ndim, v->shape);
            if (!x) return cr__errf(CR_ERR_NOMEM, err, errsize, "%s: out of memory", name);
            if (!(v->flags & CR__GV_FLAG_GRAD)) x->flags &= ~CR_REQUIRES_GRAD;
            char why[200];
            if (cr_params_add_owned(g->params, x, v->name, why, sizeof why) != CR_OK)
                return cr__errf(CR_ERR_FORMAT, err, errsize, "%s: parameter %u: %s", name,
                                (unsigned)i, why);
            v->heap = x;
        } else if (v->kind >= CR__GV_CONST && v->kind <= CR__GV_LEAF_VAR) {
            v->heap = cr_tensor_new(v->ndim, v->shape);
            if (!v->heap) return cr__errf(CR_ERR_NOMEM, err, errsize, "%s: out of memory", name);
            if ((s = read_values(&r, v, v->heap, rs))) return s;
            v->data = NULL;
        }
    }
    if ((s = cr_load_buffer(buf, n, name, g->params, NULL, NULL, err, errsize))) return s;

    g->cur = cr_calloc(g->nvals, sizeof *g->cur);
    g->tape = cr_tape_new(0);
    if (!g->cur || !g->tape) return cr__errf(CR_ERR_NOMEM, err, errsize, "%s: out of memory", name);
    cr_tape_set_arena_limit(g->tape, cr_memory_limit());
    /* recording runs every forward once (on zero inputs): generators and moving
     * values go back to their saved state, so the first replay draws the masks and
     * makes the updates the saved tape's next replay would have */
    unsigned char *saved = state_save(g);
    if (!saved) return cr__errf(CR_ERR_NOMEM, err, errsize, "%s: out of memory", name);
    s = record(g, g->tape, g->batch0, g->cur, err, errsize, name);
    state_restore(g, saved);
    return s;
}

/* The loaders: ops NULL means built-in ops only. */
static cr_graph *load_buffer(const void *data, size_t size, const char *name,
                             const cr_op_registry *ops, char *err, size_t errsize)
{
    if (!data && size) {
        cr__errf(CR_ERR_ARG, err, errsize, "graph: data is NULL");
        return NULL;
    }
    cr_graph *g = cr_calloc(1, sizeof *g);
    if (!g) {
        cr__errf(CR_ERR_NOMEM, err, errsize, "graph: out of memory");
        return NULL;
    }
    if (load(g, data ? data : (const void *)"", size, name ? name : "<buffer>", ops, err,
             errsize)) {
        cr_graph_free(g);
        return NULL;
    }
    if (err && errsize) err[0] = '\0';
    return g;
}

static cr_graph *load_file(const char *path, const cr_op_registry *ops, char *err,
                           size_t errsize)
{
    void *buf = NULL;
    size_t n = 0;
    if (cr_load_file_image(path, &buf, &n, err, errsize) != CR_OK) return NULL;
    cr_graph *g = load_buffer(buf, n, path, ops, err, errsize);
    cr_free(buf);
    return g;
}

cr_graph *cr_graph_load_buffer(const void *data, size_t size, const char *name, char *err,
                               size_t errsize)
{
    return load_buffer(data, size, name, NULL, err, errsize);
}

cr_graph *cr_graph_load(const char *path, char *err, size_t errsize)
{
    return load_file(path, NULL, err, errsize);
}

cr_graph *cr_graph_load_buffer_with(const void *data, size_t size, const char *name,
                                    const cr_op_registry *ops, char *err, size_t errsize)
{
    if (!ops) {
        cr__errf(CR_ERR_ARG, err, errsize, "graph: op registry is NULL (cr_graph_load_buffer "
                 "loads built-in ops only)");
        return NULL;
    }
    return load_buffer(data, size, name, ops, err, errsize);
}

cr_graph *cr_graph_load_with(const char *path, const cr_op_registry *ops, char *err,
                             size_t errsize)
{
    if (!ops) {
        cr__errf(CR_ERR_ARG, err, errsize, "graph: op registry is NULL (cr_graph_load loads "
                 "built-in ops only)");
        return NULL;
    }
    return load_file(path, ops, err, errsize);
}

cr_status cr_graph_set_batch(cr_graph *g, int batch, char *err, size_t errsize)
{
    if (!g || batch < 1)
        return cr__errf(CR_ERR_ARG, err, errsize, "graph: %s", g ? "batch must be >= 1"
                                                                 : "graph is NULL");
    if (g->batch0 == 0)
        return cr__errf(CR_ERR_ARG, err, errsize, "graph: it has no input with a leading "
                        "dimension to change");
    if (batch == g->batch) return CR_OK;
    cr_tensor **cur = cr_calloc(g->nvals, sizeof *cur);
    cr_tape *t = cr_tape_new(0);
    unsigned char *saved = state_save(g);
    cr_status s = CR_OK;
    if (!cur || !t || !saved) {
        s = cr__errf(CR_ERR_NOMEM, err, errsize, "graph: out of memory");
    } else {
        cr_tape_set_arena_limit(t, cr_memory_limit());
        s = record(g, t, batch, cur, err, errsize, "graph");
    }
    if (s == CR_OK) {
        cr_tape *old = g->tape;
        g->tape = t;
        t = old;
        cr_tensor **oc = g->cur;
        g->cur = cur;
        cur = oc;
        g->batch = batch;
        if (err && errsize) err[0] = '\0';
    }
    if (saved) state_restore(g, saved);
    cr_free(cur);
    cr_tape_free(t);
    return s;
}

/* ------------------------------------------------------------ accessors */

cr_tape *cr_graph_tape(const cr_graph *g) { return g ? g->tape : NULL; }
int cr_graph_n_inputs(const cr_graph *g) { return g ? g->n_in : 0; }
int cr_graph_n_outputs(const cr_graph *g) { return g ? g->n_out : 0; }
cr_params *cr_graph_params(const cr_graph *g) { return g ? g->params : NULL; }
int cr_graph_n_rngs(const cr_graph *g) { return g ? g->nrngs : 0; }
int cr_graph_batch(const cr_graph *g) { return g ? g->batch : 0; }

cr_tensor *cr_graph_input(const cr_graph *g, int k)
{
    return g && k >= 0 && k < g->n_in ? g->cur[g->in_val[k]] : NULL;
}

cr_tensor *cr_graph_output(const cr_graph *g, int k)
{
    return g && k >= 0 && k < g->n_out ? g->cur[g->out_val[k]] : NULL;
}

const char *cr_graph_input_name(const cr_graph *g, int k)
{
    return g && k >= 0 && k < g->n_in ? g->vals[g->in_val[k]].name : NULL;
}

const char *cr_graph_output_name(const cr_graph *g, int k)
{
    return g && k >= 0 && k < g->n_out ? g->out_name[k] : NULL;
}

int cr_graph_find_input(const cr_graph *g, const char *name)
{
    for (int k = 0; g && name && k < g->n_in; k++)
        if (strcmp(g->vals[g->in_val[k]].name, name) == 0) return k;
    return -1;
}

int cr_graph_find_output(const cr_graph *g, const char *name)
{
    for (int k = 0; g && name && k < g->n_out; k++)
        if (strcmp(g->out_name[k], name) == 0) return k;
    return -1;
}

cr_rng *cr_graph_rng(const cr_graph *g, int k)
{
    return g && k >= 0 && k < g->nrngs ? &g->rngs[k] : NULL;
}
