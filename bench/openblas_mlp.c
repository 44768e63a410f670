/* The practical limit: Fashion-MNIST MLP training written by hand in C around
 * OpenBLAS's cblas_sgemm, with no framework at all. Same data path as chainrule
 * (pixels kept as bytes, converted to float / 255 per batch), same batch order
 * semantics (a new seeded shuffle each epoch, last batch smaller), same model,
 * loss, initialisation (He normal weights before a ReLU, Xavier uniform for the
 * output layer, zero biases) and hyper-parameters.
 * Nothing is allocated after setup; SGD folds the update into the weight-gradient
 * GEMM (W += -lr * A^T G, beta = 1), so a step is three GEMMs per layer (two for
 * the first: no input gradient) plus one pass for bias+ReLU, one for softmax-CE
 * and one for the ReLU mask.
 *
 *   openblas_mlp [--data DIR] [--hidden 128|256,128] [--optim sgd|adam] [--lr X]
 *                [--batch 64] [--epochs 5] [--threads 1] [--seed 1] [--test]
 *
 * `make bench` builds it with -DCR_HAVE_OPENBLAS when OpenBLAS is installed
 * (libopenblas-dev); without it the program only says how to install it. Run it
 * with OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE unset to get OpenBLAS's best kernel
 * for the CPU; it prints the core OpenBLAS chose. Reads .gz files when built with
 * zlib (-DCR_HAVE_ZLIB), else only uncompressed ones. Last line, for bench/train.sh:
 *   RESULT epoch_s=<median wall> cpu_s=<median CPU> rss_mb=<peak RSS> test_acc=<%> */
#include <stdio.h>

#ifndef CR_HAVE_OPENBLAS
int main(void)
{
    printf("openblas_mlp: OpenBLAS not installed: apt-get install libopenblas-dev "
           "(then make bench again)\n");
    return 0;
}
#else

#include <cblas.h>
#include "bench_util.h"
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#ifdef CR_HAVE_ZLIB
#include <zlib.h>
#else
typedef FILE *gzFile;                        /* plain files through stdio */
#define gzopen fopen
#define gzread(f, buf, n) ((int)fread((buf), 1, (n), (f)))
#define gzclose fclose
#endif

#define MAX_L 8
#define TWO_PI 6.283185307179586
#define MAX_EPOCHS 100

typedef struct data {
    uint8_t *px;
    uint8_t *lab;
    int n, f;
} data;

typedef struct net {
    int L, sizes[MAX_L + 1], B;
    float *W[MAX_L], *b[MAX_L];            /* W: in x out, row-major */
    float *dW[MAX_L], *db[MAX_L];          /* Adam only */
    float *mW[MAX_L], *vW[MAX_L], *mb[MAX_L], *vb[MAX_L];
    float *A[MAX_L + 1];                   /* A[0] = batch input, A[l+1] = layer l output */
    float *G[MAX_L + 1];                   /* gradient w.r.t. layer l's pre-activation */
} net;

/* splitmix64: seeds, shuffles, Box-Muller normals */
static uint64_t rnd(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static double unif(uint64_t *s) { return ((double)(rnd(s) >> 11) + 0.5) * 0x1p-53; }

static void *xmalloc(size_t n)
{
    void *p = calloc(1, n);
    if (!p) {
        fprintf(stderr, "openblas_mlp: out of memory\n");
        exit(1);
    }
    return p;
}

/* An IDX file (gzip or plain): returns the payload, sets dims. */
static uint8_t *read_idx(const char *dir, const char *stem, int *dims, int *ndim)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s.gz", dir, stem);
    gzFile f = gzopen(path, "rb");
    if (!f) {
        snprintf(path, sizeof path, "%s/%s", dir, stem);
        f = gzopen(path, "rb");
    }
    unsigned char h[4];
    if (!f || gzread(f, h, 4) != 4) {
        fprintf(stderr, "openblas_mlp: cannot read %s\n", path);
        exit(2);
    }
    *ndim = h[3];
    size_t total = 1;
    for (int i = 0; i < *ndim; i++) {
        unsigned char d[4];
        if (gzread(f, d, 4) != 4) exit(2);
        dims[i] = (int)((uint32_t)d[0] << 24 | (uint32_t)d[1] << 16 | (uint32_t)d[2] << 8 | d[3]);
        total *= (size_t)dims[i];
    }
    uint8_t *p = xmalloc(total);
    if ((size_t)gzread(f, p, (unsigned)total) != total) {
        fprintf(stderr, "openblas_mlp: %s is truncated\n", path);
        exit(2);
    }
    gzclose(f);
    return p;
}

static data load(const char *dir, const char *prefix)
{
    char stem[64];
    int d[4], nd;
    data s;
    snprintf(stem, sizeof stem, "%s-images-idx3-ubyte", prefix);
    s.px = read_idx(dir, stem, d, &nd);
    s.n = d[0];
    s.f = d[1] * d[2];
    snprintf(stem, sizeof stem, "%s-labels-idx1-ubyte", prefix);
    s.lab = read_idx(dir, stem, d, &nd);
    return s;
}

static void gather(float *x, const data *d, const int *idx, int m)
{
    for (int i = 0; i < m; i++) {
        const uint8_t *p = d->px + (size_t)idx[i] * (size_t)d->f;
        float *r = x + (size_t)i * (size_t)d->f;
        for (int j = 0; j < d->f; j++) r[j] = (float)p[j] * (1.0f / 255.0f);
    }
}

/* Logits of m rows into n->A[L] (bias and ReLU in one pass after each GEMM). */
static void forward(net *n, int m)
{
    for (int l = 0; l < n->L; l++) {
        int nin = n->sizes[l], nout = n->sizes[l + 1];
        float *y = n->A[l + 1];
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, m, nout, nin, 1.0f, n->A[l], nin,
                    n->W[l], nout, 0.0f, y, nout);
        const float *b = n->b[l];
        int relu = l < n->L - 1;
        for (int i = 0; i < m; i++) {
            float *r = y + (size_t)i * nout;
            if (relu)
                for (int j = 0; j < nout; j++) {
                    float v = r[j] + b[j];
                    r[j] = v < 0 ? 0 : v;
                }
            else
                for (int j = 0; j < nout; j++) r[j] += b[j];
        }
    }
}

/* Softmax cross-entropy of the logits; G[L] = (softmax - onehot) / m. Returns the mean loss. */
static double softmax_ce(net *n, const uint8_t *lab, const int *idx, int m)
{
    int C = n->sizes[n->L];
    double loss = 0;
    for (int i = 0; i < m; i++) {
        const float *z = n->A[n->L] + (size_t)i * C;
        float *g = n->G[n->L] + (size_t)i * C, mx = z[0], s = 0;
        for (int c = 1; c < C; c++) mx = fmaxf(mx, z[c]);
        for (int c = 0; c < C; c++) s += (g[c] = expf(z[c] - mx));
        int t = lab[idx[i]];
        loss += log(s) - (z[t] - mx);
        float inv = 1.0f / (s * (float)m);
        for (int c = 0; c < C; c++) g[c] *= inv;
        g[t] -= 1.0f / (float)m;
    }
    return loss / m;
}

static void adam(float *w, float *g, float *mo, float *v, size_t k, float lr_t, float c2,
                 float eps)
{
    for (size_t i = 0; i < k; i++) {
        mo[i] = 0.9f * mo[i] + 0.1f * g[i];
        v[i] = 0.999f * v[i] + 0.001f * g[i] * g[i];
        w[i] -= lr_t * mo[i] / (sqrtf(v[i]) * c2 + eps);
    }
}

static void backward_update(net *n, int m, int is_adam, float lr, long t)
{
    float lr_t = lr, c2 = 1;
    if (is_adam) {
        lr_t = lr / (float)(1 - pow(0.9, (double)t));
        c2 = (float)(1 / sqrt(1 - pow(0.999, (double)t)));
    }
    for (int l = n->L - 1; l >= 0; l--) {
        int nin = n->sizes[l], nout = n->sizes[l + 1];
        const float *g = n->G[l + 1], *a = n->A[l];
        if (l > 0) {   /* G[l] = (G[l+1] W^T) * [A[l] > 0], before W changes */
            float *gp = n->G[l];
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, m, nin, nout, 1.0f, g, nout,
                        n->W[l], nout, 0.0f, gp, nin);
            for (size_t i = 0; i < (size_t)m * nin; i++) gp[i] = a[i] > 0 ? gp[i] : 0.0f;
        }
        float *db = n->db[l];
        memset(db, 0, (size_t)nout * sizeof *db);
        for (int i = 0; i < m; i++)
            for (int j = 0; j < nout; j++) db[j] += g[(size_t)i * nout + j];
        if (!is_adam) {
            cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, nin, nout, m, -lr, a, nin, g,
                        nout, 1.0f, n->W[l], nout);
            for (int j = 0; j < nout; j++) n->b[l][j] -= lr * db[j];
        } else {
            cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, nin, nout, m, 1.0f, a, nin, g,
                        nout, 0.0f, n->dW[l], nout);
            adam(n->W[l], n->dW[l], n->mW[l], n->vW[l], (size_t)nin * nout, lr_t, c2, 1e-8f);
            adam(n->b[l], db, n->mb[l], n->vb[l], (size_t)nout, lr_t, c2, 1e-8f);
        }
    }
}

static double test_accuracy(net *n, const data *te)
{
    int idx[1000], ok = 0, C = n->sizes[n->L];
    for (int s = 0; s < te->n; s += n->B) {
        int m = te->n - s < n->B ? te->n - s : n->B;
        for (int i = 0; i < m; i++) idx[i] = s + i;
        gather(n->A[0], te, idx, m);
        forward(n, m);
        for (int i = 0; i < m; i++) {
            const float *z = n->A[n->L] + (size_t)i * C;
            int best = 0;
            for (int c = 1; c < C; c++)
                if (z[c] > z[best]) best = c;
            ok += best == te->lab[s + i];
        }
    }
    return 100.0 * ok / te->n;
}

int main(int argc, char **argv)
{
    const char *dir = "/usr/share/datasets/fashion-mnist", *optim = "sgd";
    char hidden[128] = "128";
    double lr = -1;
    int B = 64, epochs = 5, threads = 1, test = 0;
    uint64_t seed = 1;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : "";
        if (!strcmp(a, "--test")) { test = 1; continue; }
        if (!strcmp(a, "--data")) dir = v;
        else if (!strcmp(a, "--hidden")) snprintf(hidden, sizeof hidden, "%s", v);
        else if (!strcmp(a, "--optim")) optim = v;
        else if (!strcmp(a, "--lr")) lr = atof(v);
        else if (!strcmp(a, "--batch")) B = atoi(v);
        else if (!strcmp(a, "--epochs")) epochs = atoi(v);
        else if (!strcmp(a, "--threads")) threads = atoi(v);
        else if (!strcmp(a, "--seed")) seed = strtoull(v, NULL, 10);
        else {
            fprintf(stderr, "usage: openblas_mlp [--data DIR] [--hidden LIST] [--optim sgd|adam] "
                    "[--lr X] [--batch N] [--epochs N] [--threads N] [--seed N] [--test]\n");
            return 2;
        }
        i++;
    }
    int is_adam = !strcmp(optim, "adam");
    if (lr < 0) lr = is_adam ? 1e-3 : 0.1;
    if (B < 1 || B > 1000 || epochs < 1 || epochs > MAX_EPOCHS || threads < 1) return 2;
    openblas_set_num_threads(threads);

    data tr = load(dir, "train"), te = load(dir, "t10k");
    net n = { 0 };
    n.B = test && B < 1000 ? 1000 : B;     /* buffers also serve test chunks */
    int classes = 0;
    for (int i = 0; i < tr.n; i++)
        if (tr.lab[i] >= classes) classes = tr.lab[i] + 1;
    n.sizes[0] = tr.f;                     /* sizes[0..L]: inputs, hidden..., classes */
    for (char *tok = strtok(hidden, ","); tok && n.L < MAX_L - 1; tok = strtok(NULL, ","))
        n.sizes[++n.L] = atoi(tok);
    n.sizes[++n.L] = classes;
    uint64_t rs = seed;
    for (int l = 0; l < n.L; l++) {
        size_t nin = (size_t)n.sizes[l], nout = (size_t)n.sizes[l + 1];
        n.W[l] = xmalloc(nin * nout * sizeof(float));
        n.b[l] = xmalloc(nout * sizeof(float));
        n.dW[l] = xmalloc(nin * nout * sizeof(float));
        n.db[l] = xmalloc(nout * sizeof(float));
        if (is_adam) {
            n.mW[l] = xmalloc(nin * nout * sizeof(float));
            n.vW[l] = xmalloc(nin * nout * sizeof(float));
            n.mb[l] = xmalloc(nout * sizeof(float));
            n.vb[l] = xmalloc(nout * sizeof(float));
        }
        double sd = sqrt(2.0 / (double)nin), a = sqrt(6.0 / (double)(nin + nout));
        for (size_t i = 0; i < nin * nout; i++) {
            if (l < n.L - 1)
                n.W[l][i] = (float)(sd * sqrt(-2 * log(unif(&rs))) * cos(TWO_PI * unif(&rs)));
            else
                n.W[l][i] = (float)(a * (2 * unif(&rs) - 1));
        }
    }
    for (int l = 0; l <= n.L; l++) {
        n.A[l] = xmalloc((size_t)n.B * n.sizes[l] * sizeof(float));
        n.G[l] = xmalloc((size_t)n.B * n.sizes[l] * sizeof(float));
    }
    int *perm = xmalloc((size_t)tr.n * sizeof *perm);
    for (int i = 0; i < tr.n; i++) perm[i] = i;

    printf("openblas-mlp ");
    for (int l = 0; l <= n.L; l++) printf("%s%d", l ? "-" : "", n.sizes[l]);
    printf(", %s lr %g, batch %d; %s, core %s, %d threads\n", optim, lr, B, openblas_get_config(),
           openblas_get_corename(), openblas_get_num_threads());
    double walls[MAX_EPOCHS], cpus[MAX_EPOCHS];
    long step = 0;
    for (int e = 0; e < epochs; e++) {
        double w0 = clock_s(CLOCK_MONOTONIC), c0 = clock_s(CLOCK_PROCESS_CPUTIME_ID), loss = 0;
        uint64_t es = seed * 0x100000001b3ull + (uint64_t)e;
        for (int i = tr.n - 1; i > 0; i--) {
            int j = (int)(rnd(&es) % (uint64_t)(i + 1)), t = perm[i];
            perm[i] = perm[j];
            perm[j] = t;
        }
        for (int s = 0; s < tr.n; s += B) {
            int m = tr.n - s < B ? tr.n - s : B;
            gather(n.A[0], &tr, perm + s, m);
            forward(&n, m);
            loss += softmax_ce(&n, tr.lab, perm + s, m) * m;
            backward_update(&n, m, is_adam, (float)lr, ++step);
        }
        walls[e] = clock_s(CLOCK_MONOTONIC) - w0;
        cpus[e] = clock_s(CLOCK_PROCESS_CPUTIME_ID) - c0;
        printf("epoch %d: %.3f s wall, %.3f s CPU, loss %.4f\n", e + 1, walls[e], cpus[e],
               loss / tr.n);
        fflush(stdout);
    }
    double acc = test ? test_accuracy(&n, &te) : -1;
    if (test) printf("test accuracy after %d epochs: %.2f%%\n", epochs, acc);
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    printf("RESULT epoch_s=%.4f cpu_s=%.4f rss_mb=%.1f test_acc=%.2f\n", median(walls, epochs),
           median(cpus, epochs), (double)ru.ru_maxrss / 1024.0, acc);
    return 0;
}

#endif /* CR_HAVE_OPENBLAS */
