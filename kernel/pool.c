/* PLACEHOLDER (to be replaced by the threaded pool): single-threaded pool. */
#include "chainrule.h"

#include <stdlib.h>

struct cr_pool { int n; };

cr_pool *cr_pool_new(int n)
{
    if (n <= 0) {
        const char *env = getenv("CR_NUM_THREADS");
        n = env ? atoi(env) : 1;
        if (n < 1 || n > 256) n = 1;
    }
    if (n > 256) return NULL;
    cr_pool *p = cr_malloc(sizeof *p);
    if (p) p->n = n;
    return p;
}

void cr_pool_free(cr_pool *p) { cr_free(p); }
int cr_pool_threads(const cr_pool *p) { return p ? p->n : 1; }
