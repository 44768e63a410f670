/* Helpers for the op tests: random heap parameters, a weighted-sum loss, a
 * gradient check that fails with the worst element named, and a same-bits check
 * of an op over 1, 2 and 3 threads. Header-only (static
 * inline) so that each test program takes what it uses. */
#ifndef CR_TEST_OP_GRAD_HELPERS_H
#define CR_TEST_OP_GRAD_HELPERS_H

#include "helpers.h"

#include <stdlib.h>
#include <string.h>

/* Gradient check tolerance on max_rel_err: central differences are exact to
 * round-off in double (h = 1e-6) and rough in float (h = 1e-2). */
#define GRAD_TOL TOL(1e-6, 2e-2)

/* A heap parameter of the given shape filled with U(lo, hi) from r. */
static inline cr_tensor *rand_param(cr_rng *r, int ndim, const int *shape, double lo, double hi)
{
    cr_tensor *x = cr_param_new(ndim, shape);
    assert_non_null(x);
    cr_tensor_rand_uniform(x, r, (cr_real)lo, (cr_real)hi);
    return x;
}

/* A heap parameter whose values are a shuffled ramp start, start+step, ...: no two
 * elements closer than step, so max and argmax have no kink within a finite
 * difference step. */
static inline cr_tensor *ramp_param(cr_rng *r, int ndim, const int *shape, double start,
                                    double step)
{
    cr_tensor *x = cr_param_new(ndim, shape);
    assert_non_null(x);
    int idx[256];
    assert_true(x->size <= 256);
    for (size_t i = 0; i < x->size; i++) idx[i] = (int)i;
    cr_rng_shuffle(r, idx, x->size);
    for (size_t i = 0; i < x->size; i++) x->data[i] = (cr_real)(start + step * idx[i]);
    return x;
}

/* sum(y * w) for a constant w of y's shape drawn from a fixed seed: a scalar whose
 * gradient with respect to y is w, so every element of y gets a different upstream
 * gradient. Same w on every call (gradcheck records many times). */
static inline cr_tensor *weighted_sum(cr_tape *t, cr_tensor *y)
{
    if (!y) return NULL;
    cr_tensor *w = cr_const(t, y->ndim, y->shape, NULL);
    if (!w) return NULL;
    cr_rng r;
    cr_rng_seed(&r, 20240601);
    cr_tensor_rand_uniform(w, &r, -1, 1);
    return cr_sum(t, cr_mul(t, y, w));
}

/* wsum(x) = sum_i w_i x_i with w_i = -0.7 + 0.3 (i mod 7), as a test-local op (its
 * own forward and backward): a different upstream gradient per element for tests
 * that must not depend on cr_sum or cr_mul, the ops they may be checking. */
static inline double wsum_weight(size_t i) { return -0.7 + 0.3 * (double)(i % 7); }

static inline void wsum_forward(cr_tape *t, cr_node *n)
{
    (void)t;
    const cr_tensor *x = n->in[0];
    double s = 0;
    for (size_t i = 0; i < x->size; i++) s += wsum_weight(i) * x->data[i];
    n->out->data[0] = (cr_real)s;
}

static inline void wsum_backward(cr_tape *t, cr_node *n)
{
    (void)t;
    cr_tensor *x = n->in[0];
    if (!x->grad) return;
    for (size_t i = 0; i < x->size; i++)
        x->grad[i] += (cr_real)(n->out->grad[0] * wsum_weight(i));
}

static inline cr_tensor *wsum(cr_tape *t, cr_tensor *x)
{
    static const cr_op wsum_op = { "wsum", wsum_forward, wsum_backward };
    if (!cr_check_inputs(t, "wsum", 1, &x)) return NULL;
    cr_node *n = cr_record(t, &wsum_op, 1, &x, 0, NULL);
    return n ? cr_run(t, n) : NULL;
}

/* The same weights as weighted_sum uses for a tensor of n elements. */
static inline void weighted_sum_weights(double *w, size_t n)
{
    cr_rng r;
    cr_rng_seed(&r, 20240601);
    for (size_t i = 0; i < n; i++) w[i] = (double)(cr_real)(-1 + 2 * cr_rng_uniform(&r));
}

/* Fails unless cr_gradcheck passes with max_rel_err <= GRAD_TOL. */
static inline void check_gradients_at(cr_build_fn build, cr_tensor *const *in, int n,
                                      void *user, const char *what, const char *file, int line)
{
    cr_gradcheck_result res;
    char err[256];
    cr_status s = cr_gradcheck(build, in, n, user, 0, &res, err, sizeof err);
    if (s != CR_OK) {
        print_error("%s:%d: %s: gradcheck returned %s: %s\n", file, line, what, cr_strerror(s),
                    err);
        _fail(file, line);
    }
    if (!(res.max_rel_err <= GRAD_TOL)) {
        print_error("%s:%d: %s: max_rel_err %.3g > %.3g at input %d element %zu "
                    "(analytic %.10g, numeric %.10g)\n", file, line, what, res.max_rel_err,
                    GRAD_TOL, res.worst_input, res.worst_index, res.analytic, res.numeric);
        _fail(file, line);
    }
}
#define check_gradients(build, in, n, user, what) \
    check_gradients_at((build), (in), (n), (user), (what), __FILE__, __LINE__)

/* y = op(x) for a 300 x 200 x (60000 values: above CR__PAR_MIN, so split over the
 * pool), loss = sum(y * w); the values and x's gradient for 1, 2 and 3 threads. */
typedef cr_tensor *(*pool_op_fn)(cr_tape *t, cr_tensor *x);

static inline void run_pooled(pool_op_fn op, int threads, cr_real *val, cr_real *grad)
{
    enum { R = 300, C = 200 };
    int shape[2] = { R, C };
    cr_tape *t = cr_tape_new(0);
    assert_int_equal(cr_tape_set_threads(t, threads), CR_OK);
    cr_tensor *x = cr_var(t, 2, shape, NULL), *w = cr_const(t, 2, shape, NULL);
    cr_rng r;
    cr_rng_seed(&r, 5);
    cr_tensor_rand_uniform(x, &r, 0.25f, 3);
    cr_tensor_rand_uniform(w, &r, -1, 1);
    cr_tensor *y = op(t, x);
    cr_tensor *loss = cr_sum(t, cr_mul(t, y, w));
    assert_int_equal(cr_backward(t, loss), CR_OK);
    memcpy(val, y->data, (size_t)R * C * sizeof *val);
    memcpy(grad, x->grad, (size_t)R * C * sizeof *grad);
    cr_tape_free(t);
}

static inline void assert_pooled_same_bits(pool_op_fn op, const char *name)
{
    size_t n = 300 * 200;
    cr_real *v1 = malloc(n * sizeof *v1), *g1 = malloc(n * sizeof *g1);
    cr_real *vk = malloc(n * sizeof *vk), *gk = malloc(n * sizeof *gk);
    run_pooled(op, 1, v1, g1);
    for (int threads = 2; threads <= 3; threads++) {
        run_pooled(op, threads, vk, gk);
        if (memcmp(v1, vk, n * sizeof *v1) || memcmp(g1, gk, n * sizeof *g1))
            fail_msg("%s: %d threads give other bits than 1", name, threads);
    }
    free(v1);
    free(g1);
    free(vk);
    free(gk);
}

#endif
