/* Checkpoints: parameters and optimizer state through cr_save/cr_load, and the
 * training position, running sums and early-stopping state as metadata. The batch
 * order is a function of (seed, epoch) and the schedule one of the step counter;
 * the dropout masks come from the MLP's own generator, whose position (state, inc)
 * is saved too. This is everything a bit-identical continuation needs. The
 * batchnorm running statistics are tensors of T->file_params (cr_mlp_state). */
#include "train.h"

#include <math.h>
#include <string.h>
#include <unistd.h>

int checkpoint_save(trainer *T)
{
    cr_meta *m = T->meta;
    cr_meta_clear(m);
    model_info_to_meta(&T->mi, m);
    cr_meta_set_u64(m, "train.seed", T->o->seed);
    cr_meta_set_u64(m, "train.batch_size", (uint64_t)T->o->batch);
    cr_meta_set_u64(m, "train.n_train", T->split.n_train);
    cr_meta_set_u64(m, "train.epoch", T->epoch);
    cr_meta_set_u64(m, "train.batch", T->batch);
    cr_meta_set_f64(m, "train.best_val", T->best_val);
    cr_meta_set_u64(m, "train.bad_epochs", T->bad_epochs);
    cr_meta_set_f64(m, "train.ep_loss", T->ep_loss);
    cr_meta_set_u64(m, "train.ep_correct", T->ep_correct);
    cr_meta_set_u64(m, "train.ep_seen", T->ep_seen);
    const cr_rng *r = cr_mlp_rng(T->mlp);
    cr_meta_set_u64(m, "train.dropout_rng.state", r->state);
    cr_meta_set_u64(m, "train.dropout_rng.inc", r->inc);
    if (cr_save(T->o->checkpoint, T->file_params, T->opt, m, T->err, sizeof T->err) != CR_OK)
        return EXIT_TRAIN_FAILED;
    return 0;
}

int checkpoint_resume(trainer *T)
{
    const char *path = T->o->resume;
    cr_meta *m = T->meta;
    if (cr_load(path, T->file_params, T->opt, m, T->err, sizeof T->err) != CR_OK) return EXIT_USAGE;
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
    if (seed != T->o->seed || bs != (uint64_t)T->o->batch || nt != T->split.n_train)
        return trainer_fail(T, EXIT_USAGE,
                            "%s: written with another --seed, --batch or data split; "
                     "resume with the options of the original run", path);
    model_info ck;
    if (model_info_from_meta(&ck, m, path, T->err, sizeof T->err) != CR_OK) return EXIT_USAGE;
    if ((cr_real)ck.dropout != (cr_real)T->mi.dropout || ck.batchnorm != T->mi.batchnorm)
        return trainer_fail(T, EXIT_USAGE, "%s: written with another --dropout or --batchnorm; "
                            "resume with the options of the original run", path);
    cr_rng rng;
    if (cr_meta_get_u64(m, "train.dropout_rng.state", &rng.state) ||
        cr_meta_get_u64(m, "train.dropout_rng.inc", &rng.inc)) {
        if (T->mi.dropout > 0)     /* a checkpoint from before the generator was saved */
            return trainer_fail(T, EXIT_USAGE, "%s: no dropout generator state in the "
                                "checkpoint; cannot resume a --dropout run from it", path);
    } else {
        *cr_mlp_rng(T->mlp) = rng;
    }
    if (T->batch > cr_batcher_batches(T->batcher))
        return trainer_fail(T, EXIT_USAGE, "%s: batch position beyond the epoch", path);
    return 0;
}
