/* Lesson 9 — vanishing gradients: gradient norm per layer, sigmoid versus ReLU.
 *
 * Idea. In a deep MLP the backward pass multiplies, layer after layer, by Wᵀ and
 * by the activation's derivative: δˡ = ((Wˡ⁺¹)ᵀ δˡ⁺¹) ⊙ σ'(zˡ). The sigmoid's
 * derivative is at most 1/4 (and smaller when saturated), so with weights of
 * moderate size δ shrinks by a roughly constant factor per layer and the first
 * layers barely learn. ReLU's derivative is 0 or 1: with He initialisation the
 * gradient keeps its size through the depth.
 * Setup: cr_mlp 32 -> 9 hidden layers of 32 -> 10 (10 dense layers), each with its
 * recommended init (Xavier uniform for sigmoid, He normal for ReLU), a batch of 64
 * standard-normal inputs with random class labels (seed 1), softmax cross-entropy.
 * The lesson prints ‖∂L/∂W‖ (Frobenius norm) of every layer, first to last.
 * Source: lecture-mlp-backprop-autodiff-training.md (前馈神经网络的问题: 梯度消失;
 * 解决方法: 使用ReLU系列激活函数) and lecture-nn-softmax-ce-backprop.md (梯度消失, ReLU).
 *
 * Expected output: a table whose sigmoid column falls by orders of magnitude from
 * layer 10 down to layer 1 while the ReLU column stays within a small factor, and
 *     result sigmoid layer1/layer10 ~ 1e-6 (far below 0.01)
 *     result relu layer1/layer10 ~ 0.3..3
 * (exact values in the table depend only on the seed; float and double agree to
 * a few digits).
 */
#include <math.h>

#include "lesson.h"

enum { DEPTH = 10, WIDTH = 32, BATCH = 64, CLASSES = 10 };

/* Build the MLP, run one backward pass, fill norm[0..DEPTH) with ‖∂L/∂W‖ per layer. */
static int grad_norms(cr_activation act, double *norm, const lesson *L, const char *dot)
{
    cr_rng rng;
    cr_rng_seed(&rng, 1);
    int sizes[DEPTH + 1];
    sizes[0] = WIDTH;
    for (int i = 1; i < DEPTH; i++) sizes[i] = WIDTH;
    sizes[DEPTH] = CLASSES;
    cr_mlp *m = cr_mlp_new(DEPTH + 1, sizes, act, CR_ACT_NONE, &rng, NULL, 0);
    cr_tape *t = cr_tape_new(0);
    if (!m || !t) return 0;
    static cr_real x[BATCH * WIDTH], y[BATCH];
    for (int i = 0; i < BATCH * WIDTH; i++) x[i] = (cr_real)cr_rng_normal(&rng);
    for (int i = 0; i < BATCH; i++) y[i] = (cr_real)cr_rng_below(&rng, CLASSES);
    int xs[2] = { BATCH, WIDTH };
    cr_tensor *xt = cr_tensor_label(cr_const(t, 2, xs, x), "x");
    cr_tensor *yt = cr_tensor_label(cr_const(t, 1, xs, y), "labels");
    cr_tensor *loss = cr_tensor_label(cr_softmax_cross_entropy(t, cr_mlp_forward(t, m, xt), yt), "loss");
    int ok = cr_backward(t, loss) == CR_OK;
    for (int l = 0; ok && l < DEPTH; l++) {
        const cr_tensor *W = cr_mlp_layer(m, l)->W;
        double s = 0;
        for (size_t i = 0; i < W->size; i++) s += (double)W->grad[i] * W->grad[i];
        norm[l] = sqrt(s);
    }
    if (ok && dot) {
        say(L, "\nthe tape of the %s network:\n", cr_activation_name(act));
        if (L->out) cr_tape_print(t, L->out);
        lesson_dot(L, t, dot);
    }
    if (!ok) fprintf(stderr, "error: %s\n", cr_tape_error(t));
    cr_tape_free(t);
    cr_mlp_free(m);
    return ok;
}

/* A bar of log10 length: one '*' per factor of 10 above 1e-8, in a column of 11. */
static void bar(const lesson *L, double v, int pad)
{
    int n = v > 0 ? (int)floor(log10(v) + 8) : 0;
    n = n < 0 ? 0 : n > 11 ? 11 : n;
    say(L, "%.*s%*s", n, "***********", pad ? 11 - n : 0, "");
}

int main(int argc, char **argv)
{
    lesson L;
    if (!lesson_args(&L, argc, argv, "vanishing gradients: |dL/dW| per layer, sigmoid vs relu"))
        return 2;
    double sig[DEPTH], relu[DEPTH];
    if (!grad_norms(CR_ACT_SIGMOID, sig, &L, "09_vanishing_sigmoid") ||
        !grad_norms(CR_ACT_RELU, relu, &L, NULL))
        return 1;
    say(&L, "\n|dL/dW| per layer (layer 1 is next to the input; bars: log10, 1e-8 to 1e3)\n");
    say(&L, "layer  sigmoid                  relu\n");
    for (int l = 0; l < DEPTH; l++) {
        say(&L, "%5d  %-10.4g ", l + 1, sig[l]);
        bar(&L, sig[l], 1);
        say(&L, "   %-10.4g ", relu[l]);
        bar(&L, relu[l], 0);
        say(&L, "\n");
    }
    say(&L, "\n");
    for (int l = 0; l < DEPTH; l++) {
        char key[48];
        snprintf(key, sizeof key, "sigmoid layer%d", l + 1);
        result(key, sig[l]);
        snprintf(key, sizeof key, "relu layer%d", l + 1);
        result(key, relu[l]);
    }
    result("sigmoid layer1/layer10", sig[0] / sig[DEPTH - 1]);
    result("relu layer1/layer10", relu[0] / relu[DEPTH - 1]);
    return 0;
}
