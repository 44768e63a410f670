/* Checkpoint/resume survives kill -9: the training program (examples/train) is
 * started with --checkpoint every few steps, killed with SIGKILL at an arbitrary
 * moment (after its first checkpoint, after a varying delay; with checkpoints this
 * frequent the kill often lands inside a save), resumed from the checkpoint and
 * trained to the end; its final model file is byte-identical to the one of an
 * uninterrupted run with the same seed and thread count, and its CSV log holds
 * the same rows (timing columns aside): the header is there, and no epoch row
 * is missing or written twice however the kills fell (issue 12, item 6). A
 * resumed run killed again resumes again. */
#include "data_helpers.h"

#include <errno.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>

static char train_bin[1024];

/* The run: 3 x 1000 spiral points (2700 for training), batch 32: 85 steps per
 * epoch, 2550 in all; checkpoint every 10 steps (each one fsyncs, which is what
 * makes the run last long enough to be killed in the middle). */
#define COMMON "--no-progress", "--spiral-points", "1000", "--epochs", "30", "--hidden", \
               "64,64", "--batch", "32", "--seed", "17", "--threads", "2", "--checkpoint-every", "10"

static void sleep_ms(long ms)
{
    struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {}
}

/* Start the trainer with args (NULL-terminated), stdout/stderr to log. */
static pid_t start(const char *const *args, const char *log)
{
    const char *argv[40];
    int n = 0;
    argv[n++] = train_bin;
    for (int i = 0; args[i]; i++) argv[n++] = args[i];
    argv[n] = NULL;
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        FILE *f = freopen(log, "w", stdout);
        if (!f || dup2(fileno(stdout), 2) < 0) _exit(126);
        execv(train_bin, (char *const *)argv);
        _exit(127);
    }
    return pid;
}

static void print_log(const char *log)
{
    FILE *f = fopen(log, "r");
    char line[512];
    while (f && fgets(line, sizeof line, f)) print_error("  | %s", line);
    if (f) fclose(f);
}

/* Run to completion; the exit status. */
static int run(const char *const *args, const char *log)
{
    int st;
    pid_t pid = start(args, log);
    assert_int_equal(waitpid(pid, &st, 0), pid);
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) print_log(log);
    assert_true(WIFEXITED(st));
    return WEXITSTATUS(st);
}

static int exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

/* Start a run, wait for its first checkpoint, let it go on for delay_ms, SIGKILL
 * it. Returns 1 if it was killed, 0 if it finished first. */
static int run_and_kill(const char *const *args, const char *ck, long delay_ms, const char *log)
{
    pid_t pid = start(args, log);
    int st;
    for (int waited = 0; !exists(ck); waited++) {
        if (waitpid(pid, &st, WNOHANG) == pid) {
            print_log(log);
            fail_msg("the trainer ended before its first checkpoint");
        }
        if (waited > 60000) {
            kill(pid, SIGKILL);
            waitpid(pid, &st, 0);
            fail_msg("no checkpoint after 60 s");
        }
        sleep_ms(1);
    }
    sleep_ms(delay_ms);
    kill(pid, SIGKILL);
    assert_int_equal(waitpid(pid, &st, 0), pid);
    if (WIFEXITED(st)) return 0;
    assert_true(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
    return 1;
}

/* The step a resumed run started from, read off its "resumed from ... (step N)". */
static long resumed_step(const char *log)
{
    FILE *f = fopen(log, "r");
    assert_non_null(f);
    char line[512];
    long step = -1;
    while (fgets(line, sizeof line, f)) {
        const char *p = strstr(line, "resumed from");
        const char *s = p ? strstr(p, "(step ") : NULL;
        if (s) step = atol(s + 6);
    }
    fclose(f);
    return step;
}

static void test_resume_after_kill_9_is_bit_identical(void **state)
{
    (void)state;
    char ref[512], ref_ck[512], ref_dot[512];
    snprintf(ref, sizeof ref, "%s", td_path("ref.crm"));
    snprintf(ref_ck, sizeof ref_ck, "%s", td_path("ref-ck.crm"));
    snprintf(ref_dot, sizeof ref_dot, "%s", td_path("ref.dot"));
    char ref_csv[512];
    snprintf(ref_csv, sizeof ref_csv, "%s", td_path("ref.csv"));
    const char *full[] = { COMMON, "--out", ref, "--dot", ref_dot, "--checkpoint", ref_ck,
                           "--log", ref_csv, NULL };
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    assert_int_equal(run(full, td_path("ref.log")), 0);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    long total_ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;

    /* kill at several moments: right after the first checkpoint, and later — as
     * fractions of the uninterrupted run's time, so that the kills land inside the
     * run on a fast machine as well as on a slow one */
    const long delays[] = { 0, total_ms / 10, total_ms * 3 / 10, total_ms / 2 };
    for (int round = 0; round < 4; round++) {
        char ck[512], out[512], dot[512], log[512], rlog[512];
        snprintf(ck, sizeof ck, "%s", td_path("ck.crm"));
        snprintf(out, sizeof out, "%s", td_path("out.crm"));
        snprintf(dot, sizeof dot, "%s", td_path("out.dot"));
        snprintf(log, sizeof log, "%s", td_path("cut.log"));
        snprintf(rlog, sizeof rlog, "%s", td_path("resume.log"));
        char csv[512];
        snprintf(csv, sizeof csv, "%s", td_path("run.csv"));
        remove(ck);
        remove(out);
        remove(csv);
        const char *cut[] = { COMMON, "--out", out, "--dot", dot, "--checkpoint", ck,
                              "--log", csv, NULL };
        /* a run that finishes before its kill (the machine got faster than during
         * the reference run) is tried again with half the delay, down to none */
        long delay = delays[round];
        int cut_ok;
        while (!(cut_ok = run_and_kill(cut, ck, delay, log)) && delay > 0) {
            delay /= 2;
            remove(ck);
            remove(out);
            remove(csv);
        }
        assert_true(cut_ok);
        assert_false(exists(out));                /* it really stopped before the end */
        const char *res[] = { COMMON, "--out", out, "--dot", dot, "--checkpoint", ck,
                              "--log", csv, "--resume", ck, NULL };
        /* kill the resumed run too, and resume again; a resumed run that already
         * finishes before that kill (a late first kill), or is killed after it saved
         * its model (the log is complete by then: its lines are written before the
         * save), counts as a plain resume — on a loaded machine either can happen */
        if (round == 3 && run_and_kill(res, ck, total_ms / 5, rlog) && exists(out))
            print_message("    round 3: the second kill landed after the model was saved\n");
        if (!exists(out)) assert_int_equal(run(res, rlog), 0);
        long step = resumed_step(rlog);
        print_message("    round %d: killed %ld ms after the first checkpoint, resumed at step "
                      "%ld of 2550\n", round, delay, step);
        assert_true(step >= 10 && step < 2550);
        if (!cr_test_files_equal(ref, out)) print_log(rlog);
        assert_true(cr_test_files_equal(ref, out));
        static char want[1 << 14], got[1 << 14];
        td_log_without_timing(ref_csv, want, sizeof want);
        td_log_without_timing(csv, got, sizeof got);
        if (strcmp(want, got)) print_error("uninterrupted log:\n%s\nresumed log:\n%s\n", want, got);
        assert_string_equal(want, got);
    }
}

int main(int argc, char **argv)
{
    (void)argc;
    if (!cr_test_train_bin(train_bin, sizeof train_bin, argv[0])) return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_resume_after_kill_9_is_bit_identical),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
