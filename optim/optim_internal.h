/* Internal to optim/: the optimizer and metadata structs, shared by optim.c,
 * meta.c and the model file reader/writer. Not installed, not public. */
#ifndef CR_OPTIM_INTERNAL_H
#define CR_OPTIM_INTERNAL_H

#include "chainrule.h"
#include "../graph/errf.h"   /* cr__errf: the off-tape message helper */
#include "../graph/names.h"

#define CR_STATE_NAME_MAX 80   /* slot (<= 15 bytes) + "." + parameter name (<= 63) + NUL */
#define CR_META_KEY_MAX 64     /* keys are 1..63 bytes */
#define CR__OPTIM_NAME_MAX 64  /* user-defined optimizer names are 1..63 bytes */
#define CR__SLOT_NAME_MAX 16   /* slot names are 1..15 bytes */
#define CR__HYPER_NAME_MAX 32  /* hyper-parameter names are 1..31 bytes */

struct cr_optim {
    cr_optim_config cfg;
    cr_params *params;      /* referenced, not owned */
    size_t n;               /* tensors in params at creation */
    cr_tensor **x;          /* n: params' tensors at creation (checked each step) */
    cr_optim_update_fn update; /* from the built-in table or cfg.def */
    int per_tensor;         /* update wants whole tensors on the calling thread */
    int nslots;             /* state tensors per parameter, 0..CR_OPTIM_MAX_SLOTS */
    size_t nstate;          /* n * nslots */
    cr_tensor **state;      /* nstate, slot-major, owned */
    char (*names)[CR_STATE_NAME_MAX]; /* nstate state names */
    long t;                 /* steps taken */
    cr_pool *pool;          /* threads for the updates (referenced), NULL: one */
};

/* The hyper-parameters of cr_optim_config, in the order the OPTM section stores
 * them (docs/FORMAT.md): name, the double field, the range it must be in. */
typedef struct cr__optim_hyper {
    const char *name;
    size_t offset;          /* offsetof(cr_optim_config, field) */
    int unit;               /* 1: in [0, 1); 0: finite and >= 0 */
} cr__optim_hyper;
#define CR__NHYPER 8
extern const cr__optim_hyper cr__optim_hypers[CR__NHYPER];

static inline double *cr__optim_field(cr_optim_config *c, int i)
{
    return (double *)((char *)c + cr__optim_hypers[i].offset);
}

static inline double cr__optim_field_get(const cr_optim_config *c, int i)
{
    return *(const double *)((const char *)c + cr__optim_hypers[i].offset);
}

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

/* One more section of a model file (graph files: GRPH, docs/FORMAT.md). */
typedef struct cr__section {
    char tag[5];                /* four ASCII bytes and a NUL */
    const void *body;
    size_t len;
} cr__section;
/* cr_save, with extra (non-NULL) written after the other sections. */
cr_status cr__save_with(const char *path, const cr_params *params, const cr_optim *opt,
                        const cr_meta *meta, const cr__section *extra, char *err,
                        size_t errsize);
/* Validate a whole file image as cr_load does (header, size, checksum, every
 * section) and find the section tagged tag: *body and *len (NULL and 0 when the
 * file has none); *real_size is the file's real size. */
cr_status cr__load_section(const void *data, size_t size, const char *name, const char *tag,
                           const unsigned char **body, size_t *len, uint32_t *real_size,
                           char *err, size_t errsize);


#endif
