/* Cost of the tape on scalars: record y = tanh(y*w + b) n times (3 nodes per
 * step), run backward, reset; report ns per node (record + forward + backward),
 * median of 5 runs after one warm-up run that sizes the arena, in CPU time of the
 * process (a busy machine that time-slices it inflates wall time, shown too).
 *
 *   cc -O2 -Iinclude bench/scalar_nodes.c build/float/libchainrule.a -lm -lpthread
 *   ./a.out [steps]          (steps: default 1000000)
 * Last line, for bench/train.sh:  RESULT ns_per_node=<CPU median> wall_ns=<wall median> */
#include "chainrule.h"
#include "bench_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

int main(int argc, char **argv)
{
    long steps = argc > 1 ? atol(argv[1]) : 1000000;
    if (steps < 1) {
        fprintf(stderr, "usage: %s [steps >= 1]\n", argv[0]);
        return 2;
    }
    cr_tensor *w = cr_param_new(0, NULL), *b = cr_param_new(0, NULL);
    cr_tape *t = cr_tape_new(0);
    if (!w || !b || !t) return 1;
    w->data[0] = 0.5f;
    b->data[0] = 0.1f;
    double ns[5], wall[5];
    for (int run = -1; run < 5; run++) {
        double t0 = clock_s(CLOCK_PROCESS_CPUTIME_ID), w0 = clock_s(CLOCK_MONOTONIC);
        cr_tape_reset(t);
        cr_tensor *y = cr_scalar(t, 0.3f);
        for (long i = 0; i < steps; i++) y = cr_tanh(t, cr_add(t, cr_mul(t, y, w), b));
        if (cr_backward(t, y) != CR_OK) {
            fprintf(stderr, "error: %s\n", cr_tape_error(t));
            return 1;
        }
        double dt = clock_s(CLOCK_PROCESS_CPUTIME_ID) - t0, dw = clock_s(CLOCK_MONOTONIC) - w0;
        if (run >= 0) {
            ns[run] = dt * 1e9 / (3.0 * (double)steps);
            wall[run] = dw * 1e9 / (3.0 * (double)steps);
        }
    }
    qsort(ns, 5, sizeof ns[0], cmp_double);
    qsort(wall, 5, sizeof wall[0], cmp_double);
    printf("scalar nodes (%s, %ld steps x 3 nodes): %.1f ns/node median CPU time "
           "(min %.1f, max %.1f; wall median %.1f); dL/dw = %g\n",
           cr_real_size() == 8 ? "double" : "float", steps, ns[2], ns[0], ns[4], wall[2],
           (double)cr_grad_item(w));
    printf("RESULT ns_per_node=%.1f wall_ns=%.1f\n", ns[2], wall[2]);
    cr_tape_free(t);
    cr_tensor_free(w);
    cr_tensor_free(b);
    return 0;
}
