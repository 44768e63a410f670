/* Lesson 14 — vanishing and exploding gradients through 50 time steps, and
 * gradient clipping, as an SVG.
 *
 * Idea. Backpropagation through time multiplies the gradient by the recurrent
 * Jacobian once per step: for h_t = W h_{t−1} (+ input), ∂L/∂h_{t−1} = Wᵀ ∂L/∂h_t,
 * so after k steps back it has been multiplied by (Wᵀ)^k. Take W = s·P with P a
 * permutation (orthogonal: it keeps lengths), H = 8: then exactly
 *     ‖∂L/∂h_t‖ = s^(T−t) ‖∂L/∂h_T‖,
 * a straight line on a log scale: it VANISHES for s < 1 (0.9^49 ≈ 0.006: the first
 * steps learn nothing from the loss at step 50) and EXPLODES for s > 1 (1.2^49 ≈
 * 7600). A tanh between the steps only makes it smaller (|tanh'| ≤ 1). Setup:
 * h_1 = x (a fixed unit vector), h_t = W h_{t−1} for t = 2..50, L = ½‖h_50‖²;
 * the lesson prints ‖∂L/∂h_t‖ for s = 0.9, 1.0, 1.2.
 * Clipping (cr_clip_grad_norm) rescales the whole gradient to norm ≤ max_norm: it
 * cannot bring information back to early steps, but it keeps one exploding step
 * from wrecking the weights. For s = 1.2 one SGD step (η = 0.1) on W unclipped
 * makes the loss overflow; clipped to norm 1 the same step lowers it.
 * Source: the lecture's RNN problems (梯度消失与梯度爆炸, 梯度截断).
 *
 * Expected output: a table of ‖∂L/∂h_t‖ (every 7th step), then
 *     result ratio s=0.9 = 0.9^49, result ratio s=1.2 = 1.2^49 (‖∂L/∂h_1‖/‖∂L/∂h_50‖),
 *     result loss after unclipped step = inf (or a huge number),
 *     result loss after clipped step < result loss before step,
 * and the picture 14_rnn_gradients.svg.
 */
#include <math.h>

#include "lesson.h"

enum { T = 50, H = 8, NS = 3 };
static const double S[NS] = { 0.9, 1.0, 1.2 };

typedef struct rnn_run {
    cr_tape *t;
    cr_tensor *W, *h[T + 1], *loss;   /* h[1..T] */
    cr_params *p;
} rnn_run;

/* W = s P, P the cyclic shift (row i has its 1 in column i+1 mod H), row vectors:
 * h_t = h_{t-1} Wᵀ. Records the 50 steps and runs backward. */
static int unroll(rnn_run *r, double s)
{
    int ws[2] = { H, H }, hs[2] = { 1, H };
    r->t = cr_tape_new(0);
    r->W = cr_param_new(2, ws);
    r->p = cr_params_new();
    if (!r->t || !r->W || !r->p || cr_params_add_owned(r->p, r->W, "W", NULL, 0) != CR_OK) return 0;
    for (int i = 0; i < H; i++) r->W->data[i * H + (i + 1) % H] = (cr_real)s;
    cr_real x[H];
    for (int i = 0; i < H; i++) x[i] = (cr_real)(i % 2 ? -1 : 1) / (cr_real)sqrt((double)H);
    r->h[1] = cr_var(r->t, 2, hs, x);                  /* |x| = 1 */
    for (int k = 2; k <= T; k++) r->h[k] = cr_matmul(r->t, r->h[k - 1], r->W, 0, 1);
    r->loss = cr_scale(r->t, cr_sum(r->t, cr_square(r->t, r->h[T])), (cr_real)0.5);
    return cr_backward(r->t, r->loss) == CR_OK && tape_ok(r->t);
}

static void run_free(rnn_run *r)
{
    cr_tape_free(r->t);
    cr_params_free(r->p);
}

static double norm(const cr_real *v, size_t n)
{
    double s = 0;
    for (size_t i = 0; i < n; i++) s += (double)v[i] * (double)v[i];
    return sqrt(s);
}

/* log10 of the gradient norms against t, one polyline per series. */
static int plot(const char *path, double g[NS + 1][T + 1])
{
    FILE *f = fopen(path, "w");
    if (!f) return 0;
    static const char *const color[NS + 1] = { "#1f77b4", "#2ca02c", "#d62728", "#d62728" };
    double lo = INFINITY, hi = -INFINITY;
    for (int s = 0; s <= NS; s++)
        for (int k = 1; k <= T; k++) lo = fmin(lo, log10(g[s][k])), hi = fmax(hi, log10(g[s][k]));
    lo = floor(lo), hi = ceil(hi);
    fprintf(f, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"560\" height=\"340\" "
            "font-family=\"Helvetica\" font-size=\"12\"><rect width=\"560\" height=\"340\" "
            "fill=\"white\"/><rect x=\"70\" y=\"40\" width=\"360\" height=\"240\" fill=\"none\" "
            "stroke=\"#888\"/><text x=\"250\" y=\"26\" text-anchor=\"middle\">|dL/dh_t| through "
            "%d steps (log scale), h_t = s P h_(t-1)</text><text x=\"65\" y=\"45\" "
            "text-anchor=\"end\">1e%g</text><text x=\"65\" y=\"282\" text-anchor=\"end\">1e%g"
            "</text><text x=\"70\" y=\"298\">t = 1</text><text x=\"430\" y=\"298\" "
            "text-anchor=\"end\">t = %d (the loss)</text>\n", T, hi, lo, T);
    for (int s = 0; s <= NS; s++) {
        fprintf(f, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"2\"%s points=\"",
                color[s], s == NS ? " stroke-dasharray=\"5,4\"" : "");
        for (int k = 1; k <= T; k++)
            fprintf(f, "%.1f,%.1f ", 70 + 360.0 * (k - 1) / (T - 1),
                    280 - 240 * (log10(g[s][k]) - lo) / (hi - lo));
        if (s < NS) fprintf(f, "\"/><text x=\"440\" y=\"%d\" fill=\"%s\">s = %g</text>\n",
                            80 + 20 * s, color[s], S[s]);
        else fprintf(f, "\"/><text x=\"440\" y=\"%d\" fill=\"%s\">s = 1.2 clipped</text>\n",
                     80 + 20 * s, color[s]);
    }
    fputs("</svg>\n", f);
    return fclose(f) == 0;
}

int main(int argc, char **argv)
{
    lesson L;
    if (!lesson_args(&L, argc, argv, "vanishing/exploding gradients over 50 steps, clipping"))
        return 2;
    static double g[NS + 1][T + 1];
    double ratio[NS], before = 0, unclipped = 0, clipped = 0, total = 0;
    for (int s = 0; s < NS; s++) {
        rnn_run r = { 0 };
        if (!unroll(&r, S[s])) return 1;
        for (int k = 1; k <= T; k++) g[s][k] = norm(r.h[k]->grad, H);
        ratio[s] = g[s][1] / g[s][T];
        if (S[s] > 1) {             /* the exploding case: one SGD step, unclipped and clipped */
            static cr_real w0[H * H], g0[H * H];
            memcpy(w0, r.W->data, sizeof w0);
            memcpy(g0, r.W->grad, sizeof g0);
            before = cr_item(r.loss);
            for (int i = 0; i < H * H; i++) r.W->data[i] = w0[i] - (cr_real)0.1 * g0[i];
            cr_tape_forward(r.t);                      /* replay with the new W */
            unclipped = cr_item(r.loss);
            cr_clip_grad_norm(r.p, 1.0, &total, NULL, 0);
            for (int i = 0; i < H * H; i++) r.W->data[i] = w0[i] - (cr_real)0.1 * r.W->grad[i];
            cr_tape_forward(r.t);
            clipped = cr_item(r.loss);
            /* the per-step gradients scaled as clipping scales everything */
            for (int k = 1; k <= T; k++) g[NS][k] = g[s][k] * (1.0 / total);
        }
        run_free(&r);
    }
    say(&L, "h_1 = x (|x| = 1), h_t = W h_(t-1), W = s P (P a permutation), L = |h_%d|^2 / 2\n\n"
        "   t", T);
    for (int s = 0; s < NS; s++) say(&L, "   |dL/dh_t| s=%-4g", S[s]);
    say(&L, "\n");
    for (int k = 1; k <= T; k += 7) {
        say(&L, "%4d", k);
        for (int s = 0; s < NS; s++) say(&L, "   %-16.6g", g[s][k]);
        say(&L, "\n");
    }
    say(&L, "\n|dL/dh_1| / |dL/dh_%d| = s^%d:  0.9 -> %.4g (vanishes), 1.2 -> %.4g (explodes)\n",
        T, T - 1, ratio[0], ratio[2]);
    say(&L, "s = 1.2: |dL/dW| = %.4g. One SGD step (lr 0.1): loss %.4g -> %.4g unclipped, "
        "-> %.4g with cr_clip_grad_norm(1)\n", total, before, unclipped, clipped);
    char svg[600];
    snprintf(svg, sizeof svg, "%s/14_rnn_gradients.svg", L.dir);
    if (make_dirs(L.dir) != 0 || !plot(svg, g)) return fprintf(stderr, "cannot write %s\n", svg), 1;
    printf("picture %s\n", svg);
    for (int s = 0; s < NS; s++) {
        char key[64];
        snprintf(key, sizeof key, "ratio s=%g", S[s]);
        result(key, ratio[s]);
        snprintf(key, sizeof key, "grad h50 s=%g", S[s]);
        result(key, g[s][T]);
    }
    result("grad norm W s=1.2", total);
    result("loss before step", before);
    result("loss after unclipped step", unclipped);
    result("loss after clipped step", clipped);
    return 0;
}
