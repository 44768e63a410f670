/* Model files (docs/FORMAT.md): bit-exact round trip of parameters, optimizer state
 * and metadata; every corrupt, truncated, foreign or mismatched file rejected with
 * its message and the caller's objects byte-for-byte unchanged; atomic saving;
 * files written independently of cr_save (other precision, unknown sections). */
#include "helpers.h"

#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

static char dir[64];   /* per-run scratch directory, removed at the end */

static const char *path_in(const char *name)
{
    static char buf[4][256];
    static int k;
    k = (k + 1) % 4;
    snprintf(buf[k], sizeof buf[k], "%s/%s", dir, name);
    return buf[k];
}

static void remove_tree(const char *d)
{
    DIR *dp = opendir(d);
    if (!dp) return;
    struct dirent *e;
    char p[512];
    while ((e = readdir(dp))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
        snprintf(p, sizeof p, "%s/%s", d, e->d_name);
        struct stat st;
        if (lstat(p, &st) == 0 && S_ISDIR(st.st_mode)) {
            chmod(p, 0755);
            remove_tree(p);
        } else {
            unlink(p);
        }
    }
    closedir(dp);
    rmdir(d);
}

static int setup_dir(void **state)
{
    (void)state;
    strcpy(dir, "/tmp/cr_test_serialize_XXXXXX");
    return mkdtemp(dir) ? 0 : -1;
}

static int teardown_dir(void **state)
{
    (void)state;
    remove_tree(dir);
    return 0;
}

/* Number of entries of d whose name contains ".tmp." (leftover temporary files). */
static int temp_files_in(const char *d)
{
    DIR *dp = opendir(d);
    assert_non_null(dp);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(dp)))
        if (strstr(e->d_name, ".tmp.")) n++;
    closedir(dp);
    return n;
}

static unsigned char *read_bytes(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    unsigned char *b = malloc(1 << 20);
    *n = fread(b, 1, 1 << 20, f);
    fclose(f);
    return b;
}

static void write_bytes(const char *path, const void *b, size_t n)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(b, 1, n, f), n);
    fclose(f);
}

static cr_params *one_param(cr_tensor **w);

/* ------------------------------------------------------------------ a model */

typedef struct model {
    cr_params *p;
    cr_optim *o;
    cr_meta *m;
} model;

/* fc1.W (2x3), fc1.b (3), scale (scalar); Adam; values from seed; steps Adam
 * steps on made-up gradients so the state is non-zero; meta with three entries. */
static model model_new(uint64_t seed, int steps, const int *wshape, const char *wname)
{
    static const int w23[2] = { 2, 3 }, b3[1] = { 3 };
    model M;
    cr_rng r;
    cr_rng_seed(&r, seed);
    M.p = cr_params_new();
    cr_tensor *W = cr_param_new(2, wshape ? wshape : w23);
    cr_tensor *b = cr_param_new(1, b3), *s = cr_param_new(0, NULL);
    assert_int_equal(cr_params_add_owned(M.p, W, wname ? wname : "fc1.W", NULL, 0), CR_OK);
    assert_int_equal(cr_params_add_owned(M.p, b, "fc1.b", NULL, 0), CR_OK);
    assert_int_equal(cr_params_add_owned(M.p, s, "scale", NULL, 0), CR_OK);
    cr_tensor_rand_normal(W, &r, 0, 1);
    cr_tensor_rand_normal(b, &r, 0, 1);
    s->data[0] = (cr_real)(seed + 0.5);
    cr_optim_config c = cr_optim_defaults(CR_OPTIM_ADAM);
    c.lr = 0.01 * (double)(seed % 7 + 1);
    M.o = cr_optim_new(M.p, &c, NULL, 0);
    assert_non_null(M.o);
    for (int k = 0; k < steps; k++) {
        for (size_t i = 0; i < cr_params_count(M.p); i++) {
            cr_tensor *x = cr_params_get(M.p, i);
            for (size_t j = 0; j < x->size; j++) x->grad[j] = (cr_real)cr_rng_normal(&r);
        }
        assert_int_equal(cr_optim_step(M.o, NULL, 0), CR_OK);
    }
    M.m = cr_meta_new();
    assert_int_equal(cr_meta_set_u64(M.m, "epoch", seed * 3), CR_OK);
    assert_int_equal(cr_meta_set_f64(M.m, "loss", 0.125 * (double)seed), CR_OK);
    assert_int_equal(cr_meta_set_u64(M.m, "rng.state", 0x0123456789ABCDEFull ^ seed), CR_OK);
    return M;
}

static void model_free(model *M)
{
    cr_optim_free(M->o);
    cr_params_free(M->p);
    cr_meta_free(M->m);
}

/* Everything observable about a model, as bytes: parameter values, optimizer
 * state, hyper-parameters, step, metadata. */
typedef struct snap {
    unsigned char b[8192];
    size_t n;
} snap;

static void snap_put(snap *s, const void *p, size_t n)
{
    assert_true(s->n + n <= sizeof s->b);
    memcpy(s->b + s->n, p, n);
    s->n += n;
}

static snap snapshot(const model *M)
{
    snap s;
    s.n = 0;
    for (size_t i = 0; i < cr_params_count(M->p); i++) {
        const cr_tensor *x = cr_params_get(M->p, i);
        snap_put(&s, x->data, x->size * sizeof(cr_real));
    }
    for (size_t i = 0; i < cr_optim_state_count(M->o); i++) {
        const cr_tensor *x = cr_optim_state_get(M->o, i);
        snap_put(&s, x->data, x->size * sizeof(cr_real));
    }
    const cr_optim_config *c = cr_optim_get_config(M->o);
    const double h[8] = { c->lr, c->momentum, c->rho, c->beta1, c->beta2, c->eps,
                          c->weight_decay, c->initial_accumulator };
    snap_put(&s, h, sizeof h);
    int kind = (int)c->kind;
    long t = cr_optim_step_count(M->o);
    snap_put(&s, &kind, sizeof kind);
    snap_put(&s, &t, sizeof t);
    for (size_t i = 0; i < cr_meta_count(M->m); i++) {
        const char *k = cr_meta_key(M->m, i);
        snap_put(&s, k, strlen(k) + 1);
        uint64_t u = 0;
        double d = 0;
        if (cr_meta_type_at(M->m, i) == CR_META_U64) cr_meta_get_u64(M->m, k, &u);
        else cr_meta_get_f64(M->m, k, &d);
        snap_put(&s, &u, sizeof u);
        snap_put(&s, &d, sizeof d);
    }
    return s;
}

static void assert_same_snap(const snap *a, const snap *b)
{
    assert_int_equal(a->n, b->n);
    assert_memory_equal(a->b, b->b, a->n);
}

/* Load path into M expecting status st and a message containing needle; M must be
 * unchanged. */
static void expect_load_fails(const char *path, model *M, cr_status st, const char *needle)
{
    snap before = snapshot(M);
    char err[256] = "";
    cr_status s = cr_load(path, M->p, M->o, M->m, err, sizeof err);
    if (s != st || !strstr(err, needle))
        fail_msg("load %s: status %d '%s', wanted %d with '%s'", path, s, err, st, needle);
    snap after = snapshot(M);
    assert_same_snap(&before, &after);
}

/* ---------------------------------------------------------------- round trip */

static void test_round_trip_restores_params_state_and_meta_bit_exactly(void **state)
{
    (void)state;
    model A = model_new(1, 3, NULL, NULL);
    /* values whose bits must survive: -0, ±Inf, NaN, the smallest subnormal */
    cr_tensor *W = cr_params_find(A.p, "fc1.W");
    W->data[0] = -0.0f;
    W->data[1] = (cr_real)INFINITY;
    W->data[2] = (cr_real)-INFINITY;
    W->data[3] = (cr_real)NAN;
    W->data[4] = CR_TEST_DOUBLE ? (cr_real)4.9406564584124654e-324 : (cr_real)1.40129846e-45f;
    char err[256];
    const char *path = path_in("rt.crm");
    assert_int_equal(cr_save(path, A.p, A.o, A.m, err, sizeof err), CR_OK);
    assert_string_equal(err, "");

    model B = model_new(2, 1, NULL, NULL);    /* other values, state, lr, step, meta */
    assert_int_equal(cr_meta_set_u64(B.m, "stale", 9), CR_OK);
    assert_int_equal(cr_load(path, B.p, B.o, B.m, err, sizeof err), CR_OK);
    snap a = snapshot(&A), b = snapshot(&B);
    assert_same_snap(&a, &b);
    assert_int_equal(cr_optim_step_count(B.o), 3);
    assert_int_equal(cr_meta_count(B.m), 3);
    uint64_t u;
    assert_int_equal(cr_meta_get_u64(B.m, "stale", &u), CR_ERR_ARG);
    assert_int_equal(cr_meta_get_u64(B.m, "rng.state", &u), CR_OK);
    assert_true(u == (0x0123456789ABCDEFull ^ 1));
    model_free(&A);
    model_free(&B);
}

/* Train A 6 steps. Save after 3, restore into B, run B's last 3 steps with the
 * same gradients: B ends bit-identical to A (what checkpoint/resume relies on). */
static void test_resume_from_a_checkpoint_continues_bit_identically(void **state)
{
    (void)state;
    model A = model_new(5, 0, NULL, NULL), B = model_new(6, 0, NULL, NULL);
    const char *path = path_in("ckpt.crm");
    cr_rng r;
    cr_rng_seed(&r, 77);
    cr_rng saved_rng = r;
    for (int step = 0; step < 6; step++) {
        if (step == 3) {
            saved_rng = r;
            cr_meta_set_u64(A.m, "rng.state", r.state);
            cr_meta_set_u64(A.m, "rng.inc", r.inc);
            assert_int_equal(cr_save(path, A.p, A.o, A.m, NULL, 0), CR_OK);
        }
        for (size_t i = 0; i < cr_params_count(A.p); i++) {
            cr_tensor *x = cr_params_get(A.p, i);
            for (size_t j = 0; j < x->size; j++) x->grad[j] = (cr_real)cr_rng_normal(&r);
        }
        cr_optim_step(A.o, NULL, 0);
    }
    assert_int_equal(cr_load(path, B.p, B.o, B.m, NULL, 0), CR_OK);
    cr_rng rb;
    assert_int_equal(cr_meta_get_u64(B.m, "rng.state", &rb.state), CR_OK);
    assert_int_equal(cr_meta_get_u64(B.m, "rng.inc", &rb.inc), CR_OK);
    assert_memory_equal(&rb, &saved_rng, sizeof rb);
    for (int step = 3; step < 6; step++) {
        for (size_t i = 0; i < cr_params_count(B.p); i++) {
            cr_tensor *x = cr_params_get(B.p, i);
            for (size_t j = 0; j < x->size; j++) x->grad[j] = (cr_real)cr_rng_normal(&rb);
        }
        cr_optim_step(B.o, NULL, 0);
    }
    snap a = snapshot(&A), b = snapshot(&B);
    assert_same_snap(&a, &b);
    model_free(&A);
    model_free(&B);
}

/* Header fields at their documented offsets, little-endian; CRC-32 of everything
 * before the last 4 bytes; sections tagged. */
static void test_file_layout_matches_the_documented_format(void **state)
{
    (void)state;
    model A = model_new(3, 1, NULL, NULL);
    const char *path = path_in("layout.crm");
    assert_int_equal(cr_save(path, A.p, NULL, NULL, NULL, 0), CR_OK);
    size_t n;
    unsigned char *b = read_bytes(path, &n);
    assert_memory_equal(b, "CRMODEL\0", 8);
    const unsigned char v1[4] = { 1, 0, 0, 0 };
    assert_memory_equal(b + 8, v1, 4);
    assert_int_equal(b[12], sizeof(cr_real));
    assert_int_equal(b[13] | b[14] | b[15], 0);
    uint64_t size = 0;
    for (int i = 7; i >= 0; i--) size = size << 8 | b[16 + i];
    assert_int_equal(size, n);
    assert_int_equal(b[24], 1);                       /* one section: parameters */
    assert_memory_equal(b + 28, "PARM", 4);
    /* body: count 3, then "fc1.W" rank 2 dims 2, 3 */
    assert_int_equal(b[40], 3);
    assert_int_equal(b[44], 5);
    assert_memory_equal(b + 48, "fc1.W", 5);
    assert_int_equal(b[53], 2);
    assert_int_equal(b[57], 2);
    assert_int_equal(b[61], 3);
    /* first value, little-endian IEEE bits */
    cr_real w0 = cr_params_get(A.p, 0)->data[0];
    unsigned char le[8];
    if (CR_TEST_DOUBLE) {
        uint64_t bits;
        memcpy(&bits, &w0, 8);
        for (int i = 0; i < 8; i++) le[i] = (unsigned char)(bits >> 8 * i);
    } else {
        uint32_t bits;
        memcpy(&bits, &w0, 4);
        for (int i = 0; i < 4; i++) le[i] = (unsigned char)(bits >> 8 * i);
    }
    assert_memory_equal(b + 65, le, sizeof(cr_real));
    uint32_t crc = (uint32_t)b[n - 4] | (uint32_t)b[n - 3] << 8 | (uint32_t)b[n - 2] << 16 |
                   (uint32_t)b[n - 1] << 24;
    assert_true(crc == cr_crc32(0, b, n - 4));
    free(b);
    model_free(&A);
}

static void test_params_only_load_ignores_optimizer_and_meta_sections(void **state)
{
    (void)state;
    model A = model_new(1, 2, NULL, NULL), B = model_new(2, 2, NULL, NULL);
    const char *path = path_in("full.crm");
    assert_int_equal(cr_save(path, A.p, A.o, A.m, NULL, 0), CR_OK);
    long steps_b = cr_optim_step_count(B.o);
    assert_int_equal(cr_load(path, B.p, NULL, NULL, NULL, 0), CR_OK);
    for (size_t i = 0; i < 3; i++) {
        const cr_tensor *x = cr_params_get(A.p, i), *y = cr_params_get(B.p, i);
        assert_memory_equal(x->data, y->data, x->size * sizeof(cr_real));
    }
    assert_int_equal(cr_optim_step_count(B.o), steps_b);
    double loss;
    assert_int_equal(cr_meta_get_f64(B.m, "loss", &loss), CR_OK);
    assert_true(loss == 0.25);                        /* B's own meta kept */
    /* meta only */
    assert_int_equal(cr_load(path, NULL, NULL, B.m, NULL, 0), CR_OK);
    assert_int_equal(cr_meta_get_f64(B.m, "loss", &loss), CR_OK);
    assert_true(loss == 0.125);
    /* a file without meta empties the caller's meta */
    assert_int_equal(cr_save(path, A.p, NULL, NULL, NULL, 0), CR_OK);
    assert_int_equal(cr_load(path, B.p, NULL, B.m, NULL, 0), CR_OK);
    assert_int_equal(cr_meta_count(B.m), 0);
    model_free(&A);
    model_free(&B);
}

/* Tied weights: one tensor listed under two names is saved twice and loads. */
static void test_a_tensor_listed_under_two_names_round_trips(void **state)
{
    (void)state;
    cr_tensor *w;
    cr_params *p = one_param(&w);
    assert_int_equal(cr_params_add(p, w, "tied", NULL, 0), CR_OK);
    w->data[0] = 3;
    w->data[1] = -4;
    const char *path = path_in("tied.crm");
    assert_int_equal(cr_save(path, p, NULL, NULL, NULL, 0), CR_OK);
    w->data[0] = w->data[1] = 0;
    char err[256];
    assert_int_equal(cr_load(path, p, NULL, NULL, err, sizeof err), CR_OK);
    assert_true(w->data[0] == 3 && w->data[1] == -4);
    cr_params_free(p);
}

/* The in-memory reader gives the same result and the same messages as the file one. */
static void test_load_buffer_reads_a_file_image(void **state)
{
    (void)state;
    model A = model_new(1, 2, NULL, NULL), B = model_new(2, 1, NULL, NULL);
    const char *path = path_in("image.crm");
    assert_int_equal(cr_save(path, A.p, A.o, A.m, NULL, 0), CR_OK);
    size_t n;
    unsigned char *b = read_bytes(path, &n);
    char err[256];
    snap s0 = snapshot(&B);
    assert_int_equal(cr_load_buffer(b, n - 1, "image", B.p, B.o, B.m, err, sizeof err),
                     CR_ERR_FORMAT);
    char want[96];
    snprintf(want, sizeof want, "image: truncated at byte %zu (expected 1 more byte)", n - 1);
    assert_string_equal(err, want);
    snap s1 = snapshot(&B);
    assert_same_snap(&s0, &s1);
    assert_int_equal(cr_load_buffer(NULL, 0, NULL, B.p, NULL, NULL, err, sizeof err),
                     CR_ERR_FORMAT);
    assert_string_equal(err, "<buffer>: empty file");
    assert_int_equal(cr_load_buffer(NULL, 5, NULL, B.p, NULL, NULL, err, sizeof err), CR_ERR_ARG);
    assert_int_equal(cr_load_buffer(b, n, "image", B.p, B.o, B.m, err, sizeof err), CR_OK);
    snap a = snapshot(&A), c = snapshot(&B);
    assert_same_snap(&a, &c);
    free(b);
    model_free(&A);
    model_free(&B);
}

/* ------------------------------------------------------- corrupt and foreign */

static void test_truncation_at_every_byte_is_rejected_and_model_unchanged(void **state)
{
    (void)state;
    model A = model_new(1, 2, NULL, NULL), B = model_new(2, 1, NULL, NULL);
    const char *full = path_in("t_full.crm"), *cut = path_in("t_cut.crm");
    assert_int_equal(cr_save(full, A.p, A.o, A.m, NULL, 0), CR_OK);
    size_t n;
    unsigned char *b = read_bytes(full, &n);
    char want[128];
    for (size_t k = 0; k < n; k++) {
        write_bytes(cut, b, k);
        if (k == 0) snprintf(want, sizeof want, "t_cut.crm: empty file");
        else if (k < 28)
            snprintf(want, sizeof want, "t_cut.crm: truncated at byte %zu (expected %zu more byte%s)",
                     k, 28 - k, 28 - k == 1 ? "" : "s");
        else
            snprintf(want, sizeof want, "t_cut.crm: truncated at byte %zu (expected %zu more byte%s)",
                     k, n - k, n - k == 1 ? "" : "s");
        expect_load_fails(cut, &B, CR_ERR_FORMAT, want);
    }
    free(b);
    model_free(&A);
    model_free(&B);
}

/* Flip each byte in turn: the checksum (or the header checks before it) catches
 * every one. Payload and checksum bytes say "checksum mismatch". */
static void test_every_flipped_byte_is_rejected_and_model_unchanged(void **state)
{
    (void)state;
    model A = model_new(1, 2, NULL, NULL), B = model_new(2, 1, NULL, NULL);
    const char *full = path_in("f_full.crm"), *bad = path_in("f_bad.crm");
    assert_int_equal(cr_save(full, A.p, A.o, A.m, NULL, 0), CR_OK);
    size_t n;
    unsigned char *b = read_bytes(full, &n);
    for (size_t k = 0; k < n; k++) {
        b[k] ^= 0xFF;
        write_bytes(bad, b, n);
        const char *needle = "checksum mismatch (file corrupt)";
        if (k < 8) needle = "not a chainrule model file (bad magic)";
        else if (k < 12) needle = "is newer than this library (1)";
        else if (k >= 16 && k < 24) needle = "f_bad.crm: ";   /* size field: any message */
        expect_load_fails(bad, &B, CR_ERR_FORMAT, needle);
        b[k] ^= 0xFF;
    }
    /* one flipped bit in the last byte (the checksum) as well */
    b[n - 1] ^= 0x01;
    write_bytes(bad, b, n);
    expect_load_fails(bad, &B, CR_ERR_FORMAT, "f_bad.crm: checksum mismatch (file corrupt)");
    free(b);
    model_free(&A);
    model_free(&B);
}

static void test_foreign_file_newer_and_older_versions_are_rejected(void **state)
{
    (void)state;
    model A = model_new(1, 0, NULL, NULL), B = model_new(2, 1, NULL, NULL);
    const char *full = path_in("v.crm"), *bad = path_in("v_bad.crm");
    assert_int_equal(cr_save(full, A.p, A.o, A.m, NULL, 0), CR_OK);
    size_t n;
    unsigned char *b = read_bytes(full, &n);
    b[8] = 7;
    write_bytes(bad, b, n);
    expect_load_fails(bad, &B, CR_ERR_FORMAT,
                      "v_bad.crm: format version 7 is newer than this library (1)");
    b[8] = 0;
    write_bytes(bad, b, n);
    expect_load_fails(bad, &B, CR_ERR_FORMAT, "v_bad.crm: unsupported format version 0");
    b[8] = 1;
    memcpy(b, "GGUF", 4);
    write_bytes(bad, b, n);
    expect_load_fails(bad, &B, CR_ERR_FORMAT, "v_bad.crm: not a chainrule model file (bad magic)");
    write_bytes(bad, "PK\3\4", 4);                  /* a short foreign file */
    expect_load_fails(bad, &B, CR_ERR_FORMAT, "bad magic");
    /* an endless stream is refused from its first bytes, not read to the end */
    expect_load_fails("/dev/zero", &B, CR_ERR_FORMAT, "/dev/zero: not a chainrule model file");
    /* longer than its header says */
    memcpy(b, "CRMODEL", 8);
    unsigned char *longer = malloc(n + 3);
    memcpy(longer, b, n);
    memset(longer + n, 0, 3);
    write_bytes(bad, longer, n + 3);
    char want[128];
    snprintf(want, sizeof want, "v_bad.crm: file is longer than the %zu bytes its header says "
             "(corrupt or trailing data)", n);
    expect_load_fails(bad, &B, CR_ERR_FORMAT, want);
    free(longer);
    free(b);
    model_free(&A);
    model_free(&B);
}

static void test_shape_mismatch_names_the_parameter_and_both_shapes(void **state)
{
    (void)state;
    static const int w32[2] = { 3, 2 };
    model A = model_new(1, 1, NULL, NULL), B = model_new(2, 1, w32, NULL);
    const char *path = path_in("shape.crm");
    assert_int_equal(cr_save(path, A.p, A.o, A.m, NULL, 0), CR_OK);
    expect_load_fails(path, &B, CR_ERR_SHAPE,
                      "shape.crm: parameter fc1.W has shape 2x3 in the file but 3x2 in the model");
    /* the optimizer state is checked against the optimizer's own tensors */
    snap before = snapshot(&B);
    char err[256];
    assert_int_equal(cr_load(path, NULL, B.o, NULL, err, sizeof err), CR_ERR_SHAPE);
    assert_non_null(strstr(err, "/shape.crm: optimizer state m.fc1.W has shape 2x3 in the "
                                "file but 3x2 in the optimizer"));
    snap after = snapshot(&B);
    assert_same_snap(&before, &after);
    model_free(&A);
    model_free(&B);
}

static void test_name_mismatch_names_the_parameter(void **state)
{
    (void)state;
    model A = model_new(1, 1, NULL, NULL), B = model_new(2, 1, NULL, "fc2.W");
    const char *path = path_in("names.crm");
    assert_int_equal(cr_save(path, A.p, A.o, A.m, NULL, 0), CR_OK);
    expect_load_fails(path, &B, CR_ERR_SHAPE,
                      "names.crm: parameter fc1.W is in the file but not in the model");
    /* a model with one more parameter than the file */
    model C = model_new(3, 0, NULL, NULL);
    cr_params *bigger = cr_params_new();
    assert_int_equal(cr_params_extend(bigger, C.p, "", NULL, 0), CR_OK);
    assert_int_equal(cr_params_add_owned(bigger, cr_param_new(0, NULL), "extra", NULL, 0), CR_OK);
    char err[256];
    assert_int_equal(cr_load(path, bigger, NULL, NULL, err, sizeof err), CR_ERR_SHAPE);
    assert_non_null(strstr(err, "/names.crm: parameter extra is missing from the file"));
    cr_params_free(bigger);
    model_free(&A);
    model_free(&B);
    model_free(&C);
}

static void test_optimizer_kind_mismatch_and_missing_state_are_rejected(void **state)
{
    (void)state;
    model A = model_new(1, 1, NULL, NULL), B = model_new(2, 1, NULL, NULL);
    const char *path = path_in("opt.crm");
    assert_int_equal(cr_save(path, A.p, A.o, A.m, NULL, 0), CR_OK);
    cr_optim_config c = cr_optim_defaults(CR_OPTIM_MOMENTUM);
    cr_optim *adam = B.o;
    B.o = cr_optim_new(B.p, &c, NULL, 0);
    expect_load_fails(path, &B, CR_ERR_SHAPE, "opt.crm: optimizer is adam in the file but momentum here");
    cr_optim_free(B.o);
    B.o = adam;
    assert_int_equal(cr_save(path, A.p, NULL, A.m, NULL, 0), CR_OK);
    expect_load_fails(path, &B, CR_ERR_FORMAT,
                      "opt.crm: file has no optimizer state (saved without an optimizer)");
    model_free(&A);
    model_free(&B);
}

static void test_missing_file_is_an_io_error(void **state)
{
    (void)state;
    model B = model_new(2, 1, NULL, NULL);
    expect_load_fails(path_in("nope.crm"), &B, CR_ERR_IO, "nope.crm: cannot open: No such file");
    expect_load_fails(dir, &B, CR_ERR_IO, "read error");   /* a directory */
    char err[64];
    assert_int_equal(cr_load(NULL, B.p, NULL, NULL, err, sizeof err), CR_ERR_ARG);
    assert_int_equal(cr_load("", B.p, NULL, NULL, err, sizeof err), CR_ERR_ARG);
    model_free(&B);
}

/* ------------------------------------------------------------------ atomicity */

static void test_save_into_a_missing_or_non_directory_fails_cleanly(void **state)
{
    (void)state;
    model A = model_new(1, 1, NULL, NULL);
    char err[512];
    assert_int_equal(cr_save(path_in("no/such/dir/m.crm"), A.p, NULL, NULL, err, sizeof err),
                     CR_ERR_IO);
    assert_non_null(strstr(err, "no/such/dir/m.crm: cannot create temporary file"));
    assert_non_null(strstr(err, "No such file or directory"));
    write_bytes(path_in("plain"), "x", 1);          /* a file used as a directory */
    assert_int_equal(cr_save(path_in("plain/m.crm"), A.p, NULL, NULL, err, sizeof err), CR_ERR_IO);
    assert_non_null(strstr(err, "Not a directory"));
    assert_int_equal(temp_files_in(dir), 0);
    assert_int_equal(cr_save(NULL, A.p, NULL, NULL, err, sizeof err), CR_ERR_ARG);
    assert_int_equal(cr_save(path_in("x.crm"), NULL, NULL, NULL, err, sizeof err), CR_ERR_ARG);
    assert_string_equal(err, "save: parameter list is NULL or empty");
    model_free(&A);
}

/* The target is a non-empty directory: the temporary file is written, the rename
 * fails, the temporary file is removed and the directory is untouched. */
static void test_failed_rename_removes_the_temporary_file(void **state)
{
    (void)state;
    model A = model_new(1, 1, NULL, NULL);
    const char *target = path_in("isdir.crm");
    assert_int_equal(mkdir(target, 0755), 0);
    write_bytes(path_in("isdir.crm/keep"), "k", 1);
    char err[512];
    assert_int_equal(cr_save(target, A.p, A.o, A.m, err, sizeof err), CR_ERR_IO);
    assert_non_null(strstr(err, "cannot rename"));
    assert_int_equal(temp_files_in(dir), 0);
    struct stat st;
    assert_int_equal(stat(path_in("isdir.crm/keep"), &st), 0);
    model_free(&A);
}

/* A write that fails half-way (file size limit, EFBIG) leaves the previous file
 * byte-for-byte intact and no temporary file. */
static void test_failed_write_keeps_the_previous_file(void **state)
{
    (void)state;
    model A = model_new(1, 1, NULL, NULL);
    const char *path = path_in("keep.crm");
    assert_int_equal(cr_save(path, A.p, A.o, A.m, NULL, 0), CR_OK);
    size_t n0;
    unsigned char *before = read_bytes(path, &n0);

    cr_params *big = cr_params_new();
    int shape[2] = { 100, 100 };
    assert_int_equal(cr_params_add_owned(big, cr_param_new(2, shape), "big", NULL, 0), CR_OK);
    struct rlimit old, low;
    assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
    low = old;
    low.rlim_cur = 1000;
    void (*prev)(int) = signal(SIGXFSZ, SIG_IGN);
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &low), 0);
    char err[512];
    cr_status s = cr_save(path, big, NULL, NULL, err, sizeof err);
    setrlimit(RLIMIT_FSIZE, &old);
    signal(SIGXFSZ, prev);
    assert_int_equal(s, CR_ERR_IO);
    assert_non_null(strstr(err, "keep.crm: write failed: File too large"));
    size_t n1;
    unsigned char *after = read_bytes(path, &n1);
    assert_int_equal(n0, n1);
    assert_memory_equal(before, after, n0);
    assert_int_equal(temp_files_in(dir), 0);
    free(before);
    free(after);
    cr_params_free(big);
    model_free(&A);
}

/* Read-only directory (meaningless as root, who may write anyway: skipped). */
static void test_read_only_directory_refuses_save_and_keeps_file(void **state)
{
    (void)state;
    if (geteuid() == 0) skip();
    model A = model_new(1, 1, NULL, NULL);
    const char *sub = path_in("ro");
    assert_int_equal(mkdir(sub, 0755), 0);
    const char *path = path_in("ro/m.crm");
    assert_int_equal(cr_save(path, A.p, NULL, NULL, NULL, 0), CR_OK);
    size_t n0;
    unsigned char *before = read_bytes(path, &n0);
    chmod(sub, 0555);
    char err[512];
    assert_int_equal(cr_save(path, A.p, A.o, A.m, err, sizeof err), CR_ERR_IO);
    chmod(sub, 0755);
    assert_non_null(strstr(err, "Permission denied"));
    size_t n1;
    unsigned char *after = read_bytes(path, &n1);
    assert_int_equal(n0, n1);
    assert_memory_equal(before, after, n0);
    assert_int_equal(temp_files_in(sub), 0);
    free(before);
    free(after);
    model_free(&A);
}

/* Every allocation cr_save and cr_load make may fail: NOMEM, no temp file, the
 * previous file and the model unchanged. */
static void test_allocation_failures_leave_file_and_model_unchanged(void **state)
{
    (void)state;
    model A = model_new(1, 2, NULL, NULL), B = model_new(2, 1, NULL, NULL);
    const char *path = path_in("alloc.crm");
    assert_int_equal(cr_save(path, A.p, A.o, A.m, NULL, 0), CR_OK);
    size_t n0;
    unsigned char *before = read_bytes(path, &n0);
    int failed_saves = 0, failed_loads = 0;
    for (long k = 1; k < 20; k++) {
        cr_test_alloc c;
        memset(&c, 0, sizeof c);
        c.fail_at = k;
        cr_test_alloc_install(&c);
        cr_status s = cr_save(path, B.p, B.o, B.m, NULL, 0);
        cr_test_alloc_remove();
        if (s == CR_OK) break;
        assert_int_equal(s, CR_ERR_NOMEM);
        failed_saves++;
        size_t n1;
        unsigned char *after = read_bytes(path, &n1);
        assert_int_equal(n0, n1);
        assert_memory_equal(before, after, n0);
        free(after);
        assert_int_equal(temp_files_in(dir), 0);
    }
    assert_int_equal(cr_save(path, A.p, A.o, A.m, NULL, 0), CR_OK);
    for (long k = 1; k < 20; k++) {
        cr_test_alloc c;
        memset(&c, 0, sizeof c);
        c.fail_at = k;
        snap s0 = snapshot(&B);
        char err[256];
        cr_test_alloc_install(&c);
        cr_status s = cr_load(path, B.p, B.o, B.m, err, sizeof err);
        cr_test_alloc_remove();
        if (s == CR_OK) break;
        assert_int_equal(s, CR_ERR_NOMEM);
        assert_non_null(strstr(err, "alloc.crm: out of memory"));
        failed_loads++;
        snap s1 = snapshot(&B);
        assert_same_snap(&s0, &s1);
    }
    assert_true(failed_saves >= 1);
    assert_true(failed_loads >= 3);   /* file buffer, records x2, meta */
    free(before);
    model_free(&A);
    model_free(&B);
}

/* ------------------------------------------------- files written by hand */

/* A little writer independent of cr_save, following docs/FORMAT.md. */
typedef struct hand {
    unsigned char b[1024];
    size_t n;
} hand;

static void h_bytes(hand *h, const void *p, size_t n)
{
    memcpy(h->b + h->n, p, n);
    h->n += n;
}
static void h_u32(hand *h, uint32_t v)
{
    for (int i = 0; i < 4; i++) h->b[h->n++] = (unsigned char)(v >> 8 * i);
}
static void h_u64(hand *h, uint64_t v)
{
    for (int i = 0; i < 8; i++) h->b[h->n++] = (unsigned char)(v >> 8 * i);
}
static void h_header(hand *h, uint32_t real_size, uint32_t nsec)
{
    h->n = 0;
    h_bytes(h, "CRMODEL\0", 8);
    h_u32(h, 1);
    h_u32(h, real_size);
    h_u64(h, 0);                /* patched by h_finish */
    h_u32(h, nsec);
}
/* Section with a body length patched later: returns the body's start. */
static size_t h_section(hand *h, const char *tag)
{
    h_bytes(h, tag, 4);
    h_u64(h, 0);
    return h->n;
}
static void h_end_section(hand *h, size_t start)
{
    uint64_t len = h->n - start;
    for (int i = 0; i < 8; i++) h->b[start - 8 + i] = (unsigned char)(len >> 8 * i);
}
static void h_finish(hand *h, const char *path)
{
    uint64_t total = h->n + 4;
    for (int i = 0; i < 8; i++) h->b[16 + i] = (unsigned char)(total >> 8 * i);
    h_u32(h, cr_crc32(0, h->b, h->n));
    write_bytes(path, h->b, h->n);
}

/* One parameter "w" of shape (2) holding v0 and v1 in the given precision. */
static void hand_file_values(const char *path, uint32_t real_size, int with_unknown_section,
                             double v0, double v1)
{
    hand h;
    h_header(&h, real_size, with_unknown_section ? 2 : 1);
    if (with_unknown_section) {
        size_t s = h_section(&h, "XTRA");
        h_bytes(&h, "future data", 11);
        h_end_section(&h, s);
    }
    size_t s = h_section(&h, "PARM");
    h_u32(&h, 1);
    h_u32(&h, 1);
    h_bytes(&h, "w", 1);
    h_u32(&h, 1);
    h_u32(&h, 2);
    if (real_size == 8) {
        double v[2] = { v0, v1 };
        for (int i = 0; i < 2; i++) {
            uint64_t bits;
            memcpy(&bits, &v[i], 8);
            h_u64(&h, bits);
        }
    } else {
        float v[2] = { (float)v0, (float)v1 };
        for (int i = 0; i < 2; i++) {
            uint32_t bits;
            memcpy(&bits, &v[i], 4);
            h_u32(&h, bits);
        }
    }
    h_end_section(&h, s);
    h_finish(&h, path);
}

/* One parameter "w" of shape (2) holding 0.1 and -2.5 in the given precision. */
static void hand_file(const char *path, uint32_t real_size, int with_unknown_section)
{
    hand_file_values(path, real_size, with_unknown_section, 0.1, -2.5);
}

static cr_params *one_param(cr_tensor **w)
{
    cr_params *p = cr_params_new();
    int s2[1] = { 2 };
    *w = cr_param_new(1, s2);
    cr_params_add_owned(p, *w, "w", NULL, 0);
    return p;
}

/* A double file loads into a float model by rounding and a float file into a
 * double model exactly: whichever build this is, both files load. */
static void test_files_of_either_precision_load_by_conversion(void **state)
{
    (void)state;
    cr_tensor *w;
    cr_params *p = one_param(&w);
    const char *f64 = path_in("f64.crm"), *f32 = path_in("f32.crm");
    hand_file(f64, 8, 0);
    hand_file(f32, 4, 0);
    char err[256];
    assert_int_equal(cr_load(f64, p, NULL, NULL, err, sizeof err), CR_OK);
    assert_true(w->data[0] == (cr_real)0.1 && w->data[1] == (cr_real)-2.5);
    assert_int_equal(cr_load(f32, p, NULL, NULL, err, sizeof err), CR_OK);
    assert_true(w->data[0] == (cr_real)0.1f && w->data[1] == (cr_real)-2.5f);
    cr_params_free(p);
}

/* A double value beyond FLT_MAX cannot become a float: the float build refuses the
 * file (instead of loading an infinity) and keeps the model; the double build loads. */
static void test_double_value_outside_float_range_is_refused_by_float_build(void **state)
{
    (void)state;
    cr_tensor *w;
    cr_params *p = one_param(&w);
    w->data[0] = 7;
    w->data[1] = 8;
    const char *path = path_in("huge.crm");
    hand_file_values(path, 8, 0, 1.5, -1e300);
    char err[256] = "";
    cr_status s = cr_load(path, p, NULL, NULL, err, sizeof err);
    if (CR_TEST_DOUBLE) {
        assert_int_equal(s, CR_OK);
        assert_true(w->data[1] == -1e300);
    } else {
        assert_int_equal(s, CR_ERR_FORMAT);
        assert_non_null(strstr(err, "parameter w holds -1e+300 at element 1, outside the float range"));
        assert_true(w->data[0] == 7 && w->data[1] == 8);
    }
    cr_params_free(p);
}

static void test_unknown_sections_are_skipped(void **state)
{
    (void)state;
    cr_tensor *w;
    cr_params *p = one_param(&w);
    const char *path = path_in("xtra.crm");
    hand_file(path, 4, 1);
    assert_int_equal(cr_load(path, p, NULL, NULL, NULL, 0), CR_OK);
    assert_true(w->data[1] == -2.5);
    cr_params_free(p);
}

/* Structurally wrong files with a correct checksum (a buggy or hostile writer). */
static void test_malformed_files_with_valid_checksum_are_rejected(void **state)
{
    (void)state;
    cr_tensor *w;
    cr_params *p = one_param(&w);
    w->data[0] = 42;
    const char *path = path_in("malformed.crm");
    char err[256];
    struct {
        uint32_t count, namelen, rank, dim;
        const char *needle;
    } cases[] = {
        { 1000000, 1, 1, 2, "tensor count larger than its section can hold" },
        { 1, 0, 1, 2, "tensor name length outside 1..255" },
        { 1, 1, 5, 2, "tensor rank above 4" },
        { 1, 1, 1, 0, "tensor dimension outside 1..2^31-1" },
        { 1, 1, 1, 0x80000000u, "tensor dimension outside 1..2^31-1" },
        { 1, 1, 1, 3, "tensor data larger than its section" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        hand h;
        h_header(&h, 4, 1);
        size_t s = h_section(&h, "PARM");
        h_u32(&h, cases[i].count);
        h_u32(&h, cases[i].namelen);
        h_bytes(&h, "w", 1);
        h_u32(&h, cases[i].rank);
        h_u32(&h, cases[i].dim);
        h_u32(&h, 0);
        h_u32(&h, 0);
        h_end_section(&h, s);
        h_finish(&h, path);
        assert_int_equal(cr_load(path, p, NULL, NULL, err, sizeof err), CR_ERR_FORMAT);
        if (!strstr(err, cases[i].needle)) fail_msg("case %zu: '%s'", i, err);
        assert_true(w->data[0] == 42);
    }
    /* no parameter section at all; two of them; a section longer than the file */
    hand h;
    h_header(&h, 4, 0);
    h_finish(&h, path);
    assert_int_equal(cr_load(path, p, NULL, NULL, err, sizeof err), CR_ERR_FORMAT);
    assert_non_null(strstr(err, "no parameter section"));
    h_header(&h, 4, 2);
    for (int k = 0; k < 2; k++) {
        size_t s = h_section(&h, "PARM");
        h_u32(&h, 0);
        h_end_section(&h, s);
    }
    h_finish(&h, path);
    assert_int_equal(cr_load(path, p, NULL, NULL, err, sizeof err), CR_ERR_FORMAT);
    assert_non_null(strstr(err, "second parameter section"));
    h_header(&h, 4, 1);
    h_bytes(&h, "PARM", 4);
    h_u64(&h, 1000);
    h_finish(&h, path);
    assert_int_equal(cr_load(path, p, NULL, NULL, err, sizeof err), CR_ERR_FORMAT);
    assert_non_null(strstr(err, "section longer than the file"));
    h_header(&h, 2, 0);         /* real size 2: unsupported */
    h_finish(&h, path);
    assert_int_equal(cr_load(path, p, NULL, NULL, err, sizeof err), CR_ERR_FORMAT);
    assert_non_null(strstr(err, "unsupported real size 2"));
    assert_true(w->data[0] == 42);
    cr_params_free(p);
}

/* -------------------------------------------------------------- meta, crc32 */

static void test_meta_stores_u64_and_double_by_key(void **state)
{
    (void)state;
    cr_meta *m = cr_meta_new();
    assert_int_equal(cr_meta_set_u64(m, "epoch", 12), CR_OK);
    assert_int_equal(cr_meta_set_f64(m, "lr", 0.5), CR_OK);
    assert_int_equal(cr_meta_set_u64(m, "neg", (uint64_t)-3), CR_OK);
    uint64_t u = 0;
    double d = 0;
    assert_int_equal(cr_meta_get_u64(m, "epoch", &u), CR_OK);
    assert_true(u == 12);
    assert_int_equal(cr_meta_get_f64(m, "lr", &d), CR_OK);
    assert_true(d == 0.5);
    assert_int_equal(cr_meta_get_f64(m, "epoch", &d), CR_ERR_ARG);   /* wrong type */
    assert_int_equal(cr_meta_get_u64(m, "absent", &u), CR_ERR_ARG);
    assert_int_equal(cr_meta_get_u64(m, "neg", &u), CR_OK);
    assert_true((int64_t)u == -3);
    assert_int_equal(cr_meta_set_f64(m, "epoch", 1.5), CR_OK);      /* replace, new type */
    assert_int_equal(cr_meta_count(m), 3);
    assert_string_equal(cr_meta_key(m, 0), "epoch");
    assert_int_equal(cr_meta_type_at(m, 0), CR_META_F64);
    assert_null(cr_meta_key(m, 3));
    assert_int_equal(cr_meta_type_at(m, 3), 0);
    char longkey[80];
    memset(longkey, 'k', sizeof longkey - 1);
    longkey[79] = '\0';
    assert_int_equal(cr_meta_set_u64(m, longkey, 1), CR_ERR_ARG);
    assert_int_equal(cr_meta_set_u64(m, "", 1), CR_ERR_ARG);
    assert_int_equal(cr_meta_set_u64(NULL, "a", 1), CR_ERR_ARG);
    for (int i = 0; i < 40; i++) {                                   /* growth */
        char k[16];
        snprintf(k, sizeof k, "k%d", i);
        assert_int_equal(cr_meta_set_u64(m, k, (uint64_t)i), CR_OK);
    }
    assert_int_equal(cr_meta_get_u64(m, "k39", &u), CR_OK);
    assert_true(u == 39);
    cr_meta_clear(m);
    assert_int_equal(cr_meta_count(m), 0);
    cr_meta_free(m);
    cr_meta_free(NULL);
}

/* The standard check value of CRC-32/IEEE, and chunked == one call on both paths. */
static void test_crc32_matches_the_standard_check_value(void **state)
{
    (void)state;
    assert_true(cr_crc32(0, "123456789", 9) == 0xCBF43926u);
    assert_true(cr_crc32(0, "", 0) == 0);
    unsigned char *big = malloc(10000);
    for (int i = 0; i < 10000; i++) big[i] = (unsigned char)(i * 7 + (i >> 5));
    uint32_t whole = cr_crc32(0, big, 10000);                        /* table path */
    uint32_t parts = 0;
    for (int i = 0; i < 10000; i += 1000) parts = cr_crc32(parts, big + i, 1000);
    assert_true(whole == parts);
    /* Python: zlib.crc32(bytes((i*7 + (i>>5)) & 255 for i in range(10000))) */
    assert_true(whole == 0x838EBC50u);
    free(big);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip_restores_params_state_and_meta_bit_exactly),
        cmocka_unit_test(test_resume_from_a_checkpoint_continues_bit_identically),
        cmocka_unit_test(test_file_layout_matches_the_documented_format),
        cmocka_unit_test(test_params_only_load_ignores_optimizer_and_meta_sections),
        cmocka_unit_test(test_a_tensor_listed_under_two_names_round_trips),
        cmocka_unit_test(test_load_buffer_reads_a_file_image),
        cmocka_unit_test(test_truncation_at_every_byte_is_rejected_and_model_unchanged),
        cmocka_unit_test(test_every_flipped_byte_is_rejected_and_model_unchanged),
        cmocka_unit_test(test_foreign_file_newer_and_older_versions_are_rejected),
        cmocka_unit_test(test_shape_mismatch_names_the_parameter_and_both_shapes),
        cmocka_unit_test(test_name_mismatch_names_the_parameter),
        cmocka_unit_test(test_optimizer_kind_mismatch_and_missing_state_are_rejected),
        cmocka_unit_test(test_missing_file_is_an_io_error),
        cmocka_unit_test(test_save_into_a_missing_or_non_directory_fails_cleanly),
        cmocka_unit_test(test_failed_rename_removes_the_temporary_file),
        cmocka_unit_test(test_failed_write_keeps_the_previous_file),
        cmocka_unit_test(test_read_only_directory_refuses_save_and_keeps_file),
        cmocka_unit_test(test_allocation_failures_leave_file_and_model_unchanged),
        cmocka_unit_test(test_files_of_either_precision_load_by_conversion),
        cmocka_unit_test(test_double_value_outside_float_range_is_refused_by_float_build),
        cmocka_unit_test(test_unknown_sections_are_skipped),
        cmocka_unit_test(test_malformed_files_with_valid_checksum_are_rejected),
        cmocka_unit_test(test_meta_stores_u64_and_double_by_key),
        cmocka_unit_test(test_crc32_matches_the_standard_check_value),
    };
    return cmocka_run_group_tests(tests, setup_dir, teardown_dir);
}
