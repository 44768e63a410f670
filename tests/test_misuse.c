/* Hostile use of the tape API (issue 12): ops failing half-way, absurd sizes, stale
 * tensors after a reset, errors that name the node, refused calls that leave the
 * tape usable, and the NULL rules of the RNG and GEMM. Each test started as the
 * reproducer of a defect. */
#include "helpers.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------ half-made nodes (case 1) */

/* Reproducer: dropout recorded its node, then failed to allocate its mask on the
 * arena cap; the node stayed on the tape with no mask and cr_tape_dot (which runs
 * the node's backward for local derivatives) dereferenced it. */
static void test_dropout_failing_on_arena_cap_leaves_no_node(void **state)
{
    (void)state;
    FILE *devnull = fopen("/dev/null", "w");
    assert_non_null(devnull);
    cr_rng rng;
    cr_rng_seed(&rng, 1);
    cr_tape *t = cr_tape_new(208);
    cr_tape_set_arena_limit(t, 272);
    cr_tensor *x = cr_scalar(t, 2);
    assert_non_null(x);
    assert_null(cr_dropout(t, x, 0.5f, &rng, 1));
    assert_int_equal(cr_tape_status(t), CR_ERR_NOMEM);
    assert_int_equal(cr_tape_size(t), 1);              /* only x */
    assert_int_equal(cr_tape_dot(t, devnull), CR_OK);
    assert_int_equal(cr_tape_print(t, devnull), CR_OK);
    cr_tape_free(t);
    fclose(devnull);
}

/* Inputs of every op: a, b 2x3 (need gradients), w 3x2, y two class indices,
 * p 2x3 probabilities. */
enum { IN_A, IN_B, IN_W, IN_Y, IN_P, N_IN };

static void cube_fwd(cr_tensor *out, cr_tensor *const *in, int n_in, void *user)
{
    (void)n_in;
    (void)user;
    for (size_t i = 0; i < out->size; i++) out->data[i] = in[0]->data[i] * in[0]->data[i];
}

static void cube_bwd(cr_tensor *out, cr_tensor *const *in, int n_in, void *user)
{
    (void)n_in;
    (void)user;
    if (in[0]->grad)
        for (size_t i = 0; i < out->size; i++)
            in[0]->grad[i] += 2 * in[0]->data[i] * out->grad[i];
}

static cr_rng op_rng;
static size_t extra_nodes;     /* nodes an op case made besides its result */

static cr_tensor *run_op(cr_tape *t, int op, cr_tensor **in)
{
    cr_tensor *a = in[IN_A], *b = in[IN_B];
    int shape6[1] = { 6 };
    switch (op) {
    case 0: return cr_add(t, a, b);
    case 1: return cr_sub(t, a, b);
    case 2: return cr_mul(t, a, b);
    case 3: return cr_div(t, a, b);
    case 4: return cr_max(t, a, b);
    case 5: return cr_neg(t, a);
    case 6: return cr_exp(t, a);
    case 7: return cr_log(t, a);
    case 8: return cr_sqrt(t, a);
    case 9: return cr_pow(t, a, 3);
    case 10: return cr_square(t, a);
    case 11: return cr_abs(t, a);
    case 12: return cr_relu(t, a);
    case 13: return cr_leaky_relu(t, a, 0.1f);
    case 14: return cr_sigmoid(t, a);
    case 15: return cr_tanh(t, a);
    case 16: return cr_scale(t, a, 2);
    case 17: return cr_add_scalar(t, a, 2);
    case 18: return cr_matmul(t, a, in[IN_W], 0, 0);
    case 19: return cr_linear(t, a, in[IN_W], NULL);
    case 20: return cr_transpose(t, a);
    case 21: return cr_sum(t, a);
    case 22: return cr_mean(t, a);
    case 23: return cr_sum_axis(t, a, 1, 0);
    case 24: return cr_mean_axis(t, a, 0, 1);
    case 25: return cr_max_axis(t, a, 1, 0);
    case 26: return cr_reshape(t, a, 1, shape6);
    case 27: return cr_slice(t, a, 1, 1, 2);
    case 28: {
        cr_tensor *xs[2] = { a, b };
        return cr_concat(t, 2, xs, 0);
    }
    case 29: return cr_softmax(t, a);
    case 30: return cr_log_softmax(t, a);
    case 31: return cr_softmax_cross_entropy(t, a, in[IN_Y]);
    case 32: return cr_bce_with_logits(t, a, in[IN_P]);
    case 33: return cr_dropout(t, a, 0.5f, &op_rng, 1);
    case 34: return cr_custom(t, "square_it", 1, &a, a->ndim, a->shape, cube_fwd, cube_bwd, NULL);
    case 35: {
        cr_tensor *s = cr_add(t, a, b);     /* a whole node even if the label fails */
        extra_nodes += s != NULL;
        cr_tensor *y = cr_tensor_label(s, "sum_ab");
        extra_nodes -= y != NULL;
        return y;
    }
    case 36: return cr_embedding(t, in[IN_W], in[IN_Y]);   /* rows 0 and 2 of 3 */
    case 37: return cr_detach(t, a);
    case 38: {
        cr_tensor *xs[2] = { a, b };
        return cr_stack(t, 2, xs, 1);
    }
    case 39: return cr_select(t, a, 1, 2);
    case 40: {
        cr_tensor *parts[2] = { NULL, NULL };
        int k = cr_unbind(t, a, 0, parts, 2);     /* two nodes; the first may stay */
        extra_nodes += parts[0] != NULL;
        return k == 2 ? parts[1] : NULL;
    }
    case 41: return cr_gate(t, a, 1, 2, CR_GATE_TANH);
    default: return NULL;
    }
}
#define N_OPS 42

/* Every op, under every arena cap up to 6 KiB in steps of 8 bytes (0: none): whatever
 * fails, the tape holds exactly the nodes whose tensors were returned, and print,
 * DOT, replay and backward work on what is there. */
static void test_every_op_under_every_arena_cap_leaves_only_whole_nodes(void **state)
{
    (void)state;
    FILE *devnull = fopen("/dev/null", "w");
    assert_non_null(devnull);
    int s23[2] = { 2, 3 }, s32[2] = { 3, 2 }, two = 2;
    cr_real av[6] = { 0.5f, -1, 2, 1.5f, -0.25f, 3 }, bv[6] = { 1, 2, -3, 0.5f, 4, -1 };
    cr_real wv[6] = { 1, 0, -1, 2, 0.5f, 1 }, yv[2] = { 0, 2 };
    cr_real pv[6] = { 0, 1, 0.5f, 0.25f, 1, 0 };
    for (int op = 0; op < N_OPS; op++) {
        int succeeded = 0;
        for (size_t cap = 0; cap <= 6144; cap += 8) {
            cr_rng_seed(&op_rng, 7);
            cr_tape *t = cr_tape_new(64);
            assert_non_null(t);
            cr_tape_set_arena_limit(t, cap);
            cr_tensor *in[N_IN];
            in[IN_A] = cr_var(t, 2, s23, av);
            in[IN_B] = cr_var(t, 2, s23, bv);
            in[IN_W] = cr_var(t, 2, s32, wv);
            in[IN_Y] = cr_const(t, 1, &two, yv);
            in[IN_P] = cr_const(t, 2, s23, pv);
            size_t made = 0;
            for (int k = 0; k < N_IN; k++) made += in[k] != NULL;
            extra_nodes = 0;
            cr_tensor *y = made == N_IN ? run_op(t, op, in) : NULL;
            made += extra_nodes;
            if (y) {
                made++;
                succeeded = 1;
                assert_null(cr_tape_error(t));
            } else {
                assert_non_null(cr_tape_error(t));
            }
            if (cr_tape_size(t) != made)
                fail_msg("op %d under a cap of %zu bytes: %zu nodes on the tape but %zu tensors "
                         "returned (%s)", op, cap, cr_tape_size(t), made, cr_tape_error(t));
            assert_int_equal(cr_tape_print(t, devnull), CR_OK);
            assert_int_equal(cr_tape_dot(t, devnull), CR_OK);
            if (y) {
                cr_tensor *loss = y->size == 1 ? y : cr_sum(t, y);
                if (loss && cr_backward(t, loss) == CR_OK)
                    assert_int_equal(cr_tape_forward(t), CR_OK);
                assert_int_equal(cr_tape_dot(t, devnull), CR_OK);
            } else {
                assert_int_equal(cr_tape_forward(t), cr_tape_status(t));
            }
            cr_tape_free(t);
        }
        if (!succeeded) fail_msg("op %d never succeeded below 6 KiB", op);
    }
    fclose(devnull);
}

/* fuzz_ops finding 1 (in the node-commit code before it was committed): a no-grad
 * op on a tape that never recorded a node offset a NULL node array (UBSan, SAN=1). */
static void test_no_grad_ops_on_fresh_tape_record_nothing(void **state)
{
    (void)state;
    cr_tape *t = cr_tape_new(0);
    cr_tape_set_grad_mode(t, 0);
    cr_tensor *x = cr_scalar(t, 3);
    cr_tensor *y = cr_mul(t, x, x);
    assert_non_null(y);
    assert_close(cr_item(y), 9, 0, 0);
    assert_int_equal(cr_tape_size(t), 0);
    cr_tape_free(t);
}

/* ----------------------------------------------------- sizes (case 2) */

/* Reproducer: cr_tape_new(SIZE_MAX) then cr_scalar: the first block's size plus its
 * header wrapped to a tiny malloc, and the scalar was written past it. */
static void test_tape_of_size_max_refuses_its_first_block(void **state)
{
    (void)state;
    size_t sizes[] = { SIZE_MAX, SIZE_MAX - 1, SIZE_MAX - 64, SIZE_MAX - 100, SIZE_MAX / 2 + 1 };
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        cr_tape *t = cr_tape_new(sizes[i]);
        assert_non_null(t);
        assert_null(cr_scalar(t, 2));
        assert_int_equal(cr_tape_status(t), CR_ERR_NOMEM);
        assert_tape_error(t, "arena: cannot allocate a block of");
        assert_int_equal(cr_tape_size(t), 0);
        cr_tape_free(t);
    }
}

/* ------------------------------------------------ stale tensors (case 11) */

/* Reproducer: x made before a reset aliased the new scalar 100, and x + x gave 200. */
static void test_op_on_tensor_from_before_reset_is_refused(void **state)
{
    (void)state;
    cr_tape *t = cr_tape_new(0);
    cr_tensor *x = cr_scalar(t, 5);
    cr_tape_reset(t);
    cr_tensor *y = cr_scalar(t, 100);
    assert_non_null(y);
    assert_null(cr_add(t, x, x));
    assert_int_equal(cr_tape_status(t), CR_ERR_STATE);
    assert_tape_error(t, "add: input 1 predates the last cr_tape_reset");
    cr_tape_free(t);
}

/* A training loop that keeps a tape tensor across the reset: the same layout every
 * step, the stale input second (after a fresh one), and the tape reused for
 * several generations; each time the first stale use is caught. */
static void test_stale_input_is_caught_in_a_loop_of_identical_steps(void **state)
{
    (void)state;
    cr_tape *t = cr_tape_new(0);
    for (int step = 0; step < 6; step++) {
        cr_tensor *w = cr_scalar(t, 3);
        cr_tensor *f = cr_mul(t, w, w);
        assert_int_equal(cr_backward(t, f), CR_OK);
        cr_tape_reset(t);
        cr_tensor *w2 = cr_scalar(t, 4);
        assert_non_null(w2);
        assert_null(cr_mul(t, w2, f));
        assert_tape_error(t, "mul: input 2 predates the last cr_tape_reset");
        cr_tape_reset(t);
    }
    cr_tape_free(t);
}

/* An optional input is checked like the others: linear's bias. */
static void test_linear_with_bias_from_before_reset_is_refused(void **state)
{
    (void)state;
    cr_tape *t = cr_tape_new(0);
    int s23[2] = { 2, 3 }, s32[2] = { 3, 2 }, two = 2;
    cr_tensor *b = cr_var(t, 1, &two, NULL);
    cr_tape_reset(t);
    cr_tensor *x = cr_var(t, 2, s23, NULL), *W = cr_var(t, 2, s32, NULL);
    assert_null(cr_linear(t, x, W, b));
    assert_tape_error(t, "linear: input 3 predates the last cr_tape_reset");
    cr_tape_free(t);
}

/* Reproducer: cr_backward on a loss recorded before the reset returned CR_OK. */
static void test_backward_on_loss_from_before_reset_fails(void **state)
{
    (void)state;
    cr_tape *t = cr_tape_new(0);
    cr_tensor *x = cr_scalar(t, 2);
    cr_tensor *old = cr_mul(t, x, x);
    assert_non_null(old);
    cr_tape_reset(t);
    x = cr_scalar(t, 2);
    assert_non_null(cr_mul(t, x, x));
    assert_int_equal(cr_backward(t, old), CR_ERR_STATE);
    assert_tape_error(t, "backward: loss predates the last cr_tape_reset");
    cr_tape_free(t);
}

/* Labelling a stale tensor would write into the new generation's memory. */
static void test_label_on_tensor_from_before_reset_is_refused(void **state)
{
    (void)state;
    cr_tape *t = cr_tape_new(0);
    cr_tensor *x = cr_scalar(t, 2);
    cr_tape_reset(t);
    assert_null(cr_tensor_label(x, "x"));
    assert_tape_error(t, "label: the tensor predates the last cr_tape_reset");
    cr_tape_free(t);
}

/* Arena bytes that read as a current tensor of this tape (its tape pointer, this
 * generation's stamp, a node's id): what a stale pointer finds once the new
 * generation's tensors have overwritten its memory. Not that node's output, so it
 * is refused as stale and never read as a tensor (fuzz_ops crashed naming one in
 * an error message: fuzz/corpus/ops/regress-stale-tensor-reads-as-current). */
static void test_arena_bytes_reading_as_a_current_tensor_are_refused(void **state)
{
    (void)state;
    cr_tape *t = cr_tape_new(0);
    cr_tensor *y = cr_scalar(t, 2);
    cr_tensor *fake = cr_tape_alloc(t, sizeof *fake);
    assert_non_null(fake);
    memcpy(fake, y, sizeof *fake);
    assert_null(cr_add(t, y, fake));
    assert_tape_error(t, "add: input 2 predates the last cr_tape_reset");
    cr_tape_free(t);
}

/* ------------------------------------------ errors name the node (case 12) */

/* "matmul: a is 2x3 but b is 4x5" did not say which of many matmuls. */
static void test_op_error_names_node_index_and_input_labels(void **state)
{
    (void)state;
    cr_tape *t = cr_tape_new(0);
    int s23[2] = { 2, 3 }, s45[2] = { 4, 5 };
    cr_tensor *x = cr_tensor_label(cr_var(t, 2, s23, NULL), "x");
    cr_tensor *W1 = cr_param_new(2, s45);
    assert_int_equal(cr_tensor_set_name(W1, "W1"), CR_OK);
    cr_tensor *h = cr_relu(t, x);
    assert_null(cr_matmul(t, h, W1, 0, 0));
    assert_string_equal(cr_tape_error(t), "node #2 matmul: a is 2x3 but b is 4x5 (inner "
                        "dimensions 3 and 4 differ) (inputs: #1, W1)");
    cr_tape_free(t);
    cr_tensor_free(W1);
}

/* The index the messages use is visible in the table and in DOT next to labels. */
static void test_print_and_dot_show_node_index_beside_label(void **state)
{
    (void)state;
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    assert_non_null(f);
    cr_tape *t = cr_tape_new(0);
    cr_tensor *x = cr_tensor_label(cr_scalar(t, 2), "x");
    cr_tensor_label(cr_relu(t, x), "h1");
    assert_int_equal(cr_tape_dot(t, f), CR_OK);
    fflush(f);
    assert_non_null(strstr(buf, "<B>h1</B> relu #1"));
    assert_non_null(strstr(buf, "<B>x</B> var #0"));
    cr_tape_free(t);
    fclose(f);
    free(buf);
}

/* An arena failure inside an op says which op it was. */
static void test_arena_failure_inside_op_names_the_op(void **state)
{
    (void)state;
    cr_tape *t = cr_tape_new(256);
    cr_tape_set_arena_limit(t, 256);
    cr_tensor *x = cr_tensor_label(cr_scalar(t, 1), "x");
    assert_non_null(x);
    cr_tensor *y = x;
    for (int i = 0; i < 100 && y; i++) y = cr_exp(t, y);
    assert_null(y);
    const char *e = cr_tape_error(t);
    assert_non_null(e);
    assert_int_equal(strncmp(e, "node #", 6), 0);
    assert_non_null(strstr(e, " exp: arena: "));
    assert_non_null(strstr(e, "(inputs: #"));
    cr_tape_free(t);
}

/* ---------------------------------------------- refused calls (case 13) */

/* Reproducer: a second backward errored the tape, so the replay that should follow
 * it failed until a reset. */
static void test_second_backward_is_refused_without_poisoning_replay(void **state)
{
    (void)state;
    cr_tape *t = cr_tape_new(0);
    cr_tensor *x = cr_scalar(t, 3);
    cr_tensor *f = cr_mul(t, x, x);
    assert_int_equal(cr_backward(t, f), CR_OK);
    assert_int_equal(cr_backward(t, f), CR_ERR_STATE);
    assert_null(cr_tape_error(t));
    assert_int_equal(cr_tape_status(t), CR_OK);
    assert_non_null(cr_tape_refusal(t));
    assert_non_null(strstr(cr_tape_refusal(t), "already used by a backward pass"));
    x->data[0] = 5;
    assert_int_equal(cr_tape_forward(t), CR_OK);
    assert_close(cr_item(f), 25, 0, 0);
    assert_int_equal(cr_backward(t, f), CR_OK);
    assert_close(cr_grad_item(x), 10, 0, 0);             /* d x^2 / dx = 2x */
    cr_tape_reset(t);
    assert_null(cr_tape_refusal(t));
    cr_tape_free(t);
}

/* ------------------------------------------------- NULL rules (case 14) */

static void test_rng_functions_accept_null(void **state)
{
    (void)state;
    assert_int_equal(cr_rng_u32(NULL), 0);
    assert_int_equal(cr_rng_below(NULL, 10), 0);
    assert_true(cr_rng_uniform(NULL) == 0.0);
    assert_true(cr_rng_normal(NULL) == 0.0);
    cr_rng_seed(NULL, 1);
    int idx[3] = { 0, 1, 2 };
    cr_rng_shuffle(NULL, idx, 3);
    assert_int_equal(idx[0] + 10 * idx[1] + 100 * idx[2], 210);
}

/* cr_gemm with a NULL matrix it would read or write does nothing. */
static void test_gemm_with_null_matrix_leaves_c_unchanged(void **state)
{
    (void)state;
    cr_real a[4] = { 1, 2, 3, 4 }, b[4] = { 1, 0, 0, 1 }, c[4] = { 9, 9, 9, 9 };
    cr_gemm(NULL, 0, 0, 2, 2, 2, 1, NULL, 2, b, 2, 0, c, 2);
    cr_gemm(NULL, 0, 0, 2, 2, 2, 1, a, 2, NULL, 2, 0, c, 2);
    cr_gemm(NULL, 0, 0, 2, 2, 2, 1, a, 2, b, 2, 0, NULL, 2);
    for (int i = 0; i < 4; i++) assert_close_i(c[i], 9, 0, 0, i);
    /* A and B are not read when alpha is 0: C is scaled by beta */
    cr_gemm(NULL, 0, 0, 2, 2, 2, 0, NULL, 2, NULL, 2, 0.5f, c, 2);
    for (int i = 0; i < 4; i++) assert_close_i(c[i], 4.5, 0, 0, i);
    cr_gemm(NULL, 0, 0, 2, 2, 2, 1, a, 2, b, 2, 0, c, 2);
    for (int i = 0; i < 4; i++) assert_close_i(c[i], a[i], 0, 0, i);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dropout_failing_on_arena_cap_leaves_no_node),
        cmocka_unit_test(test_every_op_under_every_arena_cap_leaves_only_whole_nodes),
        cmocka_unit_test(test_no_grad_ops_on_fresh_tape_record_nothing),
        cmocka_unit_test(test_tape_of_size_max_refuses_its_first_block),
        cmocka_unit_test(test_op_on_tensor_from_before_reset_is_refused),
        cmocka_unit_test(test_stale_input_is_caught_in_a_loop_of_identical_steps),
        cmocka_unit_test(test_linear_with_bias_from_before_reset_is_refused),
        cmocka_unit_test(test_backward_on_loss_from_before_reset_fails),
        cmocka_unit_test(test_label_on_tensor_from_before_reset_is_refused),
        cmocka_unit_test(test_arena_bytes_reading_as_a_current_tensor_are_refused),
        cmocka_unit_test(test_op_error_names_node_index_and_input_labels),
        cmocka_unit_test(test_print_and_dot_show_node_index_beside_label),
        cmocka_unit_test(test_arena_failure_inside_op_names_the_op),
        cmocka_unit_test(test_second_backward_is_refused_without_poisoning_replay),
        cmocka_unit_test(test_rng_functions_accept_null),
        cmocka_unit_test(test_gemm_with_null_matrix_leaves_c_unchanged),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
