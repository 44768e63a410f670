/* Regression tests for what fuzzing found (fuzz/, docs/HARDENING.md). Each test
 * replays the finding's input through the public entry point and pins the fixed
 * behaviour; the crashing input itself is also kept in fuzz/corpus/<harness>/
 * as regress-*, so `make fuzz-corpus` replays it under ASan/UBSan. */
/* The training program's option parser, compiled in (it is not in the library).
 * Before helpers.h: cmocka defines a macro named fail, as options.c names a helper. */
#include "../examples/train/options.c"

#include "helpers.h"

#include <string.h>

/* fuzz_train_args, finding 1: an argument containing a newline (or another
 * control character) was quoted verbatim into the error message, so the trainer's
 * "one-line error" became two lines (and could carry terminal escapes). Control
 * characters now print as '?'. */
static void test_train_option_error_is_one_line_with_control_chars(void **state)
{
    (void)state;
    train_opts o;
    char err[TRAIN_ERR];
    char a1[] = "train", a2[] = "r.check\npoint";
    char *argv1[] = { a1, a2, NULL };
    assert_int_equal(train_parse_args(&o, 2, argv1, err, sizeof err), -1);
    assert_string_equal(err, "unexpected argument 'r.check?point' (options start with --; see "
                             "--help)");
    char b2[] = "--lr", b3[] = "1\033[31m\r";
    char *argv2[] = { a1, b2, b3, NULL };
    assert_int_equal(train_parse_args(&o, 3, argv2, err, sizeof err), -1);
    assert_string_equal(err, "--lr: '1?[31m?' is not a finite number");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_train_option_error_is_one_line_with_control_chars),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
