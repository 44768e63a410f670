/* 2-D pooling over N x C x H x W images, each plane (n, c) on its own.
 * Windows: output (p, q) covers rows h = p SH - PH + i (0 <= i < KH) and columns
 * v = q SW - PW + j (0 <= j < KW); OH = (H + 2 PH - KH) / SH + 1 (floor), OW likewise.
 * Padding P <= K/2 (PyTorch's rule) keeps at least one real element in every window.
 *
 * max_pool2d: y[p,q] = max over the real elements of the window (padding never
 *   wins); dx[h*,v*] += g[p,q] at the FIRST maximum (row-major window order; a NaN
 *   wins and propagates, as cr_max_axis). The positions are kept in arena scratch
 *   and rewritten by every forward, so replay moves the gradient with the data.
 * avg_pool2d: y[p,q] = (sum over the real elements of the window) / (KH KW): the
 *   padding counts as zeros in the divisor (PyTorch's count_include_pad=True, its
 *   default); dx[h,v] += g[p,q] / (KH KW) for every real (h, v) of the window.
 * global_avg_pool2d: y[n,c] = mean of plane (n, c); dx += g[n,c] / (H W).
 *
 * Every pass is split over the tape's pool by planes, each plane written by one
 * item in a fixed order: the same bits for any thread count. */
#include "ops_internal.h"
#include "op_attrs.h"
#include "shape_util.h"

#include <limits.h>

/* The node's attributes (n->attr), read-only once recorded. */
typedef struct pool2d_attr {
    int kernel[2], stride[2], pad[2];   /* resolved: >= 1, >= 1, 0..K/2 */
    int H, W, OH, OW;                   /* plane sizes of x and y */
    size_t planes;                      /* N C */
    int32_t *arg;   /* max only: per output element, the index h W + v of its
                     * maximum within the input plane (arena, rewritten by forward) */
} pool2d_attr;

typedef struct pool_job {
    const cr_node *n;
} pool_job;

/* Window rows [*lo, *hi) of output row p (clipped to the image). */
static void window(int p, int stride, int pad, int k, int len, int *lo, int *hi)
{
    int s = p * stride - pad, e = s + k;
    *lo = s < 0 ? 0 : s;
    *hi = e > len ? len : e;
}

/* Window rows [*h0, *h1) and columns [*v0, *v1) of output (p, q). */
static void window2(const pool2d_attr *a, int p, int q, int *h0, int *h1, int *v0, int *v1)
{
    window(p, a->stride[0], a->pad[0], a->kernel[0], a->H, h0, h1);
    window(q, a->stride[1], a->pad[1], a->kernel[1], a->W, v0, v1);
}

/* max_items for kernel 2x2, stride 2, no padding (the usual downsampling), one
 * output row: every window (a, b / c, d) lies inside the plane and is scanned in
 * the general loop's order with its test (z > m, or z the first NaN: the same as
 * !(z <= m) && m == m), written without branches so that the compiler vectorises
 * the row (w is where the maximum is in the window: 0, 1, W or W + 1). The same
 * values and positions as the general loop. */
static void max_row_2x2(const cr_real *restrict r0, const cr_real *restrict r1, int W, int OW,
                        int32_t i0, cr_real *restrict y, int32_t *restrict ap)
{
    for (int q = 0; q < OW; q++) {
        cr_real a = r0[2 * q], b = r0[2 * q + 1], c = r1[2 * q], d = r1[2 * q + 1];
        cr_real m = a;
        int32_t w = 0;
        int t = !(b <= m) && m == m;   /* b > m, or b the first NaN */
        m = t ? b : m;
        w = t ? 1 : w;
        t = !(c <= m) && m == m;
        m = t ? c : m;
        w = t ? W : w;
        t = !(d <= m) && m == m;
        m = t ? d : m;
        w = t ? W + 1 : w;
        y[q] = m;
        ap[q] = i0 + 2 * q + w;
    }
}

static void max_items_2x2(const cr_node *n, size_t b, size_t e)
{
    const pool2d_attr *a = n->attr;
    const int W = a->W, OH = a->OH, OW = a->OW;
    const size_t plane = (size_t)a->H * W, oplane = (size_t)OH * OW;
    for (size_t it = b; it < e; it++) {
        const cr_real *xp = n->in[0]->data + it * plane;
        cr_real *yp = n->out->data + it * oplane;
        int32_t *ap = a->arg + it * oplane;
        for (int p = 0; p < OH; p++) {
            const cr_real *r0 = xp + (size_t)(2 * p) * W;
            max_row_2x2(r0, r0 + W, W, OW, 2 * p * W, yp + (size_t)p * OW, ap + (size_t)p * OW);
        }
    }
}

/* Kernel 2x2, stride 2, no padding: the windows tile the plane without overlap. */
static int is_2x2(const pool2d_attr *a)
{
    return a->kernel[0] == 2 && a->kernel[1] == 2 && a->stride[0] == 2 && a->stride[1] == 2 &&
           a->pad[0] == 0 && a->pad[1] == 0;
}

static void max_items(void *ctx, size_t b, size_t e)
{
    const cr_node *n = ((const pool_job *)ctx)->n;
    const pool2d_attr *a = n->attr;
    const size_t plane = (size_t)a->H * a->W, oplane = (size_t)a->OH * a->OW;
    if (is_2x2(a)) {
        max_items_2x2(n, b, e);
        return;
    }
    for (size_t it = b; it < e; it++) {
        const cr_real *xp = n->in[0]->data + it * plane;
        cr_real *yp = n->out->data + it * oplane;
        int32_t *ap = a->arg + it * oplane;
        for (int p = 0; p < a->OH; p++)
            for (int q = 0; q < a->OW; q++) {
                int h0, h1, v0, v1;
                window2(a, p, q, &h0, &h1, &v0, &v1);
                int32_t best = h0 * a->W + v0;
                cr_real m = xp[best];
                for (int h = h0; h < h1; h++)
                    for (int v = v0; v < v1; v++) {
                        cr_real z = xp[h * a->W + v];
                        /* strictly greater keeps the first maximum; a NaN wins once */
                        if (z > m || (z != z && m == m)) {
                            m = z;
                            best = h * a->W + v;
                        }
                    }
                yp[p * a->OW + q] = m;
                ap[p * a->OW + q] = best;
            }
    }
}

static void max_grad_items(void *ctx, size_t b, size_t e)
{
    const cr_node *n = ((const pool_job *)ctx)->n;
    const pool2d_attr *a = n->attr;
    const size_t plane = (size_t)a->H * a->W, oplane = (size_t)a->OH * a->OW;
    for (size_t it = b; it < e; it++) {
        cr_real *dx = n->in[0]->grad + it * plane;
        const cr_real *g = n->out->grad + it * oplane;
        const int32_t *ap = a->arg + it * oplane;
        for (size_t k = 0; k < oplane; k++) dx[ap[k]] += g[k];
    }
}

/* fn over node n's planes on the tape's pool, each plane about per_plane elements
 * of work: the output plane (windows 0) or every element of every window (windows 1). */
static void run_planes(cr_tape *t, const cr_node *n, int windows,
                       void (*fn)(void *ctx, size_t b, size_t e))
{
    const pool2d_attr *a = n->attr;
    size_t per_plane = (size_t)a->OH * a->OW;
    if (windows) per_plane *= (size_t)a->kernel[0] * a->kernel[1];
    pool_job j = { n };
    cr__par_items(t, a->planes, per_plane, fn, &j);
}

static void max_pool2d_forward(cr_tape *t, cr_node *n) { run_planes(t, n, 1, max_items); }

static void max_pool2d_backward(cr_tape *t, cr_node *n)
{
    if (n->in[0]->grad) run_planes(t, n, 0, max_grad_items);
}

static void avg_items(void *ctx, size_t b, size_t e)
{
    const cr_node *n = ((const pool_job *)ctx)->n;
    const pool2d_attr *a = n->attr;
    const size_t plane = (size_t)a->H * a->W, oplane = (size_t)a->OH * a->OW;
    const cr_real inv = (cr_real)1 / ((cr_real)a->kernel[0] * a->kernel[1]);
    for (size_t it = b; it < e; it++) {
        const cr_real *xp = n->in[0]->data + it * plane;
        cr_real *yp = n->out->data + it * oplane;
        for (int p = 0; p < a->OH; p++)
            for (int q = 0; q < a->OW; q++) {
                int h0, h1, v0, v1;
                window2(a, p, q, &h0, &h1, &v0, &v1);
                cr_real s = 0;
                for (int h = h0; h < h1; h++)
                    for (int v = v0; v < v1; v++) s += xp[h * a->W + v];
                yp[p * a->OW + q] = s * inv;
            }
    }
}

static void avg_grad_items(void *ctx, size_t b, size_t e)
{
    const cr_node *n = ((const pool_job *)ctx)->n;
    const pool2d_attr *a = n->attr;
    const size_t plane = (size_t)a->H * a->W, oplane = (size_t)a->OH * a->OW;
    const cr_real inv = (cr_real)1 / ((cr_real)a->kernel[0] * a->kernel[1]);
    for (size_t it = b; it < e; it++) {
        cr_real *dx = n->in[0]->grad + it * plane;
        const cr_real *g = n->out->grad + it * oplane;
        for (int p = 0; p < a->OH; p++)
            for (int q = 0; q < a->OW; q++) {
                int h0, h1, v0, v1;
                window2(a, p, q, &h0, &h1, &v0, &v1);
                cr_real gi = g[p * a->OW + q] * inv;
                for (int h = h0; h < h1; h++)
                    for (int v = v0; v < v1; v++) dx[h * a->W + v] += gi;
            }
    }
}

static void avg_pool2d_forward(cr_tape *t, cr_node *n) { run_planes(t, n, 1, avg_items); }

static void avg_pool2d_backward(cr_tape *t, cr_node *n)
{
    if (n->in[0]->grad) run_planes(t, n, 1, avg_grad_items);
}

static const cr_op max_pool2d_op = { "max_pool2d", max_pool2d_forward, max_pool2d_backward };
static const cr_op avg_pool2d_op = { "avg_pool2d", avg_pool2d_forward, avg_pool2d_backward };

/* Validate x and opts for a pool named name; fill *a (arg NULL). 0 on error. */
static int pool_setup(cr_tape *t, const char *name, cr_tensor *x, const cr_pool2d_opts *o,
                      pool2d_attr *a)
{
    char sx[CR_DIMS_TEXT];
    cr__tensor_dims(x, sx, sizeof sx);
    if (!o) {
        cr_tape_fail(t, CR_ERR_ARG, "%s: options are NULL (the kernel size is required)", name);
        return 0;
    }
    if (x->ndim != 4) {
        cr_tape_fail(t, CR_ERR_SHAPE, "%s: x must be N x C x H x W (rank 4) but is %s", name, sx);
        return 0;
    }
    for (int k = 0; k < 2; k++) {
        int K = o->kernel[k], S = o->stride[k] ? o->stride[k] : K, P = o->padding[k];
        if (K < 1 || S < 1 || P < 0 || P > K / 2) {
            cr_tape_fail(t, CR_ERR_ARG, "%s: kernel %dx%d, stride %dx%d, padding %dx%d: the "
                         "kernel must be >= 1, the stride >= 1 (0 means the kernel size) and "
                         "the padding between 0 and half the kernel", name, o->kernel[0],
                         o->kernel[1], o->stride[0], o->stride[1], o->padding[0],
                         o->padding[1]);
            return 0;
        }
        a->kernel[k] = K;
        a->stride[k] = S;
        a->pad[k] = P;
    }
    a->H = x->shape[2];
    a->W = x->shape[3];
    long oh = (long)a->H + 2L * a->pad[0] - a->kernel[0];
    long ow = (long)a->W + 2L * a->pad[1] - a->kernel[1];
    if (oh < 0 || ow < 0) {
        cr_tape_fail(t, CR_ERR_SHAPE, "%s: x is %s but the kernel %dx%d is larger than the "
                     "%ldx%ld padded image (padding %dx%d)", name, sx, a->kernel[0],
                     a->kernel[1], a->H + 2L * a->pad[0], a->W + 2L * a->pad[1], a->pad[0],
                     a->pad[1]);
        return 0;
    }
    if ((double)a->H * a->W > INT32_MAX) {
        cr_tape_fail(t, CR_ERR_SHAPE, "%s: x is %s: a plane of more than 2^31 elements is not "
                     "supported", name, sx);
        return 0;
    }
    a->OH = (int)(oh / a->stride[0] + 1);
    a->OW = (int)(ow / a->stride[1] + 1);
    a->planes = (size_t)x->shape[0] * (size_t)x->shape[1];
    a->arg = NULL;
    return 1;
}

static cr_tensor *pool2d(cr_tape *t, const cr_op *op, cr_tensor *x, const cr_pool2d_opts *o)
{
    if (!cr_check_inputs(t, op->name, 1, &x)) return NULL;
    pool2d_attr tmp;
    if (!pool_setup(t, op->name, x, o, &tmp)) return NULL;
    /* attributes and scratch first: once the node is recorded nothing can fail */
    pool2d_attr *a = cr_tape_alloc(t, sizeof *a);
    if (!a) return NULL;
    *a = tmp;
    if (op == &max_pool2d_op) {
        a->arg = cr_tape_alloc(t, a->planes * a->OH * a->OW * sizeof(int32_t));
        if (!a->arg) return NULL;
    }
    int shape[4] = { x->shape[0], x->shape[1], a->OH, a->OW };
    cr_node *n = cr_record(t, op, 1, &x, 4, shape);
    if (!n) return NULL;
    n->attr = a;
    return cr_run(t, n);
}

cr_tensor *cr_max_pool2d(cr_tape *t, cr_tensor *x, const cr_pool2d_opts *opts)
{
    return pool2d(t, &max_pool2d_op, x, opts);
}

cr_tensor *cr_avg_pool2d(cr_tape *t, cr_tensor *x, const cr_pool2d_opts *opts)
{
    return pool2d(t, &avg_pool2d_op, x, opts);
}

/* ----------------------------------------------------- global average pooling */

/* Items: planes; y[it] = mean of plane it (summed in double). */
static void gap_items(void *ctx, size_t b, size_t e)
{
    const cr_node *n = ((const pool_job *)ctx)->n;
    const cr_tensor *x = n->in[0];
    const size_t plane = (size_t)x->shape[2] * x->shape[3];
    for (size_t it = b; it < e; it++)
        n->out->data[it] = (cr_real)(cr__sum_real(x->data + it * plane, plane) / (double)plane);
}

static void gap_grad_items(void *ctx, size_t b, size_t e)
{
    const cr_node *n = ((const pool_job *)ctx)->n;
    const cr_tensor *x = n->in[0];
    const size_t plane = (size_t)x->shape[2] * x->shape[3];
    for (size_t it = b; it < e; it++) {
        cr_real gi = n->out->grad[it] / (cr_real)plane;
        cr_real *dx = x->grad + it * plane;
        for (size_t k = 0; k < plane; k++) dx[k] += gi;
    }
}

static void gap_forward(cr_tape *t, cr_node *n)
{
    const cr_tensor *x = n->in[0];
    pool_job j = { n };
    cr__par_items(t, n->out->size, (size_t)x->shape[2] * x->shape[3], gap_items, &j);
}

static void gap_backward(cr_tape *t, cr_node *n)
{
    const cr_tensor *x = n->in[0];
    if (!x->grad) return;
    pool_job j = { n };
    cr__par_items(t, n->out->size, (size_t)x->shape[2] * x->shape[3], gap_grad_items, &j);
}

static const cr_op gap_op = { "global_avg_pool2d", gap_forward, gap_backward };

cr_tensor *cr_global_avg_pool2d(cr_tape *t, cr_tensor *x)
{
    if (!cr_check_inputs(t, "global_avg_pool2d", 1, &x)) return NULL;
    if (x->ndim != 4) {
        char sx[CR_DIMS_TEXT];
        cr_tape_fail(t, CR_ERR_SHAPE, "global_avg_pool2d: x must be N x C x H x W (rank 4) but "
                     "is %s", cr__tensor_dims(x, sx, sizeof sx));
        return NULL;
    }
    cr_node *n = cr_record(t, &gap_op, 1, &x, 2, x->shape);
    return n ? cr_run(t, n) : NULL;
}

int cr__pool2d_attrs(const cr_node *n, cr_pool2d_opts *o)
{
    if (!n || (n->op != &max_pool2d_op && n->op != &avg_pool2d_op) || !n->attr) return 0;
    const pool2d_attr *a = n->attr;
    *o = (cr_pool2d_opts){ { a->kernel[0], a->kernel[1] }, { a->stride[0], a->stride[1] },
                           { a->pad[0], a->pad[1] } };
    return 1;
}
