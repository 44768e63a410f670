/* Shared by the files of data/ only: messages, a byte source that reads files or
 * memory, plain or gzip-compressed, and dataset allocation. */
#ifndef CR_DATA_INTERNAL_H
#define CR_DATA_INTERNAL_H

#include "chainrule.h"
#include "../graph/errf.h"   /* cr__errf: the off-tape message helper */

#ifdef CR_HAVE_ZLIB
#include <zlib.h>
#endif


/* A sequential byte source: a file or a memory buffer, inflated on the fly when its
 * content starts with the gzip magic 1f 8b. */
typedef struct cr__src {
    const char *name;             /* for messages (the path, or a label) */
    void *file;                   /* FILE *, or NULL for memory */
    const unsigned char *mem;     /* memory source */
    size_t mem_len, mem_pos;
    long long raw_size;           /* bytes in the file/buffer, -1 if unknown */
    unsigned char head[2];        /* first raw bytes, read to detect gzip */
    size_t head_len, head_pos;
    int raw_eof;
    unsigned long long consumed;  /* raw bytes delivered (plain sources) */
    int gz;                       /* content is gzip */
#ifdef CR_HAVE_ZLIB
    z_stream z;
    int z_live;                   /* inflateInit2 done */
    int z_member_done;            /* Z_STREAM_END seen for the current member */
    unsigned char *zin;           /* input buffer (files only) */
#endif
} cr__src;

/* Open a file / a memory buffer. On failure the source needs no close. CR_ERR_IO
 * (cannot open), CR_ERR_UNSUPPORTED (gzip without zlib), CR_ERR_NOMEM. */
cr_status cr__src_open_file(cr__src *s, const char *path, char *err, size_t errsize);
cr_status cr__src_open_mem(cr__src *s, const void *p, size_t n, const char *name,
                           char *err, size_t errsize);
/* Read up to n bytes into buf; *got says how many (fewer than n only at the end of
 * the data). CR_ERR_IO / CR_ERR_FORMAT (corrupt or truncated gzip, trailing
 * garbage after it) with a message. */
cr_status cr__src_read(cr__src *s, void *buf, size_t n, size_t *got, char *err,
                       size_t errsize);
/* Bytes of content left, when known without reading (plain sources); -1 otherwise. */
long long cr__src_remaining(const cr__src *s);
/* Count (and discard) the bytes left, up to limit; CR_OK or a read error. */
cr_status cr__src_skip_rest(cr__src *s, unsigned long long limit,
                            unsigned long long *count, char *err, size_t errsize);
void cr__src_close(cr__src *s);

/* Read exactly `want` bytes into a new buffer that grows with the data actually
 * present (a lying header cannot make us allocate more than twice the real data).
 * *got says how many bytes arrived (< want: truncated; *buf is then NULL). */
cr_status cr__src_read_all(cr__src *s, size_t want, unsigned char **buf, size_t *got,
                           char *err, size_t errsize);

/* Read the whole source into a new NUL-terminated buffer (cap: first guess of its
 * size), checking cr_memory_limit() before each growth; *len excludes the NUL.
 * The caller frees *out with cr_free. Used by the CSV and text readers. */
cr_status cr__src_read_text(cr__src *src, size_t cap, char **out, size_t *len, char *err,
                            size_t errsize);

/* "512 bytes", "1.5 GiB": bytes for a message, into buf (size bytes). */
void cr__format_bytes(char *buf, size_t size, uint64_t bytes);

/* An empty dataset struct (all zero), or NULL. */
cr_dataset *cr__dataset_alloc(void);

#endif
