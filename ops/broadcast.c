/* NumPy broadcasting for binary elementwise ops: the shape rule, the iteration
 * plan, and the general forward/backward loops (the fast paths are inline in
 * ops_internal.h). See ops_internal.h for the design. */
#include "ops_internal.h"

#include <string.h>

/* Scratch row for a gradient summed along the row: the kernel fills it, we add
 * its sum into one element. Rows longer than this are done in pieces. */
#define CR_BCAST_CHUNK 256

int cr__broadcast_shape(cr_tape *t, const char *opname, const cr_tensor *a,
                        const cr_tensor *b, int *ndim, int shape[CR_MAX_DIMS])
{
    int nd = a->ndim > b->ndim ? a->ndim : b->ndim;
    int offa = nd - a->ndim, offb = nd - b->ndim;
    for (int i = 0; i < nd; i++) {
        int da = i >= offa ? a->shape[i - offa] : 1;
        int db = i >= offb ? b->shape[i - offb] : 1;
        if (da != db && da != 1 && db != 1) {
            char sa[48], sb[48];
            cr_tape_fail(t, CR_ERR_SHAPE, "%s: a is %s but b is %s (not broadcastable)", opname,
                         cr_shape_str(a, sa, sizeof sa), cr_shape_str(b, sb, sizeof sb));
            return 0;
        }
        shape[i] = da > db ? da : db;
    }
    for (int i = nd; i < CR_MAX_DIMS; i++) shape[i] = 1;
    *ndim = nd;
    return 1;
}

cr_tensor *cr__binary_general(cr_tape *t, const cr_op *op, cr_tensor *a, cr_tensor *b)
{
    cr_tensor *in[2] = { a, b };
    if (!cr_check_inputs(t, op->name, 2, in)) return NULL;
    cr_node *n;
    if (cr__same_shape(a, b)) {
        n = cr_record(t, op, 2, in, a->ndim, a->shape);
    } else {
        int ndim, shape[CR_MAX_DIMS];
        if (!cr__broadcast_shape(t, op->name, a, b, &ndim, shape)) return NULL;
        n = cr_record(t, op, 2, in, ndim, shape);
    }
    return n ? cr_run(t, n) : NULL;
}

/* Element strides of x seen with y's rank nd (x aligned at the right): the
 * row-major stride of each of x's dimensions, 0 where x has extent 1. */
static void broadcast_strides(size_t s[CR_MAX_DIMS], const cr_tensor *x, int nd)
{
    int off = nd - x->ndim;
    size_t run = 1;
    for (int i = nd - 1; i >= 0; i--) {
        int d = i >= off ? x->shape[i - off] : 1;
        s[i] = d == 1 ? 0 : run;
        run *= (size_t)d;
    }
}

void cr__bcast_plan(cr__bcast *p, const cr_tensor *a, const cr_tensor *b, const cr_tensor *y)
{
    size_t sa[CR_MAX_DIMS], sb[CR_MAX_DIMS];
    broadcast_strides(sa, a, y->ndim);
    broadcast_strides(sb, b, y->ndim);
    int m = 0;
    for (int i = 0; i < y->ndim; i++) {
        size_t n = (size_t)y->shape[i];
        if (n == 1) continue;                       /* nothing to iterate */
        /* merge into the previous dimension when both operands continue their
         * pattern across the boundary (contiguous, or broadcast in both) */
        if (m > 0 && p->sa[m - 1] == sa[i] * n && p->sb[m - 1] == sb[i] * n) {
            p->n[m - 1] *= n;
            p->sa[m - 1] = sa[i];
            p->sb[m - 1] = sb[i];
            continue;
        }
        p->n[m] = n;
        p->sa[m] = sa[i];
        p->sb[m] = sb[i];
        m++;
    }
    p->ndim = m;
}

/* The plan padded at the front to exactly CR_MAX_DIMS dimensions, so that the
 * loops below are a fixed nest: outer three dimensions, then the inner row. */
static void plan4(cr__bcast *p, const cr_tensor *a, const cr_tensor *b, const cr_tensor *y)
{
    cr__bcast q;
    cr__bcast_plan(&q, a, b, y);
    int pad = CR_MAX_DIMS - q.ndim;
    for (int i = 0; i < CR_MAX_DIMS; i++) {
        int j = i - pad;
        p->n[i] = j >= 0 ? q.n[j] : 1;
        p->sa[i] = j >= 0 ? q.sa[j] : 0;
        p->sb[i] = j >= 0 ? q.sb[j] : 0;
    }
    if (q.ndim == 0) p->sa[3] = p->sb[3] = 1;      /* one element: any stride reads it */
    p->ndim = CR_MAX_DIMS;
}

/* Large general cases run on the pool of y's tape (from CR__PAR_MIN elements),
 * split so that every output element gets exactly the computation it gets on one
 * thread: the forward and the gradient of an input that is not broadcast by outer
 * rows (each row writes its own elements); the gradient of an input broadcast
 * along outer dimensions by column ranges of the row (each task runs every outer
 * row, in order, on its columns, so each element accumulates its terms in the same
 * order). A gradient summed along the row stays on the calling thread. */
typedef struct gen_job {
    const cr_node *nd;
    const cr__bcast *p;
    cr__fwd_rows f;
    cr__grad_rows g;
    int k;
} gen_job;

/* Offsets into a and b of outer row r (r counts rows of the output in order). */
static void outer_offsets(const cr__bcast *p, size_t r, size_t *oa, size_t *ob)
{
    size_t i2 = r % p->n[2];
    r /= p->n[2];
    size_t i1 = r % p->n[1], i0 = r / p->n[1];
    *oa = i0 * p->sa[0] + i1 * p->sa[1] + i2 * p->sa[2];
    *ob = i0 * p->sb[0] + i1 * p->sb[1] + i2 * p->sb[2];
}

/* Outer rows [r0, r1), each writing its own elements: the forward when j->f is
 * set, else the gradient of input k (not broadcast at all, so each row has its
 * own dx elements). */
static void each_row(void *ctx, size_t r0, size_t r1)
{
    const gen_job *j = ctx;
    const cr__bcast *p = j->p;
    const cr_tensor *a = j->nd->in[0], *b = j->nd->in[1], *y = j->nd->out;
    const size_t row = p->n[3];
    for (size_t r = r0; r < r1; r++) {
        size_t oa, ob;
        outer_offsets(p, r, &oa, &ob);
        if (j->f)
            j->f(y->data + r * row, a->data + oa, p->sa[3], b->data + ob, p->sb[3], row);
        else
            j->g(j->nd->in[j->k]->grad + (j->k == 0 ? oa : ob), y->grad + r * row,
                 a->data + oa, p->sa[3], b->data + ob, p->sb[3], y->data + r * row, row);
    }
}

/* Forward with a scalar a, elements [e0, e1). */
static void fwd_scalar_a(void *ctx, size_t e0, size_t e1)
{
    const gen_job *j = ctx;
    const cr_tensor *a = j->nd->in[0], *b = j->nd->in[1], *y = j->nd->out;
    j->f(y->data + e0, a->data, 0, b->data + e0, 1, e1 - e0);
}

/* Rows per range: about CR__PAR_GRAIN elements. */
static size_t row_grain(size_t row) { return row < CR__PAR_GRAIN ? CR__PAR_GRAIN / row : 1; }

void cr__bcast_forward_general(const cr_node *nd, cr__fwd_rows f)
{
    const cr_tensor *a = nd->in[0], *b = nd->in[1], *y = nd->out;
    cr_pool *pool = cr_tape_pool(y->tape);
    const int par = y->size >= CR__PAR_MIN && cr_pool_threads(pool) > 1;
    gen_job j = { nd, NULL, f, NULL, 0 };
    if (a->size == 1 && b->size == y->size) {      /* scalar a */
        if (par) cr_pool_for(pool, y->size, CR__PAR_GRAIN, fwd_scalar_a, &j);
        else f(y->data, a->data, 0, b->data, 1, y->size);
        return;
    }
    cr__bcast p;
    plan4(&p, a, b, y);
    const size_t row = p.n[3];
    if (par) {
        j.p = &p;
        cr_pool_for(pool, y->size / row, row_grain(row), each_row, &j);
        return;
    }
    cr_real *out = y->data;
    for (size_t i0 = 0; i0 < p.n[0]; i0++)
        for (size_t i1 = 0; i1 < p.n[1]; i1++)
            for (size_t i2 = 0; i2 < p.n[2]; i2++) {
                size_t oa = i0 * p.sa[0] + i1 * p.sa[1] + i2 * p.sa[2];
                size_t ob = i0 * p.sb[0] + i1 * p.sb[1] + i2 * p.sb[2];
                f(out, a->data + oa, p.sa[3], b->data + ob, p.sb[3], row);
                out += row;
            }
}

/* *dx += sum over i < n of g[i] * df/dx, for an input that is one value along
 * this row: the kernel writes the terms into a zeroed scratch row. */
static void grad_row_sum(cr_real *dx, cr__grad_rows f, const cr_real *g, const cr_real *a,
                         size_t sa, const cr_real *b, size_t sb, const cr_real *y, size_t n)
{
    cr_real tmp[CR_BCAST_CHUNK];
    double sum = 0;
    for (size_t i = 0; i < n; i += CR_BCAST_CHUNK) {
        size_t m = n - i < CR_BCAST_CHUNK ? n - i : CR_BCAST_CHUNK;
        memset(tmp, 0, m * sizeof *tmp);
        f(tmp, g + i, a + i * sa, sa, b + i * sb, sb, y + i, m);
        for (size_t j = 0; j < m; j++) sum += tmp[j];
    }
    *dx += (cr_real)sum;
}

/* Gradient of the full-size input k with the other input scalar, elements [e0, e1). */
static void grad_elems(void *ctx, size_t e0, size_t e1)
{
    const gen_job *j = ctx;
    const cr_tensor *a = j->nd->in[0], *b = j->nd->in[1], *y = j->nd->out;
    const size_t sa = j->k == 0, sb = j->k == 1;
    j->g(j->nd->in[j->k]->grad + e0, y->grad + e0, a->data + e0 * sa, sa, b->data + e0 * sb,
         sb, y->data + e0, e1 - e0);
}

/* Gradient of input k (not broadcast along the row) on columns [c0, c1) of every
 * outer row, rows in order. */
static void grad_cols(void *ctx, size_t c0, size_t c1)
{
    const gen_job *j = ctx;
    const cr__bcast *p = j->p;
    const cr_tensor *a = j->nd->in[0], *b = j->nd->in[1], *y = j->nd->out;
    cr_real *dx = j->nd->in[j->k]->grad;
    const size_t row = p->n[3], sa3 = p->sa[3], sb3 = p->sb[3];
    size_t oy = 0;
    for (size_t i0 = 0; i0 < p->n[0]; i0++)
        for (size_t i1 = 0; i1 < p->n[1]; i1++)
            for (size_t i2 = 0; i2 < p->n[2]; i2++) {
                size_t oa = i0 * p->sa[0] + i1 * p->sa[1] + i2 * p->sa[2];
                size_t ob = i0 * p->sb[0] + i1 * p->sb[1] + i2 * p->sb[2];
                cr_real *d = dx + (j->k == 0 ? oa : ob) + c0;
                j->g(d, y->grad + oy + c0, a->data + oa + c0 * sa3, sa3, b->data + ob + c0 * sb3,
                     sb3, y->data + oy + c0, c1 - c0);
                oy += row;
            }
}

void cr__bcast_grad_general(const cr_node *nd, int k, cr__grad_rows f)
{
    const cr_tensor *a = nd->in[0], *b = nd->in[1], *y = nd->out;
    cr_real *dx = nd->in[k]->grad;
    const cr_real *g = y->grad;
    cr_pool *pool = cr_tape_pool(y->tape);
    const int par = y->size >= CR__PAR_MIN && cr_pool_threads(pool) > 1;
    gen_job j = { nd, NULL, NULL, f, k };
    if (a->size == y->size && b->size == 1) {      /* scalar b */
        if (k == 1) grad_row_sum(dx, f, g, a->data, 1, b->data, 0, y->data, y->size);
        else if (par) cr_pool_for(pool, y->size, CR__PAR_GRAIN, grad_elems, &j);
        else f(dx, g, a->data, 1, b->data, 0, y->data, y->size);
        return;
    }
    if (a->size == 1 && b->size == y->size) {      /* scalar a */
        if (k == 0) grad_row_sum(dx, f, g, a->data, 0, b->data, 1, y->data, y->size);
        else if (par) cr_pool_for(pool, y->size, CR__PAR_GRAIN, grad_elems, &j);
        else f(dx, g, a->data, 0, b->data, 1, y->data, y->size);
        return;
    }
    cr__bcast p;
    plan4(&p, a, b, y);
    const size_t row = p.n[3];
    const size_t *sx = k == 0 ? p.sa : p.sb;
    j.p = &p;
    if (par && sx[3]) {
        size_t rows = y->size / row;
        if (nd->in[k]->size == y->size)
            cr_pool_for(pool, rows, row_grain(row), each_row, &j);
        else    /* columns per range: about CR__PAR_GRAIN elements over all rows */
            cr_pool_for(pool, row, rows < CR__PAR_GRAIN ? CR__PAR_GRAIN / rows : 1, grad_cols, &j);
        return;
    }
    if (sx[3]) {
        grad_cols(&j, 0, row);
        return;
    }
    size_t oy = 0;
    for (size_t i0 = 0; i0 < p.n[0]; i0++)
        for (size_t i1 = 0; i1 < p.n[1]; i1++)
            for (size_t i2 = 0; i2 < p.n[2]; i2++) {
                size_t oa = i0 * p.sa[0] + i1 * p.sa[1] + i2 * p.sa[2];
                size_t ob = i0 * p.sb[0] + i1 * p.sb[1] + i2 * p.sb[2];
                grad_row_sum(dx + (k == 0 ? oa : ob), f, g + oy, a->data + oa, p.sa[3],
                             b->data + ob, p.sb[3], y->data + oy, row);
                oy += row;
            }
}
