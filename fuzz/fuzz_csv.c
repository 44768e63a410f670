/* libFuzzer harness: the CSV reader (cr_csv_load_mem), plain text or gzip.
 *
 * The input is the file itself. Each input is parsed three times: with the
 * defaults (header auto, label last, classes inferred), with header on, label in
 * column 0 and 4 classes, and as regression data (real targets in column 1), so
 * the header, label and target paths all see every input.
 * Checked besides ASan/UBSan: failure leaves the output untouched with a message;
 * success gives a consistent dataset whose values are all finite, whose labels are
 * below n_classes (classification) or whose targets are finite with no labels
 * (regression), and standardisation and gathering work on it. */
#include "fuzz_util.h"

#include <math.h>
#include <stdint.h>

static void check_dataset(cr_dataset *d, const cr_csv_options *o)
{
    FUZZ_CHECK(d->n >= 1 && d->n_features >= 1, "n %zu, features %zu", d->n, d->n_features);
    for (size_t i = 0; i < d->n * d->n_features; i++)
        FUZZ_CHECK(isfinite(d->values[i]), "value %zu is %g", i, (double)d->values[i]);
    if (o->regression) {
        FUZZ_CHECK(d->values && d->targets && !d->labels && !d->pixels, "buffers (regression)");
        FUZZ_CHECK(d->n_classes == 0, "n_classes %d for regression data", d->n_classes);
        for (size_t i = 0; i < d->n; i++)
            FUZZ_CHECK(isfinite(d->targets[i]), "target %zu is %g", i, (double)d->targets[i]);
    } else {
        FUZZ_CHECK(d->values && d->labels && !d->targets && !d->pixels, "buffers");
        FUZZ_CHECK(d->n_classes >= 1 && (o->n_classes == 0 || d->n_classes == o->n_classes),
                   "n_classes %d", d->n_classes);
        for (size_t i = 0; i < d->n; i++)
            FUZZ_CHECK(d->labels[i] >= 0 && d->labels[i] < d->n_classes, "label %d", d->labels[i]);
    }
    FUZZ_CHECK(cr_dataset_standardize(d, NULL, 0, NULL, 0) == CR_OK, "standardize failed");
    for (size_t j = 0; j < d->n_features; j++)
        FUZZ_CHECK(isfinite(d->mean[j]) && isfinite(d->inv_std[j]) && d->inv_std[j] > 0,
                   "feature %zu: mean %g inv_std %g", j, (double)d->mean[j], (double)d->inv_std[j]);
    if (d->n_features > 4096) return;
    int shape[2] = { 1, (int)d->n_features }, idx = (int)d->n - 1, one = 1;
    cr_tensor *x = cr_tensor_new(2, shape), *y = cr_tensor_new(1, &one);
    FUZZ_CHECK(x && y, "out of memory");
    FUZZ_CHECK(cr_dataset_gather(d, &idx, 1, x, y, NULL, 0) == CR_OK, "gather failed");
    FUZZ_CHECK(o->regression ? y->data[0] == (cr_real)d->targets[idx]
                             : y->data[0] == (cr_real)d->labels[idx], "gathered target");
    cr_tensor_free(x);
    cr_tensor_free(y);
}

static void run(const uint8_t *data, size_t size, const cr_csv_options *o)
{
    cr_dataset *sentinel = (cr_dataset *)&size, *d = sentinel;
    char msg[256];
    memset(msg, 'x', sizeof msg);
    cr_status st = cr_csv_load_mem(&d, (const char *)data, size, "fuzz.csv", o, msg, sizeof msg);
    fuzz_check_message(st, msg, sizeof msg);
    if (st != CR_OK) {
        FUZZ_CHECK(d == sentinel, "output written on failure: %s", msg);
        return;
    }
    FUZZ_CHECK(d != sentinel && d != NULL, "no dataset on success");
    check_dataset(d, o);
    cr_dataset_free(d);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    cr_csv_options a = cr_csv_defaults(), b = a, c = a;
    b.header = 1;
    b.label_column = 0;
    b.n_classes = 4;
    c.label_column = 1;
    c.regression = 1;
    run(data, size, &a);
    run(data, size, &b);
    run(data, size, &c);
    return 0;
}
