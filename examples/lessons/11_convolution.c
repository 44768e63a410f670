/* Lesson 11 — convolution as a computation graph: a 4×4 image, a 2×2 kernel.
 *
 * Idea. A convolution layer (cr_conv2d, PyTorch's nn.Conv2d; stride 1, no padding,
 * no bias here) slides the kernel w over the image x; each output is the sum of 4
 * products of a weight and the pixel under it:
 *     y[p][q] = Σ_{i,j} w[i][j] · x[p+i][q+j]        p, q = 0..2   (3×3 outputs)
 * The SAME weight w[i][j] is used at all 9 positions, so (multivariate chain rule,
 * as x in lesson 1) its gradient is the SUM over the positions of "incoming
 * gradient times local derivative", and the local derivative ∂y[p][q]/∂w[i][j] is
 * the pixel the weight touched there:
 *     ∂L/∂w[i][j] = Σ_{p,q} ∂L/∂y[p][q] · x[p+i][q+j]
 * The loss is a weighted sum L = Σ c[p][q]·y[p][q], so that ∂L/∂y = c can be read
 * off directly (with c all ones, each ∂L/∂w[i][j] would just be a sum of 9 pixels).
 * Each pixel's gradient is the other way round: the sum over the outputs that read
 * it of ∂L/∂y times the weight that multiplied it.
 *
 *     x = 1 2 0 1     w =  1 2     c =  1 0 2
 *         0 1 3 1         -1 1         -1 1 0
 *         2 1 0 2                       0 1 1
 *         1 0 1 3
 * Expected, by hand (both precisions, exact):
 *     y = 6 4 0 / 1 6 7 / 3 2 6,   L = 1·6 - 1·1 + 1·6 + 1·2 + 1·6 = 19
 *     ∂L/∂w = 3 8 / 6 6   (e.g. ∂L/∂w[0][0] = Σ c·x[p][q] = 1·1 + 1·1 + 1·1 = 3,
 *                          the other six products being 0)
 *     L is linear in w, so L = Σ w·∂L/∂w = 3 + 16 - 6 + 6 = 19.
 *     ∂L/∂x = 1 2 2 4 / -2 0 0 2 / 1 -1 4 2 / 0 -1 0 1   (e.g. ∂L/∂x[1][1], read by all
 *             four outputs y[0..1][0..1]: c00·w11 + c01·w10 + c10·w01 + c11·w00
 *             = 1·1 + 0·(-1) + (-1)·2 + 1·1 = 0)
 * Part 2 builds the top-left corner (2×3 image → 2 outputs) from scalar mul/add
 * nodes, L2 = y0 + 2·y1, so the trace prints every chain-rule step: each weight
 * feeds two mul nodes and its gradient is the sum of the two paths:
 *     y0 = 6, y1 = 4, L2 = 14, ∂L2/∂w = 5 2 / 2 7 (= 1·x[i][j] + 2·x[i][j+1]).
 * Source: lecture-mlp-backprop-autodiff-training.md, 其它类型神经网络 (卷积神经网络:
 * 卷积核每次只计算局部的特征); the numbers are the lesson's own.
 *
 * Output: the sums of products, the gradient sums (checked against backward; exit
 * status 1 if they differ), the trace, the tape, pictures 11_convolution.dot and
 * 11_convolution_scalar.dot, and result lines y[p][q], L, dL/dw[i][j], dL/dx[r][s],
 * L2, dL2/dw[i][j]. */
#include <math.h>

#include "lesson.h"

static const cr_real X[4][4] = { { 1, 2, 0, 1 }, { 0, 1, 3, 1 }, { 2, 1, 0, 2 }, { 1, 0, 1, 3 } };
static const cr_real W[2][2] = { { 1, 2 }, { -1, 1 } };
static const cr_real C[3][3] = { { 1, 0, 2 }, { -1, 1, 0 }, { 0, 1, 1 } };

/* A hand sum and the tape's number must agree (integers: exact in both precisions). */
static int agree(const char *what, double hand, double tape)
{
    if (fabs(hand - tape) <= 1e-9 * fmax(1, fabs(hand))) return 1;
    fprintf(stderr, "error: %s: by hand %g, backward %g\n", what, hand, tape);
    return 0;
}

/* Part 1: one cr_conv2d node on the whole image. */
static int conv_node(const lesson *L)
{
    int sx[4] = { 1, 1, 4, 4 }, sw[4] = { 1, 1, 2, 2 }, sc[4] = { 1, 1, 3, 3 };
    cr_tape *t = cr_tape_new(0);
    if (!t) return 0;
    cr_tensor *x = cr_tensor_label(cr_var(t, 4, sx, &X[0][0]), "x");
    cr_tensor *w = cr_tensor_label(cr_var(t, 4, sw, &W[0][0]), "w");
    cr_tensor *c = cr_tensor_label(cr_const(t, 4, sc, &C[0][0]), "c");
    cr_tensor *y = cr_tensor_label(cr_conv2d(t, x, w, NULL, NULL), "y");
    cr_tensor *loss = cr_tensor_label(cr_sum(t, cr_tensor_label(cr_mul(t, c, y), "c*y")), "L");
    if (!tape_ok(t)) return 0;

    say(L, "Part 1: y = conv2d(x, w), one node; L = sum(c*y)\n\nforward, y[p][q] = "
           "w00·x[p][q] + w01·x[p][q+1] + w10·x[p+1][q] + w11·x[p+1][q+1]:\n");
    int ok = 1;
    char key[32];
    for (int p = 0; p < 3; p++)
        for (int q = 0; q < 3; q++) {
            double s = 0;
            say(L, "  y[%d][%d] =", p, q);
            for (int i = 0; i < 2; i++)
                for (int j = 0; j < 2; j++) {
                    s += W[i][j] * X[p + i][q + j];
                    say(L, "%s %g·%g", i + j ? " +" : "", (double)W[i][j],
                        (double)X[p + i][q + j]);
                }
            say(L, " = %g\n", s);
            snprintf(key, sizeof key, "y[%d][%d]", p, q);
            ok &= agree(key, s, y->data[3 * p + q]);
        }
    say(L, "L = sum of c[p][q]·y[p][q] = %g\n\nbackward (the trace):\n", (double)cr_item(loss));
    cr_tape_set_trace(t, L->out);
    if (cr_backward(t, loss) != CR_OK || !tape_ok(t)) return 0;
    cr_tape_set_trace(t, NULL);

    say(L, "\nby hand: dL/dy = c, and dL/dw[i][j] = sum over p,q of c[p][q]·x[p+i][q+j]:\n");
    double lw = 0;
    for (int i = 0; i < 2; i++)
        for (int j = 0; j < 2; j++) {
            double s = 0;
            say(L, "  dL/dw[%d][%d] =", i, j);
            for (int p = 0; p < 3; p++)
                for (int q = 0; q < 3; q++) {
                    s += C[p][q] * X[p + i][q + j];
                    say(L, "%s %g·%g", p + q ? " +" : "", (double)C[p][q],
                        (double)X[p + i][q + j]);
                }
            say(L, " = %g   (backward: %g)\n", s, (double)w->grad[2 * i + j]);
            snprintf(key, sizeof key, "dL/dw[%d][%d]", i, j);
            ok &= agree(key, s, w->grad[2 * i + j]);
            lw += W[i][j] * s;
        }
    say(L, "  L is linear in w: sum of w·dL/dw = %g = L\n", lw);
    ok &= agree("L = sum w dL/dw", lw, cr_item(loss));

    say(L, "dL/dx[r][s] = sum over the outputs that read x[r][s] of c[p][q]·w[r-p][s-q]:\n");
    double dx[16];
    for (int r = 0; r < 4; r++) {
        say(L, " ");
        for (int s = 0; s < 4; s++) {
            double g = 0;
            for (int p = r - 1; p <= r; p++)
                for (int q = s - 1; q <= s; q++)
                    if (p >= 0 && p < 3 && q >= 0 && q < 3) g += C[p][q] * W[r - p][s - q];
            say(L, " %3g", g);
            snprintf(key, sizeof key, "dL/dx[%d][%d]", r, s);
            ok &= agree(key, g, x->grad[4 * r + s]);
            dx[4 * r + s] = x->grad[4 * r + s];
        }
        say(L, "\n");
    }
    say(L, "\nthe tape:\n");
    if (L->out) cr_tape_print(t, L->out);
    say(L, "\n");
    lesson_dot(L, t, "11_convolution");
    for (int k = 0; k < 9; k++) {
        snprintf(key, sizeof key, "y[%d][%d]", k / 3, k % 3);
        result(key, y->data[k]);
    }
    result("L", cr_item(loss));
    for (int k = 0; k < 4; k++) {
        snprintf(key, sizeof key, "dL/dw[%d][%d]", k / 2, k % 2);
        result(key, w->grad[k]);
    }
    for (int k = 0; k < 16; k++) {
        snprintf(key, sizeof key, "dL/dx[%d][%d]", k / 4, k % 4);
        result(key, dx[k]);
    }
    cr_tape_free(t);
    return ok;
}

/* Part 2: the top-left 2×3 corner from scalar nodes; the weights are the variables. */
static int scalar_nodes(const lesson *L)
{
    cr_tape *t = cr_tape_new(0);
    if (!t) return 0;
    char name[16];
    cr_tensor *w[2][2], *x[2][3], *y[2];
    for (int i = 0; i < 2; i++)
        for (int j = 0; j < 2; j++) {
            snprintf(name, sizeof name, "w%d%d", i, j);
            w[i][j] = cr_tensor_label(cr_scalar(t, W[i][j]), name);
        }
    for (int i = 0; i < 2; i++)
        for (int j = 0; j < 3; j++) {
            snprintf(name, sizeof name, "x%d%d", i, j);
            x[i][j] = cr_tensor_label(cr_scalar_const(t, X[i][j]), name);
        }
    for (int q = 0; q < 2; q++) {
        y[q] = NULL;
        for (int i = 0; i < 2; i++)
            for (int j = 0; j < 2; j++) {
                snprintf(name, sizeof name, "w%d%d*x%d%d", i, j, i, q + j);
                cr_tensor *m = cr_tensor_label(cr_mul(t, w[i][j], x[i][q + j]), name);
                y[q] = y[q] ? cr_add(t, y[q], m) : m;
            }
        snprintf(name, sizeof name, "y%d", q);
        cr_tensor_label(y[q], name);
    }
    cr_tensor *loss =
        cr_tensor_label(cr_add(t, y[0], cr_tensor_label(cr_scale(t, y[1], 2), "2*y1")), "L2");
    if (!tape_ok(t)) return 0;
    say(L, "Part 2: the 2x3 corner 1 2 0 / 0 1 3 from scalar nodes, y0 = y[0][0], "
           "y1 = y[0][1], L2 = y0 + 2·y1 = %g\n\nbackward (the trace):\n", (double)cr_item(loss));
    cr_tape_set_trace(t, L->out);
    if (cr_backward(t, loss) != CR_OK || !tape_ok(t)) return 0;
    cr_tape_set_trace(t, NULL);
    say(L, "\nby hand: each weight feeds two mul nodes, "
           "dL2/dw[i][j] = 1·x[i][j] + 2·x[i][j+1]:\n");
    int ok = 1;
    char key[32];
    double dw[4];
    for (int i = 0; i < 2; i++)
        for (int j = 0; j < 2; j++) {
            double s = X[i][j] + 2 * X[i][j + 1];
            say(L, "  dL2/dw%d%d = 1·%g + 2·%g = %g   (backward: %g)\n", i, j, (double)X[i][j],
                (double)X[i][j + 1], s, (double)cr_grad_item(w[i][j]));
            snprintf(key, sizeof key, "dL2/dw[%d][%d]", i, j);
            ok &= agree(key, s, cr_grad_item(w[i][j]));
            dw[2 * i + j] = cr_grad_item(w[i][j]);
        }
    say(L, "\n");
    lesson_dot(L, t, "11_convolution_scalar");
    result("y0", cr_item(y[0]));
    result("y1", cr_item(y[1]));
    result("L2", cr_item(loss));
    for (int k = 0; k < 4; k++) {
        snprintf(key, sizeof key, "dL2/dw[%d][%d]", k / 2, k % 2);
        result(key, dw[k]);
    }
    cr_tape_free(t);
    return ok;
}

int main(int argc, char **argv)
{
    lesson L;
    if (!lesson_args(&L, argc, argv,
                     "a 2x2 kernel on a 4x4 image: sums of products, weight gradients as sums "
                     "over positions, trace, pictures"))
        return 2;
    int ok = conv_node(&L);
    ok = scalar_nodes(&L) && ok;
    return ok ? 0 : 1;
}
