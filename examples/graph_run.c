/* graph_run (installed as chainrule-run): run a graph file on a data file.
 *
 *   graph_run model.crg t10k-images-idx3-ubyte [t10k-labels-idx1-ubyte]
 *   graph_run model.crg test.csv --print logits
 *   graph_run --export DIR model.crg          (model.h + model.c, plain C)
 *
 * The usage text below is the manual (options, output, exit status). */
#include "chainrule.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The manual: chainrule-run(1) is made from this text by tools/help-to-man.sh. */
static const char *usage =
    "NAME\n"
    "    chainrule-run - run a chainrule graph file on IDX or CSV data\n"
    "\n"
    "SYNOPSIS\n"
    "    chainrule-run GRAPH INPUT [LABELS] [OPTION]...\n"
    "    chainrule-run --export DIR [--export-name NAME] [--batch N] [--int8] GRAPH\n"
    "\n"
    "DESCRIPTION\n"
    "    Loads GRAPH, a graph file (cr_graph_save; chainrule-train --save-graph),\n"
    "    which needs none of the code that made it, and runs it on the samples of\n"
    "    INPUT: an IDX image file (LABELS, optional: its IDX label file) or a CSV\n"
    "    table with a label column. The samples go to the graph's first input,\n"
    "    --batch at a time. Prints one line per sample: its index and the argmax\n"
    "    of the output; with labels, a last line: accuracy P% (k/n).\n"
    "\n"
    "    With --export, runs nothing: writes GRAPH as C (cr_export_graph_c) to\n"
    "    DIR/NAME.h and DIR/NAME.c, which need no library (C99, libm, no heap):\n"
    "    int NAME_predict(const float *x, float *y) computes every output of the\n"
    "    graph, back to back in y, from every input, back to back in x, in the\n"
    "    file's order for --batch samples (default 1 here); NAME.h lists them\n"
    "    with their shapes, offsets and names. An op the exporter does not know\n"
    "    is refused by name (exit status 2).\n"
    "\n"
    "OPTIONS\n"
    "  --batch N            samples per forward pass (default 100)\n"
    "  --print WHAT         argmax (default): index and predicted class; logits:\n"
    "                       index and every value of the output; none: only the\n"
    "                       accuracy line\n"
    "  --output NAME        the graph output to read (default: the first)\n"
    "  --label-column K     CSV: 0-based label column (default -1: the last)\n"
    "  --export DIR         write GRAPH as C into DIR (an existing directory)\n"
    "  --export-name NAME   the C name of the export (default model): NAME.h,\n"
    "                       NAME.c, NAME_predict\n"
    "  --int8               with --export: dense and conv weights as int8 with one\n"
    "                       scale per output channel (else float, bit-exact)\n"
    "  --help               this text\n"
    "\n"
    "EXIT STATUS\n"
    "    0   success\n"
    "    1   a forward pass failed\n"
    "    2   bad usage, or a file that cannot be read\n"
    "\n"
    "EXAMPLES\n"
    "    chainrule-train --data /usr/share/datasets/fashion-mnist --save-graph f.crg\n"
    "    chainrule-run f.crg t10k-images-idx3-ubyte.gz t10k-labels-idx1-ubyte.gz\n"
    "    chainrule-run f.crg table.csv --print logits\n"
    "    chainrule-run --export out --export-name fashion f.crg\n"
    "    cc -std=c99 -O2 -c out/fashion.c\n";

/* IDX images, with labels or (plain files only) made-up zero labels. */
static cr_status load_idx(cr_dataset **d, const char *images, const char *labels, char *err,
                          size_t es)
{
    if (labels) return cr_idx_load(d, images, labels, 0, err, es);
    FILE *f = fopen(images, "rb");
    unsigned char *buf = NULL, *lab = NULL;
    size_t n = 0, cap = 0, k;
    cr_status s = CR_ERR_IO;
    snprintf(err, es, "%s: cannot read", images);
    while (f && (cap - n > 0 || (buf = realloc(buf, cap = 2 * cap + 65536)) != NULL) &&
           (k = fread(buf + n, 1, cap - n, f)) > 0)
        n += k;
    if (f) fclose(f);
    if (buf && n >= 8 && buf[0] == 0 && buf[1] == 0 && buf[2] == 8 && buf[3] == 3) {
        size_t count = (size_t)buf[4] << 24 | (size_t)buf[5] << 16 | (size_t)buf[6] << 8 | buf[7];
        lab = calloc(count + 8, 1);
        if (lab) {
            lab[2] = 8, lab[3] = 1;
            memcpy(lab + 4, buf + 4, 4);
            s = cr_idx_load_mem(d, buf, n, lab, count + 8, 0, err, es);
        }
    } else if (buf && n >= 2) {
        s = CR_ERR_FORMAT;
        snprintf(err, es, "%s: not a plain IDX image file (a compressed one needs its labels "
                 "file: give LABELS)", images);
    }
    free(buf);
    free(lab);
    return s;
}

int main(int argc, char **argv)
{
    const char *path = NULL, *input = NULL, *labels = NULL, *out_name = NULL, *print = "argmax";
    const char *export_dir = NULL, *export_name = "model";
    int batch = 100, label_col = -1, batch_given = 0, int8 = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--help")) return fputs(usage, stdout), 0;
        else if (!strcmp(a, "--batch") && v) batch = atoi(argv[++i]), batch_given = 1;
        else if (!strcmp(a, "--export") && v) export_dir = argv[++i];
        else if (!strcmp(a, "--export-name") && v) export_name = argv[++i];
        else if (!strcmp(a, "--int8")) int8 = 1;
        else if (!strcmp(a, "--print") && v) print = argv[++i];
        else if (!strcmp(a, "--output") && v) out_name = argv[++i];
        else if (!strcmp(a, "--label-column") && v) label_col = atoi(argv[++i]);
        else if (a[0] == '-' && a[1] == '-') return fprintf(stderr, "chainrule-run: bad option %s (see --help)\n", a), 2;
        else if (!path) path = a;
        else if (!input) input = a;
        else if (!labels) labels = a;
        else return fprintf(stderr, "chainrule-run: too many arguments (see --help)\n"), 2;
    }
    if (export_dir) {
        if (!path || input || batch < 1)
            return fprintf(stderr, "chainrule-run: --export takes one GRAPH and --batch >= 1 "
                           "(see --help)\n"), 2;
        char err[512];
        cr_graph *g = cr_graph_load(path, err, sizeof err);
        cr_export_opts eo = { .int8 = int8 };
        int b = batch_given ? batch : 1;
        cr_status st = !g ? CR_ERR_IO
                       : (batch_given || cr_graph_batch(g) > 1) && cr_graph_batch(g) != b
                       ? cr_graph_set_batch(g, b, err, sizeof err) : CR_OK;
        if (st == CR_OK) st = cr_export_graph_c(g, export_name, export_dir, &eo, err, sizeof err);
        cr_graph_free(g);
        if (st != CR_OK) return fprintf(stderr, "chainrule-run: %s\n", err), 2;
        return 0;
    }
    if (!input || batch < 1 || (strcmp(print, "argmax") && strcmp(print, "logits") &&
                                strcmp(print, "none")))
        return fprintf(stderr, "chainrule-run: %s (see --help)\n", !input ?
                       "GRAPH and INPUT are needed" : "bad --batch or --print"), 2;
    char err[512];
    cr_graph *g = cr_graph_load(path, err, sizeof err);
    if (!g) return fprintf(stderr, "chainrule-run: %s\n", err), 2;
    size_t len = strlen(input);
    int csv = len > 4 && (!strcmp(input + len - 4, ".csv") || strstr(input, ".csv."));
    cr_csv_options co = cr_csv_defaults();
    co.label_column = label_col;
    cr_dataset *d = NULL;
    cr_status s = csv ? cr_csv_load(&d, input, &co, err, sizeof err)
                      : load_idx(&d, input, labels, err, sizeof err);
    int k_out = out_name ? cr_graph_find_output(g, out_name) : 0;
    if (s != CR_OK || k_out < 0 || cr_graph_n_inputs(g) < 1) {
        fprintf(stderr, "chainrule-run: %s\n", s != CR_OK ? err : k_out < 0 ?
                "no output of that name" : "the graph has no input");
        cr_graph_free(g);
        cr_dataset_free(d);
        return 2;
    }
    int has_labels = csv || labels;
    size_t ok = 0, done = 0;
    int *idx = malloc((size_t)batch * sizeof *idx);
    int rc = idx ? 0 : 1;
    for (size_t s0 = 0; !rc && s0 < d->n; s0 += (size_t)batch) {
        int m = d->n - s0 < (size_t)batch ? (int)(d->n - s0) : batch;
        if (cr_graph_batch(g) != m && cr_graph_set_batch(g, m, err, sizeof err) != CR_OK) {
            fprintf(stderr, "chainrule-run: %s\n", err), rc = 1;
            break;
        }
        cr_tensor *x = cr_graph_input(g, 0), *y = cr_graph_output(g, k_out);
        for (int r = 0; r < m; r++) idx[r] = (int)s0 + r;
        if (cr_dataset_gather(d, idx, (size_t)m, x, NULL, err, sizeof err) != CR_OK ||
            cr_tape_forward(cr_graph_tape(g)) != CR_OK) {
            fprintf(stderr, "chainrule-run: %s\n", cr_tape_error(cr_graph_tape(g))
                    ? cr_tape_error(cr_graph_tape(g)) : err), rc = 1;
            break;
        }
        size_t C = y->size / (size_t)m;
        for (int r = 0; r < m; r++, done++) {
            const cr_real *row = y->data + (size_t)r * C;
            size_t best = 0;
            for (size_t c = 1; c < C; c++)
                if (row[c] > row[best]) best = c;
            ok += has_labels && (int)best == d->labels[s0 + (size_t)r];
            if (!strcmp(print, "argmax")) printf("%zu %zu\n", s0 + (size_t)r, best);
            if (!strcmp(print, "logits")) {
                printf("%zu", s0 + (size_t)r);
                for (size_t c = 0; c < C; c++) printf(" %.9g", (double)row[c]);
                printf("\n");
            }
        }
    }
    if (!rc && has_labels)
        printf("accuracy %.2f%% (%zu/%zu)\n", 100.0 * (double)ok / (double)done, ok, done);
    free(idx);
    cr_dataset_free(d);
    cr_graph_free(g);
    return rc;
}
