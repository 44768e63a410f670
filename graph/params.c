/* The parameter list: named references to heap parameters, in insertion order.
 * Names live in the list, so one tensor can appear under a prefixed name in a
 * bigger model's list without being renamed in its own. */
#include "errf.h"
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

static cr_status add(cr_params *p, cr_tensor *x, const char *name, int owned, char *err,
                     size_t errsize)
{
    if (!p || !x || !name)
        return cr__errf(CR_ERR_ARG, err, errsize, "params: %s is NULL",
                        !p ? "the list" : !x ? "the tensor" : "the name");
    size_t len = strlen(name);
    if (len == 0 || len >= CR_PNAME_MAX)
        return cr__errf(CR_ERR_ARG, err, errsize, "params: name '%.*s%s' is %zu bytes (1..%d)",
                        20, name, len > 20 ? "..." : "", len, CR_PNAME_MAX - 1);
    if (!(x->flags & CR_HEAP))
        return cr__errf(CR_ERR_ARG, err, errsize,
                        "params: '%s' is a tape tensor (parameters are made by cr_param_new)",
                        name);
    if (!x->grad)
        return cr__errf(CR_ERR_ARG, err, errsize,
                        "params: '%s' has no gradient buffer (made by cr_tensor_new? use "
                        "cr_param_new)", name);
    if (cr_params_find(p, name))
        return cr__errf(CR_ERR_ARG, err, errsize, "params: '%s' is already in the list", name);
    if (!reserve(p, p->n + 1))
        return cr__errf(CR_ERR_NOMEM, err, errsize, "params: out of memory adding '%s'", name);
    if (!x->name) cr_tensor_set_name(x, name);
    entry *e = &p->items[p->n++];
    e->x = x;
    memcpy(e->name, name, strlen(name) + 1);
    e->owned = owned;
    return CR_OK;
}

cr_status cr_params_add(cr_params *p, cr_tensor *x, const char *name, char *err,
                        size_t errsize)
{
    return add(p, x, name, 0, err, errsize);
}

cr_status cr_params_add_owned(cr_params *p, cr_tensor *x, const char *name, char *err,
                              size_t errsize)
{
    cr_status s = add(p, x, name, 1, err, errsize);
    if (s != CR_OK) cr_tensor_free(x);
    return s;
}

cr_status cr_params_extend(cr_params *p, const cr_params *src, const char *prefix,
                           char *err, size_t errsize)
{
    if (!p || !src)
        return cr__errf(CR_ERR_ARG, err, errsize, "params: %s list is NULL",
                        !p ? "the destination" : "the source");
    if (p == src)
        return cr__errf(CR_ERR_ARG, err, errsize, "params: a list cannot be extended by itself");
    if (!prefix) prefix = "";
    size_t n0 = p->n;
    for (size_t i = 0; i < src->n; i++) {
        char name[2 * CR_PNAME_MAX];
        size_t len = strlen(prefix) + strlen(src->items[i].name);
        if (len >= CR_PNAME_MAX) {
            p->n = n0;
            return cr__errf(CR_ERR_ARG, err, errsize,
                            "params: prefix + name '%.20s...' is %zu bytes (1..%d)", prefix, len,
                            CR_PNAME_MAX - 1);
        }
        snprintf(name, sizeof name, "%s%s", prefix, src->items[i].name);
        cr_status s = add(p, src->items[i].x, name, 0, err, errsize);
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
