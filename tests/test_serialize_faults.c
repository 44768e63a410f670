/* Model files (docs/FORMAT.md), what is refused: every corrupt, truncated, foreign,
 * mismatched or malformed file rejected with its message and the caller's objects
 * byte-for-byte unchanged; saving that fails (missing or read-only directory, failed
 * rename or write, no memory) leaves the previous file and no temporary file.
 * What round-trips: test_serialize.c. */
#include "serialize_helpers.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

/* ------------------------------------------------------- corrupt and foreign */

static void test_truncation_at_every_byte_is_rejected_and_model_unchanged(void **state)
{
    (void)state;
    model A = model_new(1, 2, NULL, NULL), B = model_new(2, 1, NULL, NULL);
    const char *full = path_in("t_full.crm"), *cut = path_in("t_cut.crm");
    assert_int_equal(cr_save(full, A.p, A.o, A.m, NULL, 0), CR_OK);
    size_t n;
    unsigned char *b = read_bytes(full, &n);
    char want[128];
    for (size_t k = 0; k < n; k++) {
        write_bytes(cut, b, k);
        if (k == 0) snprintf(want, sizeof want, "t_cut.crm: empty file");
        else if (k < 28)
            snprintf(want, sizeof want, "t_cut.crm: truncated at byte %zu (expected %zu more byte%s)",
                     k, 28 - k, 28 - k == 1 ? "" : "s");
        else
            snprintf(want, sizeof want, "t_cut.crm: truncated at byte %zu (expected %zu more byte%s)",
                     k, n - k, n - k == 1 ? "" : "s");
        expect_load_fails(cut, &B, CR_ERR_FORMAT, want);
    }
    free(b);
    model_free(&A);
    model_free(&B);
}

/* Flip each byte in turn: the checksum (or the header checks before it) catches
 * every one. Payload and checksum bytes say "checksum mismatch". */
static void test_every_flipped_byte_is_rejected_and_model_unchanged(void **state)
{
    (void)state;
    model A = model_new(1, 2, NULL, NULL), B = model_new(2, 1, NULL, NULL);
    const char *full = path_in("f_full.crm"), *bad = path_in("f_bad.crm");
    assert_int_equal(cr_save(full, A.p, A.o, A.m, NULL, 0), CR_OK);
    size_t n;
    unsigned char *b = read_bytes(full, &n);
    for (size_t k = 0; k < n; k++) {
        b[k] ^= 0xFF;
        write_bytes(bad, b, n);
        const char *needle = "checksum mismatch (file corrupt)";
        if (k < 8) needle = "not a chainrule model file (bad magic)";
        else if (k < 12) needle = "is newer than this library (1)";
        else if (k >= 16 && k < 24) needle = "f_bad.crm: ";   /* size field: any message */
        expect_load_fails(bad, &B, CR_ERR_FORMAT, needle);
        b[k] ^= 0xFF;
    }
    /* one flipped bit in the last byte (the checksum) as well */
    b[n - 1] ^= 0x01;
    write_bytes(bad, b, n);
    expect_load_fails(bad, &B, CR_ERR_FORMAT, "f_bad.crm: checksum mismatch (file corrupt)");
    free(b);
    model_free(&A);
    model_free(&B);
}

static void test_foreign_file_newer_and_older_versions_are_rejected(void **state)
{
    (void)state;
    model A = model_new(1, 0, NULL, NULL), B = model_new(2, 1, NULL, NULL);
    const char *full = path_in("v.crm"), *bad = path_in("v_bad.crm");
    assert_int_equal(cr_save(full, A.p, A.o, A.m, NULL, 0), CR_OK);
    size_t n;
    unsigned char *b = read_bytes(full, &n);
    b[8] = 7;
    write_bytes(bad, b, n);
    expect_load_fails(bad, &B, CR_ERR_FORMAT,
                      "v_bad.crm: format version 7 is newer than this library (1)");
    b[8] = 0;
    write_bytes(bad, b, n);
    expect_load_fails(bad, &B, CR_ERR_FORMAT, "v_bad.crm: unsupported format version 0");
    b[8] = 1;
    memcpy(b, "GGUF", 4);
    write_bytes(bad, b, n);
    expect_load_fails(bad, &B, CR_ERR_FORMAT, "v_bad.crm: not a chainrule model file (bad magic)");
    write_bytes(bad, "PK\3\4", 4);                  /* a short foreign file */
    expect_load_fails(bad, &B, CR_ERR_FORMAT, "bad magic");
    /* an endless stream is refused from its first bytes, not read to the end */
    expect_load_fails("/dev/zero", &B, CR_ERR_FORMAT, "/dev/zero: not a chainrule model file");
    /* longer than its header says */
    memcpy(b, "CRMODEL", 8);
    unsigned char *longer = malloc(n + 3);
    memcpy(longer, b, n);
    memset(longer + n, 0, 3);
    write_bytes(bad, longer, n + 3);
    char want[128];
    snprintf(want, sizeof want, "v_bad.crm: file is longer than the %zu bytes its header says "
             "(corrupt or trailing data)", n);
    expect_load_fails(bad, &B, CR_ERR_FORMAT, want);
    free(longer);
    free(b);
    model_free(&A);
    model_free(&B);
}

static void test_shape_mismatch_names_the_parameter_and_both_shapes(void **state)
{
    (void)state;
    static const int w32[2] = { 3, 2 };
    model A = model_new(1, 1, NULL, NULL), B = model_new(2, 1, w32, NULL);
    const char *path = path_in("shape.crm");
    assert_int_equal(cr_save(path, A.p, A.o, A.m, NULL, 0), CR_OK);
    expect_load_fails(path, &B, CR_ERR_SHAPE,
                      "shape.crm: parameter fc1.W has shape 2x3 in the file but 3x2 in the model");
    /* the optimizer state is checked against the optimizer's own tensors */
    snap before = snapshot(&B);
    char err[256];
    assert_int_equal(cr_load(path, NULL, B.o, NULL, err, sizeof err), CR_ERR_SHAPE);
    assert_non_null(strstr(err, "/shape.crm: optimizer state m.fc1.W has shape 2x3 in the "
                                "file but 3x2 in the optimizer"));
    snap after = snapshot(&B);
    assert_same_snap(&before, &after);
    model_free(&A);
    model_free(&B);
}

static void test_name_mismatch_names_the_parameter(void **state)
{
    (void)state;
    model A = model_new(1, 1, NULL, NULL), B = model_new(2, 1, NULL, "fc2.W");
    const char *path = path_in("names.crm");
    assert_int_equal(cr_save(path, A.p, A.o, A.m, NULL, 0), CR_OK);
    expect_load_fails(path, &B, CR_ERR_SHAPE,
                      "names.crm: parameter fc1.W is in the file but not in the model");
    /* a model with one more parameter than the file */
    model C = model_new(3, 0, NULL, NULL);
    cr_params *bigger = cr_params_new();
    assert_int_equal(cr_params_extend(bigger, C.p, "", NULL, 0), CR_OK);
    assert_int_equal(cr_params_add_owned(bigger, cr_param_new(0, NULL), "extra", NULL, 0), CR_OK);
    char err[256];
    assert_int_equal(cr_load(path, bigger, NULL, NULL, err, sizeof err), CR_ERR_SHAPE);
    assert_non_null(strstr(err, "/names.crm: parameter extra is missing from the file"));
    cr_params_free(bigger);
    model_free(&A);
    model_free(&B);
    model_free(&C);
}

static void test_optimizer_kind_mismatch_and_missing_state_are_rejected(void **state)
{
    (void)state;
    model A = model_new(1, 1, NULL, NULL), B = model_new(2, 1, NULL, NULL);
    const char *path = path_in("opt.crm");
    assert_int_equal(cr_save(path, A.p, A.o, A.m, NULL, 0), CR_OK);
    cr_optim_config c = cr_optim_defaults(CR_OPTIM_MOMENTUM);
    cr_optim *adam = B.o;
    B.o = cr_optim_new(B.p, &c, NULL, 0);
    expect_load_fails(path, &B, CR_ERR_SHAPE, "opt.crm: optimizer is adam in the file but momentum here");
    cr_optim_free(B.o);
    B.o = adam;
    assert_int_equal(cr_save(path, A.p, NULL, A.m, NULL, 0), CR_OK);
    expect_load_fails(path, &B, CR_ERR_FORMAT,
                      "opt.crm: file has no optimizer state (saved without an optimizer)");
    model_free(&A);
    model_free(&B);
}

static void test_missing_file_is_an_io_error(void **state)
{
    (void)state;
    model B = model_new(2, 1, NULL, NULL);
    expect_load_fails(path_in("nope.crm"), &B, CR_ERR_IO, "nope.crm: cannot open: No such file");
    expect_load_fails(dir, &B, CR_ERR_IO, "read error");   /* a directory */
    char err[64];
    assert_int_equal(cr_load(NULL, B.p, NULL, NULL, err, sizeof err), CR_ERR_ARG);
    assert_int_equal(cr_load("", B.p, NULL, NULL, err, sizeof err), CR_ERR_ARG);
    model_free(&B);
}

/* ------------------------------------------------------------------ atomicity */

static void test_save_into_a_missing_or_non_directory_fails_cleanly(void **state)
{
    (void)state;
    model A = model_new(1, 1, NULL, NULL);
    char err[512];
    assert_int_equal(cr_save(path_in("no/such/dir/m.crm"), A.p, NULL, NULL, err, sizeof err),
                     CR_ERR_IO);
    assert_non_null(strstr(err, "no/such/dir/m.crm: cannot create temporary file"));
    assert_non_null(strstr(err, "No such file or directory"));
    write_bytes(path_in("plain"), "x", 1);          /* a file used as a directory */
    assert_int_equal(cr_save(path_in("plain/m.crm"), A.p, NULL, NULL, err, sizeof err), CR_ERR_IO);
    assert_non_null(strstr(err, "Not a directory"));
    assert_int_equal(temp_files_in(dir), 0);
    assert_int_equal(cr_save(NULL, A.p, NULL, NULL, err, sizeof err), CR_ERR_ARG);
    assert_int_equal(cr_save(path_in("x.crm"), NULL, NULL, NULL, err, sizeof err), CR_ERR_ARG);
    assert_string_equal(err, "save: parameter list is NULL or empty");
    model_free(&A);
}

/* The target is a non-empty directory: the temporary file is written, the rename
 * fails, the temporary file is removed and the directory is untouched. */
static void test_failed_rename_removes_the_temporary_file(void **state)
{
    (void)state;
    model A = model_new(1, 1, NULL, NULL);
    const char *target = path_in("isdir.crm");
    assert_int_equal(mkdir(target, 0755), 0);
    write_bytes(path_in("isdir.crm/keep"), "k", 1);
    char err[512];
    assert_int_equal(cr_save(target, A.p, A.o, A.m, err, sizeof err), CR_ERR_IO);
    assert_non_null(strstr(err, "cannot rename"));
    assert_int_equal(temp_files_in(dir), 0);
    struct stat st;
    assert_int_equal(stat(path_in("isdir.crm/keep"), &st), 0);
    model_free(&A);
}

/* A write that fails half-way (file size limit, EFBIG) leaves the previous file
 * byte-for-byte intact and no temporary file. */
static void test_failed_write_keeps_the_previous_file(void **state)
{
    (void)state;
    model A = model_new(1, 1, NULL, NULL);
    const char *path = path_in("keep.crm");
    assert_int_equal(cr_save(path, A.p, A.o, A.m, NULL, 0), CR_OK);
    size_t n0;
    unsigned char *before = read_bytes(path, &n0);

    cr_params *big = cr_params_new();
    int shape[2] = { 100, 100 };
    assert_int_equal(cr_params_add_owned(big, cr_param_new(2, shape), "big", NULL, 0), CR_OK);
    struct rlimit old, low;
    assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
    low = old;
    low.rlim_cur = 1000;
    void (*prev)(int) = signal(SIGXFSZ, SIG_IGN);
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &low), 0);
    char err[512];
    cr_status s = cr_save(path, big, NULL, NULL, err, sizeof err);
    setrlimit(RLIMIT_FSIZE, &old);
    signal(SIGXFSZ, prev);
    assert_int_equal(s, CR_ERR_IO);
    assert_non_null(strstr(err, "keep.crm: write failed: File too large"));
    size_t n1;
    unsigned char *after = read_bytes(path, &n1);
    assert_int_equal(n0, n1);
    assert_memory_equal(before, after, n0);
    assert_int_equal(temp_files_in(dir), 0);
    free(before);
    free(after);
    cr_params_free(big);
    model_free(&A);
}

/* Read-only directory (meaningless as root, who may write anyway: skipped). */
static void test_read_only_directory_refuses_save_and_keeps_file(void **state)
{
    (void)state;
    if (geteuid() == 0) skip();
    model A = model_new(1, 1, NULL, NULL);
    const char *sub = path_in("ro");
    assert_int_equal(mkdir(sub, 0755), 0);
    const char *path = path_in("ro/m.crm");
    assert_int_equal(cr_save(path, A.p, NULL, NULL, NULL, 0), CR_OK);
    size_t n0;
    unsigned char *before = read_bytes(path, &n0);
    chmod(sub, 0555);
    char err[512];
    assert_int_equal(cr_save(path, A.p, A.o, A.m, err, sizeof err), CR_ERR_IO);
    chmod(sub, 0755);
    assert_non_null(strstr(err, "Permission denied"));
    size_t n1;
    unsigned char *after = read_bytes(path, &n1);
    assert_int_equal(n0, n1);
    assert_memory_equal(before, after, n0);
    assert_int_equal(temp_files_in(sub), 0);
    free(before);
    free(after);
    model_free(&A);
}

/* Every allocation cr_save and cr_load make may fail: NOMEM, no temp file, the
 * previous file and the model unchanged. */
static void test_allocation_failures_leave_file_and_model_unchanged(void **state)
{
    (void)state;
    model A = model_new(1, 2, NULL, NULL), B = model_new(2, 1, NULL, NULL);
    const char *path = path_in("alloc.crm");
    assert_int_equal(cr_save(path, A.p, A.o, A.m, NULL, 0), CR_OK);
    size_t n0;
    unsigned char *before = read_bytes(path, &n0);
    int failed_saves = 0, failed_loads = 0;
    for (long k = 1; k < 20; k++) {
        cr_test_alloc c;
        memset(&c, 0, sizeof c);
        c.fail_at = k;
        cr_test_alloc_install(&c);
        cr_status s = cr_save(path, B.p, B.o, B.m, NULL, 0);
        cr_test_alloc_remove();
        if (s == CR_OK) break;
        assert_int_equal(s, CR_ERR_NOMEM);
        failed_saves++;
        size_t n1;
        unsigned char *after = read_bytes(path, &n1);
        assert_int_equal(n0, n1);
        assert_memory_equal(before, after, n0);
        free(after);
        assert_int_equal(temp_files_in(dir), 0);
    }
    assert_int_equal(cr_save(path, A.p, A.o, A.m, NULL, 0), CR_OK);
    for (long k = 1; k < 20; k++) {
        cr_test_alloc c;
        memset(&c, 0, sizeof c);
        c.fail_at = k;
        snap s0 = snapshot(&B);
        char err[256];
        cr_test_alloc_install(&c);
        cr_status s = cr_load(path, B.p, B.o, B.m, err, sizeof err);
        cr_test_alloc_remove();
        if (s == CR_OK) break;
        assert_int_equal(s, CR_ERR_NOMEM);
        assert_non_null(strstr(err, "alloc.crm: out of memory"));
        failed_loads++;
        snap s1 = snapshot(&B);
        assert_same_snap(&s0, &s1);
    }
    assert_true(failed_saves >= 1);
    assert_true(failed_loads >= 3);   /* file buffer, records x2, meta */
    free(before);
    model_free(&A);
    model_free(&B);
}

/* ------------------------------------------------- files written by hand */

/* A double value beyond FLT_MAX cannot become a float: the float build refuses the
 * file (instead of loading an infinity) and keeps the model; the double build loads. */
static void test_double_value_outside_float_range_is_refused_by_float_build(void **state)
{
    (void)state;
    cr_tensor *w;
    cr_params *p = one_param(&w);
    w->data[0] = 7;
    w->data[1] = 8;
    const char *path = path_in("huge.crm");
    hand_file_values(path, 8, 0, 1.5, -1e300);
    char err[256] = "";
    cr_status s = cr_load(path, p, NULL, NULL, err, sizeof err);
    if (CR_TEST_DOUBLE) {
        assert_int_equal(s, CR_OK);
        assert_true(w->data[1] == -1e300);
    } else {
        assert_int_equal(s, CR_ERR_FORMAT);
        assert_non_null(strstr(err, "parameter w holds -1e+300 at element 1, outside the float range"));
        assert_true(w->data[0] == 7 && w->data[1] == 8);
    }
    cr_params_free(p);
}

/* Structurally wrong files with a correct checksum (a buggy or hostile writer). */
static void test_malformed_files_with_valid_checksum_are_rejected(void **state)
{
    (void)state;
    cr_tensor *w;
    cr_params *p = one_param(&w);
    w->data[0] = 42;
    const char *path = path_in("malformed.crm");
    char err[256];
    struct {
        uint32_t count, namelen, rank, dim;
        const char *needle;
    } cases[] = {
        { 1000000, 1, 1, 2, "tensor count larger than its section can hold" },
        { 1, 0, 1, 2, "tensor name length outside 1..255" },
        { 1, 1, 5, 2, "tensor rank above 4" },
        { 1, 1, 1, 0, "tensor dimension outside 1..2^31-1" },
        { 1, 1, 1, 0x80000000u, "tensor dimension outside 1..2^31-1" },
        { 1, 1, 1, 3, "tensor data larger than its section" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        hand h;
        h_header(&h, 4, 1);
        size_t s = h_section(&h, "PARM");
        h_u32(&h, cases[i].count);
        h_u32(&h, cases[i].namelen);
        h_bytes(&h, "w", 1);
        h_u32(&h, cases[i].rank);
        h_u32(&h, cases[i].dim);
        h_u32(&h, 0);
        h_u32(&h, 0);
        h_end_section(&h, s);
        h_finish(&h, path);
        assert_int_equal(cr_load(path, p, NULL, NULL, err, sizeof err), CR_ERR_FORMAT);
        if (!strstr(err, cases[i].needle)) fail_msg("case %zu: '%s'", i, err);
        assert_true(w->data[0] == 42);
    }
    /* no parameter section at all; two of them; a section longer than the file */
    hand h;
    h_header(&h, 4, 0);
    h_finish(&h, path);
    assert_int_equal(cr_load(path, p, NULL, NULL, err, sizeof err), CR_ERR_FORMAT);
    assert_non_null(strstr(err, "no parameter section"));
    h_header(&h, 4, 2);
    for (int k = 0; k < 2; k++) {
        size_t s = h_section(&h, "PARM");
        h_u32(&h, 0);
        h_end_section(&h, s);
    }
    h_finish(&h, path);
    assert_int_equal(cr_load(path, p, NULL, NULL, err, sizeof err), CR_ERR_FORMAT);
    assert_non_null(strstr(err, "second parameter section"));
    h_header(&h, 4, 1);
    h_bytes(&h, "PARM", 4);
    h_u64(&h, 1000);
    h_finish(&h, path);
    assert_int_equal(cr_load(path, p, NULL, NULL, err, sizeof err), CR_ERR_FORMAT);
    assert_non_null(strstr(err, "section longer than the file"));
    h_header(&h, 2, 0);         /* real size 2: unsupported */
    h_finish(&h, path);
    assert_int_equal(cr_load(path, p, NULL, NULL, err, sizeof err), CR_ERR_FORMAT);
    assert_non_null(strstr(err, "unsupported real size 2"));
    assert_true(w->data[0] == 42);
    cr_params_free(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_truncation_at_every_byte_is_rejected_and_model_unchanged),
        cmocka_unit_test(test_every_flipped_byte_is_rejected_and_model_unchanged),
        cmocka_unit_test(test_foreign_file_newer_and_older_versions_are_rejected),
        cmocka_unit_test(test_shape_mismatch_names_the_parameter_and_both_shapes),
        cmocka_unit_test(test_name_mismatch_names_the_parameter),
        cmocka_unit_test(test_optimizer_kind_mismatch_and_missing_state_are_rejected),
        cmocka_unit_test(test_missing_file_is_an_io_error),
        cmocka_unit_test(test_save_into_a_missing_or_non_directory_fails_cleanly),
        cmocka_unit_test(test_failed_rename_removes_the_temporary_file),
        cmocka_unit_test(test_failed_write_keeps_the_previous_file),
        cmocka_unit_test(test_read_only_directory_refuses_save_and_keeps_file),
        cmocka_unit_test(test_allocation_failures_leave_file_and_model_unchanged),
        cmocka_unit_test(test_double_value_outside_float_range_is_refused_by_float_build),
        cmocka_unit_test(test_malformed_files_with_valid_checksum_are_rejected),
    };
    return cmocka_run_group_tests(tests, setup_dir, teardown_dir);
}
