/* Backward trace: print each chain-rule step as the reverse pass takes it. The
 * local derivative is not asked of the op: it is read off as the change the op's
 * backward made to each input gradient, divided by the incoming gradient. */
#include "tape_internal.h"

#include <string.h>


static void label(const cr_tensor *x, char *buf, size_t size)
{
    if (x->id >= 0) snprintf(buf, size, "#%d", x->id);
    else snprintf(buf, size, "%s", x->name ? x->name : "param");
}

void cr__trace_backward(cr_tape *t, cr_node *n)
{
    FILE *f = t->trace;
    cr_real before[8];
    int scalar_in[8] = { 0 };
    int k_max = n->n_in < 8 ? n->n_in : 8;
    for (int k = 0; k < k_max; k++) {
        cr_tensor *x = n->in[k];
        scalar_in[k] = x->grad && x->size == 1;
        if (scalar_in[k]) before[k] = x->grad[0];
    }
    n->op->backward(t, n);
    char out[32];
    label(n->out, out, sizeof out);
    if (n->out->size != 1) {
        char g[160], shape[32];
        cr__summary(n->out, n->out->grad, g, sizeof g);
        fprintf(f, "%s = %s(...) [%s]: incoming gradient %s\n", out, n->op->name,
                cr_shape_str(n->out, shape, sizeof shape), g);
        return;
    }
    double g = n->out->grad[0];
    for (int k = 0; k < k_max; k++) {
        cr_tensor *x = n->in[k];
        if (!x->grad) continue;
        char in[32];
        label(x, in, sizeof in);
        if (!scalar_in[k]) {
            fprintf(f, "d%s (via %s %s) updated (tensor input)\n", in, out, n->op->name);
            continue;
        }
        double added = x->grad[0] - before[k];
        double local = g != 0 ? added / g : 0;
        fprintf(f, "d%s (via %s = %s) += %.6g * %.6g = %.6g\n", in, out, n->op->name, g, local,
                added);
    }
}
