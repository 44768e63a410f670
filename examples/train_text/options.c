/* Command-line options of train_text: "--name value" or "--name=value", in any
 * order. Parsing never exits and prints only for --help; every problem becomes a
 * one-line message. */
#include "text.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

void text_usage(FILE *f)
{
    fputs(
"NAME\n"
"    train_text - train a character language model with chainrule, and sample\n"
"\n"
"SYNOPSIS\n"
"    train_text --text FILE [OPTION]...\n"
"    train_text --model MODEL --generate N [--temperature X] [--seed S] [--prime TEXT]\n"
"    train_text --eval MODEL --text FILE\n"
"\n"
"DESCRIPTION\n"
"    Reads a UTF-8 text as characters (Unicode code points), holds out its last\n"
"    10% for validation, and trains embedding -> recurrent layers -> dense to\n"
"    the vocabulary with softmax cross-entropy on the next character, by\n"
"    truncated backpropagation through time: B parallel streams, chunks of T\n"
"    steps, the hidden state carried (detached) from chunk to chunk; one recorded\n"
"    chunk is replayed for every chunk. One line per epoch with the validation\n"
"    loss (nats per character) and bits per character. The model file holds the\n"
"    vocabulary and the architecture: sampling needs no other file.\n"
"\n"
"OPTIONS\n"
"  --text FILE            the corpus (UTF-8; .gz works)\n"
"  --val X                fraction held out at the end (default 0.1)\n"
"  --cell KIND            lstm, gru, rnn_tanh or rnn_relu (default lstm)\n"
"  --embed E              embedding size (default 64)\n"
"  --hidden H             hidden size (default 256)\n"
"  --layers L             recurrent layers (default 1)\n"
"  --dropout P            dropout between recurrent layers (default 0)\n"
"  --batch B              parallel streams (default 32)\n"
"  --steps T              time steps per chunk (default 64)\n"
"  --epochs N             passes over the training part (default 1)\n"
"  --max-steps N          stop after N steps in all (default: no limit)\n"
"  --optim NAME           sgd, momentum, nesterov, adagrad, rmsprop, adam, adamw\n"
"                         (default adam)\n"
"  --lr X                 learning rate (default 0.002)\n"
"  --clip X               clip the global gradient norm to X (default 0: off)\n"
"  --seed S               weights, dropout and sampling (default 1)\n"
"  --threads N            threads (default: CR_NUM_THREADS, else 1)\n"
"  --out FILE             save the trained model\n"
"  --log FILE             CSV log, one row per epoch\n"
"  --checkpoint FILE      save the whole training state at the end of each epoch,\n"
"                         every --checkpoint-every N steps, and at --max-steps\n"
"  --resume FILE          continue a checkpoint exactly (same options)\n"
"  --eval MODEL           only evaluate MODEL on the held-out part of --text\n"
"  --model MODEL          sample from MODEL (with --generate; no --text needed)\n"
"  --generate N           print N sampled characters (after training, or from\n"
"                         --model)\n"
"  --temperature X        sampling temperature > 0 (default 1); 0: always the\n"
"                         most likely character\n"
"  --prime TEXT           the text sampling starts from (default: a newline, or\n"
"                         the vocabulary's first character if it has none)\n"
"  --progress, --no-progress\n"
"                         live progress bar on stderr, or not (default: on a\n"
"                         terminal)\n"
"  --quiet                only errors and results\n"
"  --rerecord             record each chunk anew instead of replaying one tape\n"
"  --anomaly              NaN/Inf checks on every op\n"
"  --max-memory MB        memory limit for files and models\n"
"  --help                 this text\n"
"\n"
"DATA PARALLEL\n"
"    The MPI build (make MPI=1: build/float/examples/train-text-mpi, installed\n"
"    as chainrule-train-text-mpi) takes the same options under mpirun -np N:\n"
"    --batch is the number of streams of the whole job, rank r runs streams\n"
"    [r B / N, (r + 1) B / N) of every chunk and the gradients are summed over\n"
"    the ranks (in shared memory on one host); rank 0 prints and writes --out,\n"
"    --log and --checkpoint (with every stream's carried state), and --resume\n"
"    works with any N.\n"
"  --allreduce MODE       auto (shared memory on a host, MPI between hosts) or mpi\n"
"  --allreduce-group K    at most K ranks per shared-memory group\n"
"\n"
"EXIT STATUS\n"
"    0 success, 1 training failed, 2 bad options or input files.\n", f);
}

static int fail(char *err, size_t errsize, const char *fmt, const char *a, const char *b)
{
    snprintf(err, errsize, fmt, a, b);
    return -1;
}

static int parse_long(const char *s, long lo, long hi, long *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (!*s || *end || errno || v < lo || v > hi) return -1;
    *out = v;
    return 0;
}

static int parse_real(const char *s, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (!*s || *end || errno || !isfinite(v)) return -1;
    *out = v;
    return 0;
}

int text_parse_args(text_opts *o, int argc, char **argv, char *err, size_t errsize)
{
    memset(o, 0, sizeof *o);
    o->val = 0.1;
    o->cell = CR_LSTM;
    o->embed = 64;
    o->hidden = 256;
    o->layers = 1;
    o->batch = 32;
    o->steps = 64;
    o->epochs = 1;
    o->seed = 1;
    o->temperature = 1;
    o->progress = -1;
    cr_optim_kind kind = CR_OPTIM_ADAM;
    double lr = 0.002;
    static const char *const flags[] = { "--quiet", "--rerecord", "--anomaly", "--progress",
                                         "--no-progress", "--help", "-h" };
    int anomaly = 0;
    for (int i = 1; i < argc; i++) {
        char name[64];
        const char *a = argv[i], *v = NULL, *eq = strchr(a, '=');
        if (strncmp(a, "--", 2) != 0 && strcmp(a, "-h") != 0)
            return fail(err, errsize, "unexpected argument '%s' (options start with --; see "
                        "--help)", a, "");
        size_t nl = eq ? (size_t)(eq - a) : strlen(a);
        if (nl >= sizeof name) return fail(err, errsize, "unknown option '%.60s'%s", a, "");
        memcpy(name, a, nl);
        name[nl] = '\0';
        int flag = 0;
        for (size_t k = 0; k < sizeof flags / sizeof *flags; k++) flag |= strcmp(name, flags[k]) == 0;
        if (flag) {
            if (eq) return fail(err, errsize, "%s takes no value%s", name, "");
            if (!strcmp(name, "--help") || !strcmp(name, "-h")) {
                text_usage(stdout);
                return 1;
            }
            if (!strcmp(name, "--quiet")) o->quiet = 1;
            else if (!strcmp(name, "--progress")) o->progress = 1;
            else if (!strcmp(name, "--no-progress")) o->progress = 0;
            else if (!strcmp(name, "--rerecord")) o->rerecord = 1;
            else anomaly = 1;
            continue;
        }
        static const char *const valued[] = {
            "--text", "--val", "--cell", "--embed", "--hidden", "--layers", "--dropout",
            "--batch", "--steps", "--epochs", "--max-steps", "--optim", "--lr", "--clip",
            "--seed", "--threads", "--out", "--log", "--checkpoint", "--checkpoint-every",
            "--resume", "--eval", "--model", "--generate", "--temperature", "--prime",
            "--max-memory", "--allreduce", "--allreduce-group" };
        int known = 0;
        for (size_t k = 0; k < sizeof valued / sizeof *valued; k++)
            known |= strcmp(name, valued[k]) == 0;
        if (!known) return fail(err, errsize, "unknown option '%s' (see --help)%s", name, "");
        if (eq) v = eq + 1;
        else if (i + 1 < argc) v = argv[++i];
        else return fail(err, errsize, "%s needs a value%s", name, "");
        long n;
        double x;
#define IS(s) (strcmp(name, s) == 0)
#define INT(lo, hi, dst) do { \
            if (parse_long(v, lo, hi, &n)) { \
                return fail(err, errsize, "%s: '%s' is not an integer in range", name, v); \
            } \
            dst = n; \
        } while (0)
#define REAL(dst) do { \
            if (parse_real(v, &x)) { \
                return fail(err, errsize, "%s: '%s' is not a finite number", name, v); \
            } \
            dst = x; \
        } while (0)
        if (IS("--text")) o->text = v;
        else if (IS("--val")) {
            REAL(o->val);
            if (!(o->val > 0 && o->val < 1))
                return fail(err, errsize, "--val: '%s' is not a fraction in (0, 1)%s", v, "");
        } else if (IS("--cell")) {
            if (cr_rnn_kind_from_name(v, &o->cell) != CR_OK)
                return fail(err, errsize, "--cell: '%s' is not lstm, gru, rnn_tanh or rnn_relu%s",
                            v, "");
        } else if (IS("--embed")) INT(1, 65536, o->embed);
        else if (IS("--hidden")) INT(1, 65536, o->hidden);
        else if (IS("--layers")) INT(1, CR_RNN_MAX_LAYERS, o->layers);
        else if (IS("--dropout")) {
            REAL(o->dropout);
            if (!(o->dropout >= 0 && o->dropout < 1))
                return fail(err, errsize, "--dropout: '%s' is outside [0, 1)%s", v, "");
        } else if (IS("--batch")) INT(1, 1 << 20, o->batch);
        else if (IS("--steps")) INT(1, 1 << 20, o->steps);
        else if (IS("--epochs")) INT(1, 1 << 30, o->epochs);
        else if (IS("--max-steps")) INT(1, LONG_MAX, o->max_steps);
        else if (IS("--optim")) {
            if (cr_optim_kind_from_name(v, &kind) != CR_OK)
                return fail(err, errsize, "--optim: unknown optimizer '%s'%s", v, "");
        } else if (IS("--lr")) REAL(lr);
        else if (IS("--clip")) {
            REAL(o->clip);
            if (o->clip < 0) return fail(err, errsize, "--clip: '%s' is negative%s", v, "");
        } else if (IS("--seed")) INT(0, LONG_MAX, o->seed);
        else if (IS("--threads")) INT(1, 1024, o->threads);
        else if (IS("--allreduce")) {
            if (strcmp(v, "auto") && strcmp(v, "mpi"))
                return fail(err, errsize, "--allreduce: '%s' is not auto or mpi%s", v, "");
            o->allreduce_mpi = !strcmp(v, "mpi");
        } else if (IS("--allreduce-group")) INT(1, 1 << 20, o->allreduce_group);
        else if (IS("--out")) o->out = v;
        else if (IS("--log")) o->log = v;
        else if (IS("--checkpoint")) o->checkpoint = v;
        else if (IS("--checkpoint-every")) INT(1, LONG_MAX, o->checkpoint_every);
        else if (IS("--resume")) o->resume = v;
        else if (IS("--eval")) o->eval = v;
        else if (IS("--model")) o->model = v;
        else if (IS("--generate")) INT(1, 1L << 30, o->generate);
        else if (IS("--temperature")) {
            REAL(o->temperature);
            if (o->temperature < 0)
                return fail(err, errsize, "--temperature: '%s' is negative%s", v, "");
        } else if (IS("--prime")) o->prime = v;
        else if (IS("--max-memory")) {
            INT(1, LONG_MAX / (1L << 20), n);
            o->max_memory = (size_t)n << 20;
        } else return fail(err, errsize, "unknown option '%s' (see --help)%s", name, "");
#undef IS
#undef INT
#undef REAL
    }
    o->optim = cr_optim_defaults(kind);
    o->optim.lr = lr;
    o->anomaly = anomaly;
    if (cr_optim_config_check(&o->optim, err, errsize) != CR_OK) return -1;
    int modes = (o->eval != NULL) + (o->model != NULL);
    if (modes > 1) return fail(err, errsize, "--eval and --model are separate modes%s%s", "", "");
    if (o->model && !o->generate)
        return fail(err, errsize, "--model needs --generate N%s%s", "", "");
    if (!o->model && !o->text)
        return fail(err, errsize, "no text: give --text FILE (or --model MODEL --generate N)%s%s",
                    "", "");
    if (o->model && (o->out || o->resume || o->checkpoint))
        return fail(err, errsize, "--model only samples: --out, --checkpoint and --resume "
                    "belong to training%s%s", "", "");
    return 0;
}
