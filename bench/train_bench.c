/* Fashion-MNIST training speed of chainrule, the way examples/train does it:
 * IDX pixels kept as bytes (cr_idx_load_dir), a seeded shuffle every epoch
 * (cr_batcher), the batch gathered straight into the step graph's input tensors
 * (cr_dataset_gather), the graph (MLP + softmax cross-entropy) recorded once per
 * batch shape and replayed (cr_tape_forward), backward, optimizer step.
 *
 *   train_bench [--data DIR] [--hidden 128 | 256,128] [--optim sgd|adam] [--lr X]
 *               [--batch 64] [--epochs 5] [--threads 1] [--seed 1] [--test]
 *
 * Prints one line per epoch (wall and CPU seconds, and how the wall time splits
 * into gather / forward / backward / optimizer), then one line
 *   RESULT epoch_s=<median wall> cpu_s=<median CPU> rss_mb=<peak RSS> test_acc=<%>
 * for bench/train.sh. --test evaluates the test set after the last epoch
 * (test_acc is -1 without it). --lr defaults to 0.1 for sgd (as in the trainer),
 * else the optimizer's default. Exit status 0, 1 on a training failure, 2 on bad
 * options or data. */
#include "bench_train.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#define MAX_LAYERS 8
#define MAX_EPOCHS 100

static int usage(void)
{
    fprintf(stderr, "usage: train_bench [--data DIR] [--hidden 128|256,128] [--optim sgd|adam] "
                    "[--lr X] [--batch N] [--epochs N] [--threads N] [--seed N] [--test]\n");
    return 2;
}

static int graph_new(step_graph *g, cr_mlp *mlp, int rows, int features, cr_pool *pool)
{
    if (step_graph_init(g, 2, (int[]){ rows, features }, pool)) return -1;
    g->loss = cr_softmax_cross_entropy(g->t, cr_mlp_forward(g->t, mlp, g->x), g->y);
    if (!g->loss) fprintf(stderr, "train_bench: recording: %s\n", cr_tape_error(g->t));
    return g->loss ? 0 : -1;
}

static cr_tensor *mlp_forward(cr_tape *t, void *mlp, cr_tensor *x)
{
    return cr_mlp_forward(t, mlp, x);
}

int main(int argc, char **argv)
{
    const char *dir = "/usr/share/datasets/fashion-mnist", *optim = "sgd";
    char hidden_arg[128] = "128";
    double lr = -1;
    int batch = 64, epochs = 5, threads = 1, test = 0;
    unsigned long long seed = 1;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--test")) { test = 1; continue; }
        if (!v) return usage();
        if (!strcmp(a, "--data")) dir = v;
        else if (!strcmp(a, "--hidden")) snprintf(hidden_arg, sizeof hidden_arg, "%s", v);
        else if (!strcmp(a, "--optim")) optim = v;
        else if (!strcmp(a, "--lr")) lr = atof(v);
        else if (!strcmp(a, "--batch")) batch = atoi(v);
        else if (!strcmp(a, "--epochs")) epochs = atoi(v);
        else if (!strcmp(a, "--threads")) threads = atoi(v);
        else if (!strcmp(a, "--seed")) seed = strtoull(v, NULL, 10);
        else return usage();
        i++;
    }
    cr_optim_kind kind;
    if (batch < 1 || epochs < 1 || epochs > MAX_EPOCHS || threads < 1 ||
        cr_optim_kind_from_name(optim, &kind) != CR_OK)
        return usage();

    char err[512];
    cr_dataset *train = NULL, *testset = NULL;
    if (cr_idx_load_dir(&train, &testset, dir, 0, err, sizeof err) != CR_OK) {
        fprintf(stderr, "train_bench: %s\n", err);
        return 2;
    }
    int sizes[MAX_LAYERS + 2], n_sizes = 1;
    sizes[0] = (int)train->n_features;
    for (char *tok = strtok(hidden_arg, ","); tok && n_sizes <= MAX_LAYERS;
         tok = strtok(NULL, ","))
        sizes[n_sizes++] = atoi(tok);
    sizes[n_sizes++] = train->n_classes;

    /* the trainer's setup with --val 0: every sample trains, order from the seed */
    cr_rng rng;
    cr_rng_seed(&rng, seed);
    cr_mlp_config mcfg = cr_mlp_default_config();
    cr_mlp *mlp = cr_mlp_new_config(n_sizes, sizes, &mcfg, &rng, NULL, 0);
    cr_optim_config ocfg = cr_optim_defaults(kind);
    if (lr >= 0) ocfg.lr = lr;
    else if (kind == CR_OPTIM_SGD) ocfg.lr = 0.1;        /* the trainer's default */
    cr_split split;
    cr_optim *opt = mlp ? cr_optim_new(cr_mlp_params(mlp), &ocfg, err, sizeof err) : NULL;
    if (!opt || cr_split_make(&split, train->n, 0, seed, NULL, 0) != CR_OK) {
        fprintf(stderr, "train_bench: cannot set up the model (%s)\n", mlp ? err : "no memory");
        return 1;
    }
    size_t B = (size_t)batch, n = split.n_train;
    cr_batcher *bat = cr_batcher_new(split.train, n, B, CR_BATCH_SHUFFLE, seed, NULL, 0);
    step_graph full = { 0 }, last = { 0 };
    int F = (int)train->n_features;
    cr_pool *pool = cr_pool_new(threads); /* one pool, lent to the tapes and optimizer */
    if (!bat || !pool || graph_new(&full, mlp, (int)(n < B ? n : B), F, pool) ||
        (n > B && n % B && graph_new(&last, mlp, (int)(n % B), F, pool))) {
        fprintf(stderr, "train_bench: cannot build the step graph\n");
        return 1;
    }
    cr_optim_set_pool(opt, pool);   /* the update on the step's threads */

    printf("chainrule %s-%s, %s lr %g, batch %d, %d thread%s (pool: %d), GEMM kernel %s\n",
           cr_real_size() == 8 ? "double" : "float", hidden_arg, optim, ocfg.lr, batch, threads,
           threads > 1 ? "s" : "", cr_pool_threads(cr_tape_pool(full.t)), cr_gemm_kernel_name());
    double ep_wall[MAX_EPOCHS], ep_cpu[MAX_EPOCHS];
    for (int e = 0; e < epochs; e++) {
        double ph[4] = { 0 }, loss_sum = 0;
        double w0 = wall(), c0 = cpu();
        cr_batcher_seek(bat, (uint64_t)e, 0, NULL, 0);
        const int *idx;
        size_t m;
        while ((m = cr_batcher_next(bat, &idx)) > 0) {
            step_graph *g = (int)m == full.rows ? &full : &last;
            if (step_timed(g, train, idx, m, opt, ph)) break;
            loss_sum += (double)g->loss->data[0] * (double)m;
        }
        ep_wall[e] = wall() - w0;
        ep_cpu[e] = cpu() - c0;
        if (cr_tape_error(full.t) || (last.t && cr_tape_error(last.t))) {
            fprintf(stderr, "train_bench: %s\n",
                    cr_tape_error(full.t) ? cr_tape_error(full.t) : cr_tape_error(last.t));
            return 1;
        }
        printf("epoch %d: %.3f s wall, %.3f s CPU, loss %.4f  (gather %.3f, forward %.3f, "
               "backward %.3f, zero_grad + optimizer %.3f)\n",
               e + 1, ep_wall[e], ep_cpu[e], loss_sum / (double)n, ph[0], ph[1], ph[2], ph[3]);
        fflush(stdout);
    }
    double acc = test ? test_accuracy_of(mlp_forward, mlp, testset, 2,
                                         (int[]){ 0, (int)testset->n_features }, pool)
                      : -1;
    if (test) printf("test accuracy after %d epochs: %.2f%%\n", epochs, acc);
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    printf("RESULT epoch_s=%.4f cpu_s=%.4f rss_mb=%.1f test_acc=%.2f\n", median(ep_wall, epochs),
           median(ep_cpu, epochs), (double)ru.ru_maxrss / 1024.0, acc);

    step_graph_free(&full);
    step_graph_free(&last);
    cr_pool_free(pool);
    cr_batcher_free(bat);
    cr_split_free(&split);
    cr_optim_free(opt);
    cr_mlp_free(mlp);
    cr_dataset_free(train);
    cr_dataset_free(testset);
    return 0;
}
