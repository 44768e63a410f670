/* The CNN rows of `make bench` (bench/cnn.sh): a layer spec (cr_model) trained on
 * Fashion-MNIST the way `train --arch` does it, and each conv layer's forward and
 * backward next to cr_gemm at the products it makes.
 *
 *   cnn_bench [--data DIR] [--arch SPEC] [--batch 64] [--epochs 1] [--steps N]
 *             [--threads 1] [--seed 1] [--test]
 *   cnn_bench --layers [--arch SPEC] [--batch 64] [--samples 7]
 *
 * Training: IDX images as N x 1 x 28 x 28 (cr_dataset_gather_pool into the step
 * graph's input), a seeded shuffle per epoch (cr_batcher), the graph recorded once
 * per batch shape and replayed, Adam lr 1e-3. --steps N stops every epoch after N
 * batches and scales its time to the whole epoch (said in the output). Prints one
 * line per epoch (wall, CPU, and the split into gather / forward / backward /
 * optimizer), the convolution and dense FLOPs per epoch, then
 *   RESULT epoch_s=<median wall> cpu_s=<median CPU> rss_mb=<peak RSS>
 *          test_acc=<%> gflop_epoch=<conv+dense GFLOP per epoch>
 *
 * --layers: for every conv layer of the spec at that batch, the median over
 * alternating samples (CPU time of this thread, 1 thread) of
 *   conv forward (cr_tape_forward of a tape holding the conv), conv backward
 *   (cr_backward of sum(conv) minus that of sum(z) for z of y's shape: the
 *   seeding of dL/dy is not the conv's work), and cr_gemm at each product the
 *   conv makes (forward W.col, backward dW = Gt.col^T and dcol = W^T.Gt);
 * for dense layers cr_gemm at their three products; then
 *   LIMIT gemm_s_per_step=<sum over every product of its FLOPs / cr_gemm's rate at
 *   that shape> gflop_step=<...>
 * which bench/cnn.sh turns into the FLOP limit of an epoch. */
#include "bench_train.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#define MAX_EPOCHS 100
#define SPEC "conv 8 3x3 pad 1, relu, maxpool 2, conv 16 3x3 pad 1, relu, maxpool 2, flatten, " \
             "dense 128, relu, dense 10"

static int usage(void)
{
    fprintf(stderr, "usage: cnn_bench [--data DIR] [--arch SPEC] [--batch N] [--epochs N] "
                    "[--steps N] [--threads N] [--seed N] [--test] | --layers [--arch SPEC] "
                    "[--batch N] [--samples N]\n");
    return 2;
}

/* ------------------------------------------------------------ layer shapes */

/* One parameterised layer: conv (C x H x W -> O x OH x OW, kernel KH x KW) or dense
 * (in -> out, C = in, O = out, the rest 1), and whether its input needs a gradient. */
typedef struct layer_dims {
    int conv, C, H, W, O, OH, OW, KH, KW, dx;
    char text[64];
} layer_dims;

static int model_layers(const cr_model *m, layer_dims *out, int max)
{
    int n = 0, first = 1;
    for (int i = 0; i < cr_model_n_layers(m) && n < max; i++) {
        const char *t = cr_model_layer_text(m, i);
        int in[3] = { 1, 1, 1 }, o[3] = { 1, 1, 1 };
        cr_model_shape(m, i - 1, in);
        cr_model_shape(m, i, o);
        layer_dims d = { 0 };
        if (!strncmp(t, "conv ", 5)) {
            int units, kh, kw;
            if (sscanf(t, "conv %d %dx%d", &units, &kh, &kw) == 3) {
                d.KH = kh, d.KW = kw;
            } else if (sscanf(t, "conv %d %d", &units, &kh) == 2) {
                d.KH = d.KW = kh;
            } else {
                continue;
            }
            d.conv = 1;
            d.C = in[0], d.H = in[1], d.W = in[2], d.O = o[0], d.OH = o[1], d.OW = o[2];
        } else if (!strncmp(t, "dense ", 6)) {
            d.C = in[0], d.O = o[0], d.H = d.W = d.OH = d.OW = d.KH = d.KW = 1;
        } else {
            continue;
        }
        d.dx = !first;           /* the first layer's input (the data) needs no gradient */
        first = 0;
        snprintf(d.text, sizeof d.text, "%s", t);
        out[n++] = d;
    }
    return n;
}

/* The GEMMs of one layer at batch B: {ta, tb, M, N, K}, forward then dW then dX. */
static int layer_gemms(const layer_dims *d, int B, int g[3][5])
{
    if (d->conv) {
        int P = B * d->OH * d->OW, K = d->C * d->KH * d->KW;
        int f[3][5] = { { 0, 0, d->O, P, K }, { 0, 1, d->O, K, P }, { 1, 0, K, P, d->O } };
        memcpy(g, f, sizeof f);
    } else {
        int f[3][5] = { { 0, 0, B, d->O, d->C }, { 1, 0, d->C, d->O, B }, { 0, 1, B, d->C, d->O } };
        memcpy(g, f, sizeof f);
    }
    return d->dx ? 3 : 2;
}

static double gemm_flops(const int *g) { return 2.0 * g[2] * g[3] * g[4]; }

static double step_flops(const layer_dims *L, int n, int B)
{
    double f = 0;
    for (int i = 0; i < n; i++) {
        int g[3][5], k = layer_gemms(&L[i], B, g);
        for (int j = 0; j < k; j++) f += gemm_flops(g[j]);
    }
    return f;
}

/* ------------------------------------------------------------ --layers */

static void fill(cr_real *p, size_t n, cr_rng *r)
{
    for (size_t i = 0; i < n; i++) p[i] = (cr_real)(cr_rng_uniform(r) - 0.5);
}

/* CPU seconds of one cr_gemm call at shape g (1 thread), median of `samples`. */
static double time_gemm(cr_pool *pool, const int *g, int samples, cr_real *A, cr_real *Bm,
                        cr_real *C)
{
    double s[MAX_EPOCHS];
    int M = g[2], N = g[3], K = g[4];
    int lda = g[0] ? M : K, ldb = g[1] ? K : N;
    for (int k = 0; k < samples; k++) {
        int reps = 0;
        double t0 = thread_cpu(), t;
        do {
            cr_gemm(pool, g[0], g[1], M, N, K, 1, A, lda, Bm, ldb, 0, C, N);
            reps++;
        } while ((t = thread_cpu() - t0) < 0.05);
        s[k] = t / reps;
    }
    return median(s, samples);
}

static int run_layers(const char *spec, int B, int samples)
{
    char err[512];
    cr_rng r;
    cr_rng_seed(&r, 1);
    int in[3] = { 1, 28, 28 };
    cr_model *m = cr_model_from_spec(spec, 3, in, &r, err, sizeof err);
    if (!m) {
        fprintf(stderr, "cnn_bench: %s\n", err);
        return 2;
    }
    layer_dims L[32];
    int n = model_layers(m, L, 32);
    /* operands big enough for every product */
    size_t most = 0;
    for (int i = 0; i < n; i++) {
        int g[3][5], k = layer_gemms(&L[i], B, g);
        for (int j = 0; j < k; j++) {
            size_t a = (size_t)g[j][2] * g[j][4], b = (size_t)g[j][4] * g[j][3],
                   c = (size_t)g[j][2] * g[j][3];
            if (a > most) most = a;
            if (b > most) most = b;
            if (c > most) most = c;
        }
    }
    cr_real *A = malloc(most * sizeof *A), *Bm = malloc(most * sizeof *Bm),
            *C = malloc(most * sizeof *C);
    cr_pool *pool = cr_pool_new(1);      /* GEMM's packing buffers, as a tape's */
    if (!A || !Bm || !C || !pool) return 1;
    fill(A, most, &r);
    fill(Bm, most, &r);
    printf("1 thread, batch %d, GEMM kernel %s, median of %d samples (CPU time)\n", B,
           cr_gemm_kernel_name(), samples);
    printf("%-22s %-9s %-22s %9s %9s\n", "layer", "pass", "GEMM M x N x K", "ours", "cr_gemm");
    double limit = 0, total = 0;
    static const char *pass[3] = { "forward", "dW", "dX" };
    for (int i = 0; i < n; i++) {
        const layer_dims *d = &L[i];
        int g[3][5], k = layer_gemms(d, B, g);
        double gs[3];
        for (int j = 0; j < k; j++) {
            gs[j] = time_gemm(pool, g[j], samples, A, Bm, C);
            limit += gs[j];
            total += gemm_flops(g[j]);
        }
        double conv_f = -1, conv_b = -1;
        if (d->conv) {
            /* the op itself: forward by replay, backward of sum(y) minus sum(z) */
            int xs[4] = { B, d->C, d->H, d->W }, ys[4] = { B, d->O, d->OH, d->OW };
            int ws[4] = { d->O, d->C, d->KH, d->KW };
            cr_tensor *w = cr_param_new(4, ws), *b = cr_param_new(1, &d->O);
            cr_tape *t = cr_tape_new(0), *t2 = cr_tape_new(0);
            cr_tape_set_pool(t, pool);
            cr_tape_set_pool(t2, pool);
            cr_tape_set_keep_graph(t, 1);
            cr_tape_set_keep_graph(t2, 1);
            cr_tensor *x = d->dx ? cr_var(t, 4, xs, NULL) : cr_const(t, 4, xs, NULL);
            fill(x->data, x->size, &r);
            fill(w->data, w->size, &r);
            cr_conv2d_opts o = { { 1, 1 }, { (d->OH - d->H + d->KH - 1) / 2,
                                             (d->OW - d->W + d->KW - 1) / 2 }, { 1, 1 }, 1 };
            cr_tensor *loss = cr_sum(t, cr_conv2d(t, x, w, b, &o));
            cr_tensor *z = cr_var(t2, 4, ys, NULL), *loss2 = cr_sum(t2, z);
            if (!loss || !loss2) {
                fprintf(stderr, "cnn_bench: %s\n", cr_tape_error(t) ? cr_tape_error(t) : "?");
                return 1;
            }
            double sf[MAX_EPOCHS], sb[MAX_EPOCHS];
            for (int s = 0; s < samples; s++) {
                int reps = 0;
                double t0 = thread_cpu(), el;
                do {
                    cr_tape_forward(t);
                    reps++;
                } while ((el = thread_cpu() - t0) < 0.05);
                sf[s] = el / reps;
                reps = 0;
                t0 = thread_cpu();
                do {
                    cr_backward(t, loss);
                    reps++;
                } while ((el = thread_cpu() - t0) < 0.05);
                double whole = el / reps;
                reps = 0;
                t0 = thread_cpu();
                do {
                    cr_backward(t2, loss2);
                    reps++;
                } while ((el = thread_cpu() - t0) < 0.05);
                sb[s] = whole - el / reps;
            }
            /* forward replay also runs sum(y): a pass over y, small next to the conv */
            conv_f = median(sf, samples);
            conv_b = median(sb, samples);
            cr_tape_free(t);
            cr_tape_free(t2);
            cr_tensor_free(w);
            cr_tensor_free(b);
        }
        for (int j = 0; j < k; j++) {
            char shp[48];
            snprintf(shp, sizeof shp, "%s%dx%dx%d%s", g[j][0] ? "T " : "", g[j][2], g[j][3],
                     g[j][4], g[j][1] ? " T" : "");
            printf("%-22.22s %-9s %-22s %9s %9.1f\n", j == 0 ? d->text : "", pass[j], shp, "",
                   gemm_flops(g[j]) / gs[j] * 1e-9);
        }
        if (d->conv) {
            double ff = gemm_flops(g[0]), fb = gemm_flops(g[1]) + (k > 2 ? gemm_flops(g[2]) : 0);
            double gf = ff / gs[0], gb = fb / (gs[1] + (k > 2 ? gs[2] : 0));
            printf("CONV %s | forward %.1f GFLOP/s (cr_gemm at its product %.1f) | backward "
                   "%.1f GFLOP/s (cr_gemm at its products %.1f)\n", d->text,
                   ff / conv_f * 1e-9, gf * 1e-9, fb / conv_b * 1e-9, gb * 1e-9);
        }
    }
    printf("LIMIT gemm_s_per_step=%.6f gflop_step=%.4f\n", limit, total * 1e-9);
    free(A);
    free(Bm);
    free(C);
    cr_pool_free(pool);
    cr_model_free(m);
    return 0;
}

/* ------------------------------------------------------------ training */

static int graph_new(step_graph *g, cr_model *m, int rows, cr_pool *pool)
{
    if (step_graph_init(g, 4, (int[]){ rows, 1, 28, 28 }, pool)) return -1;
    g->loss = cr_softmax_cross_entropy(g->t, cr_model_forward(g->t, m, g->x), g->y);
    if (!g->loss) fprintf(stderr, "cnn_bench: recording: %s\n", cr_tape_error(g->t));
    return g->loss ? 0 : -1;
}

static cr_tensor *model_forward(cr_tape *t, void *m, cr_tensor *x)
{
    return cr_model_forward(t, m, x);
}

/* Test-set accuracy in evaluation mode. */
static double test_accuracy(cr_model *m, const cr_dataset *d, cr_pool *pool)
{
    int was = cr_model_set_training(m, 0);
    double acc = test_accuracy_of(model_forward, m, d, 4, (int[]){ 0, 1, 28, 28 }, pool);
    cr_model_set_training(m, was);
    return acc;
}

int main(int argc, char **argv)
{
    const char *dir = "/usr/share/datasets/fashion-mnist", *spec = SPEC;
    int batch = 64, epochs = 1, threads = 1, test = 0, layers = 0, samples = 7;
    long steps = 0;
    unsigned long long seed = 1;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--test")) { test = 1; continue; }
        if (!strcmp(a, "--layers")) { layers = 1; continue; }
        if (!v) return usage();
        if (!strcmp(a, "--data")) dir = v;
        else if (!strcmp(a, "--arch")) spec = v;
        else if (!strcmp(a, "--batch")) batch = atoi(v);
        else if (!strcmp(a, "--epochs")) epochs = atoi(v);
        else if (!strcmp(a, "--steps")) steps = atol(v);
        else if (!strcmp(a, "--threads")) threads = atoi(v);
        else if (!strcmp(a, "--samples")) samples = atoi(v);
        else if (!strcmp(a, "--seed")) seed = strtoull(v, NULL, 10);
        else return usage();
        i++;
    }
    if (batch < 1 || epochs < 1 || epochs > MAX_EPOCHS || threads < 1 || samples < 1 ||
        samples > MAX_EPOCHS || steps < 0)
        return usage();
    if (layers) return run_layers(spec, batch, samples);

    char err[512];
    cr_dataset *train = NULL, *testset = NULL;
    if (cr_idx_load_dir(&train, &testset, dir, 0, err, sizeof err) != CR_OK) {
        fprintf(stderr, "cnn_bench: %s\n", err);
        return 2;
    }
    /* the trainer's setup with --val 0: every sample trains, order from the seed */
    cr_rng rng;
    cr_rng_seed(&rng, seed);
    int in[3] = { 1, train->rows, train->cols };
    cr_model *m = cr_model_from_spec(spec, 3, in, &rng, err, sizeof err);
    if (!m) {
        fprintf(stderr, "cnn_bench: %s\n", err);
        return 2;
    }
    cr_optim_config ocfg = cr_optim_defaults(CR_OPTIM_ADAM);
    ocfg.lr = 1e-3;
    cr_split split;
    cr_optim *opt = cr_optim_new(cr_model_params(m), &ocfg, err, sizeof err);
    if (!opt || cr_split_make(&split, train->n, 0, seed, NULL, 0) != CR_OK) {
        fprintf(stderr, "cnn_bench: cannot set up the optimizer (%s)\n", err);
        return 1;
    }
    size_t B = (size_t)batch, n = split.n_train;
    cr_batcher *bat = cr_batcher_new(split.train, n, B, CR_BATCH_SHUFFLE, seed, NULL, 0);
    step_graph full = { 0 }, last = { 0 };
    cr_pool *pool = cr_pool_new(threads);
    if (!bat || !pool || graph_new(&full, m, (int)(n < B ? n : B), pool) ||
        (n > B && n % B && graph_new(&last, m, (int)(n % B), pool))) {
        fprintf(stderr, "cnn_bench: cannot build the step graph\n");
        return 1;
    }
    cr_optim_set_pool(opt, pool);
    layer_dims L[32];
    int nl = model_layers(m, L, 32);
    size_t batches = cr_batcher_batches(bat), run = steps && (size_t)steps < batches ?
                                                    (size_t)steps : batches;
    double flops_epoch = step_flops(L, nl, batch) * (double)(n / B);
    if (n % B) flops_epoch += step_flops(L, nl, (int)(n % B));
    printf("chainrule %s \"%s\", adam lr %g, batch %d, %d thread%s, GEMM kernel %s%s\n",
           cr_real_size() == 8 ? "double" : "float", spec, ocfg.lr, batch, threads,
           threads > 1 ? "s" : "", cr_gemm_kernel_name(),
           run < batches ? " (a part of each epoch, times scaled to the whole)" : "");
    if (run < batches) printf("%zu of %zu batches per epoch\n", run, batches);
    printf("conv + dense FLOPs per epoch: %.1f GFLOP\n", flops_epoch * 1e-9);
    double ep_wall[MAX_EPOCHS], ep_cpu[MAX_EPOCHS];
    double scale = (double)batches / (double)run;
    for (int e = 0; e < epochs; e++) {
        double ph[4] = { 0 }, loss_sum = 0;
        size_t seen = 0, k = 0;
        double w0 = wall(), c0 = cpu();
        cr_batcher_seek(bat, (uint64_t)e, 0, NULL, 0);
        const int *idx;
        size_t rows;
        while (k++ < run && (rows = cr_batcher_next(bat, &idx)) > 0) {
            step_graph *g = (int)rows == full.rows ? &full : &last;
            if (step_timed(g, train, idx, rows, opt, ph)) break;
            loss_sum += (double)g->loss->data[0] * (double)rows;
            seen += rows;
        }
        ep_wall[e] = (wall() - w0) * scale;
        ep_cpu[e] = (cpu() - c0) * scale;
        if (cr_tape_error(full.t) || (last.t && cr_tape_error(last.t))) {
            fprintf(stderr, "cnn_bench: %s\n",
                    cr_tape_error(full.t) ? cr_tape_error(full.t) : cr_tape_error(last.t));
            return 1;
        }
        printf("epoch %d: %.3f s wall, %.3f s CPU, loss %.4f  (gather %.3f, forward %.3f, "
               "backward %.3f, zero_grad + optimizer %.3f; %.1f GFLOP/s)\n",
               e + 1, ep_wall[e], ep_cpu[e], loss_sum / (double)seen, ph[0] * scale,
               ph[1] * scale, ph[2] * scale, ph[3] * scale, flops_epoch / ep_wall[e] * 1e-9);
        fflush(stdout);
    }
    double acc = test ? test_accuracy(m, testset, pool) : -1;
    if (test) printf("test accuracy after %d epochs: %.2f%%\n", epochs, acc);
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    printf("RESULT epoch_s=%.4f cpu_s=%.4f rss_mb=%.1f test_acc=%.2f gflop_epoch=%.3f\n",
           median(ep_wall, epochs), median(ep_cpu, epochs), (double)ru.ru_maxrss / 1024.0, acc,
           flops_epoch * 1e-9);
    step_graph_free(&full);
    step_graph_free(&last);
    cr_pool_free(pool);
    cr_batcher_free(bat);
    cr_split_free(&split);
    cr_optim_free(opt);
    cr_model_free(m);
    cr_dataset_free(train);
    cr_dataset_free(testset);
    return 0;
}
