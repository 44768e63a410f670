/* The embedded default dataset: interleaved spirals in the plane, one class per
 * arm. Arm k of K is the curve r(s) = s, angle(s) = 2πk/K + 5π s for s in
 * (0.05, 1] (two and a half turns), with Gaussian noise of 0.03 on each
 * coordinate. Linear models get about 1/K of it right; an MLP with two hidden
 * layers of 128 gets about 96% (the noise blurs the innermost turns) in seconds. */
#include "train.h"

#include <stdlib.h>
#include <math.h>

cr_status spirals_make(cr_dataset **out, int arms, int points, unsigned long long seed,
                       char *err, size_t errsize)
{
    size_t n = (size_t)arms * (size_t)points;
    float *xy = cr_malloc(2 * n * sizeof *xy);
    int *label = cr_malloc(n * sizeof *label);
    if (!xy || !label) {
        cr_free(xy);
        cr_free(label);
        snprintf(err, errsize, "spirals: out of memory");
        return CR_ERR_NOMEM;
    }
    cr_rng r;
    cr_rng_seed(&r, seed);
    const double pi = 3.14159265358979323846;
    for (int k = 0; k < arms; k++)
        for (int i = 0; i < points; i++) {
            size_t j = (size_t)k * (size_t)points + (size_t)i;
            double s = 0.05 + 0.95 * (i + cr_rng_uniform(&r)) / points;
            double a = 2 * pi * k / arms + 5 * pi * s;
            xy[2 * j] = (float)(s * cos(a) + 0.03 * cr_rng_normal(&r));
            xy[2 * j + 1] = (float)(s * sin(a) + 0.03 * cr_rng_normal(&r));
            label[j] = k;
        }
    cr_status st = cr_dataset_from_arrays(out, xy, label, n, 2, arms, err, errsize);
    cr_free(xy);
    cr_free(label);
    return st;
}
