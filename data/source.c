/* A byte source for the readers: a file or a memory buffer, plain or gzip.
 * Gzip is recognised by its magic bytes (1f 8b), not by the file name, and
 * inflated with zlib when the library was built with CR_HAVE_ZLIB. Several
 * concatenated gzip members are one stream (as gunzip treats them); anything else
 * after the last member is an error, like any other trailing garbage. */
#include "data_internal.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#define ZIN_SIZE 65536

static int is_gzip_magic(const unsigned char *p, size_t n)
{
    return n >= 2 && p[0] == 0x1f && p[1] == 0x8b;
}

#ifdef CR_HAVE_ZLIB
/* zlib allocates through chainrule's hooks too. */
static voidpf z_alloc(voidpf opaque, uInt items, uInt size)
{
    (void)opaque;
    if (size && items > SIZE_MAX / size) return Z_NULL;
    return cr_malloc((size_t)items * size);
}
static void z_free(voidpf opaque, voidpf p) { (void)opaque; cr_free(p); }

static cr_status gz_start(cr__src *s, char *err, size_t errsize)
{
    memset(&s->z, 0, sizeof s->z);
    s->z.zalloc = z_alloc;
    s->z.zfree = z_free;
    if (s->file) {
        s->zin = cr_malloc(ZIN_SIZE);
        if (!s->zin) return cr__errf(CR_ERR_NOMEM, err, errsize, "%s: out of memory", s->name);
        memcpy(s->zin, s->head, s->head_len);           /* the magic we peeked at */
        s->z.next_in = s->zin;
        s->z.avail_in = (uInt)s->head_len;
        s->head_pos = s->head_len;
    } else {
        s->z.next_in = (unsigned char *)s->mem;          /* zlib never writes input */
        s->z.avail_in = 0;
        s->mem_pos = 0;
    }
    int r = inflateInit2(&s->z, 16 + MAX_WBITS);        /* 16: gzip wrapper */
    if (r != Z_OK) {
        cr_free(s->zin);
        s->zin = NULL;
        return cr__errf(r == Z_MEM_ERROR ? CR_ERR_NOMEM : CR_ERR_IO, err, errsize,
                        "%s: cannot start gzip decompression", s->name);
    }
    s->z_live = 1;
    return CR_OK;
}
#endif

#ifndef CR_HAVE_ZLIB
static cr_status gz_refuse(const char *name, char *err, size_t errsize)
{
    return cr__errf(CR_ERR_UNSUPPORTED, err, errsize,
                    "%s: gzip-compressed, and this chainrule was built without zlib: "
                    "run `gunzip -k %s` and use the uncompressed file, or install "
                    "zlib1g-dev and rebuild", name, name);
}
#endif

cr_status cr__src_open_file(cr__src *s, const char *path, char *err, size_t errsize)
{
    memset(s, 0, sizeof *s);
    s->name = path;
    s->raw_size = -1;
    FILE *f = fopen(path, "rb");
    if (!f) return cr__errf(CR_ERR_IO, err, errsize, "%s: cannot open: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fileno(f), &st) == 0) {
        if (S_ISDIR(st.st_mode)) {
            fclose(f);
            return cr__errf(CR_ERR_IO, err, errsize, "%s: is a directory, not a file", path);
        }
        if (S_ISREG(st.st_mode)) s->raw_size = (long long)st.st_size;
    }
    s->file = f;
    s->head_len = fread(s->head, 1, 2, f);
    if (s->head_len < 2 && ferror(f)) {
        int e = errno;
        fclose(f);
        return cr__errf(CR_ERR_IO, err, errsize, "%s: read error: %s", path, strerror(e));
    }
    if (!is_gzip_magic(s->head, s->head_len)) return CR_OK;
    s->gz = 1;
#ifdef CR_HAVE_ZLIB
    cr_status st2 = gz_start(s, err, errsize);
    if (st2 != CR_OK) fclose(f);
    return st2;
#else
    fclose(f);
    return gz_refuse(path, err, errsize);
#endif
}

cr_status cr__src_open_mem(cr__src *s, const void *p, size_t n, const char *name,
                           char *err, size_t errsize)
{
    memset(s, 0, sizeof *s);
    s->name = name ? name : "<memory>";
    s->mem = p;
    s->mem_len = p ? n : 0;
    s->raw_size = (long long)s->mem_len;
    if (!is_gzip_magic(s->mem, s->mem_len)) return CR_OK;
    s->gz = 1;
#ifdef CR_HAVE_ZLIB
    return gz_start(s, err, errsize);
#else
    return gz_refuse(s->name, err, errsize);
#endif
}

/* Raw bytes of a plain source: the peeked head first, then the file or buffer. */
static cr_status raw_read(cr__src *s, unsigned char *buf, size_t n, size_t *got,
                          char *err, size_t errsize)
{
    size_t k = 0;
    while (k < n && s->head_pos < s->head_len) buf[k++] = s->head[s->head_pos++];
    if (s->file) {
        if (k < n && !s->raw_eof) {
            size_t r = fread(buf + k, 1, n - k, s->file);
            k += r;
            if (k < n) {
                if (ferror(s->file))
                    return cr__errf(CR_ERR_IO, err, errsize, "%s: read error: %s", s->name,
                                    strerror(errno));
                s->raw_eof = 1;
            }
        }
    } else {
        size_t left = s->mem_len - s->mem_pos, take = n - k < left ? n - k : left;
        if (take) memcpy(buf + k, s->mem + s->mem_pos, take);
        s->mem_pos += take;
        k += take;
    }
    s->consumed += k;
    *got = k;
    return CR_OK;
}

#ifdef CR_HAVE_ZLIB
/* Make more compressed input available, keeping what is not consumed yet. */
static cr_status gz_refill(cr__src *s, char *err, size_t errsize)
{
    if (s->file) {
        if (s->raw_eof) return CR_OK;
        if (s->z.avail_in && s->z.next_in != s->zin) memmove(s->zin, s->z.next_in, s->z.avail_in);
        s->z.next_in = s->zin;
        size_t want = ZIN_SIZE - s->z.avail_in;
        size_t r = fread(s->zin + s->z.avail_in, 1, want, s->file);
        if (r < want) {
            if (ferror(s->file))
                return cr__errf(CR_ERR_IO, err, errsize, "%s: read error: %s", s->name,
                                strerror(errno));
            s->raw_eof = 1;
        }
        s->z.avail_in += (uInt)r;
    } else {
        size_t cur = (size_t)(s->z.next_in - s->mem), left = s->mem_len - cur;
        size_t take = left < (size_t)1 << 30 ? left : (size_t)1 << 30;
        s->z.avail_in = (uInt)take;
        s->mem_pos = cur + take;
    }
    return CR_OK;
}

static cr_status gz_read(cr__src *s, unsigned char *buf, size_t n, size_t *got,
                         char *err, size_t errsize)
{
    size_t done = 0;
    cr_status st;
    while (done < n) {
        if (s->z_member_done) {
            if (s->z.avail_in < 2 && (st = gz_refill(s, err, errsize)) != CR_OK) return st;
            if (s->z.avail_in == 0) break;                       /* clean end */
            if (!is_gzip_magic(s->z.next_in, s->z.avail_in))
                return cr__errf(CR_ERR_FORMAT, err, errsize,
                                "%s: unexpected bytes after the end of the gzip data", s->name);
            inflateReset(&s->z);                                 /* next member */
            s->z_member_done = 0;
        }
        if (s->z.avail_in == 0) {
            if ((st = gz_refill(s, err, errsize)) != CR_OK) return st;
            if (s->z.avail_in == 0)
                return cr__errf(CR_ERR_FORMAT, err, errsize,
                                "%s: truncated gzip data (the compressed stream ends early)",
                                s->name);
        }
        size_t chunk = n - done < (size_t)1 << 30 ? n - done : (size_t)1 << 30;
        s->z.next_out = buf + done;
        s->z.avail_out = (uInt)chunk;
        int r = inflate(&s->z, Z_NO_FLUSH);
        done += chunk - s->z.avail_out;
        if (r == Z_STREAM_END) s->z_member_done = 1;
        else if (r == Z_MEM_ERROR)
            return cr__errf(CR_ERR_NOMEM, err, errsize, "%s: out of memory", s->name);
        else if (r != Z_OK && !(r == Z_BUF_ERROR && s->z.avail_in == 0))
            return cr__errf(CR_ERR_FORMAT, err, errsize, "%s: corrupt gzip data (%s)", s->name,
                            s->z.msg ? s->z.msg : "zlib error");
    }
    *got = done;
    return CR_OK;
}
#endif

cr_status cr__src_read(cr__src *s, void *buf, size_t n, size_t *got, char *err,
                       size_t errsize)
{
    *got = 0;
    if (n == 0) return CR_OK;
#ifdef CR_HAVE_ZLIB
    if (s->gz) return gz_read(s, buf, n, got, err, errsize);
#endif
    return raw_read(s, buf, n, got, err, errsize);
}

long long cr__src_remaining(const cr__src *s)
{
    if (s->gz || s->raw_size < 0) return -1;
    return (long long)s->consumed <= s->raw_size ? s->raw_size - (long long)s->consumed : 0;
}

cr_status cr__src_skip_rest(cr__src *s, unsigned long long limit,
                            unsigned long long *count, char *err, size_t errsize)
{
    *count = 0;
    long long rem = cr__src_remaining(s);
    if (rem >= 0) {
        *count = (unsigned long long)rem;
        return CR_OK;
    }
    unsigned char tmp[4096];
    while (*count < limit) {
        size_t got;
        cr_status st = cr__src_read(s, tmp, sizeof tmp, &got, err, errsize);
        if (st != CR_OK) return st;
        *count += got;
        if (got < sizeof tmp) break;
    }
    return CR_OK;
}

cr_status cr__src_read_all(cr__src *s, size_t want, unsigned char **buf, size_t *got,
                           char *err, size_t errsize)
{
    *buf = NULL;
    *got = 0;
    if (want == 0) return CR_OK;
    long long rem = cr__src_remaining(s);
    if (rem >= 0 && (unsigned long long)rem < want) {   /* known short: no need to read */
        *got = (size_t)rem;
        return CR_OK;
    }
    size_t cap = rem >= 0 || want < ((size_t)1 << 20) ? want : (size_t)1 << 20, have = 0;
    unsigned char *b = cr_malloc(cap);
    if (!b) return cr__errf(CR_ERR_NOMEM, err, errsize, "%s: out of memory (%zu bytes)", s->name,
                            cap);
    for (;;) {
        size_t g;
        cr_status st = cr__src_read(s, b + have, cap - have, &g, err, errsize);
        if (st != CR_OK) {
            cr_free(b);
            return st;
        }
        have += g;
        if (have < cap) {                                /* ended early: truncated */
            cr_free(b);
            *got = have;
            return CR_OK;
        }
        if (have == want) break;
        size_t ncap = cap > want / 2 ? want : cap * 2;
        unsigned char *nb = cr_realloc(b, ncap);
        if (!nb) {
            cr_free(b);
            return cr__errf(CR_ERR_NOMEM, err, errsize, "%s: out of memory (%zu bytes)",
                            s->name, ncap);
        }
        b = nb;
        cap = ncap;
    }
    *buf = b;
    *got = have;
    return CR_OK;
}

void cr__src_close(cr__src *s)
{
    if (!s) return;
#ifdef CR_HAVE_ZLIB
    if (s->z_live) inflateEnd(&s->z);
    s->z_live = 0;
    cr_free(s->zin);
    s->zin = NULL;
#endif
    if (s->file) fclose((FILE *)s->file);
    s->file = NULL;
}

cr_dataset *cr__dataset_alloc(void)
{
    return cr_calloc(1, sizeof(cr_dataset));
}
