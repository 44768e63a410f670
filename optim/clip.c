/* Gradient clipping over a whole parameter list.
 *   by global norm: N = sqrt(sum over every gradient element of g^2);
 *                   if N > max_norm: g *= max_norm / N   (new norm = max_norm)
 *   by value:       g = min(max(g, -c), c)
 * The norm is accumulated in double; if the sum of squares overflows although
 * every element is finite (possible only in the double build) it is recomputed
 * scaled by the largest magnitude, so N is exact up to rounding for any input. */
#include "chainrule.h"
#include "../graph/errf.h"

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

cr_status cr_clip_grad_norm(cr_params *p, double max_norm, double *norm_out, char *err,
                            size_t errsize)
{
    if (!p) return cr__errf(CR_ERR_ARG, err, errsize, "clip_grad_norm: params is NULL");
    if (!(max_norm >= 0))
        return cr__errf(CR_ERR_ARG, err, errsize, "clip_grad_norm: max_norm = %g is not >= 0",
                        max_norm);
    double norm = sqrt(sum_squares(p, 1));
    if (isinf(norm)) {
        double m = max_abs(p);
        if (isfinite(m)) norm = m * sqrt(sum_squares(p, m));
    }
    if (norm_out) *norm_out = norm;
    if (!isfinite(norm) || !(norm > max_norm)) return CR_OK;
    double coef = max_norm / norm;
    for (size_t k = 0; k < cr_params_count(p); k++) {
        cr_tensor *x = cr_params_get(p, k);
        if (!x->grad) continue;
        for (size_t i = 0; i < x->size; i++) x->grad[i] = (cr_real)((double)x->grad[i] * coef);
    }
    return CR_OK;
}

cr_status cr_clip_grad_value(cr_params *p, double clip, char *err, size_t errsize)
{
    if (!p) return cr__errf(CR_ERR_ARG, err, errsize, "clip_grad_value: params is NULL");
    if (!(clip >= 0))
        return cr__errf(CR_ERR_ARG, err, errsize, "clip_grad_value: clip = %g is not >= 0", clip);
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
