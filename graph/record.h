/* One call for what every elementwise op does (ops/ops_internal.h: cr__unary,
 * cr__binary on operands of the same shape), so that a scalar node pays for one
 * call instead of three. Defined in graph/tape.c. */
#ifndef CR_GRAPH_RECORD_H
#define CR_GRAPH_RECORD_H

#include "chainrule.h"

/* With in = {a} (n 1) or {a, b} (n 2): cr_check_inputs(t, op->name, n, in), then
 * cr_record(t, op, n, in) of an output shaped like a, farg[0] = arg, then cr_run:
 * the same result, errors and tape state as those three calls. With n 2 the
 * caller has made sure that b (when non-NULL and usable) has a's shape. out_flags
 * (0 or CR__BWD_ASSIGNS) is or-ed into the flags of an output recorded in grad
 * mode: cr__assigns_grads without another call. The inputs are passed by value
 * so that an op's wrapper is a tail call. */
cr_tensor *cr__record_run(cr_tape *t, const cr_op *op, int n, cr_tensor *a, cr_tensor *b,
                          unsigned out_flags, double arg);

/* Flag of a node's output: the node's backward opts in to "first write assigns".
 * For each input k whose gradient buffer has not been written yet in this pass
 * (a tape tensor, not a view, not twice among the node's inputs) the reverse pass
 * hands the buffer over unzeroed and sets bit k of cr__grad_fresh: the backward
 * must then write (=) every element of that gradient instead of adding (+=) to
 * it. Set by an op right after recording (cr__assigns_grads); never in a traced
 * pass. Same results as zeroing then adding (x + 0 == x), but for the sign of a
 * zero gradient element. */
#define CR__BWD_ASSIGNS 32u

/* The part of a tape that an op's backward reads through cr__grad_fresh: the
 * first member of struct cr_tape (graph/tape_internal.h), so that the test is
 * inline in ops/ where the tape is opaque. */
struct cr__tape_head {
    unsigned long long fresh;   /* running backward: bit k (< 64), in[k]'s gradient is
                                 * to be assigned, not added to (CR__BWD_ASSIGNS) */
};

/* "First write assigns", for ops whose backward writes every element of each
 * input's gradient. cr__assigns_grads opts in the node that produced y (a tape
 * tensor, or NULL; no-grad and heap tensors are left alone) and returns y.
 * cr__grad_fresh: 1 when the running backward must assign (=), not add to (+=),
 * input k's gradient, whose buffer was not zeroed. Inline: a scalar node pays for
 * both. */
static inline cr_tensor *cr__assigns_grads(cr_tensor *y)
{
    if (y && y->id >= 0 && !(y->flags & CR_HEAP)) y->flags |= CR__BWD_ASSIGNS;
    return y;
}

static inline int cr__grad_fresh(const cr_tape *t, int k)
{
    const struct cr__tape_head *h = (const struct cr__tape_head *)(const void *)t;
    return k >= 0 && k < 64 && ((h->fresh >> k) & 1u);
}

#endif
