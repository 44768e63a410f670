/* What a model file holds besides the weights: the architecture (so that --eval
 * needs no options to rebuild the network) and the standardisation statistics
 * (as two extra tensors, so that evaluation sees the same inputs as training).
 * Keys: arch.n_sizes, arch.size.<i>, arch.act, arch.dropout (f64), arch.batchnorm,
 * data.standardized. The last two arch keys are optional when reading (files from
 * before they existed: no dropout, no batchnorm); the batchnorm running statistics
 * are tensors of the file, since they belong to cr_mlp_state. */
#include "train.h"

#include <stdlib.h>
#include <string.h>

cr_params *model_file_params(cr_mlp *m, int standardized, int n_features,
                             cr_tensor **mean, cr_tensor **inv_std)
{
    cr_params *p = cr_params_new();
    if (!p) return NULL;
    if (cr_params_extend(p, cr_mlp_state(m), "", NULL, 0) != CR_OK) goto fail;
    *mean = *inv_std = NULL;
    if (standardized) {
        int shape[1] = { n_features };
        cr_tensor *a = cr_param_new(1, shape);
        if (!a || cr_params_add_owned(p, a, "data.mean", NULL, 0) != CR_OK) goto fail;
        cr_tensor *b = cr_param_new(1, shape);
        if (!b || cr_params_add_owned(p, b, "data.inv_std", NULL, 0) != CR_OK) goto fail;
        *mean = a;
        *inv_std = b;
    }
    return p;
fail:
    cr_params_free(p);
    return NULL;
}

uint64_t model_info_values(const model_info *mi)
{
    uint64_t v = 0;
    for (int i = 0; i + 1 < mi->n_sizes; i++) {
        uint64_t a = (uint64_t)mi->sizes[i], b = (uint64_t)mi->sizes[i + 1];
        v += a * b + b;                                   /* W and b */
        if (mi->batchnorm && i + 2 < mi->n_sizes) v += 4 * b;   /* gamma, beta, running */
    }
    if (mi->standardized) v += 2 * (uint64_t)mi->sizes[0];
    return v;
}

cr_status model_info_plan(const model_info *mi, int slots, uint64_t rows, char *err,
                          size_t errsize)
{
    /* every parameter holds a value and a gradient, plus the optimizer's slots;
     * each row on a tape holds the input and, per hidden unit, about four tensors
     * (linear, batchnorm, activation, dropout) of value and gradient, per output
     * unit two */
    uint64_t R = sizeof(cr_real), per_row = (uint64_t)mi->sizes[0];
    for (int i = 1; i < mi->n_sizes; i++)
        per_row += (uint64_t)mi->sizes[i] * (i + 1 < mi->n_sizes ? 8 : 4);
    uint64_t values = model_info_values(mi);
    uint64_t need = values * R * (2 + (uint64_t)slots) + rows * per_row * R;
    char arch[256], what[400];
    arch_str(mi, arch, sizeof arch);
    snprintf(what, sizeof what, "the model %s (%llu parameters, with gradients, optimizer "
             "state and activations)", arch, (unsigned long long)values);
    return cr_memory_check(need, what, err, errsize);
}

cr_mlp *model_info_build(const model_info *mi, cr_init_kind init, cr_rng *rng)
{
    cr_mlp_config cfg = cr_mlp_default_config();
    cfg.hidden = mi->act;
    cfg.init = init;
    cfg.dropout = (cr_real)mi->dropout;
    cfg.batchnorm = mi->batchnorm;
    return cr_mlp_new_config(mi->n_sizes, mi->sizes, &cfg, rng, NULL, 0);
}

void model_info_to_meta(const model_info *mi, cr_meta *meta)
{
    char key[32];
    cr_meta_set_u64(meta, "arch.n_sizes", (uint64_t)mi->n_sizes);
    for (int i = 0; i < mi->n_sizes; i++) {
        snprintf(key, sizeof key, "arch.size.%d", i);
        cr_meta_set_u64(meta, key, (uint64_t)mi->sizes[i]);
    }
    cr_meta_set_u64(meta, "arch.act", (uint64_t)mi->act);
    cr_meta_set_f64(meta, "arch.dropout", mi->dropout);
    cr_meta_set_u64(meta, "arch.batchnorm", (uint64_t)mi->batchnorm);
    cr_meta_set_u64(meta, "data.standardized", (uint64_t)mi->standardized);
}

cr_status model_info_from_meta(model_info *mi, const cr_meta *meta, const char *path,
                               char *err, size_t errsize)
{
    uint64_t v;
    char key[32];
    memset(mi, 0, sizeof *mi);
    if (cr_meta_get_u64(meta, "arch.n_sizes", &v) != CR_OK || v < 2 ||
        v > TRAIN_MAX_HIDDEN + 2)
        goto bad;
    mi->n_sizes = (int)v;
    for (int i = 0; i < mi->n_sizes; i++) {
        snprintf(key, sizeof key, "arch.size.%d", i);
        if (cr_meta_get_u64(meta, key, &v) != CR_OK || v < 1 || v > 100000000) goto bad;
        mi->sizes[i] = (int)v;
    }
    if (cr_meta_get_u64(meta, "arch.act", &v) != CR_OK || v > CR_ACT_SOFTMAX) goto bad;
    mi->act = (cr_activation)v;
    double p = 0;
    if (cr_meta_get_f64(meta, "arch.dropout", &p) == CR_OK && !(p >= 0 && p < 1)) goto bad;
    mi->dropout = p;
    v = 0;
    if (cr_meta_get_u64(meta, "arch.batchnorm", &v) == CR_OK && v > 1) goto bad;
    mi->batchnorm = (int)v;
    if (cr_meta_get_u64(meta, "data.standardized", &v) != CR_OK || v > 1) goto bad;
    mi->standardized = (int)v;
    return CR_OK;
bad:
    snprintf(err, errsize, "%s: not a model written by this training program (architecture "
             "metadata missing or invalid)", path);
    return CR_ERR_FORMAT;
}

/* ------------------------------------------------ the model, either kind */

cr_tensor *trainer_forward(trainer *T, cr_tape *t, cr_tensor *x)
{
    return T->model ? cr_model_forward(t, T->model, x) : cr_mlp_forward(t, T->mlp, x);
}

cr_params *trainer_params(trainer *T)
{
    return T->model ? cr_model_params(T->model) : cr_mlp_params(T->mlp);
}

int trainer_set_training(trainer *T, int on)
{
    return T->model ? cr_model_set_training(T->model, on) : cr_mlp_set_training(T->mlp, on);
}

cr_rng *trainer_rng(trainer *T)
{
    return T->model ? cr_model_rng(T->model) : cr_mlp_rng(T->mlp);
}

size_t trainer_param_count(trainer *T)
{
    return T->model ? cr_model_param_count(T->model) : cr_mlp_param_count(T->mlp);
}

int trainer_batch_shape(const trainer *T, int rows, int *shape)
{
    shape[0] = rows;
    if (T->in_ndim == 0) {                    /* the MLP: rows x features */
        shape[1] = T->mi.sizes[0];
        return 2;
    }
    for (int i = 0; i < T->in_ndim; i++) shape[1 + i] = T->in_shape[i];
    return 1 + T->in_ndim;
}

int trainer_build_arch(trainer *T, cr_rng *rng)
{
    const cr_dataset *d = T->train;
    if (d->rows > 0 && (size_t)d->rows * (size_t)d->cols == d->n_features) {
        T->in_ndim = 3;
        T->in_shape[0] = 1;
        T->in_shape[1] = d->rows;
        T->in_shape[2] = d->cols;
    } else {
        T->in_ndim = 1;
        T->in_shape[0] = (int)d->n_features;
    }
    char why[TRAIN_ERR - 16];
    /* --standardize: a first layer "standardize" takes the training part's statistics
     * from the dataset (which then stops applying them), so model files carry them */
    const char *spec = T->o->arch;
    char *with_std = NULL;
    if (T->o->standardize) {
        size_t len = strlen(spec) + sizeof "standardize, ";
        with_std = malloc(len);
        if (!with_std) return trainer_fail(T, EXIT_TRAIN_FAILED, "out of memory%s", "");
        snprintf(with_std, len, "standardize, %s", spec);
        spec = with_std;
    }
    T->model = cr_model_from_spec(spec, T->in_ndim, T->in_shape, rng, why, sizeof why);
    free(with_std);
    if (!T->model) return trainer_fail(T, EXIT_USAGE, "--arch: %s", why);
    if (T->o->standardize) {
        cr_params *b = cr_model_buffers(T->model);
        cr_tensor *mean = cr_params_find(b, "l0.standardize.mean");
        cr_tensor *inv = cr_params_find(b, "l0.standardize.inv_std");
        cr_dataset *tr = T->train;
        if (!mean || !inv || mean->size != tr->n_features || !tr->mean)
            return trainer_fail(T, EXIT_TRAIN_FAILED, "--standardize: no statistics%s", "");
        for (size_t j = 0; j < tr->n_features; j++) {
            mean->data[j] = tr->mean[j];
            inv->data[j] = tr->inv_std[j];
        }
        if (cr_dataset_set_norm(tr, NULL, NULL, NULL, 0) != CR_OK)
            return trainer_fail(T, EXIT_TRAIN_FAILED, "out of memory%s", "");
    }
    int out[3], nd = cr_model_shape(T->model, cr_model_n_layers(T->model) - 1, out);
    if (nd != 1) {
        snprintf(T->err, sizeof T->err, "--arch: the model's output is not a vector of class "
                 "scores (end the spec with flatten, dense %d)", d->n_classes);
        return EXIT_USAGE;
    }
    if (out[0] != d->n_classes) {
        snprintf(T->err, sizeof T->err, "--arch: the model gives %d values per sample but the "
                 "data has %d classes (end the spec with dense %d)", out[0], d->n_classes,
                 d->n_classes);
        return EXIT_USAGE;
    }
    return 0;
}
