/* The configuration reader (kernel/config.c): each environment variable parsed from
 * a given set of values (cr__config_parse, no process state), refusals that say
 * what was wrong and what is used instead, and the process-wide copy read once. */
#include "helpers.h"
#include "../kernel/kernel.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A fake environment: NULL-terminated name, value pairs. */
static const char *lookup(const char *name, void *ctx)
{
    const char *const *kv = ctx;
    for (; kv[0]; kv += 2)
        if (!strcmp(kv[0], name)) return kv[1];
    return NULL;
}

static cr__config parse(const char *const *kv)
{
    cr__config c;
    cr__config_parse(&c, lookup, (void *)kv);
    return c;
}

static void test_nothing_set_gives_the_system_facts_and_no_error(void **state)
{
    (void)state;
    const char *kv[] = { NULL };
    cr__config c = parse(kv);
    cr__caches sys;
    cr__cpu_detect_caches(&sys);
    assert_int_equal(c.error[0], 0);
    assert_int_equal(c.num_threads, 1);
    assert_int_equal(c.ascii, 0);
    assert_int_equal(c.caches_from_env, 0);
    assert_int_equal(c.caches.l1, sys.l1);
    assert_int_equal(c.caches.l2, sys.l2);
    assert_int_equal(c.caches.l3, sys.l3);
    assert_ptr_equal(c.gemm, cr__gemm_arch_best());
    assert_int_equal(c.gemm_from_env, 0);
}

static void test_cpu_caches_parse_sizes_and_none(void **state)
{
    (void)state;
    const struct {
        const char *v;
        size_t l1, l2, l3;
    } ok[] = {
        { "32K,256K,8M", 32u << 10, 256u << 10, 8u << 20 },
        { "48k,2m,260M", 48u << 10, 2u << 20, 260u << 20 },
        { "32K,512K,none", 32u << 10, 512u << 10, 0 },
        { "32768,524288,0", 32768, 524288, 0 },
        { "48K,1M,1G", 48u << 10, 1u << 20, 1u << 30 },
    };
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        const char *kv[] = { "CR_CPU_CACHES", ok[i].v, NULL };
        cr__config c = parse(kv);
        if (c.error[0]) print_error("%s: %s\n", ok[i].v, c.error);
        assert_int_equal(c.error[0], 0);
        assert_int_equal(c.caches_from_env, 1);
        assert_int_equal(c.caches.l1, ok[i].l1);
        assert_int_equal(c.caches.l2, ok[i].l2);
        assert_int_equal(c.caches.l3, ok[i].l3);
    }
}

static void test_cpu_caches_refused_keep_the_system_facts(void **state)
{
    (void)state;
    const struct {
        const char *v, *says;
    } bad[] = {
        { "", "expected three sizes" },         { "32K,256K", "expected three sizes" },
        { "32K,256K,8M,1G", "expected three sizes" }, { "32K,,8M", "expected three sizes" },
        { "32Q,256K,8M", "expected three sizes" },    { "32K,256K,8MB", "expected three sizes" },
        { "none,256K,8M", "out of range" },     { "32K,0,8M", "out of range" },
        { "1K,256K,8M", "out of range" },       { "32K,256K,100K", "out of range" },
        { "32K,128M,8M", "out of range" },
    };
    cr__caches sys;
    cr__cpu_detect_caches(&sys);
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        const char *kv[] = { "CR_CPU_CACHES", bad[i].v, NULL };
        cr__config c = parse(kv);
        if (!strstr(c.error, bad[i].says) || !strstr(c.error, "using the system's")) {
            print_error("CR_CPU_CACHES=%s gave \"%s\"\n", bad[i].v, c.error);
            fail();
        }
        assert_non_null(strstr(c.error, "CR_CPU_CACHES="));
        assert_int_equal(c.caches_from_env, 0);
        assert_int_equal(c.caches.l2, sys.l2);
    }
}

static void test_gemm_kernel_picks_a_supported_one_and_refuses_the_rest(void **state)
{
    (void)state;
    const char *kv[] = { "CR_GEMM_KERNEL", "generic", NULL };
    cr__config c = parse(kv);
    assert_int_equal(c.error[0], 0);
    assert_ptr_equal(c.gemm, cr__gemm_arch_generic());
    assert_int_equal(c.gemm_from_env, 1);

    const char *bad[] = { "AVX2", "avx9", "", "sse" };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        const char *kv2[] = { "CR_GEMM_KERNEL", bad[i], NULL };
        c = parse(kv2);
        assert_non_null(strstr(c.error, "expected avx512, avx2 or generic; using "));
        assert_ptr_equal(c.gemm, cr__gemm_arch_best());
        assert_int_equal(c.gemm_from_env, 0);
    }

    /* each ISA kernel: used when this CPU runs it, else refused naming what it runs */
    const char *isa[] = { "avx512", "avx2" };
    for (size_t i = 0; i < 2; i++) {
        const char *kv3[] = { "CR_GEMM_KERNEL", isa[i], NULL };
        c = parse(kv3);
        const cr__gemm_arch *a = i == 0 ? cr__gemm_arch_avx512() : cr__gemm_arch_avx2();
        if (a) {
            assert_int_equal(c.error[0], 0);
            assert_ptr_equal(c.gemm, a);
            assert_non_null(strstr(c.gemm_supported, isa[i]));
        } else {
            assert_non_null(strstr(c.error, "cannot run the"));
            assert_non_null(strstr(c.error, c.gemm_supported));
            assert_ptr_equal(c.gemm, cr__gemm_arch_best());
            assert_null(strstr(c.gemm_supported, isa[i]));
        }
    }
}

static void test_num_threads_accepts_1_to_256_and_refuses_the_rest(void **state)
{
    (void)state;
    const struct {
        const char *v;
        int want, refused;
    } cases[] = {
        { "3", 3, 0 },   { "1", 1, 0 },   { "256", 256, 0 }, { "0", 1, 1 },   { "-2", 1, 1 },
        { "abc", 1, 1 }, { "2x", 1, 1 },  { "", 1, 1 },      { "300", 256, 1 },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *kv[] = { "CR_NUM_THREADS", cases[i].v, NULL };
        cr__config c = parse(kv);
        assert_int_equal(c.num_threads, cases[i].want);
        assert_int_equal(c.error[0] != 0, cases[i].refused);
        if (cases[i].refused) assert_non_null(strstr(c.error, "CR_NUM_THREADS="));
    }
}

static void test_ascii_is_on_unless_empty_or_zero(void **state)
{
    (void)state;
    const char *vals[] = { "1", "yes", "0", "" };
    const int want[] = { 1, 1, 0, 0 };
    for (int i = 0; i < 4; i++) {
        const char *kv[] = { "CR_ASCII", vals[i], NULL };
        assert_int_equal(parse(kv).ascii, want[i]);
    }
}

/* Two refusals are both reported; what was fine is still used. */
static void test_every_refusal_is_reported(void **state)
{
    (void)state;
    const char *kv[] = { "CR_NUM_THREADS", "many", "CR_CPU_CACHES", "big",
                         "CR_GEMM_KERNEL", "generic", NULL };
    cr__config c = parse(kv);
    assert_non_null(strstr(c.error, "CR_NUM_THREADS=many"));
    assert_non_null(strstr(c.error, "; CR_CPU_CACHES=big"));
    assert_ptr_equal(c.gemm, cr__gemm_arch_generic());
}

/* The process reads its environment once: a change afterwards has no effect, and
 * the public view agrees with the internal one. */
static void test_environment_is_read_once(void **state)
{
    (void)state;
    cr_cpu_info a, b;
    cr_cpu_info_get(&a);
    const char *err = cr_config_error();
    setenv("CR_CPU_CACHES", "32K,256K,none", 1);
    setenv("CR_GEMM_KERNEL", "no-such-kernel", 1);
    setenv("CR_NUM_THREADS", "7", 1);
    cr_cpu_info_get(&b);
    assert_true(a.l1 == b.l1 && a.l2 == b.l2 && a.l3 == b.l3);
    assert_int_equal(a.caches_from_env, b.caches_from_env);
    assert_string_equal(a.gemm_kernel, b.gemm_kernel);
    assert_int_equal(a.gemm_from_env, b.gemm_from_env);
    assert_string_equal(a.gemm_supported, b.gemm_supported);
    assert_int_equal(a.num_threads, b.num_threads);
    assert_ptr_equal(cr_config_error(), err);
    assert_int_equal(a.l2, cr__cpu_caches()->l2);
    assert_string_equal(a.gemm_kernel, cr_gemm_kernel_name());
    assert_int_equal(a.num_threads, cr__config_get()->num_threads);
    cr_cpu_info_get(NULL); /* safe */
}

int main(int argc, char **argv)
{
    if (argc > 1 && !strcmp(argv[1], "--supported")) { /* for tests/matrix.sh */
        cr_cpu_info info;
        cr_cpu_info_get(&info);
        puts(info.gemm_supported);
        return 0;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_nothing_set_gives_the_system_facts_and_no_error),
        cmocka_unit_test(test_cpu_caches_parse_sizes_and_none),
        cmocka_unit_test(test_cpu_caches_refused_keep_the_system_facts),
        cmocka_unit_test(test_gemm_kernel_picks_a_supported_one_and_refuses_the_rest),
        cmocka_unit_test(test_num_threads_accepts_1_to_256_and_refuses_the_rest),
        cmocka_unit_test(test_ascii_is_on_unless_empty_or_zero),
        cmocka_unit_test(test_every_refusal_is_reported),
        cmocka_unit_test(test_environment_is_read_once),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
