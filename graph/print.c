/* cr_tape_print: the tape as a table, one row per node, for reading by eye; and
 * the naming and number formatting shared by the table, the trace and DOT. */
#include "teach_internal.h"
#include "../kernel/kernel.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define CR_PRINT_FULL 6    /* tensors up to this many elements are printed whole */

cr__glyphs cr__glyphs_get(void)
{
    if (cr__config_get()->ascii) return (cr__glyphs){ "d", "*" }; /* CR_ASCII */
    return (cr__glyphs){ "\xe2\x88\x82", "\xc2\xb7" };   /* U+2202, U+00B7 */
}

char *cr__fmt_real(double v, char *buf, size_t size)
{
    if (!buf || size == 0) return buf;
    if (v == 0) snprintf(buf, size, "0");
    else if (isnan(v)) snprintf(buf, size, "nan");
    else if (isinf(v)) snprintf(buf, size, v > 0 ? "inf" : "-inf");
    else {
        /* the fewest significant digits that read back as the same cr_real */
        int max_digits = sizeof(cr_real) == 8 ? 17 : 9;
        int p = 1;
        for (; p <= max_digits; p++) {
            snprintf(buf, size, "%.*g", p, v);
            if ((cr_real)strtod(buf, NULL) == (cr_real)v) break;
        }
        /* %g writes 70 as "7e+01": plain digits read better for ordinary sizes */
        double a = fabs(v);
        if (strchr(buf, 'e') && a >= 1e-4 && a < 1e15) {
            int decimals = p - 1 - (int)floor(log10(a));
            snprintf(buf, size, "%.*f", decimals > 0 ? decimals : 0, v);
        }
    }
    return buf;
}

char *cr__name(const cr_tensor *x, char *buf, size_t size)
{
    if (!buf || size == 0) return buf;
    if (!x) snprintf(buf, size, "NULL");
    else if (x->name && x->name[0]) snprintf(buf, size, "%s", x->name);
    else if (x->id >= 0) snprintf(buf, size, "#%d", x->id);
    else snprintf(buf, size, "%s", x->flags & CR_REQUIRES_GRAD ? "param" : "const");
    return buf;
}

void cr__summary(const cr_tensor *x, const cr_real *v, char *buf, size_t size)
{
    if (!buf || size == 0) return;
    if (!v) {
        snprintf(buf, size, "-");
        return;
    }
    size_t len = 0;
    if (x->ndim == 0) {                        /* a scalar: exactly */
        cr__fmt_real(v[0], buf, size);
        return;
    }
    if (x->size <= CR_PRINT_FULL) {
        if (x->size > 1) len += (size_t)snprintf(buf, size, "[");
        for (size_t i = 0; i < x->size && len < size; i++) {
            double e = v[i] == 0 ? 0.0 : (double)v[i];       /* no "-0" */
            int w = snprintf(buf + len, size - len, "%s%.6g", i ? " " : "", e);
            if (w < 0) return;
            len += (size_t)w;
        }
        if (x->size > 1 && len < size) snprintf(buf + len, size - len, "]");
        return;
    }
    double lo = INFINITY, hi = -INFINITY, sum = 0;
    for (size_t i = 0; i < x->size; i++) {
        lo = fmin(lo, v[i]);
        hi = fmax(hi, v[i]);
        sum += v[i];
    }
    snprintf(buf, size, "[%.4g %.4g %.4g ...] min %.4g max %.4g mean %.4g",
             (double)v[0], (double)v[1], (double)v[2], lo, hi, sum / (double)x->size);
}

char *cr__describe(const cr_tensor *x, const cr_real *v, char *buf, size_t size)
{
    if (!buf || size == 0) return buf;
    if (!v) {
        snprintf(buf, size, "-");
    } else if (x->size == 1 && x->ndim == 0) {
        cr__fmt_real(v[0], buf, size);
    } else {
        char shape[48], sum[200];
        cr__summary(x, v, sum, sizeof sum);
        snprintf(buf, size, "%s (shape %s)", sum, cr_shape_str(x, shape, sizeof shape));
    }
    return buf;
}

const cr_real *cr__grad_of(const cr_tape *t, const cr_tensor *x)
{
    /* a tape tensor's grad belongs to the last backward pass only when it was reached */
    if (!x || !x->grad) return NULL;
    if (!(x->flags & CR_HEAP) && x->grad_epoch != t->epoch) return NULL;
    return x->grad;
}

cr_tensor *cr_tensor_label(cr_tensor *x, const char *label)
{
    if (!x) return NULL;
    if (!label) return x;
    size_t len = strlen(label);
    if (x->flags & CR_HEAP) return cr_tensor_set_name(x, label) == CR_OK ? x : NULL;
    cr_tape *t = x->tape;
    if (!t || t->err != CR_OK) return NULL;
    t->ctx_op = NULL;
    if (x->gen != t->gen) {
        cr_tape_fail(t, CR_ERR_STATE, "label: the tensor predates the last cr_tape_reset (a "
                     "tape tensor is valid only until its tape is reset)");
        return NULL;
    }
    if (len > CR_LABEL_MAX) {
        cr_tape_fail(t, CR_ERR_ARG, "label: \"%.20s...\" is %zu bytes; at most %d allowed",
                     label, len, CR_LABEL_MAX);
        return NULL;
    }
    char *copy = cr__tape_bump(t, len + 1, 1);
    if (!copy) return NULL;
    memcpy(copy, label, len + 1);
    x->name = copy;
    return x;
}

/* Column widths grow to fit the longest entry of each column. */
typedef struct row {
    char id[16], name[40], op[24], ins[64], shape[24], val[160], grad[160];
} row;

static void fill_row(const cr_tape *t, size_t i, row *r)
{
    const cr_node *n = &t->nodes[i];
    size_t len = 0;
    r->ins[0] = '\0';
    for (int k = 0; k < n->n_in && len < sizeof r->ins; k++) {
        char one[40];
        int w = snprintf(r->ins + len, sizeof r->ins - len, "%s%s", k ? "," : "",
                         cr__name(n->in[k], one, sizeof one));
        if (w < 0) break;
        len += (size_t)w;
    }
    if (!r->ins[0]) snprintf(r->ins, sizeof r->ins, "-");
    snprintf(r->id, sizeof r->id, "%zu", i);
    snprintf(r->name, sizeof r->name, "%s", n->out->name ? n->out->name : "");
    snprintf(r->op, sizeof r->op, "%s",
             n->op == &cr__leaf_op ? (n->out->flags & CR_REQUIRES_GRAD ? "var" : "const")
                                   : n->op->name);
    cr_shape_str(n->out, r->shape, sizeof r->shape);
    cr__summary(n->out, n->out->data, r->val, sizeof r->val);
    cr__summary(n->out, cr__grad_of(t, n->out), r->grad, sizeof r->grad);
}

static int width(int w, const char *s)
{
    int l = (int)strlen(s);
    return l > w ? l : w;
}

cr_status cr_tape_print(const cr_tape *t, FILE *f)
{
    if (!t || !f) return CR_ERR_ARG;
    row head = { "id", "name", "op", "inputs", "shape", "value", "gradient" };
    int w[6] = { 0 }, named = 0;
    const char *hs[6] = { head.id, head.name, head.op, head.ins, head.shape, head.val };
    for (int c = 0; c < 6; c++) w[c] = width(0, hs[c]);
    for (size_t i = 0; i < t->n_nodes; i++) {
        row r;
        fill_row(t, i, &r);
        const char *cs[6] = { r.id, r.name, r.op, r.ins, r.shape, r.val };
        for (int c = 0; c < 6; c++) w[c] = width(w[c], cs[c]);
        named |= r.name[0] != '\0';
    }
    /* the name column only when some node has a label */
    fprintf(f, "%-*s  %-*s%s%-*s  %-*s  %-*s  %-*s  %s\n", w[0], head.id, named ? w[1] : 0,
            named ? head.name : "", named ? "  " : "", w[2], head.op, w[3], head.ins, w[4],
            head.shape, w[5], head.val, head.grad);
    for (size_t i = 0; i < t->n_nodes; i++) {
        row r;
        fill_row(t, i, &r);
        fprintf(f, "%-*s  %-*s%s%-*s  %-*s  %-*s  %-*s  %s\n", w[0], r.id, named ? w[1] : 0,
                named ? r.name : "", named ? "  " : "", w[2], r.op, w[3], r.ins, w[4], r.shape,
                w[5], r.val, r.grad);
    }
    if (t->err != CR_OK) fprintf(f, "error: %s\n", t->msg);
    return CR_OK;
}
