/* Export of a recurrent step with several outputs (cr_export_c_multi) and of graph
 * files (cr_export_graph_c, chainrule-run --export). A character-LSTM step
 * (embedding -> 2-layer LSTM step -> dense to V logits; inputs the character's index
 * and each layer's h and c, outputs the logits and the new h and c) is exported,
 * compiled with gcc and clang (-std=c99 -Wall -Wextra -pedantic -Werror) together
 * with tests/export_step_driver.c, and run over a 40-character sequence feeding the
 * state back; the library runs the same sequence on its tape. Logits within 1e-5 and
 * the same argmax at every step (valgrind-clean when valgrind is installed);
 * likewise a GRU step. */
#include "helpers.h"
#include "export_helpers.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

/* as tests/test_export.c: the export computes in float whatever the library's
 * precision, so the double build shows the float rounding (3e-5) */
#define LOGIT_TOL TOL(3e-5, 1e-5)

enum { V = 11, E = 6, H = 8, STEPS = 40, MAXIO = 1 + 2 * 2 };

static char g_train_bin[4096], g_run_bin[4096];

/* Compile g_dir/name.c with driver (tests/<driver>.c) into g_dir/<name>-<cc>; the
 * step driver gets XSTATE_Y = state_y. 0 on success. */
static int build(const char *cc, const char *name, const char *driver, size_t state_y,
                 char *bin, size_t binsize)
{
    char flags[48];
    snprintf(flags, sizeof flags, "-DXSTATE_Y=%zu", state_y);
    return build_driver(cc, flags, name, cc, driver, bin, binsize);
}

static int argmax_f(const float *v, int n)
{
    int b = 0;
    for (int i = 1; i < n; i++)
        if (v[i] > v[b]) b = i;
    return b;
}

static int argmax_r(const cr_real *v, int n)
{
    int b = 0;
    for (int i = 1; i < n; i++)
        if (v[i] > v[b]) b = i;
    return b;
}

/* ------------------------------------------------------------ the step */

typedef struct step {
    cr_tape *t;
    cr_params *p;
    cr_rnn *r;
    cr_tensor *in[MAXIO], *out[MAXIO];
    int n_io;            /* inputs: index then per layer h (and c); outputs: logits then the same */
    size_t state;        /* floats of state */
} step;

static cr_tensor *param(cr_params *p, cr_rng *rng, const char *name, int ndim, const int *shape)
{
    cr_tensor *w = cr_param_new(ndim, shape);
    assert_non_null(w);
    cr_tensor_rand_uniform(w, rng, -1, 1);
    assert_int_equal(cr_params_add_owned(p, w, name, NULL, 0), CR_OK);
    return w;
}

/* Record one step of embedding -> `layers` recurrent layers -> dense to V, in
 * evaluation mode, batch 1. */
static void record_step(step *s, cr_rnn_kind kind, int layers, uint64_t seed)
{
    char err[256];
    cr_rng rng;
    cr_rng_seed(&rng, seed);
    memset(s, 0, sizeof *s);
    s->p = cr_params_new();
    assert_non_null(s->p);
    int sve[2] = { V, E }, shv[2] = { H, V }, sv = V, s1 = 1, s1h[2] = { 1, H };
    cr_tensor *table = param(s->p, &rng, "embed", 2, sve);
    s->r = cr_rnn_new(kind, E, H, layers, 0, err, sizeof err);
    assert_non_null(s->r);
    assert_int_equal(cr_rnn_init(s->r, &rng, err, sizeof err), CR_OK);
    assert_int_equal(cr_params_extend(s->p, cr_rnn_params(s->r), "rnn.", err, sizeof err), CR_OK);
    cr_tensor *W = param(s->p, &rng, "out.W", 2, shv), *b = param(s->p, &rng, "out.b", 1, &sv);
    s->t = cr_tape_new(0);
    assert_non_null(s->t);
    cr_tensor *idx = cr_const(s->t, 1, &s1, NULL);
    cr_rnn_state st;
    memset(&st, 0, sizeof st);
    int n = 0;
    s->in[n++] = idx;
    for (int l = 0; l < layers; l++) {
        s->in[n++] = st.h[l] = cr_const(s->t, 2, s1h, NULL);
        if (kind == CR_LSTM) s->in[n++] = st.c[l] = cr_const(s->t, 2, s1h, NULL);
    }
    cr_tensor *top = cr_rnn_step(s->t, s->r, cr_embedding(s->t, table, idx), &st, 0, NULL);
    cr_tensor *logits = cr_linear(s->t, top, W, b);
    assert_non_null(logits);
    n = 0;
    s->out[n++] = logits;
    for (int l = 0; l < layers; l++) {
        s->out[n++] = st.h[l];
        if (kind == CR_LSTM) s->out[n++] = st.c[l];
    }
    s->n_io = n;
    s->state = (size_t)(n - 1) * H;
}

static void free_step(step *s)
{
    cr_tape_free(s->t);
    cr_rnn_free(s->r);
    cr_params_free(s->p);
}

/* The characters of the sequence (indices in 0..V-1, each one used). */
static float seq_at(int k)
{
    return (float)((k * 7 + 3 + k / 5) % V);
}

/* The library's logits over the sequence from a zero state: tape t with inputs
 * in[0..n) (the index, then the state) and outputs out[0..n) (logits, then the new
 * state, fed back). */
static void library_run(cr_tape *t, cr_tensor *const *in, cr_tensor *const *out, int n,
                        cr_real *logits)
{
    for (int k = 1; k < n; k++) memset(in[k]->data, 0, in[k]->size * sizeof(cr_real));
    for (int s = 0; s < STEPS; s++) {
        in[0]->data[0] = (cr_real)seq_at(s);
        assert_int_equal(cr_tape_forward(t), CR_OK);
        memcpy(logits + (size_t)s * V, out[0]->data, V * sizeof(cr_real));
        for (int k = 1; k < n; k++)
            memcpy(in[k]->data, out[k]->data, in[k]->size * sizeof(cr_real));
    }
}

/* The exported step name, built with each compiler, over the sequence: logits
 * within LOGIT_TOL of lib and the same argmax at every step. */
static void check_export(const char *name, const cr_real *lib, size_t out_size)
{
    const char *ccs[2] = { "gcc", "clang" };
    float idx[STEPS];
    for (int s = 0; s < STEPS; s++) idx[s] = seq_at(s);
    float *y = malloc(STEPS * out_size * sizeof *y);
    assert_non_null(y);
    for (int c = 0; c < 2; c++) {
        if (!have_cc(ccs[c])) {
            print_message("%s: %s not installed, skipped\n", name, ccs[c]);
            continue;
        }
        char bin[256];
        size_t got = 0;
        assert_int_equal(build(ccs[c], name, "export_step_driver", V, bin, sizeof bin), 0);
        assert_int_equal(run_driver(bin, idx, STEPS, 1, y, out_size, &got), 0);
        assert_int_equal(got, STEPS);
        double worst = 0;
        for (int s = 0; s < STEPS; s++) {
            const float *ys = y + (size_t)s * out_size;
            const cr_real *ls = lib + (size_t)s * V;
            for (int j = 0; j < V; j++) {
                double d = fabs((double)ys[j] - (double)ls[j]);
                if (!(d <= worst)) worst = d;
            }
            assert_int_equal(argmax_f(ys, V), argmax_r(ls, V));
        }
        print_message("%s (%s): %d steps, largest logit difference %.3g\n", name, ccs[c],
                      STEPS, worst);
        assert_true(worst <= LOGIT_TOL);
        if (c == 0 && have_cc("valgrind")) {   /* memcheck of the generated program */
            char cmd[1024];
            snprintf(cmd, sizeof cmd, "valgrind -q --error-exitcode=99 --leak-check=full %s "
                     "%s/in.bin %s/out.bin", bin, g_dir, g_dir);
            assert_int_equal(system(cmd), 0);
            print_message("%s: valgrind memcheck of the generated program: clean\n", name);
        }
    }
    free(y);
}

static void export_step_and_compare(cr_rnn_kind kind, int layers, const char *name)
{
    char err[256] = "";
    step s;
    record_step(&s, kind, layers, 1600 + (uint64_t)kind);
    assert_int_equal(cr_export_c_multi(s.t, s.n_io, s.in, s.n_io,
                                       (const cr_tensor *const *)s.out, name, g_dir, NULL,
                                       err, sizeof err), CR_OK);
    cr_real *lib = malloc(STEPS * V * sizeof *lib);
    assert_non_null(lib);
    library_run(s.t, s.in, s.out, s.n_io, lib);
    /* the logits vary along the sequence (the test would not see a stuck state) */
    int changes = 0;
    for (int k = 1; k < STEPS; k++) changes += argmax_r(lib + k * V, V) != argmax_r(lib, V);
    assert_true(changes > 0);
    check_export(name, lib, V + s.state);
    free(lib);
    free_step(&s);
}

static void export_char_lstm_step_agrees_with_library_over_a_sequence(void **state)
{
    (void)state;
    export_step_and_compare(CR_LSTM, 2, "lstm_step");
}

static void export_char_gru_step_agrees_with_library_over_a_sequence(void **state)
{
    (void)state;
    export_step_and_compare(CR_GRU, 1, "gru_step");
}

/* An index that is not a whole number in 0..V-1 (V, -1, 2.5, NaN): the exported
 * step returns -2 (the driver exits 3) after the good steps before it, as the
 * library's tape error; the header says so and gives each output's offset. */
static void export_step_returns_minus_two_on_a_bad_index(void **state)
{
    (void)state;
    char err[256] = "", bin[256];
    step s;
    record_step(&s, CR_LSTM, 1, 7);
    assert_int_equal(cr_export_c_multi(s.t, s.n_io, s.in, s.n_io,
                                       (const cr_tensor *const *)s.out, "bad_idx", g_dir,
                                       NULL, err, sizeof err), CR_OK);
    assert_int_equal(build("cc", "bad_idx", "export_step_driver", V, bin, sizeof bin), 0);
    const float bad[4] = { (float)V, -1, 2.5f, NAN };
    float y[3 * (V + 2 * H)];
    for (int k = 0; k < 4; k++) {
        float idx[3] = { 1, 2, bad[k] };
        size_t got = 9;
        assert_int_equal(run_driver(bin, idx, 3, 1, y, V + 2 * H, &got), 3);
        assert_int_equal(got, 2);
    }
    /* the library refuses the same index */
    s.in[0]->data[0] = (cr_real)V;
    assert_int_equal(cr_tape_forward(s.t), CR_ERR_ARG);
    char path[128], text[8192];
    snprintf(path, sizeof path, "%s/bad_idx.h", g_dir);
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    size_t n = fread(text, 1, sizeof text - 1, f);
    fclose(f);
    text[n] = 0;
    assert_non_null(strstr(text, "both return -2"));
    assert_non_null(strstr(text, "#define BAD_IDX_OUT_SIZE 27"));   /* V + 2 H */
    assert_non_null(strstr(text, "#define BAD_IDX_OUT1_OFFSET 11"));
    assert_non_null(strstr(text, "#define BAD_IDX_OUT2_OFFSET 19"));
    assert_non_null(strstr(text, "#define BAD_IDX_IN2_OFFSET 9"));
    free_step(&s);
}

/* ------------------------------------------------------------ graph files */

/* The LSTM step saved as a graph file, loaded, exported from the loaded graph
 * (inputs and outputs as named in the file) agrees with the loaded graph's own
 * forward over the sequence. */
static void export_graph_of_an_lstm_step_agrees_with_the_loaded_graph(void **state)
{
    (void)state;
    char err[256] = "", path[128];
    step s;
    record_step(&s, CR_LSTM, 2, 99);
    snprintf(path, sizeof path, "%s/step.crg", g_dir);
    assert_int_equal(cr_graph_save(s.t, s.n_io, s.in, s.n_io, s.out, s.p, path, err,
                                   sizeof err), CR_OK);
    free_step(&s);
    cr_graph *g = cr_graph_load(path, err, sizeof err);
    assert_non_null(g);
    assert_int_equal(cr_export_graph_c(g, "gstep", g_dir, NULL, err, sizeof err), CR_OK);
    int n = cr_graph_n_inputs(g);
    assert_int_equal(n, 5);
    assert_int_equal(cr_graph_n_outputs(g), 5);
    cr_tensor *in[MAXIO], *out[MAXIO];
    for (int k = 0; k < n; k++) in[k] = cr_graph_input(g, k), out[k] = cr_graph_output(g, k);
    cr_real *lib = malloc(STEPS * V * sizeof *lib);
    assert_non_null(lib);
    library_run(cr_graph_tape(g), in, out, n, lib);
    check_export("gstep", lib, V + 4 * H);
    free(lib);
    cr_graph_free(g);
    assert_int_equal(cr_export_graph_c(NULL, "x", g_dir, NULL, err, sizeof err), CR_ERR_ARG);
}

/* train --save-graph, then the graph exported two ways: cr_export_graph_c after
 * cr_graph_set_batch(g, 1), and `chainrule-run --export DIR GRAPH` (batch 1 by
 * default): the same files, byte for byte, which compile and give the loaded
 * graph's outputs on points of the plane. */
static void export_of_a_trained_graph_file_matches_its_forward(void **state)
{
    (void)state;
    static char cmd[10240];
    snprintf(cmd, sizeof cmd, "cd %s && %s --no-progress --quiet --spiral-points 60 --arch "
             "'dense 12, bn, relu, dense 3' --epochs 3 --batch 16 --out m.crm --save-graph "
             "m.crg >/dev/null && mkdir -p cli && %s --export cli --export-name spiral m.crg",
             g_dir, g_train_bin, g_run_bin);
    assert_int_equal(system(cmd), 0);
    char err[256] = "", path[128];
    snprintf(path, sizeof path, "%s/m.crg", g_dir);
    cr_graph *g = cr_graph_load(path, err, sizeof err);
    assert_non_null(g);
    assert_int_equal(cr_graph_set_batch(g, 1, err, sizeof err), CR_OK);
    assert_int_equal(cr_export_graph_c(g, "spiral", g_dir, NULL, err, sizeof err), CR_OK);
    snprintf(cmd, sizeof cmd, "cd %s && cmp spiral.c cli/spiral.c && cmp spiral.h cli/spiral.h",
             g_dir);
    assert_int_equal(system(cmd), 0);
    cr_tensor *x = cr_graph_input(g, 0), *yg = cr_graph_output(g, 0);
    assert_int_equal(x->size, 2);
    assert_int_equal(yg->size, 3);
    enum { N = 8 };
    float xs[N * 2], y[N * 3];
    cr_real lib[N * 3];
    for (int i = 0; i < N; i++) {
        xs[2 * i] = (float)cos(0.8 * i) * (float)(0.1 + 0.1 * i);
        xs[2 * i + 1] = (float)sin(0.8 * i) * (float)(0.1 + 0.1 * i);
        x->data[0] = (cr_real)xs[2 * i];
        x->data[1] = (cr_real)xs[2 * i + 1];
        assert_int_equal(cr_tape_forward(cr_graph_tape(g)), CR_OK);
        memcpy(lib + 3 * i, yg->data, 3 * sizeof(cr_real));
    }
    char bin[256];
    size_t got = 0;
    assert_int_equal(build("cc", "spiral", "export_driver", 0, bin, sizeof bin), 0);
    assert_int_equal(run_driver(bin, xs, N, 2, y, 3, &got), 0);
    assert_int_equal(got, N);
    for (int i = 0; i < 3 * N; i++) assert_true(fabs((double)y[i] - (double)lib[i]) <= LOGIT_TOL);
    cr_graph_free(g);
}

int main(int argc, char **argv)
{
    char rel[512], cwd[2048];
    if (!cr_test_train_bin(rel, sizeof rel, argv[0]) || !getcwd(cwd, sizeof cwd)) return 1;
    snprintf(g_train_bin, sizeof g_train_bin, "%s/%s", rel[0] == '/' ? "" : cwd, rel);
    snprintf(g_run_bin, sizeof g_run_bin, "%s", g_train_bin);
    strcpy(strrchr(g_run_bin, '/') + 1, "graph_run");
    struct CMUnitTest tests[] = {
        cmocka_unit_test(export_char_lstm_step_agrees_with_library_over_a_sequence),
        cmocka_unit_test(export_char_gru_step_agrees_with_library_over_a_sequence),
        cmocka_unit_test(export_step_returns_minus_two_on_a_bad_index),
        cmocka_unit_test(export_graph_of_an_lstm_step_agrees_with_the_loaded_graph),
        cmocka_unit_test(export_of_a_trained_graph_file_matches_its_forward),
    };
    return CR_TEST_RUN(tests, setup, teardown, argc, argv);
}
