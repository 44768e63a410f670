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

/* The page of step graph g (after its backward pass) into path (cr_tape_html). */
static int write_html(trainer *T, step_graph *g, const char *path)
{
    FILE *f = fopen(path, "w");
    if (!f) return trainer_fail(T, EXIT_TRAIN_FAILED, "%s: cannot write the page", path);
    int bad = cr_tape_html(g->t, g->loss, f, NULL) != CR_OK;
    bad |= fflush(f) != 0 || ferror(f);
    bad |= fclose(f) != 0;
    if (bad) return trainer_fail(T, EXIT_TRAIN_FAILED, "%s: cannot write the page", path);
    if (!T->o->quiet) printf("page of the first training step (open it in a browser): %s\n", path);
    return 0;
}

/* Forward and backward on the samples idx[0..m) (this rank's shard of the batch):
 * the mean loss over them and the number classified correctly. */
static int step_local(trainer *T, const int *idx, size_t m, double *loss, size_t *correct)
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
    if (T->o->html && !T->html_done && dist_rank() == 0) {
        T->html_done = 1;                      /* before the update: one consistent step */
        int rc = write_html(T, g, T->o->html);
        if (rc) return rc;
    }
    *loss = g->loss->data[0];
    if (!isfinite(*loss))
        return trainer_fail(T, EXIT_TRAIN_FAILED, "the loss became %s (try a smaller --lr, or "
                     "--anomaly to find the first bad op)", isnan(*loss) ? "NaN" : "infinite");
    *correct = count_correct(g->logits, g->y->data, m);
    return 0;
}

/* One optimizer step on the global batch idx[0..m): with several ranks (dist.c)
 * this rank's shard [lo, hi) forward and backward, the gradients summed over the
 * ranks, then the same update on every rank; with one, all m samples. */
static int train_step(trainer *T, const int *idx, size_t m, double *loss, size_t *correct)
{
    size_t lo = 0, hi = m;
    if (dist_size() > 1) dist_shard(m, &lo, &hi);
    size_t ok = 0;
    int rc = 0;
    *loss = 0;
    if (hi > lo) rc = step_local(T, idx + lo, hi - lo, loss, &ok);
    else cr_optim_zero_grad(T->opt);          /* a last batch smaller than the ranks */
    if (dist_size() > 1) {
        double lsum = *loss * (double)(hi - lo), n_ok = (double)ok;
        rc = dist_reduce(&T->dist, trainer_params(T), rc, hi - lo, m, &lsum, &n_ok, T->err,
                         sizeof T->err);
        *loss = lsum / (double)m;
        ok = (size_t)(n_ok + 0.5);
    }
    if (rc) return rc;
    if (T->o->clip > 0) cr_clip_grad_norm(trainer_params(T), T->o->clip, NULL, NULL, 0);
    cr_optim_set_lr(T->opt, cr_schedule_lr(&T->sched, cr_optim_step_count(T->opt)));
    char why[256];
    if (cr_optim_step(T->opt, why, sizeof why) != CR_OK)
        return trainer_fail(T, EXIT_TRAIN_FAILED, "%s", why);
    *correct = ok;
    return 0;
}

/* Batchnorm running statistics are updated by each rank on its own shard: rank 0's
 * are the model's (as DistributedDataParallel's broadcast_buffers), sent to every
 * rank before an evaluation, a checkpoint or the final save. */
void trainer_sync_buffers(trainer *T)
{
    if (dist_size() > 1)
        dist_bcast_params(T->model ? cr_model_buffers(T->model) : cr_mlp_buffers(T->mlp));
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
    size_t first_rows = nt < B ? nt : B, last_rows = nt > B ? nt % B : 0;
    if (dist_size() > 1) {
        /* each rank runs its shard of every batch: the rows of its own graphs */
        if (first_rows < (size_t)dist_size()) {
            snprintf(T->err, sizeof T->err, "a batch of %zu samples (--batch %zu, %zu training "
                     "samples) cannot be shared by %d ranks: every rank needs at least one "
                     "sample of every full batch", first_rows, B, nt, dist_size());
            return EXIT_USAGE;
        }
        size_t lo, hi;
        dist_shard(first_rows, &lo, &hi);
        first_rows = hi - lo;
        dist_shard(last_rows, &lo, &hi);
        last_rows = hi - lo;
    }
    /* batch statistics need two rows: refuse a run whose epochs would end with a
     * batch of one, before any training (the user picks another --batch or --val) */
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
    if (graph_new(T, &T->full, (int)first_rows)) return EXIT_TRAIN_FAILED;
    cr_optim_set_pool(T->opt, T->pool);   /* updates on its threads too */
    if (last_rows && graph_new(T, &T->last, (int)last_rows)) return EXIT_TRAIN_FAILED;
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
    return 0;                  /* --resume: train_run, once every rank is set up */
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
    dist_buffer_free(&T->dist);
    if (T->log) fclose(T->log);
    cr_pool_free(T->pool); /* after everything that borrowed it */
}

static const char LOG_HEADER[] = "epoch,step,train_loss,train_acc,val_loss,val_acc,lr,seconds,"
                                 "samples_per_second\n";

/* The log (runlog.c, shared with train_text): checked writes, trimmed on resume. */
static int log_check(trainer *T)
{
    return run_log_check(T->log, T->o->log, T->err, sizeof T->err);
}

static int open_log(trainer *T)
{
    return run_log_open(&T->log, T->o->log, LOG_HEADER, T->o->resume != NULL, T->epoch, T->err,
                        sizeof T->err);
}

static int close_log(trainer *T)
{
    return run_log_close(&T->log, T->o->log, T->err, sizeof T->err);
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
            T->t_train += now_seconds() - pr.t_epoch;
            if (!o->quiet) printf("stopped after %ld steps (--max-steps), in epoch %d\n",
                                  cr_optim_step_count(T->opt), e);
            break;
        }
        double secs = now_seconds() - pr.t_epoch;
        double rate = secs > 0 ? (double)(T->ep_seen - seen0) / secs : 0;
        double tl = T->ep_loss / (double)T->ep_seen;
        double ta = (double)T->ep_correct / (double)T->ep_seen;
        T->t_train += secs;
        double vl = NAN, va = NAN;
        int rc = 0;
        if (T->split.n_val) {
            trainer_sync_buffers(T);
            rc = trainer_evaluate(T, T->train, T->split.val, T->split.n_val, &vl, &va, NULL);
        }
        double lr = cr_optim_lr(T->opt);
        if (!rc && !o->quiet) {
            printf("epoch %d/%d  loss %.4f  acc %.2f%%", e, o->epochs, tl, 100 * ta);
            if (T->split.n_val) printf("  val loss %.4f  val acc %.2f%%", vl, 100 * va);
            printf("  lr %.3g  %.2fs  %.0f samples/s\n", lr, secs, rate);
            fflush(stdout);
        }
        if (!rc && T->log) {
            fprintf(T->log, "%d,%ld,%.6f,%.6f,%.6f,%.6f,%.6g,%.3f,%.0f\n", e,
                    cr_optim_step_count(T->opt), tl, ta, vl, va, lr, secs, rate);
            rc = log_check(T);
        }
        /* the log is rank 0's: every rank learns whether the epoch ended well */
        if ((rc = dist_agree(rc, T->err, sizeof T->err)) != 0) return rc;
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
    if (o->save_graph && (rc = trainer_save_graph(T)) != 0) return rc;
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
    double secs = now_seconds() - T->t_start, comm;
    long calls;
    dist_comm_time(&comm, &calls);
    if (calls && !o->quiet && T->t_train > 0)
        printf("all-reduce: %d ranks, one buffer of %zu values per step: %.2f ms per step, "
               "%.1f%% of the training time\n", dist_size(), T->dist.n,
               1e3 * comm / (double)calls, 100 * comm / T->t_train);
    if (isnan(T->test_acc))
        printf("done in %.1f s; model %s; graph %s\n", secs, o->out, dot);
    else
        printf("done: %.2f%% test accuracy in %.1f s; graph of the model: %s\n",
               100 * T->test_acc, secs, dot);
    free(dot);
    return 0;
}

/* With several ranks (dist.c), rank 0 prints and writes the files; the others
 * train alongside it. Every failure goes through dist_agree, so that all ranks stop
 * at the same point with the first failing rank's message, printed once. */
int train_run(const train_opts *o)
{
    trainer T;
    memset(&T, 0, sizeof T);
    if (cr_config_error()) fprintf(stderr, "train: warning: %s\n", cr_config_error());
    T.o = o;
    T.t_start = now_seconds();
    cr_set_memory_limit(o->max_memory);   /* 0: the library's default */
    int rank0 = dist_rank() == 0;
    int rc = train_load_data(o, o->eval ? NULL : &T.train, &T.test, T.err, sizeof T.err) != CR_OK
           ? EXIT_USAGE : 0;
    rc = dist_agree(rc, T.err, sizeof T.err);
    if (rc) {
        /* nothing loaded */
    } else if (o->eval) {
        rc = trainer_run_eval(&T);
        if (!rc && o->export_dir) rc = trainer_export(&T);
    } else {
        rc = dist_agree(setup(&T), T.err, sizeof T.err);
        if (!rc && o->resume) rc = dist_agree(checkpoint_resume(&T), T.err, sizeof T.err);
        if (!rc) rc = dist_verify(&T);
        /* collective, so after every rank has agreed it is set up */
        if (!rc && dist_size() > 1 &&
            dist_buffer_new(&T.dist, trainer_params(&T), o->allreduce_mpi, o->allreduce_group,
                            T.err, sizeof T.err) != CR_OK)
            rc = EXIT_TRAIN_FAILED;
        if (!rc) rc = dist_agree(rank0 ? open_log(&T) : 0, T.err, sizeof T.err);
        if (!rc) {
            trainer_describe(&T);
            rc = epochs(&T);
        }
        if (!rc) {
            trainer_sync_buffers(&T);
            if (rank0) rc = finish(&T);
        }
        if (!rc && rank0 && o->export_dir) rc = trainer_export(&T);
        int lrc = close_log(&T);
        if (!rc) rc = lrc;
    }
    rc = dist_agree(rc, T.err, sizeof T.err);
    if (rc && rank0) fprintf(stderr, "train: %s\n", T.err);
    teardown(&T);
    cr_dataset_free(T.train);
    cr_dataset_free(T.test);
    return rc;
}
