/* --export DIR: after training (or --eval), the model's inference graph as plain C,
 * DIR/NAME.h + DIR/NAME.c (cr_export_c; NAME from --export-name, default "model";
 * --export-int8 for int8 weights). The graph is recorded on one sample in
 * evaluation mode (running batch-norm statistics, no dropout); when the data was
 * standardised the standardisation is part of it, so NAME_predict takes a sample
 * as the data files hold it: IDX pixels / 255, or the CSV's values. */
#include "train.h"

#include <string.h>

int trainer_export(trainer *T)
{
    const train_opts *o = T->o;
    int shape[4], nd = trainer_batch_shape(T, 1, shape);
    cr_tape *t = cr_tape_new(0);
    if (!t) return trainer_fail(T, EXIT_TRAIN_FAILED, "out of memory exporting to %s", o->export_dir);
    int was = trainer_set_training(T, 0);
    cr_tensor *x = cr_tensor_label(cr_const(t, nd, shape, NULL), "x");
    cr_tensor *h = x;
    const cr_dataset *d = T->train ? T->train : T->test;
    if (x && d && d->mean) {
        /* (x - mean) * inv_std per feature, as cr_dataset_gather computes it */
        cr_tensor *mean = cr_const(t, nd, shape, NULL), *inv = cr_const(t, nd, shape, NULL);
        for (size_t j = 0; mean && inv && j < mean->size; j++) {
            mean->data[j] = d->mean[j];
            inv->data[j] = d->inv_std[j];
        }
        h = cr_mul(t, cr_sub(t, x, mean), inv);
    }
    cr_tensor *y = h ? trainer_forward(T, t, h) : NULL;
    cr_export_opts eo = { .int8 = o->export_int8 };
    int rc = 0;
    if (!y) rc = trainer_fail(T, EXIT_TRAIN_FAILED, "recording the model to export it: %s",
                              cr_tape_error(t) ? cr_tape_error(t) : "out of memory");
    else if (cr_export_c(t, 1, &x, y, o->export_name, o->export_dir, &eo, T->err,
                         sizeof T->err) != CR_OK)
        rc = EXIT_TRAIN_FAILED;
    else
        printf("model exported as C: %s/%s.h and %s/%s.c (%s_predict, %s weights)\n",
               o->export_dir, o->export_name, o->export_dir, o->export_name, o->export_name,
               o->export_int8 ? "int8" : "float");
    trainer_set_training(T, was);
    cr_tape_free(t);
    return rc;
}
