/* PLACEHOLDER until broadcasting lands: same-shape add.
 * add: y = a + b;  da += dy,  db += dy */
#include "chainrule.h"

static void add_forward(cr_tape *t, cr_node *n)
{
    (void)t;
    const cr_real *a = n->in[0]->data, *b = n->in[1]->data;
    cr_real *y = n->out->data;
    for (size_t i = 0; i < n->out->size; i++) y[i] = a[i] + b[i];
}

static void add_backward(cr_tape *t, cr_node *n)
{
    (void)t;
    cr_tensor *a = n->in[0], *b = n->in[1];
    const cr_real *g = n->out->grad;
    if (a->grad) for (size_t i = 0; i < a->size; i++) a->grad[i] += g[i];
    if (b->grad) for (size_t i = 0; i < b->size; i++) b->grad[i] += g[i];
}

static const cr_op add_op = { "add", add_forward, add_backward };

cr_tensor *cr_add(cr_tape *t, cr_tensor *a, cr_tensor *b)
{
    cr_tensor *in[2] = { a, b };
    if (!cr_check_inputs(t, "add", 2, in)) return NULL;
    cr_node *n = cr_record(t, &add_op, 2, in, a->ndim, a->shape);
    return n ? cr_run(t, n) : NULL;
}
