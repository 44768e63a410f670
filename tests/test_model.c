/* Models (layer stacks): forward agrees bit for bit with the same net composed from
 * ops, cr_mlp's equivalence, save -> load-rebuild -> identical outputs, damaged and
 * foreign files refused with nothing allocated and nothing changed, and a CNN
 * training step (every layer kind, Adam) with no heap allocation after the first. */
#include "helpers.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char dir[64];

static const char *path_in(const char *name)
{
    static char buf[128];
    if (!dir[0]) {
        strcpy(dir, "/tmp/cr_test_model_XXXXXX");
        assert_non_null(mkdtemp(dir));
    }
    snprintf(buf, sizeof buf, "%s/%s", dir, name);
    return buf;
}

static unsigned char *read_bytes(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    long sz = ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *b = malloc((size_t)sz + 1);
    assert_int_equal(fread(b, 1, (size_t)sz, f), (size_t)sz);
    fclose(f);
    *n = (size_t)sz;
    return b;
}

static void write_bytes(const char *path, const void *b, size_t n)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(b, 1, n, f), n);
    fclose(f);
}

#define NET "conv 4 3x3 pad 1, batchnorm, relu, maxpool 2, conv 6 3x3 stride 2, tanh, " \
            "avgpool 2 stride 1 pad 1, flatten, dropout 0.3, dense 5, leaky_relu, dense 3"
static const int img[3] = { 3, 10, 10 };

static cr_tensor *input(int n, uint64_t seed)
{
    int s[4] = { n, img[0], img[1], img[2] };
    cr_tensor *x = cr_tensor_new(4, s);
    cr_rng r;
    cr_rng_seed(&r, seed);
    cr_tensor_rand_uniform(x, &r, -1, 1);
    return x;
}

static cr_tensor *P(cr_model *m, const char *name)
{
    cr_tensor *t = cr_params_find(cr_model_state(m), name);
    if (!t) fail_msg("no parameter %s", name);
    return t;
}

/* The NET composed from ops on the model's own tensors; drop is a copy of the
 * model's dropout generator and bn a batchnorm with the same statistics. */
static cr_tensor *by_hand(cr_tape *t, cr_model *m, cr_batchnorm *bn, cr_rng *drop,
                          cr_tensor *x, int training)
{
    cr_conv2d_opts c1 = { { 1, 1 }, { 1, 1 }, { 1, 1 }, 1 }, c2 = { { 2, 2 }, { 0, 0 }, { 1, 1 }, 1 };
    cr_pool2d_opts mp = { { 2, 2 }, { 2, 2 }, { 0, 0 } }, ap = { { 2, 2 }, { 1, 1 }, { 1, 1 } };
    cr_tensor *h = cr_conv2d(t, x, P(m, "l0.conv.W"), P(m, "l0.conv.b"), &c1);
    h = cr_relu(t, cr_batchnorm_forward(t, bn, h, training));
    h = cr_max_pool2d(t, h, &mp);
    h = cr_tanh(t, cr_conv2d(t, h, P(m, "l4.conv.W"), P(m, "l4.conv.b"), &c2));
    h = cr_flatten(t, cr_avg_pool2d(t, h, &ap));
    h = cr_dropout(t, h, (cr_real)0.3, drop, training);
    h = cr_leaky_relu(t, cr_linear(t, h, P(m, "l9.dense.W"), P(m, "l9.dense.b")),
                      (cr_real)CR_LEAKY_SLOPE);
    return cr_linear(t, h, P(m, "l11.dense.W"), P(m, "l11.dense.b"));
}

/* Training and evaluation forwards, and the gradient of the first conv weight, are
 * the same bits as the net composed from ops directly. */
static void test_model_forward_matches_ops_bit_for_bit(void **state)
{
    (void)state;
    char err[256] = "";
    cr_rng r;
    cr_rng_seed(&r, 11);
    cr_model *m = cr_model_from_spec(NET, 3, img, &r, err, sizeof err);
    assert_non_null(m);
    cr_batchnorm *bn = cr_batchnorm_new(4, 0, 0, NULL, 0);
    cr_tensor *x = input(4, 5);
    cr_tape *t = cr_tape_new(0);
    for (int training = 1; training >= 0; training--) {
        cr_model_set_training(m, training);
        cr_rng drop = *cr_model_rng(m);
        cr_tape_reset(t);
        cr_tensor *ym = cr_model_forward(t, m, x);
        cr_tensor *yh = by_hand(t, m, bn, &drop, x, training);
        assert_non_null(ym);
        assert_non_null(yh);
        assert_int_equal(ym->ndim, 2);
        assert_int_equal(ym->shape[0], 4);
        assert_int_equal(ym->shape[1], 3);
        assert_int_equal(memcmp(ym->data, yh->data, 12 * sizeof(cr_real)), 0);
        /* a training forward moved both sets of running statistics the same way */
        assert_int_equal(memcmp(P(m, "l1.bn.running_var")->data, bn->running_var->data,
                                4 * sizeof(cr_real)), 0);
        if (training) {
            /* dropout drew a mask: the generators moved alike, and some value differs
             * from evaluation (checked below through the outputs) */
            assert_int_equal(drop.state, cr_model_rng(m)->state);
            cr_tensor *w = P(m, "l0.conv.W");
            cr_real *g1 = malloc(w->size * sizeof *g1);
            cr_params_zero_grad(cr_model_params(m));
            assert_int_equal(cr_backward(t, cr_sum(t, ym)), CR_OK);
            memcpy(g1, w->grad, w->size * sizeof *g1);
            cr_params_zero_grad(cr_model_params(m));
            assert_int_equal(cr_backward(t, cr_sum(t, yh)), CR_OK);
            assert_int_equal(memcmp(g1, w->grad, w->size * sizeof *g1), 0);
            free(g1);
        }
    }
    /* an image model also takes N x (C H W) rows: the same outputs */
    int fs[2] = { 4, 300 };
    cr_tape_reset(t);
    cr_tensor *flat = cr_reshape(t, x, 2, fs);
    cr_tensor *y1 = cr_model_forward(t, m, x), *y2 = cr_model_forward(t, m, flat);
    assert_int_equal(memcmp(y1->data, y2->data, 12 * sizeof(cr_real)), 0);
    /* a wrong input is a tape error naming the model */
    int ws[2] = { 4, 299 };
    cr_tensor *bad = cr_const(t, 2, ws, NULL);
    assert_null(cr_model_forward(t, m, bad));
    assert_tape_error(t, "model: input is 4x299 but the model expects N x 3x10x10");
    cr_tape_free(t);
    cr_tensor_free(x);
    cr_batchnorm_free(bn);
    cr_model_free(m);
}

/* The op names of t's nodes in order, joined by spaces, and the shape of the first
 * relu node, from cr_tape_print. */
static void tape_ops(cr_tape *t, char *ops, size_t n, char *relu_shape, size_t m)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    assert_non_null(f);
    assert_int_equal(cr_tape_print(t, f), CR_OK);
    fclose(f);
    ops[0] = relu_shape[0] = '\0';
    char *save = NULL;
    for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        char id[16], op[32], in[64], shape[32];
        if (sscanf(line, "%15s %31s %63s %31s", id, op, in, shape) != 4 || !strcmp(id, "id"))
            continue;
        if (!strcmp(op, "relu") && !relu_shape[0]) snprintf(relu_shape, m, "%s", shape);
        size_t used = strlen(ops);
        snprintf(ops + used, n - used, "%s%s", used ? " " : "", op);
    }
    free(text);
}

/* "relu, maxpool" is recorded as the max pool, then the relu (on the pooled tensor,
 * the same values: test_model_forward_matches_ops_bit_for_bit); any other
 * activation before a pool, and a relu before anything else, keep the spec's order. */
static void test_model_records_relu_then_maxpool_as_maxpool_then_relu(void **state)
{
    (void)state;
    static const char *specs[3] = { "conv 2 3x3 pad 1, relu, maxpool 2, flatten",
                                    "conv 2 3x3 pad 1, leaky_relu, maxpool 2, flatten",
                                    "conv 2 3x3 pad 1, relu, avgpool 2, flatten" };
    static const char *want[3] = { "const conv2d max_pool2d relu flatten",
                                   "const conv2d leaky_relu max_pool2d flatten",
                                   "const conv2d relu avg_pool2d flatten" };
    static const char *relu_shape[3] = { "1x2x2x2", "", "1x2x4x4" };
    int in[3] = { 1, 4, 4 }, xs[4] = { 1, 1, 4, 4 };
    for (int k = 0; k < 3; k++) {
        char err[256] = "", ops[256], shape[32];
        cr_rng r;
        cr_rng_seed(&r, 1);
        cr_model *m = cr_model_from_spec(specs[k], 3, in, &r, err, sizeof err);
        assert_non_null(m);
        cr_tape *t = cr_tape_new(0);
        cr_tensor *y = cr_model_forward(t, m, cr_const(t, 4, xs, NULL));
        assert_non_null(y);
        assert_int_equal(y->shape[1], 8);
        tape_ops(t, ops, sizeof ops, shape, sizeof shape);
        assert_string_equal(ops, want[k]);
        assert_string_equal(shape, relu_shape[k]);
        cr_tape_free(t);
        cr_model_free(m);
    }
}

/* cr_mlp({6, 5, 3}, relu, none) and the model "dense 5, relu, dense 3" on 6 features
 * draw the same weights from the same seed and compute the same bits. */
static void test_model_equals_mlp_from_same_seed(void **state)
{
    (void)state;
    cr_rng r1, r2;
    cr_rng_seed(&r1, 21);
    cr_rng_seed(&r2, 21);
    int sizes[3] = { 6, 5, 3 }, in[1] = { 6 };
    cr_mlp *mlp = cr_mlp_new(3, sizes, CR_ACT_RELU, CR_ACT_NONE, &r1, NULL, 0);
    cr_model *m = cr_model_from_spec("dense 5, relu, dense 3", 1, in, &r2, NULL, 0);
    assert_non_null(mlp);
    assert_non_null(m);
    assert_int_equal(cr_model_param_count(m), cr_mlp_param_count(mlp));
    assert_int_equal(r1.state, r2.state);
    assert_int_equal(cr_mlp_rng(mlp)->state, cr_model_rng(m)->state);
    int xs[2] = { 7, 6 };
    cr_tensor *x = cr_tensor_new(2, xs);
    cr_tensor_rand_uniform(x, &r1, -2, 2);
    cr_tape *t = cr_tape_new(0);
    cr_tensor *a = cr_mlp_forward(t, mlp, x), *b = cr_model_forward(t, m, x);
    assert_int_equal(memcmp(a->data, b->data, 21 * sizeof(cr_real)), 0);
    assert_int_equal(memcmp(cr_params_find(cr_mlp_params(mlp), "fc2.W")->data,
                            P(m, "l2.dense.W")->data, 15 * sizeof(cr_real)), 0);
    cr_tape_free(t);
    cr_tensor_free(x);
    cr_mlp_free(mlp);
    cr_model_free(m);
}

/* A few Adam steps on random data so batchnorm statistics and weights move. */
static void train_steps(cr_model *m, int steps)
{
    cr_optim_config cfg = cr_optim_defaults(CR_OPTIM_ADAM);
    cr_optim *o = cr_optim_new(cr_model_params(m), &cfg, NULL, 0);
    assert_non_null(o);
    cr_tensor *x = input(8, 9);
    int ys = 8;
    cr_tensor *y = cr_tensor_new(1, &ys);
    for (int i = 0; i < 8; i++) y->data[i] = (cr_real)(i % 3);
    cr_tape *t = cr_tape_new(0);
    for (int s = 0; s < steps; s++) {
        cr_tape_reset(t);
        cr_optim_zero_grad(o);
        cr_tensor *loss = cr_softmax_cross_entropy(t, cr_model_forward(t, m, x), y);
        assert_int_equal(cr_backward(t, loss), CR_OK);
        assert_int_equal(cr_optim_step(o, NULL, 0), CR_OK);
    }
    cr_tape_free(t);
    cr_tensor_free(x);
    cr_tensor_free(y);
    cr_optim_free(o);
}

static void eval_out(cr_model *m, cr_real *out, int training)
{
    cr_tensor *x = input(5, 77);
    cr_tape *t = cr_tape_new(0);
    int old = cr_model_set_training(m, training);
    cr_tensor *y = cr_model_forward(t, m, x);
    assert_non_null(y);
    memcpy(out, y->data, 15 * sizeof(cr_real));
    cr_model_set_training(m, old);
    cr_tape_free(t);
    cr_tensor_free(x);
}

/* Save, then rebuild from the file alone: same spec, same tensors, and the same
 * output bits in evaluation and (same dropout masks) training mode; the caller's
 * metadata comes back beside the model's own keys. */
static void test_model_save_load_rebuilds_identical_model(void **state)
{
    (void)state;
    char err[256] = "";
    cr_rng r;
    cr_rng_seed(&r, 3);
    cr_model *m = cr_model_from_spec(NET, 3, img, &r, err, sizeof err);
    train_steps(m, 3);
    cr_meta *meta = cr_meta_new();
    cr_meta_set_u64(meta, "train.epoch", 7);
    cr_meta_set_u64(meta, "model.version", 99);   /* reserved: replaced */
    const char *path = path_in("net.crm");
    assert_int_equal(cr_model_save(m, path, NULL, meta, err, sizeof err), CR_OK);
    cr_meta *back = cr_meta_new();
    cr_model *l = cr_model_load(path, back, err, sizeof err);
    if (!l) fail_msg("load: %s", err);
    char s1[512], s2[512];
    cr_model_spec(m, s1, sizeof s1);
    cr_model_spec(l, s2, sizeof s2);
    assert_string_equal(s1, s2);
    assert_int_equal(cr_model_param_count(l), cr_model_param_count(m));
    cr_params *a = cr_model_state(m), *b = cr_model_state(l);
    assert_int_equal(cr_params_count(a), cr_params_count(b));
    for (size_t i = 0; i < cr_params_count(a); i++) {
        assert_string_equal(cr_params_name(a, i), cr_params_name(b, i));
        cr_tensor *ta = cr_params_get(a, i), *tb = cr_params_get(b, i);
        assert_int_equal(memcmp(ta->data, tb->data, ta->size * sizeof(cr_real)), 0);
    }
    cr_real y1[15], y2[15], e[15];
    eval_out(m, y1, 0);
    eval_out(l, y2, 0);
    assert_int_equal(memcmp(y1, y2, sizeof y1), 0);
    memcpy(e, y1, sizeof e);
    eval_out(m, y1, 1);
    eval_out(l, y2, 1);
    assert_int_equal(memcmp(y1, y2, sizeof y1), 0);
    uint64_t v;
    assert_int_equal(cr_meta_get_u64(back, "train.epoch", &v), CR_OK);
    assert_int_equal(v, 7);
    assert_int_equal(cr_meta_get_u64(back, "model.version", &v), CR_OK);
    assert_int_equal(v, 1);
    /* the same image loads from memory too */
    size_t n;
    unsigned char *img_bytes = read_bytes(path, &n);
    cr_model *l2 = cr_model_load_buffer(img_bytes, n, "mem", NULL, err, sizeof err);
    assert_non_null(l2);
    eval_out(l2, y2, 0);   /* as saved: before the training forwards above */
    assert_int_equal(memcmp(e, y2, sizeof e), 0);
    free(img_bytes);
    cr_model_free(l2);
    cr_model_free(l);
    cr_model_free(m);
    cr_meta_free(meta);
    cr_meta_free(back);
}

/* "standardize": y = (x - mean) * inv_std per value of a sample, broadcast over the
 * batch; mean 0, inv_std 1 until set; buffers (not parameters), saved
 * and loaded with the model. By hand on 1x1x2 samples: mean (1, -2), inv_std (0.5, 4). */
static void test_model_standardize_layer_by_hand_and_saved(void **state)
{
    (void)state;
    char err[256] = "";
    cr_rng r;
    cr_rng_seed(&r, 3);
    int in[3] = { 1, 1, 2 };
    cr_model *m = cr_model_from_spec("standardize", 3, in, &r, err, sizeof err);
    assert_non_null(m);
    assert_int_equal(cr_model_param_count(m), 0);
    assert_int_equal(cr_params_count(cr_model_params(m)), 0);
    cr_tensor *mean = cr_params_find(cr_model_buffers(m), "l0.standardize.mean");
    cr_tensor *inv = cr_params_find(cr_model_buffers(m), "l0.standardize.inv_std");
    assert_non_null(mean);
    assert_non_null(inv);
    assert_int_equal(mean->ndim, 3);
    assert_close(mean->data[1], 0, 0, 0);
    assert_close(inv->data[1], 1, 0, 0);
    mean->data[0] = 1, mean->data[1] = -2;
    inv->data[0] = 0.5, inv->data[1] = 4;
    const char *path = path_in("standardize.crm");
    assert_int_equal(cr_model_save(m, path, NULL, NULL, err, sizeof err), CR_OK);
    cr_model *l = cr_model_load(path, NULL, err, sizeof err);
    assert_non_null(l);
    int xs[4] = { 2, 1, 1, 2 };
    cr_real xv[4] = { 3, -1, 0, 0.25f };
    double want[4] = { 1, 4, -0.5, 9 };
    cr_tape *t = cr_tape_new(0);
    cr_tensor *x = cr_var(t, 4, xs, xv);
    cr_tensor *y = cr_model_forward(t, l, x);
    assert_non_null(y);
    assert_all_close(y->data, want, 4, 0, 0);
    assert_int_equal(cr_backward(t, cr_sum(t, y)), CR_OK);
    double dx[4] = { 0.5, 4, 0.5, 4 };
    assert_all_close(x->grad, dx, 4, 0, 0);
    cr_tensor *lm = cr_params_find(cr_model_buffers(l), "l0.standardize.mean");
    assert_false(lm->flags & CR_REQUIRES_GRAD);        /* a buffer, never optimized */
    assert_null(cr_params_find(cr_model_params(l), "l0.standardize.mean"));
    cr_tape_free(t);
    cr_model_free(l);
    cr_model_free(m);
}

/* Resuming: the file of cr_model_save with an optimizer rebuilds the model, and
 * cr_load into its state restores a fresh optimizer's step count and moments. */
static void test_model_resume_restores_optimizer(void **state)
{
    (void)state;
    char err[256] = "";
    cr_rng r;
    cr_rng_seed(&r, 12);
    int in[3] = { 1, 6, 6 };
    cr_model *m = cr_model_from_spec("conv 2 3x3, relu, flatten, dense 3", 3, in, &r, err,
                                     sizeof err);
    cr_optim_config cfg = cr_optim_defaults(CR_OPTIM_ADAM);
    cr_optim *o = cr_optim_new(cr_model_params(m), &cfg, NULL, 0);
    int xs[4] = { 2, 1, 6, 6 }, ys = 2;
    cr_tensor *x = cr_tensor_new(4, xs), *y = cr_tensor_new(1, &ys);
    cr_tensor_rand_uniform(x, &r, -1, 1);
    y->data[1] = 2;
    cr_tape *t = cr_tape_new(0);
    for (int s = 0; s < 3; s++) {
        cr_tape_reset(t);
        cr_optim_zero_grad(o);
        assert_int_equal(cr_backward(t, cr_softmax_cross_entropy(t, cr_model_forward(t, m, x), y)),
                         CR_OK);
        cr_optim_step(o, NULL, 0);
    }
    const char *path = path_in("resume.crm");
    assert_int_equal(cr_model_save(m, path, o, NULL, err, sizeof err), CR_OK);
    cr_model *l = cr_model_load(path, NULL, err, sizeof err);
    assert_non_null(l);
    cr_optim *o2 = cr_optim_new(cr_model_params(l), &cfg, NULL, 0);
    assert_int_equal(cr_load(path, cr_model_state(l), o2, NULL, err, sizeof err), CR_OK);
    assert_int_equal(cr_optim_step_count(o2), 3);
    assert_int_equal(cr_optim_state_count(o2), cr_optim_state_count(o));
    for (size_t i = 0; i < cr_optim_state_count(o); i++) {
        cr_tensor *a = cr_optim_state_get(o, i), *b = cr_optim_state_get(o2, i);
        assert_int_equal(memcmp(a->data, b->data, a->size * sizeof(cr_real)), 0);
    }
    cr_tape_free(t);
    cr_tensor_free(x);
    cr_tensor_free(y);
    cr_optim_free(o);
    cr_optim_free(o2);
    cr_model_free(m);
    cr_model_free(l);
}

/* Load expecting failure with status st and err containing needle; meta must come
 * back unchanged and no allocation may remain. */
static void expect_refused(const void *bytes, size_t n, cr_status st, const char *needle)
{
    cr_meta *meta = cr_meta_new();
    cr_meta_set_u64(meta, "keep", 42);
    char err[512] = "";
    const char *path = path_in("bad.crm");
    write_bytes(path, bytes, n);
    cr_test_alloc c = { 0 };
    cr_test_alloc_install(&c);
    cr_model *m = cr_model_load(path, meta, err, sizeof err);
    cr_test_alloc_remove();
    if (m) fail_msg("a damaged file (%zu bytes) loaded", n);
    assert_int_equal(c.mallocs + c.reallocs, c.frees);
    if (!strstr(err, needle)) fail_msg("%zu bytes: '%s' lacks '%s'", n, err, needle);
    (void)st;
    uint64_t v = 0;
    assert_int_equal(cr_meta_count(meta), 1);
    assert_int_equal(cr_meta_get_u64(meta, "keep", &v), CR_OK);
    assert_int_equal(v, 42);
    cr_meta_free(meta);
}

/* Truncated at many lengths, a flipped byte, a plain cr_mlp file, a missing file:
 * each refused with a message, nothing allocated, the caller's meta untouched. */
static void test_model_load_refuses_damaged_files_changing_nothing(void **state)
{
    (void)state;
    cr_rng r;
    cr_rng_seed(&r, 4);
    cr_model *m = cr_model_from_spec(NET, 3, img, &r, NULL, 0);
    const char *path = path_in("good.crm");
    assert_int_equal(cr_model_save(m, path, NULL, NULL, NULL, 0), CR_OK);
    size_t n;
    unsigned char *b = read_bytes(path, &n);
    for (size_t k = 0; k < n; k += 1 + k / 8) expect_refused(b, k, CR_ERR_FORMAT, "bad.crm");
    b[n / 2] ^= 0x40;
    expect_refused(b, n, CR_ERR_FORMAT, "checksum");
    free(b);
    /* an MLP file (cr_save of cr_mlp's state) is not a model file */
    int sizes[2] = { 4, 2 };
    cr_mlp *mlp = cr_mlp_new(2, sizes, CR_ACT_RELU, CR_ACT_NONE, &r, NULL, 0);
    assert_int_equal(cr_save(path, cr_mlp_state(mlp), NULL, NULL, NULL, 0), CR_OK);
    b = read_bytes(path, &n);
    expect_refused(b, n, CR_ERR_FORMAT, "not a model file");
    free(b);
    cr_mlp_free(mlp);
    char err[256];
    assert_null(cr_model_load(path_in("missing.crm"), NULL, err, sizeof err));
    assert_non_null(strstr(err, "cannot open"));
    /* a model without layers is not saved (it could not be rebuilt) */
    int in[1] = { 3 };
    cr_model *empty = cr_model_new(1, in, NULL, 0);
    assert_int_equal(cr_model_save(empty, path_in("empty.crm"), NULL, NULL, err, sizeof err),
                     CR_ERR_ARG);
    assert_non_null(strstr(err, "empty.crm: the model has no layers"));
    assert_int_equal(access(path_in("empty.crm"), F_OK), -1);
    cr_model_free(empty);
    cr_model_free(m);
}

/* A file whose stored description is consistent in format but wrong in content: a
 * spec that does not build, and tensors that do not match the spec. */
static void test_model_load_refuses_inconsistent_description(void **state)
{
    (void)state;
    cr_rng r;
    cr_rng_seed(&r, 5);
    int in[1] = { 4 };
    cr_model *m = cr_model_from_spec("dense 3", 1, in, &r, NULL, 0);
    const char *path = path_in("desc.crm");
    /* rewrite the spec keys by hand: "dense 0" (7 bytes) */
    cr_meta *meta = cr_meta_new();
    cr_meta_set_u64(meta, "model.version", 1);
    cr_meta_set_u64(meta, "model.input.ndim", 1);
    cr_meta_set_u64(meta, "model.input.0", 4);
    cr_meta_set_u64(meta, "model.spec.bytes", 7);
    uint64_t v = 0;
    for (int j = 0; j < 7; j++) v |= (uint64_t)(unsigned char)"dense 0"[j] << (8 * j);
    cr_meta_set_u64(meta, "model.spec.0", v);
    cr_meta_set_u64(meta, "model.dropout_rng.state", 1);
    cr_meta_set_u64(meta, "model.dropout_rng.inc", 1);
    assert_int_equal(cr_save(path, cr_model_state(m), NULL, meta, NULL, 0), CR_OK);
    size_t n;
    unsigned char *b = read_bytes(path, &n);
    expect_refused(b, n, CR_ERR_FORMAT,
                   "bad.crm: the stored spec does not build: layer 1 (dense 0): width 0 "
                   "outside 1..16777216");
    free(b);
    /* "dense 2" builds but the file holds a 4x3 weight */
    v = 0;
    for (int j = 0; j < 7; j++) v |= (uint64_t)(unsigned char)"dense 2"[j] << (8 * j);
    cr_meta_set_u64(meta, "model.spec.0", v);
    assert_int_equal(cr_save(path, cr_model_state(m), NULL, meta, NULL, 0), CR_OK);
    b = read_bytes(path, &n);
    expect_refused(b, n, CR_ERR_SHAPE, "l0.dense.W");
    free(b);
    /* a spec chunk missing */
    cr_meta_set_u64(meta, "model.spec.bytes", 9);
    assert_int_equal(cr_save(path, cr_model_state(m), NULL, meta, NULL, 0), CR_OK);
    b = read_bytes(path, &n);
    expect_refused(b, n, CR_ERR_FORMAT, "model description in the metadata is missing or invalid");
    free(b);
    cr_meta_free(meta);
    cr_model_free(m);
}

/* A small CNN with every layer kind, trained with Adam on 2 threads: after the first
 * step, recording afresh each step allocates nothing on the heap. */
static void test_model_cnn_training_step_allocates_nothing_after_first(void **state)
{
    (void)state;
    cr_test_alloc counter = { 0 };
    cr_test_alloc_install(&counter);
    cr_rng r;
    cr_rng_seed(&r, 8);
    cr_model *m = cr_model_from_spec(
        "conv 4 3x3 pad 1, batchnorm, relu, maxpool 2, conv 6 3x3 stride 2 dilation 1, tanh, "
        "avgpool 2 stride 1 pad 1, sigmoid, leaky_relu 0.1, dropout 0.2, globalavgpool, "
        "batchnorm, dense 8, relu, dropout 0.1, flatten, dense 3, softmax",
        3, img, &r, NULL, 0);
    assert_non_null(m);
    cr_optim_config cfg = cr_optim_defaults(CR_OPTIM_ADAM);
    cr_optim *o = cr_optim_new(cr_model_params(m), &cfg, NULL, 0);
    cr_tensor *x = input(6, 2);
    int ys[2] = { 6, 3 };
    cr_tensor *y = cr_tensor_new(2, ys);
    for (int i = 0; i < 6; i++) y->data[i * 3 + i % 3] = 1;
    cr_tape *t = cr_tape_new(0);
    assert_int_equal(cr_tape_set_threads(t, 2), CR_OK);
    size_t after_first = 0;
    for (int step = 0; step < 5; step++) {
        cr_tape_reset(t);
        cr_optim_zero_grad(o);
        cr_tensor *loss = cr_loss_mse(t, cr_model_forward(t, m, x), y);
        assert_int_equal(cr_backward(t, loss), CR_OK);
        assert_int_equal(cr_optim_step(o, NULL, 0), CR_OK);
        if (step == 0) after_first = counter.mallocs + counter.reallocs;
    }
    assert_int_equal(counter.mallocs + counter.reallocs, after_first);
    cr_tape_free(t);
    cr_tensor_free(x);
    cr_tensor_free(y);
    cr_optim_free(o);
    cr_model_free(m);
    cr_test_alloc_remove();
}

static int cleanup(void **state)
{
    (void)state;
    if (dir[0]) {
        char cmd[128];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
        if (system(cmd) != 0) return 1;
    }
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_model_forward_matches_ops_bit_for_bit),
        cmocka_unit_test(test_model_records_relu_then_maxpool_as_maxpool_then_relu),
        cmocka_unit_test(test_model_equals_mlp_from_same_seed),
        cmocka_unit_test(test_model_save_load_rebuilds_identical_model),
        cmocka_unit_test(test_model_standardize_layer_by_hand_and_saved),
        cmocka_unit_test(test_model_resume_restores_optimizer),
        cmocka_unit_test(test_model_load_refuses_damaged_files_changing_nothing),
        cmocka_unit_test(test_model_load_refuses_inconsistent_description),
        cmocka_unit_test(test_model_cnn_training_step_allocates_nothing_after_first),
    };
    return cmocka_run_group_tests(tests, NULL, cleanup);
}
