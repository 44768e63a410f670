/* Model specs: parsing good and bad text (exact messages), shape inference and
 * parameter counts against hand-computed values, the canonical text round trip,
 * C-built layers, and the limits that protect against hostile specs. */
#include "helpers.h"

#include <string.h>

static const int mnist[3] = { 1, 28, 28 };
#define LENET "conv 8 3x3 pad 1, relu, maxpool 2, conv 16 3x3 pad 1, relu, maxpool 2, " \
              "flatten, dense 128, relu, dense 10"

/* The net on 1 x 28 x 28, by hand (OH = floor((H + 2P - K)/S) + 1):
 *   1 conv 8 3x3 pad 1   8x28x28   (28+2-3)/1+1 = 28;  params 8*1*3*3 + 8     =     80
 *   2 relu               8x28x28
 *   3 maxpool 2          8x14x14   (28-2)/2+1 = 14
 *   4 conv 16 3x3 pad 1 16x14x14   params 16*8*3*3 + 16                       =  1,168
 *   5 relu              16x14x14
 *   6 maxpool 2         16x7x7
 *   7 flatten           784        16*7*7
 *   8 dense 128         128        params 784*128 + 128                       = 100,480
 *   9 relu              128
 *  10 dense 10          10         params 128*10 + 10                         =  1,290
 * total 80 + 1,168 + 100,480 + 1,290 = 103,018 trainable scalars. PyTorch 1.13's
 * nn.Sequential of the same layers gives the same shapes and 103,018 parameters. */
static void test_spec_lenet_shapes_and_parameter_count_by_hand(void **state)
{
    (void)state;
    char err[256] = "";
    cr_rng r;
    cr_rng_seed(&r, 1);
    cr_model *m = cr_model_from_spec(LENET, 3, mnist, &r, err, sizeof err);
    assert_non_null(m);
    static const int want[10][4] = {
        { 3, 8, 28, 28 }, { 3, 8, 28, 28 }, { 3, 8, 14, 14 }, { 3, 16, 14, 14 },
        { 3, 16, 14, 14 }, { 3, 16, 7, 7 }, { 1, 784 }, { 1, 128 }, { 1, 128 }, { 1, 10 },
    };
    assert_int_equal(cr_model_n_layers(m), 10);
    for (int i = 0; i < 10; i++) {
        int s[3] = { 0 };
        assert_int_equal(cr_model_shape(m, i, s), want[i][0]);
        for (int d = 0; d < want[i][0]; d++) assert_int_equal(s[d], want[i][d + 1]);
    }
    int s[3];
    assert_int_equal(cr_model_shape(m, -1, s), 3);
    assert_int_equal(s[0] * 100 + s[1], 128);
    assert_int_equal(cr_model_shape(m, 10, s), 0);
    assert_int_equal(cr_model_param_count(m), 103018);
    assert_int_equal(cr_params_numel(cr_model_params(m)), 103018);
    /* names and shapes of the parameters */
    cr_params *p = cr_model_params(m);
    assert_int_equal(cr_params_count(p), 8);
    assert_string_equal(cr_params_name(p, 0), "l0.conv.W");
    assert_string_equal(cr_params_name(p, 1), "l0.conv.b");
    assert_string_equal(cr_params_name(p, 2), "l3.conv.W");
    assert_string_equal(cr_params_name(p, 7), "l9.dense.b");
    cr_tensor *w = cr_params_find(p, "l3.conv.W");
    assert_non_null(w);
    assert_int_equal(w->ndim, 4);
    assert_int_equal(w->shape[0] * 1000 + w->shape[1] * 100 + w->shape[2] * 10 + w->shape[3],
                     16 * 1000 + 8 * 100 + 3 * 10 + 3);
    w = cr_params_find(p, "l7.dense.W");
    assert_int_equal(w->shape[0], 784);
    assert_int_equal(w->shape[1], 128);
    assert_int_equal(cr_params_count(cr_model_buffers(m)), 0);
    cr_model_free(m);
}

/* Strides, dilation, non-square sizes, pools with padding, batchnorm over channels. */
static void test_spec_options_shapes_by_hand(void **state)
{
    (void)state;
    char err[256] = "";
    int in[3] = { 3, 17, 12 };
    cr_model *m = cr_model_new(3, in, err, sizeof err);
    assert_non_null(m);
    /* conv 4 5x3 stride 2x1 pad 1x0 dilation 1x2 on 3x17x12:
     *   OH = (17 + 2 - 5)/2 + 1 = 8; OW = (12 + 0 - 2*(3-1) - 1)/1 + 1 = 8
     *   params 4*3*5*3 + 4 = 184
     * batchnorm: 2*4 = 8 params, 2 buffers
     * maxpool 3 stride 2 pad 1 on 8x8: (8 + 2 - 3)/2 + 1 = 4
     * avgpool 2x1: (4-2)/2+1 = 2, (4-1)/1+1 = 4 -> 4x2x4
     * globalavgpool -> 4; dropout 0.25; dense 3: 4*3+3 = 15; leaky_relu 0.2; softmax
     * total 184 + 8 + 15 = 207 (PyTorch 1.13: Conv2d(3, 4, (5, 3), stride=(2, 1),
     * padding=(1, 0), dilation=(1, 2)), BatchNorm2d, MaxPool2d(3, 2, 1), AvgPool2d((2, 1))
     * give 4x8x8, 4x4x4, 4x2x4 and 184 + 8 = 192 parameters) */
    assert_int_equal(cr_model_add_spec(m, "CONV 4 5x3 stride 2x1 pad 1x0 dilation 1x2, "
                                          "bn, maxpool 3 stride 2 pad 1, avgpool 2x1, gap,"
                                          "dropout 0.25,dense 3, leaky_relu 0.2, softmax",
                                       err, sizeof err),
                     CR_OK);
    int s[3];
    assert_int_equal(cr_model_shape(m, 0, s), 3);
    assert_int_equal(s[0], 4);
    assert_int_equal(s[1], 8);
    assert_int_equal(s[2], 8);
    assert_int_equal(cr_model_shape(m, 2, s), 3);
    assert_int_equal(s[1], 4);
    assert_int_equal(s[2], 4);
    assert_int_equal(cr_model_shape(m, 3, s), 3);
    assert_int_equal(s[1], 2);
    assert_int_equal(s[2], 4);
    assert_int_equal(cr_model_shape(m, 4, s), 1);
    assert_int_equal(s[0], 4);
    assert_int_equal(cr_model_shape(m, 8, s), 1);
    assert_int_equal(s[0], 3);
    assert_int_equal(cr_model_param_count(m), 207);
    assert_int_equal(cr_params_count(cr_model_buffers(m)), 2);
    assert_string_equal(cr_params_name(cr_model_buffers(m), 0), "l1.bn.running_mean");
    /* the canonical text, which parses back to the same layers */
    char spec[512];
    const char *canon = "conv 4 5x3 stride 2x1 pad 1x0 dilation 1x2, batchnorm, maxpool 3 "
                        "stride 2 pad 1, avgpool 2x1, globalavgpool, dropout 0.25, dense 3, "
                        "leaky_relu 0.2, softmax";
    assert_int_equal(cr_model_spec(m, spec, sizeof spec), strlen(canon));
    assert_string_equal(spec, canon);
    assert_string_equal(cr_model_layer_text(m, 0), "conv 4 5x3 stride 2x1 pad 1x0 dilation 1x2");
    cr_model *m2 = cr_model_new(3, in, err, sizeof err);
    assert_int_equal(cr_model_add_spec(m2, spec, err, sizeof err), CR_OK);
    char spec2[512];
    cr_model_spec(m2, spec2, sizeof spec2);
    assert_string_equal(spec2, canon);
    /* snprintf-like truncation */
    char small[8];
    assert_int_equal(cr_model_spec(m, small, sizeof small), strlen(canon));
    assert_string_equal(small, "conv 4 ");
    cr_model_free(m);
    cr_model_free(m2);
}

/* Layers appended from C with cr_layer: the same model as the text form. */
static void test_model_built_in_c_matches_spec(void **state)
{
    (void)state;
    char err[256] = "";
    cr_model *m = cr_model_new(3, mnist, err, sizeof err);
    assert_non_null(m);
    cr_layer conv = { 0 }, act = { 0 }, pool = { 0 }, flat = { 0 }, dense = { 0 };
    conv.kind = CR_LAYER_CONV2D;
    conv.units = 8;
    conv.kernel[0] = conv.kernel[1] = 3;
    conv.padding[0] = conv.padding[1] = 1;
    act.kind = CR_LAYER_ACTIVATION;
    act.act = CR_ACT_RELU;
    pool.kind = CR_LAYER_MAXPOOL2D;
    pool.kernel[0] = pool.kernel[1] = 2;
    flat.kind = CR_LAYER_FLATTEN;
    dense.kind = CR_LAYER_DENSE;
    dense.units = 10;
    assert_int_equal(cr_model_add(m, &conv, err, sizeof err), CR_OK);
    assert_int_equal(cr_model_add(m, &act, err, sizeof err), CR_OK);
    assert_int_equal(cr_model_add(m, &pool, err, sizeof err), CR_OK);
    assert_int_equal(cr_model_add(m, &flat, err, sizeof err), CR_OK);
    assert_int_equal(cr_model_add(m, &dense, err, sizeof err), CR_OK);
    char spec[256];
    cr_model_spec(m, spec, sizeof spec);
    assert_string_equal(spec, "conv 8 3x3 pad 1, relu, maxpool 2, flatten, dense 10");
    /* 8*9+8 = 80; 8*14*14 = 1568 -> 1568*10 + 10 = 15,690 */
    assert_int_equal(cr_model_param_count(m), 80 + 15690);
    cr_model_free(m);
}

typedef struct bad_case {
    const char *spec;
    int ndim, in[3];
    cr_status status;
    const char *msg;
} bad_case;

/* Each bad spec fails with its exact message and leaves the model unchanged. */
static void test_spec_bad_specs_fail_with_exact_messages(void **state)
{
    (void)state;
    static const bad_case cases[] = {
        { "conv 8 3x3 pad 1, relu, maxpool 2, conv 16 3x3 dilation 7, relu", 3, { 1, 28, 28 },
          CR_ERR_SHAPE,
          "layer 4 (conv 16 3x3 dilation 7): input is 8x14x14 but the conv window spans "
          "15x15, more than the padded input 14x14" },
        { "conv 8 3x3 pad 1, maxpool 2, conv 16 3x3, maxpool 2, conv 4 7x7", 3, { 1, 28, 28 },
          CR_ERR_SHAPE,
          "layer 5 (conv 4 7x7): input is 16x6x6 but the conv window spans 7x7, more than "
          "the padded input 6x6" },
        { "conv 8 3, dense 10", 3, { 1, 28, 28 }, CR_ERR_SHAPE,
          "layer 2 (dense 10): input is 8x26x26 but dense takes a vector of features (put "
          "flatten or globalavgpool before it)" },
        { "dense 10, conv 3 3x3", 1, { 784 }, CR_ERR_SHAPE,
          "layer 2 (conv 3 3x3): input is 10 but conv needs C x H x W" },
        { "maxpool 3 pad 2", 3, { 1, 8, 8 }, CR_ERR_ARG,
          "layer 1 (maxpool 3 pad 2): pad 2 is more than half the kernel 3" },
        { "dense 0", 1, { 4 }, CR_ERR_ARG, "layer 1 (dense 0): width 0 outside 1..16777216" },
        { "dense", 1, { 4 }, CR_ERR_ARG,
          "layer 1 (dense): dense needs a width of at most 9 digits, as in dense 128" },
        { "dense 1234567890", 1, { 4 }, CR_ERR_ARG,
          "layer 1 (dense 1234567890): dense needs a width of at most 9 digits, as in dense "
          "128" },
        { "dense -3", 1, { 4 }, CR_ERR_ARG,
          "layer 1 (dense -3): dense needs a width of at most 9 digits, as in dense 128" },
        { "conv 8 3x", 3, { 1, 8, 8 }, CR_ERR_ARG,
          "layer 1 (conv 8 3x): conv needs output channels and a kernel size, as in conv 16 "
          "3x3" },
        { "conv 8 3x3 pda 1", 3, { 1, 8, 8 }, CR_ERR_ARG,
          "layer 1 (conv 8 3x3 pda 1): unexpected 'pda' (conv takes stride, pad, dilation)" },
        { "conv 8 3x3 stride", 3, { 1, 8, 8 }, CR_ERR_ARG,
          "layer 1 (conv 8 3x3 stride): stride needs a size of at most 9 digits, as in stride "
          "2 or stride 2x1" },
        { "conv 8 3x3 stride 0x1", 3, { 1, 8, 8 }, CR_ERR_ARG,
          "layer 1 (conv 8 3x3 stride 0x1): stride must be at least 1" },
        { "conv 8 0x3", 3, { 1, 8, 8 }, CR_ERR_ARG,
          "layer 1 (conv 8 0x3): kernel 0 outside 1..65536" },
        { "relu, dense 4,, relu", 1, { 4 }, CR_ERR_ARG,
          "layer 3: empty (two commas in a row, or a comma at an end)" },
        { "dense 4,", 1, { 4 }, CR_ERR_ARG,
          "layer 2: empty (two commas in a row, or a comma at an end)" },
        { "  ", 1, { 4 }, CR_ERR_ARG, "spec has no layers" },
        { "relu, swish", 1, { 4 }, CR_ERR_ARG,
          "layer 2 (swish): unknown layer 'swish' (known: dense, conv, maxpool, avgpool, "
          "globalavgpool, flatten, batchnorm, dropout, relu, tanh, sigmoid, leaky_relu, "
          "softmax, standardize)" },
        { "dropout 1", 1, { 4 }, CR_ERR_ARG,
          "layer 1 (dropout 1): dropout probability 1 outside [0, 1)" },
        { "dropout nan", 1, { 4 }, CR_ERR_ARG,
          "layer 1 (dropout nan): dropout needs a probability, as in dropout 0.5" },
        { "leaky_relu 2", 1, { 4 }, CR_ERR_ARG,
          "layer 1 (leaky_relu 2): leaky_relu slope 2 outside [0, 1]" },
        { "relu 3", 1, { 4 }, CR_ERR_ARG, "layer 1 (relu 3): unexpected '3'" },
        { "softmax", 3, { 2, 2, 2 }, CR_ERR_SHAPE,
          "layer 1 (softmax): input is 2x2x2 but softmax takes a vector of features" },
        { "gap", 1, { 4 }, CR_ERR_SHAPE,
          "layer 1 (gap): input is 4 but globalavgpool needs C x H x W" },
        /* absurd sizes: refused by the parameter cap before anything is allocated */
        { "dense 16777216, dense 16777216", 1, { 4 }, CR_ERR_ARG,
          "layer 2 (dense 16777216): its 281474993487872 parameters would bring the model "
          "above the limit of 268435456" },
        { "conv 16777216 65536x65536 pad 65536", 3, { 16777216, 1, 1 }, CR_ERR_ARG,
          "layer 1 (conv 16777216 65536x65536 pad 65536): parameter count overflows" },
        { "conv 8 1x1 pad 65536", 3, { 100, 100, 100 }, CR_ERR_SHAPE,
          "layer 1 (conv 8 1x1 pad 65536): output 8x131172x131172 has 2^31 or more values per "
          "sample" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const bad_case *c = &cases[i];
        char err[512] = "";
        cr_model *m = cr_model_new(c->ndim, c->in, err, sizeof err);
        assert_non_null(m);
        assert_int_equal(cr_model_add_spec(m, "relu", err, sizeof err), CR_OK);
        cr_status s = cr_model_add_spec(m, c->spec, err, sizeof err);
        /* the model already had one layer: positions in messages count it */
        cr_model *fresh = cr_model_new(c->ndim, c->in, NULL, 0);
        char err2[512] = "";
        cr_status s2 = cr_model_add_spec(fresh, c->spec, err2, sizeof err2);
        if (s2 != c->status || (c->msg && strcmp(err2, c->msg) != 0))
            fail_msg("case %zu '%s': status %d '%s', wanted %d '%s'", i, c->spec, s2, err2,
                     c->status, c->msg ? c->msg : "(any)");
        assert_int_equal(s, c->status);
        assert_int_equal(cr_model_n_layers(m), 1);       /* unchanged: all or nothing */
        assert_int_equal(cr_model_n_layers(fresh), 0);
        assert_int_equal(cr_params_count(cr_model_state(fresh)), 0);
        assert_int_equal(cr_model_param_count(fresh), 0);
        cr_model_free(m);
        cr_model_free(fresh);
    }
}

/* A layer that fails inside a longer spec: positions count the model's layers. */
static void test_spec_positions_continue_after_existing_layers(void **state)
{
    (void)state;
    char err[256] = "";
    int in[1] = { 4 };
    cr_model *m = cr_model_new(1, in, err, sizeof err);
    assert_int_equal(cr_model_add_spec(m, "dense 3, relu", err, sizeof err), CR_OK);
    assert_int_equal(cr_model_add_spec(m, "dense 2, maxpool 2", err, sizeof err), CR_ERR_SHAPE);
    assert_string_equal(err, "layer 4 (maxpool 2): input is 2 but maxpool needs C x H x W");
    assert_int_equal(cr_model_n_layers(m), 2);
    assert_int_equal(cr_params_count(cr_model_params(m)), 2);
    assert_int_equal(cr_model_param_count(m), 15);
    cr_model_free(m);
}

/* Hostile text: longer than the limit (even unterminated beyond it), too many
 * layers or words, bad input shapes, NULLs. Nothing is allocated on failure. */
static void test_spec_hostile_input_is_refused(void **state)
{
    (void)state;
    char err[256] = "";
    int in[1] = { 4 };
    static char big[CR_MODEL_SPEC_MAX + 10];
    memset(big, 'a', sizeof big);   /* no NUL within the first limit + 1 bytes */
    cr_model *m = cr_model_new(1, in, err, sizeof err);
    assert_int_equal(cr_model_add_spec(m, big, err, sizeof err), CR_ERR_ARG);
    assert_string_equal(err, "spec is longer than 4096 bytes");
    /* 257 layers */
    char many[2048] = "";
    for (int i = 0; i < 257; i++) strcat(many, i ? ",relu" : "relu");
    assert_int_equal(cr_model_add_spec(m, many, err, sizeof err), CR_ERR_ARG);
    assert_string_equal(err, "more than 256 layers");
    assert_int_equal(cr_model_add_spec(m, "conv 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1", err,
                                       sizeof err),
                     CR_ERR_ARG);
    assert_string_equal(err, "layer 1 (conv 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1): more than 16 words");
    assert_int_equal(cr_model_add_spec(m, NULL, err, sizeof err), CR_ERR_ARG);
    assert_int_equal(cr_model_n_layers(m), 0);
    cr_model_free(m);
    int bad[3] = { 0, 4, 4 };
    assert_null(cr_model_new(3, bad, err, sizeof err));
    assert_string_equal(err, "model input dimensions must be >= 1 with fewer than 2^31 values");
    int huge[3] = { 65536, 65536, 2 };
    assert_null(cr_model_new(3, huge, err, sizeof err));
    assert_null(cr_model_new(2, huge, err, sizeof err));
    assert_string_equal(err, "model input must be 1 dimension (features) or 3 (C x H x W), not 2");
    /* nothing leaks on a failing cr_model_from_spec: counted */
    cr_test_alloc c = { 0 };
    cr_test_alloc_install(&c);
    cr_rng r;
    cr_rng_seed(&r, 1);
    assert_null(cr_model_from_spec("dense 4, relu, maxpool 2", 1, in, &r, err, sizeof err));
    cr_test_alloc_remove();
    assert_int_equal(c.mallocs + c.reallocs, c.frees);
}

/* Every allocation failure while building from a spec fails cleanly (no leak, a
 * message), and the model is complete once enough allocations succeed. */
static void test_spec_build_survives_every_allocation_failure(void **state)
{
    (void)state;
    cr_rng r;
    int in[3] = { 2, 6, 6 };
    for (long k = 1;; k++) {
        cr_test_alloc c = { 0 };
        c.fail_at = k;
        char err[256] = "";
        cr_rng_seed(&r, 3);
        cr_test_alloc_install(&c);
        cr_model *m = cr_model_from_spec("conv 3 3x3, batchnorm, relu, flatten, dense 2", 3, in,
                                         &r, err, sizeof err);
        cr_test_alloc_remove();
        if (m) {
            assert_int_equal(cr_model_param_count(m), 3 * 2 * 9 + 3 + 6 + 3 * 4 * 4 * 2 + 2);
            cr_model_free(m);
            break;
        }
        assert_true(strstr(err, "out of memory") != NULL);
        assert_int_equal(c.mallocs + c.reallocs - 1, c.frees);   /* the failed one is not freed */
        assert_true(k < 1000);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_spec_lenet_shapes_and_parameter_count_by_hand),
        cmocka_unit_test(test_spec_options_shapes_by_hand),
        cmocka_unit_test(test_model_built_in_c_matches_spec),
        cmocka_unit_test(test_spec_bad_specs_fail_with_exact_messages),
        cmocka_unit_test(test_spec_positions_continue_after_existing_layers),
        cmocka_unit_test(test_spec_hostile_input_is_refused),
        cmocka_unit_test(test_spec_build_survives_every_allocation_failure),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
