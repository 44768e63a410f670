/* Lesson 2 — a longer chain with exp and max: f = x·exp((x·3)·max(x, y)) at x = 2, y = 1.
 *
 * Idea. Five primitive nodes:  a = x·3,  m = max(x, y),  w = a·m,  e = exp(w),
 * f = x·e. Their local derivatives are all simple:
 *     ∂(x·3)/∂x = 3          ∂max(x,y)/∂x = 1 and ∂max(x,y)/∂y = 0 when x > y
 *     ∂(a·m)/∂a = m, ∂(a·m)/∂m = a        ∂exp(w)/∂w = exp(w) = e
 * and backward multiplies them along every path from f to x (three paths: through
 * f directly, through a, through m) and adds the paths up:
 *     ∂f/∂e = x = 2,  ∂f/∂w = 2e¹²,  ∂f/∂a = 2e¹²·m = 4e¹²,  ∂f/∂m = 2e¹²·a = 12e¹²
 *     ∂f/∂x = e¹² (via f) + 4e¹²·3 (via a) + 12e¹²·1 (via m) = 25e¹²
 *     ∂f/∂y = 12e¹²·0 = 0            (max passes no gradient to the smaller input)
 * Closed form for x > y: f = x·e^(3x²), ∂f/∂x = (1 + 6x²)·e^(3x²) = 25e¹² at x = 2.
 * Source: lecture-mlp-backprop-autodiff-training.md, 梯度计算 ("再一个例子":
 * 输入 x = 2, y = 1, f = x * e^((x*3)*max(x,y))).
 *
 * Expected output: the trace (e¹² = 162754.791419...), the table, the picture, and
 *     result f = 325509.5828   (= 2e¹²)     result f/e^12 = 2
 *     result df/dx = 4068869.786 (= 25e¹²)  result df/dx/e^12 = 25
 *     result df/dy = 0
 * (the last digits of the large numbers differ in the float build).
 */
#include <math.h>

#include "lesson.h"

int main(int argc, char **argv)
{
    lesson L;
    if (!lesson_args(&L, argc, argv,
                     "f = x*exp((x*3)*max(x,y)) at x = 2, y = 1: trace, table, picture"))
        return 2;
    cr_tape *t = cr_tape_new(0);
    if (!t) return 1;

    cr_tensor *x = cr_tensor_label(cr_scalar(t, 2), "x");
    cr_tensor *y = cr_tensor_label(cr_scalar(t, 1), "y");
    cr_tensor *three = cr_tensor_label(cr_scalar_const(t, 3), "3");
    cr_tensor *a = cr_tensor_label(cr_mul(t, x, three), "a");      /* a = x*3 */
    cr_tensor *m = cr_tensor_label(cr_max(t, x, y), "m");          /* m = max(x, y) */
    cr_tensor *w = cr_tensor_label(cr_mul(t, a, m), "w");          /* w = a*m */
    cr_tensor *e = cr_tensor_label(cr_exp(t, w), "e");             /* e = exp(w) */
    cr_tensor *f = cr_tensor_label(cr_mul(t, x, e), "f");          /* f = x*e */

    say(&L, "f = x*exp((x*3)*max(x,y)) at x = 2, y = 1;  e^12 = %.10g\n\n", exp(12.0));
    cr_tape_set_trace(t, L.out);
    cr_backward(t, f);
    if (!tape_ok(t)) return 1;

    say(&L, "\nthe tape:\n");
    if (L.out) cr_tape_print(t, L.out);
    double X = cr_item(x), E = exp(3 * X * X);
    say(&L, "\ncheck by hand (x > y): f = x e^(3x^2) = %.10g, df/dx = (1+6x^2) e^(3x^2) = "
        "%.10g, df/dy = 0\n\n", X * E, (1 + 6 * X * X) * E);
    lesson_dot(&L, t, "02_exp_max");

    result("f", cr_item(f));
    result("f/e^12", cr_item(f) / exp(12.0));
    result("df/dx", cr_grad_item(x));
    result("df/dx/e^12", cr_grad_item(x) / exp(12.0));
    result("df/dy", cr_grad_item(y));
    cr_tape_free(t);
    return 0;
}
