/* Activations by name: a thin switch over the activation ops, for layers and for
 * programs that take the activation as an option. */
#include "chainrule.h"
#include "../graph/names.h"

#include <string.h>

cr_tensor *cr_activate(cr_tape *t, cr_tensor *x, cr_activation act)
{
    if (!cr_check_inputs(t, "activate", 1, &x)) return NULL;
    switch (act) {
    case CR_ACT_NONE: return x;
    case CR_ACT_SIGMOID: return cr_sigmoid(t, x);
    case CR_ACT_TANH: return cr_tanh(t, x);
    case CR_ACT_RELU: return cr_relu(t, x);
    case CR_ACT_LEAKY_RELU: return cr_leaky_relu(t, x, (cr_real)CR_LEAKY_SLOPE);
    case CR_ACT_SOFTMAX: return cr_softmax(t, x);
    }
    cr_tape_fail(t, CR_ERR_ARG, "activate: unknown activation %d", (int)act);
    return NULL;
}

static const struct {
    const char *name;
    cr_activation act;
} names[] = {
    { "none", CR_ACT_NONE },       { "linear", CR_ACT_NONE },
    { "identity", CR_ACT_NONE },   { "sigmoid", CR_ACT_SIGMOID },
    { "tanh", CR_ACT_TANH },       { "relu", CR_ACT_RELU },
    { "leaky_relu", CR_ACT_LEAKY_RELU }, { "leaky-relu", CR_ACT_LEAKY_RELU },
    { "leakyrelu", CR_ACT_LEAKY_RELU },  { "softmax", CR_ACT_SOFTMAX },
};

cr_status cr_activation_from_name(const char *name, cr_activation *out)
{
    int i = CR__NAME_INDEX(names, name);
    if (i < 0 || !out) return CR_ERR_ARG;
    *out = names[i].act;
    return CR_OK;
}

const char *cr_activation_name(cr_activation act)
{
    switch (act) {
    case CR_ACT_NONE: return "none";
    case CR_ACT_SIGMOID: return "sigmoid";
    case CR_ACT_TANH: return "tanh";
    case CR_ACT_RELU: return "relu";
    case CR_ACT_LEAKY_RELU: return "leaky_relu";
    case CR_ACT_SOFTMAX: return "softmax";
    }
    return "?";
}
