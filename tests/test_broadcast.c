/* Broadcasting of binary elementwise ops (NumPy rules): output shapes, values
 * against a naive index-by-index reference, gradients (central differences and
 * closed forms) summed over broadcast axes, error messages. */
#include "op_grad_helpers.h"

#include <math.h>
#include <string.h>

typedef cr_tensor *(*binary_fn)(cr_tape *, cr_tensor *, cr_tensor *);

enum { ADD, SUB, MUL, DIV, MAX, N_OPS };
static const binary_fn op_fn[N_OPS] = { cr_add, cr_sub, cr_mul, cr_div, cr_max };
static const char *const op_name[N_OPS] = { "add", "sub", "mul", "div", "max" };

/* The reference: the op on doubles. */
static double op_ref(int op, double a, double b)
{
    switch (op) {
    case ADD: return a + b;
    case SUB: return a - b;
    case MUL: return a * b;
    case DIV: return a / b;
    default: return b > a ? b : a;
    }
}

/* ------------------------------------------------------------ shape cases */

typedef struct bcase {
    int na, a[CR_MAX_DIMS];
    int nb, b[CR_MAX_DIMS];
    int ny, y[CR_MAX_DIMS];   /* the broadcast shape NumPy gives */
} bcase;

static const bcase cases[] = {
    { 0, { 0 }, 0, { 0 }, 0, { 0 } },                                  /* scalar, scalar */
    { 2, { 2, 3 }, 2, { 2, 3 }, 2, { 2, 3 } },                         /* same shape */
    { 2, { 2, 3 }, 1, { 3 }, 2, { 2, 3 } },                            /* row vector */
    { 1, { 3 }, 2, { 2, 3 }, 2, { 2, 3 } },                            /* ... on the left */
    { 2, { 2, 1 }, 2, { 1, 3 }, 2, { 2, 3 } },                         /* outer product */
    { 3, { 4, 1, 3 }, 2, { 2, 1 }, 3, { 4, 2, 3 } },
    { 0, { 0 }, 2, { 2, 3 }, 2, { 2, 3 } },                            /* scalar + tensor */
    { 2, { 2, 3 }, 0, { 0 }, 2, { 2, 3 } },                            /* tensor + scalar */
    { 1, { 1 }, 2, { 2, 3 }, 2, { 2, 3 } },                            /* size-1 vector */
    { 2, { 3, 1 }, 2, { 3, 4 }, 2, { 3, 4 } },                         /* column: a on rows */
    { 2, { 3, 4 }, 2, { 3, 1 }, 2, { 3, 4 } },
    { 4, { 2, 3, 1, 2 }, 3, { 3, 4, 1 }, 4, { 2, 3, 4, 2 } },
    { 4, { 2, 1, 3, 1 }, 4, { 1, 2, 1, 2 }, 4, { 2, 2, 3, 2 } },
    { 4, { 1, 1, 1, 5 }, 2, { 5, 1 }, 4, { 1, 1, 5, 5 } },
    { 3, { 2, 1, 1 }, 1, { 1 }, 3, { 2, 1, 1 } },
};
#define N_CASES (sizeof cases / sizeof cases[0])

/* Offset in x (rank nx, aligned at the right) of output index idx (rank ny). */
static size_t ref_offset(int nx, const int *xs, int ny, const int *idx)
{
    size_t off = 0;
    for (int d = 0; d < nx; d++) {
        int i = idx[ny - nx + d];
        off = off * (size_t)xs[d] + (size_t)(xs[d] == 1 ? 0 : i);
    }
    return off;
}

/* Output index of flat position p for shape (ny, ys). */
static void unflatten(size_t p, int ny, const int *ys, int *idx)
{
    for (int d = ny - 1; d >= 0; d--) {
        idx[d] = (int)(p % (size_t)ys[d]);
        p /= (size_t)ys[d];
    }
}

/* Inputs with |b| >= 0.5 (div) and a, b on interleaved grids at least 0.15 apart
 * (max: no tie within a finite-difference step). */
static void fill_inputs(cr_tensor *a, cr_tensor *b, cr_rng *r)
{
    for (size_t i = 0; i < a->size; i++)
        a->data[i] = (cr_real)(0.5 * ((int)cr_rng_below(r, 7) - 3) + 0.1 * cr_rng_uniform(r) - 0.05);
    for (size_t i = 0; i < b->size; i++) {
        double v = 0.5 * ((int)cr_rng_below(r, 4) + 1) + 0.25 + 0.1 * cr_rng_uniform(r) - 0.05;
        b->data[i] = (cr_real)(cr_rng_below(r, 2) ? v : -v);
    }
}

static void test_broadcast_output_shapes_follow_numpy(void **state)
{
    (void)state;
    cr_tape *t = cr_tape_new(0);
    for (size_t c = 0; c < N_CASES; c++)
        for (int op = 0; op < N_OPS; op++) {
            cr_tensor *a = cr_var(t, cases[c].na, cases[c].a, NULL);
            cr_tensor *b = cr_var(t, cases[c].nb, cases[c].b, NULL);
            cr_tensor *y = op_fn[op](t, a, b);
            assert_non_null(y);
            assert_int_equal(y->ndim, cases[c].ny);
            for (int d = 0; d < cases[c].ny; d++) assert_int_equal(y->shape[d], cases[c].y[d]);
            for (int d = cases[c].ny; d < CR_MAX_DIMS; d++) assert_int_equal(y->shape[d], 1);
        }
    cr_tape_free(t);
}

/* Every op, every case: each output element is the op on the elements that the
 * NumPy rule pairs (computed here index by index, in double). */
static void test_broadcast_values_match_naive_reference(void **state)
{
    (void)state;
    cr_rng r;
    cr_rng_seed(&r, 3);
    cr_tape *t = cr_tape_new(0);
    for (size_t c = 0; c < N_CASES; c++)
        for (int op = 0; op < N_OPS; op++) {
            const bcase *k = &cases[c];
            cr_tensor *a = cr_var(t, k->na, k->a, NULL), *b = cr_var(t, k->nb, k->b, NULL);
            fill_inputs(a, b, &r);
            cr_tensor *y = op_fn[op](t, a, b);
            assert_non_null(y);
            for (size_t p = 0; p < y->size; p++) {
                int idx[CR_MAX_DIMS];
                unflatten(p, k->ny, k->y, idx);
                double want = op_ref(op, a->data[ref_offset(k->na, k->a, k->ny, idx)],
                                     b->data[ref_offset(k->nb, k->b, k->ny, idx)]);
                assert_close_i(y->data[p], want, 0, TOL(1e-15, 1e-7), p);
            }
        }
    cr_tape_free(t);
}

/* Hand-computed examples. */
static void test_broadcast_hand_computed_values(void **state)
{
    (void)state;
    cr_tape *t = cr_tape_new(0);
    int s23[2] = { 2, 3 }, s3[1] = { 3 }, s21[2] = { 2, 1 }, s13[2] = { 1, 3 };
    const cr_real m[6] = { 1, 2, 3, 4, 5, 6 }, v[3] = { 10, 20, 30 };
    const cr_real c[2] = { 1, 2 }, rw[3] = { 3, 4, 5 };
    cr_tensor *y = cr_add(t, cr_var(t, 2, s23, m), cr_var(t, 1, s3, v));
    const double sum[6] = { 11, 22, 33, 14, 25, 36 };
    assert_all_close(y->data, sum, 6, 0, 0);
    y = cr_mul(t, cr_var(t, 2, s21, c), cr_var(t, 2, s13, rw));     /* outer product */
    const double outer[6] = { 3, 4, 5, 6, 8, 10 };
    assert_all_close(y->data, outer, 6, 0, 0);
    y = cr_sub(t, cr_scalar(t, 1), cr_var(t, 1, s3, rw));
    const double diff[3] = { -2, -3, -4 };
    assert_all_close(y->data, diff, 3, 0, 0);
    y = cr_div(t, cr_var(t, 2, s23, m), cr_var(t, 2, s21, c));      /* rows / (1, 2) */
    const double quot[6] = { 1, 2, 3, 2, 2.5, 3 };
    assert_all_close(y->data, quot, 6, 0, 0);
    y = cr_max(t, cr_var(t, 2, s23, m), cr_scalar(t, 3.5f));
    const double clip[6] = { 3.5, 3.5, 3.5, 4, 5, 6 };
    assert_all_close(y->data, clip, 6, 0, 0);
    cr_tape_free(t);
}

/* ---------------------------------------------------------- gradients */

typedef struct grad_case {
    int op;
} grad_case;

static cr_tensor *build_op(cr_tape *t, cr_tensor *const *in, int n, void *user)
{
    (void)n;
    const grad_case *g = user;
    return wsum(t, op_fn[g->op](t, in[0], in[1]));
}

/* Every op, every case passes the central-difference check: the gradient of
 * the smaller input is the sum over the axes along which it was stretched. */
static void test_broadcast_gradients_pass_gradcheck(void **state)
{
    (void)state;
    cr_rng r;
    cr_rng_seed(&r, 5);
    for (size_t c = 0; c < N_CASES; c++)
        for (int op = 0; op < N_OPS; op++) {
            cr_tensor *in[2] = { cr_param_new(cases[c].na, cases[c].a),
                                 cr_param_new(cases[c].nb, cases[c].b) };
            assert_non_null(in[0]);
            assert_non_null(in[1]);
            fill_inputs(in[0], in[1], &r);
            grad_case g = { op };
            cr_gradcheck_result res;
            cr_status st = cr_gradcheck(build_op, in, 2, &g, 0, &res, NULL, 0);
            if (st != CR_OK || !(res.max_rel_err <= GRAD_TOL))
                print_error("%s, case %zu: status %d, max_rel_err %.3g at input %d [%zu] "
                            "(analytic %.10g, numeric %.10g)\n", op_name[op], c, (int)st,
                            res.max_rel_err, res.worst_input, res.worst_index, res.analytic,
                            res.numeric);
            assert_int_equal(st, CR_OK);
            assert_true(res.max_rel_err <= GRAD_TOL);
            cr_tensor_free(in[0]);
            cr_tensor_free(in[1]);
        }
}

/* Rows longer than the machinery's scratch chunk (256): y = a * b with a of
 * shape (3, 600) and b of shape (3, 1), then with b a scalar. With L = sum w y:
 * db[r] = sum_j w[r,j] a[r,j] and da[r,j] = w[r,j] b[r]. */
static void test_long_broadcast_rows_sum_gradient_exactly(void **state)
{
    (void)state;
    cr_rng r;
    cr_rng_seed(&r, 9);
    int sa[2] = { 3, 600 }, sb[2] = { 3, 1 };
    for (int scalar_b = 0; scalar_b < 2; scalar_b++) {
        cr_tape *t = cr_tape_new(0);
        cr_tensor *a = cr_var(t, 2, sa, NULL);
        cr_tensor *b = scalar_b ? cr_scalar(t, 0) : cr_var(t, 2, sb, NULL);
        cr_tensor_rand_uniform(a, &r, -1, 1);
        cr_tensor_rand_uniform(b, &r, -1, 1);
        cr_tensor *y = cr_mul(t, a, b);
        assert_int_equal(cr_backward(t, wsum(t, y)), CR_OK);
        double db[3] = { 0, 0, 0 };
        for (size_t i = 0; i < a->size; i++) {
            size_t row = scalar_b ? 0 : i / 600;
            db[row] += wsum_weight(i) * a->data[i];
            assert_close_i(a->grad[i], wsum_weight(i) * b->data[row], 0, TOL(1e-15, 1e-6), i);
        }
        for (size_t k = 0; k < b->size; k++)
            assert_close_i(b->grad[k], db[k], TOL(1e-12, 1e-4), TOL(1e-12, 1e-5), k);
        cr_tape_free(t);
    }
}

/* A tensor used several times, once stretched: y = (r + x) * r with x (2,3) and
 * r (3) gives dL/dr_j = sum_i w_ij (2 r_j + x_ij), dL/dx_ij = w_ij r_j. */
static void test_tensor_used_twice_with_broadcast_sums_gradients(void **state)
{
    (void)state;
    cr_tape *t = cr_tape_new(0);
    int s23[2] = { 2, 3 }, s3[1] = { 3 };
    const cr_real xv[6] = { 1, -2, 0.5f, 3, 0.25f, -1 }, rv[3] = { 2, -1, 4 };
    cr_tensor *x = cr_var(t, 2, s23, xv), *rr = cr_var(t, 1, s3, rv);
    cr_tensor *f = wsum(t, cr_mul(t, cr_add(t, rr, x), rr));
    assert_int_equal(cr_backward(t, f), CR_OK);
    for (int j = 0; j < 3; j++) {
        double want = 0;
        for (int i = 0; i < 2; i++) want += wsum_weight(3 * i + j) * (2 * rv[j] + xv[3 * i + j]);
        assert_close_i(rr->grad[j], want, 1e-6, 0, j);
    }
    for (int p = 0; p < 6; p++) assert_close_i(x->grad[p], wsum_weight(p) * rv[p % 3], 1e-7, 0, p);
    /* x + x where the second x is a (1, 3) row of it: r + r broadcast to itself */
    cr_tape_reset(t);
    rr = cr_var(t, 1, s3, rv);
    int s13[2] = { 1, 3 };
    cr_tensor *r13 = cr_var(t, 2, s13, rv);
    f = wsum(t, cr_add(t, cr_add(t, rr, r13), rr));    /* 2 rr + r13, shape (1,3) */
    assert_int_equal(cr_backward(t, f), CR_OK);
    for (int j = 0; j < 3; j++) {
        assert_close_i(rr->grad[j], 2 * wsum_weight(j), 1e-7, 0, j);
        assert_close_i(r13->grad[j], wsum_weight(j), 1e-7, 0, j);
    }
    cr_tape_free(t);
}

/* The input that needs no gradient is skipped, the other still gets its sum. */
static void test_broadcast_constant_operand_gets_no_gradient(void **state)
{
    (void)state;
    cr_tape *t = cr_tape_new(0);
    int s23[2] = { 2, 3 }, s3[1] = { 3 };
    const cr_real cv[6] = { 1, 2, 3, 4, 5, 6 }, bv[3] = { 1, 1, 1 };
    cr_tensor *c = cr_const(t, 2, s23, cv), *b = cr_var(t, 1, s3, bv);
    cr_tensor *f = wsum(t, cr_sub(t, c, b));
    assert_int_equal(cr_backward(t, f), CR_OK);
    assert_null(c->grad);
    for (int j = 0; j < 3; j++)
        assert_close_i(b->grad[j], -(wsum_weight(j) + wsum_weight(3 + j)), 1e-7, 0, j);
    cr_tape_free(t);
}

/* Replay re-runs the broadcast forward on new leaf values. */
static void test_broadcast_replay_uses_new_values(void **state)
{
    (void)state;
    cr_tape *t = cr_tape_new(0);
    int s21[2] = { 2, 1 }, s13[2] = { 1, 3 };
    const cr_real av[2] = { 1, 2 }, bv[3] = { 1, 2, 3 };
    cr_tensor *a = cr_var(t, 2, s21, av), *b = cr_var(t, 2, s13, bv);
    cr_tensor *y = cr_mul(t, a, b);
    a->data[0] = -1;
    b->data[2] = 10;
    assert_int_equal(cr_tape_forward(t), CR_OK);
    const double want[6] = { -1, -2, -10, 2, 4, 20 };
    assert_all_close(y->data, want, 6, 0, 0);
    cr_tape_free(t);
}

/* ------------------------------------------------------------- errors */

static void test_non_broadcastable_shapes_are_errors_naming_op_and_shapes(void **state)
{
    (void)state;
    const struct {
        int op, na, a[2], nb, b[2];
        const char *msg;
    } bad[] = {
        { ADD, 2, { 2, 3 }, 2, { 4, 5 }, "add: a is 2x3 but b is 4x5 (not broadcastable)" },
        { SUB, 2, { 2, 3 }, 1, { 2 }, "sub: a is 2x3 but b is 2 (not broadcastable)" },
        { MUL, 1, { 3 }, 1, { 4 }, "mul: a is 3 but b is 4 (not broadcastable)" },
        { DIV, 2, { 3, 2 }, 2, { 2, 3 }, "div: a is 3x2 but b is 2x3 (not broadcastable)" },
        { MAX, 2, { 2, 1 }, 2, { 3, 4 }, "max: a is 2x1 but b is 3x4 (not broadcastable)" },
    };
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
        cr_tape *t = cr_tape_new(0);
        cr_tensor *a = cr_var(t, bad[k].na, bad[k].a, NULL);
        cr_tensor *b = cr_var(t, bad[k].nb, bad[k].b, NULL);
        assert_null(op_fn[bad[k].op](t, a, b));
        assert_tape_error(t, bad[k].msg);
        assert_int_equal(cr_tape_status(t), CR_ERR_SHAPE);
        assert_null(cr_add(t, a, a));                      /* sticky */
        assert_tape_error(t, bad[k].msg);
        cr_tape_free(t);
    }
}

static void test_null_operand_is_an_error(void **state)
{
    (void)state;
    cr_tape *t = cr_tape_new(0);
    cr_tensor *x = cr_scalar(t, 1);
    assert_null(cr_div(t, NULL, x));
    assert_tape_error(t, "div: input 1 is NULL");
    assert_int_equal(cr_tape_status(t), CR_ERR_ARG);
    cr_tape_free(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_broadcast_output_shapes_follow_numpy),
        cmocka_unit_test(test_broadcast_values_match_naive_reference),
        cmocka_unit_test(test_broadcast_hand_computed_values),
        cmocka_unit_test(test_broadcast_gradients_pass_gradcheck),
        cmocka_unit_test(test_long_broadcast_rows_sum_gradient_exactly),
        cmocka_unit_test(test_tensor_used_twice_with_broadcast_sums_gradients),
        cmocka_unit_test(test_broadcast_constant_operand_gets_no_gradient),
        cmocka_unit_test(test_broadcast_replay_uses_new_values),
        cmocka_unit_test(test_non_broadcastable_shapes_are_errors_naming_op_and_shapes),
        cmocka_unit_test(test_null_operand_is_an_error),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
