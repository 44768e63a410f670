/* Tensors: heap-owned parameters and constants, and the helpers shared with the
 * tape's intermediates. */
#include "tensor_internal.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#define CR_NAME_MAX 64

size_t cr__shape_size(int ndim, const int *shape)
{
    if (ndim < 0 || ndim > CR_MAX_DIMS || (ndim > 0 && !shape)) return 0;
    size_t n = 1;
    for (int i = 0; i < ndim; i++) {
        if (shape[i] < 1) return 0;
        /* below 2^32 times a dimension below 2^31 cannot overflow 64 bits: divide
         * (slow) only for products that large */
        if ((n > UINT32_MAX || sizeof(size_t) < 8) && n > SIZE_MAX / (size_t)shape[i]) return 0;
        n *= (size_t)shape[i];
    }
    return n <= SIZE_MAX / sizeof(cr_real) ? n : 0;
}

/* One block: struct, name buffer, data (64-byte aligned), grad. */
static cr_tensor *heap_tensor(int ndim, const int *shape, int with_grad)
{
    size_t size = cr__shape_size(ndim, shape);
    if (!size) return NULL;
    size_t head = (sizeof(cr_tensor) + CR_NAME_MAX + 63) & ~(size_t)63;
    size_t bytes = size * sizeof(cr_real);
    size_t total = head + 64 + bytes * (with_grad ? 2 : 1);
    if (bytes > (SIZE_MAX - head - 64) / 2) return NULL;
    unsigned char *mem = cr_malloc(total);
    if (!mem) return NULL;
    cr_tensor *x = (cr_tensor *)mem;
    cr__set_shape(x, ndim, shape, size);
    uintptr_t d = ((uintptr_t)(mem + head) + 63) & ~(uintptr_t)63;
    x->data = (cr_real *)d;
    memset(x->data, 0, bytes);
    x->grad = with_grad ? x->data + size : NULL;
    if (x->grad) memset(x->grad, 0, bytes);
    x->flags = CR_HEAP | CR_LEAF | (with_grad ? CR_REQUIRES_GRAD : 0u);
    x->tape = NULL;
    x->gen = 0;
    ((char *)(x + 1))[0] = '\0';
    return x;
}

cr_tensor *cr_param_new(int ndim, const int *shape) { return heap_tensor(ndim, shape, 1); }
cr_tensor *cr_tensor_new(int ndim, const int *shape) { return heap_tensor(ndim, shape, 0); }

void cr_tensor_free(cr_tensor *x)
{
    if (x && (x->flags & CR_HEAP)) cr_free(x);
}

cr_status cr_tensor_set_name(cr_tensor *x, const char *name)
{
    if (!x || !name || !(x->flags & CR_HEAP)) return CR_ERR_ARG;
    size_t len = strlen(name);
    if (len >= CR_NAME_MAX) return CR_ERR_ARG;
    char *buf = (char *)(x + 1);
    memcpy(buf, name, len + 1);
    x->name = buf;
    return CR_OK;
}

void cr_tensor_fill(cr_tensor *x, cr_real v)
{
    if (!x) return;
    for (size_t i = 0; i < x->size; i++) x->data[i] = v;
}

void cr_tensor_rand_uniform(cr_tensor *x, cr_rng *r, cr_real lo, cr_real hi)
{
    if (!x || !r) return;
    for (size_t i = 0; i < x->size; i++)
        x->data[i] = (cr_real)(lo + (hi - lo) * cr_rng_uniform(r));
}

void cr_tensor_rand_normal(cr_tensor *x, cr_rng *r, cr_real mean, cr_real std)
{
    if (!x || !r) return;
    for (size_t i = 0; i < x->size; i++)
        x->data[i] = (cr_real)(mean + std * cr_rng_normal(r));
}

cr_status cr_tensor_set(cr_tensor *x, const cr_real *src, size_t n)
{
    if (!x || !src) return CR_ERR_ARG;
    if (n != x->size) return CR_ERR_SHAPE;
    memcpy(x->data, src, n * sizeof *src);
    return CR_OK;
}

cr_status cr_tensor_get(const cr_tensor *x, cr_real *dst, size_t n)
{
    if (!x || !dst) return CR_ERR_ARG;
    if (n != x->size) return CR_ERR_SHAPE;
    memcpy(dst, x->data, n * sizeof *dst);
    return CR_OK;
}

void cr_tensor_zero_grad(cr_tensor *x)
{
    if (x && x->grad) memset(x->grad, 0, x->size * sizeof(cr_real));
}

cr_real cr_item(const cr_tensor *x) { return x ? x->data[0] : 0; }
cr_real cr_grad_item(const cr_tensor *x) { return x && x->grad ? x->grad[0] : 0; }

char *cr_shape_str(const cr_tensor *x, char *buf, size_t bufsize)
{
    if (!buf || bufsize == 0) return buf;
    buf[0] = '\0';
    if (!x) {
        snprintf(buf, bufsize, "NULL");
        return buf;
    }
    if (x->ndim == 0) {
        snprintf(buf, bufsize, "scalar");
        return buf;
    }
    size_t len = 0;
    for (int i = 0; i < x->ndim && len < bufsize; i++) {
        int w = snprintf(buf + len, bufsize - len, i ? "x%d" : "%d", x->shape[i]);
        if (w < 0) break;
        len += (size_t)w;
    }
    return buf;
}
