/* IDX reader (the format of MNIST and Fashion-MNIST, LeCun et al.):
 *   magic   4 bytes: 0x00, 0x00, element type (0x08 = unsigned byte), rank
 *   dims    rank big-endian uint32 values
 *   data    product(dims) elements, nothing after them
 * Images are rank 3 (count x rows x cols, magic 0x00000803), labels rank 1 (count,
 * magic 0x00000801). Both headers are checked before any data is read, and the
 * buffer for the data grows with what actually arrives, so a header that lies about
 * its size costs no memory. Nothing partial ever reaches the caller. */
#include "data_internal.h"

#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

typedef struct idx_file {
    cr__src src;
    const char *what;        /* "images" or "labels" */
    int rank;                /* 3 or 1 */
    uint32_t dims[3];
} idx_file;

static uint32_t be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static const char *field_name(int rank, size_t offset)
{
    static const char *img[] = { "magic number", "image count", "row count", "column count" };
    static const char *lbl[] = { "magic number", "label count" };
    size_t k = offset / 4;
    return rank == 3 ? img[k < 4 ? k : 3] : lbl[k < 2 ? k : 1];
}

/* Read and check the magic and the dimensions of f. */
static cr_status read_header(idx_file *f, char *err, size_t errsize)
{
    const char *name = f->src.name;
    unsigned char h[16];
    size_t need = 4 + 4 * (size_t)f->rank, got;
    cr_status st = cr__src_read(&f->src, h, 4, &got, err, errsize);
    if (st != CR_OK) return st;
    if (got == 0)
        return cr__errf(CR_ERR_FORMAT, err, errsize, "%s: empty file (expected an IDX %s header)",
                        name, f->what);
    if (got == 4) {
        uint32_t magic = be32(h), want = 0x800u | (uint32_t)f->rank;
        if (h[0] != 0 || h[1] != 0)
            return cr__errf(CR_ERR_FORMAT, err, errsize,
                            "%s: not an IDX file (magic 0x%08x, expected 0x%08x for %s)",
                            name, (unsigned)magic, (unsigned)want, f->what);
        if (h[2] != 0x08)
            return cr__errf(CR_ERR_FORMAT, err, errsize,
                            "%s: IDX element type 0x%02x is not supported (magic 0x%08x; only "
                            "0x08, unsigned bytes, as in 0x%08x)", name, h[2], (unsigned)magic,
                            (unsigned)want);
        if (h[3] != f->rank)
            return cr__errf(CR_ERR_FORMAT, err, errsize,
                            "%s: IDX file of rank %d (magic 0x%08x), but %s need rank %d (magic "
                            "0x%08x)%s", name, h[3], (unsigned)magic, f->what, f->rank,
                            (unsigned)want,
                            (h[3] == 1 || h[3] == 3) ? ": are the image and label files swapped?"
                                                     : "");
        st = cr__src_read(&f->src, h + 4, need - 4, &got, err, errsize);
        if (st != CR_OK) return st;
        got += 4;
    }
    if (got < need)
        return cr__errf(CR_ERR_FORMAT, err, errsize,
                        "%s: truncated header: the file ends inside the %s (%zu of %zu header "
                        "bytes)", name, field_name(f->rank, got), got, need);
    for (int i = 0; i < f->rank; i++) f->dims[i] = be32(h + 4 + 4 * i);
    return CR_OK;
}

/* Dimensions: nonzero, each and the image size at most INT_MAX, total bytes in size_t. */
static cr_status check_dims(const idx_file *f, char *err, size_t errsize)
{
    const char *name = f->src.name;
    uint32_t n = f->dims[0];
    if (n == 0)
        return cr__errf(CR_ERR_FORMAT, err, errsize, "%s: header says 0 %s", name, f->what);
    if (n > INT_MAX)
        return cr__errf(CR_ERR_FORMAT, err, errsize,
                        "%s: header says %lu %s; at most %d are supported", name,
                        (unsigned long)n, f->what, INT_MAX);
    if (f->rank == 1) return CR_OK;
    uint32_t r = f->dims[1], c = f->dims[2];
    if (r == 0 || c == 0)
        return cr__errf(CR_ERR_FORMAT, err, errsize,
                        "%s: header says images of %lux%lu: a dimension is zero", name,
                        (unsigned long)r, (unsigned long)c);
    if (r > INT_MAX || c > INT_MAX || (uint64_t)r * c > INT_MAX)
        return cr__errf(CR_ERR_FORMAT, err, errsize,
                        "%s: header says images of %lux%lu: more than %d pixels per image are "
                        "not supported", name, (unsigned long)r, (unsigned long)c, INT_MAX);
    size_t pix = (size_t)r * c;
    if ((size_t)n > SIZE_MAX / pix)
        return cr__errf(CR_ERR_FORMAT, err, errsize,
                        "%s: header says %lu images of %lux%lu: too large for this machine's "
                        "address space", name, (unsigned long)n, (unsigned long)r,
                        (unsigned long)c);
    return CR_OK;
}

/* Read exactly `want` data bytes and make sure nothing follows them. */
static cr_status read_data(idx_file *f, size_t want, unsigned char **out, char *err,
                           size_t errsize)
{
    const char *name = f->src.name;
    unsigned long n = (unsigned long)f->dims[0];
    size_t got;
    cr_status st = cr__src_read_all(&f->src, want, out, &got, err, errsize);
    if (st != CR_OK) return st;
    if (got < want) {
        if (f->rank == 3)
            return cr__errf(CR_ERR_FORMAT, err, errsize,
                            "%s: truncated: header says %lu images of %lux%lu but the file has "
                            "%zu bytes of pixels (%zu expected)", name, n,
                            (unsigned long)f->dims[1], (unsigned long)f->dims[2], got, want);
        return cr__errf(CR_ERR_FORMAT, err, errsize,
                        "%s: truncated: header says %lu labels but the file has %zu", name, n, got);
    }
    /* plain files: the exact count, from the size; gzip: one chunk is enough to
     * know that the data goes on, so inflation never exceeds the header's promise
     * by more than that (a gzip bomb behind a small header costs nothing) */
    unsigned long long extra = 0;
    st = cr__src_skip_rest(&f->src, 1, &extra, err, errsize);
    const char *more = f->src.gz && extra >= 4096 ? " (or more)" : "";
    if (st == CR_OK && extra) {
        if (f->rank == 3)
            st = cr__errf(CR_ERR_FORMAT, err, errsize,
                          "%s: %llu%s unexpected bytes after the %lu images of %lux%lu the "
                          "header announces", name, extra, more, n, (unsigned long)f->dims[1],
                          (unsigned long)f->dims[2]);
        else
            st = cr__errf(CR_ERR_FORMAT, err, errsize,
                          "%s: %llu%s unexpected bytes after the %lu labels the header "
                          "announces", name, extra, more, n);
    }
    if (st != CR_OK) {
        cr_free(*out);
        *out = NULL;
    }
    return st;
}

/* Both sources are open; read, check, and build the dataset. */
static cr_status load(cr_dataset **out, idx_file *img, idx_file *lbl, int n_classes,
                      char *err, size_t errsize)
{
    cr_status st;
    if ((st = read_header(img, err, errsize)) != CR_OK) return st;
    if ((st = check_dims(img, err, errsize)) != CR_OK) return st;
    if ((st = read_header(lbl, err, errsize)) != CR_OK) return st;
    if ((st = check_dims(lbl, err, errsize)) != CR_OK) return st;
    if (img->dims[0] != lbl->dims[0])
        return cr__errf(CR_ERR_FORMAT, err, errsize, "%s: %lu labels, but %s has %lu images",
                        lbl->src.name, (unsigned long)lbl->dims[0], img->src.name,
                        (unsigned long)img->dims[0]);
    size_t n = img->dims[0], pix = (size_t)img->dims[1] * img->dims[2];
    /* everything the headers commit us to, before any of it is allocated: the label
     * bytes, the int labels and the pixels (check_dims keeps n * pix in size_t) */
    uint64_t need = (uint64_t)n * (1 + sizeof(int)) + (uint64_t)n * pix;
    char what[160];
    snprintf(what, sizeof what, "%s: %lu images of %lux%lu", img->src.name,
             (unsigned long)img->dims[0], (unsigned long)img->dims[1],
             (unsigned long)img->dims[2]);
    if ((st = cr_memory_check(need, what, err, errsize)) != CR_OK) return st;

    unsigned char *lb = NULL, *px = NULL;
    int *labels = NULL;
    cr_dataset *d = NULL;
    if ((st = read_data(lbl, n, &lb, err, errsize)) != CR_OK) return st;
    int max_label = 0;
    for (size_t i = 0; i < n; i++) {
        if (n_classes > 0 && lb[i] >= n_classes) {
            st = cr__errf(CR_ERR_FORMAT, err, errsize,
                          "%s: label %d of sample %zu is not below the number of classes (%d)",
                          lbl->src.name, lb[i], i, n_classes);
            goto fail;
        }
        if (lb[i] > max_label) max_label = lb[i];
    }
    labels = cr_malloc(n * sizeof *labels);
    d = cr__dataset_alloc();
    if (!labels || !d) {
        st = cr__errf(CR_ERR_NOMEM, err, errsize, "%s: out of memory", lbl->src.name);
        goto fail;
    }
    for (size_t i = 0; i < n; i++) labels[i] = lb[i];
    cr_free(lb);
    lb = NULL;
    if ((st = read_data(img, n * pix, &px, err, errsize)) != CR_OK) goto fail;

    d->n = n;
    d->n_features = pix;
    d->n_classes = n_classes > 0 ? n_classes : max_label + 1;
    d->rows = (int)img->dims[1];
    d->cols = (int)img->dims[2];
    d->pixels = px;
    d->labels = labels;
    *out = d;
    return CR_OK;
fail:
    cr_free(lb);
    cr_free(labels);
    cr_free(d);
    return st;
}

static void init_files(idx_file *img, idx_file *lbl)
{
    memset(img, 0, sizeof *img);
    memset(lbl, 0, sizeof *lbl);
    img->what = "images";
    img->rank = 3;
    lbl->what = "labels";
    lbl->rank = 1;
}

cr_status cr_idx_load(cr_dataset **out, const char *images, const char *labels,
                      int n_classes, char *err, size_t errsize)
{
    if (!out || !images || !labels || n_classes < 0)
        return cr__errf(CR_ERR_ARG, err, errsize, "idx_load: %s",
                        n_classes < 0 ? "negative number of classes" : "NULL argument");
    idx_file img, lbl;
    init_files(&img, &lbl);
    cr_status st = cr__src_open_file(&img.src, images, err, errsize);
    if (st != CR_OK) return st;
    st = cr__src_open_file(&lbl.src, labels, err, errsize);
    if (st == CR_OK) {
        st = load(out, &img, &lbl, n_classes, err, errsize);
        cr__src_close(&lbl.src);
    }
    cr__src_close(&img.src);
    return st;
}

cr_status cr_idx_load_mem(cr_dataset **out, const void *images, size_t images_len,
                          const void *labels, size_t labels_len, int n_classes,
                          char *err, size_t errsize)
{
    if (!out || n_classes < 0)
        return cr__errf(CR_ERR_ARG, err, errsize, "idx_load_mem: %s",
                        n_classes < 0 ? "negative number of classes" : "NULL argument");
    idx_file img, lbl;
    init_files(&img, &lbl);
    cr_status st = cr__src_open_mem(&img.src, images, images_len, "images", err, errsize);
    if (st != CR_OK) return st;
    st = cr__src_open_mem(&lbl.src, labels, labels_len, "labels", err, errsize);
    if (st == CR_OK) {
        st = load(out, &img, &lbl, n_classes, err, errsize);
        cr__src_close(&lbl.src);
    }
    cr__src_close(&img.src);
    return st;
}

/* First existing spelling of dir/<prefix>-<what>-<kind>-ubyte: '-' or '.' before
 * the kind ("idx3"), with or without .gz. A new string, or NULL (and *nomem). */
static char *find_file(const char *dir, const char *prefix, const char *what,
                       const char *kind, int *nomem)
{
    static const char *seps[] = { "-", "." }, *sufs[] = { "", ".gz" };
    size_t len = strlen(dir) + strlen(prefix) + strlen(what) + strlen(kind) + 16;
    char *p = cr_malloc(len);
    if (!p) {
        *nomem = 1;
        return NULL;
    }
    for (int i = 0; i < 2; i++)
        for (int j = 0; j < 2; j++) {
            struct stat st;
            snprintf(p, len, "%s/%s-%s%s%s-ubyte%s", dir, prefix, what, seps[i], kind, sufs[j]);
            if (stat(p, &st) == 0 && !S_ISDIR(st.st_mode)) return p;
        }
    cr_free(p);
    return NULL;
}

static cr_status load_set(cr_dataset **out, const char *dir, const char *prefix,
                          int n_classes, char *err, size_t errsize)
{
    int nomem = 0;
    char *img = find_file(dir, prefix, "images", "idx3", &nomem);
    char *lbl = img ? find_file(dir, prefix, "labels", "idx1", &nomem) : NULL;
    cr_status st;
    if (nomem) st = cr__errf(CR_ERR_NOMEM, err, errsize, "%s: out of memory", dir);
    else if (!img || !lbl)
        st = cr__errf(CR_ERR_IO, err, errsize, "%s: no %s-%s-ubyte (or .gz) found", dir, prefix,
                      img ? "labels-idx1" : "images-idx3");
    else st = cr_idx_load(out, img, lbl, n_classes, err, errsize);
    cr_free(img);
    cr_free(lbl);
    return st;
}

cr_status cr_idx_load_dir(cr_dataset **train, cr_dataset **test, const char *dir,
                          int n_classes, char *err, size_t errsize)
{
    if (!dir || (!train && !test) || n_classes < 0)
        return cr__errf(CR_ERR_ARG, err, errsize, "idx_load_dir: bad argument");
    cr_dataset *tr = NULL, *te = NULL;
    cr_status st = CR_OK;
    if (train) st = load_set(&tr, dir, "train", n_classes, err, errsize);
    if (st == CR_OK && test)
        st = load_set(&te, dir, "t10k", n_classes ? n_classes : (tr ? tr->n_classes : 0), err,
                      errsize);
    if (st != CR_OK) {
        cr_dataset_free(tr);
        return st;
    }
    if (train) *train = tr;
    if (test) *test = te;
    return CR_OK;
}
