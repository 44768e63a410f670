/* use_xor.c — load the model saved by train_xor into an MLP of the same shape, with a
 * sigmoid output this time, and print its probabilities.
 * usage: use_xor [model.crm]. Expected: 0 xor 0 -> ~0, 0 xor 1 -> ~1, ... */
#include <stdio.h>
#include "chainrule.h"

int main(int argc, char **argv)
{
    const char *path = argc > 1 ? argv[1] : "xor.crm";
    int sizes[3] = { 2, 4, 1 }, xs[2] = { 4, 2 };
    cr_rng rng;
    cr_rng_seed(&rng, 1);                       /* any seed: the file overwrites the weights */
    char err[256];
    cr_mlp *net = cr_mlp_new(3, sizes, CR_ACT_TANH, CR_ACT_SIGMOID, &rng, err, sizeof err);
    if (!net || cr_load(path, cr_mlp_state(net), NULL, NULL, err, sizeof err) != CR_OK) {
        fprintf(stderr, "load: %s\n", err);
        cr_mlp_free(net);
        return 1;
    }
    cr_mlp_set_training(net, 0);                /* evaluation mode */
    const cr_real X[8] = { 0, 0, 0, 1, 1, 0, 1, 1 };
    cr_tape *t = cr_tape_new(0);
    cr_tape_set_grad_mode(t, 0);                /* inference: record nothing */
    cr_tensor *p = cr_mlp_forward(t, net, cr_const(t, 2, xs, X));
    for (int i = 0; p && i < 4; i++)
        printf("%g xor %g -> %.3f\n", (double)X[2 * i], (double)X[2 * i + 1], (double)p->data[i]);
    cr_tape_free(t);
    cr_mlp_free(net);
    return p ? 0 : 1;
}
