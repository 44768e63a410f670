/* Fixtures of the optimizer tests (test_optim.c, test_optim_api.c): the fixture
 * problem of tests/fixtures/optim_fixture.h and its exact gradient, and a gradient
 * clipping that must succeed. Header-only (static inline) so that each test program
 * takes what it uses. */
#ifndef CR_TEST_OPTIM_HELPERS_H
#define CR_TEST_OPTIM_HELPERS_H

#include "helpers.h"
#include "fixtures/optim_fixture.h"

/* The fixture problem: w (2x3), b (3); f = Σ(θ² − c)²/4, so g = θ(θ² − c). */
typedef struct problem {
    cr_params *p;
    cr_tensor *w, *b;
} problem;

static inline problem problem_new(void)
{
    problem pr;
    int sw[2] = { 2, 3 }, sb[1] = { 3 };
    pr.p = cr_params_new();
    pr.w = cr_param_new(2, sw);
    pr.b = cr_param_new(1, sb);
    assert_non_null(pr.p);
    assert_int_equal(cr_params_add_owned(pr.p, pr.w, "w", NULL, 0), CR_OK);
    assert_int_equal(cr_params_add_owned(pr.p, pr.b, "b", NULL, 0), CR_OK);
    for (int i = 0; i < 6; i++) pr.w->data[i] = (cr_real)optim_fix_w0[i];
    for (int i = 0; i < 3; i++) pr.b->data[i] = (cr_real)optim_fix_b0[i];
    return pr;
}

static inline void set_grads(problem *pr)
{
    for (int i = 0; i < 6; i++) {
        double t = pr->w->data[i];
        pr->w->grad[i] = (cr_real)(t * (t * t - optim_fix_cw[i]));
    }
    for (int i = 0; i < 3; i++) {
        double t = pr->b->data[i];
        pr->b->grad[i] = (cr_real)(t * (t * t - optim_fix_cb[i]));
    }
}

/* cr_clip_grad_norm that must succeed; returns the norm it reports. */
static inline double clip_norm(cr_params *p, double max_norm)
{
    double n = -1;
    char err[96] = "";
    cr_status s = cr_clip_grad_norm(p, max_norm, &n, err, sizeof err);
    if (s != CR_OK) print_error("cr_clip_grad_norm: %s\n", err);
    assert_int_equal(s, CR_OK);
    return n;
}

#endif
