/* train_text (issue 15), run as a user would: a tiny corpus trains (the loss
 * falls), a resumed run is bit-identical to an uninterrupted one, sampling is
 * deterministic for a seed and needs only the model file, and bad files or
 * options give one clear line with exit status 2. */
#include "data_helpers.h"

#include <math.h>
#include <sys/wait.h>

static char bin[1024];

/* Run train_text with args; stdout and stderr go to files in the scratch dir. */
static int run_tt(const char *args)
{
    char cmd[4096];
    snprintf(cmd, sizeof cmd, "'%s' --no-progress %s > '%s' 2> '%s'", bin, args,
             td_path("stdout"), td_path("stderr"));
    int st = system(cmd);
    assert_true(st != -1 && WIFEXITED(st));
    return WEXITSTATUS(st);
}

static const char *slurp_tt(const char *path, char *buf, size_t size)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    size_t n = fread(buf, 1, size - 1, f);
    fclose(f);
    buf[n] = '\0';
    return buf;
}

/* A small corpus with structure to learn: a few sentences in a repeating but
 * irregular order (seed 7), 6000 characters, 27 distinct. */
static const char *corpus(void)
{
    static int done;
    const char *p = td_path("corpus.txt");
    if (done) return p;
    static const char *const s[] = { "the cat sat on the mat. ", "a dog ran in the fog. ",
                                     "the sun is hot. ", "we sing a song. " };
    char *text = malloc(7000);
    assert_non_null(text);
    size_t n = 0;
    cr_rng r;
    cr_rng_seed(&r, 7);
    while (n < 6000) {
        const char *w = s[cr_rng_below(&r, 4)];
        memcpy(text + n, w, strlen(w));
        n += strlen(w);
    }
    td_write(p, text, 6000);
    free(text);
    done = 1;
    return p;
}

#define SMALL "--hidden 32 --embed 8 --batch 4 --steps 16 --lr 0.01 --seed 2"

/* The validation loss column of the log, epoch by epoch. */
static int val_losses(const char *log, double *v, int max)
{
    static char buf[1 << 14];
    const char *t = slurp_tt(log, buf, sizeof buf);
    assert_non_null(t);
    int n = 0;
    for (const char *l = strchr(t, '\n'); l && l[1] && n < max; l = strchr(l + 1, '\n')) {
        double ep, step, tr;
        assert_int_equal(sscanf(l + 1, "%lf,%lf,%lf,%lf", &ep, &step, &tr, &v[n]), 4);
        n++;
    }
    return n;
}

/* ln 27 = 3.30 nats is guessing; the four sentences are nearly deterministic after
 * their first characters, so 3 epochs must get well under half of that. */
static void test_tiny_corpus_trains_and_the_loss_falls(void **state)
{
    (void)state;
    char args[2048];
    snprintf(args, sizeof args, "--text '%s' " SMALL " --epochs 3 --log '%s' --out '%s'",
             corpus(), td_path("tiny.csv"), td_path("tiny.crm"));
    assert_int_equal(run_tt(args), 0);
    double v[8];
    assert_int_equal(val_losses(td_path("tiny.csv"), v, 8), 3);
    if (!(v[2] < v[0] && v[2] < 0.5 * log(27.0)))
        print_error("validation losses %g %g %g\n", v[0], v[1], v[2]);
    assert_true(v[1] < v[0]);
    assert_true(v[2] < v[1]);
    assert_true(v[2] < 0.5 * log(27.0));
    /* the model file alone evaluates to the log's last validation loss */
    snprintf(args, sizeof args, "--eval '%s' --text '%s' --batch 4 --steps 16",
             td_path("tiny.crm"), corpus());
    assert_int_equal(run_tt(args), 0);
    static char out[4096];
    slurp_tt(td_path("stdout"), out, sizeof out);
    const char *p = strstr(out, "loss ");
    assert_non_null(p);
    assert_close(atof(p + 5), v[2], 1e-4, 0);
}

/* Stopped after 700 steps (mid-epoch 2 of 3, 375 chunks per epoch) and resumed:
 * the same model file, byte for byte, and the same log rows (timing aside). The
 * carried hidden state, the position and dropout's generator are in the
 * checkpoint; two layers with dropout make them all matter. */
static void test_resume_is_bit_identical(void **state)
{
    (void)state;
    char args[2048];
    const char *base = "--hidden 16 --embed 8 --batch 2 --steps 8 --layers 2 --dropout 0.3 "
                       "--epochs 3 --lr 0.005";
    snprintf(args, sizeof args, "--text '%s' %s --out '%s' --log '%s'", corpus(), base,
             td_path("a.crm"), td_path("a.csv"));
    assert_int_equal(run_tt(args), 0);
    snprintf(args, sizeof args, "--text '%s' %s --max-steps 700 --checkpoint '%s' --log '%s'",
             corpus(), base, td_path("ck.crm"), td_path("b.csv"));
    assert_int_equal(run_tt(args), 0);
    snprintf(args, sizeof args, "--text '%s' %s --resume '%s' --out '%s' --log '%s'", corpus(),
             base, td_path("ck.crm"), td_path("b.crm"), td_path("b.csv"));
    assert_int_equal(run_tt(args), 0);
    assert_true(cr_test_files_equal(td_path("a.crm"), td_path("b.crm")));
    static char la[8192], lb[8192];
    td_log_without_timing(td_path("a.csv"), la, sizeof la);
    td_log_without_timing(td_path("b.csv"), lb, sizeof lb);
    assert_string_equal(la, lb);
    /* another architecture is refused, naming the option */
    snprintf(args, sizeof args, "--text '%s' %s --cell gru --resume '%s'", corpus(), base,
             td_path("ck.crm"));
    assert_int_equal(run_tt(args), 2);
    static char err[1024];
    slurp_tt(td_path("stderr"), err, sizeof err);
    assert_msg_has(err, "--cell is lstm in the checkpoint but gru in this run");
}

/* Sampling from the model file alone: the same seed gives the same text, another
 * seed another text; temperature 0 takes the most likely character, whatever the
 * seed. The output is UTF-8 of characters of the corpus. */
static void test_generation_is_deterministic_for_a_seed(void **state)
{
    (void)state;
    char args[2048];
    snprintf(args, sizeof args, "--text '%s' " SMALL " --epochs 1 --quiet --out '%s'", corpus(),
             td_path("g.crm"));
    assert_int_equal(run_tt(args), 0);
    static char a[4096], b[4096], c[4096], m[1024];
    snprintf(m, sizeof m, "%s", td_path("g.crm"));     /* td_path's buffers rotate */
    snprintf(args, sizeof args, "--model '%s' --generate 80 --seed 3 --prime 'the '", m);
    assert_int_equal(run_tt(args), 0);
    slurp_tt(td_path("stdout"), a, sizeof a);
    assert_int_equal(run_tt(args), 0);
    slurp_tt(td_path("stdout"), b, sizeof b);
    assert_string_equal(a, b);
    snprintf(args, sizeof args, "--model '%s' --generate 80 --seed 4 --prime 'the '", m);
    assert_int_equal(run_tt(args), 0);
    slurp_tt(td_path("stdout"), c, sizeof c);
    assert_string_not_equal(a, c);
    assert_true(strncmp(a, "the ", 4) == 0);
    cr_text *t = NULL;
    assert_int_equal(cr_text_load_mem(&t, a, strlen(a), "sample", NULL, 0), CR_OK);
    assert_int_equal(t->n, 4 + 80 + 1);                  /* prime, sample, newline */
    for (size_t i = 0; i < t->n; i++)
        assert_true(strchr("abcdefghijklmnopqrstuvwxyz. \n", (int)t->cp[i]) != NULL);
    cr_text_free(t);
    snprintf(args, sizeof args, "--model '%s' --generate 40 --temperature 0 --seed 3", m);
    assert_int_equal(run_tt(args), 0);
    slurp_tt(td_path("stdout"), a, sizeof a);
    snprintf(args, sizeof args, "--model '%s' --generate 40 --temperature 0 --seed 9", m);
    assert_int_equal(run_tt(args), 0);
    slurp_tt(td_path("stdout"), b, sizeof b);
    assert_string_equal(a, b);
}

static void expect_one_line(const char *args, const char *needle)
{
    int rc = run_tt(args);
    static char err[2048];
    slurp_tt(td_path("stderr"), err, sizeof err);
    if (rc != 2 || !strstr(err, needle))
        print_error("args %s: exit %d, stderr: %s\n", args, rc, err);
    assert_int_equal(rc, 2);
    assert_true(strncmp(err, "train_text: ", 12) == 0);
    assert_msg_has(err, needle);
    assert_true(strchr(err, '\n') == err + strlen(err) - 1);   /* exactly one line */
}

static void test_bad_files_and_options_give_one_line(void **state)
{
    (void)state;
    char args[2048];
    char bad[1024], empty[1024];                          /* td_path's buffers rotate */
    snprintf(bad, sizeof bad, "%s", td_path("bad.txt"));
    snprintf(empty, sizeof empty, "%s", td_path("empty.txt"));
    td_write(bad, "good text\n\xe9t\xe9\n", 14);             /* Latin-1, not UTF-8 */
    td_write(empty, "", 0);
    snprintf(args, sizeof args, "--text '%s'", bad);
    expect_one_line(args, "bad.txt: invalid UTF-8 at byte 10 (0xE9 0x74 0xE9 0x0A)");
    snprintf(args, sizeof args, "--text '%s'", empty);
    expect_one_line(args, "empty.txt: empty file");
    snprintf(args, sizeof args, "--text '%s'", td_path("absent.txt"));
    expect_one_line(args, "absent.txt");
    snprintf(args, sizeof args, "--text '%s' --cell lstn", corpus());
    expect_one_line(args, "--cell: 'lstn' is not lstm, gru, rnn_tanh or rnn_relu");
    snprintf(args, sizeof args, "--text '%s' --steps 1000", corpus());
    expect_one_line(args, "the validation part (600 characters) is shorter than one chunk");
    snprintf(args, sizeof args, "--text '%s' --batch 0", corpus());
    expect_one_line(args, "--batch: '0' is not an integer in range");
    snprintf(args, sizeof args, "--model '%s'", td_path("tiny.crm"));
    expect_one_line(args, "--model needs --generate N");
    expect_one_line("--epochs 2", "no text: give --text FILE");
    expect_one_line("--bogus", "unknown option '--bogus'");
    snprintf(args, sizeof args, "--model '%s' --generate 5 --prime 'Z'", td_path("tiny.crm"));
    expect_one_line(args, "--prime: character U+005A is not in the model's vocabulary");
    snprintf(args, sizeof args, "--model '%s' --generate 5", corpus());
    expect_one_line(args, "corpus.txt");
    /* a model file of another program: no architecture */
    cr_params *p = cr_params_new();
    int shape[1] = { 2 };
    assert_int_equal(cr_params_add_owned(p, cr_param_new(1, shape), "w", NULL, 0), CR_OK);
    assert_int_equal(cr_save(td_path("other.crm"), p, NULL, NULL, NULL, 0), CR_OK);
    cr_params_free(p);
    snprintf(args, sizeof args, "--model '%s' --generate 5", td_path("other.crm"));
    expect_one_line(args, "other.crm: not a character model");
}

int main(int argc, char **argv)
{
    if (!cr_test_train_bin(bin, sizeof bin - 8, argv[0])) return 1;
    strcat(bin, "_text");
    struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tiny_corpus_trains_and_the_loss_falls),
        cmocka_unit_test(test_resume_is_bit_identical),
        cmocka_unit_test(test_generation_is_deterministic_for_a_seed),
        cmocka_unit_test(test_bad_files_and_options_give_one_line),
    };
    return CR_TEST_RUN(tests, NULL, NULL, argc, argv);
}
