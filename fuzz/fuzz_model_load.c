/* libFuzzer harness: rebuilding a model from a file image (cr_model_load_buffer).
 *
 * The input is the file. Checked besides ASan/UBSan: a failure says why, returns
 * NULL and leaves the caller's metadata as it was; a success is a model within
 * CR_MODEL_MAX_PARAMS whose state names the file's tensors and whose canonical spec
 * builds again; when small, an evaluation forward runs without a tape error. The
 * library allocates through a 256 MB budget (a valid file may describe a model of
 * gigabytes): past it the load must fail cleanly.
 * Seeds (fuzz/corpus/model_load/): cr_model_save of "conv 4 3x3 pad 1, relu, maxpool
 * 2, flatten, dense 5" on 1x12x12 (cnn), "dense 5, batchnorm, tanh, dropout 0.5,
 * dense 3, softmax" on 6 (mlp) and "conv 3 3x2 stride 2 dilation 2, bn, leaky_relu
 * 0.2, avgpool 2 pad 1, gap, dense 2" on 2x7x9 (opts), float build, seed 1. */
#include "fuzz_util.h"

#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);


int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int hooked;
    if (!hooked) {
        cr_allocator a = { fuzz_malloc, fuzz_realloc, fuzz_free, NULL };
        cr_set_allocator(&a);
        hooked = 1;
    }
    cr_meta *meta = cr_meta_new();
    FUZZ_CHECK(meta && cr_meta_set_u64(meta, "sentinel", 7) == CR_OK, "out of memory");
    char msg[256];
    memset(msg, 'x', sizeof msg);
    cr_model *m = cr_model_load_buffer(data, size, "fuzz.crm", meta, msg, sizeof msg);
    if (!m) {
        fuzz_check_message(CR_ERR_FORMAT, msg, sizeof msg);
        uint64_t v = 0;
        FUZZ_CHECK(cr_meta_count(meta) == 1 && cr_meta_get_u64(meta, "sentinel", &v) == CR_OK &&
                   v == 7, "metadata changed by a failed load: %s", msg);
        cr_meta_free(meta);
        return 0;
    }
    size_t np = cr_model_param_count(m);
    FUZZ_CHECK(np <= CR_MODEL_MAX_PARAMS, "%zu parameters", np);
    static char canon[CR_MODEL_SPEC_MAX + 1];
    FUZZ_CHECK(cr_model_spec(m, canon, sizeof canon) <= CR_MODEL_SPEC_MAX, "spec too long");
    int in[3] = { 1, 1, 1 }, nd = cr_model_shape(m, -1, in);
    FUZZ_CHECK(nd == 1 || nd == 3, "input rank %d", nd);
    int small = np <= (1u << 20) && (size_t)in[0] * in[1] * in[2] <= (1u << 12);
    for (int i = 0; small && i < cr_model_n_layers(m); i++) {
        int s[3] = { 1, 1, 1 };
        cr_model_shape(m, i, s);
        small = (size_t)s[0] * s[1] * s[2] <= (1u << 16);
    }
    if (small && cr_model_n_layers(m) > 0) {
        int xs[4] = { 2, in[0], in[1], in[2] };
        cr_tensor *x = cr_tensor_new(nd + 1, xs);
        cr_tape *t = cr_tape_new(0);
        if (x && t) {
            cr_tensor_fill(x, (cr_real)0.5);
            cr_model_set_training(m, 0);
            cr_tensor *y = cr_model_forward(t, m, x);
            FUZZ_CHECK(y || cr_tape_status(t) == CR_ERR_NOMEM, "forward of '%s': %s", canon,
                       cr_tape_error(t));
        }
        cr_tape_free(t);
        cr_tensor_free(x);
    }
    cr_model_free(m);
    cr_meta_free(meta);
    return 0;
}
