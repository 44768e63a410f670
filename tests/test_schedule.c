/* Learning-rate schedules: values at chosen steps against their closed forms
 * (worked out by hand in the comments), warm-up, validation, names. */
#include "helpers.h"

#include <math.h>
#include <string.h>

#define EXACT 1e-15

static void test_constant_is_lr0_at_every_step(void **state)
{
    (void)state;
    cr_schedule s = cr_schedule_defaults(CR_SCHED_CONSTANT, 0.1);
    assert_close(cr_schedule_lr(&s, 0), 0.1, 0, 0);
    assert_close(cr_schedule_lr(&s, 7), 0.1, 0, 0);
    assert_close(cr_schedule_lr(&s, 1000000), 0.1, 0, 0);
}

/* Course notes: η_t = C/√t with t counted from 1. Here t counts steps taken, so
 * step index 0, 3, 99 are the notes' t = 1, 4, 100: C, C/2, C/10. */
static void test_inv_sqrt_is_the_course_notes_c_over_root_t(void **state)
{
    (void)state;
    cr_schedule s = cr_schedule_defaults(CR_SCHED_INV_SQRT, 0.8);
    assert_close(cr_schedule_lr(&s, 0), 0.8, EXACT, 0);
    assert_close(cr_schedule_lr(&s, 3), 0.4, EXACT, 0);
    assert_close(cr_schedule_lr(&s, 99), 0.08, EXACT, 0);
    assert_close(cr_schedule_lr(&s, 1), 0.8 / sqrt(2.0), EXACT, 0);
}

/* η₀/(1 + k t), η₀ = 1, k = 0.5: 1, 1/2 at t = 2, 1/4 at t = 6. */
static void test_inv_is_lr0_over_one_plus_kt(void **state)
{
    (void)state;
    cr_schedule s = cr_schedule_defaults(CR_SCHED_INV, 1);
    s.k = 0.5;
    assert_close(cr_schedule_lr(&s, 0), 1, EXACT, 0);
    assert_close(cr_schedule_lr(&s, 2), 0.5, EXACT, 0);
    assert_close(cr_schedule_lr(&s, 6), 0.25, EXACT, 0);
}

/* η₀ γ^⌊t/s⌋ with γ = 0.5, s = 3: 1 for t = 0..2, 0.5 for 3..5, 0.25 at 6. */
static void test_step_decay_multiplies_by_gamma_every_s_steps(void **state)
{
    (void)state;
    cr_schedule s = cr_schedule_defaults(CR_SCHED_STEP, 1);
    s.gamma = 0.5;
    s.step_size = 3;
    const double want[8] = { 1, 1, 1, 0.5, 0.5, 0.5, 0.25, 0.25 };
    for (long t = 0; t < 8; t++) assert_close_i(cr_schedule_lr(&s, t), want[t], EXACT, 0, t);
}

/* η₀ γ^t with η₀ = 2, γ = 0.9: 2, 1.8, 1.62, and 2·0.9^10 at t = 10. */
static void test_exponential_decays_by_gamma_each_step(void **state)
{
    (void)state;
    cr_schedule s = cr_schedule_defaults(CR_SCHED_EXP, 2);
    s.gamma = 0.9;
    assert_close(cr_schedule_lr(&s, 0), 2, EXACT, 0);
    assert_close(cr_schedule_lr(&s, 1), 1.8, 1e-15, 0);
    assert_close(cr_schedule_lr(&s, 2), 1.62, 1e-15, 0);
    assert_close(cr_schedule_lr(&s, 10), 0.6973568802, 1e-10, 0);
}

/* η_min + (η₀ − η_min)(1 + cos(π t/T))/2, η₀ = 1, η_min = 0.1, T = 4:
 * t=0: 1; t=1: 0.1 + 0.45(1 + √2/2) = 0.868198051533946; t=2: 0.55;
 * t=3: 0.1 + 0.45(1 − √2/2) = 0.231801948466054; t >= 4: 0.1. */
static void test_cosine_anneals_from_lr0_to_lr_min_over_T(void **state)
{
    (void)state;
    cr_schedule s = cr_schedule_defaults(CR_SCHED_COSINE, 1);
    s.lr_min = 0.1;
    s.T = 4;
    const double want[7] = { 1, 0.868198051533946, 0.55, 0.231801948466054, 0.1, 0.1, 0.1 };
    for (long t = 0; t < 7; t++) assert_close_i(cr_schedule_lr(&s, t), want[t], 1e-14, 0, t);
}

/* Warm-up W = 4 on a constant 0.8: 0.2, 0.4, 0.6, 0.8, then 0.8. */
static void test_linear_warmup_ramps_to_the_base_schedule(void **state)
{
    (void)state;
    cr_schedule s = cr_schedule_defaults(CR_SCHED_CONSTANT, 0.8);
    s.warmup = 4;
    const double want[6] = { 0.2, 0.4, 0.6, 0.8, 0.8, 0.8 };
    for (long t = 0; t < 6; t++) assert_close_i(cr_schedule_lr(&s, t), want[t], EXACT, 0, t);
}

/* Warm-up W = 2 then step decay (γ = 0.5, s = 2) shifted by W: 0.5, 1, then
 * base(0..) = 1, 1, 0.5, 0.5, 0.25. */
static void test_warmup_combines_with_step_decay_shifted_by_w(void **state)
{
    (void)state;
    cr_schedule s = cr_schedule_defaults(CR_SCHED_STEP, 1);
    s.gamma = 0.5;
    s.step_size = 2;
    s.warmup = 2;
    const double want[7] = { 0.5, 1, 1, 1, 0.5, 0.5, 0.25 };
    for (long t = 0; t < 7; t++) assert_close_i(cr_schedule_lr(&s, t), want[t], EXACT, 0, t);
}

/* Warm-up W = 2 into a cosine over T = 2 (η_min = 0): 0.5, 1, 1, 0.5, 0, 0. */
static void test_warmup_combines_with_cosine(void **state)
{
    (void)state;
    cr_schedule s = cr_schedule_defaults(CR_SCHED_COSINE, 1);
    s.T = 2;
    s.warmup = 2;
    const double want[6] = { 0.5, 1, 1, 0.5, 0, 0 };
    for (long t = 0; t < 6; t++) assert_close_i(cr_schedule_lr(&s, t), want[t], 1e-15, 0, t);
}

static void test_negative_step_counts_as_zero_and_null_gives_zero(void **state)
{
    (void)state;
    cr_schedule s = cr_schedule_defaults(CR_SCHED_EXP, 1);
    s.gamma = 0.5;
    assert_close(cr_schedule_lr(&s, -5), 1, 0, 0);
    assert_close(cr_schedule_lr(NULL, 3), 0, 0, 0);
}

static void expect_bad(cr_schedule s, const char *needle)
{
    char err[128] = "";
    assert_int_equal(cr_schedule_check(&s, err, sizeof err), CR_ERR_ARG);
    if (!strstr(err, needle)) fail_msg("message '%s' lacks '%s'", err, needle);
}

static void test_bad_schedules_are_rejected_with_a_message(void **state)
{
    (void)state;
    cr_schedule s = cr_schedule_defaults(CR_SCHED_STEP, 0.1);
    s.gamma = 0;
    expect_bad(s, "gamma = 0 is outside (0, 1]");
    s = cr_schedule_defaults(CR_SCHED_EXP, 0.1);
    s.gamma = 1.5;
    expect_bad(s, "gamma = 1.5");
    s = cr_schedule_defaults(CR_SCHED_STEP, 0.1);
    s.step_size = 0;
    expect_bad(s, "step_size = 0");
    s = cr_schedule_defaults(CR_SCHED_COSINE, 0.1);
    s.T = 0;
    expect_bad(s, "T = 0");
    s = cr_schedule_defaults(CR_SCHED_COSINE, 0.1);
    s.lr_min = 0.2;
    expect_bad(s, "lr_min = 0.2");
    s = cr_schedule_defaults(CR_SCHED_INV, 0.1);
    s.k = -1;
    expect_bad(s, "k = -1");
    s = cr_schedule_defaults(CR_SCHED_CONSTANT, -0.1);
    expect_bad(s, "lr0 = -0.1");
    s = cr_schedule_defaults(CR_SCHED_CONSTANT, NAN);
    expect_bad(s, "lr0 = nan");
    s = cr_schedule_defaults(CR_SCHED_CONSTANT, 0.1);
    s.warmup = -1;
    expect_bad(s, "warmup = -1");
    s.kind = (cr_schedule_kind)17;
    s.warmup = 0;
    expect_bad(s, "unknown kind 17");
    assert_int_equal(cr_schedule_check(NULL, NULL, 0), CR_ERR_ARG);
    /* a cosine's bad gamma does not matter: the kind does not use it */
    s = cr_schedule_defaults(CR_SCHED_COSINE, 0.1);
    s.gamma = -3;
    assert_int_equal(cr_schedule_check(&s, NULL, 0), CR_OK);
}

static void test_defaults_pass_the_check(void **state)
{
    (void)state;
    for (int k = 0; k < CR_SCHED_KIND_COUNT; k++) {
        cr_schedule s = cr_schedule_defaults((cr_schedule_kind)k, 0.05);
        assert_int_equal(s.kind, k);
        assert_close(s.lr0, 0.05, 0, 0);
        assert_int_equal(s.warmup, 0);
        assert_int_equal(cr_schedule_check(&s, NULL, 0), CR_OK);
        assert_close(cr_schedule_lr(&s, 0), 0.05, EXACT, 0);   /* every schedule starts at η₀ */
    }
}

static void test_schedule_names_round_trip(void **state)
{
    (void)state;
    const char *names[CR_SCHED_KIND_COUNT] = { "constant", "invsqrt", "inv", "step", "exp",
                                               "cosine" };
    for (int k = 0; k < CR_SCHED_KIND_COUNT; k++) {
        cr_schedule_kind got = CR_SCHED_CONSTANT;
        assert_int_equal(cr_schedule_kind_from_name(names[k], &got), CR_OK);
        assert_int_equal(got, k);
        assert_string_equal(cr_schedule_kind_name((cr_schedule_kind)k), names[k]);
    }
    cr_schedule_kind kind = CR_SCHED_EXP;
    assert_int_equal(cr_schedule_kind_from_name("linear", &kind), CR_ERR_ARG);
    assert_int_equal(kind, CR_SCHED_EXP);
    assert_string_equal(cr_schedule_kind_name((cr_schedule_kind)-1), "?");
}

/* One rule for every name table of the library: case is ignored. */
static void test_schedule_names_ignore_case(void **state)
{
    (void)state;
    cr_schedule_kind kind = CR_SCHED_CONSTANT;
    assert_int_equal(cr_schedule_kind_from_name("Cosine", &kind), CR_OK);
    assert_int_equal(kind, CR_SCHED_COSINE);
    assert_int_equal(cr_schedule_kind_from_name("INVSQRT", &kind), CR_OK);
    assert_int_equal(kind, CR_SCHED_INV_SQRT);
    assert_int_equal(cr_schedule_kind_from_name("cosines", &kind), CR_ERR_ARG);
    assert_int_equal(cr_schedule_kind_from_name("cosin", &kind), CR_ERR_ARG);
    assert_int_equal(kind, CR_SCHED_INV_SQRT);
}

/* The intended loop: set the optimizer's lr from the schedule before each step.
 * SGD on f = θ²/2 (g = θ) with η_t = 0.5·0.5^t from θ = 1:
 * θ ← θ(1 − η_t): 1 · 0.5 · 0.75 · 0.875 = 0.328125. */
static void test_schedule_drives_the_optimizer(void **state)
{
    (void)state;
    cr_params *p = cr_params_new();
    cr_tensor *x = cr_param_new(0, NULL);
    cr_params_add_owned(p, x, "x", NULL, 0);
    x->data[0] = 1;
    cr_optim_config c = cr_optim_defaults(CR_OPTIM_SGD);
    cr_optim *o = cr_optim_new(p, &c, NULL, 0);
    cr_schedule s = cr_schedule_defaults(CR_SCHED_EXP, 0.5);
    s.gamma = 0.5;
    for (int i = 0; i < 3; i++) {
        x->grad[0] = x->data[0];
        assert_int_equal(cr_optim_set_lr(o, cr_schedule_lr(&s, cr_optim_step_count(o))), CR_OK);
        assert_int_equal(cr_optim_step(o, NULL, 0), CR_OK);
    }
    assert_close(x->data[0], 0.328125, 0, 0);
    cr_optim_free(o);
    cr_params_free(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_constant_is_lr0_at_every_step),
        cmocka_unit_test(test_inv_sqrt_is_the_course_notes_c_over_root_t),
        cmocka_unit_test(test_inv_is_lr0_over_one_plus_kt),
        cmocka_unit_test(test_step_decay_multiplies_by_gamma_every_s_steps),
        cmocka_unit_test(test_exponential_decays_by_gamma_each_step),
        cmocka_unit_test(test_cosine_anneals_from_lr0_to_lr_min_over_T),
        cmocka_unit_test(test_linear_warmup_ramps_to_the_base_schedule),
        cmocka_unit_test(test_warmup_combines_with_step_decay_shifted_by_w),
        cmocka_unit_test(test_warmup_combines_with_cosine),
        cmocka_unit_test(test_negative_step_counts_as_zero_and_null_gives_zero),
        cmocka_unit_test(test_bad_schedules_are_rejected_with_a_message),
        cmocka_unit_test(test_defaults_pass_the_check),
        cmocka_unit_test(test_schedule_names_round_trip),
        cmocka_unit_test(test_schedule_names_ignore_case),
        cmocka_unit_test(test_schedule_drives_the_optimizer),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
