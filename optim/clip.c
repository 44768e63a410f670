/* Gradient clipping over a whole parameter list.
 *   by global norm: N = sqrt(sum over every gradient element of g^2);
 *                   if N > max_norm: g *= max_norm / N   (new norm = max_norm)
 *   by value:       g = min(max(g, -c), c)
 * The norm is accumulated in double; if the sum of squares overflows although
 * every element is finite (possible only in the double build) it is recomputed
 * scaled by the largest magnitude, so N is exact up to rounding for any input. */
#include "chainrule.h"

#include <math.h>

static double sum_squares(const cr_params *p, double scale)
{
    double s = 0;
    for (size_t k = 0; k < cr_params_count(p); k++) {
        const cr_tensor *x = cr_params_get(p, k);
        if (!x->grad) continue;
        for (size_t i = 0; i < x->size; i++) {
            double g = (double)x->grad[i] / scale;
            s += g * g;
        }
    }
    return s;
}

static double max_abs(const cr_params *p)
{
    double m = 0;
    for (size_t k = 0; k < cr_params_count(p); k++) {
        const cr_tensor *x = cr_params_get(p, k);
        if (!x->grad) continue;
        for (size_t i = 0; i < x->size; i++) {
            double a = fabs((double)x->grad[i]);
            if (!(a <= m)) m = a;   /* NaN propagates */
        }
    }
    return m;
}

double cr_clip_grad_norm(cr_params *p, double max_norm)
{
    if (!p || !(max_norm >= 0)) return -1;
    double norm = sqrt(sum_squares(p, 1));
    if (isinf(norm)) {
        double m = max_abs(p);
        if (isfinite(m)) norm = m * sqrt(sum_squares(p, m));
    }
    if (!isfinite(norm) || !(norm > max_norm)) return norm;
    double coef = max_norm / norm;
    for (size_t k = 0; k < cr_params_count(p); k++) {
        cr_tensor *x = cr_params_get(p, k);
        if (!x->grad) continue;
        for (size_t i = 0; i < x->size; i++) x->grad[i] = (cr_real)((double)x->grad[i] * coef);
    }
    return norm;
}

cr_status cr_clip_grad_value(cr_params *p, double clip)
{
    if (!p || !(clip >= 0)) return CR_ERR_ARG;
    for (size_t k = 0; k < cr_params_count(p); k++) {
        cr_tensor *x = cr_params_get(p, k);
        if (!x->grad) continue;
        for (size_t i = 0; i < x->size; i++) {
            double g = x->grad[i];
            if (g > clip) x->grad[i] = (cr_real)clip;
            else if (g < -clip) x->grad[i] = (cr_real)-clip;
        }
    }
    return CR_OK;
}
