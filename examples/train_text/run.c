/* Training by truncated BPTT, evaluation, checkpoints and sampling.
 *
 * Speed: one chunk (T steps x B streams) is recorded once on heap inputs; each
 * step writes the chunk's ids into them (cr_seq_batcher_get), replays the tape,
 * runs backward and the optimizer, then copies the chunk's final hidden state into
 * the carried state that the next replay starts from: the gradient stops at the
 * chunk boundary, the values flow on, and nothing is allocated per step
 * (--rerecord records each chunk anew instead, for comparison).
 *
 * Resumability: a checkpoint holds the weights, the optimizer state, the carried
 * hidden state (as tensors "carry.h<l>", "carry.c<l>"), the position (epoch,
 * chunk), the epoch's running loss and the dropout generator: a resumed run is
 * bit-identical to an uninterrupted one with the same options and thread count.
 *
 * Data parallel (the MPI build, examples/train/dist.c): rank r of N trains streams
 * [r B / N, (r + 1) B / N) of every chunk on its own tape (cr_seq_batcher_get_streams)
 * and carries their state; the gradients, weighted by the rank's share of the
 * streams, are summed over the ranks (dist_reduce), so every rank makes the same
 * step, as one process over all B streams up to the order of the additions.
 * Every rank evaluates the whole held-out part (the same numbers on every rank, no
 * message); rank 0 writes the files, its checkpoints holding the carried state of
 * all B streams (gathered), so that any N resumes them. */
#include "text.h"

#include <math.h>
#include <string.h>
#include <unistd.h>

typedef struct run {
    const text_opts *o;
    cr_text *text;
    int *ids;
    size_t n_train, n_val;
    charlm *m;
    cr_optim *opt;
    cr_seq_batcher *train_b, *val_b;
    chunk_graph g, ev;
    chunk_graph *evp;             /* the graph validation replays: &ev, or &g when the
                                     two would be the same (no dropout, same streams),
                                     which saves a tape of T x B steps */
    cr_pool *pool;
    cr_meta *meta;
    cr_params *ck_params;         /* the model's parameters and copies of the carried
                                     state (owned), what checkpoints hold */
    FILE *log;
    char err[TRAIN_ERR];
    uint64_t epoch, chunk;        /* the next chunk to train */
    double ep_loss;               /* sum of this epoch's chunk losses */
    uint64_t ep_chunks;
    int first, streams;           /* this rank's streams of the batch (all: 0, B) */
    dist_buf dist;                /* the gradient sum over ranks (MPI) */
    uint64_t data_hash;           /* of the ids and vocabulary (verify_ranks) */
} run;

static const char LOG_HEADER[] = "epoch,step,train_loss,val_loss,val_bits_per_char,lr,seconds,"
                                 "chars_per_second\n";

static int failf(run *R, int code, const char *fmt, const char *a)
{
    snprintf(R->err, sizeof R->err, fmt, a);
    return code;
}

/* ---- data */

/* The text's ids under vocab (NULL: build the vocabulary from the whole text). */
static int load_text(run *R, const char *path, cr_vocab **vocab)
{
    const text_opts *o = R->o;
    if (cr_text_load(&R->text, path, R->err, sizeof R->err) != CR_OK) return EXIT_USAGE;
    if (!*vocab && cr_vocab_build(vocab, R->text->cp, R->text->n, R->err, sizeof R->err) != CR_OK)
        return EXIT_USAGE;
    if (cr_memory_check((uint64_t)R->text->n * sizeof(int), "the text's ids", R->err,
                        sizeof R->err) != CR_OK)
        return EXIT_USAGE;
    if (!(R->ids = cr_malloc(R->text->n * sizeof *R->ids)))
        return failf(R, EXIT_TRAIN_FAILED, "%s", "out of memory");
    char why[TRAIN_ERR / 2];
    if (cr_vocab_encode(*vocab, R->text->cp, R->text->n, R->ids, why, sizeof why) != CR_OK) {
        snprintf(R->err, sizeof R->err, "%s: %s", path, why);
        return EXIT_USAGE;
    }
    cr_free(R->text->cp);              /* the ids say it all from here (R->text->n stays) */
    R->text->cp = NULL;
    if (cr_text_split(R->text->n, o->val, &R->n_train, &R->n_val, why, sizeof why) != CR_OK) {
        snprintf(R->err, sizeof R->err, "%s: %s", path, why);
        return EXIT_USAGE;
    }
    /* validation: B streams, or fewer when the held-out part is short */
    size_t per = (size_t)o->steps + 1, vb = R->n_val / per;
    if (vb < 1) {
        snprintf(R->err, sizeof R->err, "%s: the validation part (%zu characters) is shorter "
                 "than one chunk of --steps %d plus one; use a smaller --steps or a longer text",
                 path, R->n_val, o->steps);
        return EXIT_USAGE;
    }
    if (vb > (size_t)o->batch) vb = (size_t)o->batch;
    R->val_b = cr_seq_batcher_new(R->ids + R->n_train, R->n_val, (int)vb, o->steps, why,
                                  sizeof why);
    if (!R->val_b) {
        snprintf(R->err, sizeof R->err, "%s: validation: %s", path, why);
        return EXIT_USAGE;
    }
    return 0;
}

/* Mean cross-entropy (nats per character) over every validation chunk. */
static int evaluate(run *R, double *loss)
{
    chunk_graph *g = R->evp;
    size_t nc = cr_seq_batcher_chunks(R->val_b);
    double sum = 0;
    cr_rnn_state_zero(&g->carry);
    for (size_t c = 0; c < nc; c++) {
        cr_seq_batcher_get(R->val_b, c, g->x, g->y, NULL, 0);
        if (cr_tape_forward(g->t) != CR_OK)
            return failf(R, EXIT_TRAIN_FAILED, "evaluating: %s", cr_tape_error(g->t));
        sum += (double)cr_item(g->loss);
        cr_rnn_state_copy(&g->carry, &g->s, NULL, 0);
    }
    *loss = sum / (double)nc;
    return 0;
}

/* ---- checkpoints */

static const char *cell_name(uint64_t k) { return cr_rnn_kind_name((cr_rnn_kind)k); }
static const char *optim_name(uint64_t k) { return cr_optim_kind_name((cr_optim_kind)k); }

enum { N_OPTS = 14 };
static void run_opts(const run *R, ck_opt *c)
{
    const text_opts *o = R->o;
    const ck_opt all[N_OPTS] = {
        { "text.seed", "--seed", 0, o->seed, 0, NULL },
        { "text.batch", "--batch", 0, (uint64_t)o->batch, 0, NULL },
        { "text.steps", "--steps", 0, (uint64_t)o->steps, 0, NULL },
        { "text.n_train", "the training part of the text (--text, --val)", 0, R->n_train, 0,
          NULL },
        { "text.cell", "--cell", 0, (uint64_t)o->cell, 0, cell_name },
        { "text.embed", "--embed", 0, (uint64_t)o->embed, 0, NULL },
        { "text.hidden", "--hidden", 0, (uint64_t)o->hidden, 0, NULL },
        { "text.layers", "--layers", 0, (uint64_t)o->layers, 0, NULL },
        { "text.dropout", "--dropout", 1, 0, o->dropout, NULL },
        { "text.optim", "--optim", 0, (uint64_t)o->optim.kind, 0, optim_name },
        { "text.lr", "--lr", 1, 0, o->optim.lr, NULL },
        { "text.clip", "--clip", 1, 0, o->clip, NULL },
        { "text.val", "--val", 1, 0, o->val, NULL },
        { "text.vocab", "the vocabulary size (--text)", 0, (uint64_t)R->m->vocab->size, 0,
          NULL },
    };
    memcpy(c, all, sizeof all);
}

/* The carried state (this rank's streams) to (dir 1) or from (dir 0) its copies
 * in ck_params, which hold all B streams: collective with dir 1 (gathered on rank
 * 0; the others' copies are not written). */
static int carry_files(run *R, int dir)
{
    for (int l = 0; l < R->o->layers; l++)
        for (int k = 0; k < 2; k++) {
            cr_tensor *live = k ? R->g.carry.c[l] : R->g.carry.h[l];
            char name[32];
            snprintf(name, sizeof name, "carry.%c%d", k ? 'c' : 'h', l);
            cr_tensor *f = cr_params_find(R->ck_params, name);
            if (!live || !f) continue;
            size_t width = live->size / (size_t)R->streams;
            if (!dir) memcpy(live->data, f->data + (size_t)R->first * width,
                             live->size * sizeof *live->data);
            else if (dist_gather_shards(live->data, f->data, (size_t)R->o->batch, width) != CR_OK)
                return failf(R, EXIT_TRAIN_FAILED, "%s", "out of memory (gathering the state)");
        }
    return 0;
}

/* Collective: rank 0 writes, every rank returns the agreed status. */
static int checkpoint_write_rank0(run *R);
static int checkpoint_write(run *R)
{
    if (!R->o->checkpoint) return 0;
    int rc = carry_files(R, 1);
    if (!rc && dist_rank() == 0) rc = checkpoint_write_rank0(R);
    return dist_agree(rc, R->err, sizeof R->err);
}

static int checkpoint_write_rank0(run *R)
{
    cr_meta *m = R->meta;
    cr_meta_clear(m);
    ck_opt c[N_OPTS];
    run_opts(R, c);
    ck_opts_store(c, N_OPTS, m);
    if (charlm_to_meta(R->m, m, R->err, sizeof R->err) != CR_OK) return EXIT_TRAIN_FAILED;
    cr_meta_set_u64(m, "text.epoch", R->epoch);
    cr_meta_set_u64(m, "text.chunk", R->chunk);
    cr_meta_set_f64(m, "text.ep_loss", R->ep_loss);
    cr_meta_set_u64(m, "text.ep_chunks", R->ep_chunks);
    cr_meta_set_u64(m, "text.dropout_rng.state", R->m->drop_rng.state);
    cr_meta_set_u64(m, "text.dropout_rng.inc", R->m->drop_rng.inc);
    return cr_save(R->o->checkpoint, R->ck_params, R->opt, m, R->err, sizeof R->err) != CR_OK
               ? EXIT_TRAIN_FAILED : 0;
}

static int checkpoint_read(run *R)
{
    const char *path = R->o->resume;
    cr_meta *m = R->meta;
    void *img = NULL;
    size_t size = 0;
    /* rank 0 reads it and sends it to the others (with one rank: just reads it) */
    if (dist_load_file_image(path, &img, &size, R->err, sizeof R->err) != CR_OK) return EXIT_USAGE;
    ck_opt c[N_OPTS];
    run_opts(R, c);
    int rc = 0;
    uint64_t dummy;
    if (cr_load_buffer(img, size, path, NULL, NULL, m, R->err, sizeof R->err) != CR_OK)
        rc = EXIT_USAGE;
    else if (cr_meta_get_u64(m, "text.epoch", &dummy) != CR_OK)
        rc = failf(R, EXIT_USAGE, "%s: not a train_text checkpoint", path);
    if (!rc) rc = ck_opts_compare(c, N_OPTS, m, path, R->err, sizeof R->err);
    cr_vocab *v = NULL;
    if (!rc && cr_vocab_from_meta(&v, m, R->err, sizeof R->err) != CR_OK) rc = EXIT_USAGE;
    if (!rc && memcmp(v->cp, R->m->vocab->cp, (size_t)v->size * sizeof *v->cp) != 0)
        rc = failf(R, EXIT_USAGE, "%s: the checkpoint's vocabulary is not this text's; resume "
                   "with the text of the original run", path);
    cr_vocab_free(v);
    if (!rc && cr_load_buffer(img, size, path, R->ck_params, R->opt, m, R->err,
                              sizeof R->err) != CR_OK)
        rc = EXIT_USAGE;
    cr_free(img);
    if (rc) return rc;
    carry_files(R, 0);             /* this rank's streams */
    if (cr_meta_get_u64(m, "text.epoch", &R->epoch) || cr_meta_get_u64(m, "text.chunk", &R->chunk) ||
        cr_meta_get_f64(m, "text.ep_loss", &R->ep_loss) ||
        cr_meta_get_u64(m, "text.ep_chunks", &R->ep_chunks) ||
        cr_meta_get_u64(m, "text.dropout_rng.state", &R->m->drop_rng.state) ||
        cr_meta_get_u64(m, "text.dropout_rng.inc", &R->m->drop_rng.inc) ||
        R->chunk > cr_seq_batcher_chunks(R->train_b))
        return failf(R, EXIT_USAGE, "%s: not a train_text checkpoint (position missing)", path);
    return 0;
}

/* ---- training */

static int save_model(run *R, const char *path)
{
    cr_meta *m = R->meta;
    cr_meta_clear(m);
    if (charlm_to_meta(R->m, m, R->err, sizeof R->err) != CR_OK ||
        cr_save(path, R->m->params, NULL, m, R->err, sizeof R->err) != CR_OK)
        return EXIT_TRAIN_FAILED;
    return 0;
}

static int step(run *R, size_t c, double *loss)
{
    const text_opts *o = R->o;
    chunk_graph *g = &R->g;
    cr_seq_batcher_get_streams(R->train_b, c, R->first, R->streams, g->x, g->y, NULL, 0);
    int rc = o->rerecord ? chunk_graph_record(g, R->m, R->err, sizeof R->err) : 0;
    if (!rc && !o->rerecord && cr_tape_forward(g->t) != CR_OK)
        rc = failf(R, EXIT_TRAIN_FAILED, "forward: %s", cr_tape_error(g->t));
    if (!rc) {
        cr_optim_zero_grad(R->opt);
        if (cr_backward(g->t, g->loss) != CR_OK)
            rc = failf(R, EXIT_TRAIN_FAILED, "backward: %s", cr_tape_error(g->t));
    }
    *loss = rc ? 0 : (double)cr_item(g->loss);
    if (dist_size() > 1) {
        /* every rank joins the sum, a failed one too (its flag stops them all) */
        double lsum = *loss * R->streams, none = 0;
        rc = dist_reduce(&R->dist, R->m->params, rc, (size_t)R->streams, (size_t)o->batch,
                         &lsum, &none, R->err, sizeof R->err);
        *loss = lsum / o->batch;
    }
    if (rc) return rc;
    if (!isfinite(*loss))
        return failf(R, EXIT_TRAIN_FAILED, "%s", "the loss is not finite; try a smaller --lr or "
                     "--clip");
    if (o->clip > 0 && cr_clip_grad_norm(R->m->params, o->clip, NULL, R->err, sizeof R->err) != CR_OK)
        return EXIT_TRAIN_FAILED;
    if (cr_optim_step(R->opt, R->err, sizeof R->err) != CR_OK) return EXIT_TRAIN_FAILED;
    cr_rnn_state_copy(&g->carry, &g->s, NULL, 0);     /* the next chunk starts here */
    return 0;
}

static int train(run *R)
{
    const text_opts *o = R->o;
    size_t nc = cr_seq_batcher_chunks(R->train_b), per = (size_t)o->steps * (size_t)o->batch;
    progress pr = { 0 };
    pr.bar = o->progress < 0 ? isatty(2) : o->progress;
    pr.quiet = o->quiet;
    pr.unit = "chars";
    double t0 = now_seconds();
    long s0 = cr_optim_step_count(R->opt);
    for (; R->epoch < (uint64_t)o->epochs; R->epoch++) {
        if (R->chunk == 0) {                   /* an epoch starts from a zero state */
            cr_rnn_state_zero(&R->g.carry);
            R->ep_loss = 0;
            R->ep_chunks = 0;
        }
        progress_start(&pr, (int)R->epoch + 1, o->epochs, nc * per);
        size_t done0 = (size_t)R->chunk;
        for (; R->chunk < nc; R->chunk++) {
            if (o->max_steps && cr_optim_step_count(R->opt) >= o->max_steps) {
                progress_end(&pr);
                long n = cr_optim_step_count(R->opt) - s0;
                double el = now_seconds() - t0;     /* with any epoch-end validation */
                if (!o->quiet)
                    printf("stopped after %ld steps (--max-steps); this run: %ld steps, %.0f "
                           "chars/s\n", cr_optim_step_count(R->opt), n,
                           el > 0 ? (double)n * (double)per / el : 0);
                return checkpoint_write(R);
            }
            double loss;
            int rc = step(R, (size_t)R->chunk, &loss);
            if (rc) {
                progress_end(&pr);
                return rc;
            }
            R->ep_loss += loss;
            R->ep_chunks++;
            progress_update(&pr, (size_t)(R->chunk + 1) * per, R->ep_loss / (double)R->ep_chunks,
                            -1);
            long s = cr_optim_step_count(R->opt);
            if (o->checkpoint_every && s % o->checkpoint_every == 0) {
                R->chunk++;                    /* the position after this step */
                rc = checkpoint_write(R);
                R->chunk--;
                if (rc) return rc;
            }
        }
        progress_end(&pr);
        double secs = now_seconds() - pr.t_epoch, val;
        int rc = dist_agree(evaluate(R, &val), R->err, sizeof R->err);
        if (rc) return rc;
        double rate = secs > 0 ? (double)((nc - done0) * per) / secs : 0;
        double tl = R->ep_chunks ? R->ep_loss / (double)R->ep_chunks : 0;
        if (!o->quiet)
            printf("epoch %llu/%d  train_loss %.4f  val_loss %.4f (%.3f bits/char)  %.0f chars/s\n",
                   (unsigned long long)R->epoch + 1, o->epochs, tl, val, val / log(2.0), rate);
        if (R->log) {
            fprintf(R->log, "%llu,%ld,%.6f,%.6f,%.6f,%.6g,%.3f,%.0f\n",
                    (unsigned long long)R->epoch + 1, cr_optim_step_count(R->opt), tl, val,
                    val / log(2.0), cr_optim_lr(R->opt), now_seconds() - t0, rate);
            rc = run_log_check(R->log, o->log, R->err, sizeof R->err) ? EXIT_TRAIN_FAILED : 0;
        }
        if ((rc = dist_agree(rc, R->err, sizeof R->err))) return rc;
        R->chunk = 0;
        R->epoch++;                            /* the position after this epoch */
        rc = checkpoint_write(R);
        R->epoch--;
        if (rc) return rc;
    }
    return 0;
}

/* ---- sampling */

static int sample_next(const cr_tensor *logits, double temp, cr_rng *rng)
{
    int V = logits->shape[1], best = 0;
    const cr_real *z = logits->data;
    for (int i = 1; i < V; i++)
        if (z[i] > z[best]) best = i;
    if (temp <= 0) return best;
    double sum = 0;
    for (int i = 0; i < V; i++) sum += exp(((double)z[i] - (double)z[best]) / temp);
    double u = cr_rng_uniform(rng) * sum, acc = 0;
    for (int i = 0; i < V; i++) {
        acc += exp(((double)z[i] - (double)z[best]) / temp);
        if (u < acc) return i;
    }
    return best;
}

static int generate(charlm *m, const text_opts *o, cr_pool *pool, char *err, size_t errsize)
{
    chunk_graph g;
    int rc = chunk_graph_new(&g, m, 1, 1, 0, pool, 0, err, errsize);
    if (rc) return rc;
    /* default: a newline, or the vocabulary's first character if it has none */
    char first[5] = "\n";
    if (!o->prime && cr_vocab_id(m->vocab, '\n') < 0)
        first[cr_utf8_put(m->vocab->cp[0], first)] = '\0';
    const char *prime = o->prime ? o->prime : first;
    cr_text *p = NULL;
    if (cr_text_load_mem(&p, prime, strlen(prime), "--prime", err, errsize) != CR_OK) {
        chunk_graph_free(&g);
        return EXIT_USAGE;
    }
    cr_rng rng;
    cr_rng_seed(&rng, o->seed);
    rc = 0;
    for (size_t i = 0; i < p->n && !rc; i++)
        if (cr_vocab_id(m->vocab, p->cp[i]) < 0) {
            snprintf(err, errsize, "--prime: character U+%04X is not in the model's vocabulary",
                     (unsigned)p->cp[i]);
            rc = EXIT_USAGE;
        }
    if (!rc) fputs(prime, stdout);
    /* the prime, one character per replay, then each sampled character fed back */
    for (long k = 0; !rc && k < (long)p->n + o->generate; k++) {
        int id;
        if (k < (long)p->n) id = cr_vocab_id(m->vocab, p->cp[k]);
        else {
            id = sample_next(g.logits, o->temperature, &rng);
            char u[4];
            fwrite(u, 1, (size_t)cr_utf8_put(m->vocab->cp[id], u), stdout);
            if (k + 1 == (long)p->n + o->generate) break;
        }
        g.x->data[0] = (cr_real)id;
        if (cr_tape_forward(g.t) != CR_OK) {
            snprintf(err, errsize, "sampling: %s", cr_tape_error(g.t));
            rc = EXIT_TRAIN_FAILED;
        }
        cr_rnn_state_copy(&g.carry, &g.s, NULL, 0);
    }
    if (!rc) fputc('\n', stdout);
    cr_text_free(p);
    chunk_graph_free(&g);
    return rc;
}

/* ---- the modes */

static void teardown(run *R)
{
    chunk_graph_free(&R->g);
    chunk_graph_free(&R->ev);
    cr_optim_free(R->opt);
    cr_params_free(R->ck_params);
    charlm_free(R->m);
    cr_seq_batcher_free(R->train_b);
    cr_seq_batcher_free(R->val_b);
    cr_meta_free(R->meta);
    cr_free(R->ids);
    cr_text_free(R->text);
    if (R->log) fclose(R->log);
    dist_buffer_free(&R->dist);
    cr_pool_free(R->pool);
}

static int run_eval(run *R)
{
    const text_opts *o = R->o;
    if (!(R->m = charlm_load(o->eval, R->err, sizeof R->err))) return EXIT_USAGE;
    int rc = load_text(R, o->text, &R->m->vocab);
    if (rc) return rc;
    int vb = (int)(R->n_val / ((size_t)o->steps + 1));
    if (vb > o->batch) vb = o->batch;
    R->evp = &R->ev;
    if ((rc = chunk_graph_new(&R->ev, R->m, o->steps, vb, 0, R->pool, o->anomaly, R->err,
                              sizeof R->err)))
        return rc;
    double val;
    if ((rc = evaluate(R, &val))) return rc;
    printf("%s on the last %.0f%% of %s (%zu characters): loss %.4f nats/char, %.3f bits/char\n",
           o->eval, 100 * o->val, o->text, R->n_val, val, val / log(2.0));
    return 0;
}

/* Everything a training run needs before its first step, on this rank alone. */
static int setup_train(run *R)
{
    const text_opts *o = R->o;
    cr_vocab *vocab = NULL;
    int rc = load_text(R, o->text, &vocab);
    if (rc) {
        cr_vocab_free(vocab);
        return rc;
    }
    if (!(R->m = charlm_new(vocab, o->cell, o->embed, o->hidden, o->layers, o->dropout, R->err,
                            sizeof R->err)))
        return EXIT_USAGE;
    cr_rng rng;
    cr_rng_seed(&rng, o->seed);
    charlm_init(R->m, &rng);
    if (!(R->opt = cr_optim_new(R->m->params, &o->optim, R->err, sizeof R->err)))
        return EXIT_USAGE;
    cr_optim_set_pool(R->opt, R->pool);
    char why[TRAIN_ERR / 2];
    R->train_b = cr_seq_batcher_new(R->ids, R->n_train, o->batch, o->steps, why, sizeof why);
    if (!R->train_b) {
        snprintf(R->err, sizeof R->err, "%s: training: %s", o->text, why);
        return EXIT_USAGE;
    }
    /* for verify_ranks: the text as ids, and the vocabulary */
    R->data_hash = dist_hash(dist_hash(DIST_HASH0, R->ids, R->text->n * sizeof *R->ids),
                             R->m->vocab->cp, (size_t)R->m->vocab->size * sizeof *R->m->vocab->cp);
    cr_free(R->ids);                   /* both batchers hold their copies */
    R->ids = NULL;
    /* this rank's streams (all of them in one process) */
    if (o->batch < dist_size()) {
        snprintf(R->err, sizeof R->err, "--batch %d streams cannot be shared by %d ranks: every "
                 "rank needs at least one", o->batch, dist_size());
        return EXIT_USAGE;
    }
    size_t lo, hi;
    dist_shard((size_t)o->batch, &lo, &hi);
    R->first = (int)lo;
    R->streams = (int)(hi - lo);
    int vb = (int)(R->n_val / ((size_t)o->steps + 1));
    if (vb > o->batch) vb = o->batch;
    if ((rc = chunk_graph_new(&R->g, R->m, o->steps, R->streams, 1, R->pool, o->anomaly, R->err,
                              sizeof R->err)))
        return rc;
    /* validation runs at an epoch's end, where the next epoch starts from zeros
     * anyway: the training graph serves when it computes the same thing */
    R->evp = &R->g;
    if ((vb != R->streams || (o->layers > 1 && o->dropout > 0)) &&
        (rc = chunk_graph_new(R->evp = &R->ev, R->m, o->steps, vb, 0, R->pool, o->anomaly,
                              R->err, sizeof R->err)))
        return rc;
    /* checkpoints hold the parameters and the carried state of all B streams */
    if (!(R->ck_params = cr_params_new()) ||
        cr_params_extend(R->ck_params, R->m->params, "", R->err, sizeof R->err) != CR_OK)
        return failf(R, EXIT_TRAIN_FAILED, "%s", "out of memory");
    for (int l = 0; l < o->layers; l++)      /* file copies of the carried state */
        for (int k = 0; k < 2; k++) {
            cr_tensor *src = k ? R->g.carry.c[l] : R->g.carry.h[l];
            if (!src) continue;
            char name[32];
            snprintf(name, sizeof name, "carry.%c%d", k ? 'c' : 'h', l);
            int shape[2] = { o->batch, (int)(src->size / (size_t)R->streams) };
            cr_tensor *x = cr_param_new(2, shape);
            if (cr_params_add_owned(R->ck_params, x, name, R->err, sizeof R->err) != CR_OK)
                return EXIT_TRAIN_FAILED;
        }
    return 0;
}

/* Every rank: the same text, model and optimizer position as rank 0, and the same
 * build and command line (dist_verify_hashes; nothing with one rank). */
static int verify_ranks(run *R)
{
    uint64_t data = R->data_hash;
    long step = cr_optim_step_count(R->opt);
    uint64_t model = dist_hash(DIST_HASH0, &step, sizeof step);
    for (size_t i = 0, n = cr_params_count(R->ck_params); i < n; i++) {
        const cr_tensor *x = cr_params_get(R->ck_params, i);
        if (strncmp(cr_params_name(R->ck_params, i), "carry.", 6) != 0)
            model = dist_hash(model, x->data, x->size * sizeof *x->data);
    }
    return dist_verify_hashes(data, model, R->err, sizeof R->err);
}

/* Collective (as every step below): each failure is agreed by every rank, so that
 * all of them stop at the same point with the first failing rank's message. */
static int run_train(run *R)
{
    const text_opts *o = R->o;
    int rank0 = dist_rank() == 0;
    int rc = dist_agree(setup_train(R), R->err, sizeof R->err);
    if (!rc && o->resume) rc = dist_agree(checkpoint_read(R), R->err, sizeof R->err);
    if (!rc) rc = verify_ranks(R);
    if (!rc && dist_size() > 1 &&
        dist_buffer_new(&R->dist, R->m->params, o->allreduce_mpi, o->allreduce_group, R->err,
                        sizeof R->err) != CR_OK)
        rc = EXIT_TRAIN_FAILED;
    if (rc) return rc;
    if (!o->quiet) {
        printf("text: %s, %zu characters, %d distinct; training on the first %zu, validating on "
               "the last %zu\nmodel: %s, embedding %d, hidden %d, %d layer%s, %zu parameters; "
               "%d streams x %d steps, %zu chunks per epoch, %s lr %g\n",
               o->text, R->text->n, R->m->vocab->size, R->n_train, R->n_val,
               cr_rnn_kind_name(o->cell), o->embed, o->hidden, o->layers, o->layers > 1 ? "s" : "",
               cr_params_numel(R->m->params), o->batch, o->steps,
               cr_seq_batcher_chunks(R->train_b), cr_optim_kind_name(o->optim.kind), o->optim.lr);
        if (dist_size() > 1)
            printf("data parallel: %d ranks (MPI), each %d of the %d streams; gradients summed "
                   "in one buffer of %zu values per step (%s)\n", dist_size(), R->streams,
                   o->batch, R->dist.n, dist_buffer_describe(&R->dist));
    }
    rc = dist_agree(rank0 ? run_log_open(&R->log, o->log, LOG_HEADER, o->resume != NULL, R->epoch,
                                         R->err, sizeof R->err) : 0, R->err, sizeof R->err);
    if (!rc) rc = train(R);
    int lrc = rank0 ? run_log_close(&R->log, o->log, R->err, sizeof R->err) : 0;
    if (!rc) rc = dist_agree(lrc, R->err, sizeof R->err);
    if (!rc && o->out) {
        rc = dist_agree(rank0 ? save_model(R, o->out) : 0, R->err, sizeof R->err);
        if (!rc && !o->quiet) printf("saved %s\n", o->out);
    }
    if (!rc && o->generate)
        rc = dist_agree(rank0 ? generate(R->m, o, R->pool, R->err, sizeof R->err) : 0, R->err,
                        sizeof R->err);
    return rc;
}

int text_run(const text_opts *o)
{
    run R;
    memset(&R, 0, sizeof R);
    R.o = o;
    cr_set_memory_limit(o->max_memory);
    int rc = 0;
    if (!(R.pool = cr_pool_new(o->threads)) || !(R.meta = cr_meta_new()))
        rc = failf(&R, EXIT_TRAIN_FAILED, "%s", "cannot start the threads");
    else if (o->model) {
        if (!(R.m = charlm_load(o->model, R.err, sizeof R.err))) rc = EXIT_USAGE;
        else rc = generate(R.m, o, R.pool, R.err, sizeof R.err);
    } else if (o->eval) rc = run_eval(&R);
    else rc = run_train(&R);
    rc = dist_agree(rc, R.err, sizeof R.err);
    if (rc && dist_rank() == 0) {   /* agreed: the same on every rank */
        fflush(stdout);
        fprintf(stderr, "train_text: %s\n", R.err);
    }
    teardown(&R);
    return rc;
}
