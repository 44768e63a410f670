/* Elementwise ops: gradient checks of every op on ranks 0..4, exact values,
 * the derivative chosen at each kink, numerics at the extremes, the course notes'
 * second autodiff example, errors. Broadcasting has its own file
 * (test_broadcast.c). Expected numbers are closed forms computed by hand. */
#include "op_grad_helpers.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* --------------------------------------------------------- unary table */

typedef struct unary_case {
    const char *name;
    cr_tensor *(*f)(cr_tape *, cr_tensor *);             /* NULL: use fp */
    cr_tensor *(*fp)(cr_tape *, cr_tensor *, cr_real);   /* op with a constant */
    cr_real p;
    double lo, hi;   /* |x| drawn from U(lo, hi) */
    int sign;        /* 1: random sign; 0: x > 0 */
} unary_case;

/* Ranges keep every input away from kinks (|x| >= 0.1 for abs/relu/leaky) and
 * inside the domain (x > 0 for log, sqrt and non-integer powers). */
static const unary_case unary_cases[] = {
    { "neg", cr_neg, NULL, 0, 0, 2, 1 },
    { "exp", cr_exp, NULL, 0, 0, 2, 1 },
    { "log", cr_log, NULL, 0, 0.5, 3, 0 },
    { "sqrt", cr_sqrt, NULL, 0, 0.5, 3, 0 },
    { "pow3", NULL, cr_pow, 3, 0.2, 1.5, 1 },
    { "pow2.5", NULL, cr_pow, 2.5, 0.5, 2, 0 },
    { "pow-1.5", NULL, cr_pow, -1.5, 0.5, 2, 0 },
    { "square", cr_square, NULL, 0, 0, 2, 1 },
    { "abs", cr_abs, NULL, 0, 0.1, 2, 1 },
    { "relu", cr_relu, NULL, 0, 0.1, 2, 1 },
    { "leaky_relu", NULL, cr_leaky_relu, 0.125, 0.1, 2, 1 },
    { "sigmoid", cr_sigmoid, NULL, 0, 0, 4, 1 },
    { "tanh", cr_tanh, NULL, 0, 0, 3, 1 },
    { "scale", NULL, cr_scale, -1.75, 0, 2, 1 },
    { "add_scalar", NULL, cr_add_scalar, 0.75f, 0, 2, 1 },
};
#define N_UNARY (sizeof unary_cases / sizeof unary_cases[0])

static cr_tensor *apply_unary(cr_tape *t, const unary_case *c, cr_tensor *x)
{
    return c->f ? c->f(t, x) : c->fp(t, x, c->p);
}

static cr_tensor *build_unary(cr_tape *t, cr_tensor *const *in, int n, void *user)
{
    (void)n;
    return wsum(t, apply_unary(t, user, in[0]));
}

static void fill_case(cr_tensor *x, const unary_case *c, cr_rng *r)
{
    for (size_t i = 0; i < x->size; i++) {
        double v = c->lo + (c->hi - c->lo) * cr_rng_uniform(r);
        if (c->sign && cr_rng_below(r, 2)) v = -v;
        x->data[i] = (cr_real)v;
    }
}

static const int shapes[][CR_MAX_DIMS] = { { 0 }, { 5 }, { 2, 3 }, { 2, 1, 3 }, { 2, 2, 1, 3 } };
static const int ranks[] = { 0, 1, 2, 3, 4 };

/* Every unary op passes the central-difference check on ranks 0 to 4. */
static void test_unary_ops_pass_gradcheck_on_ranks_0_to_4(void **state)
{
    (void)state;
    cr_rng r;
    cr_rng_seed(&r, 7);
    for (size_t c = 0; c < N_UNARY; c++)
        for (int s = 0; s < 5; s++) {
            cr_tensor *x = cr_param_new(ranks[s], shapes[s]);
            assert_non_null(x);
            fill_case(x, &unary_cases[c], &r);
            cr_gradcheck_result res;
            cr_status st = cr_gradcheck(build_unary, &x, 1, (void *)&unary_cases[c], 0, &res, NULL, 0);
            if (st != CR_OK || !(res.max_rel_err <= GRAD_TOL))
                print_error("%s on rank %d: status %d, max_rel_err %.3g at %zu "
                            "(analytic %.10g, numeric %.10g)\n", unary_cases[c].name, ranks[s],
                            (int)st, res.max_rel_err, res.worst_index, res.analytic,
                            res.numeric);
            assert_int_equal(st, CR_OK);
            assert_true(res.max_rel_err <= GRAD_TOL);
            cr_tensor_free(x);
        }
}

/* Binary ops on equal shapes, every rank (broadcast cases: test_broadcast.c). */
typedef cr_tensor *(*binary_fn)(cr_tape *, cr_tensor *, cr_tensor *);

static cr_tensor *build_binary(cr_tape *t, cr_tensor *const *in, int n, void *user)
{
    (void)n;
    binary_fn f = *(binary_fn *)user;
    return wsum(t, f(t, in[0], in[1]));
}

static void test_binary_ops_pass_gradcheck_on_ranks_0_to_4(void **state)
{
    (void)state;
    binary_fn fns[] = { cr_add, cr_sub, cr_mul, cr_div, cr_max };
    const char *names[] = { "add", "sub", "mul", "div", "max" };
    cr_rng r;
    cr_rng_seed(&r, 11);
    for (int f = 0; f < 5; f++)
        for (int s = 0; s < 5; s++) {
            cr_tensor *in[2] = { cr_param_new(ranks[s], shapes[s]),
                                 cr_param_new(ranks[s], shapes[s]) };
            assert_non_null(in[0]);
            assert_non_null(in[1]);
            for (size_t i = 0; i < in[0]->size; i++) {
                /* |b| >= 0.5 for div; a - b at least 0.15 away from 0 for max */
                double a = -2 + 4 * cr_rng_uniform(&r);
                double b = 0.5 + 1.5 * cr_rng_uniform(&r);
                if (cr_rng_below(&r, 2)) b = -b;
                if (f == 4) b = a + (cr_rng_below(&r, 2) ? 1 : -1) * (0.15 + cr_rng_uniform(&r));
                in[0]->data[i] = (cr_real)a;
                in[1]->data[i] = (cr_real)b;
            }
            cr_gradcheck_result res;
            cr_status st = cr_gradcheck(build_binary, in, 2, &fns[f], 0, &res, NULL, 0);
            if (st != CR_OK || !(res.max_rel_err <= GRAD_TOL))
                print_error("%s on rank %d: max_rel_err %.3g at input %d [%zu]\n", names[f],
                            ranks[s], res.max_rel_err, res.worst_input, res.worst_index);
            assert_int_equal(st, CR_OK);
            assert_true(res.max_rel_err <= GRAD_TOL);
            cr_tensor_free(in[0]);
            cr_tensor_free(in[1]);
        }
}

/* ------------------------------------------------------- exact values */

/* Value and gradient of op at one scalar point, compared with closed forms. */
static void check_point(const unary_case *c, double x, double value, double grad, double rtol)
{
    cr_tape *t = cr_tape_new(0);
    cr_tensor *v = cr_scalar(t, (cr_real)x);
    cr_tensor *y = apply_unary(t, c, v);
    assert_non_null(y);
    assert_int_equal(cr_backward(t, y), CR_OK);
    assert_close(cr_item(y), value, 0, rtol);
    assert_close(cr_grad_item(v), grad, 0, rtol);
    cr_tape_free(t);
}

static const unary_case *find_case(const char *name)
{
    for (size_t c = 0; c < N_UNARY; c++)
        if (strcmp(unary_cases[c].name, name) == 0) return &unary_cases[c];
    fail_msg("no case %s", name);
    return NULL;
}

/* Hand-computed values and slopes (tanh(1) and e from their definitions). */
static void test_unary_values_and_slopes_match_closed_forms(void **state)
{
    (void)state;
    double r = TOL(1e-15, 1e-6);
    const double th1 = 0.76159415595576488812;          /* tanh 1 */
    check_point(find_case("neg"), 2, -2, -1, 0);
    check_point(find_case("exp"), 0, 1, 1, 0);
    check_point(find_case("exp"), 1, exp(1.0), exp(1.0), r);
    check_point(find_case("log"), 1, 0, 1, 0);
    check_point(find_case("log"), 4, log(4.0), 0.25, r);
    check_point(find_case("sqrt"), 4, 2, 0.25, 0);
    check_point(find_case("pow3"), 2, 8, 12, r);
    check_point(find_case("pow2.5"), 4, 32, 2.5 * 8, r);   /* 4^2.5, 2.5 * 4^1.5 */
    check_point(find_case("pow-1.5"), 4, 0.125, -1.5 / 32, r);
    check_point(find_case("square"), -3, 9, -6, 0);
    check_point(find_case("abs"), -2, 2, -1, 0);
    check_point(find_case("relu"), -1, 0, 0, 0);
    check_point(find_case("relu"), 2, 2, 1, 0);
    check_point(find_case("leaky_relu"), -2, -0.25, 0.125, 0);
    check_point(find_case("leaky_relu"), 3, 3, 1, 0);
    check_point(find_case("tanh"), 0, 0, 1, 0);
    check_point(find_case("tanh"), 1, th1, 1 - th1 * th1, TOL(1e-14, 2e-6));
    check_point(find_case("tanh"), -1, -th1, 1 - th1 * th1, TOL(1e-14, 2e-6));
    check_point(find_case("scale"), 2, -3.5, -1.75, 0);
    check_point(find_case("add_scalar"), 2, 2.75, 1, 0);
    /* sigmoid(0) = 1/2 and its slope s(1-s) = 1/4, both exact in binary */
    check_point(find_case("sigmoid"), 0, 0.5, 0.25, 0);
    check_point(find_case("sigmoid"), 2, 1 / (1 + exp(-2.0)),
                exp(-2.0) / ((1 + exp(-2.0)) * (1 + exp(-2.0))), TOL(1e-14, 1e-6));
}

/* Elementwise on a tensor: every element computed (no element skipped). */
static void test_unary_ops_apply_to_every_element(void **state)
{
    (void)state;
    cr_tape *t = cr_tape_new(0);
    int shape[3] = { 2, 1, 3 };
    const cr_real v[6] = { -3, -1, 0, 0.5f, 2, 4 };
    cr_tensor *x = cr_var(t, 3, shape, v);
    cr_tensor *y = cr_relu(t, x);
    cr_tensor *z = cr_square(t, x);
    assert_int_equal(y->ndim, 3);
    assert_memory_equal(y->shape, x->shape, sizeof y->shape);
    const double relu[6] = { 0, 0, 0, 0.5, 2, 4 }, sq[6] = { 9, 1, 0, 0.25, 4, 16 };
    assert_all_close(y->data, relu, 6, 0, 0);
    assert_all_close(z->data, sq, 6, 0, 0);
    cr_tape_free(t);
}

/* ---------------------------------------------------------------- kinks */

/* The derivatives chosen at non-differentiable points, as the header says. */
static void test_kinks_use_the_documented_derivative(void **state)
{
    (void)state;
    check_point(find_case("relu"), 0, 0, 0, 0);        /* relu'(0) = 0 */
    check_point(find_case("abs"), 0, 0, 0, 0);         /* abs'(0) = sign(0) = 0 */
    check_point(find_case("leaky_relu"), 0, 0, 0.125, 0); /* the slope at 0 */
    check_point(find_case("sqrt"), 0, 0, 0, 0);        /* 0, not +inf */
    /* max at a tie: all of the gradient goes to a */
    cr_tape *t = cr_tape_new(0);
    cr_tensor *a = cr_scalar(t, 1.5f), *b = cr_scalar(t, 1.5f);
    cr_tensor *m = cr_max(t, a, b);
    assert_int_equal(cr_backward(t, m), CR_OK);
    assert_close(cr_item(m), 1.5, 0, 0);
    assert_close(cr_grad_item(a), 1, 0, 0);
    assert_close(cr_grad_item(b), 0, 0, 0);
    /* max(x, x) is x: derivative 1, not 2 */
    cr_tape_reset(t);
    cr_tensor *x = cr_scalar(t, -2);
    assert_int_equal(cr_backward(t, cr_max(t, x, x)), CR_OK);
    assert_close(cr_grad_item(x), 1, 0, 0);
    /* pow(x, 0) at x = 0: constant 1, gradient 0 (not 0 * inf = NaN) */
    cr_tape_reset(t);
    x = cr_scalar(t, 0);
    cr_tensor *p = cr_pow(t, x, 0);
    assert_int_equal(cr_backward(t, p), CR_OK);
    assert_close(cr_item(p), 1, 0, 0);
    assert_close(cr_grad_item(x), 0, 0, 0);
    cr_tape_free(t);
}

/* ------------------------------------------------------------- numerics */

static void test_sigmoid_is_finite_at_plus_minus_100(void **state)
{
    (void)state;
    cr_tape *t = cr_tape_new(0);
    const cr_real v[2] = { 100, -100 };
    int shape[1] = { 2 };
    cr_tensor *x = cr_var(t, 1, shape, v);
    cr_tensor *s = cr_sigmoid(t, x);
    assert_int_equal(cr_backward(t, wsum(t, s)), CR_OK);
    for (int i = 0; i < 2; i++) {
        assert_true(isfinite(s->data[i]));
        assert_true(isfinite(x->grad[i]));
    }
    assert_close(s->data[0], 1, 0, 0);                  /* 1 - e^-100 rounds to 1 */
    /* e^-100/(1 + e^-100) = 3.7e-44: a float subnormal, good to a couple of its steps */
    assert_close(s->data[1], exp(-100.0), TOL(0, 3e-45), TOL(1e-14, 0));
    assert_close(x->grad[0], 0, 1e-30, 0);
    assert_close(x->grad[1], 0, 1e-30, 0);
    cr_tape_free(t);
}

static void test_exp_overflow_gives_inf_without_error(void **state)
{
    (void)state;
    cr_tape *t = cr_tape_new(0);
    cr_tensor *x = cr_scalar(t, 1000);
    cr_tensor *y = cr_exp(t, x);
    assert_non_null(y);
    assert_true(isinf(cr_item(y)) && cr_item(y) > 0);
    assert_int_equal(cr_backward(t, y), CR_OK);
    assert_true(isinf(cr_grad_item(x)));
    assert_null(cr_tape_error(t));
    cr_tape_free(t);
}

/* log(0) is log(CR_LOG_FLOOR) = log of the smallest normal: -87.336544750553 in
 * float (log FLT_MIN = -126 ln 2), -708.39641853226 in double (-1022 ln 2); below
 * the floor the slope is 0. */
static void test_log_of_zero_gives_the_floor_value(void **state)
{
    (void)state;
    assert_true(CR_LOG_FLOOR == (CR_TEST_DOUBLE ? DBL_MIN : FLT_MIN));
    double floor_log = (CR_TEST_DOUBLE ? -1022 : -126) * log(2.0);
    cr_tape *t = cr_tape_new(0);
    const cr_real v[3] = { 0, -1, (cr_real)CR_LOG_FLOOR / 4 };
    int shape[1] = { 3 };
    cr_tensor *x = cr_var(t, 1, shape, v);
    cr_tensor *y = cr_log(t, x);
    assert_int_equal(cr_backward(t, wsum(t, y)), CR_OK);
    for (int i = 0; i < 3; i++) {
        assert_close_i(y->data[i], floor_log, 0, TOL(1e-15, 1e-7), i);
        assert_close_i(x->grad[i], 0, 0, 0, i);
    }
    cr_tape_free(t);
}

/* cr_tanh is computed from one exp (ops/sigmoid.c), not by libm's tanh: it must
 * agree with libm's tanh to about an ulp on a sweep over [-30, 30], at the switch
 * points of its formula (2^-8 in float, 0.55 in double, 20) and at inf/NaN. */
static void test_tanh_agrees_with_libm_over_its_range(void **state)
{
    (void)state;
    enum { N = 6001 + 12 };
    cr_real v[N];
    for (int k = 0; k <= 6000; k++) v[k] = (cr_real)((k - 3000) * 0.01);
    const double special[12] = { 1e-10, -1e-5, 0x1p-8, -0x1p-8 * 1.001, 0.5499, 0.55,
                                 -0.5501, 19.99, 20, -20.01, 9.03, 0.00390625 * 0.999 };
    for (int k = 0; k < 12; k++) v[6001 + k] = (cr_real)special[k];
    cr_tape *t = cr_tape_new(0);
    int shape[1] = { N };
    cr_tensor *y = cr_tanh(t, cr_const(t, 1, shape, v));
    for (int k = 0; k < N; k++)
        assert_close_i(y->data[k], tanh((double)v[k]), 1e-300, TOL(1.5e-15, 1.2e-7), k);
    const cr_real odd[3] = { INFINITY, -INFINITY, NAN };
    int s3[1] = { 3 };
    y = cr_tanh(t, cr_const(t, 1, s3, odd));
    assert_close(y->data[0], 1, 0, 0);
    assert_close(y->data[1], -1, 0, 0);
    assert_true(isnan(y->data[2]));
    cr_tape_free(t);
}

/* The float build's sigmoid is evaluated in double (ops/sigmoid.c) and rounded
 * once: the float nearest to 1/(1 + e^-x) (computed in long double) on a sweep over
 * [-30, 30], into the subnormals and at the clamps (110, 700) and inf/NaN. The
 * former float evaluation (expf, then a float division) missed it for 1627 of
 * these 6001 sweep points. The double build keeps libm's exp: within 4e-16. */
static void test_sigmoid_is_the_nearest_float_over_its_range(void **state)
{
    (void)state;
    enum { N = 6001 + 10 };
    cr_real v[N];
    for (int k = 0; k <= 6000; k++) v[k] = (cr_real)((k - 3000) * 0.01);
    const double special[10] = { -100, -103.5, -109.99, -110.01, -150, 110.01, 700.5, 1e-9,
                                 -1e-9, 17.5 };
    for (int k = 0; k < 10; k++) v[6001 + k] = (cr_real)special[k];
    cr_tape *t = cr_tape_new(0);
    int shape[1] = { N };
    cr_tensor *y = cr_sigmoid(t, cr_const(t, 1, shape, v));
    for (int k = 0; k < N; k++) {
        long double ref = 1.0L / (1.0L + expl(-(long double)v[k]));
        if (CR_TEST_DOUBLE) assert_close_i(y->data[k], (double)ref, 1e-300, 4e-16, k);
        else assert_close_i(y->data[k], (double)(float)ref, 0, 0, k);
    }
    const cr_real odd[3] = { INFINITY, -INFINITY, NAN };
    int s3[1] = { 3 };
    y = cr_sigmoid(t, cr_const(t, 1, s3, odd));
    assert_close(y->data[0], 1, 0, 0);
    assert_close(y->data[1], 0, 0, 0);
    assert_true(isnan(y->data[2]));
    cr_tape_free(t);
}

/* C's pow: a negative base with a non-integer exponent is NaN; sqrt(-1) too. */
static void test_pow_and_sqrt_of_negative_give_nan(void **state)
{
    (void)state;
    cr_tape *t = cr_tape_new(0);
    cr_tensor *x = cr_scalar(t, -4);
    cr_tensor *p = cr_pow(t, x, 0.5f), *s = cr_sqrt(t, x), *q = cr_pow(t, x, 2);
    assert_true(isnan(cr_item(p)));
    assert_true(isnan(cr_item(s)));
    assert_close(cr_item(q), 16, 0, 0);                  /* integer exponent: fine */
    assert_int_equal(cr_backward(t, q), CR_OK);
    assert_close(cr_grad_item(x), -8, 0, 0);
    cr_tape_free(t);
}

/* ------------------------------------------------------------ examples */

/* Course notes (lecture-mlp-backprop-autodiff-training, second autodiff example):
 * f = x * exp((3x) * max(x, y)) at x = 2, y = 1. max = x, so f = x e^(3x^2):
 * f = 2 e^12, df/dx = e^12 + x e^12 (3 max + 3x) = e^12 (1 + 2 * 12) = 25 e^12,
 * df/dy = 0 (y loses the max). */
static void test_course_example_x_exp_3x_max_xy(void **state)
{
    (void)state;
    const double e12 = exp(12.0), rtol = TOL(1e-12, 1e-5);
    for (int variant = 0; variant < 2; variant++) {
        cr_tape *t = cr_tape_new(0);
        cr_tensor *x = cr_scalar(t, 2), *y = cr_scalar(t, 1);
        cr_tensor *x3 = variant == 0 ? cr_scale(t, x, 3) : cr_mul(t, x, cr_scalar_const(t, 3));
        cr_tensor *f = cr_mul(t, x, cr_exp(t, cr_mul(t, x3, cr_max(t, x, y))));
        assert_int_equal(cr_backward(t, f), CR_OK);
        assert_close(cr_item(f), 2 * e12, 0, rtol);
        assert_close(cr_grad_item(x), 25 * e12, 0, rtol);
        assert_close(cr_grad_item(y), 0, 0, 0);
        cr_tape_free(t);
    }
}

/* A tensor used several times gets the sum of its gradients:
 * f = sum w (x*x) + sum w (x + x) + sum w tanh(x)  =>  df/dx = w (2x + 2 + 1 - tanh^2 x). */
static void test_tensor_used_several_times_gets_summed_gradient(void **state)
{
    (void)state;
    cr_tape *t = cr_tape_new(0);
    int shape[2] = { 2, 3 };
    const cr_real v[6] = { -1.5f, -0.5f, 0.25f, 1, 2, 3 };
    cr_tensor *x = cr_var(t, 2, shape, v);
    cr_tensor *f = cr_add(t, wsum(t, cr_add(t, cr_mul(t, x, x), cr_add(t, x, x))),
                          wsum(t, cr_tanh(t, x)));
    assert_int_equal(cr_backward(t, f), CR_OK);
    for (size_t i = 0; i < 6; i++) {
        double th = tanh((double)v[i]);
        assert_close_i(x->grad[i], wsum_weight(i) * (2 * v[i] + 2 + 1 - th * th), 0,
                       TOL(1e-14, 1e-6), i);
    }
    cr_tape_free(t);
}

/* ------------------------------------------------------------ errors */

typedef struct named_op {
    const char *name;
    cr_tensor *(*unary)(cr_tape *, cr_tensor *);
    cr_tensor *(*with_const)(cr_tape *, cr_tensor *, cr_real);
    binary_fn binary;
} named_op;

static void test_null_input_is_an_error_naming_the_op(void **state)
{
    (void)state;
    const named_op ops[] = {
        { "add", NULL, NULL, cr_add }, { "sub", NULL, NULL, cr_sub },
        { "mul", NULL, NULL, cr_mul }, { "div", NULL, NULL, cr_div },
        { "max", NULL, NULL, cr_max }, { "neg", cr_neg, NULL, NULL },
        { "exp", cr_exp, NULL, NULL }, { "log", cr_log, NULL, NULL },
        { "sqrt", cr_sqrt, NULL, NULL }, { "pow", NULL, cr_pow, NULL },
        { "square", cr_square, NULL, NULL }, { "abs", cr_abs, NULL, NULL },
        { "relu", cr_relu, NULL, NULL }, { "leaky_relu", NULL, cr_leaky_relu, NULL },
        { "sigmoid", cr_sigmoid, NULL, NULL }, { "tanh", cr_tanh, NULL, NULL },
        { "scale", NULL, cr_scale, NULL }, { "add_scalar", NULL, cr_add_scalar, NULL },
    };
    for (size_t k = 0; k < sizeof ops / sizeof ops[0]; k++) {
        cr_tape *t = cr_tape_new(0);
        cr_tensor *x = cr_scalar(t, 1), *y;
        char want[64];
        if (ops[k].binary) {
            y = ops[k].binary(t, x, NULL);
            snprintf(want, sizeof want, "%s: input 2 is NULL", ops[k].name);
        } else {
            y = ops[k].unary ? ops[k].unary(t, NULL) : ops[k].with_const(t, NULL, 2);
            snprintf(want, sizeof want, "%s: input 1 is NULL", ops[k].name);
        }
        assert_null(y);
        assert_tape_error(t, want);
        assert_int_equal(cr_tape_status(t), CR_ERR_ARG);
        /* sticky: the next op is a no-op */
        assert_null(cr_exp(t, x));
        assert_tape_error(t, want);
        cr_tape_free(t);
    }
    /* a NULL tape is not a crash either */
    assert_null(cr_add(NULL, NULL, NULL));
    assert_null(cr_tanh(NULL, NULL));
}

/* Constants get no gradient buffer; the op still differentiates the variable. */
static void test_constant_operand_gets_no_gradient(void **state)
{
    (void)state;
    cr_tape *t = cr_tape_new(0);
    cr_tensor *x = cr_scalar(t, 3), *c = cr_scalar_const(t, 4);
    cr_tensor *f = cr_div(t, c, cr_sigmoid(t, cr_sub(t, x, c)));   /* 4 / s(x - 4) */
    assert_int_equal(cr_backward(t, f), CR_OK);
    assert_null(c->grad);
    double s = 1 / (1 + exp(1.0));                       /* s(-1) */
    assert_close(cr_grad_item(x), -4 / (s * s) * s * (1 - s), 0, TOL(1e-14, 1e-5));
    cr_tape_free(t);
}

/* No-grad mode computes values and records nothing; replay recomputes. */
static void test_no_grad_mode_and_replay_recompute_values(void **state)
{
    (void)state;
    cr_tape *t = cr_tape_new(0);
    cr_tensor *x = cr_scalar(t, 0.5f);
    cr_tensor *y = cr_sqrt(t, cr_add_scalar(t, cr_square(t, x), 3));  /* sqrt(x^2 + 3) */
    assert_close(cr_item(y), sqrt(3.25), 0, TOL(1e-15, 1e-7));
    x->data[0] = 1;
    assert_int_equal(cr_tape_forward(t), CR_OK);
    assert_close(cr_item(y), 2, 0, 0);
    assert_int_equal(cr_backward(t, y), CR_OK);
    assert_close(cr_grad_item(x), 0.5, 0, 0);               /* x / sqrt(x^2 + 3) */
    size_t nodes = cr_tape_size(t);
    cr_tape_set_grad_mode(t, 0);
    cr_tensor *z = cr_leaky_relu(t, cr_neg(t, x), 0.25f);
    assert_close(cr_item(z), -0.25, 0, 0);
    assert_int_equal(cr_tape_size(t), nodes);
    cr_tape_free(t);
}

/* ------------------------------------------------------------ threads */


static cr_tensor *op_pow(cr_tape *t, cr_tensor *x) { return cr_pow(t, x, 1.5f); }
static cr_tensor *op_square(cr_tape *t, cr_tensor *x) { return cr_square(t, x); }
static cr_tensor *op_sqrt(cr_tape *t, cr_tensor *x) { return cr_sqrt(t, x); }
static cr_tensor *op_neg(cr_tape *t, cr_tensor *x) { return cr_neg(t, x); }
static cr_tensor *op_scale(cr_tape *t, cr_tensor *x) { return cr_scale(t, x, -2.5f); }
static cr_tensor *op_add_scalar(cr_tape *t, cr_tensor *x) { return cr_add_scalar(t, x, 0.5f); }

/* The ops whose loops became range kernels over the pool (ops/README.md): the same
 * bits for 1, 2 and 3 threads, and values that are still the function. */
static void test_range_kernel_ops_give_the_same_bits_for_1_2_3_threads(void **state)
{
    (void)state;
    pool_op_fn ops[] = { op_pow, op_square, op_sqrt, op_neg, op_scale, op_add_scalar };
    const char *names[] = { "pow", "square", "sqrt", "neg", "scale", "add_scalar" };
    for (int k = 0; k < 6; k++) assert_pooled_same_bits(ops[k], names[k]);
    cr_real *v = malloc(60000 * sizeof *v), *g = malloc(60000 * sizeof *g);
    run_pooled(op_pow, 2, v, g);
    cr_rng r;
    cr_rng_seed(&r, 5);
    for (int i = 0; i < 60000; i++) {
        double x = 0.25 + (3 - 0.25) * cr_rng_uniform(&r);   /* as cr_tensor_rand_uniform */
        if (i % 997 == 0) assert_close_i(v[i], pow((double)(cr_real)x, 1.5), 0, TOL(1e-12, 1e-6), i);
    }
    free(v);
    free(g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_unary_ops_pass_gradcheck_on_ranks_0_to_4),
        cmocka_unit_test(test_binary_ops_pass_gradcheck_on_ranks_0_to_4),
        cmocka_unit_test(test_unary_values_and_slopes_match_closed_forms),
        cmocka_unit_test(test_unary_ops_apply_to_every_element),
        cmocka_unit_test(test_kinks_use_the_documented_derivative),
        cmocka_unit_test(test_sigmoid_is_finite_at_plus_minus_100),
        cmocka_unit_test(test_exp_overflow_gives_inf_without_error),
        cmocka_unit_test(test_log_of_zero_gives_the_floor_value),
        cmocka_unit_test(test_tanh_agrees_with_libm_over_its_range),
        cmocka_unit_test(test_sigmoid_is_the_nearest_float_over_its_range),
        cmocka_unit_test(test_pow_and_sqrt_of_negative_give_nan),
        cmocka_unit_test(test_course_example_x_exp_3x_max_xy),
        cmocka_unit_test(test_tensor_used_several_times_gets_summed_gradient),
        cmocka_unit_test(test_null_input_is_an_error_naming_the_op),
        cmocka_unit_test(test_constant_operand_gets_no_gradient),
        cmocka_unit_test(test_no_grad_mode_and_replay_recompute_values),
        cmocka_unit_test(test_range_kernel_ops_give_the_same_bits_for_1_2_3_threads),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
