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

#include <errno.h>
#include <string.h>

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
    r = train_run(&o);
    /* a failed write to the standard output (a full disk, a closed pipe) is an error */
    if (fflush(stdout) != 0 || ferror(stdout)) {
        fprintf(stderr, "train: cannot write the standard output: %s\n", strerror(errno));
        if (!r) r = EXIT_TRAIN_FAILED;
    }
    return r;
}
