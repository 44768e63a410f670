/* cr_meta: a small ordered key -> u64/double container saved beside a model. */
#include "optim_internal.h"

#include <string.h>

cr_meta *cr_meta_new(void) { return cr_calloc(1, sizeof(cr_meta)); }

void cr_meta_free(cr_meta *m)
{
    if (!m) return;
    cr_free(m->items);
    cr_free(m);
}

void cr_meta_clear(cr_meta *m)
{
    if (m) m->n = 0;
}

void cr__meta_adopt(cr_meta *m, cr__meta_entry *items, size_t n)
{
    cr_free(m->items);
    m->items = items;
    m->n = m->cap = n;
}

static cr__meta_entry *find(const cr_meta *m, const char *key)
{
    for (size_t i = 0; i < m->n; i++)
        if (strcmp(m->items[i].key, key) == 0) return &m->items[i];
    return NULL;
}

static cr_status set(cr_meta *m, const char *key, cr_meta_type type, uint64_t bits)
{
    if (!m || !key || !key[0] || strlen(key) >= CR_META_KEY_MAX) return CR_ERR_ARG;
    cr__meta_entry *e = find(m, key);
    if (!e) {
        if (m->n == m->cap) {
            size_t cap = m->cap ? 2 * m->cap : 8;
            cr__meta_entry *items = cr_realloc(m->items, cap * sizeof *items);
            if (!items) return CR_ERR_NOMEM;
            m->items = items;
            m->cap = cap;
        }
        e = &m->items[m->n++];
        memset(e, 0, sizeof *e);
        memcpy(e->key, key, strlen(key) + 1);
    }
    e->type = type;
    e->bits = bits;
    return CR_OK;
}

cr_status cr_meta_set_u64(cr_meta *m, const char *key, uint64_t v)
{
    return set(m, key, CR_META_U64, v);
}

cr_status cr_meta_set_f64(cr_meta *m, const char *key, double v)
{
    uint64_t bits;
    memcpy(&bits, &v, sizeof bits);
    return set(m, key, CR_META_F64, bits);
}

static const cr__meta_entry *get(const cr_meta *m, const char *key, cr_meta_type type)
{
    if (!m || !key) return NULL;
    const cr__meta_entry *e = find(m, key);
    return e && e->type == type ? e : NULL;
}

cr_status cr_meta_get_u64(const cr_meta *m, const char *key, uint64_t *v)
{
    const cr__meta_entry *e = get(m, key, CR_META_U64);
    if (!e || !v) return CR_ERR_ARG;
    *v = e->bits;
    return CR_OK;
}

cr_status cr_meta_get_f64(const cr_meta *m, const char *key, double *v)
{
    const cr__meta_entry *e = get(m, key, CR_META_F64);
    if (!e || !v) return CR_ERR_ARG;
    memcpy(v, &e->bits, sizeof *v);
    return CR_OK;
}

size_t cr_meta_count(const cr_meta *m) { return m ? m->n : 0; }

const char *cr_meta_key(const cr_meta *m, size_t i)
{
    return m && i < m->n ? m->items[i].key : NULL;
}

cr_meta_type cr_meta_type_at(const cr_meta *m, size_t i)
{
    return m && i < m->n ? m->items[i].type : (cr_meta_type)0;
}
