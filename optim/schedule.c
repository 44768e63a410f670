/* Learning-rate schedules. t = steps already taken (0 for the first update).
 *   constant  η₀
 *   invsqrt   η₀ / √(t+1)                (the notes' C/√t with t counted from 1)
 *   inv       η₀ / (1 + k t)
 *   step      η₀ γ^⌊t/s⌋
 *   exp       η₀ γ^t
 *   cosine    η_min + (η₀ − η_min)(1 + cos(π min(t,T)/T)) / 2
 * Linear warm-up over W steps: base(0)·(t+1)/W for t < W, then base(t − W). */
#include "optim_internal.h"

#include <math.h>
#include <string.h>

static const double PI = 3.14159265358979323846;

static const char *const sched_names[CR_SCHED_KIND_COUNT] = {
    "constant", "invsqrt", "inv", "step", "exp", "cosine"
};

const char *cr_schedule_kind_name(cr_schedule_kind kind)
{
    return (unsigned)kind < CR_SCHED_KIND_COUNT ? sched_names[kind] : "?";
}

cr_status cr_schedule_kind_from_name(const char *name, cr_schedule_kind *kind)
{
    int k = CR__NAME_INDEX(sched_names, name);
    if (k < 0 || !kind) return CR_ERR_ARG;
    *kind = (cr_schedule_kind)k;
    return CR_OK;
}

cr_schedule cr_schedule_defaults(cr_schedule_kind kind, double lr0)
{
    cr_schedule s;
    memset(&s, 0, sizeof s);
    s.kind = (unsigned)kind < CR_SCHED_KIND_COUNT ? kind : CR_SCHED_CONSTANT;
    s.lr0 = lr0;
    s.k = 0.01;
    s.gamma = s.kind == CR_SCHED_EXP ? 0.99 : 0.1;
    s.step_size = 1000;
    s.T = 10000;
    s.lr_min = 0;
    s.warmup = 0;
    return s;
}

cr_status cr_schedule_check(const cr_schedule *s, char *err, size_t errsize)
{
    if (!s) return cr__errf(CR_ERR_ARG, err, errsize, "schedule: NULL");
    if ((unsigned)s->kind >= CR_SCHED_KIND_COUNT)
        return cr__errf(CR_ERR_ARG, err, errsize, "schedule: unknown kind %d",
                              (int)s->kind);
    if (!(isfinite(s->lr0) && s->lr0 >= 0))
        return cr__errf(CR_ERR_ARG, err, errsize,
                              "schedule: lr0 = %g must be finite and >= 0", s->lr0);
    if (s->warmup < 0)
        return cr__errf(CR_ERR_ARG, err, errsize, "schedule: warmup = %ld is negative",
                              s->warmup);
    switch (s->kind) {
    case CR_SCHED_INV:
        if (!(isfinite(s->k) && s->k >= 0))
            return cr__errf(CR_ERR_ARG, err, errsize,
                                  "schedule: k = %g must be finite and >= 0", s->k);
        break;
    case CR_SCHED_STEP:
        if (s->step_size < 1)
            return cr__errf(CR_ERR_ARG, err, errsize,
                                  "schedule: step_size = %ld must be >= 1", s->step_size);
        /* γ is checked as for exp */
        /* fall through */
    case CR_SCHED_EXP:
        if (!(s->gamma > 0 && s->gamma <= 1))
            return cr__errf(CR_ERR_ARG, err, errsize,
                                  "schedule: gamma = %g is outside (0, 1]", s->gamma);
        break;
    case CR_SCHED_COSINE:
        if (s->T < 1)
            return cr__errf(CR_ERR_ARG, err, errsize, "schedule: T = %ld must be >= 1",
                                  s->T);
        if (!(s->lr_min >= 0 && s->lr_min <= s->lr0))
            return cr__errf(CR_ERR_ARG, err, errsize,
                                  "schedule: lr_min = %g is outside [0, lr0 = %g]",
                                  s->lr_min, s->lr0);
        break;
    default:
        break;
    }
    if (err && errsize) err[0] = '\0';
    return CR_OK;
}

static double base(const cr_schedule *s, long t)
{
    double td = (double)t;
    switch (s->kind) {
    case CR_SCHED_CONSTANT: return s->lr0;
    case CR_SCHED_INV_SQRT: return s->lr0 / sqrt(td + 1);
    case CR_SCHED_INV:      return s->lr0 / (1 + s->k * td);
    case CR_SCHED_STEP:
        return s->step_size >= 1 ? s->lr0 * pow(s->gamma, (double)(t / s->step_size))
                                 : s->lr0;
    case CR_SCHED_EXP:      return s->lr0 * pow(s->gamma, td);
    case CR_SCHED_COSINE: {
        if (s->T < 1) return s->lr_min;
        double f = t < s->T ? td / (double)s->T : 1;
        return s->lr_min + (s->lr0 - s->lr_min) * (1 + cos(PI * f)) / 2;
    }
    }
    return s->lr0;
}

double cr_schedule_lr(const cr_schedule *s, long t)
{
    if (!s) return 0;
    if (t < 0) t = 0;
    if (s->warmup > 0) {
        if (t < s->warmup) return base(s, 0) * (double)(t + 1) / (double)s->warmup;
        t -= s->warmup;
    }
    return base(s, t);
}
