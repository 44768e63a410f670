/* The training program end to end (examples/train, run as a separate process, as
 * a user would): it learns tiny generated datasets (spirals, IDX, CSV) well above
 * chance, writes its CSV log, model and graph, re-evaluates a saved model to the
 * same accuracy, resumes from a checkpoint bit-identically, is deterministic, and
 * refuses bad options and files with one line and exit status 2. */
#include "train_helpers.h"

#include <math.h>
#include <sys/wait.h>


#define SPIRALS "--spiral-points 400 --epochs 30 --schedule constant --hidden 64,64 --seed 3"

/* Three spirals (chance: 1/3). */
static void test_spirals_learned_log_model_and_graph_written(void **state)
{
    (void)state;
    char args[1024], line[256], line2[256];
    snprintf(args, sizeof args, SPIRALS " --out '%s' --log '%s' --dot '%s'", td_path("sp.crm"),
             td_path("sp.csv"), td_path("sp.dot"));
    assert_int_equal(run(args), 0);
    double acc = test_accuracy(line, sizeof line);
    assert_true(acc > 0.6);
    const char *out = slurp(td_path("stdout"));
    assert_msg_has(out, "epoch 30/30");
    assert_msg_has(out, "confusion matrix");
    /* the log: header and one line per epoch with 9 fields */
    const char *log = slurp(td_path("sp.csv"));
    assert_non_null(log);
    assert_true(strncmp(log, "epoch,step,train_loss,train_acc,val_loss,val_acc,lr,seconds,"
                        "samples_per_second\n", 70) == 0);
    int lines = 0;
    for (const char *p = log; *p; p++) lines += *p == '\n';
    assert_int_equal(lines, 31);
    const char *last = strstr(log, "\n30,");
    assert_non_null(last);
    int epoch;
    long step;
    double tl, ta;
    assert_int_equal(sscanf(last + 1, "%d,%ld,%lf,%lf", &epoch, &step, &tl, &ta), 4);
    assert_int_equal(step, 30 * 34);            /* 1080 train samples / 32 -> 33 + 1 */
    assert_true(tl > 0 && tl < 1.1 && ta > 0.5);
    const char *dot = slurp(td_path("sp.dot"));
    assert_non_null(dot);
    assert_true(strncmp(dot, "digraph", 7) == 0);

    /* the saved model, evaluated by a fresh process: the same accuracy line */
    snprintf(args, sizeof args, "--spiral-points 400 --eval '%s'", td_path("sp.crm"));
    assert_int_equal(run(args), 0);
    test_accuracy(line2, sizeof line2);
    assert_string_equal(line, line2);
}

/* Same seed: identical model files; another seed: a different model. Replaying the
 * recorded step and re-recording it every step compute the same thing. */
static void test_deterministic_and_replay_equals_rerecord(void **state)
{
    (void)state;
    char args[1024];
    snprintf(args, sizeof args, SPIRALS " --out '%s'", td_path("d1.crm"));
    assert_int_equal(run(args), 0);
    snprintf(args, sizeof args, SPIRALS " --out '%s'", td_path("d2.crm"));
    assert_int_equal(run(args), 0);
    assert_true(cr_test_files_equal(td_path("d1.crm"), td_path("d2.crm")));
    snprintf(args, sizeof args, SPIRALS " --rerecord --out '%s'", td_path("d3.crm"));
    assert_int_equal(run(args), 0);
    assert_true(cr_test_files_equal(td_path("d1.crm"), td_path("d3.crm")));
    snprintf(args, sizeof args,
             "--spiral-points 400 --epochs 30 --schedule constant --hidden 64,64 --seed 4 "
             "--out '%s'", td_path("d4.crm"));
    assert_int_equal(run(args), 0);
    assert_false(cr_test_files_equal(td_path("d1.crm"), td_path("d4.crm")));
}

/* Interrupted after step 50 (checkpoints every 7 steps: the last at 49), resumed:
 * the final model is byte-identical to the uninterrupted run's. */
static void test_resume_from_checkpoint_is_bit_identical(void **state)
{
    (void)state;
    char args[1024];
    snprintf(args, sizeof args, SPIRALS " --optim adam --out '%s'", td_path("r_full.crm"));
    assert_int_equal(run(args), 0);
    snprintf(args, sizeof args, SPIRALS " --optim adam --out '%s' --checkpoint '%s' "
             "--checkpoint-every 7 --max-steps 50", td_path("r_cut.crm"), td_path("r_ck.crm"));
    assert_int_equal(run(args), 0);
    assert_msg_has(slurp(td_path("stdout")), "stopped after 50 steps (--max-steps)");
    assert_false(cr_test_files_equal(td_path("r_full.crm"), td_path("r_cut.crm")));
    snprintf(args, sizeof args, SPIRALS " --optim adam --out '%s' --resume '%s'",
             td_path("r_res.crm"), td_path("r_ck.crm"));
    assert_int_equal(run(args), 0);
    assert_msg_has(slurp(td_path("stdout")), "resumed from");
    assert_msg_has(slurp(td_path("stdout")), "(step 49)");
    assert_true(cr_test_files_equal(td_path("r_full.crm"), td_path("r_res.crm")));
    /* resuming with other options is refused */
    snprintf(args, sizeof args,
             "--spiral-points 400 --epochs 30 --schedule constant --hidden 64,64 --seed 9 "
             "--out '%s' --resume '%s'",
             td_path("r_bad.crm"), td_path("r_ck.crm"));
    expect_usage_error(args, "--seed is 3 in the checkpoint but 9 in this run");
}

#define REGULARISED SPIRALS " --dropout 0.2 --batchnorm"

/* Dropout and batchnorm: learns above chance (1/3; measured 44.33% in both
 * precisions, and 600 test samples put chance at 33 +- 2%), the saved model (with
 * the running statistics and the architecture in its metadata) re-evaluates in a
 * fresh process to the same accuracy line, the same seed gives the same model
 * file, and replaying the recorded step draws the same dropout masks as
 * re-recording it. */
static void test_dropout_batchnorm_learn_reevaluate_and_are_deterministic(void **state)
{
    (void)state;
    char args[1024], line[256], line2[256];
    snprintf(args, sizeof args, REGULARISED " --out '%s'", td_path("bn1.crm"));
    assert_int_equal(run(args), 0);
    assert_true(test_accuracy(line, sizeof line) > 0.4);
    assert_msg_has(slurp(td_path("stdout")), "2-64-64-3 relu, batchnorm, dropout 0.2, ");
    snprintf(args, sizeof args, "--spiral-points 400 --eval '%s'", td_path("bn1.crm"));
    assert_int_equal(run(args), 0);
    test_accuracy(line2, sizeof line2);
    assert_string_equal(line, line2);
    assert_msg_has(slurp(td_path("stdout")), "2-64-64-3 relu, batchnorm, dropout 0.2, evaluated");
    snprintf(args, sizeof args, REGULARISED " --out '%s'", td_path("bn2.crm"));
    assert_int_equal(run(args), 0);
    assert_true(cr_test_files_equal(td_path("bn1.crm"), td_path("bn2.crm")));
    snprintf(args, sizeof args, REGULARISED " --rerecord --out '%s'", td_path("bn3.crm"));
    assert_int_equal(run(args), 0);
    assert_true(cr_test_files_equal(td_path("bn1.crm"), td_path("bn3.crm")));
    /* without the options: another model */
    snprintf(args, sizeof args, SPIRALS " --out '%s'", td_path("bn4.crm"));
    assert_int_equal(run(args), 0);
    assert_false(cr_test_files_equal(td_path("bn1.crm"), td_path("bn4.crm")));
}

/* --dropout 0.3 --batchnorm stopped at step 50 (last checkpoint at 49) and
 * resumed: byte-identical to the uninterrupted run, so the checkpoint carries the
 * dropout generator and the running statistics. Resuming without the options is
 * refused. */
static void test_resume_with_dropout_and_batchnorm_is_bit_identical(void **state)
{
    (void)state;
    char args[1024];
#define DB SPIRALS " --dropout 0.3 --batchnorm"
    snprintf(args, sizeof args, DB " --out '%s'", td_path("db_full.crm"));
    assert_int_equal(run(args), 0);
    snprintf(args, sizeof args, DB " --out '%s' --checkpoint '%s' --checkpoint-every 7 "
             "--max-steps 50", td_path("db_cut.crm"), td_path("db_ck.crm"));
    assert_int_equal(run(args), 0);
    assert_msg_has(slurp(td_path("stdout")), "stopped after 50 steps (--max-steps)");
    assert_false(cr_test_files_equal(td_path("db_full.crm"), td_path("db_cut.crm")));
    snprintf(args, sizeof args, DB " --out '%s' --resume '%s'", td_path("db_res.crm"),
             td_path("db_ck.crm"));
    assert_int_equal(run(args), 0);
    assert_msg_has(slurp(td_path("stdout")), "(step 49)");
    assert_true(cr_test_files_equal(td_path("db_full.crm"), td_path("db_res.crm")));
#undef DB
    snprintf(args, sizeof args, SPIRALS " --batchnorm --out '%s' --resume '%s'",
             td_path("db_bad.crm"), td_path("db_ck.crm"));
    expect_usage_error(args, "--dropout is 0.3 in the checkpoint but 0 in this run");
}


static void test_idx_directory_trains_and_bad_file_is_refused(void **state)
{
    (void)state;
    char dir[512], args[1024];
    snprintf(dir, sizeof dir, "%s", td_path("idx"));
    assert_int_equal(mkdir(dir, 0700), 0);
    write_idx_set(dir, "train", 600, 1);
    write_idx_set(dir, "t10k", 200, 2);
    snprintf(args, sizeof args, "--data '%s' --hidden 16 --epochs 5 --batch 16 --out '%s'", dir,
             td_path("idx.crm"));
    assert_int_equal(run(args), 0);
    assert_true(test_accuracy(NULL, 0) > 0.6);
    assert_msg_has(slurp(td_path("stdout")),
                   "540 train, 60 validation, 200 test samples; 36 features, 4 classes");
    /* a truncated test file: exit 2 and the reader's message */
    char p[1024];
    snprintf(p, sizeof p, "%s/t10k-labels-idx1-ubyte", dir);
    assert_int_equal(truncate(p, 100), 0);
    snprintf(args, sizeof args, "--data '%s' --out '%s'", dir, td_path("idx2.crm"));
    expect_usage_error(args, "t10k-labels-idx1-ubyte: truncated: header says 200 labels but "
                             "the file has 92");
}

/* Two Gaussian blobs in 3-D, label in column 0; standardised features; the test
 * table is evaluated again from the saved model (statistics travel with it). */
static void test_csv_with_standardisation_trains_and_reevaluates(void **state)
{
    (void)state;
    cr_rng r;
    cr_rng_seed(&r, 5);
    for (int part = 0; part < 2; part++) {
        FILE *f = fopen(td_path(part ? "test.csv" : "train.csv"), "w");
        assert_non_null(f);
        fprintf(f, "label,a,b,c\n");
        for (int i = 0; i < (part ? 100 : 400); i++) {
            int c = i % 2;
            fprintf(f, "%d, %.4f, %.4f, %.4f\n", c,
                    1000 + 300 * (c ? 1 : -1) + 200 * cr_rng_normal(&r),
                    0.001 * cr_rng_normal(&r), 5 + (c ? 1 : -1) + cr_rng_normal(&r));
        }
        fclose(f);
    }
    char args[1024], line[256], line2[256];
    snprintf(args, sizeof args, "--data '%s' --test-csv '%s' --label-column 0 --standardize "
             "--hidden 8 --epochs 10 --batch 20 --optim adam --lr 0.01 --out '%s'",
             td_path("train.csv"), td_path("test.csv"), td_path("csv.crm"));
    assert_int_equal(run(args), 0);
    assert_true(test_accuracy(line, sizeof line) > 0.8);
    assert_msg_has(slurp(td_path("stdout")), "3 features, 2 classes; standardised");
    snprintf(args, sizeof args, "--data '%s' --test-csv '%s' --label-column 0 --eval '%s'",
             td_path("train.csv"), td_path("test.csv"), td_path("csv.crm"));
    assert_int_equal(run(args), 0);
    test_accuracy(line2, sizeof line2);
    assert_string_equal(line, line2);
    /* a malformed table: file:line:field */
    FILE *f = fopen(td_path("bad.csv"), "w");
    fprintf(f, "1,2,0\n3,oops,1\n");
    fclose(f);
    snprintf(args, sizeof args, "--data '%s'", td_path("bad.csv"));
    expect_usage_error(args, "bad.csv:2:2: 'oops' is not a number");
}

static void test_bad_options_exit_2_with_one_line(void **state)
{
    (void)state;
    expect_usage_error("--batch 0", "--batch: 0 is outside 1..");
    expect_usage_error("--batch x", "--batch: 'x' is not an integer");
    expect_usage_error("--frobnicate", "unknown option '--frobnicate'");
    expect_usage_error("stray", "unexpected argument 'stray'");
    expect_usage_error("--lr", "--lr needs a value");
    expect_usage_error("--optim adamx", "--optim: 'adamx' is not sgd");
    expect_usage_error("--optim adam --beta1 1", "beta1 = 1 is outside [0, 1)");
    expect_usage_error("--hidden 12,,3", "--hidden: '12,,3' is not a list");
    expect_usage_error("--activation softmax", "--activation: 'softmax'");
    expect_usage_error("--patience 3 --val 0", "--patience needs a validation set");
    expect_usage_error("--val 1.5", "--val: 1.5 is neither");
    expect_usage_error("--train-images x", "IDX files come in pairs");
    expect_usage_error("--data /nonexistent/dir", "/nonexistent/dir: no such file or directory");
    expect_usage_error("--eval /nonexistent.crm", "/nonexistent.crm: cannot open");
    expect_usage_error("--quiet=1", "--quiet takes no value");
    expect_usage_error("--dropout 1", "--dropout: 1 is outside [0, 1)");
    expect_usage_error("--dropout -0.5", "--dropout: -0.5 is outside [0, 1)");
    expect_usage_error("--batchnorm --batch 1", "--batchnorm needs --batch 2 or more");
    /* 1200 spiral points, 15 held out: 1185 = 37 * 32 + 1 */
    expect_usage_error("--batchnorm --spiral-points 400 --val 15",
                       "--batchnorm: the last batch of every epoch would hold a single sample "
                       "(1185 training samples, --batch 32)");
    assert_int_equal(run("--help"), 0);
    assert_msg_has(slurp(td_path("stdout")), "SYNOPSIS\n    chainrule-train [OPTION]...");
}

int main(int argc, char **argv)
{
    (void)argc;
    if (!cr_test_train_bin(train_bin, sizeof train_bin, argv[0])) return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_spirals_learned_log_model_and_graph_written),
        cmocka_unit_test(test_deterministic_and_replay_equals_rerecord),
        cmocka_unit_test(test_resume_from_checkpoint_is_bit_identical),
        cmocka_unit_test(test_dropout_batchnorm_learn_reevaluate_and_are_deterministic),
        cmocka_unit_test(test_resume_with_dropout_and_batchnorm_is_bit_identical),
        cmocka_unit_test(test_idx_directory_trains_and_bad_file_is_refused),
        cmocka_unit_test(test_csv_with_standardisation_trains_and_reevaluates),
        cmocka_unit_test(test_bad_options_exit_2_with_one_line),
    };
    return cmocka_run_group_tests_name("train", tests, NULL, NULL);
}
