/* PCG32 (XSH RR 64/32), M. E. O'Neill, "PCG: A Family of Simple Fast Space-Efficient
 * Statistically Good Algorithms for Random Number Generation", 2014. */
#include "chainrule.h"

#include <math.h>

#define PCG_MULT 6364136223846793005ULL

void cr_rng_seed(cr_rng *r, uint64_t seed)
{
    if (!r) return;
    r->state = 0;
    r->inc = (seed << 1) | 1u;       /* stream selected by the seed too */
    cr_rng_u32(r);
    r->state += seed ^ 0x853c49e6748fea9bULL;
    cr_rng_u32(r);
}

uint32_t cr_rng_u32(cr_rng *r)
{
    if (!r) return 0;
    uint64_t old = r->state;
    r->state = old * PCG_MULT + r->inc;
    uint32_t xorshifted = (uint32_t)(((old >> 18) ^ old) >> 27);
    uint32_t rot = (uint32_t)(old >> 59);
    return (xorshifted >> rot) | (xorshifted << ((32 - rot) & 31));
}

uint32_t cr_rng_below(cr_rng *r, uint32_t n)
{
    if (!r || n == 0) return 0;
    uint32_t threshold = (uint32_t)(-n) % n;   /* reject the short last bucket */
    for (;;) {
        uint32_t x = cr_rng_u32(r);
        if (x >= threshold) return x % n;
    }
}

double cr_rng_uniform(cr_rng *r)
{
    if (!r) return 0;
    uint64_t hi = cr_rng_u32(r) >> 5, lo = cr_rng_u32(r) >> 6;   /* 27 + 26 bits */
    return (double)(hi * 67108864u + lo) / 9007199254740992.0;
}

double cr_rng_normal(cr_rng *r)
{
    if (!r) return 0;
    double u1 = cr_rng_uniform(r), u2 = cr_rng_uniform(r);
    if (u1 < 1e-300) u1 = 1e-300;            /* log(0) guard */
    return sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}

void cr_rng_shuffle(cr_rng *r, int *idx, size_t n)
{
    if (!r || !idx) return;
    for (size_t i = n; i > 1; i--) {
        size_t j = cr_rng_below(r, (uint32_t)i);
        int tmp = idx[i - 1];
        idx[i - 1] = idx[j];
        idx[j] = tmp;
    }
}
