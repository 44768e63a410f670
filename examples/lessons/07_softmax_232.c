/* Lesson 7 — a 2-3-2 network with softmax and cross-entropy: ∂L/∂z = ŷ - y.
 *
 * Network (lecture-nn-softmax-ce-backprop.md, column vectors as in the notes):
 *     z⁽²⁾ = W⁽¹⁾x + b⁽¹⁾ (3),  x⁽²⁾ = σ(z⁽²⁾),  z⁽³⁾ = W⁽²⁾x⁽²⁾ + b⁽²⁾ (2),
 *     ŷ = softmax(z⁽³⁾),  L = -y₁ log ŷ₁ - y₂ log ŷ₂.
 * The notes derive ∂L/∂ŷ = (-y₁/ŷ₁, -y₂/ŷ₂), the softmax Jacobian
 * [[ŷ₁ŷ₂, -ŷ₁ŷ₂], [-ŷ₁ŷ₂, ŷ₁ŷ₂]] and their product ∂L/∂z⁽³⁾ = ŷ - y; then
 * ∂L/∂b⁽²⁾ = ∂L/∂z⁽³⁾, ∂L/∂W⁽²⁾ = ∂L/∂z⁽³⁾ x⁽²⁾ᵀ, ∂L/∂z⁽²⁾ = σ'(z⁽²⁾) ⊙ W⁽²⁾ᵀ ∂L/∂z⁽³⁾,
 * ∂L/∂W⁽¹⁾ = ∂L/∂z⁽²⁾ xᵀ. The notes give symbols only; the numbers here are ours:
 *     x = (0.5, -1), y = (0, 1) (class 2),
 *     W⁽¹⁾ = [[0.2, -0.4], [0.7, 0.1], [-0.3, 0.5]], b⁽¹⁾ = (0.1, -0.2, 0.05),
 *     W⁽²⁾ = [[0.6, -0.1, 0.3], [-0.5, 0.4, 0.2]],   b⁽²⁾ = (0, 0.1).
 * The graph is built from softmax, log, mul, sum, neg (so the tape really goes
 * through ∂L/∂ŷ and the Jacobian); the fused cr_softmax_cross_entropy must agree.
 *
 * Expected output (double; float to ~7 digits): the trace, then
 *     ŷ = (0.5961400848, 0.4038599152), L = 0.9066872058,
 *     ∂L/∂ŷ = (0, -2.476106101), ∂L/∂z⁽³⁾ = (0.5961400848, -0.5961400848) = ŷ - y,
 *     result diff dL/dz3 = 0 (|tape - (ŷ - y)|), result diff dL/dW2, dL/dz2, dL/dW1 ~ 0,
 *     result diff fused = 0.
 */
#include <math.h>

#include "lesson.h"

static const cr_real Xd[2] = { 0.5, -1 }, Yd[2] = { 0, 1 };
static const cr_real W1d[6] = { 0.2, -0.4, 0.7, 0.1, -0.3, 0.5 }, B1d[3] = { 0.1, -0.2, 0.05 };
static const cr_real W2d[6] = { 0.6, -0.1, 0.3, -0.5, 0.4, 0.2 }, B2d[2] = { 0, 0.1 };

static cr_tensor *param(int rows, int cols, const cr_real *v, const char *name)
{
    int shape[2] = { rows, cols };
    cr_tensor *p = cr_param_new(2, shape);
    if (!p) exit(1);
    cr_tensor_set(p, v, p->size);
    cr_tensor_set_name(p, name);
    return p;
}

static double maxdiff(const cr_real *a, const double *b, int n)
{
    double m = 0;
    for (int i = 0; i < n; i++) m = fmax(m, fabs(a[i] - b[i]));
    return m;
}

int main(int argc, char **argv)
{
    lesson L;
    if (!lesson_args(&L, argc, argv, "2-3-2 network, softmax + cross-entropy: dL/dz = yhat - y"))
        return 2;
    cr_tensor *W1 = param(3, 2, W1d, "W1"), *b1 = param(3, 1, B1d, "b1");
    cr_tensor *W2 = param(2, 3, W2d, "W2"), *b2 = param(2, 1, B2d, "b2");
    cr_tape *t = cr_tape_new(0);
    if (!t) return 1;
    int col2[2] = { 2, 1 }, two = 2;
    cr_tensor *x = cr_tensor_label(cr_const(t, 2, col2, Xd), "x");
    cr_tensor *y = cr_tensor_label(cr_const(t, 1, &two, Yd), "y");
    cr_tensor *z2 = cr_tensor_label(cr_add(t, cr_tensor_label(cr_matmul(t, W1, x, 0, 0), "W1 x"), b1),
                                    "z2");
    cr_tensor *x2 = cr_tensor_label(cr_sigmoid(t, z2), "x2");
    cr_tensor *z3 = cr_tensor_label(cr_add(t, cr_tensor_label(cr_matmul(t, W2, x2, 0, 0), "W2 x2"),
                                           b2), "z3");
    cr_tensor *z3v = cr_tensor_label(cr_reshape(t, z3, 1, &two), "z3 as vector");
    cr_tensor *yhat = cr_tensor_label(cr_softmax(t, z3v), "yhat");
    cr_tensor *ylog = cr_tensor_label(cr_mul(t, y, cr_tensor_label(cr_log(t, yhat), "log yhat")),
                                      "y log yhat");
    cr_tensor *loss = cr_tensor_label(cr_neg(t, cr_tensor_label(cr_sum(t, ylog), "sum")), "L");
    cr_tape_set_trace(t, L.out);
    cr_backward(t, loss);
    if (!tape_ok(t)) return 1;
    lesson_dot(&L, t, "07_softmax_232");

    /* the notes' formulas, by hand in double from the tape's forward values */
    double yh[2] = { yhat->data[0], yhat->data[1] }, dz3[2], dz2[3], dW2[6], dW1[6], s[3];
    for (int k = 0; k < 2; k++) dz3[k] = yh[k] - Yd[k];                   /* ŷ - y */
    for (int j = 0; j < 3; j++) {
        s[j] = x2->data[j];
        dz2[j] = s[j] * (1 - s[j]) * (W2d[j] * dz3[0] + W2d[3 + j] * dz3[1]);
        for (int k = 0; k < 2; k++) dW2[k * 3 + j] = dz3[k] * s[j];
        for (int i = 0; i < 2; i++) dW1[j * 2 + i] = dz2[j] * Xd[i];
    }
    double jac = yh[0] * yh[1];
    say(&L, "\nyhat = (%.10g, %.10g), L = %.10g\n", yh[0], yh[1], (double)cr_item(loss));
    say(&L, "dL/dyhat (tape) = (%.10g, %.10g) = (-y1/yhat1, -y2/yhat2)\n",
        (double)yhat->grad[0], (double)yhat->grad[1]);
    say(&L, "softmax Jacobian [[%.6g, %.6g], [%.6g, %.6g]] times dL/dyhat = (%.10g, %.10g)\n",
        jac, -jac, -jac, jac, jac * yhat->grad[0] - jac * yhat->grad[1],
        -jac * yhat->grad[0] + jac * yhat->grad[1]);
    say(&L, "dL/dz3 (tape) = (%.10g, %.10g);  yhat - y = (%.10g, %.10g)\n\n",
        (double)z3->grad[0], (double)z3->grad[1], dz3[0], dz3[1]);

    /* the fused op on the same logits: the gradient must be the same ŷ - y */
    cr_tensor *z3f = cr_var(t, 1, &two, z3->data), *cls = cr_scalar_const(t, 1);
    cr_tensor *lf = cr_softmax_cross_entropy(t, z3f, cls);
    cr_tape_set_trace(t, NULL);
    cr_backward(t, lf);
    if (!tape_ok(t)) return 1;

    result("yhat[1]", yh[0]);
    result("yhat[2]", yh[1]);
    result("L", cr_item(loss));
    result("dL/dz3[1]", z3->grad[0]);
    result("dL/dz3[2]", z3->grad[1]);
    result("diff dL/dz3", maxdiff(z3->grad, dz3, 2));
    result("diff dL/db2", maxdiff(b2->grad, dz3, 2));
    result("diff dL/dW2", maxdiff(W2->grad, dW2, 6));
    result("diff dL/dz2", maxdiff(z2->grad, dz2, 3));
    result("diff dL/dW1", maxdiff(W1->grad, dW1, 6));
    result("diff fused", fmax(fabs(cr_item(lf) - cr_item(loss)), maxdiff(z3f->grad, dz3, 2)));
    cr_tape_free(t);
    cr_tensor_free(W1);
    cr_tensor_free(b1);
    cr_tensor_free(W2);
    cr_tensor_free(b2);
    return 0;
}
