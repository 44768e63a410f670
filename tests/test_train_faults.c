/* The training program under faults and hostile options, from issue 12 (items 4,
 * 5, 6, 8, 10): each test is the reproducer of a defect found by an adversarial
 * run and fails on the program before its fix. The program runs as a separate
 * process, as a user runs it; memory caps (ulimit -v) are set only in non-ASan
 * builds, where they reproduce the original OOM; the fixed program never gets
 * near them. */
#include "data_helpers.h"

#include <sys/wait.h>

static char train_bin[1024];

static int sanitized(void) { return strstr(CR_BUILD_DIR, "-san") != NULL; }

/* Run the trainer with args (a shell fragment) under `ulimit -v kib` when kib > 0
 * (and not in an ASan build); stdout and stderr go to files. The exit status. */
static int run_limited(const char *args, long kib)
{
    char cmd[8192];
    char lim[64] = "";
    if (kib > 0 && !sanitized()) snprintf(lim, sizeof lim, "ulimit -v %ld; ", kib);
    snprintf(cmd, sizeof cmd, "%s'%s' --no-progress %s > '%s' 2> '%s'", lim, train_bin, args,
             td_path("stdout"), td_path("stderr"));
    int st = system(cmd);
    assert_true(st != -1 && WIFEXITED(st));
    return WEXITSTATUS(st);
}

static int run(const char *args) { return run_limited(args, 0); }

static const char *slurp(const char *path)
{
    static char buf[1 << 16];
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    return buf;
}

/* Exit status want and exactly one line on stderr, "train: ...needle...". */
static void expect_failure(int rc, int want, const char *needle)
{
    const char *err = slurp(td_path("stderr"));
    assert_non_null(err);
    if (rc != want || !strstr(err, needle))
        print_error("exit %d (want %d), stderr: %s\n", rc, want, err ? err : "(none)");
    assert_int_equal(rc, want);
    assert_true(strncmp(err, "train: ", 7) == 0);
    assert_msg_has(err, needle);
    assert_true(strchr(err, '\n') == err + strlen(err) - 1);
}

#define SMALL "--spiral-points 100 --hidden 8 --seed 5 --quiet"

/* ------------------------------------------------------------- item 5 */

/* A 1036-byte --out path: the .dot path was cut at 1023 bytes and the graph
 * written over the file that this prefix names. Now the graph goes beside the
 * model, and the file with the prefix name is untouched. */
static void test_long_out_path_writes_its_graph_beside_it_and_no_other_file(void **state)
{
    (void)state;
    char dir[2048], out[4096], victim[2048], dot[4096];   /* out, dot: room for dir + name */
    snprintf(dir, sizeof dir, "%s", td_path(""));
    size_t len = strlen(dir);
    while (len < 780) {                                /* nested 200-byte directories */
        dir[len] = '\0';
        strcat(dir, "/");
        size_t k = strlen(dir);
        memset(dir + k, 'd', 200);
        dir[k + 200] = '\0';
        assert_int_equal(mkdir(dir, 0700), 0);
        len = strlen(dir);
    }
    char name[256];
    size_t nlen = 1036 - len - 1 - 4;                  /* dir/name.crm is 1036 bytes */
    memset(name, 'm', nlen);
    name[nlen] = '\0';
    snprintf(out, sizeof out, "%s/%s.crm", dir, name);
    assert_int_equal(strlen(out), 1036);
    snprintf(victim, sizeof victim, "%.1023s", out);   /* what the old buffer held */
    snprintf(dot, sizeof dot, "%s/%s.dot", dir, name);
    td_write(victim, "precious", 8);
    char args[8192];
    snprintf(args, sizeof args, SMALL " --epochs 1 --out '%s'", out);
    assert_int_equal(run(args), 0);
    assert_string_equal(slurp(victim), "precious");
    const char *g = slurp(dot);
    assert_non_null(g);
    assert_true(strncmp(g, "digraph", 7) == 0);
}

/* ------------------------------------------------------------- item 6 */

static void test_writing_the_log_or_stdout_to_a_full_disk_is_an_error(void **state)
{
    (void)state;
    struct stat st;
    if (stat("/dev/full", &st) != 0) skip();
    char args[1024];
    snprintf(args, sizeof args, SMALL " --epochs 1 --out '%s' --log /dev/full",
             td_path("full.crm"));
    expect_failure(run(args), 1, "/dev/full: cannot write the log: No space left on device");
    /* the standard output on a full disk */
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "'%s' --no-progress --spiral-points 100 --hidden 8 --epochs 1 "
             "--out '%s' > /dev/full 2> '%s'", train_bin, td_path("full.crm"),
             td_path("stderr"));
    int s = system(cmd);
    assert_true(s != -1 && WIFEXITED(s));
    expect_failure(WEXITSTATUS(s), 1, "cannot write the standard output");
}

/* Interrupted after the checkpoint of step 20 (in epoch 3, whose row the log then
 * got at step 27), resumed: the log holds each epoch once, as an uninterrupted run
 * writes it (the old program appended epoch 3 a second time). */
static void test_resumed_log_equals_the_uninterrupted_runs_log(void **state)
{
    (void)state;
    char args[2048];
    const char *opts = SMALL " --epochs 6 --optim adam --lr 0.01";
    snprintf(args, sizeof args, "%s --out '%s' --log '%s'", opts, td_path("a.crm"),
             td_path("a.csv"));
    assert_int_equal(run(args), 0);
    snprintf(args, sizeof args, "%s --out '%s' --log '%s' --checkpoint '%s' "
             "--checkpoint-every 20 --max-steps 31", opts, td_path("b.crm"), td_path("b.csv"),
             td_path("b.ck"));
    assert_int_equal(run(args), 0);
    snprintf(args, sizeof args, "%s --out '%s' --log '%s' --checkpoint '%s' --resume '%s'",
             opts, td_path("b.crm"), td_path("b.csv"), td_path("b.ck"), td_path("b.ck"));
    assert_int_equal(run(args), 0);
    static char a[1 << 14], b[1 << 14];
    td_log_without_timing(td_path("a.csv"), a, sizeof a);
    td_log_without_timing(td_path("b.csv"), b, sizeof b);
    if (strcmp(a, b)) print_error("uninterrupted:\n%s\nresumed:\n%s\n", a, b);
    assert_string_equal(a, b);
    assert_true(cr_test_files_equal(td_path("a.crm"), td_path("b.crm")));
}

/* ------------------------------------------------------------- item 8 */

static void test_resume_with_another_option_names_it(void **state)
{
    (void)state;
    char args[2048];
    snprintf(args, sizeof args, SMALL " --epochs 2 --activation tanh --out '%s' "
             "--checkpoint '%s'", td_path("t.crm"), td_path("t.ck"));
    assert_int_equal(run(args), 0);
    /* no --activation: the old program continued as relu, exit 0 */
    snprintf(args, sizeof args, SMALL " --epochs 2 --out '%s' --checkpoint '%s' --resume '%s'",
             td_path("t.crm"), td_path("t.ck"), td_path("t.ck"));
    expect_failure(run(args), 2, "t.ck: --activation is tanh in the checkpoint but relu in "
                                 "this run; resume with the options of the original run");
    snprintf(args, sizeof args, SMALL " --epochs 2 --activation tanh --clip 1 --out '%s' "
             "--checkpoint '%s' --resume '%s'", td_path("t.crm"), td_path("t.ck"),
             td_path("t.ck"));
    expect_failure(run(args), 2, "--clip is 0 in the checkpoint but 1 in this run");
    snprintf(args, sizeof args, SMALL " --epochs 2 --activation tanh --beta2 0.99 --out '%s' "
             "--checkpoint '%s' --resume '%s'", td_path("t.crm"), td_path("t.ck"),
             td_path("t.ck"));
    expect_failure(run(args), 2, "--beta2 is 0.999 in the checkpoint but 0.98999999999999999");
}

/* ------------------------------------------------------------- item 4 */

/* --hidden 1000000,300 was accepted and killed by the OOM killer. */
static void test_a_model_beyond_the_memory_limit_is_refused_before_it_is_built(void **state)
{
    (void)state;
    char args[1024];
    snprintf(args, sizeof args, SMALL " --hidden 1000000,300 --max-memory 2G --out '%s'",
             td_path("h.crm"));
    expect_failure(run_limited(args, 3L << 20), 2,
                   "the model 2-1000000-300-3 (303001203 parameters, with gradients, "
                   "optimizer state and activations) needs");
    assert_msg_has(slurp(td_path("stderr")), "above the memory limit of 2.0 GiB");
    expect_failure(run("--max-memory 12Q"), 2, "--max-memory: '12Q' is not a size");
}

/* --classes 20000: the 20000 x 20000 confusion matrix (3.2 GB) was allocated and
 * filled although only matrices of <= 20 classes are printed. Under a 2 GiB cap
 * the old program failed; now nothing of that size is allocated. */
static void test_many_classes_allocate_no_confusion_matrix(void **state)
{
    (void)state;
    char text[4096];
    size_t k = 0;
    for (int i = 0; i < 200; i++)                     /* two classes, 0 and 1 */
        k += (size_t)snprintf(text + k, sizeof text - k, "%d,%d,%d\n", i % 7, i % 5, i % 2);
    td_write(td_path("c.csv"), text, k);
    char args[1024];
    snprintf(args, sizeof args, "--data '%s' --test-csv '%s' --hidden 8 --epochs 1 --quiet "
             "--classes 20000 --out '%s'", td_path("c.csv"), td_path("c.csv"),
             td_path("c.crm"));
    int rc = run_limited(args, 2L << 20);
    if (rc) print_error("%s", slurp(td_path("stderr")));
    assert_int_equal(rc, 0);
    const char *out = slurp(td_path("stdout"));
    assert_msg_has(out, "test: accuracy");
    assert_null(strstr(out, "confusion matrix"));
}

/* A model file of a few hundred bytes whose metadata declares 2-100000000-3: the
 * old --eval built that 4 GB network before comparing shapes. */
static void test_eval_checks_the_files_shapes_before_building_the_model(void **state)
{
    (void)state;
    cr_params *p = cr_params_new();
    cr_tensor *w = cr_param_new(2, (int[]){ 2, 3 });
    assert_int_equal(cr_params_add_owned(p, w, "fc0.W", NULL, 0), CR_OK);
    cr_meta *m = cr_meta_new();
    cr_meta_set_u64(m, "arch.n_sizes", 3);
    cr_meta_set_u64(m, "arch.size.0", 2);
    cr_meta_set_u64(m, "arch.size.1", 100000000);
    cr_meta_set_u64(m, "arch.size.2", 3);
    cr_meta_set_u64(m, "arch.act", (uint64_t)CR_ACT_RELU);
    cr_meta_set_u64(m, "data.standardized", 0);
    char err[256];
    assert_int_equal(cr_save(td_path("hostile.crm"), p, NULL, m, err, sizeof err), CR_OK);
    cr_meta_free(m);
    cr_params_free(p);
    char args[1024];
    snprintf(args, sizeof args, "--eval '%s'", td_path("hostile.crm"));
    expect_failure(run_limited(args, 2L << 20), 2,
                   "hostile.crm: the metadata describes a 2-100000000-3 model with 600000003 "
                   "parameter values, but the file holds 6");
}

/* ------------------------------------------------------------- item 10 */

/* --eval from a pipe: the old program read the file twice and the second read
 * found an "empty file". */
static void test_eval_reads_a_model_from_a_pipe(void **state)
{
    (void)state;
    char args[1024];
    snprintf(args, sizeof args, SMALL " --epochs 2 --out '%s'", td_path("p.crm"));
    assert_int_equal(run(args), 0);
    char line[256];
    snprintf(line, sizeof line, "%s", strstr(slurp(td_path("stdout")), "test: accuracy"));
    *strchr(line, '\n') = '\0';
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "cat '%s' | '%s' --no-progress --spiral-points 100 --eval "
             "/dev/stdin > '%s' 2> '%s'", td_path("p.crm"), train_bin, td_path("stdout"),
             td_path("stderr"));
    int s = system(cmd);
    assert_true(s != -1 && WIFEXITED(s));
    if (WEXITSTATUS(s)) print_error("%s", slurp(td_path("stderr")));
    assert_int_equal(WEXITSTATUS(s), 0);
    assert_msg_has(slurp(td_path("stdout")), line);     /* the same accuracy as training */
}

/* A training table with one class: the old message blamed the test table (whose
 * label 1 was "not below the number of classes (1)"). */
static void test_a_single_class_training_set_is_named_as_such(void **state)
{
    (void)state;
    td_write(td_path("one.csv"), "1,2,0\n3,4,0\n5,6,0\n7,8,0\n", 24);
    td_write(td_path("two.csv"), "1,2,0\n3,4,1\n", 12);
    char args[1024];
    snprintf(args, sizeof args, "--data '%s' --test-csv '%s' --out '%s'", td_path("one.csv"),
             td_path("two.csv"), td_path("o.crm"));
    expect_failure(run(args), 2, "one.csv: the training data has a single class");
}

int main(int argc, char **argv)
{
    (void)argc;
    if (!cr_test_train_bin(train_bin, sizeof train_bin, argv[0])) return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_long_out_path_writes_its_graph_beside_it_and_no_other_file),
        cmocka_unit_test(test_writing_the_log_or_stdout_to_a_full_disk_is_an_error),
        cmocka_unit_test(test_resumed_log_equals_the_uninterrupted_runs_log),
        cmocka_unit_test(test_resume_with_another_option_names_it),
        cmocka_unit_test(test_a_model_beyond_the_memory_limit_is_refused_before_it_is_built),
        cmocka_unit_test(test_many_classes_allocate_no_confusion_matrix),
        cmocka_unit_test(test_eval_checks_the_files_shapes_before_building_the_model),
        cmocka_unit_test(test_eval_reads_a_model_from_a_pipe),
        cmocka_unit_test(test_a_single_class_training_set_is_named_as_such),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
