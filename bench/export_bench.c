/* Export-to-C rows of `make bench`: prediction time per image of the Fashion-MNIST
 * MLP (784-128-10, ReLU) three ways in one run, one thread each:
 *   - the model exported by cr_export_c, compiled with `cc -O2 -std=c99`;
 *   - the library's forward on a recorded batch-1 tape (cr_tape_forward per image);
 *   - PyTorch (bench/torch_infer.py, started from here), eval mode, no_grad;
 * plus `size` of the exported object file (float and int8 weights). The exported
 * code is compiled with -O2, and once more with -O3 -march=native.
 * Timing does not depend on the weights' values: the model is initialised from a
 * seed, not trained; the inputs are 10,000 seeded uniform [0, 1) images. Each time
 * is the best of 5 passes over the 10,000 images.
 *
 *     build/float/bench/export_bench [WORK_DIR]      (default: a new /tmp directory)
 * Environment: CC (default cc), PYTHON (default /usr/bin/python3). */
#include "chainrule.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

enum { IMAGES = 10000, F = 784, C = 10, PASSES = 5 };

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* The timing program of an exported model: best of PASSES over the images. */
static const char timer_text[] =
    "#define _POSIX_C_SOURCE 200809L\n#include \"fmlp.h\"\n#include <stdio.h>\n#include <stdlib.h>\n#include <time.h>\n"
    "static double now(void)\n{\n    struct timespec ts;\n"
    "    clock_gettime(CLOCK_MONOTONIC, &ts);\n    return ts.tv_sec + ts.tv_nsec * 1e-9;\n}\n"
    "int main(int argc, char **argv)\n{\n    (void)argc;\n    FILE *f = fopen(argv[1], \"rb\");\n"
    "    static float x[%d * FMLP_IN_SIZE], y[FMLP_OUT_SIZE];\n"
    "    if (!f || fread(x, sizeof x[0], %d * FMLP_IN_SIZE, f) != %d * FMLP_IN_SIZE) return 1;\n"
    "    fclose(f);\n    double best = 1e30, sink = 0;\n"
    "    for (int p = 0; p < %d; p++) {\n        double t0 = now();\n"
    "        for (int i = 0; i < %d; i++) {\n"
    "            fmlp_predict(x + (size_t)i * FMLP_IN_SIZE, y);\n            sink += y[0];\n"
    "        }\n        double t = now() - t0;\n        if (t < best) best = t;\n    }\n"
    "    printf(\"%%.1f %%g\\n\", best / %d * 1e9, sink);\n    return 0;\n}\n";

static int sh(const char *cmd)
{
    int st = system(cmd);
    if (st != 0) fprintf(stderr, "export_bench: failed: %s\n", cmd);
    return st;
}

/* Export t's graph as dir/fmlp.[ch] (int8 or not), build the timer and the object
 * file; print the time per image and the object's size. */
static int exported(cr_tape *t, cr_tensor *x, cr_tensor *y, const char *dir, const char *cc,
                    const char *opt, int int8, double *ns)
{
    char err[256], cmd[1024], line[256];
    cr_export_opts o = { .int8 = int8 };
    if (cr_export_c(t, 1, &x, y, "fmlp", dir, &o, err, sizeof err) != CR_OK) {
        fprintf(stderr, "export_bench: %s\n", err);
        return 1;
    }
    snprintf(cmd, sizeof cmd, "%s -std=c99 %s -c -o %s/fmlp.o %s/fmlp.c && %s -std=c99 -O2 "
             "-I%s -o %s/timer %s/timer.c %s/fmlp.o -lm", cc, opt, dir, dir, cc, dir, dir, dir,
             dir);
    if (sh(cmd)) return 1;
    snprintf(cmd, sizeof cmd, "%s/timer %s/images.bin", dir, dir);
    FILE *p = popen(cmd, "r");
    if (!p || !fgets(line, sizeof line, p) || sscanf(line, "%lf", ns) != 1) {
        if (p) pclose(p);
        fprintf(stderr, "export_bench: the timer failed\n");
        return 1;
    }
    pclose(p);
    snprintf(cmd, sizeof cmd, "size %s/fmlp.o | tail -n 1", dir);
    p = popen(cmd, "r");
    unsigned long text = 0, data = 0, bss = 0;
    if (p && fgets(line, sizeof line, p)) sscanf(line, "%lu %lu %lu", &text, &data, &bss);
    if (p) pclose(p);
    printf("  exported, %-5s weights, %-19s %8.0f ns per image; fmlp.o: text %lu B (code and "
           "weights), data %lu B, bss %lu B (scratch)\n", int8 ? "int8" : "float", opt, *ns, text,
           data, bss);
    return 0;
}

int main(int argc, char **argv)
{
    char dir[256], err[256], cmd[1024];
    const char *cc = getenv("CC") ? getenv("CC") : "cc";
    const char *py = getenv("PYTHON") ? getenv("PYTHON") : "/usr/bin/python3";
    if (argc > 1) {
        snprintf(dir, sizeof dir, "%s", argv[1]);
    } else {
        strcpy(dir, "/tmp/cr_export_bench_XXXXXX");
        if (!mkdtemp(dir)) return 1;
    }
    cr_rng r;
    cr_rng_seed(&r, 1);
    float *img = malloc((size_t)IMAGES * F * sizeof *img);
    if (!img) return 1;
    for (size_t i = 0; i < (size_t)IMAGES * F; i++) img[i] = (float)cr_rng_uniform(&r);
    snprintf(cmd, sizeof cmd, "%s/images.bin", dir);
    FILE *f = fopen(cmd, "wb");
    if (!f || fwrite(img, sizeof *img, (size_t)IMAGES * F, f) != (size_t)IMAGES * F) return 1;
    fclose(f);
    snprintf(cmd, sizeof cmd, "%s/timer.c", dir);
    f = fopen(cmd, "w");
    if (!f) return 1;
    fprintf(f, timer_text, IMAGES, IMAGES, IMAGES, PASSES, IMAGES, IMAGES);
    fclose(f);

    int in = F;
    cr_model *m = cr_model_from_spec("dense 128, relu, dense 10", 1, &in, &r, err, sizeof err);
    if (!m) {
        fprintf(stderr, "export_bench: %s\n", err);
        return 1;
    }
    cr_model_set_training(m, 0);
    cr_tape *t = cr_tape_new(0);
    cr_tape_set_threads(t, 1);
    int xs[2] = { 1, F };
    cr_tensor *x = cr_const(t, 2, xs, NULL);
    cr_tensor *y = cr_model_forward(t, m, x);
    if (!y) return 1;
    printf("Fashion-MNIST MLP 784-128-10 (101,770 parameters), one image per call, 1 thread, "
           "best of %d passes over %d images\n", PASSES, IMAGES);
    fflush(stdout);
    double ns_f, ns_q, ns_n;
    if (exported(t, x, y, dir, cc, "-O2", 0, &ns_f) || exported(t, x, y, dir, cc, "-O2", 1, &ns_q) ||
        exported(t, x, y, dir, cc, "-O3 -march=native", 0, &ns_n))
        return 1;

    /* the library: replay the batch-1 tape on each image */
    double best = 1e30, sink = 0;
    for (int p = 0; p < PASSES; p++) {
        double t0 = now();
        for (int i = 0; i < IMAGES; i++) {
            for (int j = 0; j < F; j++) x->data[j] = img[(size_t)i * F + j];
            if (cr_tape_forward(t) != CR_OK) return 1;
            sink += y->data[0];
        }
        double s = now() - t0;
        if (s < best) best = s;
    }
    double ns_lib = best / IMAGES * 1e9;
    printf("  library forward (replay of a batch-1 tape): %8.0f ns per image (%g)\n", ns_lib,
           sink);

    /* PyTorch, same run */
    double ns_torch = 0;
    snprintf(cmd, sizeof cmd, "OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 %s bench/torch_infer.py "
             "%s/images.bin %d %d 2>&1", py, dir, IMAGES, PASSES);
    FILE *p = popen(cmd, "r");
    char line[512];
    int got = 0;
    while (p && fgets(line, sizeof line, p)) {
        if (sscanf(line, "RESULT ns_per_image=%lf", &ns_torch) == 1) got = 1;
        else fputs(line, stdout);
    }
    if (p) pclose(p);
    if (got) printf("  PyTorch (eval, no_grad, 1 thread):          %8.0f ns per image\n", ns_torch);
    else printf("  PyTorch: not measured (install python3-torch)\n");
    printf("  ratios: library / exported float %.2f (-O3 -march=native: %.2f); exported int8 / "
           "float %.2f%s", ns_lib / ns_f, ns_lib / ns_n, ns_q / ns_f, got ? "" : "\n");
    if (got) printf("; PyTorch / exported float %.2f\n", ns_torch / ns_f);
    cr_tape_free(t);
    cr_model_free(m);
    free(img);
    if (argc <= 1) {
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
        if (system(cmd) != 0) return 1;
    }
    return 0;
}
