/* User-defined optimizers (cr_optim_def): Lion as examples/lion.c writes it, against
 * a float64 trajectory of the paper's formula (tests/fixtures/lion_fixture.h, from
 * tools/fixtures/make_lion_fixture.py); its state saved and loaded by name, a resumed
 * run bit-identical to an uninterrupted one, files refused by the wrong optimizer;
 * definitions validated; updates split over a pool with the same bits. */
#include "helpers.h"
#include "fixtures/lion_fixture.h"

#define LION_NO_MAIN
#include "../examples/lion.c"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char dir[64];

static int setup_dir(void **state)
{
    (void)state;
    strcpy(dir, "/tmp/cr_test_optim_custom_XXXXXX");
    return mkdtemp(dir) ? 0 : -1;
}

static int teardown_dir(void **state)
{
    (void)state;
    char p[128];
    const char *files[] = { "lion.crm", "adam.crm", "ex.crm" };
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        snprintf(p, sizeof p, "%s/%s", dir, files[i]);
        unlink(p);
    }
    rmdir(dir);
    return 0;
}

static const char *path_in(const char *name)
{
    static char buf[128];
    snprintf(buf, sizeof buf, "%s/%s", dir, name);
    return buf;
}

/* The fixture problem: w (2x3), b (3); g = θ(θ² − c). */
typedef struct problem {
    cr_params *p;
    cr_tensor *w, *b;
} problem;

static problem problem_new(void)
{
    problem pr;
    int sw[2] = { 2, 3 }, sb[1] = { 3 };
    pr.p = cr_params_new();
    pr.w = cr_param_new(2, sw);
    pr.b = cr_param_new(1, sb);
    assert_int_equal(cr_params_add_owned(pr.p, pr.w, "w", NULL, 0), CR_OK);
    assert_int_equal(cr_params_add_owned(pr.p, pr.b, "b", NULL, 0), CR_OK);
    for (int i = 0; i < 6; i++) pr.w->data[i] = (cr_real)lion_fix_w0[i];
    for (int i = 0; i < 3; i++) pr.b->data[i] = (cr_real)lion_fix_b0[i];
    return pr;
}

static void set_grads(problem *pr)
{
    for (int i = 0; i < 6; i++) {
        double t = pr->w->data[i];
        pr->w->grad[i] = (cr_real)(t * (t * t - lion_fix_cw[i]));
    }
    for (int i = 0; i < 3; i++) {
        double t = pr->b->data[i];
        pr->b->grad[i] = (cr_real)(t * (t * t - lion_fix_cb[i]));
    }
}

static cr_optim_config lion_config(const lion_fix_case *c)
{
    cr_optim_config cfg = cr_optim_def_defaults(&lion_def);
    cfg.lr = c->lr;
    assert_int_equal(cr_optim_config_set(&cfg, "beta1", c->beta1), CR_OK);
    assert_int_equal(cr_optim_config_set(&cfg, "beta2", c->beta2), CR_OK);
    assert_int_equal(cr_optim_config_set(&cfg, "weight_decay", c->weight_decay), CR_OK);
    return cfg;
}

static void test_lion_matches_the_formula_fixture(void **state)
{
    (void)state;
    const double tol = TOL(1e-12, 1e-5);
    for (size_t k = 0; k < sizeof lion_fix_cases / sizeof lion_fix_cases[0]; k++) {
        const lion_fix_case *c = &lion_fix_cases[k];
        problem pr = problem_new();
        cr_optim_config cfg = lion_config(c);
        char err[128];
        cr_optim *o = cr_optim_new(pr.p, &cfg, err, sizeof err);
        assert_non_null(o);
        for (int step = 0; step < LION_FIX_STEPS; step++) {
            set_grads(&pr);
            assert_int_equal(cr_optim_step(o, NULL, 0), CR_OK);
            for (int i = 0; i < 6; i++) assert_close_i(pr.w->data[i], c->theta[step][i], tol, tol, i);
            for (int i = 0; i < 3; i++)
                assert_close_i(pr.b->data[i], c->theta[step][6 + i], tol, tol, 6 + i);
        }
        const cr_tensor *mw = cr_optim_state_find(o, "m.w"), *mb = cr_optim_state_find(o, "m.b");
        assert_non_null(mw);
        assert_non_null(mb);
        for (int i = 0; i < 6; i++) assert_close_i(mw->data[i], c->m[i], tol, tol, i);
        for (int i = 0; i < 3; i++) assert_close_i(mb->data[i], c->m[6 + i], tol, tol, 6 + i);
        cr_optim_free(o);
        cr_params_free(pr.p);
    }
}

static void test_user_optimizer_names_state_and_hyper_parameters(void **state)
{
    (void)state;
    problem pr = problem_new();
    cr_optim_config cfg = cr_optim_def_defaults(&lion_def);
    assert_ptr_equal(cfg.def, &lion_def);
    assert_true(cfg.lr == 1e-4 && cfg.hyper[0] == 0.9 && cfg.hyper[1] == 0.99 && cfg.hyper[2] == 0);
    assert_int_equal(cr_optim_config_set(&cfg, "Beta2", 0.5), CR_OK);   /* any case */
    assert_true(cfg.hyper[1] == 0.5);
    assert_int_equal(cr_optim_config_set(&cfg, "lr", 0.25), CR_OK);
    assert_true(cfg.lr == 0.25);
    double v = 3;
    assert_int_equal(cr_optim_config_get(&cfg, "momentum", &v), CR_ERR_ARG); /* not lion's */
    assert_true(v == 3);
    cr_optim *o = cr_optim_new(pr.p, &cfg, NULL, 0);
    assert_non_null(o);
    assert_string_equal(cr_optim_name(o), "lion");
    assert_int_equal(cr_optim_state_count(o), 2);
    assert_string_equal(cr_optim_state_name(o, 0), "m.w");
    assert_string_equal(cr_optim_state_name(o, 1), "m.b");
    assert_true(cr_optim_state_get(o, 1)->data[2] == 0);   /* slots start at 0 */
    cr_optim_free(o);
    cr_params_free(pr.p);
}

/* `steps` Lion steps (the lion_wd case's hyper-parameters) on pr. */
static cr_optim *lion_run(problem *pr, int steps)
{
    cr_optim_config cfg = lion_config(&lion_fix_cases[1]);
    cr_optim *o = cr_optim_new(pr->p, &cfg, NULL, 0);
    assert_non_null(o);
    for (int s = 0; s < steps; s++) {
        set_grads(pr);
        assert_int_equal(cr_optim_step(o, NULL, 0), CR_OK);
    }
    return o;
}

static void assert_same_bits(const cr_tensor *a, const cr_tensor *b)
{
    assert_int_equal(a->size, b->size);
    assert_memory_equal(a->data, b->data, a->size * sizeof(cr_real));
}

static void test_lion_save_load_continue_is_bit_identical(void **state)
{
    (void)state;
    problem a = problem_new(), b = problem_new();
    cr_optim *oa = lion_run(&a, 4);
    char err[256];
    assert_int_equal(cr_save(path_in("lion.crm"), a.p, oa, NULL, err, sizeof err), CR_OK);
    for (int s = 4; s < 10; s++) {          /* the uninterrupted run */
        set_grads(&a);
        assert_int_equal(cr_optim_step(oa, NULL, 0), CR_OK);
    }
    /* b: other values and hyper-parameters until the load replaces them */
    cr_optim_config cfg = cr_optim_def_defaults(&lion_def);
    b.w->data[0] = 42;
    cr_optim *ob = cr_optim_new(b.p, &cfg, NULL, 0);
    assert_int_equal(cr_load(path_in("lion.crm"), b.p, ob, NULL, err, sizeof err), CR_OK);
    assert_int_equal(cr_optim_step_count(ob), 4);
    assert_true(cr_optim_lr(ob) == lion_fix_cases[1].lr);
    assert_true(cr_optim_get_config(ob)->hyper[0] == lion_fix_cases[1].beta1);
    assert_true(cr_optim_get_config(ob)->hyper[2] == lion_fix_cases[1].weight_decay);
    for (int s = 4; s < 10; s++) {
        set_grads(&b);
        assert_int_equal(cr_optim_step(ob, NULL, 0), CR_OK);
    }
    assert_same_bits(a.w, b.w);
    assert_same_bits(a.b, b.b);
    for (size_t i = 0; i < cr_optim_state_count(oa); i++)
        assert_same_bits(cr_optim_state_get(oa, i), cr_optim_state_get(ob, i));
    assert_int_equal(cr_optim_step_count(ob), 10);
    cr_optim_free(oa);
    cr_optim_free(ob);
    cr_params_free(a.p);
    cr_params_free(b.p);
}

/* The OPTN section of docs/FORMAT.md: tag, length, name, step, hyper-parameters by name. */
static void test_lion_file_holds_the_named_optimizer_section(void **state)
{
    (void)state;
    problem a = problem_new();
    cr_optim *oa = lion_run(&a, 3);
    assert_int_equal(cr_save(path_in("lion.crm"), a.p, oa, NULL, NULL, 0), CR_OK);
    FILE *f = fopen(path_in("lion.crm"), "rb");
    assert_non_null(f);
    unsigned char buf[4096];
    size_t n = fread(buf, 1, sizeof buf, f);
    fclose(f);
    const unsigned char *p = NULL;
    for (size_t i = 0; i + 4 <= n; i++) {
        assert_true(memcmp(buf + i, "OPTM", 4) != 0);   /* not the built-in section */
        if (!p && memcmp(buf + i, "OPTN", 4) == 0) p = buf + i;
    }
    assert_non_null(p);
    p += 12;                                            /* tag, u64 body length */
    assert_memory_equal(p, "\x04\0\0\0lion", 8);
    assert_memory_equal(p + 8, "\x03\0\0\0\0\0\0\0", 8); /* step 3 */
    assert_memory_equal(p + 16, "\x04\0\0\0\x02\0\0\0lr", 10); /* 4 hyper-parameters, lr first */
    uint64_t bits = 0, want;
    for (int i = 7; i >= 0; i--) bits = bits << 8 | p[26 + i];   /* little-endian binary64 */
    double lr = lion_fix_cases[1].lr;
    memcpy(&want, &lr, 8);
    assert_true(bits == want);
    assert_memory_equal(p + 34, "\x05\0\0\0beta1", 9);
    cr_optim_free(oa);
    cr_params_free(a.p);
}

/* Loads that must fail leave the optimizer as it was and say why. */
static void expect_refused(const char *file, cr_optim *o, cr_status want, const char *msg)
{
    char err[256] = "";
    long t = cr_optim_step_count(o);
    cr_optim_config before = *cr_optim_get_config(o);
    assert_int_equal(cr_load(path_in(file), NULL, o, NULL, err, sizeof err), want);
    if (!strstr(err, msg)) fail_msg("message \"%s\" lacks \"%s\"", err, msg);
    assert_int_equal(cr_optim_step_count(o), t);
    assert_memory_equal(cr_optim_get_config(o), &before, sizeof before);
}

static void dummy_update(const cr_optim_update_args *a) { (void)a; }

static void test_files_are_refused_by_an_optimizer_of_another_name_or_hyper_parameters(void **state)
{
    (void)state;
    problem a = problem_new();
    cr_optim *lion = lion_run(&a, 2);
    cr_optim_config c = cr_optim_defaults(CR_OPTIM_ADAM);
    cr_optim *adam = cr_optim_new(a.p, &c, NULL, 0);
    assert_int_equal(cr_save(path_in("lion.crm"), a.p, lion, NULL, NULL, 0), CR_OK);
    assert_int_equal(cr_save(path_in("adam.crm"), a.p, adam, NULL, NULL, 0), CR_OK);

    expect_refused("lion.crm", adam, CR_ERR_SHAPE,
                   "lion.crm: optimizer is lion in the file but adam here (lion is user-defined");
    expect_refused("adam.crm", lion, CR_ERR_SHAPE, "adam.crm: optimizer is adam in the file but "
                                                   "lion here");
    /* a program that does not know lion still reads the parameters */
    problem b = problem_new();
    assert_int_equal(cr_load(path_in("lion.crm"), b.p, NULL, NULL, NULL, 0), CR_OK);
    assert_memory_equal(b.w->data, a.w->data, 6 * sizeof(cr_real));

    /* a "lion" with another hyper-parameter list */
    cr_optim_def extra = lion_def, fewer = lion_def, other = lion_def;
    extra.nhyper = 4;
    extra.hyper[3] = "gamma";
    fewer.nhyper = 2;
    other.name = "lion2";
    other.update = dummy_update;
    cr_optim_config ce = cr_optim_def_defaults(&extra), cf = cr_optim_def_defaults(&fewer);
    cr_optim_config co = cr_optim_def_defaults(&other);
    cr_optim *oe = cr_optim_new(a.p, &ce, NULL, 0), *of = cr_optim_new(a.p, &cf, NULL, 0);
    cr_optim *oo = cr_optim_new(a.p, &co, NULL, 0);
    expect_refused("lion.crm", oe, CR_ERR_SHAPE, "hyper-parameter gamma of lion is missing from "
                                                 "the file");
    expect_refused("lion.crm", of, CR_ERR_SHAPE, "hyper-parameter weight_decay of lion is in the "
                                                 "file but not in the optimizer");
    expect_refused("lion.crm", oo, CR_ERR_SHAPE, "optimizer is lion in the file but lion2 here");

    /* slots are matched by name like any state */
    cr_optim_def renamed = lion_def;
    renamed.slot[0] = "mom";
    cr_optim_config cr = cr_optim_def_defaults(&renamed);
    cr_optim *orn = cr_optim_new(a.p, &cr, NULL, 0);
    expect_refused("lion.crm", orn, CR_ERR_SHAPE, "optimizer state m.w is in the file but not in "
                                                  "the optimizer");
    cr_optim_free(orn);
    cr_optim_free(oe);
    cr_optim_free(of);
    cr_optim_free(oo);
    cr_optim_free(lion);
    cr_optim_free(adam);
    cr_params_free(a.p);
    cr_params_free(b.p);
}

static void expect_bad_def(const cr_optim_def *d, const char *msg)
{
    problem pr = problem_new();
    cr_optim_config c = cr_optim_def_defaults(d);
    char err[160] = "";
    assert_int_equal(cr_optim_config_check(&c, err, sizeof err), CR_ERR_ARG);
    if (!strstr(err, msg)) fail_msg("message \"%s\" lacks \"%s\"", err, msg);
    assert_null(cr_optim_new(pr.p, &c, err, sizeof err));
    cr_params_free(pr.p);
}

static void test_definitions_and_values_are_validated(void **state)
{
    (void)state;
    cr_optim_def d = lion_def;
    d.name = "";
    expect_bad_def(&d, "needs a name of 1..63 bytes");
    d = lion_def;
    d.update = NULL;
    expect_bad_def(&d, "optim: lion has no update function");
    d = lion_def;
    d.nslots = CR_OPTIM_MAX_SLOTS + 1;
    expect_bad_def(&d, "optim: lion has 5 slots");
    d = lion_def;
    d.nslots = 2;
    d.slot[1] = "m";
    expect_bad_def(&d, "optim: lion: slot m twice");
    d = lion_def;
    d.hyper[1] = "LR";
    expect_bad_def(&d, "hyper-parameter LR twice (lr is always there)");
    d = lion_def;
    d.defaults[2] = NAN;
    expect_bad_def(&d, "optim: lion: weight_decay = nan is not finite");
    d = lion_def;
    d.defaults[0] = 1;
    expect_bad_def(&d, "lion: beta1 = 1 is outside [0, 1)");   /* the def's own check */
    d = lion_def;
    d.lr = -1;
    expect_bad_def(&d, "optim: lr = -1 is negative");
}

/* Counts calls and elements: per_tensor gets each parameter whole. */
static size_t calls, largest;
static void counting_update(const cr_optim_update_args *a)
{
    __atomic_add_fetch(&calls, 1, __ATOMIC_RELAXED);
    size_t cur = __atomic_load_n(&largest, __ATOMIC_RELAXED);
    while (a->n > cur &&
           !__atomic_compare_exchange_n(&largest, &cur, a->n, 0, __ATOMIC_RELAXED, __ATOMIC_RELAXED))
        ;
    lion_update(a);
}

static void test_pool_split_gives_the_same_bits_and_per_tensor_is_whole(void **state)
{
    (void)state;
    int n = 100000;
    cr_pool *pool = cr_pool_new(3);
    assert_non_null(pool);
    cr_optim_def d = lion_def;
    d.update = counting_update;
    cr_tensor *x[3];
    cr_params *p[3];
    cr_optim *o[3];
    for (int k = 0; k < 3; k++) {
        cr_rng r;
        cr_rng_seed(&r, 5);
        p[k] = cr_params_new();
        x[k] = cr_param_new(1, &n);
        assert_int_equal(cr_params_add_owned(p[k], x[k], "x", NULL, 0), CR_OK);
        cr_tensor_rand_normal(x[k], &r, 0, 1);
        d.per_tensor = k == 2;
        cr_optim_config c = cr_optim_def_defaults(&d);
        c.lr = 0.01;
        o[k] = cr_optim_new(p[k], &c, NULL, 0);
        if (k > 0) cr_optim_set_pool(o[k], pool);
    }
    for (int k = 0; k < 3; k++) {
        calls = largest = 0;
        for (int s = 0; s < 3; s++) {
            for (int i = 0; i < n; i++) x[k]->grad[i] = (cr_real)sin(0.001 * i + s) * x[k]->data[i];
            assert_int_equal(cr_optim_step(o[k], NULL, 0), CR_OK);
        }
        if (k == 1) assert_true(calls > 3 && largest < (size_t)n);   /* split into ranges */
        else assert_true(calls == 3 && largest == (size_t)n);
    }
    assert_same_bits(x[0], x[1]);
    assert_same_bits(x[0], x[2]);
    assert_same_bits(cr_optim_state_get(o[0], 0), cr_optim_state_get(o[1], 0));
    for (int k = 0; k < 3; k++) {
        cr_optim_free(o[k]);
        cr_params_free(p[k]);
    }
    cr_pool_free(pool);
}

static void test_lion_example_learns_xor_and_resumes_on_the_same_bits(void **state)
{
    (void)state;
    char cmd[512], out[4096];
    snprintf(cmd, sizeof cmd, "%s/examples/lion %s 2>&1", CR_BUILD_DIR, path_in("ex.crm"));
    FILE *f = popen(cmd, "r");
    assert_non_null(f);
    size_t n = fread(out, 1, sizeof out - 1, f);
    out[n] = '\0';
    assert_int_equal(pclose(f), 0);
    assert_non_null(strstr(out, "4 state tensors, first m.fc1.W, step 150\n"));
    assert_non_null(strstr(out, "loaded into a fresh lion optimizer at step 150\n"));
    assert_non_null(strstr(out, "resumed run: same\n"));
    const char *p = strstr(out, "step 300  loss ");
    assert_non_null(p);
    double last = 1;
    sscanf(p, "step 300  loss %lf", &last);
    assert_true(last < 0.05);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lion_matches_the_formula_fixture),
        cmocka_unit_test(test_user_optimizer_names_state_and_hyper_parameters),
        cmocka_unit_test(test_lion_save_load_continue_is_bit_identical),
        cmocka_unit_test(test_lion_file_holds_the_named_optimizer_section),
        cmocka_unit_test(test_files_are_refused_by_an_optimizer_of_another_name_or_hyper_parameters),
        cmocka_unit_test(test_definitions_and_values_are_validated),
        cmocka_unit_test(test_pool_split_gives_the_same_bits_and_per_tensor_is_whole),
        cmocka_unit_test(test_lion_example_learns_xor_and_resumes_on_the_same_bits),
    };
    return cmocka_run_group_tests(tests, setup_dir, teardown_dir);
}
