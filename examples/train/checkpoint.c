/* Checkpoints: parameters and optimizer state through cr_save/cr_load, and the
 * training position, running sums and early-stopping state as metadata. The batch
 * order is a function of (seed, epoch) and the schedule one of the step counter;
 * the dropout masks come from the MLP's own generator, whose position (state, inc)
 * is saved too. This is everything a bit-identical continuation needs. The
 * batchnorm running statistics are tensors of T->file_params (cr_mlp_state).
 * Every position is global (batches of the global batch size), so a checkpoint
 * written by N ranks resumes with any number of ranks (dist.c). */
#include "train.h"

#include <math.h>
#include <string.h>
#include <unistd.h>

static const char *optim_name(uint64_t k) { return cr_optim_kind_name((cr_optim_kind)k); }
static const char *sched_name(uint64_t k) { return cr_schedule_kind_name((cr_schedule_kind)k); }

enum { N_CK_OPTS = 20 };

static void ck_opts(const trainer *T, ck_opt *c)
{
    const train_opts *o = T->o;
    const cr_optim_config *q = &o->optim;
    const cr_schedule *s = &T->sched;
    const ck_opt all[N_CK_OPTS] = {
        { "train.seed", "--seed", 0, o->seed, 0, NULL },
        { "train.batch_size", "--batch", 0, (uint64_t)o->batch, 0, NULL },
        { "train.n_train", "the number of training samples (--val, or the data)", 0,
          T->split.n_train, 0, NULL },
        { "train.optim", "--optim", 0, (uint64_t)q->kind, 0, optim_name },
        { "train.momentum", "--momentum", 1, 0, q->momentum, NULL },
        { "train.rho", "--rho", 1, 0, q->rho, NULL },
        { "train.beta1", "--beta1", 1, 0, q->beta1, NULL },
        { "train.beta2", "--beta2", 1, 0, q->beta2, NULL },
        { "train.eps", "--eps", 1, 0, q->eps, NULL },
        { "train.weight_decay", "--weight-decay", 1, 0, q->weight_decay, NULL },
        { "train.schedule", "--schedule", 0, (uint64_t)s->kind, 0, sched_name },
        { "train.lr", "--lr", 1, 0, s->lr0, NULL },
        { "train.gamma", "--gamma", 1, 0, s->gamma, NULL },
        { "train.step_size", "--step-size", 0, (uint64_t)s->step_size, 0, NULL },
        { "train.decay", "--decay", 1, 0, s->k, NULL },
        { "train.lr_min", "--lr-min", 1, 0, s->lr_min, NULL },
        { "train.schedule_steps", "the cosine schedule's length (--cosine-steps, or "
          "--epochs that sets it)", 0, s->kind == CR_SCHED_COSINE ? (uint64_t)s->T : 0, 0,
          NULL },
        { "train.warmup", "--warmup", 0, (uint64_t)s->warmup, 0, NULL },
        { "train.clip", "--clip", 1, 0, o->clip, NULL },
        { "train.patience", "--patience", 0, (uint64_t)o->patience, 0, NULL },
    };
    memcpy(c, all, sizeof all);
}

/* With several ranks, rank 0 writes the checkpoint (atomically, as cr_save always
 * does) and every rank learns whether it could: all hold the same state. */
static int checkpoint_write(trainer *T);

int checkpoint_save(trainer *T)
{
    trainer_sync_buffers(T);
    int rc = dist_rank() == 0 ? checkpoint_write(T) : 0;
    return dist_agree(rc, T->err, sizeof T->err);
}

static int checkpoint_write(trainer *T)
{
    cr_meta *m = T->meta;
    cr_meta_clear(m);
    if (!T->model) model_info_to_meta(&T->mi, m);
    ck_opt c[N_CK_OPTS];
    ck_opts(T, c);
    ck_opts_store(c, N_CK_OPTS, m);
    cr_meta_set_u64(m, "train.epoch", T->epoch);
    cr_meta_set_u64(m, "train.batch", T->batch);
    cr_meta_set_f64(m, "train.best_val", T->best_val);
    cr_meta_set_u64(m, "train.bad_epochs", T->bad_epochs);
    cr_meta_set_f64(m, "train.ep_loss", T->ep_loss);
    cr_meta_set_u64(m, "train.ep_correct", T->ep_correct);
    cr_meta_set_u64(m, "train.ep_seen", T->ep_seen);
    const cr_rng *r = trainer_rng(T);
    cr_meta_set_u64(m, "train.dropout_rng.state", r->state);
    cr_meta_set_u64(m, "train.dropout_rng.inc", r->inc);
    cr_status st = T->model
        ? cr_model_save(T->model, T->o->checkpoint, T->opt, m, T->err, sizeof T->err)
        : cr_save(T->o->checkpoint, T->file_params, T->opt, m, T->err, sizeof T->err);
    return st != CR_OK ? EXIT_TRAIN_FAILED : 0;
}

void ck_opts_store(const ck_opt *c, int n, cr_meta *m)
{
    for (int i = 0; i < n; i++) {
        if (c[i].real) cr_meta_set_f64(m, c[i].key, c[i].f);
        else cr_meta_set_u64(m, c[i].key, c[i].u);
    }
}

/* "--activation tanh" / "--seed 3" / "--lr 0.01": how an option value is shown. */
static void show_opt(char *dst, size_t size, const ck_opt *c, uint64_t u, double f)
{
    if (c->real) snprintf(dst, size, "%.17g", f);
    else if (c->name) snprintf(dst, size, "%s", c->name(u));
    else snprintf(dst, size, "%llu", (unsigned long long)u);
}

static int mismatch_msg(char *err, size_t errsize, const char *path, const char *option,
                        const char *was, const char *now)
{
    snprintf(err, errsize, "%s: %s is %s in the checkpoint but %s in this run; "
             "resume with the options of the original run", path, option, was, now);
    return EXIT_USAGE;
}

static int mismatch(trainer *T, const char *path, const char *option, const char *was,
                    const char *now)
{
    return mismatch_msg(T->err, sizeof T->err, path, option, was, now);
}

static void hidden_str(const model_info *mi, char *dst, size_t size)
{
    size_t k = 0;
    dst[0] = '\0';
    if (mi->n_sizes == 2) snprintf(dst, size, "none");
    for (int i = 1; i + 1 < mi->n_sizes && k + 16 < size; i++)
        k += (size_t)snprintf(dst + k, size - k, "%s%d", i > 1 ? "," : "", mi->sizes[i]);
}

/* An --arch run's model against the checkpoint's (rebuilt from its stored spec):
 * the same canonical spec on the same sample shape, else an error naming --arch. */
static int compare_arch(trainer *T, const void *image, size_t size, const char *path)
{
    char why[TRAIN_ERR / 2];
    cr_model *ck = cr_model_load_buffer(image, size, path, NULL, why, sizeof why);
    if (!ck) {
        snprintf(T->err, sizeof T->err, "%.100s: not a checkpoint of an --arch run (%.250s); "
                 "resume with the options of the original run", path, why);
        return EXIT_USAGE;
    }
    char a[CR_MODEL_SPEC_MAX + 1], b[CR_MODEL_SPEC_MAX + 1];
    cr_model_spec(ck, a, sizeof a);
    cr_model_spec(T->model, b, sizeof b);
    int sa[3] = { 0 }, sb[3] = { 0 };
    int na = cr_model_shape(ck, -1, sa), nb = cr_model_shape(T->model, -1, sb);
    cr_model_free(ck);
    int rc = 0;
    if (strcmp(a, b) != 0) {
        snprintf(T->err, sizeof T->err, "%s: --arch is \"%.200s\" in the checkpoint but "
                 "\"%.200s\" in this run; resume with the options of the original run",
                 path, a, b);
        rc = EXIT_USAGE;
    } else if (na != nb || memcmp(sa, sb, sizeof sa) != 0) {
        snprintf(T->err, sizeof T->err, "%s: the checkpoint was written for samples of another "
                 "shape than this run's data; resume with the data of the original run", path);
        rc = EXIT_USAGE;
    }
    return rc;
}

/* The MLP options' architecture against the checkpoint's. */
static int compare_mlp(trainer *T, const cr_meta *m, const char *path)
{
    model_info ck;
    if (model_info_from_meta(&ck, m, path, T->err, sizeof T->err) != CR_OK) return EXIT_USAGE;
    const model_info *mi = &T->mi;
    char a[160], b[160];
    int same_hidden = ck.n_sizes == mi->n_sizes;
    for (int i = 1; same_hidden && i + 1 < mi->n_sizes; i++)
        same_hidden = ck.sizes[i] == mi->sizes[i];
    if (!same_hidden) {
        hidden_str(&ck, a, sizeof a);
        hidden_str(mi, b, sizeof b);
        return mismatch(T, path, "--hidden", a, b);
    }
    if (ck.sizes[0] != mi->sizes[0]) {
        snprintf(T->err, sizeof T->err, "%s: the checkpoint was written for data with %d "
                 "features per sample but this run's data has %d; resume with the data of the "
                 "original run", path, ck.sizes[0], mi->sizes[0]);
        return EXIT_USAGE;
    }
    if (ck.sizes[ck.n_sizes - 1] != mi->sizes[mi->n_sizes - 1]) {
        snprintf(a, sizeof a, "%d", ck.sizes[ck.n_sizes - 1]);
        snprintf(b, sizeof b, "%d", mi->sizes[mi->n_sizes - 1]);
        return mismatch(T, path, "the number of classes (--classes, or the data)", a, b);
    }
    if (ck.act != mi->act)
        return mismatch(T, path, "--activation", cr_activation_name(ck.act),
                        cr_activation_name(mi->act));
    if ((cr_real)ck.dropout != (cr_real)mi->dropout) {
        snprintf(a, sizeof a, "%g", ck.dropout);
        snprintf(b, sizeof b, "%g", mi->dropout);
        return mismatch(T, path, "--dropout", a, b);
    }
    if (ck.batchnorm != mi->batchnorm)
        return mismatch(T, path, "--batchnorm", ck.batchnorm ? "on" : "off",
                        mi->batchnorm ? "on" : "off");
    if (ck.standardized != mi->standardized)
        return mismatch(T, path, "--standardize", ck.standardized ? "on" : "off",
                        mi->standardized ? "on" : "off");
    return 0;
}

int ck_opts_compare(const ck_opt *c, int n, const cr_meta *m, const char *path, char *err,
                    size_t errsize)
{
    char a[160], b[160];
    for (int i = 0; i < n; i++) {
        uint64_t u = 0;
        double f = 0;
        int have = c[i].real ? cr_meta_get_f64(m, c[i].key, &f) == CR_OK
                             : cr_meta_get_u64(m, c[i].key, &u) == CR_OK;
        if (!have || (c[i].real ? f == c[i].f : u == c[i].u)) continue;
        if (c[i].real && isnan(f) && isnan(c[i].f)) continue;
        show_opt(a, sizeof a, &c[i], u, f);
        show_opt(b, sizeof b, &c[i], c[i].u, c[i].f);
        return mismatch_msg(err, errsize, path, c[i].option, a, b);
    }
    return 0;
}

/* The recorded options other than the model. */
static int compare_run_options(trainer *T, const cr_meta *m, const char *path)
{
    ck_opt c[N_CK_OPTS];
    ck_opts(T, c);
    return ck_opts_compare(c, N_CK_OPTS, m, path, T->err, sizeof T->err);
}

/* The architecture and every recorded option of the checkpoint against this run;
 * the first difference is an error naming its option. Keys a checkpoint does not
 * have (older files) are not compared. */
static int compare_options(trainer *T, const cr_meta *m, const void *image, size_t size,
                           const char *path)
{
    uint64_t spec_bytes;
    int ck_arch = cr_meta_get_u64(m, "model.spec.bytes", &spec_bytes) == CR_OK;
    if (ck_arch && !T->model)
        return trainer_fail(T, EXIT_USAGE, "%s: the checkpoint is of an --arch run but this "
                            "run has no --arch; resume with the options of the original run",
                            path);
    int rc = T->model ? compare_arch(T, image, size, path) : compare_mlp(T, m, path);
    return rc ? rc : compare_run_options(T, m, path);
}

int checkpoint_resume(trainer *T)
{
    const char *path = T->o->resume;
    cr_meta *m = T->meta;
    /* read once: options compared (by name) before anything of the run is touched */
    void *image = NULL;
    size_t size = 0;
    if (dist_load_file_image(path, &image, &size, T->err, sizeof T->err) != CR_OK)
        return EXIT_USAGE;
    int rc = 0;
    if (cr_load_buffer(image, size, path, NULL, NULL, m, T->err, sizeof T->err) != CR_OK)
        rc = EXIT_USAGE;
    if (!rc) rc = compare_options(T, m, image, size, path);
    cr_params *state = T->model ? cr_model_state(T->model) : T->file_params;
    if (!rc && cr_load_buffer(image, size, path, state, T->opt, m, T->err,
                              sizeof T->err) != CR_OK)
        rc = EXIT_USAGE;
    cr_free(image);
    if (rc) return rc;
    uint64_t seed, bs, nt;
    if (cr_meta_get_u64(m, "train.seed", &seed) || cr_meta_get_u64(m, "train.batch_size", &bs) ||
        cr_meta_get_u64(m, "train.n_train", &nt) || cr_meta_get_u64(m, "train.epoch", &T->epoch) ||
        cr_meta_get_u64(m, "train.batch", &T->batch) ||
        cr_meta_get_f64(m, "train.best_val", &T->best_val) ||
        cr_meta_get_u64(m, "train.bad_epochs", &T->bad_epochs) ||
        cr_meta_get_f64(m, "train.ep_loss", &T->ep_loss) ||
        cr_meta_get_u64(m, "train.ep_correct", &T->ep_correct) ||
        cr_meta_get_u64(m, "train.ep_seen", &T->ep_seen))
        return trainer_fail(T, EXIT_USAGE, "%s: not a checkpoint (training position missing)",
                            path);
    cr_rng rng;
    if (cr_meta_get_u64(m, "train.dropout_rng.state", &rng.state) ||
        cr_meta_get_u64(m, "train.dropout_rng.inc", &rng.inc)) {
        if (T->mi.dropout > 0)     /* a checkpoint from before the generator was saved */
            return trainer_fail(T, EXIT_USAGE, "%s: no dropout generator state in the "
                                "checkpoint; cannot resume a --dropout run from it", path);
    } else {
        *trainer_rng(T) = rng;
    }
    if (T->batch > cr_batcher_batches(T->batcher))
        return trainer_fail(T, EXIT_USAGE, "%s: batch position beyond the epoch", path);
    return 0;
}
