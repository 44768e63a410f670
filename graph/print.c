/* cr_tape_print: the tape as a table, one row per node, for reading by eye. */
#include "tape_internal.h"

#include <math.h>
#include <string.h>

#define CR_PRINT_FULL 6    /* tensors up to this many elements are printed whole */

void cr__summary(const cr_tensor *x, const cr_real *v, char *buf, size_t size)
{
    if (!v) {
        snprintf(buf, size, "-");
        return;
    }
    size_t len = 0;
    if (x->size <= CR_PRINT_FULL) {
        for (size_t i = 0; i < x->size && len < size; i++) {
            int w = snprintf(buf + len, size - len, "%s%.6g", i ? " " : "", (double)v[i]);
            if (w < 0) return;
            len += (size_t)w;
        }
        if (x->size > 1 && len + 3 < size) {
            memmove(buf + 1, buf, len + 1);
            buf[0] = '[';
            strcat(buf, "]");
        }
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

/* "#3" for a tape tensor, its name (or "param") for a heap tensor. */
static void input_label(const cr_tensor *x, char *buf, size_t size)
{
    if (x->id >= 0) snprintf(buf, size, "#%d", x->id);
    else snprintf(buf, size, "%s", x->name ? x->name : "param");
}

static const cr_real *grad_of(const cr_tape *t, const cr_tensor *x)
{
    /* a tape tensor's grad belongs to the last backward pass only when it was reached */
    if (!x->grad) return NULL;
    if (!(x->flags & CR_HEAP) && x->grad_epoch != t->epoch) return NULL;
    return x->grad;
}

cr_status cr_tape_print(const cr_tape *t, FILE *f)
{
    if (!t || !f) return CR_ERR_ARG;
    fprintf(f, "%-4s %-12s %-14s %-8s %-28s %s\n", "id", "op", "inputs", "shape", "value",
            "gradient");
    for (size_t i = 0; i < t->n_nodes; i++) {
        const cr_node *n = &t->nodes[i];
        char ins[64] = "", shape[32], val[160], grad[160];
        size_t len = 0;
        for (int k = 0; k < n->n_in && len < sizeof ins; k++) {
            char one[32];
            input_label(n->in[k], one, sizeof one);
            int w = snprintf(ins + len, sizeof ins - len, "%s%s", k ? "," : "", one);
            if (w < 0) break;
            len += (size_t)w;
        }
        const char *op = n->op == &cr__leaf_op
                             ? (n->out->flags & CR_REQUIRES_GRAD ? "var" : "const")
                             : n->op->name;
        cr_shape_str(n->out, shape, sizeof shape);
        cr__summary(n->out, n->out->data, val, sizeof val);
        cr__summary(n->out, grad_of(t, n->out), grad, sizeof grad);
        fprintf(f, "%-4zu %-12s %-14s %-8s %-28s %s\n", i, op, ins[0] ? ins : "-", shape, val,
                grad);
    }
    if (t->err != CR_OK) fprintf(f, "error: %s\n", t->msg);
    return CR_OK;
}
