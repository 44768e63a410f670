/* The float build's sigmoid and tanh array kernels (ops/act_float.h) on every
 * instruction set this CPU runs give the same bits as the generic kernels, over
 * every 997th float bit pattern (both signs, subnormals, infinities, NaNs), a
 * dense grid over [-30, 30], and lengths and offsets that leave vector tails.
 * NaN inputs only need NaN outputs (payloads may differ). Paths the CPU or the
 * build lacks are skipped with a message, so the test does not depend on the ISA;
 * the double build has no ISA kernels. */
#include "helpers.h"
#include "../ops/act_float.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef CR_REAL_DOUBLE
static float from_bits(uint32_t u)
{
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

/* Inputs: n values, bit patterns first, then the grid. */
static float *inputs(size_t *n)
{
    const size_t stride = 997, patterns = ((size_t)1 << 32) / stride + 1, grid = 600001;
    float *x = malloc((patterns + grid) * sizeof *x);
    assert_non_null(x);
    size_t k = 0;
    for (uint64_t u = 0; u < ((uint64_t)1 << 32); u += stride) x[k++] = from_bits((uint32_t)u);
    for (size_t i = 0; i < grid; i++) x[k++] = (float)(-30.0 + 60.0 * (double)i / (grid - 1));
    *n = k;
    return x;
}

/* 0 unless y and want agree bit for bit (both NaN counts as agreeing). */
static int same(float y, float want)
{
    if (isnan(y) || isnan(want)) return isnan(y) && isnan(want);
    return memcmp(&y, &want, sizeof y) == 0;
}

static void compare(const cr__act_arch *a, int use_tanh)
{
    const cr__act_arch *g = cr__act_arch_generic();
    assert_non_null(g);
    size_t n;
    float *x = inputs(&n);
    float *want = malloc(n * sizeof *want), *y = malloc(n * sizeof *y);
    assert_non_null(want);
    assert_non_null(y);
    (use_tanh ? g->tanh : g->sigmoid)(want, x, n);
    cr__act_fn f = use_tanh ? a->tanh : a->sigmoid;
    for (int pass = 0; pass < 2; pass++) {
        memset(y, 0, n * sizeof *y);
        if (pass == 0)
            f(y, x, n);
        else   /* pieces of 1..61 at every offset: the vector loops' heads and tails */
            for (size_t b = 0, len = 1; b < n; b += len, len = len % 61 + 1)
                f(y + b, x + b, b + len < n ? len : n - b);
        size_t bad = 0;
        for (size_t i = 0; i < n; i++)
            if (!same(y[i], want[i]) && bad++ < 5)
                print_message("%s %s(%.9g): %.9g, generic %.9g\n", a->name,
                              use_tanh ? "tanh" : "sigmoid", (double)x[i], (double)y[i],
                              (double)want[i]);
        assert_int_equal(bad, 0);
    }
    free(x);
    free(want);
    free(y);
}

static void check_arch(const cr__act_arch *a, const char *name)
{
    if (!a) {
        print_message("skipped: this CPU or build cannot run the %s activation kernels\n", name);
        skip();
    }
    compare(a, 0);
    compare(a, 1);
}

static void test_act_avx512_sigmoid_and_tanh_same_bits_as_generic(void **state)
{
    (void)state;
    check_arch(cr__act_arch_avx512(), "avx512");
}

static void test_act_avx2_sigmoid_and_tanh_same_bits_as_generic(void **state)
{
    (void)state;
    check_arch(cr__act_arch_avx2(), "avx2");
}

/* The generic kernels are the inline functions the ops are written with, element
 * by element (what cr_sigmoid and cr_tanh computed before the kernels existed). */
static void test_act_generic_is_the_elementwise_function(void **state)
{
    (void)state;
    const cr__act_arch *g = cr__act_arch_generic();
    assert_non_null(g);
    float x[7] = { 0, 1, -1, 0.001f, -17, 40, -800 }, s[7], t[7];
    g->sigmoid(s, x, 7);
    g->tanh(t, x, 7);
    for (int i = 0; i < 7; i++) {
        assert_true(same(s[i], cr__act_sigmoid(x[i])));
        assert_true(same(t[i], cr__act_tanh(x[i])));
    }
    assert_true(s[0] == 0.5f && t[0] == 0 && s[5] == 1 && t[5] == 1 && s[6] == 0 && t[6] == -1);
}
#else
static void test_act_double_build_has_no_isa_kernels(void **state)
{
    (void)state;
    assert_null(cr__act_arch_avx512());
    assert_null(cr__act_arch_avx2());
    assert_null(cr__act_arch_generic());
    print_message("skipped: the double build's sigmoid and tanh have no ISA kernels\n");
}
#endif

int main(void)
{
    const struct CMUnitTest tests[] = {
#ifndef CR_REAL_DOUBLE
        cmocka_unit_test(test_act_generic_is_the_elementwise_function),
        cmocka_unit_test(test_act_avx2_sigmoid_and_tanh_same_bits_as_generic),
        cmocka_unit_test(test_act_avx512_sigmoid_and_tanh_same_bits_as_generic),
#else
        cmocka_unit_test(test_act_double_build_has_no_isa_kernels),
#endif
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
