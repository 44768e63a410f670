/* Lesson 3 — one neuron: f = σ(w·x + b), its computation graph and its gradients.
 *
 * Idea. A neuron is a linear part z = w·x + b followed by a non-linearity, here the
 * logistic function σ(z) = 1/(1 + e^(-z)). Written with primitive ops only, the
 * graph is the one drawn in the notes for f = 1/(1 + e^(-(wx+b))):
 *     u = w·x,  z = u + b,  n = -z,  e = exp(n),  d = e + 1,  f = 1/d
 * Backward multiplies the local derivatives -1/d², 1, e, -1, 1, x (or w) along the
 * chain; the product collapses to the famous σ'(z) = σ(z)(1 - σ(z)):
 *     ∂f/∂w = σ'(z)·x,   ∂f/∂x = σ'(z)·w,   ∂f/∂b = σ'(z).
 * The fused op cr_sigmoid gives the same numbers in one node.
 * At w = 0.5, x = 2, b = -0.5: z = 0.5, f = σ(0.5) = 0.6224593312,
 * σ'(0.5) = 0.2350037122, ∂f/∂w = 0.4700074244, ∂f/∂x = 0.1175018561,
 * ∂f/∂b = 0.2350037122.
 * Part 2: the notes' neuron with w1 = w2 = 20, b = -10 computes OR on {0,1}²:
 * σ(-10) = 4.54e-5 for (0,0), σ(10) = 0.9999546 for the other three inputs.
 * Sources: lecture-mlp-backprop-autodiff-training.md (神经元模型: "w1 = 20, w2 = 20,
 * b = -10 ... 实现了或运算"; 自动微分: the graph of 1/(1+e^{-(wx+b)})) and
 * book-neural-computation-ch1-4.md §3.2 (σ' = σ(1 - σ)).
 *
 * Expected output: the trace of the primitive graph, the picture, then
 *     result f = 0.6224593312  result df/dw = 0.4700074244  result df/dx = 0.1175018561
 *     result df/db = 0.2350037122  result fused df/dw = 0.4700074244 ...
 *     result or(0,0) = 4.539786871e-05  result or(0,1) = 0.9999546021 ...
 * (float builds agree to about 7 digits).
 */
#include <math.h>

#include "lesson.h"

/* f = σ(w x + b) recorded either from primitives or with the fused op. */
static cr_tensor *neuron(cr_tape *t, cr_tensor *w, cr_tensor *x, cr_tensor *b, int fused)
{
    cr_tensor *u = cr_tensor_label(cr_mul(t, w, x), "u");
    cr_tensor *z = cr_tensor_label(cr_add(t, u, b), "z");
    if (fused) return cr_tensor_label(cr_sigmoid(t, z), "f");
    cr_tensor *n = cr_tensor_label(cr_neg(t, z), "n");
    cr_tensor *e = cr_tensor_label(cr_exp(t, n), "e");
    cr_tensor *d = cr_tensor_label(cr_add_scalar(t, e, 1), "d");
    return cr_tensor_label(cr_div(t, cr_tensor_label(cr_scalar_const(t, 1), "1"), d), "f");
}

int main(int argc, char **argv)
{
    lesson L;
    if (!lesson_args(&L, argc, argv, "one neuron f = sigmoid(w*x + b): graph and gradients"))
        return 2;
    cr_tape *t = cr_tape_new(0);
    if (!t) return 1;
    double grads[2][3], fval = 0;
    for (int fused = 0; fused <= 1; fused++) {
        cr_tape_reset(t);
        cr_tensor *w = cr_tensor_label(cr_scalar(t, 0.5), "w");
        cr_tensor *x = cr_tensor_label(cr_scalar(t, 2), "x");
        cr_tensor *b = cr_tensor_label(cr_scalar(t, -0.5), "b");
        cr_tensor *f = neuron(t, w, x, b, fused);
        say(&L, "\n%s: f = sigmoid(w*x + b) at w = 0.5, x = 2, b = -0.5\n",
            fused ? "fused op cr_sigmoid" : "from primitives");
        cr_tape_set_trace(t, L.out);
        cr_backward(t, f);
        if (!tape_ok(t)) return 1;
        grads[fused][0] = cr_grad_item(w);
        grads[fused][1] = cr_grad_item(x);
        grads[fused][2] = cr_grad_item(b);
        fval = cr_item(f);
        if (!fused) lesson_dot(&L, t, "03_neuron");
    }
    double s = 1 / (1 + exp(-0.5)), ds = s * (1 - s);
    say(&L, "\ncheck by hand: sigma(0.5) = %.10g, sigma' = s(1-s) = %.10g, "
        "df/dw = sigma'*x = %.10g, df/dx = sigma'*w = %.10g, df/db = sigma' = %.10g\n\n",
        s, ds, ds * 2, ds * 0.5, ds);
    result("f", fval);
    result("df/dw", grads[0][0]);
    result("df/dx", grads[0][1]);
    result("df/db", grads[0][2]);
    result("fused df/dw", grads[1][0]);
    result("fused df/dx", grads[1][1]);
    result("fused df/db", grads[1][2]);

    /* part 2: the OR neuron of the notes, evaluated on the four inputs */
    say(&L, "\nthe notes' OR neuron sigmoid(20 x1 + 20 x2 - 10):\n");
    cr_real W[2] = { 20, 20 };
    for (int i = 0; i < 4; i++) {
        cr_tape_reset(t);
        cr_real X[2] = { (cr_real)(i >> 1), (cr_real)(i & 1) };
        int two = 2;
        cr_tensor *x = cr_const(t, 1, &two, X), *w = cr_const(t, 1, &two, W);
        cr_tensor *f = cr_sigmoid(t, cr_add_scalar(t, cr_sum(t, cr_mul(t, w, x)), -10));
        if (!tape_ok(t)) return 1;
        char name[32];
        snprintf(name, sizeof name, "or(%d,%d)", i >> 1, i & 1);
        say(&L, "  x = (%d, %d): f = %.7f -> %d\n", i >> 1, i & 1, (double)cr_item(f),
            cr_item(f) > 0.5);
        result(name, cr_item(f));
    }
    cr_tape_free(t);
    return 0;
}
