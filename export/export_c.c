/* cr_export_c: a recorded inference graph as dir/name.h + dir/name.c (see the
 * export section of include/chainrule.h). The plan (plan.c) decides what is
 * written; emit.c writes it; here: the arguments and the files. Each file is
 * written to "<file>.tmp.<pid>" and renamed over its name once both are complete,
 * so a failed export leaves neither a partial file nor a temporary one. */
#include "export_internal.h"
#include "../graph/errf.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define EXPORT_NAME_MAX 48

static int c_identifier(const char *s)
{
    size_t n = strlen(s);
    if (n < 1 || n > EXPORT_NAME_MAX) return 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        int alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
        if (!alpha && !(i > 0 && c >= '0' && c <= '9')) return 0;
    }
    return 1;
}

typedef struct xfile {
    char path[4096], tmp[4200];
    FILE *f;
} xfile;

static cr_status open_tmp(xfile *x, const char *dir, const char *name, const char *ext,
                          char *err, size_t errsize)
{
    int n = snprintf(x->path, sizeof x->path, "%s/%s.%s", dir, name, ext);
    if (n < 0 || (size_t)n >= sizeof x->path)
        return cr__errf(CR_ERR_ARG, err, errsize, "export: the directory name is too long");
    snprintf(x->tmp, sizeof x->tmp, "%s.tmp.%ld", x->path, (long)getpid());
    x->f = fopen(x->tmp, "w");
    if (!x->f)
        return cr__errf(CR_ERR_IO, err, errsize, "export: %s: %s", x->tmp, strerror(errno));
    return CR_OK;
}

/* Close the file; CR_ERR_IO naming it when writing or closing failed (wrote < 0). */
static cr_status close_tmp(xfile *x, int wrote, char *err, size_t errsize)
{
    int e = wrote < 0 || ferror(x->f) ? (errno ? errno : EIO) : 0;
    if (fclose(x->f) != 0 && !e) e = errno ? errno : EIO;
    x->f = NULL;
    if (e) return cr__errf(CR_ERR_IO, err, errsize, "export: writing %s: %s", x->tmp, strerror(e));
    return CR_OK;
}

/* The exports: n_out >= 1 outputs; in_names / out_names (may be NULL) name them in
 * the header. */
static cr_status export_files(const cr_tape *t, int n_in, cr_tensor *const *inputs,
                              const char *const *in_names, int n_out,
                              const cr_tensor *const *outputs, const char *const *out_names,
                              const char *name, const char *dir, const cr_export_opts *opts,
                              char *err, size_t errsize)
{
    if (!t || !outputs || !name || !dir || n_in < 0 || (n_in > 0 && !inputs) || n_out < 1)
        return cr__errf(CR_ERR_ARG, err, errsize, "export: %s is NULL, n_in = %d is below 0 "
                        "or n_out = %d is below 1", !t ? "the tape" : !outputs ? "the output"
                        : !name ? "the name" : !dir ? "the directory" : "nothing", n_in, n_out);
    for (int k = 0; k < n_in; k++)
        if (!inputs[k]) return cr__errf(CR_ERR_ARG, err, errsize, "export: input %d is NULL", k);
    for (int k = 0; k < n_out; k++)
        if (!outputs[k])
            return cr__errf(CR_ERR_ARG, err, errsize, "export: output %d is NULL", k);
    if (!c_identifier(name))
        return cr__errf(CR_ERR_ARG, err, errsize, "export: name '%.60s' is not a C identifier "
                        "of 1..%d characters", name, EXPORT_NAME_MAX);
    if (cr_tape_error(t))
        return cr__errf(CR_ERR_STATE, err, errsize, "export: the tape has an error: %s",
                        cr_tape_error(t));
    int int8 = opts ? opts->int8 : 0;
    if (int8 != 0 && int8 != 1)
        return cr__errf(CR_ERR_ARG, err, errsize, "export: int8 = %d (must be 0 or 1)", int8);
    xplan p;
    cr_status st = cr__xplan_build(&p, t, n_in, inputs, n_out, outputs, int8,
                                   opts && opts->no_fold, err, errsize);
    if (st != CR_OK) return st;
    xfile h = { .f = NULL }, c = { .f = NULL };
    int made_h = 0, made_c = 0;
    if ((st = open_tmp(&h, dir, name, "h", err, errsize)) != CR_OK) goto done;
    made_h = 1;
    if ((st = close_tmp(&h, cr__xemit_header(h.f, &p, name, n_in, inputs, in_names, outputs,
                                                    out_names), err,
                        errsize)) != CR_OK)
        goto done;
    if ((st = open_tmp(&c, dir, name, "c", err, errsize)) != CR_OK) goto done;
    made_c = 1;
    if ((st = close_tmp(&c, cr__xemit_source(c.f, &p, name), err, errsize)) != CR_OK) goto done;
    if (rename(h.tmp, h.path) != 0) {
        st = cr__errf(CR_ERR_IO, err, errsize, "export: renaming to %s: %s", h.path,
                      strerror(errno));
        goto done;
    }
    made_h = 0;
    if (rename(c.tmp, c.path) != 0) {
        st = cr__errf(CR_ERR_IO, err, errsize, "export: renaming to %s: %s", c.path,
                      strerror(errno));
        remove(h.path);
        goto done;
    }
    made_c = 0;
done:
    if (h.f) fclose(h.f);
    if (c.f) fclose(c.f);
    if (made_h) remove(h.tmp);
    if (made_c) remove(c.tmp);
    cr__xplan_free(&p);
    return st;
}

cr_status cr_export_c(const cr_tape *t, int n_in, cr_tensor *const *inputs,
                      const cr_tensor *output, const char *name, const char *dir,
                      const cr_export_opts *opts, char *err, size_t errsize)
{
    return export_files(t, n_in, inputs, NULL, 1, output ? &output : NULL, NULL, name, dir,
                        opts, err, errsize);
}

cr_status cr_export_c_multi(const cr_tape *t, int n_in, cr_tensor *const *inputs, int n_out,
                            const cr_tensor *const *outputs, const char *name,
                            const char *dir, const cr_export_opts *opts, char *err,
                            size_t errsize)
{
    return export_files(t, n_in, inputs, NULL, n_out, outputs, NULL, name, dir, opts, err,
                        errsize);
}

#define GRAPH_IO_MAX 64

cr_status cr_export_graph_c(const cr_graph *g, const char *name, const char *dir,
                            const cr_export_opts *opts, char *err, size_t errsize)
{
    if (!g) return cr__errf(CR_ERR_ARG, err, errsize, "export: the graph is NULL");
    int ni = cr_graph_n_inputs(g), no = cr_graph_n_outputs(g);
    if (ni > GRAPH_IO_MAX || no > GRAPH_IO_MAX || no < 1)
        return cr__errf(CR_ERR_ARG, err, errsize, "export: the graph has %d inputs and %d "
                        "outputs (1..%d outputs and at most %d inputs are exported)", ni, no,
                        GRAPH_IO_MAX, GRAPH_IO_MAX);
    cr_tensor *in[GRAPH_IO_MAX];
    const cr_tensor *outs[GRAPH_IO_MAX];
    const char *in_names[GRAPH_IO_MAX], *out_names[GRAPH_IO_MAX];
    for (int k = 0; k < ni; k++) {
        in[k] = cr_graph_input(g, k);
        in_names[k] = cr_graph_input_name(g, k);
    }
    for (int k = 0; k < no; k++) {
        outs[k] = cr_graph_output(g, k);
        out_names[k] = cr_graph_output_name(g, k);
    }
    return export_files(cr_graph_tape(g), ni, in, in_names, no, outs, out_names, name, dir,
                        opts, err, errsize);
}
