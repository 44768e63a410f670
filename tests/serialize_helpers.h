/* Fixtures of the model-file tests (test_serialize.c, test_serialize_faults.c): a
 * scratch directory, a small model with Adam state and metadata, a byte snapshot of
 * everything observable about it, and a writer of files by hand, independent of
 * cr_save. Header-only (static inline) so that each test program takes what it uses. */
#ifndef CR_TEST_SERIALIZE_HELPERS_H
#define CR_TEST_SERIALIZE_HELPERS_H

#include "helpers.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char dir[64];   /* per-run scratch directory, removed at the end */

static inline const char *path_in(const char *name)
{
    static char buf[4][256];
    static int k;
    k = (k + 1) % 4;
    snprintf(buf[k], sizeof buf[k], "%s/%s", dir, name);
    return buf[k];
}

/* Removes d and everything under it; a path too long for the buffer is left alone. */
static inline void remove_tree(const char *d)
{
    DIR *dp = opendir(d);
    if (!dp) return;
    struct dirent *e;
    char p[512];
    while ((e = readdir(dp))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
        if (snprintf(p, sizeof p, "%s/%s", d, e->d_name) >= (int)sizeof p) continue;
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

static inline int setup_dir(void **state)
{
    (void)state;
    strcpy(dir, "/tmp/cr_test_serialize_XXXXXX");
    return mkdtemp(dir) ? 0 : -1;
}

static inline int teardown_dir(void **state)
{
    (void)state;
    remove_tree(dir);
    return 0;
}

/* Number of entries of d whose name contains ".tmp." (leftover temporary files). */
static inline int temp_files_in(const char *d)
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

static inline unsigned char *read_bytes(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    unsigned char *b = malloc(1 << 20);
    *n = fread(b, 1, 1 << 20, f);
    fclose(f);
    if (*n == 0) {              /* every file read here has bytes: callers index b[n - 1] */
        fail_msg("%s is empty", path);
        abort();                /* not reached: fail_msg leaves the test */
    }
    return b;
}

static inline void write_bytes(const char *path, const void *b, size_t n)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(b, 1, n, f), n);
    fclose(f);
}

/* ------------------------------------------------------------------ a model */

typedef struct model {
    cr_params *p;
    cr_optim *o;
    cr_meta *m;
} model;

/* fc1.W (2x3), fc1.b (3), scale (scalar); Adam; values from seed; steps Adam
 * steps on made-up gradients so the state is non-zero; meta with three entries. */
static inline model model_new(uint64_t seed, int steps, const int *wshape, const char *wname)
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

static inline void model_free(model *M)
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

static inline void snap_put(snap *s, const void *p, size_t n)
{
    assert_true(s->n + n <= sizeof s->b);
    memcpy(s->b + s->n, p, n);
    s->n += n;
}

static inline snap snapshot(const model *M)
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

static inline void assert_same_snap(const snap *a, const snap *b)
{
    assert_int_equal(a->n, b->n);
    assert_memory_equal(a->b, b->b, a->n);
}

/* Load path into M expecting status st and a message containing needle; M must be
 * unchanged. */
static inline void expect_load_fails(const char *path, model *M, cr_status st,
                                     const char *needle)
{
    snap before = snapshot(M);
    char err[256] = "";
    cr_status s = cr_load(path, M->p, M->o, M->m, err, sizeof err);
    if (s != st || !strstr(err, needle))
        fail_msg("load %s: status %d '%s', wanted %d with '%s'", path, s, err, st, needle);
    snap after = snapshot(M);
    assert_same_snap(&before, &after);
}

/* ------------------------------------------------- files written by hand */

/* A little writer independent of cr_save, following docs/FORMAT.md. */
typedef struct hand {
    unsigned char b[1024];
    size_t n;
} hand;

static inline void h_bytes(hand *h, const void *p, size_t n)
{
    memcpy(h->b + h->n, p, n);
    h->n += n;
}
static inline void h_u32(hand *h, uint32_t v)
{
    for (int i = 0; i < 4; i++) h->b[h->n++] = (unsigned char)(v >> 8 * i);
}
static inline void h_u64(hand *h, uint64_t v)
{
    for (int i = 0; i < 8; i++) h->b[h->n++] = (unsigned char)(v >> 8 * i);
}
static inline void h_header(hand *h, uint32_t real_size, uint32_t nsec)
{
    h->n = 0;
    h_bytes(h, "CRMODEL\0", 8);
    h_u32(h, 1);
    h_u32(h, real_size);
    h_u64(h, 0);                /* patched by h_finish */
    h_u32(h, nsec);
}
/* Section with a body length patched later: returns the body's start. */
static inline size_t h_section(hand *h, const char *tag)
{
    h_bytes(h, tag, 4);
    h_u64(h, 0);
    return h->n;
}
static inline void h_end_section(hand *h, size_t start)
{
    uint64_t len = h->n - start;
    for (int i = 0; i < 8; i++) h->b[start - 8 + i] = (unsigned char)(len >> 8 * i);
}
static inline void h_finish(hand *h, const char *path)
{
    uint64_t total = h->n + 4;
    for (int i = 0; i < 8; i++) h->b[16 + i] = (unsigned char)(total >> 8 * i);
    h_u32(h, cr_crc32(0, h->b, h->n));
    write_bytes(path, h->b, h->n);
}

/* One parameter "w" of shape (2) holding v0 and v1 in the given precision. */
static inline void hand_file_values(const char *path, uint32_t real_size,
                                    int with_unknown_section, double v0, double v1)
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
static inline void hand_file(const char *path, uint32_t real_size, int with_unknown_section)
{
    hand_file_values(path, real_size, with_unknown_section, 0.1, -2.5);
}

/* A list holding one parameter "w" of shape (2), returned in *w. */
static inline cr_params *one_param(cr_tensor **w)
{
    cr_params *p = cr_params_new();
    int s2[1] = { 2 };
    *w = cr_param_new(1, s2);
    cr_params_add_owned(p, *w, "w", NULL, 0);
    return p;
}

#endif
