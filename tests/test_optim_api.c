/* Optimizer objects and parameter lists: hyper-parameters validated with a message,
 * documented defaults, kind and hyper-parameter names, the learning rate and step
 * count, state tensors by name, steps that allocate nothing, refusals and allocation
 * failures; gradient clipping by norm and by value. The update rules: test_optim.c. */
#include "optim_helpers.h"

#include <math.h>
#include <string.h>

static void expect_rejected(cr_optim_config c, const char *needle)
{
    char err[128] = "";
    cr_params *p = cr_params_new();
    assert_int_equal(cr_optim_config_check(&c, err, sizeof err), CR_ERR_ARG);
    assert_non_null(strstr(err, needle));
    err[0] = '\0';
    assert_null(cr_optim_new(p, &c, err, sizeof err));
    if (!strstr(err, needle)) fail_msg("message '%s' lacks '%s'", err, needle);
    cr_params_free(p);
}

static void test_bad_hyper_parameters_are_rejected_with_a_message(void **state)
{
    (void)state;
    cr_optim_config c = cr_optim_defaults(CR_OPTIM_ADAM);
    c.lr = -0.1;
    expect_rejected(c, "lr = -0.1 is negative");
    c = cr_optim_defaults(CR_OPTIM_ADAM);
    c.lr = NAN;
    expect_rejected(c, "lr = nan is not finite");
    c = cr_optim_defaults(CR_OPTIM_ADAM);
    c.beta2 = 1;
    expect_rejected(c, "beta2 = 1 is outside [0, 1)");
    c = cr_optim_defaults(CR_OPTIM_ADAM);
    c.beta1 = -0.5;
    expect_rejected(c, "beta1 = -0.5 is outside [0, 1)");
    c = cr_optim_defaults(CR_OPTIM_RMSPROP);
    c.rho = 1.5;
    expect_rejected(c, "rho = 1.5");
    c = cr_optim_defaults(CR_OPTIM_MOMENTUM);
    c.momentum = 1;
    expect_rejected(c, "momentum = 1");
    c = cr_optim_defaults(CR_OPTIM_ADAGRAD);
    c.eps = -1e-8;
    expect_rejected(c, "eps = -1e-08 is negative");
    c = cr_optim_defaults(CR_OPTIM_SGD);
    c.weight_decay = -1;
    expect_rejected(c, "weight_decay");
    c = cr_optim_defaults(CR_OPTIM_ADAGRAD);
    c.initial_accumulator = -1;
    expect_rejected(c, "initial_accumulator");
    c = cr_optim_defaults(CR_OPTIM_SGD);
    c.kind = (cr_optim_kind)42;
    expect_rejected(c, "unknown kind 42");

    char err[64];
    assert_null(cr_optim_new(NULL, &c, err, sizeof err));
    assert_non_null(strstr(err, "NULL"));
}

static void test_defaults_are_documented_values(void **state)
{
    (void)state;
    cr_optim_config c = cr_optim_defaults(CR_OPTIM_ADAM);
    assert_int_equal(c.kind, CR_OPTIM_ADAM);
    assert_close(c.lr, 0.001, 0, 0);
    assert_close(c.beta1, 0.9, 0, 0);
    assert_close(c.beta2, 0.999, 0, 0);
    assert_close(c.eps, 1e-8, 0, 0);
    assert_close(c.weight_decay, 0, 0, 0);
    assert_close(cr_optim_defaults(CR_OPTIM_ADAMW).weight_decay, 0.01, 0, 0);
    assert_close(cr_optim_defaults(CR_OPTIM_ADAGRAD).eps, 1e-10, 0, 0);
    assert_close(cr_optim_defaults(CR_OPTIM_SGD).lr, 0.01, 0, 0);
    assert_close(cr_optim_defaults(CR_OPTIM_MOMENTUM).momentum, 0.9, 0, 0);
    assert_close(cr_optim_defaults(CR_OPTIM_RMSPROP).rho, 0.99, 0, 0);
    for (int k = 0; k < CR_OPTIM_KIND_COUNT; k++) {
        c = cr_optim_defaults((cr_optim_kind)k);
        assert_int_equal(cr_optim_config_check(&c, NULL, 0), CR_OK);
    }
}

static void test_kind_names_round_trip_and_unknown_is_an_error(void **state)
{
    (void)state;
    for (int k = 0; k < CR_OPTIM_KIND_COUNT; k++) {
        cr_optim_kind got = CR_OPTIM_SGD;
        assert_int_equal(cr_optim_kind_from_name(cr_optim_kind_name((cr_optim_kind)k), &got), CR_OK);
        assert_int_equal(got, k);
    }
    cr_optim_kind kind = CR_OPTIM_RMSPROP;
    assert_int_equal(cr_optim_kind_from_name("adamax", &kind), CR_ERR_ARG);
    assert_int_equal(cr_optim_kind_from_name(NULL, &kind), CR_ERR_ARG);
    assert_int_equal(kind, CR_OPTIM_RMSPROP);
    assert_string_equal(cr_optim_kind_name(CR_OPTIM_NESTEROV), "nesterov");
    assert_string_equal(cr_optim_kind_name((cr_optim_kind)99), "?");
}

/* One rule for every name table of the library (activations and initializers
 * already ignored case): "Adam" is adam. */
static void test_kind_names_ignore_case(void **state)
{
    (void)state;
    cr_optim_kind kind = CR_OPTIM_SGD;
    assert_int_equal(cr_optim_kind_from_name("Adam", &kind), CR_OK);
    assert_int_equal(kind, CR_OPTIM_ADAM);
    assert_int_equal(cr_optim_kind_from_name("RMSprop", &kind), CR_OK);
    assert_int_equal(kind, CR_OPTIM_RMSPROP);
    assert_int_equal(cr_optim_kind_from_name("ADAMW", &kind), CR_OK);
    assert_int_equal(kind, CR_OPTIM_ADAMW);
    assert_int_equal(cr_optim_kind_from_name("adam ", &kind), CR_ERR_ARG);
    assert_int_equal(kind, CR_OPTIM_ADAMW);
}

/* Hyper-parameters by name: the config fields for a built-in kind. */
static void test_hyper_parameters_by_name(void **state)
{
    (void)state;
    cr_optim_config c = cr_optim_defaults(CR_OPTIM_ADAM);
    double v = 0;
    assert_int_equal(cr_optim_config_set(&c, "beta2", 0.95), CR_OK);
    assert_true(c.beta2 == 0.95);
    assert_int_equal(cr_optim_config_set(&c, "Weight_Decay", 0.125), CR_OK);
    assert_true(c.weight_decay == 0.125);
    assert_int_equal(cr_optim_config_get(&c, "lr", &v), CR_OK);
    assert_true(v == 0.001);
    assert_int_equal(cr_optim_config_get(&c, "initial_accumulator", &v), CR_OK);
    assert_true(v == 0);
    v = 7;
    assert_int_equal(cr_optim_config_get(&c, "beta3", &v), CR_ERR_ARG);
    assert_int_equal(cr_optim_config_set(&c, "kind", 1), CR_ERR_ARG);
    assert_int_equal(cr_optim_config_set(NULL, "lr", 1), CR_ERR_ARG);
    assert_true(v == 7);
}

static void test_set_lr_validates_and_changes_the_step(void **state)
{
    (void)state;
    cr_optim_config c = cr_optim_defaults(CR_OPTIM_SGD);
    c.lr = 0.5;
    cr_params *p = cr_params_new();
    cr_tensor *x = cr_param_new(0, NULL);
    assert_int_equal(cr_params_add_owned(p, x, "x", NULL, 0), CR_OK);
    cr_optim *o = cr_optim_new(p, &c, NULL, 0);
    assert_int_equal(cr_optim_set_lr(o, -1), CR_ERR_ARG);
    assert_int_equal(cr_optim_set_lr(o, INFINITY), CR_ERR_ARG);
    assert_close(cr_optim_lr(o), 0.5, 0, 0);
    assert_int_equal(cr_optim_set_lr(o, 0.25), CR_OK);
    assert_close(cr_optim_get_config(o)->lr, 0.25, 0, 0);
    x->grad[0] = 4;
    assert_int_equal(cr_optim_step(o, NULL, 0), CR_OK);
    assert_close(x->data[0], -1, 0, 0);
    assert_ptr_equal(cr_optim_params(o), p);
    assert_int_equal(cr_optim_set_step_count(o, -1), CR_ERR_ARG);
    assert_int_equal(cr_optim_set_step_count(o, 41), CR_OK);
    assert_int_equal(cr_optim_step_count(o), 41);
    cr_optim_free(o);
    cr_params_free(p);
}

static void test_state_tensors_are_named_per_slot_and_parameter(void **state)
{
    (void)state;
    problem pr = problem_new();
    cr_optim_config c = cr_optim_defaults(CR_OPTIM_ADAM);
    cr_optim *o = cr_optim_new(pr.p, &c, NULL, 0);
    assert_int_equal(cr_optim_state_count(o), 4);
    const char *want[4] = { "m.w", "m.b", "v.w", "v.b" };
    for (size_t i = 0; i < 4; i++) {
        assert_string_equal(cr_optim_state_name(o, i), want[i]);
        assert_ptr_equal(cr_optim_state_find(o, want[i]), cr_optim_state_get(o, i));
    }
    assert_int_equal(cr_optim_state_get(o, 2)->ndim, 2);
    assert_int_equal(cr_optim_state_get(o, 2)->shape[1], 3);
    assert_null(cr_optim_state_get(o, 4));
    assert_null(cr_optim_state_name(o, 4));
    assert_null(cr_optim_state_find(o, "r.w"));
    cr_optim_free(o);

    c = cr_optim_defaults(CR_OPTIM_SGD);
    o = cr_optim_new(pr.p, &c, NULL, 0);
    assert_int_equal(cr_optim_state_count(o), 0);
    cr_optim_free(o);

    c = cr_optim_defaults(CR_OPTIM_ADAGRAD);
    c.initial_accumulator = 0.25;
    o = cr_optim_new(pr.p, &c, NULL, 0);
    assert_string_equal(cr_optim_state_name(o, 1), "r.b");
    assert_close(cr_optim_state_find(o, "r.w")->data[5], 0.25, 0, 0);
    cr_optim_free(o);
    cr_params_free(pr.p);
}

/* After creation, steps make no heap allocation at all. */
static void test_step_does_not_allocate(void **state)
{
    (void)state;
    for (int k = 0; k < CR_OPTIM_KIND_COUNT; k++) {
        problem pr = problem_new();
        cr_optim_config c = cr_optim_defaults((cr_optim_kind)k);
        cr_optim *o = cr_optim_new(pr.p, &c, NULL, 0);
        cr_test_alloc counter;
        memset(&counter, 0, sizeof counter);
        cr_test_alloc_install(&counter);
        for (int s = 0; s < 10; s++) {
            cr_optim_zero_grad(o);
            set_grads(&pr);
            assert_int_equal(cr_optim_step(o, NULL, 0), CR_OK);
        }
        cr_test_alloc_remove();
        assert_int_equal(counter.count, 0);
        cr_optim_free(o);
        cr_params_free(pr.p);
    }
}

static void test_step_refuses_a_list_changed_after_creation(void **state)
{
    (void)state;
    problem pr = problem_new();
    cr_optim_config c = cr_optim_defaults(CR_OPTIM_SGD);
    cr_optim *o = cr_optim_new(pr.p, &c, NULL, 0);
    assert_int_equal(cr_params_add_owned(pr.p, cr_param_new(0, NULL), "late", NULL, 0), CR_OK);
    set_grads(&pr);
    cr_real before = pr.w->data[0];
    char err[128];
    assert_int_equal(cr_optim_step(o, err, sizeof err), CR_ERR_STATE);
    assert_string_equal(err, "optim: the parameter list holds 3 tensors but held 2 when the "
                             "optimizer was created");
    assert_true(pr.w->data[0] == before);
    assert_int_equal(cr_optim_step_count(o), 0);
    assert_int_equal(cr_optim_step(NULL, err, sizeof err), CR_ERR_ARG);
    assert_string_equal(err, "optim: optimizer is NULL");
    assert_int_equal(cr_optim_step(NULL, NULL, 0), CR_ERR_ARG);
    cr_optim_free(o);
    cr_params_free(pr.p);
}

static void test_zero_grad_clears_every_gradient(void **state)
{
    (void)state;
    problem pr = problem_new();
    cr_optim_config c = cr_optim_defaults(CR_OPTIM_SGD);
    cr_optim *o = cr_optim_new(pr.p, &c, NULL, 0);
    set_grads(&pr);
    cr_optim_zero_grad(o);
    for (int i = 0; i < 6; i++) assert_true(pr.w->grad[i] == 0);
    for (int i = 0; i < 3; i++) assert_true(pr.b->grad[i] == 0);
    cr_optim_zero_grad(NULL);
    cr_optim_free(o);
    cr_params_free(pr.p);
}

/* Every allocation of cr_optim_new may fail: NULL, a message, nothing leaked. */
static void test_new_reports_allocation_failure(void **state)
{
    (void)state;
    problem pr = problem_new();
    cr_optim_config c = cr_optim_defaults(CR_OPTIM_ADAM);
    int failures = 0;
    for (long k = 1; k < 50; k++) {
        cr_test_alloc counter;
        memset(&counter, 0, sizeof counter);
        counter.fail_at = k;
        char err[64] = "";
        cr_test_alloc_install(&counter);
        cr_optim *o = cr_optim_new(pr.p, &c, err, sizeof err);
        cr_test_alloc_remove();
        if (o) {
            cr_optim_free(o);
            break;
        }
        failures++;
        assert_string_equal(err, "optim: out of memory");
    }
    assert_true(failures >= 4);   /* struct, tensor list, state list, names, tensors */
    cr_params_free(pr.p);
}

/* Each refusal of cr_params_add / _owned / _extend names its cause; the list is
 * unchanged, and _owned frees the tensor it could not add. */
static void test_params_add_says_why_it_refuses(void **state)
{
    (void)state;
    cr_params *p = cr_params_new(), *q = cr_params_new();
    cr_tensor *w = cr_param_new(0, NULL), *c = cr_tensor_new(0, NULL);
    cr_tape *t = cr_tape_new(0);
    char err[128];
    assert_int_equal(cr_params_add(p, w, "w", err, sizeof err), CR_OK);
    assert_int_equal(cr_params_add(p, w, "w", err, sizeof err), CR_ERR_ARG);
    assert_string_equal(err, "params: 'w' is already in the list");
    assert_int_equal(cr_params_add(p, c, "c", err, sizeof err), CR_ERR_ARG);
    assert_string_equal(err, "params: 'c' has no gradient buffer (made by cr_tensor_new? use "
                             "cr_param_new)");
    assert_int_equal(cr_params_add(p, cr_scalar(t, 1), "s", err, sizeof err), CR_ERR_ARG);
    assert_string_equal(err, "params: 's' is a tape tensor (parameters are made by cr_param_new)");
    assert_int_equal(cr_params_add(p, w, "", err, sizeof err), CR_ERR_ARG);
    assert_string_equal(err, "params: name '' is 0 bytes (1..63)");
    char long_name[80];
    memset(long_name, 'a', 70);
    long_name[70] = '\0';
    assert_int_equal(cr_params_add(p, w, long_name, err, sizeof err), CR_ERR_ARG);
    assert_string_equal(err, "params: name 'aaaaaaaaaaaaaaaaaaaa...' is 70 bytes (1..63)");
    assert_int_equal(cr_params_add(NULL, w, "v", err, sizeof err), CR_ERR_ARG);
    assert_string_equal(err, "params: the list is NULL");
    assert_int_equal(cr_params_add(p, NULL, "v", err, sizeof err), CR_ERR_ARG);
    assert_string_equal(err, "params: the tensor is NULL");
    assert_int_equal(cr_params_add(p, w, NULL, err, sizeof err), CR_ERR_ARG);
    assert_string_equal(err, "params: the name is NULL");
    assert_int_equal(cr_params_add_owned(p, cr_param_new(0, NULL), "w", err, sizeof err),
                     CR_ERR_ARG);             /* freed: the sanitizer build checks the leak */
    assert_string_equal(err, "params: 'w' is already in the list");
    assert_int_equal(cr_params_count(p), 1);
    /* extend: all or nothing */
    assert_int_equal(cr_params_add_owned(q, cr_param_new(0, NULL), "x", NULL, 0), CR_OK);
    assert_int_equal(cr_params_add_owned(q, cr_param_new(0, NULL), "w", NULL, 0), CR_OK);
    assert_int_equal(cr_params_extend(p, q, "", err, sizeof err), CR_ERR_ARG);
    assert_string_equal(err, "params: 'w' is already in the list");
    assert_int_equal(cr_params_count(p), 1);
    assert_int_equal(cr_params_extend(p, p, "", err, sizeof err), CR_ERR_ARG);
    assert_string_equal(err, "params: a list cannot be extended by itself");
    assert_int_equal(cr_params_extend(p, q, long_name, err, sizeof err), CR_ERR_ARG);
    assert_string_equal(err, "params: prefix + name 'aaaaaaaaaaaaaaaaaaaa...' is 71 bytes (1..63)");
    assert_int_equal(cr_params_extend(p, NULL, "", err, sizeof err), CR_ERR_ARG);
    assert_string_equal(err, "params: the source list is NULL");
    assert_int_equal(cr_params_count(p), 1);
    cr_params *r = cr_params_new();
    cr_test_alloc ca = { 0 };
    ca.fail_at = 1;
    cr_test_alloc_install(&ca);
    cr_status st = cr_params_add(r, w, "w", err, sizeof err);
    cr_test_alloc_remove();
    assert_int_equal(st, CR_ERR_NOMEM);
    assert_string_equal(err, "params: out of memory adding 'w'");
    assert_int_equal(cr_params_count(r), 0);
    cr_params_free(r);
    cr_params_free(q);
    cr_params_free(p);
    cr_tensor_free(w);
    cr_tensor_free(c);
    cr_tape_free(t);
}

/* Gradients (3, 4) and (12): N = 13. Clipping to 6.5 halves every gradient. */
static void test_clip_grad_norm_scales_to_max_norm_and_returns_old_norm(void **state)
{
    (void)state;
    cr_params *p = cr_params_new();
    int s2[1] = { 2 };
    cr_tensor *a = cr_param_new(1, s2), *b = cr_param_new(0, NULL);
    cr_params_add_owned(p, a, "a", NULL, 0);
    cr_params_add_owned(p, b, "b", NULL, 0);
    a->grad[0] = 3;
    a->grad[1] = -4;
    b->grad[0] = 12;
    assert_close(clip_norm(p, 20), 13, 1e-12, 0);   /* below: unchanged */
    assert_true(a->grad[0] == 3 && a->grad[1] == -4 && b->grad[0] == 12);
    assert_close(clip_norm(p, 6.5), 13, 1e-12, 0);
    assert_close(a->grad[0], 1.5, 1e-12, 0);
    assert_close(a->grad[1], -2, 1e-12, 0);
    assert_close(b->grad[0], 6, 1e-12, 0);
    assert_close(clip_norm(p, 100), 6.5, TOL(1e-12, 1e-6), 0);
    char err[96];
    double n = 42;
    assert_int_equal(cr_clip_grad_norm(p, -1, &n, err, sizeof err), CR_ERR_ARG);
    assert_string_equal(err, "clip_grad_norm: max_norm = -1 is not >= 0");
    assert_int_equal(cr_clip_grad_norm(p, NAN, &n, err, sizeof err), CR_ERR_ARG);
    assert_string_equal(err, "clip_grad_norm: max_norm = nan is not >= 0");
    assert_int_equal(cr_clip_grad_norm(NULL, 1, &n, err, sizeof err), CR_ERR_ARG);
    assert_string_equal(err, "clip_grad_norm: params is NULL");
    assert_true(n == 42);                                  /* untouched on failure */
    assert_int_equal(cr_clip_grad_norm(p, 1, NULL, NULL, 0), CR_OK);  /* norm may be NULL */
    assert_close(b->grad[0], 12 / 13.0, TOL(1e-12, 1e-6), 0);
    cr_params_free(p);
}

/* A non-finite norm leaves the gradients alone and is returned; huge finite
 * gradients (1e200 in double, 1e30 in float) do not overflow the norm. */
static void test_clip_grad_norm_handles_inf_and_huge_values(void **state)
{
    (void)state;
    cr_params *p = cr_params_new();
    int s2[1] = { 2 };
    cr_tensor *a = cr_param_new(1, s2);
    cr_params_add_owned(p, a, "a", NULL, 0);
    const double big = (cr_real)(CR_TEST_DOUBLE ? 1e200 : 1e30);   /* as stored */
    a->grad[0] = (cr_real)big;
    a->grad[1] = (cr_real)big;
    assert_close(clip_norm(p, 1), big * sqrt(2.0), 0, 1e-12);
    assert_close(a->grad[0], 1 / sqrt(2.0), 0, TOL(1e-12, 1e-6));
    a->grad[0] = INFINITY;
    a->grad[1] = 1;
    assert_true(isinf(clip_norm(p, 1)));
    assert_true(isinf(a->grad[0]) && a->grad[1] == 1);
    a->grad[0] = NAN;
    assert_true(isnan(clip_norm(p, 1)));
    assert_true(a->grad[1] == 1);
    cr_params_free(p);
}

static void test_clip_grad_value_clamps_each_element(void **state)
{
    (void)state;
    cr_params *p = cr_params_new();
    int s4[1] = { 4 };
    cr_tensor *a = cr_param_new(1, s4);
    cr_params_add_owned(p, a, "a", NULL, 0);
    const cr_real g[4] = { -3, 0.5f, 7, -1 };
    memcpy(a->grad, g, sizeof g);
    char err[96];
    assert_int_equal(cr_clip_grad_value(p, -1, err, sizeof err), CR_ERR_ARG);
    assert_string_equal(err, "clip_grad_value: clip = -1 is not >= 0");
    assert_int_equal(cr_clip_grad_value(p, NAN, NULL, 0), CR_ERR_ARG);
    assert_int_equal(cr_clip_grad_value(NULL, 1, err, sizeof err), CR_ERR_ARG);
    assert_string_equal(err, "clip_grad_value: params is NULL");
    assert_true(a->grad[2] == 7);
    assert_int_equal(cr_clip_grad_value(p, 1, NULL, 0), CR_OK);
    const double want[4] = { -1, 0.5, 1, -1 };
    assert_all_close(a->grad, want, 4, 0, 0);
    cr_params_free(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bad_hyper_parameters_are_rejected_with_a_message),
        cmocka_unit_test(test_defaults_are_documented_values),
        cmocka_unit_test(test_kind_names_round_trip_and_unknown_is_an_error),
        cmocka_unit_test(test_kind_names_ignore_case),
        cmocka_unit_test(test_hyper_parameters_by_name),
        cmocka_unit_test(test_set_lr_validates_and_changes_the_step),
        cmocka_unit_test(test_state_tensors_are_named_per_slot_and_parameter),
        cmocka_unit_test(test_step_does_not_allocate),
        cmocka_unit_test(test_step_refuses_a_list_changed_after_creation),
        cmocka_unit_test(test_params_add_says_why_it_refuses),
        cmocka_unit_test(test_zero_grad_clears_every_gradient),
        cmocka_unit_test(test_new_reports_allocation_failure),
        cmocka_unit_test(test_clip_grad_norm_scales_to_max_norm_and_returns_old_norm),
        cmocka_unit_test(test_clip_grad_norm_handles_inf_and_huge_values),
        cmocka_unit_test(test_clip_grad_value_clamps_each_element),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
