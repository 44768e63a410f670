/* The lessons (examples/lessons/) reproduce the course notes: each lesson of this
 * build is run and the numbers it prints ("result <name> = <value>" lines, and the
 * perceptron table) are compared with the notes or with closed forms. */
#include "helpers.h"
#include "scratch_dir.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char out[1 << 17];                   /* output of the last run */

/* Run a lesson of this build (args after "-o <scratch dir>"); captures stdout+stderr. */
static void run(const char *lesson, const char *args)
{
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "%s/examples/lessons/%s -o %s %s 2>&1", CR_BUILD_DIR, lesson,
             g_dir, args);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    size_t n = fread(out, 1, sizeof out - 1, p);
    out[n] = '\0';
    int status = pclose(p);
    if (status != 0) printf("%s exited with %d:\n%s\n", cmd, status, out);
    assert_int_equal(status, 0);
}

/* The value of "result <key> = <value>" in the last output. */
static double get(const char *key)
{
    char pat[128];
    snprintf(pat, sizeof pat, "result %s = ", key);
    for (const char *p = strstr(out, pat); p; p = strstr(p + 1, pat))
        if (p == out || p[-1] == '\n') return strtod(p + strlen(pat), NULL);
    printf("no line \"%s\" in:\n%s\n", pat, out);
    fail();
    return NAN;
}

/* Graphviz must render the lesson's picture (skipped when dot is not installed). */
static void renders(const char *name)
{
    char path[256], cmd[512];
    snprintf(path, sizeof path, "%s/%s.dot", g_dir, name);
    assert_int_equal(access(path, R_OK), 0);
    if (system("command -v dot >/dev/null 2>&1") != 0) {
        printf("dot (Graphviz) not installed: %s not rendered (apt-get install graphviz)\n", path);
        return;
    }
    snprintf(cmd, sizeof cmd, "dot -Tsvg %s -o /dev/null", path);
    assert_int_equal(system(cmd), 0);
}

static double sigmoid(double z) { return 1 / (1 + exp(-z)); }

/* lecture-mlp-backprop-autodiff-training.md, 自动微分: x = 2, y = 1, f = x*(x+y) = 6,
 * ∂f/∂z = x = 2, ∂f/∂x = z = 3 on the f node, so ∂f/∂x = 5 and ∂f/∂y = 2. */
static void test_lesson1_chain_rule_matches_notes_and_trace(void **state)
{
    (void)state;
    run("01_chain_rule", "");
    assert_close(get("f"), 6, 0, 0);
    assert_close(get("df/dz"), 2, 0, 0);
    assert_close(get("df/dx"), 5, 0, 0);
    assert_close(get("df/dy"), 2, 0, 0);
    assert_non_null(strstr(out, "f = mul(x, z) = 6, incoming ∂f/∂f = 1\n"
                                "  ∂f/∂x (via f) = z = 3\n"
                                "  ∂f/∂z = x = 2\n"
                                "z = add(x, y) = 3, incoming ∂f/∂z = 2\n"
                                "  ∂f/∂x (via z) = 2·1 = 2\n"
                                "  ∂f/∂y = 2·1 = 2\n"
                                "totals:\n"
                                "  ∂f/∂x = 5\n"
                                "  ∂f/∂y = 2\n"));
    renders("01_chain_rule");
}

/* Same notes, "再一个例子": f = x*e^((x*3)*max(x,y)) at x = 2, y = 1: f = 2e¹²,
 * ∂f/∂x = (1 + 6x²)e^(3x²) = 25e¹², ∂f/∂y = 0 (max passes nothing to y < x). */
static void test_lesson2_exp_max_gives_2e12_and_25e12(void **state)
{
    (void)state;
    run("02_exp_max", "-q");
    assert_close(get("f/e^12"), 2, 0, TOL(1e-13, 1e-6));
    assert_close(get("df/dx/e^12"), 25, 0, TOL(1e-13, 1e-6));
    assert_close(get("f"), 2 * exp(12.0), 0, TOL(1e-13, 1e-6));
    assert_close(get("df/dy"), 0, 0, 0);
    renders("02_exp_max");
}

/* f = σ(wx + b) at w = 0.5, x = 2, b = -0.5: ∂f/∂w = σ'(z)x, ∂f/∂x = σ'(z)w,
 * ∂f/∂b = σ'(z), σ' = σ(1-σ) (book §3.2); the OR neuron σ(20x1 + 20x2 - 10)
 * of lecture-mlp-backprop-autodiff-training.md (神经元模型). */
static void test_lesson3_neuron_gradients_and_or_gate(void **state)
{
    (void)state;
    run("03_neuron", "-q");
    double s = sigmoid(0.5), ds = s * (1 - s), tol = TOL(1e-12, 2e-7);
    assert_close(get("f"), s, tol, 0);
    assert_close(get("df/dw"), ds * 2, tol, 0);
    assert_close(get("df/dx"), ds * 0.5, tol, 0);
    assert_close(get("df/db"), ds, tol, 0);
    assert_close(get("fused df/dw"), ds * 2, tol, 0);
    assert_close(get("fused df/db"), ds, tol, 0);
    assert_close(get("or(0,0)"), sigmoid(-10), 0, TOL(1e-12, 1e-5));
    assert_close(get("or(0,1)"), sigmoid(10), tol, 0);
    assert_close(get("or(1,0)"), sigmoid(10), tol, 0);
    assert_close(get("or(1,1)"), sigmoid(30), tol, 0);
    renders("03_neuron");
}

/* lecture-neural-networks-mle-perceptron-backprop.md, 感知机实例: the iteration table
 * (A) and the homework variant with M2 at iteration 5 (B; the notes leave it open —
 * the perceptron rule gives w = (2,1), b = -5 after 11 updates). */
static void check_table(char tag, int n, const char *const *pts, const double (*wb)[3])
{
    int rows = 0;
    for (const char *p = out; (p = strchr(p, '\n')); p++) {
        char t, pt[16];
        int it;
        double w1, w2, b;
        if (sscanf(p + 1, "%c %d %15s (%lf, %lf) %lf", &t, &it, pt, &w1, &w2, &b) != 6 ||
            t != tag)
            continue;
        assert_int_equal(it, rows);
        assert_true(rows < n);
        assert_string_equal(pt, pts[rows]);
        assert_close(w1, wb[rows][0], 0, 0);
        assert_close(w2, wb[rows][1], 0, 0);
        assert_close(b, wb[rows][2], 0, 0);
        rows++;
    }
    assert_int_equal(rows, n);
}

static void test_lesson4_perceptron_tables_match_notes(void **state)
{
    (void)state;
    run("04_perceptron", "");
    static const char *const pa[9] = { "-", "M1", "M3", "M3", "M3", "M1", "M3", "M3", "none" };
    static const double wa[9][3] = { { 0, 0, 0 },  { 3, 3, 1 },  { 2, 2, 0 },
                                     { 1, 1, -1 }, { 0, 0, -2 }, { 3, 3, -1 },
                                     { 2, 2, -2 }, { 1, 1, -3 }, { 1, 1, -3 } };
    check_table('A', 9, pa, wa);
    static const char *const pb[13] = { "-",  "M1", "M3", "M3", "M3", "M2", "M3",
                                        "M3", "M3", "M1", "M3", "M3", "none" };
    static const double wb[13][3] = { { 0, 0, 0 },  { 3, 3, 1 },  { 2, 2, 0 },  { 1, 1, -1 },
                                       { 0, 0, -2 }, { 4, 3, -1 }, { 3, 2, -2 }, { 2, 1, -3 },
                                       { 1, 0, -4 }, { 4, 3, -3 }, { 3, 2, -4 }, { 2, 1, -5 },
                                       { 2, 1, -5 } };
    check_table('B', 13, pb, wb);
    assert_close(get("A.updates"), 7, 0, 0);
    assert_close(get("B.updates"), 11, 0, 0);
    assert_non_null(strstr(out, "x1 + x2 - 3\n"));           /* f(x) = sign(x1 + x2 - 3) */
    assert_non_null(strstr(out, "2x1 + x2 - 5\n"));
    /* the first update's gradient, read off the tape: dL/dw = -y x = (-3, -3) */
    assert_non_null(strstr(out, "  ∂L/∂w = [-3 -3] (shape 2)\n"));
    renders("04_perceptron_step1");
}

/* Maximum likelihood (same notes, 1. 知识引入): the urn gives p = 0.7; logistic
 * regression's gradient is sum (p(x_i) - y_i) x_i; the fitted parameters are checked
 * against Newton's method run here in double. */
static void newton_logistic(double th[3])
{
    static const double X[8][2] = { { 3, 3 }, { 4, 3 }, { 2, 3.5 }, { 1.5, 1.5 },
                                    { 1, 1 }, { 2, 1 }, { 0.5, 2 }, { 3, 1.5 } };
    static const double Y[8] = { 1, 1, 1, 1, 0, 0, 0, 0 };
    th[0] = th[1] = th[2] = 0;
    for (int it = 0; it < 50; it++) {
        double g[3] = { 0 }, H[3][4] = { { 0 } };
        for (int i = 0; i < 8; i++) {
            double a[3] = { X[i][0], X[i][1], 1 };
            double p = sigmoid(th[0] * a[0] + th[1] * a[1] + th[2]);
            for (int r = 0; r < 3; r++) {
                g[r] += (p - Y[i]) * a[r];
                for (int c = 0; c < 3; c++) H[r][c] += p * (1 - p) * a[r] * a[c];
            }
        }
        for (int r = 0; r < 3; r++) H[r][3] = g[r];
        for (int c = 0; c < 3; c++)                 /* Gauss-Jordan, H is SPD */
            for (int r = 0; r < 3; r++) {
                if (r == c) continue;
                double f = H[r][c] / H[c][c];
                for (int k = c; k < 4; k++) H[r][k] -= f * H[c][k];
            }
        for (int r = 0; r < 3; r++) th[r] -= H[r][3] / H[r][r];
    }
}

static void test_lesson5_mle_urn_and_logistic_regression(void **state)
{
    (void)state;
    run("05_logistic_mle", "-q");
    assert_close(get("urn dl/dp(0.5)"), 80, TOL(1e-12, 1e-4), 0);   /* 70/0.5 - 30/0.5 */
    assert_close(get("urn dl/dp(0.7)"), 0, TOL(1e-9, 1e-4), 0);
    assert_close(get("urn p"), 0.7, TOL(1e-9, 1e-5), 0);
    assert_close(get("grad check"), 0, TOL(1e-12, 1e-5), 0);
    double th[3];
    newton_logistic(th);
    assert_close(get("w1"), th[0], TOL(1e-6, 1e-4), 0);
    assert_close(get("w2"), th[1], TOL(1e-6, 1e-4), 0);
    assert_close(get("b"), th[2], TOL(1e-6, 1e-4), 0);
    assert_close(get("J"), 2.6860570860887396, TOL(1e-9, 1e-5), 0);   /* J at the optimum */
    assert_close(get("fused J"), get("J"), TOL(1e-12, 1e-5), 0);
    assert_close(get("accuracy"), 0.875, 0, 0);
    renders("05_logistic_regression");
}

/* lecture-backprop-math.md: X = (-0.1, 0.2, 0.3), the notes' W_IH and W_HO, sigmoid
 * layers, C = (1/N_o) sum (Y* - Y)², target Y* = (1, 0) (the lesson's choice).
 * Expected values: the closed-form formulas in double (NumPy):
 *   s = 1/(1+exp(-z)); h = s(X@W1); y = s(h@W2); d2 = (y-T)*y*(1-y);
 *   d1 = (d2@W2.T)*h*(1-h); C = ((T-y)**2).mean() */
static void test_lesson6_deltas_by_hand_equal_the_tape(void **state)
{
    (void)state;
    run("06_backprop_352", "-q");
    static const double H[5] = { 0.51499550161941, 0.5379270059740935, 0.5274723043445937,
                                 0.7109495026250039, 0.5473576181430894 };
    static const double Y[2] = { 0.4349076699109996, 0.845597027000563 };
    static const double d2[2] = { -0.1388787798570324, 0.11040342666861293 };
    static const double d1[5] = { -0.0007112435184850546, -0.0033650458886635725,
                                  0.07909110855995868, -0.0003439132577583841,
                                  0.030175240192714666 };
    double tol = TOL(1e-12, 1e-6);
    char key[32];
    for (int i = 0; i < 5; i++) {
        snprintf(key, sizeof key, "H[%d]", i + 1);
        assert_close_i(get(key), H[i], tol, 0, i);
        snprintf(key, sizeof key, "delta1[%d]", i + 1);
        assert_close_i(get(key), d1[i], tol, 0, i);
    }
    for (int i = 0; i < 2; i++) {
        snprintf(key, sizeof key, "Y[%d]", i + 1);
        assert_close_i(get(key), Y[i], tol, 0, i);
        snprintf(key, sizeof key, "delta2[%d]", i + 1);
        assert_close_i(get(key), d2[i], tol, 0, i);
    }
    assert_close(get("C"), 0.5171818367988034, tol, 0);
    /* the hand-derived δ's and weight gradients equal the tape's: 1e-6 is the bound
     * asked for in double; this build meets much tighter */
    assert_true(get("diff delta2") <= TOL(1e-12, 1e-6));
    assert_true(get("diff delta1") <= TOL(1e-12, 1e-6));
    assert_true(get("diff dC/dW_HO") <= TOL(1e-12, 1e-6));
    assert_true(get("diff dC/dW_IH") <= TOL(1e-12, 1e-6));
    assert_true(get("diff forward") <= TOL(1e-12, 1e-6));
    renders("06_backprop_352");
}

/* lecture-nn-softmax-ce-backprop.md: ∂L/∂z⁽³⁾ = ŷ - y (the lesson's own numbers). */
static void test_lesson7_softmax_cross_entropy_gradient_is_yhat_minus_y(void **state)
{
    (void)state;
    run("07_softmax_232", "-q");
    /* forward in double: z2 = W1 x + b1, x2 = σ(z2), z3 = W2 x2 + b2, ŷ = softmax(z3) */
    const double x[2] = { 0.5, -1 }, W1[3][2] = { { 0.2, -0.4 }, { 0.7, 0.1 }, { -0.3, 0.5 } };
    const double b1[3] = { 0.1, -0.2, 0.05 }, W2[2][3] = { { 0.6, -0.1, 0.3 }, { -0.5, 0.4, 0.2 } };
    const double b2[2] = { 0, 0.1 };
    double a[3], z3[2];
    for (int j = 0; j < 3; j++) a[j] = sigmoid(W1[j][0] * x[0] + W1[j][1] * x[1] + b1[j]);
    for (int k = 0; k < 2; k++) z3[k] = W2[k][0] * a[0] + W2[k][1] * a[1] + W2[k][2] * a[2] + b2[k];
    double e0 = exp(z3[0]), e1 = exp(z3[1]), y0 = e0 / (e0 + e1), y1 = e1 / (e0 + e1);
    double tol = TOL(1e-12, 1e-6);
    assert_close(get("yhat[1]"), y0, tol, 0);
    assert_close(get("yhat[2]"), y1, tol, 0);
    assert_close(get("L"), -log(y1), tol, 0);                /* y = (0, 1) */
    assert_close(get("dL/dz3[1]"), y0 - 0, tol, 0);
    assert_close(get("dL/dz3[2]"), y1 - 1, tol, 0);
    assert_true(get("diff dL/dz3") <= tol);
    assert_true(get("diff dL/db2") <= tol);
    assert_true(get("diff dL/dW2") <= tol);
    assert_true(get("diff dL/dz2") <= tol);
    assert_true(get("diff dL/dW1") <= tol);
    assert_true(get("diff fused") <= tol);
    renders("07_softmax_232");
}

/* XOR (lecture-neural-networks-mle-perceptron-backprop.md, 异或问题): the best linear
 * model is p = 0.5 everywhere (loss ln 2); two layers get all four points. */
static void test_lesson8_xor_one_layer_fails_two_layers_succeed(void **state)
{
    (void)state;
    run("08_xor", "");
    assert_close(get("one-layer loss"), log(2.0), 1e-4, 0);
    assert_true(get("one-layer correct") <= 3);
    assert_close(get("two-layer correct"), 4, 0, 0);
    assert_true(get("two-layer loss") < 0.01);
    assert_non_null(strstr(out, "#####1#####"));             /* the ASCII picture */
    renders("08_xor_two_layers");
}

/* Vanishing gradients (lecture-mlp-backprop-autodiff-training.md, 梯度消失): with
 * sigmoid the gradient norm grows layer after layer towards the output, by orders
 * of magnitude overall; with ReLU + He init it stays of one size. */
static void test_lesson9_sigmoid_gradients_vanish_relu_ones_do_not(void **state)
{
    (void)state;
    run("09_vanishing", "-q");
    char key[48];
    double prev = 0;
    for (int l = 1; l <= 10; l++) {
        snprintf(key, sizeof key, "sigmoid layer%d", l);
        double v = get(key);
        assert_true(v > prev);
        prev = v;
    }
    assert_true(get("sigmoid layer1/layer10") < 1e-3);
    double r = get("relu layer1/layer10");
    assert_true(r > 0.2 && r < 5);
    renders("09_vanishing_sigmoid");
}

/* The training-curve plotter: the demo overfits (validation loss turns up), and a
 * log in the training program's format (with "nan" validation cells) is plotted. */
static void test_lesson10_training_curve_demo_and_train_log(void **state)
{
    (void)state;
    run("10_training_curve", "-q");
    assert_close(get("epochs"), 400, 0, 0);
    double best = get("best epoch");
    assert_true(best > 1 && best < 400);
    assert_true(get("best val loss") < get("final val loss"));
    assert_true(get("final train loss") < get("best val loss"));

    char csv[256], svg[256], args[300];
    snprintf(csv, sizeof csv, "%s/train_log.csv", g_dir);
    FILE *f = fopen(csv, "w");
    assert_non_null(f);
    fputs("epoch,step,train_loss,train_acc,val_loss,val_acc,lr,seconds,samples_per_second\n"
          "1,100,0.9,0.6,nan,nan,0.1,1.0,1000\n2,200,0.5,0.8,nan,nan,0.1,1.0,1000\n"
          "3,300,0.4,0.9,nan,nan,0.1,1.0,1000\n", f);
    fclose(f);
    snprintf(args, sizeof args, "%s -q", csv);
    run("10_training_curve", args);
    assert_close(get("epochs"), 3, 0, 0);
    assert_close(get("final train loss"), 0.4, 1e-12, 0);
    assert_null(strstr(out, "best epoch"));                   /* no validation column */
    snprintf(svg, sizeof svg, "%s/10_training_curve.svg", g_dir);
    f = fopen(svg, "r");
    assert_non_null(f);
    char head[8] = "";
    assert_non_null(fgets(head, sizeof head, f));
    fclose(f);
    assert_memory_equal(head, "<svg", 4);
}

/* Convolution by hand (the lesson's own numbers; no notes give a worked example):
 * x = 1 2 0 1 / 0 1 3 1 / 2 1 0 2 / 1 0 1 3, w = 1 2 / -1 1, no padding, stride 1,
 * y[p][q] = sum_ij w[i][j] x[p+i][q+j]; L = sum c·y with c = 1 0 2 / -1 1 0 / 0 1 1;
 * dL/dw[i][j] = sum_pq c[p][q] x[p+i][q+j]; dL/dx[r][s] = sum_pq c[p][q] w[r-p][s-q].
 * Integers: exact in both precisions. Part 2 (scalar nodes on the 2x3 corner),
 * L2 = y[0][0] + 2 y[0][1]: dL2/dw[i][j] = x[i][j] + 2 x[i][j+1]. */
static void test_lesson11_conv_gradients_are_sums_over_positions(void **state)
{
    (void)state;
    run("11_convolution", "");
    static const double y[9] = { 6, 4, 0, 1, 6, 7, 3, 2, 6 };
    static const double dw[4] = { 3, 8, 6, 6 }, dw2[4] = { 5, 2, 2, 7 };
    static const double dx[16] = { 1, 2, 2, 4, -2, 0, 0, 2, 1, -1, 4, 2, 0, -1, 0, 1 };
    char key[32];
    for (int k = 0; k < 9; k++) {
        snprintf(key, sizeof key, "y[%d][%d]", k / 3, k % 3);
        assert_close_i(get(key), y[k], 0, 0, k);
    }
    assert_close(get("L"), 19, 0, 0);                 /* 6 - 1 + 6 + 2 + 6 */
    for (int k = 0; k < 4; k++) {
        snprintf(key, sizeof key, "dL/dw[%d][%d]", k / 2, k % 2);
        assert_close_i(get(key), dw[k], 0, 0, k);
        snprintf(key, sizeof key, "dL2/dw[%d][%d]", k / 2, k % 2);
        assert_close_i(get(key), dw2[k], 0, 0, k);
    }
    for (int k = 0; k < 16; k++) {
        snprintf(key, sizeof key, "dL/dx[%d][%d]", k / 4, k % 4);
        assert_close_i(get(key), dx[k], 0, 0, k);
    }
    assert_close(get("y0"), 6, 0, 0);
    assert_close(get("y1"), 4, 0, 0);
    assert_close(get("L2"), 14, 0, 0);
    /* the printed sums, and the trace's two paths into w00 (x01 = 2 via y1, x00 = 1 via y0) */
    assert_non_null(strstr(out, "  y[1][2] = 1·3 + 2·1 + -1·0 + 1·2 = 7\n"));
    assert_non_null(strstr(out, "  dL/dw[0][1] = 1·2 + 0·0 + 2·1 + -1·1 + 1·3 + 0·1 + 0·1 + "
                                "1·0 + 1·2 = 8   (backward: 8)\n"));
    assert_non_null(strstr(out, "  ∂L2/∂w00 (via w00*x01) = 2·x01 = 2·2 = 4\n"));
    assert_non_null(strstr(out, "  ∂L2/∂w00 = 5\n"));
    renders("11_convolution");
    renders("11_convolution_scalar");
}

/* A 3x3 kernel, stride 1, padding 1, one channel, 50x50 image (issue 14's setting of
 * the book's exercise): conv 3·3 + 1 = 10 parameters; a dense layer with the same
 * 2500 outputs 2500·2500 + 2500 = 6252500; of its weights only the 148² = 21904 inside
 * a window can be non-zero (50·3 - 2 = 148 per axis). */
static void test_lesson12_dense_layer_needs_6252490_more_parameters(void **state)
{
    (void)state;
    run("12_conv_params", "-q");
    assert_close(get("conv params"), 10, 0, 0);
    assert_close(get("dense params"), 6252500, 0, 0);
    assert_close(get("difference"), 6252490, 0, 0);
    assert_close(get("ratio"), 625250, 0, 0);
    assert_close(get("dense weights non-zero"), 21904, 0, 0);
    assert_close(get("max |conv - dense|"), 0, 0, 0);     /* integers: exact */
    assert_close(get("max |dw - shared dW|"), 0, 0, 0);
    renders("12_conv_params");
}

/* Lesson 13 by the closed form, computed here independently of the tape: h_t =
 * tanh(w h_{t-1} + u x_t), h_0 = 0, x = (1, -0.5, 2), w = 0.8, u = 0.6, L = (h_3 - y)²/2,
 * y = 0.2; δ_3 = h_3 - y, a_t = δ_t (1 - h_t²), δ_{t-1} = a_t w; step t contributes
 * a_t h_{t-1} to ∂L/∂w and a_t x_t to ∂L/∂u (h_1 = 0.5370496, ∂L/∂w = 0.0935410,
 * ∂L/∂u = 0.3485180). The per-step copies must sum to the shared weight's gradient. */
static void test_lesson13_bptt_steps_sum_to_the_shared_gradient(void **state)
{
    (void)state;
    run("13_bptt", "-q");
    const double x[3] = { 1, -0.5, 2 }, w = 0.8, u = 0.6, y = 0.2;
    double h[4] = { 0 }, cw[3], cu[3], dh[4];
    for (int t = 1; t <= 3; t++) h[t] = tanh(w * h[t - 1] + u * x[t - 1]);
    double d = h[3] - y, sw = 0, su = 0;
    for (int t = 3; t >= 1; t--) {
        dh[t] = d;
        double a = d * (1 - h[t] * h[t]);
        cw[t - 1] = a * h[t - 1], cu[t - 1] = a * x[t - 1];
        sw += cw[t - 1], su += cu[t - 1];
        d = a * w;
    }
    double tol = TOL(1e-12, 2e-6);
    char key[48];
    for (int t = 1; t <= 3; t++) {
        snprintf(key, sizeof key, "h%d", t);
        assert_close(get(key), h[t], tol, 0);
        snprintf(key, sizeof key, "delta%d", t);
        assert_close(get(key), dh[t], tol, 0);
        snprintf(key, sizeof key, "dL/dw step%d", t);
        assert_close(get(key), cw[t - 1], tol, 0);
        snprintf(key, sizeof key, "dL/du step%d", t);
        assert_close(get(key), cu[t - 1], tol, 0);
    }
    assert_close(get("loss"), 0.5 * (h[3] - y) * (h[3] - y), tol, 0);
    assert_close(get("dL/dw"), sw, tol, 0);
    assert_close(get("dL/du"), su, tol, 0);
    assert_close(get("dL/dw shared"), sw, tol, 0);
    assert_close(get("dL/du shared"), su, tol, 0);
    assert_close(get("dL/dw step1"), 0, 0, 0);             /* h_0 = 0 */
    renders("13_bptt");
}

/* Lesson 14: with W = s·P (P orthogonal), |∂L/∂h_1| / |∂L/∂h_50| = s^49 exactly
 * (0.9^49 = 0.0057264, 1.2^49 = 7583.70), |∂L/∂h_50| = |h_50| = s^49; for s = 1.2 an
 * unclipped SGD step overflows the loss (or makes it astronomically large) while
 * the clipped one lowers it; the picture is an SVG. */
static void test_lesson14_gradients_vanish_and_explode_as_s_to_the_49(void **state)
{
    (void)state;
    run("14_rnn_gradients", "-q");
    double tol = TOL(1e-12, 2e-5);
    assert_close(get("ratio s=0.9"), pow(0.9, 49), 0, tol);
    assert_close(get("ratio s=1"), 1, 0, tol);
    assert_close(get("ratio s=1.2"), pow(1.2, 49), 0, tol);
    assert_close(get("grad h50 s=0.9"), pow(0.9, 49), 0, tol);
    assert_close(get("grad h50 s=1.2"), pow(1.2, 49), 0, tol);
    assert_close(get("loss before step"), 0.5 * pow(1.2, 98), 0, tol);
    double un = get("loss after unclipped step"), cl = get("loss after clipped step");
    assert_true(!(un < 1e30));                                /* inf, or beyond 1e30 */
    assert_true(cl < get("loss before step"));
    assert_true(get("grad norm W s=1.2") > 1e9);
    char svg[256];
    snprintf(svg, sizeof svg, "%s/14_rnn_gradients.svg", g_dir);
    FILE *f = fopen(svg, "r");
    assert_non_null(f);
    char head[8] = "";
    assert_non_null(fgets(head, sizeof head, f));
    fclose(f);
    assert_memory_equal(head, "<svg", 4);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lesson1_chain_rule_matches_notes_and_trace),
        cmocka_unit_test(test_lesson2_exp_max_gives_2e12_and_25e12),
        cmocka_unit_test(test_lesson3_neuron_gradients_and_or_gate),
        cmocka_unit_test(test_lesson4_perceptron_tables_match_notes),
        cmocka_unit_test(test_lesson5_mle_urn_and_logistic_regression),
        cmocka_unit_test(test_lesson6_deltas_by_hand_equal_the_tape),
        cmocka_unit_test(test_lesson7_softmax_cross_entropy_gradient_is_yhat_minus_y),
        cmocka_unit_test(test_lesson8_xor_one_layer_fails_two_layers_succeed),
        cmocka_unit_test(test_lesson9_sigmoid_gradients_vanish_relu_ones_do_not),
        cmocka_unit_test(test_lesson10_training_curve_demo_and_train_log),
        cmocka_unit_test(test_lesson11_conv_gradients_are_sums_over_positions),
        cmocka_unit_test(test_lesson12_dense_layer_needs_6252490_more_parameters),
        cmocka_unit_test(test_lesson13_bptt_steps_sum_to_the_shared_gradient),
        cmocka_unit_test(test_lesson14_gradients_vanish_and_explode_as_s_to_the_49),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
