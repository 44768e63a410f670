/* The C text of an export plan (export_internal.h). The generated file is C99 with
 * libm: helper kernels (only those used), the constants as hexadecimal float
 * literals (exact), then one block per node inside one function. Kernels follow
 * the library's formulas (sigmoid from e^-|x|, tanh from one exp in double,
 * softmax sums in double) so that outputs agree to rounding; sums of products run
 * in plain order in float. */
#include "export_internal.h"
#include "../ops/op_attrs.h"

#include <math.h>
#include <stdarg.h>
#include <string.h>

enum {
    H_MAXPOOL = 1 << 4, H_AVGPOOL = 1 << 5, H_GAP = 1 << 6, H_SOFTMAX = 1 << 7,
    H_LOG_SOFTMAX = 1 << 8, H_SIGMOID = 1 << 9, H_TANH = 1 << 10, H_LOG = 1 << 11
};

/* ------------------------------------------------------------ text helpers */

typedef struct out {
    FILE *f;
    int bad;
} out;

static void put(out *o, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
static void put(out *o, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    if (vfprintf(o->f, fmt, ap) < 0) o->bad = 1;
    va_end(ap);
}

/* A float as C99 text that reads back to the same bits. */
static void put_float(out *o, float v)
{
    if (v != v) put(o, "NAN");
    else if (isinf(v)) put(o, "%sINFINITY", v < 0 ? "-" : "");
    else if (v == 0) put(o, signbit(v) ? "-0.0f" : "0");
    else put(o, "%af", (double)v);
}

static void put_floats(out *o, const char *name, int id, const double *dv, const cr_real *rv,
                       size_t n)
{
    put(o, "static const float %s%d[%zu] = {", name, id, n);
    for (size_t i = 0; i < n; i++) {
        put(o, "%s", i == 0 ? "\n    " : i % 6 ? ", " : ",\n    ");
        put_float(o, dv ? (float)dv[i] : (float)rv[i]);
    }
    put(o, "\n};\n");
}

/* Storage of value v as an expression: x + off, a constant array, s + off or y. */
static const char *vexpr(const xplan *p, int v, char *buf, size_t size)
{
    const xval *x = &p->v[cr__xplan_root(p, v)];
    if (x->kind == XV_INPUT && x->in_off == 0) snprintf(buf, size, "x");
    else if (x->kind == XV_INPUT) snprintf(buf, size, "(x + %zu)", x->in_off);
    else if (x->kind == XV_CONST) snprintf(buf, size, "c%d", x->cid);
    else if (x->in_y) snprintf(buf, size, "y");
    else if (x->off == 0) snprintf(buf, size, "s");
    else snprintf(buf, size, "(s + %zu)", x->off);
    return buf;
}

/* A constant value's array, written once. */
static void need_const(out *o, xplan *p, int v)
{
    xval *x = &p->v[cr__xplan_root(p, v)];
    if (x->kind != XV_CONST || x->cid >= 0) return;
    x->cid = p->n_const++;
    put_floats(o, "c", x->cid, NULL, x->t->data, x->t->size);
}

/* Weights of linear/conv node i: float arrays w<i>, b<i>, or int8 q<i> with scales
 * sc<i> (max |w| / 127 per output channel; all-zero channels get scale 0). */
static void put_weights(out *o, const xplan *p, int i)
{
    const xnode *x = &p->x[i];
    put_floats(o, "b", i, x->b, NULL, (size_t)x->O);
    if (!p->int8) {
        put_floats(o, "w", i, x->w, NULL, x->wn);
        return;
    }
    size_t per = x->wn / (size_t)x->O;
    double *sc = cr_calloc((size_t)x->O, sizeof *sc);
    if (!sc) {
        o->bad = 1;
        return;
    }
    /* linear: w[r O + o]; conv: w[o per + r] */
    for (size_t k = 0; k < x->wn; k++) {
        size_t ch = x->kind == XK_LINEAR ? k % (size_t)x->O : k / per;
        double a = fabs((double)(float)x->w[k]) / 127;
        if (a > sc[ch]) sc[ch] = a;
    }
    for (int ch = 0; ch < x->O; ch++) sc[ch] = (float)sc[ch];   /* the scale as written */
    put_floats(o, "sc", i, sc, NULL, (size_t)x->O);
    put(o, "static const signed char q%d[%zu] = {", i, x->wn);
    for (size_t k = 0; k < x->wn; k++) {
        size_t ch = x->kind == XK_LINEAR ? k % (size_t)x->O : k / per;
        double q = sc[ch] > 0 ? nearbyint((double)(float)x->w[k] / sc[ch]) : 0;
        if (q > 127) q = 127;
        if (q < -127) q = -127;
        put(o, "%s%d", k == 0 ? "\n    " : k % 16 ? ", " : ",\n    ", (int)q);
    }
    put(o, "\n};\n");
    cr_free(sc);
}

/* ------------------------------------------------------------ node code */

static const char *unary_expr(const cr_node *n, char *buf, size_t size)
{
    const char *op = n->op->name;
    if (!strcmp(op, "neg")) return "-v";
    if (!strcmp(op, "exp")) return "expf(v)";
    if (!strcmp(op, "log")) return "k_log(v)";
    if (!strcmp(op, "sqrt")) return "sqrtf(v)";
    if (!strcmp(op, "square")) return "v * v";
    if (!strcmp(op, "abs")) return "fabsf(v)";
    if (!strcmp(op, "relu")) return "(v < 0 ? 0.0f : v)";
    if (!strcmp(op, "sigmoid")) return "k_sigmoid(v)";
    if (!strcmp(op, "tanh")) return "k_tanh(v)";
    float a = (float)(cr_real)n->farg[0];
    const char *fmt = !strcmp(op, "pow") ? "powf(v, %af)"
                      : !strcmp(op, "leaky_relu") ? "(v > 0 ? v : %af * v)"
                      : !strcmp(op, "scale") ? "v * %af" : "v + %af";   /* add_scalar */
    if (a == 0) {
        snprintf(buf, size, !strcmp(op, "pow") ? "powf(v, 0.0f)"
                            : !strcmp(op, "leaky_relu") ? "(v > 0 ? v : 0.0f * v)"
                            : !strcmp(op, "scale") ? "v * 0.0f" : "v + 0.0f");
        return buf;
    }
    snprintf(buf, size, fmt, (double)a);
    return buf;
}

static const char *binary_expr(const char *op)
{
    if (!strcmp(op, "add")) return "av + bv";
    if (!strcmp(op, "sub")) return "av - bv";
    if (!strcmp(op, "mul")) return "av * bv";
    if (!strcmp(op, "div")) return "av / bv";
    return "(bv > av ? bv : av)";   /* max: a tie or a NaN gives a */
}

/* Strides (in elements) of tensor a broadcast against shape y (4 dims, padded at the
 * left with 1s): 0 along dimensions a does not have or has as 1. */
static void bstrides(const cr_tensor *a, const cr_tensor *y, size_t st[4], size_t d[4])
{
    size_t s = 1;
    for (int k = 3; k >= 0; k--) {
        int yk = y->ndim - 4 + k, ak = a->ndim - 4 + k;
        d[k] = yk >= 0 ? (size_t)y->shape[yk] : 1;
        int ad = ak >= 0 ? a->shape[ak] : 1;
        st[k] = ad == 1 ? 0 : s;
        s *= (size_t)ad;
    }
}

/* outer x len x inner around axis ax of x */
static void split_axis(const cr_tensor *x, int ax, size_t *outer, size_t *len, size_t *inner)
{
    *outer = *inner = 1;
    for (int k = 0; k < ax; k++) *outer *= (size_t)x->shape[k];
    *len = (size_t)x->shape[ax];
    for (int k = ax + 1; k < x->ndim; k++) *inner *= (size_t)x->shape[k];
}

static void put_node(out *o, xplan *p, int i)
{
    xnode *x = &p->x[i];
    const cr_node *n = x->n;
    const cr_tensor *yt = p->v[x->out].t, *at = p->v[x->in[0]].t;
    char y[48], a[48], b[48], ex[64];
    vexpr(p, x->out, y, sizeof y);
    vexpr(p, x->in[0], a, sizeof a);
    if (x->n_in > 1) vexpr(p, x->in[1], b, sizeof b);
    put(o, "    /* #%d %s */\n", n->out->id, n->op->name);
    switch (x->kind) {
    case XK_LINEAR: {
        int N = at->ndim == 2 ? at->shape[0] : 1, I = at->shape[at->ndim - 1];
        char wv[16], last[64];
        snprintf(wv, sizeof wv, "%s%d", p->int8 ? "q" : "w", i);
        if (p->int8) snprintf(last, sizeof last, "yv[n * O + o] * sc%d[o] + b%d[o]", i, i);
        else snprintf(last, sizeof last, "yv[n * O + o] + b%d[o]", i);
        put(o, cr__x_dense_text, y, a, N, I, x->O, wv, wv, wv, wv, wv, last);
        break;
    }
    case XK_CONV: {
        cr_conv2d_opts c;
        cr__conv2d_attrs(n, &c);
        const cr_tensor *w = n->in[1], *ot = n->out;
        char wv[16], last[64];
        snprintf(wv, sizeof wv, "%s%d", p->int8 ? "q" : "w", i);
        if (p->int8) snprintf(last, sizeof last, "yp[k] * sc%d[o] + b%d[o]", i, i);
        else snprintf(last, sizeof last, "yp[k] + b%d[o]", i);
        put(o, cr__x_conv_text, y, a, at->shape[0], at->shape[1], at->shape[2], at->shape[3],
            w->shape[0], w->shape[2], w->shape[3], ot->shape[2], ot->shape[3], c.stride[0],
            c.stride[1], c.padding[0], c.padding[1], c.dilation[0], c.dilation[1], c.groups, wv,
            last);
        break;
    }
    case XK_MAXPOOL:
    case XK_AVGPOOL: {
        cr_pool2d_opts c;
        cr__pool2d_attrs(n, &c);
        put(o, "    {\n        static const int d[11] = { %d, %d, %d, %d, %d, %d, %d, %d, %d, "
            "%d, %d };\n        %s(%s, %s, d);\n    }\n", at->shape[0] * at->shape[1],
            at->shape[2], at->shape[3], yt->shape[2], yt->shape[3], c.kernel[0], c.kernel[1],
            c.stride[0], c.stride[1], c.padding[0], c.padding[1],
            x->kind == XK_MAXPOOL ? "k_maxpool" : "k_avgpool", y, a);
        break;
    }
    case XK_GAP:
        put(o, "    k_gap(%s, %s, %d, %d);\n", y, a, at->shape[0] * at->shape[1],
            at->shape[2] * at->shape[3]);
        break;
    case XK_SOFTMAX:
    case XK_LOG_SOFTMAX: {
        int cols = at->ndim ? at->shape[at->ndim - 1] : 1;
        put(o, "    %s(%s, %s, %zu, %d);\n", x->kind == XK_SOFTMAX ? "k_softmax" : "k_log_softmax",
            y, a, at->size / (size_t)cols, cols);
        break;
    }
    case XK_UNARY:
        put(o, "    for (size_t i = 0; i < %zu; i++) {\n        const float v = %s[i];\n"
            "        %s[i] = %s;\n    }\n", yt->size, a, y, unary_expr(n, ex, sizeof ex));
        break;
    case XK_BINARY: {
        const cr_tensor *bt = p->v[x->in[1]].t;
        const char *e = binary_expr(n->op->name);
        if (at->size == yt->size && bt->size == yt->size)
            put(o, "    for (size_t i = 0; i < %zu; i++) {\n        const float av = %s[i], "
                "bv = %s[i];\n        %s[i] = %s;\n    }\n", yt->size, a, b, y, e);
        else if (bt->size == 1 && at->size == yt->size)
            put(o, "    for (size_t i = 0; i < %zu; i++) {\n        const float av = %s[i], "
                "bv = %s[0];\n        %s[i] = %s;\n    }\n", yt->size, a, b, y, e);
        else if (at->size == 1 && bt->size == yt->size)
            put(o, "    for (size_t i = 0; i < %zu; i++) {\n        const float av = %s[0], "
                "bv = %s[i];\n        %s[i] = %s;\n    }\n", yt->size, a, b, y, e);
        else {
            size_t sa[4], sb[4], d[4];
            bstrides(at, yt, sa, d);
            bstrides(bt, yt, sb, d);
            put(o, "    {\n        size_t k = 0;\n"
                "        for (size_t i0 = 0; i0 < %zu; i0++)\n"
                "            for (size_t i1 = 0; i1 < %zu; i1++)\n"
                "                for (size_t i2 = 0; i2 < %zu; i2++)\n"
                "                    for (size_t i3 = 0; i3 < %zu; i3++, k++) {\n"
                "                        const float av = %s[i0 * %zu + i1 * %zu + i2 * %zu + i3 * %zu];\n"
                "                        const float bv = %s[i0 * %zu + i1 * %zu + i2 * %zu + i3 * %zu];\n"
                "                        %s[k] = %s;\n                    }\n    }\n",
                d[0], d[1], d[2], d[3], a, sa[0], sa[1], sa[2], sa[3], b, sb[0], sb[1], sb[2],
                sb[3], y, e);
        }
        break;
    }
    case XK_MATMUL: {
        int ta = n->iarg[0], tb = n->iarg[1], M = yt->shape[0], N = yt->shape[1];
        int K = ta ? at->shape[0] : at->shape[1];
        char ia[48], ib[48];
        if (ta) snprintf(ia, sizeof ia, "k * %d + i", M);
        else snprintf(ia, sizeof ia, "i * %d + k", K);
        if (tb) snprintf(ib, sizeof ib, "j * %d + k", K);
        else snprintf(ib, sizeof ib, "k * %d + j", N);
        put(o, "    for (int i = 0; i < %d; i++)\n        for (int j = 0; j < %d; j++) {\n"
            "            float acc = 0;\n            for (int k = 0; k < %d; k++)\n"
            "                acc += %s[%s] * %s[%s];\n            %s[i * %d + j] = acc;\n"
            "        }\n", M, N, K, a, ia, b, ib, y, N);
        break;
    }
    case XK_TRANSPOSE:
        put(o, "    for (int i = 0; i < %d; i++)\n        for (int j = 0; j < %d; j++) "
            "%s[j * %d + i] = %s[i * %d + j];\n", at->shape[0], at->shape[1], y,
            at->shape[0], a, at->shape[1]);
        break;
    case XK_PERMUTE: {
        int perm[CR_MAX_DIMS];
        cr__permute_attrs(n, perm);
        size_t xs[CR_MAX_DIMS], e[4] = { 1, 1, 1, 1 }, st[4] = { 0, 0, 0, 0 };
        size_t s = 1;
        for (int k = at->ndim - 1; k >= 0; k--) {
            xs[k] = s;
            s *= (size_t)at->shape[k];
        }
        for (int k = 0; k < yt->ndim; k++) {
            e[4 - yt->ndim + k] = (size_t)yt->shape[k];
            st[4 - yt->ndim + k] = xs[perm[k]];
        }
        put(o, "    {\n        size_t k = 0;\n"
            "        for (size_t i0 = 0; i0 < %zu; i0++)\n"
            "            for (size_t i1 = 0; i1 < %zu; i1++)\n"
            "                for (size_t i2 = 0; i2 < %zu; i2++)\n"
            "                    for (size_t i3 = 0; i3 < %zu; i3++)\n"
            "                        %s[k++] = %s[i0 * %zu + i1 * %zu + i2 * %zu + i3 * %zu];\n"
            "    }\n", e[0], e[1], e[2], e[3], y, a, st[0], st[1], st[2], st[3]);
        break;
    }
    case XK_SLICE: {   /* slice (axis, start) or select (axis, index: one row, axis removed) */
        size_t outer, len, inner;
        split_axis(at, n->iarg[0], &outer, &len, &inner);
        size_t run = strcmp(n->op->name, "select") ? (size_t)yt->shape[n->iarg[0]] * inner
                                                   : inner;
        put(o, "    for (size_t o = 0; o < %zu; o++)\n        for (size_t k = 0; k < %zu; k++) "
            "%s[o * %zu + k] = %s[o * %zu + %zu + k];\n", outer, run, y, run, a, len * inner,
            (size_t)n->iarg[1] * inner);
        break;
    }
    case XK_GATE: {    /* gate (start, act): act of columns [start, start + len) of a */
        const size_t rows = (size_t)yt->shape[0], len = (size_t)yt->shape[1];
        const size_t cols = (size_t)at->shape[1];
        put(o, "    for (size_t r = 0; r < %zu; r++)\n        for (size_t k = 0; k < %zu; k++) "
            "%s[r * %zu + k] = %s(%s[r * %zu + %d + k]);\n", rows, len, y, len,
            n->iarg[1] == CR_GATE_TANH ? "k_tanh" : "k_sigmoid", a, cols, n->iarg[0]);
        break;
    }
    case XK_CONCAT: {
        size_t outer, len, inner, at_off = 0;
        split_axis(yt, n->iarg[0], &outer, &len, &inner);
        for (int k = 0; k < x->n_in; k++) {
            const cr_tensor *it = p->v[x->in[k]].t;
            size_t run = (size_t)it->shape[n->iarg[0]] * inner;
            vexpr(p, x->in[k], b, sizeof b);
            put(o, "    for (size_t o = 0; o < %zu; o++)\n        for (size_t k = 0; k < %zu; "
                "k++) %s[o * %zu + %zu + k] = %s[o * %zu + k];\n", outer, run, y, len * inner,
                at_off, b, run);
            at_off += run;
        }
        break;
    }
    case XK_STACK: {   /* input k is run k of every outer block of y */
        size_t outer, count, inner;
        split_axis(yt, n->iarg[0], &outer, &count, &inner);
        for (int k = 0; k < x->n_in; k++) {
            vexpr(p, x->in[k], b, sizeof b);
            put(o, "    for (size_t o = 0; o < %zu; o++)\n        for (size_t k = 0; k < %zu; "
                "k++) %s[o * %zu + %zu + k] = %s[o * %zu + k];\n", outer, inner, y,
                count * inner, (size_t)k * inner, b, inner);
        }
        break;
    }
    case XK_EMBED: {   /* rows of the table c (V x E) by the indices in b, checked */
        const cr_tensor *tt = p->v[x->in[0]].t, *it = p->v[x->in[1]].t;
        put(o, "    for (size_t p = 0; p < %zu; p++) {\n        const float v = %s[p];\n"
            "        /* a whole number in 0..%d, else -2 (a NaN fails every comparison) */\n"
            "        if (!(v >= 0 && v < %d.0f && v == (float)(long)v)) return -2;\n"
            "        for (size_t e = 0; e < %d; e++) %s[p * %d + e] = %s[(size_t)v * %d + e];\n"
            "    }\n", it->size, b, tt->shape[0] - 1, tt->shape[0], tt->shape[1], y,
            tt->shape[1], a, tt->shape[1]);
        break;
    }
    case XK_SUM:
        put(o, "    {\n        double acc = 0;\n        for (size_t i = 0; i < %zu; i++) acc += "
            "%s[i];\n        %s[0] = (float)(acc / %zu.0);\n    }\n", at->size, a, y,
            n->iarg[1] ? at->size : (size_t)1);
        break;
    case XK_SUM_AXIS: {
        size_t outer, len, inner;
        split_axis(at, n->iarg[0], &outer, &len, &inner);
        put(o, "    for (size_t o = 0; o < %zu; o++)\n        for (size_t i = 0; i < %zu; i++) {\n"
            "            double acc = 0;\n            for (size_t l = 0; l < %zu; l++) acc += "
            "%s[(o * %zu + l) * %zu + i];\n            %s[o * %zu + i] = (float)(acc / %.1f);\n"
            "        }\n", outer, inner, len, a, len, inner, y, inner,
            n->iarg[1] ? (double)len : 1.0);
        break;
    }
    case XK_VIEW:
        break;
    }
}

/* ------------------------------------------------------------ the files */

static void upper(const char *name, char *buf, size_t size)
{
    size_t i = 0;
    for (; name[i] && i + 1 < size; i++)
        buf[i] = name[i] >= 'a' && name[i] <= 'z' ? (char)(name[i] - 'a' + 'A') : name[i];
    buf[i] = 0;
}

int cr__xemit_source(FILE *f, xplan *p, const char *name)
{
    out o = { f, 0 };
    char N[64];
    upper(name, N, sizeof N);
    unsigned h = 0;
    int live = 0;
    for (int i = 0; i < p->nx; i++) {
        const xnode *x = &p->x[i];
        if (x->dead) continue;
        live += x->kind != XK_VIEW;
        const char *op = x->n->op->name;
        switch (x->kind) {
        case XK_MAXPOOL: h |= H_MAXPOOL; break;
        case XK_AVGPOOL: h |= H_AVGPOOL; break;
        case XK_GAP: h |= H_GAP; break;
        case XK_SOFTMAX: h |= H_SOFTMAX; break;
        case XK_LOG_SOFTMAX: h |= H_LOG_SOFTMAX; break;
        case XK_UNARY:
            if (!strcmp(op, "sigmoid")) h |= H_SIGMOID;
            if (!strcmp(op, "tanh")) h |= H_TANH;
            if (!strcmp(op, "log")) h |= H_LOG;
            break;
        case XK_GATE: h |= x->n->iarg[1] == CR_GATE_TANH ? H_TANH : H_SIGMOID; break;
        default: break;
        }
    }
    put(&o, "/* %s.c: written by chainrule %s (cr_export_c) from a recorded graph: %d nodes "
        "of code,\n * %d per-channel affine nodes (batch norm) folded into the layer before "
        "them, %s weights.\n * C99 and libm only (link with -lm); no heap. See %s.h. */\n",
        name, CR_VERSION, live, p->folded, p->int8 ? "int8 (one scale per output channel)"
                                                    : "float (bit-exact)", name);
    put(&o, "#include \"%s.h\"\n\n#include <float.h>\n#include <math.h>\n#include <stddef.h>\n\n",
        name);
    if (h & H_MAXPOOL) put(&o, cr__x_pool_head, "k_maxpool");
    if (h & H_MAXPOOL) put(&o, "%s", cr__x_maxpool_tail);
    if (h & H_AVGPOOL) put(&o, cr__x_pool_head, "k_avgpool");
    if (h & H_AVGPOOL) put(&o, "%s", cr__x_avgpool_tail);
    if (h & H_GAP) put(&o, "%s", cr__x_gap_text);
    if (h & H_SOFTMAX) put(&o, cr__x_row_head, "softmax of each row: e^(x - max) / sum, the "
                           "sum in double", "k_softmax");
    if (h & H_SOFTMAX) put(&o, "%s", cr__x_softmax_tail);
    if (h & H_LOG_SOFTMAX) put(&o, cr__x_row_head, "log softmax of each row: x - max - log sum "
                               "e^(x - max), the sum in double", "k_log_softmax");
    if (h & H_LOG_SOFTMAX) put(&o, "%s", cr__x_log_softmax_tail);
    if (h & H_SIGMOID) put(&o, "%s", cr__x_sigmoid_text);
    if (h & H_TANH) put(&o, "%s", cr__x_tanh_text);
    if (h & H_LOG) put(&o, "%s", cr__x_log_text);

    /* constants: weights of linear/conv nodes, then every other constant read */
    for (int i = 0; i < p->nx && !o.bad; i++) {
        const xnode *x = &p->x[i];
        if (x->dead) continue;
        if (x->kind == XK_LINEAR || x->kind == XK_CONV) put_weights(&o, p, i);
        else
            for (int k = 0; k < x->n_in; k++) need_const(&o, p, x->in[k]);
    }
    for (int k = 0; k < p->n_out; k++) need_const(&o, p, p->outs[k]);

    put(&o, "\nint %s_predict_scratch(const float *x, float *y, float *s)\n{\n"
        "    if (!x || !y || !s) return -1;\n    (void)x;\n    (void)s;\n", name);
    for (int i = 0; i < p->nx && !o.bad; i++)
        if (!p->x[i].dead) put_node(&o, p, i);
    for (int k = 0; k < p->n_out; k++) {
        int r = cr__xplan_root(p, p->outs[k]);
        if (p->v[r].in_y) continue;
        char e[48];
        if (p->out_off[k] == 0)
            put(&o, "    for (size_t i = 0; i < %zu; i++) y[i] = %s[i];\n",
                p->v[p->outs[k]].t->size, vexpr(p, p->outs[k], e, sizeof e));
        else
            put(&o, "    for (size_t i = 0; i < %zu; i++) y[%zu + i] = %s[i];\n",
                p->v[p->outs[k]].t->size, p->out_off[k], vexpr(p, p->outs[k], e, sizeof e));
    }
    put(&o, "    return 0;\n}\n\n");
    put(&o, "static float %s_scratch[%s_SCRATCH_SIZE > 0 ? %s_SCRATCH_SIZE : 1];\n\n"
        "int %s_predict(const float *x, float *y)\n{\n"
        "    return %s_predict_scratch(x, y, %s_scratch);\n}\n", name, N, N, name, name, name);
    return o.bad || ferror(f) ? -1 : 0;
}

static void put_shape(out *o, const cr_tensor *t)
{
    if (t->ndim == 0) put(o, "scalar");
    for (int k = 0; k < t->ndim; k++) put(o, "%s%d", k ? "x" : "", t->shape[k]);
}

static void put_name(out *o, const char *given, const cr_tensor *t)
{
    const char *nm = given ? given : t->name;
    if (nm) put(o, " \"%s\"", nm);
}

int cr__xemit_header(FILE *f, const xplan *p, const char *name, int n_in,
                     cr_tensor *const *inputs, const char *const *in_names,
                     const cr_tensor *const *outputs, const char *const *out_names)
{
    out o = { f, 0 };
    char N[64];
    upper(name, N, sizeof N);
    put(&o, "/* %s.h: a model exported by chainrule %s (cr_export_c) as plain C99.\n *\n"
        " *   int %s_predict(const float *x, float *y);\n"
        " *   int %s_predict_scratch(const float *x, float *y, float *scratch);\n *\n"
        " * compute the output y (%s_OUT_SIZE floats) from the input x (%s_IN_SIZE floats);\n"
        " * both return 0, or -1 when a pointer is NULL. x and y must not overlap.\n"
        " * %s_predict keeps its intermediates in one static array: it is not reentrant\n"
        " * (one call at a time in a program). %s_predict_scratch uses the caller's\n"
        " * %s_SCRATCH_SIZE floats instead and is thread-safe (one scratch per thread).\n"
        " * No heap allocation; link with -lm.\n *\n * x holds, back to back (row-major):\n",
        name, CR_VERSION, name, name, N, N, name, name, N);
    for (int k = 0; k < n_in; k++) {
        put(&o, " *   input %d", k);
        put_name(&o, in_names ? in_names[k] : NULL, inputs[k]);
        put(&o, ": ");
        put_shape(&o, inputs[k]);
        put(&o, " at offset %zu\n", p->v[k].in_off);
    }
    for (int i = 0; i < p->nx; i++)
        if (!p->x[i].dead && p->x[i].kind == XK_EMBED) {
            put(&o, " * An embedding reads row numbers from x (as floats): when one is not a\n"
                " * whole number in 0..rows-1 (or is NaN), both return -2 and y is incomplete.\n");
            break;
        }
    if (p->n_out == 1) {
        put(&o, " * y: ");
        put_shape(&o, outputs[0]);
        const char *nm = out_names && out_names[0] ? out_names[0] : outputs[0]->name;
        put(&o, "%s%s%s\n", nm ? " (\"" : "", nm ? nm : "", nm ? "\")" : "");
    } else {
        put(&o, " * y holds the %d outputs, back to back (row-major):\n", p->n_out);
        for (int k = 0; k < p->n_out; k++) {
            put(&o, " *   output %d", k);
            put_name(&o, out_names ? out_names[k] : NULL, outputs[k]);
            put(&o, ": ");
            put_shape(&o, outputs[k]);
            put(&o, " at offset %zu\n", p->out_off[k]);
        }
    }
    put(&o, " */\n#ifndef %s_H\n#define %s_H\n\n#define %s_IN_SIZE %zu\n#define %s_OUT_SIZE %zu\n"
        "#define %s_SCRATCH_SIZE %zu\n", N, N, N, p->in_size, N, p->out_size, N, p->scratch);
    /* where each input and output starts in x and y, and its size */
    for (int k = 0; k < n_in; k++)
        put(&o, "#define %s_IN%d_OFFSET %zu\n#define %s_IN%d_SIZE %zu\n", N, k, p->v[k].in_off,
            N, k, inputs[k]->size);
    for (int k = 0; k < p->n_out; k++)
        put(&o, "#define %s_OUT%d_OFFSET %zu\n#define %s_OUT%d_SIZE %zu\n", N, k,
            p->out_off[k], N, k, outputs[k]->size);
    put(&o, "\n#ifdef __cplusplus\nextern \"C\" {\n#endif\n\n"
        "int %s_predict(const float *x, float *y);\n"
        "int %s_predict_scratch(const float *x, float *y, float *scratch);\n\n"
        "#ifdef __cplusplus\n}\n#endif\n#endif\n", name, name);
    return o.bad || ferror(f) ? -1 : 0;
}
