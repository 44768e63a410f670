/* libFuzzer harness: model specs (cr_model_add_spec, nn/spec.c) and the shape
 * inference behind them.
 *
 * The input's first byte picks the sample shape (features or C x H x W, small), the
 * rest is the spec text. Checked besides ASan/UBSan: a failure says why and leaves
 * the model empty; a success stays within CR_MODEL_MAX_PARAMS, its canonical spec
 * builds the same model again (same text, same parameter count), and — when it is
 * small — a training forward and backward on a batch of 2 runs without a tape error
 * and gives the inferred output shape: shape inference agrees with the ops.
 * Legitimate specs can ask for up to CR_MODEL_MAX_PARAMS scalars (gigabytes with
 * their gradients), so the library allocates here through a budget of 256 MB: past
 * it allocations fail, and the build must then fail cleanly with a message. */
#include "fuzz_util.h"

#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);


int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) return 0;
    static int hooked;
    if (!hooked) {
        cr_allocator a = { fuzz_malloc, fuzz_realloc, fuzz_free, NULL };
        cr_set_allocator(&a);
        hooked = 1;
    }
    static const int shapes[4][3] = { { 12, 0, 0 }, { 1, 9, 9 }, { 3, 8, 6 }, { 2, 5, 11 } };
    int pick = data[0] & 3, ndim = pick == 0 ? 1 : 3;
    char *spec = malloc(size);
    FUZZ_CHECK(spec, "out of memory");
    memcpy(spec, data + 1, size - 1);
    spec[size - 1] = '\0';
    char msg[256];
    memset(msg, 'x', sizeof msg);
    cr_model *m = cr_model_new(ndim, shapes[pick], NULL, 0);
    FUZZ_CHECK(m, "cr_model_new failed");
    cr_status st = cr_model_add_spec(m, spec, msg, sizeof msg);
    fuzz_check_message(st, msg, sizeof msg);
    FUZZ_CHECK(st != CR_ERR_NOMEM || strstr(msg, "out of memory"), "%s", msg);
    if (st != CR_OK) {
        FUZZ_CHECK(cr_model_n_layers(m) == 0 && cr_params_count(cr_model_state(m)) == 0,
                   "layers left after a failure: %s", msg);
        cr_model_free(m);
        free(spec);
        return 0;
    }
    size_t np = cr_model_param_count(m);
    FUZZ_CHECK(np <= CR_MODEL_MAX_PARAMS, "%zu parameters", np);
    FUZZ_CHECK(cr_params_numel(cr_model_params(m)) == np, "count %zu vs numel %zu", np,
               cr_params_numel(cr_model_params(m)));
    static char canon[CR_MODEL_SPEC_MAX + 1], again[CR_MODEL_SPEC_MAX + 1];
    size_t len = cr_model_spec(m, canon, sizeof canon);
    if (len <= CR_MODEL_SPEC_MAX) {
        cr_model *m2 = cr_model_new(ndim, shapes[pick], NULL, 0);
        cr_status s2 = m2 ? cr_model_add_spec(m2, canon, msg, sizeof msg) : CR_ERR_NOMEM;
        FUZZ_CHECK(s2 == CR_OK || s2 == CR_ERR_NOMEM, "canonical spec '%s' does not build: %s",
                   canon, msg);
        if (s2 == CR_OK) {
            cr_model_spec(m2, again, sizeof again);
            FUZZ_CHECK(strcmp(canon, again) == 0, "'%s' became '%s'", canon, again);
            FUZZ_CHECK(cr_model_param_count(m2) == np, "parameter count changed");
        }
        cr_model_free(m2);
    }
    /* forward when small: at most 2^16 values per sample in every layer */
    int small = np <= (1u << 20), out[3] = { 0 }, nd = 0;
    for (int i = 0; small && i < cr_model_n_layers(m); i++) {
        int s[3] = { 1, 1, 1 };
        nd = cr_model_shape(m, i, s);
        small = (size_t)s[0] * s[1] * s[2] <= (1u << 16);
        memcpy(out, s, sizeof out);
    }
    if (small && cr_model_n_layers(m) > 0) {
        cr_rng r;
        cr_rng_seed(&r, 1);
        cr_model_init(m, &r, NULL, 0);
        int xs[4] = { 2, shapes[pick][0], shapes[pick][1], shapes[pick][2] };
        cr_tensor *x = cr_tensor_new(ndim + 1, xs);
        FUZZ_CHECK(x, "out of memory");
        cr_tensor_rand_uniform(x, &r, -1, 1);
        cr_tape *t = cr_tape_new(0);
        FUZZ_CHECK(t, "out of memory");
        cr_tensor *y = cr_model_forward(t, m, x);
        if (!y && cr_tape_status(t) == CR_ERR_NOMEM) {
            cr_tape_free(t);
            cr_tensor_free(x);
            cr_model_free(m);
            free(spec);
            return 0;
        }
        FUZZ_CHECK(y, "forward of '%s' failed: %s", canon, cr_tape_error(t));
        FUZZ_CHECK(y->ndim == nd + 1 && y->shape[0] == 2, "output rank %d", y->ndim);
        for (int d = 0; d < nd; d++)
            FUZZ_CHECK(y->shape[d + 1] == out[d], "output dim %d is %d, inferred %d", d,
                       y->shape[d + 1], out[d]);
        FUZZ_CHECK(cr_backward(t, cr_sum(t, y)) == CR_OK, "backward: %s", cr_tape_error(t));
        cr_tape_free(t);
        cr_tensor_free(x);
    }
    cr_model_free(m);
    free(spec);
    return 0;
}
