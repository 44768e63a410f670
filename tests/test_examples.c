/* The examples a user reads first print what the README says they print. */
#include "helpers.h"

#include <stdio.h>
#include <string.h>

/* Run an example from this build and capture its standard output. */
static int run_capture(const char *prog, char *out, size_t size)
{
    char cmd[512];
    snprintf(cmd, sizeof cmd, "%s/examples/%s", CR_BUILD_DIR, prog);
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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_quickstart_prints_readme_gradients_and_table),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
