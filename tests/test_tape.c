/* The tape: recording, backward, accumulation, replay, modes, errors, memory. */
#include "helpers.h"

#include <math.h>
#include <string.h>

/* Course notes (lecture-mlp-backprop-autodiff-training): f = x*(x+y) at x=2, y=1
 * gives f = 6, df/dx = 2x + y = 5, df/dy = x = 2. */
static void test_course_example_x_times_x_plus_y(void **state)
{
    (void)state;
    cr_tape *t = cr_tape_new(0);
    cr_tensor *x = cr_scalar(t, 2), *y = cr_scalar(t, 1);
    cr_tensor *f = cr_mul(t, x, cr_add(t, x, y));
    assert_int_equal(cr_backward(t, f), CR_OK);
    assert_close(cr_item(f), 6, 0, 0);
    assert_close(cr_grad_item(x), 5, 0, 0);
    assert_close(cr_grad_item(y), 2, 0, 0);
    assert_null(cr_tape_error(t));
    cr_tape_free(t);
}

/* d(x*x)/dx = 2x and d(x+x)/dx = 2: a tensor used twice gets the summed gradient. */
static void test_tensor_used_twice_gets_summed_gradient(void **state)
{
    (void)state;
    cr_tape *t = cr_tape_new(0);
    cr_tensor *x = cr_scalar(t, 3);
    cr_tensor *f = cr_add(t, cr_mul(t, x, x), cr_add(t, x, x));   /* x^2 + 2x */
    assert_int_equal(cr_backward(t, f), CR_OK);
    assert_close(cr_grad_item(x), 2 * 3 + 2, 0, 0);
    cr_tape_free(t);
}

/* A parameter feeding two backward passes accumulates until zeroed. */
static void test_parameter_gradient_accumulates_until_zeroed(void **state)
{
    (void)state;
    cr_tensor *w = cr_param_new(0, NULL);
    w->data[0] = 4;
    cr_tape *t = cr_tape_new(0);
    for (int step = 1; step <= 2; step++) {
        cr_tape_reset(t);
        cr_tensor *c = cr_scalar_const(t, 5);
        cr_tensor *f = cr_add(t, cr_mul(t, w, c), cr_mul(t, w, w));   /* 5w + w^2 */
        assert_int_equal(cr_backward(t, f), CR_OK);
        assert_close(cr_grad_item(w), step * (5 + 2 * 4), 0, 0);
    }
    cr_tensor_zero_grad(w);
    assert_close(cr_grad_item(w), 0, 0, 0);
    cr_tape_free(t);
    cr_tensor_free(w);
}

static void test_constants_get_no_gradient(void **state)
{
    (void)state;
    cr_tape *t = cr_tape_new(0);
    cr_tensor *x = cr_scalar(t, 2), *c = cr_scalar_const(t, 7);
    cr_tensor *f = cr_mul(t, x, c);
    assert_int_equal(cr_backward(t, f), CR_OK);
    assert_null(c->grad);
    assert_close(cr_grad_item(x), 7, 0, 0);
    cr_tape_free(t);
}

static void test_second_backward_refused_without_keep_graph(void **state)
{
    (void)state;
    cr_tape *t = cr_tape_new(0);
    cr_tensor *x = cr_scalar(t, 2);
    cr_tensor *f = cr_mul(t, x, x);
    assert_int_equal(cr_backward(t, f), CR_OK);
    assert_int_equal(cr_backward(t, f), CR_ERR_STATE);
    /* refused, not an error: the message is the refusal's, the tape stays usable */
    assert_null(cr_tape_error(t));
    assert_non_null(strstr(cr_tape_refusal(t), "already used by a backward pass"));
    cr_tape_free(t);
}

/* With keep_graph, a second pass recomputes intermediates' grads from zero, while
 * tape leaves (like parameters) are re-zeroed too: each pass gives 2x = 4. */
static void test_keep_graph_allows_second_backward(void **state)
{
    (void)state;
    cr_tape *t = cr_tape_new(0);
    cr_tape_set_keep_graph(t, 1);
    cr_tensor *x = cr_scalar(t, 2);
    cr_tensor *f = cr_mul(t, x, x);
    assert_int_equal(cr_backward(t, f), CR_OK);
    assert_int_equal(cr_backward(t, f), CR_OK);
    assert_close(cr_grad_item(x), 4, 0, 0);
    cr_tape_free(t);
}

static void test_backward_on_non_scalar_is_error(void **state)
{
    (void)state;
    cr_tape *t = cr_tape_new(0);
    int shape[1] = { 3 };
    cr_tensor *x = cr_var(t, 1, shape, NULL);
    cr_tensor *f = cr_add(t, x, x);
    assert_int_equal(cr_backward(t, f), CR_ERR_SHAPE);
    assert_tape_error(t, "backward: loss must be a scalar but is 3");
    cr_tape_free(t);
}

static void test_null_input_is_recorded_and_sticky(void **state)
{
    (void)state;
    cr_tape *t = cr_tape_new(0);
    cr_tensor *x = cr_scalar(t, 1);
    assert_null(cr_add(t, x, NULL));
    assert_tape_error(t, "add: input 2 is NULL");
    assert_int_equal(cr_tape_status(t), CR_ERR_ARG);
    /* every later op is a no-op returning NULL; the first message is kept */
    assert_null(cr_mul(t, x, x));
    assert_null(cr_scalar(t, 3));
    assert_tape_error(t, "add: input 2 is NULL");
    assert_int_equal(cr_backward(t, x), CR_ERR_ARG);
    assert_int_equal(cr_backward(NULL, x), CR_ERR_ARG);
    cr_tape_reset(t);
    assert_null(cr_tape_error(t));
    cr_tape_free(t);
}

static void test_backward_null_loss_and_foreign_tape(void **state)
{
    (void)state;
    cr_tape *a = cr_tape_new(0), *b = cr_tape_new(0);
    assert_int_equal(cr_backward(a, NULL), CR_ERR_ARG);
    assert_tape_error(a, "backward: loss is NULL");
    cr_tensor *x = cr_scalar(b, 1);
    assert_int_equal(cr_backward(b, x), CR_OK);
    cr_tape_reset(a);
    assert_int_equal(cr_backward(a, x), CR_ERR_ARG);
    assert_tape_error(a, "not a tensor of this tape");
    cr_tape_reset(a);
    assert_null(cr_mul(a, x, x));
    assert_tape_error(a, "mul: input 1 belongs to another tape");
    cr_tape_free(a);
    cr_tape_free(b);
}

static void test_no_grad_mode_records_nothing(void **state)
{
    (void)state;
    cr_tape *t = cr_tape_new(0);
    cr_tensor *x = cr_scalar(t, 2);
    size_t before = cr_tape_size(t);
    assert_int_equal(cr_tape_set_grad_mode(t, 0), 1);
    cr_tensor *f = cr_mul(t, x, x);
    assert_close(cr_item(f), 4, 0, 0);
    assert_int_equal(cr_tape_size(t), before);
    assert_int_equal(f->flags & CR_REQUIRES_GRAD, 0);
    assert_int_equal(cr_backward(t, f), CR_ERR_STATE);
    assert_tape_error(t, "no-grad mode");
    cr_tape_free(t);
}

/* Replay: new leaf data, same graph, new values and gradients. */
static void test_replay_recomputes_with_new_inputs(void **state)
{
    (void)state;
    cr_tape *t = cr_tape_new(0);
    cr_tensor *x = cr_scalar(t, 2), *y = cr_scalar(t, 1);
    cr_tensor *f = cr_mul(t, x, cr_add(t, x, y));
    assert_int_equal(cr_backward(t, f), CR_OK);
    x->data[0] = 3;
    y->data[0] = 4;
    assert_int_equal(cr_tape_forward(t), CR_OK);
    assert_close(cr_item(f), 3 * 7, 0, 0);
    assert_int_equal(cr_backward(t, f), CR_OK);
    assert_close(cr_grad_item(x), 2 * 3 + 4, 0, 0);
    assert_close(cr_grad_item(y), 3, 0, 0);
    cr_tape_free(t);
}

/* A training-style loop (record, backward, reset) allocates nothing after step 1. */
static void test_training_loop_allocates_nothing_after_first_step(void **state)
{
    (void)state;
    cr_test_alloc count = { 0 };
    cr_test_alloc_install(&count);
    cr_tensor *w = cr_param_new(0, NULL);
    cr_tape *t = cr_tape_new(4096);   /* small first block: forces growth in step 1 */
    size_t after_first = 0;
    for (int step = 0; step < 50; step++) {
        cr_tape_reset(t);
        cr_tensor *y = w;
        for (int k = 0; k < 400; k++) y = cr_add(t, cr_mul(t, y, cr_scalar_const(t, 0.5)), w);
        assert_int_equal(cr_backward(t, y), CR_OK);
        w->data[0] -= (cr_real)0.01 * w->grad[0];
        cr_tensor_zero_grad(w);
        if (step == 0) after_first = count.mallocs + count.reallocs;
    }
    size_t total = count.mallocs + count.reallocs;
    cr_test_alloc_remove();   /* before asserting: a failed assert leaves the function */
    assert_true(after_first > 2);   /* the first step did grow the arena and node list */
    assert_int_equal(total, after_first);
    cr_test_alloc_install(&count);
    cr_tape_free(t);
    cr_tensor_free(w);
    cr_test_alloc_remove();
}

static void test_arena_cap_gives_clear_error(void **state)
{
    (void)state;
    cr_tape *t = cr_tape_new(4096);
    cr_tape_set_arena_limit(t, 8192);
    int shape[1] = { 100000 };
    assert_null(cr_var(t, 1, shape, NULL));
    assert_int_equal(cr_tape_status(t), CR_ERR_NOMEM);
    assert_tape_error(t, "arena cap is 8192 bytes");
    cr_tape_free(t);
}

static void test_failed_allocation_is_error_not_crash(void **state)
{
    (void)state;
    /* fail each allocation in turn: every failure is reported, none crashes */
    for (long k = 1; k <= 4; k++) {
        cr_test_alloc count = { 0 };
        count.fail_at = k;
        cr_test_alloc_install(&count);
        cr_tape *t = cr_tape_new(0);
        if (t) {
            cr_tensor *x = cr_scalar(t, 2);
            cr_tensor *f = cr_mul(t, x, x);
            if (f) assert_int_equal(cr_backward(t, f), CR_OK);
            else assert_int_equal(cr_tape_status(t), CR_ERR_NOMEM);
            cr_tape_free(t);
        }
        cr_test_alloc_remove();
        assert_true(count.count >= 1);
    }
}

static void test_bad_shapes_rejected(void **state)
{
    (void)state;
    cr_tape *t = cr_tape_new(0);
    int shape[5] = { 2, 2, 2, 2, 2 };
    assert_null(cr_var(t, 5, shape, NULL));
    assert_tape_error(t, "bad shape");
    int zero[1] = { 0 };
    assert_null(cr_param_new(1, zero));
    assert_null(cr_param_new(5, shape));
    int huge[4] = { 1 << 30, 1 << 30, 1 << 30, 1 << 30 };
    assert_null(cr_param_new(4, huge));
    cr_tape_free(t);
}

/* Named at compile time, the 1M-node chain must run without recursion. */
static void test_million_node_graph_backward(void **state)
{
    (void)state;
    cr_tape *t = cr_tape_new(0);
    cr_tensor *x = cr_scalar(t, 1), *y = x;
    for (int i = 0; i < 1000000; i++) y = cr_add(t, y, x);
    assert_int_equal(cr_backward(t, y), CR_OK);
    assert_close(cr_grad_item(x), 1000001, 0, 0);
    cr_tape_free(t);
}

static void test_rng_is_deterministic_and_uniform(void **state)
{
    (void)state;
    cr_rng a, b;
    cr_rng_seed(&a, 42);
    cr_rng_seed(&b, 42);
    for (int i = 0; i < 100; i++) assert_int_equal(cr_rng_u32(&a), cr_rng_u32(&b));
    double sum = 0, sq = 0;
    for (int i = 0; i < 100000; i++) {
        double u = cr_rng_uniform(&a);
        assert_true(u >= 0 && u < 1);
        double z = cr_rng_normal(&b);
        sum += z;
        sq += z * z;
    }
    /* mean of 1e5 N(0,1) draws: sd 0.0032, so |mean| < 0.02 is > 6 sigma */
    assert_close(sum / 1e5, 0, 0.02, 0);
    assert_close(sq / 1e5, 1, 0.02, 0);
    int idx[10];
    for (int i = 0; i < 10; i++) idx[i] = i;
    cr_rng_shuffle(&a, idx, 10);
    int seen = 0;
    for (int i = 0; i < 10; i++) seen |= 1 << idx[i];
    assert_int_equal(seen, 1023);
}

/* Functions for the gradcheck error test: one that fails on its tape, one that
 * returns a vector instead of a scalar. */
static cr_tensor *build_bad_matmul(cr_tape *t, cr_tensor *const *in, int n, void *user)
{
    (void)n;
    (void)user;
    return cr_sum(t, cr_matmul(t, in[0], in[0], 0, 0));
}
static cr_tensor *build_vector(cr_tape *t, cr_tensor *const *in, int n, void *user)
{
    (void)n;
    (void)user;
    return cr_scale(t, in[0], 2);
}

/* cr_gradcheck passes the build's tape error on (it used to return the bare status,
 * the message lost with its internal tape) and says why it refuses its arguments. */
static void test_gradcheck_errors_carry_the_message(void **state)
{
    (void)state;
    int s23[2] = { 2, 3 };
    cr_tensor *w = cr_param_new(2, s23), *c = cr_tensor_new(2, s23);
    cr_gradcheck_result res;
    char err[160];
    assert_int_equal(cr_gradcheck(build_bad_matmul, &w, 1, NULL, 0, &res, err, sizeof err),
                     CR_ERR_SHAPE);
    assert_non_null(strstr(err, "gradcheck: node #"));
    assert_non_null(strstr(err, " matmul: "));
    assert_int_equal(cr_gradcheck(build_vector, &w, 1, NULL, 0, &res, err, sizeof err),
                     CR_ERR_SHAPE);
    assert_string_equal(err, "gradcheck: build returned 6 values, not a scalar");
    assert_int_equal(cr_gradcheck(build_vector, &c, 1, NULL, 0, &res, err, sizeof err),
                     CR_ERR_ARG);
    assert_string_equal(err, "gradcheck: input 0 is not a parameter (a heap tensor with a "
                             "gradient: cr_param_new)");
    assert_int_equal(cr_gradcheck(build_vector, &w, 0, NULL, 0, &res, err, sizeof err),
                     CR_ERR_ARG);
    assert_string_equal(err, "gradcheck: n = 0 inputs (1..64)");
    assert_int_equal(cr_gradcheck(NULL, &w, 1, NULL, 0, &res, err, sizeof err), CR_ERR_ARG);
    assert_string_equal(err, "gradcheck: build is NULL");
    cr_tensor_free(w);
    cr_tensor_free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_course_example_x_times_x_plus_y),
        cmocka_unit_test(test_tensor_used_twice_gets_summed_gradient),
        cmocka_unit_test(test_parameter_gradient_accumulates_until_zeroed),
        cmocka_unit_test(test_constants_get_no_gradient),
        cmocka_unit_test(test_second_backward_refused_without_keep_graph),
        cmocka_unit_test(test_keep_graph_allows_second_backward),
        cmocka_unit_test(test_backward_on_non_scalar_is_error),
        cmocka_unit_test(test_null_input_is_recorded_and_sticky),
        cmocka_unit_test(test_backward_null_loss_and_foreign_tape),
        cmocka_unit_test(test_no_grad_mode_records_nothing),
        cmocka_unit_test(test_replay_recomputes_with_new_inputs),
        cmocka_unit_test(test_training_loop_allocates_nothing_after_first_step),
        cmocka_unit_test(test_arena_cap_gives_clear_error),
        cmocka_unit_test(test_failed_allocation_is_error_not_crash),
        cmocka_unit_test(test_bad_shapes_rejected),
        cmocka_unit_test(test_million_node_graph_backward),
        cmocka_unit_test(test_rng_is_deterministic_and_uniform),
        cmocka_unit_test(test_gradcheck_errors_carry_the_message),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
