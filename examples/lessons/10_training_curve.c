/* Lesson 10 — reading a training curve: overfitting and early stopping, as an SVG.
 *
 * Idea. Training loss always goes down; what matters is the loss on data the model
 * never trained on. When the training loss keeps falling but the validation loss
 * turns up, the model is memorising noise (过拟合): stop at the epoch with the lowest
 * validation loss (早停止). Demo: a 2-32-32-2 ReLU MLP, full-batch gradient descent
 * (η = 0.1) on 40 training points of a noisy disc (x ~ U(-1,1)², class 1 inside
 * x1² + x2² < 0.5, 20% of the labels flipped; seed 3), validated on 400 more.
 * It writes the log in the training program's CSV format and plots it.
 *
 *   10_training_curve [-o DIR]            run the demo, plot DIR/10_training_curve.svg
 *   10_training_curve LOG.csv [-o DIR]    plot a log of examples/train (--log FILE)
 * The CSV needs a header; the columns used are epoch, train_loss, train_acc,
 * val_loss, val_acc, found by name in any order (others are ignored, "nan" or an
 * empty cell is skipped). Left panel: losses; right panel: accuracies.
 * Source: lecture-mlp-backprop-autodiff-training.md (前馈神经网络的问题: 过拟合;
 * 缓解过拟合: 早停止策略, 验证集).
 *
 * Expected output: result epochs = 400, result best epoch (lowest validation loss,
 * well before the end), result best val loss < result final val loss, and the path
 * of the SVG ("picture ... .svg").
 */
#include <math.h>

#include "lesson.h"

enum { EPOCHS = 400, NTR = 40, NVA = 400, MAXROWS = 100000 };
static const char *COLS[5] = { "epoch", "train_loss", "train_acc", "val_loss", "val_acc" };

/* Demo: train and write the CSV log; returns 0 on success. With --html or --pages,
 * the page of the first training step (10_training_step1.html). */
static int demo(const char *csv, const lesson *L)
{
    static cr_real x[(NTR + NVA) * 2], y[NTR + NVA];
    cr_rng rng;
    cr_rng_seed(&rng, 3);
    for (int i = 0; i < NTR + NVA; i++) {
        double a = 2 * cr_rng_uniform(&rng) - 1, b = 2 * cr_rng_uniform(&rng) - 1;
        x[2 * i] = (cr_real)a, x[2 * i + 1] = (cr_real)b;
        y[i] = (a * a + b * b < 0.5) != (cr_rng_uniform(&rng) < 0.2);
    }
    int sizes[4] = { 2, 32, 32, 2 }, xs[2] = { NTR, 2 }, vs[2] = { NVA, 2 };
    cr_mlp *m = cr_mlp_new(4, sizes, CR_ACT_RELU, CR_ACT_NONE, &rng, NULL, 0);
    cr_tape *t = cr_tape_new(0);
    FILE *f = fopen(csv, "w");
    if (!m || !t || !f) return 1;
    fprintf(f, "epoch,train_loss,train_acc,val_loss,val_acc\n");
    for (int e = 1; e <= EPOCHS; e++) {
        double loss[2], acc[2];
        for (int part = 0; part < 2; part++) {          /* 0: train step, 1: validation */
            cr_tape_reset(t);
            int old = cr_tape_set_grad_mode(t, part == 0);
            cr_tensor *xt = cr_const(t, 2, part ? vs : xs, x + (part ? 2 * NTR : 0));
            cr_tensor *yt = cr_const(t, 1, part ? vs : xs, y + (part ? NTR : 0));
            cr_tensor *z = cr_mlp_forward(t, m, xt), *l = cr_softmax_cross_entropy(t, z, yt);
            if (!tape_ok(t)) return 1;
            int n = part ? NVA : NTR, right = 0;
            for (int i = 0; i < n; i++) right += (z->data[2 * i + 1] > z->data[2 * i]) == (yt->data[i] > 0);
            loss[part] = cr_item(l), acc[part] = (double)right / n;
            if (part == 0) {
                cr_params_zero_grad(cr_mlp_params(m));
                cr_backward(t, l);
                if (e == 1) lesson_html(L, t, "10_training_step1");
                for (size_t k = 0; k < cr_params_count(cr_mlp_params(m)); k++) {
                    cr_tensor *w = cr_params_get(cr_mlp_params(m), k);
                    for (size_t i = 0; i < w->size; i++) w->data[i] -= (cr_real)0.1 * w->grad[i];
                }
            }
            cr_tape_set_grad_mode(t, old);
        }
        fprintf(f, "%d,%.6f,%.6f,%.6f,%.6f\n", e, loss[0], acc[0], loss[1], acc[1]);
    }
    cr_mlp_free(m);
    cr_tape_free(t);
    return fclose(f) != 0;
}

/* Read the five columns (NAN where missing) into v[c][row]; returns the row count. */
static int read_log(const char *path, double (*v)[MAXROWS])
{
    FILE *f = fopen(path, "r");
    char line[4096];
    int col[5] = { -1, -1, -1, -1, -1 }, n = 0;
    if (!f || !fgets(line, sizeof line, f)) return f ? fclose(f), -1 : -1;
    char *tok = strtok(line, ",\r\n");
    for (int i = 0; tok; i++, tok = strtok(NULL, ",\r\n"))
        for (int c = 0; c < 5; c++) if (!strcmp(tok, COLS[c])) col[c] = i;
    while (n < MAXROWS && fgets(line, sizeof line, f)) {
        for (int c = 0; c < 5; c++) v[c][n] = NAN;
        char *p = line;
        for (int i = 0; p; i++) {
            char *end = strchr(p, ',');
            for (int c = 0; c < 5; c++)
                if (col[c] == i && p[0] != ',' && p[0] != '\n') v[c][n] = strtod(p, NULL);
            p = end ? end + 1 : NULL;
        }
        if (!isnan(v[0][n])) n++;
    }
    fclose(f);
    return col[0] < 0 ? -1 : n;
}

/* One panel: series a (blue) and b (orange) against epoch, at x offset ox; a dashed
 * line at epoch mark unless it is NAN. */
static void panel(FILE *f, int ox, const char *title, double (*v)[MAXROWS], int n, int a, int b,
                  double mark)
{
    double lo = INFINITY, hi = -INFINITY, e0 = v[0][0], e1 = v[0][n - 1];
    for (int i = 0; i < n; i++)
        for (int s = a; s <= b; s += b - a)
            if (!isnan(v[s][i])) lo = fmin(lo, v[s][i]), hi = fmax(hi, v[s][i]);
    if (!(hi > lo)) hi = lo + 1;
    if (!(e1 > e0)) e1 = e0 + 1;
    fprintf(f, "<g transform=\"translate(%d,0)\"><rect x=\"60\" y=\"40\" width=\"300\" height=\"220\" "
            "fill=\"none\" stroke=\"#888\"/><text x=\"210\" y=\"28\" text-anchor=\"middle\">%s</text>"
            "<text x=\"55\" y=\"45\" text-anchor=\"end\">%.3g</text><text x=\"55\" y=\"262\" "
            "text-anchor=\"end\">%.3g</text><text x=\"60\" y=\"278\">%g</text><text x=\"360\" "
            "y=\"278\" text-anchor=\"end\">epoch %g</text>\n", ox, title, hi, lo, e0, e1);
    if (!isnan(mark))
        fprintf(f, "<line x1=\"%.1f\" y1=\"40\" x2=\"%.1f\" y2=\"260\" stroke=\"#888\" "
                "stroke-dasharray=\"4,3\"/><text x=\"%.1f\" y=\"254\" fill=\"#555\">best "
                "epoch %g</text>\n", 60 + 300 * (mark - e0) / (e1 - e0),
                60 + 300 * (mark - e0) / (e1 - e0), 64 + 300 * (mark - e0) / (e1 - e0), mark);
    for (int s = a; s <= b; s += b - a) {
        fprintf(f, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"2\" points=\"",
                s == a ? "#1f77b4" : "#ff7f0e");
        for (int i = 0; i < n; i++)
            if (!isnan(v[s][i]))
                fprintf(f, "%.1f,%.1f ", 60 + 300 * (v[0][i] - e0) / (e1 - e0),
                        260 - 220 * (v[s][i] - lo) / (hi - lo));
        fprintf(f, "\"/><text x=\"%d\" y=\"%d\" fill=\"%s\">%s</text>\n", 250, s == a ? 60 : 76,
                s == a ? "#1f77b4" : "#ff7f0e", s == a ? "train" : "validation");
    }
    fputs("</g>\n", f);
}

int main(int argc, char **argv)
{
    lesson L;
    const char *csv = NULL;
    for (int i = 1; i < argc && !csv; i++) {              /* the one positional argument */
        if (!strcmp(argv[i], "-o") || !strcmp(argv[i], "--html") || !strcmp(argv[i], "--lang")) i++;
        else if (argv[i][0] != '-') csv = argv[i], memmove(argv + i, argv + i + 1,
                                                           (size_t)(argc-- - i) * sizeof *argv);
    }
    if (!lesson_args(&L, argc, argv, "training curve: [LOG.csv] (default: run the demo)")) return 2;
    char own[600], svg[600];
    if (make_dirs(L.dir) != 0) return fprintf(stderr, "cannot create %s\n", L.dir), 1;
    if (!csv) {
        snprintf(own, sizeof own, "%s/10_training_curve.csv", L.dir);
        if (demo(own, &L)) return fprintf(stderr, "demo failed\n"), 1;
        csv = own;
        say(&L, "demo log written to %s\n", own);
    }
    static double v[5][MAXROWS];
    int n = read_log(csv, v);
    if (n <= 0) return fprintf(stderr, "%s: no rows with an epoch column\n", csv), 1;
    snprintf(svg, sizeof svg, "%s/10_training_curve.svg", L.dir);
    FILE *f = fopen(svg, "w");
    if (!f) return fprintf(stderr, "cannot write %s\n", svg), 1;
    fprintf(f, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"800\" height=\"300\" "
            "font-family=\"Helvetica\" font-size=\"12\"><rect width=\"800\" height=\"300\" fill=\"white\"/>\n");
    int best = -1;
    for (int i = 0; i < n; i++)
        if (!isnan(v[3][i]) && (best < 0 || v[3][i] < v[3][best])) best = i;
    panel(f, 0, "loss", v, n, 1, 3, best >= 0 ? v[0][best] : NAN);
    panel(f, 400, "accuracy", v, n, 2, 4, best >= 0 ? v[0][best] : NAN);
    fputs("</svg>\n", f);
    if (fclose(f) != 0) return fprintf(stderr, "cannot write %s\n", svg), 1;
    say(&L, "%d epochs; final train loss %.4f", n, v[1][n - 1]);
    if (best >= 0)
        say(&L, "; lowest validation loss %.4f at epoch %g (final %.4f): stop there\n",
            v[3][best], v[0][best], v[3][n - 1]);
    printf("picture %s\n", svg);
    result("epochs", n);
    result("final train loss", v[1][n - 1]);
    if (best >= 0) {
        result("best epoch", v[0][best]);
        result("best val loss", v[3][best]);
        result("final val loss", v[3][n - 1]);
    }
    return 0;
}
