/* What running nodes (graph/backward.c) uses above the tape: anomaly checks
 * (graph/anomaly.c) and the chain-rule trace (graph/trace.c). */
#ifndef CR_GRAPH_RUN_INTERNAL_H
#define CR_GRAPH_RUN_INTERNAL_H

#include "tape_internal.h"

/* Anomaly checks. Return 0 and record an error on NaN/Inf. */
int cr__check_forward(cr_tape *t, const cr_node *n);
int cr__check_backward(cr_tape *t, const cr_node *n);
/* Run n's backward printing each chain-rule step to t->trace. */
void cr__trace_backward(cr_tape *t, cr_node *n);

#endif
