/* Minibatching: split, batcher (coverage, partial batch, determinism, seeking),
 * gathering into tensors (scaling, standardisation, no allocation, errors). */
#include "data_helpers.h"

#include <math.h>

static int cmp_int(const void *a, const void *b)
{
    int x = *(const int *)a, y = *(const int *)b;
    return (x > y) - (x < y);
}

/* Collect one epoch of b into out (size cap); returns the number of samples; sizes[]
 * receives each batch size. */
static size_t run_epoch(cr_batcher *b, uint64_t epoch, int *out, size_t cap, size_t *sizes,
                        size_t *n_batches)
{
    assert_int_equal(cr_batcher_seek(b, epoch, 0, NULL, 0), CR_OK);
    size_t total = 0, k = 0, m;
    const int *idx;
    while ((m = cr_batcher_next(b, &idx)) > 0) {
        assert_true(total + m <= cap);
        memcpy(out + total, idx, m * sizeof *idx);
        total += m;
        if (sizes) sizes[k] = m;
        k++;
    }
    assert_null(idx);
    if (n_batches) *n_batches = k;
    return total;
}

static void test_split_is_a_disjoint_cover_of_requested_sizes(void **state)
{
    (void)state;
    cr_split s;
    assert_int_equal(cr_split_make(&s, 1000, 150, 42, NULL, 0), CR_OK);
    assert_int_equal(s.n_train, 850);
    assert_int_equal(s.n_val, 150);
    int seen[1000] = { 0 };
    for (size_t i = 0; i < s.n_train; i++) seen[s.train[i]]++;
    for (size_t i = 0; i < s.n_val; i++) seen[s.val[i]] += 2;
    for (int i = 0; i < 1000; i++) assert_true(seen[i] == 1 || seen[i] == 2);   /* in exactly one */
    /* random, not the first or last 150 in order */
    int sorted_val = 1;
    for (size_t i = 1; i < s.n_val; i++) sorted_val &= s.val[i] == s.val[i - 1] + 1;
    assert_false(sorted_val);
    cr_split t;
    assert_int_equal(cr_split_make(&t, 1000, 150, 42, NULL, 0), CR_OK);
    assert_memory_equal(s.train, t.train, 1000 * sizeof(int));   /* same seed, same split */
    cr_split_free(&t);
    assert_null(t.train);
    assert_int_equal(cr_split_make(&t, 1000, 150, 43, NULL, 0), CR_OK);
    assert_memory_not_equal(s.val, t.val, 150 * sizeof(int));
    cr_split_free(&t);
    cr_split_free(&s);
    cr_split_free(NULL);
    assert_int_equal(cr_split_make(&s, 10, 0, 1, NULL, 0), CR_OK);          /* no validation */
    assert_int_equal(s.n_train, 10);
    assert_int_equal(s.n_val, 0);
    cr_split_free(&s);
    char err[96];
    assert_int_equal(cr_split_make(&s, 10, 11, 1, err, sizeof err), CR_ERR_ARG);
    assert_string_equal(err, "split: 11 validation samples but only 10 samples");
    assert_int_equal(cr_split_make(&s, 0, 0, 1, err, sizeof err), CR_ERR_ARG);
    assert_string_equal(err, "split: n = 0 is outside 1..2147483647");
    assert_int_equal(cr_split_make(NULL, 10, 1, 1, err, sizeof err), CR_ERR_ARG);
    assert_string_equal(err, "split: s is NULL");
    assert_null(s.train);                         /* s untouched (zeroed by cr_split_free) */
    cr_test_alloc ca = { 0 };
    ca.fail_at = 1;
    cr_test_alloc_install(&ca);
    cr_status st = cr_split_make(&s, 10, 1, 1, err, sizeof err);
    cr_test_alloc_remove();
    assert_int_equal(st, CR_ERR_NOMEM);
    assert_string_equal(err, "split: out of memory for 10 indices");
    assert_null(s.train);
}

/* 103 samples in batches of 10: ten full batches and a last one of 3, every sample
 * exactly once. */
static void test_every_sample_once_per_epoch_with_partial_last_batch(void **state)
{
    (void)state;
    cr_batcher *b = cr_batcher_new(NULL, 103, 10, CR_BATCH_SHUFFLE, 7, NULL, 0);
    assert_non_null(b);
    assert_int_equal(cr_batcher_batches(b), 11);
    int got[103];
    size_t sizes[11], nb;
    for (uint64_t e = 0; e < 3; e++) {
        assert_int_equal(run_epoch(b, e, got, 103, sizes, &nb), 103);
        assert_int_equal(nb, 11);
        for (int k = 0; k < 10; k++) assert_int_equal(sizes[k], 10);
        assert_int_equal(sizes[10], 3);
        qsort(got, 103, sizeof *got, cmp_int);
        for (int i = 0; i < 103; i++) assert_int_equal(got[i], i);
        assert_int_equal(cr_batcher_epoch(b), e);
        assert_int_equal(cr_batcher_position(b), 11);
    }
    cr_batcher_free(b);
    /* drop-last: 10 batches of 10; the 3 left out differ between epochs */
    b = cr_batcher_new(NULL, 103, 10, CR_BATCH_SHUFFLE | CR_BATCH_DROP_LAST, 7, NULL, 0);
    assert_int_equal(cr_batcher_batches(b), 10);
    int e0[103], e1[103];
    assert_int_equal(run_epoch(b, 0, e0, 103, NULL, &nb), 100);
    assert_int_equal(run_epoch(b, 1, e1, 103, NULL, &nb), 100);
    assert_memory_not_equal(e0, e1, 100 * sizeof(int));
    cr_batcher_free(b);
    /* an exact multiple has no partial batch */
    b = cr_batcher_new(NULL, 100, 10, CR_BATCH_SHUFFLE, 7, NULL, 0);
    assert_int_equal(cr_batcher_batches(b), 10);
    cr_batcher_free(b);
    /* batch larger than the set: one batch of everything */
    b = cr_batcher_new(NULL, 5, 64, CR_BATCH_SHUFFLE, 7, NULL, 0);
    assert_int_equal(run_epoch(b, 0, got, 103, sizes, &nb), 5);
    assert_int_equal(nb, 1);
    cr_batcher_free(b);
}

static void test_order_depends_only_on_seed_and_epoch(void **state)
{
    (void)state;
    cr_batcher *a = cr_batcher_new(NULL, 200, 16, CR_BATCH_SHUFFLE, 99, NULL, 0);
    cr_batcher *b = cr_batcher_new(NULL, 200, 16, CR_BATCH_SHUFFLE, 99, NULL, 0);
    cr_batcher *c = cr_batcher_new(NULL, 200, 16, CR_BATCH_SHUFFLE, 100, NULL, 0);
    int oa[200], ob[200], oc[200], oa1[200];
    run_epoch(a, 0, oa, 200, NULL, NULL);
    run_epoch(a, 1, oa1, 200, NULL, NULL);
    run_epoch(b, 0, ob, 200, NULL, NULL);
    run_epoch(c, 0, oc, 200, NULL, NULL);
    assert_memory_equal(oa, ob, sizeof oa);          /* same seed, same epoch */
    assert_memory_not_equal(oa, oa1, sizeof oa);     /* next epoch reshuffles */
    assert_memory_not_equal(oa, oc, sizeof oa);      /* other seed */
    int identity = 1;
    for (int i = 0; i < 200; i++) identity &= oa[i] == i;
    assert_false(identity);
    /* epoch 1 is the same whether or not epoch 0 ran before (b never ran it) */
    run_epoch(b, 1, ob, 200, NULL, NULL);
    assert_memory_equal(oa1, ob, sizeof oa1);
    cr_batcher_free(a);
    cr_batcher_free(b);
    cr_batcher_free(c);
}

/* Resume: seeking to (epoch, k) yields exactly the batches k.. of that epoch. */
static void test_seek_resumes_mid_epoch(void **state)
{
    (void)state;
    cr_batcher *b = cr_batcher_new(NULL, 50, 8, CR_BATCH_SHUFFLE, 5, NULL, 0);
    int full[50], part[50];
    run_epoch(b, 3, full, 50, NULL, NULL);
    assert_int_equal(cr_batcher_seek(b, 3, 4, NULL, 0), CR_OK);
    size_t total = 0, m;
    const int *idx;
    while ((m = cr_batcher_next(b, &idx)) > 0) {
        memcpy(part + total, idx, m * sizeof *idx);
        total += m;
    }
    assert_int_equal(total, 50 - 4 * 8);
    assert_memory_equal(part, full + 32, total * sizeof(int));
    assert_int_equal(cr_batcher_seek(b, 3, 7, NULL, 0), CR_OK);        /* the end: nothing left */
    assert_int_equal(cr_batcher_next(b, &idx), 0);
    char err[96];
    assert_int_equal(cr_batcher_seek(b, 4, 8, err, sizeof err), CR_ERR_ARG);
    assert_string_equal(err, "batcher: batch 8 is past the end of an epoch of 7 batches");
    assert_int_equal(cr_batcher_epoch(b), 3);           /* b unchanged */
    assert_int_equal(cr_batcher_position(b), 7);
    assert_int_equal(cr_batcher_seek(NULL, 0, 0, err, sizeof err), CR_ERR_ARG);
    assert_string_equal(err, "batcher: b is NULL");
    cr_batcher_free(b);
}

static void test_no_shuffle_keeps_given_order_over_subset(void **state)
{
    (void)state;
    int subset[] = { 9, 4, 17, 2, 11 };
    cr_batcher *b = cr_batcher_new(subset, 5, 2, 0, 1, NULL, 0);
    int got[5];
    size_t sizes[3], nb;
    assert_int_equal(run_epoch(b, 2, got, 5, sizes, &nb), 5);
    assert_memory_equal(got, subset, sizeof subset);
    assert_int_equal(nb, 3);
    assert_int_equal(sizes[2], 1);
    cr_batcher_free(b);
    /* shuffled subset: a permutation of the subset */
    b = cr_batcher_new(subset, 5, 2, CR_BATCH_SHUFFLE, 1, NULL, 0);
    run_epoch(b, 0, got, 5, NULL, NULL);
    qsort(got, 5, sizeof *got, cmp_int);
    int want[] = { 2, 4, 9, 11, 17 };
    assert_memory_equal(got, want, sizeof want);
    cr_batcher_free(b);
    char err[96];
    assert_null(cr_batcher_new(NULL, 0, 2, 0, 1, err, sizeof err));
    assert_string_equal(err, "batcher: n = 0 is outside 1..2147483647");
    assert_null(cr_batcher_new(NULL, 5, 0, 0, 1, err, sizeof err));
    assert_string_equal(err, "batcher: batch_size = 0 is outside 1..2147483647");
    cr_test_alloc ca = { 0 };
    ca.fail_at = 2;
    cr_test_alloc_install(&ca);
    b = cr_batcher_new(NULL, 5, 2, 0, 1, err, sizeof err);
    cr_test_alloc_remove();
    assert_null(b);
    assert_string_equal(err, "batcher: out of memory for 5 indices");
    cr_batcher_free(NULL);
}

static cr_dataset *small_idx(void)
{
    size_t il, ll;
    unsigned char *img = td_idx_images(4, 2, 3, &il), *lbl = td_idx_labels(4, 10, &ll);
    cr_dataset *d = NULL;
    assert_int_equal(cr_idx_load_mem(&d, img, il, lbl, ll, 10, NULL, 0), CR_OK);
    free(img);
    free(lbl);
    return d;
}

/* Pixel k of image i is (7i + 3k) % 256; it arrives as that / 255. */
static void test_gather_scales_pixels_and_writes_labels(void **state)
{
    (void)state;
    cr_dataset *d = small_idx();
    cr_tensor *x = cr_tensor_new(2, (int[]){ 3, 6 }), *y = cr_tensor_new(1, (int[]){ 3 });
    cr_tensor_fill(x, -5);
    cr_tensor_fill(y, -5);
    int idx[] = { 3, 1 };
    td_alloc a;
    td_alloc_install(&a);
    assert_int_equal(cr_dataset_gather(d, idx, 2, x, y, NULL, 0), CR_OK);
    td_alloc_remove();
    assert_int_equal(a.count, 0);                       /* no allocation per batch */
    for (int r = 0; r < 2; r++)
        for (int k = 0; k < 6; k++)
            assert_close_i(x->data[r * 6 + k], (cr_real)((7 * idx[r] + 3 * k) % 256) / (cr_real)255,
                           0, 0, r * 6 + k);
    assert_close(y->data[0], 9 % 10, 0, 0);             /* label 3*3 % 10 */
    assert_close(y->data[1], 3, 0, 0);
    for (int k = 12; k < 18; k++) assert_close_i(x->data[k], -5, 0, 0, k);   /* row 3 untouched */
    assert_close(y->data[2], -5, 0, 0);
    /* full-scale pixel: 255 -> exactly 1 */
    d->pixels[0] = 255;
    int zero = 0;
    assert_int_equal(cr_dataset_gather(d, &zero, 1, x, NULL, NULL, 0), CR_OK);
    assert_close(x->data[0], 1, 0, 0);
    cr_tensor_free(x);
    cr_tensor_free(y);
    cr_dataset_free(d);
}

/* Images keep their shape: a batch N x 1 x rows x cols (here 2 x 1 x 2 x 3) takes
 * the same values as N x (rows cols); a sample shape of another size is refused. */
static void test_gather_fills_an_image_batch_without_reshape(void **state)
{
    (void)state;
    cr_dataset *d = small_idx();
    cr_tensor *x = cr_tensor_new(4, (int[]){ 2, 1, 2, 3 }), *y = cr_tensor_new(1, (int[]){ 2 });
    int idx[] = { 2, 0 };
    assert_int_equal(cr_dataset_gather(d, idx, 2, x, y, NULL, 0), CR_OK);
    for (int r = 0; r < 2; r++)
        for (int k = 0; k < 6; k++)
            assert_close_i(x->data[r * 6 + k], (cr_real)((7 * idx[r] + 3 * k) % 256) / (cr_real)255,
                           0, 0, r * 6 + k);
    cr_tensor *wrong = cr_tensor_new(4, (int[]){ 2, 1, 2, 2 });
    char err[96];
    assert_int_equal(cr_dataset_gather(d, idx, 2, wrong, y, err, sizeof err), CR_ERR_SHAPE);
    assert_string_equal(err, "dataset_gather: x is 2x1x2x2 but samples have 6 features");
    cr_tensor_free(wrong);
    cr_tensor_free(x);
    cr_tensor_free(y);
    cr_dataset_free(d);
}

static void test_gather_rejects_bad_shapes_and_indices_without_writing(void **state)
{
    (void)state;
    cr_dataset *d = small_idx();
    cr_tensor *x = cr_tensor_new(2, (int[]){ 2, 6 }), *y = cr_tensor_new(1, (int[]){ 2 });
    cr_tensor *wrong = cr_tensor_new(2, (int[]){ 3, 4 });
    cr_tensor_fill(x, -5);
    int idx3[] = { 0, 1, 2 }, bad[] = { 0, 4 }, neg[] = { -1, 0 };
    char err[96];
    assert_int_equal(cr_dataset_gather(d, idx3, 3, x, y, err, sizeof err), CR_ERR_SHAPE);
    assert_string_equal(err, "dataset_gather: x is 2x6, too small for 3 samples");
    assert_int_equal(cr_dataset_gather(d, idx3, 2, wrong, y, err, sizeof err), CR_ERR_SHAPE);
    assert_string_equal(err, "dataset_gather: x is 3x4 but samples have 6 features");
    cr_tensor *y1 = cr_tensor_new(1, (int[]){ 1 });
    assert_int_equal(cr_dataset_gather(d, idx3, 2, x, y1, err, sizeof err), CR_ERR_SHAPE);
    assert_string_equal(err, "dataset_gather: y holds 1 values, too few for 2 samples");
    assert_int_equal(cr_dataset_gather(d, bad, 2, x, y, err, sizeof err), CR_ERR_ARG);
    assert_string_equal(err, "dataset_gather: idx[1] = 4 is outside 0..3");
    assert_int_equal(cr_dataset_gather_pool(d, neg, 2, x, y, NULL, err, sizeof err), CR_ERR_ARG);
    assert_string_equal(err, "dataset_gather: idx[0] = -1 is outside 0..3");
    assert_int_equal(cr_dataset_gather(NULL, bad, 1, x, y, err, sizeof err), CR_ERR_ARG);
    assert_string_equal(err, "dataset_gather: dataset is NULL");
    assert_int_equal(cr_dataset_gather(d, NULL, 1, x, y, err, sizeof err), CR_ERR_ARG);
    assert_string_equal(err, "dataset_gather: idx is NULL");
    assert_int_equal(cr_dataset_gather(d, bad, 2, x, y, NULL, 0), CR_ERR_ARG);  /* err NULL */
    for (int k = 0; k < 12; k++) assert_close_i(x->data[k], -5, 0, 0, k);
    cr_tensor_free(x);
    cr_tensor_free(y);
    cr_tensor_free(y1);
    cr_tensor_free(wrong);
    cr_dataset_free(d);
}

/* Feature 0: 1, 2, 3, 6 -> mean 3, population std sqrt(14/4); feature 1 constant 5 ->
 * centred only; feature 2: -1, 1, -1, 1 -> mean 0, std 1. */
static void test_standardize_uses_training_statistics(void **state)
{
    (void)state;
    const float v[] = { 1, 5, -1, 2, 5, 1, 3, 5, -1, 6, 5, 1 };
    const int l[] = { 0, 1, 0, 1 };
    cr_dataset *d = NULL;
    char msg[128];
    assert_int_equal(cr_dataset_from_arrays(&d, v, l, 4, 3, 2, msg, sizeof msg), CR_OK);
    assert_int_equal(cr_dataset_standardize(d, NULL, 0, NULL, 0), CR_OK);
    assert_close(d->mean[0], 3, 0, 1e-7);
    assert_close(d->mean[1], 5, 0, 1e-7);
    assert_close(d->mean[2], 0, 1e-7, 0);
    assert_close(d->inv_std[0], 1 / sqrt(3.5), 0, 1e-6);
    assert_close(d->inv_std[1], 1, 0, 0);
    assert_close(d->inv_std[2], 1, 0, 1e-7);
    cr_tensor *x = cr_tensor_new(2, (int[]){ 1, 3 });
    int i3 = 3;
    assert_int_equal(cr_dataset_gather(d, &i3, 1, x, NULL, NULL, 0), CR_OK);
    assert_close(x->data[0], 3 / sqrt(3.5), 0, 1e-6);   /* statistics are floats */
    assert_close(x->data[1], 0, 0, 0);
    assert_close(x->data[2], 1, 0, 1e-6);

    /* statistics of a subset (samples 0 and 1 only: feature 0 mean 1.5, std 0.5) */
    int sub[] = { 0, 1 };
    assert_int_equal(cr_dataset_standardize(d, sub, 2, NULL, 0), CR_OK);
    assert_close(d->mean[0], 1.5, 0, 1e-7);
    assert_close(d->inv_std[0], 2, 0, 1e-6);

    /* copied onto another set (the test set) */
    cr_dataset *t = NULL;
    assert_int_equal(cr_dataset_from_arrays(&t, v, l, 4, 3, 2, NULL, 0), CR_OK);
    assert_int_equal(cr_dataset_set_norm(t, d->mean, d->inv_std, NULL, 0), CR_OK);
    assert_int_equal(cr_dataset_gather(t, &i3, 1, x, NULL, NULL, 0), CR_OK);
    assert_close(x->data[0], (6 - 1.5) * 2, 0, 1e-6);
    assert_int_equal(cr_dataset_set_norm(t, NULL, NULL, NULL, 0), CR_OK);
    assert_null(t->mean);
    assert_int_equal(cr_dataset_gather(t, &i3, 1, x, NULL, NULL, 0), CR_OK);
    assert_close(x->data[0], 6, 0, 0);
    char err[96];
    assert_int_equal(cr_dataset_set_norm(t, d->mean, NULL, err, sizeof err), CR_ERR_ARG);
    assert_string_equal(err, "dataset_set_norm: inv_std is NULL but mean is not");
    assert_int_equal(cr_dataset_set_norm(NULL, NULL, NULL, err, sizeof err), CR_ERR_ARG);
    assert_string_equal(err, "dataset_set_norm: dataset is NULL");
    int bad = 4;
    assert_int_equal(cr_dataset_standardize(d, &bad, 1, err, sizeof err), CR_ERR_ARG);
    assert_string_equal(err, "dataset_standardize: idx[0] = 4 is outside 0..3");
    assert_int_equal(cr_dataset_standardize(d, &bad, 0, err, sizeof err), CR_ERR_ARG);
    assert_string_equal(err, "dataset_standardize: no samples (idx given with n = 0)");
    assert_close(d->mean[0], 1.5, 0, 1e-7);             /* d unchanged by the failures */
    cr_test_alloc ca = { 0 };
    ca.fail_at = 1;
    cr_test_alloc_install(&ca);
    cr_status st = cr_dataset_standardize(d, NULL, 0, err, sizeof err);
    cr_test_alloc_remove();
    assert_int_equal(st, CR_ERR_NOMEM);
    assert_string_equal(err, "dataset_standardize: out of memory");
    assert_close(d->mean[0], 1.5, 0, 1e-7);
    ca.fail_at = 1;
    ca.count = 0;
    cr_test_alloc_install(&ca);
    st = cr_dataset_set_norm(t, d->mean, d->inv_std, err, sizeof err);
    cr_test_alloc_remove();
    assert_int_equal(st, CR_ERR_NOMEM);
    assert_string_equal(err, "dataset_set_norm: out of memory");
    assert_null(t->mean);
    cr_tensor_free(x);
    cr_dataset_free(d);
    cr_dataset_free(t);
}

/* Standardised pixels: (p/255 - mean) * inv_std, statistics over the scaled values. */
static void test_standardize_pixels_after_scaling(void **state)
{
    (void)state;
    cr_dataset *d = small_idx();
    assert_int_equal(cr_dataset_standardize(d, NULL, 0, NULL, 0), CR_OK);
    /* feature 0 over images 0..3: pixels 0, 7, 14, 21 */
    double m = (0 + 7 + 14 + 21) / 4.0 / 255, var = 0;
    for (int i = 0; i < 4; i++) var += (7 * i / 255.0 - m) * (7 * i / 255.0 - m);
    double sd = sqrt(var / 4);
    assert_close(d->mean[0], m, 0, 1e-6);
    assert_close(d->inv_std[0], 1 / sd, 0, 1e-6);
    cr_tensor *x = cr_tensor_new(2, (int[]){ 1, 6 });
    int i2 = 2;
    assert_int_equal(cr_dataset_gather(d, &i2, 1, x, NULL, NULL, 0), CR_OK);
    assert_close(x->data[0], (14 / 255.0 - m) / sd, 0, TOL(1e-6, 1e-5));
    cr_tensor_free(x);
    cr_dataset_free(d);
}

static void test_from_arrays_validates_labels_and_values(void **state)
{
    (void)state;
    const float v[] = { 1, 2, 3, 4 };
    const float nan_v[] = { 1, NAN, 3, 4 };
    int l[] = { 0, 2 };
    cr_dataset *d = NULL;
    char msg[256] = "";
    assert_int_equal(cr_dataset_from_arrays(&d, v, l, 2, 2, 2, msg, sizeof msg), CR_ERR_ARG);
    assert_msg_has(msg, "label 2 of sample 1 is outside 0..1");
    assert_null(d);
    l[1] = 1;
    assert_int_equal(cr_dataset_from_arrays(&d, nan_v, l, 2, 2, 2, msg, sizeof msg), CR_ERR_FORMAT);
    assert_msg_has(msg, "value 1 of sample 0 is not finite");
    assert_int_equal(cr_dataset_from_arrays(&d, v, l, 0, 2, 2, msg, sizeof msg), CR_ERR_ARG);
    assert_int_equal(cr_dataset_from_arrays(&d, v, l, 2, 2, 2, msg, sizeof msg), CR_OK);
    assert_int_equal(d->n, 2);
    assert_int_equal(d->n_classes, 2);
    assert_close(d->values[3], 4, 0, 0);
    cr_dataset_free(d);
    cr_dataset_free(NULL);
}

/* The pattern the trainer uses: a batch tensor recorded once on a tape, refilled
 * by gather, replayed. The replayed sum equals the sum of the gathered values. */
static void test_gather_into_tape_leaf_then_replay(void **state)
{
    (void)state;
    cr_dataset *d = small_idx();
    cr_tape *t = cr_tape_new(0);
    cr_tensor *x = cr_const(t, 2, (int[]){ 2, 6 }, NULL);
    cr_tensor *s = cr_sum(t, x);
    assert_non_null(s);
    cr_batcher *b = cr_batcher_new(NULL, 4, 2, CR_BATCH_SHUFFLE, 3, NULL, 0);
    const int *idx;
    size_t m;
    while ((m = cr_batcher_next(b, &idx)) > 0) {
        assert_int_equal(cr_dataset_gather(d, idx, m, x, NULL, NULL, 0), CR_OK);
        assert_int_equal(cr_tape_forward(t), CR_OK);
        double want = 0;
        for (size_t r = 0; r < m; r++)
            for (int k = 0; k < 6; k++) want += (double)((7 * idx[r] + 3 * k) % 256) / 255;
        assert_close(s->data[0], want, 0, TOL(1e-12, 1e-6));
    }
    cr_batcher_free(b);
    cr_tape_free(t);
    cr_dataset_free(d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_split_is_a_disjoint_cover_of_requested_sizes),
        cmocka_unit_test(test_every_sample_once_per_epoch_with_partial_last_batch),
        cmocka_unit_test(test_order_depends_only_on_seed_and_epoch),
        cmocka_unit_test(test_seek_resumes_mid_epoch),
        cmocka_unit_test(test_no_shuffle_keeps_given_order_over_subset),
        cmocka_unit_test(test_gather_scales_pixels_and_writes_labels),
        cmocka_unit_test(test_gather_fills_an_image_batch_without_reshape),
        cmocka_unit_test(test_gather_rejects_bad_shapes_and_indices_without_writing),
        cmocka_unit_test(test_standardize_uses_training_statistics),
        cmocka_unit_test(test_standardize_pixels_after_scaling),
        cmocka_unit_test(test_from_arrays_validates_labels_and_values),
        cmocka_unit_test(test_gather_into_tape_leaf_then_replay),
    };
    return cmocka_run_group_tests_name("batch", tests, NULL, NULL);
}
