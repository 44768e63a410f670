/* IDX reader: valid fixtures (plain and gzip), and every malformed variant —
 * truncation at each header byte and inside the data, wrong magic, wrong type and
 * rank, count mismatch, zero and overflowing dimensions, trailing bytes, empty and
 * missing files, corrupt gzip, allocation failure. Fixtures are written by the
 * tests (tests/data_helpers.h: image i pixel k = (7i + 3k) % 256, label i =
 * 3i % classes). On every error *out must stay as it was and nothing may leak. */
#include "data_helpers.h"

#define SENTINEL ((cr_dataset *)&sentinel_byte)
static char sentinel_byte;

/* Load images/labels from memory and expect failure with status st and a message
 * containing needle; *out must be untouched and every allocation freed. */
static void expect_mem_error(const unsigned char *img, size_t ilen, const unsigned char *lbl,
                             size_t llen, int classes, cr_status st, const char *needle)
{
    td_alloc a;
    td_alloc_install(&a);
    cr_dataset *d = SENTINEL;
    char msg[512] = "";
    cr_status got = cr_idx_load_mem(&d, img, ilen, lbl, llen, classes, msg, sizeof msg);
    td_alloc_remove();
    if (got != st) print_error("status %d (%s), expected %d; message: %s\n", got, cr_strerror(got),
                               st, msg);
    assert_int_equal(got, st);
    assert_ptr_equal(d, SENTINEL);
    assert_msg_has(msg, needle);
    assert_int_equal(a.live, 0);
}

static void check_fixture(const cr_dataset *d, uint32_t n, uint32_t r, uint32_t c, int classes)
{
    assert_non_null(d);
    assert_int_equal(d->n, n);
    assert_int_equal(d->rows, r);
    assert_int_equal(d->cols, c);
    assert_int_equal(d->n_features, (size_t)r * c);
    assert_int_equal(d->n_classes, classes);
    assert_non_null(d->pixels);
    assert_null(d->values);
    assert_null(d->mean);
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(d->labels[i], (int)((i * 3) % (size_t)classes));
        for (size_t k = 0; k < (size_t)r * c; k++)
            assert_int_equal(d->pixels[i * r * c + k], (7 * i + 3 * k) % 256);
    }
}

static void test_valid_plain_files_load_every_pixel_and_label(void **state)
{
    (void)state;
    size_t il, ll;
    unsigned char *img = td_idx_images(5, 4, 3, &il), *lbl = td_idx_labels(5, 10, &ll);
    td_write(td_path("img"), img, il);
    td_write(td_path("lbl"), lbl, ll);
    cr_dataset *d = NULL;
    char msg[256] = "";
    assert_int_equal(cr_idx_load(&d, td_path("img"), td_path("lbl"), 10, msg, sizeof msg), CR_OK);
    check_fixture(d, 5, 4, 3, 10);
    cr_dataset_free(d);
    free(img);
    free(lbl);
}

static void test_memory_buffers_load_like_files(void **state)
{
    (void)state;
    size_t il, ll;
    unsigned char *img = td_idx_images(3, 2, 2, &il), *lbl = td_idx_labels(3, 4, &ll);
    cr_dataset *d = NULL;
    assert_int_equal(cr_idx_load_mem(&d, img, il, lbl, ll, 4, NULL, 0), CR_OK);
    check_fixture(d, 3, 2, 2, 4);
    cr_dataset_free(d);
    free(img);
    free(lbl);
}

/* Labels 0, 3, 6, 9, 12, 15 % 7 = 0, 3, 6, 2, 5, 1: the largest is 6, so 7 classes. */
static void test_zero_classes_means_largest_label_plus_one(void **state)
{
    (void)state;
    size_t il, ll;
    unsigned char *img = td_idx_images(6, 1, 1, &il), *lbl = td_idx_labels(6, 7, &ll);
    cr_dataset *d = NULL;
    assert_int_equal(cr_idx_load_mem(&d, img, il, lbl, ll, 0, NULL, 0), CR_OK);
    assert_int_equal(d->n_classes, 7);
    cr_dataset_free(d);
    free(img);
    free(lbl);
}

static void test_label_not_below_class_count_is_an_error(void **state)
{
    (void)state;
    size_t il, ll;
    unsigned char *img = td_idx_images(4, 2, 2, &il), *lbl = td_idx_labels(4, 10, &ll);
    lbl[8 + 2] = 12;
    expect_mem_error(img, il, lbl, ll, 10, CR_ERR_FORMAT,
                     "labels: label 12 of sample 2 is not below the number of classes (10)");
    free(img);
    free(lbl);
}

/* Cut the images file after every header byte: each prefix names the field it ends in. */
static void test_images_truncated_at_every_header_byte(void **state)
{
    (void)state;
    size_t il, ll;
    unsigned char *img = td_idx_images(2, 3, 3, &il), *lbl = td_idx_labels(2, 10, &ll);
    static const char *field[] = { "magic number", "image count", "row count", "column count" };
    expect_mem_error(img, 0, lbl, ll, 10, CR_ERR_FORMAT, "images: empty file");
    for (size_t cut = 1; cut < 16; cut++) {
        char want[128];
        snprintf(want, sizeof want, "images: truncated header: the file ends inside the %s "
                 "(%zu of 16 header bytes)", field[cut / 4], cut);
        expect_mem_error(img, cut, lbl, ll, 10, CR_ERR_FORMAT, want);
    }
    free(img);
    free(lbl);
}

static void test_labels_truncated_at_every_header_byte(void **state)
{
    (void)state;
    size_t il, ll;
    unsigned char *img = td_idx_images(2, 3, 3, &il), *lbl = td_idx_labels(2, 10, &ll);
    expect_mem_error(img, il, lbl, 0, 10, CR_ERR_FORMAT, "labels: empty file");
    for (size_t cut = 1; cut < 8; cut++) {
        char want[128];
        snprintf(want, sizeof want, "labels: truncated header: the file ends inside the %s "
                 "(%zu of 8 header bytes)", cut < 4 ? "magic number" : "label count", cut);
        expect_mem_error(img, il, lbl, cut, 10, CR_ERR_FORMAT, want);
    }
    free(img);
    free(lbl);
}

static void test_truncated_data_says_what_header_promised(void **state)
{
    (void)state;
    size_t il, ll;
    unsigned char *img = td_idx_images(3, 4, 5, &il), *lbl = td_idx_labels(3, 10, &ll);
    expect_mem_error(img, il - 1, lbl, ll, 10, CR_ERR_FORMAT,
                     "images: truncated: header says 3 images of 4x5 but the file has 59 bytes "
                     "of pixels (60 expected)");
    expect_mem_error(img, 16, lbl, ll, 10, CR_ERR_FORMAT, "the file has 0 bytes of pixels");
    expect_mem_error(img, il, lbl, ll - 1, 10, CR_ERR_FORMAT,
                     "labels: truncated: header says 3 labels but the file has 2");
    free(img);
    free(lbl);
}

static void test_trailing_bytes_are_an_error(void **state)
{
    (void)state;
    size_t il, ll;
    unsigned char *img = td_idx_images(2, 2, 2, &il), *lbl = td_idx_labels(2, 10, &ll);
    unsigned char *img2 = calloc(il + 5, 1), *lbl2 = calloc(ll + 1, 1);
    memcpy(img2, img, il);
    memcpy(lbl2, lbl, ll);
    expect_mem_error(img2, il + 5, lbl, ll, 10, CR_ERR_FORMAT,
                     "images: 5 unexpected bytes after the 2 images of 2x2 the header announces");
    expect_mem_error(img, il, lbl2, ll + 1, 10, CR_ERR_FORMAT,
                     "labels: 1 unexpected bytes after the 2 labels the header announces");
    free(img);
    free(lbl);
    free(img2);
    free(lbl2);
}

static void test_wrong_magic_type_and_rank_are_named(void **state)
{
    (void)state;
    size_t il, ll;
    unsigned char *img = td_idx_images(2, 2, 2, &il), *lbl = td_idx_labels(2, 10, &ll);
    img[0] = 0x1a;
    expect_mem_error(img, il, lbl, ll, 10, CR_ERR_FORMAT,
                     "images: not an IDX file (magic 0x1a000803, expected 0x00000803");
    img[0] = 0;
    img[2] = 0x0d;                                      /* float elements */
    expect_mem_error(img, il, lbl, ll, 10, CR_ERR_FORMAT, "element type 0x0d is not supported");
    img[2] = 0x08;
    /* swapped arguments: a label file where images are expected, and vice versa */
    expect_mem_error(lbl, ll, img, il, 10, CR_ERR_FORMAT,
                     "images: IDX file of rank 1 (magic 0x00000801), but images need rank 3");
    expect_mem_error(lbl, ll, img, il, 10, CR_ERR_FORMAT, "swapped?");
    img[3] = 2;
    expect_mem_error(img, il, lbl, ll, 10, CR_ERR_FORMAT, "IDX file of rank 2 (magic 0x00000802)");
    free(img);
    free(lbl);
}

static void test_image_and_label_counts_must_agree(void **state)
{
    (void)state;
    size_t il, ll;
    unsigned char *img = td_idx_images(3, 2, 2, &il), *lbl = td_idx_labels(2, 10, &ll);
    expect_mem_error(img, il, lbl, ll, 10, CR_ERR_FORMAT,
                     "labels: 2 labels, but images has 3 images");
    free(img);
    free(lbl);
}

/* Headers claiming 2^31 rows or samples, or sizes whose product overflows, are refused
 * from the header alone; a header claiming a huge but representable size with a
 * short file is "truncated" and allocates nothing big on the way. */
static void test_overflowing_dimensions_are_refused(void **state)
{
    (void)state;
    size_t il, ll;
    unsigned char *img = td_idx_images(2, 2, 2, &il), *lbl = td_idx_labels(2, 10, &ll);
    td_be32(img + 4, 0x80000000u);
    expect_mem_error(img, il, lbl, ll, 10, CR_ERR_FORMAT,
                     "images: header says 2147483648 images; at most 2147483647 are supported");
    td_be32(img + 4, 2);
    td_be32(img + 8, 0x80000000u);                      /* 2^31 rows */
    expect_mem_error(img, il, lbl, ll, 10, CR_ERR_FORMAT,
                     "header says images of 2147483648x2: more than 2147483647 pixels");
    td_be32(img + 8, 65536);
    td_be32(img + 12, 65536);                           /* 2^32 pixels per image */
    expect_mem_error(img, il, lbl, ll, 10, CR_ERR_FORMAT, "images of 65536x65536: more than");
    td_be32(img + 8, 0);
    expect_mem_error(img, il, lbl, ll, 10, CR_ERR_FORMAT, "images of 0x65536: a dimension is zero");
    td_be32(img + 4, 0);
    td_be32(img + 8, 2);
    td_be32(img + 12, 2);
    expect_mem_error(img, il, lbl, ll, 10, CR_ERR_FORMAT, "images: header says 0 images");
    td_be32(lbl + 4, 0x80000000u);
    td_be32(img + 4, 2);
    expect_mem_error(img, il, lbl, ll, 10, CR_ERR_FORMAT,
                     "labels: header says 2147483648 labels; at most");

    /* 2^31-1 images of 46340x46340: fits size_t on 64-bit, but needs ~4 EiB: refused
     * by the memory limit from the headers alone, before anything is allocated */
    td_be32(lbl + 4, 0x7fffffffu);
    td_be32(img + 4, 0x7fffffffu);
    td_be32(img + 8, 46340);
    td_be32(img + 12, 46340);
    td_alloc a;
    td_alloc_install(&a);
    cr_dataset *d = SENTINEL;
    char msg[512] = "";
    cr_status st = cr_idx_load_mem(&d, img, il, lbl, ll, 10, msg, sizeof msg);
    td_alloc_remove();
    assert_int_equal(st, CR_ERR_NOMEM);
    assert_ptr_equal(d, SENTINEL);
    assert_msg_has(msg, "images: 2147483647 images of 46340x46340 needs");
    assert_true(a.max_request < ((size_t)1 << 20));
    assert_int_equal(a.live, 0);
    free(img);
    free(lbl);
}

static void test_missing_file_and_directory_are_io_errors(void **state)
{
    (void)state;
    size_t ll;
    unsigned char *lbl = td_idx_labels(2, 10, &ll);
    td_write(td_path("lbl-ok"), lbl, ll);
    cr_dataset *d = SENTINEL;
    char msg[512] = "";
    assert_int_equal(cr_idx_load(&d, td_path("no-such-file"), td_path("lbl-ok"), 10, msg,
                                 sizeof msg),
                     CR_ERR_IO);
    assert_msg_has(msg, "no-such-file: cannot open: No such file or directory");
    assert_int_equal(cr_idx_load(&d, td_path(""), td_path("lbl-ok"), 10, msg, sizeof msg),
                     CR_ERR_IO);
    assert_msg_has(msg, "is a directory");
    assert_ptr_equal(d, SENTINEL);
    assert_int_equal(cr_idx_load(NULL, "a", "b", 10, msg, sizeof msg), CR_ERR_ARG);
    assert_int_equal(cr_idx_load(&d, NULL, "b", 10, msg, sizeof msg), CR_ERR_ARG);
    assert_int_equal(cr_idx_load(&d, "a", "b", -1, msg, sizeof msg), CR_ERR_ARG);
    free(lbl);
}

/* The files as a real download would be truncated: the file length itself. */
static void test_truncated_file_on_disk_is_reported_with_its_size(void **state)
{
    (void)state;
    size_t il, ll;
    unsigned char *img = td_idx_images(4, 3, 3, &il), *lbl = td_idx_labels(4, 10, &ll);
    td_write(td_path("img-cut"), img, il - 10);
    td_write(td_path("lbl-ok2"), lbl, ll);
    cr_dataset *d = SENTINEL;
    char msg[512] = "";
    assert_int_equal(cr_idx_load(&d, td_path("img-cut"), td_path("lbl-ok2"), 10, msg, sizeof msg),
                     CR_ERR_FORMAT);
    assert_msg_has(msg, "img-cut: truncated: header says 4 images of 3x3 but the file has 26 bytes "
                   "of pixels (36 expected)");
    assert_ptr_equal(d, SENTINEL);
    free(img);
    free(lbl);
}

static void test_directory_finds_distributed_names(void **state)
{
    (void)state;
    size_t il, ll, tl, sl;
    unsigned char *img = td_idx_images(6, 2, 3, &il), *lbl = td_idx_labels(6, 10, &ll);
    unsigned char *timg = td_idx_images(2, 2, 3, &tl), *tlbl = td_idx_labels(2, 10, &sl);
    char dir[512];
    snprintf(dir, sizeof dir, "%s", td_path("mnistdir"));
    assert_int_equal(mkdir(dir, 0700), 0);
    char p[600];
    cr_dataset *tr = SENTINEL, *te = SENTINEL;
    char msg[512] = "";
    /* nothing there yet */
    assert_int_equal(cr_idx_load_dir(&tr, &te, dir, 10, msg, sizeof msg), CR_ERR_IO);
    assert_msg_has(msg, "no train-images-idx3-ubyte (or .gz) found");
    snprintf(p, sizeof p, "%s/train-images-idx3-ubyte", dir);
    td_write(p, img, il);
    snprintf(p, sizeof p, "%s/train-labels.idx1-ubyte", dir);     /* '.' spelling */
    td_write(p, lbl, ll);
    snprintf(p, sizeof p, "%s/t10k-images-idx3-ubyte", dir);
    td_write(p, timg, tl);
    /* test labels missing: both or nothing */
    assert_int_equal(cr_idx_load_dir(&tr, &te, dir, 10, msg, sizeof msg), CR_ERR_IO);
    assert_msg_has(msg, "no t10k-labels-idx1-ubyte (or .gz) found");
    assert_ptr_equal(tr, SENTINEL);
    assert_ptr_equal(te, SENTINEL);
    snprintf(p, sizeof p, "%s/t10k-labels-idx1-ubyte", dir);
    td_write(p, tlbl, sl);
    assert_int_equal(cr_idx_load_dir(&tr, &te, dir, 10, msg, sizeof msg), CR_OK);
    check_fixture(tr, 6, 2, 3, 10);
    check_fixture(te, 2, 2, 3, 10);
    cr_dataset_free(tr);
    cr_dataset_free(te);
    /* only the test set */
    te = NULL;
    assert_int_equal(cr_idx_load_dir(NULL, &te, dir, 10, msg, sizeof msg), CR_OK);
    check_fixture(te, 2, 2, 3, 10);
    cr_dataset_free(te);
    free(img);
    free(lbl);
    free(timg);
    free(tlbl);
}

/* Every allocation the reader makes may fail: it then reports out of memory (or the
 * error it was about to report) and frees everything. */
static void test_allocation_failure_leaks_nothing(void **state)
{
    (void)state;
    size_t il, ll;
    unsigned char *img = td_idx_images(5, 4, 4, &il), *lbl = td_idx_labels(5, 10, &ll);
    td_alloc a;
    td_alloc_install(&a);
    cr_dataset *d = NULL;
    assert_int_equal(cr_idx_load_mem(&d, img, il, lbl, ll, 10, NULL, 0), CR_OK);
    long total = a.count;
    cr_dataset_free(d);
    td_alloc_remove();
    assert_int_equal(a.live, 0);
    assert_true(total >= 3);
    for (long k = 1; k <= total; k++) {
        td_alloc_install(&a);
        a.fail_at = k;
        d = SENTINEL;
        char msg[256] = "";
        cr_status st = cr_idx_load_mem(&d, img, il, lbl, ll, 10, msg, sizeof msg);
        td_alloc_remove();
        assert_int_equal(st, CR_ERR_NOMEM);
        assert_ptr_equal(d, SENTINEL);
        assert_msg_has(msg, "out of memory");
        assert_int_equal(a.live, 0);
    }
    free(img);
    free(lbl);
}

#ifdef CR_HAVE_ZLIB
static void test_gzip_files_load_like_plain_ones(void **state)
{
    (void)state;
    size_t il, ll;
    unsigned char *img = td_idx_images(7, 5, 3, &il), *lbl = td_idx_labels(7, 10, &ll);
    /* the name does not matter: content is sniffed */
    td_write_gz(td_path("img.gz"), img, il);
    td_write_gz(td_path("lbl-no-suffix"), lbl, ll);
    cr_dataset *d = NULL;
    char msg[256] = "";
    assert_int_equal(cr_idx_load(&d, td_path("img.gz"), td_path("lbl-no-suffix"), 10, msg,
                                 sizeof msg),
                     CR_OK);
    check_fixture(d, 7, 5, 3, 10);
    cr_dataset_free(d);

    /* one gzip file of two members (cat a.gz b.gz) is one stream, as for gunzip */
    size_t g1, g2;
    unsigned char *z1 = td_gzip(img, 20, &g1), *z2 = td_gzip(img + 20, il - 20, &g2);
    unsigned char *cat = malloc(g1 + g2);
    memcpy(cat, z1, g1);
    memcpy(cat + g1, z2, g2);
    d = NULL;
    assert_int_equal(cr_idx_load_mem(&d, cat, g1 + g2, lbl, ll, 10, msg, sizeof msg), CR_OK);
    check_fixture(d, 7, 5, 3, 10);
    cr_dataset_free(d);
    free(z1);
    free(z2);
    free(cat);
    free(img);
    free(lbl);
}

static void test_gzip_truncation_trailing_and_corruption_are_errors(void **state)
{
    (void)state;
    size_t il, ll, gl, gll;
    unsigned char *img = td_idx_images(7, 5, 3, &il), *lbl = td_idx_labels(7, 10, &ll);
    unsigned char *gz = td_gzip(img, il, &gl);
    unsigned char *gzl = td_gzip(lbl, ll, &gll);
    /* data that decompresses fine but is short: the IDX check speaks */
    size_t sl;
    unsigned char *gshort = td_gzip(img, il - 3, &sl);
    expect_mem_error(gshort, sl, gzl, gll, 10, CR_ERR_FORMAT,
                     "images: truncated: header says 7 images of 5x3 but the file has 102 bytes");
    /* decompressed data too long */
    unsigned char *longer = calloc(il + 4, 1);
    memcpy(longer, img, il);
    size_t lgl;
    unsigned char *glong = td_gzip(longer, il + 4, &lgl);
    expect_mem_error(glong, lgl, gzl, gll, 10, CR_ERR_FORMAT, "images: 4 unexpected bytes after");
    /* the compressed stream cut short */
    expect_mem_error(gz, gl - 9, gzl, gll, 10, CR_ERR_FORMAT, "images: truncated gzip data");
    /* garbage after the gzip stream */
    unsigned char *junk = malloc(gl + 3);
    memcpy(junk, gz, gl);
    memcpy(junk + gl, "xyz", 3);
    expect_mem_error(junk, gl + 3, gzl, gll, 10, CR_ERR_FORMAT,
                     "images: unexpected bytes after the end of the gzip data");
    /* corrupt checksum (last 8 bytes: CRC32 and length) */
    unsigned char *bad = malloc(gl);
    memcpy(bad, gz, gl);
    bad[gl - 6] ^= 0xff;
    expect_mem_error(bad, gl, gzl, gll, 10, CR_ERR_FORMAT, "images: corrupt gzip data");
    /* only the magic */
    expect_mem_error(gz, 2, gzl, gll, 10, CR_ERR_FORMAT, "truncated gzip data");
    free(img);
    free(lbl);
    free(gz);
    free(gzl);
    free(gshort);
    free(longer);
    free(glong);
    free(junk);
    free(bad);
}
#else
static void test_gzip_without_zlib_says_how_to_decompress(void **state)
{
    (void)state;
    static const unsigned char gz[] = { 0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3 };
    size_t ll;
    unsigned char *lbl = td_idx_labels(2, 10, &ll);
    td_write(td_path("img.gz"), gz, sizeof gz);
    td_write(td_path("lbl"), lbl, ll);
    cr_dataset *d = SENTINEL;
    char msg[512] = "";
    assert_int_equal(cr_idx_load(&d, td_path("img.gz"), td_path("lbl"), 10, msg, sizeof msg),
                     CR_ERR_UNSUPPORTED);
    assert_msg_has(msg, "gunzip -k");
    assert_msg_has(msg, "zlib1g-dev");
    assert_ptr_equal(d, SENTINEL);
    free(lbl);
}
#endif

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_valid_plain_files_load_every_pixel_and_label),
        cmocka_unit_test(test_memory_buffers_load_like_files),
        cmocka_unit_test(test_zero_classes_means_largest_label_plus_one),
        cmocka_unit_test(test_label_not_below_class_count_is_an_error),
        cmocka_unit_test(test_images_truncated_at_every_header_byte),
        cmocka_unit_test(test_labels_truncated_at_every_header_byte),
        cmocka_unit_test(test_truncated_data_says_what_header_promised),
        cmocka_unit_test(test_trailing_bytes_are_an_error),
        cmocka_unit_test(test_wrong_magic_type_and_rank_are_named),
        cmocka_unit_test(test_image_and_label_counts_must_agree),
        cmocka_unit_test(test_overflowing_dimensions_are_refused),
        cmocka_unit_test(test_missing_file_and_directory_are_io_errors),
        cmocka_unit_test(test_truncated_file_on_disk_is_reported_with_its_size),
        cmocka_unit_test(test_directory_finds_distributed_names),
        cmocka_unit_test(test_allocation_failure_leaks_nothing),
#ifdef CR_HAVE_ZLIB
        cmocka_unit_test(test_gzip_files_load_like_plain_ones),
        cmocka_unit_test(test_gzip_truncation_trailing_and_corruption_are_errors),
#else
        cmocka_unit_test(test_gzip_without_zlib_says_how_to_decompress),
#endif
    };
    return cmocka_run_group_tests_name("idx", tests, NULL, NULL);
}
