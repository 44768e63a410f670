/* The scalar graph's lean paths (bench/scalar_nodes): small activations evaluated
 * inline give the kernels' bits, a scalar node's arena footprint, first write
 * assigns on scalar inputs used once or twice, and where the CPU-feature tests
 * live (kernel/cpu.c) with each user's own requirement. */
#include "helpers.h"
#include "../kernel/kernel.h"
#include "../ops/act_float.h"

#include <string.h>

/* cr_sigmoid and cr_tanh of tensors of 1..20 values (below and above the size
 * from which the ISA kernels run) give the generic kernel's bits element by
 * element; the double build has no kernels and is checked against its scalar
 * value of tanh(0.5) instead. */
static void test_small_and_large_activations_give_the_generic_kernels_bits(void **state)
{
    (void)state;
    cr_tape *t = cr_tape_new(0);
    assert_non_null(t);
    for (int n = 1; n <= 20; n++) {
        cr_real x[20];
        for (int i = 0; i < n; i++) x[i] = (cr_real)(-3.0 + 0.37 * i + 0.001 * n);
        cr_tensor *v = cr_var(t, 1, &n, x);
        cr_tensor *s = cr_sigmoid(t, v), *h = cr_tanh(t, v);
        assert_non_null(s);
        assert_non_null(h);
#ifndef CR_REAL_DOUBLE
        float ws[20], wh[20];
        cr__act_arch_generic()->sigmoid(ws, x, (size_t)n);
        cr__act_arch_generic()->tanh(wh, x, (size_t)n);
        assert_memory_equal(s->data, ws, (size_t)n * sizeof(float));
        assert_memory_equal(h->data, wh, (size_t)n * sizeof(float));
#endif
    }
    cr_tensor *h = cr_tanh(t, cr_scalar(t, (cr_real)0.5));
    assert_non_null(h);
    assert_close(cr_item(h), 0.46211715726000974, TOL(1e-15, 3e-8), 0); /* tanh(0.5) */
    cr_tape_free(t);
}

/* A node of a scalar graph takes one arena piece: its output tensor, its input
 * pointers and two values (data and the gradient slot), packed on pointer
 * alignment (was rounded to 16 bytes: 112 for a unary node). */
static void test_a_scalar_node_takes_a_tensor_its_inputs_and_two_values_of_the_arena(void **state)
{
    (void)state;
    cr_tape *t = cr_tape_new(0);
    assert_non_null(t);
    cr_tensor *x = cr_scalar(t, (cr_real)0.25);
    cr_tensor *y = cr_tanh(t, x);
    assert_non_null(y);
    size_t before = cr_tape_arena_used(t);
    y = cr_tanh(t, y);
    assert_non_null(y);
    const size_t p = sizeof(void *);
    size_t unary = sizeof(cr_tensor) + p + 2 * sizeof(cr_real);
    unary = (unary + p - 1) / p * p;
    assert_int_equal(cr_tape_arena_used(t) - before, unary);
    before = cr_tape_arena_used(t);
    y = cr_add(t, y, x);
    assert_non_null(y);
    size_t binary = sizeof(cr_tensor) + 2 * p + 2 * sizeof(cr_real);
    binary = (binary + p - 1) / p * p;
    assert_int_equal(cr_tape_arena_used(t) - before, binary);
    /* the data and gradient slot are aligned for cr_real */
    assert_int_equal((uintptr_t)y->data % sizeof(cr_real), 0);
    assert_int_equal(cr_backward(t, y), CR_OK);
    assert_true(y->grad == y->data + 1);
    cr_tape_free(t);
}

/* First write assigns on scalars: x used once (assigned) and twice in one node
 * (zeroed then accumulated), over two steps so that stale gradient values from
 * the first pass would show. L = tanh(x*x + x) + x*w: dL/dx = (1 - y^2)(2x + 1) + w,
 * dL/dw = x (w a heap parameter, accumulating over the two passes). */
static void test_scalar_first_write_with_an_input_used_twice(void **state)
{
    (void)state;
    cr_tape *t = cr_tape_new(0);
    cr_tensor *w = cr_param_new(0, NULL);
    assert_non_null(t);
    assert_non_null(w);
    w->data[0] = (cr_real)1.5;
    const double xs[2] = { 0.3, -0.7 };
    double wgrad = 0;
    for (int step = 0; step < 2; step++) {
        cr_tape_reset(t);
        cr_tensor *x = cr_scalar(t, (cr_real)xs[step]);
        cr_tensor *u = cr_tanh(t, cr_add(t, cr_mul(t, x, x), x));
        cr_tensor *l = cr_add(t, u, cr_mul(t, x, w));
        assert_non_null(l);
        assert_int_equal(cr_backward(t, l), CR_OK);
        double y = cr_item(u);
        assert_close(cr_grad_item(x), (1 - y * y) * (2 * xs[step] + 1) + 1.5, TOL(1e-14, 1e-6), 0);
        wgrad += xs[step];
        assert_close(cr_grad_item(w), wgrad, TOL(1e-15, 1e-7), 0);
    }
    cr_tensor_free(w);
    cr_tape_free(t);
}

/* kernel/cpu.c is the one place that asks the CPU: GEMM's AVX-512 kernels need
 * AVX512F alone (a CPU with F but without VL/BW, such as Knights Landing, keeps
 * them), the activations' need F+DQ+VL+BW; AVX2 needs AVX2+FMA for both. Checked
 * against the compiler's own CPU tests on whatever CPU runs the test. */
static void test_isa_requirements_of_gemm_and_activations(void **state)
{
    (void)state;
#if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__))
    __builtin_cpu_init();
    const int f = __builtin_cpu_supports("avx512f"), dq = __builtin_cpu_supports("avx512dq");
    const int vl = __builtin_cpu_supports("avx512vl"), bw = __builtin_cpu_supports("avx512bw");
    const int avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    assert_int_equal(cr__cpu_has(CR__CPU_AVX512F), f != 0);
    assert_int_equal(cr__cpu_has(CR__CPU_AVX512F | CR__CPU_AVX512DQ | CR__CPU_AVX512VL |
                                 CR__CPU_AVX512BW), f && dq && vl && bw);
    assert_int_equal(cr__cpu_has(CR__CPU_AVX2 | CR__CPU_FMA), avx2);
    if (cr__gemm_avx512_kernels.ukr_s)
        assert_int_equal(cr__gemm_arch_avx512() != NULL, f != 0);
    if (cr__gemm_avx2_kernels.ukr_s) assert_int_equal(cr__gemm_arch_avx2() != NULL, avx2);
    if (cr__act_avx512_kernels.sigmoid)
        assert_int_equal(cr__act_arch_avx512() != NULL, f && dq && vl && bw);
    if (cr__act_avx2_kernels.sigmoid) assert_int_equal(cr__act_arch_avx2() != NULL, avx2);
#else
    assert_int_equal(cr__cpu_features(), 0);
    print_message("skipped: not an x86 build\n");
#endif
    assert_int_equal(cr__cpu_has(0), 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_small_and_large_activations_give_the_generic_kernels_bits),
        cmocka_unit_test(test_a_scalar_node_takes_a_tensor_its_inputs_and_two_values_of_the_arena),
        cmocka_unit_test(test_scalar_first_write_with_an_input_used_twice),
        cmocka_unit_test(test_isa_requirements_of_gemm_and_activations),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
