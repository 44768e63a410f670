/* Anomaly mode: find the first node whose value or gradient is NaN or Inf, and
 * say which op made it from which inputs (PyTorch's detect_anomaly, in spirit). */
#include "tape_internal.h"

#include <math.h>
#include <string.h>

static size_t first_bad(const cr_real *v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!isfinite(v[i])) return i;
    return SIZE_MAX;
}

static void range(const cr_tensor *x, double *lo, double *hi)
{
    *lo = INFINITY;
    *hi = -INFINITY;
    for (size_t i = 0; i < x->size; i++) {
        double v = x->data[i];
        if (v < *lo) *lo = v;
        if (v > *hi) *hi = v;
    }
}

/* "#3 exp 2x2 [-1, 4]; param W 4x4 [..]" */
static void describe_inputs(const cr_tape *t, const cr_node *n, char *buf, size_t size)
{
    size_t len = 0;
    buf[0] = '\0';
    for (int k = 0; k < n->n_in && len < size; k++) {
        const cr_tensor *x = n->in[k];
        char shape[48];
        double lo, hi;
        range(x, &lo, &hi);
        const char *what = x->id >= 0 && (size_t)x->id < t->n_nodes ? t->nodes[x->id].op->name
                           : x->name ? x->name : "heap tensor";
        int w = snprintf(buf + len, size - len, "%sinput %d: #%d %s %s range [%g, %g]",
                         k ? "; " : "", k + 1, x->id, what,
                         cr_shape_str(x, shape, sizeof shape), lo, hi);
        if (w < 0) break;
        len += (size_t)w;
    }
}

static int report(cr_tape *t, const cr_node *n, const char *what, const cr_real *v, size_t i)
{
    char ins[320];
    describe_inputs(t, n, ins, sizeof ins);
    cr_tape_fail(t, CR_ERR_NUMERIC, "anomaly: node #%d (%s) %s %s at element %zu; %s",
                 n->out->id, n->op->name, what, isnan(v[i]) ? "NaN" : "Inf", i, ins);
    return 0;
}

int cr__check_forward(cr_tape *t, const cr_node *n)
{
    size_t i = first_bad(n->out->data, n->out->size);
    return i == SIZE_MAX ? 1 : report(t, n, "produced", n->out->data, i);
}

int cr__check_backward(cr_tape *t, const cr_node *n)
{
    for (int k = 0; k < n->n_in; k++) {
        const cr_tensor *x = n->in[k];
        if (!x->grad) continue;
        size_t i = first_bad(x->grad, x->size);
        if (i != SIZE_MAX) {
            char what[64];
            snprintf(what, sizeof what, "backward gave input %d a gradient with", k + 1);
            return report(t, n, what, x->grad, i);
        }
    }
    return 1;
}
