/* cr_custom: a user-defined op with forward/backward callbacks and a user pointer:
 * values, gradients (checked and by hand), replay, its name on the tape, errors. */
#include "op_grad_helpers.h"

#include <stdio.h>
#include <string.h>

typedef struct calls { int forward, backward; } calls;

/* cube: y = x^3;  dx += g * 3x^2 */
static void cube_forward(cr_tensor *out, cr_tensor *const *in, int n_in, void *user)
{
    (void)n_in;
    if (user) ((calls *)user)->forward++;
    for (size_t i = 0; i < out->size; i++) {
        cr_real x = in[0]->data[i];
        out->data[i] = x * x * x;
    }
}

static void cube_backward(cr_tensor *out, cr_tensor *const *in, int n_in, void *user)
{
    (void)n_in;
    if (user) ((calls *)user)->backward++;
    if (!in[0]->grad) return;
    for (size_t i = 0; i < out->size; i++) {
        cr_real x = in[0]->data[i];
        in[0]->grad[i] += out->grad[i] * 3 * x * x;
    }
}

static cr_tensor *cube(cr_tape *t, cr_tensor *x, calls *c)
{
    return cr_custom(t, "cube", 1, &x, x ? x->ndim : 0, x ? x->shape : NULL, cube_forward,
                     cube_backward, c);
}

/* scaled product: y = s a b with s = *(cr_real *)user;  da += g s b,  db += g s a */
static void sprod_forward(cr_tensor *out, cr_tensor *const *in, int n_in, void *user)
{
    (void)n_in;
    cr_real s = *(const cr_real *)user;
    for (size_t i = 0; i < out->size; i++) out->data[i] = s * in[0]->data[i] * in[1]->data[i];
}

static void sprod_backward(cr_tensor *out, cr_tensor *const *in, int n_in, void *user)
{
    (void)n_in;
    cr_real s = *(const cr_real *)user;
    for (int k = 0; k < 2; k++) {
        if (!in[k]->grad) continue;
        const cr_real *other = in[1 - k]->data;
        for (size_t i = 0; i < out->size; i++) in[k]->grad[i] += out->grad[i] * s * other[i];
    }
}

/* x = [1, -2, 0.5]: cube [1, -8, 0.125], d sum/dx = 3x^2 = [3, 12, 0.75]. */
static void test_custom_cube_values_and_gradient(void **state)
{
    (void)state;
    int s3 = 3;
    calls c = { 0, 0 };
    cr_tape *t = cr_tape_new(0);
    cr_tensor *x = cr_var(t, 1, &s3, (cr_real[]){ 1, -2, 0.5 });
    cr_tensor *y = cube(t, x, &c);
    assert_non_null(y);
    static const double want[3] = { 1, -8, 0.125 }, dx[3] = { 3, 12, 0.75 };
    assert_all_close(y->data, want, 3, 0, 0);
    assert_int_equal(cr_backward(t, cr_sum(t, y)), CR_OK);
    assert_all_close(x->grad, dx, 3, 0, 0);
    assert_int_equal(c.forward, 1);     /* the user pointer reached both callbacks */
    assert_int_equal(c.backward, 1);
    cr_tape_free(t);
}

static cr_tensor *build_cube(cr_tape *t, cr_tensor *const *in, int n, void *user)
{
    (void)n;
    (void)user;
    return weighted_sum(t, cube(t, in[0], NULL));
}

static cr_tensor *build_sprod(cr_tape *t, cr_tensor *const *in, int n, void *user)
{
    cr_tensor *y = cr_custom(t, "scaled_product", n, in, in[0]->ndim, in[0]->shape,
                             sprod_forward, sprod_backward, user);
    return weighted_sum(t, cube(t, y, NULL));           /* chained with another custom op */
}

static void test_custom_ops_gradcheck(void **state)
{
    (void)state;
    int s[2] = { 3, 4 };
    cr_rng r;
    cr_rng_seed(&r, 41);
    cr_tensor *x = rand_param(&r, 2, s, -1.5, 1.5);
    check_gradients(build_cube, &x, 1, NULL, "custom cube");
    cr_tensor *ab[2] = { rand_param(&r, 2, s, -1, 1), rand_param(&r, 2, s, -1, 1) };
    cr_real scale = (cr_real)2.5;
    check_gradients(build_sprod, ab, 2, &scale, "custom scaled_product then cube");
    cr_tensor_free(x);
    cr_tensor_free(ab[0]);
    cr_tensor_free(ab[1]);
}

/* Replay calls forward again on the new input; backward then uses the new values. */
static void test_custom_op_replays(void **state)
{
    (void)state;
    calls c = { 0, 0 };
    cr_tape *t = cr_tape_new(0);
    cr_tensor *x = cr_scalar(t, 2);
    cr_tensor *y = cube(t, x, &c);
    assert_close(cr_item(y), 8, 0, 0);
    x->data[0] = -3;
    assert_int_equal(cr_tape_forward(t), CR_OK);
    assert_int_equal(c.forward, 2);
    assert_close(cr_item(y), -27, 0, 0);
    assert_int_equal(cr_backward(t, y), CR_OK);
    assert_close(cr_grad_item(x), 27, 0, 0);
    cr_tape_free(t);
}

/* forward that only adds into out: correct on every replay because out is zeroed
 * before each call. */
static void add_into_forward(cr_tensor *out, cr_tensor *const *in, int n_in, void *user)
{
    (void)user;
    for (int k = 0; k < n_in; k++)
        for (size_t i = 0; i < out->size; i++) out->data[i] += in[k]->data[i];
}

static void test_custom_output_zeroed_before_each_forward(void **state)
{
    (void)state;
    cr_tape *t = cr_tape_new(0);
    cr_tensor *in[2] = { cr_scalar_const(t, 2), cr_scalar_const(t, 5) };
    cr_tensor *y = cr_custom(t, "add_into", 2, in, 0, NULL, add_into_forward, NULL, NULL);
    assert_close(cr_item(y), 7, 0, 0);
    assert_int_equal(cr_tape_forward(t), CR_OK);
    assert_int_equal(cr_tape_forward(t), CR_OK);
    assert_close(cr_item(y), 7, 0, 0);
    cr_tape_free(t);
}

/* Without a backward callback the op still works on constants and in no-grad mode. */
static void test_custom_without_backward_for_evaluation(void **state)
{
    (void)state;
    cr_tape *t = cr_tape_new(0);
    cr_tensor *x = cr_scalar(t, 3);
    cr_tape_set_grad_mode(t, 0);
    cr_tensor *y = cr_custom(t, "cube_eval", 1, &x, 0, NULL, cube_forward, NULL, NULL);
    assert_non_null(y);
    assert_close(cr_item(y), 27, 0, 0);
    cr_tape_set_grad_mode(t, 1);
    assert_null(cr_custom(t, "cube_eval", 1, &x, 0, NULL, cube_forward, NULL, NULL));
    assert_tape_error(t, "custom 'cube_eval': backward callback is NULL but input 1 needs a gradient");
    cr_tape_free(t);
}

/* The node carries the user's name, so the tape printout shows it. */
static void test_custom_op_name_appears_in_tape_print(void **state)
{
    (void)state;
    cr_tape *t = cr_tape_new(0);
    cube(t, cr_scalar(t, 2), NULL);
    char buf[4096] = "";
    FILE *f = fmemopen(buf, sizeof buf - 1, "w");
    assert_non_null(f);
    assert_int_equal(cr_tape_print(t, f), CR_OK);
    fclose(f);
    assert_non_null(strstr(buf, "cube"));
    cr_tape_free(t);
}

static void test_custom_op_errors(void **state)
{
    (void)state;
    int bad[2] = { 2, 0 }, s5[5] = { 1, 1, 1, 1, 1 };
    char long_name[80];
    memset(long_name, 'a', sizeof long_name - 1);
    long_name[sizeof long_name - 1] = '\0';
    cr_tape *t = cr_tape_new(0);
    cr_tensor *x = cr_scalar(t, 1);
    assert_null(cr_custom(t, "cube", 1, &x, 0, NULL, NULL, cube_backward, NULL));
    assert_tape_error(t, "custom 'cube': forward callback is NULL");
    cr_tape_reset(t);
    x = cr_scalar(t, 1);
    assert_null(cr_custom(t, "cube", 1, &x, 2, bad, cube_forward, cube_backward, NULL));
    assert_tape_error(t, "custom 'cube': output shape 2x0 is not allowed");
    cr_tape_reset(t);
    x = cr_scalar(t, 1);
    assert_null(cr_custom(t, "cube", 1, &x, 5, s5, cube_forward, cube_backward, NULL));
    assert_tape_error(t, "custom 'cube': output shape 1x1x1x1x1 is not allowed (rank 0..4");
    cr_tape_reset(t);
    x = cr_scalar(t, 1);
    assert_null(cr_custom(t, "cube", 1, &x, 1, NULL, cube_forward, cube_backward, NULL));
    assert_tape_error(t, "custom 'cube': output shape NULL is not allowed");
    cr_tape_reset(t);
    assert_null(cr_custom(t, "cube", -1, NULL, 0, NULL, cube_forward, cube_backward, NULL));
    assert_tape_error(t, "custom 'cube': n_in is -1 (must be >= 0)");
    cr_tape_reset(t);
    assert_null(cube(t, NULL, NULL));
    assert_tape_error(t, "cube: input 1 is NULL");
    cr_tape_reset(t);
    x = cr_scalar(t, 1);
    assert_null(cr_custom(t, long_name, 1, &x, 0, NULL, cube_forward, cube_backward, NULL));
    assert_tape_error(t, "custom: op name must be 1..63 characters, got 79");
    cr_tape_free(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_custom_cube_values_and_gradient),
        cmocka_unit_test(test_custom_ops_gradcheck),
        cmocka_unit_test(test_custom_op_replays),
        cmocka_unit_test(test_custom_output_zeroed_before_each_forward),
        cmocka_unit_test(test_custom_without_backward_for_evaluation),
        cmocka_unit_test(test_custom_op_name_appears_in_tape_print),
        cmocka_unit_test(test_custom_op_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
