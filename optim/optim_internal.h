/* Internal to optim/: the optimizer and metadata structs, shared by optim.c,
 * meta.c and the model file reader/writer. Not installed, not public. */
#ifndef CR_OPTIM_INTERNAL_H
#define CR_OPTIM_INTERNAL_H

#include "chainrule.h"
#include "../graph/errf.h"   /* cr__errf: the off-tape message helper */

#define CR_STATE_NAME_MAX 72   /* "m." + a parameter name of <= 63 bytes + NUL */
#define CR_META_KEY_MAX 64     /* keys are 1..63 bytes */

struct cr_optim {
    cr_optim_config cfg;
    cr_params *params;      /* referenced, not owned */
    size_t n;               /* tensors in params at creation */
    cr_tensor **x;          /* n: params' tensors at creation (checked each step) */
    int nslots;             /* state tensors per parameter: 0, 1 or 2 */
    size_t nstate;          /* n * nslots */
    cr_tensor **state;      /* nstate, slot-major, owned */
    char (*names)[CR_STATE_NAME_MAX]; /* nstate state names */
    long t;                 /* steps taken */
    cr_pool *pool;          /* threads for the updates (referenced), NULL: one */
};

typedef struct cr__meta_entry {
    char key[CR_META_KEY_MAX];
    cr_meta_type type;
    uint64_t bits;          /* the u64, or the double's IEEE-754 bits */
} cr__meta_entry;

struct cr_meta {
    cr__meta_entry *items;
    size_t n, cap;
};

/* Replace m's entries by items[0..n) (cr_malloc'ed, ownership passes to m; may be
 * NULL when n == 0). Cannot fail. */
void cr__meta_adopt(cr_meta *m, cr__meta_entry *items, size_t n);

/* Number of state tensors per parameter for kind (0, 1 or 2) and the prefix of
 * slot s ("v", "r", "m"). */
int cr__optim_slots(cr_optim_kind kind);
const char *cr__optim_slot_prefix(cr_optim_kind kind, int slot);

#endif
