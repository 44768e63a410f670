/* PLACEHOLDER until broadcasting lands: same-shape mul.
 * mul: y = a * b;  da += dy * b,  db += dy * a */
#include "chainrule.h"

static void mul_forward(cr_tape *t, cr_node *n)
{
    (void)t;
    const cr_real *a = n->in[0]->data, *b = n->in[1]->data;
    cr_real *y = n->out->data;
    for (size_t i = 0; i < n->out->size; i++) y[i] = a[i] * b[i];
}

static void mul_backward(cr_tape *t, cr_node *n)
{
    (void)t;
    cr_tensor *a = n->in[0], *b = n->in[1];
    const cr_real *g = n->out->grad;
    if (a->grad) for (size_t i = 0; i < a->size; i++) a->grad[i] += g[i] * b->data[i];
    if (b->grad) for (size_t i = 0; i < b->size; i++) b->grad[i] += g[i] * a->data[i];
}

static const cr_op mul_op = { "mul", mul_forward, mul_backward };

cr_tensor *cr_mul(cr_tape *t, cr_tensor *a, cr_tensor *b)
{
    cr_tensor *in[2] = { a, b };
    if (!cr_check_inputs(t, "mul", 2, in)) return NULL;
    cr_node *n = cr_record(t, &mul_op, 2, in, a->ndim, a->shape);
    return n ? cr_run(t, n) : NULL;
}
