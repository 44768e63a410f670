/* commute_regression — the course notes' linear regression (book ch. 1-2): predict the
 * commute time from distance (km) and weekday (1/0).
 *
 *   data: distance [2.7 4.1 1.0 5.2 2.8], weekday [1 1 0 1 0], minutes [25 33 15 45 22]
 *   model f(x) = w0 + w1*distance + w2*weekday, cost C(W) = 1/(2n) * sum (f(x_i) - y_i)^2
 *   closed form (normal equations X^T X W = X^T Y): W* = [6.0861 6.5336 2.1127]
 *
 * The closed form is solved here directly; then the same W is found three ways through
 * the tape (the gradient of C comes from cr_backward, never from a hand formula):
 *   1. full-batch gradient descent, eta = 0.05, 20000 steps;
 *   2. SGD on one sample at a time (each epoch a new shuffle) with eta_t = C/sqrt(t),
 *      C = 0.05, 200000 steps, reporting the average of the second half of the
 *      iterates (Polyak averaging);
 *   3. minibatch SGD, batches of 2, same schedule and averaging.
 * Expected: gradient descent within 1e-3 of W* (about 4e-5 in float); SGD and
 * minibatch SGD within 0.1 — with residuals of several minutes the gradient noise
 * only averages out like 1/sqrt(steps), so they hover near W* rather than reach it.
 * usage: commute_regression [seed]   (default 1) */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "chainrule.h"

#define N 5
static const double DIST[N] = { 2.7, 4.1, 1.0, 5.2, 2.8 };
static const double WEEKDAY[N] = { 1, 1, 0, 1, 0 };
static const double MINUTES[N] = { 25, 33, 15, 45, 22 };

/* Solve X^T X w = X^T y (3x3) by Gaussian elimination with partial pivoting. */
static void closed_form(double w[3])
{
    double a[3][4] = { { 0 } };
    for (int i = 0; i < N; i++) {
        double x[3] = { 1, DIST[i], WEEKDAY[i] };
        for (int r = 0; r < 3; r++) {
            for (int c = 0; c < 3; c++) a[r][c] += x[r] * x[c];
            a[r][3] += x[r] * MINUTES[i];
        }
    }
    for (int p = 0; p < 3; p++) {
        int best = p;
        for (int r = p + 1; r < 3; r++)
            if (fabs(a[r][p]) > fabs(a[best][p])) best = r;
        for (int c = 0; c < 4; c++) {
            double tmp = a[p][c];
            a[p][c] = a[best][c];
            a[best][c] = tmp;
        }
        for (int r = 0; r < 3; r++) {
            if (r == p) continue;
            double f = a[r][p] / a[p][p];
            for (int c = p; c < 4; c++) a[r][c] -= f * a[p][c];
        }
    }
    for (int r = 0; r < 3; r++) w[r] = a[r][3] / a[r][r];
}

/* Fit W on batches of size b (b = N: full batch) drawn with rng; eta_t = lr/sqrt(t)
 * when decay is set. Returns the final W, or the average of the last half of the
 * iterates when average is set. */
static int fit(int b, long steps, double lr, int decay, int average, cr_rng *rng, double out[3])
{
    int wshape[2] = { 3, 1 }, xshape[2] = { b, 3 }, yshape[2] = { b, 1 };
    cr_tensor *W = cr_param_new(2, wshape);
    cr_tape *t = cr_tape_new(0);
    if (!W || !t) return 1;
    cr_tensor *X = cr_const(t, 2, xshape, NULL), *Y = cr_const(t, 2, yshape, NULL);
    cr_tensor *r = cr_sub(t, cr_matmul(t, X, W, 0, 0), Y);          /* residuals */
    cr_tensor *C = cr_scale(t, cr_mean(t, cr_square(t, r)), 0.5);    /* 1/(2b) sum r^2 */
    double sum[3] = { 0 };
    long counted = 0;
    int order[N] = { 0, 1, 2, 3, 4 }, next = N;
    for (long step = 1; step <= steps; step++) {
        for (int i = 0; i < b; i++) {
            if (next == N) {            /* a new epoch: visit every sample once, shuffled */
                cr_rng_shuffle(rng, order, N);
                next = 0;
            }
            int k = b == N ? i : order[next++];
            X->data[3 * i] = 1;
            X->data[3 * i + 1] = (cr_real)DIST[k];
            X->data[3 * i + 2] = (cr_real)WEEKDAY[k];
            Y->data[i] = (cr_real)MINUTES[k];
        }
        cr_tensor_zero_grad(W);
        if (cr_tape_forward(t) != CR_OK || cr_backward(t, C) != CR_OK) {
            fprintf(stderr, "commute_regression: %s\n", cr_tape_error(t));
            return 1;
        }
        double eta = decay ? lr / sqrt((double)step) : lr;
        for (int j = 0; j < 3; j++) W->data[j] -= (cr_real)(eta * W->grad[j]);
        if (average && step > steps / 2) {
            for (int j = 0; j < 3; j++) sum[j] += W->data[j];
            counted++;
        }
    }
    for (int j = 0; j < 3; j++) out[j] = average ? sum[j] / (double)counted : W->data[j];
    cr_tape_free(t);
    cr_tensor_free(W);
    return 0;
}

static double report(const char *name, const double w[3], const double best[3])
{
    double d = 0;
    for (int j = 0; j < 3; j++) d = fmax(d, fabs(w[j] - best[j]));
    printf("%-26s W = [%.4f %.4f %.4f]  max |W - W*| = %.2e\n", name, w[0], w[1], w[2], d);
    return d;
}

int main(int argc, char **argv)
{
    cr_rng rng;
    cr_rng_seed(&rng, argc > 1 ? strtoull(argv[1], NULL, 10) : 1);
    double best[3], w[3];
    closed_form(best);
    report("closed form", best, best);
    if (fit(N, 20000, 0.05, 0, 0, &rng, w)) return 1;
    report("gradient descent", w, best);
    if (fit(1, 200000, 0.05, 1, 1, &rng, w)) return 1;
    report("SGD eta=C/sqrt(t)", w, best);
    if (fit(2, 200000, 0.05, 1, 1, &rng, w)) return 1;
    report("minibatch SGD (b=2)", w, best);
    return 0;
}
