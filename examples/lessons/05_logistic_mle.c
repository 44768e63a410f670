/* Lesson 5 — maximum likelihood: the urn, then logistic regression with cross-entropy.
 *
 * Part 1 (the notes' urn). 100 draws with replacement, 70 white. If p is the share
 * of white balls, the likelihood is p^70 (1-p)^30; its log
 *     l(p) = 70 ln p + 30 ln(1 - p),   dl/dp = 70/p - 30/(1 - p)
 * is 0 at p = 0.7: the maximum likelihood estimate. The tape gives dl/dp = 80 at
 * p = 0.5 (go up) and 0 at p = 0.7; gradient ascent on p = σ(θ) finds 0.7.
 * Part 2 (logistic regression). P(y=1|x) = p(x) = σ(w·x + b). Maximising the
 * log-likelihood sum y ln p + (1-y) ln(1-p) is minimising the cross-entropy
 *     J(w, b) = -sum_i [y_i ln p(x_i) + (1 - y_i) ln(1 - p(x_i))]
 * whose gradient is the notes' formula  dJ/dw = sum_i (p(x_i) - y_i) x_i,
 * dJ/db = sum_i (p(x_i) - y_i). J is built from primitive ops; the tape's
 * gradient is checked against that formula, then gradient descent (η = 0.2,
 * 2000 steps) fits a two-class set of 8 points that no line separates:
 *     class 1: (3,3) (4,3) (2,3.5) (1.5,1.5)     class 0: (1,1) (2,1) (0.5,2) (3,1.5)
 * Optimum (Newton's method in double): w = (0.4268106, 2.606157), b = -5.865059,
 * J = 2.686057, 7 of 8 points right. cr_bce_with_logits (fused, mean) agrees.
 * Source: lecture-neural-networks-mle-perceptron-backprop.md, 1. 知识引入 (极大似然
 * 估计: 估计白球比例 p = 0.7; 逻辑回归: L(w), J(w) = -L(w), dJ/dw = (p(x_i) - y_i) x_i).
 *
 * Expected output: the trace of dl/dp, then
 *     result urn dl/dp(0.5) = 80   result urn dl/dp(0.7) = 0   result urn p = 0.7
 *     result grad check = 0        result w1 = 0.4268105592    result w2 = 2.606156994
 *     result b = -5.865059371      result J = 2.686057086      result accuracy = 0.875
 */
#include <math.h>

#include "lesson.h"

static const cr_real X[8][2] = { { 3, 3 }, { 4, 3 }, { 2, 3.5 }, { 1.5, 1.5 },
                                 { 1, 1 }, { 2, 1 }, { 0.5, 2 }, { 3, 1.5 } };
static const cr_real Y[8] = { 1, 1, 1, 1, 0, 0, 0, 0 };

/* l(p) = 70 ln p + 30 ln(1 - p) */
static cr_tensor *log_likelihood(cr_tape *t, cr_tensor *p)
{
    cr_tensor *lp = cr_tensor_label(cr_log(t, p), "ln p");
    cr_tensor *q = cr_tensor_label(cr_add_scalar(t, cr_tensor_label(cr_neg(t, p), "-p"), 1),
                                   "1-p");
    cr_tensor *lq = cr_tensor_label(cr_log(t, q), "ln(1-p)");
    return cr_tensor_label(cr_add(t, cr_tensor_label(cr_scale(t, lp, 70), "70 ln p"),
                                  cr_tensor_label(cr_scale(t, lq, 30), "30 ln(1-p)")), "l");
}

/* J = -sum [y ln p + (1-y) ln(1-p)], p = sigmoid(X w + b); *fused: same with BCE. */
static cr_tensor *cross_entropy(cr_tape *t, cr_tensor *w, cr_tensor *b, cr_tensor **fused)
{
    int xs[2] = { 8, 2 }, ys[2] = { 8, 1 };
    cr_tensor *x = cr_tensor_label(cr_const(t, 2, xs, &X[0][0]), "x");
    cr_tensor *y = cr_tensor_label(cr_const(t, 2, ys, Y), "y");
    cr_tensor *z = cr_tensor_label(cr_linear(t, x, w, b), "z");          /* 8x1 */
    cr_tensor *p = cr_tensor_label(cr_sigmoid(t, z), "p");
    cr_tensor *one_y = cr_add_scalar(t, cr_neg(t, y), 1);
    cr_tensor *one_p = cr_add_scalar(t, cr_neg(t, p), 1);
    cr_tensor *ll = cr_add(t, cr_mul(t, y, cr_log(t, p)), cr_mul(t, one_y, cr_log(t, one_p)));
    if (fused) *fused = cr_scale(t, cr_bce_with_logits(t, z, y), 8);
    return cr_tensor_label(cr_neg(t, cr_sum(t, ll)), "J");
}

int main(int argc, char **argv)
{
    lesson L;
    if (!lesson_args(&L, argc, argv, "maximum likelihood: the urn, logistic regression"))
        return 2;
    cr_tape *t = cr_tape_new(0);
    if (!t) return 1;

    /* part 1: the urn */
    double dl[2];
    const cr_real at[2] = { 0.5, 0.7 };
    for (int i = 0; i < 2; i++) {
        cr_tape_reset(t);
        cr_tensor *p = cr_tensor_label(cr_scalar(t, at[i]), "p");
        cr_tape_set_trace(t, i == 0 ? L.out : NULL);
        say(&L, i == 0 ? "part 1: l(p) = 70 ln p + 30 ln(1-p) at p = 0.5\n" : "");
        cr_backward(t, log_likelihood(t, p));
        if (!tape_ok(t)) return 1;
        dl[i] = cr_grad_item(p);
        say(&L, "dl/dp at p = %g: %.6g   (by hand 70/p - 30/(1-p) = %.6g)\n", (double)at[i],
            dl[i], 70 / at[i] - 30 / (1 - at[i]));
    }
    cr_real theta = 0;                         /* p = sigmoid(theta) stays in (0, 1) */
    for (int it = 0; it < 200; it++) {
        cr_tape_reset(t);
        cr_tensor *th = cr_scalar(t, theta);
        cr_backward(t, log_likelihood(t, cr_sigmoid(t, th)));
        theta += (cr_real)0.01 * cr_grad_item(th);          /* ascent on l / 100 */
    }
    double p_hat = 1 / (1 + exp(-(double)theta));
    say(&L, "gradient ascent: p = %.6f\n\n", p_hat);

    /* part 2: logistic regression */
    int ws[2] = { 2, 1 }, one = 1;
    cr_tensor *w = cr_param_new(2, ws), *b = cr_param_new(1, &one);
    cr_tensor_set_name(w, "w");
    cr_tensor_set_name(b, "b");
    double check = 0, J = 0, Jf = 0;
    for (int it = 0; it <= 2000; it++) {
        cr_tape_reset(t);
        cr_tensor *fused = NULL;
        cr_tensor *loss = cross_entropy(t, w, b, it == 0 || it == 2000 ? &fused : NULL);
        cr_tape_set_trace(t, NULL);
        cr_tensor_zero_grad(w);
        cr_tensor_zero_grad(b);
        cr_backward(t, loss);
        if (!tape_ok(t)) return 1;
        if (it == 0) {                         /* the notes' formula, by hand */
            double g[3] = { 0, 0, 0 };
            for (int i = 0; i < 8; i++) {
                double pi = 1 / (1 + exp(-(w->data[0] * X[i][0] + w->data[1] * X[i][1] +
                                           b->data[0])));
                g[0] += (pi - Y[i]) * X[i][0];
                g[1] += (pi - Y[i]) * X[i][1];
                g[2] += pi - Y[i];
            }
            check = fmax(fabs(g[0] - w->grad[0]), fmax(fabs(g[1] - w->grad[1]),
                                                       fabs(g[2] - b->grad[0])));
            say(&L, "part 2: at w = 0, b = 0 the tape gives dJ/dw = (%g, %g), dJ/db = %g;\n"
                "        sum (p_i - y_i) x_i gives (%g, %g), %g\n", (double)w->grad[0],
                (double)w->grad[1], (double)b->grad[0], g[0], g[1], g[2]);
            lesson_dot(&L, t, "05_logistic_regression");
        }
        J = cr_item(loss);
        if (fused) Jf = cr_item(fused);
        if (it == 2000) break;
        for (int k = 0; k < 2; k++) w->data[k] -= (cr_real)0.2 * w->grad[k];
        b->data[0] -= (cr_real)0.2 * b->grad[0];
    }
    int right = 0;
    for (int i = 0; i < 8; i++)
        right += ((w->data[0] * X[i][0] + w->data[1] * X[i][1] + b->data[0]) > 0) == (Y[i] > 0);
    say(&L, "after 2000 steps: boundary %.4f x1 + %.4f x2 %+.4f = 0, J = %.6f, %d of 8 right\n\n",
        (double)w->data[0], (double)w->data[1], (double)b->data[0], J, right);

    result("urn dl/dp(0.5)", dl[0]);
    result("urn dl/dp(0.7)", dl[1]);
    result("urn p", p_hat);
    result("grad check", check);
    result("w1", w->data[0]);
    result("w2", w->data[1]);
    result("b", b->data[0]);
    result("J", J);
    result("fused J", Jf);
    result("accuracy", right / 8.0);
    cr_tensor_free(w);
    cr_tensor_free(b);
    cr_tape_free(t);
    return 0;
}
