/* train: a classifier trainer for IDX (MNIST, Fashion-MNIST) and CSV data, or for
 * the embedded spirals when run without options (`make run`).
 *
 *   train                                          # spirals, in seconds
 *   train --data /usr/share/datasets/fashion-mnist --hidden 128 --val 0
 *   train --eval model.crm --data /usr/share/datasets/fashion-mnist
 *
 * The parts live in examples/train/ (see train.h); docs/TRAINING.md has the
 * options, the file formats and measured results. */
#include "train.h"

int main(int argc, char **argv)
{
    train_opts o;
    char err[TRAIN_ERR];
    int r = train_parse_args(&o, argc, argv, err, sizeof err);
    if (r > 0) return 0;
    if (r < 0) {
        fprintf(stderr, "train: %s\n", err);
        return EXIT_USAGE;
    }
    return train_run(&o);
}
