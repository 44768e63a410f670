/* Internal to optim/: constants and byte-order helpers of the model file format
 * (docs/FORMAT.md). Every multi-byte integer is little-endian, written and read
 * one byte at a time, so the format does not depend on the host's byte order.
 * Reals are IEEE-754 binary32/binary64 bit patterns stored the same way. */
#ifndef CR_OPTIM_FORMAT_H
#define CR_OPTIM_FORMAT_H

#include "chainrule.h"

#include <string.h>

#define CR__MAGIC "CRMODEL"            /* 8 bytes with its NUL */
#define CR__MAGIC_LEN 8
#define CR__HEADER_BYTES 28            /* magic, version, real size, file size, sections */
#define CR__SECTION_HEAD 12            /* tag[4], body length u64 */
#define CR__CRC_BYTES 4
#define CR__NAME_MAX 255               /* longest tensor name a reader accepts */
#define CR__TAG_PARAMS "PARM"
#define CR__TAG_OPTIM "OPTM"
#define CR__TAG_META "META"
#define CR__TAG_NAMED_OPTIM "OPTN"      /* a user-defined optimizer, by name */

static inline void cr__put_u32(unsigned char *p, uint32_t v)
{
    for (int i = 0; i < 4; i++) p[i] = (unsigned char)(v >> (8 * i));
}

static inline void cr__put_u64(unsigned char *p, uint64_t v)
{
    for (int i = 0; i < 8; i++) p[i] = (unsigned char)(v >> (8 * i));
}

static inline uint32_t cr__get_u32(const unsigned char *p)
{
    uint32_t v = 0;
    for (int i = 3; i >= 0; i--) v = (v << 8) | p[i];
    return v;
}

static inline uint64_t cr__get_u64(const unsigned char *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--) v = (v << 8) | p[i];
    return v;
}

/* The readers' cursor step: the value at p + *pos, then *pos moves past it (the
 * caller has checked that the bytes are there). */
static inline uint32_t cr__take_u32(const unsigned char *p, size_t *pos)
{
    uint32_t v = cr__get_u32(p + *pos);
    *pos += 4;
    return v;
}

static inline uint64_t cr__take_u64(const unsigned char *p, size_t *pos)
{
    uint64_t v = cr__get_u64(p + *pos);
    *pos += 8;
    return v;
}

static inline uint64_t cr__f64_bits(double d)
{
    uint64_t b;
    memcpy(&b, &d, sizeof b);
    return b;
}

static inline double cr__bits_f64(uint64_t b)
{
    double d;
    memcpy(&d, &b, sizeof d);
    return d;
}

_Static_assert(sizeof(float) == 4 && sizeof(double) == 8, "IEEE-754 binary32/64 expected");

#endif
