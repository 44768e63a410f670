/* One call for what every elementwise op does (ops/ops_internal.h: cr__unary,
 * cr__binary on operands of the same shape), so that a scalar node pays for one
 * call instead of three. Defined in graph/tape.c. */
#ifndef CR_GRAPH_RECORD_H
#define CR_GRAPH_RECORD_H

#include "chainrule.h"

/* With in = {a} (n 1) or {a, b} (n 2): cr_check_inputs(t, op->name, n, in), then
 * cr_record(t, op, n, in) of an output shaped like a, farg[0] = arg, then cr_run:
 * the same result, errors and tape state as those three calls. With n 2 the
 * caller has made sure that b (when non-NULL and usable) has a's shape. The
 * inputs are passed by value so that an op's wrapper is a tail call. */
cr_tensor *cr__record_run(cr_tape *t, const cr_op *op, int n, cr_tensor *a, cr_tensor *b,
                          double arg);

/* "First write assigns" (CR__BWD_ASSIGNS in graph/tape_internal.h), for ops whose
 * backward writes every element of each input's gradient. cr__assigns_grads opts
 * in the node that produced y (a tape tensor, or NULL; no-grad and heap tensors
 * are left alone) and returns y. cr__grad_fresh: 1 when the running backward must
 * assign (=), not add to (+=), input k's gradient, whose buffer was not zeroed. */
cr_tensor *cr__assigns_grads(cr_tensor *y);
int cr__grad_fresh(const cr_tape *t, int k);

#endif
