/* cr_load: read a model file (docs/FORMAT.md) into a parameter list, optimizer and
 * metadata — all or nothing.
 *
 * Three phases, and the caller's objects are touched only in the last:
 *   1. read the whole file into memory;
 *   2. validate: magic, version, size, checksum, then parse every section with
 *      bounds and overflow checks into records pointing into the buffer, and match
 *      each record to its parameter / state tensor by name and shape;
 *   3. commit: copy (and convert, if the file has the other precision) the values.
 * Phase 3 cannot fail. */
#include "format.h"
#include "optim_internal.h"

#include <errno.h>
#include <float.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

/* One tensor record of the file, pointing into the file buffer. */
typedef struct rec {
    const unsigned char *name;
    uint32_t namelen;
    int ndim;
    int shape[CR_MAX_DIMS];
    size_t size;
    const unsigned char *data;
    cr_tensor *target;          /* matched tensor, set in phase 2 */
    size_t index;               /* its index in the parameter / state list */
} rec;

typedef struct loaded {
    uint32_t real_size;
    int has_params, has_optim, has_meta;
    size_t nparams, nstate, nmeta;
    rec *params, *state;        /* cr_malloc'ed */
    cr_optim_config cfg;        /* OPTM; for OPTN what the caller's optimizer gets */
    uint64_t step;
    int named;                  /* the optimizer section is OPTN (user-defined) */
    char oname[CR__OPTIM_NAME_MAX];
    uint32_t nhyper;            /* OPTN: lr and the others, by name */
    char hname[1 + CR_OPTIM_MAX_HYPER][CR__HYPER_NAME_MAX];
    double hval[1 + CR_OPTIM_MAX_HYPER];
    cr__meta_entry *meta;       /* cr_malloc'ed only when the caller wants meta */
    const char *want_tag;       /* cr__load_section: the section to find */
    const unsigned char *found; /* its body, or NULL */
    size_t found_len;
} loaded;

/* Cursor over buf[pos, end) with the path for messages. */
typedef struct reader {
    const char *path;
    const unsigned char *buf;
    size_t pos, end;
    char *err;
    size_t errsize;
} reader;

static cr_status malformed(reader *r, const char *what)
{
    return cr__errf(CR_ERR_FORMAT, r->err, r->errsize, "%s: malformed file at byte %zu: %s",
                          r->path, r->pos, what);
}

/* Fail unless n more bytes are available inside the current section. */
static int need(reader *r, size_t n) { return n <= r->end - r->pos; }

static uint32_t get_u32(reader *r) { return cr__take_u32(r->buf, &r->pos); }
static uint64_t get_u64(reader *r) { return cr__take_u64(r->buf, &r->pos); }

/* Printable copy of a name from the file: ASCII as it is, control bytes and
 * bytes >= 0x80 as \xNN (never raw file bytes in a message). */
static void show_name(char *dst, size_t dstsize, const unsigned char *name, size_t len)
{
    size_t k = 0;
    for (size_t i = 0; i < len && k + 5 < dstsize; i++) {
        if (name[i] >= 0x20 && name[i] < 0x7f) dst[k++] = (char)name[i];
        else k += (size_t)snprintf(dst + k, dstsize - k, "\\x%02x", name[i]);
    }
    dst[k] = '\0';
}

static void show_shape(char *dst, size_t dstsize, int ndim, const int *shape)
{
    if (ndim == 0) {
        snprintf(dst, dstsize, "scalar");
        return;
    }
    size_t k = 0;
    dst[0] = '\0';
    for (int d = 0; d < ndim && k < dstsize; d++)
        k += (size_t)snprintf(dst + k, dstsize - k, d ? "x%d" : "%d", shape[d]);
}

/* One tensor record: u32 name length, name, u32 rank, rank u32 dims, data. */
static cr_status parse_record(reader *r, rec *t, uint32_t rs)
{
    if (!need(r, 4)) return malformed(r, "tensor record cut short");
    t->namelen = get_u32(r);
    if (t->namelen < 1 || t->namelen > CR__NAME_MAX)
        return malformed(r, "tensor name length outside 1..255");
    if (!need(r, (size_t)t->namelen + 4)) return malformed(r, "tensor name cut short");
    t->name = r->buf + r->pos;
    r->pos += t->namelen;
    uint32_t ndim = get_u32(r);
    if (ndim > CR_MAX_DIMS) return malformed(r, "tensor rank above 4");
    t->ndim = (int)ndim;
    if (!need(r, 4 * (size_t)ndim)) return malformed(r, "tensor shape cut short");
    size_t size = 1;
    for (int d = 0; d < CR_MAX_DIMS; d++) t->shape[d] = 1;
    for (uint32_t d = 0; d < ndim; d++) {
        uint32_t len = get_u32(r);
        if (len < 1 || len > INT_MAX) return malformed(r, "tensor dimension outside 1..2^31-1");
        if (size > SIZE_MAX / len) return malformed(r, "tensor size overflows");
        size *= len;
        t->shape[d] = (int)len;
    }
    if (size > SIZE_MAX / rs || !need(r, size * rs))
        return malformed(r, "tensor data larger than its section");
    t->size = size;
    t->data = r->buf + r->pos;
    r->pos += size * rs;
    t->target = NULL;
    t->index = SIZE_MAX;
    return CR_OK;
}

/* u32 count, then count records, into a new array *out. */
static cr_status parse_records(reader *r, uint32_t rs, rec **out, size_t *nout)
{
    if (!need(r, 4)) return malformed(r, "tensor count cut short");
    uint32_t n = get_u32(r);
    if (n > (r->end - r->pos) / (9 + rs))     /* smallest record: 9 + rs bytes */
        return malformed(r, "tensor count larger than its section can hold");
    *nout = n;
    if (n == 0) return CR_OK;
    *out = cr_calloc(n, sizeof **out);
    if (!*out)
        return cr__errf(CR_ERR_NOMEM, r->err, r->errsize, "%s: out of memory", r->path);
    for (uint32_t i = 0; i < n; i++) {
        cr_status s = parse_record(r, &(*out)[i], rs);
        if (s) return s;
    }
    return CR_OK;
}

static cr_status parse_optim(reader *r, loaded *L)
{
    if (!need(r, 4 + 8 + 4)) return malformed(r, "optimizer section cut short");
    uint32_t kind = get_u32(r);
    if (kind >= CR_OPTIM_KIND_COUNT) return malformed(r, "unknown optimizer kind");
    L->step = get_u64(r);
    if (L->step > CR_OPTIM_MAX_STEPS || L->step > LONG_MAX)
        return malformed(r, "optimizer step count above 2^53 (CR_OPTIM_MAX_STEPS)");
    if (get_u32(r) != CR__NHYPER) return malformed(r, "optimizer needs 8 hyper-parameters");
    if (!need(r, 8 * CR__NHYPER)) return malformed(r, "hyper-parameters cut short");
    cr_optim_config *c = &L->cfg;
    c->kind = (cr_optim_kind)kind;
    for (int i = 0; i < CR__NHYPER; i++) *cr__optim_field(c, i) = cr__bits_f64(get_u64(r));
    char msg[160];
    if (cr_optim_config_check(c, msg, sizeof msg) != CR_OK) return malformed(r, msg);
    return parse_records(r, L->real_size, &L->state, &L->nstate);
}

/* u32 length and a name of 1..max-1 bytes without NUL into dst. */
static cr_status parse_name(reader *r, char *dst, size_t max, const char *what)
{
    if (!need(r, 4)) return malformed(r, what);
    uint32_t len = get_u32(r);
    if (len < 1 || len >= max || !need(r, len) || memchr(r->buf + r->pos, 0, len))
        return malformed(r, what);
    memcpy(dst, r->buf + r->pos, len);
    dst[len] = '\0';
    r->pos += len;
    return CR_OK;
}

/* A user-defined optimizer (OPTN): name, u64 step, u32 count of hyper-parameters
 * (lr among them), each a name and a binary64, then the state records. The
 * hyper-parameters are checked against the caller's definition in match_optimizer. */
static cr_status parse_named_optim(reader *r, loaded *L)
{
    cr_status s = parse_name(r, L->oname, sizeof L->oname, "bad optimizer name");
    if (s) return s;
    if (!need(r, 8 + 4)) return malformed(r, "optimizer section cut short");
    L->step = get_u64(r);
    if (L->step > CR_OPTIM_MAX_STEPS || L->step > LONG_MAX)
        return malformed(r, "optimizer step count above 2^53 (CR_OPTIM_MAX_STEPS)");
    L->nhyper = get_u32(r);
    if (L->nhyper > 1 + CR_OPTIM_MAX_HYPER) return malformed(r, "too many hyper-parameters");
    for (uint32_t i = 0; i < L->nhyper; i++) {
        s = parse_name(r, L->hname[i], sizeof L->hname[i], "bad hyper-parameter name");
        if (s) return s;
        for (uint32_t k = 0; k < i; k++)
            if (strcmp(L->hname[k], L->hname[i]) == 0)
                return malformed(r, "hyper-parameter named twice");
        if (!need(r, 8)) return malformed(r, "hyper-parameters cut short");
        L->hval[i] = cr__bits_f64(get_u64(r));
    }
    L->named = 1;
    return parse_records(r, L->real_size, &L->state, &L->nstate);
}

/* u32 count; each: u32 key length, key, u32 type, u64 value. */
static cr_status parse_meta(reader *r, loaded *L)
{
    if (!need(r, 4)) return malformed(r, "metadata count cut short");
    uint32_t n = get_u32(r);
    if (n > (r->end - r->pos) / 17) return malformed(r, "metadata count too large");
    if (n) {
        L->meta = cr_calloc(n, sizeof *L->meta);
        if (!L->meta)
            return cr__errf(CR_ERR_NOMEM, r->err, r->errsize, "%s: out of memory",
                                  r->path);
    }
    for (uint32_t i = 0; i < n; i++) {
        if (!need(r, 4)) return malformed(r, "metadata entry cut short");
        uint32_t len = get_u32(r);
        if (len < 1 || len >= CR_META_KEY_MAX)
            return malformed(r, "metadata key length outside 1..63");
        if (!need(r, (size_t)len + 12)) return malformed(r, "metadata entry cut short");
        const unsigned char *key = r->buf + r->pos;
        if (memchr(key, 0, len)) return malformed(r, "metadata key contains a NUL byte");
        for (uint32_t j = 0; j < i; j++)
            if (strlen(L->meta[j].key) == len && memcmp(L->meta[j].key, key, len) == 0)
                return malformed(r, "duplicate metadata key");
        r->pos += len;
        uint32_t type = get_u32(r);
        if (type != CR_META_U64 && type != CR_META_F64)
            return malformed(r, "unknown metadata type");
        memcpy(L->meta[i].key, key, len);
        L->meta[i].key[len] = '\0';
        L->meta[i].type = (cr_meta_type)type;
        L->meta[i].bits = get_u64(r);
    }
    L->nmeta = n;
    return CR_OK;
}

/* The fixed header in b[0..n): magic, version, completeness, declared file size
 * (into *total). Run on the first 28 bytes before the rest is read, so that a
 * foreign or newer file is refused without reading it all. */
static cr_status check_header(const char *path, char *err, size_t es, const unsigned char *b,
                              size_t n, uint64_t *total)
{
    if (n == 0) return cr__errf(CR_ERR_FORMAT, err, es, "%s: empty file", path);
    if (memcmp(b, CR__MAGIC, n < CR__MAGIC_LEN ? n : CR__MAGIC_LEN) != 0)
        return cr__errf(CR_ERR_FORMAT, err, es,
                              "%s: not a chainrule model file (bad magic)", path);
    if (n >= 12) {
        uint32_t version = cr__get_u32(b + 8);
        if (version > CR_FORMAT_VERSION)
            return cr__errf(CR_ERR_FORMAT, err, es,
                                  "%s: format version %u is newer than this library (%d)",
                                  path, (unsigned)version, CR_FORMAT_VERSION);
        if (version < 1)
            return cr__errf(CR_ERR_FORMAT, err, es, "%s: unsupported format version %u",
                                  path, (unsigned)version);
    }
    if (n < CR__HEADER_BYTES)
        return cr__errf(CR_ERR_FORMAT, err, es,
                              "%s: truncated at byte %zu (expected %zu more byte%s)", path, n,
                              CR__HEADER_BYTES - n, CR__HEADER_BYTES - n == 1 ? "" : "s");
    *total = cr__get_u64(b + 16);
    if (*total < CR__HEADER_BYTES + CR__CRC_BYTES)
        return cr__errf(CR_ERR_FORMAT, err, es,
                              "%s: header gives an impossible file size of %llu bytes", path,
                              (unsigned long long)*total);
    return CR_OK;
}

/* Header, size, checksum, then the sections. */
static cr_status parse_file(reader *r, size_t n, loaded *L)
{
    const char *path = r->path;
    char *err = r->err;
    size_t es = r->errsize;
    const unsigned char *b = r->buf;
    uint64_t total = 0;
    cr_status hs = check_header(path, err, es, b, n, &total);
    if (hs) return hs;
    if ((uint64_t)n < total)
        return cr__errf(CR_ERR_FORMAT, err, es,
                              "%s: truncated at byte %zu (expected %llu more byte%s)", path, n,
                              (unsigned long long)(total - n), total - n == 1 ? "" : "s");
    if ((uint64_t)n > total)
        return cr__errf(CR_ERR_FORMAT, err, es,
                              "%s: file is longer than the %llu bytes its header says "
                              "(corrupt or trailing data)", path, (unsigned long long)total);
    if (cr_crc32(0, b, n - CR__CRC_BYTES) != cr__get_u32(b + n - CR__CRC_BYTES))
        return cr__errf(CR_ERR_FORMAT, err, es, "%s: checksum mismatch (file corrupt)",
                              path);
    L->real_size = cr__get_u32(b + 12);
    if (L->real_size != 4 && L->real_size != 8)
        return cr__errf(CR_ERR_FORMAT, err, es, "%s: unsupported real size %u", path,
                              (unsigned)L->real_size);
    uint32_t nsec = cr__get_u32(b + 24);
    size_t file_end = n - CR__CRC_BYTES;
    r->pos = CR__HEADER_BYTES;
    for (uint32_t k = 0; k < nsec; k++) {
        r->end = file_end;
        if (!need(r, CR__SECTION_HEAD)) return malformed(r, "section header cut short");
        const unsigned char *tag = b + r->pos;
        r->pos += 4;
        uint64_t len = get_u64(r);
        if (len > r->end - r->pos) return malformed(r, "section longer than the file");
        r->end = r->pos + (size_t)len;
        cr_status s = CR_OK;
        if (memcmp(tag, CR__TAG_PARAMS, 4) == 0) {
            if (L->has_params) return malformed(r, "second parameter section");
            L->has_params = 1;
            s = parse_records(r, L->real_size, &L->params, &L->nparams);
        } else if (memcmp(tag, CR__TAG_OPTIM, 4) == 0 ||
                   memcmp(tag, CR__TAG_NAMED_OPTIM, 4) == 0) {
            if (L->has_optim) return malformed(r, "second optimizer section");
            L->has_optim = 1;
            s = memcmp(tag, CR__TAG_OPTIM, 4) == 0 ? parse_optim(r, L) : parse_named_optim(r, L);
        } else if (memcmp(tag, CR__TAG_META, 4) == 0) {
            if (L->has_meta) return malformed(r, "second metadata section");
            L->has_meta = 1;
            s = parse_meta(r, L);
        } else {
            if (L->want_tag && memcmp(tag, L->want_tag, 4) == 0) {
                if (L->found) return malformed(r, "second graph section");
                L->found = b + r->pos;
                L->found_len = r->end - r->pos;
            }
            r->pos = r->end;                  /* unknown section: skipped */
        }
        if (s) return s;
        if (r->pos != r->end) return malformed(r, "section has bytes after its content");
    }
    r->end = file_end;
    if (r->pos != file_end) return malformed(r, "bytes after the last section");
    if (!L->has_params) return malformed(r, "no parameter section");
    return CR_OK;
}

/* Names and accessors of what a list of records is matched against. */
typedef struct targets {
    const char *what;       /* "parameter", "optimizer state" */
    const char *where;      /* "model", "optimizer" */
    size_t n;
    const char *(*name)(const void *obj, size_t i);
    cr_tensor *(*get)(const void *obj, size_t i);
    const void *obj;
} targets;

static const char *param_name(const void *o, size_t i) { return cr_params_name(o, i); }
static cr_tensor *param_get(const void *o, size_t i) { return cr_params_get(o, i); }
static const char *state_name(const void *o, size_t i) { return cr_optim_state_name(o, i); }
static cr_tensor *state_get(const void *o, size_t i) { return cr_optim_state_get(o, i); }

/* Match every record to the target of the same name and shape; every target must
 * be matched exactly once. */
static cr_status match(reader *r, rec *recs, size_t nrec, const targets *T)
{
    char nm[4 * CR__NAME_MAX + 1], s1[64], s2[64];
    for (size_t i = 0; i < nrec; i++) {
        rec *t = &recs[i];
        show_name(nm, sizeof nm, t->name, t->namelen);
        size_t j = 0;
        for (; j < T->n; j++) {
            const char *tn = T->name(T->obj, j);
            if (strlen(tn) == t->namelen && memcmp(tn, t->name, t->namelen) == 0) break;
        }
        if (j == T->n)
            return cr__errf(CR_ERR_SHAPE, r->err, r->errsize,
                                  "%s: %s %s is in the file but not in the %s", r->path,
                                  T->what, nm, T->where);
        cr_tensor *x = T->get(T->obj, j);
        for (size_t k = 0; k < i; k++)       /* by index: a list may hold a tensor twice */
            if (recs[k].index == j)
                return cr__errf(CR_ERR_FORMAT, r->err, r->errsize,
                                      "%s: %s %s appears twice in the file", r->path, T->what,
                                      nm);
        int same = x->ndim == t->ndim;
        for (int d = 0; same && d < t->ndim; d++) same = x->shape[d] == t->shape[d];
        if (!same) {
            show_shape(s1, sizeof s1, t->ndim, t->shape);
            show_shape(s2, sizeof s2, x->ndim, x->shape);
            return cr__errf(CR_ERR_SHAPE, r->err, r->errsize,
                                  "%s: %s %s has shape %s in the file but %s in the %s",
                                  r->path, T->what, nm, s1, s2, T->where);
        }
        t->target = x;
        t->index = j;
    }
    for (size_t j = 0; j < T->n; j++) {
        size_t k = 0;
        while (k < nrec && recs[k].index != j) k++;
        if (k == nrec)
            return cr__errf(CR_ERR_SHAPE, r->err, r->errsize,
                                  "%s: %s %s is missing from the file", r->path, T->what,
                                  T->name(T->obj, j));
    }
    return CR_OK;
}

/* The file's optimizer against the caller's: the same built-in kind, or a
 * user-defined optimizer of the same name whose hyper-parameters are exactly the
 * file's, by name (into L->cfg, validated by the definition). */
static cr_status match_optimizer(reader *r, loaded *L, const cr_optim *opt)
{
    const char *here = cr_optim_name(opt);
    const cr_optim_def *d = opt->cfg.def;
    char nm[CR__OPTIM_NAME_MAX];              /* names from the file, printable */
    show_name(nm, sizeof nm, (const unsigned char *)L->oname, strlen(L->oname));
    if (L->named && (!d || strcmp(d->name, L->oname) != 0))
        return cr__errf(CR_ERR_SHAPE, r->err, r->errsize,
                              "%s: optimizer is %s in the file but %s here (%s is user-defined:"
                              " load it with an optimizer made from its cr_optim_def)",
                              r->path, nm, here, nm);
    if (!L->named && (d || L->cfg.kind != opt->cfg.kind))
        return cr__errf(CR_ERR_SHAPE, r->err, r->errsize,
                              "%s: optimizer is %s in the file but %s here", r->path,
                              cr_optim_kind_name(L->cfg.kind), here);
    if (!L->named) return CR_OK;
    cr_optim_config c = opt->cfg;
    uint32_t seen = 0;                    /* bit h: def->hyper[h] found; bit 31: lr */
    for (uint32_t i = 0; i < L->nhyper; i++) {
        int h = -1;
        for (int k = 0; k < d->nhyper && h < 0; k++)
            if (strcmp(d->hyper[k], L->hname[i]) == 0) h = k;
        if (strcmp(L->hname[i], "lr") == 0) {
            c.lr = L->hval[i];
            seen |= 1u << 31;
        } else if (h >= 0) {
            c.hyper[h] = L->hval[i];
            seen |= 1u << h;
        } else {
            show_name(nm, sizeof nm, (const unsigned char *)L->hname[i], strlen(L->hname[i]));
            return cr__errf(CR_ERR_SHAPE, r->err, r->errsize,
                                  "%s: hyper-parameter %s of %s is in the file but not in the "
                                  "optimizer", r->path, nm, d->name);
        }
    }
    for (int h = -1; h < d->nhyper; h++)
        if (!(seen & (h < 0 ? 1u << 31 : 1u << h)))
            return cr__errf(CR_ERR_SHAPE, r->err, r->errsize,
                                  "%s: hyper-parameter %s of %s is missing from the file",
                                  r->path, h < 0 ? "lr" : d->hyper[h], d->name);
    char msg[160];
    if (cr_optim_config_check(&c, msg, sizeof msg) != CR_OK) return malformed(r, msg);
    L->cfg = c;
    return CR_OK;
}

/* A double file loaded by the float build: every finite value must fit a float, or
 * the model would silently hold infinities. Checked before anything is copied. */
static cr_status check_range(reader *r, const rec *recs, size_t n, uint32_t rs, const char *what)
{
    if (rs != 8 || sizeof(cr_real) == 8) return CR_OK;
    for (size_t k = 0; k < n; k++) {
        const unsigned char *p = recs[k].data;
        for (size_t i = 0; i < recs[k].size; i++, p += 8) {
            double v = cr__bits_f64(cr__get_u64(p));
            if (isfinite(v) && (v > FLT_MAX || v < -FLT_MAX)) {
                char nm[4 * CR__NAME_MAX + 1];
                show_name(nm, sizeof nm, recs[k].name, recs[k].namelen);
                return cr__errf(CR_ERR_FORMAT, r->err, r->errsize,
                                      "%s: %s %s holds %g at element %zu, outside the float "
                                      "range of this build (load it with a REAL=double build)",
                                      r->path, what, nm, v, i);
            }
        }
    }
    return CR_OK;
}

/* Copy a record's values into its target, converting the precision if needed. */
static void copy_values(const rec *t, uint32_t rs)
{
    cr_real *dst = t->target->data;
    const unsigned char *p = t->data;
    if (rs == 4) {
        for (size_t i = 0; i < t->size; i++, p += 4) {
            uint32_t b = cr__get_u32(p);
            float f;
            memcpy(&f, &b, sizeof f);
            dst[i] = (cr_real)f;
        }
    } else {
        for (size_t i = 0; i < t->size; i++, p += 8) dst[i] = (cr_real)cr__bits_f64(cr__get_u64(p));
    }
}

/* The file into a new buffer: the 28-byte header first (a foreign, newer or
 * hopeless file is refused before anything else is read), then at most one byte
 * more than the header's file size, the buffer growing only as data arrives. */
static cr_status read_file(const char *path, unsigned char **out, size_t *nout, char *err,
                           size_t errsize)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return cr__errf(CR_ERR_IO, err, errsize, "%s: cannot open: %s", path,
                              strerror(errno));
    unsigned char head[CR__HEADER_BYTES];
    size_t n = fread(head, 1, sizeof head, f);
    uint64_t total = 0;
    unsigned char *buf = NULL;
    cr_status s = CR_OK;
    if (ferror(f))
        s = cr__errf(CR_ERR_IO, err, errsize, "%s: read error: %s", path, strerror(errno));
    if (!s) s = check_header(path, err, errsize, head, n, &total);
    if (s) {
        fclose(f);
        return s;
    }
    size_t limit = total < SIZE_MAX ? (size_t)total + 1 : SIZE_MAX;
    size_t cap = limit < 65536 ? limit : 65536;
    struct stat st;
    uint64_t plan = total;            /* what the buffer may grow to */
    if (fstat(fileno(f), &st) == 0 && S_ISREG(st.st_mode) && st.st_size >= 0 &&
        (uint64_t)st.st_size < limit) {
        cap = (size_t)st.st_size + 1 > cap ? (size_t)st.st_size + 1 : cap;
        plan = (uint64_t)st.st_size;
    }
    /* a pipe or device declaring more than the memory limit is refused at once,
     * before anything beyond the header is read */
    char what[64];
    snprintf(what, sizeof what, "reading this model file");
    s = cr_memory_check(plan, what, err, errsize);
    if (s) {
        char tail[200];
        snprintf(tail, sizeof tail, "%s", err ? err : "");
        cr__errf(s, err, errsize, "%s: %s", path, tail);
        fclose(f);
        return s;
    }
    buf = cr_malloc(cap);
    if (buf) memcpy(buf, head, n);
    for (;;) {
        if (!buf) {
            s = cr__errf(CR_ERR_NOMEM, err, errsize, "%s: out of memory reading the file",
                               path);
            break;
        }
        n += fread(buf + n, 1, cap - n, f);
        if (ferror(f)) {
            s = cr__errf(CR_ERR_IO, err, errsize, "%s: read error: %s", path,
                               strerror(errno));
            break;
        }
        if (n < cap || cap == limit) break;   /* end of file, or longer than declared */
        size_t grown = cap <= limit / 2 ? cap * 2 : limit;
        unsigned char *nb = cr_realloc(buf, grown);
        if (!nb) cr_free(buf);
        buf = nb;
        cap = grown;
    }
    fclose(f);
    if (s != CR_OK) {
        cr_free(buf);
        return s;
    }
    *out = buf;
    *nout = n;
    return CR_OK;
}

/* Phases 2 and 3 on a complete file image; name is used in messages. */
static cr_status load_image(const unsigned char *buf, size_t n, const char *name,
                            cr_params *params, cr_optim *opt, cr_meta *meta, char *err,
                            size_t errsize)
{
    loaded L;
    memset(&L, 0, sizeof L);
    reader r = { name, buf, 0, n, err, errsize };
    cr_status s = parse_file(&r, n, &L);
    if (!s && params) {
        targets T = { "parameter", "model", cr_params_count(params), param_name, param_get,
                      params };
        s = match(&r, L.params, L.nparams, &T);
    }
    if (!s && opt) {
        if (!L.has_optim)
            s = cr__errf(CR_ERR_FORMAT, err, errsize,
                               "%s: file has no optimizer state (saved without an optimizer)",
                               name);
        else if ((s = match_optimizer(&r, &L, opt)) == CR_OK) {
            targets T = { "optimizer state", "optimizer", cr_optim_state_count(opt),
                          state_name, state_get, opt };
            s = match(&r, L.state, L.nstate, &T);
        }
    }
    if (!s && params) s = check_range(&r, L.params, L.nparams, L.real_size, "parameter");
    if (!s && opt) s = check_range(&r, L.state, L.nstate, L.real_size, "optimizer state");
    if (!s) {                                 /* commit: nothing below can fail */
        for (size_t i = 0; params && i < L.nparams; i++) copy_values(&L.params[i], L.real_size);
        if (opt) {
            for (size_t i = 0; i < L.nstate; i++) copy_values(&L.state[i], L.real_size);
            opt->cfg = L.cfg;
            opt->t = (long)L.step;
        }
        if (meta) {
            cr__meta_adopt(meta, L.meta, L.nmeta);
            L.meta = NULL;
        }
        if (err && errsize) err[0] = '\0';
    }
    cr_free(L.meta);
    cr_free(L.params);
    cr_free(L.state);
    return s;
}

cr_status cr_load_file_image(const char *path, void **data, size_t *size, char *err,
                             size_t errsize)
{
    if (!path || !path[0] || !data || !size)
        return cr__errf(CR_ERR_ARG, err, errsize, "load: %s is NULL or empty",
                              !path || !path[0] ? "path" : "output");
    unsigned char *buf = NULL;
    size_t n = 0;
    cr_status s = read_file(path, &buf, &n, err, errsize);
    if (s) return s;
    *data = buf;
    *size = n;
    return CR_OK;
}

cr_status cr_file_info_buffer(const void *data, size_t size, const char *name,
                              cr_file_info *info, char *err, size_t errsize)
{
    if ((!data && size) || !info)
        return cr__errf(CR_ERR_ARG, err, errsize, "load: %s is NULL",
                              info ? "data" : "info");
    loaded L;
    memset(&L, 0, sizeof L);
    name = name ? name : "<buffer>";
    reader r = { name, data ? data : (const void *)"", 0, size, err, errsize };
    cr_status s = parse_file(&r, size, &L);
    if (!s) {
        memset(info, 0, sizeof *info);
        info->real_size = (int)L.real_size;
        info->n_params = L.nparams;
        for (size_t i = 0; i < L.nparams; i++) info->param_values += L.params[i].size;
        info->has_optim = L.has_optim;
        info->n_meta = L.nmeta;
        if (err && errsize) err[0] = '\0';
    }
    cr_free(L.meta);
    cr_free(L.params);
    cr_free(L.state);
    return s;
}

cr_status cr_load(const char *path, cr_params *params, cr_optim *opt, cr_meta *meta,
                  char *err, size_t errsize)
{
    if (!path || !path[0])
        return cr__errf(CR_ERR_ARG, err, errsize, "load: path is NULL or empty");
    unsigned char *buf = NULL;
    size_t n = 0;
    cr_status s = read_file(path, &buf, &n, err, errsize);
    if (s) return s;
    s = load_image(buf, n, path, params, opt, meta, err, errsize);
    cr_free(buf);
    return s;
}

cr_status cr_load_buffer(const void *data, size_t size, const char *name, cr_params *params,
                         cr_optim *opt, cr_meta *meta, char *err, size_t errsize)
{
    if (!data && size)
        return cr__errf(CR_ERR_ARG, err, errsize, "load: data is NULL");
    return load_image(data ? data : "", size, name ? name : "<buffer>", params, opt, meta, err,
                      errsize);
}

cr_status cr__load_section(const void *data, size_t size, const char *name, const char *tag,
                           const unsigned char **body, size_t *len, uint32_t *real_size,
                           char *err, size_t errsize)
{
    loaded L;
    memset(&L, 0, sizeof L);
    L.want_tag = tag;
    reader r = { name, data ? data : (const void *)"", 0, size, err, errsize };
    cr_status s = parse_file(&r, size, &L);
    if (!s) {
        *body = L.found;
        *len = L.found_len;
        *real_size = L.real_size;
    }
    cr_free(L.meta);
    cr_free(L.params);
    cr_free(L.state);
    return s;
}
