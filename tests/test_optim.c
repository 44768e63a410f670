/* Optimizer update rules: trajectories against PyTorch float64
 * (tests/fixtures/optim_fixture.h, from tools/fixtures/make_optim_fixture.py),
 * hand-computed single steps that pin where δ goes, and a full Adam run to a minimum.
 * Configuration, names, state, memory, parameter lists and clipping: test_optim_api.c. */
#include "optim_helpers.h"

#include <math.h>
#include <string.h>

static cr_optim_config config_of(const optim_fix_case *c)
{
    cr_optim_kind kind;
    assert_int_equal(cr_optim_kind_from_name(c->kind, &kind), CR_OK);
    cr_optim_config cfg = cr_optim_defaults(kind);
    cfg.lr = c->lr;
    cfg.momentum = c->momentum;
    cfg.rho = c->rho;
    cfg.beta1 = c->beta1;
    cfg.beta2 = c->beta2;
    cfg.eps = c->eps;
    cfg.weight_decay = c->weight_decay;
    cfg.initial_accumulator = c->initial_accumulator;
    return cfg;
}

/* Run the named fixture case and compare θ after every step and the final state. */
static void run_case(const char *name)
{
    const optim_fix_case *c = NULL;
    for (size_t i = 0; i < sizeof optim_fix_cases / sizeof *optim_fix_cases; i++)
        if (strcmp(optim_fix_cases[i].name, name) == 0) c = &optim_fix_cases[i];
    assert_non_null(c);
    problem pr = problem_new();
    cr_optim_config cfg = config_of(c);
    char err[128];
    cr_optim *o = cr_optim_new(pr.p, &cfg, err, sizeof err);
    assert_non_null(o);
    const double tol = TOL(1e-12, 1e-5);
    for (int step = 0; step < OPTIM_FIX_STEPS; step++) {
        set_grads(&pr);
        assert_int_equal(cr_optim_step(o, NULL, 0), CR_OK);
        assert_int_equal(cr_optim_step_count(o), step + 1);
        for (int i = 0; i < 6; i++) assert_close_i(pr.w->data[i], c->theta[step][i], tol, tol, i);
        for (int i = 0; i < 3; i++)
            assert_close_i(pr.b->data[i], c->theta[step][6 + i], tol, tol, 6 + i);
    }
    assert_int_equal(cr_optim_state_count(o), 2 * (size_t)c->nslots);
    for (int s = 0; s < c->nslots; s++) {
        cr_tensor *sw = cr_optim_state_get(o, (size_t)s * 2);
        cr_tensor *sb = cr_optim_state_get(o, (size_t)s * 2 + 1);
        /* the slot-major order names the w tensor before the b tensor */
        assert_string_equal(cr_optim_state_name(o, (size_t)s * 2) + 2, "w");
        assert_string_equal(cr_optim_state_name(o, (size_t)s * 2 + 1) + 2, "b");
        for (int i = 0; i < 6; i++) assert_close_i(sw->data[i], c->state[s][i], tol, tol, i);
        for (int i = 0; i < 3; i++) assert_close_i(sb->data[i], c->state[s][6 + i], tol, tol, 6 + i);
    }
    cr_optim_free(o);
    cr_params_free(pr.p);
}

static void test_sgd_matches_pytorch(void **state) { (void)state; run_case("sgd"); }
static void test_sgd_l2_weight_decay_matches_pytorch(void **state) { (void)state; run_case("sgd_wd"); }
static void test_classical_momentum_matches_pytorch(void **state)
{
    (void)state;
    run_case("momentum");
    run_case("momentum_wd");
}
static void test_nesterov_matches_pytorch_formulation(void **state) { (void)state; run_case("nesterov"); }
static void test_adagrad_matches_pytorch(void **state)
{
    (void)state;
    run_case("adagrad");
    run_case("adagrad_r0_wd");
}
static void test_rmsprop_matches_pytorch(void **state)
{
    (void)state;
    run_case("rmsprop");
    run_case("rmsprop_eps_wd");
}
static void test_adam_matches_pytorch(void **state)
{
    (void)state;
    run_case("adam");
    run_case("adam_l2");
}
static void test_adamw_decoupled_decay_matches_pytorch(void **state) { (void)state; run_case("adamw"); }

/* One scalar parameter θ = 1 with gradient 2, one step of kind with cfg tweaks. */
static double one_step(cr_optim_config cfg)
{
    cr_params *p = cr_params_new();
    cr_tensor *x = cr_param_new(0, NULL);
    assert_int_equal(cr_params_add_owned(p, x, "x", NULL, 0), CR_OK);
    x->data[0] = 1;
    x->grad[0] = 2;
    cr_optim *o = cr_optim_new(p, &cfg, NULL, 0);
    assert_non_null(o);
    assert_int_equal(cr_optim_step(o, NULL, 0), CR_OK);
    double v = x->data[0];
    cr_optim_free(o);
    cr_params_free(p);
    return v;
}

/* AdaGrad: r = 4, θ = 1 − 0.1·2/(δ + √4) with δ = 1: 1 − 0.2/3 (δ under the root
 * would give 1 − 0.2/√5). */
static void test_adagrad_adds_delta_outside_the_square_root(void **state)
{
    (void)state;
    cr_optim_config c = cr_optim_defaults(CR_OPTIM_ADAGRAD);
    c.lr = 0.1;
    c.eps = 1;
    assert_close(one_step(c), 1 - 0.2 / 3, TOL(1e-15, 1e-7), 0);
}

/* RMSprop: r = 0.5·4 = 2, θ = 1 − 0.1·2/(√2 + δ) with δ = 1. */
static void test_rmsprop_adds_delta_to_the_root(void **state)
{
    (void)state;
    cr_optim_config c = cr_optim_defaults(CR_OPTIM_RMSPROP);
    c.lr = 0.1;
    c.rho = 0.5;
    c.eps = 1;
    assert_close(one_step(c), 1 - 0.2 / (sqrt(2.0) + 1), TOL(1e-15, 1e-7), 0);
}

/* Adam's first step is η·sign(g) (bias correction makes m̂ = g, v̂ = g²) up to δ:
 * θ = 1 − 0.1·2/(2 + δ) with δ = 1e-6 as in the course notes. */
static void test_adam_first_step_is_bias_corrected(void **state)
{
    (void)state;
    cr_optim_config c = cr_optim_defaults(CR_OPTIM_ADAM);
    c.lr = 0.1;
    c.eps = 1e-6;
    assert_close(one_step(c), 1 - 0.1 * 2 / (2 + 1e-6), TOL(1e-15, 1e-7), 0);
}

/* AdamW decays θ by ηλθ before the Adam step; Adam with the same λ adds λθ to g. */
static void test_adamw_decay_is_decoupled_from_the_gradient(void **state)
{
    (void)state;
    cr_optim_config c = cr_optim_defaults(CR_OPTIM_ADAMW);
    c.lr = 0.1;
    c.eps = 0;
    c.weight_decay = 0.5;
    assert_close(one_step(c), 1 * (1 - 0.1 * 0.5) - 0.1, TOL(1e-14, 1e-7), 0);
    c.kind = CR_OPTIM_ADAM;   /* g = 2 + 0.5: still a sign step of size η */
    assert_close(one_step(c), 1 - 0.1, TOL(1e-14, 1e-7), 0);
}

/* SGD with L2 decay: θ = 1 − 0.1·(2 + 0.5·1). */
static void test_sgd_weight_decay_adds_lambda_theta_to_the_gradient(void **state)
{
    (void)state;
    cr_optim_config c = cr_optim_defaults(CR_OPTIM_SGD);
    c.lr = 0.1;
    c.weight_decay = 0.5;
    assert_close(one_step(c), 1 - 0.1 * 2.5, TOL(1e-15, 1e-7), 0);
}

/* A full loop: Adam on f = Σ(θ² − c)²/4 from the fixture start reaches a minimum
 * (|θ| = √c or θ = 0 where c <= 0) within 2000 steps; the gradient vanishes. */
static void test_adam_minimises_the_fixture_problem(void **state)
{
    (void)state;
    problem pr = problem_new();
    cr_optim_config c = cr_optim_defaults(CR_OPTIM_ADAM);
    c.lr = 0.01;
    cr_optim *o = cr_optim_new(pr.p, &c, NULL, 0);
    for (int s = 0; s < 2000; s++) {
        set_grads(&pr);
        cr_optim_step(o, NULL, 0);
    }
    set_grads(&pr);
    assert_true(clip_norm(pr.p, 1e9) < 1e-2);
    assert_close(fabs(pr.w->data[3]), sqrt(2.0), 1e-2, 0);
    cr_optim_free(o);
    cr_params_free(pr.p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sgd_matches_pytorch),
        cmocka_unit_test(test_sgd_l2_weight_decay_matches_pytorch),
        cmocka_unit_test(test_classical_momentum_matches_pytorch),
        cmocka_unit_test(test_nesterov_matches_pytorch_formulation),
        cmocka_unit_test(test_adagrad_matches_pytorch),
        cmocka_unit_test(test_rmsprop_matches_pytorch),
        cmocka_unit_test(test_adam_matches_pytorch),
        cmocka_unit_test(test_adamw_decoupled_decay_matches_pytorch),
        cmocka_unit_test(test_adagrad_adds_delta_outside_the_square_root),
        cmocka_unit_test(test_rmsprop_adds_delta_to_the_root),
        cmocka_unit_test(test_adam_first_step_is_bias_corrected),
        cmocka_unit_test(test_adamw_decay_is_decoupled_from_the_gradient),
        cmocka_unit_test(test_sgd_weight_decay_adds_lambda_theta_to_the_gradient),
        cmocka_unit_test(test_adam_minimises_the_fixture_problem),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
