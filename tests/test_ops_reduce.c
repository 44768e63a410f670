/* sum, mean, sum_axis, mean_axis, max_axis: values, shapes (keepdim, negative
 * axes), gradients on every axis of rank-3 tensors, max ties, replay, errors. */
#include "op_grad_helpers.h"

#include <math.h>
#include <string.h>

/* x = [[1,2,3],[4,5,6]] */
static const cr_real X23[6] = { 1, 2, 3, 4, 5, 6 };
static const int S23[2] = { 2, 3 };

static void test_sum_and_mean_values_and_gradients(void **state)
{
    (void)state;
    cr_tape *t = cr_tape_new(0);
    cr_tensor *x = cr_var(t, 2, S23, X23);
    cr_tensor *s = cr_sum(t, x), *m = cr_mean(t, x);
    assert_int_equal(s->ndim, 0);
    assert_int_equal(m->ndim, 0);
    assert_close(cr_item(s), 21, 0, 0);
    assert_close(cr_item(m), 3.5, 0, 0);
    assert_int_equal(cr_backward(t, cr_add(t, s, m)), CR_OK);   /* d/dx = 1 + 1/6 */
    for (int i = 0; i < 6; i++) assert_close_i(x->grad[i], 1 + 1.0 / 6, TOL(1e-15, 1e-7), 0, i);
    cr_tape_free(t);
}

/* Axis sums by hand: columns [5,7,9], rows [6,15]; means [2.5,3.5,4.5], [2,5]. */
static void test_sum_and_mean_axis_hand_values(void **state)
{
    (void)state;
    static const double col[3] = { 5, 7, 9 }, row[2] = { 6, 15 };
    static const double colm[3] = { 2.5, 3.5, 4.5 }, rowm[2] = { 2, 5 };
    cr_tape *t = cr_tape_new(0);
    cr_tensor *x = cr_const(t, 2, S23, X23);
    cr_tensor *s0 = cr_sum_axis(t, x, 0, 0), *s1 = cr_sum_axis(t, x, 1, 0);
    cr_tensor *m0 = cr_mean_axis(t, x, -2, 0), *m1 = cr_mean_axis(t, x, -1, 1);
    assert_all_close(s0->data, col, 3, 0, 0);
    assert_all_close(s1->data, row, 2, 0, 0);
    assert_all_close(m0->data, colm, 3, 0, 0);
    assert_all_close(m1->data, rowm, 2, 0, 0);
    assert_int_equal(s0->ndim, 1);
    assert_int_equal(s0->shape[0], 3);
    assert_int_equal(m1->ndim, 2);           /* keepdim: 2x1 */
    assert_int_equal(m1->shape[0], 2);
    assert_int_equal(m1->shape[1], 1);
    /* a 1-D sum_axis gives a rank-0 tensor; keepdim a 1-element vector */
    int s6 = 6;
    cr_tensor *v = cr_const(t, 1, &s6, X23);
    cr_tensor *v0 = cr_sum_axis(t, v, 0, 0), *v1 = cr_max_axis(t, v, -1, 1);
    assert_int_equal(v0->ndim, 0);
    assert_close(cr_item(v0), 21, 0, 0);
    assert_int_equal(v1->ndim, 1);
    assert_int_equal(v1->shape[0], 1);
    assert_close(cr_item(v1), 6, 0, 0);
    cr_tape_free(t);
}

/* Max along each axis by hand, and the gradient lands only on the maxima. */
static void test_max_axis_hand_values_and_gradient(void **state)
{
    (void)state;
    static const cr_real x[6] = { 3, -1, 7, 2, 9, 0 };     /* [[3,-1,7],[2,9,0]] */
    cr_tape *t = cr_tape_new(0);
    cr_tensor *xv = cr_var(t, 2, S23, x);
    cr_tensor *m0 = cr_max_axis(t, xv, 0, 0), *m1 = cr_max_axis(t, xv, 1, 1);
    static const double w0[3] = { 3, 9, 7 }, w1[2] = { 7, 9 };
    assert_all_close(m0->data, w0, 3, 0, 0);
    assert_all_close(m1->data, w1, 2, 0, 0);
    assert_int_equal(cr_backward(t, cr_add(t, cr_sum(t, m0), cr_scale(t, cr_sum(t, m1), 10))),
                     CR_OK);
    static const double dx[6] = { 1, 0, 1 + 10, 0, 1 + 10, 0 };
    assert_all_close(xv->grad, dx, 6, 0, 0);
    cr_tape_free(t);
}

/* Ties: [[5,5,1],[2,2,2]] along axis 1, and the columns of [[4,1],[4,1]] along
 * axis 0: the whole gradient goes to the first maximal element. */
static void test_max_axis_tie_gives_gradient_to_first(void **state)
{
    (void)state;
    static const cr_real x[6] = { 5, 5, 1, 2, 2, 2 }, y[4] = { 4, 1, 4, 1 };
    int s22[2] = { 2, 2 };
    cr_tape *t = cr_tape_new(0);
    cr_tensor *xv = cr_var(t, 2, S23, x), *yv = cr_var(t, 2, s22, y);
    cr_tensor *f = cr_add(t, cr_sum(t, cr_max_axis(t, xv, 1, 0)),
                          cr_sum(t, cr_max_axis(t, yv, 0, 0)));
    assert_close(cr_item(f), 5 + 2 + 4 + 1, 0, 0);
    assert_int_equal(cr_backward(t, f), CR_OK);
    static const double dx[6] = { 1, 0, 0, 1, 0, 0 }, dy[4] = { 1, 1, 0, 0 };
    assert_all_close(xv->grad, dx, 6, 0, 0);
    assert_all_close(yv->grad, dy, 4, 0, 0);
    cr_tape_free(t);
}

static void test_max_axis_propagates_nan(void **state)
{
    (void)state;
    cr_real x[3] = { 1, NAN, 2 };
    int s3 = 3;
    cr_tape *t = cr_tape_new(0);
    cr_tensor *m = cr_max_axis(t, cr_const(t, 1, &s3, x), 0, 0);
    assert_true(isnan(cr_item(m)));
    cr_tape_free(t);
}

/* Replay recomputes the argmax: after the data changes, the gradient follows the
 * new maximum. */
static void test_max_axis_replay_moves_gradient_with_data(void **state)
{
    (void)state;
    static const cr_real a[3] = { 1, 5, 2 }, b[3] = { 8, 5, 2 };
    int s3 = 3;
    cr_tape *t = cr_tape_new(0);
    cr_tensor *x = cr_var(t, 1, &s3, a);
    cr_tensor *m = cr_max_axis(t, x, 0, 0);
    assert_int_equal(cr_backward(t, m), CR_OK);
    static const double g1[3] = { 0, 1, 0 }, g2[3] = { 1, 0, 0 };
    assert_all_close(x->grad, g1, 3, 0, 0);
    memcpy(x->data, b, sizeof b);
    assert_int_equal(cr_tape_forward(t), CR_OK);
    assert_close(cr_item(m), 8, 0, 0);
    assert_int_equal(cr_backward(t, m), CR_OK);
    assert_all_close(x->grad, g2, 3, 0, 0);
    cr_tape_free(t);
}

typedef struct axis_case {
    int op;        /* 0 sum_axis, 1 mean_axis, 2 max_axis, 3 sum, 4 mean */
    int axis, keepdim;
} axis_case;

static cr_tensor *reduce(cr_tape *t, cr_tensor *x, const axis_case *c)
{
    switch (c->op) {
    case 0: return cr_sum_axis(t, x, c->axis, c->keepdim);
    case 1: return cr_mean_axis(t, x, c->axis, c->keepdim);
    case 2: return cr_max_axis(t, x, c->axis, c->keepdim);
    case 3: return cr_sum(t, x);
    default: return cr_mean(t, x);
    }
}

static cr_tensor *build_reduce(cr_tape *t, cr_tensor *const *in, int n, void *user)
{
    (void)n;
    return weighted_sum(t, reduce(t, in[0], user));
}

/* Every axis of a 2x3x4 tensor (given as 0..2 and as -3..-1), with and without
 * keepdim, for the three axis reductions: output shape and gradients. */
static void test_axis_reductions_gradcheck_every_axis_of_rank3(void **state)
{
    (void)state;
    static const char *names[3] = { "sum_axis", "mean_axis", "max_axis" };
    int shape[3] = { 2, 3, 4 };
    cr_rng r;
    cr_rng_seed(&r, 11);
    cr_tensor *x = ramp_param(&r, 3, shape, -1.2, 0.1);   /* distinct values for max */
    for (int op = 0; op < 3; op++)
        for (int axis = -3; axis < 3; axis++)
            for (int keep = 0; keep <= 1; keep++) {
                axis_case c = { op, axis, keep };
                int ax = axis < 0 ? axis + 3 : axis;
                cr_tape *t = cr_tape_new(0);
                cr_tensor *y = reduce(t, x, &c);
                assert_non_null(y);
                assert_int_equal(y->ndim, keep ? 3 : 2);
                for (int d = 0, k = 0; d < 3; d++) {
                    if (d == ax) {
                        if (keep) assert_int_equal(y->shape[k++], 1);
                    } else {
                        assert_int_equal(y->shape[k++], shape[d]);
                    }
                }
                cr_tape_free(t);
                char what[64];
                snprintf(what, sizeof what, "%s axis %d keepdim %d", names[op], axis, keep);
                check_gradients(build_reduce, &x, 1, &c, what);
            }
    cr_tensor_free(x);
}

/* The axis sums agree with a plain triple loop on the same data. */
static void test_sum_axis_matches_loop_on_rank3(void **state)
{
    (void)state;
    int shape[3] = { 3, 4, 5 };
    cr_rng r;
    cr_rng_seed(&r, 12);
    cr_tensor *x = rand_param(&r, 3, shape, -2, 2);
    cr_tape *t = cr_tape_new(0);
    for (int ax = 0; ax < 3; ax++) {
        cr_tensor *s = cr_sum_axis(t, x, ax, 0), *m = cr_mean_axis(t, x, ax, 1);
        double want[20] = { 0 };
        for (int i = 0; i < 3; i++)
            for (int j = 0; j < 4; j++)
                for (int k = 0; k < 5; k++) {
                    int idx[3] = { i, j, k }, o = 0;
                    for (int d = 0; d < 3; d++)
                        if (d != ax) o = o * shape[d] + idx[d];
                    want[o] += x->data[(i * 4 + j) * 5 + k];
                }
        assert_int_equal(s->size, 60 / shape[ax]);
        assert_all_close(s->data, want, s->size, TOL(1e-14, 1e-5), 0);
        for (size_t o = 0; o < m->size; o++)
            assert_close_i(m->data[o], want[o] / shape[ax], TOL(1e-14, 1e-5), 0, o);
    }
    cr_tape_free(t);
    cr_tensor_free(x);
}

static void test_full_sum_and_mean_gradcheck(void **state)
{
    (void)state;
    static const int shapes[][3] = { { 1, 1, 1 }, { 2, 3, 4 }, { 5, 1, 7 } };
    cr_rng r;
    cr_rng_seed(&r, 13);
    for (size_t s = 0; s < 3; s++)
        for (int op = 3; op <= 4; op++) {
            cr_tensor *x = rand_param(&r, 3, shapes[s], -1, 1);
            axis_case c = { op, 0, 0 };
            check_gradients(build_reduce, &x, 1, &c, op == 3 ? "sum" : "mean");
            cr_tensor_free(x);
        }
}

/* sum of a large vector: double accumulation keeps a float build exact here
 * (1e6 ones plus a small term that float partial sums would lose). */
static void test_sum_accumulates_accurately(void **state)
{
    (void)state;
    int n = 1 << 20;
    cr_tensor *x = cr_tensor_new(1, &n);
    cr_tensor_fill(x, 1);
    x->data[0] = (cr_real)0.25;
    cr_tape *t = cr_tape_new(0);
    assert_close(cr_item(cr_sum(t, x)), n - 0.75, 0, 0);
    assert_close(cr_item(cr_mean(t, x)), (n - 0.75) / n, TOL(1e-15, 1e-7), 0);
    cr_tape_free(t);
    cr_tensor_free(x);
}

static void test_reduce_axis_errors(void **state)
{
    (void)state;
    cr_tape *t = cr_tape_new(0);
    cr_tensor *x = cr_const(t, 2, S23, X23);
    assert_null(cr_sum_axis(t, x, 3, 0));
    assert_tape_error(t, "sum_axis: axis 3 out of range for rank 2");
    cr_tape_reset(t);
    x = cr_const(t, 2, S23, X23);
    assert_null(cr_mean_axis(t, x, -3, 1));
    assert_tape_error(t, "mean_axis: axis -3 out of range for rank 2");
    cr_tape_reset(t);
    x = cr_const(t, 2, S23, X23);
    assert_null(cr_max_axis(t, x, 2, 0));
    assert_tape_error(t, "max_axis: axis 2 out of range for rank 2");
    cr_tape_reset(t);
    assert_null(cr_sum_axis(t, cr_scalar(t, 1), 0, 0));
    assert_tape_error(t, "sum_axis: axis 0 out of range for rank 0");
    cr_tape_reset(t);
    assert_null(cr_sum(t, NULL));
    assert_tape_error(t, "sum: input 1 is NULL");
    cr_tape_reset(t);
    assert_null(cr_mean(t, NULL));
    assert_tape_error(t, "mean: input 1 is NULL");
    cr_tape_free(t);
}

static void test_axis_reductions_reject_null_input(void **state)
{
    (void)state;
    cr_tape *t = cr_tape_new(0);
    assert_null(cr_sum_axis(t, NULL, 0, 0));
    assert_tape_error(t, "sum_axis: input 1 is NULL");
    cr_tape_reset(t);
    assert_null(cr_mean_axis(t, NULL, 0, 0));
    assert_tape_error(t, "mean_axis: input 1 is NULL");
    cr_tape_reset(t);
    assert_null(cr_max_axis(t, NULL, 0, 1));
    assert_tape_error(t, "max_axis: input 1 is NULL");
    cr_tape_free(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sum_and_mean_values_and_gradients),
        cmocka_unit_test(test_sum_and_mean_axis_hand_values),
        cmocka_unit_test(test_max_axis_hand_values_and_gradient),
        cmocka_unit_test(test_max_axis_tie_gives_gradient_to_first),
        cmocka_unit_test(test_max_axis_propagates_nan),
        cmocka_unit_test(test_max_axis_replay_moves_gradient_with_data),
        cmocka_unit_test(test_axis_reductions_gradcheck_every_axis_of_rank3),
        cmocka_unit_test(test_sum_axis_matches_loop_on_rank3),
        cmocka_unit_test(test_full_sum_and_mean_gradcheck),
        cmocka_unit_test(test_sum_accumulates_accurately),
        cmocka_unit_test(test_reduce_axis_errors),
        cmocka_unit_test(test_axis_reductions_reject_null_input),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
