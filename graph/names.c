/* Name lookup shared by every name <-> kind table of the library: one rule, names
 * compare without regard to ASCII case ("ReLU", "Adam", "Cosine" are accepted). */
#include "names.h"

#include <ctype.h>
#include <string.h>

static int same_nocase(const char *a, const char *b)
{
    for (; *a && *b; a++, b++)
        if (tolower((unsigned char)*a) != tolower((unsigned char)*b)) return 0;
    return *a == *b;
}

int cr__name_index(const void *table, size_t n, size_t stride, const char *name)
{
    if (!name || !table) return -1;
    const char *p = table;
    for (size_t i = 0; i < n; i++, p += stride) {
        const char *entry;
        memcpy(&entry, p, sizeof entry);      /* the entry's first member */
        if (entry && same_nocase(name, entry)) return (int)i;
    }
    return -1;
}
