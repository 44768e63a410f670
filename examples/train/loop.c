/* Training: setup, the step, the epochs and their log, the end of a run.
 *
 * Speed: the step graph (MLP forward + softmax cross-entropy) is recorded ONCE per
 * batch shape — one tape for full batches, one for the smaller last batch of an
 * epoch — on heap input tensors x (rows x features) and y (rows). Each step
 * gathers the batch straight into x and y (no copy, no allocation), replays the
 * tape (cr_tape_forward), runs backward and the optimizer. --rerecord instead
 * resets the tape and records again each step (the arena is reused, so that
 * allocates nothing either). Evaluation (trainer_evaluate, in report.c) runs in
 * no-grad mode on its own tape.
 *
 * Resumability: everything a step depends on is in `trainer`: parameters and
 * optimizer state (saved by cr_save), the schedule (a function of the optimizer's
 * step counter), the batch order (a function of seed and epoch), the position
 * (epoch, batch) and the epoch's running sums and early-stopping state (metadata).
 * A checkpoint holds all of it, so a resumed run is bit-identical to an
 * uninterrupted one with the same options and thread count. */
#include "train.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int trainer_fail(trainer *T, int code, const char *fmt, const char *a)
{
    snprintf(T->err, sizeof T->err, fmt, a);
    return code;
}

/* ------------------------------------------------------------------ graphs */

static int graph_build(trainer *T, step_graph *g)
{
    g->logits = trainer_forward(T, g->t, g->x);
    g->loss = cr_softmax_cross_entropy(g->t, g->logits, g->y);
    if (!g->loss) return trainer_fail(T, EXIT_TRAIN_FAILED, "recording the step: %s",
                                      cr_tape_error(g->t));
    return 0;
}

int trainer_tape_setup(trainer *T, cr_tape *t)
{
    /* one pool for the program (--threads, else CR_NUM_THREADS), lent to every tape,
     * the optimizer and the gathers; freed last, in teardown */
    if (!T->pool && !(T->pool = cr_pool_new(T->o->threads)))
        return trainer_fail(T, EXIT_TRAIN_FAILED, "cannot start %s threads", "the requested");
    cr_tape_set_pool(t, T->pool);
    if (T->o->anomaly) cr_tape_set_anomaly(t, 1);
    return 0;
}

static int graph_new(trainer *T, step_graph *g, int rows)
{
    int shape[4], nd = trainer_batch_shape(T, rows, shape);
    g->rows = rows;
    g->t = cr_tape_new(0);
    g->x = cr_tensor_new(nd, shape);
    g->y = cr_tensor_new(1, (int[]){ rows });
    if (!g->t || !g->x || !g->y) return trainer_fail(T, EXIT_TRAIN_FAILED, "out of memory%s", "");
    cr_tensor_set_name(g->x, "x");
    cr_tensor_set_name(g->y, "y");
    if (trainer_tape_setup(T, g->t)) return EXIT_TRAIN_FAILED;
    return T->o->rerecord ? 0 : graph_build(T, g);
}

static void graph_free(step_graph *g)
{
    cr_tape_free(g->t);
    cr_tensor_free(g->x);
    cr_tensor_free(g->y);
}

static size_t count_correct(const cr_tensor *logits, const cr_real *y, size_t rows)
{
    size_t C = (size_t)logits->shape[1], ok = 0;
    for (size_t r = 0; r < rows; r++) {
        const cr_real *z = logits->data + r * C;
        size_t best = 0;
        for (size_t c = 1; c < C; c++)
            if (z[c] > z[best]) best = c;
        ok += (cr_real)best == y[r];
    }
    return ok;
}

/* One optimizer step on the samples idx[0..m). */
static int train_step(trainer *T, const int *idx, size_t m, double *loss, size_t *correct)
{
    step_graph *g = (int)m == T->full.rows ? &T->full : &T->last;
    if (cr_dataset_gather_pool(T->train, idx, m, g->x, g->y, cr_tape_pool(g->t), T->err,
                               sizeof T->err) != CR_OK)
        return EXIT_TRAIN_FAILED;
    cr_optim_zero_grad(T->opt);
    if (T->o->rerecord) {
        cr_tape_reset(g->t);
        if (graph_build(T, g)) return EXIT_TRAIN_FAILED;
    } else if (cr_tape_forward(g->t) != CR_OK) {
        return trainer_fail(T, EXIT_TRAIN_FAILED, "forward: %s", cr_tape_error(g->t));
    }
    if (cr_backward(g->t, g->loss) != CR_OK)
        return trainer_fail(T, EXIT_TRAIN_FAILED, "backward: %s", cr_tape_error(g->t));
    *loss = g->loss->data[0];
    if (!isfinite(*loss))
        return trainer_fail(T, EXIT_TRAIN_FAILED, "the loss became %s (try a smaller --lr, or "
                     "--anomaly to find the first bad op)", isnan(*loss) ? "NaN" : "infinite");
    if (T->o->clip > 0) cr_clip_grad_norm(trainer_params(T), T->o->clip, NULL, NULL, 0);
    cr_optim_set_lr(T->opt, cr_schedule_lr(&T->sched, cr_optim_step_count(T->opt)));
    char why[256];
    if (cr_optim_step(T->opt, why, sizeof why) != CR_OK)
        return trainer_fail(T, EXIT_TRAIN_FAILED, "%s", why);
    *correct = count_correct(g->logits, g->y->data, m);
    return 0;
}

/* ------------------------------------------------------------------- setup */

static int setup(trainer *T)
{
    const train_opts *o = T->o;
    cr_dataset *tr = T->train;
    size_t n = tr->n, n_val = o->val < 1 ? (size_t)floor(o->val * (double)n + 0.5) : (size_t)o->val;
    if (n_val >= n)
        return trainer_fail(T, EXIT_USAGE, "--val leaves no training samples%s", "");
    if (cr_split_make(&T->split, n, n_val, o->seed, NULL, 0) != CR_OK)
        return trainer_fail(T, EXIT_TRAIN_FAILED, "out of memory%s", "");
    if (o->standardize) {
        /* --arch: the statistics go into the model's first layer (trainer_build_arch),
         * so the test set stays raw */
        if (cr_dataset_standardize(tr, T->split.train, T->split.n_train, NULL, 0) != CR_OK ||
            (T->test && !o->arch &&
             cr_dataset_set_norm(T->test, tr->mean, tr->inv_std, NULL, 0) != CR_OK))
            return trainer_fail(T, EXIT_TRAIN_FAILED, "out of memory%s", "");
    }
    model_info *mi = &T->mi;
    mi->sizes[0] = (int)tr->n_features;
    for (int i = 0; i < o->n_hidden; i++) mi->sizes[1 + i] = o->hidden[i];
    mi->sizes[1 + o->n_hidden] = tr->n_classes;
    mi->n_sizes = o->n_hidden + 2;
    mi->act = o->act;
    mi->dropout = o->dropout;
    mi->batchnorm = o->batchnorm;
    mi->standardized = o->standardize;
    if (tr->n_classes < 2)
        return trainer_fail(T, EXIT_USAGE, "the training data has a single class%s", "");
    /* what the model and its training will need, before any of it is allocated */
    int slots = o->optim.kind == CR_OPTIM_SGD ? 0
              : o->optim.kind == CR_OPTIM_ADAM || o->optim.kind == CR_OPTIM_ADAMW ? 2 : 1;
    cr_rng rng;
    cr_rng_seed(&rng, o->seed);
    if (o->arch) {
        /* the spec is the model; mi keeps only features -> classes for reports */
        mi->sizes[1] = tr->n_classes;
        mi->n_sizes = 2;
        mi->act = CR_ACT_NONE;
        mi->dropout = 0;
        mi->batchnorm = 0;
        mi->standardized = 0;                /* --standardize: the model's first layer */
        int rc = trainer_build_arch(T, &rng);
        if (rc) return rc;
        /* files hold cr_model_state (cr_model_save), no file_params */
    } else {
        if (model_info_plan(mi, slots, 2 * (uint64_t)o->batch + 1000, T->err, sizeof T->err))
            return EXIT_USAGE;
        T->mlp = model_info_build(mi, o->init, &rng);
        if (!T->mlp) return trainer_fail(T, EXIT_TRAIN_FAILED,
                                         "cannot build the model: out of memory%s", "");
        T->file_params = model_file_params(T->mlp, mi->standardized, mi->sizes[0], &T->mean_t,
                                           &T->inv_t);
        if (!T->file_params)
            return trainer_fail(T, EXIT_TRAIN_FAILED, "out of memory (the model's file "
                                "parameters)%s", "");
    }
    T->meta = cr_meta_new();
    if (!T->meta) return trainer_fail(T, EXIT_TRAIN_FAILED, "out of memory%s", "");
    T->opt = cr_optim_new(trainer_params(T), &o->optim, T->err, sizeof T->err);
    if (!T->opt) return EXIT_TRAIN_FAILED;
    for (int j = 0; mi->standardized && j < mi->sizes[0]; j++) {
        T->mean_t->data[j] = tr->mean[j];
        T->inv_t->data[j] = tr->inv_std[j];
    }

    size_t B = (size_t)o->batch, nt = T->split.n_train;
    /* batch statistics need two rows: refuse a run whose epochs would end with a
     * batch of one, before any training (the user picks another --batch or --val) */
    size_t first_rows = nt < B ? nt : B, last_rows = nt > B ? nt % B : 0;
    if (mi->batchnorm && o->n_hidden > 0 && (first_rows == 1 || last_rows == 1)) {
        snprintf(T->err, sizeof T->err, "--batchnorm: %s batch of every epoch would hold a "
                 "single sample (%zu training samples, --batch %zu) but batch statistics need "
                 "at least 2: change --batch or --val", first_rows == 1 ? "every" : "the last",
                 nt, B);
        return EXIT_USAGE;
    }
    T->batcher = cr_batcher_new(T->split.train, nt, B, CR_BATCH_SHUFFLE, o->seed, NULL, 0);
    if (!T->batcher) return trainer_fail(T, EXIT_TRAIN_FAILED, "out of memory%s", "");
    T->sched = o->sched;
    if (T->sched.T == 0) {
        long total = (long)cr_batcher_batches(T->batcher) * o->epochs;
        T->sched.T = total > 0 ? total : 1;
    }
    /* recording draws dropout masks; rewind the generator afterwards so that the
     * first step's masks are the same whether it replays or re-records */
    cr_rng dropout_rng = *trainer_rng(T);
    if (graph_new(T, &T->full, (int)(nt < B ? nt : B))) return EXIT_TRAIN_FAILED;
    cr_optim_set_pool(T->opt, T->pool);   /* updates on its threads too */
    if (nt > B && nt % B && graph_new(T, &T->last, (int)(nt % B))) return EXIT_TRAIN_FAILED;
    *trainer_rng(T) = dropout_rng;
    size_t most = tr->n > (T->test ? T->test->n : 0) ? tr->n : T->test->n;
    T->all_idx = cr_malloc(most * sizeof *T->all_idx);
    T->eval_tape = cr_tape_new(0);
    if (!T->all_idx || !T->eval_tape) return trainer_fail(T, EXIT_TRAIN_FAILED, "out of memory%s",
                                                          "");
    for (size_t i = 0; i < most; i++) T->all_idx[i] = (int)i;
    cr_tape_set_grad_mode(T->eval_tape, 0);
    if (trainer_tape_setup(T, T->eval_tape)) return EXIT_TRAIN_FAILED;
    T->best_val = INFINITY;
    if (o->resume) return checkpoint_resume(T);
    return 0;
}

static void teardown(trainer *T)
{
    graph_free(&T->full);
    graph_free(&T->last);
    cr_tape_free(T->eval_tape);
    cr_batcher_free(T->batcher);
    cr_optim_free(T->opt);
    cr_params_free(T->file_params);
    cr_mlp_free(T->mlp);
    cr_model_free(T->model);
    cr_meta_free(T->meta);
    cr_split_free(&T->split);
    cr_free(T->all_idx);
    if (T->log) fclose(T->log);
    cr_pool_free(T->pool); /* after everything that borrowed it */
}

static const char LOG_HEADER[] = "epoch,step,train_loss,train_acc,val_loss,val_acc,lr,seconds,"
                                 "samples_per_second\n";

/* Any failed write to the log is an error (a full disk must not pass silently). */
static int log_check(trainer *T)
{
    if (fflush(T->log) == 0 && !ferror(T->log)) return 0;
    snprintf(T->err, sizeof T->err, "%s: cannot write the log: %s", T->o->log, strerror(errno));
    return EXIT_TRAIN_FAILED;
}

/* A resumed run's log: the header and the complete rows of the epochs the
 * checkpoint has (1..T->epoch), so that rows written after it (and a row cut by
 * the kill) are not there twice; rewritten through a temporary file and a rename,
 * so that a kill now loses nothing. Non-regular files (a pipe, /dev/...) are only
 * appended to. */
static int log_trim(trainer *T, const char *path)
{
    struct stat sb;
    if (stat(path, &sb) != 0 || !S_ISREG(sb.st_mode)) return 0;
    char what[64];
    snprintf(what, sizeof what, "the log to resume");
    if (cr_memory_check((uint64_t)sb.st_size, what, T->err, sizeof T->err) != CR_OK)
        return EXIT_TRAIN_FAILED;
    FILE *in = fopen(path, "rb");
    size_t cap = (size_t)sb.st_size + 1, n = 0, keep = 0;
    char *buf = malloc(cap), *tmp = malloc(strlen(path) + 32);
    int rc = 0;
    if (!in || !buf || !tmp) {
        rc = trainer_fail(T, EXIT_TRAIN_FAILED, "%s: cannot read the log to resume it", path);
        goto out;
    }
    n = fread(buf, 1, cap - 1, in);
    buf[n] = '\0';
    /* the header (written anew if a kill lost it), then the complete lines
     * "<epoch>,..." of epochs 1, 2, ... up to the checkpoint's */
    size_t hl = sizeof LOG_HEADER - 1, start = 0;
    if (n >= hl && memcmp(buf, LOG_HEADER, hl) == 0) start = hl;
    keep = start;
    for (uint64_t e = 1; e <= T->epoch; e++) {
        char *nl = memchr(buf + keep, '\n', n - keep);
        if (!nl || strtoull(buf + keep, NULL, 10) != e) break;
        keep = (size_t)(nl - buf) + 1;
    }
    snprintf(tmp, strlen(path) + 32, "%s.tmp.%ld", path, (long)getpid());
    FILE *out = fopen(tmp, "wb");
    int bad = !out;
    if (out) {
        fputs(LOG_HEADER, out);
        fwrite(buf + start, 1, keep - start, out);
        bad = fflush(out) != 0 || ferror(out) || fsync(fileno(out)) != 0;
        bad |= fclose(out) != 0;
    }
    if (bad || rename(tmp, path) != 0) {
        rc = trainer_fail(T, EXIT_TRAIN_FAILED, "%s: cannot rewrite the log to resume it", path);
        remove(tmp);
    }
out:
    if (in) fclose(in);
    free(buf);
    free(tmp);
    return rc;
}

static int open_log(trainer *T)
{
    const char *path = T->o->log;
    if (!path) return 0;
    int append = T->o->resume && access(path, F_OK) == 0;
    if (append && log_trim(T, path)) return EXIT_TRAIN_FAILED;
    T->log = fopen(path, append ? "a" : "w");
    if (!T->log) return trainer_fail(T, EXIT_USAGE, "%s: cannot write the log", path);
    if (!append) fputs(LOG_HEADER, T->log);
    return log_check(T);       /* the header is on disk before the first epoch */
}

/* Close the log; a failed final write or close is an error. */
static int close_log(trainer *T)
{
    if (!T->log) return 0;
    int rc = log_check(T);
    if (fclose(T->log) != 0 && !rc)
        rc = trainer_fail(T, EXIT_TRAIN_FAILED, "%s: cannot write the log", T->o->log);
    T->log = NULL;
    return rc;
}

/* ------------------------------------------------------------------- train */

static int epochs(trainer *T)
{
    const train_opts *o = T->o;
    progress pr = { 0 };
    pr.bar = o->progress < 0 ? isatty(2) : o->progress;
    pr.quiet = o->quiet;
    int stop = 0;
    for (; T->epoch < (uint64_t)o->epochs && !stop; T->epoch++) {
        int e = (int)T->epoch + 1;
        cr_batcher_seek(T->batcher, T->epoch, T->batch, NULL, 0);
        size_t per_epoch = T->split.n_train;
        progress_start(&pr, e, o->epochs, per_epoch);
        uint64_t seen0 = T->ep_seen;
        const int *idx;
        size_t m;
        while ((m = cr_batcher_next(T->batcher, &idx)) > 0) {
            double loss = 0;
            size_t ok = 0;
            int rc = train_step(T, idx, m, &loss, &ok);
            if (rc) {
                progress_end(&pr);
                return rc;
            }
            T->batch++;
            T->ep_loss += loss * (double)m;
            T->ep_correct += ok;
            T->ep_seen += m;
            progress_update(&pr, (size_t)T->ep_seen, T->ep_loss / (double)T->ep_seen,
                            (double)T->ep_correct / (double)T->ep_seen);
            long steps = cr_optim_step_count(T->opt);
            if (o->checkpoint && o->checkpoint_every && steps % o->checkpoint_every == 0 &&
                (rc = checkpoint_save(T)) != 0) {
                progress_end(&pr);
                return rc;
            }
            if (o->max_steps && steps >= o->max_steps) {
                stop = 1;
                break;
            }
        }
        progress_end(&pr);
        if (stop && T->batch < cr_batcher_batches(T->batcher)) {
            if (!o->quiet) printf("stopped after %ld steps (--max-steps), in epoch %d\n",
                                  cr_optim_step_count(T->opt), e);
            break;
        }
        double secs = now_seconds() - pr.t_epoch;
        double rate = secs > 0 ? (double)(T->ep_seen - seen0) / secs : 0;
        double tl = T->ep_loss / (double)T->ep_seen;
        double ta = (double)T->ep_correct / (double)T->ep_seen;
        double vl = NAN, va = NAN;
        if (T->split.n_val) {
            int rc = trainer_evaluate(T, T->train, T->split.val, T->split.n_val, &vl, &va, NULL);
            if (rc) return rc;
        }
        double lr = cr_optim_lr(T->opt);
        if (!o->quiet) {
            printf("epoch %d/%d  loss %.4f  acc %.2f%%", e, o->epochs, tl, 100 * ta);
            if (T->split.n_val) printf("  val loss %.4f  val acc %.2f%%", vl, 100 * va);
            printf("  lr %.3g  %.2fs  %.0f samples/s\n", lr, secs, rate);
            fflush(stdout);
        }
        if (T->log) {
            fprintf(T->log, "%d,%ld,%.6f,%.6f,%.6f,%.6f,%.6g,%.3f,%.0f\n", e,
                    cr_optim_step_count(T->opt), tl, ta, vl, va, lr, secs, rate);
            if (log_check(T)) return EXIT_TRAIN_FAILED;
        }
        if (T->split.n_val) {
            if (vl < T->best_val) {
                T->best_val = vl;
                T->bad_epochs = 0;
            } else if (o->patience && ++T->bad_epochs >= (uint64_t)o->patience) {
                if (!o->quiet)
                    printf("early stop: no validation improvement for %d epochs (best loss %.4f)\n",
                           o->patience, T->best_val);
                stop = 1;
            }
        }
        T->batch = 0;
        T->ep_loss = 0;
        T->ep_correct = T->ep_seen = 0;
        if (o->checkpoint && !o->checkpoint_every) {
            T->epoch++;                        /* the checkpoint points at the next epoch */
            int rc = checkpoint_save(T);
            T->epoch--;
            if (rc) return rc;
        }
    }
    return 0;
}

/* The step graph as DOT into path; a failed write or close is an error. */
static int write_dot(trainer *T, const char *path)
{
    FILE *f = fopen(path, "w");
    if (!f) return trainer_fail(T, EXIT_TRAIN_FAILED, "%s: cannot write the graph", path);
    int bad = cr_tape_dot(T->full.t, f) != CR_OK;
    bad |= fflush(f) != 0 || ferror(f);
    bad |= fclose(f) != 0;
    return bad ? trainer_fail(T, EXIT_TRAIN_FAILED, "%s: cannot write the graph", path) : 0;
}

static int finish(trainer *T)
{
    const train_opts *o = T->o;
    int rc = trainer_report_test(T, "test");
    if (rc) return rc;
    cr_meta_clear(T->meta);
    if (T->model) {
        if (cr_model_save(T->model, o->out, NULL, T->meta, T->err, sizeof T->err) != CR_OK)
            return EXIT_TRAIN_FAILED;
    } else {
        model_info_to_meta(&T->mi, T->meta);
        if (cr_save(o->out, T->file_params, NULL, T->meta, T->err, sizeof T->err) != CR_OK)
            return EXIT_TRAIN_FAILED;
    }
    printf("model saved to %s\n", o->out);
    /* the graph's path: --dot, or the model's with .dot for its extension; sized
     * from the path itself (no fixed-size buffer, whatever the length) */
    const char *src = o->dot ? o->dot : o->out;
    size_t len = strlen(src);
    char *dot = malloc(len + 5);
    if (!dot) return trainer_fail(T, EXIT_TRAIN_FAILED, "out of memory (the .dot path of %s)",
                                  o->out);
    memcpy(dot, src, len + 1);
    if (!o->dot) {
        char *slash = strrchr(dot, '/'), *ext = strrchr(dot, '.');
        if (ext && (!slash || ext > slash)) *ext = '\0';
        strcat(dot, ".dot");
    }
    rc = write_dot(T, dot);
    if (rc) {
        free(dot);
        return rc;
    }
    printf("computation graph of one training step (Graphviz; render it with dot -Tsvg %s "
           "-o graph.svg): %s\n", dot, dot);
    double secs = now_seconds() - T->t_start;
    if (isnan(T->test_acc))
        printf("done in %.1f s; model %s; graph %s\n", secs, o->out, dot);
    else
        printf("done: %.2f%% test accuracy in %.1f s; graph of the model: %s\n",
               100 * T->test_acc, secs, dot);
    free(dot);
    return 0;
}

int train_run(const train_opts *o)
{
    trainer T;
    memset(&T, 0, sizeof T);
    if (cr_config_error()) fprintf(stderr, "train: warning: %s\n", cr_config_error());
    T.o = o;
    T.t_start = now_seconds();
    cr_set_memory_limit(o->max_memory);   /* 0: the library's default */
    int rc;
    if (train_load_data(o, o->eval ? NULL : &T.train, &T.test, T.err, sizeof T.err) != CR_OK) {
        rc = EXIT_USAGE;
    } else if (o->eval) {
        rc = trainer_run_eval(&T);
    } else {
        rc = setup(&T);
        if (!rc) rc = open_log(&T);
        if (!rc) {
            trainer_describe(&T);
            rc = epochs(&T);
        }
        if (!rc) rc = finish(&T);
        int lrc = close_log(&T);
        if (!rc) rc = lrc;
    }
    if (rc) fprintf(stderr, "train: %s\n", T.err);
    teardown(&T);
    cr_dataset_free(T.train);
    cr_dataset_free(T.test);
    return rc;
}
