/* conv2d: 2-D cross-correlation with stride, zero padding, dilation and groups (what
 * PyTorch's F.conv2d computes).
 *   x is N x C x H x W, w is O x Cg x KH x KW (Cg = C/G, Og = O/G), b is O or absent,
 *   y is N x O x OH x OW with OH = (H + 2 PH - DH (KH - 1) - 1) / SH + 1 (floor).
 *   y[n,o,p,q] = b[o] + sum_{c<Cg,i,j} w[o,c,i,j] x[n, gCg + c, h(p,i), v(q,j)]
 *       h(p,i) = p SH - PH + i DH,  v(q,j) = q SW - PW + j DW,  g = o / Og,
 *       and x is 0 where h or v falls outside the image.
 * Backward, with G = dL/dy:
 *   dw[o,c,i,j]   += sum_{n,p,q} G[n,o,p,q] x[n, gCg + c, h(p,i), v(q,j)]
 *   dx[n,gCg+c,h,v] += sum over (o in group g, i, j, p, q) with h(p,i) = h, v(q,j) = v
 *                      of G[n,o,p,q] w[o,c,i,j]
 *   db[o]         += sum_{n,p,q} G[n,o,p,q]
 * As matrices (im2col). col is (C KH KW) x (N OH OW): row r = (c, i, j), column
 * (n, p, q), value x[n, c, h(p,i), v(q,j)] or 0. Rows of group g are the block
 * [g Kg, (g+1) Kg) with Kg = Cg KH KW, so per group, with P = N OH OW:
 *   Yt_g (Og x P) = W_g (Og x Kg) col_g (Kg x P)       y = Yt laid out as N x O x OH x OW, + b
 *   dW_g (Og x Kg) += Gt_g (Og x P) col_g^T            Gt = G laid out as O x (N OH OW)
 *   dcol_g (Kg x P) = W_g^T Gt_g                       dx += col2im(dcol)
 * Every product is one cr_gemm call on the tape's pool (bit-identical for any thread
 * count: GEMM splits by output tile), except dW when Og x Kg is small (8 x 9 for 8
 * 3x3 filters on one channel: one GEMM tile, so one thread): that one goes to
 * cr__gemm_nt_small, which cuts P into chunks fixed by the shape and adds their
 * products in order (bit-identical for any thread count too); every other pass is
 * split by items that each
 * own their output (im2col by (row, sample), the layouts by (sample, channel),
 * col2im by input plane (sample, channel), adding its taps in a fixed order), so
 * the whole op gives the same bits for any thread count. */
#include "ops_internal.h"
#include "op_attrs.h"
#include "shape_util.h"
#include "../graph/tape_internal.h"
#include "../kernel/kernel.h"

#include <limits.h>
#include <string.h>

/* The node's attributes (n->attr), set when recorded and read-only afterwards.
 * The scratch buffers live in the tape's arena (allocated before the node is
 * recorded, so a failed allocation never leaves a node behind). */
typedef struct conv2d_attr {
    int stride[2], pad[2], dil[2], groups;  /* resolved: >= 1, >= 0, >= 1, >= 1 */
    int N, C, H, W;                          /* x */
    int O, KH, KW;                           /* w: O x C/groups x KH x KW */
    int OH, OW;                              /* y: N x O x OH x OW */
    cr_real *col;  /* (C KH KW) x (N OH OW): im2col of x, rewritten by every forward
                    * and read by the dW product of backward */
    cr_real *yt;   /* O x (N OH OW): the forward product before its layout as y
                    * (whole-batch products only); backward lays G out in it */
    const cr__gemm_arch *arch;  /* per-sample products: the GEMM arch they run on, the
                                 * one cr_gemm runs (NULL: whole-batch products) */
    cr_real *dw_work;           /* dW by cr__gemm_nt_small (Og x Kg small): its slots,
                                 * chunks x Og x Kg, shared by the groups; NULL: dW by
                                 * cr_gemm */
} conv2d_attr;
/* n->aux: dcol, (C KH KW) x (N OH OW), allocated by the first backward that needs
 * dx (no-grad recordings and first layers never pay for it). */

/* A pass over items [b, e) of one node. */
typedef struct conv_job {
    const conv2d_attr *a;
    const cr_real *src;      /* what the pass reads */
    cr_real *dst;            /* what it writes or adds into */
    const cr_real *bias;     /* forward layout: b or NULL */
    cr_real *scratch;        /* col2im: src again, writable (dcol is scratch) */
    const cr_real *w;        /* per-sample products: the weights */
} conv_job;

/* The output positions q in [*q0, *q1) whose tap q*s + off lies in [0, len). */
static void tap_range(int off, int s, int len, int out, int *q0, int *q1)
{
    long lo = off >= 0 ? 0 : ((long)-off + s - 1) / s;
    long hi = (long)len - off <= 0 ? 0 : ((long)len - off + s - 1) / s;
    if (hi > out) hi = out;
    if (lo > hi) lo = hi;
    *q0 = (int)lo;
    *q1 = (int)hi;
}

/* Zero the first lcut and last rcut of the W values of row d. One value at each
 * edge (a 3x3 kernel with padding 1) is stored directly: the compiler would make
 * each short loop a memset call, which costs more than the store. */
static inline void zero_edges(cr_real *d, int W, int lcut, int rcut)
{
    if (lcut == 1) d[0] = 0;
    else for (int q = 0; q < lcut; q++) d[q] = 0;
    if (rcut == 1) d[W - 1] = 0;
    else for (int q = W - rcut; q < W; q++) d[q] = 0;
}

/* im2col of one (row, sample) block when both strides are 1 and OW == W (the
 * "same" padding of the usual 3x3 pad 1): output row p reads input row p + off_h
 * shifted by off_w, so the rows [p0, p1) inside the image are ONE contiguous run of
 * the plane xp: one copy, then each row's |off_w| columns that fell off its edge
 * (and picked up the neighbouring row's values) are zeroed. Same values as the
 * row-by-row loop. */
static void im2col_block(cr_real *dst, const cr_real *xp, int W, int OH, int off_h, int off_w,
                         int p0, int p1)
{
    const size_t Wz = (size_t)W;
    int lcut = off_w < 0 ? -off_w : 0, rcut = off_w > 0 ? off_w : 0;
    memset(dst, 0, (size_t)p0 * Wz * sizeof *dst);
    /* no row inside the image (p1 == p0, maybe 0): nothing to copy, and p1 W - rcut
     * would wrap below zero */
    size_t lo = (size_t)p0 * Wz + (size_t)lcut;
    size_t hi = p1 > p0 ? (size_t)p1 * Wz - (size_t)rcut : lo;
    if (hi > lo)
        memcpy(dst + lo, xp + (ptrdiff_t)lo + (ptrdiff_t)off_h * W + off_w,
               (hi - lo) * sizeof *dst);
    for (int p = p0; p < p1; p++) {
        cr_real *d = dst + (size_t)p * Wz;
        zero_edges(d, W, lcut, rcut);
    }
    memset(dst + (size_t)p1 * Wz, 0, (size_t)(OH - p1) * Wz * sizeof *dst);
}

/* im2col of row r of col over sample n's OH OW columns, from x (src) into col. */
static void im2col_one(const conv2d_attr *a, const cr_real *src, cr_real *col, size_t r,
                       size_t n)
{
    const size_t N = (size_t)a->N, plane = (size_t)a->H * (size_t)a->W;
    const size_t OHW = (size_t)a->OH * (size_t)a->OW, P = N * OHW;
    const int block = a->stride[0] == 1 && a->stride[1] == 1 && a->OW == a->W;
    int c = (int)(r / ((size_t)a->KH * a->KW));
    int ki = (int)(r / (size_t)a->KW % (size_t)a->KH), kj = (int)(r % (size_t)a->KW);
    const cr_real *xp = src + (n * (size_t)a->C + (size_t)c) * plane;
    cr_real *dst = col + r * P + n * OHW;
    int off_w = kj * a->dil[1] - a->pad[1], q0, q1;
    if (block && off_w > -a->W && off_w < a->W) {
        int off_h = ki * a->dil[0] - a->pad[0], p0, p1;
        tap_range(off_h, 1, a->H, a->OH, &p0, &p1);
        im2col_block(dst, xp, a->W, a->OH, off_h, off_w, p0, p1);
        return;
    }
    tap_range(off_w, a->stride[1], a->W, a->OW, &q0, &q1);
    for (int p = 0; p < a->OH; p++) {
        cr_real *d = dst + (size_t)p * a->OW;
        int h = p * a->stride[0] - a->pad[0] + ki * a->dil[0];
        if (h < 0 || h >= a->H) {
            memset(d, 0, (size_t)a->OW * sizeof *d);
            continue;
        }
        const cr_real *row = xp + (size_t)h * a->W;   /* tap of q: row[q SW + off_w] */
        for (int q = 0; q < q0; q++) d[q] = 0;
        if (a->stride[1] == 1 && q1 > q0)
            memcpy(d + q0, row + (q0 + off_w), (size_t)(q1 - q0) * sizeof *d);
        else
            for (int q = q0; q < q1; q++) d[q] = row[q * a->stride[1] + off_w];
        for (int q = q1; q < a->OW; q++) d[q] = 0;
    }
}

/* im2col, items r * N + n: row r of col over sample n's OH OW columns. */
static void im2col_items(void *ctx, size_t b, size_t e)
{
    const conv_job *j = ctx;
    const size_t N = (size_t)j->a->N;
    for (size_t it = b; it < e; it++) im2col_one(j->a, j->src, j->dst, it / N, it % N);
}

/* col2im of one tap block in the case of im2col_block: dx[k + off_h W + off_w] +=
 * src[k] over the rows [p0, p1) as ONE contiguous run. The |off_w| columns of each
 * row that fall off the image edge are first set to 0 in src (dcol is scratch that
 * nothing else reads, and this item owns this block of it), so the run adds +0 there,
 * which leaves every value as it was (a gradient starts at +0 and a sum is -0 only
 * when both terms are; were dx -0, it would become +0, the same number). Every element
 * receives the same additions in the same order as the row-by-row loop. */
static void col2im_block(cr_real *dxp, cr_real *src, int W, int off_h, int off_w, int p0, int p1)
{
    const size_t Wz = (size_t)W;
    int lcut = off_w < 0 ? -off_w : 0, rcut = off_w > 0 ? off_w : 0;
    for (int p = p0; p < p1; p++) {
        cr_real *s = src + (size_t)p * Wz;
        zero_edges(s, W, lcut, rcut);
    }
    if (p1 <= p0) return;              /* no row inside the image: nothing lands */
    size_t lo = (size_t)p0 * Wz + (size_t)lcut, hi = (size_t)p1 * Wz - (size_t)rcut;
    if (hi <= lo) return;
    cr_real *restrict d = dxp + (ptrdiff_t)off_h * W + off_w;
    const cr_real *restrict s = src;
    for (size_t k = lo; k < hi; k++) d[k] += s[k];
}

/* col2im, items n * C + c: dx plane (n, c) += every tap of dcol that lands in it,
 * taps in the order (i, j, p, q) whatever the split. */
static void col2im_items(void *ctx, size_t b, size_t e)
{
    const conv_job *j = ctx;
    const conv2d_attr *a = j->a;
    const size_t C = (size_t)a->C, plane = (size_t)a->H * (size_t)a->W;
    const size_t OHW = (size_t)a->OH * (size_t)a->OW, P = (size_t)a->N * OHW;
    const int block = a->stride[0] == 1 && a->stride[1] == 1 && a->OW == a->W;
    for (size_t it = b; it < e; it++) {
        size_t n = it / C, c = it % C;
        cr_real *dxp = j->dst + it * plane;
        for (int ki = 0; ki < a->KH; ki++)
            for (int kj = 0; kj < a->KW; kj++) {
                size_t r = (c * (size_t)a->KH + (size_t)ki) * (size_t)a->KW + (size_t)kj;
                const cr_real *src = j->src + r * P + n * OHW;
                int off_w = kj * a->dil[1] - a->pad[1], q0, q1;
                if (block && off_w > -a->W && off_w < a->W) {
                    int off_h = ki * a->dil[0] - a->pad[0], p0, p1;
                    tap_range(off_h, 1, a->H, a->OH, &p0, &p1);
                    col2im_block(dxp, j->scratch + r * P + n * OHW, a->W, off_h, off_w, p0, p1);
                    continue;
                }
                tap_range(off_w, a->stride[1], a->W, a->OW, &q0, &q1);
                for (int p = 0; p < a->OH; p++) {
                    int h = p * a->stride[0] - a->pad[0] + ki * a->dil[0];
                    if (h < 0 || h >= a->H) continue;
                    cr_real *row = dxp + (size_t)h * a->W;
                    const cr_real *s = src + (size_t)p * a->OW;
                    if (a->stride[1] == 1) {   /* contiguous: a loop the compiler vectorises */
                        cr_real *restrict r = row + off_w;
                        const cr_real *restrict ss = s;
                        for (int q = q0; q < q1; q++) r[q] += ss[q];
                    } else {
                        for (int q = q0; q < q1; q++) row[q * a->stride[1] + off_w] += s[q];
                    }
                }
            }
    }
}

/* Where item n * O + o (the output plane y[n, o, :]) starts in the O x (N OH OW)
 * matrix Yt (or Gt): at Yt[o, n OH OW]. */
static size_t yt_offset(const conv2d_attr *a, size_t it)
{
    const size_t O = (size_t)a->O, OHW = (size_t)a->OH * (size_t)a->OW;
    return it % O * ((size_t)a->N * OHW) + it / O * OHW;
}

/* Items n * O + o: y[n, o, :] = Yt[o, n OH OW + :] + b[o]. */
static void yt_to_y_items(void *ctx, size_t b, size_t e)
{
    const conv_job *j = ctx;
    const size_t OHW = (size_t)j->a->OH * (size_t)j->a->OW;
    for (size_t it = b; it < e; it++) {
        const cr_real *restrict s = j->src + yt_offset(j->a, it);
        cr_real *restrict d = j->dst + it * OHW;
        cr_real bo = j->bias ? j->bias[it % (size_t)j->a->O] : 0;
        for (size_t k = 0; k < OHW; k++) d[k] = s[k] + bo;
    }
}

/* Items n * O + o: Gt[o, n OH OW + :] = G[n, o, :]. */
static void g_to_gt_items(void *ctx, size_t b, size_t e)
{
    const conv_job *j = ctx;
    const size_t OHW = (size_t)j->a->OH * (size_t)j->a->OW;
    for (size_t it = b; it < e; it++)
        memcpy(j->dst + yt_offset(j->a, it), j->src + it * OHW, OHW * sizeof(cr_real));
}

/* The sum of v[0 .. n) in double as cr__sum_real adds it (four accumulators, each
 * element to accumulator i mod 4, the tail to the first, then (s0 + s1) + (s2 + s3)):
 * the same bits, in a loop the compiler vectorises (the lanes are the accumulators). */
static double row_sum(const cr_real *v, size_t n)
{
    double s[4] = { 0, 0, 0, 0 };
    size_t i = 0;
    for (; i + 4 <= n; i += 4)
        for (int k = 0; k < 4; k++) s[k] += v[i + k];
    for (; i < n; i++) s[0] += v[i];
    return (s[0] + s[1]) + (s[2] + s[3]);
}

/* Task o (of O, one per pool task: O is a few rows, fewer than cr_pool_for gives a
 * task of their own): db[o] += sum of row o of Gt. */
static void bias_grad_task(void *ctx, int o, int thread)
{
    (void)thread;
    const conv_job *j = ctx;
    const size_t P = (size_t)j->a->N * (size_t)j->a->OH * (size_t)j->a->OW;
    j->dst[o] += (cr_real)row_sum(j->src + (size_t)o * P, P);
}

/* Per-sample forward, items n (a->arch set): sample n's columns of col by im2col,
 * then per group y[n, g Og + :] (Og x OH OW, as laid out in y) = W_g (Og x Kg) times
 * the Kg x OH OW column block of col_g that is sample n's (row stride P), then + b[o].
 * Every output element is the same sum over Kg in the same order as in the
 * whole-batch product Yt = W col (one GEMM micro-kernel, Kg within one block), and
 * the bias is added after it as there: the same bits, without the Yt -> y pass, and
 * each sample's columns are used while they are still in cache. */
static void forward_samples(void *ctx, size_t b, size_t e)
{
    const conv_job *j = ctx;
    const conv2d_attr *a = j->a;
    const size_t rows = (size_t)a->C * a->KH * a->KW, OHW = (size_t)a->OH * a->OW;
    const size_t P = (size_t)a->N * OHW;
    const int G = a->groups, Og = a->O / G, Kg = (a->C / G) * a->KH * a->KW;
    for (size_t n = b; n < e; n++) {
        for (size_t r = 0; r < rows; r++) im2col_one(a, j->src, a->col, r, n);
        cr_real *y = j->dst + n * (size_t)a->O * OHW;
        for (int g = 0; g < G; g++)
            cr__gemm_with(a->arch, NULL, 0, 0, Og, (int)OHW, Kg, 1, j->w + (size_t)g * Og * Kg,
                          Kg, a->col + (size_t)g * Kg * P + n * OHW, (int)P, 0,
                          y + (size_t)g * Og * OHW, (int)OHW);
        if (!j->bias) continue;
        for (int o = 0; o < a->O; o++) {
            cr_real *restrict yo = y + (size_t)o * OHW;
            const cr_real bo = j->bias[o];
            for (size_t k = 0; k < OHW; k++) yo[k] += bo;
        }
    }
}

/* Per-sample dx, items n (a->arch set): per group, sample n's Kg x OH OW column
 * block of dcol_g = W_g^T (Kg x Og) G[n, g Og + :] (Og x OH OW, read in place from
 * dL/dy), then col2im of sample n's planes. The same sums in the same order as the
 * whole-batch dcol = W^T Gt: the same bits, with no Gt read and dcol still in cache
 * for col2im. */
static void dx_samples(void *ctx, size_t b, size_t e)
{
    const conv_job *j = ctx;
    const conv2d_attr *a = j->a;
    const size_t C = (size_t)a->C, OHW = (size_t)a->OH * a->OW, P = (size_t)a->N * OHW;
    const int G = a->groups, Og = a->O / G, Kg = (a->C / G) * a->KH * a->KW;
    for (size_t n = b; n < e; n++) {
        const cr_real *gn = j->src + n * (size_t)a->O * OHW;
        for (int g = 0; g < G; g++)
            cr__gemm_with(a->arch, NULL, 1, 0, Kg, (int)OHW, Og, 1, j->w + (size_t)g * Og * Kg,
                          Kg, gn + (size_t)g * Og * OHW, (int)OHW, 0,
                          j->scratch + (size_t)g * Kg * P + n * OHW, (int)P);
        conv_job k = { a, j->scratch, j->dst, NULL, j->scratch, NULL };
        col2im_items(&k, n * C, (n + 1) * C);
    }
}

static void conv2d_forward(cr_tape *t, cr_node *n)
{
    const conv2d_attr *a = n->attr;
    if (a->arch) {
        conv_job j = { a, n->in[0]->data, n->out->data, n->n_in == 3 ? n->in[2]->data : NULL,
                       NULL, n->in[1]->data };
        cr__par_items(t, (size_t)a->N, ((size_t)a->C * a->KH * a->KW + (size_t)a->O) *
                      a->OH * a->OW, forward_samples, &j);
        return;
    }
    const cr_tensor *x = n->in[0], *w = n->in[1];
    const size_t rows = (size_t)a->C * a->KH * a->KW;
    const int P = a->N * a->OH * a->OW, G = a->groups;
    const int Og = a->O / G, Kg = (a->C / G) * a->KH * a->KW;
    conv_job j = { a, x->data, a->col, NULL, NULL, NULL };
    cr__par_items(t, rows * (size_t)a->N, (size_t)a->OH * a->OW, im2col_items, &j);
    for (int g = 0; g < G; g++)   /* Yt_g (Og x P) = W_g (Og x Kg) col_g (Kg x P) */
        cr_gemm(cr_tape_pool(t), 0, 0, Og, P, Kg, 1, w->data + (size_t)g * Og * Kg, Kg,
                a->col + (size_t)g * Kg * P, P, 0, a->yt + (size_t)g * Og * P, P);
    conv_job k = { a, a->yt, n->out->data, n->n_in == 3 ? n->in[2]->data : NULL, NULL,
                   NULL };
    cr__par_items(t, (size_t)a->N * a->O, (size_t)a->OH * a->OW, yt_to_y_items, &k);
}

static void conv2d_backward(cr_tape *t, cr_node *n)
{
    const conv2d_attr *a = n->attr;
    cr_tensor *x = n->in[0], *w = n->in[1], *b = n->n_in == 3 ? n->in[2] : NULL;
    const size_t rows = (size_t)a->C * a->KH * a->KW;
    const int P = a->N * a->OH * a->OW, G = a->groups;
    const int Og = a->O / G, Kg = (a->C / G) * a->KH * a->KW;
    cr_pool *pool = cr_tape_pool(t);
    cr_real *gt = a->yt;                                   /* O x P */
    conv_job j = { a, n->out->grad, gt, NULL, NULL, NULL };
    cr__par_items(t, (size_t)a->N * a->O, (size_t)a->OH * a->OW, g_to_gt_items, &j);
    if (b && b->grad) {
        conv_job k = { a, gt, b->grad, NULL, NULL, NULL };
        cr__pool_run((size_t)a->O * P >= CR__PAR_MIN ? pool : NULL, bias_grad_task, &k, a->O);
    }
    if (w->grad && a->dw_work) {
        for (int g = 0; g < G; g++)   /* dW_g (Og x Kg) += Gt_g (Og x P) col_g^T */
            cr__gemm_nt_small(cr__config_get()->gemm, pool, Og, Kg, P,
                              gt + (size_t)g * Og * P, P, a->col + (size_t)g * Kg * P, P,
                              w->grad + (size_t)g * Og * Kg, Kg, a->dw_work);
    } else if (w->grad) {
        for (int g = 0; g < G; g++)   /* dW_g (Og x Kg) += Gt_g (Og x P) col_g^T */
            cr_gemm(pool, 0, 1, Og, Kg, P, 1, gt + (size_t)g * Og * P, P,
                    a->col + (size_t)g * Kg * P, P, 1, w->grad + (size_t)g * Og * Kg, Kg);
    }
    if (!x->grad) return;
    if (!n->aux) {
        n->aux = cr_tape_alloc(t, rows * (size_t)P * sizeof(cr_real));
        if (!n->aux) return;                               /* error recorded */
    }
    cr_real *dcol = n->aux;
    if (a->arch) {
        conv_job k = { a, n->out->grad, x->grad, NULL, dcol, w->data };
        cr__par_items(t, (size_t)a->N, rows * 2 * a->OH * a->OW, dx_samples, &k);
        return;
    }
    for (int g = 0; g < G; g++)       /* dcol_g (Kg x P) = W_g^T Gt_g (Og x P) */
        cr_gemm(pool, 1, 0, Kg, P, Og, 1, w->data + (size_t)g * Og * Kg, Kg,
                gt + (size_t)g * Og * P, P, 0, dcol + (size_t)g * Kg * P, P);
    conv_job k = { a, dcol, x->grad, NULL, dcol, NULL };
    cr__par_items(t, (size_t)a->N * a->C, rows / a->C * a->OH * a->OW, col2im_items, &k);
}

static const cr_op conv2d_op = { "conv2d", conv2d_forward, conv2d_backward };

/* The arch of cr_gemm when the products of one sample, forward Og x OHW x Kg and
 * dcol Kg x OHW x Og, both take its direct path (no packing: a call with no pool
 * allocates nothing), so they can run per sample on the pool's threads; else NULL
 * (whole-batch products, on the pool). The test is the direct-path rule of
 * cr__gemm_blocking (kernel/kernel.h), with B read in place (not transposed): the
 * operands fit in direct_max elements and the product has at most direct_rows rows. */
static int per_sample_allowed = 1;   /* cr__conv2d_set_per_sample (tests) */

int cr__conv2d_set_per_sample(int on)
{
    int old = per_sample_allowed;
    per_sample_allowed = on != 0;
    return old;
}

static const cr__gemm_arch *per_sample_arch(long Og, long Kg, long OHW)
{
    if (!per_sample_allowed) return NULL;
    const cr__gemm_arch *arch = cr__config_get()->gemm;
    cr__gemm_blocks bl = cr__gemm_blocking(arch);
    long most = Og * Kg + (Og > Kg ? Og : Kg) * OHW;
    if (most > bl.direct_max || Og > bl.direct_rows || Kg > bl.direct_rows) return NULL;
    return arch;
}

/* Output length of one axis, or <= 0 when the kernel does not fit. */
static long out_len(int in, int pad, int dil, int k, int stride)
{
    long span = (long)dil * (k - 1) + 1;
    long room = (long)in + 2L * pad - span;
    return room < 0 ? 0 : room / stride + 1;
}

cr_tensor *cr_conv2d(cr_tape *t, cr_tensor *x, cr_tensor *w, cr_tensor *b,
                     const cr_conv2d_opts *opts)
{
    cr_tensor *in[3] = { x, w, b };
    if (!cr_check_inputs(t, "conv2d", 2, in)) return NULL;
    if (b && b->tape && b->tape != t) {
        cr_tape_fail(t, CR_ERR_ARG, "conv2d: input 3 belongs to another tape");
        return NULL;
    }
    static const cr_conv2d_opts defaults = { { 1, 1 }, { 0, 0 }, { 1, 1 }, 1 };
    cr_conv2d_opts o = opts ? *opts : defaults;
    for (int k = 0; k < 2; k++) {
        if (o.stride[k] == 0) o.stride[k] = 1;
        if (o.dilation[k] == 0) o.dilation[k] = 1;
    }
    if (o.groups == 0) o.groups = 1;
    if (o.stride[0] < 1 || o.stride[1] < 1 || o.padding[0] < 0 || o.padding[1] < 0 ||
        o.dilation[0] < 1 || o.dilation[1] < 1 || o.groups < 1) {
        cr_tape_fail(t, CR_ERR_ARG, "conv2d: stride %dx%d, padding %dx%d, dilation %dx%d, groups "
                     "%d: stride, dilation and groups must be >= 1 (0 means 1) and padding >= 0",
                     o.stride[0], o.stride[1], o.padding[0], o.padding[1], o.dilation[0],
                     o.dilation[1], o.groups);
        return NULL;
    }
    char sx[CR_DIMS_TEXT], sw[CR_DIMS_TEXT], sb[CR_DIMS_TEXT];
    cr__tensor_dims(x, sx, sizeof sx);
    cr__tensor_dims(w, sw, sizeof sw);
    if (x->ndim != 4 || w->ndim != 4) {
        cr_tape_fail(t, CR_ERR_SHAPE, "conv2d: x must be N x C x H x W and w O x C/groups x KH x "
                     "KW (rank 4) but x is %s and w is %s", sx, sw);
        return NULL;
    }
    int N = x->shape[0], C = x->shape[1], H = x->shape[2], W = x->shape[3];
    int O = w->shape[0], KH = w->shape[2], KW = w->shape[3], G = o.groups;
    if (C % G != 0 || O % G != 0) {
        cr_tape_fail(t, CR_ERR_SHAPE, "conv2d: groups = %d must divide the %d channels of x (%s) "
                     "and the %d output channels of w (%s)", G, C, sx, O, sw);
        return NULL;
    }
    if (w->shape[1] != C / G) {
        if (G == 1)
            cr_tape_fail(t, CR_ERR_SHAPE, "conv2d: x is %s (%d channels) but w is %s (%d input "
                         "channels)", sx, C, sw, w->shape[1]);
        else
            cr_tape_fail(t, CR_ERR_SHAPE, "conv2d: x is %s (%d channels in %d groups of %d) but "
                         "w is %s (%d input channels per group)", sx, C, G, C / G, sw,
                         w->shape[1]);
        return NULL;
    }
    if (b && !(b->ndim == 1 && b->shape[0] == O)) {
        cr_tape_fail(t, CR_ERR_SHAPE, "conv2d: b is %s but w is %s (b must be a vector of %d)",
                     cr__tensor_dims(b, sb, sizeof sb), sw, O);
        return NULL;
    }
    long OH = out_len(H, o.padding[0], o.dilation[0], KH, o.stride[0]);
    long OW = out_len(W, o.padding[1], o.dilation[1], KW, o.stride[1]);
    if (OH < 1 || OW < 1) {
        cr_tape_fail(t, CR_ERR_SHAPE, "conv2d: x is %s but the kernel %dx%d with dilation %dx%d "
                     "spans %ldx%ld, more than the %ldx%ld padded image (padding %dx%d)", sx, KH,
                     KW, o.dilation[0], o.dilation[1], (long)o.dilation[0] * (KH - 1) + 1,
                     (long)o.dilation[1] * (KW - 1) + 1, H + 2L * o.padding[0],
                     W + 2L * o.padding[1], o.padding[0], o.padding[1]);
        return NULL;
    }
    /* GEMM sizes are int: N OH OW and Cg KH KW must fit (C KH KW <= w->size fits
     * size_t); the scratch is rows x P and O x P values */
    double P = (double)N * (double)OH * (double)OW;
    size_t rows = (size_t)C * (size_t)KH * (size_t)KW;
    if (P > INT_MAX || rows / (size_t)G > INT_MAX ||
        (double)rows * P > (double)(SIZE_MAX / sizeof(cr_real)) / 2) {
        cr_tape_fail(t, CR_ERR_SHAPE, "conv2d: x is %s and w is %s: N*OH*OW = %.0f (or the "
                     "im2col matrix, %zu x %.0f) is too large", sx, sw, P, rows, P);
        return NULL;
    }
    /* attributes and scratch first: once the node is recorded nothing can fail */
    conv2d_attr *a = cr_tape_alloc(t, sizeof *a);
    cr_real *col = a ? cr_tape_alloc(t, rows * (size_t)P * sizeof(cr_real)) : NULL;
    cr_real *yt = col ? cr_tape_alloc(t, (size_t)O * (size_t)P * sizeof(cr_real)) : NULL;
    if (!yt) return NULL;
    /* dW's slots when it goes to cr__gemm_nt_small: a weight needing a gradient, an
     * output of Og x Kg small enough (chunks x Og x Kg slot values, at most 2^20:
     * kernel/gemm.c; the groups' products run one after another and share them) */
    const int Og = O / G, Kg = (int)(rows / (size_t)G);
    cr_real *dw_work = NULL;
    if ((w->flags & CR_REQUIRES_GRAD) && t->grad_mode && (long)Og * Kg <= CR__NT_SMALL_OUT &&
        !(dw_work = cr_tape_alloc(t, (size_t)cr__gemm_nt_chunks(Og, Kg, (int)P) *
                                         (size_t)Og * (size_t)Kg * sizeof(cr_real))))
        return NULL;
    *a = (conv2d_attr){ { o.stride[0], o.stride[1] }, { o.padding[0], o.padding[1] },
                        { o.dilation[0], o.dilation[1] }, G, N, C, H, W, O, KH, KW,
                        (int)OH, (int)OW, col, yt,
                        per_sample_arch(Og, (long)Kg, OH * OW), dw_work };
    int shape[4] = { N, O, (int)OH, (int)OW };
    cr_node *n = cr_record(t, &conv2d_op, b ? 3 : 2, in, 4, shape);
    if (!n) return NULL;
    n->attr = a;
    n->aux = NULL;
    return cr_run(t, n);
}

int cr__conv2d_per_sample(const cr_tape *t, const cr_tensor *y)
{
    if (!t || !y || y->tape != t || y->id < 0 || (size_t)y->id >= t->n_nodes) return 0;
    const cr_node *n = &t->nodes[y->id];
    return n->op == &conv2d_op && n->attr && ((const conv2d_attr *)n->attr)->arch;
}

int cr__conv2d_attrs(const cr_node *n, cr_conv2d_opts *o)
{
    if (!n || n->op != &conv2d_op || !n->attr) return 0;
    const conv2d_attr *a = n->attr;
    *o = (cr_conv2d_opts){ { a->stride[0], a->stride[1] }, { a->pad[0], a->pad[1] },
                           { a->dil[0], a->dil[1] }, a->groups };
    return 1;
}
