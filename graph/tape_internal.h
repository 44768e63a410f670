/* The tape's layout, shared by the files of graph/ only. */
#ifndef CR_GRAPH_TAPE_INTERNAL_H
#define CR_GRAPH_TAPE_INTERNAL_H

#include "chainrule.h"

/* One block of the bump arena. Blocks are kept across resets and reused in order,
 * so a step that repeats the previous step's requests allocates nothing. */
typedef struct cr_block {
    struct cr_block *next;
    size_t cap, used;
    unsigned char *mem;             /* cap bytes, 64-byte aligned */
} cr_block;

struct cr_tape {
    cr_node *nodes;                 /* recorded nodes, creation (= topological) order */
    size_t n_nodes, cap_nodes;

    cr_block *first, *cur;          /* arena blocks; cur receives allocations */
    size_t arena_used;              /* bytes handed out since the last reset */
    size_t arena_reserved;          /* bytes in all blocks */
    size_t arena_limit;             /* 0: no cap */
    size_t first_block;             /* size of the first block */

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
    size_t shift;                   /* where allocation starts in a block: 0 or 64 by
                                     * generation, so that a stale tensor does not sit
                                     * exactly on a new one */

    int grad_mode;                  /* 1: record nodes */
    int keep_graph;                 /* allow several backward passes */
    int anomaly;                    /* NaN/Inf checks */
    int backward_done;              /* a backward ran since the last record/replay */
    unsigned epoch;                 /* backward pass counter for lazy grad zeroing */

    cr_pool *pool;
    FILE *trace;                    /* chain-rule trace output, not owned */
};

/* Bump allocation from the arena (not zeroed); NULL and error recorded on failure.
 * align is a power of two <= 64. The common case (fits in the current block) is
 * inline: recording a scalar node must cost a few nanoseconds. */
void *cr__arena_alloc_slow(cr_tape *t, size_t bytes, size_t align);
static inline void *cr__arena_alloc(cr_tape *t, size_t bytes, size_t align)
{
    cr_block *b = t->cur;
    if (b && bytes && bytes <= b->cap) {
        size_t off = (b->used + align - 1) & ~(align - 1);
        if (off <= b->cap - bytes) {
            t->arena_used += off - b->used + bytes;
            b->used = off + bytes;
            return b->mem + off;
        }
    }
    return cr__arena_alloc_slow(t, bytes, align);
}
/* Free every block. */
void cr__arena_free(cr_tape *t);
/* A tensor of the given shape in the arena, data not initialised, allocated in one
 * piece with `extra` more bytes (pointer-aligned, returned in *extra_out when
 * extra > 0) that cr_record uses for the node's input array. */
cr_tensor *cr__tape_tensor(cr_tape *t, int ndim, const int *shape, size_t extra,
                           void **extra_out);
/* Element count of a shape, 0 on a bad shape or size_t overflow. */
size_t cr__shape_size(int ndim, const int *shape);
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
/* 1 when p points into one of t's arena blocks. */
int cr__arena_owns(const cr_tape *t, const void *p);
/* Anomaly checks (graph/anomaly.c). Return 0 and record an error on NaN/Inf. */
int cr__check_forward(cr_tape *t, const cr_node *n);
int cr__check_backward(cr_tape *t, const cr_node *n);
/* Run n's backward printing each chain-rule step to t->trace (graph/trace.c). */
void cr__trace_backward(cr_tape *t, cr_node *n);
/* Format a value summary of x (its data or grad) into buf. */
void cr__summary(const cr_tensor *x, const cr_real *v, char *buf, size_t size);
/* Op used for leaves (cr_var, cr_const): no forward, no backward. */
extern const cr_op cr__leaf_op;

#endif
