/* train_text's parts: options (options.c), the character model, its files and the
 * recorded chunk graph (charlm.c), training, evaluation, checkpoints and sampling
 * (run.c). main() is in examples/train_text.c. Progress display, the CSV log and
 * the checkpoint option checks are train's (examples/train/). */
#ifndef CR_TRAIN_TEXT_H
#define CR_TRAIN_TEXT_H

#include "train.h"

typedef struct text_opts {
    const char *text;             /* the corpus (UTF-8) */
    double val;                   /* fraction held out at the end, default 0.1 */
    cr_rnn_kind cell;
    int embed, hidden, layers;
    double dropout;               /* between recurrent layers */
    int batch, steps, epochs;     /* B streams, T steps per chunk */
    long max_steps;               /* stop after this many steps in total (0: none) */
    cr_optim_config optim;
    double clip;                  /* global gradient norm, 0: off */
    unsigned long long seed;
    int threads;
    const char *out, *log, *checkpoint, *resume, *eval, *model;
    long checkpoint_every;        /* steps; 0: at the end of each epoch only */
    long generate;                /* characters to sample (0: none) */
    double temperature;
    const char *prime;            /* text the sample starts from */
    int progress, quiet, rerecord, anomaly;
    size_t max_memory;
    int allreduce_mpi, allreduce_group;   /* MPI build: --allreduce, --allreduce-group */
} text_opts;

int text_parse_args(text_opts *o, int argc, char **argv, char *err, size_t errsize);
void text_usage(FILE *f);

/* embedding (V x E) -> recurrent layers (H) -> dense to V logits */
typedef struct charlm {
    cr_vocab *vocab;              /* owned */
    cr_rnn_kind kind;
    int E, H, L;
    double dropout;
    cr_tensor *embed;             /* "embed.weight" V x E */
    cr_rnn *rnn;                  /* "rnn.weight_ih_l0", ... */
    cr_tensor *W, *b;             /* "out.W" H x V, "out.b" V */
    cr_params *params;            /* all of them, trainable, in that order */
    cr_rng drop_rng;              /* dropout masks between layers */
} charlm;

/* A new model (zero weights) taking over vocab (freed on failure too). */
charlm *charlm_new(cr_vocab *vocab, cr_rnn_kind kind, int E, int H, int L, double dropout,
                   char *err, size_t errsize);
void charlm_free(charlm *m);
/* PyTorch's initialisation: embedding N(0, 1), recurrent and output layers
 * U(-1/sqrt(fan), 1/sqrt(fan)); dropout generator seeded from rng. */
void charlm_init(charlm *m, cr_rng *rng);
/* The architecture and vocabulary as metadata keys ("charlm.*", "vocab.*"). */
cr_status charlm_to_meta(const charlm *m, cr_meta *meta, char *err, size_t errsize);
/* The model a file holds (vocabulary and architecture from its metadata, then the
 * weights), or NULL with "<path>: ..." in err. */
charlm *charlm_load(const char *path, char *err, size_t errsize);
/* Parameter values of a model: for the memory plan and file checks. */
uint64_t charlm_values(int V, cr_rnn_kind kind, int E, int H, int L);

/* One recorded chunk of T steps x B streams (T = B = 1 for sampling): heap x
 * (T x B ids) and y (T*B next ids), the carried state (heap, zero at first) and the
 * state at the chunk's end on the tape. */
typedef struct chunk_graph {
    cr_tape *t;
    cr_tensor *x, *y;
    cr_rnn_state carry, s;
    cr_tensor *logits, *loss;     /* (T*B) x V, mean cross-entropy */
    int T, B, training;
} chunk_graph;
int chunk_graph_new(chunk_graph *g, charlm *m, int T, int B, int training, cr_pool *pool,
                    int anomaly, char *err, size_t errsize);
/* (Re)record the chunk from the carried state (the tape is reset first). */
int chunk_graph_record(chunk_graph *g, charlm *m, char *err, size_t errsize);
void chunk_graph_free(chunk_graph *g);

/* The whole program after option parsing; returns the exit status. */
int text_run(const text_opts *o);

#endif
