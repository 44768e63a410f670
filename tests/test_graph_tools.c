/* Graph files from the command line, run as separate processes as a user would:
 * `train --save-graph` writes the trained model's inference graph; `train --eval`
 * and chainrule-run (examples/graph_run.c) evaluate it to exactly the accuracy of
 * the model file, on IDX images (a CNN) and on a standardised CSV table (an MLP:
 * the standardisation travels inside the graph); chainrule-run's argmax lines agree
 * with its logits at any batch size; bad files and usage exit with status 2. */
#include "train_helpers.h"

#include <sys/wait.h>

static char run_bin[1024];

/* Run chainrule-run with args; output to the scratch dir's run.out / run.err. */
static int graph_run(const char *args)
{
    char cmd[4096];
    snprintf(cmd, sizeof cmd, "'%s' %s > '%s' 2> '%s'", run_bin, args, td_path("run.out"),
             td_path("run.err"));
    int st = system(cmd);
    assert_true(st != -1 && WIFEXITED(st));
    return WEXITSTATUS(st);
}

static const char *idx_dir(void) { return idx_scratch_dir(600); }

/* "(k/n)" of an accuracy line -> k */
static long correct_of(const char *line)
{
    const char *p = strchr(line, '(');
    assert_non_null(p);
    return atol(p + 1);
}

static void test_cnn_graph_evaluates_like_its_model_file_in_train_and_run(void **state)
{
    (void)state;
    char args[2048], line[256], line2[256];
    snprintf(args, sizeof args, "--data '%s' --arch 'conv 4 3x3 pad 1, relu, maxpool 2, "
             "flatten, dense 4' --optim adam --lr 0.01 --batch 16 --epochs 2 --seed 5 "
             "--out '%s' --save-graph '%s'", idx_dir(), td_path("cnn.crm"), td_path("cnn.crg"));
    assert_int_equal(run(args), 0);
    assert_msg_has(slurp(td_path("stdout")), "graph saved to");
    test_accuracy(line, sizeof line);
    snprintf(args, sizeof args, "--data '%s' --eval '%s'", idx_dir(), td_path("cnn.crg"));
    assert_int_equal(run(args), 0);
    assert_msg_has(slurp(td_path("stdout")), "evaluated on 200 samples");
    test_accuracy(line2, sizeof line2);
    long k = correct_of(line);
    assert_true(k == correct_of(line2));
    /* chainrule-run: the same count, and argmax at batch 7 = argmax of the logits */
    snprintf(args, sizeof args, "'%s' '%s/t10k-images-idx3-ubyte' '%s/t10k-labels-idx1-ubyte' "
             "--batch 7", td_path("cnn.crg"), idx_dir(), idx_dir());
    assert_int_equal(graph_run(args), 0);
    char *arg = strdup(slurp(td_path("run.out")));
    char want[64];
    snprintf(want, sizeof want, "accuracy %.2f%% (%ld/200)", 100.0 * (double)k / 200, k);
    assert_msg_has(arg, want);
    snprintf(args, sizeof args, "'%s' '%s/t10k-images-idx3-ubyte' --print logits --batch 200",
             td_path("cnn.crg"), idx_dir());
    assert_int_equal(graph_run(args), 0);
    const char *lo = slurp(td_path("run.out"));
    assert_null(strstr(lo, "accuracy"));             /* no labels, no accuracy */
    const char *a = arg;
    for (int i = 0; i < 200; i++) {
        int ia, cls, il;
        double v[4];
        assert_int_equal(sscanf(a, "%d %d", &ia, &cls), 2);
        assert_int_equal(sscanf(lo, "%d %lf %lf %lf %lf", &il, v, v + 1, v + 2, v + 3), 5);
        assert_int_equal(ia, i);
        assert_int_equal(il, i);
        int best = 0;
        for (int c = 1; c < 4; c++)
            if (v[c] > v[best]) best = c;
        assert_int_equal(cls, best);
        a = strchr(a, '\n') + 1;
        lo = strchr(lo, '\n') + 1;
    }
    free(arg);
}

/* Two features, 3 classes by the angle, values far from zero mean so that the
 * standardisation matters. */
static void write_csv(const char *path, int n, uint64_t seed)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    cr_rng r;
    cr_rng_seed(&r, seed);
    fprintf(f, "x,y,label\n");
    for (int i = 0; i < n; i++) {
        double x = cr_rng_uniform(&r) * 2 - 1, y = cr_rng_uniform(&r) * 2 - 1;
        int c = x > 0 ? (y > 0 ? 0 : 1) : 2;
        fprintf(f, "%.6f,%.6f,%d\n", 100 + 10 * x, -50 + 5 * y, c);
    }
    fclose(f);
}

static void test_standardised_mlp_graph_carries_its_scaling(void **state)
{
    (void)state;
    write_csv(td_path("train.csv"), 400, 1);
    write_csv(td_path("test.csv"), 150, 2);
    char args[2048], line[256], line2[256];
    snprintf(args, sizeof args, "--data '%s' --test-csv '%s' --standardize --hidden 16 "
             "--epochs 20 --val 0 --out '%s' --save-graph '%s'", td_path("train.csv"),
             td_path("test.csv"), td_path("mlp.crm"), td_path("mlp.crg"));
    assert_int_equal(run(args), 0);
    double acc = test_accuracy(line, sizeof line);
    assert_true(acc > 0.9);
    snprintf(args, sizeof args, "--data '%s' --test-csv '%s' --eval '%s'", td_path("train.csv"),
             td_path("test.csv"), td_path("mlp.crg"));
    assert_int_equal(run(args), 0);
    test_accuracy(line2, sizeof line2);
    assert_true(correct_of(line) == correct_of(line2));
    snprintf(args, sizeof args, "'%s' '%s' --print none", td_path("mlp.crg"), td_path("test.csv"));
    assert_int_equal(graph_run(args), 0);
    char want[64];
    snprintf(want, sizeof want, "(%ld/150)", correct_of(line));
    assert_msg_has(slurp(td_path("run.out")), want);
}

static void test_chainrule_run_refuses_bad_files_and_usage(void **state)
{
    (void)state;
    char args[2048];
    snprintf(args, sizeof args, "'%s' '%s'", td_path("missing.crg"), td_path("test.csv"));
    assert_int_equal(graph_run(args), 2);
    assert_msg_has(slurp(td_path("run.err")), "cannot open");
    snprintf(args, sizeof args, "'%s' '%s'", td_path("mlp.crm"), td_path("test.csv"));
    assert_int_equal(graph_run(args), 2);
    assert_msg_has(slurp(td_path("run.err")), "not a graph file");
    assert_int_equal(graph_run("--frobnicate"), 2);
    assert_int_equal(graph_run("only-one-argument"), 2);
    assert_int_equal(graph_run("--help"), 0);
    assert_msg_has(slurp(td_path("run.out")), "EXIT STATUS");
}

int main(int argc, char **argv)
{
    (void)argc;
    if (!cr_test_train_bin(train_bin, sizeof train_bin, argv[0])) return 1;
    snprintf(run_bin, sizeof run_bin, "%.*sgraph_run", (int)(strlen(train_bin) - 5), train_bin);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cnn_graph_evaluates_like_its_model_file_in_train_and_run),
        cmocka_unit_test(test_standardised_mlp_graph_carries_its_scaling),
        cmocka_unit_test(test_chainrule_run_refuses_bad_files_and_usage),
    };
    int rc = cmocka_run_group_tests_name("graph_tools", tests, NULL, NULL);
    td_cleanup();
    return rc;
}
