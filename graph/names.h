/* Internal to the library: the one lookup of name <-> kind tables (activations,
 * initializers, optimizers, schedules, hyper-parameters). Not installed. */
#ifndef CR_NAMES_H
#define CR_NAMES_H

#include <stddef.h>

/* A table is n entries of `stride` bytes, each starting with its `const char *name`
 * (an array of structs whose first member is the name, or of `const char *`).
 * Returns the index of the first entry whose name equals name ignoring ASCII case,
 * or -1 when name is NULL or no entry matches. Entries with a NULL name are skipped. */
int cr__name_index(const void *table, size_t n, size_t stride, const char *name);

/* cr__name_index over an array (not a pointer) of such entries. */
#define CR__NAME_INDEX(table, name) \
    cr__name_index((table), sizeof(table) / sizeof((table)[0]), sizeof((table)[0]), (name))

#endif
