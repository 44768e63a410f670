/* Writes the seed corpora of the fuzz harnesses (fuzz/corpus/<harness>/): small
 * valid inputs, their gzip forms, and a few typical malformed ones. Run by
 * fuzz/make_seeds.sh once per precision (model files record their real size).
 * Usage: make_seeds CORPUS_DIR */
#include "chainrule.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifdef CR_HAVE_ZLIB
#include <zlib.h>
#endif

static const char *root;

static void put_file(const char *harness, const char *name, const void *p, size_t n)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s/%s", root, harness, name);
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(p, 1, n, f) != n || fclose(f) != 0) {
        fprintf(stderr, "make_seeds: cannot write %s\n", path);
        exit(1);
    }
}

/* gzip of p[0..n) into out (cap bytes); returns the length, 0 without zlib. */
static size_t gzip(const void *p, size_t n, unsigned char *out, size_t cap)
{
#ifdef CR_HAVE_ZLIB
    z_stream z;
    memset(&z, 0, sizeof z);
    if (deflateInit2(&z, 9, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY) != Z_OK) return 0;
    z.next_in = (unsigned char *)p;
    z.avail_in = (uInt)n;
    z.next_out = out;
    z.avail_out = (uInt)cap;
    int r = deflate(&z, Z_FINISH);
    size_t len = cap - z.avail_out;
    deflateEnd(&z);
    return r == Z_STREAM_END ? len : 0;
#else
    (void)p; (void)n; (void)out; (void)cap;
    return 0;
#endif
}

/* ---------------------------------------------------------------- IDX seeds */

typedef struct buf {
    unsigned char b[4096];
    size_t n;
} buf;

static void be32(buf *b, uint32_t v)
{
    for (int i = 3; i >= 0; i--) b->b[b->n++] = (unsigned char)(v >> (8 * i));
}

static void idx_images(buf *b, uint32_t count, uint32_t rows, uint32_t cols, size_t data)
{
    b->n = 0;
    be32(b, 0x803);
    be32(b, count);
    be32(b, rows);
    be32(b, cols);
    for (size_t i = 0; i < data; i++) b->b[b->n++] = (unsigned char)(i * 37 % 256);
}

static void idx_labels(buf *b, uint32_t count, size_t data, int classes)
{
    b->n = 0;
    be32(b, 0x801);
    be32(b, count);
    for (size_t i = 0; i < data; i++) b->b[b->n++] = (unsigned char)(i % (size_t)classes);
}

/* The harness's layout: options byte, label length (u16 BE), labels, images. */
static void idx_seed(const char *name, int opts, const buf *img, const buf *lbl, int gz)
{
    static unsigned char out[16384];
    unsigned char zi[8192], zl[8192];
    const unsigned char *pi = img->b, *pl = lbl->b;
    size_t ni = img->n, nl = lbl->n;
    if (gz) {
        ni = gzip(img->b, img->n, zi, sizeof zi);
        nl = gzip(lbl->b, lbl->n, zl, sizeof zl);
        if (!ni || !nl) return;
        pi = zi;
        pl = zl;
    }
    size_t n = 0;
    out[n++] = (unsigned char)opts;
    out[n++] = (unsigned char)(nl >> 8);
    out[n++] = (unsigned char)nl;
    memcpy(out + n, pl, nl);
    n += nl;
    memcpy(out + n, pi, ni);
    n += ni;
    put_file("idx", name, out, n);
}

static void idx_seeds(void)
{
    buf img, lbl;
    idx_images(&img, 3, 2, 2, 12);
    idx_labels(&lbl, 3, 3, 3);
    idx_seed("valid-mem", 0, &img, &lbl, 0);
    idx_seed("valid-files-10", 16 | 10, &img, &lbl, 0);
    idx_seed("valid-gz-mem", 0, &img, &lbl, 1);
    idx_seed("valid-gz-files", 16, &img, &lbl, 1);
    idx_seed("label-too-large", 2, &img, &lbl, 0);
    idx_images(&img, 5, 4, 3, 60);
    idx_labels(&lbl, 5, 5, 10);
    idx_seed("valid-5x4x3", 0, &img, &lbl, 0);
    idx_images(&img, 3, 2, 2, 11);
    idx_labels(&lbl, 3, 3, 3);
    idx_seed("truncated-pixels", 0, &img, &lbl, 0);
    idx_images(&img, 3, 2, 2, 13);
    idx_seed("trailing-byte", 16, &img, &lbl, 0);
    idx_images(&img, 3, 2, 2, 12);
    idx_labels(&lbl, 4, 4, 3);
    idx_seed("count-mismatch", 0, &img, &lbl, 0);
    idx_images(&img, 0x7fffffff, 0x10000, 0x10000, 8);
    idx_labels(&lbl, 0x7fffffff, 8, 3);
    idx_seed("huge-header", 0, &img, &lbl, 0);
    idx_images(&img, 2, 1, 1, 2);
    idx_labels(&lbl, 2, 2, 2);
    img.b[3] = 0x01;                              /* swapped ranks */
    idx_seed("wrong-rank", 0, &img, &lbl, 0);
    img.n = 9;
    img.b[3] = 0x03;
    idx_seed("truncated-header", 0, &img, &lbl, 0);
}

/* ---------------------------------------------------------------- CSV seeds */

static void csv_seeds(void)
{
    static const struct { const char *name, *text; } s[] = {
        { "header", "x1,x2,label\n0.5,1,0\n-2.25,3e2,1\n1e-3, 4 ,2\n" },
        { "no-header", "1,2,3,0\n4,5,6,1\n7,8,9,0\n" },
        { "crlf-blank", "a, b ,y\r\n\r\n1.5,2,1\r\n  \r\n3,4,0\r\n" },
        { "label-first", "2,0.1,0.2\n0,0.3,0.4\n3,0.5,0.6\n" },
        { "bad-field", "1,2,0\n3,abc,1\n" },
        { "ragged", "1,2,0\n3,4,5,1\n" },
        { "nonfinite", "1,inf,0\n2,nan,1\n" },
        { "overflow", "1e39,2,0\n" },
        { "label-frac", "1,2,0.5\n" },
        { "one-field", "1\n2\n" },
        { "no-newline", "1,2,0\n3,4,1" },
        { "hex-and-signs", "+1,-0x1p3,0\n.5,-.25e+1,1\n" },
    };
    unsigned char z[4096];
    for (size_t i = 0; i < sizeof s / sizeof s[0]; i++) {
        put_file("csv", s[i].name, s[i].text, strlen(s[i].text));
        if (i < 3) {
            size_t n = gzip(s[i].text, strlen(s[i].text), z, sizeof z);
            char name[64];
            snprintf(name, sizeof name, "%s.gz", s[i].name);
            if (n) put_file("csv", name, z, n);
        }
    }
}

/* -------------------------------------------------------------- model seeds */

static cr_tensor *add(cr_params *p, const char *name, int ndim, int d0, int d1)
{
    int shape[2] = { d0, d1 };
    cr_tensor *x = cr_param_new(ndim, shape);
    if (!x || cr_params_add_owned(p, x, name, NULL, 0) != CR_OK) exit(1);
    for (size_t i = 0; i < x->size; i++) x->data[i] = (cr_real)(0.1 * (double)i - 0.3);
    return x;
}

static void save_seed(const char *name, const cr_params *p, const cr_optim *o, const cr_meta *m)
{
    char path[512], err[256], file[64];
    snprintf(file, sizeof file, "%s-f%zu", name, 8 * sizeof(cr_real));
    snprintf(path, sizeof path, "%s/load/%s", root, file);
    if (cr_save(path, p, o, m, err, sizeof err) != CR_OK) {
        fprintf(stderr, "make_seeds: %s\n", err);
        exit(1);
    }
}

/* The user-defined optimizer of fuzz_load.c (an OPTN section). */
static void fz_update(const cr_optim_update_args *a) { (void)a; }
static const cr_optim_def fz_def = {
    .name = "fz", .nslots = 2, .slot = { "a", "b" }, .nhyper = 2, .hyper = { "h1", "h2" },
    .defaults = { 0.5, 2 }, .lr = 0.1, .update = fz_update,
};

static void load_seeds(void)
{
    cr_params *p = cr_params_new();
    add(p, "fc1.W", 2, 3, 4);
    add(p, "fc1.b", 1, 4, 1);
    add(p, "fc2.W", 2, 4, 2);
    add(p, "fc2.b", 1, 2, 1);
    add(p, "s", 0, 1, 1);
    cr_meta *m = cr_meta_new();
    cr_meta_set_u64(m, "epoch", 2);
    cr_meta_set_u64(m, "batch", 17);
    cr_meta_set_f64(m, "best_val_loss", 0.125);
    cr_optim_config ca = cr_optim_defaults(CR_OPTIM_ADAM), cm = cr_optim_defaults(CR_OPTIM_MOMENTUM);
    cr_optim *adam = cr_optim_new(p, &ca, NULL, 0), *mom = cr_optim_new(p, &cm, NULL, 0);
    cr_optim_config cf = cr_optim_def_defaults(&fz_def);
    cr_optim *fz = cr_optim_new(p, &cf, NULL, 0);
    cr_optim_set_step_count(adam, 40);
    cr_optim_set_step_count(fz, 9);
    save_seed("custom", p, fz, NULL);
    cr_optim_free(fz);
    save_seed("params", p, NULL, NULL);
    save_seed("adam-meta", p, adam, m);
    save_seed("momentum", p, mom, NULL);
    save_seed("meta-only", p, NULL, m);
    /* a model the harness's objects do not match: other names and shapes */
    cr_params *q = cr_params_new();
    add(q, "fc1.W", 2, 4, 3);
    add(q, "other", 1, 5, 1);
    save_seed("mismatch", q, NULL, NULL);
    cr_optim_free(adam);
    cr_optim_free(mom);
    cr_params_free(p);
    cr_params_free(q);
    cr_meta_free(m);
}

/* -------------------------------------------------------------- graph seeds */

static void graph_seed(const char *name, cr_tape *t, int ni, cr_tensor **in, int no,
                       cr_tensor **out, const cr_params *p)
{
    char path[512], err[256];
    snprintf(path, sizeof path, "%s/graph_load/%s-f%zu", root, name, 8 * sizeof(cr_real));
    if (cr_tape_error(t) || cr_graph_save(t, ni, in, no, out, p, path, err, sizeof err) != CR_OK) {
        fprintf(stderr, "make_seeds: %s: %s\n", name, cr_tape_error(t) ? cr_tape_error(t) : err);
        exit(1);
    }
    cr_tape_reset(t);
}

static void fz_double(cr_tensor *out, cr_tensor *const *in, int n_in, void *user)
{
    (void)n_in, (void)user;
    for (size_t i = 0; i < out->size; i++) out->data[i] = 2 * in[0]->data[i];
}

static void graph_seeds(void)
{
    cr_tape *t = cr_tape_new(0);
    cr_params *p = cr_params_new();
    cr_rng rng;
    cr_rng_seed(&rng, 1);
    /* MLP with its loss */
    int sx[2] = { 4, 3 }, sy[1] = { 4 };
    cr_tensor *W1 = add(p, "fc1.W", 2, 3, 4), *b1 = add(p, "fc1.b", 1, 4, 1);
    cr_tensor *W2 = add(p, "fc2.W", 2, 4, 2), *b2 = add(p, "fc2.b", 1, 2, 1);
    cr_tensor *x = cr_const(t, 2, sx, NULL), *y = cr_const(t, 1, sy, NULL);
    cr_tensor *z = cr_linear(t, cr_relu(t, cr_linear(t, x, W1, b1)), W2, b2);
    cr_tensor *io[4] = { x, y, z, cr_softmax_cross_entropy(t, z, y) };
    graph_seed("mlp", t, 2, io, 2, io + 2, p);
    /* CNN: conv, batch norm (evaluation), pools, dropout (training) */
    cr_params *q = cr_params_new();
    int si[4] = { 2, 2, 6, 6 }, sw[4] = { 3, 2, 3, 3 }, sb[1] = { 3 };
    cr_tensor *w = cr_param_new(4, sw), *b = cr_param_new(1, sb);
    cr_tensor_rand_uniform(w, &rng, -1, 1);
    cr_params_add_owned(q, w, "conv.W", NULL, 0);
    cr_params_add_owned(q, b, "conv.b", NULL, 0);
    cr_batchnorm *bn = cr_batchnorm_new(3, 0, 0, NULL, 0);
    cr_params_extend(q, bn->params, "bn.", NULL, 0);
    x = cr_const(t, 4, si, NULL);
    cr_conv2d_opts co = { { 1, 1 }, { 1, 1 }, { 1, 1 }, 1 };
    cr_pool2d_opts mp = { { 2, 2 }, { 0, 0 }, { 0, 0 } }, ap = { { 3, 3 }, { 1, 1 }, { 1, 1 } };
    cr_tensor *h = cr_batchnorm_forward(t, bn, cr_conv2d(t, x, w, b, &co), 0);
    h = cr_dropout(t, cr_relu(t, cr_max_pool2d(t, h, &mp)), (cr_real)0.25, &rng, 1);
    cr_tensor *o2[2] = { cr_flatten(t, cr_avg_pool2d(t, h, &ap)), cr_global_avg_pool2d(t, h) };
    graph_seed("cnn", t, 1, &x, 2, o2, q);
    /* shape ops and reductions */
    int s3[3] = { 2, 3, 4 }, r[2] = { 6, 4 }, perm[3] = { 2, 0, 1 };
    x = cr_const(t, 3, s3, NULL);
    cr_tensor *v = cr_reshape(t, x, 2, r), *parts[2] = { v, cr_slice(t, v, 1, 1, 2) };
    cr_tensor *o3[4] = { cr_concat(t, 2, parts, 1), cr_max_axis(t, cr_permute(t, x, perm), 1, 1),
                         cr_mean(t, cr_softmax(t, cr_transpose(t, v))),
                         cr_sum_axis(t, cr_pow(t, cr_abs(t, x), (cr_real)1.5), -1, 0) };
    graph_seed("shape", t, 1, &x, 4, o3, NULL);
    /* a custom op (the harness registers fz_double) */
    x = cr_const(t, 2, sx, NULL);
    cr_tensor *c = cr_exp(t, cr_custom(t, "fz_double", 1, &x, 2, sx, fz_double, NULL, NULL));
    graph_seed("custom", t, 1, &x, 1, &c, NULL);
    cr_batchnorm_free(bn);
    cr_params_free(q);
    cr_params_free(p);
    cr_tape_free(t);
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: make_seeds CORPUS_DIR\n");
        return 2;
    }
    root = argv[1];
    if (sizeof(cr_real) == 4) {     /* readers do not depend on the precision */
        idx_seeds();
        csv_seeds();
    }
    load_seeds();
    graph_seeds();
    return 0;
}
