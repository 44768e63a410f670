/* Evaluation (no-grad, in chunks), the test report with its confusion matrix,
 * the run's description, and --eval of a saved model. */
#include "train.h"

#include <math.h>
#include <string.h>
#include <unistd.h>

#define EVAL_CHUNK 1000

int trainer_evaluate(trainer *T, const cr_dataset *d, const int *idx, size_t n, double *loss,
                    double *acc, long *confusion)
{
    size_t C = (size_t)T->mi.sizes[T->mi.n_sizes - 1], ok = 0;
    double sum = 0;
    cr_tape *t = T->eval_tape;
    int was = trainer_set_training(T, 0);
    if (confusion) memset(confusion, 0, C * C * sizeof *confusion);
    for (size_t s = 0; s < n; s += EVAL_CHUNK) {
        int m = (int)(n - s < EVAL_CHUNK ? n - s : EVAL_CHUNK);
        cr_tape_reset(t);
        int shape[4], nd = trainer_batch_shape(T, m, shape);
        cr_tensor *x = cr_const(t, nd, shape, NULL);
        cr_tensor *y = cr_const(t, 1, (int[]){ m }, NULL);
        if (x && y && cr_dataset_gather(d, idx + s, (size_t)m, x, y, T->err,
                                        sizeof T->err) != CR_OK) {
            trainer_set_training(T, was);
            return EXIT_TRAIN_FAILED;
        }
        cr_tensor *z = trainer_forward(T, t, x);
        cr_tensor *l = cr_softmax_cross_entropy(t, z, y);
        if (!l) {
            trainer_set_training(T, was);
            return trainer_fail(T, EXIT_TRAIN_FAILED, "evaluation: %s", cr_tape_error(t));
        }
        sum += (double)l->data[0] * m;
        for (int r = 0; r < m; r++) {
            const cr_real *row = z->data + (size_t)r * C;
            size_t best = 0;
            for (size_t c = 1; c < C; c++)
                if (row[c] > row[best]) best = c;
            size_t truth = (size_t)y->data[r];
            ok += best == truth;
            if (confusion) confusion[truth * C + best]++;
        }
    }
    trainer_set_training(T, was);
    *loss = sum / (double)n;
    *acc = (double)ok / (double)n;
    return 0;
}

/* ----------------------------------------------------------------- output */

#define CONFUSION_MAX_CLASSES 20    /* a larger matrix is neither printed nor counted */

static void print_confusion(const long *conf, size_t C, size_t n)
{
    int w = 1;
    for (size_t k = n; k >= 10; k /= 10) w++;
    if (w < 3) w = 3;
    printf("confusion matrix (rows: true class, columns: predicted class)\n%*s", 6, "");
    for (size_t c = 0; c < C; c++) printf(" %*zu", w, c);
    printf("\n");
    for (size_t r = 0; r < C; r++) {
        printf("  %3zu ", r);
        for (size_t c = 0; c < C; c++) printf(" %*ld", w, conf[r * C + c]);
        printf("\n");
    }
}

int trainer_report_test(trainer *T, const char *what)
{
    T->test_acc = NAN;
    if (!T->test) return 0;
    size_t C = (size_t)T->mi.sizes[T->mi.n_sizes - 1];
    long *conf = NULL;                 /* counted only when it will be printed */
    if (C <= CONFUSION_MAX_CLASSES && !(conf = cr_calloc(C * C, sizeof *conf)))
        return trainer_fail(T, EXIT_TRAIN_FAILED, "out of memory (the confusion matrix)%s", "");
    double loss, acc;
    int rc = trainer_evaluate(T, T->test, T->all_idx, T->test->n, &loss, &acc, conf);
    if (!rc) {
        printf("%s: accuracy %.2f%% (%ld/%zu), loss %.4f\n", what, 100 * acc,
               (long)floor(acc * (double)T->test->n + 0.5), T->test->n, loss);
        if (conf) print_confusion(conf, C, T->test->n);
        T->test_acc = acc;
    }
    cr_free(conf);
    return rc;
}

/* "784-128-10" */
void arch_str(const model_info *mi, char *arch, size_t size)
{
    size_t k = 0;
    arch[0] = '\0';
    for (int i = 0; i < mi->n_sizes && k + 16 < size; i++)
        k += (size_t)snprintf(arch + k, size - k, "%s%d", i ? "-" : "", mi->sizes[i]);
}

/* ", batchnorm, dropout 0.2" (empty without either) */
static void model_extras(const model_info *mi, char *s, size_t size)
{
    int k = snprintf(s, size, "%s", mi->batchnorm ? ", batchnorm" : "");
    if (mi->dropout > 0 && k >= 0 && (size_t)k < size)
        snprintf(s + k, size - (size_t)k, ", dropout %g", mi->dropout);
}

/* "conv 8 3x3 pad 1, relu, ... on 1x28x28" */
static void arch_desc(const cr_model *m, char *s, size_t size)
{
    size_t k = cr_model_spec(m, s, size);
    int sh[3], nd = cr_model_shape(m, -1, sh);
    if (k + 40 >= size) return;
    k += (size_t)snprintf(s + k, size - k, " on %d", sh[0]);
    for (int i = 1; i < nd; i++) k += (size_t)snprintf(s + k, size - k, "x%d", sh[i]);
}

void trainer_describe(trainer *T)
{
    const train_opts *o = T->o;
    if (o->quiet) return;
    const model_info *mi = &T->mi;
    char arch[256];
    arch_str(mi, arch, sizeof arch);
    printf("data: %s; %zu train, %zu validation, %zu test samples; %zu features, %d classes%s\n",
           o->data ? o->data : o->train_images ? o->train_images : "embedded spirals",
           T->split.n_train, T->split.n_val, T->test ? T->test->n : 0, T->train->n_features,
           T->train->n_classes, o->standardize ? "; standardised" : "");
    char extras[64], desc[CR_MODEL_SPEC_MAX + 64];
    model_extras(mi, extras, sizeof extras);
    if (T->model) arch_desc(T->model, desc, sizeof desc);
    else snprintf(desc, sizeof desc, "%s %s%s", arch, cr_activation_name(mi->act), extras);
    printf("model: %s, %zu parameters; %s lr %g, %s schedule, batch %d, %d epochs, seed %llu, "
           "%d thread%s, %s\n", desc, trainer_param_count(T),
           cr_optim_kind_name(o->optim.kind), o->optim.lr, cr_schedule_kind_name(o->sched.kind),
           o->batch, o->epochs, o->seed, cr_pool_threads(cr_tape_pool(T->full.t)),
           cr_pool_threads(cr_tape_pool(T->full.t)) > 1 ? "s" : "",
           o->rerecord ? "graph re-recorded every step" : "graph recorded once, replayed");
    if (dist_size() > 1)
        printf("data parallel: %d ranks (MPI), each %d samples of every batch of %d; gradients "
               "summed in one buffer of %zu values per step (%s)\n", dist_size(), T->full.rows,
               o->batch, T->dist.n, dist_buffer_describe(&T->dist));
    if (o->resume)
        printf("resumed from %s at epoch %llu, batch %llu (step %ld)\n", o->resume,
               (unsigned long long)T->epoch + 1, (unsigned long long)T->batch,
               cr_optim_step_count(T->opt));
    fflush(stdout);
}

/* The eval tape and sample indices 0..n-1 of the test set. */
static int eval_prepare(trainer *T)
{
    const cr_dataset *d = T->test;
    T->eval_tape = cr_tape_new(0);
    T->all_idx = cr_malloc(d->n * sizeof *T->all_idx);
    if (!T->eval_tape || !T->all_idx)
        return trainer_fail(T, EXIT_TRAIN_FAILED, "out of memory%s", "");
    for (size_t i = 0; i < d->n; i++) T->all_idx[i] = (int)i;
    cr_tape_set_grad_mode(T->eval_tape, 0);
    return trainer_tape_setup(T, T->eval_tape) ? EXIT_TRAIN_FAILED : 0;
}

/* --eval of a file written by cr_model_save (a --arch run): the model rebuilds
 * itself from the stored spec. */
static int eval_model_image(trainer *T, const void *image, size_t size)
{
    const char *path = T->o->eval;
    cr_dataset *d = T->test;
    T->model = cr_model_load_buffer(image, size, path, NULL, T->err, sizeof T->err);
    if (!T->model) return EXIT_USAGE;
    cr_model_set_training(T->model, 0);
    int sh[3], nd = cr_model_shape(T->model, -1, sh);
    size_t F = 1;
    for (int i = 0; i < nd; i++) F *= (size_t)sh[i];
    if (F != d->n_features) {
        snprintf(T->err, sizeof T->err, "%s: the model takes %zu values per sample but the data "
                 "has %zu", path, F, d->n_features);
        return EXIT_USAGE;
    }
    int out[3], no = cr_model_shape(T->model, cr_model_n_layers(T->model) - 1, out);
    if (no != 1 || out[0] < 2) {
        snprintf(T->err, sizeof T->err, "%s: the model's output is not a vector of class "
                 "scores", path);
        return EXIT_USAGE;
    }
    if (d->n_classes > out[0]) {
        snprintf(T->err, sizeof T->err, "%s: the model has %d classes but the data has labels up "
                 "to %d", path, out[0], d->n_classes - 1);
        return EXIT_USAGE;
    }
    T->in_ndim = nd;
    memcpy(T->in_shape, sh, sizeof sh);
    T->mi.sizes[0] = (int)F;
    T->mi.sizes[1] = out[0];
    T->mi.n_sizes = 2;
    int rc = eval_prepare(T);
    if (rc) return rc;
    char desc[CR_MODEL_SPEC_MAX + 64];
    arch_desc(T->model, desc, sizeof desc);
    if (!T->o->quiet) printf("model %s: %s, evaluated on %zu samples\n", path, desc, d->n);
    return trainer_report_test(T, "test");
}

static int eval_image(trainer *T, const void *image, size_t size)
{
    const train_opts *o = T->o;
    const char *path = o->eval;
    cr_file_info info;
    if (cr_file_info_buffer(image, size, path, &info, T->err, sizeof T->err) != CR_OK ||
        cr_load_buffer(image, size, path, NULL, NULL, T->meta, T->err, sizeof T->err) != CR_OK)
        return EXIT_USAGE;
    uint64_t spec_bytes;
    if (cr_meta_get_u64(T->meta, "model.spec.bytes", &spec_bytes) == CR_OK)
        return eval_model_image(T, image, size);
    if (model_info_from_meta(&T->mi, T->meta, path, T->err,
                             sizeof T->err) != CR_OK) return EXIT_USAGE;
    model_info *mi = &T->mi;
    char arch[256];
    arch_str(mi, arch, sizeof arch);
    uint64_t values = model_info_values(mi);
    if (values != info.param_values) {
        snprintf(T->err, sizeof T->err, "%s: the metadata describes a %s model with %llu "
                 "parameter values, but the file holds %llu", path, arch,
                 (unsigned long long)values, (unsigned long long)info.param_values);
        return EXIT_USAGE;
    }
    if (model_info_plan(mi, 0, 1000, T->err, sizeof T->err) != CR_OK) return EXIT_USAGE;
    cr_dataset *d = T->test;
    int C = mi->sizes[mi->n_sizes - 1];
    if ((size_t)mi->sizes[0] != d->n_features) {
        snprintf(T->err, sizeof T->err, "%s: the model takes %d features but the data has %zu",
                 path, mi->sizes[0], d->n_features);
        return EXIT_USAGE;
    }
    if (d->n_classes > C) {
        snprintf(T->err, sizeof T->err, "%s: the model has %d classes but the data has labels up "
                 "to %d", path, C, d->n_classes - 1);
        return EXIT_USAGE;
    }
    cr_rng rng;
    cr_rng_seed(&rng, 0);
    T->mlp = model_info_build(mi, CR_INIT_AUTO, &rng);
    if (!T->mlp) return trainer_fail(T, EXIT_TRAIN_FAILED, "cannot build the model: out of memory%s", "");
    cr_mlp_set_training(T->mlp, 0);              /* evaluation only, from here on */
    T->file_params = model_file_params(T->mlp, mi->standardized, mi->sizes[0], &T->mean_t,
                                       &T->inv_t);
    T->eval_tape = cr_tape_new(0);
    T->all_idx = cr_malloc(d->n * sizeof *T->all_idx);
    if (!T->file_params || !T->eval_tape || !T->all_idx)
        return trainer_fail(T, EXIT_TRAIN_FAILED, "out of memory%s", "");
    if (cr_load_buffer(image, size, path, T->file_params, NULL, NULL, T->err,
                       sizeof T->err) != CR_OK) return EXIT_USAGE;
    for (size_t i = 0; i < d->n; i++) T->all_idx[i] = (int)i;
    cr_tape_set_grad_mode(T->eval_tape, 0);
    if (trainer_tape_setup(T, T->eval_tape)) return EXIT_TRAIN_FAILED;
    if (mi->standardized) {
        size_t F = d->n_features;
        float *buf = cr_malloc(2 * F * sizeof *buf);
        if (!buf) return trainer_fail(T, EXIT_TRAIN_FAILED, "out of memory%s", "");
        for (size_t j = 0; j < F; j++) {
            buf[j] = (float)T->mean_t->data[j];
            buf[F + j] = (float)T->inv_t->data[j];
        }
        cr_status st = cr_dataset_set_norm(d, buf, buf + F, NULL, 0);
        cr_free(buf);
        if (st != CR_OK) return trainer_fail(T, EXIT_TRAIN_FAILED, "out of memory%s", "");
    }
    char extras[64];
    model_extras(mi, extras, sizeof extras);
    if (!o->quiet) printf("model %s: %s %s%s, evaluated on %zu samples\n", path, arch,
                          cr_activation_name(mi->act), extras, d->n);
    return trainer_report_test(T, "test");
}

int trainer_run_eval(trainer *T)
{
    const train_opts *o = T->o;
    const char *path = o->eval;
    T->meta = cr_meta_new();
    if (!T->meta) return trainer_fail(T, EXIT_TRAIN_FAILED, "out of memory%s", "");
    /* the file is read once (a pipe cannot be read twice), its metadata first, and
     * the architecture it describes compared with the parameters it holds before
     * anything of that size is built */
    void *image = NULL;
    size_t size = 0;
    if (cr_load_file_image(path, &image, &size, T->err, sizeof T->err) != CR_OK)
        return EXIT_USAGE;
    /* a graph file runs as it is; a model file without a graph goes on below */
    cr_graph *g = cr_graph_load_buffer(image, size, path, T->err, sizeof T->err);
    if (g || !strstr(T->err, "not a graph file")) {
        cr_free(image);
        int grc = g ? trainer_eval_graph(T, g) : EXIT_USAGE;
        cr_graph_free(g);
        return grc;
    }
    int rc = eval_image(T, image, size);
    cr_free(image);
    return rc;
}
