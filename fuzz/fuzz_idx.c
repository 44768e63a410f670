/* libFuzzer harness: the IDX reader (images idx3 + labels idx1, plain or gzip).
 *
 * Input layout (fuzz/make_seeds.c writes seeds this way):
 *   byte 0      options: bits 0-3 n_classes (0 = infer), bit 4 read through files
 *               (cr_idx_load) instead of memory (cr_idx_load_mem)
 *   bytes 1-2   length L of the label file, big-endian (clamped to what is there)
 *   L bytes     the label file
 *   the rest    the image file
 * Checked besides ASan/UBSan: on failure the output is untouched and there is a
 * message; on success the dataset is consistent (sizes, labels below n_classes)
 * and every pixel and label is readable and gathers into a batch. */
#include "fuzz_util.h"

#include <stdint.h>

static void check_dataset(const cr_dataset *d, int n_classes)
{
    FUZZ_CHECK(d->n >= 1 && d->n <= INT32_MAX, "n = %zu", d->n);
    FUZZ_CHECK(d->rows >= 1 && d->cols >= 1, "image %dx%d", d->rows, d->cols);
    FUZZ_CHECK(d->n_features == (size_t)d->rows * (size_t)d->cols, "n_features %zu", d->n_features);
    FUZZ_CHECK(d->pixels && d->labels && !d->values, "buffers");
    FUZZ_CHECK(d->n_classes >= 1 && (n_classes == 0 || d->n_classes == n_classes),
               "n_classes %d (asked %d)", d->n_classes, n_classes);
    unsigned sum = 0;
    for (size_t i = 0; i < d->n * d->n_features; i++) sum += d->pixels[i];
    for (size_t i = 0; i < d->n; i++)
        FUZZ_CHECK(d->labels[i] >= 0 && d->labels[i] < d->n_classes, "label %d", d->labels[i]);
    (void)sum;
    if (d->n_features > 4096) return;
    int shape[2] = { 2, (int)d->n_features }, idx[2] = { 0, (int)d->n - 1 };
    cr_tensor *x = cr_tensor_new(2, shape), *y = cr_tensor_new(1, shape);
    FUZZ_CHECK(x && y, "out of memory");
    FUZZ_CHECK(cr_dataset_gather(d, idx, 2, x, y, NULL, 0) == CR_OK, "gather failed");
    for (size_t i = 0; i < x->size; i++)
        FUZZ_CHECK(x->data[i] >= 0 && x->data[i] <= 1, "pixel value %g", (double)x->data[i]);
    FUZZ_CHECK(y->data[1] == (cr_real)d->labels[d->n - 1], "gathered label");
    cr_tensor_free(x);
    cr_tensor_free(y);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 3) return 0;
    int n_classes = data[0] & 15, files = (data[0] >> 4) & 1;
    size_t L = (size_t)data[1] << 8 | data[2];
    data += 3;
    size -= 3;
    if (L > size) L = size;
    const uint8_t *labels = data, *images = data + L;
    size_t images_len = size - L;

    cr_dataset *sentinel = (cr_dataset *)&n_classes, *d = sentinel;
    char msg[256];
    memset(msg, 'x', sizeof msg);
    cr_status st;
    if (files) {
        const char *ip = fuzz_scratch_path("idx-images"), *lp = fuzz_scratch_path("idx-labels");
        fuzz_write_file(ip, images, images_len);
        fuzz_write_file(lp, labels, L);
        st = cr_idx_load(&d, ip, lp, n_classes, msg, sizeof msg);
        unlink(ip);
        unlink(lp);
    } else {
        st = cr_idx_load_mem(&d, images, images_len, labels, L, n_classes, msg, sizeof msg);
    }
    fuzz_check_message(st, msg, sizeof msg);
    if (st != CR_OK) {
        FUZZ_CHECK(d == sentinel, "output written on failure: %s", msg);
        return 0;
    }
    FUZZ_CHECK(d != sentinel && d != NULL, "no dataset on success");
    check_dataset(d, n_classes);
    cr_dataset_free(d);
    return 0;
}
