/* lion.c — an optimizer the library does not have, written through its
 * user-defined optimizer API (cr_optim_def): Lion (Chen et al. 2023, "Symbolic
 * Discovery of Optimization Algorithms"):
 *     c = β1 m + (1−β1) g;   θ ← θ − η (sign(c) + λθ);   m ← β2 m + (1−β2) g
 * It trains a 2-8-1 MLP on XOR for 300 steps (seed 1), saving a checkpoint at step
 * 150 (parameters, and Lion's step counter, hyper-parameters and state "m.<param>"
 * by name); a second model of another seed loads it and continues. Expected: the
 * loss falls below 0.05 and both runs end on the same bits ("resumed run: same").
 * usage: lion [checkpoint.crm]   (default lion.crm) */
#include <stdio.h>
#include <string.h>
#include "chainrule.h"

static const char *const lion_names[3] = { "beta1", "beta2", "weight_decay" };

static cr_real sign_of(cr_real x) { return (cr_real)((x > 0) - (x < 0)); }

/* a->n elements of one parameter; element i touches only element i (the library
 * may split a large tensor over threads). Hyper-parameters in lion_def order. */
static void lion_update(const cr_optim_update_args *a)
{
    const cr_real lr = (cr_real)a->cfg->lr, b1 = (cr_real)a->cfg->hyper[0];
    const cr_real b2 = (cr_real)a->cfg->hyper[1], wd = (cr_real)a->cfg->hyper[2];
    const cr_real a1 = (cr_real)(1 - a->cfg->hyper[0]), a2 = (cr_real)(1 - a->cfg->hyper[1]);
    cr_real *m = a->slot[0];
    for (size_t i = 0; i < a->n; i++) {
        cr_real g = a->grad[i], th = a->theta[i];
        cr_real c = b1 * m[i] + a1 * g;
        a->theta[i] = th - lr * (sign_of(c) + wd * th);
        m[i] = b2 * m[i] + a2 * g;
    }
}

/* The library has checked lr and that every hyper-parameter is finite. */
static cr_status lion_check(const cr_optim_config *c, char *err, size_t errsize)
{
    for (int h = 0; h < 3; h++) {
        double v = c->hyper[h];
        if (h < 2 ? v >= 0 && v < 1 : v >= 0) continue;
        if (err && errsize)
            snprintf(err, errsize, "lion: %s = %g is %s", lion_names[h], v,
                     h < 2 ? "outside [0, 1)" : "negative");
        return CR_ERR_ARG;
    }
    return CR_OK;
}

/* Defaults of the paper: η = 1e-4 (3-10x below AdamW's), β1 0.9, β2 0.99, λ 0. */
static const cr_optim_def lion_def = {
    .name = "lion",
    .nslots = 1, .slot = { "m" },
    .nhyper = 3, .hyper = { "beta1", "beta2", "weight_decay" }, .defaults = { 0.9, 0.99, 0 },
    .lr = 1e-4,
    .update = lion_update, .check = lion_check,
};

#ifndef LION_NO_MAIN
/* Steps [from, to) of full-batch XOR training; prints the loss every 50 steps. */
static int train(cr_mlp *net, cr_optim *opt, int from, int to)
{
    const cr_real X[8] = { 0, 0, 0, 1, 1, 0, 1, 1 }, Y[4] = { 0, 1, 1, 0 };
    int xs[2] = { 4, 2 }, ys[2] = { 4, 1 };
    cr_tape *t = cr_tape_new(0);
    cr_tensor *x = cr_const(t, 2, xs, X), *y = cr_const(t, 2, ys, Y);
    cr_tensor *loss = cr_loss_bce_logits(t, cr_mlp_forward(t, net, x), y);
    int ok = 1;
    for (int step = from; step < to && ok; step++) {
        if (step > from) cr_tape_forward(t);
        cr_optim_zero_grad(opt);
        ok = cr_backward(t, loss) == CR_OK && cr_optim_step(opt, NULL, 0) == CR_OK;
        if (step % 50 == 0) printf("step %3d  loss %.4f\n", step, (double)cr_item(loss));
    }
    if (!ok) fprintf(stderr, "train: %s\n", cr_tape_error(t) ? cr_tape_error(t) : "step failed");
    cr_tape_free(t);
    return ok;
}

static int same_bits(cr_params *a, cr_params *b)
{
    for (size_t i = 0; i < cr_params_count(a); i++) {
        const cr_tensor *x = cr_params_get(a, i), *y = cr_params_get(b, i);
        if (memcmp(x->data, y->data, x->size * sizeof(cr_real)) != 0) return 0;
    }
    return 1;
}

int main(int argc, char **argv)
{
    const char *path = argc > 1 ? argv[1] : "lion.crm";
    int sizes[3] = { 2, 8, 1 };
    char err[256] = "out of memory";
    cr_rng rng;
    cr_rng_seed(&rng, 1);
    cr_mlp *a = cr_mlp_new(3, sizes, CR_ACT_TANH, CR_ACT_NONE, &rng, NULL, 0);
    cr_rng_seed(&rng, 7);
    cr_mlp *b = cr_mlp_new(3, sizes, CR_ACT_TANH, CR_ACT_NONE, &rng, NULL, 0);
    cr_optim_config cfg = cr_optim_def_defaults(&lion_def);
    cfg.lr = 0.02;
    cr_optim_config_set(&cfg, "weight_decay", 0.01);   /* by name, or cfg.hyper[2] */
    cr_optim *oa = a ? cr_optim_new(cr_mlp_params(a), &cfg, err, sizeof err) : NULL;
    cr_optim *ob = b ? cr_optim_new(cr_mlp_params(b), &cfg, err, sizeof err) : NULL;
    int rc = 1;
    if (!oa || !ob) { fprintf(stderr, "setup: %s\n", err); goto out; }

    if (!train(a, oa, 0, 150)) goto out;
    if (cr_save(path, cr_mlp_state(a), oa, NULL, err, sizeof err) != CR_OK) goto fail;
    printf("saved %s: %zu state tensors, first %s, step %ld\n", path,
           cr_optim_state_count(oa), cr_optim_state_name(oa, 0), cr_optim_step_count(oa));
    if (!train(a, oa, 150, 301)) goto out;

    if (cr_load(path, cr_mlp_state(b), ob, NULL, err, sizeof err) != CR_OK) goto fail;
    printf("loaded into a fresh %s optimizer at step %ld\n", cr_optim_name(ob),
           cr_optim_step_count(ob));
    if (!train(b, ob, 150, 301)) goto out;
    printf("resumed run: %s\n", same_bits(cr_mlp_params(a), cr_mlp_params(b)) ? "same" : "DIFFERENT");
    rc = !same_bits(cr_mlp_params(a), cr_mlp_params(b));
    goto out;
fail:
    fprintf(stderr, "%s\n", err);
out:
    cr_optim_free(oa); cr_optim_free(ob); cr_mlp_free(a); cr_mlp_free(b);
    return rc;
}
#endif
