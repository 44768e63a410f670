/* The training program with --arch (a cr_model from a layer spec), run as a
 * separate process as a user would: a small CNN learns generated 6x6 IDX images
 * well above chance, its saved model re-evaluates to the same accuracy, a resumed
 * checkpoint gives a byte-identical model, and bad combinations and specs are
 * refused with one line and exit status 2. */
#include "train_helpers.h"

#include <sys/wait.h>



/* The data directory, written once. */
static const char *data_dir(void) { return idx_scratch_dir(600); }

#define CNN "conv 4 3x3 pad 1, relu, maxpool 2, flatten, dense 4"
/* 540 training samples (--val 0.1), batch 16: 34 steps per epoch */
#define RUN "--data '%s' --arch '" CNN "' --optim adam --lr 0.01 --batch 16 --epochs 3 --seed 5"

static void test_arch_cnn_learns_and_saved_model_reevaluates(void **state)
{
    (void)state;
    char args[2048], line[256], line2[256];
    snprintf(args, sizeof args, RUN " --out '%s'", data_dir(), td_path("cnn.crm"));
    assert_int_equal(run(args), 0);
    const char *out = slurp(td_path("stdout"));
    /* the model as built: canonical spec on the images' shape, and its size
     * (conv 4*1*3*3 + 4, dense 36*4 + 4) */
    assert_msg_has(out, "model: " CNN " on 1x6x6, 188 parameters");
    assert_true(test_accuracy(line, sizeof line) > 0.8);
    /* a fresh process rebuilds the model from the file alone */
    snprintf(args, sizeof args, "--data '%s' --eval '%s'", data_dir(), td_path("cnn.crm"));
    assert_int_equal(run(args), 0);
    assert_msg_has(slurp(td_path("stdout")), "on 1x6x6, evaluated on 200 samples");
    test_accuracy(line2, sizeof line2);
    assert_string_equal(line, line2);
}

/* Stopped at step 50 (checkpoints every 7 steps: the last at 49) and resumed: the
 * final model is byte-identical to the uninterrupted run's. Resuming with another
 * spec, or without --arch, is refused. */
static void test_arch_resume_from_checkpoint_is_bit_identical(void **state)
{
    (void)state;
    char args[2048];
    snprintf(args, sizeof args, RUN " --out '%s'", data_dir(), td_path("full.crm"));
    assert_int_equal(run(args), 0);
    snprintf(args, sizeof args, RUN " --out '%s' --checkpoint '%s' --checkpoint-every 7 "
             "--max-steps 50", data_dir(), td_path("cut.crm"), td_path("ck.crm"));
    assert_int_equal(run(args), 0);
    assert_msg_has(slurp(td_path("stdout")), "stopped after 50 steps (--max-steps)");
    assert_false(cr_test_files_equal(td_path("full.crm"), td_path("cut.crm")));
    snprintf(args, sizeof args, RUN " --out '%s' --resume '%s'", data_dir(), td_path("res.crm"),
             td_path("ck.crm"));
    assert_int_equal(run(args), 0);
    assert_msg_has(slurp(td_path("stdout")), "(step 49)");
    assert_true(cr_test_files_equal(td_path("full.crm"), td_path("res.crm")));

    snprintf(args, sizeof args, "--data '%s' --arch 'conv 2 3x3 pad 1, relu, maxpool 2, "
             "flatten, dense 4' --optim adam --lr 0.01 --batch 16 --epochs 3 --seed 5 "
             "--out '%s' --resume '%s'", data_dir(), td_path("bad.crm"), td_path("ck.crm"));
    expect_usage_error(args, "--arch is \"" CNN "\" in the checkpoint but \"conv 2 3x3 pad 1, "
                             "relu, maxpool 2, flatten, dense 4\" in this run");
    snprintf(args, sizeof args, "--data '%s' --hidden 8 --optim adam --lr 0.01 --batch 16 "
             "--epochs 3 --seed 5 --out '%s' --resume '%s'", data_dir(), td_path("bad.crm"),
             td_path("ck.crm"));
    expect_usage_error(args, "the checkpoint is of an --arch run but this run has no --arch");
}

/* --arch with --standardize: the model starts with a "standardize" layer holding
 * the training part's per-pixel mean and 1/std (here --val 0: all 600 images,
 * computed again below by cr_dataset_standardize), so the saved file alone
 * re-evaluates the raw test images to the same accuracy. */
static void test_arch_standardize_statistics_travel_with_the_model(void **state)
{
    (void)state;
    char args[2048], line[256], line2[256];
    snprintf(args, sizeof args, "--data '%s' --arch '" CNN "' --standardize --val 0 --optim adam "
             "--lr 0.01 --batch 16 --epochs 3 --seed 5 --out '%s'", data_dir(),
             td_path("std.crm"));
    assert_int_equal(run(args), 0);
    assert_msg_has(slurp(td_path("stdout")), "model: standardize, " CNN " on 1x6x6, "
                   "188 parameters");
    assert_true(test_accuracy(line, sizeof line) > 0.8);
    snprintf(args, sizeof args, "--data '%s' --eval '%s'", data_dir(), td_path("std.crm"));
    assert_int_equal(run(args), 0);
    test_accuracy(line2, sizeof line2);
    assert_string_equal(line, line2);

    char err[256];
    cr_model *m = cr_model_load(td_path("std.crm"), NULL, err, sizeof err);
    assert_non_null(m);
    cr_tensor *mean = cr_params_find(cr_model_buffers(m), "l0.standardize.mean");
    cr_tensor *inv = cr_params_find(cr_model_buffers(m), "l0.standardize.inv_std");
    assert_non_null(mean);
    assert_non_null(inv);
    cr_dataset *tr = NULL;
    assert_int_equal(cr_idx_load_dir(&tr, NULL, data_dir(), 0, err, sizeof err), CR_OK);
    assert_int_equal(cr_dataset_standardize(tr, NULL, 0, err, sizeof err), CR_OK);
    assert_int_equal(mean->size, 36);
    double want_mean[36], want_inv[36];
    for (int j = 0; j < 36; j++) {
        want_mean[j] = tr->mean[j];
        want_inv[j] = tr->inv_std[j];
    }
    assert_all_close(mean->data, want_mean, 36, 0, 0);
    assert_all_close(inv->data, want_inv, 36, 0, 0);
    assert_true(want_inv[0] != 1 || want_inv[14] != 1);   /* not the identity */
    cr_dataset_free(tr);
    cr_model_free(m);
}

static void test_arch_refuses_mlp_options_and_bad_specs(void **state)
{
    (void)state;
    char args[2048];
    snprintf(args, sizeof args, "--data '%s' --arch '" CNN "' --hidden 16", data_dir());
    expect_usage_error(args, "--arch describes the whole model; --hidden is a shorthand for an "
                             "MLP and cannot be combined with it");
    snprintf(args, sizeof args, "--data '%s' --batchnorm --arch '" CNN "'", data_dir());
    expect_usage_error(args, "--batchnorm is a shorthand for an MLP");
    /* a spec that does not fit the 1x6x6 images: the layer by position and text */
    snprintf(args, sizeof args, "--data '%s' --arch 'conv 4 3x3, relu, maxpool 2, conv 8 3x3, "
             "flatten, dense 4'", data_dir());
    expect_usage_error(args, "--arch: layer 4 (conv 8 3x3): input is 4x2x2");
    snprintf(args, sizeof args, "--data '%s' --arch 'conv 4 3x3, frob 2, flatten, dense 4'",
             data_dir());
    expect_usage_error(args, "--arch: layer 2 (frob 2): unknown layer 'frob'");
    /* the output must be one score per class */
    snprintf(args, sizeof args, "--data '%s' --arch 'flatten, dense 3'", data_dir());
    expect_usage_error(args, "--arch: the model gives 3 values per sample but the data has 4 "
                             "classes (end the spec with dense 4)");
    snprintf(args, sizeof args, "--data '%s' --arch 'conv 4 3x3'", data_dir());
    expect_usage_error(args, "--arch: the model's output is not a vector of class scores");
}

int main(int argc, char **argv)
{
    (void)argc;
    if (!cr_test_train_bin(train_bin, sizeof train_bin, argv[0])) return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_arch_cnn_learns_and_saved_model_reevaluates),
        cmocka_unit_test(test_arch_resume_from_checkpoint_is_bit_identical),
        cmocka_unit_test(test_arch_standardize_statistics_travel_with_the_model),
        cmocka_unit_test(test_arch_refuses_mlp_options_and_bad_specs),
    };
    return cmocka_run_group_tests_name("train_arch", tests, NULL, NULL);
}
