/* libFuzzer harness: the training program's option parser (train_parse_args in
 * examples/train/options.c, compiled into this harness).
 *
 * The input is the argument list: arguments separated by NUL bytes (at most 64),
 * argv[0] is "train". --help prints the usage to stdout, which is sent to
 * /dev/null here. Checked besides ASan/UBSan: the result is -1 (with a one-line
 * message), 0 or 1; after 0 every option is inside its documented range and the
 * optimizer and schedule settings pass the library's own checks. */
#include "fuzz_util.h"

#include "../examples/train/options.c"

#include <stdint.h>

#define MAX_ARGS 64

static void check_opts(const train_opts *o)
{
    FUZZ_CHECK(o->n_hidden >= 0 && o->n_hidden <= TRAIN_MAX_HIDDEN, "n_hidden %d", o->n_hidden);
    for (int i = 0; i < o->n_hidden; i++) FUZZ_CHECK(o->hidden[i] >= 1, "hidden %d", o->hidden[i]);
    FUZZ_CHECK(o->batch >= 1 && o->epochs >= 1, "batch %d epochs %d", o->batch, o->epochs);
    FUZZ_CHECK(o->threads >= 0 && o->threads <= 256, "threads %d", o->threads);
    FUZZ_CHECK(o->val >= 0 && (o->val < 1 || o->val == floor(o->val)), "val %g", o->val);
    FUZZ_CHECK(o->label_column >= -1 && o->header >= -1 && o->header <= 1, "csv options");
    FUZZ_CHECK(o->act != CR_ACT_NONE && o->act != CR_ACT_SOFTMAX, "activation %d", o->act);
    FUZZ_CHECK(o->clip >= 0 && isfinite(o->clip), "clip %g", o->clip);
    FUZZ_CHECK(!o->checkpoint_every || o->checkpoint, "--checkpoint-every without --checkpoint");
    char msg[256];
    FUZZ_CHECK(cr_optim_config_check(&o->optim, msg, sizeof msg) == CR_OK, "optim: %s", msg);
    cr_schedule s = o->sched;
    if (s.T == 0) s.T = 1;                 /* 0: "all steps of the run", set later */
    FUZZ_CHECK(cr_schedule_check(&s, msg, sizeof msg) == CR_OK, "schedule: %s", msg);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int quiet;
    if (!quiet) {
        quiet = freopen("/dev/null", "w", stdout) != NULL;
    }
    char *buf = malloc(size + 1);
    FUZZ_CHECK(buf, "out of memory");
    memcpy(buf, data, size);
    buf[size] = '\0';
    char *argv[MAX_ARGS + 2];
    int argc = 0;
    argv[argc++] = "train";
    for (size_t i = 0; i <= size && argc <= MAX_ARGS;) {
        argv[argc++] = buf + i;
        i += strlen(buf + i) + 1;
    }
    if (size == 0) argc = 1;
    argv[argc] = NULL;

    train_opts o;
    char err[TRAIN_ERR];
    memset(err, 'x', sizeof err);
    int r = train_parse_args(&o, argc, argv, err, sizeof err);
    FUZZ_CHECK(r >= -1 && r <= 1, "result %d", r);
    if (r == -1) {
        fuzz_check_message(CR_ERR_ARG, err, sizeof err);
        FUZZ_CHECK(!strchr(err, '\n'), "message of more than one line: %s", err);
    }
    if (r == 0) check_opts(&o);
    free(buf);
    return 0;
}
