/* The bump arena under a tape (graph/arena.c). The bottom layer of graph/: it
 * knows blocks and bytes, not tapes, tensors or nodes. A failed allocation returns
 * NULL and leaves the reason in the arena's `why`; its owner turns that into an
 * error. */
#ifndef CR_GRAPH_ARENA_H
#define CR_GRAPH_ARENA_H

#include "chainrule.h"

/* One block. Blocks are kept across rewinds and reused in order, so a step that
 * repeats the previous step's requests allocates nothing. */
typedef struct cr_block {
    struct cr_block *next;
    size_t cap, used;
    unsigned char *mem;             /* cap bytes, 64-byte aligned */
} cr_block;

typedef struct cr_arena {
    cr_block *first, *cur;          /* blocks; cur receives allocations */
    size_t used;                    /* bytes handed out since the last rewind */
    size_t reserved;                /* bytes in all blocks */
    size_t limit;                   /* 0: no cap */
    size_t first_block;             /* size of the first block */
    size_t shift;                   /* offset where each block starts being used (0 or
                                     * 64), changed by cr__arena_rewind */
    uintptr_t lo, hi;               /* lowest block start, highest block end: a
                                     * pointer outside [lo, hi) is not the arena's */
    char why[200];                  /* reason of the last failed allocation */
} cr_arena;

/* Bump allocation (not zeroed); NULL with a->why set on failure. align is a power
 * of two <= 64. The common case (fits in the current block) is inline: recording
 * a scalar node must cost a few nanoseconds. */
void *cr__arena_alloc_slow(cr_arena *a, size_t bytes, size_t align);
static inline void *cr__arena_alloc(cr_arena *a, size_t bytes, size_t align)
{
    cr_block *b = a->cur;
    if (b && bytes && bytes <= b->cap) {
        size_t off = (b->used + align - 1) & ~(align - 1);
        if (off <= b->cap - bytes) {
            a->used += off - b->used + bytes;
            b->used = off + bytes;
            return b->mem + off;
        }
    }
    return cr__arena_alloc_slow(a, bytes, align);
}
/* Forget every allocation (blocks kept); later allocations start shift bytes into
 * each block (shift is 0 or 64). */
void cr__arena_rewind(cr_arena *a, size_t shift);
/* 1 when p points into one of the arena's blocks. */
int cr__arena_owns(const cr_arena *a, const void *p);
/* Free every block. */
void cr__arena_free(cr_arena *a);

#endif
