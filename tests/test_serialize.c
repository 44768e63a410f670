/* Model files (docs/FORMAT.md), what is kept: bit-exact round trip of parameters,
 * optimizer state and metadata; resume; the documented layout; partial loads; files
 * written independently of cr_save (other precision, unknown sections); meta, CRC-32.
 * What is refused and left untouched: test_serialize_faults.c. */
#include "serialize_helpers.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------------------- round trip */

static void test_round_trip_restores_params_state_and_meta_bit_exactly(void **state)
{
    (void)state;
    model A = model_new(1, 3, NULL, NULL);
    /* values whose bits must survive: -0, ±Inf, NaN, the smallest subnormal */
    cr_tensor *W = cr_params_find(A.p, "fc1.W");
    W->data[0] = -0.0f;
    W->data[1] = (cr_real)INFINITY;
    W->data[2] = (cr_real)-INFINITY;
    W->data[3] = (cr_real)NAN;
    W->data[4] = CR_TEST_DOUBLE ? (cr_real)4.9406564584124654e-324 : (cr_real)1.40129846e-45f;
    char err[256];
    const char *path = path_in("rt.crm");
    assert_int_equal(cr_save(path, A.p, A.o, A.m, err, sizeof err), CR_OK);
    assert_string_equal(err, "");

    model B = model_new(2, 1, NULL, NULL);    /* other values, state, lr, step, meta */
    assert_int_equal(cr_meta_set_u64(B.m, "stale", 9), CR_OK);
    assert_int_equal(cr_load(path, B.p, B.o, B.m, err, sizeof err), CR_OK);
    snap a = snapshot(&A), b = snapshot(&B);
    assert_same_snap(&a, &b);
    assert_int_equal(cr_optim_step_count(B.o), 3);
    assert_int_equal(cr_meta_count(B.m), 3);
    uint64_t u;
    assert_int_equal(cr_meta_get_u64(B.m, "stale", &u), CR_ERR_ARG);
    assert_int_equal(cr_meta_get_u64(B.m, "rng.state", &u), CR_OK);
    assert_true(u == (0x0123456789ABCDEFull ^ 1));
    model_free(&A);
    model_free(&B);
}

/* Train A 6 steps. Save after 3, restore into B, run B's last 3 steps with the
 * same gradients: B ends bit-identical to A (what checkpoint/resume relies on). */
static void test_resume_from_a_checkpoint_continues_bit_identically(void **state)
{
    (void)state;
    model A = model_new(5, 0, NULL, NULL), B = model_new(6, 0, NULL, NULL);
    const char *path = path_in("ckpt.crm");
    cr_rng r;
    cr_rng_seed(&r, 77);
    cr_rng saved_rng = r;
    for (int step = 0; step < 6; step++) {
        if (step == 3) {
            saved_rng = r;
            cr_meta_set_u64(A.m, "rng.state", r.state);
            cr_meta_set_u64(A.m, "rng.inc", r.inc);
            assert_int_equal(cr_save(path, A.p, A.o, A.m, NULL, 0), CR_OK);
        }
        for (size_t i = 0; i < cr_params_count(A.p); i++) {
            cr_tensor *x = cr_params_get(A.p, i);
            for (size_t j = 0; j < x->size; j++) x->grad[j] = (cr_real)cr_rng_normal(&r);
        }
        cr_optim_step(A.o, NULL, 0);
    }
    assert_int_equal(cr_load(path, B.p, B.o, B.m, NULL, 0), CR_OK);
    cr_rng rb;
    assert_int_equal(cr_meta_get_u64(B.m, "rng.state", &rb.state), CR_OK);
    assert_int_equal(cr_meta_get_u64(B.m, "rng.inc", &rb.inc), CR_OK);
    assert_memory_equal(&rb, &saved_rng, sizeof rb);
    for (int step = 3; step < 6; step++) {
        for (size_t i = 0; i < cr_params_count(B.p); i++) {
            cr_tensor *x = cr_params_get(B.p, i);
            for (size_t j = 0; j < x->size; j++) x->grad[j] = (cr_real)cr_rng_normal(&rb);
        }
        cr_optim_step(B.o, NULL, 0);
    }
    snap a = snapshot(&A), b = snapshot(&B);
    assert_same_snap(&a, &b);
    model_free(&A);
    model_free(&B);
}

/* Header fields at their documented offsets, little-endian; CRC-32 of everything
 * before the last 4 bytes; sections tagged. */
static void test_file_layout_matches_the_documented_format(void **state)
{
    (void)state;
    model A = model_new(3, 1, NULL, NULL);
    const char *path = path_in("layout.crm");
    assert_int_equal(cr_save(path, A.p, NULL, NULL, NULL, 0), CR_OK);
    size_t n;
    unsigned char *b = read_bytes(path, &n);
    assert_memory_equal(b, "CRMODEL\0", 8);
    const unsigned char v1[4] = { 1, 0, 0, 0 };
    assert_memory_equal(b + 8, v1, 4);
    assert_int_equal(b[12], sizeof(cr_real));
    assert_int_equal(b[13] | b[14] | b[15], 0);
    uint64_t size = 0;
    for (int i = 7; i >= 0; i--) size = size << 8 | b[16 + i];
    assert_int_equal(size, n);
    assert_int_equal(b[24], 1);                       /* one section: parameters */
    assert_memory_equal(b + 28, "PARM", 4);
    /* body: count 3, then "fc1.W" rank 2 dims 2, 3 */
    assert_int_equal(b[40], 3);
    assert_int_equal(b[44], 5);
    assert_memory_equal(b + 48, "fc1.W", 5);
    assert_int_equal(b[53], 2);
    assert_int_equal(b[57], 2);
    assert_int_equal(b[61], 3);
    /* first value, little-endian IEEE bits */
    cr_real w0 = cr_params_get(A.p, 0)->data[0];
    unsigned char le[8];
    if (CR_TEST_DOUBLE) {
        uint64_t bits;
        memcpy(&bits, &w0, 8);
        for (int i = 0; i < 8; i++) le[i] = (unsigned char)(bits >> 8 * i);
    } else {
        uint32_t bits;
        memcpy(&bits, &w0, 4);
        for (int i = 0; i < 4; i++) le[i] = (unsigned char)(bits >> 8 * i);
    }
    assert_memory_equal(b + 65, le, sizeof(cr_real));
    uint32_t crc = (uint32_t)b[n - 4] | (uint32_t)b[n - 3] << 8 | (uint32_t)b[n - 2] << 16 |
                   (uint32_t)b[n - 1] << 24;
    assert_true(crc == cr_crc32(0, b, n - 4));
    free(b);
    model_free(&A);
}

static void test_params_only_load_ignores_optimizer_and_meta_sections(void **state)
{
    (void)state;
    model A = model_new(1, 2, NULL, NULL), B = model_new(2, 2, NULL, NULL);
    const char *path = path_in("full.crm");
    assert_int_equal(cr_save(path, A.p, A.o, A.m, NULL, 0), CR_OK);
    long steps_b = cr_optim_step_count(B.o);
    assert_int_equal(cr_load(path, B.p, NULL, NULL, NULL, 0), CR_OK);
    for (size_t i = 0; i < 3; i++) {
        const cr_tensor *x = cr_params_get(A.p, i), *y = cr_params_get(B.p, i);
        assert_memory_equal(x->data, y->data, x->size * sizeof(cr_real));
    }
    assert_int_equal(cr_optim_step_count(B.o), steps_b);
    double loss;
    assert_int_equal(cr_meta_get_f64(B.m, "loss", &loss), CR_OK);
    assert_true(loss == 0.25);                        /* B's own meta kept */
    /* meta only */
    assert_int_equal(cr_load(path, NULL, NULL, B.m, NULL, 0), CR_OK);
    assert_int_equal(cr_meta_get_f64(B.m, "loss", &loss), CR_OK);
    assert_true(loss == 0.125);
    /* a file without meta empties the caller's meta */
    assert_int_equal(cr_save(path, A.p, NULL, NULL, NULL, 0), CR_OK);
    assert_int_equal(cr_load(path, B.p, NULL, B.m, NULL, 0), CR_OK);
    assert_int_equal(cr_meta_count(B.m), 0);
    model_free(&A);
    model_free(&B);
}

/* Tied weights: one tensor listed under two names is saved twice and loads. */
static void test_a_tensor_listed_under_two_names_round_trips(void **state)
{
    (void)state;
    cr_tensor *w;
    cr_params *p = one_param(&w);
    assert_int_equal(cr_params_add(p, w, "tied", NULL, 0), CR_OK);
    w->data[0] = 3;
    w->data[1] = -4;
    const char *path = path_in("tied.crm");
    assert_int_equal(cr_save(path, p, NULL, NULL, NULL, 0), CR_OK);
    w->data[0] = w->data[1] = 0;
    char err[256];
    assert_int_equal(cr_load(path, p, NULL, NULL, err, sizeof err), CR_OK);
    assert_true(w->data[0] == 3 && w->data[1] == -4);
    cr_params_free(p);
}

/* The in-memory reader gives the same result and the same messages as the file one. */
static void test_load_buffer_reads_a_file_image(void **state)
{
    (void)state;
    model A = model_new(1, 2, NULL, NULL), B = model_new(2, 1, NULL, NULL);
    const char *path = path_in("image.crm");
    assert_int_equal(cr_save(path, A.p, A.o, A.m, NULL, 0), CR_OK);
    size_t n;
    unsigned char *b = read_bytes(path, &n);
    char err[256];
    snap s0 = snapshot(&B);
    assert_int_equal(cr_load_buffer(b, n - 1, "image", B.p, B.o, B.m, err, sizeof err),
                     CR_ERR_FORMAT);
    char want[96];
    snprintf(want, sizeof want, "image: truncated at byte %zu (expected 1 more byte)", n - 1);
    assert_string_equal(err, want);
    snap s1 = snapshot(&B);
    assert_same_snap(&s0, &s1);
    assert_int_equal(cr_load_buffer(NULL, 0, NULL, B.p, NULL, NULL, err, sizeof err),
                     CR_ERR_FORMAT);
    assert_string_equal(err, "<buffer>: empty file");
    assert_int_equal(cr_load_buffer(NULL, 5, NULL, B.p, NULL, NULL, err, sizeof err), CR_ERR_ARG);
    assert_int_equal(cr_load_buffer(b, n, "image", B.p, B.o, B.m, err, sizeof err), CR_OK);
    snap a = snapshot(&A), c = snapshot(&B);
    assert_same_snap(&a, &c);
    free(b);
    model_free(&A);
    model_free(&B);
}

/* ------------------------------------------------- files written by hand */

/* A double file loads into a float model by rounding and a float file into a
 * double model exactly: whichever build this is, both files load. */
static void test_files_of_either_precision_load_by_conversion(void **state)
{
    (void)state;
    cr_tensor *w;
    cr_params *p = one_param(&w);
    const char *f64 = path_in("f64.crm"), *f32 = path_in("f32.crm");
    hand_file(f64, 8, 0);
    hand_file(f32, 4, 0);
    char err[256];
    assert_int_equal(cr_load(f64, p, NULL, NULL, err, sizeof err), CR_OK);
    assert_true(w->data[0] == (cr_real)0.1 && w->data[1] == (cr_real)-2.5);
    assert_int_equal(cr_load(f32, p, NULL, NULL, err, sizeof err), CR_OK);
    assert_true(w->data[0] == (cr_real)0.1f && w->data[1] == (cr_real)-2.5f);
    cr_params_free(p);
}

static void test_unknown_sections_are_skipped(void **state)
{
    (void)state;
    cr_tensor *w;
    cr_params *p = one_param(&w);
    const char *path = path_in("xtra.crm");
    hand_file(path, 4, 1);
    assert_int_equal(cr_load(path, p, NULL, NULL, NULL, 0), CR_OK);
    assert_true(w->data[1] == -2.5);
    cr_params_free(p);
}

/* -------------------------------------------------------------- meta, crc32 */

static void test_meta_stores_u64_and_double_by_key(void **state)
{
    (void)state;
    cr_meta *m = cr_meta_new();
    assert_int_equal(cr_meta_set_u64(m, "epoch", 12), CR_OK);
    assert_int_equal(cr_meta_set_f64(m, "lr", 0.5), CR_OK);
    assert_int_equal(cr_meta_set_u64(m, "neg", (uint64_t)-3), CR_OK);
    uint64_t u = 0;
    double d = 0;
    assert_int_equal(cr_meta_get_u64(m, "epoch", &u), CR_OK);
    assert_true(u == 12);
    assert_int_equal(cr_meta_get_f64(m, "lr", &d), CR_OK);
    assert_true(d == 0.5);
    assert_int_equal(cr_meta_get_f64(m, "epoch", &d), CR_ERR_ARG);   /* wrong type */
    assert_int_equal(cr_meta_get_u64(m, "absent", &u), CR_ERR_ARG);
    assert_int_equal(cr_meta_get_u64(m, "neg", &u), CR_OK);
    assert_true((int64_t)u == -3);
    assert_int_equal(cr_meta_set_f64(m, "epoch", 1.5), CR_OK);      /* replace, new type */
    assert_int_equal(cr_meta_count(m), 3);
    assert_string_equal(cr_meta_key(m, 0), "epoch");
    assert_int_equal(cr_meta_type_at(m, 0), CR_META_F64);
    assert_null(cr_meta_key(m, 3));
    assert_int_equal(cr_meta_type_at(m, 3), 0);
    char longkey[80];
    memset(longkey, 'k', sizeof longkey - 1);
    longkey[79] = '\0';
    assert_int_equal(cr_meta_set_u64(m, longkey, 1), CR_ERR_ARG);
    assert_int_equal(cr_meta_set_u64(m, "", 1), CR_ERR_ARG);
    assert_int_equal(cr_meta_set_u64(NULL, "a", 1), CR_ERR_ARG);
    for (int i = 0; i < 40; i++) {                                   /* growth */
        char k[16];
        snprintf(k, sizeof k, "k%d", i);
        assert_int_equal(cr_meta_set_u64(m, k, (uint64_t)i), CR_OK);
    }
    assert_int_equal(cr_meta_get_u64(m, "k39", &u), CR_OK);
    assert_true(u == 39);
    cr_meta_clear(m);
    assert_int_equal(cr_meta_count(m), 0);
    cr_meta_free(m);
    cr_meta_free(NULL);
}

/* The standard check value of CRC-32/IEEE, and chunked == one call on both paths. */
static void test_crc32_matches_the_standard_check_value(void **state)
{
    (void)state;
    assert_true(cr_crc32(0, "123456789", 9) == 0xCBF43926u);
    assert_true(cr_crc32(0, "", 0) == 0);
    unsigned char *big = malloc(10000);
    for (int i = 0; i < 10000; i++) big[i] = (unsigned char)(i * 7 + (i >> 5));
    uint32_t whole = cr_crc32(0, big, 10000);                        /* table path */
    uint32_t parts = 0;
    for (int i = 0; i < 10000; i += 1000) parts = cr_crc32(parts, big + i, 1000);
    assert_true(whole == parts);
    /* Python: zlib.crc32(bytes((i*7 + (i>>5)) & 255 for i in range(10000))) */
    assert_true(whole == 0x838EBC50u);
    free(big);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip_restores_params_state_and_meta_bit_exactly),
        cmocka_unit_test(test_resume_from_a_checkpoint_continues_bit_identically),
        cmocka_unit_test(test_file_layout_matches_the_documented_format),
        cmocka_unit_test(test_params_only_load_ignores_optimizer_and_meta_sections),
        cmocka_unit_test(test_a_tensor_listed_under_two_names_round_trips),
        cmocka_unit_test(test_load_buffer_reads_a_file_image),
        cmocka_unit_test(test_files_of_either_precision_load_by_conversion),
        cmocka_unit_test(test_unknown_sections_are_skipped),
        cmocka_unit_test(test_meta_stores_u64_and_double_by_key),
        cmocka_unit_test(test_crc32_matches_the_standard_check_value),
    };
    return cmocka_run_group_tests(tests, setup_dir, teardown_dir);
}
