/* Sequence ops: embedding (row gather, scatter-add backward) against PyTorch
 * float64 (tests/fixtures/rnn_fixture.h) and by hand, its index checks at recording
 * and on replay; detach (value kept, gradient stopped, recomputed on replay);
 * stack, select and unbind (values by hand, gradient checks, errors). */
#include "op_grad_helpers.h"
#include "fixtures/rnn_fixture.h"

#include <math.h>
#include <string.h>

static void fill(cr_tensor *x, const double *v)
{
    for (size_t i = 0; i < x->size; i++) x->data[i] = (cr_real)v[i];
}

/* ------------------------------------------------------------ embedding */

/* F.embedding on a 5 x 3 table and 2 x 4 indices with repeats: y and, for
 * loss = sum(r * y), the table's gradient (rows used twice or three times get the
 * sum, row 2 is never used and gets 0). */
static void test_embedding_matches_pytorch(void **state)
{
    (void)state;
    int st[2] = { 5, 3 }, si[2] = { 2, 4 }, sy[3] = { 2, 4, 3 };
    cr_tensor *table = cr_param_new(2, st);
    fill(table, emb_table);
    cr_tape *t = cr_tape_new(0);
    cr_tensor *idx = cr_const(t, 2, si, NULL), *r = cr_const(t, 3, sy, NULL);
    fill(idx, emb_idx);
    fill(r, emb_r);
    cr_tensor *y = cr_embedding(t, table, idx);
    assert_non_null(y);
    assert_int_equal(y->ndim, 3);
    for (int d = 0; d < 3; d++) assert_int_equal(y->shape[d], sy[d]);
    assert_int_equal(cr_backward(t, cr_sum(t, cr_mul(t, y, r))), CR_OK);
    assert_all_close(y->data, emb_y, 24, 0, TOL(0, 1.2e-7));   /* a copy: exact in double */
    assert_all_close(table->grad, emb_dtable, 15, TOL(1e-15, 1e-6), 0);
    for (int j = 0; j < 3; j++) assert_close(table->grad[2 * 3 + j], 0, 0, 0);
    cr_tape_free(t);
    cr_tensor_free(table);
}

/* By hand: table [[1,2],[3,4],[5,6]], idx [2, 0, 2] -> [[5,6],[1,2],[5,6]]; with
 * loss = sum(y * [[1,1],[10,10],[100,100]]) row 2 gets 1 + 100, row 0 gets 10,
 * row 1 nothing. A rank-0 index gives a vector of E. */
static void test_embedding_repeated_rows_accumulate(void **state)
{
    (void)state;
    int st[2] = { 3, 2 }, three = 3, s32[2] = { 3, 2 };
    cr_tensor *table = cr_param_new(2, st);
    const double tv[6] = { 1, 2, 3, 4, 5, 6 }, iv[3] = { 2, 0, 2 }, wv[6] = { 1, 1, 10, 10, 100, 100 };
    fill(table, tv);
    cr_tape *t = cr_tape_new(0);
    cr_tensor *idx = cr_const(t, 1, &three, NULL), *w = cr_const(t, 2, s32, NULL);
    fill(idx, iv);
    fill(w, wv);
    cr_tensor *y = cr_embedding(t, table, idx);
    static const double want_y[6] = { 5, 6, 1, 2, 5, 6 }, want_g[6] = { 10, 10, 0, 0, 101, 101 };
    assert_all_close(y->data, want_y, 6, 0, 0);
    assert_int_equal(cr_backward(t, cr_sum(t, cr_mul(t, y, w))), CR_OK);
    assert_all_close(table->grad, want_g, 6, 0, 0);
    cr_tape_reset(t);
    cr_tensor *one = cr_embedding(t, table, cr_scalar_const(t, 1));
    assert_int_equal(one->ndim, 1);
    assert_int_equal(one->shape[0], 2);
    assert_close(one->data[0], 3, 0, 0);
    assert_close(one->data[1], 4, 0, 0);
    cr_tape_free(t);
    cr_tensor_free(table);
}

/* Replay reads the indices written into idx after recording: the values and the
 * table's gradient are those of a tape recorded on the new indices; backward
 * scatters into the rows the last forward read. */
static void test_embedding_replay_reads_new_indices(void **state)
{
    (void)state;
    int st[2] = { 4, 3 }, si[2] = { 2, 2 };
    cr_rng rng;
    cr_rng_seed(&rng, 3);
    cr_tensor *table = rand_param(&rng, 2, st, -1, 1);
    const double first[4] = { 0, 1, 1, 3 }, second[4] = { 2, 2, 0, 3 };
    cr_tape *t = cr_tape_new(0);
    cr_tensor *idx = cr_const(t, 2, si, NULL);
    fill(idx, first);
    cr_tensor *loss = weighted_sum(t, cr_tanh(t, cr_embedding(t, table, idx)));
    assert_int_equal(cr_backward(t, loss), CR_OK);
    cr_tensor_zero_grad(table);
    fill(idx, second);
    assert_int_equal(cr_tape_forward(t), CR_OK);
    assert_int_equal(cr_backward(t, loss), CR_OK);
    cr_real replay_loss = cr_item(loss), replay_grad[12];
    memcpy(replay_grad, table->grad, sizeof replay_grad);
    cr_tensor_zero_grad(table);
    cr_tape *f = cr_tape_new(0);
    cr_tensor *idx2 = cr_const(f, 2, si, NULL);
    fill(idx2, second);
    cr_tensor *loss2 = weighted_sum(f, cr_tanh(f, cr_embedding(f, table, idx2)));
    assert_int_equal(cr_backward(f, loss2), CR_OK);
    assert_true(cr_item(loss2) == replay_loss);
    assert_memory_equal(table->grad, replay_grad, sizeof replay_grad);
    for (int j = 0; j < 3; j++) assert_close(table->grad[1 * 3 + j], 0, 0, 0);  /* row 1 unused now */
    cr_tape_free(f);
    cr_tape_free(t);
    cr_tensor_free(table);
}

/* An index that is not a whole number in 0..V-1 fails when recorded and when a
 * replay reads it, naming the value and its position; NaN too. */
static void test_embedding_bad_index_is_a_tape_error_naming_its_position(void **state)
{
    (void)state;
    int st[2] = { 5, 2 }, si[2] = { 2, 3 };
    cr_tensor *table = cr_param_new(2, st);
    const double bad[6] = { 0, 1, 2, 3, 4, 5 }, frac[6] = { 0, 1, 2, 3, 2.5, 1 };
    const double neg[6] = { 0, -1, 2, 3, 4, 1 }, ok[6] = { 0, 1, 2, 3, 4, 1 };
    cr_tape *t = cr_tape_new(0);
    cr_tensor *idx = cr_const(t, 2, si, NULL);
    fill(idx, bad);
    assert_null(cr_embedding(t, table, idx));
    assert_tape_error(t, "embedding: index 5 at position 5 (1, 2) of idx is not a whole number "
                         "in 0..4 (the table has 5 rows)");
    assert_int_equal(cr_tape_status(t), CR_ERR_ARG);
    assert_int_equal(cr_tape_size(t), 1);          /* only the leaf: the op left nothing */
    cr_tape_reset(t);
    idx = cr_const(t, 2, si, NULL);
    fill(idx, frac);
    assert_null(cr_embedding(t, table, idx));
    assert_tape_error(t, "index 2.5 at position 4 (1, 1)");
    cr_tape_reset(t);
    idx = cr_const(t, 2, si, NULL);
    fill(idx, ok);
    cr_tensor *y = cr_embedding(t, table, idx);
    assert_non_null(y);
    assert_int_equal(cr_backward(t, cr_sum(t, y)), CR_OK);
    fill(idx, neg);
    assert_int_equal(cr_tape_forward(t), CR_ERR_ARG);
    assert_tape_error(t, "index -1 at position 1 (0, 1)");
    cr_tape_reset(t);
    idx = cr_const(t, 2, si, NULL);
    fill(idx, ok);
    idx->data[3] = (cr_real)NAN;
    assert_null(cr_embedding(t, table, idx));
    assert_tape_error(t, "index nan at position 3 (1, 0)");
    cr_tape_reset(t);
    int s4[4] = { 1, 1, 1, 1 };
    assert_null(cr_embedding(t, table, cr_const(t, 4, s4, NULL)));
    assert_tape_error(t, "embedding: idx is 1x1x1x1 (rank 4) but may have rank 0..3");
    cr_tape_reset(t);
    assert_null(cr_embedding(t, cr_const(t, 1, si, NULL), cr_scalar_const(t, 0)));
    assert_tape_error(t, "embedding: table is 2 but must be V x E (rank 2)");
    cr_tape_free(t);
    cr_tensor_free(table);
}

static cr_tensor *build_embedding(cr_tape *t, cr_tensor *const *in, int n, void *user)
{
    (void)n;
    (void)user;
    int si[2] = { 3, 2 };
    const double iv[6] = { 3, 0, 3, 1, 3, 0 };
    cr_tensor *idx = cr_const(t, 2, si, NULL);
    if (idx) fill(idx, iv);
    /* square so that the gradient depends on the gathered values */
    return weighted_sum(t, cr_square(t, cr_embedding(t, in[0], idx)));
}

static void test_embedding_gradcheck(void **state)
{
    (void)state;
    int st[2] = { 4, 3 };
    cr_rng r;
    cr_rng_seed(&r, 33);
    cr_tensor *table = rand_param(&r, 2, st, -1, 1);
    check_gradients(build_embedding, &table, 1, NULL, "embedding 4x3 by 3x2 indices");
    cr_tensor_free(table);
}

/* --------------------------------------------------------------- detach */

/* y = detach(x) holds x's values and needs no gradient: in f = x * detach(x) the
 * gradient of x is detach(x) = x only (not 2x); replay copies x's new values. */
static void test_detach_keeps_value_and_stops_gradient(void **state)
{
    (void)state;
    cr_tape *t = cr_tape_new(0);
    cr_tensor *x = cr_scalar(t, 3);
    cr_tensor *d = cr_detach(t, x);
    assert_non_null(d);
    assert_close(cr_item(d), 3, 0, 0);
    assert_false(d->flags & CR_REQUIRES_GRAD);
    assert_true(d->data != x->data);
    cr_tensor *f = cr_mul(t, x, d);
    assert_int_equal(cr_backward(t, f), CR_OK);
    assert_close(cr_grad_item(x), 3, 0, 0);          /* 2x = 6 without the detach */
    x->data[0] = 5;
    assert_int_equal(cr_tape_forward(t), CR_OK);
    assert_close(cr_item(d), 5, 0, 0);
    assert_close(cr_item(f), 25, 0, 0);
    assert_int_equal(cr_backward(t, f), CR_OK);
    assert_close(cr_grad_item(x), 5, 0, 0);
    /* nothing downstream of a detached value alone needs a gradient */
    cr_tensor *g = cr_exp(t, cr_detach(t, x));
    assert_false(g->flags & CR_REQUIRES_GRAD);
    cr_tape_free(t);
}

/* A heap parameter through detach gets nothing, although it has a gradient
 * buffer (what batch norm's running statistics need). */
static void test_detach_of_a_parameter_leaves_its_gradient_alone(void **state)
{
    (void)state;
    int two = 2;
    cr_tensor *p = cr_param_new(1, &two);
    p->data[0] = 1;
    p->data[1] = -2;
    cr_tape *t = cr_tape_new(0);
    cr_tensor *x = cr_var(t, 1, &two, NULL);
    cr_tensor *loss = cr_sum(t, cr_mul(t, cr_sub(t, x, cr_detach(t, p)), cr_detach(t, p)));
    assert_int_equal(cr_backward(t, loss), CR_OK);
    assert_close(p->grad[0], 0, 0, 0);
    assert_close(p->grad[1], 0, 0, 0);
    assert_close(x->grad[0], 1, 0, 0);
    assert_close(x->grad[1], -2, 0, 0);
    cr_tape_free(t);
    cr_tensor_free(p);
}

/* ------------------------------------------------- stack, select, unbind */

/* a = [[1,2,3],[4,5,6]], b = a + 10: stacked on axis 0 (2x2x3), 1 (2x2x3: rows
 * interleaved) and 2 / -1 (2x3x2: elements interleaved). */
static void test_stack_hand_values_on_every_axis(void **state)
{
    (void)state;
    int s23[2] = { 2, 3 };
    const double av[6] = { 1, 2, 3, 4, 5, 6 }, bv[6] = { 11, 12, 13, 14, 15, 16 };
    static const double want0[12] = { 1, 2, 3, 4, 5, 6, 11, 12, 13, 14, 15, 16 };
    static const double want1[12] = { 1, 2, 3, 11, 12, 13, 4, 5, 6, 14, 15, 16 };
    static const double want2[12] = { 1, 11, 2, 12, 3, 13, 4, 14, 5, 15, 6, 16 };
    const double *want[3] = { want0, want1, want2 };
    const int shapes[3][3] = { { 2, 2, 3 }, { 2, 2, 3 }, { 2, 3, 2 } };
    cr_tape *t = cr_tape_new(0);
    cr_tensor *xs[2] = { cr_var(t, 2, s23, NULL), cr_var(t, 2, s23, NULL) };
    fill(xs[0], av);
    fill(xs[1], bv);
    for (int ax = 0; ax < 3; ax++) {
        cr_tensor *y = cr_stack(t, 2, xs, ax == 2 ? -1 : ax);
        assert_non_null(y);
        assert_int_equal(y->ndim, 3);
        for (int d = 0; d < 3; d++) assert_int_equal(y->shape[d], shapes[ax][d]);
        assert_all_close(y->data, want[ax], 12, 0, 0);
    }
    /* scalars stack into a vector */
    cr_tensor *ss[3] = { cr_scalar(t, 7), cr_scalar(t, 8), cr_scalar(t, 9) };
    cr_tensor *v = cr_stack(t, 3, ss, 0);
    assert_int_equal(v->ndim, 1);
    assert_int_equal(v->shape[0], 3);
    assert_close(v->data[2], 9, 0, 0);
    cr_tape_free(t);
}

typedef struct axis_arg { int axis; } axis_arg;

static cr_tensor *build_stack(cr_tape *t, cr_tensor *const *in, int n, void *user)
{
    const axis_arg *a = user;
    return weighted_sum(t, cr_stack(t, n, in, a->axis));
}

static void test_stack_gradcheck_every_axis(void **state)
{
    (void)state;
    int shape[3] = { 2, 3, 2 };
    cr_rng r;
    cr_rng_seed(&r, 41);
    cr_tensor *in[3];
    for (int k = 0; k < 3; k++) in[k] = rand_param(&r, 3, shape, -1, 1);
    for (int ax = -4; ax < 4; ax++) {
        axis_arg a = { ax };
        check_gradients(build_stack, in, 3, &a, "stack of three 2x3x2");
    }
    for (int k = 0; k < 3; k++) cr_tensor_free(in[k]);
}

/* x = 2x3x2 ramp 0..11: select(axis 1, index 2) = [[4,5],[10,11]]; index -1 is the
 * same; select(axis 0, 1) = [[6,7],[8,9],[10,11]]; the gradient lands in the
 * selected slice only. */
static void test_select_hand_values_and_gradient(void **state)
{
    (void)state;
    int shape[3] = { 2, 3, 2 };
    cr_tape *t = cr_tape_new(0);
    cr_tensor *x = cr_var(t, 3, shape, NULL);
    for (int i = 0; i < 12; i++) x->data[i] = (cr_real)i;
    cr_tensor *a = cr_select(t, x, 1, 2), *b = cr_select(t, x, -2, -1), *c = cr_select(t, x, 0, 1);
    static const double wa[4] = { 4, 5, 10, 11 }, wc[6] = { 6, 7, 8, 9, 10, 11 };
    assert_int_equal(a->ndim, 2);
    assert_int_equal(a->shape[0], 2);
    assert_int_equal(a->shape[1], 2);
    assert_all_close(a->data, wa, 4, 0, 0);
    assert_all_close(b->data, wa, 4, 0, 0);
    assert_int_equal(c->shape[0], 3);
    assert_all_close(c->data, wc, 6, 0, 0);
    assert_int_equal(cr_backward(t, cr_add(t, cr_sum(t, a), cr_sum(t, c))), CR_OK);
    static const double g[12] = { 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 2, 2 };
    assert_all_close(x->grad, g, 12, 0, 0);
    cr_tensor *s = cr_select(t, cr_select(t, a, 0, 1), 0, 0);    /* down to rank 0 */
    assert_int_equal(s->ndim, 0);
    assert_close(cr_item(s), 10, 0, 0);
    cr_tape_free(t);
}

static cr_tensor *build_select(cr_tape *t, cr_tensor *const *in, int n, void *user)
{
    (void)n;
    const axis_arg *a = user;
    return weighted_sum(t, cr_select(t, in[0], a->axis, 1));
}

static void test_select_gradcheck_every_axis(void **state)
{
    (void)state;
    int shape[4] = { 2, 3, 2, 3 };
    cr_rng r;
    cr_rng_seed(&r, 42);
    cr_tensor *x = rand_param(&r, 4, shape, -1, 1);
    for (int ax = -4; ax < 4; ax++) {
        axis_arg a = { ax };
        check_gradients(build_select, &x, 1, &a, "select index 1 of 2x3x2x3");
    }
    cr_tensor_free(x);
}

/* unbind then stack on the same axis gives x back, and the gradient of the round
 * trip is the identity. */
static void test_unbind_then_stack_is_identity(void **state)
{
    (void)state;
    int shape[3] = { 3, 4, 2 };
    cr_rng r;
    cr_rng_seed(&r, 43);
    for (int ax = 0; ax < 3; ax++) {
        cr_tape *t = cr_tape_new(0);
        cr_tensor *x = cr_var(t, 3, shape, NULL);
        cr_tensor_rand_uniform(x, &r, -1, 1);
        cr_tensor *parts[4];
        int n = cr_unbind(t, x, ax, parts, 4);
        assert_int_equal(n, shape[ax]);
        cr_tensor *y = cr_stack(t, n, parts, ax);
        assert_memory_equal(y->data, x->data, x->size * sizeof(cr_real));
        assert_int_equal(cr_backward(t, cr_sum(t, y)), CR_OK);
        for (size_t i = 0; i < x->size; i++) assert_close_i(x->grad[i], 1, 0, 0, i);
        cr_tape_free(t);
    }
}

static void test_stack_select_unbind_errors(void **state)
{
    (void)state;
    int s23[2] = { 2, 3 }, s32[2] = { 3, 2 }, s4[4] = { 1, 2, 1, 2 };
    cr_tape *t = cr_tape_new(0);
    cr_tensor *xs[2] = { cr_const(t, 2, s23, NULL), cr_const(t, 2, s32, NULL) };
    assert_null(cr_stack(t, 2, xs, 0));
    assert_tape_error(t, "stack: input 2 is 3x2 but input 1 is 2x3; all must have the same shape");
    cr_tape_reset(t);
    xs[0] = cr_const(t, 2, s23, NULL);
    assert_null(cr_stack(t, 1, xs, 3));
    assert_tape_error(t, "stack: axis 3 out of range for a rank-3 result");
    cr_tape_reset(t);
    assert_null(cr_stack(t, 0, xs, 0));
    assert_tape_error(t, "stack: needs at least one input, got 0");
    cr_tape_reset(t);
    xs[0] = cr_const(t, 4, s4, NULL);
    assert_null(cr_stack(t, 1, xs, 0));
    assert_tape_error(t, "stack: inputs are 1x2x1x2 (rank 4) but may have rank 0..3");
    cr_tape_reset(t);
    cr_tensor *x = cr_const(t, 2, s23, NULL);
    assert_null(cr_select(t, x, 1, 3));
    assert_tape_error(t, "select: index 3 is outside -3..2 (axis 1 of 2x3)");
    cr_tape_reset(t);
    x = cr_const(t, 2, s23, NULL);
    assert_null(cr_select(t, x, 2, 0));
    assert_tape_error(t, "select: axis 2 out of range for 2x3 (rank 2)");
    cr_tape_reset(t);
    x = cr_const(t, 2, s23, NULL);
    cr_tensor *parts[2];
    assert_int_equal(cr_unbind(t, x, 1, parts, 2), 0);
    assert_tape_error(t, "unbind: axis 1 has 3 parts but out has room for 2");
    assert_int_equal(cr_tape_size(t), 1);
    cr_tape_free(t);
}

int main(int argc, char **argv)
{
    struct CMUnitTest tests[] = {
        cmocka_unit_test(test_embedding_matches_pytorch),
        cmocka_unit_test(test_embedding_repeated_rows_accumulate),
        cmocka_unit_test(test_embedding_replay_reads_new_indices),
        cmocka_unit_test(test_embedding_bad_index_is_a_tape_error_naming_its_position),
        cmocka_unit_test(test_embedding_gradcheck),
        cmocka_unit_test(test_detach_keeps_value_and_stops_gradient),
        cmocka_unit_test(test_detach_of_a_parameter_leaves_its_gradient_alone),
        cmocka_unit_test(test_stack_hand_values_on_every_axis),
        cmocka_unit_test(test_stack_gradcheck_every_axis),
        cmocka_unit_test(test_select_hand_values_and_gradient),
        cmocka_unit_test(test_select_gradcheck_every_axis),
        cmocka_unit_test(test_unbind_then_stack_is_identity),
        cmocka_unit_test(test_stack_select_unbind_errors),
    };
    return CR_TEST_RUN(tests, NULL, NULL, argc, argv);
}
