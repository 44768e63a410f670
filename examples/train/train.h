/* The training program's parts: options (options.c), the embedded dataset
 * (spirals.c), data loading (data.c), model files and checkpoints (model_io.c),
 * progress display and CSV log (progress.c), training and evaluation (loop.c).
 * main() is in examples/train.c. */
#ifndef CR_TRAIN_H
#define CR_TRAIN_H

#include "chainrule.h"

#include <stdio.h>

#define TRAIN_MAX_HIDDEN 16
#define TRAIN_ERR 512

/* Exit statuses: 0 success, 1 training failed (NaN loss, anomaly, I/O at the end),
 * 2 bad options or input files. */
enum { EXIT_TRAIN_FAILED = 1, EXIT_USAGE = 2 };

typedef struct train_opts {
    /* data: none of these -> the embedded spirals */
    const char *data;             /* IDX directory or CSV file */
    const char *train_images, *train_labels, *test_images, *test_labels;
    const char *test_csv;         /* CSV test table (with --data FILE.csv) */
    int label_column;             /* CSV: 0-based, -1 last */
    int header;                   /* CSV: 1 yes, 0 no, -1 auto */
    int classes;                  /* 0: from the data */
    double val;                   /* validation: fraction if < 1, else a count */
    int standardize;              /* per-feature standardisation */
    int spiral_arms, spiral_points;

    /* model */
    const char *arch;             /* --arch SPEC: a cr_model; NULL: the MLP below */
    int hidden[TRAIN_MAX_HIDDEN];
    int n_hidden;
    cr_activation act;
    cr_init_kind init;
    double dropout;               /* p in [0, 1) after every hidden activation; 0: none */
    int batchnorm;                /* batch normalisation after every hidden dense layer */

    /* optimisation */
    cr_optim_config optim;
    cr_schedule sched;
    int batch, epochs, patience, threads;
    unsigned long long seed;
    double clip;                  /* global-norm clipping, 0: off */

    /* outputs and modes */
    const char *out, *log, *dot, *eval, *checkpoint, *resume;
    const char *html;             /* --html: page of the first step's graph */
    const char *export_dir;       /* --export DIR: the model as C (NULL: none) */
    const char *export_name;      /* --export-name, default "model" */
    int export_int8;              /* --export-int8 */
    const char *save_graph;       /* --save-graph FILE: the inference graph (graph.c) */
    long checkpoint_every;        /* steps; 0: once per epoch */
    long max_steps;               /* stop after this many steps in total (0: no limit) */
    int progress;                 /* -1 auto (a terminal), 0 plain lines, 1 bar */
    int quiet;                    /* only errors and the final summary */
    int rerecord;                 /* re-record every step instead of replaying */
    int allreduce_mpi;            /* --allreduce mpi: no shared memory (MPI build) */
    int allreduce_group;          /* --allreduce-group K: ranks per shared group */
    int anomaly;                  /* NaN/Inf checks on every op */
    size_t max_memory;            /* cr_set_memory_limit; 0: the library's default */
} train_opts;

/* Fill o from argv. Returns 0 (ok), 1 (help printed to stdout), -1 (err holds a
 * one-line message). Never exits. Embedded-data presets apply to unset options. */
int train_parse_args(train_opts *o, int argc, char **argv, char *err, size_t errsize);
void train_usage(FILE *f);

/* Three (or `arms`) interleaved spirals in the plane, `points` per arm, drawn from
 * seed. Caller frees. */
cr_status spirals_make(cr_dataset **out, int arms, int points, unsigned long long seed,
                       char *err, size_t errsize);

/* Load training and test sets as the options say (train may be NULL: only the
 * test set, for --eval). The test set may come back NULL for a CSV without
 * --test-csv. */
cr_status train_load_data(const train_opts *o, cr_dataset **train, cr_dataset **test,
                          char *err, size_t errsize);

/* Live/plain progress and the CSV log. */
typedef struct progress {
    int bar;                      /* draw a live bar on stderr */
    int quiet;
    double t_epoch, t_last_draw;
    size_t total, done;           /* samples this epoch */
    int epoch, epochs;
    const char *unit;             /* what total counts ("chars"); NULL: "samples" */
} progress;
double now_seconds(void);
void progress_start(progress *p, int epoch, int epochs, size_t total);
/* acc < 0: no accuracy shown (a language model) */
void progress_update(progress *p, size_t done, double loss, double acc);
void progress_end(progress *p);   /* clears the bar line */

/* A run's CSV log (runlog.c): *f opened on path (nothing when path is NULL) with
 * header written, or, when resuming an existing file, trimmed to the header and
 * the rows of epochs 1..kept and appended to. Every write checked: each returns 0
 * or an exit status with err set. */
int run_log_open(FILE **f, const char *path, const char *header, int resume, uint64_t kept,
                 char *err, size_t errsize);
int run_log_check(FILE *f, const char *path, char *err, size_t errsize);
int run_log_close(FILE **f, const char *path, char *err, size_t errsize);

/* Architecture and training position, stored in a model file's metadata. */
typedef struct model_info {
    int sizes[TRAIN_MAX_HIDDEN + 2];
    int n_sizes;
    cr_activation act;
    double dropout;               /* 0: none (files without arch.dropout) */
    int batchnorm;                /* 0: none (files without arch.batchnorm) */
    int standardized;
} model_info;

/* Values the file parameters of mi's model hold (weights, biases, batchnorm
 * scale, shift and running statistics, standardisation statistics). */
uint64_t model_info_values(const model_info *mi);
/* Check BEFORE building that mi's model, with `slots` optimizer values per
 * parameter and `rows` rows on its tapes, fits the memory limit; CR_ERR_NOMEM and
 * a message saying how much it needs otherwise. */
cr_status model_info_plan(const model_info *mi, int slots, uint64_t rows, char *err,
                          size_t errsize);
/* The MLP that mi describes (logits out), weights drawn from rng with init; NULL
 * on failure. */
cr_mlp *model_info_build(const model_info *mi, cr_init_kind init, cr_rng *rng);

/* Build the parameter list that files hold: the MLP's state (parameters, then the
 * batchnorm running statistics), then "data.mean" and
 * "data.inv_std" (n_features each) when standardised. The list owns those two. */
cr_params *model_file_params(cr_mlp *m, int standardized, int n_features,
                             cr_tensor **mean, cr_tensor **inv_std);
void model_info_to_meta(const model_info *mi, cr_meta *meta);
cr_status model_info_from_meta(model_info *mi, const cr_meta *meta, const char *path,
                               char *err, size_t errsize);

/* The training run (loop.c), shared with report.c and checkpoint.c. Everything a
 * step depends on is here, so that a checkpoint can hold all of it. */
/* The one flat buffer of a data-parallel step (dist.c): gradients, loss, correct
 * count, failure flags. */
typedef struct dist_buf {
    struct allreduce *ar;      /* allreduce.h; NULL with one rank */
    size_t n_grad, n;          /* gradient values; all values of the buffer */
} dist_buf;

typedef struct step_graph {
    cr_tape *t;
    cr_tensor *x, *y;          /* heap inputs: rows x features, rows */
    cr_tensor *logits, *loss;  /* on t */
    int rows;
} step_graph;

typedef struct trainer {
    const train_opts *o;
    cr_dataset *train, *test;
    cr_split split;
    model_info mi;             /* with --arch: only sizes {features, classes} */
    cr_mlp *mlp;               /* the MLP options' model, or NULL */
    cr_model *model;           /* --arch (or an --eval file made with it), or NULL */
    int in_ndim, in_shape[3];  /* one sample as the model takes it: F, or C x H x W */
    cr_optim *opt;
    cr_schedule sched;
    cr_batcher *batcher;
    step_graph full, last;
    cr_tape *eval_tape;
    cr_pool *pool;             /* the program's one pool, lent to tapes and optimizer */
    int *all_idx;              /* 0..n-1 for evaluating whole sets */
    cr_params *file_params;    /* what model files and checkpoints hold */
    cr_tensor *mean_t, *inv_t;
    cr_meta *meta;
    dist_buf dist;             /* the all-reduce buffer (MPI, more than one rank) */
    double t_train;            /* seconds in the epochs' steps (the all-reduce report) */
    FILE *log;
    char err[TRAIN_ERR];
    /* position and running state: all in checkpoints */
    uint64_t epoch, batch;
    double best_val, ep_loss;
    uint64_t bad_epochs, ep_correct, ep_seen;
    double t_start, test_acc;
    int html_done;             /* the --html page is written (first step) */
} trainer;

/* The model, whichever kind it is (model_io.c): forward on t, trainable
 * parameters, training mode (returns the previous one), dropout generator,
 * parameter count, and the shape of a batch of `rows` samples (returns its ndim). */
cr_tensor *trainer_forward(trainer *T, cr_tape *t, cr_tensor *x);
cr_params *trainer_params(trainer *T);
int trainer_set_training(trainer *T, int on);
cr_rng *trainer_rng(trainer *T);
size_t trainer_param_count(trainer *T);
int trainer_batch_shape(const trainer *T, int rows, int *shape);
/* Build T->model from --arch on the training data's sample shape (IDX images:
 * 1 x rows x cols; otherwise features), weights from rng; checks that its output
 * is one score per class. 0 or EXIT_USAGE/EXIT_TRAIN_FAILED with T->err set. */
int trainer_build_arch(trainer *T, cr_rng *rng);

/* Train (or evaluate with --eval) as the options say; returns the exit status. */
int train_run(const train_opts *o);
/* Put a message (fmt with one %s) in T->err and return code. */
int trainer_fail(trainer *T, int code, const char *fmt, const char *a);
/* A new tape: lent the program's pool (made on first use), anomaly mode as the
 * options say. */
int trainer_tape_setup(trainer *T, cr_tape *t);
/* Loss and accuracy on d's samples idx[0..n) (no-grad); confusion (C x C, rows
 * the true class) when non-NULL. 0 or an exit status. */
int trainer_evaluate(trainer *T, const cr_dataset *d, const int *idx, size_t n, double *loss,
                     double *acc, long *confusion);
/* Evaluate the test set, print accuracy and confusion matrix, set T->test_acc. */
int trainer_report_test(trainer *T, const char *what);
void trainer_describe(trainer *T);                 /* the data/model lines */
int trainer_run_eval(trainer *T);                  /* --eval MODEL */
void arch_str(const model_info *mi, char *arch, size_t size);   /* "784-128-10" */
/* Every option a checkpoint records besides the architecture, with the option
 * that sets it: a resumed run must have the same, or it would continue as another
 * run. Used by checkpoint.c and by train_text. */
typedef struct ck_opt {
    const char *key, *option;
    int real;                      /* value in f (f64 key), else in u (u64 key) */
    uint64_t u;
    double f;
    const char *(*name)(uint64_t); /* shows a u64 as a name (kinds), or NULL */
} ck_opt;
/* Put c[0..n) into m under their keys. */
void ck_opts_store(const ck_opt *c, int n, cr_meta *m);
/* Compare c[0..n) with a checkpoint's m (keys m lacks are skipped): 0, or
 * EXIT_USAGE with "<path>: --lr is 0.1 in the checkpoint but 0.2 in this run; ..." */
int ck_opts_compare(const ck_opt *c, int n, const cr_meta *m, const char *path, char *err,
                    size_t errsize);
/* --export: the model's inference graph as C (export.c). 0 or EXIT_TRAIN_FAILED. */
int trainer_export(trainer *T);
/* Rank 0's batchnorm running statistics on every rank (several ranks only). */
void trainer_sync_buffers(trainer *T);
/* Save the whole training state to --checkpoint / restore it from --resume. */
int checkpoint_save(trainer *T);
/* --save-graph: the inference graph of the trained model (graph.c). 0 or an exit
 * status. */
int trainer_save_graph(trainer *T);
/* --eval of a graph file g on the test set (graph.c). */
int trainer_eval_graph(trainer *T, cr_graph *g);
int checkpoint_resume(trainer *T);

/* Data parallelism over MPI (dist.c; one process without CR_MPI: rank 0 of 1).
 * Every function is collective: all ranks call it at the same point. */
int dist_init(int *argc, char ***argv);            /* MPI_Init; nonzero on failure */
void dist_finish(void);                            /* MPI_Finalize */
int dist_rank(void);
int dist_size(void);
/* This rank's rows [lo, hi) of a global batch of m. */
void dist_shard(size_t m, size_t *lo, size_t *hi);
/* Every rank's rc: 0 if all are 0; else the first failing rank's rc, with its
 * message in err ("rank R of N: ..." unless every rank failed alike), on every rank. */
int dist_agree(int rc, char *err, size_t errsize);
/* The all-reduce of p's gradients (allreduce.h, made as --allreduce and
 * --allreduce-group say); every rank gets the same status and message. */
cr_status dist_buffer_new(dist_buf *d, const cr_params *p, int allreduce_mpi, int group_max,
                          char *err, size_t errsize);
/* One line on how the buffer is summed (allreduce_describe); "" with one rank. */
const char *dist_buffer_describe(const dist_buf *d);
void dist_buffer_free(dist_buf *d);
/* Sum p's gradients (this rank's mean over m_local rows, weighted m_local /
 * m_global), *loss_sum and *correct over the ranks, in place; rc is this rank's
 * status so far (the step still joins the sum when it failed). Returns 0, or the
 * agreed status and message of the first failing rank. */
int dist_reduce(dist_buf *d, cr_params *p, int rc, size_t m_local, size_t m_global,
                double *loss_sum, double *correct, char *err, size_t errsize);
/* Rank 0's values of p on every rank (batchnorm running statistics). */
cr_status dist_bcast_params(cr_params *p);
/* cr_load_file_image read by rank 0 and sent to every rank. */
cr_status dist_load_file_image(const char *path, void **data, size_t *size, char *err,
                               size_t errsize);
/* Same build, command line, data, model and optimizer position on every rank as on
 * rank 0; EXIT_USAGE and T->err naming the first rank that differs. */
int dist_verify(trainer *T);
/* The same, for any program: hashes of its data and of its model and optimizer
 * position (dist_hash), compared with the build's and the command line's; 0, or
 * EXIT_USAGE with the first rank that differs named in err. */
int dist_verify_hashes(uint64_t data, uint64_t model, char *err, size_t errsize);
/* 64-bit hash of n bytes continued from h (start from DIST_HASH0); h without MPI. */
#define DIST_HASH0 0xcbf29ce484222325ull
uint64_t dist_hash(uint64_t h, const void *p, size_t n);
/* Rank r's rows [r m / N, (r+1) m / N) of an m x width array (mine: just those
 * rows) gathered into all (m x width) on rank 0; all is not written elsewhere.
 * CR_ERR_NOMEM when a small buffer cannot be had. */
cr_status dist_gather_shards(const cr_real *mine, cr_real *all, size_t m, size_t width);
/* Seconds spent in dist_reduce and the number of calls. */
void dist_comm_time(double *seconds, long *steps);

#endif
