/* The dataset: compact storage, standardisation, and gathering a batch into
 * tensors. A sample reaches the model as
 *   v = pixel / 255 (IDX bytes)  or  v = value (CSV, arrays)
 *   x = (v - mean[j]) * inv_std[j]  when standardisation is set.
 * pixel / 255 is a true division, as torchvision's ToTensor computes it. */
#include "data_internal.h"

#include <limits.h>
#include <math.h>
#include <string.h>

#define PREFETCH_AHEAD 2   /* samples */

#if defined(__SSE2__) && !defined(CR_REAL_DOUBLE)
#include <emmintrin.h>
#define CR_GATHER_SSE2 1
#endif

void cr_dataset_free(cr_dataset *d)
{
    if (!d) return;
    cr_free(d->pixels);
    cr_free(d->values);
    cr_free(d->labels);
    cr_free(d->targets);
    cr_free(d->mean);      /* mean and inv_std share one block */
    cr_free(d);
}

cr_status cr_dataset_from_arrays(cr_dataset **out, const float *values, const int *labels,
                                 size_t n, size_t n_features, int n_classes,
                                 char *err, size_t errsize)
{
    if (!out || !values || !labels)
        return cr__errf(CR_ERR_ARG, err, errsize, "dataset_from_arrays: NULL argument");
    if (n == 0 || n > INT_MAX || n_features == 0 || n_features > INT_MAX ||
        n > SIZE_MAX / sizeof(float) / n_features || n_classes < 1)
        return cr__errf(CR_ERR_ARG, err, errsize,
                        "dataset_from_arrays: bad sizes (%zu samples, %zu features, %d classes)",
                        n, n_features, n_classes);
    for (size_t i = 0; i < n; i++)
        if (labels[i] < 0 || labels[i] >= n_classes)
            return cr__errf(CR_ERR_ARG, err, errsize,
                            "dataset_from_arrays: label %d of sample %zu is outside 0..%d",
                            labels[i], i, n_classes - 1);
    size_t total = n * n_features;
    for (size_t i = 0; i < total; i++)
        if (!isfinite(values[i]))
            return cr__errf(CR_ERR_FORMAT, err, errsize,
                            "dataset_from_arrays: value %zu of sample %zu is not finite",
                            i % n_features, i / n_features);
    cr_dataset *d = cr__dataset_alloc();
    float *v = cr_malloc(total * sizeof *v);
    int *l = cr_malloc(n * sizeof *l);
    if (!d || !v || !l) {
        cr_free(d);
        cr_free(v);
        cr_free(l);
        return cr__errf(CR_ERR_NOMEM, err, errsize, "dataset_from_arrays: out of memory");
    }
    memcpy(v, values, total * sizeof *v);
    memcpy(l, labels, n * sizeof *l);
    d->n = n;
    d->n_features = n_features;
    d->n_classes = n_classes;
    d->values = v;
    d->labels = l;
    *out = d;
    return CR_OK;
}

/* Value j of sample i before standardisation. */
static double raw_value(const cr_dataset *d, size_t i, size_t j)
{
    size_t k = i * d->n_features + j;
    return d->pixels ? d->pixels[k] / 255.0 : (double)d->values[k];
}

cr_status cr_dataset_set_norm(cr_dataset *d, const float *mean, const float *inv_std,
                              char *err, size_t errsize)
{
    if (!d) return cr__errf(CR_ERR_ARG, err, errsize, "dataset_set_norm: dataset is NULL");
    if ((!mean) != (!inv_std))
        return cr__errf(CR_ERR_ARG, err, errsize, "dataset_set_norm: %s is NULL but %s is not",
                        mean ? "inv_std" : "mean", mean ? "mean" : "inv_std");
    if (!mean) {
        cr_free(d->mean);
        d->mean = d->inv_std = NULL;
        return CR_OK;
    }
    size_t nf = d->n_features;
    float *block = cr_malloc(2 * nf * sizeof *block);
    if (!block)
        return cr__errf(CR_ERR_NOMEM, err, errsize, "dataset_set_norm: out of memory");
    memcpy(block, mean, nf * sizeof *block);
    memcpy(block + nf, inv_std, nf * sizeof *block);
    cr_free(d->mean);
    d->mean = block;
    d->inv_std = block + nf;
    return CR_OK;
}

cr_status cr_dataset_standardize(cr_dataset *d, const int *idx, size_t n, char *err,
                                 size_t errsize)
{
    if (!d) return cr__errf(CR_ERR_ARG, err, errsize, "dataset_standardize: dataset is NULL");
    if (idx && n == 0)
        return cr__errf(CR_ERR_ARG, err, errsize,
                        "dataset_standardize: no samples (idx given with n = 0)");
    if (!idx) n = d->n;
    for (size_t i = 0; idx && i < n; i++)
        if (idx[i] < 0 || (size_t)idx[i] >= d->n)
            return cr__errf(CR_ERR_ARG, err, errsize,
                            "dataset_standardize: idx[%zu] = %d is outside 0..%zu", i, idx[i],
                            d->n - 1);
    size_t nf = d->n_features;
    double *acc = cr_calloc(2 * nf, sizeof *acc);
    float *block = cr_malloc(2 * nf * sizeof *block);
    if (!acc || !block) {
        cr_free(acc);
        cr_free(block);
        return cr__errf(CR_ERR_NOMEM, err, errsize, "dataset_standardize: out of memory");
    }
    double *sum = acc, *ss = acc + nf;
    /* Two passes (mean, then squared deviations): no cancellation trouble. */
    for (size_t k = 0; k < n; k++) {
        size_t i = idx ? (size_t)idx[k] : k;
        for (size_t j = 0; j < nf; j++) sum[j] += raw_value(d, i, j);
    }
    for (size_t j = 0; j < nf; j++) sum[j] /= (double)n;
    for (size_t k = 0; k < n; k++) {
        size_t i = idx ? (size_t)idx[k] : k;
        for (size_t j = 0; j < nf; j++) {
            double dv = raw_value(d, i, j) - sum[j];
            ss[j] += dv * dv;
        }
    }
    for (size_t j = 0; j < nf; j++) {
        double sd = sqrt(ss[j] / (double)n);       /* population std, as StandardScaler */
        block[j] = (float)sum[j];
        block[nf + j] = sd < 1e-6 ? 1.0f : (float)(1.0 / sd);
    }
    cr_free(acc);
    cr_free(d->mean);
    d->mean = block;
    d->inv_std = block + nf;
    return CR_OK;
}

/* One row of pixels: row[j] = (p[j]/255 - mean[j]) * inv[j] (mean NULL: p[j]/255).
 * The SSE2 path (baseline on x86-64, float build) converts 16 bytes at a time and
 * divides exactly as the scalar code does, so both give identical values. */
static void pixels_to_row(cr_real *row, const uint8_t *p, const float *mean, const float *inv,
                          const cr_real *lut, size_t nf)
{
    size_t j = 0;
#ifdef CR_GATHER_SSE2
    const __m128i zero = _mm_setzero_si128();
    const __m128 d255 = _mm_set1_ps(255.0f);
    for (; j + 16 <= nf; j += 16) {
        __m128i b = _mm_loadu_si128((const __m128i *)(p + j));
        __m128i lo = _mm_unpacklo_epi8(b, zero), hi = _mm_unpackhi_epi8(b, zero);
        __m128 v[4] = { _mm_cvtepi32_ps(_mm_unpacklo_epi16(lo, zero)),
                        _mm_cvtepi32_ps(_mm_unpackhi_epi16(lo, zero)),
                        _mm_cvtepi32_ps(_mm_unpacklo_epi16(hi, zero)),
                        _mm_cvtepi32_ps(_mm_unpackhi_epi16(hi, zero)) };
        for (int k = 0; k < 4; k++) {
            __m128 x = _mm_div_ps(v[k], d255);
            if (mean)
                x = _mm_mul_ps(_mm_sub_ps(x, _mm_loadu_ps(mean + j + 4 * k)),
                               _mm_loadu_ps(inv + j + 4 * k));
            _mm_storeu_ps(row + j + 4 * k, x);
        }
    }
#endif
    if (mean)
        for (; j < nf; j++) row[j] = (lut[p[j]] - (cr_real)mean[j]) * (cr_real)inv[j];
    else
        for (; j < nf; j++) row[j] = lut[p[j]];
}

/* What gather_rows needs: the batch and the byte -> value table. */
typedef struct gather_job {
    const cr_dataset *d;
    const int *idx;
    size_t count;
    cr_real *x, *y;
    cr_real lut[256];            /* b / 255 for every byte: 256 divisions, not one per pixel */
} gather_job;

/* Rows [r0, r1) of the batch (rows are independent: any thread may run them). */
static void gather_rows(void *ctx, size_t r0, size_t r1)
{
    const gather_job *g = ctx;
    const cr_dataset *d = g->d;
    const int *idx = g->idx;
    size_t nf = d->n_features;
    const float *mean = d->mean, *inv = d->inv_std;
    for (size_t i = r0; i < r1; i++) {
        size_t s = (size_t)idx[i];
        cr_real *row = g->x + i * nf;
        if (d->pixels) {
#if defined(__GNUC__)
            if (i + PREFETCH_AHEAD < r1) {      /* rows are random: fetch ahead of use */
                const uint8_t *q = d->pixels + (size_t)idx[i + PREFETCH_AHEAD] * nf;
                for (size_t k = 0; k < nf; k += 64) __builtin_prefetch(q + k);
                __builtin_prefetch(q + nf - 1);
            }
#endif
            pixels_to_row(row, d->pixels + s * nf, mean, inv, g->lut, nf);
        } else {
            const float *v = d->values + s * nf;
            if (mean)
                for (size_t j = 0; j < nf; j++)
                    row[j] = ((cr_real)v[j] - (cr_real)mean[j]) * (cr_real)inv[j];
            else
                for (size_t j = 0; j < nf; j++) row[j] = (cr_real)v[j];
        }
        if (g->y) g->y[i] = d->targets ? (cr_real)d->targets[s] : (cr_real)d->labels[s];
    }
}

/* Values per range when a batch is split over a pool: below twice this the
 * batch is gathered on the calling thread. */
#define GATHER_GRAIN 16384

cr_status cr_dataset_gather_pool(const cr_dataset *d, const int *idx, size_t count,
                                 cr_tensor *x, cr_tensor *y, cr_pool *pool, char *err,
                                 size_t errsize)
{
    if (!d || !x || (count && !idx))
        return cr__errf(CR_ERR_ARG, err, errsize, "dataset_gather: %s is NULL",
                        !d ? "dataset" : !x ? "x" : "idx");
    size_t nf = d->n_features;
    /* a sample per index of the first axis (N x F, N x C x H x W, ...); a vector
     * is one sample */
    size_t last = 1;
    for (int i = x->ndim > 1 ? 1 : 0; i < x->ndim; i++) last *= (size_t)x->shape[i];
    if (last != nf || x->size / nf < count || (y && y->size < count)) {
        char xs[48];
        cr_shape_str(x, xs, sizeof xs);
        if (last != nf)
            return cr__errf(CR_ERR_SHAPE, err, errsize,
                            "dataset_gather: x is %s but samples have %zu features", xs, nf);
        if (x->size / nf < count)
            return cr__errf(CR_ERR_SHAPE, err, errsize,
                            "dataset_gather: x is %s, too small for %zu samples", xs, count);
        return cr__errf(CR_ERR_SHAPE, err, errsize,
                        "dataset_gather: y holds %zu values, too few for %zu samples", y->size,
                        count);
    }
    for (size_t i = 0; i < count; i++)
        if (idx[i] < 0 || (size_t)idx[i] >= d->n)
            return cr__errf(CR_ERR_ARG, err, errsize,
                            "dataset_gather: idx[%zu] = %d is outside 0..%zu", i, idx[i],
                            d->n - 1);
    gather_job g;
    g.d = d;
    g.idx = idx;
    g.count = count;
    g.x = x->data;
    g.y = y ? y->data : NULL;
    if (d->pixels)
        for (int b = 0; b < 256; b++) g.lut[b] = (cr_real)b / (cr_real)255;
    size_t grain = GATHER_GRAIN / nf;
    if (cr_pool_threads(pool) == 1 || count * nf < 2 * GATHER_GRAIN)
        gather_rows(&g, 0, count);
    else
        cr_pool_for(pool, count, grain ? grain : 1, gather_rows, &g);
    return CR_OK;
}

cr_status cr_dataset_gather(const cr_dataset *d, const int *idx, size_t count,
                            cr_tensor *x, cr_tensor *y, char *err, size_t errsize)
{
    return cr_dataset_gather_pool(d, idx, count, x, y, NULL, err, errsize);
}
