/* Lesson 12 — how many parameters a convolution saves: a 3×3 kernel, stride 1,
 * padding 1, on a 50×50 image, against a fully connected layer with the same output.
 *
 * The exercise (issue 14, from the course book's exercises on CNNs; our copy of the
 * book stops at chapter 4 and its exercise chapter 5 is not included, so no printed
 * answer is quoted; the lecture notes only say
 * 卷积网络大大减少了全连接神经网络的参数量, lecture-mlp-backprop-autodiff-training.md,
 * 其它类型神经网络). One grey channel in,
 * one feature map out. Padding 1 keeps the size: OH = (50 + 2·1 - 3)/1 + 1 = 50.
 *
 * Closed forms (C_in channels in, C_out out, k×k kernel, H×W in, H'×W' out):
 *     conv:  C_out·C_in·k·k + C_out            = 1·1·3·3 + 1            = 10
 *     dense: (C_in·H·W)·(C_out·H'·W') + C_out·H'·W'
 *                                               = 2500·2500 + 2500      = 6 252 500
 *     the dense layer needs 6 252 500 - 10 = 6 252 490 more (625 250 times as many);
 *     weights only: 9 against 6 250 000, 6 249 991 more.
 * Where the saving comes from, in two steps:
 *     locality: each output sees only its 3×3 window, so of the 2500·2500 weights of
 *       the dense layer only 148² = 21 904 can be non-zero (in one dimension each of
 *       the 50 outputs sees 3 inputs, minus one at each border: 50·3 - 2 = 148);
 *     sharing: those 21 904 connections use the same 9 numbers.
 * The program builds both layers as parameter tensors, counts them with
 * cr_params_numel, fills the dense matrix with the kernel (zero outside the window)
 * and checks that both give the same output; then the chain rule on the sharing: the
 * kernel's gradient equals the sum of the dense gradients over the entries that
 * share each weight (2500 for the centre tap, 49·50 or 49·49 for the others, which
 * fall into the padding at one or two borders). Integers throughout: every comparison is exact.
 *
 * Output: the counts (asserted; exit status 1 otherwise), picture 12_conv_params.dot,
 * result lines conv params, dense params, difference, ratio, dense weights non-zero,
 * max |conv - dense|, max |dw - shared dW|. */
#include <math.h>

#include "lesson.h"

enum { H = 50, K = 3, HW = H * H };

int main(int argc, char **argv)
{
    lesson L;
    if (!lesson_args(&L, argc, argv,
                     "3x3 kernel, stride 1, padding 1, 50x50 image: conv vs dense parameters"))
        return 2;
    int sw[4] = { 1, 1, K, K }, sb[1] = { 1 }, sW[2] = { HW, HW }, sB[1] = { HW };
    cr_params *conv = cr_params_new(), *dense = cr_params_new();
    cr_tensor *w = cr_param_new(4, sw), *b = cr_param_new(1, sb);
    cr_tensor *W = cr_param_new(2, sW), *B = cr_param_new(1, sB);
    if (!conv || !dense || cr_params_add_owned(conv, w, "conv.w", NULL, 0) != CR_OK ||
        cr_params_add_owned(conv, b, "conv.b", NULL, 0) != CR_OK ||
        cr_params_add_owned(dense, W, "dense.W", NULL, 0) != CR_OK ||
        cr_params_add_owned(dense, B, "dense.b", NULL, 0) != CR_OK) {
        fprintf(stderr, "error: out of memory\n");
        return 1;
    }

    /* counting: from the tensors, and the closed forms above */
    double nc = (double)cr_params_numel(conv), nd = (double)cr_params_numel(dense);
    say(&L, "conv layer:  w 1x1x3x3 + b 1        = %.0f parameters\n", nc);
    say(&L, "dense layer: W 2500x2500 + b 2500   = %.0f parameters\n", nd);
    say(&L, "the dense layer needs %.0f more, %.0f times as many\n", nd - nc, nd / nc);
    say(&L, "(3 channels in, 16 out, same rule: conv 16·3·9 + 16 = 448; dense "
            "7500·40000 + 40000 = 300040000, 1.2 GB as float: not built)\n\n");
    int ok = nc == K * K + 1 && nd == (double)HW * HW + HW && nd - nc == 6252490;

    /* the dense layer that computes the convolution: W[in][out] = w[i][j] when input
     * pixel `in` sits at tap (i, j) of output `out`'s window, else 0 */
    static const cr_real wk[K * K] = { 1, -2, 3, -1, 4, -3, 2, 1, -1 };
    cr_tensor_set(w, wk, K * K);
    cr_tensor_fill(b, 1);
    cr_tensor_fill(B, 1);
    double nonzero = 0;
    for (int p = 0; p < H; p++)
        for (int q = 0; q < H; q++)
            for (int i = 0; i < K; i++)
                for (int j = 0; j < K; j++) {
                    int r = p + i - 1, s = q + j - 1;       /* padding 1 */
                    if (r < 0 || r >= H || s < 0 || s >= H) continue;
                    W->data[(size_t)(r * H + s) * HW + (size_t)(p * H + q)] = wk[K * i + j];
                    nonzero++;
                }
    say(&L, "locality: %.0f of the %d dense weights are inside a window (148² = 21904);\n"
            "sharing: they take only the 9 values of the kernel\n", nonzero, HW * HW);
    ok &= nonzero == 148 * 148;

    /* both layers on one image, and L = sum(c*y) on each (the two losses share no
     * parameter, so one backward gives each layer's own gradient) */
    cr_real img[HW], cw[HW];
    cr_rng rng;
    cr_rng_seed(&rng, 12);
    for (int k = 0; k < HW; k++) {
        img[k] = (cr_real)cr_rng_below(&rng, 10);
        cw[k] = (cr_real)cr_rng_below(&rng, 5) - 2;
    }
    int sx[4] = { 1, 1, H, H }, sr[2] = { 1, HW };
    cr_conv2d_opts o = { .padding = { 1, 1 } };
    cr_tape *t = cr_tape_new(0);
    if (!t) return 1;
    cr_tensor *x = cr_tensor_label(cr_const(t, 4, sx, img), "image");
    cr_tensor *c = cr_tensor_label(cr_const(t, 2, sr, cw), "c");
    cr_tensor *yc = cr_tensor_label(cr_flatten(t, cr_conv2d(t, x, w, b, &o)), "conv/y");
    cr_tensor *yd = cr_tensor_label(cr_linear(t, cr_flatten(t, x), W, B), "dense/y");
    cr_tensor *loss = cr_tensor_label(cr_add(t, cr_sum(t, cr_mul(t, c, yc)),
                                             cr_sum(t, cr_mul(t, c, yd))), "L");
    if (!tape_ok(t) || cr_backward(t, loss) != CR_OK) return 1;
    double dy = 0;
    for (int k = 0; k < HW; k++) dy = fmax(dy, fabs(yc->data[k] - yd->data[k]));
    say(&L, "same output: max |conv - dense| over the 2500 outputs = %g\n", dy);

    /* dL/dw[i][j] = sum of dL/dW over the entries that hold w[i][j] */
    double dg = 0;
    for (int i = 0; i < K; i++)
        for (int j = 0; j < K; j++) {
            double s = 0;
            int n = 0;
            for (int p = 0; p < H; p++)
                for (int q = 0; q < H; q++) {
                    int r = p + i - 1, ss = q + j - 1;
                    if (r < 0 || r >= H || ss < 0 || ss >= H) continue;
                    s += W->grad[(size_t)(r * H + ss) * HW + (size_t)(p * H + q)];
                    n++;
                }
            say(&L, "  dL/dw[%d][%d] = %5g   sum over the %d dense entries that share it = %5g\n",
                i, j, (double)w->grad[K * i + j], n, s);
            dg = fmax(dg, fabs(w->grad[K * i + j] - s));
        }
    double sb_dense = 0;
    for (int k = 0; k < HW; k++) sb_dense += B->grad[k];
    say(&L, "  dL/db = %g   sum of the 2500 dense biases' gradients = %g\n\n",
        (double)b->grad[0], sb_dense);
    dg = fmax(dg, fabs(b->grad[0] - sb_dense));
    ok &= dy == 0 && dg == 0;
    lesson_dot(&L, t, "12_conv_params");

    result("conv params", nc);
    result("dense params", nd);
    result("difference", nd - nc);
    result("ratio", nd / nc);
    result("dense weights non-zero", nonzero);
    result("max |conv - dense|", dy);
    result("max |dw - shared dW|", dg);   /* and db */
    if (!ok) fprintf(stderr, "error: the counts or the comparisons do not hold\n");
    cr_tape_free(t);
    cr_params_free(conv);
    cr_params_free(dense);
    return ok ? 0 : 1;
}
