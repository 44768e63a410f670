/* Lesson 6 — backpropagation by hand and by tape: the notes' 3-5-2 network.
 *
 * Network (lecture-backprop-math.md, 简便表示 / 分类问题): row vector input
 * X = (-0.1, 0.2, 0.3), hidden H = σ(X·W_IH) (5 units), output Y = σ(H·W_HO)
 * (2 units), no biases, σ the logistic function, with the notes' weights W_IH (3x5)
 * and W_HO (5x2). Error (误差计算): e = Y* - Y, C = (1/N_o) sum_j e_j², N_o = 2.
 * The notes give no target; this lesson takes Y* = (1, 0).
 *
 * The δ of a layer is the gradient of C with respect to that layer's input
 * z (before σ). The notes derive, in column-vector form with W^l of shape out x in,
 *     δᴸ = ∇ₐC ⊙ σ′(zᴸ),   δˡ = ((Wˡ⁺¹)ᵀ δˡ⁺¹) ⊙ σ′(zˡ),   ∂C/∂Wˡ = δˡ (aˡ⁻¹)ᵀ.
 * Our weights are in x out (z = a·W, rows), so the same formulas read
 *     δ2 = (2/N_o)(Y - Y*) ⊙ Y(1-Y),  δ1 = (δ2 W_HOᵀ) ⊙ H(1-H),
 *     ∂C/∂W_HO = Hᵀ δ2,  ∂C/∂W_IH = Xᵀ δ1.
 * The lesson computes them by hand (plain C, double) and compares them with what
 * the tape leaves in z2->grad, z1->grad, W_HO->grad and W_IH->grad.
 * Sources: lecture-backprop-math.md (network, weights, error, Δ formulas) and
 * lecture-mlp-backprop-autodiff-training.md / book §4.4 (δ formulas).
 *
 * Expected output (double build; float agrees to ~7 digits):
 *     z1 = (0.06, 0.152, 0.11, 0.9, 0.19)
 *     H  = (0.5149955016, 0.537927006, 0.5274723043, 0.7109495026, 0.5473576181)
 *     z2 = (-0.2618553784, 1.700477026),  Y = (0.4349076699, 0.845597027)
 *     C  = 0.5171818368
 *     δ2 = (-0.1388787799, 0.1104034267)
 *     δ1 = (-0.0007112435, -0.0033650459, 0.0790911086, -0.0003439133, 0.0301752402)
 *     result diff delta2 = 0 ... (every |tape - hand| <= 1e-6 in double; ~1e-8 float)
 */
#include <math.h>

#include "lesson.h"

static const double Xv[3] = { -0.1, 0.2, 0.3 };
static const double WIH[3][5] = { { 0.1, 1.2, 0.3, 1, 1 },
                                  { -0.1, 0.01, 0.4, 2, 0.1 },
                                  { 0.3, 0.9, 0.2, 2, 0.9 } };
static const double WHO[5][2] = { { 0.1, 0.1 }, { -0.3, -0.5 }, { 0.1, 3 }, { 0.02, 0.01 },
                                  { -0.4, 0.6 } };
static const double Target[2] = { 1, 0 };

static double sig(double z) { return 1 / (1 + exp(-z)); }

static void show(const lesson *L, const char *name, const double *v, int n)
{
    say(L, "%-16s (", name);
    for (int i = 0; i < n; i++) say(L, "%s%.10g", i ? ", " : "", v[i]);
    say(L, ")\n");
}

static void results(const char *name, const cr_real *v, int n)
{
    for (int i = 0; i < n; i++) {
        char key[48];
        snprintf(key, sizeof key, "%s[%d]", name, i + 1);
        result(key, v[i]);
    }
}

static double max_diff(const cr_real *a, const double *b, int n)
{
    double m = 0;
    for (int i = 0; i < n; i++) m = fmax(m, fabs(a[i] - b[i]));
    return m;
}

int main(int argc, char **argv)
{
    lesson L;
    if (!lesson_args(&L, argc, argv, "the 3-5-2 network of the notes: deltas by tape and by hand"))
        return 2;
    /* ---- by hand, in double */
    double z1[5], h[5], z2[2], y[2], C = 0, d2[2], d1[5], gHO[5][2], gIH[3][5];
    for (int j = 0; j < 5; j++) {
        z1[j] = 0;
        for (int i = 0; i < 3; i++) z1[j] += Xv[i] * WIH[i][j];
        h[j] = sig(z1[j]);
    }
    for (int k = 0; k < 2; k++) {
        z2[k] = 0;
        for (int j = 0; j < 5; j++) z2[k] += h[j] * WHO[j][k];
        y[k] = sig(z2[k]);
        C += (Target[k] - y[k]) * (Target[k] - y[k]) / 2;
        d2[k] = (2.0 / 2) * (y[k] - Target[k]) * y[k] * (1 - y[k]);     /* ∇aC ⊙ σ'(z2) */
    }
    for (int j = 0; j < 5; j++) {
        d1[j] = (d2[0] * WHO[j][0] + d2[1] * WHO[j][1]) * h[j] * (1 - h[j]);
        for (int k = 0; k < 2; k++) gHO[j][k] = h[j] * d2[k];            /* Hᵀ δ2 */
        for (int i = 0; i < 3; i++) gIH[i][j] = Xv[i] * d1[j];           /* Xᵀ δ1 */
    }

    /* ---- by tape */
    int xs[2] = { 1, 3 }, ihs[2] = { 3, 5 }, hos[2] = { 5, 2 }, ts[2] = { 1, 2 };
    cr_tensor *Wih = cr_param_new(2, ihs), *Who = cr_param_new(2, hos);
    cr_tape *t = cr_tape_new(0);
    if (!Wih || !Who || !t) return 1;
    cr_tensor_set_name(Wih, "W_IH");
    cr_tensor_set_name(Who, "W_HO");
    for (int i = 0; i < 15; i++) Wih->data[i] = (cr_real)WIH[i / 5][i % 5];
    for (int i = 0; i < 10; i++) Who->data[i] = (cr_real)WHO[i / 2][i % 2];
    cr_real xr[3] = { (cr_real)Xv[0], (cr_real)Xv[1], (cr_real)Xv[2] };
    cr_real tr[2] = { (cr_real)Target[0], (cr_real)Target[1] };
    cr_tensor *X = cr_tensor_label(cr_const(t, 2, xs, xr), "X");
    cr_tensor *T = cr_tensor_label(cr_const(t, 2, ts, tr), "Y*");
    cr_tensor *Z1 = cr_tensor_label(cr_matmul(t, X, Wih, 0, 0), "z1");
    cr_tensor *H = cr_tensor_label(cr_sigmoid(t, Z1), "H");
    cr_tensor *Z2 = cr_tensor_label(cr_matmul(t, H, Who, 0, 0), "z2");
    cr_tensor *Y = cr_tensor_label(cr_sigmoid(t, Z2), "Y");
    cr_tensor *E = cr_tensor_label(cr_sub(t, T, Y), "e");
    cr_tensor *Cost = cr_tensor_label(cr_mean(t, cr_tensor_label(cr_square(t, E), "e^2")), "C");
    say(&L, "the backward pass, step by step:\n");
    cr_tape_set_trace(t, L.out);
    cr_backward(t, Cost);
    if (!tape_ok(t)) return 1;
    lesson_dot(&L, t, "06_backprop_352");

    say(&L, "\nforward (by hand):\n");
    show(&L, "z1 = X W_IH", z1, 5);
    show(&L, "H = sigma(z1)", h, 5);
    show(&L, "z2 = H W_HO", z2, 2);
    show(&L, "Y = sigma(z2)", y, 2);
    say(&L, "%-16s %.10g   (tape: %.10g)\n", "C", C, (double)cr_item(Cost));
    say(&L, "\nbackward: delta by hand vs from the tape (z->grad)\n");
    show(&L, "delta2 by hand", d2, 2);
    say(&L, "delta2 tape      (%.10g, %.10g)\n", (double)Z2->grad[0], (double)Z2->grad[1]);
    show(&L, "delta1 by hand", d1, 5);
    say(&L, "delta1 tape      (");
    for (int j = 0; j < 5; j++) say(&L, "%s%.10g", j ? ", " : "", (double)Z1->grad[j]);
    say(&L, ")\n\n");

    results("H", H->data, 5);                  /* from the tape */
    results("Y", Y->data, 2);
    result("C", cr_item(Cost));
    results("delta2", Z2->grad, 2);
    results("delta1", Z1->grad, 5);
    result("diff forward", fmax(max_diff(H->data, h, 5), max_diff(Y->data, y, 2)));
    result("diff delta2", max_diff(Z2->grad, d2, 2));
    result("diff delta1", max_diff(Z1->grad, d1, 5));
    result("diff dC/dW_HO", max_diff(Who->grad, &gHO[0][0], 10));
    result("diff dC/dW_IH", max_diff(Wih->grad, &gIH[0][0], 15));
    cr_tape_free(t);
    cr_tensor_free(Wih);
    cr_tensor_free(Who);
    return 0;
}
