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

    int grad_mode;                  /* 1: record nodes */
    int keep_graph;                 /* allow several backward passes */
    int anomaly;                    /* NaN/Inf checks */
    int backward_done;              /* a backward ran since the last record/replay */
    unsigned epoch;                 /* backward pass counter for lazy grad zeroing */

    cr_pool *pool;                  /* NULL: one thread */
    int own_pool;                   /* pool was made by the tape: freed with it */
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
