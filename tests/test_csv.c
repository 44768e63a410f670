/* CSV reader: valid tables (header or not, label column anywhere, blanks, CRLF,
 * spaces), and malformed ones with their file:line[:field] messages. On every
 * error *out stays as it was and nothing leaks. */
#include "data_helpers.h"

#define SENTINEL ((cr_dataset *)&sentinel_byte)
static char sentinel_byte;

static cr_csv_options opts(int header, int label_column, int n_classes)
{
    cr_csv_options o = { header, label_column, n_classes, 0 };
    return o;
}

static void expect_error(const char *text, const cr_csv_options *o, cr_status st,
                         const char *needle)
{
    td_alloc a;
    td_alloc_install(&a);
    cr_dataset *d = SENTINEL;
    char msg[512] = "";
    cr_status got = cr_csv_load_mem(&d, text, strlen(text), "data.csv", o, msg, sizeof msg);
    td_alloc_remove();
    if (got != st) print_error("status %d, expected %d; message: %s\n", got, st, msg);
    assert_int_equal(got, st);
    assert_ptr_equal(d, SENTINEL);
    assert_msg_has(msg, needle);
    assert_int_equal(a.live, 0);
}

static cr_dataset *load_ok(const char *text, const cr_csv_options *o)
{
    cr_dataset *d = NULL;
    char msg[512] = "";
    cr_status st = cr_csv_load_mem(&d, text, strlen(text), "data.csv", o, msg, sizeof msg);
    if (st != CR_OK) print_error("unexpected error: %s\n", msg);
    assert_int_equal(st, CR_OK);
    return d;
}

static void test_header_and_last_column_label(void **state)
{
    (void)state;
    cr_dataset *d = load_ok("x1,x2,x3,label\n0.5,-1,2e3,1\n4,5.25,-6,0\n7,8,9,2\n", NULL);
    assert_int_equal(d->n, 3);
    assert_int_equal(d->n_features, 3);
    assert_int_equal(d->n_classes, 3);
    assert_int_equal(d->rows, 0);
    assert_null(d->pixels);
    static const double want[] = { 0.5, -1, 2000, 4, 5.25, -6, 7, 8, 9 };
    for (int i = 0; i < 9; i++) assert_close_i(d->values[i], want[i], 0, 0, i);
    assert_int_equal(d->labels[0], 1);
    assert_int_equal(d->labels[1], 0);
    assert_int_equal(d->labels[2], 2);
    cr_dataset_free(d);
}

/* Label first, no header, blanks and tabs around fields, CRLF, blank lines, no final
 * newline. */
static void test_label_column_whitespace_crlf_and_blank_lines(void **state)
{
    (void)state;
    cr_csv_options o = opts(0, 0, 5);
    cr_dataset *d = load_ok("\r\n 4 ,\t1.5, 2\r\n\n  \n3,-0.25 ,1e-2\r\n0,7,8", &o);
    assert_int_equal(d->n, 3);
    assert_int_equal(d->n_features, 2);
    assert_int_equal(d->n_classes, 5);
    static const double want[] = { 1.5, 2, -0.25, 0.01, 7, 8 };
    for (int i = 0; i < 6; i++) assert_close_i(d->values[i], want[i], 0, 1e-7, i);
    assert_int_equal(d->labels[0], 4);
    assert_int_equal(d->labels[1], 3);
    assert_int_equal(d->labels[2], 0);
    cr_dataset_free(d);
}

static void test_auto_header_keeps_a_numeric_first_line(void **state)
{
    (void)state;
    cr_dataset *d = load_ok("1,2,0\n3,4,1\n", NULL);
    assert_int_equal(d->n, 2);
    assert_close(d->values[0], 1, 0, 0);
    cr_dataset_free(d);
    cr_csv_options o = opts(1, -1, 0);                  /* forced header drops it */
    d = load_ok("1,2,0\n3,4,1\n", &o);
    assert_int_equal(d->n, 1);
    assert_close(d->values[0], 3, 0, 0);
    cr_dataset_free(d);
}

static void test_field_count_mismatch_names_the_line(void **state)
{
    (void)state;
    expect_error("a,b,c,d,y\n1,2,3,4,0\n\n1,2,3,1\n", NULL, CR_ERR_FORMAT,
                 "data.csv:4: expected 5 fields, found 4");
    expect_error("1,2,0\n1,2,3,0\n", NULL, CR_ERR_FORMAT, "data.csv:2: expected 3 fields, found 4");
}

static void test_bad_numbers_name_line_and_field(void **state)
{
    (void)state;
    expect_error("a,b,y\n1,2,0\n3,abc,1\n", NULL, CR_ERR_FORMAT,
                 "data.csv:3:2: 'abc' is not a number");
    expect_error("1,2,0\n3,4x,1\n", NULL, CR_ERR_FORMAT, "data.csv:2:2: '4x' is not a number");
    expect_error("1,2,0\n3,nan,1\n", NULL, CR_ERR_FORMAT,
                 "data.csv:2:2: 'nan' is not a finite number");
    expect_error("1,2,0\n-inf,2,1\n", NULL, CR_ERR_FORMAT,
                 "data.csv:2:1: '-inf' is not a finite number");
    expect_error("1,2,0\n1e999,2,1\n", NULL, CR_ERR_FORMAT,
                 "data.csv:2:1: '1e999' is out of range");
    expect_error("1,2,0\n1e300,2,1\n", NULL, CR_ERR_FORMAT,
                 "data.csv:2:1: '1e300' is out of range");
    expect_error("1,2,0\n1, ,1\n", NULL, CR_ERR_FORMAT, "data.csv:2:2: empty field");
    expect_error("1,2,0\n1,2,\n", NULL, CR_ERR_FORMAT, "data.csv:2:3: empty field");
    static const char nul[] = "1,2,0\n1,2\0003,1\n";
    cr_dataset *d = SENTINEL;
    char msg[256] = "";
    assert_int_equal(cr_csv_load_mem(&d, nul, sizeof nul - 1, "n.csv", NULL, msg, sizeof msg),
                     CR_ERR_FORMAT);
    assert_msg_has(msg, "n.csv:2:2: '2\\x003' is not a number");   /* NUL escaped */
    assert_ptr_equal(d, SENTINEL);
}

static void test_labels_must_be_non_negative_integers_below_classes(void **state)
{
    (void)state;
    expect_error("1,2,0\n1,2,2.5\n", NULL, CR_ERR_FORMAT,
                 "data.csv:2:3: label '2.5' is not a non-negative integer");
    expect_error("1,2,-1\n", NULL, CR_ERR_FORMAT,
                 "data.csv:1:3: label '-1' is not a non-negative integer");
    expect_error("1,2,cat\n", NULL, CR_ERR_FORMAT, "no data rows");   /* auto: a header */
    cr_csv_options o = opts(0, -1, 0);
    expect_error("1,2,cat\n", &o, CR_ERR_FORMAT, "data.csv:1:3: label 'cat' is not a number");
    expect_error("1,2,1e7\n", &o, CR_ERR_FORMAT, "data.csv:1:3: label 10000000 is too large");
    o = opts(0, -1, 3);
    expect_error("1,2,0\n1,2,3\n", &o, CR_ERR_FORMAT,
                 "data.csv:2:3: label 3 is not below the number of classes (3)");
}

/* Issue 15: "label '0.5' is not a non-negative integer" was the only answer to a
 * regression table; with regression set the column is a real target. */
static void test_regression_option_reads_real_targets(void **state)
{
    (void)state;
    cr_csv_options o = cr_csv_defaults();
    o.regression = 1;
    cr_dataset *d = load_ok("x1,x2,y\n1,2,0.5\n3,4,-1.25e2\n5,6,7\n", &o);
    assert_int_equal(d->n, 3);
    assert_int_equal(d->n_features, 2);
    assert_int_equal(d->n_classes, 0);
    assert_null(d->labels);
    assert_non_null(d->targets);
    static const double want[] = { 0.5, -125, 7 };
    for (int i = 0; i < 3; i++) assert_close_i(d->targets[i], want[i], 0, 0, i);
    /* the gather writes the targets into y */
    int shape[2] = { 2, 2 }, yshape[1] = { 2 }, idx[2] = { 1, 0 };
    cr_tensor *x = cr_tensor_new(2, shape), *y = cr_tensor_new(1, yshape);
    char msg[256] = "";
    assert_int_equal(cr_dataset_gather(d, idx, 2, x, y, msg, sizeof msg), CR_OK);
    static const double wx[] = { 3, 4, 1, 2 }, wy[] = { -125, 0.5 };
    assert_all_close(x->data, wx, 4, 0, 0);
    assert_all_close(y->data, wy, 2, 0, 0);
    cr_tensor_free(x);
    cr_tensor_free(y);
    cr_dataset_free(d);
    /* the target column anywhere; its errors name it a target */
    o.label_column = 0;
    d = load_ok("0.25,1,2\n", &o);
    assert_close(d->targets[0], 0.25, 0, 0);
    assert_close(d->values[1], 2, 0, 0);
    cr_dataset_free(d);
    expect_error("x,y\n1,2\nnan,3\n", &o, CR_ERR_FORMAT, "data.csv:3:1: target 'nan' is not a finite");
    expect_error("1e39,3\n", &o, CR_ERR_FORMAT, "data.csv:1:1: target '1e39' is out of range");
    o.n_classes = 3;
    expect_error("1,2\n", &o, CR_ERR_ARG, "regression has no classes");
    o = cr_csv_defaults();
    o.regression = 2;
    expect_error("1,2\n", &o, CR_ERR_ARG, "bad options");
    /* without the option the same table is still refused as classification */
    expect_error("1,2,0.5\n", NULL, CR_ERR_FORMAT, "label '0.5' is not a non-negative integer");
}

static void test_shape_problems_are_errors(void **state)
{
    (void)state;
    expect_error("", NULL, CR_ERR_FORMAT, "data.csv: no data rows");
    expect_error("\n \n", NULL, CR_ERR_FORMAT, "data.csv: no data rows");
    expect_error("x,y\n", NULL, CR_ERR_FORMAT, "data.csv: no data rows");
    expect_error("1\n2\n", NULL, CR_ERR_FORMAT, "data.csv:1: found 1 field; need at least 2");
    cr_csv_options o = opts(-1, 3, 0);
    expect_error("1,2,0\n", &o, CR_ERR_FORMAT,
                 "data.csv:1: label column 3 (0-based) does not exist");
    o = opts(2, -1, 0);
    expect_error("1,2,0\n", &o, CR_ERR_ARG, "bad options");
    o = opts(0, -2, 0);
    expect_error("1,2,0\n", &o, CR_ERR_ARG, "bad options");
}

static void test_files_load_and_missing_file_is_io_error(void **state)
{
    (void)state;
    const char *text = "f1,f2,class\n1,2,0\n3,4,1\n5,6,1\n";
    td_write(td_path("t.csv"), text, strlen(text));
    cr_dataset *d = NULL;
    char msg[512] = "";
    assert_int_equal(cr_csv_load(&d, td_path("t.csv"), NULL, msg, sizeof msg), CR_OK);
    assert_int_equal(d->n, 3);
    assert_int_equal(d->n_features, 2);
    assert_int_equal(d->n_classes, 2);
    assert_close(d->values[5], 6, 0, 0);
    cr_dataset_free(d);
    d = SENTINEL;
    assert_int_equal(cr_csv_load(&d, td_path("missing.csv"), NULL, msg, sizeof msg), CR_ERR_IO);
    assert_msg_has(msg, "missing.csv: cannot open");
    const char *bad = "1,2,0\n3,x,1\n";
    td_write(td_path("bad.csv"), bad, strlen(bad));
    assert_int_equal(cr_csv_load(&d, td_path("bad.csv"), NULL, msg, sizeof msg), CR_ERR_FORMAT);
    assert_msg_has(msg, "bad.csv:2:2: 'x' is not a number");
    assert_ptr_equal(d, SENTINEL);
#ifdef CR_HAVE_ZLIB
    td_write_gz(td_path("t.csv.gz"), text, strlen(text));
    d = NULL;
    assert_int_equal(cr_csv_load(&d, td_path("t.csv.gz"), NULL, msg, sizeof msg), CR_OK);
    assert_int_equal(d->n, 3);
    assert_close(d->values[4], 5, 0, 0);
    cr_dataset_free(d);
#endif
}

/* A table bigger than the first buffer guesses (memory: 4 KiB) grows correctly. */
static void test_large_table_grows_buffers(void **state)
{
    (void)state;
    size_t rows = 3000, cap = rows * 32;
    char *text = malloc(cap), *p = text;
    for (size_t i = 0; i < rows; i++) p += sprintf(p, "%zu,%zu.5,%zu\n", i, i * 2, i % 4);
    cr_dataset *d = NULL;
    assert_int_equal(cr_csv_load_mem(&d, text, (size_t)(p - text), NULL, NULL, NULL, 0), CR_OK);
    assert_int_equal(d->n, rows);
    assert_int_equal(d->n_classes, 4);
    assert_close(d->values[2 * 2999], 2999, 0, 0);
    assert_close(d->values[2 * 2999 + 1], 5998.5, 0, 0);
    assert_int_equal(d->labels[2999], 2999 % 4);
    cr_dataset_free(d);
    td_write(td_path("big.csv"), text, (size_t)(p - text));
    d = NULL;
    assert_int_equal(cr_csv_load(&d, td_path("big.csv"), NULL, NULL, 0), CR_OK);
    assert_int_equal(d->n, rows);
    cr_dataset_free(d);
    free(text);
}

static void test_allocation_failure_leaks_nothing(void **state)
{
    (void)state;
    size_t rows = 700, cap = rows * 32;
    char *text = malloc(cap), *p = text;
    for (size_t i = 0; i < rows; i++) p += sprintf(p, "%zu,%zu,%zu\n", i, i + 1, i % 3);
    size_t len = (size_t)(p - text);
    td_alloc a;
    td_alloc_install(&a);
    cr_dataset *d = NULL;
    assert_int_equal(cr_csv_load_mem(&d, text, len, NULL, NULL, NULL, 0), CR_OK);
    long total = a.count;
    cr_dataset_free(d);
    td_alloc_remove();
    assert_int_equal(a.live, 0);
    assert_true(total >= 4);
    for (long k = 1; k <= total; k++) {
        td_alloc_install(&a);
        a.fail_at = k;
        d = SENTINEL;
        char msg[128] = "";
        cr_status st = cr_csv_load_mem(&d, text, len, NULL, NULL, msg, sizeof msg);
        td_alloc_remove();
        assert_int_equal(st, CR_ERR_NOMEM);
        assert_ptr_equal(d, SENTINEL);
        assert_int_equal(a.live, 0);
    }
    free(text);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_header_and_last_column_label),
        cmocka_unit_test(test_label_column_whitespace_crlf_and_blank_lines),
        cmocka_unit_test(test_auto_header_keeps_a_numeric_first_line),
        cmocka_unit_test(test_field_count_mismatch_names_the_line),
        cmocka_unit_test(test_bad_numbers_name_line_and_field),
        cmocka_unit_test(test_labels_must_be_non_negative_integers_below_classes),
        cmocka_unit_test(test_regression_option_reads_real_targets),
        cmocka_unit_test(test_shape_problems_are_errors),
        cmocka_unit_test(test_files_load_and_missing_file_is_io_error),
        cmocka_unit_test(test_large_table_grows_buffers),
        cmocka_unit_test(test_allocation_failure_leaks_nothing),
    };
    return cmocka_run_group_tests_name("csv", tests, NULL, NULL);
}
