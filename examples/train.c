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
    /* under mpirun (the MPI build, examples/train/dist.c): one rank of several;
     * rank 0 prints, the others only train */
    if (dist_init(&argc, &argv) != 0) {
        fprintf(stderr, "train: cannot start MPI\n");
        return EXIT_TRAIN_FAILED;
    }
    int rank0 = dist_rank() == 0;
    if (!rank0 && !freopen("/dev/null", "w", stdout)) {
        fprintf(stderr, "train: rank %d: cannot silence the standard output\n", dist_rank());
        dist_finish();
        return EXIT_TRAIN_FAILED;
    }
    train_opts o;
    char err[TRAIN_ERR];
    int r = train_parse_args(&o, argc, argv, err, sizeof err);
    if (r > 0) {
        dist_finish();
        return 0;
    }
    if (r < 0) r = EXIT_USAGE;
    if ((r = dist_agree(r, err, sizeof err)) != 0) {
        if (rank0) fprintf(stderr, "train: %s\n", err);
        dist_finish();
        return r;
    }
    if (!rank0) {
        o.progress = 0;
        o.quiet = 1;
    }
    r = train_run(&o);
    /* a failed write to the standard output (a full disk, a closed pipe) is an error */
    if (fflush(stdout) != 0 || ferror(stdout)) {
        fprintf(stderr, "train: cannot write the standard output: %s\n", strerror(errno));
        if (!r) r = EXIT_TRAIN_FAILED;
    }
    dist_finish();
    return r;
}
