/* cr_tape_dot: the recorded graph in Graphviz DOT, values and gradients on nodes. */
#include "tape_internal.h"

static const cr_real *grad_of(const cr_tape *t, const cr_tensor *x)
{
    if (!x->grad) return NULL;
    if (!(x->flags & CR_HEAP) && x->grad_epoch != t->epoch) return NULL;
    return x->grad;
}

cr_status cr_tape_dot(const cr_tape *t, FILE *f)
{
    if (!t || !f) return CR_ERR_ARG;
    fprintf(f, "digraph tape {\n  rankdir=LR;\n  node [fontname=\"Helvetica\"];\n");
    for (size_t i = 0; i < t->n_nodes; i++) {
        const cr_node *n = &t->nodes[i];
        char val[160], grad[160];
        cr__summary(n->out, n->out->data, val, sizeof val);
        cr__summary(n->out, grad_of(t, n->out), grad, sizeof grad);
        int is_leaf = n->op == &cr__leaf_op;
        fprintf(f, "  n%zu [shape=%s, label=\"#%zu %s\\nvalue %s\\ngrad %s\"];\n", i,
                is_leaf ? "ellipse" : "box", i, is_leaf ? "input" : n->op->name, val, grad);
        for (int k = 0; k < n->n_in; k++) {
            const cr_tensor *x = n->in[k];
            if (x->id >= 0) {
                fprintf(f, "  n%d -> n%zu;\n", x->id, i);
            } else {
                fprintf(f, "  p%p [shape=note, label=\"%s\"];\n  p%p -> n%zu;\n", (const void *)x,
                        x->name ? x->name : "param", (const void *)x, i);
            }
        }
    }
    fprintf(f, "}\n");
    return CR_OK;
}
