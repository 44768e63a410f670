/* Shape text, axis handling and a careful sum, for the non-elementwise ops. */
#include "shape_util.h"

#include <stdio.h>

char *cr__dims_text(int ndim, const int *shape, char *buf, size_t size)
{
    if (!buf || size == 0) return buf;
    buf[0] = '\0';
    if (ndim <= 0 || !shape) {
        snprintf(buf, size, ndim == 0 ? "scalar" : "rank %d", ndim);
        return buf;
    }
    size_t len = 0;
    for (int i = 0; i < ndim && len < size; i++) {
        int w = snprintf(buf + len, size - len, i ? "x%d" : "%d", shape[i]);
        if (w < 0) break;
        len += (size_t)w;
    }
    return buf;
}

char *cr__tensor_dims(const cr_tensor *x, char *buf, size_t size)
{
    return cr__dims_text(x->ndim, x->shape, buf, size);
}

int cr__axis_resolve(int axis, int ndim)
{
    if (axis < -ndim || axis >= ndim) return -1;
    return axis < 0 ? axis + ndim : axis;
}

void cr__axis_split(const cr_tensor *x, int axis, size_t *outer, size_t *len, size_t *inner)
{
    size_t o = 1, in = 1;
    for (int i = 0; i < axis; i++) o *= (size_t)x->shape[i];
    for (int i = axis + 1; i < x->ndim; i++) in *= (size_t)x->shape[i];
    *outer = o;
    *len = (size_t)x->shape[axis];
    *inner = in;
}

int cr__reduced_shape(const cr_tensor *x, int axis, int keepdim, int *shape)
{
    int nd = 0;
    for (int i = 0; i < x->ndim; i++) {
        if (i != axis) shape[nd++] = x->shape[i];
        else if (keepdim) shape[nd++] = 1;
    }
    return nd;
}

double cr__sum_real(const cr_real *v, size_t n)
{
    double s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    size_t i = 0;
    for (; i + 4 <= n; i += 4) {
        s0 += v[i];
        s1 += v[i + 1];
        s2 += v[i + 2];
        s3 += v[i + 3];
    }
    for (; i < n; i++) s0 += v[i];
    return (s0 + s1) + (s2 + s3);
}

void cr__add_into(cr_real *restrict dx, const cr_real *restrict g, size_t n)
{
    for (size_t i = 0; i < n; i++) dx[i] += g[i];
}

void cr__same_order_backward(cr_tape *t, cr_node *n)
{
    (void)t;
    cr_tensor *x = n->in[0];
    if (x->grad) cr__add_into(x->grad, n->out->grad, x->size);
}
