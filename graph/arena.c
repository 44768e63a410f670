/* The tape's bump arena: O(1) allocation, O(1) reset, blocks reused across steps.
 * Failures are described in a->why; the tape (graph/tape.c) makes them errors. */
#include "arena.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#define CR_BLOCK_ALIGN 64

static cr_block *block_new(size_t cap)
{
    /* no object may be larger than PTRDIFF_MAX (malloc refuses it too); checked
     * before the header is added, which could wrap */
    if (cap > (size_t)PTRDIFF_MAX - sizeof(cr_block) - CR_BLOCK_ALIGN) return NULL;
    cr_block *b = cr_malloc(sizeof *b + cap + CR_BLOCK_ALIGN);
    if (!b) return NULL;
    uintptr_t p = (uintptr_t)(b + 1);
    p = (p + CR_BLOCK_ALIGN - 1) & ~(uintptr_t)(CR_BLOCK_ALIGN - 1);
    b->mem = (unsigned char *)p;
    b->cap = cap;
    b->used = 0;
    b->next = NULL;
    return b;
}

/* Offset in b where an allocation of bytes with alignment align fits, or SIZE_MAX. */
static size_t fit(const cr_block *b, size_t bytes, size_t align)
{
    size_t off = (b->used + align - 1) & ~(align - 1);
    if (off > b->cap || b->cap - off < bytes) return SIZE_MAX;
    return off;
}

#if defined(__GNUC__)
__attribute__((format(printf, 2, 3)))
#endif
static void *fail(cr_arena *a, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(a->why, sizeof a->why, fmt, ap);
    va_end(ap);
    return NULL;
}

static cr_block *grow(cr_arena *a, size_t bytes)
{
    /* bytes <= SIZE_MAX / 2 (checked by the caller), so bytes + 2 * 64 cannot wrap;
     * a doubling that would wrap stops at the request */
    size_t cap = !a->cur ? a->first_block
                 : a->cur->cap <= SIZE_MAX / 2 ? a->cur->cap * 2 : bytes + CR_BLOCK_ALIGN;
    if (cap < bytes + CR_BLOCK_ALIGN) cap = bytes + CR_BLOCK_ALIGN;
    if (a->limit) {
        if (a->reserved >= a->limit || a->limit - a->reserved < bytes + CR_BLOCK_ALIGN)
            return fail(a, "arena: %zu more bytes needed but the arena cap is %zu bytes "
                        "(%zu reserved); raise it with cr_tape_set_arena_limit",
                        bytes, a->limit, a->reserved);
        if (cap > a->limit - a->reserved) cap = a->limit - a->reserved;
    }
    cr_block *b = block_new(cap);
    if (!b) return fail(a, "arena: cannot allocate a block of %zu bytes", cap);
    a->reserved += cap;
    uintptr_t lo = (uintptr_t)b->mem, hi = lo + cap;
    if (!a->first || lo < a->lo) a->lo = lo;
    if (!a->first || hi > a->hi) a->hi = hi;
    /* insert after cur so that the blocks after it keep their order for reuse */
    if (!a->cur) {
        b->next = a->first;
        a->first = b;
    } else {
        b->next = a->cur->next;
        a->cur->next = b;
    }
    return b;
}

void *cr__arena_alloc_slow(cr_arena *a, size_t bytes, size_t align)
{
    if (bytes == 0) bytes = 1;
    if (bytes > SIZE_MAX / 2) return fail(a, "arena: request of %zu bytes is too large", bytes);
    if (!a->cur) a->cur = a->first;
    size_t off;
    while (a->cur && (off = fit(a->cur, bytes, align)) == SIZE_MAX) {
        if (!a->cur->next || a->cur->next->cap < bytes + CR_BLOCK_ALIGN) break;
        a->cur = a->cur->next;
        a->cur->used = a->shift;
    }
    if (!a->cur || (off = fit(a->cur, bytes, align)) == SIZE_MAX) {
        cr_block *b = grow(a, bytes);
        if (!b) return NULL;
        a->cur = b;
        b->used = off = a->shift;          /* cap >= bytes + 64 >= shift + bytes */
    }
    a->used += off - a->cur->used + bytes;
    a->cur->used = off + bytes;
    return a->cur->mem + off;
}

void cr__arena_rewind(cr_arena *a, size_t shift)
{
    a->shift = shift;
    a->cur = a->first;
    if (a->cur) a->cur->used = shift;
    a->used = 0;
}

int cr__arena_owns(const cr_arena *a, const void *p)
{
    uintptr_t x = (uintptr_t)p;
    if (x < a->lo || x >= a->hi) return 0;     /* e.g. a heap tensor: no block walk */
    for (const cr_block *b = a->first; b; b = b->next)
        if (x >= (uintptr_t)b->mem && x - (uintptr_t)b->mem < b->cap) return 1;
    return 0;
}

void cr__arena_free(cr_arena *a)
{
    cr_block *b = a->first;
    while (b) {
        cr_block *next = b->next;
        cr_free(b);
        b = next;
    }
    a->first = a->cur = NULL;
    a->reserved = a->used = 0;
    a->lo = a->hi = 0;
}
