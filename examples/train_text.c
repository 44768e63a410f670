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
 * options and measured results. */
#include "text.h"

#include <errno.h>
#include <string.h>

int main(int argc, char **argv)
{
    text_opts o;
    char err[TRAIN_ERR];
    int r = text_parse_args(&o, argc, argv, err, sizeof err);
    if (r > 0) return 0;
    if (r < 0) {
        fprintf(stderr, "train_text: %s\n", err);
        return EXIT_USAGE;
    }
    r = text_run(&o);
    if (fflush(stdout) != 0 || ferror(stdout)) {
        fprintf(stderr, "train_text: cannot write the standard output: %s\n", strerror(errno));
        if (!r) r = EXIT_TRAIN_FAILED;
    }
    return r;
}
