/* Where the data comes from: the embedded spirals, an IDX directory, four IDX
 * files, or CSV tables. */
#include "train.h"

#include <string.h>
#include <sys/stat.h>

#define SPIRAL_TRAIN_SEED 2024
#define SPIRAL_TEST_SEED 2025

static cr_status csv(const train_opts *o, const char *path, int classes, cr_dataset **out,
                     char *err, size_t errsize)
{
    cr_csv_options c = cr_csv_defaults();
    c.header = o->header;
    c.label_column = o->label_column;
    c.n_classes = classes;
    return cr_csv_load(out, path, &c, err, errsize);
}

/* A training set needs two classes at least: said of the training file, before a
 * test file is read with the training set's number of classes. */
static cr_status single_class(const cr_dataset *tr, const char *path, const char *part,
                              char *err, size_t errsize)
{
    if (!tr || tr->n_classes >= 2) return CR_OK;
    snprintf(err, errsize, "%s%s%s: the training data has a single class (every label is 0); "
             "a classifier needs at least 2", path, part ? ", " : "", part ? part : "");
    return CR_ERR_FORMAT;
}

cr_status train_load_data(const train_opts *o, cr_dataset **train, cr_dataset **test,
                          char *err, size_t errsize)
{
    cr_dataset *tr = NULL, *te = NULL;
    cr_status st = CR_OK;
    int need_train = train != NULL;
    if (o->data) {
        struct stat sb;
        if (stat(o->data, &sb) != 0) {
            snprintf(err, errsize, "%s: no such file or directory", o->data);
            return CR_ERR_IO;
        }
        if (S_ISDIR(sb.st_mode)) {
            /* the training set first, checked before the test set is read with its
             * number of classes (else a one-class training set is blamed on t10k) */
            if (need_train) st = cr_idx_load_dir(&tr, NULL, o->data, o->classes, err, errsize);
            if (st == CR_OK) st = single_class(tr, o->data, "train-labels", err, errsize);
            if (st == CR_OK)
                st = cr_idx_load_dir(NULL, &te, o->data,
                                     o->classes ? o->classes : (tr ? tr->n_classes : 0), err,
                                     errsize);
        } else {
            /* CSV: the test table is --test-csv; for --eval without it, the table itself */
            if (need_train || !o->test_csv) st = csv(o, o->data, o->classes, &tr, err, errsize);
            if (st == CR_OK && need_train) st = single_class(tr, o->data, NULL, err, errsize);
            if (st == CR_OK && o->test_csv)
                st = csv(o, o->test_csv, o->classes ? o->classes : (tr ? tr->n_classes : 0), &te,
                         err, errsize);
            if (st == CR_OK && !need_train && !te) {
                te = tr;
                tr = NULL;
            }
        }
    } else if (o->train_images || o->test_images) {
        if (need_train && o->train_images)
            st = cr_idx_load(&tr, o->train_images, o->train_labels, o->classes, err, errsize);
        if (st == CR_OK) st = single_class(tr, o->train_labels, NULL, err, errsize);
        if (st == CR_OK && o->test_images)
            st = cr_idx_load(&te, o->test_images, o->test_labels,
                             o->classes ? o->classes : (tr ? tr->n_classes : 0), err, errsize);
        if (st == CR_OK && need_train && !tr) {
            snprintf(err, errsize, "no training data: give --train-images and --train-labels");
            st = CR_ERR_ARG;
        }
    } else {
        if (need_train)
            st = spirals_make(&tr, o->spiral_arms, o->spiral_points, SPIRAL_TRAIN_SEED, err,
                              errsize);
        if (st == CR_OK)
            st = spirals_make(&te, o->spiral_arms,
                              o->spiral_points / 2 > 0 ? o->spiral_points / 2 : 1,
                              SPIRAL_TEST_SEED, err, errsize);
    }
    if (st == CR_OK && tr && te && te->n_features != tr->n_features) {
        snprintf(err, errsize, "the test set has %zu features per sample but the training set %zu",
                 te->n_features, tr->n_features);
        st = CR_ERR_FORMAT;
    }
    if (st == CR_OK && !need_train && !te) {
        snprintf(err, errsize, "--eval needs test data (--data, --test-images/--test-labels)");
        st = CR_ERR_ARG;
    }
    if (st != CR_OK) {
        cr_dataset_free(tr);
        cr_dataset_free(te);
        return st;
    }
    if (train) *train = tr;
    *test = te;
    return CR_OK;
}
