/* The examples a user reads first print what the README says they print. */
#include "helpers.h"

#include <stdio.h>
#include <string.h>
#include <stdlib.h>
#include <unistd.h>

/* Run an example from this build and capture its standard output. */
static int run_capture(const char *prog, char *out, size_t size)
{
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "%s/examples/%s 2>&1", CR_BUILD_DIR, prog);
    FILE *p = popen(cmd, "r");
    if (!p) return -1;
    size_t n = fread(out, 1, size - 1, p);
    out[n] = '\0';
    return pclose(p);
}

/* Collapse runs of spaces so that table checks do not depend on column widths. */
static void squeeze_spaces(char *s)
{
    char *w = s;
    for (char *r = s; *r; r++)
        if (!(*r == ' ' && w > s && w[-1] == ' ')) *w++ = *r;
    *w = '\0';
}

static void test_quickstart_prints_readme_gradients_and_table(void **state)
{
    (void)state;
    char out[4096];
    assert_int_equal(run_capture("quickstart", out, sizeof out), 0);
    assert_non_null(strstr(out, "f = 6  df/dx = 5  df/dy = 2\n"));
    /* the tape table: node 3 multiplies #0 by #2, value 6, gradient 1 */
    squeeze_spaces(out);
    assert_non_null(strstr(out, "\n3 mul #0,#2 scalar 6 1\n"));
}

/* The README's "train, save, load in another program" pair. */
static void test_xor_trained_saved_and_loaded_in_another_program(void **state)
{
    (void)state;
    char dir[] = "/tmp/cr_xor_XXXXXX", out[4096], prog[512];
    assert_non_null(mkdtemp(dir));
    snprintf(prog, sizeof prog, "train_xor %s/xor.crm", dir);
    assert_int_equal(run_capture(prog, out, sizeof out), 0);
    assert_non_null(strstr(out, "saved "));
    double first = 0, last = 1;
    char *p = strstr(out, "step   0  loss ");
    assert_non_null(p);
    sscanf(p, "step   0  loss %lf", &first);
    p = strstr(out, "step 300  loss ");
    assert_non_null(p);
    sscanf(p, "step 300  loss %lf", &last);
    assert_true(first > 0.5);       /* ~log 2 for an untrained net */
    assert_true(last < 0.01);       /* XOR learned */
    snprintf(prog, sizeof prog, "use_xor %s/xor.crm", dir);
    assert_int_equal(run_capture(prog, out, sizeof out), 0);
    double p00, p01, p10, p11;
    assert_int_equal(sscanf(out, "0 xor 0 -> %lf\n0 xor 1 -> %lf\n1 xor 0 -> %lf\n1 xor 1 -> %lf",
                            &p00, &p01, &p10, &p11), 4);
    assert_true(p00 < 0.05 && p11 < 0.05 && p01 > 0.95 && p10 > 0.95);
    /* a missing model file is a one-line error and a non-zero exit */
    snprintf(prog, sizeof prog, "use_xor %s/missing.crm", dir);
    assert_int_not_equal(run_capture(prog, out, sizeof out), 0);
    assert_non_null(strstr(out, "load: "));
    snprintf(prog, sizeof prog, "%s/xor.crm", dir);
    remove(prog);
    rmdir(dir);
}

/* Course notes, book ch. 1.7: W* = [6.08613445378149 6.53361344537816 2.11274509803922]. */
static void test_commute_regression_matches_closed_form(void **state)
{
    (void)state;
    char out[4096];
    assert_int_equal(run_capture("commute_regression", out, sizeof out), 0);
    double w[3], d;
    char *p = strstr(out, "closed form");
    assert_non_null(p);
    assert_int_equal(sscanf(p, "closed form W = [%lf %lf %lf]", &w[0], &w[1], &w[2]), 3);
    assert_close(w[0], 6.08613445378149, 1e-4, 0);
    assert_close(w[1], 6.53361344537816, 1e-4, 0);
    assert_close(w[2], 2.11274509803922, 1e-4, 0);
    p = strstr(out, "gradient descent");
    assert_non_null(p);
    assert_int_equal(sscanf(strstr(p, "max |W - W*| = "), "max |W - W*| = %lf", &d), 1);
    assert_true(d <= 1e-3);
    const char *stochastic[2] = { "SGD eta=C/sqrt(t)", "minibatch SGD (b=2)" };
    for (int i = 0; i < 2; i++) {
        p = strstr(out, stochastic[i]);
        assert_non_null(p);
        assert_int_equal(sscanf(strstr(p, "max |W - W*| = "), "max |W - W*| = %lf", &d), 1);
        assert_true(d <= 0.1);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_quickstart_prints_readme_gradients_and_table),
        cmocka_unit_test(test_xor_trained_saved_and_loaded_in_another_program),
        cmocka_unit_test(test_commute_regression_matches_closed_form),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
