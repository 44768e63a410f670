/* Lesson 4 — the perceptron iteration table, with each update read off the tape.
 *
 * Idea. Positive points M1(3,3), M2(4,3), negative point M3(1,1); model
 * f(x) = sign(w·x + b), start w = (0,0), b = 0, learning rate η = 1. A point is
 * misclassified when y(w·x + b) <= 0. The perceptron loss of a misclassified point
 * is L(w, b) = -y(w·x + b); its (sub)gradient is ∂L/∂w = -y·x, ∂L/∂b = -y, so a
 * gradient step w <- w - η ∂L/∂w, b <- b - η ∂L/∂b is exactly the perceptron
 * rule w <- w + η y x, b <- b + η y. Here the tape computes that gradient: each
 * step records L on the chosen point and calls cr_backward.
 * Rule for choosing: the first misclassified point in the order M1, M2, M3.
 *
 * Table A (the notes): M1 M3 M3 M3 M1 M3 M3, then none ->
 *     w = (1,1), b = -3, f(x) = sign(x1 + x2 - 3).
 * Table B (the homework: choose M2 at iteration 5, where M1 and M2 are both
 * misclassified; same rule otherwise): M1 M3 M3 M3 M2 M3 M3 M3 M1 M3 M3, then none
 *     -> w = (2,1), b = -5, f(x) = sign(2x1 + x2 - 5)
 * (the notes leave B as an exercise; this is the algorithm's answer, the same as in
 * Li Hang's 统计学习方法 example 2.1).
 * Source: lecture-neural-networks-mle-perceptron-backprop.md, 2. 感知机 (感知机实例,
 * the iteration table, 作业 I). The notes' row 2 prints "2 + 2x2" for 2x1 + 2x2.
 *
 * Expected output: the trace of one update, both tables, and
 *     result A.updates = 7  result A.w1 = 1  result A.w2 = 1  result A.b = -3
 *     result B.updates = 11 result B.w1 = 2  result B.w2 = 1  result B.b = -5
 */
#include "lesson.h"

typedef struct point {
    const char *name;
    cr_real x[2], y;
} point;
static const point P[3] = { { "M1", { 3, 3 }, 1 }, { "M2", { 4, 3 }, 1 }, { "M3", { 1, 1 }, -1 } };

/* "3x1 + 3x2 + 1", "x1 + x2 - 3", "-2" */
static void hyperplane(const cr_real w[2], cr_real b, char *buf, size_t size)
{
    size_t len = 0;
    buf[0] = '\0';
    for (int i = 0; i < 2; i++) {
        if (w[i] == 0) continue;
        double a = w[i] < 0 ? -w[i] : w[i];
        len += (size_t)snprintf(buf + len, size - len, "%s", len ? (w[i] < 0 ? " - " : " + ")
                                                                 : (w[i] < 0 ? "-" : ""));
        if (a != 1) len += (size_t)snprintf(buf + len, size - len, "%g", a);
        len += (size_t)snprintf(buf + len, size - len, "x%d", i + 1);
    }
    if (b != 0 || !len)
        snprintf(buf + len, size - len, len ? (b < 0 ? " - %g" : " + %g") : "%g",
                 len ? (double)(b < 0 ? -b : b) : (double)b);
}

static void row(const lesson *L, const char *tag, int it, const char *pt, const cr_real w[2],
                cr_real b)
{
    char h[64];
    hyperplane(w, b, h, sizeof h);
    say(L, "%s %3d  %-4s  (%g, %g)  %3g   %s\n", tag, it, pt, (double)w[0], (double)w[1],
        (double)b, h);
}

/* One gradient step on point p through the tape; trace printed when trace != NULL,
 * the picture written when picture is set. */
static int step(cr_tape *t, const point *p, cr_real w[2], cr_real *b, FILE *trace, int picture,
                const lesson *L)
{
    int two = 2;
    cr_tape_reset(t);
    cr_tensor *W = cr_tensor_label(cr_var(t, 1, &two, w), "w");
    cr_tensor *B = cr_tensor_label(cr_scalar(t, *b), "b");
    cr_tensor *X = cr_tensor_label(cr_const(t, 1, &two, p->x), p->name);
    cr_tensor *Y = cr_tensor_label(cr_scalar_const(t, p->y), "y");
    cr_tensor *wx = cr_tensor_label(cr_mul(t, W, X), "wx");            /* elementwise */
    cr_tensor *dot = cr_tensor_label(cr_sum(t, wx), "w.x");
    cr_tensor *s = cr_tensor_label(cr_add(t, dot, B), "s");               /* w.x + b */
    cr_tensor *ys = cr_tensor_label(cr_mul(t, Y, s), "ys");
    cr_tensor *loss = cr_tensor_label(cr_neg(t, ys), "L");                /* -y(w.x+b) */
    cr_tape_set_trace(t, trace);
    cr_backward(t, loss);
    if (!tape_ok(t)) return 0;
    if (picture) lesson_dot(L, t, "04_perceptron_step1");
    const cr_real eta = 1;
    for (int i = 0; i < 2; i++) w[i] -= eta * W->grad[i];
    *b -= eta * cr_grad_item(B);
    return 1;
}

/* Run until no point is misclassified; at iteration force_at choose force instead. */
static int run(const lesson *L, cr_tape *t, const char *tag, int force_at, int force)
{
    cr_real w[2] = { 0, 0 }, b = 0;
    int it = 0;
    say(L, "\ntable %s\n%s  it  point  w        b   hyperplane w.x + b\n", tag, tag);
    row(L, tag, 0, "-", w, b);
    for (it = 1; it < 100; it++) {
        int pick = -1;
        for (int i = 0; i < 3 && pick < 0; i++)
            if (P[i].y * (w[0] * P[i].x[0] + w[1] * P[i].x[1] + b) <= 0) pick = i;
        if (it == force_at) pick = force;
        if (pick < 0) break;
        int first = it == 1 && tag[0] == 'A';
        if (first) say(L, "(iteration 1, the gradient of L = -y(w.x + b) on M1 from the tape)\n");
        if (!step(t, &P[pick], w, &b, first ? L->out : NULL, first, L)) return 0;
        row(L, tag, it, P[pick].name, w, b);
    }
    row(L, tag, it, "none", w, b);
    char name[32];
    snprintf(name, sizeof name, "%s.updates", tag);
    result(name, it - 1);
    snprintf(name, sizeof name, "%s.w1", tag);
    result(name, w[0]);
    snprintf(name, sizeof name, "%s.w2", tag);
    result(name, w[1]);
    snprintf(name, sizeof name, "%s.b", tag);
    result(name, b);
    return 1;
}

int main(int argc, char **argv)
{
    lesson L;
    if (!lesson_args(&L, argc, argv, "perceptron on M1(3,3)+, M2(4,3)+, M3(1,1)-: tables A, B"))
        return 2;
    cr_tape *t = cr_tape_new(0);
    if (!t) return 1;
    int ok = run(&L, t, "A", 0, 0) && run(&L, t, "B", 5, 1);   /* B: M2 at iteration 5 */
    cr_tape_free(t);
    return ok ? 0 : 1;
}
