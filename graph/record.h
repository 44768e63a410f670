/* One call for what every elementwise op does (ops/ops_internal.h: cr__unary,
 * cr__binary on operands of the same shape), so that a scalar node pays for one
 * call instead of three. Defined in graph/tape.c. */
#ifndef CR_GRAPH_RECORD_H
#define CR_GRAPH_RECORD_H

#include "chainrule.h"

/* cr_check_inputs(t, op->name, n, in), then cr_record(t, op, n, in) of an output
 * shaped like in[0], farg[0] = arg, then cr_run: the same result, errors and tape
 * state as those three calls. n is 1 or 2; with 2, the caller has made sure that
 * in[1] (when non-NULL and usable) has in[0]'s shape. */
cr_tensor *cr__record_run(cr_tape *t, const cr_op *op, int n, cr_tensor *const *in, double arg);

#endif
