/* quickstart: the README example. f = x*(x+y) at x=2, y=1: f = 6, df/dx = 5, df/dy = 2. */
#include <stdio.h>
#include "chainrule.h"

int main(void)
{
    cr_tape *t = cr_tape_new(0);                  /* 0: default arena size */
    cr_tensor *x = cr_scalar(t, 2), *y = cr_scalar(t, 1);
    cr_tensor *f = cr_mul(t, x, cr_add(t, x, y)); /* f = x * (x + y) */
    if (cr_backward(t, f) != CR_OK) {
        fprintf(stderr, "%s\n", cr_tape_error(t));
        return 1;
    }
    printf("f = %g  df/dx = %g  df/dy = %g\n", cr_item(f), cr_grad_item(x), cr_grad_item(y));
    cr_tape_print(t, stdout);                     /* every node: op, value, gradient */
    cr_tape_free(t);
    return 0;
}
