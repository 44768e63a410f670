/* The tape's bump arena: O(1) allocation, O(1) reset, blocks reused across steps. */
#include "tape_internal.h"

#include <string.h>

#define CR_BLOCK_ALIGN 64

static cr_block *block_new(size_t cap)
{
    if (cap > SIZE_MAX - sizeof(cr_block) - CR_BLOCK_ALIGN) return NULL;
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

static cr_block *grow(cr_tape *t, size_t bytes)
{
    /* bytes <= SIZE_MAX / 2 (checked by the caller), so bytes + 2 * 64 cannot wrap;
     * a doubling that would wrap stops at the request */
    size_t cap = !t->cur ? t->first_block
                 : t->cur->cap <= SIZE_MAX / 2 ? t->cur->cap * 2 : bytes + CR_BLOCK_ALIGN;
    if (cap < bytes + CR_BLOCK_ALIGN) cap = bytes + CR_BLOCK_ALIGN;
    if (t->arena_limit) {
        if (t->arena_reserved >= t->arena_limit ||
            t->arena_limit - t->arena_reserved < bytes + CR_BLOCK_ALIGN) {
            cr_tape_fail(t, CR_ERR_NOMEM,
                         "arena: %zu more bytes needed but the arena cap is %zu bytes "
                         "(%zu reserved); raise it with cr_tape_set_arena_limit",
                         bytes, t->arena_limit, t->arena_reserved);
            return NULL;
        }
        if (cap > t->arena_limit - t->arena_reserved) cap = t->arena_limit - t->arena_reserved;
    }
    cr_block *b = block_new(cap);
    if (!b) {
        cr_tape_fail(t, CR_ERR_NOMEM, "arena: cannot allocate a block of %zu bytes", cap);
        return NULL;
    }
    t->arena_reserved += cap;
    /* insert after cur so that the blocks after it keep their order for reuse */
    if (!t->cur) {
        b->next = t->first;
        t->first = b;
    } else {
        b->next = t->cur->next;
        t->cur->next = b;
    }
    return b;
}

void *cr__arena_alloc_slow(cr_tape *t, size_t bytes, size_t align)
{
    if (bytes == 0) bytes = 1;
    if (bytes > SIZE_MAX / 2) {
        cr_tape_fail(t, CR_ERR_NOMEM, "arena: request of %zu bytes is too large", bytes);
        return NULL;
    }
    if (!t->cur) t->cur = t->first;
    size_t off;
    while (t->cur && (off = fit(t->cur, bytes, align)) == SIZE_MAX) {
        if (!t->cur->next || t->cur->next->cap < bytes + CR_BLOCK_ALIGN) break;
        t->cur = t->cur->next;
        t->cur->used = t->shift;
    }
    if (!t->cur || (off = fit(t->cur, bytes, align)) == SIZE_MAX) {
        cr_block *b = grow(t, bytes);
        if (!b) return NULL;
        t->cur = b;
        b->used = off = t->shift;          /* cap >= bytes + 64 >= shift + bytes */
    }
    t->arena_used += off - t->cur->used + bytes;
    t->cur->used = off + bytes;
    return t->cur->mem + off;
}

int cr__arena_owns(const cr_tape *t, const void *p)
{
    uintptr_t a = (uintptr_t)p;
    for (const cr_block *b = t->first; b; b = b->next)
        if (a >= (uintptr_t)b->mem && a - (uintptr_t)b->mem < b->cap) return 1;
    return 0;
}

void cr__arena_free(cr_tape *t)
{
    cr_block *b = t->first;
    while (b) {
        cr_block *next = b->next;
        cr_free(b);
        b = next;
    }
    t->first = t->cur = NULL;
    t->arena_reserved = t->arena_used = 0;
}

void *cr_tape_alloc(cr_tape *t, size_t bytes)
{
    if (!t) return NULL;
    void *p = cr__arena_alloc(t, bytes, CR_BLOCK_ALIGN);
    if (p) memset(p, 0, bytes);
    return p;
}

void cr_tape_set_arena_limit(cr_tape *t, size_t max_bytes)
{
    if (t) t->arena_limit = max_bytes;
}

size_t cr_tape_arena_used(const cr_tape *t) { return t ? t->arena_used : 0; }
size_t cr_tape_arena_reserved(const cr_tape *t) { return t ? t->arena_reserved : 0; }
