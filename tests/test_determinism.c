/* Determinism: the same seed and thread count give bit-identical training — the
 * parameters, the batchnorm running statistics and every loss, byte for byte —
 * in-process and with the training program run twice. GEMM splits work by output
 * tile, never by reduction, so the thread count does not change a bit either. A
 * different seed does change the result (so these comparisons can fail). */
#include "data_helpers.h"

#include <math.h>
#include <sys/wait.h>

enum { N = 512, F = 64, H1 = 256, H2 = 128, C = 10, BATCH = 128, EPOCHS = 2 };
enum { STEPS = EPOCHS * (N / BATCH) };

typedef struct outcome {
    unsigned char *state;   /* every tensor of cr_mlp_state, concatenated */
    size_t bytes;
    cr_real loss[STEPS];
} outcome;

static void outcome_free(outcome *o) { free(o->state); }

/* A synthetic 10-class table: smooth features, labels from a hash of the index. */
static cr_dataset *make_data(void)
{
    static float v[N * F];
    static int l[N];
    for (int i = 0; i < N; i++) {
        l[i] = (int)((i * 2654435761u) >> 7) % C;
        for (int j = 0; j < F; j++) v[i * F + j] = (float)(sin(0.37 * i + 0.11 * j) + 0.1 * l[i]);
    }
    cr_dataset *d = NULL;
    assert_int_equal(cr_dataset_from_arrays(&d, v, l, N, F, C, NULL, 0), CR_OK);
    return d;
}

/* Train an MLP (batchnorm, dropout, ReLU) with AdamW, a cosine schedule with
 * warm-up and gradient clipping, shuffled batches; the step graph is recorded
 * once and replayed on each new batch (or re-recorded every step). */
static outcome train(uint64_t seed, int threads, int rerecord)
{
    outcome res;
    memset(&res, 0, sizeof res);
    cr_dataset *d = make_data();
    cr_rng rng;
    cr_rng_seed(&rng, seed);
    cr_mlp_config cfg = cr_mlp_default_config();
    cfg.batchnorm = 1;
    cfg.dropout = (cr_real)0.2;
    int sizes[4] = { F, H1, H2, C };
    cr_mlp *m = cr_mlp_new_config(4, sizes, &cfg, &rng, NULL, 0);
    assert_non_null(m);
    cr_optim_config oc = cr_optim_defaults(CR_OPTIM_ADAMW);
    cr_optim *o = cr_optim_new(cr_mlp_params(m), &oc, NULL, 0);
    assert_non_null(o);
    cr_schedule sched = cr_schedule_defaults(CR_SCHED_COSINE, 3e-3);
    sched.T = STEPS;
    sched.warmup = 2;
    cr_batcher *b = cr_batcher_new(NULL, N, BATCH, CR_BATCH_SHUFFLE, seed + 1, NULL, 0);
    assert_non_null(b);
    cr_tape *t = cr_tape_new(0);
    assert_int_equal(cr_tape_set_threads(t, threads), CR_OK);

    int xs[2] = { BATCH, F }, ys = BATCH;
    cr_tensor *x = NULL, *y = NULL, *loss = NULL;
    int k = 0;
    for (uint64_t e = 0; e < EPOCHS; e++) {
        assert_int_equal(cr_batcher_seek(b, e, 0, NULL, 0), CR_OK);
        const int *idx;
        size_t n;
        while ((n = cr_batcher_next(b, &idx)) > 0) {
            assert_int_equal(n, BATCH);
            if (!loss || rerecord) {
                cr_tape_reset(t);
                x = cr_const(t, 2, xs, NULL);
                y = cr_const(t, 1, &ys, NULL);
                assert_int_equal(cr_dataset_gather(d, idx, n, x, y, NULL, 0), CR_OK);
                loss = cr_softmax_cross_entropy(t, cr_mlp_forward(t, m, x), y);
                assert_non_null(loss);
            } else {
                assert_int_equal(cr_dataset_gather(d, idx, n, x, y, NULL, 0), CR_OK);
                assert_int_equal(cr_tape_forward(t), CR_OK);
            }
            cr_optim_zero_grad(o);
            assert_int_equal(cr_backward(t, loss), CR_OK);
            double gnorm = -1;
            assert_int_equal(cr_clip_grad_norm(cr_mlp_params(m), 1.0, &gnorm, NULL, 0), CR_OK);
            assert_true(gnorm >= 0);
            cr_optim_set_lr(o, cr_schedule_lr(&sched, cr_optim_step_count(o)));
            assert_int_equal(cr_optim_step(o, NULL, 0), CR_OK);
            res.loss[k++] = loss->data[0];
        }
    }
    assert_int_equal(k, STEPS);
    cr_params *st = cr_mlp_state(m);
    res.bytes = cr_params_numel(st) * sizeof(cr_real);
    res.state = malloc(res.bytes);
    size_t off = 0;
    for (size_t i = 0; i < cr_params_count(st); i++) {
        cr_tensor *w = cr_params_get(st, i);
        memcpy(res.state + off, w->data, w->size * sizeof(cr_real));
        off += w->size * sizeof(cr_real);
    }
    cr_tape_free(t);
    cr_batcher_free(b);
    cr_optim_free(o);
    cr_mlp_free(m);
    cr_dataset_free(d);
    return res;
}

static int same(const outcome *a, const outcome *b)
{
    return a->bytes == b->bytes && memcmp(a->state, b->state, a->bytes) == 0 &&
           memcmp(a->loss, b->loss, sizeof a->loss) == 0;
}

static void test_same_seed_and_threads_train_bit_identically(void **state)
{
    (void)state;
    outcome a = train(42, 2, 0), b = train(42, 2, 0);
    assert_true(isfinite(a.loss[STEPS - 1]) && a.loss[STEPS - 1] < a.loss[0]);
    assert_memory_equal(a.loss, b.loss, sizeof a.loss);
    assert_int_equal(a.bytes, b.bytes);
    assert_memory_equal(a.state, b.state, a.bytes);
    outcome_free(&a);
    outcome_free(&b);
}

/* GEMM's promise: the thread count changes nothing (1, 2 and 3 threads). */
static void test_thread_count_does_not_change_a_bit(void **state)
{
    (void)state;
    outcome a = train(7, 1, 0), b = train(7, 2, 0), c = train(7, 3, 0);
    assert_true(same(&a, &b));
    assert_true(same(&a, &c));
    outcome_free(&a);
    outcome_free(&b);
    outcome_free(&c);
}

/* Replaying the recorded step and re-recording it every step are the same
 * computation (dropout masks included: both draw from the MLP's generator). */
static void test_replay_and_rerecord_agree_bit_for_bit(void **state)
{
    (void)state;
    outcome a = train(5, 2, 0), b = train(5, 2, 1);
    assert_true(same(&a, &b));
    outcome_free(&a);
    outcome_free(&b);
}

/* The comparisons above can fail: another seed gives other weights and losses. */
static void test_other_seed_gives_other_result(void **state)
{
    (void)state;
    outcome a = train(42, 2, 0), b = train(43, 2, 0);
    assert_false(same(&a, &b));
    assert_true(memcmp(a.state, b.state, a.bytes) != 0);
    outcome_free(&a);
    outcome_free(&b);
}

/* ------------------------------------------------ the training program, twice */

static char train_bin[1024];

static int run_train(const char *args)
{
    char cmd[4096];
    snprintf(cmd, sizeof cmd, "'%s' --no-progress --quiet %s > '%s' 2>&1", train_bin, args,
             td_path("out.txt"));
    int st = system(cmd);
    assert_true(st != -1 && WIFEXITED(st));
    return WEXITSTATUS(st);
}

/* batch 128 x 256 x 256: large enough that GEMM uses both threads */
#define TRAIN_ARGS "--spiral-points 300 --epochs 3 --hidden 256,256 --batch 128 --seed 21"

/* Two runs with --threads 2 write byte-identical model files; so does a run with
 * one thread; --seed 22 writes a different one. */
static void test_training_program_is_deterministic(void **state)
{
    (void)state;
    char args[1024];
    const char *names[4] = { "t2a.crm", "t2b.crm", "t1.crm", "s22.crm" };
    const char *extra[4] = { "--threads 2", "--threads 2", "--threads 1",
                             "--threads 2 --seed 22" };
    for (int i = 0; i < 4; i++) {
        snprintf(args, sizeof args, TRAIN_ARGS " %s --out '%s' --dot '%s'", extra[i],
                 td_path(names[i]), td_path("g.dot"));
        int rc = run_train(args);
        if (rc != 0) {
            FILE *f = fopen(td_path("out.txt"), "r");
            char line[512];
            while (f && fgets(line, sizeof line, f)) print_error("%s", line);
            if (f) fclose(f);
        }
        assert_int_equal(rc, 0);
    }
    assert_true(cr_test_files_equal(td_path("t2a.crm"), td_path("t2b.crm")));
    assert_true(cr_test_files_equal(td_path("t2a.crm"), td_path("t1.crm")));
    assert_false(cr_test_files_equal(td_path("t2a.crm"), td_path("s22.crm")));
}

int main(int argc, char **argv)
{
    (void)argc;
    if (!cr_test_train_bin(train_bin, sizeof train_bin, argv[0])) return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_same_seed_and_threads_train_bit_identically),
        cmocka_unit_test(test_thread_count_does_not_change_a_bit),
        cmocka_unit_test(test_replay_and_rerecord_agree_bit_for_bit),
        cmocka_unit_test(test_other_seed_gives_other_result),
        cmocka_unit_test(test_training_program_is_deterministic),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
