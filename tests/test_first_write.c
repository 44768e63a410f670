/* "First write assigns" (graph/backward.c, CR__BWD_ASSIGNS): ops that write every
 * element of an input's gradient (add, sub, mul, sigmoid, tanh, matmul, stack) get its
 * buffer unzeroed when nothing has written it yet in the pass, and assign. One
 * graph has the cases the reverse pass must get right: a tape tensor used twice
 * by one node (v * v), a tensor with several consumers (the first to run in
 * reverse assigns, the others add), a view of it (flatten) whose consumer runs
 * after another consumer of the base has written the base's buffer, a broadcast
 * input (a 1 x 5 bias: zeroed by the op, then added), matmul's beta 0, stack's
 * copies. */
#include "op_grad_helpers.h"
#include "../graph/tape_internal.h"

#include <string.h>

enum { R = 3, C = 4, N = 5 };

/* v = tanh(x), w = v * v - sigmoid(x), e = tanh(flatten(w)) (the view is read
 * before w's other consumer), a = matmul(w, W) + tanh(p) (p 1 x 5, broadcast),
 * s = sigmoid(a), loss = wsum(s * a) + wsum(e) + wsum(stack(s, a)) */
static cr_tensor *build(cr_tape *t, cr_tensor *const *in, int n, void *user)
{
    (void)n, (void)user;
    cr_tensor *x = in[0], *W = in[1], *p = in[2];
    cr_tensor *v = cr_tanh(t, x);
    cr_tensor *w = cr_sub(t, cr_mul(t, v, v), cr_sigmoid(t, x));
    cr_tensor *e = cr_tanh(t, cr_flatten(t, w));
    cr_tensor *a = cr_add(t, cr_matmul(t, w, W, 0, 0), cr_tanh(t, p));
    cr_tensor *s = cr_sigmoid(t, a);
    cr_tensor *sa = cr_mul(t, s, a);
    cr_tensor *both[2] = { s, a };
    cr_tensor *st = cr_stack(t, 2, both, 1);   /* after the product: runs first in reverse */
    return cr_add(t, cr_add(t, weighted_sum(t, sa), weighted_sum(t, e)), weighted_sum(t, st));
}

static void make_inputs(cr_tensor *in[3])
{
    cr_rng rng;
    cr_rng_seed(&rng, 15);
    int sx[2] = { R, C }, sw[2] = { C, N }, sp[2] = { 1, N };
    in[0] = rand_param(&rng, 2, sx, -1.5, 1.5);
    in[1] = rand_param(&rng, 2, sw, -1, 1);
    in[2] = rand_param(&rng, 2, sp, -1, 1);
}

static void test_first_write_gradients_match_central_differences(void **state)
{
    (void)state;
    cr_tensor *in[3];
    make_inputs(in);
    check_gradients(build, in, 3, NULL, "first-write graph");
    for (int k = 0; k < 3; k++) cr_tensor_free(in[k]);
}

/* Replay the recording and run backward again with every intermediate's gradient
 * buffer poisoned: a buffer handed out unzeroed to a backward that adds (or an
 * assigning backward that misses elements) picks the poison up. The parameters'
 * gradients must be the first pass's bits. */
static void test_first_write_overwrites_stale_gradient_buffers(void **state)
{
    (void)state;
    cr_tensor *in[3];
    make_inputs(in);
    cr_tape *t = cr_tape_new(0);
    cr_tensor *loss = build(t, in, 3, NULL);
    assert_non_null(loss);
    assert_int_equal(cr_backward(t, loss), CR_OK);
    size_t sizes[3];
    cr_real *first[3];
    for (int k = 0; k < 3; k++) {
        sizes[k] = in[k]->size;
        first[k] = malloc(sizes[k] * sizeof(cr_real));
        assert_non_null(first[k]);
        memcpy(first[k], in[k]->grad, sizes[k] * sizeof(cr_real));
    }
    for (int pass = 0; pass < 2; pass++) {
        for (size_t i = 0; i < t->n_nodes; i++) {
            cr_tensor *y = t->nodes[i].out;
            if (y && y->grad && !(y->flags & CR_HEAP))
                for (size_t j = 0; j < y->size; j++) y->grad[j] = (cr_real)(1000 + j);
        }
        for (int k = 0; k < 3; k++) cr_tensor_zero_grad(in[k]);
        assert_int_equal(cr_tape_forward(t), CR_OK);
        assert_int_equal(cr_backward(t, loss), CR_OK);
        for (int k = 0; k < 3; k++)
            assert_memory_equal(in[k]->grad, first[k], sizes[k] * sizeof(cr_real));
    }
    cr_tape_free(t);
    for (int k = 0; k < 3; k++) {
        free(first[k]);
        cr_tensor_free(in[k]);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_first_write_gradients_match_central_differences),
        cmocka_unit_test(test_first_write_overwrites_stale_gradient_buffers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
