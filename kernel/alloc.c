/* Allocation hooks and status names, in kernel/ (the bottom layer) so that every
 * layer allocates through them and kernel/ imports nothing from above. The hooks
 * are process-wide state set only by the caller (like sqlite3_config); the
 * library's other process-wide state is the configuration read once from the
 * environment (kernel/config.c). */
#include "chainrule.h"

#include <stdlib.h>
#include <string.h>

static void *default_malloc(size_t size, void *ctx) { (void)ctx; return malloc(size); }
static void *default_realloc(void *p, size_t size, void *ctx) { (void)ctx; return realloc(p, size); }
static void default_free(void *p, void *ctx) { (void)ctx; free(p); }

static cr_allocator hooks = { default_malloc, default_realloc, default_free, NULL };

void cr_set_allocator(const cr_allocator *a)
{
    if (!a || !a->malloc_fn || !a->realloc_fn || !a->free_fn) {
        hooks.malloc_fn = default_malloc;
        hooks.realloc_fn = default_realloc;
        hooks.free_fn = default_free;
        hooks.ctx = NULL;
        return;
    }
    hooks = *a;
}

void *cr_malloc(size_t size)
{
    if (size == 0) return NULL;
    return hooks.malloc_fn(size, hooks.ctx);
}

void *cr_calloc(size_t n, size_t size)
{
    if (n == 0 || size == 0 || n > SIZE_MAX / size) return NULL;
    void *p = hooks.malloc_fn(n * size, hooks.ctx);
    if (p) memset(p, 0, n * size);
    return p;
}

void *cr_realloc(void *p, size_t size)
{
    if (size == 0) return NULL;
    return hooks.realloc_fn(p, size, hooks.ctx);
}

void cr_free(void *p)
{
    if (p) hooks.free_fn(p, hooks.ctx);
}

const char *cr_strerror(cr_status s)
{
    switch (s) {
    case CR_OK: return "ok";
    case CR_ERR_ARG: return "bad argument";
    case CR_ERR_SHAPE: return "shape mismatch";
    case CR_ERR_NOMEM: return "out of memory";
    case CR_ERR_IO: return "input/output error";
    case CR_ERR_FORMAT: return "malformed file";
    case CR_ERR_STATE: return "not allowed in this state";
    case CR_ERR_NUMERIC: return "NaN or Inf";
    case CR_ERR_UNSUPPORTED: return "not supported by this build";
    }
    return "unknown status";
}

size_t cr_real_size(void) { return sizeof(cr_real); }
