/* Command-line options of the training program: "--name value" or "--name=value".
 * Parsing never exits and never prints except for --help; every problem becomes a
 * one-line message. Options may come in any order: optimizer and schedule fields
 * are collected first and applied to the chosen kind's defaults at the end. */
#include "train.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

/* The library's optimizer (schedule) names, "sgd, momentum, ..., adamw" with `last`
 * before the final one: the one list, never repeated here. */
static const char *kind_names(char *buf, size_t size, int schedules, const char *last)
{
    int n = schedules ? CR_SCHED_KIND_COUNT : CR_OPTIM_KIND_COUNT;
    size_t k = 0;
    buf[0] = '\0';
    for (int i = 0; i < n && k < size; i++)
        k += (size_t)snprintf(buf + k, size - k, "%s%s", i == 0 ? "" : i + 1 < n ? ", " : last,
                              schedules ? cr_schedule_kind_name((cr_schedule_kind)i)
                                        : cr_optim_kind_name((cr_optim_kind)i));
    return buf;
}

/* The --help text, laid out as a manual page: `make install` turns it into
 * chainrule-train(1) with tools/help-to-man.sh (section titles in capitals at the
 * start of a line). Each fputs string stays under the 4095 characters C11
 * guarantees. */
void train_usage(FILE *f)
{
    char names[256];
    fputs(
"NAME\n"
"    chainrule-train - train a multilayer perceptron classifier with chainrule\n"
"\n"
"SYNOPSIS\n"
"    chainrule-train [OPTION]...\n"
"    chainrule-train --eval MODEL [DATA OPTION]...\n"
"\n"
"DESCRIPTION\n"
"    Trains an MLP with softmax cross-entropy on MNIST-style IDX files, on a CSV\n"
"    table or, without data options, on three interleaved spirals generated in\n"
"    the program (no download). Prints one line per epoch, the test accuracy and\n"
"    the confusion matrix; saves the model, and a Graphviz file of one training\n"
"    step's graph. With --eval it evaluates a saved model instead. Options are\n"
"    --name VALUE or --name=VALUE, in any order. In the source tree the program\n"
"    is build/float/examples/train (build/double/... in double precision).\n"
"\n"
"OPTIONS\n"
"  Data (default: the embedded spirals)\n"
"  --data PATH            a directory with the four IDX files of MNIST or\n"
"                         Fashion-MNIST (train-images-idx3-ubyte[.gz] ...\n"
"                         t10k-labels-idx1-ubyte[.gz]), or a CSV file\n"
"  --train-images F --train-labels F --test-images F --test-labels F\n"
"                         the IDX files one by one (each pair together)\n"
"  --test-csv FILE        CSV test table (with --data FILE.csv)\n"
"  --label-column N       CSV label column, 0-based; -1 = last (default -1)\n"
"  --header yes|no|auto   CSV header line (default auto)\n"
"  --classes N            number of classes (default: largest label + 1)\n"
"  --val X                hold out X of the training set for validation:\n"
"                         a fraction if < 1, else a count (default 0.1)\n"
"  --standardize          per-feature mean/std from the training part\n"
"                         (default: off; pixels are always scaled to [0,1]);\n"
"                         with --arch, a first layer \"standardize\" holding\n"
"                         them, saved in the model file\n"
"  --spiral-arms N        embedded data: number of arms (default 3)\n"
"  --spiral-points N      embedded data: training points per arm (default 2000)\n"
"\n", f);
    fputs(
"  Model\n"
"  --arch SPEC            the whole model as a layer spec, e.g. \"conv 8 3x3 pad 1,\n"
"                         relu, maxpool 2, flatten, dense 128, relu, dense 10\"\n"
"                         (docs/TRAINING.md; IDX images enter as 1 x rows x cols,\n"
"                         other data as features; the last layer's width is the\n"
"                         number of classes). Replaces the four MLP options\n"
"                         below (--hidden, --activation, --dropout, --batchnorm)\n"
"                         and --init, which are shorthands for an MLP\n"
"  --hidden LIST          hidden layer widths, e.g. 256,128 ('none': no hidden\n"
"                         layer) (default 128; spirals 128,128)\n"
"  --activation NAME      relu, tanh, sigmoid, leaky_relu (default relu)\n"
"  --init NAME            auto, he_normal, he_uniform, xavier_normal,\n"
"                         xavier_uniform (default auto: He normal before relu,\n"
"                         else Xavier uniform)\n"
"  --dropout P            drop hidden activations with probability P in [0, 1)\n"
"                         while training (default 0: no dropout)\n"
"  --batchnorm            batch normalisation after every hidden linear layer\n"
"                         (the running statistics are saved with the model;\n"
"                         a training batch must hold >= 2 samples, a run whose\n"
"                         last batch would hold 1 is refused)\n"
"\n"
"  Optimisation (softmax cross-entropy loss)\n", f);
    fprintf(f, "  --optim NAME           %s\n", kind_names(names, sizeof names, 0, ", "));
    fputs(
"                         (default sgd; spirals adam)\n"
"  --lr X                 learning rate (default 0.1 for sgd/momentum/nesterov,\n"
"                         else the optimizer's default; spirals 0.01)\n"
"  --momentum X --beta1 X --beta2 X --rho X --eps X --weight-decay X\n"
"                         optimizer hyper-parameters (docs/TRAINING.md)\n"
"  --schedule NAME        ", f);
    fprintf(f, "%s\n", kind_names(names, sizeof names, 1, ", "));
    fputs(
"                         (default constant; spirals cosine)\n"
"  --gamma X --step-size N --decay X --lr-min X --cosine-steps N --warmup N\n"
"                         schedule parameters, in optimizer steps (cosine:\n"
"                         default --cosine-steps = all steps of the run)\n"
"  --clip X               clip the global gradient norm at X (default 0: off)\n"
"  --batch N              minibatch size (default 64; spirals 32)\n"
"  --epochs N             epochs (default 10; spirals 60)\n"
"  --patience N           stop when the validation loss has not improved for N\n"
"                         epochs (default 0: never)\n"
"  --seed N               seed of weights, split and batch order (default 1)\n"
"  --threads N            threads for the kernels (default: CR_NUM_THREADS,\n"
"                         else 1)\n"
"\n", f);
    fputs(
"  Output and control\n"
"  --out FILE             where to save the model (default model.crm)\n"
"  --dot FILE             Graphviz file of one training step's graph\n"
"                         (default: the model path with .dot)\n"
"  --html FILE            interactive page (open it in a browser) of the first\n"
"                         training step: step through its forward and backward\n"
"  --log FILE             CSV log, one line per epoch (default: none)\n"
"  --save-graph FILE      also save the inference graph (raw samples in, logits\n"
"                         out; a graph file runs without this program's code:\n"
"                         chainrule-run FILE DATA, or --eval FILE)\n"
"  --checkpoint FILE      save the whole training state there (atomically) ...\n"
"  --checkpoint-every N   ... every N steps (default: at the end of every epoch)\n"
"  --resume FILE          continue from a checkpoint (give the same options)\n"
"  --max-steps N          stop after N steps in total (default 0: no limit)\n"
"  --eval MODEL           do not train: evaluate MODEL on the test set (the\n"
"                         model file holds the network and its input scaling;\n"
"                         MODEL may also be a graph file, --save-graph)\n"
"  --export DIR           after training (or --eval), write the model as plain C:\n"
"                         DIR/NAME.h and DIR/NAME.c, NAME_predict(x, y) on one\n"
"                         sample as the data files hold it (input scaling included)\n"
"  --export-name NAME     C name of the exported model (default model)\n"
"  --export-int8          export dense and conv weights as int8 (one scale per\n"
"                         output channel)\n"
"  --progress, --no-progress\n"
"                         live progress bar on or off (default: on if stderr is\n"
"                         a terminal, else one line per epoch)\n"
"  --max-memory SIZE      refuse data, model files and models needing more memory\n"
"                         than SIZE (bytes, or with K, M, G, T; default: half the\n"
"                         physical memory or of ulimit -v)\n"
"  --quiet                only the final summary\n"
"  --rerecord             record the graph every step instead of replaying it\n"
"  --anomaly              check every op for NaN/Inf and stop at the first\n"
"  -h, --help             print this text and exit 0\n"
"\n"
"DATA PARALLEL\n"
"    The MPI build (make MPI=1: build/float/examples/train-mpi) takes the same\n"
"    options under mpirun -np N: --batch is the global batch, each rank runs\n"
"    its N-th of every batch and the gradients are summed over the ranks; rank\n"
"    0 prints and writes --out, --log and --checkpoint; --resume works with any\n"
"    N. All ranks need the same options and data (checked at the start).\n"
"    The ranks of one host sum their gradients in shared memory, one rank per\n"
"    host with the others over MPI:\n"
"  --allreduce MODE       auto (that) or mpi (MPI collectives between all ranks,\n"
"                         no shared memory)\n"
"  --allreduce-group K    at most K ranks per shared-memory group (default: all\n"
"                         the ranks of a host)\n"
"\n"
"EXIT STATUS\n"
"    0   success: trained (or evaluated with --eval) and saved, or --help\n"
"    1   training or evaluation failed: out of memory, a NaN/Inf loss, the\n"
"        model or graph file could not be written\n"
"    2   bad options; an input, model or checkpoint file that is missing,\n"
"        malformed or does not fit the options; a log that cannot be created\n"
"\n"
"ENVIRONMENT\n"
"    CR_NUM_THREADS       threads when --threads is not given (default 1)\n"
"\n"
"EXAMPLES\n"
"    chainrule-train\n"
"        the embedded spirals (about 96% test accuracy in seconds); writes\n"
"        model.crm and model.dot\n"
"    chainrule-train --data /usr/share/datasets/fashion-mnist --val 0 \\\n"
"        --hidden 128 --optim sgd --lr 0.1 --epochs 10 --out fashion.crm\n"
"        Fashion-MNIST (Debian package dataset-fashion-mnist)\n"
"    chainrule-train --eval fashion.crm --data /usr/share/datasets/fashion-mnist\n"
"        evaluate that model on the 10000 test images\n"
"    chainrule-train --data table.csv --standardize --hidden 32 --epochs 50\n"
"        a CSV table whose last column is the class\n"
"\n", f);
    fputs(
"SEE ALSO\n"
"    docs/TRAINING.md in the chainrule sources: options, file formats, results\n", f);
}

typedef struct raw {
    int optim_set, lr_set, sched_set, hidden_set, act_set, batch_set, epochs_set;
    int init_set, dropout_set;
    int set_momentum, set_beta1, set_beta2, set_rho, set_eps, set_wd;
    int set_gamma, set_step, set_decay, set_lrmin, set_T, set_warmup;
    cr_optim_kind kind;
    cr_schedule_kind skind;
    double lr, momentum, beta1, beta2, rho, eps, wd, gamma, decay, lrmin;
    long step_size, T, warmup;
} raw;

static int fail(char *err, size_t errsize, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errsize, fmt, ap);
    va_end(ap);
    /* arguments are quoted in messages: keep the message one line, no escapes */
    for (char *p = err; errsize && *p; p++)
        if ((unsigned char)*p < 0x20 || *p == 0x7f) *p = '?';
    return -1;
}

static int get_long(const char *name, const char *s, long lo, long hi, long *out, char *err,
                    size_t errsize)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (end == s || *end || errno)
        return fail(err, errsize, "%s: '%s' is not an integer", name, s);
    if (v < lo || v > hi)
        return fail(err, errsize, "%s: %ld is outside %ld..%ld", name, v, lo, hi);
    *out = v;
    return 0;
}

static int get_int(const char *name, const char *s, long lo, long hi, int *out, char *err,
                   size_t errsize)
{
    long v;
    if (get_long(name, s, lo, hi, &v, err, errsize)) return -1;
    *out = (int)v;
    return 0;
}

static int get_double(const char *name, const char *s, double lo, double hi, double *out,
                      char *err, size_t errsize)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (end == s || *end || errno || !isfinite(v))
        return fail(err, errsize, "%s: '%s' is not a finite number", name, s);
    if (v < lo || v > hi) return fail(err, errsize, "%s: %g is outside [%g, %g]", name, v, lo, hi);
    *out = v;
    return 0;
}

static int get_hidden(train_opts *o, const char *s, char *err, size_t errsize)
{
    o->n_hidden = 0;
    if (!strcmp(s, "none") || !*s) return 0;
    const char *p = s;
    for (;;) {
        char *end;
        errno = 0;
        long v = strtol(p, &end, 10);
        if (end == p || errno || v < 1 || v > 1000000 || (*end && *end != ','))
            return fail(err, errsize, "--hidden: '%s' is not a list of widths like 256,128", s);
        if (o->n_hidden == TRAIN_MAX_HIDDEN)
            return fail(err, errsize, "--hidden: at most %d hidden layers", TRAIN_MAX_HIDDEN);
        o->hidden[o->n_hidden++] = (int)v;
        if (!*end) return 0;
        p = end + 1;
    }
}

/* A size: digits with an optional K, M, G or T (powers of 1024), at least 1 MiB. */
static int get_size(const char *name, const char *s, size_t *out, char *err, size_t errsize)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    int shift = 0;
    static const char units[] = "KMGT";
    if (*end && !end[1]) {
        const char *u = strchr(units, toupper((unsigned char)*end));
        if (u) {
            shift = 10 * (int)(u - units + 1);
            end++;
        }
    }
    if (end == s || *end || errno || *s == '-' || (shift && v > (ULLONG_MAX >> shift)))
        return fail(err, errsize, "%s: '%s' is not a size like 4G, 512M or 1000000000", name, s);
    v <<= shift;
    if (v < (1ull << 20) || v > SIZE_MAX)
        return fail(err, errsize, "%s: %s is outside 1M..%zu bytes", name, s, (size_t)SIZE_MAX);
    *out = (size_t)v;
    return 0;
}

static void defaults(train_opts *o)
{
    memset(o, 0, sizeof *o);
    o->label_column = -1;
    o->header = -1;
    o->val = 0.1;
    o->spiral_arms = 3;
    o->spiral_points = 2000;
    o->hidden[0] = 128;
    o->n_hidden = 1;
    o->act = CR_ACT_RELU;
    o->init = CR_INIT_AUTO;
    o->batch = 64;
    o->epochs = 10;
    o->seed = 1;
    o->out = "model.crm";
    o->export_name = "model";
    o->progress = -1;
}

/* Options taking a value; everything else is a flag. */
static const char *const with_value[] = {
    "--data", "--train-images", "--train-labels", "--test-images", "--test-labels",
    "--test-csv", "--label-column", "--header", "--classes", "--val", "--spiral-arms",
    "--spiral-points", "--arch", "--hidden", "--activation", "--init", "--dropout", "--optim", "--lr",
    "--momentum", "--beta1", "--beta2", "--rho", "--eps", "--weight-decay", "--schedule",
    "--gamma", "--step-size", "--decay", "--lr-min", "--cosine-steps", "--warmup", "--clip",
    "--batch", "--epochs", "--patience", "--seed", "--threads", "--out", "--dot", "--html", "--log",
    "--checkpoint", "--checkpoint-every", "--resume", "--max-steps", "--eval", "--max-memory",
    "--export", "--export-name", "--save-graph", "--allreduce", "--allreduce-group", NULL
};

static int takes_value(const char *name)
{
    for (int i = 0; with_value[i]; i++)
        if (!strcmp(name, with_value[i])) return 1;
    return 0;
}

/* One option with its value (NULL for flags). */
static int option(train_opts *o, raw *r, const char *n, const char *v, char *err, size_t errsize)
{
    long l;
#define IS(s) (!strcmp(n, s))
/* numeric options that also record that they were given */
#define INT(dst, lo, hi) get_int(n, v, lo, hi, dst, err, errsize)
#define LNG(flag, dst, lo, hi) ((flag) = 1, get_long(n, v, lo, hi, dst, err, errsize))
#define DBL(flag, dst, lo, hi) ((flag) = 1, get_double(n, v, lo, hi, dst, err, errsize))
    if (IS("--data")) o->data = v;
    else if (IS("--train-images")) o->train_images = v;
    else if (IS("--train-labels")) o->train_labels = v;
    else if (IS("--test-images")) o->test_images = v;
    else if (IS("--test-labels")) o->test_labels = v;
    else if (IS("--test-csv")) o->test_csv = v;
    else if (IS("--label-column")) return INT(&o->label_column, -1, INT_MAX);
    else if (IS("--header")) {
        if (!strcmp(v, "yes")) o->header = 1;
        else if (!strcmp(v, "no")) o->header = 0;
        else if (!strcmp(v, "auto")) o->header = -1;
        else return fail(err, errsize, "--header: '%s' is not yes, no or auto", v);
    } else if (IS("--classes")) return INT(&o->classes, 1, 1000000);
    else if (IS("--val")) return get_double(n, v, 0, 1e9, &o->val, err, errsize);
    else if (IS("--spiral-arms")) return INT(&o->spiral_arms, 2, 10);
    else if (IS("--spiral-points")) return INT(&o->spiral_points, 10, 1000000);
    else if (IS("--arch")) {
        if (!v[0]) return fail(err, errsize, "--arch: the spec is empty (see --help)");
        o->arch = v;
    } else if (IS("--hidden")) {
        r->hidden_set = 1;
        return get_hidden(o, v, err, errsize);
    } else if (IS("--activation")) {
        r->act_set = 1;
        if (cr_activation_from_name(v, &o->act) != CR_OK || o->act == CR_ACT_NONE ||
            o->act == CR_ACT_SOFTMAX)
            return fail(err, errsize, "--activation: '%s' is not relu, tanh, sigmoid or leaky_relu",
                        v);
    } else if (IS("--init")) {
        r->init_set = 1;
        if (cr_init_from_name(v, &o->init) != CR_OK || o->init == CR_INIT_ZEROS)
            return fail(err, errsize, "--init: '%s' is not auto, he_normal, he_uniform, "
                        "xavier_normal or xavier_uniform", v);
    } else if (IS("--dropout")) {
        r->dropout_set = 1;
        if (get_double(n, v, -1e30, 1e30, &o->dropout, err, errsize)) return -1;
        if (o->dropout < 0 || o->dropout >= 1)
            return fail(err, errsize, "--dropout: %g is outside [0, 1)", o->dropout);
    } else if (IS("--optim")) {
        r->optim_set = 1;
        char names[256];
        if (cr_optim_kind_from_name(v, &r->kind) != CR_OK)
            return fail(err, errsize, "--optim: '%s' is not %s", v,
                        kind_names(names, sizeof names, 0, " or "));
    } else if (IS("--lr")) return DBL(r->lr_set, &r->lr, 0, 1e6);
    else if (IS("--momentum")) return DBL(r->set_momentum, &r->momentum, 0, 1);
    else if (IS("--beta1")) return DBL(r->set_beta1, &r->beta1, 0, 1);
    else if (IS("--beta2")) return DBL(r->set_beta2, &r->beta2, 0, 1);
    else if (IS("--rho")) return DBL(r->set_rho, &r->rho, 0, 1);
    else if (IS("--eps")) return DBL(r->set_eps, &r->eps, 0, 1);
    else if (IS("--weight-decay")) return DBL(r->set_wd, &r->wd, 0, 1e3);
    else if (IS("--schedule")) {
        r->sched_set = 1;
        char names[256];
        if (cr_schedule_kind_from_name(v, &r->skind) != CR_OK)
            return fail(err, errsize, "--schedule: '%s' is not %s", v,
                        kind_names(names, sizeof names, 1, " or "));
    } else if (IS("--gamma")) return DBL(r->set_gamma, &r->gamma, 0, 1);
    else if (IS("--step-size")) return LNG(r->set_step, &r->step_size, 1, LONG_MAX);
    else if (IS("--decay")) return DBL(r->set_decay, &r->decay, 0, 1e9);
    else if (IS("--lr-min")) return DBL(r->set_lrmin, &r->lrmin, 0, 1e6);
    else if (IS("--cosine-steps")) return LNG(r->set_T, &r->T, 1, LONG_MAX);
    else if (IS("--warmup")) return LNG(r->set_warmup, &r->warmup, 0, LONG_MAX);
    else if (IS("--clip")) return get_double(n, v, 0, 1e30, &o->clip, err, errsize);
    else if (IS("--batch")) {
        r->batch_set = 1;
        return INT(&o->batch, 1, 1 << 20);
    } else if (IS("--epochs")) {
        r->epochs_set = 1;
        return INT(&o->epochs, 1, 1000000);
    } else if (IS("--patience")) return INT(&o->patience, 0, 1000000);
    else if (IS("--seed")) {
        if (get_long(n, v, 0, LONG_MAX, &l, err, errsize)) return -1;
        o->seed = (unsigned long long)l;
    } else if (IS("--threads")) return INT(&o->threads, 1, 256);
    else if (IS("--out")) o->out = v;
    else if (IS("--dot")) o->dot = v;
    else if (IS("--html")) o->html = v;
    else if (IS("--log")) o->log = v;
    else if (IS("--checkpoint")) o->checkpoint = v;
    else if (IS("--checkpoint-every"))
        return get_long(n, v, 1, LONG_MAX, &o->checkpoint_every, err, errsize);
    else if (IS("--resume")) o->resume = v;
    else if (IS("--max-steps")) return get_long(n, v, 1, LONG_MAX, &o->max_steps, err, errsize);
    else if (IS("--eval")) o->eval = v;
    else if (IS("--export")) o->export_dir = v;
    else if (IS("--export-name")) o->export_name = v;
    else if (IS("--save-graph")) o->save_graph = v;
    else if (IS("--max-memory")) return get_size(n, v, &o->max_memory, err, errsize);
    else if (IS("--standardize")) o->standardize = 1;
    else if (IS("--progress")) o->progress = 1;
    else if (IS("--no-progress")) o->progress = 0;
    else if (IS("--quiet")) o->quiet = 1;
    else if (IS("--rerecord")) o->rerecord = 1;
    else if (IS("--allreduce")) {
        if (!strcmp(v, "auto")) o->allreduce_mpi = 0;
        else if (!strcmp(v, "mpi")) o->allreduce_mpi = 1;
        else return fail(err, errsize, "--allreduce: '%s' is not auto or mpi", v);
    } else if (IS("--allreduce-group")) return INT(&o->allreduce_group, 1, 1 << 20);
    else if (IS("--anomaly")) o->anomaly = 1;
    else if (IS("--export-int8")) o->export_int8 = 1;
    else if (IS("--batchnorm")) o->batchnorm = 1;
    else return fail(err, errsize, "unknown option '%s' (see --help)", n);
#undef IS
#undef INT
#undef LNG
#undef DBL
    return 0;
}

/* Apply the collected optimizer/schedule fields; validate them with the library. */
static int finish(train_opts *o, raw *r, char *err, size_t errsize)
{
    int embedded = !o->data && !o->train_images && !o->train_labels && !o->test_images &&
                   !o->test_labels;
    if (embedded) {                      /* presets for the spirals, where unset */
        if (!r->hidden_set && !o->arch) {
            o->hidden[0] = o->hidden[1] = 128;
            o->n_hidden = 2;
        }
        if (!r->optim_set) r->kind = CR_OPTIM_ADAM;
        if (!r->lr_set && !r->optim_set) {
            r->lr = 0.01;
            r->lr_set = 1;
        }
        if (!r->batch_set) o->batch = 32;
        if (!r->epochs_set) o->epochs = 60;
        if (!r->sched_set) {
            r->skind = CR_SCHED_COSINE;
            r->sched_set = 1;
        }
    }
    cr_optim_config *c = &o->optim;
    *c = cr_optim_defaults(r->kind);
    if (r->lr_set) c->lr = r->lr;
    else if (r->kind == CR_OPTIM_SGD || r->kind == CR_OPTIM_MOMENTUM ||
             r->kind == CR_OPTIM_NESTEROV)
        c->lr = 0.1;
    if (r->set_momentum) c->momentum = r->momentum;
    if (r->set_beta1) c->beta1 = r->beta1;
    if (r->set_beta2) c->beta2 = r->beta2;
    if (r->set_rho) c->rho = r->rho;
    if (r->set_eps) c->eps = r->eps;
    if (r->set_wd) c->weight_decay = r->wd;
    char lib[256];
    if (cr_optim_config_check(c, lib, sizeof lib) != CR_OK) return fail(err, errsize, "%s", lib);

    cr_schedule *s = &o->sched;
    *s = cr_schedule_defaults(r->sched_set ? r->skind : CR_SCHED_CONSTANT, c->lr);
    if (r->set_gamma) s->gamma = r->gamma;
    if (r->set_step) s->step_size = r->step_size;
    if (r->set_decay) s->k = r->decay;
    if (r->set_lrmin) s->lr_min = r->lrmin;
    if (r->set_warmup) s->warmup = r->warmup;
    s->T = r->set_T ? r->T : 0;          /* 0: all steps of the run (set by the trainer) */
    if (r->set_T && cr_schedule_check(s, lib, sizeof lib) != CR_OK)
        return fail(err, errsize, "%s", lib);
    if (!r->set_T) {
        s->T = 1;                        /* placeholder to validate the other fields */
        if (cr_schedule_check(s, lib, sizeof lib) != CR_OK) return fail(err, errsize, "%s", lib);
        s->T = 0;
    }

    if ((o->train_images != NULL) != (o->train_labels != NULL) ||
        (o->test_images != NULL) != (o->test_labels != NULL))
        return fail(err, errsize, "IDX files come in pairs: give both --train-images and "
                    "--train-labels (and both --test-images and --test-labels)");
    if (o->data && (o->train_images || o->test_images))
        return fail(err, errsize, "use either --data or the --train-/--test- IDX files, not both");
    if (o->test_csv && !o->data)
        return fail(err, errsize, "--test-csv needs --data FILE.csv for the training table");
    if (o->val >= 1 && o->val != floor(o->val))
        return fail(err, errsize, "--val: %g is neither a fraction below 1 nor a whole count", o->val);
    if (o->patience && o->val == 0)
        return fail(err, errsize, "--patience needs a validation set (--val > 0)");
    if (o->batchnorm && o->batch < 2 && !o->eval)
        return fail(err, errsize, "--batchnorm needs --batch 2 or more (batch statistics of one "
                    "sample are undefined)");
    if (o->arch) {
        const char *mlp = r->hidden_set ? "--hidden" : r->act_set ? "--activation"
                        : r->dropout_set ? "--dropout" : o->batchnorm ? "--batchnorm"
                        : r->init_set ? "--init" : NULL;
        if (mlp)
            return fail(err, errsize, "--arch describes the whole model; %s is a shorthand for "
                        "an MLP and cannot be combined with it (put the layer in the spec)", mlp);
    }
    if (o->checkpoint_every && !o->checkpoint)
        return fail(err, errsize, "--checkpoint-every needs --checkpoint FILE");
    if (o->eval && (o->resume || o->checkpoint))
        return fail(err, errsize, "--eval does not train: no --resume or --checkpoint");
    if (!o->eval && !o->train_images && !embedded && !o->data)
        return fail(err, errsize, "no training data: give --data or --train-images/--train-labels");
    return 0;
}

int train_parse_args(train_opts *o, int argc, char **argv, char *err, size_t errsize)
{
    raw r;
    memset(&r, 0, sizeof r);
    defaults(o);
    if (errsize) err[0] = '\0';
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            train_usage(stdout);
            return 1;
        }
        if (strncmp(a, "--", 2) != 0 || !a[2])
            return fail(err, errsize,
                        "unexpected argument '%s' (options start with --; see --help)", a);
        char name[64];
        const char *eq = strchr(a, '='), *val = NULL;
        size_t nl = eq ? (size_t)(eq - a) : strlen(a);
        if (nl >= sizeof name) return fail(err, errsize, "unknown option '%.40s...'", a);
        memcpy(name, a, nl);
        name[nl] = '\0';
        if (takes_value(name)) {
            if (eq) val = eq + 1;
            else if (i + 1 < argc) val = argv[++i];
            else return fail(err, errsize, "%s needs a value (see --help)", name);
        } else if (eq) {
            return fail(err, errsize, "%s takes no value", name);
        }
        if (option(o, &r, name, val, err, errsize)) return -1;
    }
    return finish(o, &r, err, errsize) ? -1 : 0;
}
