/* Text as data for character models: a UTF-8 reader that yields Unicode code
 * points (strict: the first invalid byte is reported with its offset), a
 * vocabulary (the sorted distinct code points; id i is the i-th), kept in a model
 * file's metadata, the hold-out split, and a batcher of B parallel streams x T
 * steps, laid out as PyTorch's word_language_model example lays them out. */
#include "data_internal.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CP_MAX 0x10FFFFu

void cr_text_free(cr_text *t)
{
    if (!t) return;
    cr_free(t->cp);
    cr_free(t);
}

/* Why the sequence starting at s[i] (n bytes left) is not UTF-8, or NULL when it
 * is valid; then *cp and *len are set. */
static const char *utf8_next(const unsigned char *s, size_t n, uint32_t *cp, size_t *len)
{
    unsigned c = s[0];
    if (c < 0x80) {
        *cp = c;
        *len = 1;
        return NULL;
    }
    size_t k;
    uint32_t v, min;
    if (c >= 0xC2 && c <= 0xDF) k = 2, v = c & 0x1F, min = 0x80;
    else if (c >= 0xE0 && c <= 0xEF) k = 3, v = c & 0x0F, min = 0x800;
    else if (c >= 0xF0 && c <= 0xF4) k = 4, v = c & 0x07, min = 0x10000;
    else if (c >= 0x80 && c <= 0xBF) return "a continuation byte where a character starts";
    else if (c == 0xC0 || c == 0xC1) return "an overlong encoding";
    else return "a byte that never appears in UTF-8";
    for (size_t j = 1; j < k; j++) {
        if (j >= n) return "the file ends inside a character";
        if ((s[j] & 0xC0) != 0x80) return "a lead byte not followed by enough continuation bytes";
        v = v << 6 | (s[j] & 0x3F);
    }
    if (v < min) return "an overlong encoding";
    if (v >= 0xD800 && v <= 0xDFFF) return "a UTF-16 surrogate";
    if (v > CP_MAX) return "a code point above U+10FFFF";
    *cp = v;
    *len = k;
    return NULL;
}

/* Decode buf[0..n) (n >= 0) into a new text. */
static cr_status decode(cr_text **out, const unsigned char *buf, size_t n, const char *name,
                        char *err, size_t errsize)
{
    size_t i = 0;
    if (n >= 3 && memcmp(buf, "\xef\xbb\xbf", 3) == 0) i = 3;    /* byte-order mark */
    if (i == n) return cr__errf(CR_ERR_FORMAT, err, errsize, "%s: empty file (no characters)", name);
    if (n - i > SIZE_MAX / sizeof(uint32_t))
        return cr__errf(CR_ERR_NOMEM, err, errsize, "%s: too large", name);
    /* the bytes are held; at most one code point per byte comes on top */
    cr_status st = cr_memory_check((uint64_t)n + (uint64_t)(n - i) * sizeof(uint32_t), name, err,
                                   errsize);
    if (st != CR_OK) return st;
    uint32_t *cp = cr_malloc((n - i) * sizeof *cp);
    cr_text *t = cr_malloc(sizeof *t);
    if (!cp || !t) {
        cr_free(cp);
        cr_free(t);
        return cr__errf(CR_ERR_NOMEM, err, errsize, "%s: out of memory", name);
    }
    size_t k = 0;
    while (i < n) {
        size_t len;
        const char *why = utf8_next(buf + i, n - i, &cp[k], &len);
        if (why) {
            char bytes[24] = "";
            for (size_t j = 0, at = 0; j < 4 && i + j < n; j++)
                at += (size_t)snprintf(bytes + at, sizeof bytes - at, "%s0x%02X", j ? " " : "",
                                       buf[i + j]);
            cr_free(cp);
            cr_free(t);
            return cr__errf(CR_ERR_FORMAT, err, errsize, "%s: invalid UTF-8 at byte %zu (%s): %s",
                            name, i, bytes, why);
        }
        i += len;
        k++;
    }
    uint32_t *shrunk = cr_realloc(cp, k * sizeof *cp);
    t->cp = shrunk ? shrunk : cp;
    t->n = k;
    *out = t;
    return CR_OK;
}

static cr_status load_src(cr_text **out, cr__src *src, size_t cap, char *err, size_t errsize)
{
    char *buf;
    size_t n;
    cr_status st = cr__src_read_text(src, cap, &buf, &n, err, errsize);
    cr__src_close(src);
    if (st != CR_OK) return st;
    st = decode(out, (const unsigned char *)buf, n, src->name, err, errsize);
    cr_free(buf);
    return st;
}

cr_status cr_text_load(cr_text **out, const char *path, char *err, size_t errsize)
{
    if (!out || !path) return cr__errf(CR_ERR_ARG, err, errsize, "text: NULL argument");
    cr__src src;
    cr_status st = cr__src_open_file(&src, path, err, errsize);
    if (st != CR_OK) return st;
    long long rem = cr__src_remaining(&src);
    size_t cap = rem >= 0 && (unsigned long long)rem < SIZE_MAX / 2 ? (size_t)rem + 1 : 65536;
    return load_src(out, &src, cap, err, errsize);
}

cr_status cr_text_load_mem(cr_text **out, const void *data, size_t len, const char *name,
                           char *err, size_t errsize)
{
    if (!out || (!data && len)) return cr__errf(CR_ERR_ARG, err, errsize, "text: NULL argument");
    cr__src src;
    cr_status st = cr__src_open_mem(&src, data, len, name ? name : "<memory>", err, errsize);
    if (st != CR_OK) return st;
    return load_src(out, &src, len < SIZE_MAX - 1 ? len + 1 : len, err, errsize);
}

cr_status cr_text_split(size_t n, double val_fraction, size_t *n_train, size_t *n_val,
                        char *err, size_t errsize)
{
    if (!n_train || !n_val) return cr__errf(CR_ERR_ARG, err, errsize, "text_split: NULL argument");
    if (!(val_fraction >= 0 && val_fraction < 1))
        return cr__errf(CR_ERR_ARG, err, errsize, "text_split: val_fraction = %g is outside [0, 1)",
                        val_fraction);
    size_t v = (size_t)((double)n * val_fraction);
    if (v > n) v = n;
    if (n - v < 2)
        return cr__errf(CR_ERR_ARG, err, errsize, "text_split: %zu characters leave %zu for "
                        "training; at least 2 are needed (an input and its next character)",
                        n, n - v);
    *n_train = n - v;
    *n_val = v;
    return CR_OK;
}

/* ---- vocabulary */

void cr_vocab_free(cr_vocab *v)
{
    if (!v) return;
    cr_free(v->cp);
    cr_free(v);
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return (x > y) - (x < y);
}

/* A vocabulary holding the n code points of cp (sorted, distinct), taken over. */
static cr_status vocab_adopt(cr_vocab **out, uint32_t *cp, size_t n, char *err, size_t errsize)
{
    cr_vocab *v = cr_malloc(sizeof *v);
    if (!v) {
        cr_free(cp);
        return cr__errf(CR_ERR_NOMEM, err, errsize, "vocab: out of memory");
    }
    v->cp = cp;
    v->size = (int)n;
    *out = v;
    return CR_OK;
}

cr_status cr_vocab_build(cr_vocab **out, const uint32_t *cp, size_t n, char *err, size_t errsize)
{
    if (!out || (!cp && n)) return cr__errf(CR_ERR_ARG, err, errsize, "vocab: NULL argument");
    if (n == 0) return cr__errf(CR_ERR_ARG, err, errsize, "vocab: no characters");
    for (size_t i = 0; i < n; i++)
        if (cp[i] > CP_MAX || (cp[i] >= 0xD800 && cp[i] <= 0xDFFF))
            return cr__errf(CR_ERR_ARG, err, errsize, "vocab: cp[%zu] = 0x%X is not a Unicode "
                            "scalar value", i, (unsigned)cp[i]);
    /* a bitmap over all code points (136 KiB) finds the distinct ones in one pass */
    size_t words = (CP_MAX + 1 + 63) / 64;
    uint64_t *seen = cr_calloc(words, sizeof *seen);
    if (!seen) return cr__errf(CR_ERR_NOMEM, err, errsize, "vocab: out of memory");
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        uint64_t bit = (uint64_t)1 << (cp[i] & 63);
        if (!(seen[cp[i] >> 6] & bit)) {
            seen[cp[i] >> 6] |= bit;
            m++;
        }
    }
    uint32_t *v = cr_malloc(m * sizeof *v);
    if (!v) {
        cr_free(seen);
        return cr__errf(CR_ERR_NOMEM, err, errsize, "vocab: out of memory");
    }
    size_t k = 0;
    for (size_t w = 0; w < words; w++)
        for (uint64_t b = seen[w]; b; b &= b - 1) v[k++] = (uint32_t)(w * 64 + (size_t)__builtin_ctzll(b));
    cr_free(seen);
    return vocab_adopt(out, v, m, err, errsize);
}

int cr_vocab_id(const cr_vocab *v, uint32_t cp)
{
    if (!v || !v->cp || v->size <= 0) return -1;
    const uint32_t *p = bsearch(&cp, v->cp, (size_t)v->size, sizeof cp, cmp_u32);
    return p ? (int)(p - v->cp) : -1;
}

cr_status cr_vocab_encode(const cr_vocab *v, const uint32_t *cp, size_t n, int *ids, char *err,
                          size_t errsize)
{
    if (!v || (n && (!cp || !ids))) return cr__errf(CR_ERR_ARG, err, errsize, "vocab: NULL argument");
    for (size_t i = 0; i < n; i++)
        if (cr_vocab_id(v, cp[i]) < 0)
            return cr__errf(CR_ERR_ARG, err, errsize, "vocab: character U+%04X at position %zu "
                            "is not in the vocabulary of %d", (unsigned)cp[i], i, v->size);
    for (size_t i = 0; i < n; i++) ids[i] = cr_vocab_id(v, cp[i]);
    return CR_OK;
}

int cr_utf8_put(uint32_t cp, char *out)
{
    if (!out || cp > CP_MAX || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
    if (cp < 0x80) {
        out[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (char)(0xC0 | cp >> 6);
        out[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (char)(0xE0 | cp >> 12);
        out[1] = (char)(0x80 | (cp >> 6 & 0x3F));
        out[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    out[0] = (char)(0xF0 | cp >> 18);
    out[1] = (char)(0x80 | (cp >> 12 & 0x3F));
    out[2] = (char)(0x80 | (cp >> 6 & 0x3F));
    out[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

size_t cr_vocab_decode(const cr_vocab *v, const int *ids, size_t n, char *buf, size_t size)
{
    size_t len = 0;
    for (size_t i = 0; ids && i < n; i++) {
        char u[4];
        int id = ids[i];
        uint32_t cp = v && id >= 0 && id < v->size ? v->cp[id] : 0xFFFD;
        int k = cr_utf8_put(cp, u);
        for (int j = 0; j < k; j++, len++)
            if (buf && len + 1 < size) buf[len] = u[j];
    }
    if (buf && size) buf[len < size ? len : size - 1] = '\0';
    return len;
}

/* Keys: "vocab.size" (u64), then "vocab.<k>" for k = 0 .. (size+1)/2 - 1, each
 * holding code points 2k (low 32 bits) and 2k+1 (high 32 bits; 0 past the end). */
cr_status cr_vocab_to_meta(const cr_vocab *v, cr_meta *m, char *err, size_t errsize)
{
    if (!v || !m || !v->cp || v->size <= 0)
        return cr__errf(CR_ERR_ARG, err, errsize, "vocab: NULL or empty argument");
    if (cr_meta_set_u64(m, "vocab.size", (uint64_t)v->size) != CR_OK)
        return cr__errf(CR_ERR_NOMEM, err, errsize, "vocab: out of memory");
    for (int k = 0; 2 * k < v->size; k++) {
        char key[32];
        snprintf(key, sizeof key, "vocab.%d", k);
        uint64_t hi = 2 * k + 1 < v->size ? v->cp[2 * k + 1] : 0;
        if (cr_meta_set_u64(m, key, (uint64_t)v->cp[2 * k] | hi << 32) != CR_OK)
            return cr__errf(CR_ERR_NOMEM, err, errsize, "vocab: out of memory");
    }
    return CR_OK;
}

cr_status cr_vocab_from_meta(cr_vocab **out, const cr_meta *m, char *err, size_t errsize)
{
    if (!out || !m) return cr__errf(CR_ERR_ARG, err, errsize, "vocab: NULL argument");
    uint64_t size;
    if (cr_meta_get_u64(m, "vocab.size", &size) != CR_OK)
        return cr__errf(CR_ERR_FORMAT, err, errsize, "vocab: no vocabulary in the metadata "
                        "(key vocab.size)");
    /* each pair of code points is one entry: a size the metadata cannot hold is a lie */
    if (size == 0 || size > CP_MAX + 1 || (size + 1) / 2 > cr_meta_count(m))
        return cr__errf(CR_ERR_FORMAT, err, errsize, "vocab: vocab.size = %llu is not a "
                        "vocabulary size this metadata can hold", (unsigned long long)size);
    uint32_t *cp = cr_malloc((size_t)size * sizeof *cp);
    if (!cp) return cr__errf(CR_ERR_NOMEM, err, errsize, "vocab: out of memory");
    for (size_t k = 0; 2 * k < size; k++) {
        char key[32];
        uint64_t pair;
        snprintf(key, sizeof key, "vocab.%zu", k);
        if (cr_meta_get_u64(m, key, &pair) != CR_OK) {
            cr_free(cp);
            return cr__errf(CR_ERR_FORMAT, err, errsize, "vocab: key %s is missing", key);
        }
        cp[2 * k] = (uint32_t)pair;
        if (2 * k + 1 < size) cp[2 * k + 1] = (uint32_t)(pair >> 32);
    }
    for (size_t i = 0; i < size; i++)
        if (cp[i] > CP_MAX || (cp[i] >= 0xD800 && cp[i] <= 0xDFFF) || (i && cp[i] <= cp[i - 1])) {
            unsigned bad = (unsigned)cp[i];
            cr_free(cp);
            return cr__errf(CR_ERR_FORMAT, err, errsize, "vocab: entry %zu (0x%X) is not a code "
                            "point above the previous one", i, bad);
        }
    return vocab_adopt(out, cp, (size_t)size, err, errsize);
}

/* ---- B parallel streams x T steps */

struct cr_seq_batcher {
    int *ids;          /* B streams of L ids, stream b at ids[b*L .. (b+1)*L) */
    size_t L;
    int B, T;
    size_t chunks;
};

cr_seq_batcher *cr_seq_batcher_new(const int *ids, size_t n, int batch, int steps, char *err,
                                   size_t errsize)
{
    if (!ids) {
        cr__errf(CR_ERR_ARG, err, errsize, "seq_batcher: NULL ids");
        return NULL;
    }
    if (batch < 1 || steps < 1) {
        cr__errf(CR_ERR_ARG, err, errsize, "seq_batcher: batch %d and steps %d must be >= 1",
                 batch, steps);
        return NULL;
    }
    size_t L = n / (size_t)batch;
    if (L < (size_t)steps + 1) {
        cr__errf(CR_ERR_ARG, err, errsize, "seq_batcher: %zu ids make %d streams of %zu; a chunk "
                 "of %d steps needs streams of at least %d (use a smaller batch or steps, or more "
                 "text)", n, batch, L, steps, steps + 1);
        return NULL;
    }
    if (cr_memory_check((uint64_t)L * (uint64_t)batch * sizeof(int), "seq_batcher", err, errsize)
        != CR_OK)
        return NULL;
    cr_seq_batcher *b = cr_calloc(1, sizeof *b);
    int *copy = cr_malloc(L * (size_t)batch * sizeof *copy);
    if (!b || !copy) {
        cr_free(b);
        cr_free(copy);
        cr__errf(CR_ERR_NOMEM, err, errsize, "seq_batcher: out of memory");
        return NULL;
    }
    memcpy(copy, ids, L * (size_t)batch * sizeof *copy);
    b->ids = copy;
    b->L = L;
    b->B = batch;
    b->T = steps;
    b->chunks = (L - 1) / (size_t)steps;
    return b;
}

void cr_seq_batcher_free(cr_seq_batcher *b)
{
    if (!b) return;
    cr_free(b->ids);
    cr_free(b);
}

size_t cr_seq_batcher_chunks(const cr_seq_batcher *b) { return b ? b->chunks : 0; }

cr_status cr_seq_batcher_get(const cr_seq_batcher *b, size_t chunk, cr_tensor *x, cr_tensor *y,
                             char *err, size_t errsize)
{
    if (!b) return cr__errf(CR_ERR_ARG, err, errsize, "seq_batcher: NULL argument");
    return cr_seq_batcher_get_streams(b, chunk, 0, b->B, x, y, err, errsize);
}

cr_status cr_seq_batcher_get_streams(const cr_seq_batcher *b, size_t chunk, int first, int count,
                                     cr_tensor *x, cr_tensor *y, char *err, size_t errsize)
{
    if (!b || !x) return cr__errf(CR_ERR_ARG, err, errsize, "seq_batcher: NULL argument");
    if (chunk >= b->chunks)
        return cr__errf(CR_ERR_ARG, err, errsize, "seq_batcher: chunk %zu is past the last (%zu "
                        "chunks)", chunk, b->chunks);
    if (first < 0 || count < 1 || count > b->B - first)
        return cr__errf(CR_ERR_ARG, err, errsize, "seq_batcher: streams %d to %d are not within "
                        "the %d streams", first, first + count - 1, b->B);
    size_t need = (size_t)b->T * (size_t)count;
    if (x->size < need || (y && y->size < need))
        return cr__errf(CR_ERR_SHAPE, err, errsize, "seq_batcher: x and y need %d x %d = %zu "
                        "values, have %zu and %zu", b->T, count, need, x->size,
                        y ? y->size : (size_t)0);
    size_t at = chunk * (size_t)b->T;
    for (int t = 0; t < b->T; t++)
        for (int s = 0; s < count; s++) {
            const int *stream = b->ids + (size_t)(first + s) * b->L;
            x->data[(size_t)t * (size_t)count + (size_t)s] = (cr_real)stream[at + t];
            if (y) y->data[(size_t)t * (size_t)count + (size_t)s] = (cr_real)stream[at + t + 1];
        }
    return CR_OK;
}
