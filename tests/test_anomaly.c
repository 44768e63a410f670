/* Anomaly mode (cr_tape_set_anomaly): the first NaN/Inf of a forward or backward
 * pass becomes a CR_ERR_NUMERIC tape error naming the node (id, op), the shape
 * and the inputs' ranges. Node ids below are creation order on a fresh tape
 * (leaves count). */
#include "data_helpers.h"

#include <math.h>
#include <string.h>
#include <sys/wait.h>

/* exp overflows above 88.72 (float) / 709.78 (double). */
#define EXP_OVERFLOW (CR_TEST_DOUBLE ? 710.0 : 89.0)
/* a product that overflows: 1e30^2 > FLT_MAX (3.4e38), 1e200^2 > DBL_MAX (1.8e308) */
#define BIG (CR_TEST_DOUBLE ? 1e200 : 1e30)

static cr_tape *anomaly_tape(void)
{
    cr_tape *t = cr_tape_new(0);
    assert_non_null(t);
    assert_int_equal(cr_tape_set_anomaly(t, 1), 0);
    return t;
}

static void assert_numeric_error(cr_tape *t)
{
    assert_int_equal(cr_tape_status(t), CR_ERR_NUMERIC);
}

/* sqrt(-1) is NaN (C's sqrt); node #1 is the sqrt of leaf #0. */
static void test_sqrt_of_negative_names_sqrt_node_and_input_range(void **state)
{
    (void)state;
    cr_tape *t = anomaly_tape();
    cr_real v[2] = { -1, 4 };
    int n = 2;
    cr_tensor *x = cr_var(t, 1, &n, v);
    assert_non_null(x);
    assert_null(cr_sqrt(t, x));
    assert_numeric_error(t);
    assert_tape_error(t, "anomaly: forward of node #1 (sqrt, shape 2) gave NaN at element 0; "
                         "input: #0 leaf, shape 2, in [-1, 4]");
    cr_tape_free(t);
}

/* 0/0 = NaN at element 0: a = [0, 1] (#0), b = [0, 2] (#1), c = a*b = [0, 2] (#2),
 * d = c/b (#3). The message lists both inputs with their ranges. */
static void test_zero_over_zero_names_div_node(void **state)
{
    (void)state;
    cr_tape *t = anomaly_tape();
    cr_real av[2] = { 0, 1 }, bv[2] = { 0, 2 };
    int n = 2;
    cr_tensor *a = cr_var(t, 1, &n, av), *b = cr_var(t, 1, &n, bv);
    cr_tensor *c = cr_mul(t, a, b);
    assert_non_null(c);
    assert_null(cr_div(t, c, b));
    assert_numeric_error(t);
    assert_tape_error(t, "forward of node #3 (div, shape 2) gave NaN at element 0; inputs: "
                         "#2 mul, shape 2, in [0, 2]; #1 leaf, shape 2, in [0, 2]");
    cr_tape_free(t);
}

/* exp(2 * x) with x = [1, EXP_OVERFLOW/2]: #0 leaf, #1 scale, #2 exp -> +Inf at 1. */
static void test_exp_overflow_names_exp_node(void **state)
{
    (void)state;
    cr_tape *t = anomaly_tape();
    cr_real v[2] = { 1, (cr_real)(EXP_OVERFLOW / 2) };
    int n = 2;
    cr_tensor *y = cr_scale(t, cr_var(t, 1, &n, v), 2);
    assert_non_null(y);
    assert_null(cr_exp(t, y));
    assert_numeric_error(t);
    assert_tape_error(t, "forward of node #2 (exp, shape 2) gave Inf at element 1; input: "
                         "#1 scale, shape 2, in [2, ");
    cr_tape_free(t);
}

/* BIG * BIG overflows to Inf in mul (node #2), in both precisions. */
static void test_product_overflow_names_mul_node(void **state)
{
    (void)state;
    cr_tape *t = anomaly_tape();
    cr_tensor *a = cr_scalar(t, (cr_real)BIG), *b = cr_scalar(t, (cr_real)-BIG);
    assert_null(cr_mul(t, a, b));
    assert_numeric_error(t);
    assert_tape_error(t, "forward of node #2 (mul, scalar) gave Inf at element 0; inputs: "
                         "#0 leaf, scalar, in [");
    cr_tape_free(t);
}

/* pow(-4, 0.5) is NaN (C's pow with a non-integer exponent). */
static void test_fractional_power_of_negative_names_pow_node(void **state)
{
    (void)state;
    cr_tape *t = anomaly_tape();
    cr_tensor *x = cr_scalar(t, -4);
    assert_null(cr_pow(t, x, 0.5));
    assert_numeric_error(t);
    assert_tape_error(t, "forward of node #1 (pow, scalar) gave NaN at element 0; input: "
                         "#0 leaf, scalar, in [-4, -4]");
    cr_tape_free(t);
}

/* cr_log clamps its input at CR_LOG_FLOOR (documented), so log of a negative
 * number or of 0 is the finite log(CR_LOG_FLOOR), not NaN: nothing to report. */
static void test_log_of_negative_is_clamped_not_anomalous(void **state)
{
    (void)state;
    cr_tape *t = anomaly_tape();
    cr_real v[2] = { -3, 0 };
    int n = 2;
    cr_tensor *x = cr_var(t, 1, &n, v);
    cr_tensor *y = cr_log(t, x);
    assert_non_null(y);
    assert_close(y->data[0], log((double)CR_LOG_FLOOR), 1e-3, 0);
    assert_close(y->data[1], log((double)CR_LOG_FLOOR), 1e-3, 0);
    assert_int_equal(cr_backward(t, cr_sum(t, y)), CR_OK);
    assert_close(x->grad[0], 0, 0, 0);     /* flat below the floor */
    assert_null(cr_tape_error(t));
    cr_tape_free(t);
}

/* Off by default: the same sqrt(-1) silently gives NaN and no error. */
static void test_anomaly_is_off_by_default(void **state)
{
    (void)state;
    cr_tape *t = cr_tape_new(0);
    cr_tensor *y = cr_sqrt(t, cr_scalar(t, -1));
    assert_non_null(y);
    assert_true(isnan(y->data[0]));
    assert_null(cr_tape_error(t));
    assert_int_equal(cr_tape_set_anomaly(t, 1), 0);
    assert_int_equal(cr_tape_set_anomaly(t, 0), 1);
    assert_int_equal(cr_tape_set_anomaly(NULL, 1), 0);
    cr_tape_free(t);
}

/* The report is an ordinary sticky error: later ops return NULL, the first message
 * stays, backward refuses with the same status. */
static void test_anomaly_error_is_sticky_and_stops_backward(void **state)
{
    (void)state;
    cr_tape *t = anomaly_tape();
    cr_tensor *x = cr_scalar(t, -1);
    cr_tensor *ok = cr_square(t, x);
    assert_non_null(ok);
    assert_null(cr_sqrt(t, x));
    char first[512];
    snprintf(first, sizeof first, "%s", cr_tape_error(t));
    assert_null(cr_add(t, ok, ok));
    assert_int_equal(cr_backward(t, ok), CR_ERR_NUMERIC);
    assert_string_equal(cr_tape_error(t), first);
    /* reset clears it and the mode stays on */
    cr_tape_reset(t);
    assert_null(cr_tape_error(t));
    assert_null(cr_sqrt(t, cr_scalar(t, -2)));
    assert_tape_error(t, "forward of node #1 (sqrt, scalar)");
    cr_tape_free(t);
}

/* Backward: |x| as pow(sum(x^2), 0.5) at x = 0. Forward is finite (0) but
 * d pow / d s = 0.5 * 0^-0.5 = Inf (documented for p < 1 at 0). Nodes: #0 leaf x,
 * #1 square, #2 sum, #3 pow. The pow node (nearest the loss) is named, not the
 * square node where Inf * 0 then turns into NaN. */
static void test_backward_infinite_gradient_names_pow_node(void **state)
{
    (void)state;
    cr_tape *t = anomaly_tape();
    int n = 2;
    cr_tensor *x = cr_var(t, 1, &n, NULL);
    cr_tensor *norm = cr_pow(t, cr_sum(t, cr_square(t, x)), 0.5);
    assert_non_null(norm);
    assert_close(norm->data[0], 0, 0, 0);
    assert_int_equal(cr_backward(t, norm), CR_ERR_NUMERIC);
    assert_tape_error(t, "anomaly: backward of node #3 (pow, scalar) gave input 1 (#2 sum, "
                         "scalar) a gradient with Inf at element 0; incoming gradient in [1, 1]; "
                         "input: #2 sum, scalar, in [0, 0]");
    cr_tape_free(t);

    /* without anomaly mode the same graph silently gives x a NaN gradient */
    t = cr_tape_new(0);
    x = cr_var(t, 1, &n, NULL);
    norm = cr_pow(t, cr_sum(t, cr_square(t, x)), 0.5);
    assert_int_equal(cr_backward(t, norm), CR_OK);
    assert_true(isnan(x->grad[0]));
    cr_tape_free(t);
}

/* Backward overflow into a parameter: q = 1 / w with w = 1e-30 (float) or 1e-200
 * (double) is finite (1e30, 1e200), but dq/dw = -q / w overflows to -Inf. Nodes:
 * #0 the constant 1, #1 div; w is a heap parameter named "w". */
static void test_backward_overflow_into_parameter_names_div_node(void **state)
{
    (void)state;
    cr_tensor *w = cr_param_new(0, NULL);
    cr_tensor_set_name(w, "w");
    w->data[0] = (cr_real)(CR_TEST_DOUBLE ? 1e-200 : 1e-30);
    cr_tape *t = anomaly_tape();
    cr_tensor *q = cr_div(t, cr_scalar_const(t, 1), w);
    assert_non_null(q);
    assert_true(isfinite(q->data[0]));
    assert_int_equal(cr_backward(t, q), CR_ERR_NUMERIC);
    assert_tape_error(t, "backward of node #1 (div, scalar) gave input 2 (parameter \"w\", "
                         "scalar) a gradient with Inf at element 0; incoming gradient in [1, 1]; "
                         "inputs: #0 leaf, scalar, in [1, 1]; parameter \"w\", scalar, in [");
    cr_tape_free(t);
    cr_tensor_free(w);
}

/* Replay with new leaf data that makes sqrt negative is caught on replay. */
static void test_replay_with_bad_data_is_reported(void **state)
{
    (void)state;
    cr_tape *t = anomaly_tape();
    cr_tensor *x = cr_scalar(t, 4);
    cr_tensor *y = cr_sqrt(t, cr_add_scalar(t, x, 1));    /* #1 add_scalar, #2 sqrt */
    assert_non_null(y);
    assert_int_equal(cr_tape_forward(t), CR_OK);
    x->data[0] = -9;
    assert_int_equal(cr_tape_forward(t), CR_ERR_NUMERIC);
    assert_tape_error(t, "forward of node #2 (sqrt, scalar) gave NaN at element 0; input: "
                         "#1 add_scalar, scalar, in [-8, -8]");
    cr_tape_free(t);
}

/* A NaN that arrives in leaf data is passed on by the first op; the message says
 * the input already held it and counts it in the range. */
static void test_nan_from_input_data_is_attributed_to_the_input(void **state)
{
    (void)state;
    cr_tape *t = anomaly_tape();
    cr_real v[3] = { 1, NAN, -2 };
    int n = 3;
    cr_tensor *x = cr_tensor_label(cr_var(t, 1, &n, v), "x");
    assert_null(cr_relu(t, x));
    assert_tape_error(t, "forward of node #1 (relu, shape 3) gave NaN at element 1; input: "
                         "#0 leaf \"x\", shape 3, in [-2, 1] and 1 NaN (input 1 already held a "
                         "non-finite value: this op passed it on)");
    cr_tape_free(t);
}

/* A heap parameter with an Inf in it, used by matmul: named as a parameter. */
static void test_parameter_input_is_named(void **state)
{
    (void)state;
    int ws[2] = { 2, 1 }, xs[2] = { 1, 2 };
    cr_tensor *W = cr_param_new(2, ws);
    cr_tensor_set_name(W, "fc1.W");
    W->data[0] = 1;
    W->data[1] = (cr_real)INFINITY;
    cr_tape *t = anomaly_tape();
    cr_real xv[2] = { 1, 1 };
    assert_null(cr_matmul(t, cr_const(t, 2, xs, xv), W, 0, 0));
    assert_tape_error(t, "forward of node #1 (matmul, shape 1x1) gave Inf at element 0; inputs: "
                         "#0 leaf, shape 1x2, in [1, 1]; parameter \"fc1.W\", shape 2x1, in [1, 1] "
                         "and 1 Inf (input 2 already held");
    cr_tape_free(t);
    cr_tensor_free(W);
}

/* No-grad mode records nothing but still checks every op. */
static void test_no_grad_ops_are_checked(void **state)
{
    (void)state;
    cr_tape *t = anomaly_tape();
    cr_tensor *x = cr_scalar(t, -1);
    cr_tape_set_grad_mode(t, 0);
    assert_null(cr_sqrt(t, x));
    assert_tape_error(t, "anomaly: forward of an op in no-grad mode (sqrt, scalar) gave NaN");
    cr_tape_free(t);
}

/* A user op is checked like the built-in ones and reported by its own name. */
static void custom_nan(cr_tensor *out, cr_tensor *const *in, int n_in, void *user)
{
    (void)in;
    (void)n_in;
    (void)user;
    out->data[0] = (cr_real)NAN;
}

static void test_custom_op_is_named(void **state)
{
    (void)state;
    cr_tape *t = anomaly_tape();
    cr_tensor *x = cr_scalar(t, 1);
    assert_null(cr_custom(t, "my_op", 1, &x, 0, NULL, custom_nan, custom_nan, NULL));
    assert_tape_error(t, "forward of node #1 (my_op, scalar) gave NaN");
    cr_tape_free(t);
}

/* Many inputs: the message is cut at the tape's message size, never overflows. */
static void test_long_report_is_truncated_safely(void **state)
{
    (void)state;
    cr_tape *t = anomaly_tape();
    cr_tensor *xs[40];
    int one = 1;
    for (int i = 0; i < 40; i++) {
        cr_real v = (cr_real)(i + 0.5);
        xs[i] = cr_var(t, 1, &one, &v);
    }
    xs[39]->data[0] = (cr_real)NAN;
    assert_null(cr_concat(t, 40, xs, 0));
    const char *msg = cr_tape_error(t);
    assert_non_null(msg);
    assert_true(strlen(msg) < 512);
    assert_tape_error(t, "forward of node #40 (concat, shape 40) gave NaN at element 39");
    cr_tape_free(t);
}

/* softmax cross-entropy on logits of +-1e4 is stable: no false alarm, and the
 * values and gradients are bit-identical with the mode on and off. */
static void run_ce(int anomaly, cr_real *loss, cr_real grad[6])
{
    cr_tape *t = cr_tape_new(0);
    cr_tape_set_anomaly(t, anomaly);
    int zs[2] = { 2, 3 }, ys = 2;
    cr_real zv[6] = { 1e4f, -1e4f, 0, 3, -2, 1 }, yv[2] = { 1, 0 };
    cr_tensor *z = cr_var(t, 2, zs, zv), *y = cr_const(t, 1, &ys, yv);
    cr_tensor *l = cr_softmax_cross_entropy(t, cr_tanh(t, cr_scale(t, z, 1)), y);
    assert_non_null(l);
    assert_int_equal(cr_backward(t, l), CR_OK);
    *loss = l->data[0];
    memcpy(grad, z->grad, 6 * sizeof *grad);
    cr_tape_free(t);
}

static void test_stable_ops_raise_no_false_alarm(void **state)
{
    (void)state;
    cr_real l0, l1, g0[6], g1[6];
    run_ce(0, &l0, g0);
    run_ce(1, &l1, g1);
    assert_memory_equal(&l0, &l1, sizeof l0);
    assert_memory_equal(g0, g1, sizeof g0);
    assert_true(isfinite(l1));
}

/* The training program with --anomaly stops at the first bad op with the message
 * and exit status 1. Data: unscaled CSV features of 3e38, so the first layer's
 * x W overflows to Inf in float (54 training rows after the 10% validation split;
 * x is a heap tensor, so the linear op is node #0). */
static char train_bin[1024];

static void test_training_program_stops_with_anomaly_message(void **state)
{
    (void)state;
    if (CR_TEST_DOUBLE) skip();          /* 3e38 * w does not overflow a double */
    FILE *f = fopen(td_path("big.csv"), "w");
    assert_non_null(f);
    for (int i = 0; i < 60; i++) fprintf(f, "%g,%g,%d\n", i % 2 ? 3e38 : 1.0, 3e38, i % 2);
    fclose(f);
    char cmd[4096];
    snprintf(cmd, sizeof cmd, "'%s' --no-progress --data '%s' --hidden 8 --epochs 1 --anomaly "
             "--out '%s' --dot '%s' > '%s' 2> '%s'", train_bin, td_path("big.csv"),
             td_path("m.crm"), td_path("m.dot"), td_path("out.txt"), td_path("err.txt"));
    int st = system(cmd);
    assert_true(st != -1 && WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 1);
    char err[1024] = "";
    f = fopen(td_path("err.txt"), "r");
    assert_non_null(f);
    size_t n = fread(err, 1, sizeof err - 1, f);
    err[n] = '\0';
    fclose(f);
    if (!strstr(err, "anomaly: forward of node #0 (linear, shape 54x8) gave Inf at element"))
        print_error("stderr: %s\n", err);
    assert_non_null(strstr(err, "anomaly: forward of node #0 (linear, shape 54x8) gave Inf at "
                                "element"));
    assert_non_null(strstr(err, "parameter \"fc1.W\", shape 2x8"));
}

int main(int argc, char **argv)
{
    (void)argc;
    if (!cr_test_train_bin(train_bin, sizeof train_bin, argv[0])) return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sqrt_of_negative_names_sqrt_node_and_input_range),
        cmocka_unit_test(test_zero_over_zero_names_div_node),
        cmocka_unit_test(test_exp_overflow_names_exp_node),
        cmocka_unit_test(test_product_overflow_names_mul_node),
        cmocka_unit_test(test_fractional_power_of_negative_names_pow_node),
        cmocka_unit_test(test_log_of_negative_is_clamped_not_anomalous),
        cmocka_unit_test(test_anomaly_is_off_by_default),
        cmocka_unit_test(test_anomaly_error_is_sticky_and_stops_backward),
        cmocka_unit_test(test_backward_infinite_gradient_names_pow_node),
        cmocka_unit_test(test_backward_overflow_into_parameter_names_div_node),
        cmocka_unit_test(test_replay_with_bad_data_is_reported),
        cmocka_unit_test(test_nan_from_input_data_is_attributed_to_the_input),
        cmocka_unit_test(test_parameter_input_is_named),
        cmocka_unit_test(test_no_grad_ops_are_checked),
        cmocka_unit_test(test_custom_op_is_named),
        cmocka_unit_test(test_long_report_is_truncated_safely),
        cmocka_unit_test(test_stable_ops_raise_no_false_alarm),
        cmocka_unit_test(test_training_program_stops_with_anomaly_message),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
