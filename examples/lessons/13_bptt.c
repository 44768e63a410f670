/* Lesson 13 — backpropagation through time (BPTT) on a 3-step scalar RNN.
 *
 * Idea. A recurrent network applies the SAME weights at every time step:
 *     h_t = tanh(w h_{t-1} + u x_t),  h_0 = 0,  t = 1, 2, 3,   L = ½ (h_3 − y)².
 * Unrolled over the three steps it is an ordinary graph in which w and u are used
 * three times each, so (lesson 1: a variable used twice gets the sum) the gradient
 * is a sum over the steps:
 *     ∂L/∂w = Σ_t δ_t (1 − h_t²) h_{t−1},   ∂L/∂u = Σ_t δ_t (1 − h_t²) x_t,
 * where δ_t = ∂L/∂h_t flows backwards through time:
 *     δ_3 = h_3 − y,   δ_{t−1} = δ_t (1 − h_t²) w.
 * The lesson records the unrolled graph twice: once with ONE w and u shared by the
 * steps (what a real RNN does; the tape adds the three contributions), and once
 * with a separate copy w_t, u_t per step (same values), whose gradients ARE the
 * per-step contributions. It prints each step's contribution, their sum, and the
 * shared-weight gradient: the student can check every number with a calculator
 * from the table of h_t and δ_t.
 * Numbers: x = (1, −0.5, 2), w = 0.8, u = 0.6, y = 0.2.
 * Source: the course's RNN exercise (循环神经网络, 沿时间反向传播) and lesson 1's rule.
 *
 * Expected output: a table t, x_t, h_t, δ_t, contribution to ∂L/∂w and ∂L/∂u, then
 *     result dL/dw = <sum of the three contributions> (= result dL/dw shared)
 *     result dL/du = ...
 * and the picture 13_bptt.dot (the shared-weight graph with values and gradients).
 */
#include <math.h>

#include "lesson.h"

enum { T = 3 };
static const double X[T] = { 1, -0.5, 2 }, W = 0.8, U = 0.6, Y = 0.2;

/* Record the unrolled RNN on t. shared: one w and u; else one copy per step.
 * Fills h[1..T] with the hidden states (tape tensors) and returns L. */
static cr_tensor *unroll(cr_tape *t, int shared, cr_tensor **w, cr_tensor **u, cr_tensor **h)
{
    char name[16];
    h[0] = cr_tensor_label(cr_scalar_const(t, 0), "h0");
    for (int k = 1; k <= T; k++) {
        if (shared && k == 1) {
            w[0] = cr_tensor_label(cr_scalar(t, (cr_real)W), "w");
            u[0] = cr_tensor_label(cr_scalar(t, (cr_real)U), "u");
        }
        if (!shared) {
            snprintf(name, sizeof name, "w%d", k);
            w[k - 1] = cr_tensor_label(cr_scalar(t, (cr_real)W), name);
            snprintf(name, sizeof name, "u%d", k);
            u[k - 1] = cr_tensor_label(cr_scalar(t, (cr_real)U), name);
        }
        cr_tensor *wk = w[shared ? 0 : k - 1], *uk = u[shared ? 0 : k - 1];
        snprintf(name, sizeof name, "x%d", k);
        cr_tensor *x = cr_tensor_label(cr_scalar_const(t, (cr_real)X[k - 1]), name);
        cr_tensor *z = cr_add(t, cr_mul(t, wk, h[k - 1]), cr_mul(t, uk, x));
        snprintf(name, sizeof name, "h%d", k);
        h[k] = cr_tensor_label(cr_tanh(t, z), name);
    }
    cr_tensor *d = cr_sub(t, h[T], cr_scalar_const(t, (cr_real)Y));
    return cr_tensor_label(cr_scale(t, cr_square(t, d), (cr_real)0.5), "L");
}

int main(int argc, char **argv)
{
    lesson L;
    if (!lesson_args(&L, argc, argv, "backpropagation through time: a 3-step scalar RNN"))
        return 2;
    cr_tape *ts = cr_tape_new(0), *tc = cr_tape_new(0);
    if (!ts || !tc) return 1;
    cr_tensor *ws[1], *us[1], *hs[T + 1], *wc[T], *uc[T], *hc[T + 1];
    cr_tensor *ls = unroll(ts, 1, ws, us, hs), *lc = unroll(tc, 0, wc, uc, hc);
    if (cr_backward(ts, ls) != CR_OK || cr_backward(tc, lc) != CR_OK || !tape_ok(ts) ||
        !tape_ok(tc))
        return 1;
    say(&L, "h_t = tanh(w h_{t-1} + u x_t), h_0 = 0, w = %g, u = %g;  L = (h_3 - y)^2 / 2, "
        "y = %g\n\n", W, U, Y);
    say(&L, " t    x_t     h_t        delta_t = dL/dh_t   (1-h_t^2)   dL/dw from t   "
        "dL/du from t\n");
    double sw = 0, su = 0;
    for (int k = 1; k <= T; k++) {
        double h = cr_item(hs[k]), dh = cr_grad_item(hs[k]);
        double cw = cr_grad_item(wc[k - 1]), cu = cr_grad_item(uc[k - 1]);
        say(&L, "%2d  %5.2f  %10.6f   %12.6f        %9.6f   %12.6f   %12.6f\n", k, X[k - 1], h,
            dh, 1 - h * h, cw, cu);
        sw += cw, su += cu;
    }
    say(&L, "\nsum of the steps:          dL/dw = %.6f   dL/du = %.6f\n", sw, su);
    say(&L, "the tape, w and u shared:  dL/dw = %.6f   dL/du = %.6f\n",
        (double)cr_grad_item(ws[0]), (double)cr_grad_item(us[0]));
    say(&L, "(by hand: delta_3 = h_3 - y; delta_{t-1} = delta_t (1 - h_t^2) w;\n"
        " step t adds delta_t (1 - h_t^2) h_{t-1} to dL/dw and delta_t (1 - h_t^2) x_t to dL/du)\n\n");
    if (L.out) cr_tape_print(ts, L.out);
    lesson_dot(&L, ts, "13_bptt");
    for (int k = 1; k <= T; k++) {
        char key[48];
        snprintf(key, sizeof key, "h%d", k);
        result(key, cr_item(hs[k]));
        snprintf(key, sizeof key, "delta%d", k);
        result(key, cr_grad_item(hs[k]));
        snprintf(key, sizeof key, "dL/dw step%d", k);
        result(key, cr_grad_item(wc[k - 1]));
        snprintf(key, sizeof key, "dL/du step%d", k);
        result(key, cr_grad_item(uc[k - 1]));
    }
    result("loss", cr_item(ls));
    result("dL/dw", sw);
    result("dL/du", su);
    result("dL/dw shared", cr_grad_item(ws[0]));
    result("dL/du shared", cr_grad_item(us[0]));
    cr_tape_free(ts);
    cr_tape_free(tc);
    return 0;
}
