/* CSV reader for numeric tables: one sample per line, comma separated, one column
 * holding the class label (or, with the regression option, a real target).
 * Positions in messages are "file:line" or "file:line:field", both 1-based. The
 * whole text is read into one buffer (NUL-terminated copy) and parsed in place. */
#include "data_internal.h"

#include <errno.h>
#include <float.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define MAX_LABEL 999999   /* a class index above this is surely not a label column */

cr_csv_options cr_csv_defaults(void)
{
    cr_csv_options o = { -1, -1, 0, 0 };
    return o;
}

typedef struct parser {
    const char *name;
    char *err;
    size_t errsize;
    unsigned long line;
    size_t nf;                 /* fields per line */
    size_t lc;                 /* label column */
    float *values;             /* rows x (nf - 1) */
    int *labels;               /* classification */
    float *targets;            /* regression */
    int regression;
    size_t rows, cap;
    int max_label;
    size_t text_len;           /* the text held while parsing (for the memory limit) */
} parser;

static int is_ws(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v'; }

/* Quote a field for a message: printable ASCII as it is, any other byte (control
 * bytes, bytes >= 0x80 of whatever encoding) as \xNN, at most ~40 characters. */
static void quote(char *dst, size_t size, const char *b, const char *e)
{
    size_t k = 0;
    const char *p = b;
    for (; p < e && k + 8 < size; p++) {
        unsigned char c = (unsigned char)*p;
        if (c >= 32 && c < 127) dst[k++] = (char)c;
        else k += (size_t)snprintf(dst + k, size - k, "\\x%02x", c);
    }
    if (p < e && k + 4 <= size) {
        memcpy(dst + k, "...", 3);
        k += 3;
    }
    dst[k] = '\0';
}

/* Parse the NUL-terminated field [b, e) as a finite double.
 * 0: ok; 1: not a number; 2: NaN/Inf; 3: overflow. */
static int parse_number(const char *b, const char *e, double *v)
{
    if (b == e) return 1;
    char *end;
    errno = 0;
    *v = strtod(b, &end);
    if (end != e) return 1;
    if (errno == ERANGE && fabs(*v) > 1) return 3;
    if (!isfinite(*v)) return 2;
    return 0;
}

static cr_status field_error(parser *ps, size_t field, const char *b, const char *e, int why,
                             const char *what)
{
    char q[48];
    quote(q, sizeof q, b, e);
    if (b == e)
        return cr__errf(CR_ERR_FORMAT, ps->err, ps->errsize, "%s:%lu:%zu: empty field", ps->name,
                        ps->line, field + 1);
    return cr__errf(CR_ERR_FORMAT, ps->err, ps->errsize, "%s:%lu:%zu: %s'%s' is %s", ps->name,
                    ps->line, field + 1, what, q,
                    why == 1 ? "not a number" : why == 2 ? "not a finite number"
                                                         : "out of range");
}

/* Split the line [p, le) into fields, trimmed and NUL-terminated in place.
 * b[k], e[k] receive the bounds; returns the field count (may exceed max). */
static size_t split(char *p, char *le, char **b, char **e, size_t max)
{
    size_t k = 0;
    for (;;) {
        char *c = memchr(p, ',', (size_t)(le - p));
        char *fe = c ? c : le;
        char *fb = p;
        while (fb < fe && is_ws(*fb)) fb++;
        char *te = fe;
        while (te > fb && is_ws(te[-1])) te--;
        if (k < max) {
            b[k] = fb;
            e[k] = te;
        }
        *te = '\0';          /* te <= fe: overwrites blank, ',' or '\n' already scanned */
        k++;
        if (!c) return k;
        p = c + 1;
    }
}

static cr_status grow(parser *ps)
{
    if (ps->rows < ps->cap) return CR_OK;
    if (ps->rows >= INT_MAX)
        return cr__errf(CR_ERR_FORMAT, ps->err, ps->errsize, "%s:%lu: more than %d rows",
                        ps->name, ps->line, INT_MAX);
    size_t ncap = ps->cap ? ps->cap * 2 : 256, width = ps->nf - 1;
    if (ncap > INT_MAX) ncap = INT_MAX;
    if (ncap > SIZE_MAX / sizeof(float) / width) goto nomem;
    if (cr_memory_check((uint64_t)ncap * (width * sizeof(float) + sizeof(int)) + ps->text_len,
                        ps->name, ps->err, ps->errsize) != CR_OK)
        return CR_ERR_NOMEM;
    float *v = cr_realloc(ps->values, ncap * width * sizeof *v);
    if (!v) goto nomem;
    ps->values = v;
    if (ps->regression) {
        float *t = cr_realloc(ps->targets, ncap * sizeof *t);
        if (!t) goto nomem;
        ps->targets = t;
    } else {
        int *l = cr_realloc(ps->labels, ncap * sizeof *l);
        if (!l) goto nomem;
        ps->labels = l;
    }
    ps->cap = ncap;
    return CR_OK;
nomem:
    return cr__errf(CR_ERR_NOMEM, ps->err, ps->errsize, "%s:%lu: out of memory", ps->name,
                    ps->line);
}

static cr_status parse_row(parser *ps, char **b, char **e, int n_classes)
{
    cr_status st = grow(ps);
    if (st != CR_OK) return st;
    float *row = ps->values + ps->rows * (ps->nf - 1);
    size_t out = 0;
    for (size_t k = 0; k < ps->nf; k++) {
        double v;
        int why = parse_number(b[k], e[k], &v);
        if (k == ps->lc && ps->regression) {
            if (!why && fabs(v) > FLT_MAX) why = 3;
            if (why) return field_error(ps, k, b[k], e[k], why, "target ");
            ps->targets[ps->rows] = (float)v;
            continue;
        }
        if (k == ps->lc) {
            if (why) return field_error(ps, k, b[k], e[k], why, "label ");
            if (v < 0 || v != floor(v)) {
                char q[48];
                quote(q, sizeof q, b[k], e[k]);
                return cr__errf(CR_ERR_FORMAT, ps->err, ps->errsize,
                                "%s:%lu:%zu: label '%s' is not a non-negative integer", ps->name,
                                ps->line, k + 1, q);
            }
            if (v > MAX_LABEL)
                return cr__errf(CR_ERR_FORMAT, ps->err, ps->errsize,
                                "%s:%lu:%zu: label %.0f is too large (at most %d)", ps->name,
                                ps->line, k + 1, v, MAX_LABEL);
            if (n_classes > 0 && v >= n_classes)
                return cr__errf(CR_ERR_FORMAT, ps->err, ps->errsize,
                                "%s:%lu:%zu: label %.0f is not below the number of classes (%d)",
                                ps->name, ps->line, k + 1, v, n_classes);
            ps->labels[ps->rows] = (int)v;
            if ((int)v > ps->max_label) ps->max_label = (int)v;
            continue;
        }
        if (!why && fabs(v) > FLT_MAX) why = 3;
        if (why) return field_error(ps, k, b[k], e[k], why, "");
        row[out++] = (float)v;
    }
    ps->rows++;
    return CR_OK;
}

static int line_is_blank(const char *p, const char *le)
{
    for (; p < le; p++)
        if (!is_ws(*p)) return 0;
    return 1;
}

static size_t count_fields(const char *p, const char *le)
{
    size_t k = 1;
    for (; p < le; p++) k += *p == ',';
    return k;
}

/* Parse text[0..len) (text[len] == '\0', writable). */
static cr_status parse(cr_dataset **out, char *text, size_t len, const char *name,
                       const cr_csv_options *o, char *err, size_t errsize)
{
    parser ps;
    memset(&ps, 0, sizeof ps);
    ps.name = name;
    ps.err = err;
    ps.errsize = errsize;
    char **bounds = NULL;
    cr_status st = CR_OK;
    char *p = text, *end = text + len;
    int first = 1;
    ps.text_len = len;
    ps.regression = o->regression;
    if (end - p >= 3 && memcmp(p, "\xef\xbb\xbf", 3) == 0) p += 3;   /* UTF-8 BOM */
    while (p < end && st == CR_OK) {
        ps.line++;
        char *le = p;                     /* a line ends at \n, \r\n or a bare \r */
        while (le < end && *le != '\n' && *le != '\r') le++;
        char *next = le;
        if (next < end && *next == '\r') next++;
        if (next < end && *next == '\n' && (next == le || next[-1] == '\r')) next++;
        if (line_is_blank(p, le)) {
            p = next;
            continue;
        }
        size_t nf = count_fields(p, le);
        if (first) {
            if (nf < 2) {
                st = cr__errf(CR_ERR_FORMAT, err, errsize, "%s:%lu: found %zu field; need at least "
                              "2 (features and a label)", name, ps.line, nf);
                break;
            }
            if (nf > INT_MAX) {
                st = cr__errf(CR_ERR_FORMAT, err, errsize, "%s:%lu: too many fields", name, ps.line);
                break;
            }
            ps.nf = nf;
            ps.lc = o->label_column < 0 ? nf - 1 : (size_t)o->label_column;
            if (ps.lc >= nf) {
                st = cr__errf(CR_ERR_FORMAT, err, errsize, "%s:%lu: label column %d (0-based) does "
                              "not exist: the line has %zu fields", name, ps.line,
                              o->label_column, nf);
                break;
            }
            bounds = cr_malloc(2 * nf * sizeof *bounds);
            if (!bounds) {
                st = cr__errf(CR_ERR_NOMEM, err, errsize, "%s: out of memory", name);
                break;
            }
        } else if (nf != ps.nf) {
            st = cr__errf(CR_ERR_FORMAT, err, errsize, "%s:%lu: expected %zu fields, found %zu",
                          name, ps.line, ps.nf, nf);
            break;
        }
        char **b = bounds, **e = bounds + ps.nf;
        split(p, le, b, e, ps.nf);
        if (first) {
            first = 0;
            int header = o->header;
            if (header < 0) {                   /* auto: any non-number makes it a header */
                header = 0;
                for (size_t k = 0; k < nf && !header; k++) {
                    double v;
                    header = parse_number(b[k], e[k], &v) == 1;
                }
            }
            if (header) {
                p = next;
                continue;
            }
        }
        st = parse_row(&ps, b, e, o->n_classes);
        p = next;
    }
    cr_free(bounds);
    if (st == CR_OK && ps.rows == 0)
        st = cr__errf(CR_ERR_FORMAT, err, errsize, "%s: no data rows", name);
    cr_dataset *d = NULL;
    if (st == CR_OK && !(d = cr__dataset_alloc()))
        st = cr__errf(CR_ERR_NOMEM, err, errsize, "%s: out of memory", name);
    if (st != CR_OK) {
        cr_free(ps.values);
        cr_free(ps.labels);
        cr_free(ps.targets);
        return st;
    }
    d->n = ps.rows;
    d->n_features = ps.nf - 1;
    d->n_classes = o->regression ? 0 : o->n_classes > 0 ? o->n_classes : ps.max_label + 1;
    d->targets = ps.targets;
    d->values = ps.values;          /* capacity may exceed n rows: harmless */
    d->labels = ps.labels;
    *out = d;
    return CR_OK;
}

static cr_status check_opts(const cr_csv_options *o, char *err, size_t errsize)
{
    if (o->header < -1 || o->header > 1 || o->label_column < -1 || o->n_classes < 0 ||
        o->regression < 0 || o->regression > 1 || (o->regression && o->n_classes))
        return cr__errf(CR_ERR_ARG, err, errsize,
                        "csv: bad options (header %d, label column %d, classes %d, regression %d%s)",
                        o->header, o->label_column, o->n_classes, o->regression,
                        o->regression == 1 && o->n_classes ? ": regression has no classes" : "");
    return CR_OK;
}

cr_status cr__src_read_text(cr__src *src, size_t cap, char **out, size_t *len, char *err,
                             size_t errsize)
{
    char *buf = NULL;
    size_t n = 0;
    cr_status st = CR_OK;
    if (cap < 64) cap = 64;
    for (;;) {
        if ((st = cr_memory_check(cap, src->name, err, errsize)) != CR_OK) break;
        char *nb = cr_realloc(buf, cap);
        if (!nb) {
            st = cr__errf(CR_ERR_NOMEM, err, errsize, "%s: out of memory", src->name);
            break;
        }
        buf = nb;
        size_t got;
        if ((st = cr__src_read(src, buf + n, cap - 1 - n, &got, err, errsize)) != CR_OK) break;
        n += got;
        if (n < cap - 1) break;
        char probe;                                  /* full: is there more? */
        if ((st = cr__src_read(src, &probe, 1, &got, err, errsize)) != CR_OK || got == 0) break;
        if (cap > SIZE_MAX / 2) {
            st = cr__errf(CR_ERR_NOMEM, err, errsize, "%s: too large", src->name);
            break;
        }
        cap *= 2;
        if ((st = cr_memory_check(cap, src->name, err, errsize)) != CR_OK) break;
        if (!(nb = cr_realloc(buf, cap))) {
            st = cr__errf(CR_ERR_NOMEM, err, errsize, "%s: out of memory", src->name);
            break;
        }
        buf = nb;
        buf[n++] = probe;
    }
    if (st != CR_OK) {
        cr_free(buf);
        return st;
    }
    buf[n] = '\0';
    *out = buf;
    *len = n;
    return CR_OK;
}

static cr_status load_src(cr_dataset **out, cr__src *src, size_t cap,
                          const cr_csv_options *o, char *err, size_t errsize)
{
    char *buf;
    size_t n;
    cr_status st = cr__src_read_text(src, cap, &buf, &n, err, errsize);
    cr__src_close(src);
    if (st != CR_OK) return st;
    st = parse(out, buf, n, src->name, o, err, errsize);
    cr_free(buf);
    return st;
}

cr_status cr_csv_load_mem(cr_dataset **out, const char *text, size_t len,
                          const char *name, const cr_csv_options *opt, char *err,
                          size_t errsize)
{
    cr_csv_options o = opt ? *opt : cr_csv_defaults();
    if (!out || (!text && len)) return cr__errf(CR_ERR_ARG, err, errsize, "csv: NULL argument");
    cr_status st = check_opts(&o, err, errsize);
    if (st != CR_OK) return st;
    cr__src src;
    st = cr__src_open_mem(&src, text, len, name ? name : "<memory>", err, errsize);
    if (st != CR_OK) return st;
    return load_src(out, &src, len < SIZE_MAX - 1 ? len + 1 : len, &o, err, errsize);
}

cr_status cr_csv_load(cr_dataset **out, const char *path, const cr_csv_options *opt,
                      char *err, size_t errsize)
{
    cr_csv_options o = opt ? *opt : cr_csv_defaults();
    if (!out || !path) return cr__errf(CR_ERR_ARG, err, errsize, "csv: NULL argument");
    cr_status st = check_opts(&o, err, errsize);
    if (st != CR_OK) return st;
    cr__src src;
    if ((st = cr__src_open_file(&src, path, err, errsize)) != CR_OK) return st;
    long long rem = cr__src_remaining(&src);
    size_t cap = rem >= 0 && (unsigned long long)rem < SIZE_MAX / 2 ? (size_t)rem + 1 : 65536;
    return load_src(out, &src, cap, &o, err, errsize);
}
