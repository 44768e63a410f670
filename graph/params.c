/* The parameter list: named references to heap parameters, in insertion order.
 * Names live in the list, so one tensor can appear under a prefixed name in a
 * bigger model's list without being renamed in its own. */
#include "tape_internal.h"

#include <string.h>

#define CR_PNAME_MAX 64

typedef struct entry {
    cr_tensor *x;
    char name[CR_PNAME_MAX];
    int owned;
} entry;

struct cr_params {
    entry *items;
    size_t n, cap;
};

cr_params *cr_params_new(void) { return cr_calloc(1, sizeof(cr_params)); }

void cr_params_free(cr_params *p)
{
    if (!p) return;
    for (size_t i = 0; i < p->n; i++)
        if (p->items[i].owned) cr_tensor_free(p->items[i].x);
    cr_free(p->items);
    cr_free(p);
}

static int reserve(cr_params *p, size_t need)
{
    if (need <= p->cap) return 1;
    size_t cap = p->cap ? p->cap * 2 : 8;
    while (cap < need) cap *= 2;
    entry *items = cr_realloc(p->items, cap * sizeof *items);
    if (!items) return 0;
    p->items = items;
    p->cap = cap;
    return 1;
}

static cr_status add(cr_params *p, cr_tensor *x, const char *name, int owned)
{
    if (!p || !x || !name || !name[0] || !(x->flags & CR_HEAP) || !x->grad ||
        strlen(name) >= CR_PNAME_MAX)
        return CR_ERR_ARG;
    if (cr_params_find(p, name)) return CR_ERR_ARG;
    if (!reserve(p, p->n + 1)) return CR_ERR_NOMEM;
    if (!x->name) cr_tensor_set_name(x, name);
    entry *e = &p->items[p->n++];
    e->x = x;
    memcpy(e->name, name, strlen(name) + 1);
    e->owned = owned;
    return CR_OK;
}

cr_status cr_params_add(cr_params *p, cr_tensor *x, const char *name)
{
    return add(p, x, name, 0);
}

cr_status cr_params_add_owned(cr_params *p, cr_tensor *x, const char *name)
{
    cr_status s = add(p, x, name, 1);
    if (s != CR_OK) cr_tensor_free(x);
    return s;
}

cr_status cr_params_extend(cr_params *p, const cr_params *src, const char *prefix)
{
    if (!p || !src || p == src) return CR_ERR_ARG;
    if (!prefix) prefix = "";
    size_t n0 = p->n;
    for (size_t i = 0; i < src->n; i++) {
        char name[2 * CR_PNAME_MAX];
        snprintf(name, sizeof name, "%s%s", prefix, src->items[i].name);
        cr_status s = add(p, src->items[i].x, name, 0);
        if (s != CR_OK) {
            p->n = n0;              /* all or nothing */
            return s;
        }
    }
    return CR_OK;
}

size_t cr_params_count(const cr_params *p) { return p ? p->n : 0; }

size_t cr_params_numel(const cr_params *p)
{
    size_t n = 0;
    for (size_t i = 0; p && i < p->n; i++) n += p->items[i].x->size;
    return n;
}

cr_tensor *cr_params_get(const cr_params *p, size_t i)
{
    return p && i < p->n ? p->items[i].x : NULL;
}

const char *cr_params_name(const cr_params *p, size_t i)
{
    return p && i < p->n ? p->items[i].name : NULL;
}

cr_tensor *cr_params_find(const cr_params *p, const char *name)
{
    if (!p || !name) return NULL;
    for (size_t i = 0; i < p->n; i++)
        if (strcmp(p->items[i].name, name) == 0) return p->items[i].x;
    return NULL;
}

void cr_params_zero_grad(cr_params *p)
{
    for (size_t i = 0; p && i < p->n; i++) cr_tensor_zero_grad(p->items[i].x);
}
