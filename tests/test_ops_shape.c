/* reshape, slice, concat: values, gradients on every axis, replay, errors. */
#include "op_grad_helpers.h"

#include <string.h>

/* x = [[1,2,3],[4,5,6]] */
static const cr_real X23[6] = { 1, 2, 3, 4, 5, 6 };
static const int S23[2] = { 2, 3 };

static void test_reshape_keeps_row_major_order(void **state)
{
    (void)state;
    int s32[2] = { 3, 2 }, s6[1] = { 6 }, sinf[3] = { 3, -1, 1 };
    static const double want[6] = { 1, 2, 3, 4, 5, 6 };
    cr_tape *t = cr_tape_new(0);
    cr_tensor *x = cr_var(t, 2, S23, X23);
    cr_tensor *y = cr_reshape(t, x, 2, s32), *v = cr_reshape(t, y, 1, s6);
    cr_tensor *z = cr_reshape(t, x, 3, sinf);
    assert_non_null(y);
    assert_int_equal(y->shape[0], 3);
    assert_int_equal(y->shape[1], 2);
    assert_all_close(y->data, want, 6, 0, 0);
    assert_all_close(v->data, want, 6, 0, 0);
    assert_int_equal(z->ndim, 3);
    assert_int_equal(z->shape[1], 2);                 /* -1 inferred: 6 / 3 */
    assert_true(y->data != x->data);                  /* a copy, never an alias */
    cr_tensor *s = cr_reshape(t, cr_sum(t, x), 2, (int[]){ 1, 1 });   /* scalar -> 1x1 */
    assert_int_equal(s->ndim, 2);
    assert_close(cr_item(s), 21, 0, 0);
    cr_tape_free(t);
}

static cr_tensor *build_reshape(cr_tape *t, cr_tensor *const *in, int n, void *user)
{
    (void)n;
    (void)user;
    int s[3] = { 4, -1, 2 };
    return weighted_sum(t, cr_reshape(t, in[0], 3, s));
}

static void test_reshape_gradcheck(void **state)
{
    (void)state;
    int shape[3] = { 2, 3, 4 };
    cr_rng r;
    cr_rng_seed(&r, 21);
    cr_tensor *x = rand_param(&r, 3, shape, -1, 1);
    check_gradients(build_reshape, &x, 1, NULL, "reshape 2x3x4 -> 4x3x2");
    cr_tensor_free(x);
}

static void test_reshape_errors(void **state)
{
    (void)state;
    int s42[2] = { 4, 2 }, s0[2] = { 3, 0 }, s2m[2] = { -1, -1 }, s4m[2] = { 4, -1 };
    int s5[5] = { 1, 1, 1, 2, 3 };
    cr_tape *t = cr_tape_new(0);
    assert_null(cr_reshape(t, cr_const(t, 2, S23, X23), 2, s42));
    assert_tape_error(t, "reshape: 2x3 (6 elements) cannot become 4x2 (8 elements)");
    cr_tape_reset(t);
    assert_null(cr_reshape(t, cr_const(t, 2, S23, X23), 2, s0));
    assert_tape_error(t, "reshape: target 3x0 has dimension 1 = 0");
    cr_tape_reset(t);
    assert_null(cr_reshape(t, cr_const(t, 2, S23, X23), 2, s2m));
    assert_tape_error(t, "reshape: target -1x-1 has dimension 1 = -1");
    cr_tape_reset(t);
    assert_null(cr_reshape(t, cr_const(t, 2, S23, X23), 2, s4m));
    assert_tape_error(t, "reshape: 2x3 (6 elements) cannot become 4x-1: 6 is not a multiple of 4");
    cr_tape_reset(t);
    assert_null(cr_reshape(t, cr_const(t, 2, S23, X23), 5, s5));
    assert_tape_error(t, "reshape: target rank 5 is not allowed");
    cr_tape_reset(t);
    assert_null(cr_reshape(t, cr_const(t, 2, S23, X23), 2, NULL));
    assert_tape_error(t, "reshape: target rank 2 with a NULL shape is not allowed");
    cr_tape_free(t);
}

/* Columns [1, 3) of [[1,2,3],[4,5,6]] are [[2,3],[5,6]]; row 1 is [[4,5,6]]. */
static void test_slice_hand_values_and_gradient(void **state)
{
    (void)state;
    cr_tape *t = cr_tape_new(0);
    cr_tensor *x = cr_var(t, 2, S23, X23);
    cr_tensor *c = cr_slice(t, x, -1, 1, 2), *r = cr_slice(t, x, 0, 1, 1);
    static const double wc[4] = { 2, 3, 5, 6 }, wr[3] = { 4, 5, 6 };
    assert_int_equal(c->shape[0], 2);
    assert_int_equal(c->shape[1], 2);
    assert_all_close(c->data, wc, 4, 0, 0);
    assert_int_equal(r->shape[0], 1);
    assert_int_equal(r->shape[1], 3);
    assert_all_close(r->data, wr, 3, 0, 0);
    /* overlapping slices: their gradients add on the shared element x[1][1], x[1][2] */
    assert_int_equal(cr_backward(t, cr_add(t, cr_sum(t, c), cr_sum(t, r))), CR_OK);
    static const double dx[6] = { 0, 1, 1, 1, 2, 2 };
    assert_all_close(x->grad, dx, 6, 0, 0);
    cr_tape_free(t);
}

typedef struct slice_case { int axis, start, len; } slice_case;

static cr_tensor *build_slice(cr_tape *t, cr_tensor *const *in, int n, void *user)
{
    (void)n;
    const slice_case *c = user;
    return weighted_sum(t, cr_slice(t, in[0], c->axis, c->start, c->len));
}

static void test_slice_gradcheck_every_axis_of_rank3(void **state)
{
    (void)state;
    int shape[3] = { 3, 4, 5 };
    cr_rng r;
    cr_rng_seed(&r, 22);
    cr_tensor *x = rand_param(&r, 3, shape, -1, 1);
    for (int axis = -3; axis < 3; axis++) {
        int dim = shape[axis < 0 ? axis + 3 : axis];
        slice_case cases[3] = { { axis, 0, 1 }, { axis, 1, dim - 2 }, { axis, 0, dim } };
        for (int k = 0; k < 3; k++) {
            char what[64];
            snprintf(what, sizeof what, "slice axis %d [%d, %d)", axis, cases[k].start,
                     cases[k].start + cases[k].len);
            check_gradients(build_slice, &x, 1, &cases[k], what);
        }
    }
    cr_tensor_free(x);
}

static void test_slice_errors(void **state)
{
    (void)state;
    int s35[2] = { 3, 5 };
    cr_tape *t = cr_tape_new(0);
    assert_null(cr_slice(t, cr_const(t, 2, s35, NULL), 1, 2, 5));
    assert_tape_error(t, "slice: [2, 7) exceeds dimension 1 of length 5");
    cr_tape_reset(t);
    assert_null(cr_slice(t, cr_const(t, 2, s35, NULL), -2, -1, 2));
    assert_tape_error(t, "slice: [-1, 1) exceeds dimension 0 of length 3");
    cr_tape_reset(t);
    assert_null(cr_slice(t, cr_const(t, 2, s35, NULL), 0, 0, 0));
    assert_tape_error(t, "slice: length 0 along axis 0 must be at least 1");
    cr_tape_reset(t);
    assert_null(cr_slice(t, cr_const(t, 2, s35, NULL), 2, 0, 1));
    assert_tape_error(t, "slice: axis 2 out of range for rank 2");
    cr_tape_reset(t);
    assert_null(cr_slice(t, cr_const(t, 2, s35, NULL), 1, 2147483647, 1));
    assert_tape_error(t, "slice: [2147483647, 2147483648) exceeds dimension 1 of length 5");
    cr_tape_free(t);
}

/* [[1,2,3],[4,5,6]] joined with [[7],[8]] along axis 1 and with [[9,9,9]] along 0. */
static void test_concat_hand_values_and_gradient(void **state)
{
    (void)state;
    static const cr_real b[2] = { 7, 8 }, c[3] = { 9, 9, 9 };
    int s21[2] = { 2, 1 }, s13[2] = { 1, 3 };
    cr_tape *t = cr_tape_new(0);
    cr_tensor *xa = cr_var(t, 2, S23, X23), *xb = cr_var(t, 2, s21, b);
    cr_tensor *xc = cr_const(t, 2, s13, c);
    cr_tensor *h = cr_concat(t, 2, (cr_tensor *[]){ xa, xb }, 1);
    cr_tensor *v = cr_concat(t, 3, (cr_tensor *[]){ xa, xc, xa }, -2);
    static const double wh[8] = { 1, 2, 3, 7, 4, 5, 6, 8 };
    static const double wv[15] = { 1, 2, 3, 4, 5, 6, 9, 9, 9, 1, 2, 3, 4, 5, 6 };
    assert_int_equal(h->shape[0], 2);
    assert_int_equal(h->shape[1], 4);
    assert_all_close(h->data, wh, 8, 0, 0);
    assert_int_equal(v->shape[0], 5);
    assert_int_equal(v->shape[1], 3);
    assert_all_close(v->data, wv, 15, 0, 0);
    /* xa appears three times in total: its gradient is 3 everywhere */
    assert_int_equal(cr_backward(t, cr_add(t, cr_sum(t, h), cr_sum(t, v))), CR_OK);
    static const double da[6] = { 3, 3, 3, 3, 3, 3 }, db[2] = { 1, 1 };
    assert_all_close(xa->grad, da, 6, 0, 0);
    assert_all_close(xb->grad, db, 2, 0, 0);
    assert_null(xc->grad);
    /* a single input is a copy */
    cr_tensor *one = cr_concat(t, 1, &xa, 0);
    assert_all_close(one->data, wv, 6, 0, 0);
    cr_tape_free(t);
}

static cr_tensor *build_concat(cr_tape *t, cr_tensor *const *in, int n, void *user)
{
    return weighted_sum(t, cr_concat(t, n, in, *(const int *)user));
}

/* Three rank-3 inputs of different lengths along each axis (also as a negative
 * axis): gradient of every input. */
static void test_concat_gradcheck_every_axis_of_rank3(void **state)
{
    (void)state;
    cr_rng r;
    cr_rng_seed(&r, 23);
    for (int axis = -3; axis < 3; axis++) {
        int ax = axis < 0 ? axis + 3 : axis;
        cr_tensor *in[3];
        for (int k = 0; k < 3; k++) {
            int shape[3] = { 2, 3, 2 };
            shape[ax] = k + 1;
            in[k] = rand_param(&r, 3, shape, -1, 1);
        }
        char what[32];
        snprintf(what, sizeof what, "concat axis %d", axis);
        check_gradients(build_concat, in, 3, &axis, what);
        for (int k = 0; k < 3; k++) cr_tensor_free(in[k]);
    }
}

static void test_concat_replay_uses_new_input(void **state)
{
    (void)state;
    int s2 = 2;
    cr_tape *t = cr_tape_new(0);
    cr_tensor *a = cr_var(t, 1, &s2, (cr_real[]){ 1, 2 }), *b = cr_var(t, 1, &s2, (cr_real[]){ 3, 4 });
    cr_tensor *y = cr_slice(t, cr_concat(t, 2, (cr_tensor *[]){ a, b }, 0), 0, 1, 2);
    static const double w1[2] = { 2, 3 }, w2[2] = { 20, 30 };
    assert_all_close(y->data, w1, 2, 0, 0);
    a->data[1] = 20;
    b->data[0] = 30;
    assert_int_equal(cr_tape_forward(t), CR_OK);
    assert_all_close(y->data, w2, 2, 0, 0);
    cr_tape_free(t);
}

static void test_concat_errors(void **state)
{
    (void)state;
    int s35[2] = { 3, 5 }, s34[2] = { 3, 4 }, s44[2] = { 4, 4 }, s3[1] = { 3 };
    cr_tape *t = cr_tape_new(0);
    cr_tensor *a = cr_const(t, 2, s35, NULL), *b = cr_const(t, 2, s34, NULL);
    assert_null(cr_concat(t, 2, (cr_tensor *[]){ a, b }, 0));
    assert_tape_error(t, "concat: input 2 is 3x4 but input 1 is 3x5; they must agree outside axis 0");
    cr_tape_reset(t);
    a = cr_const(t, 2, s35, NULL);
    b = cr_const(t, 2, s34, NULL);
    cr_tensor *c = cr_const(t, 2, s44, NULL);
    assert_non_null(cr_concat(t, 2, (cr_tensor *[]){ a, b }, 1));    /* fine along axis 1 */
    assert_null(cr_concat(t, 3, (cr_tensor *[]){ a, b, c }, -1));
    assert_tape_error(t, "concat: input 3 is 4x4 but input 1 is 3x5; they must agree outside axis 1");
    cr_tape_reset(t);
    a = cr_const(t, 2, s35, NULL);
    assert_null(cr_concat(t, 2, (cr_tensor *[]){ a, cr_const(t, 1, s3, NULL) }, 0));
    assert_tape_error(t, "concat: input 2 is 3 but input 1 is 3x5");
    cr_tape_reset(t);
    a = cr_const(t, 2, s35, NULL);
    assert_null(cr_concat(t, 1, &a, 2));
    assert_tape_error(t, "concat: axis 2 out of range for rank 2");
    cr_tape_reset(t);
    assert_null(cr_concat(t, 0, NULL, 0));
    assert_tape_error(t, "concat: needs at least one input, got 0");
    cr_tape_reset(t);
    a = cr_const(t, 2, s35, NULL);
    assert_null(cr_concat(t, 2, (cr_tensor *[]){ a, NULL }, 0));
    assert_tape_error(t, "concat: input 2 is NULL");
    cr_tape_reset(t);
    assert_null(cr_concat(t, 1, (cr_tensor *[]){ cr_scalar(t, 1) }, 0));
    assert_tape_error(t, "concat: axis 0 out of range for rank 0");
    cr_tape_free(t);
}

static void test_shape_ops_reject_null_input(void **state)
{
    (void)state;
    int s2[1] = { 2 };
    cr_tape *t = cr_tape_new(0);
    assert_null(cr_reshape(t, NULL, 1, s2));
    assert_tape_error(t, "reshape: input 1 is NULL");
    cr_tape_reset(t);
    assert_null(cr_slice(t, NULL, 0, 0, 1));
    assert_tape_error(t, "slice: input 1 is NULL");
    cr_tape_free(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reshape_keeps_row_major_order),
        cmocka_unit_test(test_reshape_gradcheck),
        cmocka_unit_test(test_reshape_errors),
        cmocka_unit_test(test_slice_hand_values_and_gradient),
        cmocka_unit_test(test_slice_gradcheck_every_axis_of_rank3),
        cmocka_unit_test(test_slice_errors),
        cmocka_unit_test(test_concat_hand_values_and_gradient),
        cmocka_unit_test(test_concat_gradcheck_every_axis_of_rank3),
        cmocka_unit_test(test_concat_replay_uses_new_input),
        cmocka_unit_test(test_concat_errors),
        cmocka_unit_test(test_shape_ops_reject_null_input),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
