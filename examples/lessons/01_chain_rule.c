/* Lesson 1 — the chain rule on the smallest graph: f = x·(x + y) at x = 2, y = 1.
 *
 * Idea. The program records two primitive nodes, z = x + y and f = x·z (a
 * "computation graph"). The backward pass starts from ∂f/∂f = 1 and walks the
 * nodes in reverse; at each node it multiplies the incoming gradient by the node's
 * LOCAL derivative and adds the product to the input's gradient:
 *     node f = x·z:  ∂f/∂z = x = 2,      ∂f/∂x (via f) = z = 3
 *     node z = x+y:  ∂f/∂x (via z) = ∂f/∂z · ∂z/∂x = 2·1 = 2,  ∂f/∂y = 2·1 = 2
 * x feeds two nodes, so its gradient is the SUM over both paths (multivariate chain
 * rule): ∂f/∂x = z + x = 2x + y = 5, and ∂f/∂y = x = 2.
 * Source: lecture-mlp-backprop-autodiff-training.md, 自动微分 ("简单的例子":
 * x = 2, y = 1, f = x*(x+y) = x*z = 6, ∂f/∂z = x = 2, ∂f/∂x = z = 3 on the f node).
 *
 * Expected output (both precisions):
 *     backward from f = 6
 *     f = mul(x, z) = 6, incoming ∂f/∂f = 1
 *       ∂f/∂x (via f) = z = 3
 *       ∂f/∂z = x = 2
 *     z = add(x, y) = 3, incoming ∂f/∂z = 2
 *       ∂f/∂x (via z) = 2·1 = 2
 *       ∂f/∂y = 2·1 = 2
 *     totals:
 *       ∂f/∂x = 5
 *       ∂f/∂y = 2
 *   then the tape table, the picture's path and
 *     result f = 6, result df/dz = 2, result df/dx = 5, result df/dy = 2.
 */
#include "lesson.h"

int main(int argc, char **argv)
{
    lesson L;
    if (!lesson_args(&L, argc, argv, "f = x*(x+y) at x = 2, y = 1: trace, table, picture"))
        return 2;
    cr_tape *t = cr_tape_new(0);
    if (!t) return 1;

    /* forward: record the graph, naming every tensor for the printouts */
    cr_tensor *x = cr_tensor_label(cr_scalar(t, 2), "x");
    cr_tensor *y = cr_tensor_label(cr_scalar(t, 1), "y");
    cr_tensor *z = cr_tensor_label(cr_add(t, x, y), "z");
    cr_tensor *f = cr_tensor_label(cr_mul(t, x, z), "f");

    /* backward, printing every chain-rule step */
    say(&L, "f = x*(x+y) = x*z at x = 2, y = 1\n\n");
    cr_tape_set_trace(t, L.out);
    cr_backward(t, f);
    if (!tape_ok(t)) return 1;

    say(&L, "\nthe tape (creation order = a topological order):\n");
    if (L.out) cr_tape_print(t, L.out);
    say(&L, "\ncheck by hand: df/dx = 2x + y = %g, df/dy = x = %g\n\n",
        2 * cr_item(x) + cr_item(y), (double)cr_item(x));
    lesson_dot(&L, t, "01_chain_rule");

    result("f", cr_item(f));
    result("df/dz", cr_grad_item(z));
    result("df/dx", cr_grad_item(x));
    result("df/dy", cr_grad_item(y));
    cr_tape_free(t);
    return 0;
}
