/* Lesson 8 — XOR: why one layer fails and two layers succeed.
 *
 * Data: (0,0) -> 0, (0,1) -> 1, (1,0) -> 1, (1,1) -> 0. No straight line puts the
 * two 1s on one side and the two 0s on the other (Minsky & Papert, 1969).
 * One layer = logistic regression p = σ(w·x + b), trained by gradient descent on
 * the cross-entropy. By symmetry its best choice is w = 0, b = 0: p = 0.5 for every
 * point, loss ln 2 = 0.6931 per point, and the prediction is a coin toss. (At
 * w = 0, b = 0 the gradient sum_i (p_i - y_i) x_i is exactly zero.)
 * Two layers (2 inputs -> 4 tanh units -> 1 output, cr_mlp, seed 7) bend the
 * boundary: the hidden units draw two lines and the output combines them, so all
 * four points come out right and the loss goes to ~0.
 * Source: lecture-neural-networks-mle-perceptron-backprop.md (3. 神经网络: 感知机问题,
 * 异或问题) and lecture-mlp-backprop-autodiff-training.md (多层感知器: 单层神经网络
 * 无法处理"异或"问题).
 *
 * Expected output: two ASCII pictures of the decision region ('#' where the model
 * says 1, '.' where it says 0; the data points as 0/1), the picture of the
 * two-layer graph (layers fc1, fc2 as clusters), and
 *     result one-layer loss = 0.6931471806 (= ln 2)   result one-layer correct <= 3
 *     result two-layer loss < 0.01                     result two-layer correct = 4
 */
#include <math.h>

#include "lesson.h"

static const cr_real Xd[8] = { 0, 0, 0, 1, 1, 0, 1, 1 }, Yd[4] = { 0, 1, 1, 0 };

/* Gradient descent on the mean BCE of the MLP over the 4 points; returns the loss. */
static double train(cr_tape *t, cr_mlp *m, int steps, cr_real lr, const lesson *L,
                    const char *dot)
{
    int xs[2] = { 4, 2 }, ys[2] = { 4, 1 };
    cr_params *p = cr_mlp_params(m);
    double loss = 0;
    for (int it = 0; it <= steps; it++) {
        cr_tape_reset(t);
        cr_tensor *x = cr_tensor_label(cr_const(t, 2, xs, Xd), "x");
        cr_tensor *y = cr_tensor_label(cr_const(t, 2, ys, Yd), "y");
        cr_tensor *l = cr_tensor_label(cr_loss_bce_logits(t, cr_mlp_forward(t, m, x), y), "loss");
        cr_params_zero_grad(p);
        if (cr_backward(t, l) != CR_OK) return NAN;
        loss = cr_item(l);
        if (it == steps) break;
        for (size_t k = 0; k < cr_params_count(p); k++) {
            cr_tensor *w = cr_params_get(p, k);
            for (size_t i = 0; i < w->size; i++) w->data[i] -= lr * w->grad[i];
        }
    }
    if (dot) lesson_dot(L, t, dot);
    return loss;
}

/* Decision region on [-0.25, 1.25]^2 as text; returns how many data points are right. */
static int picture(cr_tape *t, cr_mlp *m, const lesson *L)
{
    enum { W = 31, H = 13 };
    static cr_real grid[W * H * 2];
    for (int r = 0; r < H; r++)
        for (int c = 0; c < W; c++) {
            grid[2 * (r * W + c)] = (cr_real)(-0.25 + 1.5 * c / (W - 1));
            grid[2 * (r * W + c) + 1] = (cr_real)(1.25 - 1.5 * r / (H - 1));
        }
    int gs[2] = { W * H, 2 }, xs[2] = { 4, 2 };
    cr_tape_reset(t);
    int old = cr_tape_set_grad_mode(t, 0);                  /* evaluation only */
    cr_tensor *z = cr_mlp_forward(t, m, cr_const(t, 2, gs, grid));
    cr_tensor *zd = cr_mlp_forward(t, m, cr_const(t, 2, xs, Xd));
    cr_tape_set_grad_mode(t, old);
    if (!z || !zd) return -1;
    for (int r = 0; r < H; r++) {
        say(L, "    %s", r == 0 ? "x2=1.25 " : r == H - 1 ? "x2=-.25 " : "        ");
        for (int c = 0; c < W; c++) {
            char ch = z->data[r * W + c] > 0 ? '#' : '.';      /* logit > 0: p > 0.5 */
            for (int i = 0; i < 4; i++)
                if ((c == 5 || c == 25) && (r == 2 || r == 10) && Xd[2 * i] == (c == 25) &&
                    Xd[2 * i + 1] == (r == 2))
                    ch = Yd[i] > 0 ? '1' : '0';
            say(L, "%c", ch);
        }
        say(L, "\n");
    }
    say(L, "            x1=-.25 ... x1=1.25   ('#': says 1, '.': says 0)\n");
    int right = 0;
    for (int i = 0; i < 4; i++) right += (zd->data[i] > 0) == (Yd[i] > 0);
    return right;
}

int main(int argc, char **argv)
{
    lesson L;
    if (!lesson_args(&L, argc, argv, "XOR: one layer fails, two layers succeed")) return 2;
    cr_tape *t = cr_tape_new(0);
    cr_rng rng;
    cr_rng_seed(&rng, 7);
    int one_sizes[2] = { 2, 1 }, two_sizes[3] = { 2, 4, 1 };
    cr_mlp *one = cr_mlp_new(2, one_sizes, CR_ACT_NONE, CR_ACT_NONE, &rng, NULL, 0);
    cr_mlp *two = cr_mlp_new(3, two_sizes, CR_ACT_TANH, CR_ACT_NONE, &rng, NULL, 0);
    if (!t || !one || !two) return 1;

    double l1 = train(t, one, 2000, 1, &L, NULL);
    say(&L, "one layer (logistic regression), 2000 steps: loss %.6f (ln 2 = %.6f)\n", l1,
        log(2.0));
    int r1 = picture(t, one, &L);
    double l2 = train(t, two, 2000, 1, &L, "08_xor_two_layers");
    say(&L, "\ntwo layers 2-4-1 (tanh), 2000 steps: loss %.6f\n", l2);
    int r2 = picture(t, two, &L);
    say(&L, "\n");
    result("one-layer loss", l1);
    result("one-layer correct", r1);
    result("two-layer loss", l2);
    result("two-layer correct", r2);
    cr_mlp_free(one);
    cr_mlp_free(two);
    cr_tape_free(t);
    return 0;
}
