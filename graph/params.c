/* The parameter list: named references to heap parameters, in insertion order. */
#include "tape_internal.h"

#include <string.h>

struct cr_params {
    cr_tensor **items;
    unsigned char *owned;
    size_t n, cap;
};

cr_params *cr_params_new(void) { return cr_calloc(1, sizeof(cr_params)); }

void cr_params_free(cr_params *p)
{
    if (!p) return;
    for (size_t i = 0; i < p->n; i++)
        if (p->owned[i]) cr_tensor_free(p->items[i]);
    cr_free(p->items);
    cr_free(p->owned);
    cr_free(p);
}

static int reserve(cr_params *p, size_t need)
{
    if (need <= p->cap) return 1;
    size_t cap = p->cap ? p->cap * 2 : 8;
    while (cap < need) cap *= 2;
    cr_tensor **items = cr_realloc(p->items, cap * sizeof *items);
    if (!items) return 0;
    p->items = items;
    unsigned char *owned = cr_realloc(p->owned, cap);
    if (!owned) return 0;
    p->owned = owned;
    p->cap = cap;
    return 1;
}

static cr_status add(cr_params *p, cr_tensor *x, const char *name, int owned)
{
    if (!p || !x || !name || !(x->flags & CR_HEAP) || !x->grad || strlen(name) >= 64)
        return CR_ERR_ARG;
    if (cr_params_find(p, name)) return CR_ERR_ARG;
    if (!reserve(p, p->n + 1)) return CR_ERR_NOMEM;
    cr_status s = cr_tensor_set_name(x, name);
    if (s != CR_OK) return s;
    p->items[p->n] = x;
    p->owned[p->n] = (unsigned char)owned;
    p->n++;
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
    if (!p || !src) return CR_ERR_ARG;
    if (!prefix) prefix = "";
    size_t n0 = p->n;
    if (!reserve(p, p->n + src->n)) return CR_ERR_NOMEM;
    for (size_t i = 0; i < src->n; i++) {
        char name[128];
        const char *base = src->items[i]->name ? src->items[i]->name : "";
        snprintf(name, sizeof name, "%s%s", prefix, base);
        if (strlen(name) >= 64 || cr_params_find(p, name)) {
            p->n = n0;
            return CR_ERR_ARG;
        }
        p->items[p->n] = src->items[i];
        p->owned[p->n] = 0;
        p->n++;
    }
    /* names are only rewritten once every entry is known to fit */
    for (size_t i = n0; i < p->n; i++) {
        char name[128];
        snprintf(name, sizeof name, "%s%s", prefix, p->items[i]->name ? p->items[i]->name : "");
        cr_tensor_set_name(p->items[i], name);
    }
    return CR_OK;
}

size_t cr_params_count(const cr_params *p) { return p ? p->n : 0; }

size_t cr_params_numel(const cr_params *p)
{
    size_t n = 0;
    for (size_t i = 0; p && i < p->n; i++) n += p->items[i]->size;
    return n;
}

cr_tensor *cr_params_get(const cr_params *p, size_t i)
{
    return p && i < p->n ? p->items[i] : NULL;
}

cr_tensor *cr_params_find(const cr_params *p, const char *name)
{
    if (!p || !name) return NULL;
    for (size_t i = 0; i < p->n; i++)
        if (p->items[i]->name && strcmp(p->items[i]->name, name) == 0) return p->items[i];
    return NULL;
}

void cr_params_zero_grad(cr_params *p)
{
    for (size_t i = 0; p && i < p->n; i++) cr_tensor_zero_grad(p->items[i]);
}
