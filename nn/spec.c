/* The text form of a layer stack ("conv 8 3x3 pad 1, relu, maxpool 2, ..."): the
 * parser, the canonical printer, and the per-layer shape inference shared by text
 * and C-built models. The grammar is in include/chainrule.h (models section).
 * Hostile input: the text is read at most CR_MODEL_SPEC_MAX + 1 bytes far, every
 * number is bounded before use (at most 9 digits), every size product is computed
 * with an overflow check, and nothing is allocated here. */
#include "model_internal.h"

#include <ctype.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define UNITS_MAX (1 << 24)
#define KERNEL_MAX 65536
#define SHAPE_LIMIT ((size_t)INT_MAX)   /* values per sample must stay below 2^31 */

cr_status cr__model_errf(cr_status s, char *err, size_t errsize, const char *fmt, ...)
{
    if (err && errsize) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, errsize, fmt, ap);
        va_end(ap);
    }
    return s;
}

void cr__dims_str(int ndim, const int *d, char *buf, size_t size)
{
    if (ndim == 1) snprintf(buf, size, "%d", d[0]);
    else snprintf(buf, size, "%dx%dx%d", d[0], d[1], d[2]);
}

/* ------------------------------------------------------------ printing */

static void real_str(double v, char *buf, size_t size)
{
    snprintf(buf, size, "%.15g", v);
    if (strtod(buf, NULL) != v) snprintf(buf, size, "%.17g", v);
}

static void pair_str(const int *v, char *buf, size_t size)
{
    if (v[0] == v[1]) snprintf(buf, size, "%d", v[0]);
    else snprintf(buf, size, "%dx%d", v[0], v[1]);
}

/* Append " word VALUE" to buf when the pair differs from def. */
static void opt_str(char *buf, size_t size, const char *word, const int *v, int def)
{
    char p[32];
    size_t n = strlen(buf);
    if ((v[0] == def && v[1] == def) || n >= size) return;
    pair_str(v, p, sizeof p);
    snprintf(buf + n, size - n, " %s %s", word, p);
}

void cr__layer_format(const cr_layer *l, char *buf, size_t size)
{
    char a[48];
    int s[2] = { l->stride[0], l->stride[1] }, d[2] = { l->dilation[0], l->dilation[1] };
    switch (l->kind) {
    case CR_LAYER_DENSE: snprintf(buf, size, "dense %d", l->units); return;
    case CR_LAYER_CONV2D:
        for (int i = 0; i < 2; i++) {
            if (s[i] == 0) s[i] = 1;
            if (d[i] == 0) d[i] = 1;
        }
        snprintf(buf, size, "conv %d %dx%d", l->units, l->kernel[0], l->kernel[1]);
        opt_str(buf, size, "stride", s, 1);
        opt_str(buf, size, "pad", l->padding, 0);
        opt_str(buf, size, "dilation", d, 1);
        return;
    case CR_LAYER_MAXPOOL2D:
    case CR_LAYER_AVGPOOL2D:
        pair_str(l->kernel, a, sizeof a);
        snprintf(buf, size, "%s %s", l->kind == CR_LAYER_MAXPOOL2D ? "maxpool" : "avgpool", a);
        for (int i = 0; i < 2; i++)
            if (s[i] == 0) s[i] = l->kernel[i];
        if (s[0] != l->kernel[0] || s[1] != l->kernel[1]) {
            size_t n = strlen(buf);
            pair_str(s, a, sizeof a);
            if (n < size) snprintf(buf + n, size - n, " stride %s", a);
        }
        opt_str(buf, size, "pad", l->padding, 0);
        return;
    case CR_LAYER_GLOBAL_AVGPOOL2D: snprintf(buf, size, "globalavgpool"); return;
    case CR_LAYER_FLATTEN: snprintf(buf, size, "flatten"); return;
    case CR_LAYER_BATCHNORM: snprintf(buf, size, "batchnorm"); return;
    case CR_LAYER_STANDARDIZE: snprintf(buf, size, "standardize"); return;
    case CR_LAYER_DROPOUT:
        real_str(l->value, a, sizeof a);
        snprintf(buf, size, "dropout %s", a);
        return;
    case CR_LAYER_ACTIVATION:
        if (l->act == CR_ACT_LEAKY_RELU && l->value != 0 && l->value != CR_LEAKY_SLOPE) {
            real_str(l->value, a, sizeof a);
            snprintf(buf, size, "leaky_relu %s", a);
        } else {
            snprintf(buf, size, "%s", cr_activation_name(l->act));
        }
        return;
    }
    snprintf(buf, size, "?");
}

/* ------------------------------------------------------------ shape inference */

static int mul_ok(size_t a, size_t b, size_t *out)
{
    if (a && b > SIZE_MAX / a) return 0;
    *out = a * b;
    return 1;
}

static int in_range(int v, int lo, int hi) { return v >= lo && v <= hi; }

#define LFAIL(s, ...) cr__layer_fail((s), pos, text, err, errsize, __VA_ARGS__)

static cr_status cr__layer_fail(cr_status s, int pos, const char *text, char *err,
                                size_t errsize, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 6, 7)))
#endif
    ;
static cr_status cr__layer_fail(cr_status s, int pos, const char *text, char *err,
                                size_t errsize, const char *fmt, ...)
{
    if (err && errsize) {
        int n = snprintf(err, errsize, "layer %d (%s): ", pos, text);
        if (n >= 0 && (size_t)n < errsize) {
            va_list ap;
            va_start(ap, fmt);
            vsnprintf(err + n, errsize - (size_t)n, fmt, ap);
            va_end(ap);
        }
    }
    return s;
}

/* Output length of a window sweep, or 0 when the window does not fit. */
static long long sweep(int in, int pad, long long extent, int stride)
{
    long long span = (long long)in + 2LL * pad;
    return span < extent ? 0 : (span - extent) / stride + 1;
}

cr_status cr__layer_infer(const cr_layer *l, int pos, const char *text, int in_ndim,
                          const int *in, int *out_ndim, int *out, size_t *nparams, char *err,
                          size_t errsize)
{
    char is[48];
    cr__dims_str(in_ndim, in, is, sizeof is);
    size_t np = 0, t;
    int on = in_ndim, o[3] = { in[0], in_ndim == 3 ? in[1] : 0, in_ndim == 3 ? in[2] : 0 };
    switch (l->kind) {
    case CR_LAYER_DENSE:
        if (!in_range(l->units, 1, UNITS_MAX))
            return LFAIL(CR_ERR_ARG, "width %d outside 1..%d", l->units, UNITS_MAX);
        if (in_ndim != 1)
            return LFAIL(CR_ERR_SHAPE,
                         "input is %s but dense takes a vector of features (put flatten or "
                         "globalavgpool before it)", is);
        if (!mul_ok((size_t)in[0] + 1, (size_t)l->units, &np))
            return LFAIL(CR_ERR_ARG, "parameter count overflows");
        o[0] = l->units;
        break;
    case CR_LAYER_CONV2D:
    case CR_LAYER_MAXPOOL2D:
    case CR_LAYER_AVGPOOL2D: {
        int conv = l->kind == CR_LAYER_CONV2D;
        const char *what = conv ? "conv" : l->kind == CR_LAYER_MAXPOOL2D ? "maxpool" : "avgpool";
        if (conv && !in_range(l->units, 1, UNITS_MAX))
            return LFAIL(CR_ERR_ARG, "channels %d outside 1..%d", l->units, UNITS_MAX);
        int s[2], d[2];
        for (int i = 0; i < 2; i++) {
            if (!in_range(l->kernel[i], 1, KERNEL_MAX))
                return LFAIL(CR_ERR_ARG, "kernel %d outside 1..%d", l->kernel[i], KERNEL_MAX);
            if (!in_range(l->stride[i], 0, KERNEL_MAX))
                return LFAIL(CR_ERR_ARG, "stride %d outside 1..%d", l->stride[i], KERNEL_MAX);
            if (!in_range(l->padding[i], 0, KERNEL_MAX))
                return LFAIL(CR_ERR_ARG, "pad %d outside 0..%d", l->padding[i], KERNEL_MAX);
            if (conv && !in_range(l->dilation[i], 0, KERNEL_MAX))
                return LFAIL(CR_ERR_ARG, "dilation %d outside 1..%d", l->dilation[i],
                             KERNEL_MAX);
            if (!conv && l->dilation[i] != 0 && l->dilation[i] != 1)
                return LFAIL(CR_ERR_ARG, "pools take no dilation");
            if (!conv && l->padding[i] > l->kernel[i] / 2)
                return LFAIL(CR_ERR_ARG, "pad %d is more than half the kernel %d",
                             l->padding[i], l->kernel[i]);
            s[i] = l->stride[i] ? l->stride[i] : conv ? 1 : l->kernel[i];
            d[i] = conv && l->dilation[i] ? l->dilation[i] : 1;
        }
        if (in_ndim != 3)
            return LFAIL(CR_ERR_SHAPE, "input is %s but %s needs C x H x W", is, what);
        long long eh = (long long)d[0] * (l->kernel[0] - 1) + 1;
        long long ew = (long long)d[1] * (l->kernel[1] - 1) + 1;
        long long oh = sweep(in[1], l->padding[0], eh, s[0]);
        long long ow = sweep(in[2], l->padding[1], ew, s[1]);
        if (oh < 1 || ow < 1)
            return LFAIL(CR_ERR_SHAPE,
                         "input is %s but the %s window spans %lldx%lld, more than the "
                         "padded input %lldx%lld", is, what, eh, ew,
                         (long long)in[1] + 2LL * l->padding[0],
                         (long long)in[2] + 2LL * l->padding[1]);
        if (conv) {
            size_t k;
            if (!mul_ok((size_t)in[0], (size_t)l->kernel[0], &k) ||
                !mul_ok(k, (size_t)l->kernel[1], &k) || !mul_ok(k, (size_t)l->units, &np) ||
                (np += (size_t)l->units) < (size_t)l->units)
                return LFAIL(CR_ERR_ARG, "parameter count overflows");
            o[0] = l->units;
        }
        o[1] = (int)oh;   /* oh <= in[1] + 2 * 65536 fits in size_t; checked below */
        o[2] = (int)ow;
        if (oh > INT_MAX || ow > INT_MAX)
            return LFAIL(CR_ERR_SHAPE, "output %lldx%lld is too large", oh, ow);
        break;
    }
    case CR_LAYER_GLOBAL_AVGPOOL2D:
        if (in_ndim != 3)
            return LFAIL(CR_ERR_SHAPE, "input is %s but globalavgpool needs C x H x W", is);
        on = 1;
        break;
    case CR_LAYER_FLATTEN:
        if (in_ndim == 3) {
            on = 1;
            o[0] = in[0] * in[1] * in[2];   /* < 2^31: every shape is checked below */
        }
        break;
    case CR_LAYER_BATCHNORM: np = 2 * (size_t)in[0]; break;
    case CR_LAYER_STANDARDIZE: break;        /* buffers only */
    case CR_LAYER_DROPOUT:
        if (!(l->value >= 0 && l->value < 1))
            return LFAIL(CR_ERR_ARG, "dropout probability %g outside [0, 1)", l->value);
        break;
    case CR_LAYER_ACTIVATION:
        if (l->act != CR_ACT_SIGMOID && l->act != CR_ACT_TANH && l->act != CR_ACT_RELU &&
            l->act != CR_ACT_LEAKY_RELU && l->act != CR_ACT_SOFTMAX)
            return LFAIL(CR_ERR_ARG, "unknown activation %d", (int)l->act);
        if (l->act == CR_ACT_LEAKY_RELU && !(l->value >= 0 && l->value <= 1))
            return LFAIL(CR_ERR_ARG, "leaky_relu slope %g outside [0, 1]", l->value);
        if (l->act == CR_ACT_SOFTMAX && in_ndim != 1)
            return LFAIL(CR_ERR_SHAPE, "input is %s but softmax takes a vector of features", is);
        break;
    default: return LFAIL(CR_ERR_ARG, "unknown layer kind %d", (int)l->kind);
    }
    size_t total = (size_t)o[0];
    if (on == 3 && (!mul_ok(total, (size_t)o[1], &t) || !mul_ok(t, (size_t)o[2], &total)))
        total = SIZE_MAX;
    if (total > SHAPE_LIMIT) {
        char os[64];
        if (on == 3) snprintf(os, sizeof os, "%dx%dx%d", o[0], o[1], o[2]);
        else snprintf(os, sizeof os, "%d", o[0]);
        return LFAIL(CR_ERR_SHAPE, "output %s has 2^31 or more values per sample", os);
    }
    *out_ndim = on;
    memcpy(out, o, sizeof o);
    *nparams = np;
    return CR_OK;
}

/* ------------------------------------------------------------ parsing */

typedef struct word {
    const char *s;
    size_t n;
} word;

static int is_blank(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

static int word_is(word w, const char *kw)
{
    size_t n = strlen(kw);
    if (w.n != n) return 0;
    for (size_t i = 0; i < n; i++)
        if (tolower((unsigned char)w.s[i]) != kw[i]) return 0;
    return 1;
}

/* Split [a, b) into at most max words; returns the count, or max + 1 if more. */
static int split_words(const char *a, const char *b, word *w, int max)
{
    int n = 0;
    while (a < b) {
        while (a < b && is_blank(*a)) a++;
        if (a == b) break;
        const char *s = a;
        while (a < b && !is_blank(*a)) a++;
        if (n == max) return max + 1;
        w[n].s = s;
        w[n++].n = (size_t)(a - s);
    }
    return n;
}

/* A non-negative integer of 1..9 digits from [s, s + n). */
static int parse_uint(const char *s, size_t n, int *v)
{
    if (n < 1 || n > 9) return 0;
    int x = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') return 0;
        x = 10 * x + (s[i] - '0');
    }
    *v = x;
    return 1;
}

/* "K" or "KHxKW" */
static int parse_pair(word w, int *v)
{
    const char *x = memchr(w.s, 'x', w.n);
    if (!x) x = memchr(w.s, 'X', w.n);
    if (!x) {
        if (!parse_uint(w.s, w.n, &v[0])) return 0;
        v[1] = v[0];
        return 1;
    }
    size_t k = (size_t)(x - w.s);
    return parse_uint(w.s, k, &v[0]) && parse_uint(x + 1, w.n - k - 1, &v[1]);
}

static int parse_real(word w, double *v)
{
    char buf[32];
    if (w.n < 1 || w.n >= sizeof buf) return 0;
    memcpy(buf, w.s, w.n);
    buf[w.n] = '\0';
    char *end;
    double x = strtod(buf, &end);
    if (*end || !isfinite(x)) return 0;
    *v = x;
    return 1;
}

#define MAX_WORDS 16

/* One layer's words into *l. */
static cr_status parse_layer(const word *w, int nw, int pos, const char *text, cr_layer *l,
                             char *err, size_t errsize)
{
    memset(l, 0, sizeof *l);
    word k = w[0];
    int first_opt = 1;
    if (word_is(k, "dense") || word_is(k, "linear")) {
        l->kind = CR_LAYER_DENSE;
        if (nw < 2 || !parse_uint(w[1].s, w[1].n, &l->units))
            return LFAIL(CR_ERR_ARG, "dense needs a width of at most 9 digits, as in dense 128");
        first_opt = 2;
    } else if (word_is(k, "conv") || word_is(k, "conv2d")) {
        l->kind = CR_LAYER_CONV2D;
        if (nw < 3 || !parse_uint(w[1].s, w[1].n, &l->units) || !parse_pair(w[2], l->kernel))
            return LFAIL(CR_ERR_ARG,
                         "conv needs output channels and a kernel size, as in conv 16 3x3");
        first_opt = 3;
    } else if (word_is(k, "maxpool") || word_is(k, "avgpool")) {
        l->kind = word_is(k, "maxpool") ? CR_LAYER_MAXPOOL2D : CR_LAYER_AVGPOOL2D;
        if (nw < 2 || !parse_pair(w[1], l->kernel))
            return LFAIL(CR_ERR_ARG, "%.*s needs a kernel size, as in %.*s 2", (int)k.n, k.s,
                         (int)k.n, k.s);
        first_opt = 2;
    } else if (word_is(k, "globalavgpool") || word_is(k, "gap")) {
        l->kind = CR_LAYER_GLOBAL_AVGPOOL2D;
    } else if (word_is(k, "flatten")) {
        l->kind = CR_LAYER_FLATTEN;
    } else if (word_is(k, "batchnorm") || word_is(k, "bn")) {
        l->kind = CR_LAYER_BATCHNORM;
    } else if (word_is(k, "standardize")) {
        l->kind = CR_LAYER_STANDARDIZE;
    } else if (word_is(k, "dropout")) {
        l->kind = CR_LAYER_DROPOUT;
        if (nw < 2 || !parse_real(w[1], &l->value))
            return LFAIL(CR_ERR_ARG, "dropout needs a probability, as in dropout 0.5");
        first_opt = 2;
    } else if (word_is(k, "leaky_relu") || word_is(k, "leakyrelu") ||
               word_is(k, "leaky-relu")) {
        l->kind = CR_LAYER_ACTIVATION;
        l->act = CR_ACT_LEAKY_RELU;
        l->value = CR_LEAKY_SLOPE;
        if (nw >= 2) {
            if (!parse_real(w[1], &l->value))
                return LFAIL(CR_ERR_ARG, "leaky_relu slope '%.*s' is not a number",
                             (int)w[1].n, w[1].s);
            first_opt = 2;
        }
    } else if (word_is(k, "relu") || word_is(k, "tanh") || word_is(k, "sigmoid") ||
               word_is(k, "softmax")) {
        l->kind = CR_LAYER_ACTIVATION;
        l->act = word_is(k, "relu") ? CR_ACT_RELU : word_is(k, "tanh") ? CR_ACT_TANH
                 : word_is(k, "sigmoid") ? CR_ACT_SIGMOID : CR_ACT_SOFTMAX;
    } else {
        return LFAIL(CR_ERR_ARG,
                     "unknown layer '%.*s' (known: dense, conv, maxpool, avgpool, "
                     "globalavgpool, flatten, batchnorm, dropout, relu, tanh, sigmoid, "
                     "leaky_relu, softmax, standardize)", (int)(k.n > 32 ? 32 : k.n), k.s);
    }
    int windowed = l->kind == CR_LAYER_CONV2D || l->kind == CR_LAYER_MAXPOOL2D ||
                   l->kind == CR_LAYER_AVGPOOL2D;
    for (int i = first_opt; i < nw; i += 2) {
        int *dst = NULL;
        word o = w[i];
        if (windowed && word_is(o, "stride")) dst = l->stride;
        else if (windowed && (word_is(o, "pad") || word_is(o, "padding"))) dst = l->padding;
        else if (l->kind == CR_LAYER_CONV2D && word_is(o, "dilation")) dst = l->dilation;
        if (!dst)
            return LFAIL(CR_ERR_ARG, "unexpected '%.*s'%s", (int)(o.n > 32 ? 32 : o.n), o.s,
                         l->kind == CR_LAYER_CONV2D ? " (conv takes stride, pad, dilation)"
                         : windowed ? " (pools take stride, pad)" : "");
        if (i + 1 >= nw || !parse_pair(w[i + 1], dst))
            return LFAIL(CR_ERR_ARG, "%.*s needs a size of at most 9 digits, as in %.*s 2 "
                         "or %.*s 2x1", (int)o.n, o.s, (int)o.n, o.s, (int)o.n, o.s);
        if (dst != l->padding && (dst[0] == 0 || dst[1] == 0))
            return LFAIL(CR_ERR_ARG, "%.*s must be at least 1", (int)o.n, o.s);
    }
    return CR_OK;
}

cr_status cr__spec_parse(const char *spec, int first, cr__layer_text *out, int max, int *n,
                         char *err, size_t errsize)
{
    if (!spec) return cr__model_errf(CR_ERR_ARG, err, errsize, "spec is NULL");
    size_t len = strnlen(spec, CR_MODEL_SPEC_MAX + 1);
    if (len > CR_MODEL_SPEC_MAX)
        return cr__model_errf(CR_ERR_ARG, err, errsize, "spec is longer than %d bytes",
                              CR_MODEL_SPEC_MAX);
    const char *p = spec, *end = spec + len;
    int count = 0;
    while (p <= end) {
        const char *c = memchr(p, ',', (size_t)(end - p));
        const char *b = c ? c : end;
        int pos = first + count;
        if (count == max)
            return cr__model_errf(CR_ERR_ARG, err, errsize, "more than %d layers",
                                  CR_MODEL_MAX_LAYERS);
        word w[MAX_WORDS];
        int nw = split_words(p, b, w, MAX_WORDS);
        /* the layer's text for messages: its words joined by one blank, truncated */
        char *text = out[count].text;
        size_t tn = 0;
        for (int i = 0; i < nw && i < MAX_WORDS; i++)
            for (size_t j = 0; j <= w[i].n && tn < CR__LAYER_TEXT - 1; j++)
                text[tn++] = j < w[i].n ? w[i].s[j] : ' ';
        while (tn > 0 && text[tn - 1] == ' ') tn--;
        text[tn] = '\0';
        if (nw == 0) {
            if (!c && count == 0)
                return cr__model_errf(CR_ERR_ARG, err, errsize, "spec has no layers");
            return cr__model_errf(CR_ERR_ARG, err, errsize,
                                  "layer %d: empty (two commas in a row, or a comma at an "
                                  "end)", pos);
        }
        if (nw > MAX_WORDS)
            return LFAIL(CR_ERR_ARG, "more than %d words", MAX_WORDS);
        cr_status s = parse_layer(w, nw, pos, text, &out[count].l, err, errsize);
        if (s) return s;
        count++;
        if (!c) break;
        p = c + 1;
    }
    *n = count;
    return CR_OK;
}
