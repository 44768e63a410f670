/* The tape's layout, shared by the files of graph/ only.
 *
 * Layers of graph/, each using only the ones before it:
 *   arena.h (blocks and bytes), tensor_internal.h (shapes, heap tensors)
 *   -> tape_internal.h (tape.c: nodes, recording, errors, tape tensors)
 *   -> anomaly.c, trace.c, print.c, dot.c, params.c, gradcheck.c (read a tape)
 *   -> backward.c (runs nodes: cr_run, replay, backward; calls anomaly and trace,
 *      declared in run_internal.h). */
#ifndef CR_GRAPH_TAPE_INTERNAL_H
#define CR_GRAPH_TAPE_INTERNAL_H

#include "arena.h"
#include "record.h"
#include "tensor_internal.h"
#include "view.h"

struct cr_tape {
    struct cr__tape_head head;      /* first: read inline by ops (graph/record.h) */

    cr_node *nodes;                 /* recorded nodes, creation (= topological) order */
    size_t n_nodes, cap_nodes;

    cr_arena arena;                 /* intermediates, node inputs, scratch */

    cr_status err;
    char msg[512];
    char refusal[256];              /* message of the last refused call ("" if none) */

    /* The op being recorded, for error messages ("node #37 matmul: ... (inputs: x,
     * W1)"): set by cr_check_inputs, cleared when the op's node is run. The input
     * pointers are copied (the first 4). */
    const char *ctx_op;
    int ctx_n;
    const cr_tensor *ctx_in[4];

    unsigned gen;                   /* bumped by every reset; stamped on tape tensors */

    int grad_mode;                  /* 1: record nodes */
    int keep_graph;                 /* allow several backward passes */
    int anomaly;                    /* NaN/Inf checks */
    int backward_done;              /* a backward ran since the last record/replay */
    unsigned epoch;                 /* backward pass counter for lazy grad zeroing */

    cr_pool *pool;                  /* NULL: one thread */
    int own_pool;                   /* pool was made by the tape: freed with it */
    FILE *trace;                    /* chain-rule trace output, not owned */
};

/* Arena allocation for the tape (not zeroed): NULL with CR_ERR_NOMEM recorded on
 * failure. The common case is inline (see cr__arena_alloc). */
void *cr__tape_nomem(cr_tape *t);
static inline void *cr__tape_bump(cr_tape *t, size_t bytes, size_t align)
{
    void *p = cr__arena_alloc(&t->arena, bytes, align);
    return p ? p : cr__tape_nomem(t);
}
/* A tensor of the given shape in the arena, data not initialised, allocated in one
 * piece with `extra` more bytes (pointer-aligned, returned in *extra_out when
 * extra > 0) that cr_record uses for the node's input array. */
cr_tensor *cr__tape_tensor(cr_tape *t, int ndim, const int *shape, size_t extra,
                           void **extra_out);
/* Make n, the node reserved by the last cr_record, part of the tape (grad mode;
 * does nothing for a node recorded in no-grad mode). */
static inline void cr__commit(cr_tape *t, cr_node *n)
{
    if (t->nodes && n == t->nodes + t->n_nodes && n->out->id == (int)t->n_nodes) {
        t->n_nodes++;
        t->backward_done = 0;
    }
}
/* 0 when x (non-NULL) may be used on t: a heap tensor or a tensor of t's current
 * generation; 1 when it belongs to another tape; 2 when it is stale (made on t
 * before its last reset). */
int cr__tensor_check(cr_tape *t, const cr_tensor *x);
/* Set the message of a refused call (cr_tape_refusal) and return s; the tape's
 * error is untouched. */
cr_status cr__tape_refuse(cr_tape *t, cr_status s, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;
/* Flag of a view's output (graph/view.h), next to the public CR_REQUIRES_GRAD,
 * CR_HEAP and CR_LEAF bits. */
#define CR__VIEW 8u
/* Flag of a tape tensor of at most CR__GRAD_SLOT values, allocated with room for
 * its gradient right after its data (x->data + x->size): the reverse pass points
 * x->grad there instead of allocating (scalar graphs: one bump per node, not two). */
#define CR__GRAD_SLOT 16u
#define CR__GRAD_SLOT_MAX 4
/* CR__BWD_ASSIGNS (first write assigns) is in graph/record.h. */

/* Op used for leaves (cr_var, cr_const): no forward, no backward. */
extern const cr_op cr__leaf_op;

#endif
