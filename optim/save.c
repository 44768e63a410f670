/* cr_save: write a parameter list (and optionally optimizer state and metadata)
 * in the model file format of docs/FORMAT.md, atomically.
 *
 * The file is streamed through a small buffer into "<path>.tmp.<pid>" (created
 * with O_EXCL next to the target, so rename stays within one file system), the
 * CRC-32 running over every byte written; then fsync, close, rename over path and
 * a best-effort fsync of the directory. Any failure removes the temporary file and
 * leaves an existing file at path untouched. A symbolic link at path is written
 * through (its target is replaced, the link stays), and temporaries left by
 * earlier saves to the same target that were killed are removed first. */
#include "format.h"
#include "optim_internal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

typedef struct writer {
    int fd;
    int err;                 /* errno of the first failed write, 0 if none */
    uint32_t crc;
    size_t len;
    unsigned char buf[16384];
} writer;

static void flush(writer *w)
{
    const unsigned char *p = w->buf;
    size_t left = w->len;
    w->len = 0;
    while (left > 0 && !w->err) {
        ssize_t k = write(w->fd, p, left);
        if (k < 0) {
            if (errno == EINTR) continue;
            w->err = errno;
        } else if (k == 0) {
            w->err = EIO;
        } else {
            p += k;
            left -= (size_t)k;
        }
    }
}

/* Reserve k <= 16 bytes in the buffer (CRC is taken as the buffer fills). */
static unsigned char *room(writer *w, size_t k)
{
    if (w->len + k > sizeof w->buf) {
        w->crc = cr_crc32(w->crc, w->buf, w->len);
        flush(w);
    }
    unsigned char *p = w->buf + w->len;
    w->len += k;
    return p;
}

static void put_bytes(writer *w, const void *src, size_t n)
{
    const unsigned char *s = src;
    while (n > 0) {
        size_t k = n < 16 ? n : 16;
        memcpy(room(w, k), s, k);
        s += k;
        n -= k;
    }
}

static void put_u32(writer *w, uint32_t v) { cr__put_u32(room(w, 4), v); }
static void put_u64(writer *w, uint64_t v) { cr__put_u64(room(w, 8), v); }
static void put_f64(writer *w, double v) { put_u64(w, cr__f64_bits(v)); }

/* Size of one tensor record: name length, name, rank, dims, data. */
static uint64_t record_bytes(const char *name, const cr_tensor *x)
{
    return 4 + (uint64_t)strlen(name) + 4 + 4 * (uint64_t)x->ndim +
           (uint64_t)sizeof(cr_real) * x->size;
}

static void put_record(writer *w, const char *name, const cr_tensor *x)
{
    put_u32(w, (uint32_t)strlen(name));
    put_bytes(w, name, strlen(name));
    put_u32(w, (uint32_t)x->ndim);
    for (int d = 0; d < x->ndim; d++) put_u32(w, (uint32_t)x->shape[d]);
    for (size_t i = 0; i < x->size; i++) {
#ifdef CR_REAL_DOUBLE
        put_u64(w, cr__f64_bits(x->data[i]));
#else
        uint32_t b;
        memcpy(&b, &x->data[i], sizeof b);
        put_u32(w, b);
#endif
    }
}

static uint64_t params_body(const cr_params *p)
{
    uint64_t n = 4;
    for (size_t i = 0; i < cr_params_count(p); i++)
        n += record_bytes(cr_params_name(p, i), cr_params_get(p, i));
    return n;
}

/* A built-in optimizer (OPTM): kind, step, the 8 hyper-parameters of
 * cr__optim_hypers. A user-defined one (OPTN): name, step, then lr and its
 * hyper-parameters by name. Then the state records. */
static uint64_t optim_body(const cr_optim *o)
{
    const cr_optim_def *d = o->cfg.def;
    uint64_t n = 4 + 8 + 4 + 8 * CR__NHYPER + 4;
    if (d) {
        n = 4 + strlen(d->name) + 8 + 4 + 4 + 2 + 8 + 4;
        for (int h = 0; h < d->nhyper; h++) n += 4 + strlen(d->hyper[h]) + 8;
    }
    for (size_t i = 0; i < o->nstate; i++) n += record_bytes(o->names[i], o->state[i]);
    return n;
}

static uint64_t meta_body(const cr_meta *m)
{
    uint64_t n = 4;
    for (size_t i = 0; i < m->n; i++) n += 4 + strlen(m->items[i].key) + 4 + 8;
    return n;
}

static void put_section(writer *w, const char *tag, uint64_t body)
{
    put_bytes(w, tag, 4);
    put_u64(w, body);
}

static void put_name(writer *w, const char *s)
{
    put_u32(w, (uint32_t)strlen(s));
    put_bytes(w, s, strlen(s));
}

static void put_optim(writer *w, const cr_optim *o, uint64_t body)
{
    const cr_optim_config *c = &o->cfg;
    if (c->def) {
        put_section(w, CR__TAG_NAMED_OPTIM, body);
        put_name(w, c->def->name);
        put_u64(w, (uint64_t)o->t);
        put_u32(w, 1 + (uint32_t)c->def->nhyper);
        put_name(w, "lr");
        put_f64(w, c->lr);
        for (int h = 0; h < c->def->nhyper; h++) {
            put_name(w, c->def->hyper[h]);
            put_f64(w, c->hyper[h]);
        }
    } else {
        put_section(w, CR__TAG_OPTIM, body);
        put_u32(w, (uint32_t)c->kind);
        put_u64(w, (uint64_t)o->t);
        put_u32(w, CR__NHYPER);
        for (int i = 0; i < CR__NHYPER; i++) put_f64(w, cr__optim_field_get(c, i));
    }
    put_u32(w, (uint32_t)o->nstate);
    for (size_t i = 0; i < o->nstate; i++) put_record(w, o->names[i], o->state[i]);
}

/* x: an extra section written last (graph files), or NULL. */
static void write_file(writer *w, const cr_params *p, const cr_optim *o, const cr_meta *m,
                       const cr__section *x)
{
    uint64_t bp = params_body(p), bo = o ? optim_body(o) : 0, bm = m ? meta_body(m) : 0;
    uint32_t nsec = 1 + (o != NULL) + (m != NULL) + (x != NULL);
    uint64_t total = CR__HEADER_BYTES + CR__SECTION_HEAD + bp +
                     (o ? CR__SECTION_HEAD + bo : 0) + (m ? CR__SECTION_HEAD + bm : 0) +
                     (x ? CR__SECTION_HEAD + (uint64_t)x->len : 0) + CR__CRC_BYTES;

    put_bytes(w, CR__MAGIC, CR__MAGIC_LEN);
    put_u32(w, CR_FORMAT_VERSION);
    put_u32(w, (uint32_t)sizeof(cr_real));
    put_u64(w, total);
    put_u32(w, nsec);

    put_section(w, CR__TAG_PARAMS, bp);
    put_u32(w, (uint32_t)cr_params_count(p));
    for (size_t i = 0; i < cr_params_count(p); i++)
        put_record(w, cr_params_name(p, i), cr_params_get(p, i));

    if (o) put_optim(w, o, bo);

    if (m) {
        put_section(w, CR__TAG_META, bm);
        put_u32(w, (uint32_t)m->n);
        for (size_t i = 0; i < m->n; i++) {
            const cr__meta_entry *e = &m->items[i];
            put_u32(w, (uint32_t)strlen(e->key));
            put_bytes(w, e->key, strlen(e->key));
            put_u32(w, (uint32_t)e->type);
            put_u64(w, e->bits);
        }
    }

    if (x) {
        put_section(w, x->tag, x->len);
        put_bytes(w, x->body, x->len);
    }

    w->crc = cr_crc32(w->crc, w->buf, w->len);   /* everything before the CRC */
    put_u32(w, w->crc);
    flush(w);
}

/* The file a symbolic link chain ends at (path itself if it is not a link), as a
 * new string: cr_save writes through links, as cp does, instead of replacing the
 * link by a regular file. A dangling link yields its missing target, which is then
 * created. NULL (and *e = errno) when the chain cannot be read or is too long. */
static char *resolve_links(const char *path, int *e)
{
    size_t len = strlen(path);
    char *cur = cr_malloc(len + 1);
    if (!cur) {
        *e = ENOMEM;
        return NULL;
    }
    memcpy(cur, path, len + 1);
    for (int hops = 0; hops < 40; hops++) {
        struct stat st;
        if (lstat(cur, &st) != 0 || !S_ISLNK(st.st_mode)) return cur;
        size_t cap = st.st_size > 0 ? (size_t)st.st_size + 1 : 4096;
        char *link = cr_malloc(cap);
        ssize_t k = link ? readlink(cur, link, cap) : -1;
        if (k < 0 || (size_t)k >= cap) {
            *e = k < 0 ? (link ? errno : ENOMEM) : ENAMETOOLONG;
            cr_free(link);
            cr_free(cur);
            return NULL;
        }
        link[k] = '\0';
        char *slash = strrchr(cur, '/');
        size_t dirlen = link[0] != '/' && slash ? (size_t)(slash - cur) + 1 : 0;
        char *next = cr_malloc(dirlen + (size_t)k + 1);
        if (!next) {
            *e = ENOMEM;
            cr_free(link);
            cr_free(cur);
            return NULL;
        }
        memcpy(next, cur, dirlen);
        memcpy(next + dirlen, link, (size_t)k + 1);
        cr_free(link);
        cr_free(cur);
        cur = next;
    }
    cr_free(cur);
    *e = ELOOP;
    return NULL;
}

/* Temporary files of saves to path that were killed: "<base>.tmp.<pid>" or
 * "<base>.tmp.<pid>.<k>" in path's directory whose process no longer exists
 * (kill(pid, 0) fails with ESRCH) are removed. Nothing else is touched: not
 * another target's temporaries, not a live (or another user's) process's, not a
 * name that only resembles the pattern. Best effort, silent. */
static void remove_stale_temps(const char *path)
{
    const char *slash = strrchr(path, '/');
    const char *base = slash ? slash + 1 : path;
    size_t blen = strlen(base), dlen = slash ? (size_t)(slash - path) : 0;
    char *dir = cr_malloc(dlen + 2);
    if (!dir) return;
    if (!slash) strcpy(dir, ".");
    else if (dlen == 0) strcpy(dir, "/");
    else {
        memcpy(dir, path, dlen);
        dir[dlen] = '\0';
    }
    DIR *d = opendir(dir);
    long self = (long)getpid();
    for (struct dirent *de; d && (de = readdir(d)) != NULL;) {
        const char *n = de->d_name;
        if (strncmp(n, base, blen) != 0 || strncmp(n + blen, ".tmp.", 5) != 0) continue;
        const char *p = n + blen + 5, *q = p;
        while (*q >= '0' && *q <= '9') q++;
        if (q == p || q - p > 18 || *p == '0') continue;
        if (*q == '.') {                               /* ".<k>" after the pid */
            const char *r = ++q;
            while (*q >= '0' && *q <= '9') q++;
            if (q == r) continue;
        }
        if (*q) continue;
        long pid = strtol(p, NULL, 10);
        if (pid <= 0 || pid == self || (long)(pid_t)pid != pid || kill((pid_t)pid, 0) == 0 ||
            errno != ESRCH)
            continue;
        size_t need = dlen + 1 + strlen(n) + 1;
        char *full = cr_malloc(need);
        if (!full) break;
        if (!slash) snprintf(full, need, "%s", n);
        else snprintf(full, need, "%.*s/%s", (int)dlen, path, n);
        unlink(full);
        cr_free(full);
    }
    if (d) closedir(d);
    cr_free(dir);
}

/* Create "<path>.tmp.<pid>" (or .<pid>.<k> if that exists) exclusively. */
static int open_temp(const char *path, char *tmp, size_t tmpsize)
{
    long pid = (long)getpid();
    for (int k = 0; k < 100; k++) {
        if (k == 0) snprintf(tmp, tmpsize, "%s.tmp.%ld", path, pid);
        else snprintf(tmp, tmpsize, "%s.tmp.%ld.%d", path, pid, k);
        int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
        if (fd >= 0 || errno != EEXIST) return fd;
    }
    return -1;
}

/* fsync the directory holding path so that the rename itself is durable. Best
 * effort: some file systems refuse fsync on a directory. */
static void sync_dir(const char *path, char *scratch)
{
    strcpy(scratch, path);
    char *slash = strrchr(scratch, '/');
    if (!slash) strcpy(scratch, ".");
    else if (slash == scratch) scratch[1] = '\0';
    else *slash = '\0';
    int fd = open(scratch, O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
        (void)fsync(fd);
        close(fd);
    }
}

cr_status cr_save(const char *path, const cr_params *params, const cr_optim *opt,
                  const cr_meta *meta, char *err, size_t errsize)
{
    return cr__save_with(path, params, opt, meta, NULL, err, errsize);
}

cr_status cr__save_with(const char *path, const cr_params *params, const cr_optim *opt,
                        const cr_meta *meta, const cr__section *extra, char *err,
                        size_t errsize)
{
    if (!path || !path[0] || !params)
        return cr__errf(CR_ERR_ARG, err, errsize, "save: %s is NULL or empty",
                              !path || !path[0] ? "path" : "parameter list");
    const char *user = path;                 /* messages name the path as given */
    int e = 0;
    char *target = resolve_links(path, &e);
    if (!target)
        return cr__errf(e == ENOMEM ? CR_ERR_NOMEM : CR_ERR_IO, err, errsize,
                              "%s: cannot follow the symbolic link: %s", user, strerror(e));
    path = target;
    remove_stale_temps(path);
    size_t tmpsize = strlen(path) + 48;
    char *tmp = cr_malloc(tmpsize);
    writer *w = cr_malloc(sizeof *w);
    cr_status s = CR_OK;
    int fd = -1;
    if (!tmp || !w) {
        s = cr__errf(CR_ERR_NOMEM, err, errsize, "%s: out of memory", user);
        goto out;
    }
    fd = open_temp(path, tmp, tmpsize);
    if (fd < 0) {
        s = cr__errf(CR_ERR_IO, err, errsize, "%s: cannot create temporary file %s: %s",
                           user, tmp, strerror(errno));
        goto out;
    }
    memset(w, 0, sizeof *w);
    w->fd = fd;
    write_file(w, params, opt, meta, extra);
    if (w->err) {
        s = cr__errf(CR_ERR_IO, err, errsize, "%s: write failed: %s", user,
                           strerror(w->err));
    } else if (fsync(fd) != 0) {
        s = cr__errf(CR_ERR_IO, err, errsize, "%s: fsync failed: %s", user,
                           strerror(errno));
    }
    if (close(fd) != 0 && s == CR_OK)
        s = cr__errf(CR_ERR_IO, err, errsize, "%s: close failed: %s", user,
                           strerror(errno));
    fd = -1;
    if (s == CR_OK && rename(tmp, path) != 0)
        s = cr__errf(CR_ERR_IO, err, errsize, "%s: cannot rename %s over it: %s", user,
                           tmp, strerror(errno));
    if (s != CR_OK) {
        unlink(tmp);
        goto out;
    }
    sync_dir(path, tmp);
    if (err && errsize) err[0] = '\0';
out:
    cr_free(w);
    cr_free(tmp);
    cr_free(target);
    return s;
}
