/* train_text: a character language model (embedding -> LSTM/GRU/RNN -> softmax)
 * trained by truncated backpropagation through time on a UTF-8 text, and sampling
 * from it (issue 15).
 *
 *   train_text --text poems.txt --hidden 128 --epochs 5 --out poems.crm
 *   train_text --model poems.crm --generate 200 --temperature 0.8 --seed 3
 *   train_text --eval poems.crm --text poems.txt
 *
 * The parts live in examples/train_text/ (see text.h), with train's progress
 * display, log and checkpoint checks (examples/train/); docs/TRAINING.md has the
 * options and measured results. Built with MPI (make MPI=1) it is
 * train-text-mpi: data-parallel over the streams of each chunk (run.c). */
#include "text.h"

#include <errno.h>
#include <string.h>

int main(int argc, char **argv)
{
    /* under mpirun (the MPI build, examples/train/dist.c): one rank of several;
     * rank 0 prints, the others only train */
    if (dist_init(&argc, &argv) != 0) {
        fprintf(stderr, "train_text: cannot start MPI\n");
        return EXIT_TRAIN_FAILED;
    }
    int rank0 = dist_rank() == 0;
    if (!rank0 && !freopen("/dev/null", "w", stdout)) {
        fprintf(stderr, "train_text: rank %d: cannot silence the standard output\n",
                dist_rank());
        dist_finish();
        return EXIT_TRAIN_FAILED;
    }
    text_opts o;
    char err[TRAIN_ERR];
    int r = text_parse_args(&o, argc, argv, err, sizeof err);
    if (r > 0) {
        dist_finish();
        return 0;
    }
    if (r < 0) r = EXIT_USAGE;
    if ((r = dist_agree(r, err, sizeof err)) != 0) {
        if (rank0) fprintf(stderr, "train_text: %s\n", err);
        dist_finish();
        return r;
    }
    if (!rank0) {
        o.progress = 0;
        o.quiet = 1;
    }
    r = text_run(&o);
    if (fflush(stdout) != 0 || ferror(stdout)) {
        fprintf(stderr, "train_text: cannot write the standard output: %s\n", strerror(errno));
        if (!r) r = EXIT_TRAIN_FAILED;
    }
    dist_finish();
    return r;
}
