/* libFuzzer harness: the model loader cr_load / cr_load_buffer (docs/FORMAT.md).
 *
 * The input is a model file. It is loaded from memory (cr_load_buffer), and once
 * through a scratch file (cr_load, in /dev/shm when possible) so that the file
 * reading path is covered too. A random mutation almost
 * never keeps the file-size field and the CRC-32 right, which would stop every
 * input at the checksum; so an input that starts with the magic is loaded twice:
 * as it is (header, size and checksum checks) and "repaired" (size field and CRC
 * recomputed), which lets the mutations reach the section parsers and the
 * matching against the model.
 *
 * The model: fc1.W 3x4, fc1.b 4, fc2.W 4x2, fc2.b 2, s (scalar), an Adam, a
 * momentum and a user-defined optimizer ("fz": OPTN section) over them and a
 * metadata container. Each file is loaded as (params, adam, meta), (params,
 * momentum, -), (params, fz, -) and (-, -, meta). Checked besides
 * ASan/UBSan: a failed load leaves every object bit-identical and gives a
 * message; after a successful one the objects are restored for the next input. */
#include "fuzz_util.h"

#include <stdint.h>

static cr_params *params;
static cr_optim *adam, *momentum, *custom;

/* The user-defined optimizer of make_seeds.c's "custom" seed. */
static void fz_update(const cr_optim_update_args *a) { (void)a; }
static const cr_optim_def fz_def = {
    .name = "fz", .nslots = 2, .slot = { "a", "b" }, .nhyper = 2, .hyper = { "h1", "h2" },
    .defaults = { 0.5, 2 }, .lr = 0.1, .update = fz_update,
};
static cr_meta *meta;

static void add(const char *name, int ndim, int d0, int d1)
{
    int shape[2] = { d0, d1 };
    cr_tensor *x = cr_param_new(ndim, shape);
    FUZZ_CHECK(x && cr_params_add_owned(params, x, name, NULL, 0) == CR_OK, "setup %s", name);
}

/* The objects' starting values, set before the first input and after every
 * successful load, so that each input meets the same state. */
static void init_values(void)
{
    for (size_t i = 0; i < cr_params_count(params); i++) {
        cr_tensor *x = cr_params_get(params, i);
        for (size_t j = 0; j < x->size; j++) x->data[j] = (cr_real)((double)i - 0.25 * (double)j);
    }
    cr_optim *os[3] = { adam, momentum, custom };
    double lrs[3] = { cr_optim_defaults(CR_OPTIM_ADAM).lr,
                      cr_optim_defaults(CR_OPTIM_MOMENTUM).lr, fz_def.lr };
    for (int k = 0; k < 3; k++) {
        cr_optim_set_step_count(os[k], 5);
        cr_optim_set_lr(os[k], lrs[k]);
        for (size_t i = 0; i < cr_optim_state_count(os[k]); i++)
            cr_tensor_fill(cr_optim_state_get(os[k], i), (cr_real)(0.125 * (double)(i + 1)));
    }
    cr_meta_clear(meta);
    cr_meta_set_u64(meta, "epoch", 3);
    cr_meta_set_f64(meta, "loss", 0.5);
}

static void setup(void)
{
    params = cr_params_new();
    FUZZ_CHECK(params, "setup");
    add("fc1.W", 2, 3, 4);
    add("fc1.b", 1, 4, 1);
    add("fc2.W", 2, 4, 2);
    add("fc2.b", 1, 2, 1);
    add("s", 0, 1, 1);
    cr_optim_config a = cr_optim_defaults(CR_OPTIM_ADAM), m = cr_optim_defaults(CR_OPTIM_MOMENTUM);
    adam = cr_optim_new(params, &a, NULL, 0);
    momentum = cr_optim_new(params, &m, NULL, 0);
    cr_optim_config f = cr_optim_def_defaults(&fz_def);
    custom = cr_optim_new(params, &f, NULL, 0);
    meta = cr_meta_new();
    FUZZ_CHECK(adam && momentum && custom && meta, "setup");
    init_values();
}

/* Every byte of state a load may change, appended to buf (cap bytes). */
typedef struct snap {
    unsigned char buf[8192];
    size_t len;
} snap;

static void put(snap *s, const void *p, size_t n)
{
    FUZZ_CHECK(s->len + n <= sizeof s->buf, "snapshot too small");
    memcpy(s->buf + s->len, p, n);
    s->len += n;
}

static void put_optim(snap *s, const cr_optim *o)
{
    long step = cr_optim_step_count(o);
    put(s, &step, sizeof step);
    put(s, cr_optim_get_config(o), sizeof(cr_optim_config));
    for (size_t i = 0; i < cr_optim_state_count(o); i++) {
        const cr_tensor *x = cr_optim_state_get(o, i);
        put(s, x->data, x->size * sizeof(cr_real));
    }
}

static void take(snap *s)
{
    s->len = 0;
    for (size_t i = 0; i < cr_params_count(params); i++) {
        const cr_tensor *x = cr_params_get(params, i);
        put(s, x->data, x->size * sizeof(cr_real));
    }
    put_optim(s, adam);
    put_optim(s, momentum);
    put_optim(s, custom);
    size_t n = cr_meta_count(meta);
    put(s, &n, sizeof n);
    for (size_t i = 0; i < n; i++) {
        const char *k = cr_meta_key(meta, i);
        uint64_t u = 0;
        double f = 0;
        put(s, k, strlen(k) + 1);
        if (cr_meta_type_at(meta, i) == CR_META_U64) cr_meta_get_u64(meta, k, &u);
        else cr_meta_get_f64(meta, k, &f);
        put(s, &u, sizeof u);
        put(s, &f, sizeof f);
    }
}

/* Load from path, or from data[0..size) when path is NULL. */
static void load(const char *path, const uint8_t *data, size_t size, cr_params *p, cr_optim *o,
                 cr_meta *m)
{
    static snap before, after;
    take(&before);
    char err[512];
    memset(err, 'x', sizeof err);
    cr_status st = path ? cr_load(path, p, o, m, err, sizeof err)
                        : cr_load_buffer(data, size, "fuzz.crm", p, o, m, err, sizeof err);
    fuzz_check_message(st, err, sizeof err);
    if (st == CR_OK) {
        init_values();
        return;
    }
    take(&after);
    FUZZ_CHECK(before.len == after.len && memcmp(before.buf, after.buf, before.len) == 0,
               "a failed load (status %d: %s) changed the caller's objects", st, err);
}

static void load_all(const uint8_t *data, size_t size)
{
    load(NULL, data, size, params, adam, meta);
    load(NULL, data, size, params, momentum, NULL);
    load(NULL, data, size, params, custom, NULL);
    load(NULL, data, size, NULL, NULL, meta);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!params) setup();
    const char *path = fuzz_scratch_path("load");
    fuzz_write_file(path, data, size);
    load(path, NULL, 0, params, adam, meta);
    unlink(path);
    load_all(data, size);
    uint8_t *fixed = fuzz_repaired_copy(data, size);
    if (fixed) {
        load_all(fixed, size);
        free(fixed);
    }
    return 0;
}
