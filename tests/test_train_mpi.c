/* Data-parallel training over MPI (issue 17): the training program built with
 * `make MPI=1` (examples/train-mpi) run under `mpirun -np 2` on loopback, against
 * the one-process program (examples/train) on the same data, seed and global batch:
 *   - after one epoch the parameters agree up to summation-order rounding (an MLP
 *     and a CNN spec, in this build's precision), and a repeat gives the same bytes;
 *   - ranks that disagree on options or data stop with a message naming the rank;
 *     a rank that fails (missing data) stops the job with its message; a rank
 *     killed with SIGKILL ends the job within a bounded time, and mpirun names it;
 *   - only rank 0 writes the checkpoint, the model and the log (each rank runs in
 *     its own directory), --resume works from rank 0's file alone, with the same
 *     and with another number of ranks.
 * Skipped, with a message, when mpirun or the MPI build is missing (.ci/run
 * installs Open MPI). Every mpirun runs under `timeout`, so no test can hang. */
#include "train_helpers.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <time.h>

static char mpi_bin[1024], mpirun[512];

/* What one epoch of 2 ranks may differ from one process: the largest parameter
 * difference over the largest parameter magnitude. Observed (gcc -O2, AVX-512
 * kernel): float MLP (SGD with momentum) 1.2e-7, CNN (Adam) 9.8e-8, about one
 * rounding of the largest weight; double 1.7e-16 and 1.8e-16; resumed across rank
 * counts alike. The bounds leave a factor of 25 or more for other compilers and
 * kernels. Wrong combinations measured against them: a rank's share not weighted
 * by m_r / M, 0.46 (the MLP trains with SGD because Adam hardly sees a gradient's
 * scale: 4.7e-6 there); the summed gradient not copied back, 0.14. */
#define BOUND TOL(1e-14, 3e-6)

static void sleep_ms(long ms)
{
    struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {}
}

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* mpirun with the flags this machine needs: root allowed (CI containers), more
 * ranks than cores, TCP on loopback only. */
static int find_mpi(const char *argv0)
{
    snprintf(mpi_bin, sizeof mpi_bin, "%s", train_bin);
    size_t n = strlen(mpi_bin);
    snprintf(mpi_bin + n, sizeof mpi_bin - n, "-mpi");
    if (system("command -v mpirun > /dev/null 2>&1") != 0) {
        printf("%s: skipped: mpirun not found (apt-get install openmpi-bin libopenmpi-dev)\n",
               argv0);
        return 0;
    }
    if (access(mpi_bin, X_OK) != 0) {
        printf("%s: skipped: %s not built (make MPI=1)\n", argv0, mpi_bin);
        return 0;
    }
    if (mpi_bin[0] != '/') {      /* ranks start in other directories (-wdir) */
        char cwd[512], rel[sizeof mpi_bin];
        assert_non_null(getcwd(cwd, sizeof cwd));
        memcpy(rel, mpi_bin, sizeof rel);
        assert_true((size_t)snprintf(mpi_bin, sizeof mpi_bin, "%s/%s", cwd, rel) < sizeof mpi_bin);
    }
    /* ASan builds (make test SAN=1): Open MPI's components are unloaded before exit,
     * so LeakSanitizer reports their allocations with no name to suppress them by;
     * the trainer's own code is leak-checked by the one-process runs and valgrind */
    snprintf(mpirun, sizeof mpirun, "ASAN_OPTIONS=\"${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0\" "
             "timeout -s KILL 300 mpirun %s--oversubscribe --mca btl "
             "self,tcp --mca btl_tcp_if_include lo --mca oob_tcp_if_include lo",
             geteuid() == 0 ? "--allow-run-as-root " : "");
    return 1;
}

/* Run "mpirun ... -np N BIN --no-progress ARGS" (np 0: BIN alone), output in the
 * scratch files stdout and stderr; the exit status. */
static int run_np(const char *bin, int np, const char *args)
{
    char cmd[16384], start[sizeof mpirun + 32] = "";
    if (np > 0) snprintf(start, sizeof start, "%s -np %d", mpirun, np);
    snprintf(cmd, sizeof cmd, "%s '%s' --no-progress %s > '%s' 2> '%s'", start, bin, args,
             td_path("stdout"), td_path("stderr"));
    int st = system(cmd);
    assert_true(st != -1 && WIFEXITED(st));
    return WEXITSTATUS(st);
}

/* train-mpi on np ranks with ARGS (fmt). */
static int mpi(int np, const char *fmt, ...)
{
    char args[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(args, sizeof args, fmt, ap);
    va_end(ap);
    return run_np(mpi_bin, np, args);
}

/* Two ranks, each in its own working directory (MPMD: the same program and
 * arguments twice), so that what each rank writes can be told apart. */
static int mpi_two_dirs(const char *dir0, const char *dir1, const char *args)
{
    char cmd[16384];
    snprintf(cmd, sizeof cmd, "%s -np 1 -wdir '%s' '%s' --no-progress %s : -np 1 -wdir '%s' '%s' "
             "--no-progress %s > '%s' 2> '%s'", mpirun, dir0, mpi_bin, args, dir1, mpi_bin, args,
             td_path("stdout"), td_path("stderr"));
    int st = system(cmd);
    assert_true(st != -1 && WIFEXITED(st));
    return WEXITSTATUS(st);
}

static int run_fmt(const char *fmt, ...)
{
    char args[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(args, sizeof args, fmt, ap);
    va_end(ap);
    return run(args);
}

static void expect_ok(int rc)
{
    if (rc != 0)
        print_error("exit %d\nstdout:\n%s\nstderr:\n%s\n", rc, slurp(td_path("stdout")),
                    slurp(td_path("stderr")));
    assert_int_equal(rc, 0);
}

static const char *data_dir(void) { return idx_scratch_dir(1200); }

/* A new directory in the scratch dir; its path in dst (td_path's buffers rotate). */
static const char *subdir(char *dst, size_t size, const char *name)
{
    assert_true((size_t)snprintf(dst, size, "%s", td_path(name)) < size);
    if (mkdir(dst, 0700) != 0) assert_int_equal(errno, EEXIST);
    return dst;
}

/* ---------------------------------------------------------- model comparison */

/* Largest |a - b| over the largest |a|, over every tensor of two lists. */
static double rel_diff(cr_params *a, cr_params *b)
{
    assert_int_equal(cr_params_count(a), cr_params_count(b));
    double d = 0, m = 0;
    for (size_t i = 0; i < cr_params_count(a); i++) {
        const cr_tensor *x = cr_params_get(a, i), *y = cr_params_get(b, i);
        assert_int_equal(x->size, y->size);
        for (size_t j = 0; j < x->size; j++) {
            double e = fabs((double)x->data[j] - (double)y->data[j]);
            if (e > d) d = e;
            if (fabs((double)x->data[j]) > m) m = fabs((double)x->data[j]);
        }
    }
    assert_true(m > 0);
    return d / m;
}

/* Two files of the MLP 36-16-4 (relu) written by the trainer. */
static double mlp_file_diff(const char *pa, const char *pb)
{
    int sizes[3] = { 36, 16, 4 };
    cr_mlp_config cfg = cr_mlp_default_config();
    cr_rng rng;
    cr_rng_seed(&rng, 1);
    cr_mlp *a = cr_mlp_new_config(3, sizes, &cfg, &rng, NULL, 0);
    cr_mlp *b = cr_mlp_new_config(3, sizes, &cfg, &rng, NULL, 0);
    char err[512];
    assert_non_null(a);
    assert_non_null(b);
    if (cr_load(pa, cr_mlp_state(a), NULL, NULL, err, sizeof err) != CR_OK ||
        cr_load(pb, cr_mlp_state(b), NULL, NULL, err, sizeof err) != CR_OK)
        print_error("%s\n", err);
    assert_int_equal(cr_load(pa, cr_mlp_state(a), NULL, NULL, err, sizeof err), CR_OK);
    assert_int_equal(cr_load(pb, cr_mlp_state(b), NULL, NULL, err, sizeof err), CR_OK);
    double d = rel_diff(cr_mlp_params(a), cr_mlp_params(b));
    cr_mlp_free(a);
    cr_mlp_free(b);
    return d;
}

/* Two files of a --arch model. */
static double model_file_diff(const char *pa, const char *pb)
{
    char err[512];
    cr_model *a = cr_model_load(pa, NULL, err, sizeof err);
    if (!a) print_error("%s\n", err);
    cr_model *b = cr_model_load(pb, NULL, err, sizeof err);
    if (!b) print_error("%s\n", err);
    assert_non_null(a);
    assert_non_null(b);
    double d = rel_diff(cr_model_params(a), cr_model_params(b));
    cr_model_free(a);
    cr_model_free(b);
    return d;
}

/* ------------------------------------------------------------------- tests */

/* 1200 samples, global batch 64: 18 batches of 32 + 32 per rank, then a last of
 * 48 (24 + 24); Adam. */
#define MLP "--data '%s' --val 0 --hidden 16 --optim momentum --lr 0.05 --batch 64 --epochs 1 " \
            "--seed 5 --threads 1"
#define CNN_SPEC "conv 4 3x3 pad 1, relu, maxpool 2, flatten, dense 4"
/* global batch 50: 24 batches of 25 + 25 per rank */
#define CNN "--data '%s' --val 0 --arch '" CNN_SPEC "' --optim adam --lr 0.01 --batch 50 " \
            "--epochs 1 --seed 5 --threads 1"

static void test_mpi_mlp_two_ranks_match_one_process_and_repeat_bit_identically(void **state)
{
    (void)state;
    expect_ok(run_fmt(MLP " --out '%s'", data_dir(), td_path("one.crm")));
    expect_ok(mpi(2, MLP " --out '%s'", data_dir(), td_path("two.crm")));
    const char *out = slurp(td_path("stdout"));
    assert_msg_has(out, "data parallel: 2 ranks (MPI), each 32 samples of every batch of 64");
    assert_msg_has(out, "all-reduce: 2 ranks");
    /* one process prints, not two */
    assert_non_null(strstr(out, "epoch 1/1"));
    assert_null(strstr(strstr(out, "epoch 1/1") + 1, "epoch 1/1"));
    double d = mlp_file_diff(td_path("one.crm"), td_path("two.crm"));
    print_message("    MLP, 1 epoch: 2 ranks vs 1 process: max |diff| / max |w| = %.3g\n", d);
    assert_true(d <= BOUND);
    expect_ok(mpi(2, MLP " --out '%s'", data_dir(), td_path("two-again.crm")));
    assert_true(cr_test_files_equal(td_path("two.crm"), td_path("two-again.crm")));
}

static void test_mpi_cnn_two_ranks_match_one_process_and_repeat_bit_identically(void **state)
{
    (void)state;
    expect_ok(run_fmt(CNN " --out '%s'", data_dir(), td_path("cnn1.crm")));
    expect_ok(mpi(2, CNN " --out '%s'", data_dir(), td_path("cnn2.crm")));
    double d = model_file_diff(td_path("cnn1.crm"), td_path("cnn2.crm"));
    print_message("    CNN, 1 epoch: 2 ranks vs 1 process: max |diff| / max |w| = %.3g\n", d);
    assert_true(d <= BOUND);
    expect_ok(mpi(2, CNN " --out '%s'", data_dir(), td_path("cnn2-again.crm")));
    assert_true(cr_test_files_equal(td_path("cnn2.crm"), td_path("cnn2-again.crm")));
}

/* Three ranks summed three ways: in one shared-memory group (the default on one
 * host), in two groups (2 + 1 ranks: the groups' sums then added over MPI between
 * their leaders, as across hosts) and by MPI collectives only. Each is one
 * process's run up to the order of the additions, and repeats bit-identically. */
static void test_mpi_three_ranks_in_groups_or_over_mpi_match_one_process(void **state)
{
    (void)state;
    static const struct { const char *opts, *how, *file; } way[] = {
        { "", "shared memory, 1 group of 3 ranks", "g3.crm" },
        { "--allreduce-group 2", "shared memory in 2 groups of at most 2 ranks, MPI between "
          "groups", "g2.crm" },
        { "--allreduce mpi", "MPI reduce-scatter and allgather over 3 ranks", "mpi3.crm" },
    };
    expect_ok(run_fmt(MLP " --out '%s'", data_dir(), td_path("one3.crm")));
    for (int k = 0; k < 3; k++) {
        char path[512];
        snprintf(path, sizeof path, "%s", td_path(way[k].file));
        expect_ok(mpi(3, MLP " %s --out '%s'", data_dir(), way[k].opts, path));
        const char *out = slurp(td_path("stdout"));
        assert_msg_has(out, "data parallel: 3 ranks (MPI), each 21 samples of every batch of 64");
        assert_msg_has(out, way[k].how);
        double d = mlp_file_diff(td_path("one3.crm"), path);
        print_message("    MLP, 1 epoch, 3 ranks (%s) vs 1 process: %.3g\n", way[k].how, d);
        assert_true(d <= BOUND);
    }
    expect_ok(mpi(3, MLP " --allreduce-group 2 --out '%s'", data_dir(), td_path("g2-again.crm")));
    assert_true(cr_test_files_equal(td_path("g2.crm"), td_path("g2-again.crm")));
    /* a mode that does not exist is refused by every rank alike */
    assert_int_equal(mpi(2, MLP " --allreduce ring --out '%s'", data_dir(), td_path("x.crm")), 2);
    assert_msg_has(slurp(td_path("stderr")), "--allreduce: 'ring' is not auto or mpi");
}

/* A batch too small to share, options that differ between ranks, data that
 * differs, and a rank whose data is missing: every rank stops, one message. */
static void test_mpi_ranks_that_disagree_or_fail_stop_the_job_naming_the_rank(void **state)
{
    (void)state;
    char args[2048], cmd[16384];
    int rc = mpi(3, "--data '%s' --val 0 --hidden 8 --batch 2 --epochs 1", data_dir());
    assert_int_equal(rc, 2);
    assert_msg_has(slurp(td_path("stderr")), "cannot be shared by 3 ranks");

    /* rank 1 with another seed */
    snprintf(args, sizeof args, "--data '%s' --val 0 --hidden 8 --epochs 1", data_dir());
    snprintf(cmd, sizeof cmd, "%s -np 1 '%s' --no-progress %s --seed 1 : -np 1 '%s' "
             "--no-progress %s --seed 2 > '%s' 2> '%s'", mpirun, mpi_bin, args, mpi_bin, args,
             td_path("stdout"), td_path("stderr"));
    int st = system(cmd);
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 2);
    const char *err = slurp(td_path("stderr"));
    assert_msg_has(err, "train: rank 1 of 2 was started with another command line than rank 0");
    assert_null(strstr(slurp(td_path("stdout")), "epoch 1/1"));   /* before any training */

    /* the same command line, but rank 1's directory holds other data */
    char b0[400], b1[400];
    const char *d0 = subdir(b0, sizeof b0, "r0"), *d1 = subdir(b1, sizeof b1, "r1");
    char p[512];
    assert_true((size_t)snprintf(p, sizeof p, "%s/data", d0) < sizeof p);
    assert_int_equal(mkdir(p, 0700), 0);
    write_idx_set(p, "train", 300, 7);
    write_idx_set(p, "t10k", 50, 8);
    assert_true((size_t)snprintf(p, sizeof p, "%s/data", d1) < sizeof p);
    assert_int_equal(mkdir(p, 0700), 0);
    write_idx_set(p, "train", 300, 9);
    write_idx_set(p, "t10k", 50, 8);
    assert_int_equal(mpi_two_dirs(d0, d1, "--data data --hidden 8 --epochs 1"), 2);
    assert_msg_has(slurp(td_path("stderr")), "rank 1 of 2 read other training or test data");

    /* rank 1 cannot read its data: its own message, named */
    assert_true((size_t)snprintf(p, sizeof p, "rm -r '%s/data'", d1) < sizeof p);
    assert_int_equal(system(p), 0);
    assert_int_equal(mpi_two_dirs(d0, d1, "--data data --hidden 8 --epochs 1"), 2);
    err = slurp(td_path("stderr"));
    const char *msg = "train: rank 1 of 2: data: no such file or directory\n";
    assert_msg_has(err, msg);
    assert_null(strstr(strstr(err, msg) + 1, msg));            /* printed once */
}

/* SIGKILL to rank 1 in the middle of training: mpirun ends the job (rank 0
 * included) within 30 s and says which rank died. */
static void test_mpi_killed_rank_ends_the_job_within_bounded_time(void **state)
{
    (void)state;
    char cmd[4096];
    /* each rank records its pid, then becomes the trainer (exec keeps the pid) */
    snprintf(cmd, sizeof cmd, "%s -np 2 sh -c 'echo $$ > \"%s.$OMPI_COMM_WORLD_RANK\"; "
             "exec \"$0\" \"$@\"' '%s' --no-progress --data '%s' --val 0 --hidden 64 --batch 16 "
             "--epochs 1000 --out '%s' > '%s' 2>&1", mpirun, td_path("rank"), mpi_bin, data_dir(),
             td_path("never.crm"), td_path("kill.log"));
    pid_t job = fork();
    assert_true(job >= 0);
    if (job == 0) {
        setpgid(0, 0);          /* its own group: a hung job can be killed whole */
        execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
        _exit(127);
    }
    /* wait until rank 1 runs and rank 0 has finished an epoch (training is on) */
    char p1[600];
    snprintf(p1, sizeof p1, "%s.1", td_path("rank"));
    pid_t victim = 0;
    for (int i = 0; i < 1200 && !victim; i++) {
        const char *log = slurp(td_path("kill.log"));
        FILE *f = fopen(p1, "r");
        long v = 0;
        if (f && fscanf(f, "%ld", &v) == 1 && log && strstr(log, "epoch 1/1000")) victim = (pid_t)v;
        if (f) fclose(f);
        if (!victim) sleep_ms(100);
    }
    if (victim <= 0) {          /* never started: stop it all, then fail */
        kill(-job, SIGKILL);
        waitpid(job, NULL, 0);
        print_error("%s\n", slurp(td_path("kill.log")));
    }
    assert_true(victim > 0);
    assert_int_equal(kill(victim, SIGKILL), 0);
    double t0 = now_ms();
    int st = 0, done = 0;
    while (!done && now_ms() - t0 < 30000) {
        pid_t w = waitpid(job, &st, WNOHANG);
        if (w == job) done = 1;
        else sleep_ms(50);
    }
    if (!done) {
        kill(-job, SIGKILL);
        waitpid(job, &st, 0);
    }
    double secs = (now_ms() - t0) / 1000;
    print_message("    rank 1 killed: the job ended after %.1f s\n", secs);
    assert_true(done);
    assert_true(WIFEXITED(st) && WEXITSTATUS(st) != 0);
    const char *log = slurp(td_path("kill.log"));
    if (!strstr(log, "process rank 1")) print_error("%s\n", log);
    assert_msg_has(log, "process rank 1");
    assert_msg_has(log, "signal 9");
}

/* Rank 0 alone writes the checkpoint, the log and the model (rank 1's directory
 * stays empty) and no temporary file is left; a run stopped at step 20 and resumed
 * with 2 ranks from rank 0's checkpoint (rank 1 never sees the file) ends
 * byte-identical to the uninterrupted 2-rank run; resumed with 1 process, or a
 * 1-process checkpoint resumed with 2 ranks, it ends within the rounding bound. */
static void test_mpi_checkpoint_by_rank0_resumes_with_same_and_other_rank_count(void **state)
{
    (void)state;
    char b0[512], b1[512];
    const char *d0 = subdir(b0, sizeof b0, "c0"), *d1 = subdir(b1, sizeof b1, "c1");
    char args[2048], ck[1024];
    const char *common = "--val 0 --hidden 16 --optim adam --lr 0.01 --batch 64 --epochs 2 "
                         "--seed 5 --threads 1";
    snprintf(args, sizeof args, "--data '%s' %s --out full.crm", data_dir(), common);
    expect_ok(mpi_two_dirs(d0, d1, args));
    snprintf(args, sizeof args, "--data '%s' %s --out cut.crm --log log.csv --checkpoint ck.crm "
             "--checkpoint-every 5 --max-steps 20", data_dir(), common);
    expect_ok(mpi_two_dirs(d0, d1, args));
    char ls[1200];
    snprintf(ls, sizeof ls, "test -z \"$(ls -A '%s')\"", d1);
    assert_int_equal(system(ls), 0);                 /* rank 1 wrote nothing */
    snprintf(ls, sizeof ls, "test \"$(ls '%s' | tr '\\n' ' ')\" = 'ck.crm cut.crm cut.dot "
             "full.crm full.dot log.csv '", d0);
    if (system(ls) != 0) {
        snprintf(ls, sizeof ls, "ls -la '%s' >&2", d0);
        assert_int_equal(system(ls), 0);
        fail();
    }
    snprintf(ck, sizeof ck, "%s/ck.crm", d0);
    snprintf(ls, sizeof ls, "cp '%s' '%s'", ck, td_path("ck2.crm"));
    assert_int_equal(system(ls), 0);

    /* same N, from rank 0's file only */
    snprintf(args, sizeof args, "--data '%s' %s --out resumed.crm --checkpoint ck.crm "
             "--resume ck.crm", data_dir(), common);
    expect_ok(mpi_two_dirs(d0, d1, args));
    assert_msg_has(slurp(td_path("stdout")), "resumed from ck.crm at epoch 2, batch 1 (step 20)");
    char full[1024], resumed[1024];
    snprintf(full, sizeof full, "%s/full.crm", d0);
    snprintf(resumed, sizeof resumed, "%s/resumed.crm", d0);
    assert_true(cr_test_files_equal(full, resumed));

    /* another N: the 2-rank checkpoint in one process */
    expect_ok(run_fmt("--data '%s' %s --out '%s' --resume '%s'", data_dir(), common,
                      td_path("one-from-two.crm"), td_path("ck2.crm")));
    double d = mlp_file_diff(full, td_path("one-from-two.crm"));
    print_message("    2 ranks -> resumed in 1 process: %.3g\n", d);
    assert_true(d <= BOUND);

    /* and a 1-process checkpoint resumed by 2 ranks */
    expect_ok(run_fmt("--data '%s' %s --out '%s' --checkpoint '%s' --checkpoint-every 5 "
                      "--max-steps 20", data_dir(), common, td_path("x.crm"), td_path("ck1.crm")));
    expect_ok(mpi(2, "--data '%s' %s --out '%s' --resume '%s'", data_dir(), common,
                  td_path("two-from-one.crm"), td_path("ck1.crm")));
    d = mlp_file_diff(full, td_path("two-from-one.crm"));
    print_message("    1 process -> resumed by 2 ranks: %.3g\n", d);
    assert_true(d <= BOUND);
}

/* ------------------------------------------------- the character language model */

static char text_bin[1024], text_mpi_bin[1024];

/* train_text in one process (np 0) or train-text-mpi under mpirun -np np, with
 * --no-progress and ARGS; output in the scratch files stdout and stderr. */
static int text_np(int np, const char *fmt, ...)
{
    char args[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(args, sizeof args, fmt, ap);
    va_end(ap);
    return run_np(np ? text_mpi_bin : text_bin, np, args);
}

/* A corpus of 3,900 characters in 26 distinct ones. */
static const char *text_file(void)
{
    static char path[512];
    if (!path[0]) {
        snprintf(path, sizeof path, "%s", td_path("corpus.txt"));
        FILE *f = fopen(path, "w");
        assert_non_null(f);
        for (int i = 0; i < 60; i++)
            fprintf(f, "the chain rule, step by step; abc abc abc. gradients flow back.\n");
        assert_int_equal(fclose(f), 0);
    }
    return path;
}

/* Two model files of the LSTM below (embedding 8, hidden 16) over text_file(). */
static double charlm_file_diff(const char *pa, const char *pb)
{
    char err[512];
    cr_text *text = NULL;
    cr_vocab *v = NULL;
    assert_int_equal(cr_text_load(&text, text_file(), err, sizeof err), CR_OK);
    assert_int_equal(cr_vocab_build(&v, text->cp, text->n, err, sizeof err), CR_OK);
    cr_params *p[2];
    cr_rnn *rnn[2];
    for (int k = 0; k < 2; k++) {
        int se[2] = { v->size, 8 }, sw[2] = { 16, v->size }, sb[1] = { v->size };
        rnn[k] = cr_rnn_new(CR_LSTM, 8, 16, 1, 0, err, sizeof err);
        assert_non_null(rnn[k]);
        p[k] = cr_params_new();
        assert_int_equal(cr_params_add_owned(p[k], cr_param_new(2, se), "embed.weight", err,
                                             sizeof err), CR_OK);
        assert_int_equal(cr_params_extend(p[k], cr_rnn_params(rnn[k]), "rnn.", err, sizeof err),
                         CR_OK);
        assert_int_equal(cr_params_add_owned(p[k], cr_param_new(2, sw), "out.W", err, sizeof err),
                         CR_OK);
        assert_int_equal(cr_params_add_owned(p[k], cr_param_new(1, sb), "out.b", err, sizeof err),
                         CR_OK);
        cr_status st = cr_load(k ? pb : pa, p[k], NULL, NULL, err, sizeof err);
        if (st != CR_OK) print_error("%s\n", err);
        assert_int_equal(st, CR_OK);
    }
    double d = rel_diff(p[0], p[1]);
    for (int k = 0; k < 2; k++) {
        cr_params_free(p[k]);
        cr_rnn_free(rnn[k]);
    }
    cr_vocab_free(v);
    cr_text_free(text);
    return d;
}

/* The val_loss of the "epoch 2/2" line of train_text's output. */
static double last_val_loss(const char *out)
{
    const char *line = strstr(out, "epoch 2/2");
    assert_non_null(line);
    const char *v = strstr(line, "val_loss ");
    assert_non_null(v);
    double x = NAN;
    assert_int_equal(sscanf(v, "val_loss %lf", &x), 1);
    assert_true(isfinite(x) && x > 0);
    return x;
}

/* 4 streams of 8 steps, SGD (so that a wrongly weighted share shows), 2 epochs. */
#define TEXT "--text '%s' --hidden 16 --embed 8 --batch 4 --steps 8 --optim sgd --lr 0.5 " \
             "--epochs 2 --seed 3 --threads 1"

/* The LSTM language model on 2 ranks (2 streams each) and on 3 ranks in two
 * shared-memory groups (1 + 1 + 2 streams): one process's model up to rounding,
 * the same validation loss printed, and a repeated 2-rank run the same bytes. */
static void test_mpi_text_lstm_ranks_share_the_streams_and_match_one_process(void **state)
{
    (void)state;
    expect_ok(text_np(0, TEXT " --out '%s'", text_file(), td_path("t1.crm")));
    double val1 = last_val_loss(slurp(td_path("stdout")));
    expect_ok(text_np(2, TEXT " --out '%s'", text_file(), td_path("t2.crm")));
    const char *out = slurp(td_path("stdout"));
    assert_msg_has(out, "data parallel: 2 ranks (MPI), each 2 of the 4 streams");
    /* the printed validation loss (4 decimals): the same up to rounding, which
     * may flip the last printed digit */
    double val2 = last_val_loss(out);
    print_message("    validation loss after 2 epochs: 1 process %.4f, 2 ranks %.4f\n", val1, val2);
    assert_true(fabs(val1 - val2) <= 1.5e-4);
    double d = charlm_file_diff(td_path("t1.crm"), td_path("t2.crm"));
    print_message("    LSTM, 2 epochs: 2 ranks vs 1 process: %.3g\n", d);
    assert_true(d <= BOUND);
    expect_ok(text_np(2, TEXT " --out '%s'", text_file(), td_path("t2-again.crm")));
    assert_true(cr_test_files_equal(td_path("t2.crm"), td_path("t2-again.crm")));
    expect_ok(text_np(3, TEXT " --allreduce-group 2 --out '%s'", text_file(), td_path("t3.crm")));
    assert_msg_has(slurp(td_path("stdout")), "each 1 of the 4 streams");
    d = charlm_file_diff(td_path("t1.crm"), td_path("t3.crm"));
    print_message("    LSTM, 2 epochs: 3 ranks in 2 groups vs 1 process: %.3g\n", d);
    assert_true(d <= BOUND);
    /* more ranks than streams: refused by every rank alike */
    assert_int_equal(text_np(5, TEXT " --out '%s'", text_file(), td_path("x.crm")), 2);
    assert_msg_has(slurp(td_path("stderr")), "--batch 4 streams cannot be shared by 5 ranks");
}

/* A 2-rank checkpoint holds every stream's carried state: resumed in one process
 * it ends where the uninterrupted one-process run ends (up to rounding), and a
 * one-process checkpoint resumed by 3 ranks too. */
static void test_mpi_text_checkpoint_resumes_with_other_rank_count(void **state)
{
    (void)state;
    expect_ok(text_np(0, TEXT " --out '%s'", text_file(), td_path("tf.crm")));
    expect_ok(text_np(2, TEXT " --out '%s' --checkpoint '%s' --max-steps 150", text_file(),
                      td_path("tx.crm"), td_path("tck2.crm")));
    expect_ok(text_np(0, TEXT " --out '%s' --resume '%s'", text_file(), td_path("t-1from2.crm"),
                      td_path("tck2.crm")));
    double d = charlm_file_diff(td_path("tf.crm"), td_path("t-1from2.crm"));
    print_message("    LSTM: 2 ranks stopped at step 150 -> resumed in 1 process: %.3g\n", d);
    assert_true(d <= BOUND);
    expect_ok(text_np(0, TEXT " --out '%s' --checkpoint '%s' --max-steps 150", text_file(),
                      td_path("ty.crm"), td_path("tck1.crm")));
    expect_ok(text_np(3, TEXT " --out '%s' --resume '%s'", text_file(), td_path("t-3from1.crm"),
                      td_path("tck1.crm")));
    d = charlm_file_diff(td_path("tf.crm"), td_path("t-3from1.crm"));
    print_message("    LSTM: 1 process stopped at step 150 -> resumed by 3 ranks: %.3g\n", d);
    assert_true(d <= BOUND);
}

int main(int argc, char **argv)
{
    if (!cr_test_train_bin(train_bin, sizeof train_bin, argv[0])) return 1;
    if (!find_mpi(argv[0])) return 0;
    /* the text trainers sit next to the classifier's */
    char *slash = strrchr(train_bin, '/');
    assert_true(slash != NULL);
    snprintf(text_bin, sizeof text_bin, "%.*s/train_text", (int)(slash - train_bin), train_bin);
    snprintf(text_mpi_bin, sizeof text_mpi_bin, "%.*s/train-text-mpi", (int)(slash - train_bin),
             train_bin);
    struct CMUnitTest tests[] = {
        cmocka_unit_test(cr_test_config_accepted),
        cmocka_unit_test(test_mpi_mlp_two_ranks_match_one_process_and_repeat_bit_identically),
        cmocka_unit_test(test_mpi_cnn_two_ranks_match_one_process_and_repeat_bit_identically),
        cmocka_unit_test(test_mpi_three_ranks_in_groups_or_over_mpi_match_one_process),
        cmocka_unit_test(test_mpi_ranks_that_disagree_or_fail_stop_the_job_naming_the_rank),
        cmocka_unit_test(test_mpi_killed_rank_ends_the_job_within_bounded_time),
        cmocka_unit_test(test_mpi_checkpoint_by_rank0_resumes_with_same_and_other_rank_count),
        cmocka_unit_test(test_mpi_text_lstm_ranks_share_the_streams_and_match_one_process),
        cmocka_unit_test(test_mpi_text_checkpoint_resumes_with_other_rank_count),
    };
    return CR_TEST_RUN(tests, NULL, NULL, argc, argv);
}
